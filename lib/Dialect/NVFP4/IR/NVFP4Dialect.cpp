//===- NVFP4Dialect.cpp - NVFP4 dialect registration ----------------------===//

#include "nvfp4/Dialect/NVFP4/IR/NVFP4Dialect.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4Attrs.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4KernelInterface.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4Ops.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::nvfp4;

#include "nvfp4/Dialect/NVFP4/IR/NVFP4Dialect.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "nvfp4/Dialect/NVFP4/IR/NVFP4Attrs.cpp.inc"

void NVFP4Dialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "nvfp4/Dialect/NVFP4/IR/NVFP4Attrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "nvfp4/Dialect/NVFP4/IR/NVFP4Ops.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// TensorMapAttr
//===----------------------------------------------------------------------===//

std::optional<std::string>
mlir::nvfp4::tensorMapBoxError(ArrayRef<int64_t> box, int64_t swizzle) {
  std::string why;
  llvm::raw_string_ostream os(why);
  if (box.size() != 2) {
    os << "expected a 2-D box, got " << box.size() << " extents";
    return why;
  }
  // cuTensorMapEncodeTiled: each box extent in [1, 256].
  for (int64_t extent : box)
    if (extent < 1 || extent > 256) {
      os << "expected box extents in [1, 256], got " << extent;
      return why;
    }
  if (swizzle != 0 && swizzle != 32 && swizzle != 64 && swizzle != 128) {
    os << "expected swizzle 0, 32, 64 or 128, got " << swizzle;
    return why;
  }
  // A swizzled box's inner extent (bytes, uint8 elements) must fit the
  // swizzle span; any box row must be a multiple of 16 bytes.
  if (swizzle != 0 && box[0] > swizzle) {
    os << "expected the inner box extent to be at most the swizzle span "
       << swizzle << ", got " << box[0];
    return why;
  }
  if (box[0] % 16 != 0) {
    os << "expected the inner box extent to be a multiple of 16 bytes, got "
       << box[0];
    return why;
  }
  return std::nullopt;
}

LogicalResult
TensorMapAttr::verify(function_ref<InFlightDiagnostic()> emitError, int64_t arg,
                      int64_t operand, ArrayRef<int64_t> box, int64_t swizzle) {
  if (arg < 0 || operand < 0)
    return emitError() << "expected non-negative argument indices, got arg = "
                       << arg << ", operand = " << operand;
  if (std::optional<std::string> why = tensorMapBoxError(box, swizzle))
    return emitError() << *why;
  return success();
}

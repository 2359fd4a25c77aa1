//===- GridConstantParams.cpp - Tensor maps as grid-constant params -------===//
//
// nvfp4-tensor-map-params and nvfp4-grid-constant-params (Passes.td): a TMA
// tensor map is a 128-byte kernel parameter passed by value and read by the
// TMA unit in parameter space, which PTX expresses as `.param .align 128 .b8
// p[128]` plus `cvta.param`. In LLVM that is a `byval` pointer parameter
// with `nvvm.grid_constant`; without the latter the NVPTX backend copies
// the parameter to local memory, where TMA cannot read it.
//
// convert-gpu-to-nvvm drops `llvm.byval` from gpu.func arguments and the
// gpu.func verifier rejects `nvvm.grid_constant`, so the attributes are set
// on the lowered llvm.func. Its parameters no longer line up with the
// gpu.func's arguments (a memref becomes 3 + 2 * rank parameters), hence
// the first pass, which still sees the gpu.func, records the lowered index
// of each tensor-map argument with the lowering's own type converter.
//
//===----------------------------------------------------------------------===//

#include "nvfp4/Conversion/Passes.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4Attrs.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4KernelInterface.h"

#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "llvm/ADT/DenseSet.h"

namespace mlir {
namespace nvfp4 {
#define GEN_PASS_DEF_NVFP4TENSORMAPPARAMS
#define GEN_PASS_DEF_NVFP4GRIDCONSTANTPARAMS
#include "nvfp4/Conversion/Passes.h.inc"
} // namespace nvfp4
} // namespace mlir

#define DEBUG_TYPE "nvfp4-grid-constant-params"

using namespace mlir;
using namespace mlir::nvfp4;

namespace {
struct NVFP4TensorMapParamsPass
    : nvfp4::impl::NVFP4TensorMapParamsBase<NVFP4TensorMapParamsPass> {
  void runOnOperation() override {
    gpu::GPUFuncOp func = getOperation();
    Attribute declared = func->getAttr(kernel_attr::kTensorMaps);
    if (!declared)
      return;
    auto maps = dyn_cast<ArrayAttr>(declared);
    if (!maps) {
      func.emitError() << "expected '" << kernel_attr::kTensorMaps
                       << "' to be an array of #nvfp4.tensor_map, got "
                       << declared;
      return signalPassFailure();
    }
    // Only a launch passes maps (a runtime encodes them per launch): a
    // device function has no caller that could.
    if (!func.isKernel()) {
      func.emitError() << "expected '" << kernel_attr::kTensorMaps
                       << "' only on a kernel";
      return signalPassFailure();
    }
    // The options convert-gpu-to-nvvm uses in nvfp4-to-ptx (the defaults:
    // memref descriptors expanded, not bare pointers), so the indices are
    // those of the parameters it will produce.
    LLVMTypeConverter converter(&getContext());
    TypeConverter::SignatureConversion conversion(func.getNumArguments());
    if (!converter.convertFunctionSignature(func.getFunctionType(),
                                            /*isVariadic=*/false,
                                            /*useBarePtrCallConv=*/false,
                                            conversion)) {
      func.emitError() << "cannot convert the kernel signature to LLVM";
      return signalPassFailure();
    }
    SmallVector<int32_t> params;
    llvm::SmallDenseSet<int64_t> seen;
    for (Attribute entry : maps) {
      auto map = dyn_cast<TensorMapAttr>(entry);
      if (!map) {
        func.emitError() << "expected '" << kernel_attr::kTensorMaps
                         << "' to hold #nvfp4.tensor_map attributes, got "
                         << entry;
        return signalPassFailure();
      }
      int64_t arg = map.getArg();
      if (arg >= func.getNumArguments() ||
          !isa<LLVM::LLVMPointerType>(func.getArgument(arg).getType())) {
        func.emitError() << "expected tensor map argument " << arg
                         << " to be an !llvm.ptr argument of the kernel";
        return signalPassFailure();
      }
      if (!seen.insert(arg).second) {
        func.emitError() << "expected one tensor map per argument, got two "
                            "for argument "
                         << arg;
        return signalPassFailure();
      }
      // The runtime encodes the map over this argument's buffer as a 2-D
      // byte matrix (#nvfp4.tensor_map): packed data (i8) or 16-bit
      // floats (a GEMM workspace, two bytes per element).
      int64_t operand = map.getOperand();
      auto view = operand < func.getNumArguments()
                      ? dyn_cast<MemRefType>(func.getArgument(operand).getType())
                      : MemRefType();
      Type element = view ? view.getElementType() : Type();
      if (!view || view.getRank() != 2 ||
          !(element.isInteger(8) || element.isF16() || element.isBF16())) {
        func.emitError() << "expected tensor map operand " << operand
                         << " to be a 2-D memref of i8, f16 or bf16, an "
                            "argument of the kernel";
        return signalPassFailure();
      }
      params.push_back(int32_t(conversion.getInputMapping(arg)->inputNo));
    }
    func->setAttr(kernel_attr::kGridConstantParams,
                  DenseI32ArrayAttr::get(&getContext(), params));
  }
};

struct NVFP4GridConstantParamsPass
    : nvfp4::impl::NVFP4GridConstantParamsBase<NVFP4GridConstantParamsPass> {
  void runOnOperation() override {
    LLVM::LLVMFuncOp func = getOperation();
    auto params = func->getAttrOfType<DenseI32ArrayAttr>(
        kernel_attr::kGridConstantParams);
    if (!params)
      return;
    MLIRContext *ctx = &getContext();
    Builder b(ctx);
    Type map = LLVM::LLVMArrayType::get(IntegerType::get(ctx, 64),
                                        kTensorMapBytes / 8);
    for (int32_t i : params.asArrayRef()) {
      if (i < 0 || unsigned(i) >= func.getNumArguments() ||
          !isa<LLVM::LLVMPointerType>(func.getArgument(i).getType())) {
        func.emitError() << "expected grid-constant parameter " << i
                         << " to be a pointer parameter";
        return signalPassFailure();
      }
      func.setArgAttr(i, LLVM::LLVMDialect::getByValAttrName(),
                      TypeAttr::get(map));
      func.setArgAttr(i, LLVM::LLVMDialect::getAlignAttrName(),
                      b.getI64IntegerAttr(kTensorMapAlign));
      func.setArgAttr(i, NVVM::NVVMDialect::getGridConstantAttrName(),
                      b.getUnitAttr());
    }
    func->removeAttr(kernel_attr::kGridConstantParams);
  }
};
} // namespace

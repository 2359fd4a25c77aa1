//===- NVFP4Attrs.h - NVFP4 recipe attribute --------------------*- C++ -*-===//
//
// `#nvfp4.recipe` and the enums it is made of.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_DIALECT_NVFP4_IR_NVFP4ATTRS_H
#define NVFP4_DIALECT_NVFP4_IR_NVFP4ATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"

#include "nvfp4/Dialect/NVFP4/IR/NVFP4Enums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "nvfp4/Dialect/NVFP4/IR/NVFP4Attrs.h.inc"

#endif // NVFP4_DIALECT_NVFP4_IR_NVFP4ATTRS_H

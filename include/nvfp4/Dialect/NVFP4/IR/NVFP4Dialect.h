//===- NVFP4Dialect.h - NVFP4 dialect ---------------------------*- C++ -*-===//
//
// The `nvfp4` dialect: recipe attributes and quantize/dequantize/matmul ops.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_DIALECT_NVFP4_IR_NVFP4DIALECT_H
#define NVFP4_DIALECT_NVFP4_IR_NVFP4DIALECT_H

#include "mlir/IR/Dialect.h"

#include "nvfp4/Dialect/NVFP4/IR/NVFP4Dialect.h.inc"

#endif // NVFP4_DIALECT_NVFP4_IR_NVFP4DIALECT_H

//===- NVFP4Base.td - NVFP4 dialect definition -------------*- tablegen -*-===//
//
// The `nvfp4` dialect: NVFP4 quantization recipes as attributes, and the
// destination-style ops that quantize, dequantize and multiply with them.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_DIALECT_NVFP4_IR_NVFP4BASE_TD
#define NVFP4_DIALECT_NVFP4_IR_NVFP4BASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def NVFP4_Dialect : Dialect {
  let name = "nvfp4";
  let cppNamespace = "::mlir::nvfp4";
  let summary = "NVFP4 quantization recipes and the ops that use them";
  let description = [{
    NVFP4 stores 4-bit E2M1 values with one E4M3 scale per 16 values and FP32
    outer scales. How those scales are chosen (per tensor, per token, per 1x64
    window, in 16x16 tiles, with "4over6" candidate selection, a random
    Hadamard transform, stochastic rounding) is the *recipe*, described by the
    `#nvfp4.recipe` attribute. The ops of this dialect take a recipe and
    memrefs (destination style) and are lowered to fused CPU and GPU kernels
    whose bytes follow SPEC.md exactly.

    ```mlir
    nvfp4.quantize %x : memref<128x4096xbf16> recipe <per_token>
        rowwise(%data : memref<128x2048xi8>,
                %scale : memref<128x256xf8E4M3FN>,
                %amax : memref<128xf32>)
    ```

    Every buffer operand is contiguous row-major (the identity layout, or a
    `strided` layout with exactly those static strides and offset 0), in
    the default memory space, and at most 2^62 bytes in its static
    dimensions; so is every buffer shape the verifiers derive from the
    others (padded scale matrices, grouped scale rows). Element and byte
    counts of verified IR therefore fit in int64 in every lowering.
  }];
  let useDefaultAttributePrinterParser = 1;
}

class NVFP4_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<NVFP4_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

class NVFP4_Op<string mnemonic, list<Trait> traits = []>
    : Op<NVFP4_Dialect, mnemonic, traits>;

#endif // NVFP4_DIALECT_NVFP4_IR_NVFP4BASE_TD

//===- NVFP4Enums.td - NVFP4 recipe enumerations -----------*- tablegen -*-===//
//
// The discrete choices a recipe makes. They are plain C++ enums (no enum
// attributes of their own): the recipe attribute is the only way they appear
// in IR, so that a recipe is always verified as a whole.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_DIALECT_NVFP4_IR_NVFP4ENUMS_TD
#define NVFP4_DIALECT_NVFP4_IR_NVFP4ENUMS_TD

include "mlir/IR/EnumAttr.td"

def NVFP4_OuterGroup : I32EnumAttr<"OuterGroup",
    "group of elements that shares one FP32 outer scale", [
      I32EnumAttrCase<"Tensor", 0, "tensor">,
      I32EnumAttrCase<"Row", 1, "row">,
      I32EnumAttrCase<"Window", 2, "window">,
    ]> {
  let cppNamespace = "::mlir::nvfp4";
  let genSpecializedAttr = 0;
}

def NVFP4_BlockShape : I32EnumAttr<"BlockShape",
    "shape of the elements that share one E4M3 block scale", [
      I32EnumAttrCase<"B1x16", 0, "1x16">,
      I32EnumAttrCase<"B16x16", 1, "16x16">,
    ]> {
  let cppNamespace = "::mlir::nvfp4";
  let genSpecializedAttr = 0;
}

def NVFP4_Numerics : I32EnumAttr<"Numerics",
    "how the block encode scale is derived (SPEC.md section 4)", [
      I32EnumAttrCase<"Reciprocal", 0, "reciprocal">,
      I32EnumAttrCase<"Quotient", 1, "quotient">,
    ]> {
  let cppNamespace = "::mlir::nvfp4";
  let genSpecializedAttr = 0;
}

def NVFP4_Selection : I32EnumAttr<"Selection",
    "candidate block-scale selection (SPEC.md section 7)", [
      I32EnumAttrCase<"Map6", 0, "map6">,
      I32EnumAttrCase<"FourOverSixMAE", 1, "four_over_six<mae>">,
      I32EnumAttrCase<"FourOverSixMSE", 2, "four_over_six<mse>">,
    ]> {
  let cppNamespace = "::mlir::nvfp4";
  let genSpecializedAttr = 0;
}

def NVFP4_Rounding : I32EnumAttr<"Rounding",
    "E2M1 rounding mode (SPEC.md section 8)", [
      I32EnumAttrCase<"Nearest", 0, "nearest">,
      I32EnumAttrCase<"Stochastic", 1, "stochastic">,
    ]> {
  let cppNamespace = "::mlir::nvfp4";
  let genSpecializedAttr = 0;
}

def NVFP4_Transform : I32EnumAttr<"Transform",
    "transform applied before quantization (SPEC.md section 9)", [
      I32EnumAttrCase<"None", 0, "none">,
      I32EnumAttrCase<"RHT16", 1, "rht16">,
    ]> {
  let cppNamespace = "::mlir::nvfp4";
  let genSpecializedAttr = 0;
}

def NVFP4_ScaleLayout : I32EnumAttr<"ScaleLayout",
    "byte layout of the E4M3 scale-factor matrix (SPEC.md section 10)", [
      I32EnumAttrCase<"Linear", 0, "linear">,
      I32EnumAttrCase<"Swizzle128x4", 1, "128x4">,
      I32EnumAttrCase<"Swizzle8x4", 2, "8x4">,
    ]> {
  let cppNamespace = "::mlir::nvfp4";
  let genSpecializedAttr = 0;
}

def NVFP4_AmaxSource : I32EnumAttr<"AmaxSource",
    "where the outer scale of each outer group comes from (SPEC.md section 3)", [
      I32EnumAttrCase<"Computed", 0, "computed">,
      I32EnumAttrCase<"Given", 1, "given">,
      I32EnumAttrCase<"GivenEncodeScale", 2, "given_encode_scale">,
    ]> {
  let cppNamespace = "::mlir::nvfp4";
  let genSpecializedAttr = 0;
}

// The activation of a gated producer (SPEC.md section 15). Unlike the
// recipe's choices it appears in IR on its own, as an op attribute.
def NVFP4_GatedActivation : I32EnumAttr<"GatedActivation",
    "activation applied to the gate half of a gated producer", [
      I32EnumAttrCase<"SiLU", 0, "silu">,
      I32EnumAttrCase<"GeluTanh", 1, "gelu_tanh">,
    ]> {
  let cppNamespace = "::mlir::nvfp4";
}

// The kernel interface between nvfp4-to-gpu and a runtime that launches its
// kernels (NVFP4KernelInterface.h): the `nvfp4.work` string on every
// gpu.func names its iteration space, from which both sides derive the
// launch grid.
def NVFP4_KernelWork : I32EnumAttr<"KernelWork",
    "iteration space of a kernel, as `nvfp4.work` names it", [
      I32EnumAttrCase<"One", 0, "one">,
      I32EnumAttrCase<"Rows", 1, "rows">,
      I32EnumAttrCase<"RowCTAs", 2, "row_ctas">,
      I32EnumAttrCase<"Windows", 3, "windows">,
      I32EnumAttrCase<"RowBlocks", 4, "row_blocks">,
      I32EnumAttrCase<"RowBlockQuads", 5, "row_block_quads">,
      I32EnumAttrCase<"TileBlocks", 6, "tile_blocks">,
      I32EnumAttrCase<"ScaleBytes", 7, "scale_bytes">,
      I32EnumAttrCase<"Tiles", 8, "tiles">,
      I32EnumAttrCase<"Gemm", 9, "gemm">,
      I32EnumAttrCase<"GroupedGemm", 10, "grouped_gemm">,
      I32EnumAttrCase<"GemmDecode", 11, "gemm_decode">,
    ]> {
  let cppNamespace = "::mlir::nvfp4";
  let genSpecializedAttr = 0;
}

#endif // NVFP4_DIALECT_NVFP4_IR_NVFP4ENUMS_TD

//===- NVFP4Attrs.td - NVFP4 recipe attribute --------------*- tablegen -*-===//
//
// `#nvfp4.recipe` is the whole description of how a tensor is quantized. It
// is one attribute (rather than one attribute per choice) so that the
// verifier sees every choice at once and rejects meaningless combinations
// wherever a recipe is built: from text, from C++ or from Python.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_DIALECT_NVFP4_IR_NVFP4ATTRS_TD
#define NVFP4_DIALECT_NVFP4_IR_NVFP4ATTRS_TD

include "nvfp4/Dialect/NVFP4/IR/NVFP4Base.td"
include "nvfp4/Dialect/NVFP4/IR/NVFP4Enums.td"

def NVFP4_RecipeAttr : NVFP4_Attr<"Recipe", "recipe"> {
  let summary = "an NVFP4 quantization recipe";
  let description = [{
    A recipe fixes every choice that determines the quantized bytes (SPEC.md):

    | key | values | default |
    |-----|--------|---------|
    | `outer` | `tensor`, `row`, `window<64>` | `tensor` |
    | `block` | `1x16`, `16x16` | `1x16` |
    | `numerics` | `reciprocal`, `quotient` | `reciprocal` |
    | `select` | `map6`, `four_over_six<mae>`, `four_over_six<mse>` | `map6` |
    | `e4m3_max` | `448`, `256` | `448` |
    | `rounding` | `nearest`, `stochastic<seed = N>` | `nearest` |
    | `transform` | `none`, `rht16<MASK>` (sign mask, default `0xD7E8`) | `none` |
    | `directions` | `[rowwise]`, `[columnwise]`, `[rowwise, columnwise]` | `[rowwise]` |
    | `sf_layout` | `linear`, `128x4`, `8x4` | `linear` |
    | `amax` | `computed`, `given`, `given_encode_scale` | `computed` |
    | `global_scale_inv` | a positive binary32 (`0x39C30C31` or `3.7e-4`) | none |

    A recipe may start with a preset name, optionally followed by overrides:
    `per_tensor`, `per_tensor_2d`, `per_tensor_rht`, `per_token`,
    `per_token_quotient`, `local_1x64`, `four_over_six`, `four_over_six_mse`.
    The printer uses the preset name when a recipe equals a preset and
    otherwise lists the keys that differ from the defaults.

    `amax` says where each outer group's scale comes from (SPEC.md section
    3). `computed`: `max |x|` over the group, written to the op's amax
    operand. `given`: the op *reads* the amax operand (a delayed amax, a
    calibrated static one, or one the framework reduced across ranks, e.g.
    from `nvfp4.amax`) and uses it in every formula instead of `max |x|`,
    also when it is smaller than the data's (values then saturate); the
    input is read once and the buffer is left as given. With a given amax
    equal to the computed one the bytes are those of `computed`.
    `given_encode_scale`: the amax operand holds the encode scale `S_enc`
    itself (vLLM's `input_global_scale_inv`, FlashInfer's
    `global_scale_inv`), and `S_dec = RN(1 / S_enc)`; the bytes match those
    producers' for the same scale. No amax exists then, so such a
    quantization cannot be dequantized or multiplied by `nvfp4` ops, and
    `four_over_six` (whose candidate error dequantizes with the amax) is
    rejected with it.

    `global_scale_inv = g` is FlashInfer's global scale on top of the outer
    amax (`nvfp4_quantize_per_token_cute_dsl`): the encode scale of each
    outer group becomes `fminf(RN(RN(1 / g) / amax), FLT_MAX)` (1 when
    `amax` is 0 or that is 0) instead of `fminf(RN(6E / amax), FLT_MAX)`,
    so `g = RN(1/2688)` gives the plain recipe's bytes. It is printed as
    the binary32 bit pattern. Like a given encode scale it leaves the amax
    unable to decode alone, so dequantize and matmul reject it, and it does
    not combine with `four_over_six` or `amax = given_encode_scale`.

    The verifier rejects the combinations SPEC.md section 6 calls
    meaningless: per-row or window outer scales with 16x16 blocks,
    `four_over_six` with the `quotient` form or with `stochastic` rounding,
    and `rht16` without a columnwise output. An E4M3 bound of 256 without
    `four_over_six` is legal: it is well defined (scales use at most 256
    instead of 448) and costs a little range.

    Example:

    ```mlir
    #nvfp4.recipe<per_token>
    #nvfp4.recipe<per_token, sf_layout = 128x4>
    #nvfp4.recipe<per_tensor, amax = given>
    #nvfp4.recipe<outer = window<64>, numerics = quotient>
    #nvfp4.recipe<select = four_over_six<mse>, e4m3_max = 256,
                  directions = [rowwise, columnwise], transform = rht16>
    ```
  }];
  let parameters = (ins
    EnumParameter<NVFP4_OuterGroup>:$outer,
    "unsigned":$window,
    EnumParameter<NVFP4_BlockShape>:$block,
    EnumParameter<NVFP4_Numerics>:$numerics,
    EnumParameter<NVFP4_Selection>:$select,
    "unsigned":$e4m3Max,
    EnumParameter<NVFP4_Rounding>:$rounding,
    "uint64_t":$seed,
    EnumParameter<NVFP4_Transform>:$transform,
    "unsigned":$rhtMask,
    "bool":$rowwise,
    "bool":$columnwise,
    EnumParameter<NVFP4_ScaleLayout>:$sfLayout,
    EnumParameter<NVFP4_AmaxSource>:$amaxSource,
    "uint32_t":$globalScaleInvBits
  );
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The named preset, or a null attribute when `name` names none.
    static RecipeAttr getPreset(::mlir::MLIRContext *context,
                                ::llvm::StringRef name);
    /// The names of all presets, in documentation order.
    static ::llvm::ArrayRef<::llvm::StringRef> getPresetNames();
    /// The preset this recipe equals, if any.
    std::optional<::llvm::StringRef> getPresetName() const;

    bool isFourOverSix() const { return getSelect() != Selection::Map6; }
    bool isStochastic() const { return getRounding() == Rounding::Stochastic; }
    bool hasRHT() const { return getTransform() == Transform::RHT16; }
    bool isBlock2D() const { return getBlock() == BlockShape::B16x16; }
    /// The op reads its amax operands (an amax or an encode scale) instead
    /// of computing them.
    bool hasGivenOuterScale() const {
      return getAmaxSource() != AmaxSource::Computed;
    }
    bool hasGivenEncodeScale() const {
      return getAmaxSource() == AmaxSource::GivenEncodeScale;
    }
    /// A global scale on top of the outer amax (`global_scale_inv`).
    bool hasGlobalScale() const { return getGlobalScaleInvBits() != 0; }
    /// The stored amaxes alone do not give the decode scale: a given
    /// encode scale, or a global scale on top of the amax.
    bool amaxDecodes() const {
      return !hasGivenEncodeScale() && !hasGlobalScale();
    }

    /// Returns a copy with `sfLayout` replaced.
    RecipeAttr withScaleLayout(ScaleLayout layout) const;
    /// Returns a copy with `amaxSource` replaced. Unchecked, like
    /// withScaleLayout: `given_encode_scale` must not be asked of a
    /// `four_over_six` or `global_scale_inv` recipe.
    RecipeAttr withAmaxSource(AmaxSource source) const;
  }];
}

def NVFP4_TensorMapAttr : NVFP4_Attr<"TensorMap", "tensor_map"> {
  let summary = "a TMA tensor map a kernel takes as a grid-constant parameter";
  let description = [{
    Declares that kernel argument `arg` (an `!llvm.ptr`) is a 128-byte
    CUDA tensor map (`CUtensorMap`) that the runtime encodes before each
    launch with `cuTensorMapEncodeTiled` and passes by value, and that
    the kernel reads only through TMA (`cp.async.bulk.tensor`,
    `prefetch.tensormap`). Kernels list these in the `nvfp4.tensor_maps`
    attribute (NVFP4KernelInterface.h).

    The map views kernel argument `operand`, a row-major 2-D memref of
    bytes (`rows x cols` i8: packed E2M1 data), as a tensor of
    uint8 elements with dimensions `{cols, rows}` (innermost first) and
    row pitch `cols` bytes; `box` is the box a copy moves, innermost first
    (`[32, 128]`: one 64-wide K chunk of 128 rows). `swizzle` is the
    shared-memory swizzle in bytes (0 for none, 32, 64 or 128); with a
    swizzle the box's inner extent must not exceed it. Elements outside
    the tensor are filled with zeros.

    Only two dimensions are described because every operand the kernels
    load through TMA is a 2-D byte matrix; a rank parameter would have no
    user.

    Example:

    ```mlir
    gpu.func @k(..., %amap: !llvm.ptr) kernel attributes {
        nvfp4.tensor_maps = [#nvfp4.tensor_map<arg = 8, operand = 0,
                                               box = [32, 128], swizzle = 32>]}
    ```
  }];
  let parameters = (ins
    "int64_t":$arg,
    "int64_t":$operand,
    ArrayRefParameter<"int64_t">:$box,
    "int64_t":$swizzle
  );
  let assemblyFormat = [{
    `<` `arg` `=` $arg `,` `operand` `=` $operand `,` `box` `=` `[` $box `]`
    `,` `swizzle` `=` $swizzle `>`
  }];
  let genVerifyDecl = 1;
}

#endif // NVFP4_DIALECT_NVFP4_IR_NVFP4ATTRS_TD

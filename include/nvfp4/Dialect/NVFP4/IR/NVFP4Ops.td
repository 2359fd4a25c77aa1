//===- NVFP4Ops.td - NVFP4 operations ----------------------*- tablegen -*-===//
//
// Ops work on memrefs in destination style: every output buffer is an
// operand. Kernels then have a plain pointer ABI, and the runtime owns
// allocation (DESIGN.md section 3, docs/Rationale.md).
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_DIALECT_NVFP4_IR_NVFP4OPS_TD
#define NVFP4_DIALECT_NVFP4_IR_NVFP4OPS_TD

include "nvfp4/Dialect/NVFP4/IR/NVFP4Attrs.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

// Unquantized values: the storage dtypes SPEC.md section 3 rounds inputs to.
def NVFP4_ValueMemRef : MemRefRankOf<[BF16, F16, F32], [2]>;
// Packed E2M1 codes, two per byte (SPEC.md section 1).
def NVFP4_DataMemRef : MemRefRankOf<[I8], [2]>;
// E4M3 block scales, in the recipe's scale-factor layout.
def NVFP4_ScaleMemRef : MemRefRankOf<[F8E4M3FN], [2]>;
// Raw FP32 outer amaxes: (1), (rows) or (rows, windows).
def NVFP4_AmaxMemRef : MemRefRankOf<[F32], [1, 2]>;
// Group row counts of a grouped (MoE) op.
def NVFP4_SplitsMemRef : MemRefRankOf<[I64], [1]>;

class NVFP4_QuantizeOpBase<string mnemonic, list<Trait> traits = []>
    : NVFP4_Op<mnemonic, !listconcat(traits, [AttrSizedOperandSegments])> {
  let hasVerifier = 1;
}

def NVFP4_QuantizeOp : NVFP4_QuantizeOpBase<"quantize"> {
  let summary = "quantize a matrix to NVFP4 with a recipe";
  let description = [{
    Quantizes the `M x K` matrix `input` with `recipe` (SPEC.md) and writes
    the outputs the recipe's directions ask for:

    * `rowwise(data, scale, amax)`: rows of `input` quantized along `K`:
      `data` is `M x K/2` packed E2M1 bytes, `scale` the `M x K/16` E4M3
      block scales in the recipe's layout (`128x4`/`8x4`: the padded
      `Rp x Cp` byte matrix, padding written as 0), `amax` the raw FP32
      outer amaxes: `(1)` per tensor, `(M)` per row, `(M, ceil(K/64))` per
      window.
    * `columnwise(data_t, scale_t, amax_t)`: the same for `input^T`
      (`K x M`, quantized along `M`, so `M` must be a multiple of 16), after
      the recipe's transform (`rht16` applies to this direction only).

    Each direction's quantized dimension must be a multiple of 16 (`K` for
    the rowwise output, `M` for the columnwise one); the other dimension is
    arbitrary. Dynamic dimensions are checked by the runtime before a kernel
    runs.

    With `amax = given` (or `given_encode_scale`) in the recipe, `amax` and
    `amax_t` are inputs: the op reads each outer group's amax (or encode
    scale) from them instead of computing it, reads `input` once, and
    leaves them unchanged.

    Example:

    ```mlir
    nvfp4.quantize %x : memref<?x4096xbf16> recipe <per_token>
        rowwise(%d : memref<?x2048xi8>, %s : memref<?x256xf8E4M3FN>,
                %a : memref<?xf32>)
    ```
  }];
  let arguments = (ins
    Arg<NVFP4_ValueMemRef, "the matrix to quantize", [MemRead]>:$input,
    NVFP4_RecipeAttr:$recipe,
    Arg<Optional<NVFP4_DataMemRef>, "rowwise E2M1 data", [MemWrite]>:$data,
    Arg<Optional<NVFP4_ScaleMemRef>, "rowwise block scales", [MemWrite]>:$scale,
    Arg<Optional<NVFP4_AmaxMemRef>, "rowwise outer amaxes (read when the recipe's are given)", [MemRead, MemWrite]>:$amax,
    Arg<Optional<NVFP4_DataMemRef>, "columnwise E2M1 data", [MemWrite]>:$data_t,
    Arg<Optional<NVFP4_ScaleMemRef>, "columnwise block scales", [MemWrite]>:$scale_t,
    Arg<Optional<NVFP4_AmaxMemRef>, "columnwise outer amaxes (read when the recipe's are given)", [MemRead, MemWrite]>:$amax_t
  );
  let assemblyFormat = [{
    $input `:` type($input) `recipe` $recipe
    (`rowwise` `(` $data^ `:` type($data) `,` $scale `:` type($scale) `,`
                  $amax `:` type($amax) `)`)?
    (`columnwise` `(` $data_t^ `:` type($data_t) `,` $scale_t `:` type($scale_t) `,`
                     $amax_t `:` type($amax_t) `)`)?
    attr-dict
  }];
}

def NVFP4_AmaxOp : NVFP4_Op<"amax", [AttrSizedOperandSegments]> {
  let summary = "compute the outer amaxes a quantization would use";
  let description = [{
    Writes the raw FP32 outer amaxes that `nvfp4.quantize` with the same
    recipe computes (SPEC.md section 3: `max |x|` per outer group, NaN
    ignored; after the transform for the columnwise direction), and nothing
    else: the first half of a split quantization. A framework reduces the
    result (e.g. an all-reduce across ranks, or a delayed-scaling history)
    and passes it to `nvfp4.quantize` with `amax = given`. The recipe's
    directions say which of `amax` (shaped as the quantize op's `amax`) and
    `amax_t` (its `amax_t`) are written; its `amax` key is ignored, except
    that `given_encode_scale` (no amax) is rejected.

    Example:

    ```mlir
    nvfp4.amax %x : memref<?x4096xbf16> recipe <per_tensor>
        rowwise(%a : memref<1xf32>)
    nvfp4.quantize %x : memref<?x4096xbf16> recipe <per_tensor, amax = given>
        rowwise(%d : memref<?x2048xi8>, %s : memref<?x256xf8E4M3FN>,
                %a : memref<1xf32>)
    ```
  }];
  let arguments = (ins
    Arg<NVFP4_ValueMemRef, "the matrix a quantization would read", [MemRead]>:$input,
    NVFP4_RecipeAttr:$recipe,
    Arg<Optional<NVFP4_AmaxMemRef>, "rowwise outer amaxes", [MemWrite]>:$amax,
    Arg<Optional<NVFP4_AmaxMemRef>, "columnwise outer amaxes", [MemWrite]>:$amax_t
  );
  let assemblyFormat = [{
    $input `:` type($input) `recipe` $recipe
    (`rowwise` `(` $amax^ `:` type($amax) `)`)?
    (`columnwise` `(` $amax_t^ `:` type($amax_t) `)`)?
    attr-dict
  }];
  let hasVerifier = 1;
}

def NVFP4_GroupedQuantizeOp : NVFP4_QuantizeOpBase<"grouped_quantize"> {
  let summary = "quantize a row-split matrix, each group with its own outer scales";
  let description = [{
    The grouped (MoE) form of `nvfp4.quantize`: `splits[g]` rows of `input`
    belong to group `g`, in order (zero-size groups are legal; the splits
    must add up to `M`, which is checked when the kernel runs). Every group
    is quantized as its own tensor: per-tensor recipes get one amax per group
    (`amax` is `(G)`), per-row and window recipes are unchanged rowwise.

    Scale layouts: with `linear` the outputs are those of `nvfp4.quantize`.
    With `128x4`/`8x4` each group's rowwise scales start on a fresh row tile
    (row `sum_{h<g} roundup(splits[h], T)`), so `scale` needs at least
    `M + G*(T-1)` rows, rounded up to `T`; unused rows are written as 0.

    The columnwise output quantizes each group's `X_g^T` along its rows, so
    every `splits[g]` must be a multiple of 16 (checked at run time) and
    `data_t`/`scale_t` are those of `nvfp4.quantize` (blocks never cross a
    group boundary). Columnwise amaxes: `(G)` per tensor, `(G, K)` per row;
    window recipes and swizzled layouts are not supported for the grouped
    columnwise output.

    Example:

    ```mlir
    nvfp4.grouped_quantize %x : memref<?x4096xbf16>
        splits(%s : memref<8xi64>) recipe <per_tensor>
        rowwise(%d : memref<?x2048xi8>, %sf : memref<?x256xf8E4M3FN>,
                %a : memref<8xf32>)
    ```
  }];
  let arguments = (ins
    Arg<NVFP4_ValueMemRef, "the matrix to quantize", [MemRead]>:$input,
    Arg<NVFP4_SplitsMemRef, "rows per group", [MemRead]>:$splits,
    NVFP4_RecipeAttr:$recipe,
    Arg<Optional<NVFP4_DataMemRef>, "rowwise E2M1 data", [MemWrite]>:$data,
    Arg<Optional<NVFP4_ScaleMemRef>, "rowwise block scales", [MemWrite]>:$scale,
    Arg<Optional<NVFP4_AmaxMemRef>, "rowwise outer amaxes (read when the recipe's are given)", [MemRead, MemWrite]>:$amax,
    Arg<Optional<NVFP4_DataMemRef>, "columnwise E2M1 data", [MemWrite]>:$data_t,
    Arg<Optional<NVFP4_ScaleMemRef>, "columnwise block scales", [MemWrite]>:$scale_t,
    Arg<Optional<NVFP4_AmaxMemRef>, "columnwise outer amaxes (read when the recipe's are given)", [MemRead, MemWrite]>:$amax_t
  );
  let assemblyFormat = [{
    $input `:` type($input) `splits` `(` $splits `:` type($splits) `)`
    `recipe` $recipe
    (`rowwise` `(` $data^ `:` type($data) `,` $scale `:` type($scale) `,`
                  $amax `:` type($amax) `)`)?
    (`columnwise` `(` $data_t^ `:` type($data_t) `,` $scale_t `:` type($scale_t) `,`
                     $amax_t `:` type($amax_t) `)`)?
    attr-dict
  }];
}

def NVFP4_DequantizeOp : NVFP4_Op<"dequantize"> {
  let summary = "dequantize one direction of an NVFP4 tensor";
  let description = [{
    Computes `x_hat = OutType(RN(e2m1(q) * final_scale))` (SPEC.md section
    11) for an `R x C` matrix stored as `data` (`R x C/2`), `scale` (in the
    recipe's layout) and `amax` (per the recipe's outer group). For a
    columnwise output pass `data_t`/`scale_t`/`amax_t` and an output of
    shape `K x M`; an `rht16` recipe's columnwise values come back in the
    transformed domain.

    Example:

    ```mlir
    nvfp4.dequantize %d : memref<128x128xi8>, %s : memref<128x16xf8E4M3FN>,
        %a : memref<128xf32> recipe <per_token> to %y : memref<128x256xbf16>
    ```
  }];
  let arguments = (ins
    Arg<NVFP4_DataMemRef, "E2M1 data", [MemRead]>:$data,
    Arg<NVFP4_ScaleMemRef, "block scales", [MemRead]>:$scale,
    Arg<NVFP4_AmaxMemRef, "outer amaxes", [MemRead]>:$amax,
    NVFP4_RecipeAttr:$recipe,
    Arg<NVFP4_ValueMemRef, "dequantized values", [MemWrite]>:$output
  );
  let assemblyFormat = [{
    $data `:` type($data) `,` $scale `:` type($scale) `,` $amax `:` type($amax)
    `recipe` $recipe `to` $output `:` type($output) attr-dict
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Producers (SPEC.md section 15)
//===----------------------------------------------------------------------===//

// The per-row RMSNorm scale `inv` (1/rms), kept for a backward pass.
def NVFP4_RowScaleMemRef : MemRefRankOf<[F32], [1]>;
// RMSNorm weights, one per column.
def NVFP4_WeightMemRef : MemRefRankOf<[BF16, F16, F32], [1]>;

def NVFP4_RMSNormOp : NVFP4_Op<"rms_norm"> {
  let summary = "RMSNorm of each row, optionally after a residual add";
  let description = [{
    `y = RN_s(RN(RN(h * inv) * weight))` per row of the `M x K` matrix
    `input`, with `h = input` or, with a `residual`, `h = RN_s(input +
    residual)`, and `inv = 1/rms(h)` computed in the fixed order of SPEC.md
    section 15 (`s` is the storage type shared by every value operand).
    With a residual, `h` is written back into `residual` (the fused
    residual add of a transformer block). `rstd` receives each row's `inv`.
    `eps` must be finite and positive.

    Example:

    ```mlir
    nvfp4.rms_norm %x : memref<?x4096xbf16>, %w : memref<4096xbf16>
        residual(%r : memref<?x4096xbf16>) eps 1.0e-06
        to %y : memref<?x4096xbf16>, %rstd : memref<?xf32>
    ```
  }];
  let arguments = (ins
    Arg<NVFP4_ValueMemRef, "the rows to normalize", [MemRead]>:$input,
    Arg<NVFP4_WeightMemRef, "weight per column", [MemRead]>:$weight,
    Arg<Optional<NVFP4_ValueMemRef>, "residual, read and overwritten with h", [MemRead, MemWrite]>:$residual,
    F32Attr:$eps,
    Arg<NVFP4_ValueMemRef, "the normalized rows", [MemWrite]>:$output,
    Arg<NVFP4_RowScaleMemRef, "1/rms per row", [MemWrite]>:$rstd
  );
  let assemblyFormat = [{
    $input `:` type($input) `,` $weight `:` type($weight)
    (`residual` `(` $residual^ `:` type($residual) `)`)?
    `eps` $eps `to` $output `:` type($output) `,` $rstd `:` type($rstd)
    attr-dict
  }];
  let hasVerifier = 1;
}

def NVFP4_GatedActOp : NVFP4_Op<"gated_act"> {
  let summary = "gated activation act(gate) * up of the two halves of each row";
  let description = [{
    For `input` of shape `M x 2N` (gate `g = input[:, :N]`, up
    `u = input[:, N:]`): `output = RN_s(RN(act(g) * u))`, `M x N`, with
    `act` = `silu` or `gelu_tanh` computed by the project's binary32
    sequences (SPEC.md section 15, docs/ProducerNumerics.md).

    Example:

    ```mlir
    nvfp4.gated_act silu %x : memref<?x8192xbf16> to %y : memref<?x4096xbf16>
    ```
  }];
  let arguments = (ins
    NVFP4_GatedActivation:$act,
    Arg<NVFP4_ValueMemRef, "gate and up halves", [MemRead]>:$input,
    Arg<NVFP4_ValueMemRef, "the gated activation", [MemWrite]>:$output
  );
  let assemblyFormat = [{
    $act $input `:` type($input) `to` $output `:` type($output) attr-dict
  }];
  let hasVerifier = 1;
}

def NVFP4_RMSNormQuantizeOp : NVFP4_QuantizeOpBase<"rms_norm_quantize"> {
  let summary = "nvfp4.rms_norm fused into the nvfp4.quantize of its result";
  let description = [{
    Quantizes, with `recipe`, the matrix `nvfp4.rms_norm` with the same
    operands would write, without writing it unless `y` is given: the
    outputs are those of `nvfp4.quantize` on that matrix, byte for byte
    (SPEC.md section 15). `rstd` and the updated `residual` are written
    as by `nvfp4.rms_norm`. `nvfp4-fuse-producers` forms this op.

    Example:

    ```mlir
    nvfp4.rms_norm_quantize %x : memref<?x4096xbf16>, %w : memref<4096xbf16>
        eps 1.0e-06 rstd(%rstd : memref<?xf32>) recipe <per_token>
        rowwise(%d : memref<?x2048xi8>, %s : memref<?x256xf8E4M3FN>,
                %a : memref<?xf32>)
    ```
  }];
  let arguments = (ins
    Arg<NVFP4_ValueMemRef, "the rows to normalize", [MemRead]>:$input,
    Arg<NVFP4_WeightMemRef, "weight per column", [MemRead]>:$weight,
    Arg<Optional<NVFP4_ValueMemRef>, "residual, read and overwritten with h", [MemRead, MemWrite]>:$residual,
    F32Attr:$eps,
    Arg<NVFP4_RowScaleMemRef, "1/rms per row", [MemWrite]>:$rstd,
    Arg<Optional<NVFP4_ValueMemRef>, "the normalized rows, when wanted", [MemWrite]>:$y,
    NVFP4_RecipeAttr:$recipe,
    Arg<Optional<NVFP4_DataMemRef>, "rowwise E2M1 data", [MemWrite]>:$data,
    Arg<Optional<NVFP4_ScaleMemRef>, "rowwise block scales", [MemWrite]>:$scale,
    Arg<Optional<NVFP4_AmaxMemRef>, "rowwise outer amaxes (read when the recipe's are given)", [MemRead, MemWrite]>:$amax,
    Arg<Optional<NVFP4_DataMemRef>, "columnwise E2M1 data", [MemWrite]>:$data_t,
    Arg<Optional<NVFP4_ScaleMemRef>, "columnwise block scales", [MemWrite]>:$scale_t,
    Arg<Optional<NVFP4_AmaxMemRef>, "columnwise outer amaxes (read when the recipe's are given)", [MemRead, MemWrite]>:$amax_t
  );
  let assemblyFormat = [{
    $input `:` type($input) `,` $weight `:` type($weight)
    (`residual` `(` $residual^ `:` type($residual) `)`)?
    `eps` $eps `rstd` `(` $rstd `:` type($rstd) `)`
    (`y` `(` $y^ `:` type($y) `)`)?
    `recipe` $recipe
    (`rowwise` `(` $data^ `:` type($data) `,` $scale `:` type($scale) `,`
                  $amax `:` type($amax) `)`)?
    (`columnwise` `(` $data_t^ `:` type($data_t) `,` $scale_t `:` type($scale_t) `,`
                     $amax_t `:` type($amax_t) `)`)?
    attr-dict
  }];
}

def NVFP4_GatedActQuantizeOp : NVFP4_QuantizeOpBase<"gated_act_quantize"> {
  let summary = "nvfp4.gated_act fused into the nvfp4.quantize of its result";
  let description = [{
    Quantizes, with `recipe`, the `M x N` matrix `nvfp4.gated_act` would
    write for `input` (`M x 2N`), without writing it unless `y` is given:
    the outputs are those of `nvfp4.quantize` on that matrix, byte for byte
    (SPEC.md section 15). `nvfp4-fuse-producers` forms this op.

    Example:

    ```mlir
    nvfp4.gated_act_quantize silu %x : memref<?x8192xbf16> recipe <per_token>
        rowwise(%d : memref<?x2048xi8>, %s : memref<?x256xf8E4M3FN>,
                %a : memref<?xf32>)
    ```
  }];
  let arguments = (ins
    NVFP4_GatedActivation:$act,
    Arg<NVFP4_ValueMemRef, "gate and up halves", [MemRead]>:$input,
    Arg<Optional<NVFP4_ValueMemRef>, "the gated activation, when wanted", [MemWrite]>:$y,
    NVFP4_RecipeAttr:$recipe,
    Arg<Optional<NVFP4_DataMemRef>, "rowwise E2M1 data", [MemWrite]>:$data,
    Arg<Optional<NVFP4_ScaleMemRef>, "rowwise block scales", [MemWrite]>:$scale,
    Arg<Optional<NVFP4_AmaxMemRef>, "rowwise outer amaxes (read when the recipe's are given)", [MemRead, MemWrite]>:$amax,
    Arg<Optional<NVFP4_DataMemRef>, "columnwise E2M1 data", [MemWrite]>:$data_t,
    Arg<Optional<NVFP4_ScaleMemRef>, "columnwise block scales", [MemWrite]>:$scale_t,
    Arg<Optional<NVFP4_AmaxMemRef>, "columnwise outer amaxes (read when the recipe's are given)", [MemRead, MemWrite]>:$amax_t
  );
  let assemblyFormat = [{
    $act $input `:` type($input)
    (`y` `(` $y^ `:` type($y) `)`)?
    `recipe` $recipe
    (`rowwise` `(` $data^ `:` type($data) `,` $scale `:` type($scale) `,`
                  $amax `:` type($amax) `)`)?
    (`columnwise` `(` $data_t^ `:` type($data_t) `,` $scale_t `:` type($scale_t) `,`
                     $amax_t `:` type($amax_t) `)`)?
    attr-dict
  }];
}

class NVFP4_MatmulOpBase<string mnemonic, list<Trait> traits = []>
    : NVFP4_Op<mnemonic, traits> {
  let hasVerifier = 1;
}

def NVFP4_MatmulOp : NVFP4_MatmulOpBase<"matmul"> {
  let summary = "NVFP4 GEMM D = A * B^T with outer scales applied in the epilogue";
  let description = [{
    `A` is `M x K` and `B` is `N x K`, both NVFP4 along `K` ("TN") with
    block scales in the `128x4` layout and raw FP32 outer amaxes described
    by `a_recipe` and `b_recipe`. Products are accumulated in FP32 and
    scaled in the epilogue (SPEC.md section 12):
    `D[i,j] = Out(alpha * c * amax_A[i] * amax_B[j] * acc[i,j] + bias[j])`
    with `c = 1/(36 * E_A * E_B)`; a per-tensor operand broadcasts its scalar
    amax, and window (1x64) operands promote every 64-wide `K` step with its
    own amaxes. A window operand may be paired with a per-tensor or
    per-row one: every window then uses the other operand's (constant)
    amax. `bias` is FP32 of shape `(N)`; the output is bf16, f16 or f32.
    The exact rounding sequence is that of `GemmNumerics.h`.

    Example:

    ```mlir
    nvfp4.matmul
        a(%ad : memref<?x2048xi8>, %as : memref<?x256xf8E4M3FN>, %aa : memref<?xf32>)
          recipe <per_token, sf_layout = 128x4>
        b(%bd : memref<4096x2048xi8>, %bs : memref<4096x256xf8E4M3FN>, %ba : memref<1xf32>)
          recipe <per_tensor, sf_layout = 128x4>
        outs(%d : memref<?x4096xbf16>) {alpha = 1.0 : f32}
    ```
  }];
  let arguments = (ins
    Arg<NVFP4_DataMemRef, "A E2M1 data", [MemRead]>:$a_data,
    Arg<NVFP4_ScaleMemRef, "A block scales", [MemRead]>:$a_scale,
    Arg<NVFP4_AmaxMemRef, "A outer amaxes", [MemRead]>:$a_amax,
    NVFP4_RecipeAttr:$a_recipe,
    Arg<NVFP4_DataMemRef, "B E2M1 data", [MemRead]>:$b_data,
    Arg<NVFP4_ScaleMemRef, "B block scales", [MemRead]>:$b_scale,
    Arg<NVFP4_AmaxMemRef, "B outer amaxes", [MemRead]>:$b_amax,
    NVFP4_RecipeAttr:$b_recipe,
    Arg<Optional<MemRefRankOf<[F32], [1]>>, "bias per column", [MemRead]>:$bias,
    Arg<NVFP4_ValueMemRef, "the product", [MemWrite]>:$output,
    DefaultValuedAttr<F32Attr, "1.0">:$alpha
  );
  let assemblyFormat = [{
    `a` `(` $a_data `:` type($a_data) `,` $a_scale `:` type($a_scale) `,`
            $a_amax `:` type($a_amax) `)` `recipe` $a_recipe
    `b` `(` $b_data `:` type($b_data) `,` $b_scale `:` type($b_scale) `,`
            $b_amax `:` type($b_amax) `)` `recipe` $b_recipe
    (`bias` `(` $bias^ `:` type($bias) `)`)?
    `outs` `(` $output `:` type($output) `)` attr-dict
  }];
}

def NVFP4_MatmulW4A16Op : NVFP4_MatmulOpBase<"matmul_w4a16"> {
  let summary = "GEMM D = A * B^T of a bf16/f16 A and an NVFP4 B (W4A16)";
  let description = [{
    The weight-only form of `nvfp4.matmul`: `A` (`M x K`) is bf16 or f16
    and is used exactly as given (not quantized, no scales, no amax); `B`
    (`N x K`) is NVFP4 along `K` with block scales in the `128x4` layout
    and raw FP32 outer amaxes described by `b_recipe` (any recipe). Each
    decoded `B` element `e2m1 * sf` is exact in f16, bf16 and f32; products
    are accumulated in FP32 and B's outer scale is applied as
    `nvfp4.matmul` applies it with A's factor absent (SPEC.md section 12,
    `GemmNumerics.h`):
    `D[i,j] = Out(alpha * c * amax_B[j] * acc[i,j] + bias[j])` with
    `c = 1/(6 * E_B)`; a window (1x64) `B` promotes every 64-wide `K` step
    with its own amax. `bias` is FP32 of shape `(N)`; the output is bf16,
    f16 or f32.

    Example:

    ```mlir
    nvfp4.matmul_w4a16
        a(%a : memref<?x2048xbf16>)
        b(%bd : memref<4096x1024xi8>, %bs : memref<4096x128xf8E4M3FN>, %ba : memref<1xf32>)
          recipe <per_tensor, sf_layout = 128x4>
        outs(%d : memref<?x4096xbf16>)
    ```
  }];
  let arguments = (ins
    Arg<MemRefRankOf<[BF16, F16], [2]>, "A values", [MemRead]>:$a,
    Arg<NVFP4_DataMemRef, "B E2M1 data", [MemRead]>:$b_data,
    Arg<NVFP4_ScaleMemRef, "B block scales", [MemRead]>:$b_scale,
    Arg<NVFP4_AmaxMemRef, "B outer amaxes", [MemRead]>:$b_amax,
    NVFP4_RecipeAttr:$b_recipe,
    Arg<Optional<MemRefRankOf<[F32], [1]>>, "bias per column", [MemRead]>:$bias,
    Arg<NVFP4_ValueMemRef, "the product", [MemWrite]>:$output,
    DefaultValuedAttr<F32Attr, "1.0">:$alpha
  );
  let assemblyFormat = [{
    `a` `(` $a `:` type($a) `)`
    `b` `(` $b_data `:` type($b_data) `,` $b_scale `:` type($b_scale) `,`
            $b_amax `:` type($b_amax) `)` `recipe` $b_recipe
    (`bias` `(` $bias^ `:` type($bias) `)`)?
    `outs` `(` $output `:` type($output) `)` attr-dict
  }];
}

def NVFP4_GroupedMatmulOp : NVFP4_MatmulOpBase<"grouped_matmul"> {
  let summary = "grouped (MoE) NVFP4 GEMM: rows of A split over one B per group";
  let description = [{
    `splits[g]` consecutive rows of `A` (`M x K`) are multiplied by `B[g]`
    (`B` is `G x N x K`) into the same rows of `D` (`M x N`); zero-size
    groups are legal. `A` comes from `nvfp4.grouped_quantize` (its swizzled
    scales start on a fresh 128-row tile per group, so `a_scale` has at
    least `M + G*127` rows rounded up to 128), and a per-tensor `A` has one
    amax per group. `B`'s scales are `G x Np x Cp`, its amaxes `(G)`,
    `(G, N)` or `(G, N, ceil(K/64))`. The epilogue is that of
    `nvfp4.matmul`; `bias` is `(G, N)`.

    Example:

    ```mlir
    nvfp4.grouped_matmul splits(%s : memref<8xi64>)
        a(%ad : memref<?x2048xi8>, %as : memref<?x256xf8E4M3FN>, %aa : memref<8xf32>)
          recipe <per_tensor, sf_layout = 128x4>
        b(%bd : memref<8x1024x2048xi8>, %bs : memref<8x1024x256xf8E4M3FN>,
          %ba : memref<8xf32>) recipe <per_tensor, sf_layout = 128x4>
        outs(%d : memref<?x1024xbf16>)
    ```
  }];
  let arguments = (ins
    Arg<NVFP4_SplitsMemRef, "rows of A per group", [MemRead]>:$splits,
    Arg<NVFP4_DataMemRef, "A E2M1 data", [MemRead]>:$a_data,
    Arg<NVFP4_ScaleMemRef, "A block scales", [MemRead]>:$a_scale,
    Arg<NVFP4_AmaxMemRef, "A outer amaxes", [MemRead]>:$a_amax,
    NVFP4_RecipeAttr:$a_recipe,
    Arg<MemRefRankOf<[I8], [3]>, "B E2M1 data per group", [MemRead]>:$b_data,
    Arg<MemRefRankOf<[F8E4M3FN], [3]>, "B block scales per group", [MemRead]>:$b_scale,
    Arg<MemRefRankOf<[F32], [1, 2, 3]>, "B outer amaxes per group", [MemRead]>:$b_amax,
    NVFP4_RecipeAttr:$b_recipe,
    Arg<Optional<MemRefRankOf<[F32], [2]>>, "bias per group and column", [MemRead]>:$bias,
    Arg<NVFP4_ValueMemRef, "the product", [MemWrite]>:$output,
    DefaultValuedAttr<F32Attr, "1.0">:$alpha
  );
  let assemblyFormat = [{
    `splits` `(` $splits `:` type($splits) `)`
    `a` `(` $a_data `:` type($a_data) `,` $a_scale `:` type($a_scale) `,`
            $a_amax `:` type($a_amax) `)` `recipe` $a_recipe
    `b` `(` $b_data `:` type($b_data) `,` $b_scale `:` type($b_scale) `,`
            $b_amax `:` type($b_amax) `)` `recipe` $b_recipe
    (`bias` `(` $bias^ `:` type($bias) `)`)?
    `outs` `(` $output `:` type($output) `)` attr-dict
  }];
}

#endif // NVFP4_DIALECT_NVFP4_IR_NVFP4OPS_TD

//===- ProducerEmitter.h - Producers read as a quantization's X -*- C++ -*-===//
//
// The producers of SPEC.md section 15 as ValueSources: a quantization of a
// fused op reads X through one of them and sees the values the producer
// would have written (each rounded to the storage type), so fused,
// unfused and CPU bytes agree by construction. The per-row RMSNorm scale
// `inv` comes from a callback: a load of `rstd` after a pass that stored
// it, or a value a kernel computed for its own row. The math is
// NumericsBuilder's.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_CONVERSION_PRODUCEREMITTER_H
#define NVFP4_CONVERSION_PRODUCEREMITTER_H

#include "nvfp4/Conversion/QuantizeEmitter.h"

#include <functional>

namespace mlir {
namespace nvfp4 {

/// y = RN_s(RN(act(g) * u)) of an `M x 2N` input (gate, then up): X is
/// `M x N`.
class GatedActSource : public ValueSource {
public:
  GatedActSource(GatedActivation act, Value input) : act(act), input(input) {}
  Value rows(LoweringBuilder &e) override { return e.dim(input, 0); }
  Value cols(LoweringBuilder &e) override { return e.divI(e.dim(input, 1), 2); }
  Type storageType() override {
    return cast<MemRefType>(input.getType()).getElementType();
  }
  Value load(LoweringBuilder &e, Value r, Value c) override;
  SmallVector<Value, kBlock> loadRow16(LoweringBuilder &e, Value r,
                                       Value c) override;

private:
  Value combine(LoweringBuilder &e, Value g, Value u);

  GatedActivation act;
  Value input;
};

/// The RMSNorm of SPEC.md section 15: h = x, or RN_s(x + residual), and
/// y = RN_s(RN(RN(h * inv) * w)).
class RMSNormSource : public ValueSource {
public:
  /// `inv(e, r)`: the RMSNorm scale of row r.
  using InvFn = std::function<Value(LoweringBuilder &e, Value r)>;
  RMSNormSource(Value input, Value weight, Value residual, InvFn inv)
      : input(input), weight(weight), residual(residual), inv(std::move(inv)) {}
  Value rows(LoweringBuilder &e) override { return e.dim(input, 0); }
  Value cols(LoweringBuilder &e) override { return e.dim(input, 1); }
  Type storageType() override {
    return cast<MemRefType>(input.getType()).getElementType();
  }
  Value load(LoweringBuilder &e, Value r, Value c) override;
  SmallVector<Value, kBlock> loadRow16(LoweringBuilder &e, Value r,
                                       Value c) override;
  /// h[r, c]: the input after the residual add (the value written back to
  /// the residual).
  Value loadH(LoweringBuilder &e, Value r, Value c);
  /// y[r, c] from h[r, c].
  Value fromH(LoweringBuilder &e, Value r, Value c, Value h);
  /// The partial sum of squares p_b of the values [c, c + n) of row r, in
  /// order from +0 (a 16-block, or the short last block of a row).
  Value blockSumSquares(LoweringBuilder &e, Value r, Value c, Value n);
  void setInv(InvFn fn) { inv = std::move(fn); }
  Value getResidual() const { return residual; }

  /// h[r, c .. c+15] of a whole aligned block (as loadRow16 reads them).
  SmallVector<Value, kBlock> loadH16(LoweringBuilder &e, Value r, Value c);
  /// A kernel that keeps rows in shared memory replaces loadH16 with
  /// `hook(e, r, c, load)`, `load()` being the loads from memory.
  using HBlockFn = std::function<SmallVector<Value, kBlock>(
      LoweringBuilder &e, Value r, Value c,
      function_ref<SmallVector<Value, kBlock>()> load)>;
  void setHBlockHook(HBlockFn fn) { hBlockHook = std::move(fn); }

private:
  SmallVector<Value, kBlock> loadH16FromMemory(LoweringBuilder &e, Value r,
                                               Value c);
  Value normalize(LoweringBuilder &e, Value h, Value rowInv, Value w);

  Value input, weight, residual;
  InvFn inv;
  HBlockFn hBlockHook;
};

/// The pairwise tree of SPEC.md section 15 over the f32 values buf[0, n),
/// in place: for stride 1, 2, 4, ...: buf[b] = RN(buf[b] + buf[b + stride])
/// for b a multiple of 2 * stride whose partner exists (a missing partner
/// adds nothing). The sum ends in buf[0]; `levels` strides are tried, so
/// 2^levels must be at least n. Serial (one thread).
void emitPairwiseTree(LoweringBuilder &e, Value buf, Value n, int64_t levels);

/// The RMSNorm scales of every row of `source`, stored into `rstd` (f32, a
/// NaN canonical), in the order of SPEC.md section 15, by loops (the CPU
/// schedule): block partial sums into a scratch buffer, then the pairwise
/// tree over them.
void emitRMSInverseLoops(LoweringBuilder &e, RMSNormSource &source,
                         float eps, Value rstd);

/// Writes what a producer writes besides X's quantization: `y` (X itself,
/// when given) and, for an RMSNorm with a residual, h back into the
/// residual. Each element is read before it is overwritten by the same
/// body, so the write-back is safe in place. Rows [0, M) are mapped onto
/// `schedule` (forEach2D over rows and columns): with aligned buffers
/// (e.blockAlignment) rows of K % 16 == 0 values go by 16-blocks with
/// vector loads and stores, other rows value by value.
void emitProducerOutputs(LoweringBuilder &e, ValueSource &source, Value y,
                         RMSNormSource *rms, RowSchedule &schedule);

/// The outputs of one aligned 16-block of row r at column c, with vector
/// loads and stores: y from the source and h into an RMSNorm's residual,
/// whose values must not be read for this block afterwards.
void emitProducerBlockOutputs(LoweringBuilder &e, ValueSource &source,
                              Value y, RMSNormSource *rms, Value r, Value c);

} // namespace nvfp4
} // namespace mlir

#endif // NVFP4_CONVERSION_PRODUCEREMITTER_H

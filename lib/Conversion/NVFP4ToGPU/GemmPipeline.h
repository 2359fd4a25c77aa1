//===- GemmPipeline.h - Warp-specialized GEMM pipeline ---------*- C++ -*-===//
//
// The machinery of a pipelined GEMM kernel that does not depend on the
// chip's MMA: a ring of shared-memory stages guarded by mbarriers, producer
// and consumer warp roles, and a persistent tile schedule.
//
//  * Ring. Stage s has two mbarriers: `full[s]` completes a phase when every
//    producer thread has filled the stage, `empty[s]` when every consumer
//    thread has finished reading it. Iteration i of a block uses stage
//    i % S in phase (i / S) % 2 of its barriers; both roles carry that
//    position (`Slot`) through their loops instead of dividing.
//  * Roles. The block's threads split once, after the barriers are
//    initialised, into producers and consumers that never meet at a block
//    barrier again: each role waits only on the other's mbarriers, so the
//    producers run up to S iterations ahead -- into the next tile while the
//    consumers run an epilogue.
//  * TMA. A stage may instead be filled by one producer thread with
//    asynchronous bulk copies (fillStage): tensor-map boxes and contiguous
//    byte ranges whose completion the `full` barrier counts in bytes.
//  * Schedule. A persistent block walks tiles blockIdx.x, blockIdx.x +
//    gridDim.x, ... and, for each, the K chunks in order: one flat loop of
//    iterations (tile, chunk), the same in both roles. Any grid size is
//    correct; the runtime launches at most one block per SM.
//
// A producer waits for `empty[s]` in the phase before the consumers' one:
// a freshly initialised barrier counts that phase as complete, so the first
// S iterations do not wait.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_CONVERSION_NVFP4TOGPU_GEMMPIPELINE_H
#define NVFP4_CONVERSION_NVFP4TOGPU_GEMMPIPELINE_H

#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/SmallVector.h"

namespace mlir {
namespace nvfp4 {
namespace detail {

class GemmPipeline {
public:
  /// The position of an iteration in the ring: its stage (index) and the
  /// parity (i32, 0 or 1) of the barrier phase it uses.
  struct Slot {
    Value stage, phase;
  };

  /// `barriers`: a shared-memory (address space 3) pointer to 2 * `stages`
  /// 8-byte-aligned words for the mbarriers. `producerArrivals` and
  /// `consumerArrivals`: the arrivals that complete a phase of `full` and
  /// of `empty`.
  GemmPipeline(ImplicitLocOpBuilder &b, Value barriers, int64_t stages,
               int64_t producerArrivals, int64_t consumerArrivals);

  int64_t stages() const { return numStages; }

  /// Thread `tid` == 0 initialises the barriers (and those of `others`,
  /// further rings of the kernel), then every thread of the block meets at
  /// one block barrier (before the roles split).
  void initialize(Value tid, ArrayRef<GemmPipeline *> others = {});

  /// The position of this block's first iteration.
  Slot firstSlot();

  /// The tiles of this block under the persistent schedule of `numTiles`
  /// tiles, and the tile index of its `local`-th one.
  Value tiles(Value numTiles);
  Value tileOf(Value local);
  /// The (tile, chunk) iterations of this block with `numChunks` chunks
  /// per tile, and the tile index and chunk of its iteration `i`.
  Value iterations(Value numTiles, Value numChunks);
  std::pair<Value, Value> tileAndChunk(Value i, Value numChunks);

  /// Builds `scf.for i in [0, count)` that starts at ring position `slot`,
  /// advances it by one stage per iteration and carries `init`;
  /// `body(i, slot, iter)` returns the next values of `iter`. Returns the
  /// position after the loop and the final values of `iter`.
  std::pair<Slot, SmallVector<Value>>
  loop(Value count, Slot slot, ValueRange init,
       function_ref<SmallVector<Value>(Value, Slot, ValueRange)> body);

  /// The stage before `stage` in the ring.
  Value previousStage(Value stage);

  /// Producer side: wait until the consumers have released `slot`'s stage
  /// (its previous use), and publish it when filled.
  void waitEmpty(Slot slot);
  void arriveFull(Slot slot);
  /// A TMA fill of a stage, issued by one producer thread: 2-D boxes of
  /// tensor maps and contiguous byte ranges, all completing on the stage's
  /// `full` barrier (mbarrier complete_tx).
  struct TensorTile {
    Value map;     ///< the tensor map (a grid-constant kernel parameter)
    Value x, y;    ///< the box's first element, innermost coordinate first
    Value dst;     ///< shared-memory (address space 3) destination
    int64_t bytes; ///< bytes of the box, out-of-bounds fill included
  };
  struct ByteRange {
    Value src;     ///< global (address space 1) source, 16-byte aligned
    Value dst;     ///< shared-memory destination, 16-byte aligned
    int64_t bytes; ///< a multiple of 16
  };
  /// Announces the fill's byte count on `slot`'s `full` barrier
  /// (mbarrier.arrive.expect_tx: this thread's arrival, counted among the
  /// producer arrivals) and issues its copies (cp.async.bulk.tensor and
  /// cp.async.bulk, mbarrier::complete_tx::bytes); the phase completes when
  /// every byte has landed. With one producer thread per stage the barrier
  /// is initialised with `producerArrivals` = 1.
  void fillStage(Slot slot, ArrayRef<TensorTile> tiles,
                 ArrayRef<ByteRange> ranges);
  /// Brings tensor map `map` (a kernel parameter) into the cache ahead of
  /// its first use (prefetch.param.tensormap).
  void prefetchTensorMap(Value map);

  /// Consumer side: wait until `slot`'s stage is filled, and release a
  /// stage when every read of it (by this thread's MMAs too) is complete.
  void waitFull(Slot slot);
  void arriveEmpty(Value stage);

  /// The role split: warpgroups [0, `producerGroups`) of the block run
  /// `produce`, the others `consume`. The branch is on the warpgroup index
  /// broadcast from lane 0 (shfl.sync), which ptxas knows to be warp-
  /// uniform: wgmma in a branch it must assume divergent is serialized.
  /// Each role then sets its register budget (setmaxnreg; 0 keeps the
  /// launch's): producers need few, MMA accumulators many.
  void splitRoles(Value tid, int64_t producerGroups, int64_t producerRegs,
                  int64_t consumerRegs, function_ref<void()> produce,
                  function_ref<void()> consume);

  /// The `full` and `empty` barriers of a stage (shared pointers), for
  /// arrivals the ring does not make itself (an MMA unit's commit).
  Value fullBarrier(Value stage);
  Value emptyBarrier(Value stage);
  /// The position `count` iterations after `slot` (a role that skips the
  /// loop over them keeps its position in step).
  Slot advance(Slot slot, Value count);
  /// Spins until the phase of `parity` of mbarrier `bar` has completed.
  void waitParity(Value bar, Value parity);

  /// `then()` under `cond`, `otherwise()` (if given) in the else branch;
  /// neither yields values.
  void ifThenElse(Value cond, function_ref<void()> then,
                  function_ref<void()> otherwise = nullptr);

private:
  Value barrier(Value index);
  /// mbarrier.init of every barrier of the ring.
  void initBarriers();
  Value idx(int64_t v);

  ImplicitLocOpBuilder &b;
  Value barriers;
  int64_t numStages, producerArrivals, consumerArrivals;
};

} // namespace detail
} // namespace nvfp4
} // namespace mlir

#endif // NVFP4_CONVERSION_NVFP4TOGPU_GEMMPIPELINE_H

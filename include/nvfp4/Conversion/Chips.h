//===- Chips.h - The GPU targets nvfp4-to-gpu accepts -----------*- C++ -*-===//
//
// One table of the chips (`chip=` of nvfp4-to-gpu and nvfp4-to-ptx) and what
// each one may execute. Arch-specific (`a`) and family-specific (`f`) PTX
// instructions are only valid for those targets: `cvt ... e2m1x2` on
// `sm_100` or `sm_120` makes LLVM abort in instruction selection, so leaves
// and GEMM kernels are chosen from the full chip name here, never from its
// number alone (docs/Verification.md, "Blackwell-only instructions").
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_CONVERSION_CHIPS_H
#define NVFP4_CONVERSION_CHIPS_H

#include "llvm/ADT/StringRef.h"

#include <optional>
#include <string>

namespace mlir {
namespace nvfp4 {

/// What a target chip has.
struct ChipInfo {
  /// The chip name as LLVM's NVPTX backend and ptxas spell it (`sm_120a`).
  llvm::StringRef name;
  /// The SM number (120 for `sm_120a`).
  unsigned sm;
  /// The lowest PTX ISA version (times 10) that names the target; the
  /// pipeline uses max(88, ptx).
  unsigned ptx;
  /// `cvt.rn.satfinite.e2m1x2.f32`: the `a` and `f` targets of the sm_100,
  /// sm_110 and sm_120 families.
  bool nativeE2M1;
  /// `mma.sync.aligned.m16n8k64.row.col.kind::mxf4nvf4.block_scale
  /// .scale_vec::4X` (consumer Blackwell's FP4 tensor cores): the `a` and
  /// `f` targets of the sm_120 family.
  bool blockScaledMmaSync;
  /// `mma.sync.aligned.m16n8k16` with f16/bf16 operands (sm_80 on): the
  /// GEMM kernels need it.
  bool mmaSyncF16;
  /// `griddepcontrol.wait` and `griddepcontrol.launch_dependents` (sm_90
  /// on): kernels can be launched with programmatic dependent launch
  /// (nvfp4-programmatic-dependent-launch).
  bool gridDependencyControl;
  /// Thread-block clusters (sm_90 on): `%cluster_ctarank`, `mapa`,
  /// `ld.shared::cluster` and `barrier.cluster`, so the CTAs of a cluster
  /// can read each other's shared memory (the direct GEMM kernels split K
  /// over them).
  bool threadBlockClusters;
};

/// The entry of `chip`, or none for a chip the pipeline does not support.
std::optional<ChipInfo> lookupChip(llvm::StringRef chip);

/// The supported chip names, comma separated, for diagnostics.
std::string supportedChipList();

} // namespace nvfp4
} // namespace mlir

#endif // NVFP4_CONVERSION_CHIPS_H

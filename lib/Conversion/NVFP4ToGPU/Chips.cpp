//===- Chips.cpp - The GPU targets nvfp4-to-gpu accepts -------------------===//
//
// Checked against the PTX ISA (9.0) target tables and LLVM 22's NVPTX
// subtarget predicates (NVPTXSubtarget.h, hasNarrowFPConversionSupport):
//  * `cvt.rn.satfinite.e2m1x2.f32` needs sm_100a/sm_101a/sm_120a (PTX 8.6),
//    or a family-specific target of the sm_100/sm_101/sm_120 families (PTX
//    8.8) or of the sm_110 family (PTX 9.0); an `a` target has its family's
//    `f` features. Plain sm_100/sm_120 do not have it.
//  * `mma.sync ... kind::mxf4nvf4.block_scale.scale_vec::4X` needs sm_120a
//    (PTX 8.7) or a target of the sm_120 family (sm_121a, sm_120f, sm_121f;
//    PTX 8.8). LLVM 22 selects MLIR's `nvvm.mma.block_scale` for exactly
//    those (it aborts on sm_100a and sm_120), and ptxas 13.0 assembles it
//    for each of them.
//  * `griddepcontrol.wait` / `griddepcontrol.launch_dependents`
//    (programmatic dependent launch) need sm_90 or later (PTX 7.8), plain,
//    `a` and `f` targets alike; so do thread-block clusters (`mapa`,
//    `ld.shared::cluster`, `barrier.cluster`, `%cluster_ctarank`; PTX 7.8).
//  * sm_101 was renamed sm_110 in PTX 9.0; CUDA 13's ptxas accepts no
//    sm_101 target, so it is not offered. Targets below sm_75 are not
//    accepted by CUDA 13's ptxas either.
//
//===----------------------------------------------------------------------===//

#include "nvfp4/Conversion/Chips.h"

#include "llvm/ADT/ArrayRef.h"

using namespace mlir;
using namespace mlir::nvfp4;

namespace {
// clang-format off
const ChipInfo kChips[] = {
//  name       sm   ptx  nativeE2M1 blockScaledMmaSync mmaSyncF16 gridDependencyControl threadBlockClusters
  {"sm_75",    75,  63,  false,     false,             false,     false,                false},
  {"sm_80",    80,  70,  false,     false,             true,      false,                false},
  {"sm_86",    86,  71,  false,     false,             true,      false,                false},
  {"sm_87",    87,  74,  false,     false,             true,      false,                false},
  {"sm_89",    89,  78,  false,     false,             true,      false,                false},
  {"sm_90",    90,  78,  false,     false,             true,      true,                 true},
  {"sm_90a",   90,  80,  false,     false,             true,      true,                 true},
  {"sm_100",  100,  86,  false,     false,             true,      true,                 true},
  {"sm_100a", 100,  86,  true,      false,             true,      true,                 true},
  {"sm_100f", 100,  88,  true,      false,             true,      true,                 true},
  {"sm_103",  103,  88,  false,     false,             true,      true,                 true},
  {"sm_103a", 103,  88,  true,      false,             true,      true,                 true},
  {"sm_103f", 103,  88,  true,      false,             true,      true,                 true},
  {"sm_110",  110,  90,  false,     false,             true,      true,                 true},
  {"sm_110a", 110,  90,  true,      false,             true,      true,                 true},
  {"sm_110f", 110,  90,  true,      false,             true,      true,                 true},
  {"sm_120",  120,  87,  false,     false,             true,      true,                 true},
  {"sm_120a", 120,  87,  true,      true,              true,      true,                 true},
  {"sm_120f", 120,  88,  true,      true,              true,      true,                 true},
  {"sm_121",  121,  88,  false,     false,             true,      true,                 true},
  {"sm_121a", 121,  88,  true,      true,              true,      true,                 true},
  {"sm_121f", 121,  88,  true,      true,              true,      true,                 true},
};
// clang-format on
} // namespace

std::optional<ChipInfo> mlir::nvfp4::lookupChip(llvm::StringRef chip) {
  for (const ChipInfo &info : kChips)
    if (info.name == chip)
      return info;
  return std::nullopt;
}

std::string mlir::nvfp4::supportedChipList() {
  std::string list;
  for (const ChipInfo &info : kChips) {
    if (!list.empty())
      list += ", ";
    list += info.name.str();
  }
  return list;
}

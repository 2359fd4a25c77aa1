//===- GemmClusterSplitTest.cpp - The GEMM cluster split heuristic --------===//
//
// pickGemmClusterSplit (MatmulLaunch.cpp), the host-side choice of how many
// CTAs of a thread-block cluster split K for one tile of a direct GEMM
// kernel, on the shapes the GEMM benchmark runs, with an H100's 132 SMs and
// the blocks per SM each direct kernel is built for (small_m8 and medium_m
// two, small_m16 three). Pure arithmetic: no GPU needed.
//
//===----------------------------------------------------------------------===//

#include "nvfp4/Runtime/GPURunner.h"

#include "gtest/gtest.h"

using ::nvfp4::kGemmSplitMinChunks;
using ::nvfp4::pickGemmClusterSplit;

namespace {
constexpr int64_t kSMs = 132;
constexpr int64_t kMax = 8;

/// 32-column tiles of N (small_m8/16/32), K's 64-wide chunks.
int64_t smallTiles(int64_t n) { return (n + 31) / 32; }
int64_t chunks(int64_t k) { return (k + 63) / 64; }

// N = 4096 leaves small_m8's 128 blocks on 132 SMs that hold 264: a
// cluster of two fills them; N = 8192's 256 tiles fill them already.
// small_m16 (three 128-thread blocks per SM): 128 tiles take 3 (384 of 396
// blocks), 256 tiles stay alone (512 would need a second wave). medium_m
// at M = 128, N = 4096: 4 x 32 tiles of 32 x 128. Narrow N: the largest
// split the device and the kernel allow.
TEST(GemmClusterSplit, FillsTheSMsTheTilesLeaveIdle) {
  struct Case {
    int64_t tiles, k, blocksPerSM, split;
  };
  const Case cases[] = {
      {smallTiles(4096), 4096, 2, 2}, {smallTiles(8192), 8192, 2, 1},
      {smallTiles(4096), 4096, 3, 3}, {smallTiles(8192), 8192, 3, 1},
      {4 * 32, 4096, 2, 2},           {smallTiles(2048), 4096, 2, 4},
      {smallTiles(1024), 8192, 2, 8}, {1, 8192, 2, 8},
  };
  for (const Case &c : cases)
    EXPECT_EQ(pickGemmClusterSplit(c.tiles, chunks(c.k), kSMs * c.blocksPerSM,
                                   kMax),
              c.split)
        << c.tiles << " tiles, K = " << c.k << ", " << c.blocksPerSM
        << " blocks per SM";
}

// Never a second wave: tiles x S stays within the resident blocks.
TEST(GemmClusterSplit, StaysInOneWave) {
  for (int64_t tiles = 1; tiles <= 600; ++tiles)
    for (int64_t resident : {kSMs, kSMs * 2, kSMs * 3}) {
      int64_t s = pickGemmClusterSplit(tiles, chunks(16384), resident, kMax);
      EXPECT_GE(s, 1);
      EXPECT_LE(s, kMax);
      if (s > 1) {
        EXPECT_LE(tiles * s, resident) << tiles << " tiles";
      }
      // The largest such split: one more would not fit (or is past kMax).
      if (s < kMax) {
        EXPECT_GT(tiles * (s + 1), resident) << tiles << " tiles";
      }
    }
}

// Each CTA keeps at least kGemmSplitMinChunks chunks of K: short K stays
// unsplit, K = 1024 (16 chunks) splits in two at most.
TEST(GemmClusterSplit, ShortKStaysUnsplit) {
  for (int64_t k : {16, 80, 256, 448})
    EXPECT_EQ(pickGemmClusterSplit(1, chunks(k), kSMs * 2, kMax), 1) << k;
  EXPECT_EQ(pickGemmClusterSplit(1, chunks(1024), kSMs * 2, kMax), 2);
  EXPECT_EQ(pickGemmClusterSplit(1, kGemmSplitMinChunks * 3, kSMs * 2, kMax),
            3);
}

// A kernel that does not split, an empty grid, or more tiles than resident
// blocks: 1.
TEST(GemmClusterSplit, NoSplitWhereItCannotHelp) {
  EXPECT_EQ(pickGemmClusterSplit(16, chunks(8192), kSMs * 2, 1), 1);
  EXPECT_EQ(pickGemmClusterSplit(0, chunks(8192), kSMs * 2, kMax), 1);
  EXPECT_EQ(pickGemmClusterSplit(1000, chunks(8192), kSMs * 2, kMax), 1);
  EXPECT_EQ(pickGemmClusterSplit(16, chunks(8192), 0, kMax), 1);
}
} // namespace

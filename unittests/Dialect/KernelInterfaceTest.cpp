//===- KernelInterfaceTest.cpp - The kernel interface over integers -------===//
//
// The launch grids a runtime derives from NVFP4KernelInterface.h (the same
// formulas nvfp4-to-gpu's host code evaluates over IR values), and the
// `nvfp4.work` strings kernels carry.
//
//===----------------------------------------------------------------------===//

#include "nvfp4/Dialect/NVFP4/IR/NVFP4KernelInterface.h"

#include "gtest/gtest.h"

#include <utility>
#include <vector>

using namespace mlir::nvfp4;

namespace {

/// Threads of a `work` kernel for an M x K input (rowwise: the output is
/// M x K; columnwise: K x M), optionally split into `groups`.
int64_t items(KernelWork work, int64_t m, int64_t k, bool columnwise,
              std::optional<int64_t> groups = std::nullopt,
              int64_t scaleBytes = 0) {
  IndexArith a;
  int64_t rows = columnwise ? k : m, cols = columnwise ? m : k;
  auto xCols = [&] { return k; };
  auto bytes = [&] { return scaleBytes; };
  KernelWorkShape<int64_t> shape{
      m,          rows,  cols / 16, groups.value_or(0), groups.has_value(),
      columnwise, xCols, bytes};
  return *kernelWorkItems(a, work, shape);
}

TEST(KernelInterface, WorkNamesAreTheAttributeStrings) {
  const std::pair<KernelWork, const char *> names[] = {
      {KernelWork::One, "one"},
      {KernelWork::Rows, "rows"},
      {KernelWork::RowCTAs, "row_ctas"},
      {KernelWork::Windows, "windows"},
      {KernelWork::RowBlocks, "row_blocks"},
      {KernelWork::RowBlockQuads, "row_block_quads"},
      {KernelWork::TileBlocks, "tile_blocks"},
      {KernelWork::ScaleBytes, "scale_bytes"},
      {KernelWork::Tiles, "tiles"},
      {KernelWork::Gemm, "gemm"},
      {KernelWork::GroupedGemm, "grouped_gemm"},
      {KernelWork::GemmDecode, "gemm_decode"}};
  for (auto [work, name] : names) {
    EXPECT_EQ(stringifyKernelWork(work), name);
    EXPECT_EQ(symbolizeKernelWork(name), work);
  }
  EXPECT_FALSE(symbolizeKernelWork("row"));
}

TEST(KernelInterface, QuantizeWorkItems) {
  // 100 x 96 input: 6 blocks per row, 2 windows; columnwise 96 x 100 has
  // 6 blocks (100 / 16) per row.
  EXPECT_EQ(items(KernelWork::One, 100, 96, false), 1);
  EXPECT_EQ(items(KernelWork::One, 100, 96, false, 3), 3);
  EXPECT_EQ(items(KernelWork::Rows, 100, 96, false), 100);
  EXPECT_EQ(items(KernelWork::Rows, 100, 96, true, 3), 3 * 96);
  EXPECT_EQ(items(KernelWork::RowCTAs, 100, 96, false),
            100 * kKernelBlockThreads);
  EXPECT_EQ(items(KernelWork::Windows, 100, 96, false), 100 * 2);
  EXPECT_EQ(items(KernelWork::RowBlocks, 100, 96, false), 100 * 6);
  EXPECT_EQ(items(KernelWork::RowBlocks, 100, 96, true), 96 * 6);
  EXPECT_EQ(items(KernelWork::RowBlockQuads, 100, 96, false), 100 * 2);
  EXPECT_EQ(items(KernelWork::TileBlocks, 100, 96, false), 7 * 6);
  // Grouped rowwise: room for each group's ragged last tile.
  EXPECT_EQ(items(KernelWork::TileBlocks, 100, 96, false, 3), (6 + 3) * 6);
  EXPECT_EQ(items(KernelWork::ScaleBytes, 100, 96, false, std::nullopt, 512),
            512);
  // 2 tile rows of 64, ceil(ceil(96 / 64) / 4) = 1 strip.
  EXPECT_EQ(items(KernelWork::Tiles, 100, 96, false),
            2 * 1 * kKernelBlockThreads);
  EXPECT_EQ(items(KernelWork::Tiles, 100, 96, false, 3),
            (1 + 3) * 1 * kKernelBlockThreads);
}

TEST(KernelInterface, GemmKindsHaveNoQuantizeGrid) {
  IndexArith a;
  auto none = [] { return int64_t(0); };
  KernelWorkShape<int64_t> shape{1, 1, 1, 0, false, false, none, none};
  EXPECT_FALSE(kernelWorkItems(a, KernelWork::Gemm, shape));
  EXPECT_FALSE(kernelWorkItems(a, KernelWork::GroupedGemm, shape));
  EXPECT_FALSE(kernelWorkItems(a, KernelWork::GemmDecode, shape));
}

TEST(KernelInterface, GemmDecodeGrid) {
  IndexArith a;
  // K is padded to whole 64-wide chunks; a thread per 16 of them.
  EXPECT_EQ(gemmDecodedK(a, int64_t(64)), 64);
  EXPECT_EQ(gemmDecodedK(a, int64_t(80)), 128);
  EXPECT_EQ(gemmDecodedK(a, int64_t(16)), 64);
  EXPECT_EQ(gemmDecodeItems(a, int64_t(300), int64_t(320)), 300 * 20);
  EXPECT_EQ(gemmDecodeItems(a, int64_t(3), int64_t(16)), 3 * 4);
}

TEST(KernelInterface, Grids) {
  IndexArith a;
  EXPECT_EQ(kernelBlocks(a, int64_t(0)), 0);
  EXPECT_EQ(kernelBlocks(a, kKernelBlockThreads + 1), 2);
  GemmTileGrid<int64_t> grid =
      gemmTileGrid<IndexArith, int64_t>(a, 300, 1000, 128, 256);
  EXPECT_EQ(grid.tileRows, 3);
  EXPECT_EQ(grid.tileCols, 4);
  auto groups = [] { return int64_t(5); };
  grid = gemmTileGrid<IndexArith, int64_t>(a, 300, 1000, 128, 256, groups);
  EXPECT_EQ(grid.tileRows, 3 + 5);
}

// The large-M kernels' band walk covers every tile of every grid exactly
// once (the launch stays gemmTileGrid's 1-D grid), goes down a band's
// kGemmBandRows rows before it moves across N, and ends in a narrower band
// when the tile rows do not divide.
TEST(KernelInterface, BandedTilesCoverTheGridOnce) {
  IndexArith a;
  for (int64_t rows = 1; rows <= 3 * kGemmBandRows + 5; ++rows)
    for (int64_t cols = 1; cols <= 40; ++cols) {
      GemmTileGrid<int64_t> grid{rows, cols};
      std::vector<int> seen(rows * cols, 0);
      for (int64_t tile = 0; tile < rows * cols; ++tile) {
        GemmTileIndex<int64_t> t = gemmBandedTile(a, tile, grid);
        ASSERT_TRUE(t.row >= 0 && t.row < rows && t.col >= 0 && t.col < cols)
            << rows << "x" << cols << " tile " << tile;
        ++seen[t.row * cols + t.col];
      }
      for (int64_t i = 0; i < rows * cols; ++i)
        ASSERT_EQ(seen[i], 1) << rows << "x" << cols << " tile (" << i / cols
                              << ", " << i % cols << ")";
    }
  // 40 x 32 tiles (M = 5120, N = 8192 with 128 x 256 tiles): the first
  // band's first column, then its second column, then the last band (8
  // rows) in the same order.
  GemmTileGrid<int64_t> grid{40, 32};
  for (int64_t i = 0; i < kGemmBandRows; ++i) {
    GemmTileIndex<int64_t> t = gemmBandedTile(a, i, grid);
    EXPECT_EQ(std::make_pair(t.row, t.col), std::make_pair(i, int64_t(0)));
    t = gemmBandedTile(a, kGemmBandRows + i, grid);
    EXPECT_EQ(std::make_pair(t.row, t.col), std::make_pair(i, int64_t(1)));
  }
  int64_t lastBand = 2 * kGemmBandRows * 32;
  GemmTileIndex<int64_t> t = gemmBandedTile(a, lastBand + 9, grid);
  EXPECT_EQ(std::make_pair(t.row, t.col), std::make_pair(int64_t(33), int64_t(1)));
}

} // namespace

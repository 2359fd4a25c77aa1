//===- GemmLaunchPlanTest.cpp - Which kernels a GEMM launch runs ----------===//
//
// planGemmLaunch (MatmulLaunch.cpp), the pure part of every GEMM launch:
// the kernel that serves M, its tiles, and for a predecoded GEMM (a kernel
// marked `nvfp4.gemm_workspace`) the gemm_decode kernels before it, their
// grids and the workspaces' shapes, on hand-built kernel lists laid out as
// nvfp4-to-gpu orders them (NVFP4KernelInterface.h). No GPU needed.
//
//===----------------------------------------------------------------------===//

#include "nvfp4/Runtime/GPURunner.h"

#include "llvm/Support/Error.h"

#include "gtest/gtest.h"

#include <vector>

using ::mlir::nvfp4::KernelWork;
using ::nvfp4::GemmLaunchPlan;
using ::nvfp4::KernelInfo;
using ::nvfp4::planGemmLaunch;

namespace {
KernelInfo gemm(const char *name, int64_t maxM, int64_t tileM, int64_t tileN,
                bool workspace = false) {
  KernelInfo k;
  k.name = name;
  k.work = KernelWork::Gemm;
  k.threads = 128;
  k.maxM = maxM;
  k.tileM = tileM;
  k.tileN = tileN;
  k.gemmWorkspace = workspace;
  return k;
}

KernelInfo decode(const char *name, int64_t operand) {
  KernelInfo k;
  k.name = name;
  k.work = KernelWork::GemmDecode;
  k.threads = ::nvfp4::kKernelBlockThreads;
  k.gemmOperand = operand;
  k.pdl = true;
  return k;
}

/// Today's sm_90a GEMM: direct kernels for small M, the pipelined one
/// above.
std::vector<KernelInfo> directList() {
  return {gemm("small", 16, 16, 32), gemm("medium", 256, 32, 128),
          gemm("large", 0, 128, 256)};
}

/// The predecoded form: the direct kernels, then decode(A), decode(B) and
/// the kernel reading their workspaces.
std::vector<KernelInfo> predecodedList() {
  return {gemm("small", 16, 16, 32), gemm("medium", 256, 32, 128),
          decode("decode_a", 0), decode("decode_b", 1),
          gemm("workspace", 0, 128, 256, /*workspace=*/true)};
}

std::string errorOf(llvm::Expected<GemmLaunchPlan> plan) {
  if (plan)
    return "";
  return llvm::toString(plan.takeError());
}

int64_t ceilDiv(int64_t x, int64_t d) { return (x + d - 1) / d; }

// Without workspaces nothing changes: the first kernel whose bound admits
// M, over its tile grid, no decodes and no workspace.
TEST(GemmLaunchPlan, DirectKernelsServeTheirM) {
  std::vector<KernelInfo> kernels = directList();
  struct Case {
    int64_t m;
    size_t kernel;
    int64_t tiles;
  };
  // N = 300: 10 columns of 32, 3 of 128, 2 of 256.
  for (Case c : {Case{1, 0, 1 * 10}, Case{16, 0, 1 * 10}, Case{17, 1, 1 * 3},
                 Case{256, 1, 8 * 3}, Case{257, 2, 3 * 2}}) {
    auto plan = planGemmLaunch(kernels, KernelWork::Gemm, c.m, 300, 320);
    ASSERT_TRUE(bool(plan)) << errorOf(std::move(plan));
    EXPECT_EQ(plan->gemm, c.kernel) << "M = " << c.m;
    EXPECT_EQ(plan->tiles, c.tiles) << "M = " << c.m;
    EXPECT_TRUE(plan->decodes.empty());
    EXPECT_EQ(plan->decodedK, 0);
    EXPECT_EQ(plan->workspaceBytes(0), 0);
    EXPECT_EQ(plan->workspaceBytes(1), 0);
  }
}

// M the direct kernels serve skips the decode kernels: they belong to the
// workspace kernel after them.
TEST(GemmLaunchPlan, PredecodedListServesSmallMDirectly) {
  std::vector<KernelInfo> kernels = predecodedList();
  for (int64_t m : {1, 16, 200, 256}) {
    auto plan = planGemmLaunch(kernels, KernelWork::Gemm, m, 4096, 4096);
    ASSERT_TRUE(bool(plan)) << errorOf(std::move(plan));
    EXPECT_EQ(plan->gemm, m <= 16 ? 0u : 1u) << "M = " << m;
    EXPECT_TRUE(plan->decodes.empty()) << "M = " << m;
    EXPECT_EQ(plan->workspaceBytes(0) + plan->workspaceBytes(1), 0);
  }
}

// Large M: decode(A) over M rows, decode(B) over N rows, each a thread per
// 16 elements of K rounded up to 64, then the workspace kernel over its
// tiles; workspaces M x Kd and N x Kd of 2-byte elements.
TEST(GemmLaunchPlan, PredecodedLargeMLaunchesBothDecodes) {
  std::vector<KernelInfo> kernels = predecodedList();
  struct Case {
    int64_t m, n, k, decodedK;
  };
  for (Case c : {Case{300, 300, 320, 320}, Case{1000, 4096, 4096, 4096},
                 Case{4096, 4096, 4096, 4096}, Case{257, 300, 100, 128},
                 Case{513, 301, 65, 128}, Case{300, 300, 64, 64},
                 Case{8192, 8192, 8192, 8192}}) {
    auto plan = planGemmLaunch(kernels, KernelWork::Gemm, c.m, c.n, c.k);
    ASSERT_TRUE(bool(plan)) << errorOf(std::move(plan));
    EXPECT_EQ(plan->gemm, 4u);
    EXPECT_EQ(plan->tiles, ceilDiv(c.m, 128) * ceilDiv(c.n, 256));
    EXPECT_EQ(plan->decodedK, c.decodedK) << "K = " << c.k;
    EXPECT_EQ(plan->workspaceShape(0), (std::array<int64_t, 2>{c.m, c.decodedK}));
    EXPECT_EQ(plan->workspaceShape(1), (std::array<int64_t, 2>{c.n, c.decodedK}));
    EXPECT_EQ(plan->workspaceBytes(0), c.m * c.decodedK * 2);
    EXPECT_EQ(plan->workspaceBytes(1), c.n * c.decodedK * 2);
    ASSERT_EQ(plan->decodes.size(), 2u);
    EXPECT_EQ(plan->decodes[0].kernel, 2u);
    EXPECT_EQ(plan->decodes[0].operand, 0);
    EXPECT_EQ(plan->decodes[0].blocks, ceilDiv(c.m * c.decodedK / 16, 256))
        << c.m << " x " << c.k;
    EXPECT_EQ(plan->decodes[1].kernel, 3u);
    EXPECT_EQ(plan->decodes[1].operand, 1);
    EXPECT_EQ(plan->decodes[1].blocks, ceilDiv(c.n * c.decodedK / 16, 256))
        << c.n << " x " << c.k;
  }
  // A worked case: 300 rows of K = 320 are 300 x 20 threads, 24 blocks;
  // each workspace 300 x 320 x 2 bytes.
  auto plan = planGemmLaunch(kernels, KernelWork::Gemm, 300, 300, 320);
  ASSERT_TRUE(bool(plan));
  EXPECT_EQ(plan->decodes[0].blocks, 24);
  EXPECT_EQ(plan->workspaceBytes(0), 192000);
}

// Only the decodes since the previous GEMM kernel run: those before a
// skipped workspace kernel are its own.
TEST(GemmLaunchPlan, DecodesBelongToTheNextGemmKernel) {
  std::vector<KernelInfo> kernels = {
      decode("decode_a0", 0), decode("decode_b0", 1),
      gemm("workspace0", 256, 64, 128, true), decode("decode_b1", 1),
      decode("decode_a1", 0), gemm("workspace1", 0, 128, 256, true)};
  auto small = planGemmLaunch(kernels, KernelWork::Gemm, 100, 300, 320);
  ASSERT_TRUE(bool(small)) << errorOf(std::move(small));
  EXPECT_EQ(small->gemm, 2u);
  ASSERT_EQ(small->decodes.size(), 2u);
  EXPECT_EQ(small->decodes[0].kernel, 0u);
  EXPECT_EQ(small->decodes[1].kernel, 1u);
  auto large = planGemmLaunch(kernels, KernelWork::Gemm, 300, 300, 320);
  ASSERT_TRUE(bool(large)) << errorOf(std::move(large));
  EXPECT_EQ(large->gemm, 5u);
  ASSERT_EQ(large->decodes.size(), 2u);
  // In list order, whichever operand comes first.
  EXPECT_EQ(large->decodes[0].kernel, 3u);
  EXPECT_EQ(large->decodes[0].operand, 1);
  EXPECT_EQ(large->decodes[1].kernel, 4u);
  EXPECT_EQ(large->decodes[1].operand, 0);
}

// A list that breaks the contract is an error value, never a crash or a
// launch with a workspace left unfilled.
TEST(GemmLaunchPlan, BrokenListsAreErrors) {
  auto expectError = [](std::vector<KernelInfo> kernels, KernelWork work,
                        int64_t m, const char *message) {
    auto plan = planGemmLaunch(kernels, work, m, 300, 320, 0);
    ASSERT_FALSE(bool(plan)) << message;
    std::string text = llvm::toString(plan.takeError());
    EXPECT_NE(text.find(message), std::string::npos) << text;
  };
  // Grouped GEMMs have no workspace kernels.
  KernelInfo grouped = gemm("grouped", 0, 128, 128);
  grouped.work = KernelWork::GroupedGemm;
  KernelInfo groupedWorkspace = grouped;
  groupedWorkspace.gemmWorkspace = true;
  expectError({decode("decode_a", 0), grouped}, KernelWork::GroupedGemm, 300,
              "internal error: gemm_decode kernel decode_a in a grouped_gemm "
              "launch");
  expectError({groupedWorkspace}, KernelWork::GroupedGemm, 300,
              "internal error: workspace kernel grouped in a grouped_gemm "
              "launch");
  // Decodes before a kernel that reads no workspace.
  expectError({decode("decode_a", 0), decode("decode_b", 1),
               gemm("large", 0, 128, 256)},
              KernelWork::Gemm, 300,
              "internal error: gemm_decode kernel decode_a before large, "
              "which reads no workspace");
  // A workspace nobody fills.
  expectError({decode("decode_a", 0), gemm("workspace", 0, 128, 256, true)},
              KernelWork::Gemm, 300,
              "internal error: no gemm_decode kernel fills workspace B of "
              "workspace");
  expectError({gemm("workspace", 0, 128, 256, true)}, KernelWork::Gemm, 300,
              "no gemm_decode kernel fills workspace A");
  // An operand that is neither A nor B, a block the grid is not sized for.
  expectError({decode("decode_a", 0), decode("decode_c", 2),
               gemm("workspace", 0, 128, 256, true)},
              KernelWork::Gemm, 300,
              "internal error: gemm_decode kernel decode_c fills workspace 2 "
              "(expected 0 or 1)");
  KernelInfo narrow = decode("decode_b", 1);
  narrow.threads = 128;
  expectError({decode("decode_a", 0), narrow,
               gemm("workspace", 0, 128, 256, true)},
              KernelWork::Gemm, 300,
              "internal error: gemm_decode kernel decode_b runs 128 threads "
              "per block (expected 256)");
  // As before: a kernel of another kind, and an M no kernel serves.
  KernelInfo rows = gemm("rows", 0, 0, 0);
  rows.work = KernelWork::Rows;
  expectError({rows}, KernelWork::Gemm, 300,
              "unexpected kernel work kind 'rows' in rows (expected gemm)");
  expectError({gemm("small", 16, 16, 32)}, KernelWork::Gemm, 300,
              "internal error: no GEMM kernel serves M = 300");
}

// A grouped launch adds a ragged tile row per group, as before.
TEST(GemmLaunchPlan, GroupedAddsATileRowPerGroup) {
  KernelInfo grouped = gemm("grouped", 0, 128, 128);
  grouped.work = KernelWork::GroupedGemm;
  auto plan = planGemmLaunch({grouped}, KernelWork::GroupedGemm, 1000, 512,
                             256, /*extraTileRows=*/4);
  ASSERT_TRUE(bool(plan)) << errorOf(std::move(plan));
  EXPECT_EQ(plan->tiles, (ceilDiv(1000, 128) + 4) * 4);
  EXPECT_TRUE(plan->decodes.empty());
}

// A decode grid that a 1-D launch cannot hold is refused before anything
// is allocated.
TEST(GemmLaunchPlan, OversizedDecodeGridIsAnError) {
  auto plan = planGemmLaunch(predecodedList(), KernelWork::Gemm,
                             int64_t(1) << 30, 256, int64_t(1) << 16);
  ASSERT_FALSE(bool(plan));
  std::string text = llvm::toString(plan.takeError());
  EXPECT_NE(text.find("needs more thread blocks than a 1-D grid holds"),
            std::string::npos)
      << text;
}
} // namespace

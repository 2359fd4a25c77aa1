//===- GPUvsCPUTest.cpp - GPU bytes == CPU bytes ---------------------------===//
//
// Runs every recipe on the GPU (sm_90 class device: the sm_90a kernels) and
// on the CPU reference path, and requires identical data, scales and
// amaxes. Without a CUDA driver or device every test is skipped (reported
// as skipped, never as passed); compiling the kernels needs only ptxas.
//
//===----------------------------------------------------------------------===//

#include "../Runtime/Inputs.h"
#include "../Runtime/SharedRunner.h"
#include "SharedGPURunner.h"
#include "nvfp4/Runtime/GPURunner.h"
#include "nvfp4/Runtime/Matmul.h"

#include "gtest/gtest.h"

#include <cstring>

using namespace mlir::nvfp4;
using namespace ::nvfp4::testing;
using ::nvfp4::ElementType;
using ::nvfp4::GPURunner;
using ::nvfp4::QuantizedOutput;

namespace {
GPURunner &gpuRunner() { return sharedGPURunner(); }

std::string firstMismatch(const QuantizedOutput &gpu,
                          const QuantizedOutput &cpu) {
  auto bytes = [](const std::vector<uint8_t> &a, const std::vector<uint8_t> &b,
                  const char *what) -> std::string {
    if (a.size() != b.size())
      return std::string(what) + " size";
    for (size_t i = 0; i < a.size(); ++i)
      if (a[i] != b[i])
        return std::string(what) + " byte " + std::to_string(i) + ": gpu " +
               std::to_string(a[i]) + " cpu " + std::to_string(b[i]);
    return "";
  };
  if (std::string m = bytes(gpu.data, cpu.data, "data"); !m.empty())
    return m;
  if (std::string m = bytes(gpu.scale, cpu.scale, "scale"); !m.empty())
    return m;
  if (gpu.amax.size() != cpu.amax.size() ||
      std::memcmp(gpu.amax.data(), cpu.amax.data(), gpu.amax.size() * 4))
    return "amax";
  return "";
}

struct Shape {
  int64_t m, k;
  bool allKinds; ///< small shapes run every input kind, large ones two
};

class GPUvsCPU : public ::testing::TestWithParam<const char *> {};

TEST_P(GPUvsCPU, BytesMatch) {
  REQUIRE_GPU();
  ::nvfp4::HostRunner &cpu = sharedRunner();
  auto cpuRecipe = cpu.parseRecipe(GetParam());
  ASSERT_TRUE(bool(cpuRecipe)) << llvm::toString(cpuRecipe.takeError());
  auto gpuRecipe = ::nvfp4::parseRecipe(gpuRunner().getContext(), GetParam());
  ASSERT_TRUE(bool(gpuRecipe)) << llvm::toString(gpuRecipe.takeError());
  bool columnwise = cpuRecipe->getColumnwise();
  std::vector<Shape> shapes;
  for (int64_t m : {1, 17, 130, 4096, 8192})
    // K = 208: the last 64-column tile of both-direction kernels is ragged
    // (13 blocks), as is the last window.
    for (int64_t k : {64, 208, 4096}) {
      if (k == 208 && m > 130)
        continue;
      if (columnwise && m % 16)
        m = (m + 15) / 16 * 16; // columnwise blocks run along M
      shapes.push_back({m, k, m * k <= 130 * 4096});
    }
  std::mt19937 rng(99);
  int compared = 0;
  for (const Shape &s : shapes)
    for (Kind kind : kKinds) {
      if (!s.allKinds && kind != Kind::Normal && kind != Kind::Specials)
        continue;
      std::vector<float> x = makeInput(kind, s.m, s.k, rng);
      std::vector<uint8_t> storage = toStorage(x, ElementType::BF16);
      auto want = cpu.quantize(*cpuRecipe, ElementType::BF16, storage.data(),
                               s.m, s.k);
      ASSERT_TRUE(bool(want)) << llvm::toString(want.takeError());
      auto got = gpuRunner().quantize(*gpuRecipe, ElementType::BF16,
                                      storage.data(), s.m, s.k);
      ASSERT_TRUE(bool(got)) << llvm::toString(got.takeError());
      std::string where = std::string(GetParam()) + " " +
                          std::to_string(s.m) + "x" + std::to_string(s.k) +
                          " kind " + std::to_string(int(kind));
      if (want->rowwise)
        ASSERT_EQ(firstMismatch(*got->rowwise, *want->rowwise), "")
            << "rowwise " << where;
      if (want->columnwise)
        ASSERT_EQ(firstMismatch(*got->columnwise, *want->columnwise), "")
            << "columnwise " << where;
      ++compared;
    }
  RecordProperty("compared", compared);
}

INSTANTIATE_TEST_SUITE_P(
    Recipes, GPUvsCPU,
    ::testing::Values(
        "per_tensor", "per_tensor_2d", "per_tensor_rht", "per_token",
        "per_token_quotient", "local_1x64", "four_over_six",
        "four_over_six_mse", "four_over_six_mse, e4m3_max = 448",
        "per_tensor, sf_layout = 128x4", "per_token, sf_layout = 8x4",
        "local_1x64, sf_layout = 128x4",
        "per_tensor, directions = [rowwise, columnwise], sf_layout = 128x4",
        "per_token, directions = [rowwise, columnwise]",
        "local_1x64, directions = [rowwise, columnwise], sf_layout = 8x4",
        "per_tensor_2d, directions = [rowwise, columnwise]",
        "four_over_six, directions = [rowwise, columnwise]",
        "per_token, rounding = stochastic<seed = 9>, "
        "directions = [rowwise, columnwise], sf_layout = 128x4",
        "local_1x64, directions = [rowwise, columnwise], sf_layout = 128x4",
        "four_over_six, outer = row", "four_over_six, outer = window<64>",
        "four_over_six, block = 16x16, directions = [rowwise, columnwise]",
        "per_tensor, rounding = stochastic<seed = 7>",
        "per_token, rounding = stochastic<seed = 12345678901>",
        "local_1x64, rounding = stochastic<seed = 3>",
        "per_tensor_rht, rounding = stochastic<seed = 5>, sf_layout = 128x4",
        // Columnwise alone keeps the per-direction kernels.
        "per_token, directions = [columnwise], sf_layout = 128x4",
        // FlashInfer's per-token variant with a global scale on top.
        "per_token, global_scale_inv = 0x3A000000, sf_layout = 128x4",
        "per_token, directions = [rowwise, columnwise], "
        "global_scale_inv = 1.5e-3",
        "local_1x64, directions = [columnwise]"));

/// Parses `text` for both runners.
struct Recipes {
  RecipeAttr cpu, gpu;
};
Recipes parseBoth(const char *text) {
  Recipes r;
  auto cpu = sharedRunner().parseRecipe(text);
  if (cpu)
    r.cpu = *cpu;
  else
    ADD_FAILURE() << text << ": " << llvm::toString(cpu.takeError());
  auto gpu = ::nvfp4::parseRecipe(gpuRunner().getContext(), text);
  if (gpu)
    r.gpu = *gpu;
  else
    ADD_FAILURE() << text << ": " << llvm::toString(gpu.takeError());
  return r;
}

// The RHT's butterfly order in the GPU kernels: the columnwise groups of
// RHTVectors.h (exponent spread, cancellation, -0.0, subnormals, overflow,
// -Inf), where an index-order sum would give other bytes, in the
// both-direction tile kernels and the columnwise-only ones; K = 208 leaves
// a ragged last tile.
TEST(GPUvsCPURHT, AdversarialGroupsMatch) {
  REQUIRE_GPU();
  for (const char *text : kRHTRecipes) {
    Recipes r = parseBoth(text);
    ASSERT_TRUE(r.cpu && r.gpu);
    for (int64_t k : {48, 208})
      for (int g = 0; g < kRHTGroups; ++g) {
        std::vector<uint8_t> storage =
            toStorage(rhtAdversarialInput(g, k), ElementType::BF16);
        auto want = sharedRunner().quantize(r.cpu, ElementType::BF16,
                                            storage.data(), 32, k);
        ASSERT_TRUE(bool(want)) << llvm::toString(want.takeError());
        auto got = gpuRunner().quantize(r.gpu, ElementType::BF16,
                                        storage.data(), 32, k);
        ASSERT_TRUE(bool(got)) << llvm::toString(got.takeError());
        std::string where = std::string(text) + " k " + std::to_string(k) +
                            " group " + std::to_string(g);
        ASSERT_TRUE(got->columnwise && want->columnwise) << where;
        EXPECT_EQ(firstMismatch(*got->columnwise, *want->columnwise), "")
            << "columnwise " << where;
        if (want->rowwise)
          EXPECT_EQ(firstMismatch(*got->rowwise, *want->rowwise), "")
              << "rowwise " << where;
      }
  }
}

/// Grouped (MoE) quantization: one launch per kernel over all groups.
/// Splits include empty groups (first, middle, last), ragged sizes and a
/// single group; columnwise recipes need multiples of 16.
class GroupedGPUvsCPU : public ::testing::TestWithParam<const char *> {};

TEST_P(GroupedGPUvsCPU, BytesMatch) {
  REQUIRE_GPU();
  Recipes recipe = parseBoth(GetParam());
  ASSERT_TRUE(recipe.cpu && recipe.gpu);
  bool columnwise = recipe.cpu.getColumnwise();
  std::vector<std::vector<int64_t>> splitSets =
      columnwise
          ? std::vector<std::vector<int64_t>>{{0, 32, 0, 16, 0},
                                             {16},
                                             {48, 0, 0, 80},
                                             {0, 0, 4096, 16, 0, 4096}}
          : std::vector<std::vector<int64_t>>{{0, 5, 0, 17, 130, 0},
                                             {1},
                                             {300},
                                             {7, 1, 0, 0, 33, 2, 15},
                                             {0, 0, 4096, 1, 0, 4095}};
  std::mt19937 rng(7);
  int compared = 0;
  for (const std::vector<int64_t> &splits : splitSets)
    for (int64_t k : {64, 208, 4096}) {
      int64_t m = 0;
      for (int64_t s : splits)
        m += s;
      bool small = m * k <= 300 * 4096;
      for (Kind kind : kKinds) {
        if (!small && kind != Kind::Normal && kind != Kind::Specials)
          continue;
        std::vector<float> x = makeInput(kind, m, k, rng);
        std::vector<uint8_t> storage = toStorage(x, ElementType::BF16);
        auto want = sharedRunner().quantizeGrouped(
            recipe.cpu, ElementType::BF16, storage.data(), m, k, splits);
        ASSERT_TRUE(bool(want)) << llvm::toString(want.takeError());
        auto got = gpuRunner().quantizeGrouped(recipe.gpu, ElementType::BF16,
                                               storage.data(), m, k, splits);
        ASSERT_TRUE(bool(got)) << llvm::toString(got.takeError());
        std::string where = std::string(GetParam()) + " " + std::to_string(m) +
                            "x" + std::to_string(k) + " groups " +
                            std::to_string(splits.size()) + " kind " +
                            std::to_string(int(kind));
        if (want->rowwise)
          ASSERT_EQ(firstMismatch(*got->rowwise, *want->rowwise), "")
              << "rowwise " << where;
        if (want->columnwise)
          ASSERT_EQ(firstMismatch(*got->columnwise, *want->columnwise), "")
              << "columnwise " << where;
        ++compared;
      }
    }
  RecordProperty("compared", compared);
}

INSTANTIATE_TEST_SUITE_P(
    Recipes, GroupedGPUvsCPU,
    ::testing::Values(
        "per_tensor", "per_tensor_2d", "per_token", "per_token_quotient",
        "local_1x64", "four_over_six", "four_over_six, block = 16x16",
        "per_tensor, sf_layout = 128x4", "per_tensor_2d, sf_layout = 128x4",
        "per_token, sf_layout = 8x4", "local_1x64, sf_layout = 128x4",
        "per_tensor, rounding = stochastic<seed = 7>",
        "per_tensor, directions = [rowwise, columnwise]",
        "per_token, directions = [rowwise, columnwise]",
        "per_tensor_2d, directions = [rowwise, columnwise]",
        "four_over_six, directions = [rowwise, columnwise]",
        "per_tensor_rht, rounding = stochastic<seed = 5>"));

// The GPU checks splits exactly as the CPU does.
TEST(GroupedGPUErrors, SplitsAreChecked) {
  Recipes recipe = parseBoth("per_tensor, directions = [rowwise, columnwise]");
  ASSERT_TRUE(recipe.gpu);
  std::vector<float> x(32 * 16, 1.0f);
  auto check = [&](std::vector<int64_t> splits, const char *message) {
    auto q = gpuRunner().quantizeGrouped(recipe.gpu, ElementType::F32,
                                         x.data(), 32, 16, splits);
    ASSERT_FALSE(bool(q));
    EXPECT_EQ(llvm::toString(q.takeError()), message);
  };
  check({}, "expected at least one group");
  check({16, 8, 8}, "columnwise output requires every group size to be a "
                    "multiple of 16, got 8 for group 1");
  check({16, 32}, "expected group sizes to add up to 32 rows, got 48");
  check({48, -16}, "expected non-negative group sizes, got -16 for group 1");
}

/// Dequantization on the GPU: the CPU's quantized output of each direction
/// decoded by both, f32 bytes compared.
class DequantizeGPUvsCPU : public ::testing::TestWithParam<const char *> {};

TEST_P(DequantizeGPUvsCPU, BytesMatch) {
  REQUIRE_GPU();
  Recipes recipe = parseBoth(GetParam());
  ASSERT_TRUE(recipe.cpu && recipe.gpu);
  std::mt19937 rng(11);
  int compared = 0;
  for (auto [m, k] : {std::pair<int64_t, int64_t>{16, 64},
                      {32, 4096},
                      {4096, 4096}})
    for (Kind kind : kKinds) {
      if (m * k > 32 * 4096 && kind != Kind::Normal && kind != Kind::Specials)
        continue;
      std::vector<float> x = makeInput(kind, m, k, rng);
      std::vector<uint8_t> storage = toStorage(x, ElementType::BF16);
      auto q = sharedRunner().quantize(recipe.cpu, ElementType::BF16,
                                       storage.data(), m, k);
      ASSERT_TRUE(bool(q)) << llvm::toString(q.takeError());
      for (const std::optional<QuantizedOutput> *out :
           {&q->rowwise, &q->columnwise}) {
        if (!*out)
          continue;
        auto want = sharedRunner().dequantize(recipe.cpu, **out);
        ASSERT_TRUE(bool(want)) << llvm::toString(want.takeError());
        auto got = gpuRunner().dequantize(recipe.gpu, **out);
        ASSERT_TRUE(bool(got)) << llvm::toString(got.takeError());
        ASSERT_EQ(want->size(), got->size());
        ASSERT_EQ(std::memcmp(want->data(), got->data(), want->size() * 4), 0)
            << GetParam() << " " << m << "x" << k << " kind " << int(kind)
            << (out == &q->columnwise ? " columnwise" : " rowwise");
        ++compared;
      }
    }
  RecordProperty("compared", compared);
}

INSTANTIATE_TEST_SUITE_P(
    Recipes, DequantizeGPUvsCPU,
    ::testing::Values("per_tensor", "per_tensor_2d", "per_token",
                      "per_token_quotient", "local_1x64", "four_over_six",
                      "per_tensor, sf_layout = 128x4",
                      "per_token, sf_layout = 8x4",
                      "local_1x64, sf_layout = 128x4",
                      "per_tensor_rht, directions = [rowwise, columnwise]"));

// The dequantize entry checks shapes as the CPU one does.
TEST(DequantizeGPUErrors, ShapesAreChecked) {
  Recipes recipe = parseBoth("per_token");
  ASSERT_TRUE(recipe.gpu);
  QuantizedOutput q;
  q.rows = 2;
  q.cols = 24;
  auto r = gpuRunner().dequantize(recipe.gpu, q);
  ASSERT_FALSE(bool(r));
  EXPECT_EQ(llvm::toString(r.takeError()),
            "expected quantized dimension to be a multiple of 16, got 24");
  q.cols = 32;
  r = gpuRunner().dequantize(recipe.gpu, q);
  ASSERT_FALSE(bool(r));
  EXPECT_EQ(llvm::toString(r.takeError()),
            "quantized buffers do not match the recipe's shapes for a 2x32 "
            "matrix");
}

// The grouped and dequantize kernels assemble for both targets (no GPU).
TEST(GPUCompile, GroupedAndDequantizeAssemble) {
  for (const char *chip : {"sm_90a", "sm_100a"}) {
    auto runner = GPURunner::create(chip);
    ASSERT_TRUE(bool(runner)) << llvm::toString(runner.takeError());
    for (const char *text :
         {"per_tensor, sf_layout = 128x4",
          "per_token, directions = [rowwise, columnwise]",
          "per_tensor_2d, directions = [rowwise, columnwise]",
          "four_over_six, block = 16x16", "local_1x64, sf_layout = 8x4"}) {
      auto recipe = ::nvfp4::parseRecipe((*runner)->getContext(), text);
      ASSERT_TRUE(bool(recipe)) << llvm::toString(recipe.takeError());
      auto grouped = (*runner)->compileGrouped(*recipe, ElementType::BF16);
      if (!grouped) {
        std::string message = llvm::toString(grouped.takeError());
        if (message.find("ptxas") != std::string::npos &&
            message.find("not found") != std::string::npos)
          GTEST_SKIP() << "no ptxas: " << message;
        FAIL() << chip << " " << text << ": " << message;
      }
      EXPECT_FALSE((*grouped)->kernels.empty());
      unsigned rank = recipe->getOuter() == OuterGroup::Window ? 2 : 1;
      auto deq = (*runner)->compileDequantize(*recipe, ElementType::BF16, rank);
      ASSERT_TRUE(bool(deq)) << chip << " " << text << ": "
                             << llvm::toString(deq.takeError());
      ASSERT_EQ((*deq)->kernels.size(), 1u);
      EXPECT_EQ((*deq)->kernels[0].work, mlir::nvfp4::KernelWork::RowBlocks);
    }
  }
}

// A given outer scale removes the amax pass: per-tensor (linear) is one
// launch that reads X once, and no recipe gets more kernels. Needs ptxas
// only.
TEST(GPUCompile, GivenAmaxDropsTheAmaxPass) {
  auto runner = GPURunner::create("sm_90a");
  ASSERT_TRUE(bool(runner)) << llvm::toString(runner.takeError());
  const std::pair<const char *, size_t> cases[] = {
      {"per_tensor", 1},
      {"per_tensor, sf_layout = 128x4", 2}, // zero, encode
      {"per_token", 1},
      {"local_1x64", 1},
      {"per_tensor_2d", 1},
      {"per_tensor, directions = [rowwise, columnwise]", 1},
      {"per_tensor_rht", 1},
      {"per_token, directions = [rowwise, columnwise], sf_layout = 128x4", 3},
      {"four_over_six", 1},
      {"per_token, global_scale_inv = 0x3A000000", 1}};
  for (auto [text, want] : cases) {
    auto recipe = ::nvfp4::parseRecipe((*runner)->getContext(), text);
    ASSERT_TRUE(bool(recipe)) << llvm::toString(recipe.takeError());
    auto computed = (*runner)->compile(*recipe, ElementType::BF16, "bin");
    if (!computed) {
      std::string message = llvm::toString(computed.takeError());
      if (message.find("ptxas") != std::string::npos &&
          message.find("not found") != std::string::npos)
        GTEST_SKIP() << "no ptxas: " << message;
      FAIL() << text << ": " << message;
    }
    auto given = (*runner)->compile(recipe->withAmaxSource(AmaxSource::Given),
                                    ElementType::BF16, "bin");
    ASSERT_TRUE(bool(given)) << text << ": "
                             << llvm::toString(given.takeError());
    EXPECT_EQ((*given)->kernels.size(), want) << text;
    EXPECT_LE((*given)->kernels.size(), (*computed)->kernels.size()) << text;
    for (const ::nvfp4::KernelInfo &k : (*given)->kernels)
      EXPECT_EQ(llvm::StringRef(k.name).contains("amax"), false)
          << text << ": " << k.name;
    RecordProperty(text, std::to_string((*computed)->kernels.size()) +
                             " -> " +
                             std::to_string((*given)->kernels.size()));
  }
}

// nvfp4.amax compiles to the quantize's amax kernels alone, and on the GPU
// writes the CPU's amaxes (per-tensor: amax_init + amax; per-token: one
// row_ctas amax kernel).
TEST(GPUAmax, KernelsAndValues) {
  auto runner = GPURunner::create("sm_90a");
  ASSERT_TRUE(bool(runner)) << llvm::toString(runner.takeError());
  const std::pair<const char *, size_t> cases[] = {
      {"per_tensor", 2},
      {"per_token", 1},
      {"local_1x64", 1},
      {"per_tensor_rht", 4},
      {"per_token, directions = [rowwise, columnwise]", 3}};
  for (auto [text, want] : cases) {
    auto recipe = ::nvfp4::parseRecipe((*runner)->getContext(), text);
    ASSERT_TRUE(bool(recipe)) << llvm::toString(recipe.takeError());
    auto compiled = (*runner)->compileAmax(*recipe, ElementType::BF16, "bin");
    if (!compiled) {
      std::string message = llvm::toString(compiled.takeError());
      if (message.find("ptxas") != std::string::npos &&
          message.find("not found") != std::string::npos)
        GTEST_SKIP() << "no ptxas: " << message;
      FAIL() << text << ": " << message;
    }
    EXPECT_EQ((*compiled)->kernels.size(), want) << text;
    for (const ::nvfp4::KernelInfo &k : (*compiled)->kernels)
      EXPECT_FALSE(llvm::StringRef(k.name).contains("encode")) << k.name;
  }
  REQUIRE_GPU();
  std::mt19937 rng(8);
  for (auto [text, want] : cases) {
    Recipes r = parseBoth(text);
    for (int64_t m : {16, 4096}) {
      int64_t k = 4096;
      std::vector<float> x = makeInput(Kind::Normal, m, k, rng);
      std::vector<uint8_t> storage = toStorage(x, ElementType::BF16);
      auto cpu = sharedRunner().amax(r.cpu, ElementType::BF16, storage.data(),
                                     m, k);
      ASSERT_TRUE(bool(cpu)) << llvm::toString(cpu.takeError());
      auto gpu =
          gpuRunner().amax(r.gpu, ElementType::BF16, storage.data(), m, k);
      ASSERT_TRUE(bool(gpu)) << llvm::toString(gpu.takeError());
      for (auto [g, c] : {std::pair{&gpu->rowwise, &cpu->rowwise},
                          std::pair{&gpu->columnwise, &cpu->columnwise}})
        if (*c)
          EXPECT_EQ(0, std::memcmp((*g)->amax.data(), (*c)->amax.data(),
                                   (*c)->amax.size() * 4))
              << text << " " << m;
    }
  }
}

/// Outer values given to a recipe: `f` of each amax.
std::vector<float> mappedAmax(const std::vector<float> &amax,
                              float (*f)(float)) {
  std::vector<float> out;
  for (float a : amax)
    out.push_back(f(a));
  return out;
}

class GivenAmaxGPUvsCPU : public ::testing::TestWithParam<const char *> {};

// GPU bytes == CPU bytes with given amaxes: equal to the computed ones, a
// stale (halved) one, and a given encode scale (2688 / amax, any value).
TEST_P(GivenAmaxGPUvsCPU, BytesMatch) {
  REQUIRE_GPU();
  Recipes r = parseBoth(GetParam());
  ::nvfp4::HostRunner &cpu = sharedRunner();
  std::mt19937 rng(5);
  int compared = 0;
  // The largest shape (several 64-row tiles and 4 strips) runs normal
  // inputs only: the CPU side runs three times per case.
  for (int64_t m : {16, 144, 1040})
    for (int64_t k : {64, 4096}) {
      for (Kind kind : kKinds) {
        if (m * k > 144 * 4096 && kind != Kind::Normal)
          continue;
        std::vector<float> x = makeInput(kind, m, k, rng);
        std::vector<uint8_t> storage = toStorage(x, ElementType::BF16);
        auto computed =
            cpu.quantize(r.cpu, ElementType::BF16, storage.data(), m, k);
        ASSERT_TRUE(bool(computed)) << llvm::toString(computed.takeError());
        for (auto [source, f] :
             {std::pair<AmaxSource, float (*)(float)>{
                  AmaxSource::Given, [](float a) { return a; }},
              {AmaxSource::Given, [](float a) { return a * 0.5f; }},
              {AmaxSource::GivenEncodeScale,
               [](float a) { return 2688.0f / (a + 1.0f); }}}) {
          if (source == AmaxSource::GivenEncodeScale && r.cpu.isFourOverSix())
            continue;
          std::vector<float> row, col;
          if (computed->rowwise)
            row = mappedAmax(computed->rowwise->amax, f);
          if (computed->columnwise)
            col = mappedAmax(computed->columnwise->amax, f);
          auto want = cpu.quantize(r.cpu.withAmaxSource(source),
                                   ElementType::BF16, storage.data(), m, k,
                                   {row, col});
          ASSERT_TRUE(bool(want)) << llvm::toString(want.takeError());
          auto got = gpuRunner().quantize(r.gpu.withAmaxSource(source),
                                          ElementType::BF16, storage.data(),
                                          m, k, {row, col});
          ASSERT_TRUE(bool(got)) << llvm::toString(got.takeError());
          std::string where = std::string(GetParam()) + " " +
                              std::to_string(m) + "x" + std::to_string(k) +
                              " kind " + std::to_string(int(kind)) +
                              " source " + std::to_string(int(source));
          if (want->rowwise)
            ASSERT_EQ(firstMismatch(*got->rowwise, *want->rowwise), "")
                << "rowwise " << where;
          if (want->columnwise)
            ASSERT_EQ(firstMismatch(*got->columnwise, *want->columnwise), "")
                << "columnwise " << where;
          ++compared;
        }
      }
    }
  RecordProperty("compared", compared);
}

INSTANTIATE_TEST_SUITE_P(
    Recipes, GivenAmaxGPUvsCPU,
    ::testing::Values(
        "per_tensor", "per_tensor, sf_layout = 128x4", "per_token",
        "per_token_quotient", "local_1x64", "per_tensor_2d",
        "per_tensor, directions = [rowwise, columnwise]", "per_tensor_rht",
        "per_token, directions = [rowwise, columnwise], sf_layout = 128x4",
        "local_1x64, directions = [rowwise, columnwise]", "four_over_six",
        "per_tensor, rounding = stochastic<seed = 7>"));

// TV21 on the GPU: the stochastic rounding decision is exact there too
// (seed 39 gives element 10 the byte 179; -1.375 rounds to -0, code 0x8).
TEST(GPUTestVectors, TV21_StochasticRoundingIsExact) {
  REQUIRE_GPU();
  const char *recipe = "per_tensor, rounding = stochastic<seed = 39>";
  std::vector<float> x(32, 0.0f);
  x[0] = 53.75f;
  x[10] = -1.375f;
  x[16] = 256.0f;
  std::vector<uint8_t> storage = toStorage(x, ElementType::BF16);
  auto gpuRecipe = ::nvfp4::parseRecipe(gpuRunner().getContext(), recipe);
  ASSERT_TRUE(bool(gpuRecipe)) << llvm::toString(gpuRecipe.takeError());
  auto got =
      gpuRunner().quantize(*gpuRecipe, ElementType::BF16, storage.data(), 1, 32);
  ASSERT_TRUE(bool(got)) << llvm::toString(got.takeError());
  EXPECT_EQ(got->rowwise->scale[0], 0x6C);
  EXPECT_EQ(got->rowwise->data[5] & 0x0F, 0x8);
  ::nvfp4::HostRunner &cpu = sharedRunner();
  auto cpuRecipe = cpu.parseRecipe(recipe);
  ASSERT_TRUE(bool(cpuRecipe)) << llvm::toString(cpuRecipe.takeError());
  auto want = cpu.quantize(*cpuRecipe, ElementType::BF16, storage.data(), 1, 32);
  ASSERT_TRUE(bool(want)) << llvm::toString(want.takeError());
  EXPECT_EQ(firstMismatch(*got->rowwise, *want->rowwise), "");
}

// 64-bit offsets: M*K > 2^31 elements (4.3 GB of bf16 input).
TEST(GPULarge, OffsetsBeyond2To31) {
  REQUIRE_GPU();
  const int64_t m = 65600, k = 32768;
  ASSERT_GT(m * k, int64_t(1) << 31);
  std::vector<uint16_t> input(m * k);
  for (int64_t i = 0; i < m * k; ++i)
    input[i] = ::nvfp4::floatToBF16(float(int((i * 2654435761u) % 2001) - 1000) /
                                    64.0f);
  ::nvfp4::HostRunner &cpu = sharedRunner();
  auto cpuRecipe = cpu.parseRecipe("per_token");
  auto gpuRecipe = ::nvfp4::parseRecipe(gpuRunner().getContext(), "per_token");
  ASSERT_TRUE(bool(cpuRecipe) && bool(gpuRecipe));
  auto want = cpu.quantize(*cpuRecipe, ElementType::BF16, input.data(), m, k);
  ASSERT_TRUE(bool(want)) << llvm::toString(want.takeError());
  auto got =
      gpuRunner().quantize(*gpuRecipe, ElementType::BF16, input.data(), m, k);
  ASSERT_TRUE(bool(got)) << llvm::toString(got.takeError());
  ASSERT_EQ(firstMismatch(*got->rowwise, *want->rowwise), "");
}

// Compiling needs ptxas but no GPU: this runs in CI.
TEST(GPUCompile, EveryPresetAssemblesForSm90aAndSm100a) {
  for (const char *chip : {"sm_90a", "sm_100a"}) {
    auto runner = GPURunner::create(chip);
    ASSERT_TRUE(bool(runner)) << llvm::toString(runner.takeError());
    for (llvm::StringRef name : RecipeAttr::getPresetNames()) {
      auto recipe = ::nvfp4::parseRecipe((*runner)->getContext(), name);
      ASSERT_TRUE(bool(recipe));
      auto compiled = (*runner)->compile(*recipe, ElementType::BF16, "bin");
      if (!compiled) {
        std::string message = llvm::toString(compiled.takeError());
        if (message.find("ptxas") != std::string::npos &&
            message.find("not found") != std::string::npos)
          GTEST_SKIP() << "no ptxas: " << message;
        FAIL() << chip << " " << name.str() << ": " << message;
      }
      EXPECT_GT((*compiled)->image.size(), 100u);
      EXPECT_FALSE((*compiled)->kernels.empty());
    }
  }
}

// The other runtime targets (Blackwell: B300, Thor, RTX 50, DGX Spark)
// compile and assemble a quantize, a GEMM and a fused producer, so a device
// mapped to them (gpuTargetFor) gets kernels; none of them has run here.
TEST(GPUCompile, EveryRuntimeTargetAssembles) {
  for (llvm::StringRef chip : ::nvfp4::gpuTargets()) {
    if (chip == "sm_90a" || chip == "sm_100a")
      continue; // every preset and pair above and in MatmulGPUTest.cpp
    auto runner = GPURunner::create(chip);
    ASSERT_TRUE(bool(runner)) << llvm::toString(runner.takeError());
    auto skipOrFail = [&](llvm::Error e, llvm::StringRef what) {
      std::string message = llvm::toString(std::move(e));
      if (message.find("ptxas") != std::string::npos &&
          message.find("not found") != std::string::npos)
        return true;
      ADD_FAILURE() << chip.str() << " " << what.str() << ": " << message;
      return false;
    };
    for (const char *text : {"per_tensor", "per_token, sf_layout = 128x4",
                             "per_tensor_rht", "four_over_six"}) {
      auto recipe = ::nvfp4::parseRecipe((*runner)->getContext(), text);
      ASSERT_TRUE(bool(recipe));
      auto compiled = (*runner)->compile(*recipe, ElementType::BF16, "bin");
      if (!compiled) {
        if (skipOrFail(compiled.takeError(), text))
          GTEST_SKIP() << "no ptxas";
        continue;
      }
      EXPECT_FALSE((*compiled)->kernels.empty()) << chip.str() << " " << text;
    }
    auto a = ::nvfp4::parseRecipe((*runner)->getContext(),
                                  "per_token, sf_layout = 128x4");
    auto b = ::nvfp4::parseRecipe((*runner)->getContext(),
                                  "per_tensor, sf_layout = 128x4");
    ASSERT_TRUE(bool(a) && bool(b));
    auto gemm = (*runner)->compileMatmul(*a, *b, ::nvfp4::MatmulOptions());
    if (!gemm)
      skipOrFail(gemm.takeError(), "matmul");
    else
      EXPECT_EQ((*gemm)->kernels.back().maxM, 0) << chip.str();
    ::nvfp4::ProducerSpec rms;
    rms.eps = 1e-6f;
    rms.residual = true;
    auto producer = (*runner)->compileProducer(rms, ElementType::BF16, *a);
    if (!producer)
      skipOrFail(producer.takeError(), "rms_norm_quantize");
  }
}

// Without a driver, running is an error value naming the driver.
TEST(GPUErrors, NoDriverOrDeviceIsAnError) {
  auto dev = gpuRunner().device();
  if (dev)
    GTEST_SKIP() << "a CUDA device is present";
  std::string message = llvm::toString(dev.takeError());
  EXPECT_TRUE(message.find("libcuda.so.1") != std::string::npos ||
              message.find("cu") == 0)
      << message;
}
} // namespace

//===- ProducerGPUTest.cpp - Producers on the GPU == on the CPU -----------===//
//
// SPEC.md section 15 on the GPU: RMSNorm and the gated activations, fused
// into a quantize or alone, give the CPU runner's bytes (quantized data,
// scales and amaxes, y, rstd and the new residual) for every preset, with
// and without a residual and y. The CPU bytes equal the scalar reference
// (NVFP4RuntimeTests, ProducerTest.cpp). Without a CUDA device these are
// skipped; the compile tests need only ptxas.
//
//===----------------------------------------------------------------------===//

#include "../Runtime/CompareResults.h"
#include "../Runtime/Inputs.h"
#include "../Runtime/SharedRunner.h"
#include "SharedGPURunner.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4KernelInterface.h"
#include "nvfp4/Runtime/GPURunner.h"

#include "gtest/gtest.h"

#include <cctype>
#include <cstring>

using namespace mlir::nvfp4;
using namespace ::nvfp4::testing;
using ::nvfp4::ElementType;
using ::nvfp4::GPURunner;
using ::nvfp4::ProducerQuantizeResult;
using ::nvfp4::ProducerResult;
using ::nvfp4::ProducerSpec;
using ::nvfp4::QuantizeResult;

namespace {

/// The CPU and GPU recipes of one text.
struct Recipes {
  RecipeAttr cpu, gpu;
};
Recipes parseBoth(const char *text) {
  auto cpu = sharedRunner().parseRecipe(text);
  auto gpu = sharedGPURunner().parseRecipe(text);
  EXPECT_TRUE(bool(cpu) && bool(gpu)) << text;
  if (!cpu || !gpu) {
    llvm::consumeError(cpu.takeError());
    llvm::consumeError(gpu.takeError());
    return {};
  }
  return {*cpu, *gpu};
}

class ProducerGPUvsCPU : public ::testing::TestWithParam<const char *> {};

// Every combination of residual and y for RMSNorm and of activation and y
// for the gated form, in bf16, f16 and f32, on a small shape with every
// input kind and a larger one (several 256-thread chunks per row).
TEST_P(ProducerGPUvsCPU, BytesMatch) {
  REQUIRE_GPU();
  Recipes recipe = parseBoth(GetParam());
  ASSERT_TRUE(recipe.cpu && recipe.gpu);
  ::nvfp4::HostRunner &cpu = sharedRunner();
  GPURunner &gpu = sharedGPURunner();
  std::mt19937 rng(17);
  struct Shape {
    int64_t m, k;
    bool allKinds;
  };
  int compared = 0;
  for (Shape s :
       {Shape{32, 64, true}, Shape{48, 80, true}, Shape{256, 8192, false}}) {
    for (ElementType type :
         {ElementType::BF16, ElementType::F16, ElementType::F32}) {
      std::vector<uint8_t> w =
          toStorage(makeInput(Kind::Normal, 1, s.k, rng), type);
      for (Kind kind : kKinds) {
        if (!s.allKinds && kind != Kind::Normal && kind != Kind::Specials)
          continue;
        std::vector<uint8_t> x =
            toStorage(makeInput(kind, s.m, s.k, rng), type);
        // The gated producers read gate and up halves of k values each, so
        // their quantized matrix is m x k too.
        std::vector<uint8_t> gateUp =
            toStorage(makeInput(kind, s.m, 2 * s.k, rng), type);
        std::vector<uint8_t> r =
            toStorage(makeInput(Kind::Normal, s.m, s.k, rng), type);
        // A given per-row amax (per_token, amax = given): one per row, some
        // stale (below the row's values).
        std::vector<float> givenRows(s.m);
        for (int64_t i = 0; i < s.m; ++i)
          givenRows[i] = i % 3 == 0 ? 0.5f : 8.0f;
        ::nvfp4::GivenAmax given;
        if (recipe.cpu.hasGivenOuterScale())
          given.rowwise = givenRows;
        std::string where = std::string(GetParam()) + " " +
                            std::to_string(s.m) + "x" + std::to_string(s.k) +
                            " dtype " + std::to_string(int(type)) + " kind " +
                            std::to_string(int(kind));
        // Each flag both ways in every dtype set, two compilations per
        // producer and dtype at most: bf16 none and both, f16 the residual
        // alone, f32 y alone.
        std::vector<int> combos = type == ElementType::BF16  ? std::vector{0, 3}
                                  : type == ElementType::F16 ? std::vector{1}
                                                             : std::vector{2};
        for (int combo : combos) {
          bool residual = combo & 1, wantY = combo & 2;
          const void *res = residual ? r.data() : nullptr;
          std::string at = where + " residual " + std::to_string(residual) +
                           " y " + std::to_string(wantY);
          auto want = cpu.rmsNormQuantize(recipe.cpu, type, x.data(), w.data(),
                                          res, 1e-6f, s.m, s.k, wantY, given);
          ASSERT_TRUE(bool(want)) << llvm::toString(want.takeError());
          auto got = gpu.rmsNormQuantize(recipe.gpu, type, x.data(), w.data(),
                                         res, 1e-6f, s.m, s.k, wantY, given);
          ASSERT_TRUE(bool(got))
              << at << ": " << llvm::toString(got.takeError());
          ASSERT_EQ(compareResults(got->quantized, want->quantized), "")
              << "rms_norm_quantize " << at;
          ASSERT_EQ(compareProducers(got->producer, want->producer), "")
              << "rms_norm_quantize " << at;

          GatedActivation act =
              residual ? GatedActivation::GeluTanh : GatedActivation::SiLU;
          auto gatedWant =
              cpu.gatedActQuantize(recipe.cpu, type, act, gateUp.data(), s.m,
                                   2 * s.k, wantY, given);
          ASSERT_TRUE(bool(gatedWant)) << llvm::toString(gatedWant.takeError());
          auto gatedGot =
              gpu.gatedActQuantize(recipe.gpu, type, act, gateUp.data(), s.m,
                                   2 * s.k, wantY, given);
          ASSERT_TRUE(bool(gatedGot))
              << at << ": " << llvm::toString(gatedGot.takeError());
          ASSERT_EQ(compareResults(gatedGot->quantized, gatedWant->quantized),
                    "")
              << "gated_act_quantize " << at;
          ASSERT_EQ(compareProducers(gatedGot->producer, gatedWant->producer),
                    "")
              << "gated_act_quantize " << at;
          ++compared;
        }
      }
    }
  }
  RecordProperty("compared", compared);
}

INSTANTIATE_TEST_SUITE_P(
    Recipes, ProducerGPUvsCPU,
    ::testing::Values("per_tensor", "per_tensor_2d", "per_tensor_rht",
                      "per_token", "per_token_quotient", "local_1x64",
                      "four_over_six", "four_over_six_mse",
                      "per_tensor, directions = [columnwise]",
                      "per_token, directions = [rowwise, columnwise], "
                      "sf_layout = 128x4",
                      "per_token, amax = given",
                      "per_tensor, rounding = stochastic<seed = 7>"),
    [](const ::testing::TestParamInfo<const char *> &info) {
      std::string name;
      for (char c : std::string(info.param))
        name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      return name;
    });

// The producers alone, for rows of any length: short last blocks (K = 37),
// odd gated widths, and rows that fill the in-block tree up to its bound
// (kMaxRMSNormCols values) and beyond one 256-thread chunk.
TEST(GPULarge, ProducersAloneAnyRowLength) {
  REQUIRE_GPU();
  ::nvfp4::HostRunner &cpu = sharedRunner();
  GPURunner &gpu = sharedGPURunner();
  std::mt19937 rng(23);
  struct Shape {
    int64_t m, k;
  };
  for (Shape s : {Shape{9, 37}, Shape{130, 4096 + 48}, Shape{3, 70000},
                  Shape{1, kMaxRMSNormCols}, Shape{2, kMaxRMSNormCols - 2}}) {
    for (ElementType type : {ElementType::BF16, ElementType::F32}) {
      for (Kind kind : {Kind::Normal, Kind::Specials, Kind::Zeros}) {
        std::vector<uint8_t> x =
            toStorage(makeInput(kind, s.m, s.k, rng), type);
        std::vector<uint8_t> r =
            toStorage(makeInput(Kind::WideRange, s.m, s.k, rng), type);
        std::vector<uint8_t> w =
            toStorage(makeInput(Kind::Normal, 1, s.k, rng), type);
        std::string where = std::to_string(s.m) + "x" + std::to_string(s.k) +
                            " dtype " + std::to_string(int(type)) + " kind " +
                            std::to_string(int(kind));
        for (const void *res : {static_cast<const void *>(nullptr),
                                static_cast<const void *>(r.data())}) {
          auto want =
              cpu.rmsNorm(type, x.data(), w.data(), res, 1e-5f, s.m, s.k);
          ASSERT_TRUE(bool(want)) << llvm::toString(want.takeError());
          auto got =
              gpu.rmsNorm(type, x.data(), w.data(), res, 1e-5f, s.m, s.k);
          ASSERT_TRUE(bool(got))
              << where << ": " << llvm::toString(got.takeError());
          ASSERT_EQ(compareProducers(*got, *want), "")
              << "rms_norm " << where << " residual " << bool(res);
        }
        if (s.k % 2)
          continue;
        for (GatedActivation act :
             {GatedActivation::SiLU, GatedActivation::GeluTanh}) {
          auto want = cpu.gatedAct(type, act, x.data(), s.m, s.k);
          ASSERT_TRUE(bool(want)) << llvm::toString(want.takeError());
          auto got = gpu.gatedAct(type, act, x.data(), s.m, s.k);
          ASSERT_TRUE(bool(got))
              << where << ": " << llvm::toString(got.takeError());
          ASSERT_EQ(compareProducers(*got, *want), "")
              << "gated_act " << where << " act " << int(act);
        }
      }
    }
  }
}

/// The kernel names of a compilation, for messages.
std::string namesOf(const ::nvfp4::CompiledQuantize &c) {
  std::string names;
  for (const ::nvfp4::KernelInfo &k : c.kernels)
    names += (names.empty() ? "" : " ") + k.name;
  return names;
}

// The producer kernels assemble for both targets, and the kernel list is
// the one the runtime expects: a row scale kernel first unless a per-row
// rowwise-only quantization computes it in its own row kernel, an outputs
// kernel last when y or a residual is written, one row kernel for a
// producer alone. Needs ptxas only.
TEST(GPUCompile, ProducersAssemble) {
  for (const char *chip : {"sm_90a", "sm_100a"}) {
    auto runner = GPURunner::create(chip);
    ASSERT_TRUE(bool(runner)) << llvm::toString(runner.takeError());
    // sm_100a: two recipes (its quantize leaves differ); sm_90a every
    // preset.
    std::vector<std::string> texts;
    if (llvm::StringRef(chip) == "sm_100a")
      texts = {"per_token", "per_tensor, directions = [rowwise, columnwise]"};
    else
      for (llvm::StringRef name : RecipeAttr::getPresetNames())
        texts.push_back(name.str());
    for (const std::string &text : texts) {
      auto recipe = (*runner)->parseRecipe(text);
      ASSERT_TRUE(bool(recipe)) << llvm::toString(recipe.takeError());
      // A per-row rowwise-only recipe runs either producer in one row
      // kernel, outputs included.
      bool rowKernel = recipe->getRowwise() && !recipe->getColumnwise() &&
                       recipe->getOuter() == OuterGroup::Row &&
                       !recipe->hasGivenOuterScale() && !recipe->isBlock2D();
      ProducerSpec rms;
      rms.eps = 1e-6f;
      rms.residual = true;
      ProducerSpec gated;
      gated.kind = ::nvfp4::ProducerKind::GatedAct;
      gated.act = GatedActivation::GeluTanh;
      gated.y = true;
      for (const ProducerSpec &spec : {rms, gated}) {
        auto compiled =
            (*runner)->compileProducer(spec, ElementType::BF16, *recipe);
        if (!compiled) {
          std::string message = llvm::toString(compiled.takeError());
          if (message.find("ptxas") != std::string::npos &&
              message.find("not found") != std::string::npos)
            GTEST_SKIP() << "no ptxas: " << message;
          FAIL() << chip << " " << text << " " << spec.key() << ": " << message;
        }
        const auto &kernels = (*compiled)->kernels;
        ASSERT_FALSE(kernels.empty());
        std::string at = std::string(chip) + " " + text + " " + spec.key() +
                         ": " + namesOf(**compiled);
        bool separate = spec.isRMSNorm() && !rowKernel;
        EXPECT_EQ(llvm::StringRef(kernels.front().name).contains("rstd"),
                  separate)
            << at;
        EXPECT_EQ(llvm::StringRef(kernels.back().name).contains("outputs"),
                  !rowKernel)
            << at;
        for (const ::nvfp4::KernelInfo &k : kernels)
          if (llvm::StringRef(k.name).contains("rstd") ||
              llvm::StringRef(k.name).contains("outputs"))
            EXPECT_TRUE(k.work == KernelWork::RowCTAs && !k.columnwise) << at;
      }
    }
    // The per-row kernels hold a row cache and the tree sum in shared
    // memory, sized by the storage type: f32 and f16 assemble too.
    for (ElementType type : {ElementType::F32, ElementType::F16}) {
      auto recipe = (*runner)->parseRecipe("per_token");
      ASSERT_TRUE(bool(recipe));
      ProducerSpec rms;
      rms.eps = 1e-6f;
      rms.y = true;
      ProducerSpec gated;
      gated.kind = ::nvfp4::ProducerKind::GatedAct;
      for (const ProducerSpec &spec : {rms, gated}) {
        auto compiled = (*runner)->compileProducer(spec, type, *recipe);
        ASSERT_TRUE(bool(compiled))
            << chip << " dtype " << int(type) << " " << spec.key() << ": "
            << llvm::toString(compiled.takeError());
      }
    }
    // Every kernel takes every operand of the op (memref descriptors: 3 +
    // 2 x rank words each), the parameters the runtime passes.
    for (const char *text :
         {"per_token", "per_tensor, directions = [columnwise]"}) {
      auto recipe = (*runner)->parseRecipe(text);
      ASSERT_TRUE(bool(recipe));
      ProducerSpec spec;
      spec.eps = 1e-6f;
      spec.residual = spec.y = true;
      auto ptx =
          (*runner)->compileProducer(spec, ElementType::BF16, *recipe, "isa");
      ASSERT_TRUE(bool(ptx)) << llvm::toString(ptx.takeError());
      auto outputs = ::nvfp4::describeOutputs(*recipe, 32, 64);
      ASSERT_TRUE(bool(outputs));
      size_t words = 0;
      for (const auto &operand : ::nvfp4::producerOperands(spec, true, 32, 64))
        words += 3 + 2 * operand.shape.size();
      for (unsigned rank : ::nvfp4::amaxRanksOf(*outputs))
        words += 3 * 3 + 2 * (2 + 2 + rank);
      llvm::StringRef image((*ptx)->image.data(), (*ptx)->image.size());
      for (const ::nvfp4::KernelInfo &k : (*ptx)->kernels) {
        size_t at = image.find(".entry " + k.name + "(");
        ASSERT_NE(at, llvm::StringRef::npos) << k.name;
        llvm::StringRef params = image.substr(at);
        params = params.take_front(params.find(')'));
        EXPECT_EQ(params.count(".param"), words) << chip << " " << k.name;
      }
    }
    for (const ProducerSpec &spec :
         {ProducerSpec{::nvfp4::ProducerKind::RMSNorm, 1e-6f, true},
          ProducerSpec{::nvfp4::ProducerKind::GatedAct}}) {
      auto alone = (*runner)->compileProducer(spec, ElementType::F16, {});
      ASSERT_TRUE(bool(alone)) << llvm::toString(alone.takeError());
      ASSERT_EQ((*alone)->kernels.size(), 1u) << namesOf(**alone);
      EXPECT_EQ((*alone)->kernels[0].work, KernelWork::RowCTAs);
    }
  }
}

} // namespace

//===- RunnerTest.cpp - Runner::create and the runner interface -----------===//
//
// A target name gives the runner of that target; every runner is used
// through the same interface. GPU runners are created and parse recipes
// without a GPU; running them is covered by the GPU tests.
//
//===----------------------------------------------------------------------===//

#include "nvfp4/Runtime/Runner.h"
#include "SharedRunner.h"
#include "nvfp4/Runtime/Device.h"
#include "nvfp4/Runtime/HostRunner.h"

#include "gtest/gtest.h"

#include <cstring>

using ::nvfp4::Runner;

namespace {
std::unique_ptr<Runner> create(llvm::StringRef target) {
  auto runner = Runner::create(target);
  if (!runner) {
    ADD_FAILURE() << target.str() << ": " << llvm::toString(runner.takeError());
    return nullptr;
  }
  return std::move(*runner);
}

TEST(Runner, CpuRunsOnTheHost) {
  std::unique_ptr<Runner> runner = create("cpu");
  ASSERT_TRUE(runner);
  EXPECT_EQ(runner->target(), "cpu");
}

TEST(Runner, GPUTargetsNeedNoGPU) {
  for (const char *chip : {"sm_90a", "sm_100a"}) {
    std::unique_ptr<Runner> runner = create(chip);
    ASSERT_TRUE(runner);
    EXPECT_EQ(runner->target(), chip);
    auto recipe = runner->parseRecipe("per_tensor");
    ASSERT_TRUE(bool(recipe)) << llvm::toString(recipe.takeError());
    EXPECT_EQ(recipe->getContext(), &runner->getContext());
  }
}

TEST(Runner, AutoIsDeviceZerosTargetElseCpu) {
  std::string want = "cpu";
  if (auto device = ::nvfp4::Device::shared()) {
    if (auto target = (*device)->target())
      want = *target;
    else
      llvm::consumeError(target.takeError());
  } else {
    llvm::consumeError(device.takeError());
  }
  std::unique_ptr<Runner> runner = create("auto");
  ASSERT_TRUE(runner);
  EXPECT_EQ(runner->target(), want);
}

TEST(Runner, UnknownTargetsAreErrors) {
  // sm_100 and sm_120 (no `a`) are chips nvfp4-to-ptx compiles for, but no
  // device maps to them: a runtime compiles for the arch-specific targets.
  for (const char *target : {"sm_80", "sm_100", "sm_120", "gpu", "", "CPU"}) {
    auto runner = Runner::create(target);
    ASSERT_FALSE(bool(runner)) << target;
    EXPECT_EQ(llvm::toString(runner.takeError()),
              "unknown target '" + std::string(target) +
                  "' (expected cpu, sm_90a, sm_100a, sm_103a, sm_110a, "
                  "sm_120a, sm_121a or auto)");
  }
}

// Every Blackwell target has a runner (creating one needs no GPU), and a
// device's compute capability picks its arch-specific target.
TEST(Runner, BlackwellTargets) {
  for (llvm::StringRef target : ::nvfp4::gpuTargets()) {
    auto runner = Runner::create(target);
    ASSERT_TRUE(bool(runner)) << llvm::toString(runner.takeError());
    EXPECT_EQ((*runner)->target(), target);
  }
  for (auto [cc, want] : {std::pair{90, "sm_90a"}, std::pair{100, "sm_100a"},
                          std::pair{103, "sm_103a"}, std::pair{110, "sm_110a"},
                          std::pair{120, "sm_120a"}, std::pair{121, "sm_121a"}}) {
    auto target = ::nvfp4::gpuTargetFor(cc, "GPU");
    ASSERT_TRUE(bool(target)) << llvm::toString(target.takeError());
    EXPECT_EQ(*target, want);
  }
  auto ada = ::nvfp4::gpuTargetFor(89, "NVIDIA L40S");
  ASSERT_FALSE(bool(ada));
  EXPECT_EQ(llvm::toString(ada.takeError()),
            "no nvfp4 target for NVIDIA L40S (sm_89; supported: sm_90a, "
            "sm_100a, sm_103a, sm_110a, sm_120a, sm_121a)");
}

TEST(Runner, RecipeErrorsComeBackOnEveryTarget) {
  for (const char *target : {"cpu", "sm_90a"}) {
    std::unique_ptr<Runner> runner = create(target);
    ASSERT_TRUE(runner);
    auto recipe = runner->parseRecipe("no_such_preset");
    ASSERT_FALSE(bool(recipe)) << target;
    EXPECT_FALSE(llvm::toString(recipe.takeError()).empty());
  }
}

// The interface runs the host runner's kernels: same bytes as calling
// HostRunner directly.
TEST(Runner, CpuQuantizesThroughTheInterface) {
  std::unique_ptr<Runner> runner = create("cpu");
  ASSERT_TRUE(runner);
  ::nvfp4::HostRunner &host = ::nvfp4::testing::sharedRunner();
  const int64_t rows = 32, cols = 64;
  std::vector<float> x(rows * cols);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = float(int(i % 29) - 14) * 0.37f;
  auto viaInterface = runner->parseRecipe("per_tensor");
  auto direct = host.parseRecipe("per_tensor");
  ASSERT_TRUE(viaInterface && direct);
  auto got = runner->quantize(*viaInterface, ::nvfp4::ElementType::F32,
                              x.data(), rows, cols);
  auto want =
      host.quantize(*direct, ::nvfp4::ElementType::F32, x.data(), rows, cols);
  ASSERT_TRUE(got && want);
  ASSERT_TRUE(got->rowwise && want->rowwise);
  EXPECT_EQ(got->rowwise->data, want->rowwise->data);
  EXPECT_EQ(got->rowwise->scale, want->rowwise->scale);
  EXPECT_EQ(got->rowwise->amax, want->rowwise->amax);
}
} // namespace

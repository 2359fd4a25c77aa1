//===- HostRunner.h - Recipes and GEMMs run on the host ---------*- C++ -*-===//
//
// JIT-compiles a recipe through the nvfp4-to-cpu pipeline and runs it on
// host memory: the reference every GPU result is compared with, and the
// way every recipe runs on a machine without a GPU. Kernels take dynamic
// shapes, so one compilation per (recipe, input type) serves every shape.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_RUNTIME_HOSTRUNNER_H
#define NVFP4_RUNTIME_HOSTRUNNER_H

#include "nvfp4/Runtime/Runner.h"

#include "llvm/ADT/STLFunctionalExtras.h"

namespace mlir {
class ExecutionEngine;
} // namespace mlir

namespace nvfp4 {

/// The Runner of the "cpu" target: compiles and runs recipes on the host.
/// Thread-safe; compiled kernels are cached for the life of the object.
/// The GEMMs are implemented in HostMatmul.cpp (nvfp4/Runtime/Matmul.h).
class HostRunner final : public Runner {
public:
  /// Creates a runner with its own MLIRContext. Fails if the host target
  /// cannot be initialised.
  static llvm::Expected<std::unique_ptr<HostRunner>> create();
  ~HostRunner() override;

  llvm::StringRef target() const override { return "cpu"; }
  mlir::MLIRContext &getContext() override;
  llvm::Expected<mlir::nvfp4::RecipeAttr>
  parseRecipe(llvm::StringRef text) override;

  llvm::Expected<QuantizeResult> quantize(mlir::nvfp4::RecipeAttr recipe,
                                          ElementType type, const void *input,
                                          int64_t rows, int64_t cols,
                                          const GivenAmax &given = {}) override;
  llvm::Expected<QuantizeResult>
  quantizeGrouped(mlir::nvfp4::RecipeAttr recipe, ElementType type,
                  const void *input, int64_t rows, int64_t cols,
                  llvm::ArrayRef<int64_t> splits,
                  const GivenAmax &given = {}) override;
  llvm::Expected<QuantizeResult> amax(mlir::nvfp4::RecipeAttr recipe,
                                      ElementType type, const void *input,
                                      int64_t rows, int64_t cols) override;
  llvm::Expected<std::vector<float>>
  dequantize(mlir::nvfp4::RecipeAttr recipe, const QuantizedOutput &q) override;
  llvm::Expected<std::vector<uint8_t>>
  matmul(mlir::nvfp4::RecipeAttr aRecipe, const QuantizedOutput &a,
         mlir::nvfp4::RecipeAttr bRecipe, const QuantizedOutput &b,
         const MatmulOptions &options) override;
  llvm::Expected<std::vector<uint8_t>>
  matmulGrouped(mlir::nvfp4::RecipeAttr aRecipe, const QuantizedOutput &a,
                llvm::ArrayRef<int64_t> splits, mlir::nvfp4::RecipeAttr bRecipe,
                llvm::ArrayRef<QuantizedOutput> b,
                const MatmulOptions &options) override;
  llvm::Expected<std::vector<uint8_t>>
  matmulW4A16(ElementType aType, const void *a, int64_t m, int64_t k,
              mlir::nvfp4::RecipeAttr bRecipe, const QuantizedOutput &b,
              const MatmulOptions &options) override;

  /// Compiles `makeModule()` (a module holding `func.func @kernel`) through
  /// the CPU pipeline once per `key` and returns its engine; the runner's
  /// lock is held while the module is built. For runtime pieces that build
  /// their own kernels (HostMatmul.cpp).
  llvm::Expected<mlir::ExecutionEngine *> getOrCompileKernel(
      llvm::StringRef key,
      llvm::function_ref<mlir::OwningOpRef<mlir::ModuleOp>()> makeModule);

protected:
  llvm::Expected<ProducerResult> runProducer(const ProducerCall &call,
                                             QuantizeResult *outputs) override;

private:
  HostRunner();
  llvm::Expected<QuantizeResult>
  run(mlir::nvfp4::RecipeAttr recipe, ElementType type, const void *input,
      int64_t rows, int64_t cols,
      std::optional<llvm::ArrayRef<int64_t>> splits, const GivenAmax &given);
  struct Impl;
  std::unique_ptr<Impl> impl;
};

} // namespace nvfp4

#endif // NVFP4_RUNTIME_HOSTRUNNER_H

//===- NVFP4CAPI.cpp - C ABI of the nvfp4 runtime -------------------------===//

#include "nvfp4-c/NVFP4.h"
#include "nvfp4/Runtime/HostRunner.h"

#include <cstring>
#include <string>

struct nvfp4_runner {
  /// The host runner, used through the interface every runner offers.
  std::unique_ptr<nvfp4::Runner> host;
};

struct nvfp4_result {
  nvfp4::QuantizeResult result;
  int outer;
  int e4m3Max;
};

namespace {
void setError(char *error, size_t size, const std::string &message) {
  if (!error || !size)
    return;
  size_t n = std::min(size - 1, message.size());
  std::memcpy(error, message.data(), n);
  error[n] = '\0';
}

/// The element type of a checked `dtype`.
nvfp4::ElementType elementType(int dtype) {
  return dtype == NVFP4_F32   ? nvfp4::ElementType::F32
         : dtype == NVFP4_F16 ? nvfp4::ElementType::F16
                              : nvfp4::ElementType::BF16;
}
} // namespace

extern "C" {

int nvfp4_abi_version(void) { return 1; }

nvfp4_runner *nvfp4_host_runner_create(char *error, size_t error_size) {
  auto host = nvfp4::HostRunner::create();
  if (!host) {
    setError(error, error_size, llvm::toString(host.takeError()));
    return nullptr;
  }
  return new nvfp4_runner{std::move(*host)};
}

void nvfp4_runner_destroy(nvfp4_runner *runner) { delete runner; }

namespace {
nvfp4_result *quantizeWith(nvfp4_runner *runner, const char *recipe,
                           int dtype, const void *input, int64_t rows,
                           int64_t cols, const nvfp4::GivenAmax &given,
                           char *error, size_t error_size) {
  if (!runner || !recipe || !input) {
    setError(error, error_size, "null runner, recipe or input");
    return nullptr;
  }
  if (dtype < NVFP4_F32 || dtype > NVFP4_BF16) {
    setError(error, error_size, "unknown dtype " + std::to_string(dtype));
    return nullptr;
  }
  auto parsed = runner->host->parseRecipe(recipe);
  if (!parsed) {
    setError(error, error_size, llvm::toString(parsed.takeError()));
    return nullptr;
  }
  auto type = elementType(dtype);
  auto result = runner->host->quantize(*parsed, type, input, rows, cols, given);
  if (!result) {
    setError(error, error_size, llvm::toString(result.takeError()));
    return nullptr;
  }
  return new nvfp4_result{std::move(*result), int(parsed->getOuter()),
                          int(parsed->getE4m3Max())};
}

/// Checks that buffer `name` holds exactly rows x cols values of `width`
/// bytes (`size` bytes) before it is read; false with the message set
/// otherwise.
bool checkBufferSize(const char *name, uint64_t width, size_t size,
                     int64_t rows, int64_t cols, char *error,
                     size_t error_size) {
  if (rows < 0 || cols < 0) {
    setError(error, error_size,
             "expected a non-negative shape, got " + std::to_string(rows) +
                 "x" + std::to_string(cols));
    return false;
  }
  uint64_t count, bytes;
  bool overflow = __builtin_mul_overflow(uint64_t(rows), uint64_t(cols),
                                         &count) ||
                  __builtin_mul_overflow(count, width, &bytes);
  if (overflow || bytes != size) {
    setError(error, error_size,
             std::string(name) + ": expected the " + name +
                 " buffer to hold " +
                 (overflow ? std::string("more than 2^64")
                           : std::to_string(bytes)) +
                 " bytes (" + std::to_string(rows) + "x" +
                 std::to_string(cols) + " values of " +
                 std::to_string(width) + " bytes), got " +
                 std::to_string(size));
    return false;
  }
  return true;
}

/// Bytes per value of a known `dtype`, or 0 with the message set.
uint64_t dtypeWidth(int dtype, char *error, size_t error_size) {
  if (dtype < NVFP4_F32 || dtype > NVFP4_BF16) {
    setError(error, error_size, "unknown dtype " + std::to_string(dtype));
    return 0;
  }
  return dtype == NVFP4_F32 ? 4 : 2;
}

/// Checks the size of `input` (rows x cols values of `dtype`) before it is
/// read; false with the message set otherwise.
bool checkInputSize(int dtype, size_t input_size, int64_t rows, int64_t cols,
                    char *error, size_t error_size) {
  uint64_t width = dtypeWidth(dtype, error, error_size);
  return width &&
         checkBufferSize("input", width, input_size, rows, cols, error,
                         error_size);
}

/// The buffers of a host producer call, each with its size as given.
struct ProducerBuffers {
  const void *input;
  size_t inputSize;
  const void *weight = nullptr;
  size_t weightSize = 0;
  void *residual = nullptr;
  size_t residualSize = 0;
  float *rstd = nullptr;
  size_t rstdCount = 0;
  void *y = nullptr;
  size_t ySize = 0;
};

/// Checks the sizes of a producer call's buffers against a rows x cols
/// input (`spec` says which it has; `yCols` columns of y), before any is
/// read; false with the message set otherwise.
bool checkProducerSizes(const nvfp4::ProducerSpec &spec, int dtype,
                        const ProducerBuffers &b, int64_t rows, int64_t cols,
                        char *error, size_t error_size) {
  if (!checkInputSize(dtype, b.inputSize, rows, cols, error, error_size))
    return false;
  uint64_t width = dtype == NVFP4_F32 ? 4 : 2;
  if (spec.isRMSNorm()) {
    if (!checkBufferSize("weight", width, b.weightSize, 1, cols, error,
                         error_size) ||
        !checkBufferSize("rstd", 4, b.rstdCount * 4, rows, 1, error,
                         error_size))
      return false;
    if (b.residual && !checkBufferSize("residual", width, b.residualSize, rows,
                                       cols, error, error_size))
      return false;
  }
  return !b.y || checkBufferSize("y", width, b.ySize, rows,
                                 spec.resultCols(cols), error, error_size);
}

/// Copies a producer's outputs to the caller's buffers (after success).
void copyProducerOutputs(const nvfp4::ProducerResult &result,
                         const ProducerBuffers &b) {
  if (b.y)
    std::memcpy(b.y, result.y.data(), result.y.size());
  if (b.rstd)
    std::memcpy(b.rstd, result.rstd.data(), result.rstd.size() * 4);
  if (b.residual)
    std::memcpy(b.residual, result.residual.data(), result.residual.size());
}

/// The C activation code as the dialect's enum; false with the message
/// set for an unknown one.
bool toActivation(int act, mlir::nvfp4::GatedActivation &out, char *error,
                  size_t error_size) {
  auto parsed = mlir::nvfp4::symbolizeGatedActivation(uint32_t(act));
  if (act < 0 || !parsed) {
    setError(error, error_size,
             "unknown activation " + std::to_string(act) +
                 " (expected NVFP4_SILU or NVFP4_GELU_TANH)");
    return false;
  }
  out = *parsed;
  return true;
}

/// The fused producer entry points: checks, then `run` on the parsed
/// recipe with the given amaxes; the outputs are copied out on success.
nvfp4_result *producerQuantize(
    nvfp4_runner *runner, const char *recipe, int dtype,
    const nvfp4::ProducerSpec &spec, const ProducerBuffers &b, int64_t rows,
    int64_t cols, const float *amax, size_t amax_count, const float *amax_t,
    size_t amax_t_count, char *error, size_t error_size,
    llvm::function_ref<llvm::Expected<nvfp4::ProducerQuantizeResult>(
        mlir::nvfp4::RecipeAttr, const nvfp4::GivenAmax &)>
        run) {
  if (!runner || !recipe || !b.input) {
    setError(error, error_size, "null runner, recipe or input");
    return nullptr;
  }
  if ((amax_count && !amax) || (amax_t_count && !amax_t)) {
    setError(error, error_size, "null amax buffer with a nonzero count");
    return nullptr;
  }
  if (!checkProducerSizes(spec, dtype, b, rows, cols, error, error_size))
    return nullptr;
  auto parsed = runner->host->parseRecipe(recipe);
  if (!parsed) {
    setError(error, error_size, llvm::toString(parsed.takeError()));
    return nullptr;
  }
  nvfp4::GivenAmax given{llvm::ArrayRef<float>(amax, amax_count),
                         llvm::ArrayRef<float>(amax_t, amax_t_count)};
  auto result = run(*parsed, given);
  if (!result) {
    setError(error, error_size, llvm::toString(result.takeError()));
    return nullptr;
  }
  copyProducerOutputs(result->producer, b);
  return new nvfp4_result{std::move(result->quantized),
                          int(parsed->getOuter()), int(parsed->getE4m3Max())};
}

/// The producers-alone entry points: checks, `run`, outputs copied out.
int producerAlone(nvfp4_runner *runner, int dtype,
                  const nvfp4::ProducerSpec &spec, const ProducerBuffers &b,
                  int64_t rows, int64_t cols, char *error, size_t error_size,
                  llvm::function_ref<llvm::Expected<nvfp4::ProducerResult>()>
                      run) {
  if (!runner || !b.input || !b.y) {
    setError(error, error_size, "null runner, input or y");
    return 1;
  }
  if (!checkProducerSizes(spec, dtype, b, rows, cols, error, error_size))
    return 1;
  auto result = run();
  if (!result) {
    setError(error, error_size, llvm::toString(result.takeError()));
    return 1;
  }
  copyProducerOutputs(*result, b);
  return 0;
}
} // namespace

nvfp4_result *nvfp4_quantize(nvfp4_runner *runner, const char *recipe,
                             int dtype, const void *input, int64_t rows,
                             int64_t cols, char *error, size_t error_size) {
  return quantizeWith(runner, recipe, dtype, input, rows, cols, {}, error,
                      error_size);
}

nvfp4_result *nvfp4_quantize_sized(nvfp4_runner *runner, const char *recipe,
                                   int dtype, const void *input,
                                   size_t input_size, int64_t rows,
                                   int64_t cols, char *error,
                                   size_t error_size) {
  if (!checkInputSize(dtype, input_size, rows, cols, error, error_size))
    return nullptr;
  return nvfp4_quantize(runner, recipe, dtype, input, rows, cols, error,
                        error_size);
}

nvfp4_result *nvfp4_quantize_given(nvfp4_runner *runner, const char *recipe,
                                   int dtype, const void *input,
                                   size_t input_size, int64_t rows,
                                   int64_t cols, const float *amax,
                                   size_t amax_count, const float *amax_t,
                                   size_t amax_t_count, char *error,
                                   size_t error_size) {
  if ((amax_count && !amax) || (amax_t_count && !amax_t)) {
    setError(error, error_size, "null amax buffer with a nonzero count");
    return nullptr;
  }
  if (!checkInputSize(dtype, input_size, rows, cols, error, error_size))
    return nullptr;
  nvfp4::GivenAmax given{llvm::ArrayRef<float>(amax, amax_count),
                         llvm::ArrayRef<float>(amax_t, amax_t_count)};
  return quantizeWith(runner, recipe, dtype, input, rows, cols, given, error,
                      error_size);
}

int nvfp4_amax_host(nvfp4_runner *runner, const char *recipe, int dtype,
                    const void *input, size_t input_size, int64_t rows,
                    int64_t cols, float *amax, size_t amax_count,
                    float *amax_t, size_t amax_t_count, char *error,
                    size_t error_size) {
  if (!runner || !recipe || !input) {
    setError(error, error_size, "null runner, recipe or input");
    return 1;
  }
  if (!checkInputSize(dtype, input_size, rows, cols, error, error_size))
    return 1;
  auto parsed = runner->host->parseRecipe(recipe);
  if (!parsed) {
    setError(error, error_size, llvm::toString(parsed.takeError()));
    return 1;
  }
  auto shapes = nvfp4::allocateAmaxOutputs(*parsed, rows, cols);
  if (!shapes) {
    setError(error, error_size, llvm::toString(shapes.takeError()));
    return 1;
  }
  // Each output buffer must hold exactly its direction's amaxes (checked
  // before the input is read).
  for (auto [name, out, ptr, count] :
       {std::tuple{"amax", &shapes->rowwise, amax, amax_count},
        std::tuple{"amax_t", &shapes->columnwise, amax_t, amax_t_count}}) {
    size_t need = *out ? (*out)->amax.size() : 0;
    if (count != need || (need && !ptr)) {
      setError(error, error_size,
               std::string(name) + ": expected " + std::to_string(need) +
                   " float32 values, got " + std::to_string(count) +
                   (need && !ptr ? " (null buffer)" : ""));
      return 1;
    }
  }
  auto type = elementType(dtype);
  auto result = runner->host->amax(*parsed, type, input, rows, cols);
  if (!result) {
    setError(error, error_size, llvm::toString(result.takeError()));
    return 1;
  }
  if (result->rowwise)
    llvm::copy(result->rowwise->amax, amax);
  if (result->columnwise)
    llvm::copy(result->columnwise->amax, amax_t);
  return 0;
}

void nvfp4_result_recipe(const nvfp4_result *result, int *outer,
                         int *e4m3_max) {
  *outer = result ? result->outer : -1;
  *e4m3_max = result ? result->e4m3Max : 0;
}

int nvfp4_result_has(const nvfp4_result *result, int direction) {
  if (!result)
    return 0;
  return direction == NVFP4_ROWWISE      ? bool(result->result.rowwise)
         : direction == NVFP4_COLUMNWISE ? bool(result->result.columnwise)
                                         : 0;
}

const void *nvfp4_result_buffer(const nvfp4_result *result, int direction,
                                int kind, int64_t shape[2], int *ndim) {
  if (!nvfp4_result_has(result, direction))
    return nullptr;
  const nvfp4::QuantizedOutput &o = direction == NVFP4_ROWWISE
                                        ? *result->result.rowwise
                                        : *result->result.columnwise;
  llvm::SmallVector<int64_t, 2> dims;
  const void *data = nullptr;
  switch (kind) {
  case NVFP4_DATA:
    dims = {o.rows, o.cols / 2};
    data = o.data.data();
    break;
  case NVFP4_SCALE:
    dims = o.scaleShape;
    data = o.scale.data();
    break;
  case NVFP4_AMAX:
    dims = o.amaxShape;
    data = o.amax.data();
    break;
  default:
    return nullptr;
  }
  *ndim = int(dims.size());
  for (size_t i = 0; i < dims.size() && i < 2; ++i)
    shape[i] = dims[i];
  return data;
}

void nvfp4_result_destroy(nvfp4_result *result) { delete result; }

nvfp4_result *nvfp4_rms_norm_quantize_host_sized(
    nvfp4_runner *runner, const char *recipe, int dtype, const void *input,
    size_t input_size, const void *weight, size_t weight_size, void *residual,
    size_t residual_size, float eps, int64_t rows, int64_t cols, float *rstd,
    size_t rstd_count, void *y, size_t y_size, const float *amax,
    size_t amax_count, const float *amax_t, size_t amax_t_count, char *error,
    size_t error_size) {
  if (!weight || !rstd) {
    setError(error, error_size, "null weight or rstd");
    return nullptr;
  }
  nvfp4::ProducerSpec spec;
  spec.eps = eps;
  spec.residual = residual != nullptr;
  spec.y = y != nullptr;
  ProducerBuffers b{input,    input_size, weight, weight_size, residual,
                    residual_size, rstd,  rstd_count, y,      y_size};
  return producerQuantize(
      runner, recipe, dtype, spec, b, rows, cols, amax, amax_count, amax_t,
      amax_t_count, error, error_size,
      [&](mlir::nvfp4::RecipeAttr parsed, const nvfp4::GivenAmax &given) {
        return runner->host->rmsNormQuantize(parsed, elementType(dtype), input,
                                             weight, residual, eps, rows, cols,
                                             y != nullptr, given);
      });
}

nvfp4_result *nvfp4_gated_act_quantize_host_sized(
    nvfp4_runner *runner, const char *recipe, int dtype, int act,
    const void *input, size_t input_size, int64_t rows, int64_t cols, void *y,
    size_t y_size, const float *amax, size_t amax_count, const float *amax_t,
    size_t amax_t_count, char *error, size_t error_size) {
  nvfp4::ProducerSpec spec;
  spec.kind = nvfp4::ProducerKind::GatedAct;
  if (!toActivation(act, spec.act, error, error_size))
    return nullptr;
  spec.y = y != nullptr;
  ProducerBuffers b{input, input_size};
  b.y = y;
  b.ySize = y_size;
  return producerQuantize(
      runner, recipe, dtype, spec, b, rows, cols, amax, amax_count, amax_t,
      amax_t_count, error, error_size,
      [&](mlir::nvfp4::RecipeAttr parsed, const nvfp4::GivenAmax &given) {
        return runner->host->gatedActQuantize(parsed, elementType(dtype),
                                              spec.act, input, rows, cols,
                                              y != nullptr, given);
      });
}

int nvfp4_rms_norm_host_sized(nvfp4_runner *runner, int dtype,
                              const void *input, size_t input_size,
                              const void *weight, size_t weight_size,
                              void *residual, size_t residual_size, float eps,
                              int64_t rows, int64_t cols, void *y,
                              size_t y_size, float *rstd, size_t rstd_count,
                              char *error, size_t error_size) {
  if (!weight || !rstd) {
    setError(error, error_size, "null weight or rstd");
    return 1;
  }
  nvfp4::ProducerSpec spec;
  spec.eps = eps;
  spec.residual = residual != nullptr;
  ProducerBuffers b{input,    input_size, weight, weight_size, residual,
                    residual_size, rstd,  rstd_count, y,      y_size};
  return producerAlone(runner, dtype, spec, b, rows, cols, error, error_size,
                       [&] {
                         return runner->host->rmsNorm(elementType(dtype),
                                                      input, weight, residual,
                                                      eps, rows, cols);
                       });
}

int nvfp4_gated_act_host_sized(nvfp4_runner *runner, int dtype, int act,
                               const void *input, size_t input_size,
                               int64_t rows, int64_t cols, void *y,
                               size_t y_size, char *error, size_t error_size) {
  nvfp4::ProducerSpec spec;
  spec.kind = nvfp4::ProducerKind::GatedAct;
  if (!toActivation(act, spec.act, error, error_size))
    return 1;
  ProducerBuffers b{input, input_size};
  b.y = y;
  b.ySize = y_size;
  return producerAlone(runner, dtype, spec, b, rows, cols, error, error_size,
                       [&] {
                         return runner->host->gatedAct(elementType(dtype),
                                                       spec.act, input, rows,
                                                       cols);
                       });
}

} // extern "C"

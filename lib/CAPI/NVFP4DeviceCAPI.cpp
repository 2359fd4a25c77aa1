//===- NVFP4DeviceCAPI.cpp - C ABI: shapes, device runs, compilation ------===//
//
// The C entry points added over the host-only first slice: everything goes
// through the runtime API (nvfp4/Runtime/Api.h), so the Python package and
// C++ programs share one compiler and one kernel cache per process.
//
//===----------------------------------------------------------------------===//

#include "nvfp4-c/NVFP4.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4Shapes.h"
#include "nvfp4/Runtime/Api.h"

#include "llvm/Support/raw_ostream.h"

#include <cstring>
#include <string>

using namespace mlir::nvfp4;

struct nvfp4_kernel {
  nvfp4::CompiledRecipe compiled;
};

namespace {
int fail(char *error, size_t size, const std::string &message) {
  if (error && size) {
    size_t n = std::min(size - 1, message.size());
    std::memcpy(error, message.data(), n);
    error[n] = '\0';
  }
  return 1;
}

int fail(char *error, size_t size, llvm::Error e) {
  return fail(error, size, llvm::toString(std::move(e)));
}

int copyOut(const std::string &text, char *out, size_t size, char *error,
            size_t errorSize) {
  if (!out || size <= text.size())
    return fail(error, errorSize,
                "output buffer too small (" + std::to_string(text.size() + 1) +
                    " bytes needed)");
  std::memcpy(out, text.c_str(), text.size() + 1);
  return 0;
}

bool toType(int dtype, nvfp4::ElementType &type) {
  switch (dtype) {
  case NVFP4_F32:
    type = nvfp4::ElementType::F32;
    return true;
  case NVFP4_F16:
    type = nvfp4::ElementType::F16;
    return true;
  case NVFP4_BF16:
    type = nvfp4::ElementType::BF16;
    return true;
  }
  return false;
}

/// The recipe parsed by the process-wide cpu compiler.
llvm::Expected<RecipeAttr> parse(const char *recipe) {
  if (!recipe)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "null recipe");
  auto compiler = nvfp4::Compiler::shared("cpu");
  if (!compiler)
    return compiler.takeError();
  return (*compiler)->parseRecipe(recipe);
}

/// One quantized direction on the host, shaped as `recipe` says for a rows
/// x cols matrix: the buffers are copied.
llvm::Expected<nvfp4::QuantizedOutput>
hostOperand(const char *recipe, const void *data, const void *scale,
            const float *amax, int64_t rows, int64_t cols) {
  if (!data || !scale || !amax)
    return llvm::createStringError("null buffer");
  auto parsed = parse(recipe);
  if (!parsed)
    return parsed.takeError();
  if (rows < 1 || cols < 1 || cols % 16 != 0)
    return llvm::createStringError(
        "expected a non-empty matrix whose quantized dimension is a "
        "multiple of 16, got " +
        std::to_string(rows) + "x" + std::to_string(cols));
  nvfp4::QuantizedOutput q;
  q.rows = rows;
  q.cols = cols;
  q.scaleShape = scaleShape(parsed->getSfLayout(), rows, cols);
  q.amaxShape = amaxShape(*parsed, rows, cols);
  auto bytes = static_cast<const uint8_t *>(data);
  q.data.assign(bytes, bytes + rows * (cols / 2));
  auto scales = static_cast<const uint8_t *>(scale);
  q.scale.assign(scales, scales + q.scaleShape[0] * q.scaleShape[1]);
  int64_t n = 1;
  for (int64_t dim : q.amaxShape)
    n *= dim;
  q.amax.assign(amax, amax + n);
  return q;
}

/// The C form of describeOutputs: `present[d]` per direction d, and for
/// buffer k of direction d its rank `ndims[d*3+k]` and shape
/// `shapes[(d*3+k)*2 ...]`; the recipe's outer group and E4M3 bound.
int writeShapes(const char *recipe, int64_t rows, int64_t cols,
                std::optional<int64_t> groups, int present[2],
                int64_t shapes[12], int ndims[6], int *outer, int *e4m3_max,
                char *error, size_t error_size) {
  if (!present || !shapes || !ndims || !outer || !e4m3_max)
    return fail(error, error_size, "null output array");
  auto parsed = parse(recipe);
  if (!parsed)
    return fail(error, error_size, parsed.takeError());
  auto result = nvfp4::describeOutputs(*parsed, rows, cols, groups);
  if (!result)
    return fail(error, error_size, result.takeError());
  std::memset(shapes, 0, 12 * sizeof(int64_t));
  std::memset(ndims, 0, 6 * sizeof(int));
  int d = 0;
  for (const std::optional<nvfp4::QuantizedOutput> *o :
       {&result->rowwise, &result->columnwise}) {
    present[d] = o->has_value();
    if (*o) {
      llvm::SmallVector<int64_t, 2> dims[3] = {
          {(*o)->rows, (*o)->cols / 2}, (*o)->scaleShape, (*o)->amaxShape};
      for (int k = 0; k < 3; ++k) {
        ndims[d * 3 + k] = int(dims[k].size());
        for (size_t i = 0; i < dims[k].size() && i < 2; ++i)
          shapes[(d * 3 + k) * 2 + i] = dims[k][i];
      }
    }
    ++d;
  }
  *outer = int(parsed->getOuter());
  *e4m3_max = int(parsed->getE4m3Max());
  return 0;
}

/// The output directions of a device quantization from the C buffer array
/// (data, scale, amax rowwise then columnwise; a direction whose three
/// addresses are 0 is absent).
nvfp4::DeviceOutputs deviceOutputs(const uint64_t buffers[6]) {
  nvfp4::DeviceOutputs outputs;
  if (buffers[0] || buffers[1] || buffers[2])
    outputs.rowwise = nvfp4::DeviceQuantized{buffers[0], buffers[1], buffers[2]};
  if (buffers[3] || buffers[4] || buffers[5])
    outputs.columnwise =
        nvfp4::DeviceQuantized{buffers[3], buffers[4], buffers[5]};
  return outputs;
}

/// The options of a device GEMM from its C arguments.
llvm::Expected<nvfp4::DeviceMatmulOptions>
deviceMatmulOptions(uint64_t bias, float alpha, int outDtype) {
  nvfp4::ElementType out;
  if (!toType(outDtype, out))
    return llvm::createStringError("unknown output dtype " +
                                   std::to_string(outDtype));
  nvfp4::DeviceMatmulOptions options;
  options.alpha = alpha;
  options.bias = bias;
  options.out = out;
  return options;
}

llvm::Expected<nvfp4::Stream> streamOf(int device, void *stream) {
  auto dev = nvfp4::Device::shared(device);
  if (!dev)
    return dev.takeError();
  return (*dev)->wrapStream(stream);
}

/// The checked C arguments every device quantization takes: the input's
/// element type and the stream.
struct QuantizeCall {
  nvfp4::ElementType type;
  nvfp4::Stream stream;
};
llvm::Expected<QuantizeCall> quantizeCall(int device, const char *recipe,
                                          int dtype, const uint64_t *buffers,
                                          void *stream) {
  nvfp4::ElementType type;
  if (!toType(dtype, type))
    return llvm::createStringError("unknown dtype " + std::to_string(dtype));
  if (!recipe || !buffers)
    return llvm::createStringError("null recipe or buffers");
  auto s = streamOf(device, stream);
  if (!s)
    return s.takeError();
  return QuantizeCall{type, std::move(*s)};
}

/// The checked C arguments every device GEMM takes: its options and the
/// stream.
struct MatmulCall {
  nvfp4::DeviceMatmulOptions options;
  nvfp4::Stream stream;
};
llvm::Expected<MatmulCall> matmulCall(int device, const char *aRecipe,
                                      const char *bRecipe, const uint64_t *a,
                                      const uint64_t *b, uint64_t bias,
                                      float alpha, int outDtype,
                                      void *stream) {
  if (!aRecipe || !bRecipe || !a || !b)
    return llvm::createStringError("null recipe or operand");
  auto options = deviceMatmulOptions(bias, alpha, outDtype);
  if (!options)
    return options.takeError();
  auto s = streamOf(device, stream);
  if (!s)
    return s.takeError();
  return MatmulCall{*options, std::move(*s)};
}
} // namespace

extern "C" {

int nvfp4_recipe_canonical(const char *recipe, char *out, size_t out_size,
                           char *error, size_t error_size) {
  auto parsed = parse(recipe);
  if (!parsed)
    return fail(error, error_size, parsed.takeError());
  std::string text;
  llvm::raw_string_ostream os(text);
  mlir::Attribute(*parsed).print(os);
  return copyOut(text, out, out_size, error, error_size);
}

int nvfp4_quantize_shapes(const char *recipe, int64_t rows, int64_t cols,
                          int present[2], int64_t shapes[12], int ndims[6],
                          int *outer, int *e4m3_max, char *error,
                          size_t error_size) {
  return writeShapes(recipe, rows, cols, std::nullopt, present, shapes, ndims,
                     outer, e4m3_max, error, error_size);
}

int nvfp4_grouped_quantize_shapes(const char *recipe, int64_t rows,
                                  int64_t cols, int64_t groups, int present[2],
                                  int64_t shapes[12], int ndims[6], int *outer,
                                  int *e4m3_max, char *error,
                                  size_t error_size) {
  if (groups < 1)
    return fail(error, error_size,
                "expected at least one group, got " + std::to_string(groups));
  return writeShapes(recipe, rows, cols, groups, present, shapes, ndims, outer,
                     e4m3_max, error, error_size);
}

int nvfp4_dequantize_shapes(const char *recipe, int64_t rows, int64_t cols,
                            int64_t shape[4], int *amax_ndim, char *error,
                            size_t error_size) {
  auto parsed = parse(recipe);
  if (!parsed)
    return fail(error, error_size, parsed.takeError());
  if (rows < 1 || cols < 1 || cols % 16 != 0)
    return fail(error, error_size,
                "expected a non-empty matrix whose quantized dimension is a "
                "multiple of 16, got " +
                    std::to_string(rows) + "x" + std::to_string(cols));
  auto scale = scaleShape(parsed->getSfLayout(), rows, cols);
  auto amax = amaxShape(*parsed, rows, cols);
  std::memset(shape, 0, 4 * sizeof(int64_t));
  shape[0] = scale[0];
  shape[1] = scale[1];
  for (size_t i = 0; i < amax.size() && i < 2; ++i)
    shape[2 + i] = amax[i];
  *amax_ndim = int(amax.size());
  return 0;
}

int nvfp4_dequantize_host(const char *recipe, const void *data,
                          const void *scale, const float *amax, int64_t rows,
                          int64_t cols, float *output, char *error,
                          size_t error_size) {
  if (!output)
    return fail(error, error_size, "null buffer");
  auto q = hostOperand(recipe, data, scale, amax, rows, cols);
  if (!q)
    return fail(error, error_size, q.takeError());
  auto result = nvfp4::dequantize(recipe, *q);
  if (!result)
    return fail(error, error_size, result.takeError());
  std::memcpy(output, result->data(), result->size() * sizeof(float));
  return 0;
}

int nvfp4_device_target(int device, char *out, size_t out_size, char *error,
                        size_t error_size) {
  auto dev = nvfp4::Device::shared(device);
  if (!dev)
    return fail(error, error_size, dev.takeError());
  auto target = (*dev)->target();
  if (!target)
    return fail(error, error_size, target.takeError());
  return copyOut(*target, out, out_size, error, error_size);
}

int nvfp4_quantize_device(int device, const char *recipe, int dtype,
                          uint64_t input, int64_t rows, int64_t cols,
                          const uint64_t buffers[6], void *stream,
                          char *error, size_t error_size) {
  auto call = quantizeCall(device, recipe, dtype, buffers, stream);
  if (!call)
    return fail(error, error_size, call.takeError());
  if (llvm::Error e = nvfp4::quantize(call->stream, recipe, call->type, input,
                                      rows, cols, deviceOutputs(buffers)))
    return fail(error, error_size, std::move(e));
  return 0;
}

int nvfp4_grouped_quantize_device(int device, const char *recipe, int dtype,
                                  uint64_t input, int64_t rows, int64_t cols,
                                  uint64_t splits, int64_t groups,
                                  const uint64_t buffers[6], void *stream,
                                  char *error, size_t error_size) {
  auto call = quantizeCall(device, recipe, dtype, buffers, stream);
  if (!call)
    return fail(error, error_size, call.takeError());
  if (llvm::Error e = nvfp4::groupedQuantize(call->stream, recipe, call->type,
                                             input, rows, cols, splits, groups,
                                             deviceOutputs(buffers)))
    return fail(error, error_size, std::move(e));
  return 0;
}

int nvfp4_matmul_device(int device, const char *a_recipe, const uint64_t a[3],
                        int64_t m, const char *b_recipe, const uint64_t b[3],
                        int64_t n, int64_t k, uint64_t bias, float alpha,
                        int out_dtype, uint64_t output, void *stream,
                        char *error, size_t error_size) {
  auto call = matmulCall(device, a_recipe, b_recipe, a, b, bias, alpha,
                         out_dtype, stream);
  if (!call)
    return fail(error, error_size, call.takeError());
  if (llvm::Error e = nvfp4::matmul(
          call->stream, a_recipe, nvfp4::DeviceQuantized{a[0], a[1], a[2]}, m,
          b_recipe, nvfp4::DeviceQuantized{b[0], b[1], b[2]}, n, k,
          call->options, output))
    return fail(error, error_size, std::move(e));
  return 0;
}

int nvfp4_grouped_matmul_device(int device, const char *a_recipe,
                                const uint64_t a[3], int64_t m,
                                uint64_t splits, int64_t groups,
                                const char *b_recipe, const uint64_t b[3],
                                int64_t n, int64_t k, uint64_t bias,
                                float alpha, int out_dtype, uint64_t output,
                                void *stream, char *error, size_t error_size) {
  auto call = matmulCall(device, a_recipe, b_recipe, a, b, bias, alpha,
                         out_dtype, stream);
  if (!call)
    return fail(error, error_size, call.takeError());
  if (llvm::Error e = nvfp4::groupedMatmul(
          call->stream, a_recipe, nvfp4::DeviceQuantized{a[0], a[1], a[2]}, m,
          splits, groups, b_recipe, nvfp4::DeviceQuantized{b[0], b[1], b[2]},
          n, k, call->options, output))
    return fail(error, error_size, std::move(e));
  return 0;
}

int nvfp4_dequantize_device(int device, const char *recipe, uint64_t data,
                            uint64_t scale, uint64_t amax, int64_t rows,
                            int64_t cols, uint64_t output, void *stream,
                            char *error, size_t error_size) {
  if (!recipe)
    return fail(error, error_size, "null recipe");
  auto s = streamOf(device, stream);
  if (!s)
    return fail(error, error_size, s.takeError());
  if (llvm::Error e = nvfp4::dequantize(
          *s, recipe, nvfp4::DeviceQuantized{data, scale, amax}, rows, cols,
          output))
    return fail(error, error_size, std::move(e));
  return 0;
}

nvfp4_kernel *nvfp4_compile(const char *target, const char *recipe, int dtype,
                            int op, char *error, size_t error_size) {
  nvfp4::ElementType type;
  if (!toType(dtype, type)) {
    fail(error, error_size, "unknown dtype " + std::to_string(dtype));
    return nullptr;
  }
  if (op != NVFP4_QUANTIZE && op != NVFP4_DEQUANTIZE) {
    fail(error, error_size, "unknown operation " + std::to_string(op));
    return nullptr;
  }
  if (!target || !recipe) {
    fail(error, error_size, "null target or recipe");
    return nullptr;
  }
  auto compiler = nvfp4::Compiler::shared(target);
  if (!compiler) {
    fail(error, error_size, compiler.takeError());
    return nullptr;
  }
  auto compiled = (*compiler)->compile(
      recipe, type,
      op == NVFP4_QUANTIZE ? nvfp4::Operation::Quantize
                           : nvfp4::Operation::Dequantize);
  if (!compiled) {
    fail(error, error_size, compiled.takeError());
    return nullptr;
  }
  return new nvfp4_kernel{std::move(*compiled)};
}

int nvfp4_kernel_count(const nvfp4_kernel *kernel) {
  return kernel && kernel->compiled.code
             ? int(kernel->compiled.code->kernels.size())
             : 0;
}

const char *nvfp4_kernel_name(const nvfp4_kernel *kernel, int i) {
  if (i < 0 || i >= nvfp4_kernel_count(kernel))
    return nullptr;
  return kernel->compiled.code->kernels[i].name.c_str();
}

const void *nvfp4_kernel_image(const nvfp4_kernel *kernel, size_t *size) {
  if (!kernel || !kernel->compiled.code) {
    if (size)
      *size = 0;
    return nullptr;
  }
  if (size)
    *size = kernel->compiled.code->image.size();
  return kernel->compiled.code->image.data();
}

int nvfp4_kernel_source(const nvfp4_kernel *kernel) {
  return kernel ? int(kernel->compiled.source) : -1;
}

void nvfp4_kernel_destroy(nvfp4_kernel *kernel) { delete kernel; }

int nvfp4_matmul_host(const char *target, const char *a_recipe,
                      const void *a_data, const void *a_scale,
                      const float *a_amax, int64_t m, const char *b_recipe,
                      const void *b_data, const void *b_scale,
                      const float *b_amax, int64_t n, int64_t k,
                      const float *bias, float alpha, int out_dtype,
                      void *output, char *error, size_t error_size) {
  if (!target || !output)
    return fail(error, error_size, "null target or output");
  if (out_dtype < NVFP4_F32 || out_dtype > NVFP4_BF16)
    return fail(error, error_size,
                "unknown output dtype " + std::to_string(out_dtype));
  auto a = hostOperand(a_recipe, a_data, a_scale, a_amax, m, k);
  if (!a)
    return fail(error, error_size, a.takeError());
  auto b = hostOperand(b_recipe, b_data, b_scale, b_amax, n, k);
  if (!b)
    return fail(error, error_size, b.takeError());
  nvfp4::MatmulOptions options;
  options.alpha = alpha;
  options.out = nvfp4::ElementType(out_dtype);
  if (bias)
    options.bias.emplace(bias, bias + n);
  auto d = nvfp4::matmul(a_recipe, *a, b_recipe, *b, options, target);
  if (!d)
    return fail(error, error_size, d.takeError());
  std::memcpy(output, d->data(), d->size());
  return 0;
}

} // extern "C"

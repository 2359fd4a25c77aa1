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
#include <optional>
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

/// The sizes a caller passes with the host buffers of one quantized
/// operand: data and scale in bytes, amax in float32 values. The unsized
/// entry points pass none and are trusted to hold what the recipe implies.
struct HostSizes {
  size_t data, scale, amax;
};

/// `a * b`, or nothing when it overflows.
std::optional<uint64_t> checkedMul(uint64_t a, uint64_t b) {
  uint64_t r;
  if (__builtin_mul_overflow(a, b, &r))
    return std::nullopt;
  return r;
}

std::string shapeText(llvm::ArrayRef<int64_t> shape) {
  std::string s;
  for (int64_t d : shape)
    s += (s.empty() ? "" : "x") + std::to_string(d);
  return s;
}

/// Fails unless a buffer holds exactly what is read from it (a mismatch in
/// either direction means another recipe or shape: never read past it).
llvm::Error checkSize(llvm::StringRef operand, llvm::StringRef buffer,
                      uint64_t given, std::optional<uint64_t> needed,
                      llvm::StringRef unit, llvm::StringRef shape) {
  if (needed && given == *needed)
    return llvm::Error::success();
  return llvm::createStringError(
      operand + ": expected the " + buffer + " buffer to hold " +
      (needed ? std::to_string(*needed) : std::string("more than 2^64")) +
      " " + unit + " (" + shape + "), got " + std::to_string(given));
}

/// One quantized direction on the host, shaped as `recipe` says for a rows
/// x cols matrix: the buffers are copied. With `sizes`, each buffer's size
/// is checked against that shape before anything is read.
llvm::Expected<nvfp4::QuantizedOutput>
hostOperand(const char *recipe, const void *data, const void *scale,
            const float *amax, int64_t rows, int64_t cols,
            const HostSizes *sizes = nullptr,
            llvm::StringRef operand = "operand") {
  if (!data || !scale || !amax)
    return llvm::createStringError(operand + ": null buffer");
  auto parsed = parse(recipe);
  if (!parsed)
    return parsed.takeError();
  // The bound keeps the shape formulas (which round rows and columns up to
  // their tiles) inside int64.
  if (rows < 1 || cols < 1 || cols % 16 != 0 || rows > (int64_t(1) << 62) ||
      cols > (int64_t(1) << 62))
    return llvm::createStringError(
        operand +
        ": expected a non-empty matrix whose quantized dimension is a "
        "multiple of 16, got " +
        std::to_string(rows) + "x" + std::to_string(cols));
  nvfp4::QuantizedOutput q;
  q.rows = rows;
  q.cols = cols;
  q.scaleShape = scaleShape(parsed->getSfLayout(), rows, cols);
  q.amaxShape = amaxShape(*parsed, rows, cols);
  std::optional<uint64_t> dataBytes = checkedMul(rows, cols / 2);
  std::optional<uint64_t> scaleBytes =
      checkedMul(q.scaleShape[0], q.scaleShape[1]);
  std::optional<uint64_t> amaxCount = 1;
  for (int64_t dim : q.amaxShape)
    amaxCount = amaxCount ? checkedMul(*amaxCount, dim) : std::nullopt;
  if (sizes) {
    std::string matrix = " for a " + std::to_string(rows) + "x" +
                         std::to_string(cols) + " matrix";
    if (llvm::Error e =
            checkSize(operand, "data", sizes->data, dataBytes, "bytes",
                      shapeText({rows, cols / 2}) + " nibble pairs" + matrix))
      return std::move(e);
    if (llvm::Error e =
            checkSize(operand, "scale", sizes->scale, scaleBytes, "bytes",
                      shapeText(q.scaleShape) + " scales" + matrix))
      return std::move(e);
    if (llvm::Error e =
            checkSize(operand, "amax", sizes->amax, amaxCount, "float32 values",
                      shapeText(q.amaxShape) + " amaxes" + matrix))
      return std::move(e);
  }
  if (!dataBytes || !scaleBytes || !amaxCount)
    return llvm::createStringError(operand + ": a " + std::to_string(rows) +
                                   "x" + std::to_string(cols) +
                                   " matrix is too large");
  auto bytes = static_cast<const uint8_t *>(data);
  q.data.assign(bytes, bytes + *dataBytes);
  auto scales = static_cast<const uint8_t *>(scale);
  q.scale.assign(scales, scales + *scaleBytes);
  q.amax.assign(amax, amax + *amaxCount);
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
/// The element type and stream of a device producer alone.
llvm::Expected<QuantizeCall> producerCall(int device, int dtype,
                                          void *stream) {
  nvfp4::ElementType type;
  if (!toType(dtype, type))
    return llvm::createStringError("unknown dtype " + std::to_string(dtype));
  auto s = streamOf(device, stream);
  if (!s)
    return s.takeError();
  return QuantizeCall{type, std::move(*s)};
}

llvm::Expected<QuantizeCall> quantizeCall(int device, const char *recipe,
                                          int dtype, const uint64_t *buffers,
                                          void *stream) {
  if (!recipe || !buffers)
    return llvm::createStringError("null recipe or buffers");
  return producerCall(device, dtype, stream);
}

/// The C activation code as the dialect's enum.
llvm::Expected<GatedActivation> toActivation(int act) {
  if (auto parsed = symbolizeGatedActivation(uint32_t(act)); act >= 0 && parsed)
    return *parsed;
  return llvm::createStringError("unknown activation " + std::to_string(act) +
                                 " (expected NVFP4_SILU or NVFP4_GELU_TANH)");
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
/// nvfp4_dequantize_host(_sized): `sizes` (and `outputCount`) are checked
/// when given.
int dequantizeHost(const char *recipe, const void *data, const void *scale,
                   const float *amax, int64_t rows, int64_t cols, float *output,
                   const HostSizes *sizes, size_t outputCount, char *error,
                   size_t errorSize) {
  if (!output)
    return fail(error, errorSize, "null buffer");
  auto q = hostOperand(recipe, data, scale, amax, rows, cols, sizes, "input");
  if (!q)
    return fail(error, errorSize, q.takeError());
  if (sizes) {
    if (llvm::Error e = checkSize("output", "output", outputCount,
                                  checkedMul(rows, cols), "float32 values",
                                  shapeText({rows, cols})))
      return fail(error, errorSize, std::move(e));
  }
  auto result = nvfp4::dequantize(recipe, *q);
  if (!result)
    return fail(error, errorSize, result.takeError());
  std::memcpy(output, result->data(), result->size() * sizeof(float));
  return 0;
}

/// A host GEMM's bias count (n values, when there is a bias) and output
/// bytes (m x n values of `outDtype`, a checked output dtype).
llvm::Error checkBiasAndOutput(int64_t m, int64_t n, const float *bias,
                               size_t biasCount, int outDtype,
                               size_t outputSize) {
  if (bias)
    if (llvm::Error e = checkSize("bias", "bias", biasCount, uint64_t(n),
                                  "float32 values", shapeText({n})))
      return e;
  uint64_t width = outDtype == NVFP4_F32 ? 4 : 2;
  auto needed = checkedMul(m, n);
  return checkSize("output", "output", outputSize,
                   needed ? checkedMul(*needed, width) : std::nullopt, "bytes",
                   shapeText({m, n}) + " values of " + std::to_string(width) +
                       " bytes");
}

/// The options of a host GEMM from its C arguments (`outDtype` checked).
nvfp4::MatmulOptions hostMatmulOptions(int64_t n, const float *bias,
                                       float alpha, int outDtype) {
  nvfp4::MatmulOptions options;
  options.alpha = alpha;
  options.out = nvfp4::ElementType(outDtype);
  if (bias)
    options.bias.emplace(bias, bias + n);
  return options;
}

/// nvfp4_matmul_host(_sized): the operands' sizes, the bias count and the
/// output's bytes are checked when `aSizes` and `bSizes` are given.
int matmulHost(const char *target, const char *aRecipe, const void *aData,
               const void *aScale, const float *aAmax, const HostSizes *aSizes,
               int64_t m, const char *bRecipe, const void *bData,
               const void *bScale, const float *bAmax, const HostSizes *bSizes,
               int64_t n, int64_t k, const float *bias, size_t biasCount,
               float alpha, int outDtype, void *output, size_t outputSize,
               char *error, size_t errorSize) {
  if (!target || !output)
    return fail(error, errorSize, "null target or output");
  if (outDtype < NVFP4_F32 || outDtype > NVFP4_BF16)
    return fail(error, errorSize,
                "unknown output dtype " + std::to_string(outDtype));
  auto a = hostOperand(aRecipe, aData, aScale, aAmax, m, k, aSizes, "a");
  if (!a)
    return fail(error, errorSize, a.takeError());
  auto b = hostOperand(bRecipe, bData, bScale, bAmax, n, k, bSizes, "b");
  if (!b)
    return fail(error, errorSize, b.takeError());
  if (aSizes && bSizes)
    if (llvm::Error e =
            checkBiasAndOutput(m, n, bias, biasCount, outDtype, outputSize))
      return fail(error, errorSize, std::move(e));
  auto d = nvfp4::matmul(aRecipe, *a, bRecipe, *b,
                         hostMatmulOptions(n, bias, alpha, outDtype), target);
  if (!d)
    return fail(error, errorSize, d.takeError());
  std::memcpy(output, d->data(), d->size());
  return 0;
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
  return dequantizeHost(recipe, data, scale, amax, rows, cols, output,
                        nullptr, 0, error, error_size);
}

int nvfp4_dequantize_host_sized(const char *recipe, const void *data,
                                size_t data_size, const void *scale,
                                size_t scale_size, const float *amax,
                                size_t amax_count, int64_t rows, int64_t cols,
                                float *output, size_t output_count,
                                char *error, size_t error_size) {
  HostSizes sizes{data_size, scale_size, amax_count};
  return dequantizeHost(recipe, data, scale, amax, rows, cols, output, &sizes,
                        output_count, error, error_size);
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

int nvfp4_amax_device(int device, const char *recipe, int dtype,
                      uint64_t input, int64_t rows, int64_t cols,
                      const uint64_t amax[2], void *stream, char *error,
                      size_t error_size) {
  auto call = quantizeCall(device, recipe, dtype, amax, stream);
  if (!call)
    return fail(error, error_size, call.takeError());
  if (llvm::Error e = nvfp4::amax(call->stream, recipe, call->type, input,
                                  rows, cols, amax[0], amax[1]))
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
  return matmulHost(target, a_recipe, a_data, a_scale, a_amax, nullptr, m,
                    b_recipe, b_data, b_scale, b_amax, nullptr, n, k, bias, 0,
                    alpha, out_dtype, output, 0, error, error_size);
}

int nvfp4_matmul_host_sized(
    const char *target, const char *a_recipe, const void *a_data,
    size_t a_data_size, const void *a_scale, size_t a_scale_size,
    const float *a_amax, size_t a_amax_count, int64_t m, const char *b_recipe,
    const void *b_data, size_t b_data_size, const void *b_scale,
    size_t b_scale_size, const float *b_amax, size_t b_amax_count, int64_t n,
    int64_t k, const float *bias, size_t bias_count, float alpha,
    int out_dtype, void *output, size_t output_size, char *error,
    size_t error_size) {
  HostSizes aSizes{a_data_size, a_scale_size, a_amax_count};
  HostSizes bSizes{b_data_size, b_scale_size, b_amax_count};
  return matmulHost(target, a_recipe, a_data, a_scale, a_amax, &aSizes, m,
                    b_recipe, b_data, b_scale, b_amax, &bSizes, n, k, bias,
                    bias_count, alpha, out_dtype, output, output_size, error,
                    error_size);
}

int nvfp4_matmul_w4a16_host_sized(
    const char *target, int a_dtype, const void *a, size_t a_size, int64_t m,
    const char *b_recipe, const void *b_data, size_t b_data_size,
    const void *b_scale, size_t b_scale_size, const float *b_amax,
    size_t b_amax_count, int64_t n, int64_t k, const float *bias,
    size_t bias_count, float alpha, int out_dtype, void *output,
    size_t output_size, char *error, size_t error_size) {
  if (!target || !output || !a)
    return fail(error, error_size, "null target, A or output");
  nvfp4::ElementType aType;
  if (!toType(a_dtype, aType) || aType == nvfp4::ElementType::F32)
    return fail(error, error_size,
                "expected a W4A16 A of bf16 or f16, got dtype " +
                    std::to_string(a_dtype));
  if (out_dtype < NVFP4_F32 || out_dtype > NVFP4_BF16)
    return fail(error, error_size,
                "unknown output dtype " + std::to_string(out_dtype));
  // m and k are checked (positive, bounded) before the product is formed.
  if (llvm::Error e = nvfp4::checkMatmulW4A16A(aType, m, k))
    return fail(error, error_size, std::move(e));
  if (llvm::Error e = checkSize("a", "data", a_size, uint64_t(m * k) * 2,
                                "bytes", shapeText({m, k}) + " values of 2 bytes"))
    return fail(error, error_size, std::move(e));
  HostSizes bSizes{b_data_size, b_scale_size, b_amax_count};
  auto b = hostOperand(b_recipe, b_data, b_scale, b_amax, n, k, &bSizes, "b");
  if (!b)
    return fail(error, error_size, b.takeError());
  if (llvm::Error e =
          checkBiasAndOutput(m, n, bias, bias_count, out_dtype, output_size))
    return fail(error, error_size, std::move(e));
  auto d = nvfp4::matmulW4A16(aType, a, m, k, b_recipe, *b,
                              hostMatmulOptions(n, bias, alpha, out_dtype),
                              target);
  if (!d)
    return fail(error, error_size, d.takeError());
  std::memcpy(output, d->data(), d->size());
  return 0;
}

int nvfp4_matmul_w4a16_device(int device, int a_dtype, uint64_t a, int64_t m,
                              const char *b_recipe, const uint64_t b[3],
                              int64_t n, int64_t k, uint64_t bias, float alpha,
                              int out_dtype, uint64_t output, void *stream,
                              char *error, size_t error_size) {
  if (!b_recipe || !b)
    return fail(error, error_size, "null recipe or operand");
  nvfp4::ElementType aType;
  if (!toType(a_dtype, aType))
    return fail(error, error_size,
                "unknown A dtype " + std::to_string(a_dtype));
  auto options = deviceMatmulOptions(bias, alpha, out_dtype);
  if (!options)
    return fail(error, error_size, options.takeError());
  auto s = streamOf(device, stream);
  if (!s)
    return fail(error, error_size, s.takeError());
  if (llvm::Error e = nvfp4::matmul(*s, aType, a, m, b_recipe,
                                    nvfp4::DeviceQuantized{b[0], b[1], b[2]},
                                    n, k, *options, output))
    return fail(error, error_size, std::move(e));
  return 0;
}

int nvfp4_rms_norm_quantize_device(int device, const char *recipe, int dtype,
                                   uint64_t input, uint64_t weight,
                                   uint64_t residual, float eps, int64_t rows,
                                   int64_t cols, uint64_t rstd, uint64_t y,
                                   const uint64_t buffers[6], void *stream,
                                   char *error, size_t error_size) {
  auto call = quantizeCall(device, recipe, dtype, buffers, stream);
  if (!call)
    return fail(error, error_size, call.takeError());
  if (llvm::Error e = nvfp4::rmsNormQuantize(
          call->stream, recipe, call->type, input, weight, residual, eps, rows,
          cols, rstd, y, deviceOutputs(buffers)))
    return fail(error, error_size, std::move(e));
  return 0;
}

int nvfp4_gated_act_quantize_device(int device, const char *recipe, int dtype,
                                    int act, uint64_t input, int64_t rows,
                                    int64_t cols, uint64_t y,
                                    const uint64_t buffers[6], void *stream,
                                    char *error, size_t error_size) {
  auto activation = toActivation(act);
  if (!activation)
    return fail(error, error_size, activation.takeError());
  auto call = quantizeCall(device, recipe, dtype, buffers, stream);
  if (!call)
    return fail(error, error_size, call.takeError());
  if (llvm::Error e = nvfp4::gatedActQuantize(call->stream, recipe, call->type,
                                              *activation, input, rows, cols,
                                              y, deviceOutputs(buffers)))
    return fail(error, error_size, std::move(e));
  return 0;
}

int nvfp4_rms_norm_device(int device, int dtype, uint64_t input,
                          uint64_t weight, uint64_t residual, float eps,
                          int64_t rows, int64_t cols, uint64_t y,
                          uint64_t rstd, void *stream, char *error,
                          size_t error_size) {
  auto call = producerCall(device, dtype, stream);
  if (!call)
    return fail(error, error_size, call.takeError());
  if (llvm::Error e = nvfp4::rmsNorm(call->stream, call->type, input, weight,
                                     residual, eps, rows, cols, y, rstd))
    return fail(error, error_size, std::move(e));
  return 0;
}

int nvfp4_gated_act_device(int device, int dtype, int act, uint64_t input,
                           int64_t rows, int64_t cols, uint64_t y,
                           void *stream, char *error, size_t error_size) {
  auto activation = toActivation(act);
  if (!activation)
    return fail(error, error_size, activation.takeError());
  auto call = producerCall(device, dtype, stream);
  if (!call)
    return fail(error, error_size, call.takeError());
  if (llvm::Error e = nvfp4::gatedAct(call->stream, call->type, *activation,
                                      input, rows, cols, y))
    return fail(error, error_size, std::move(e));
  return 0;
}

} // extern "C"

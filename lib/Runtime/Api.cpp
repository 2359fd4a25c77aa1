//===- Api.cpp - quantize / dequantize in one call ------------------------===//

#include "nvfp4/Runtime/Api.h"
#include "Errors.h"

#include "nvfp4/Dialect/NVFP4/IR/NVFP4Shapes.h"

using namespace llvm;
using namespace mlir::nvfp4;

namespace nvfp4 {
namespace {
using ::nvfp4::detail::makeError;

/// The shared compiler of `stream`'s device.
Expected<Compiler *> compilerOf(Stream &stream) {
  auto target = stream.device().target();
  if (!target)
    return target.takeError();
  return Compiler::shared(*target);
}

/// The shared compiler of `stream`'s device and the recipe parsed in it.
Expected<std::pair<Compiler *, RecipeAttr>> compilerFor(Stream &stream,
                                                        StringRef recipe) {
  auto compiler = compilerOf(stream);
  if (!compiler)
    return compiler.takeError();
  auto parsed = (*compiler)->parseRecipe(recipe);
  if (!parsed)
    return parsed.takeError();
  return std::make_pair(*compiler, *parsed);
}
} // namespace

Expected<QuantizeResult> quantizeShapes(StringRef recipe, int64_t rows,
                                        int64_t cols) {
  auto compiler = Compiler::shared("cpu");
  if (!compiler)
    return compiler.takeError();
  auto parsed = (*compiler)->parseRecipe(recipe);
  if (!parsed)
    return parsed.takeError();
  return describeOutputs(*parsed, rows, cols);
}

namespace {
/// The device buffers of a quantization in operand order (input, then data,
/// scale and amax per direction `shapes` has), checked against `outputs`:
/// the directions must match, no address may be null, and every address
/// must meet the kernels' alignment (docs/Rationale.md, alignment
/// contract: one vector load per 16-element block, one store per block's
/// 8 data bytes).
Expected<SmallVector<CUdeviceptr, 7>>
quantizeBuffers(const QuantizeResult &shapes, const DeviceOutputs &outputs,
                ElementType type, CUdeviceptr input) {
  SmallVector<CUdeviceptr, 7> buffers{input};
  for (auto [name, want, have] :
       {std::make_tuple("rowwise", shapes.rowwise.has_value(),
                        &outputs.rowwise),
        std::make_tuple("columnwise", shapes.columnwise.has_value(),
                        &outputs.columnwise)}) {
    if (want != have->has_value())
      return makeError(Twine("the recipe ") +
                       (want ? "produces" : "does not produce") + " a " + name +
                       " output but " + (want ? "none was" : "one was") +
                       " given");
    if (want)
      buffers.append({(*have)->data, (*have)->scale, (*have)->amax});
  }
  for (CUdeviceptr p : buffers)
    if (!p)
      return makeError("null device buffer");
  uint64_t elementBytes = elementSize(type);
  if (input % (16 * elementBytes) != 0)
    return makeError("the device input at 0x" + Twine::utohexstr(input) +
                     " is not aligned to 16 elements (" +
                     Twine(16 * elementBytes) + " bytes)");
  for (size_t i = 1; i < buffers.size(); ++i) {
    uint64_t align = i % 3 == 1 ? 8 : i % 3 == 0 ? 4 : 1;
    if (buffers[i] % align != 0)
      return makeError("the device " + StringRef(i % 3 == 1 ? "data" : "amax") +
                       " output at 0x" + Twine::utohexstr(buffers[i]) +
                       " is not aligned to " + Twine(align) + " bytes");
  }
  return buffers;
}

/// Checks that device address `p` of `what` is set and aligned to `align`
/// bytes (the widest access the GEMM kernels make to it).
Error checkDevicePointer(StringRef what, CUdeviceptr p, uint64_t align) {
  if (!p)
    return makeError("null device buffer for " + what);
  if (p % align != 0)
    return makeError("the device " + what + " at 0x" + Twine::utohexstr(p) +
                     " is not aligned to " + Twine(align) + " bytes");
  return Error::success();
}

/// A GEMM's device buffers in operand order ([splits], a, b, [bias],
/// output), each checked: data is read 8 bytes at a time, scales as
/// 4-byte words, amaxes and the bias as floats; the output is written an
/// element at a time. A W4A16 GEMM passes its bf16/f16 A as `a16` (read 16
/// bytes at a time) instead of the quantized `a`.
Expected<SmallVector<CUdeviceptr, 9>>
matmulBuffers(std::optional<CUdeviceptr> splits, const DeviceQuantized *a,
              const DeviceQuantized &b, const DeviceMatmulOptions &options,
              CUdeviceptr output, CUdeviceptr a16 = 0) {
  SmallVector<CUdeviceptr, 9> buffers;
  if (splits) {
    if (Error e = checkDevicePointer("splits", *splits, 8))
      return std::move(e);
    buffers.push_back(*splits);
  }
  if (!a) {
    if (Error e = checkDevicePointer("A", a16, 16))
      return std::move(e);
    buffers.push_back(a16);
  }
  for (auto [name, q] : {std::make_pair("A", a), std::make_pair("B", &b)}) {
    if (!q)
      continue;
    if (Error e =
            checkDevicePointer(Twine(name).concat(" data").str(), q->data, 8))
      return std::move(e);
    if (Error e =
            checkDevicePointer(Twine(name).concat(" scale").str(), q->scale, 4))
      return std::move(e);
    if (Error e =
            checkDevicePointer(Twine(name).concat(" amax").str(), q->amax, 4))
      return std::move(e);
    buffers.append({q->data, q->scale, q->amax});
  }
  if (options.bias) {
    if (Error e = checkDevicePointer("bias", options.bias, 4))
      return std::move(e);
    buffers.push_back(options.bias);
  }
  if (Error e = checkDevicePointer("output", output, elementSize(options.out)))
    return std::move(e);
  buffers.push_back(output);
  return buffers;
}

/// Checks a GEMM output type (it may come from a C caller).
Error checkOutputType(ElementType out) {
  if (out != ElementType::F32 && out != ElementType::F16 &&
      out != ElementType::BF16)
    return makeError("unknown GEMM output type " + Twine(int(out)) +
                     " (expected f32, f16 or bf16)");
  return Error::success();
}

/// The compile-time options of a device GEMM: only the presence of a bias
/// shapes the kernel; its values are on the device.
MatmulOptions compileOptionsOf(const DeviceMatmulOptions &options) {
  MatmulOptions compileOptions;
  compileOptions.alpha = options.alpha;
  compileOptions.out = options.out;
  if (options.bias)
    compileOptions.bias.emplace();
  return compileOptions;
}

/// The recipes of a device GEMM on `stream`'s device, parsed, with its
/// options checked (they may come from a C caller).
struct MatmulRecipes {
  Compiler *compiler;
  RecipeAttr a, b;
};
Expected<MatmulRecipes> matmulRecipes(Stream &stream, StringRef aRecipe,
                                      StringRef bRecipe,
                                      const DeviceMatmulOptions &options) {
  auto found = compilerFor(stream, aRecipe);
  if (!found)
    return found.takeError();
  auto b = found->first->parseRecipe(bRecipe);
  if (!b)
    return b.takeError();
  if (Error e = checkOutputType(options.out))
    return std::move(e);
  return MatmulRecipes{found->first, found->second, *b};
}

/// The GEMM of `r` with `options` compiled (or found) and loaded on
/// `stream`'s device.
Expected<Kernel> loadMatmul(Stream &stream, const MatmulRecipes &r,
                            const DeviceMatmulOptions &options, bool grouped) {
  auto compiled =
      r.compiler->compileMatmul(r.a, r.b, compileOptionsOf(options), grouped);
  if (!compiled)
    return compiled.takeError();
  return stream.device().load(*compiled);
}
} // namespace

Error quantize(Stream &stream, StringRef recipe, ElementType type,
               CUdeviceptr input, int64_t rows, int64_t cols,
               const DeviceOutputs &outputs) {
  auto found = compilerFor(stream, recipe);
  if (!found)
    return found.takeError();
  auto [compiler, attr] = *found;
  auto shapes = describeOutputs(attr, rows, cols);
  if (!shapes)
    return shapes.takeError();
  auto buffers = quantizeBuffers(*shapes, outputs, type, input);
  if (!buffers)
    return buffers.takeError();
  auto compiled = compiler->compile(attr, type, Operation::Quantize);
  if (!compiled)
    return compiled.takeError();
  auto kernel = stream.device().load(*compiled);
  if (!kernel)
    return kernel.takeError();
  return kernel->launchQuantize(stream, rows, cols, *shapes, *buffers);
}

namespace {
/// The device addresses of a producer's operands (0: absent).
struct ProducerPointers {
  CUdeviceptr x = 0, weight = 0, residual = 0, rstd = 0, y = 0;
};

/// Every device producer form: checks, then the compilation of `spec`
/// (fused into the quantize with `recipe` when it is set) launched on
/// `stream` over the operands in producerOperands order and `outputs`.
Error launchProducer(Stream &stream, const ProducerSpec &spec,
                     std::optional<StringRef> recipe, ElementType type,
                     int64_t rows, int64_t cols, const ProducerPointers &p,
                     const DeviceOutputs *outputs) {
  auto compiler = compilerOf(stream);
  if (!compiler)
    return compiler.takeError();
  RecipeAttr attr;
  if (recipe) {
    auto parsed = (*compiler)->parseRecipe(*recipe);
    if (!parsed)
      return parsed.takeError();
    attr = *parsed;
  }
  if (Error e = checkProducer(spec, rows, cols, /*gpuRowBound=*/true))
    return e;
  SmallVector<CUdeviceptr, 11> buffers;
  uint64_t valueAlign = 16 * elementSize(type);
  for (const ProducerOperand &operand :
       producerOperands(spec, bool(recipe), rows, cols)) {
    static constexpr const char *names[] = {"input", "weight", "residual",
                                            "rstd", "y"};
    const CUdeviceptr pointers[] = {p.x, p.weight, p.residual, p.rstd, p.y};
    StringRef name = names[operand.role];
    CUdeviceptr ptr = pointers[operand.role];
    if (Error e = checkDevicePointer(name, ptr,
                                     operand.isF32() ? 4 : valueAlign))
      return e;
    buffers.push_back(ptr);
  }
  std::optional<QuantizeResult> shapes;
  if (attr) {
    auto described = describeOutputs(attr, rows, spec.resultCols(cols));
    if (!described)
      return described.takeError();
    shapes = std::move(*described);
    auto quantized = quantizeBuffers(*shapes, *outputs, type, p.x);
    if (!quantized)
      return quantized.takeError();
    buffers.append(quantized->begin() + 1, quantized->end());
  }
  auto compiled = (*compiler)->compileProducer(spec, attr, type);
  if (!compiled)
    return compiled.takeError();
  auto kernel = stream.device().load(*compiled);
  if (!kernel)
    return kernel.takeError();
  return kernel->launchProducer(stream, rows, cols,
                                shapes ? &*shapes : nullptr, buffers);
}

ProducerSpec rmsNormSpec(float eps, bool residual, bool y) {
  ProducerSpec spec;
  spec.eps = eps;
  spec.residual = residual;
  spec.y = y;
  return spec;
}

ProducerSpec gatedActSpec(GatedActivation act, bool y) {
  ProducerSpec spec;
  spec.kind = ProducerKind::GatedAct;
  spec.act = act;
  spec.y = y;
  return spec;
}
} // namespace

Error rmsNormQuantize(Stream &stream, StringRef recipe, ElementType type,
                      CUdeviceptr x, CUdeviceptr weight, CUdeviceptr residual,
                      float eps, int64_t rows, int64_t cols, CUdeviceptr rstd,
                      CUdeviceptr y, const DeviceOutputs &outputs) {
  return launchProducer(stream, rmsNormSpec(eps, residual != 0, y != 0),
                        recipe, type, rows, cols,
                        {x, weight, residual, rstd, y}, &outputs);
}

Error gatedActQuantize(Stream &stream, StringRef recipe, ElementType type,
                       GatedActivation act, CUdeviceptr x, int64_t rows,
                       int64_t cols, CUdeviceptr y,
                       const DeviceOutputs &outputs) {
  return launchProducer(stream, gatedActSpec(act, y != 0), recipe, type, rows,
                        cols, {x, 0, 0, 0, y}, &outputs);
}

Error rmsNorm(Stream &stream, ElementType type, CUdeviceptr x,
              CUdeviceptr weight, CUdeviceptr residual, float eps,
              int64_t rows, int64_t cols, CUdeviceptr y, CUdeviceptr rstd) {
  return launchProducer(stream, rmsNormSpec(eps, residual != 0, false),
                        std::nullopt, type, rows, cols,
                        {x, weight, residual, rstd, y}, nullptr);
}

Error gatedAct(Stream &stream, ElementType type, GatedActivation act,
               CUdeviceptr x, int64_t rows, int64_t cols, CUdeviceptr y) {
  return launchProducer(stream, gatedActSpec(act, false), std::nullopt, type,
                        rows, cols, {x, 0, 0, 0, y}, nullptr);
}

Error amax(Stream &stream, StringRef recipe, ElementType type,
           CUdeviceptr input, int64_t rows, int64_t cols, CUdeviceptr amax,
           CUdeviceptr amaxT) {
  auto found = compilerFor(stream, recipe);
  if (!found)
    return found.takeError();
  auto [compiler, attr] = *found;
  auto shapes = allocateAmaxOutputs(attr, rows, cols);
  if (!shapes)
    return shapes.takeError();
  SmallVector<CUdeviceptr, 3> buffers{input};
  for (auto [name, out, ptr] :
       {std::make_tuple("rowwise", &shapes->rowwise, amax),
        std::make_tuple("columnwise", &shapes->columnwise, amaxT)}) {
    if (bool(*out) != bool(ptr))
      return makeError(Twine("the recipe ") +
                       (*out ? "produces" : "does not produce") + " a " +
                       name + " output but " +
                       (*out ? "no amax buffer was" : "one was") + " given");
    if (ptr)
      buffers.push_back(ptr);
  }
  if (!input)
    return makeError("null device buffer");
  if (input % (16 * elementSize(type)) != 0)
    return makeError("the device input at 0x" + Twine::utohexstr(input) +
                     " is not aligned to 16 elements (" +
                     Twine(16 * elementSize(type)) + " bytes)");
  for (CUdeviceptr p : ArrayRef(buffers).drop_front())
    if (p % 4 != 0)
      return makeError("the device amax output at 0x" + Twine::utohexstr(p) +
                       " is not aligned to 4 bytes");
  auto compiled = compiler->compile(attr, type, Operation::Amax);
  if (!compiled)
    return compiled.takeError();
  auto kernel = stream.device().load(*compiled);
  if (!kernel)
    return kernel.takeError();
  return kernel->launchAmax(stream, rows, cols, *shapes, buffers);
}

Error groupedQuantize(Stream &stream, StringRef recipe, ElementType type,
                      CUdeviceptr input, int64_t rows, int64_t cols,
                      CUdeviceptr splits, int64_t groups,
                      const DeviceOutputs &outputs) {
  auto found = compilerFor(stream, recipe);
  if (!found)
    return found.takeError();
  auto [compiler, attr] = *found;
  if (groups < 1)
    return makeError("expected at least one group, got " + Twine(groups));
  auto shapes = describeOutputs(attr, rows, cols, groups);
  if (!shapes)
    return shapes.takeError();
  auto buffers = quantizeBuffers(*shapes, outputs, type, input);
  if (!buffers)
    return buffers.takeError();
  if (Error e = checkDevicePointer("splits", splits, 8))
    return e;
  buffers->insert(buffers->begin() + 1, splits);
  auto compiled = compiler->compile(attr, type, Operation::GroupedQuantize);
  if (!compiled)
    return compiled.takeError();
  auto kernel = stream.device().load(*compiled);
  if (!kernel)
    return kernel.takeError();
  return kernel->launchQuantizeGrouped(stream, rows, cols, groups, *shapes,
                                       *buffers);
}

Error matmul(Stream &stream, StringRef aRecipe, const DeviceQuantized &a,
             int64_t m, StringRef bRecipe, const DeviceQuantized &b, int64_t n,
             int64_t k, const DeviceMatmulOptions &options,
             CUdeviceptr output) {
  auto recipes = matmulRecipes(stream, aRecipe, bRecipe, options);
  if (!recipes)
    return recipes.takeError();
  auto aShape = matmulOperandShape("A", recipes->a, m, k);
  if (!aShape)
    return aShape.takeError();
  auto bShape = matmulOperandShape("B", recipes->b, n, k);
  if (!bShape)
    return bShape.takeError();
  auto buffers = matmulBuffers(std::nullopt, &a, b, options, output);
  if (!buffers)
    return buffers.takeError();
  auto kernel = loadMatmul(stream, *recipes, options, /*grouped=*/false);
  if (!kernel)
    return kernel.takeError();
  return kernel->launchMatmul(stream, *aShape, *bShape, *buffers);
}

Error matmul(Stream &stream, ElementType aType, CUdeviceptr a, int64_t m,
             StringRef bRecipe, const DeviceQuantized &b, int64_t n, int64_t k,
             const DeviceMatmulOptions &options, CUdeviceptr output) {
  auto found = compilerFor(stream, bRecipe);
  if (!found)
    return found.takeError();
  auto [compiler, b16] = *found;
  if (Error e = checkOutputType(options.out))
    return e;
  if (Error e = checkMatmulW4A16A(aType, m, k))
    return e;
  auto bShape = matmulOperandShape("B", b16, n, k);
  if (!bShape)
    return bShape.takeError();
  auto buffers = matmulBuffers(std::nullopt, nullptr, b, options, output, a);
  if (!buffers)
    return buffers.takeError();
  auto compiled =
      compiler->compileMatmulW4A16(aType, b16, compileOptionsOf(options));
  if (!compiled)
    return compiled.takeError();
  auto kernel = stream.device().load(*compiled);
  if (!kernel)
    return kernel.takeError();
  return kernel->launchMatmulW4A16(stream, m, k, *bShape, *buffers);
}

Error groupedMatmul(Stream &stream, StringRef aRecipe, const DeviceQuantized &a,
                    int64_t m, CUdeviceptr splits, int64_t groups,
                    StringRef bRecipe, const DeviceQuantized &b, int64_t n,
                    int64_t k, const DeviceMatmulOptions &options,
                    CUdeviceptr output) {
  auto recipes = matmulRecipes(stream, aRecipe, bRecipe, options);
  if (!recipes)
    return recipes.takeError();
  if (groups < 1)
    return makeError("expected at least one group, got " + Twine(groups));
  if (auto aShape = matmulOperandShape("A", recipes->a, m, k, groups); !aShape)
    return aShape.takeError();
  if (auto bShape = matmulOperandShape("B", recipes->b, n, k); !bShape)
    return bShape.takeError();
  // The stacked B meets the buffer bound each operand does.
  if (mulSize(groups, mulSize(n, k / 2)) > kMaxBufferBytes)
    return makeError("expected " + Twine(groups) + " B operands of " +
                     Twine(n) + " x " + Twine(k) + " to fit in 2^62 bytes");
  auto buffers = matmulBuffers(splits, &a, b, options, output);
  if (!buffers)
    return buffers.takeError();
  auto kernel = loadMatmul(stream, *recipes, options, /*grouped=*/true);
  if (!kernel)
    return kernel.takeError();
  return kernel->launchMatmulGrouped(stream, m, groups, n, k, *buffers);
}

Error dequantize(Stream &stream, StringRef recipe, const DeviceQuantized &input,
                 int64_t rows, int64_t cols, CUdeviceptr output) {
  auto found = compilerFor(stream, recipe);
  if (!found)
    return found.takeError();
  auto [compiler, attr] = *found;
  if (rows < 1 || cols < 1 || cols % 16 != 0)
    return makeError("expected a non-empty matrix whose quantized dimension "
                     "is a multiple of 16, got " +
                     Twine(rows) + "x" + Twine(cols));
  if (!input.data || !input.scale || !input.amax || !output)
    return makeError("null device buffer");
  if (input.data % 8 != 0 || input.amax % 4 != 0 || output % 64 != 0)
    return makeError("device buffers must be aligned: data to 8 bytes, amax "
                     "to 4, the output to 64 (16 floats)");
  QuantizedOutput shape;
  shape.rows = rows;
  shape.cols = cols;
  shape.scaleShape = scaleShape(attr.getSfLayout(), rows, cols);
  shape.amaxShape = amaxShape(attr, rows, cols);
  auto compiled =
      compiler->compile(attr, ElementType::F32, Operation::Dequantize);
  if (!compiled)
    return compiled.takeError();
  auto kernel = stream.device().load(*compiled);
  if (!kernel)
    return kernel.takeError();
  return kernel->launchDequantize(stream, shape, input.data, input.scale,
                                  input.amax, output);
}

namespace {
/// The cpu target's runner and `recipe` parsed in its context: the start
/// of every host-memory convenience.
Expected<std::pair<Runner *, RecipeAttr>> hostRecipe(StringRef recipe) {
  auto compiler = Compiler::shared("cpu");
  if (!compiler)
    return compiler.takeError();
  auto parsed = (*compiler)->parseRecipe(recipe);
  if (!parsed)
    return parsed.takeError();
  return std::make_pair(&(*compiler)->runner(), *parsed);
}
} // namespace

Expected<QuantizeResult> quantize(StringRef recipe, ElementType type,
                                  const void *input, int64_t rows,
                                  int64_t cols, const GivenAmax &given) {
  if (!input)
    return makeError("null input");
  auto host = hostRecipe(recipe);
  if (!host)
    return host.takeError();
  return host->first->quantize(host->second, type, input, rows, cols, given);
}

Expected<QuantizeResult> amax(StringRef recipe, ElementType type,
                              const void *input, int64_t rows, int64_t cols) {
  if (!input)
    return makeError("null input");
  auto host = hostRecipe(recipe);
  if (!host)
    return host.takeError();
  return host->first->amax(host->second, type, input, rows, cols);
}

Expected<std::vector<float>> dequantize(StringRef recipe,
                                        const QuantizedOutput &input) {
  auto host = hostRecipe(recipe);
  if (!host)
    return host.takeError();
  return host->first->dequantize(host->second, input);
}

Expected<ProducerQuantizeResult>
rmsNormQuantize(StringRef recipe, ElementType type, const void *x,
                const void *weight, const void *residual, float eps,
                int64_t rows, int64_t cols, bool wantY,
                const GivenAmax &given) {
  auto host = hostRecipe(recipe);
  if (!host)
    return host.takeError();
  return host->first->rmsNormQuantize(host->second, type, x, weight, residual,
                                      eps, rows, cols, wantY, given);
}

Expected<ProducerQuantizeResult>
gatedActQuantize(StringRef recipe, ElementType type, GatedActivation act,
                 const void *x, int64_t rows, int64_t cols, bool wantY,
                 const GivenAmax &given) {
  auto host = hostRecipe(recipe);
  if (!host)
    return host.takeError();
  return host->first->gatedActQuantize(host->second, type, act, x, rows, cols,
                                       wantY, given);
}

Expected<ProducerResult> rmsNorm(ElementType type, const void *x,
                                 const void *weight, const void *residual,
                                 float eps, int64_t rows, int64_t cols) {
  auto compiler = Compiler::shared("cpu");
  if (!compiler)
    return compiler.takeError();
  return (*compiler)->runner().rmsNorm(type, x, weight, residual, eps, rows,
                                       cols);
}

Expected<ProducerResult> gatedAct(ElementType type, GatedActivation act,
                                  const void *x, int64_t rows, int64_t cols) {
  auto compiler = Compiler::shared("cpu");
  if (!compiler)
    return compiler.takeError();
  return (*compiler)->runner().gatedAct(type, act, x, rows, cols);
}

Expected<std::vector<uint8_t>>
matmul(StringRef aRecipe, const QuantizedOutput &a, StringRef bRecipe,
       const QuantizedOutput &b, const MatmulOptions &options,
       StringRef target) {
  auto compiler = Compiler::shared(target);
  if (!compiler)
    return compiler.takeError();
  auto ra = (*compiler)->parseRecipe(aRecipe);
  if (!ra)
    return ra.takeError();
  auto rb = (*compiler)->parseRecipe(bRecipe);
  if (!rb)
    return rb.takeError();
  return (*compiler)->runner().matmul(*ra, a, *rb, b, options);
}

Expected<std::vector<uint8_t>>
matmulW4A16(ElementType aType, const void *a, int64_t m, int64_t k,
            StringRef bRecipe, const QuantizedOutput &b,
            const MatmulOptions &options, StringRef target) {
  if (!a)
    return makeError("null A");
  auto compiler = Compiler::shared(target);
  if (!compiler)
    return compiler.takeError();
  auto rb = (*compiler)->parseRecipe(bRecipe);
  if (!rb)
    return rb.takeError();
  return (*compiler)->runner().matmulW4A16(aType, a, m, k, *rb, b, options);
}

} // namespace nvfp4

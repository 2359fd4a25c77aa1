//===- Api.cpp - quantize / dequantize in one call ------------------------===//

#include "nvfp4/Runtime/Api.h"
#include "Errors.h"

#include "nvfp4/Dialect/NVFP4/IR/NVFP4Shapes.h"

using namespace llvm;
using namespace mlir::nvfp4;

namespace nvfp4 {
namespace {
using ::nvfp4::detail::makeError;

/// The shared compiler of `stream`'s device and the recipe parsed in it.
Expected<std::pair<Compiler *, RecipeAttr>> compilerFor(Stream &stream,
                                                       StringRef recipe) {
  auto target = stream.device().target();
  if (!target)
    return target.takeError();
  auto compiler = Compiler::shared(*target);
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
  SmallVector<CUdeviceptr, 7> buffers{input};
  for (auto [name, want, have] :
       {std::make_tuple("rowwise", shapes->rowwise.has_value(),
                        &outputs.rowwise),
        std::make_tuple("columnwise", shapes->columnwise.has_value(),
                        &outputs.columnwise)}) {
    if (want != have->has_value())
      return makeError(Twine("the recipe ") +
                       (want ? "produces" : "does not produce") + " a " +
                       name + " output but " + (want ? "none was" : "one was") +
                       " given");
    if (want)
      buffers.append({(*have)->data, (*have)->scale, (*have)->amax});
  }
  for (CUdeviceptr p : buffers)
    if (!p)
      return makeError("null device buffer");
  // The kernels read each 16-element block with one vector load and write
  // its 8 data bytes with one store (docs/Rationale.md, alignment contract).
  uint64_t elementBytes = type == ElementType::F32 ? 4 : 2;
  if (input % (16 * elementBytes) != 0)
    return makeError("the device input at 0x" + Twine::utohexstr(input) +
                     " is not aligned to 16 elements (" +
                     Twine(16 * elementBytes) + " bytes)");
  for (size_t i = 1; i < buffers.size(); ++i) {
    uint64_t align = i % 3 == 1 ? 8 : i % 3 == 0 ? 4 : 1;
    if (buffers[i] % align != 0)
      return makeError("the device " +
                       StringRef(i % 3 == 1 ? "data" : "amax") +
                       " output at 0x" + Twine::utohexstr(buffers[i]) +
                       " is not aligned to " + Twine(align) + " bytes");
  }
  auto compiled = compiler->compile(attr, type, Operation::Quantize);
  if (!compiled)
    return compiled.takeError();
  auto kernel = stream.device().load(*compiled);
  if (!kernel)
    return kernel.takeError();
  return kernel->launchQuantize(stream, rows, cols, *shapes, buffers);
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
  auto compiled = compiler->compile(attr, ElementType::F32,
                                    Operation::Dequantize);
  if (!compiled)
    return compiled.takeError();
  auto kernel = stream.device().load(*compiled);
  if (!kernel)
    return kernel.takeError();
  return kernel->launchDequantize(stream, shape, input.data, input.scale,
                                  input.amax, output);
}

Expected<QuantizeResult> quantize(StringRef recipe, ElementType type,
                                  const void *input, int64_t rows,
                                  int64_t cols) {
  if (!input)
    return makeError("null input");
  auto compiler = Compiler::shared("cpu");
  if (!compiler)
    return compiler.takeError();
  auto parsed = (*compiler)->parseRecipe(recipe);
  if (!parsed)
    return parsed.takeError();
  return (*compiler)->hostRunner()->quantize(*parsed, type, input, rows, cols);
}

Expected<std::vector<float>> dequantize(StringRef recipe,
                                        const QuantizedOutput &input) {
  auto compiler = Compiler::shared("cpu");
  if (!compiler)
    return compiler.takeError();
  auto parsed = (*compiler)->parseRecipe(recipe);
  if (!parsed)
    return parsed.takeError();
  return (*compiler)->hostRunner()->dequantize(*parsed, input);
}

Expected<std::vector<uint8_t>> matmul(StringRef aRecipe,
                                      const QuantizedOutput &a,
                                      StringRef bRecipe,
                                      const QuantizedOutput &b,
                                      const MatmulOptions &options,
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
  if (target == "cpu")
    return (*compiler)->hostRunner()->matmul(*ra, a, *rb, b, options);
  return (*compiler)->gpuRunner()->matmul(*ra, a, *rb, b, options);
}

} // namespace nvfp4

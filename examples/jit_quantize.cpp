//===- jit_quantize.cpp - JIT-compile a recipe, quantize a device buffer --===//
//
// A host program using the nvfp4 runtime the way an application would:
//
//   jit_quantize [recipe] [rows] [cols]      (default: per_token 256 4096)
//
// It compiles the recipe for the GPU it finds (in process, cached in memory
// and in ~/.cache/nvfp4-mlir), quantizes a random f32 matrix that lives in
// device memory on a stream, and checks the bytes against the CPU path.
//
// Exit codes: 0 the GPU bytes equal the CPU bytes; 1 an error or a
// mismatch; 77 no usable GPU (the error is printed; the recipe is still
// compiled for sm_90a to show that compiling needs no GPU).
//
//===----------------------------------------------------------------------===//

#include "nvfp4/Runtime/Api.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cstdlib>
#include <random>
#include <string>

namespace {
constexpr int kNoGPU = 77;

int fail(llvm::Error e) {
  llvm::errs() << "error: " << llvm::toString(std::move(e)) << "\n";
  return 1;
}

const char *sourceName(nvfp4::CacheSource s) {
  switch (s) {
  case nvfp4::CacheSource::Compiled:
    return "compiled";
  case nvfp4::CacheSource::Memory:
    return "memory cache";
  case nvfp4::CacheSource::Disk:
    return "disk cache";
  }
  return "?";
}

/// JIT-compiles `recipe` for `target` and says how long it took.
llvm::Error compile(const std::string &target, const std::string &recipe) {
  auto compiler = nvfp4::Compiler::shared(target);
  if (!compiler)
    return compiler.takeError();
  auto start = std::chrono::steady_clock::now();
  auto compiled =
      (*compiler)->compile(recipe, nvfp4::ElementType::F32);
  if (!compiled)
    return compiled.takeError();
  double ms = std::chrono::duration<double, std::milli>(
                  std::chrono::steady_clock::now() - start)
                  .count();
  llvm::outs() << "compiled '" << recipe << "' for " << target << " in "
               << llvm::format("%.1f", ms) << " ms ("
               << sourceName(compiled->source) << "): "
               << compiled->code->kernels.size() << " kernel(s), "
               << compiled->code->image.size() << " bytes of cubin\n";
  return llvm::Error::success();
}
} // namespace

int main(int argc, char **argv) {
  std::string recipe = argc > 1 ? argv[1] : "per_token";
  int64_t rows = argc > 2 ? std::atoll(argv[2]) : 256;
  int64_t cols = argc > 3 ? std::atoll(argv[3]) : 4096;

  auto device = nvfp4::Device::shared();
  if (!device) {
    std::string why = llvm::toString(device.takeError());
    if (llvm::Error e = compile("sm_90a", recipe))
      return fail(std::move(e));
    llvm::errs() << "no GPU: " << why << "\n";
    return kNoGPU;
  }
  nvfp4::Device &dev = **device;
  auto target = dev.target();
  if (!target) {
    llvm::errs() << "no usable GPU: " << llvm::toString(target.takeError())
                 << "\n";
    return kNoGPU;
  }
  llvm::outs() << "device: " << dev.name() << " (" << *target << ")\n";
  if (llvm::Error e = compile(*target, recipe))
    return fail(std::move(e));

  // The input, made on the host and copied to the device.
  std::vector<float> host(rows * cols);
  std::mt19937 rng(0);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  for (float &v : host)
    v = normal(rng);
  auto shapes = nvfp4::quantizeShapes(recipe, rows, cols);
  if (!shapes)
    return fail(shapes.takeError());
  auto input = dev.allocate(host.size() * sizeof(float));
  if (!input)
    return fail(input.takeError());
  if (llvm::Error e = input->copyFromHost(host.data(), input->size()))
    return fail(std::move(e));

  // Device outputs: data, scale and amax for each direction.
  std::vector<nvfp4::DeviceBuffer> buffers;
  nvfp4::DeviceOutputs outputs;
  for (auto [shape, out] :
       {std::make_pair(&shapes->rowwise, &outputs.rowwise),
        std::make_pair(&shapes->columnwise, &outputs.columnwise)}) {
    if (!*shape)
      continue;
    const nvfp4::QuantizedOutput &o = **shape;
    int64_t amax = 1;
    for (int64_t d : o.amaxShape)
      amax *= d;
    for (int64_t bytes :
         {o.rows * o.cols / 2, o.scaleShape[0] * o.scaleShape[1], amax * 4}) {
      auto b = dev.allocate(bytes);
      if (!b)
        return fail(b.takeError());
      buffers.push_back(std::move(*b));
    }
    size_t n = buffers.size();
    *out = {buffers[n - 3].ptr(), buffers[n - 2].ptr(), buffers[n - 1].ptr()};
  }

  auto stream = dev.createStream();
  if (!stream)
    return fail(stream.takeError());
  if (llvm::Error e =
          nvfp4::quantize(*stream, recipe, nvfp4::ElementType::F32,
                          input->ptr(), rows, cols, outputs))
    return fail(std::move(e));
  if (llvm::Error e = stream->synchronize())
    return fail(std::move(e));

  // The same quantization on the host: the bytes must be equal.
  auto want = nvfp4::quantize(recipe, nvfp4::ElementType::F32, host.data(),
                              rows, cols);
  if (!want)
    return fail(want.takeError());
  size_t next = 0;
  bool same = true;
  for (auto [name, w] : {std::make_pair("rowwise", &want->rowwise),
                         std::make_pair("columnwise", &want->columnwise)}) {
    if (!*w)
      continue;
    nvfp4::QuantizedOutput got = **w;
    if (llvm::Error e = buffers[next++].copyToHost(got.data.data(),
                                                   got.data.size()))
      return fail(std::move(e));
    if (llvm::Error e = buffers[next++].copyToHost(got.scale.data(),
                                                   got.scale.size()))
      return fail(std::move(e));
    if (llvm::Error e = buffers[next++].copyToHost(got.amax.data(),
                                                   got.amax.size() * 4))
      return fail(std::move(e));
    bool equal = got.data == (*w)->data && got.scale == (*w)->scale &&
                 got.amax == (*w)->amax;
    same &= equal;
    llvm::outs() << name << ": data " << got.rows << "x" << got.cols / 2
                 << " bytes, scale " << got.scaleShape[0] << "x"
                 << got.scaleShape[1] << ", " << got.amax.size()
                 << " amax (first " << got.amax[0] << "); "
                 << (equal ? "same bytes as the CPU" : "DIFFERS from the CPU")
                 << "\n";
  }
  return same ? 0 : 1;
}

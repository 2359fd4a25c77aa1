//===- CallBench.cpp - Host cost of a call through the runtime API --------===//
//
// `nvfp4-bench --suite=calls`: what one call of the public device API
// (nvfp4::quantize / nvfp4::matmul on a Stream, recipes as text) costs the
// host, next to the kernel time it enqueues. For each case, on cached
// kernels: the median wall time of one call (the host's share: recipe
// lookup, shape checks, launch), the device time per call of 1000
// back-to-back calls (CUDA events around the loop; the GPU's share, which
// hides host time shorter than it), the kernel time alone (the same calls
// replayed from a CUDA graph: no host work at all), and the end-to-end
// wall time per call of the back-to-back loop. "Above kernel" is the
// end-to-end time minus the graph-replayed time: what the runtime adds.
//
// A second table measures decode-time quantize shapes (M = 1, 16; K = 4096,
// 8192; per_token, per_tensor, local_1x64 and the GEMM's activation recipe)
// and the decode step with programmatic dependent launch
// off and on (CudaDevice::setDependentLaunch), in the same process: the
// graph-replayed and back-to-back device times per call of each.
//
//===----------------------------------------------------------------------===//

#include "Bench.h"

#include "nvfp4/Runtime/Api.h"
#include "nvfp4/Support/FloatBits.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <functional>
#include <random>

using namespace llvm;

namespace nvfp4 {
namespace bench {
namespace {
using Clock = std::chrono::steady_clock;

constexpr const char *kActivation = "per_token, sf_layout = 128x4";
constexpr const char *kWeight = "per_tensor_2d, sf_layout = 128x4";

struct Case {
  std::string name;
  std::function<Error()> call;
};

struct Timing {
  double hostUs, deviceUs, graphUs, loopUs;
};

/// The four times of `call` (see the file header).
Expected<Timing> measure(CudaDevice &cuda, Stream &stream, unsigned calls,
                         const std::function<Error()> &call) {
  for (int i = 0; i < 20; ++i) // compile, load, warm the caches
    if (Error e = call())
      return std::move(e);
  if (Error e = stream.synchronize())
    return std::move(e);
  Timing t{};
  std::vector<double> single;
  single.reserve(calls);
  auto loop = [&]() -> Error {
    for (unsigned i = 0; i < calls; ++i) {
      auto start = Clock::now();
      if (Error e = call())
        return e;
      single.push_back(
          std::chrono::duration<double, std::micro>(Clock::now() - start)
              .count());
    }
    return Error::success();
  };
  auto start = Clock::now();
  auto deviceMs = cuda.time(loop);
  if (!deviceMs)
    return deviceMs.takeError();
  t.loopUs =
      std::chrono::duration<double, std::micro>(Clock::now() - start).count() /
      calls;
  t.deviceUs = *deviceMs * 1e3 / calls;
  std::sort(single.begin(), single.end());
  t.hostUs = single[single.size() / 2];

  // The same calls from a graph: kernels back to back, no host work.
  auto graph = cuda.captureGraph(stream.handle(), [&]() -> Error {
    for (unsigned i = 0; i < calls; ++i)
      if (Error e = call())
        return e;
    return Error::success();
  });
  if (!graph)
    return graph.takeError();
  auto replay =
      cuda.time([&] { return cuda.launchGraph(*graph, stream.handle()); });
  cuda.destroyGraph(*graph);
  if (!replay)
    return replay.takeError();
  t.graphUs = *replay * 1e3 / calls;
  return t;
}
} // namespace

Error runCallSuite(unsigned calls) {
  auto dev = Device::shared();
  if (!dev)
    return dev.takeError();
  // A stream of our own (captures cannot use the legacy default stream).
  // It is a blocking stream, so CudaDevice::time's events on the legacy
  // stream bracket the calls enqueued on it.
  auto stream = (*dev)->createStream();
  if (!stream)
    return stream.takeError();
  Buffers b{*dev, {}};
  std::vector<Case> cases, pdlCases;

  // A quantize of a rows x cols bf16 matrix with `recipe` on buffers of its
  // own.
  auto quantizeCase = [&](std::string recipe, int64_t rows,
                          int64_t cols) -> Expected<Case> {
    auto x = b.input(rows, cols);
    if (!x)
      return x.takeError();
    auto out = b.outputs(recipe, rows, cols);
    if (!out)
      return out.takeError();
    return Case{"quantize `" + recipe + "` " + std::to_string(rows) + " x " +
                    std::to_string(cols),
                [&s = *stream, recipe, x = *x, rows, cols, o = *out] {
                  return quantize(s, recipe, ElementType::BF16, x, rows, cols,
                                  o);
                }};
  };
  for (const std::pair<const char *, int64_t> &c :
       {std::make_pair(kActivation, int64_t(1)),
        std::make_pair("per_tensor", int64_t(1)),
        std::make_pair("local_1x64", int64_t(1)),
        std::make_pair(kActivation, int64_t(8192)),
        std::make_pair("per_tensor", int64_t(8192))}) {
    auto q = quantizeCase(c.first, c.second, 8192);
    if (!q)
      return q.takeError();
    cases.push_back(std::move(*q));
  }
  // Decode-time quantize shapes, with and without PDL: the seed recipes
  // and the GEMM's activation recipe (128x4 scales: one more launch).
  for (const char *recipe :
       {"per_token", "per_tensor", "local_1x64", kActivation})
    for (int64_t rows : {int64_t(1), int64_t(16)})
      for (int64_t cols : {int64_t(4096), int64_t(8192)}) {
        auto q = quantizeCase(recipe, rows, cols);
        if (!q)
          return q.takeError();
        pdlCases.push_back(std::move(*q));
      }

  // GEMMs with 8192 x 8192 NVFP4 weights, bf16 out, and the decode step.
  int64_t n = 8192, k = 8192;
  auto w = b.input(n, k);
  if (!w)
    return w.takeError();
  auto wq = b.outputs(kWeight, n, k);
  if (!wq)
    return wq.takeError();
  if (Error e = quantize(*stream, kWeight, ElementType::BF16, *w, n, k, *wq))
    return e;
  for (int64_t m : {int64_t(1), int64_t(16), int64_t(128)}) {
    auto x = b.input(m, k);
    if (!x)
      return x.takeError();
    auto xq = b.outputs(kActivation, m, k);
    if (!xq)
      return xq.takeError();
    if (Error e =
            quantize(*stream, kActivation, ElementType::BF16, *x, m, k, *xq))
      return e;
    auto d = b.add(size_t(m * n) * 2);
    if (!d)
      return d.takeError();
    DeviceQuantized a = *xq->rowwise, bw = *wq->rowwise;
    auto gemm = [&s = *stream, a, bw, m, n, k, d = *d] {
      return matmul(s, kActivation, a, m, kWeight, bw, n, k, {}, d);
    };
    cases.push_back(
        {"matmul M = " + std::to_string(m) + ", N = K = 8192", gemm});
    if (m == 1) {
      cases.push_back({"decode step: quantize 1 x 8192 `" +
                           std::string(kActivation) + "` + matmul",
                       [&s = *stream, x = *x, o = *xq, gemm, k] {
                         if (Error e = quantize(s, kActivation,
                                                ElementType::BF16, x, 1, k, o))
                           return e;
                         return gemm();
                       }});
      pdlCases.push_back(cases.back());
    }
  }

  CudaDevice &cuda = (*dev)->cuda();
  outs() << "device: " << (*dev)->name() << ", nvfp4 C++ API "
         << "(nvfp4::quantize / nvfp4::matmul on a Stream), bf16, " << calls
         << " back-to-back calls on cached kernels\n\n"
         << "| case | host per call (us, median) | device per call (us) | "
            "kernels alone (us, graph) | end to end per call (us) | above "
            "kernel (us) |\n|---|---|---|---|---|---|\n";
  for (const Case &c : cases) {
    auto t = measure(cuda, *stream, calls, c.call);
    if (!t)
      return t.takeError();
    outs() << "| " << c.name << " | " << format("%.2f", t->hostUs) << " | "
           << format("%.2f", t->deviceUs) << " | " << format("%.2f", t->graphUs)
           << " | " << format("%.2f", t->loopUs) << " | "
           << format("%.2f", std::max(0.0, t->loopUs - t->graphUs)) << " |\n";
  }

  // The same calls with programmatic dependent launch off, then on; the
  // mode the table above ran in is restored afterwards.
  bool mode = cuda.dependentLaunch();
  cuda.setDependentLaunch(true);
  bool available = cuda.dependentLaunch();
  outs() << "\nprogrammatic dependent launch (PDL: a kernel starts while its "
            "predecessor runs and waits for it in griddepcontrol.wait), off "
            "and on in this process; the table above ran with it "
         << (mode ? "on" : "off")
         << (available ? "" : " (this device or driver has no PDL: both "
                              "columns ran without it)")
         << "\n\n| case | kernels alone, PDL off (us, graph) | kernels "
            "alone, PDL on (us, graph) | device per call, PDL off (us) | "
            "device per call, PDL on (us) |\n|---|---|---|---|---|\n";
  for (const Case &c : pdlCases) {
    Timing t[2];
    for (bool pdl : {false, true}) {
      cuda.setDependentLaunch(pdl);
      auto measured = measure(cuda, *stream, calls, c.call);
      if (!measured) {
        cuda.setDependentLaunch(mode);
        return measured.takeError();
      }
      t[pdl] = *measured;
    }
    outs() << "| " << c.name << " | " << format("%.2f", t[0].graphUs) << " | "
           << format("%.2f", t[1].graphUs) << " | "
           << format("%.2f", t[0].deviceUs) << " | "
           << format("%.2f", t[1].deviceUs) << " |\n";
  }
  cuda.setDependentLaunch(mode);
  return stream->synchronize();
}

} // namespace bench
} // namespace nvfp4

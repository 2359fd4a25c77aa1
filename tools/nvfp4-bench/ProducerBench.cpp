//===- ProducerBench.cpp - Producers fused into a quantize ----------------===//
//
// `nvfp4-bench --suite=producers`: for RMSNorm (with and without the
// residual add) and the gated activations feeding a quantize, the median
// time of the fused op (nvfp4::rmsNormQuantize / gatedActQuantize on a
// Stream), its effective bandwidth (inputs read once plus every output
// written once, y not wanted) as a ratio to a device-to-device copy
// measured in the same process, and the unfused pair: the producer alone
// writing its bf16 result, then the quantize reading it back.
//
//===----------------------------------------------------------------------===//

#include "Bench.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <functional>

using namespace llvm;
using mlir::nvfp4::GatedActivation;

namespace nvfp4 {
namespace bench {
namespace {
struct ProducerCase {
  std::string name;
  /// Bytes the fused op must move at least.
  double bytes;
  std::function<Error()> fused, unfused;
};
} // namespace

Error runProducerSuite(unsigned iters) {
  auto dev = Device::shared();
  if (!dev)
    return dev.takeError();
  auto stream = (*dev)->createStream();
  if (!stream)
    return stream.takeError();
  CudaDevice &cuda = (*dev)->cuda();
  outs() << "device: " << (*dev)->name() << ", bf16, median of " << iters
         << " runs; bytes = inputs read once + outputs written once (y not "
            "written)\n\n"
         << "| producer + quantize | M | K | fused (us) | GB/s | copy GB/s | "
            "ratio | unfused pair (us) | fused speedup |\n"
            "|---|---|---|---|---|---|---|---|---|\n";
  const char *recipe = "per_token";
  for (int64_t m : {int64_t(8192), int64_t(32768)}) {
    int64_t k = 8192;
    Buffers b{*dev, {}};
    size_t matrix = size_t(m * k) * 2;
    auto x = b.input(m, k);
    auto gateUp = b.input(m, 2 * k);
    auto residual = b.input(m, k);
    auto weight = b.input(1, k);
    auto y = b.add(matrix);
    auto rstd = b.add(size_t(m) * 4);
    auto copy = b.add(matrix);
    auto out = b.outputs(recipe, m, k);
    for (Expected<CUdeviceptr> *p :
         {&x, &gateUp, &residual, &weight, &y, &rstd, &copy})
      if (!*p)
        return p->takeError();
    if (!out)
      return out.takeError();
    auto copyMs = medianTime(cuda, iters, [&] {
      return cuda.copyDeviceToDevice(*copy, *x, matrix);
    });
    if (!copyMs)
      return copyMs.takeError();
    double copyGBs = 2.0 * matrix / (*copyMs * 1e-3) / 1e9;
    // The quantized outputs: data, scales and amaxes of an m x k matrix.
    double quantized = double(m * k) / 2 + double(m * k) / 16 + 4.0 * m;
    Stream &s = *stream;
    DeviceOutputs o = *out;
    auto quantizeY = [&, o] {
      return quantize(s, recipe, ElementType::BF16, *y, m, k, o);
    };
    std::vector<ProducerCase> cases;
    for (bool withResidual : {false, true}) {
      CUdeviceptr r = withResidual ? *residual : 0;
      double bytes = matrix + 2.0 * k + quantized + 4.0 * m +
                     (withResidual ? 2.0 * matrix : 0.0);
      cases.push_back(
          {withResidual ? "rms_norm + residual + `per_token`"
                        : "rms_norm + `per_token`",
           bytes,
           [&, r, o] {
             return rmsNormQuantize(s, recipe, ElementType::BF16, *x, *weight,
                                    r, 1e-6f, m, k, *rstd, 0, o);
           },
           [&, r] {
             if (Error e = rmsNorm(s, ElementType::BF16, *x, *weight, r, 1e-6f,
                                   m, k, *y, *rstd))
               return e;
             return quantizeY();
           }});
    }
    for (auto [act, name] :
         {std::make_pair(GatedActivation::SiLU, "silu_mul + `per_token`"),
          std::make_pair(GatedActivation::GeluTanh,
                         "gelu_tanh_mul + `per_token`")}) {
      cases.push_back(
          {name, 2.0 * matrix + quantized,
           [&, act = act, o] {
             return gatedActQuantize(s, recipe, ElementType::BF16, act,
                                     *gateUp, m, 2 * k, 0, o);
           },
           [&, act = act] {
             if (Error e = gatedAct(s, ElementType::BF16, act, *gateUp, m,
                                    2 * k, *y))
               return e;
             return quantizeY();
           }});
    }
    for (const ProducerCase &c : cases) {
      auto fusedMs = medianTime(cuda, iters, c.fused);
      if (!fusedMs)
        return fusedMs.takeError();
      auto unfusedMs = medianTime(cuda, iters, c.unfused);
      if (!unfusedMs)
        return unfusedMs.takeError();
      double gbs = c.bytes / (*fusedMs * 1e-3) / 1e9;
      outs() << "| " << c.name << " | " << m << " | " << k << " | "
             << format("%.1f", *fusedMs * 1e3) << " | " << format("%.0f", gbs)
             << " | " << format("%.0f", copyGBs) << " | "
             << format("%.1f%%", 100.0 * gbs / copyGBs) << " | "
             << format("%.1f", *unfusedMs * 1e3) << " | "
             << format("%.2fx", *unfusedMs / *fusedMs) << " |\n";
    }
  }
  return stream->synchronize();
}

} // namespace bench
} // namespace nvfp4

//===- CompareResults.h - Runner results compared byte for byte -*- C++ -*-===//
//
// The comparisons of two runners' (or two paths') results that the CPU and
// GPU tests share: every byte of every buffer, amaxes by their bits.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_UNITTESTS_RUNTIME_COMPARERESULTS_H
#define NVFP4_UNITTESTS_RUNTIME_COMPARERESULTS_H

#include "nvfp4/Runtime/Runner.h"

#include <cstring>
#include <string>
#include <vector>

namespace nvfp4 {
namespace testing {

/// Whether two float vectors hold the same bits.
inline bool sameBits(const std::vector<float> &a, const std::vector<float> &b) {
  return a.size() == b.size() &&
         std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

/// "" when both quantizations have the same directions and bytes, else the
/// first buffer that differs.
inline std::string compareResults(const QuantizeResult &got,
                                  const QuantizeResult &want) {
  for (auto [g, w] : {std::pair{&got.rowwise, &want.rowwise},
                      std::pair{&got.columnwise, &want.columnwise}}) {
    if (bool(*g) != bool(*w))
      return "directions differ";
    if (!*g)
      continue;
    if ((*g)->data != (*w)->data)
      return "data";
    if ((*g)->scale != (*w)->scale)
      return "scale";
    if (!sameBits((*g)->amax, (*w)->amax))
      return "amax";
  }
  return "";
}

/// "" when both producers wrote the same y, rstd and residual.
inline std::string compareProducers(const ProducerResult &got,
                                    const ProducerResult &want) {
  if (got.y != want.y)
    return "y";
  if (!sameBits(got.rstd, want.rstd))
    return "rstd";
  if (got.residual != want.residual)
    return "residual";
  return "";
}

} // namespace testing
} // namespace nvfp4

#endif // NVFP4_UNITTESTS_RUNTIME_COMPARERESULTS_H

//===- CuBLAS.h - bf16 cuBLAS GEMM, loaded at run time ------------*- C++ -*-===//
//
// The baseline the NVFP4 GEMMs are measured against, in the same process:
// cublasGemmEx on bf16 operands with fp32 accumulation. libcublas is opened
// with dlopen so the benchmark builds without it and reports its absence.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_TOOLS_NVFP4_BENCH_CUBLAS_H
#define NVFP4_TOOLS_NVFP4_BENCH_CUBLAS_H

#include "nvfp4/Runtime/CudaDriver.h"

#include "llvm/Support/Error.h"

#include <memory>

namespace nvfp4 {
namespace bench {

class CuBLAS {
public:
  /// Opens libcublas (the CUDA 13 or 12 soname, then /usr/local/cuda) and
  /// creates a handle on the current (primary) context.
  static llvm::Expected<std::unique_ptr<CuBLAS>> open();
  ~CuBLAS();

  /// D = A * B^T, row-major bf16: A is m x k, B is n x k, D is m x n;
  /// fp32 accumulation, default stream.
  llvm::Error gemmBF16(CUdeviceptr a, CUdeviceptr b, CUdeviceptr d, int m,
                       int n, int k);

private:
  CuBLAS() = default;
  void *library = nullptr;
  void *handle = nullptr;
  int (*destroy)(void *) = nullptr;
  int (*gemmEx)(void *, int, int, int, int, int, const void *, const void *,
                int, int, const void *, int, int, const void *, void *, int,
                int, int, int) = nullptr;
};

} // namespace bench
} // namespace nvfp4

#endif // NVFP4_TOOLS_NVFP4_BENCH_CUBLAS_H

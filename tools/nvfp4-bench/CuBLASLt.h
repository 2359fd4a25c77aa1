//===- CuBLASLt.h - FP8 cuBLASLt GEMM, loaded at run time ---------*- C++ -*-===//
//
// A second baseline for the NVFP4 GEMMs: cublasLtMatmul on E4M3 operands
// with fp32 accumulation and bf16 output, the format one step up from
// NVFP4. Outer scales are per row of A and per row of B
// (CUBLASLT_MATMUL_MATRIX_SCALE_OUTER_VEC_32F, cuBLAS 12.9 and later) when
// the library accepts them for the shape, else one scale per tensor; the
// plan says which. libcublasLt is opened with dlopen, like libcublas.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_TOOLS_NVFP4_BENCH_CUBLASLT_H
#define NVFP4_TOOLS_NVFP4_BENCH_CUBLASLT_H

#include "nvfp4/Runtime/CudaDriver.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <string>

namespace nvfp4 {
namespace bench {

class CuBLASLt {
public:
  /// Opens libcublasLt (the CUDA 13 or 12 soname, then /usr/local/cuda)
  /// and creates a handle.
  static llvm::Expected<std::unique_ptr<CuBLASLt>> open();
  ~CuBLASLt();

  /// One FP8 GEMM shape: row-major D (m x n, bf16) = A (m x k, E4M3) *
  /// B^T (B n x k, E4M3), times the outer scales, with its descriptors and
  /// the algorithm the heuristic chose.
  class Plan {
  public:
    ~Plan();
    /// Whether the scales are per row (outer vectors) or per tensor.
    bool outerVectors() const { return outer; }
    /// Workspace bytes the algorithm needs.
    size_t workspaceBytes() const { return workspace; }

  private:
    friend class CuBLASLt;
    explicit Plan(CuBLASLt &lt) : lt(lt) {}
    CuBLASLt &lt;
    void *desc = nullptr, *aLayout = nullptr, *bLayout = nullptr,
         *dLayout = nullptr;
    alignas(8) unsigned char algo[64] = {};
    size_t workspace = 0;
    bool outer = false;
  };

  /// Plans the GEMM. `aScale` (m floats) and `bScale` (n floats) are device
  /// vectors; with per-tensor scales only their first elements are read.
  /// Tries outer vectors first; the error of a per-tensor plan that fails
  /// too names both reasons.
  llvm::Expected<std::unique_ptr<Plan>> plan(int m, int n, int k,
                                             CUdeviceptr aScale,
                                             CUdeviceptr bScale);

  /// Runs `p` on the default stream; `workspace` holds at least
  /// p.workspaceBytes().
  llvm::Error run(const Plan &p, CUdeviceptr a, CUdeviceptr b, CUdeviceptr d,
                  CUdeviceptr workspace);

private:
  CuBLASLt() = default;
  llvm::Expected<std::unique_ptr<Plan>> planWith(bool outer, int m, int n,
                                                 int k, CUdeviceptr aScale,
                                                 CUdeviceptr bScale);
  llvm::Error check(int status, const char *call);

  void *library = nullptr;
  void *handle = nullptr;
  int (*create)(void **) = nullptr;
  int (*destroy)(void *) = nullptr;
  int (*descCreate)(void **, int, int) = nullptr;
  int (*descDestroy)(void *) = nullptr;
  int (*descSet)(void *, int, const void *, size_t) = nullptr;
  int (*layoutCreate)(void **, int, uint64_t, uint64_t, int64_t) = nullptr;
  int (*layoutDestroy)(void *) = nullptr;
  int (*prefCreate)(void **) = nullptr;
  int (*prefDestroy)(void *) = nullptr;
  int (*prefSet)(void *, int, const void *, size_t) = nullptr;
  int (*heuristic)(void *, void *, void *, void *, void *, void *, void *,
                   int, void *, int *) = nullptr;
  int (*matmul)(void *, void *, const void *, const void *, void *,
                const void *, void *, const void *, const void *, void *,
                void *, void *, const void *, void *, size_t,
                void *) = nullptr;
  const char *(*statusName)(int) = nullptr;
};

} // namespace bench
} // namespace nvfp4

#endif // NVFP4_TOOLS_NVFP4_BENCH_CUBLASLT_H

//===- CuBLAS.cpp - bf16 cuBLAS GEMM, loaded at run time ------------------===//

#include "CuBLAS.h"

#include <dlfcn.h>
#include <string>

namespace nvfp4 {
namespace bench {
namespace {
// Values of the cuBLAS / CUDA enums used (cublas_api.h, library_types.h).
constexpr int kOpN = 0, kOpT = 1;
constexpr int kR16BF = 14;
constexpr int kCompute32F = 68;
constexpr int kGemmDefault = -1;

llvm::Error fail(const std::string &m) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), m);
}
} // namespace

llvm::Expected<std::unique_ptr<CuBLAS>> CuBLAS::open() {
  std::unique_ptr<CuBLAS> c(new CuBLAS());
  std::string tried;
  for (const char *name :
       {"libcublas.so.13", "libcublas.so.12", "/usr/local/cuda/lib64/libcublas.so.13",
        "/usr/local/cuda/lib64/libcublas.so.12", "/usr/local/cuda/lib64/libcublas.so"}) {
    if ((c->library = dlopen(name, RTLD_NOW | RTLD_LOCAL)))
      break;
    tried += std::string(tried.empty() ? "" : ", ") + name;
  }
  if (!c->library)
    return fail("cuBLAS not found (tried " + tried + ")");
  auto create = reinterpret_cast<int (*)(void **)>(
      dlsym(c->library, "cublasCreate_v2"));
  c->destroy =
      reinterpret_cast<int (*)(void *)>(dlsym(c->library, "cublasDestroy_v2"));
  c->gemmEx = reinterpret_cast<decltype(c->gemmEx)>(
      dlsym(c->library, "cublasGemmEx"));
  if (!create || !c->destroy || !c->gemmEx)
    return fail("libcublas lacks cublasCreate_v2/cublasGemmEx");
  if (int status = create(&c->handle))
    return fail("cublasCreate_v2 failed with status " + std::to_string(status));
  return c;
}

CuBLAS::~CuBLAS() {
  if (handle)
    destroy(handle);
  if (library)
    dlclose(library);
}

llvm::Error CuBLAS::gemmBF16(CUdeviceptr a, CUdeviceptr b, CUdeviceptr d,
                             int m, int n, int k) {
  // Row-major D = A * B^T is column-major D^T = B * A^T: B (n x k
  // row-major) is a transposed k x n column-major matrix, A^T is A's k x m
  // column-major view.
  float alpha = 1.0f, beta = 0.0f;
  int status = gemmEx(handle, kOpT, kOpN, n, m, k, &alpha,
                      reinterpret_cast<void *>(b), kR16BF, k,
                      reinterpret_cast<void *>(a), kR16BF, k, &beta,
                      reinterpret_cast<void *>(d), kR16BF, n, kCompute32F,
                      kGemmDefault);
  if (status)
    return fail("cublasGemmEx failed with status " + std::to_string(status));
  return llvm::Error::success();
}

} // namespace bench
} // namespace nvfp4

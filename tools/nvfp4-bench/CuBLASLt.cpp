//===- CuBLASLt.cpp - FP8 cuBLASLt GEMM, loaded at run time ---------------===//

#include "CuBLASLt.h"

#include <algorithm>
#include <dlfcn.h>
#include <type_traits>

namespace nvfp4 {
namespace bench {
namespace {
// Values of the cuBLASLt / CUDA enums used (cublasLt.h, cublas_api.h,
// library_types.h), so the benchmark builds without the CUDA headers.
constexpr int kOpN = 0, kOpT = 1;
constexpr int kR32F = 0, kR16BF = 14, kR8F_E4M3 = 28;
constexpr int kCompute32F = 68;
constexpr int kDescTransA = 3, kDescTransB = 4;
constexpr int kDescAScalePointer = 17, kDescBScalePointer = 18;
constexpr int kDescAScaleMode = 31, kDescBScaleMode = 32;
constexpr int32_t kScaleScalar32F = 0, kScaleOuterVec32F = 3;
constexpr int kPrefMaxWorkspaceBytes = 1;
constexpr uint64_t kMaxWorkspace = 32ull << 20;

/// cublasLtMatmulHeuristicResult_t.
struct HeuristicResult {
  alignas(8) unsigned char algo[64];
  size_t workspaceSize;
  int state;
  float wavesCount;
  int reserved[4];
};

llvm::Error fail(const std::string &m) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), m);
}
} // namespace

llvm::Error CuBLASLt::check(int status, const char *call) {
  if (status == 0)
    return llvm::Error::success();
  std::string name = statusName ? statusName(status) : "";
  return fail(std::string(call) + " failed with status " +
              std::to_string(status) + (name.empty() ? "" : " (" + name + ")"));
}

llvm::Expected<std::unique_ptr<CuBLASLt>> CuBLASLt::open() {
  std::unique_ptr<CuBLASLt> c(new CuBLASLt());
  std::string tried;
  for (const char *name : {"libcublasLt.so.13", "libcublasLt.so.12",
                           "/usr/local/cuda/lib64/libcublasLt.so.13",
                           "/usr/local/cuda/lib64/libcublasLt.so.12",
                           "/usr/local/cuda/lib64/libcublasLt.so"}) {
    if ((c->library = dlopen(name, RTLD_NOW | RTLD_LOCAL)))
      break;
    tried += std::string(tried.empty() ? "" : ", ") + name;
  }
  if (!c->library)
    return fail("cuBLASLt not found (tried " + tried + ")");
  std::string missing;
  auto bind = [&](auto &fn, const char *symbol) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(
        dlsym(c->library, symbol));
    if (!fn)
      missing += std::string(missing.empty() ? "" : ", ") + symbol;
  };
  bind(c->create, "cublasLtCreate");
  bind(c->destroy, "cublasLtDestroy");
  bind(c->descCreate, "cublasLtMatmulDescCreate");
  bind(c->descDestroy, "cublasLtMatmulDescDestroy");
  bind(c->descSet, "cublasLtMatmulDescSetAttribute");
  bind(c->layoutCreate, "cublasLtMatrixLayoutCreate");
  bind(c->layoutDestroy, "cublasLtMatrixLayoutDestroy");
  bind(c->prefCreate, "cublasLtMatmulPreferenceCreate");
  bind(c->prefDestroy, "cublasLtMatmulPreferenceDestroy");
  bind(c->prefSet, "cublasLtMatmulPreferenceSetAttribute");
  bind(c->heuristic, "cublasLtMatmulAlgoGetHeuristic");
  bind(c->matmul, "cublasLtMatmul");
  bind(c->statusName, "cublasLtGetStatusName");
  if (!missing.empty())
    return fail("libcublasLt lacks " + missing);
  if (llvm::Error e = c->check(c->create(&c->handle), "cublasLtCreate"))
    return std::move(e);
  return c;
}

CuBLASLt::~CuBLASLt() {
  if (handle)
    destroy(handle);
  if (library)
    dlclose(library);
}

CuBLASLt::Plan::~Plan() {
  if (desc)
    lt.descDestroy(desc);
  for (void *layout : {aLayout, bLayout, dLayout})
    if (layout)
      lt.layoutDestroy(layout);
}

llvm::Expected<std::unique_ptr<CuBLASLt::Plan>>
CuBLASLt::plan(int m, int n, int k, CUdeviceptr aScale, CUdeviceptr bScale) {
  auto outer = planWith(true, m, n, k, aScale, bScale);
  if (outer)
    return outer;
  std::string why = llvm::toString(outer.takeError());
  auto scalar = planWith(false, m, n, k, aScale, bScale);
  if (scalar)
    return scalar;
  return fail("outer-vector scales: " + why + "; per-tensor scales: " +
              llvm::toString(scalar.takeError()));
}

llvm::Expected<std::unique_ptr<CuBLASLt::Plan>>
CuBLASLt::planWith(bool outer, int m, int n, int k, CUdeviceptr aScale,
                   CUdeviceptr bScale) {
  std::unique_ptr<Plan> p(new Plan(*this));
  p->outer = outer;
  // Row-major D = A * B^T is column-major D^T = B * A^T, the "TN" form
  // FP8 needs: cuBLASLt's A is our B (k x n column-major, transposed), its
  // B our A (k x m), its D our D^T (n x m); its per-row scales of A are
  // ours of B and vice versa.
  if (llvm::Error e = check(descCreate(&p->desc, kCompute32F, kR32F),
                            "cublasLtMatmulDescCreate"))
    return std::move(e);
  int32_t transA = kOpT, transB = kOpN;
  int32_t mode = outer ? kScaleOuterVec32F : kScaleScalar32F;
  void *ltAScale = reinterpret_cast<void *>(bScale);
  void *ltBScale = reinterpret_cast<void *>(aScale);
  struct Attr {
    int attr;
    const void *value;
    size_t size;
  } attrs[] = {
      {kDescTransA, &transA, sizeof(transA)},
      {kDescTransB, &transB, sizeof(transB)},
      {kDescAScaleMode, &mode, sizeof(mode)},
      {kDescBScaleMode, &mode, sizeof(mode)},
      {kDescAScalePointer, &ltAScale, sizeof(ltAScale)},
      {kDescBScalePointer, &ltBScale, sizeof(ltBScale)},
  };
  for (const Attr &a : attrs)
    if (llvm::Error e = check(descSet(p->desc, a.attr, a.value, a.size),
                              "cublasLtMatmulDescSetAttribute"))
      return std::move(e);
  if (llvm::Error e = check(layoutCreate(&p->aLayout, kR8F_E4M3, k, n, k),
                            "cublasLtMatrixLayoutCreate"))
    return std::move(e);
  if (llvm::Error e = check(layoutCreate(&p->bLayout, kR8F_E4M3, k, m, k),
                            "cublasLtMatrixLayoutCreate"))
    return std::move(e);
  if (llvm::Error e = check(layoutCreate(&p->dLayout, kR16BF, n, m, n),
                            "cublasLtMatrixLayoutCreate"))
    return std::move(e);

  void *pref = nullptr;
  if (llvm::Error e =
          check(prefCreate(&pref), "cublasLtMatmulPreferenceCreate"))
    return std::move(e);
  uint64_t maxWorkspace = kMaxWorkspace;
  int status = prefSet(pref, kPrefMaxWorkspaceBytes, &maxWorkspace,
                       sizeof(maxWorkspace));
  HeuristicResult result{};
  int found = 0;
  if (status == 0)
    status = heuristic(handle, p->desc, p->aLayout, p->bLayout, p->dLayout,
                       p->dLayout, pref, 1, &result, &found);
  prefDestroy(pref);
  if (llvm::Error e = check(status, "cublasLtMatmulAlgoGetHeuristic"))
    return std::move(e);
  if (found == 0 || result.state != 0)
    return fail("cublasLtMatmulAlgoGetHeuristic found no algorithm");
  std::copy(std::begin(result.algo), std::end(result.algo), p->algo);
  p->workspace = result.workspaceSize;
  return p;
}

llvm::Error CuBLASLt::run(const Plan &p, CUdeviceptr a, CUdeviceptr b,
                          CUdeviceptr d, CUdeviceptr workspace) {
  float alpha = 1.0f, beta = 0.0f;
  void *dPtr = reinterpret_cast<void *>(d);
  return check(matmul(handle, p.desc, &alpha, reinterpret_cast<void *>(b),
                      p.aLayout, reinterpret_cast<void *>(a), p.bLayout, &beta,
                      dPtr, p.dLayout, dPtr, p.dLayout, p.algo,
                      reinterpret_cast<void *>(workspace), p.workspace,
                      /*stream=*/nullptr),
               "cublasLtMatmul");
}

} // namespace bench
} // namespace nvfp4

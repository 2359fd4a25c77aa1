//===- KernelParams.h - cuLaunchKernel parameters of memrefs ----*- C++ -*-===//

#ifndef NVFP4_LIB_RUNTIME_KERNELPARAMS_H
#define NVFP4_LIB_RUNTIME_KERNELPARAMS_H

#include "nvfp4/Runtime/CudaDriver.h"

#include "llvm/ADT/SmallVector.h"

namespace nvfp4 {
namespace detail {

/// Kernel parameters of memref operands as convert-gpu-to-nvvm expands
/// them: allocated and aligned pointer, offset, sizes, strides.
class KernelParams {
public:
  void addMemRef(CUdeviceptr ptr, llvm::ArrayRef<int64_t> shape) {
    words.push_back(ptr);
    words.push_back(ptr);
    words.push_back(0);
    for (int64_t d : shape)
      words.push_back(uint64_t(d));
    int64_t stride = 1;
    llvm::SmallVector<uint64_t, 2> strides(shape.size());
    for (int i = int(shape.size()) - 1; i >= 0; --i) {
      strides[i] = uint64_t(stride);
      stride *= shape[i];
    }
    words.append(strides.begin(), strides.end());
  }
  llvm::SmallVector<void *> pointers() {
    llvm::SmallVector<void *> p;
    for (uint64_t &w : words)
      p.push_back(&w);
    return p;
  }

private:
  llvm::SmallVector<uint64_t, 32> words;
};
} // namespace detail
} // namespace nvfp4

#endif // NVFP4_LIB_RUNTIME_KERNELPARAMS_H

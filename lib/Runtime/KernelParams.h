//===- KernelParams.h - cuLaunchKernel parameters of memrefs ----*- C++ -*-===//

#ifndef NVFP4_LIB_RUNTIME_KERNELPARAMS_H
#define NVFP4_LIB_RUNTIME_KERNELPARAMS_H

#include "nvfp4/Runtime/CudaDriver.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"

#include <vector>

namespace nvfp4 {
namespace detail {

/// Kernel parameters of memref operands as convert-gpu-to-nvvm expands
/// them: allocated and aligned pointer, offset, sizes, strides; then the
/// kernel's tensor maps, each passed by value (a pointer to its 128 bytes).
class KernelParams {
public:
  /// A memref operand: its address, shape and name (for messages).
  struct Operand {
    CUdeviceptr ptr;
    llvm::SmallVector<int64_t, 3> shape;
    llvm::StringRef name;
    /// Bytes per element (a tensor map views the buffer as bytes).
    int64_t elementBytes = 1;
  };

  void addMemRef(CUdeviceptr ptr, llvm::ArrayRef<int64_t> shape,
                 llvm::StringRef name = "", int64_t elementBytes = 1) {
    operands.push_back(
        {ptr, llvm::SmallVector<int64_t, 3>(shape), name, elementBytes});
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
  llvm::ArrayRef<Operand> memRefs() const { return operands; }

  /// The 128 bytes of a CUtensorMap, aligned as cuda.h declares it.
  struct alignas(128) TensorMap {
    uint64_t words[16];
  };
  static_assert(sizeof(TensorMap) == 128, "CUtensorMap is 128 bytes");
  /// Room for `count` tensor maps after the memrefs (replacing any
  /// earlier ones), to be encoded in place; they live as long as this
  /// object, which the launch call outlives.
  llvm::MutableArrayRef<TensorMap> resetTensorMaps(size_t count) {
    maps.assign(count, TensorMap{});
    return maps;
  }

  llvm::SmallVector<void *> pointers() {
    llvm::SmallVector<void *> p;
    for (uint64_t &w : words)
      p.push_back(&w);
    for (TensorMap &m : maps)
      p.push_back(&m);
    return p;
  }

private:
  llvm::SmallVector<uint64_t, 32> words;
  llvm::SmallVector<Operand, 9> operands;
  /// std::vector: its allocator honours the 128-byte alignment (C++17
  /// aligned new); SmallVector's heap growth would not.
  std::vector<TensorMap> maps;
};
} // namespace detail
} // namespace nvfp4

#endif // NVFP4_LIB_RUNTIME_KERNELPARAMS_H

//===- DeviceCopies.h - Host buffers staged in device memory ----*- C++ -*-===//
//
// The host-memory conveniences (GPURunner::quantize, matmul, ...) copy their
// operands to fresh device buffers, run the device form, and copy results
// back; this holds those buffers for one call.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_LIB_RUNTIME_DEVICECOPIES_H
#define NVFP4_LIB_RUNTIME_DEVICECOPIES_H

#include "nvfp4/Runtime/CudaDriver.h"
#include "nvfp4/Runtime/GPURunner.h"
#include "nvfp4/Runtime/HostRunner.h"

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/SmallVector.h"

#include <algorithm>
#include <optional>
#include <vector>

namespace nvfp4 {
namespace detail {

/// Host buffers copied to fresh device buffers and back; frees them when
/// destroyed.
class DeviceCopies {
public:
  explicit DeviceCopies(CudaDevice &dev) : dev(dev) {}
  ~DeviceCopies() {
    for (Buffer &b : buffers)
      if (b.ptr)
        llvm::consumeError(dev.free(b.ptr));
  }
  /// Adds a device buffer of `bytes`; `in` is copied to it, and it is
  /// copied back to `out` by copyOut().
  void add(const void *in, void *out, size_t bytes) {
    buffers.push_back({in, out, bytes});
  }
  /// Adds the data, scale and amax of `q`, copied in.
  void addOperand(const QuantizedOutput &q) {
    add(q.data.data(), nullptr, q.data.size());
    add(q.scale.data(), nullptr, q.scale.size());
    add(q.amax.data(), nullptr, q.amax.size() * sizeof(float));
  }
  /// Adds a GEMM's last operands: its bias, if any (copied in), and its
  /// result `out` (copied back).
  void addGemmResult(const std::optional<std::vector<float>> &bias,
                     std::vector<uint8_t> &out) {
    if (bias)
      add(bias->data(), nullptr, bias->size() * sizeof(float));
    add(nullptr, out.data(), out.size());
  }
  llvm::Error allocateAndCopyIn() {
    for (Buffer &b : buffers) {
      // Zero-size buffers (no groups' worth of data) still get a pointer.
      auto ptr = dev.alloc(std::max<size_t>(b.bytes, 1));
      if (!ptr)
        return ptr.takeError();
      b.ptr = *ptr;
      if (b.in && b.bytes)
        if (llvm::Error e = dev.copyToDevice(b.ptr, b.in, b.bytes))
          return e;
    }
    return llvm::Error::success();
  }
  /// The sequence of every host-memory convenience: allocate and copy in,
  /// `launch` on the buffers' addresses (in the order added), wait for the
  /// device, copy results out.
  llvm::Error run(
      llvm::function_ref<llvm::Error(llvm::ArrayRef<CUdeviceptr>)> launch) {
    if (llvm::Error e = allocateAndCopyIn())
      return e;
    if (llvm::Error e = launch(pointers()))
      return e;
    if (llvm::Error e = dev.synchronize())
      return e;
    return copyOut();
  }
  llvm::Error copyOut() {
    for (Buffer &b : buffers)
      if (b.out && b.bytes)
        if (llvm::Error e = dev.copyToHost(b.out, b.ptr, b.bytes))
          return e;
    return llvm::Error::success();
  }
  llvm::SmallVector<CUdeviceptr> pointers() const {
    llvm::SmallVector<CUdeviceptr> p;
    for (const Buffer &b : buffers)
      p.push_back(b.ptr);
    return p;
  }

private:
  struct Buffer {
    const void *in;
    void *out;
    size_t bytes;
    CUdeviceptr ptr = 0;
  };
  CudaDevice &dev;
  llvm::SmallVector<Buffer> buffers;
};

/// The one sequence of every host-memory GPU convenience: `compiled` (or
/// its error) loaded on the runner's device, the buffers `stage` adds
/// copied in, `launch` enqueued on their addresses, the device awaited and
/// the results copied back (DeviceCopies::run).
inline llvm::Error runStaged(
    GPURunner &runner, llvm::Expected<const CompiledQuantize *> compiled,
    llvm::function_ref<void(DeviceCopies &)> stage,
    llvm::function_ref<llvm::Error(const CompiledQuantize &,
                                   CudaDevice::Module &,
                                   llvm::ArrayRef<CUdeviceptr>)>
        launch) {
  if (!compiled)
    return compiled.takeError();
  auto dev = runner.device();
  if (!dev)
    return dev.takeError();
  auto module = runner.load(**compiled);
  if (!module)
    return module.takeError();
  DeviceCopies buffers(**dev);
  stage(buffers);
  return buffers.run([&](llvm::ArrayRef<CUdeviceptr> pointers) {
    return launch(**compiled, **module, pointers);
  });
}

} // namespace detail
} // namespace nvfp4

#endif // NVFP4_LIB_RUNTIME_DEVICECOPIES_H

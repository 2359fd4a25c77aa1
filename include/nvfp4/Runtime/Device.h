//===- Device.h - Devices, streams, buffers and loaded kernels --*- C++ -*-===//
//
// RAII handles over CudaDevice (the driver API loaded with dlopen), for
// programs that own their device memory: a Device, its Streams,
// DeviceBuffers and Kernels (a compiled recipe loaded on the device). Every
// failure is an llvm::Error naming the driver call and its cuGetErrorName.
//
// Thread safety: a Device may be shared by threads. Module loading and
// kernel launches take the Device's mutex (the driver's module function
// table is not safe for concurrent insertion); allocations and copies go
// straight to the (thread-safe) driver. A Stream orders work as CUDA
// streams do; using one Stream from several threads orders nothing.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_RUNTIME_DEVICE_H
#define NVFP4_RUNTIME_DEVICE_H

#include "nvfp4/Runtime/Compiler.h"
#include "nvfp4/Runtime/CudaDriver.h"

#include <map>
#include <memory>
#include <mutex>

namespace nvfp4 {

class Device;

/// A CUDA stream. Owning streams are destroyed with the object; wrapped
/// ones (a framework's stream, or the legacy default stream) are not.
class Stream {
public:
  Stream(Stream &&other) noexcept;
  Stream &operator=(Stream &&other) noexcept;
  ~Stream();
  void *handle() const { return stream; }
  Device &device() const { return *dev; }
  llvm::Error synchronize();

private:
  friend class Device;
  Stream(std::shared_ptr<Device> dev, void *stream, bool owned)
      : dev(std::move(dev)), stream(stream), owned(owned) {}
  std::shared_ptr<Device> dev;
  void *stream = nullptr;
  bool owned = false;
};

/// Device memory, freed with the object.
class DeviceBuffer {
public:
  DeviceBuffer(DeviceBuffer &&other) noexcept;
  DeviceBuffer &operator=(DeviceBuffer &&other) noexcept;
  ~DeviceBuffer();
  CUdeviceptr ptr() const { return address; }
  size_t size() const { return bytes; }
  /// Synchronous copies of `n` bytes (at most size()).
  llvm::Error copyFromHost(const void *src, size_t n);
  llvm::Error copyToHost(void *dst, size_t n) const;

private:
  friend class Device;
  DeviceBuffer(std::shared_ptr<Device> dev, CUdeviceptr address, size_t bytes)
      : dev(std::move(dev)), address(address), bytes(bytes) {}
  void release();
  std::shared_ptr<Device> dev;
  CUdeviceptr address = 0;
  size_t bytes = 0;
};

/// A compiled recipe loaded on a device.
class Kernel {
public:
  const CompiledRecipe &compiled() const { return recipe; }
  const std::vector<KernelInfo> &kernels() const {
    return recipe.code->kernels;
  }

  /// Enqueues a quantization on `stream`: `buffers` in operand order
  /// (input, then data, scale, amax per direction), shaped as `outputs`
  /// (from describeOutputs). Does not synchronize.
  llvm::Error launchQuantize(Stream &stream, int64_t rows, int64_t cols,
                             const QuantizeResult &outputs,
                             llvm::ArrayRef<CUdeviceptr> buffers) const;
  /// The grouped form (a GroupedQuantize compilation): `buffers` are the
  /// input, the device array of `groups` int64 group sizes, then data,
  /// scale, amax per direction, shaped as `outputs` (describeOutputs with
  /// `groups`).
  llvm::Error launchQuantizeGrouped(Stream &stream, int64_t rows, int64_t cols,
                                    int64_t groups,
                                    const QuantizeResult &outputs,
                                    llvm::ArrayRef<CUdeviceptr> buffers) const;
  /// Enqueues an Amax compilation (`nvfp4.amax`): `buffers` are the input,
  /// then the amax of each direction, shaped as `outputs` (describeOutputs).
  llvm::Error launchAmax(Stream &stream, int64_t rows, int64_t cols,
                         const QuantizeResult &outputs,
                         llvm::ArrayRef<CUdeviceptr> buffers) const;
  /// Enqueues a producer compilation (Compiler::compileProducer) over a
  /// rows x cols input: `buffers` in operand order (producerOperands, then
  /// data, scale, amax per direction of `outputs`, from describeOutputs on
  /// the producer's result; null for the producer alone).
  llvm::Error launchProducer(Stream &stream, int64_t rows, int64_t cols,
                             const QuantizeResult *outputs,
                             llvm::ArrayRef<CUdeviceptr> buffers) const;
  /// Enqueues a GEMM (a Compiler::compileMatmul compilation): `a` and `b`
  /// give the operand shapes (matmulOperandShape), `buffers` the device
  /// addresses in operand order: a data, scale, amax, b data, scale, amax,
  /// [bias], output.
  llvm::Error launchMatmul(Stream &stream, const QuantizedOutput &a,
                           const QuantizedOutput &b,
                           llvm::ArrayRef<CUdeviceptr> buffers) const;
  /// Enqueues a W4A16 GEMM (a Compiler::compileMatmulW4A16 compilation):
  /// A is M x K, B has the shapes of `b` (matmulOperandShape); `buffers` in
  /// operand order: a, b data, scale, amax, [bias], output.
  llvm::Error launchMatmulW4A16(Stream &stream, int64_t m, int64_t k,
                                const QuantizedOutput &b,
                                llvm::ArrayRef<CUdeviceptr> buffers) const;
  /// Enqueues a grouped GEMM: M rows of A in `groups` groups, G stacked
  /// N x K operands B; `buffers`: splits, a data, scale, amax, b data,
  /// scale, amax, [bias], output.
  llvm::Error launchMatmulGrouped(Stream &stream, int64_t m, int64_t groups,
                                  int64_t n, int64_t k,
                                  llvm::ArrayRef<CUdeviceptr> buffers) const;
  /// Enqueues a dequantization of the quantized matrix `input` (shapes
  /// only) from `data`, `scale`, `amax` into the f32 `output`
  /// (input.rows x input.cols): the kernel operands in op order.
  llvm::Error launchDequantize(Stream &stream, const QuantizedOutput &input,
                               CUdeviceptr data, CUdeviceptr scale,
                               CUdeviceptr amax, CUdeviceptr output) const;

private:
  friend class Device;
  Kernel(std::shared_ptr<Device> dev, CompiledRecipe recipe,
         std::shared_ptr<CudaDevice::Module> module)
      : dev(std::move(dev)), recipe(std::move(recipe)),
        module(std::move(module)) {}
  llvm::Error launchAll(Stream &stream, const QuantizeResult &outputs,
                        llvm::ArrayRef<void *> params,
                        std::optional<int64_t> groups = std::nullopt) const;
  /// Checks that `stream` is on this kernel's device and the compilation
  /// is an `op`: the start of every launch.
  llvm::Error checkLaunch(Stream &stream, Operation op) const;
  std::shared_ptr<Device> dev;
  CompiledRecipe recipe;
  std::shared_ptr<CudaDevice::Module> module;
};

class Device : public std::enable_shared_from_this<Device> {
public:
  /// Opens device `ordinal` (its primary context, shared with frameworks
  /// such as PyTorch). `driverLibrary` replaces libcuda.so.1 (tests).
  static llvm::Expected<std::shared_ptr<Device>>
  open(int ordinal = 0, llvm::StringRef driverLibrary = "libcuda.so.1");
  /// One Device per ordinal for the whole process.
  static llvm::Expected<std::shared_ptr<Device>> shared(int ordinal = 0);

  CudaDevice &cuda() { return *dev; }
  const std::string &name() const { return dev->name(); }
  int computeCapability() const { return dev->computeCapability(); }
  /// The compiler target for this device (gpuTargetFor: sm_90a for 9.0,
  /// sm_100a for 10.0, sm_120a for 12.0, ...); other devices are an error.
  llvm::Expected<std::string> target() const;

  llvm::Expected<DeviceBuffer> allocate(size_t bytes);
  llvm::Expected<Stream> createStream();
  /// A non-owning handle on an existing CUstream (null: legacy default).
  Stream wrapStream(void *stream);

  /// Loads `compiled` (a GPU compilation); each image is loaded once per
  /// device and kept while the Device lives.
  llvm::Expected<Kernel> load(const CompiledRecipe &compiled);

private:
  friend class Kernel;
  explicit Device(std::unique_ptr<CudaDevice> dev) : dev(std::move(dev)) {}
  std::unique_ptr<CudaDevice> dev;
  std::mutex mutex;
  /// Loaded images, keyed by the compiled code they came from (held so the
  /// key stays valid). Declared after `dev`: unloaded before its context.
  std::map<const CompiledQuantize *,
           std::pair<std::shared_ptr<const CompiledQuantize>,
                     std::shared_ptr<CudaDevice::Module>>>
      modules;
};

} // namespace nvfp4

#endif // NVFP4_RUNTIME_DEVICE_H

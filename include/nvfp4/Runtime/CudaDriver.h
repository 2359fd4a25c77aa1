//===- CudaDriver.h - The CUDA driver API, loaded at run time ----*- C++ -*-===//
//
// libcuda.so.1 is opened with dlopen on first use, so everything builds and
// the CPU path runs on machines without a GPU or driver. Every call returns
// an llvm::Error naming the failing driver function and its
// cuGetErrorName; nothing prints or aborts.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_RUNTIME_CUDADRIVER_H
#define NVFP4_RUNTIME_CUDADRIVER_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace nvfp4 {

using CUdeviceptr = unsigned long long;

/// The arguments of cuTensorMapEncodeTiled for a tiled TMA map over a
/// row-major byte matrix (tensorMapEncoding in GPURunner.h computes them):
/// a rank-2 uint8 tensor, innermost dimension first, no interleave, zeros
/// out of bounds.
struct TensorMapEncoding {
  uint64_t dims[2];           ///< {row bytes, rows}
  uint64_t strides[1];        ///< the row pitch in bytes
  uint32_t box[2];            ///< {box bytes, box rows}
  uint32_t elementStrides[2]; ///< {1, 1}: every element
  /// CUtensorMapSwizzle: 0 none, 1 32-byte, 2 64-byte, 3 128-byte.
  int swizzle;
};

/// A device context plus the driver entry points (primary context of one
/// device, made current on the calling thread by each call).
class CudaDevice {
public:
  /// Loads the driver, initialises it and retains device `ordinal`'s
  /// primary context. Fails with a clear message when there is no driver
  /// or no such device.
  static llvm::Expected<std::unique_ptr<CudaDevice>> open(int ordinal = 0);
  /// The same with the driver loaded from `driverLibrary` instead of
  /// libcuda.so.1 (tests point it at a missing library to check the
  /// no-driver error). Each library is loaded once per process.
  static llvm::Expected<std::unique_ptr<CudaDevice>>
  open(int ordinal, llvm::StringRef driverLibrary);
  ~CudaDevice();

  /// The device name, e.g. "NVIDIA H100 80GB HBM3".
  const std::string &name() const { return deviceName; }
  /// Compute capability as major * 10 + minor (90 for sm_90).
  int computeCapability() const { return cc; }
  /// Streaming multiprocessors: persistent kernels launch at most one
  /// block per SM.
  int multiprocessors() const { return sms; }

  llvm::Expected<CUdeviceptr> alloc(size_t bytes);
  llvm::Error free(CUdeviceptr ptr);
  /// Stream-ordered allocation (cuMemAllocFromPoolAsync): the memory may
  /// be used by work enqueued on `stream` after this call, and is released
  /// by freeAsync on a stream. Both may be captured into a CUDA graph
  /// (captureGraph), unlike alloc/free. It comes from a memory pool of this
  /// object's own (created on first use, destroyed with it), which keeps
  /// freed memory for later allocations across synchronizations, where the
  /// device's default pool would return it to the driver at each one; the
  /// pool holds at most the largest total in use at once so far.
  llvm::Expected<CUdeviceptr> allocAsync(size_t bytes, void *stream);
  /// Returns `ptr` (from allocAsync) to its pool once the work enqueued on
  /// `stream` before it has finished (cuMemFreeAsync).
  llvm::Error freeAsync(CUdeviceptr ptr, void *stream);
  llvm::Error copyToDevice(CUdeviceptr dst, const void *src, size_t bytes);
  llvm::Error copyToHost(void *dst, CUdeviceptr src, size_t bytes);
  llvm::Error copyDeviceToDevice(CUdeviceptr dst, CUdeviceptr src,
                                 size_t bytes);
  llvm::Error synchronize();

  /// Times `work` (which enqueues device work) with CUDA events: the
  /// elapsed device milliseconds between before and after it.
  llvm::Expected<float> time(llvm::function_ref<llvm::Error()> work);

  /// A loaded module (cubin) and the functions looked up in it.
  class Module;
  llvm::Expected<std::shared_ptr<Module>>
  loadModule(llvm::ArrayRef<char> image);
  /// Launches `kernel` of `module` with 1-D grid/block sizes; `params` are
  /// pointers to each kernel parameter's value (cuLaunchKernel style).
  llvm::Error launch(Module &module, llvm::StringRef kernel, unsigned grid,
                     unsigned block, llvm::ArrayRef<void *> params);
  /// The same on `stream` (a CUstream; null is the legacy default stream)
  /// with `sharedBytes` of dynamic shared memory per block; above the
  /// default 48 KB the kernel's limit is raised first (once per kernel).
  /// `dependent` says the kernel waits on its predecessor itself
  /// (KernelInfo::pdl): while dependentLaunch() is on, it is launched with
  /// programmatic stream serialization (cuLaunchKernelEx), so it may start
  /// before the kernel before it on the stream has finished. `cluster` > 1
  /// launches thread-block clusters of that many blocks along x (`grid` a
  /// multiple of it; needs clusterLaunch()).
  llvm::Error launch(Module &module, llvm::StringRef kernel, unsigned grid,
                     unsigned block, llvm::ArrayRef<void *> params,
                     void *stream, unsigned sharedBytes = 0,
                     bool dependent = false, unsigned cluster = 1);

  /// Whether kernels can be launched in thread-block clusters: the device
  /// says so (CU_DEVICE_ATTRIBUTE_CLUSTER_LAUNCH, compute capability 9.0
  /// on) and the driver has cuLaunchKernelEx.
  bool clusterLaunch() const;

  /// How many blocks of `block` threads and `sharedBytes` of dynamic shared
  /// memory of `kernel` one SM holds at once
  /// (cuOccupancyMaxActiveBlocksPerMultiprocessor; cached per kernel).
  llvm::Expected<int> residentBlocksPerSM(Module &module,
                                          llvm::StringRef kernel,
                                          unsigned block,
                                          unsigned sharedBytes);

  /// Programmatic dependent launch of the kernels that allow it (sm_90 on;
  /// docs/Rationale.md). On by default where the device (compute
  /// capability 9.0 or later) and the driver (cuLaunchKernelEx) have it,
  /// unless the environment variable NVFP4_PDL is `0` (read once per
  /// process). A program may switch it for its later launches, e.g. to
  /// measure both ways in one process; switching it on where the device
  /// or driver lacks it leaves it off. The bytes computed are the same
  /// either way.
  bool dependentLaunch() const { return pdl.load(); }
  void setDependentLaunch(bool on);

  /// The cluster size the GEMM kernels that split K over a cluster
  /// (KernelInfo::clusterSplit) are launched with: 0 (the default) lets
  /// the launch pick it (pickGemmClusterSplit); 1 to kMaxGemmClusterSplit (8)
  /// forces it, capped by each kernel's own limit, so tests and benchmarks
  /// can run every split. The environment variable NVFP4_GEMM_SPLIT_K
  /// (read when the device is opened) sets it for a process. Where clusters
  /// cannot be launched (clusterLaunch()) every kernel runs unsplit. A
  /// split changes the order in which K's partial sums are added, so
  /// results of different splits may differ in the last bits (within
  /// SPEC.md section 12's tolerance); each split is deterministic.
  unsigned gemmClusterSplit() const { return gemmSplit.load(); }
  /// Sets gemmClusterSplit(); an error for a value above 8.
  llvm::Error setGemmClusterSplit(unsigned split);

  /// Encodes a TMA tensor map (cuTensorMapEncodeTiled, CUDA 12.0 on) of
  /// the byte matrix at `address` into the 128 bytes at `map` (128-byte
  /// aligned). Host work only: nothing is enqueued, so a launch may encode
  /// its maps during a stream capture.
  llvm::Error encodeTensorMap(void *map, CUdeviceptr address,
                              const TensorMapEncoding &encoding);

  /// Streams (CUstream handles) for asynchronous work.
  llvm::Expected<void *> createStream();
  llvm::Error destroyStream(void *stream);
  llvm::Error synchronizeStream(void *stream);
  llvm::Error copyToDeviceAsync(CUdeviceptr dst, const void *src, size_t bytes,
                                void *stream);
  llvm::Error copyToHostAsync(void *dst, CUdeviceptr src, size_t bytes,
                              void *stream);

  /// Captures what `enqueue` puts on `stream` (not the legacy default
  /// stream) into a CUDA graph in global capture mode, so that any call
  /// illegal during a capture fails, and instantiates it: the executable
  /// graph (a CUgraphExec), released with destroyGraph().
  llvm::Expected<void *> captureGraph(void *stream,
                                      llvm::function_ref<llvm::Error()> enqueue);
  /// Replays a captured graph on `stream`.
  llvm::Error launchGraph(void *graphExec, void *stream);
  void destroyGraph(void *graphExec);

  struct Api;

private:
  CudaDevice() = default;
  const Api *api = nullptr;
  void *context = nullptr;
  int device = 0;
  int cc = 0;
  int sms = 0;
  bool clusters = false;
  std::string deviceName;
  std::atomic<bool> pdl{false};
  std::atomic<unsigned> gemmSplit{0};
  /// allocAsync's memory pool (a CUmemoryPool), created on first use.
  std::mutex poolMutex;
  void *pool = nullptr;
};

} // namespace nvfp4

#endif // NVFP4_RUNTIME_CUDADRIVER_H

//===- CudaDriver.cpp - The CUDA driver API, loaded at run time -----------===//

#include "Errors.h"
#include "nvfp4/Runtime/CudaDriver.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/Twine.h"

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <dlfcn.h>
#include <mutex>

using namespace nvfp4;

namespace {
using CUresult = int;
using CUdevice = int;
using CUcontext = void *;
using CUmodule = void *;
using CUfunction = void *;
using CUstream = void *;
constexpr int kComputeCapabilityMajor = 75; // CU_DEVICE_ATTRIBUTE_...MAJOR
constexpr int kComputeCapabilityMinor = 76; // CU_DEVICE_ATTRIBUTE_...MINOR
constexpr int kMultiprocessorCount = 16;   // CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT
constexpr int kClusterLaunchSupported = 120; // CU_DEVICE_ATTRIBUTE_CLUSTER_LAUNCH

/// CUlaunchAttribute (cuda.h, CUDA 12 and 13): an id padded to 8 bytes and
/// a 64-byte value union.
struct LaunchAttribute {
  int id;
  char pad[4];
  alignas(8) union {
    char bytes[64];
    int programmaticStreamSerializationAllowed;
    struct {
      unsigned x, y, z;
    } clusterDim;
  } value;
};
static_assert(sizeof(LaunchAttribute) == 72 &&
                  offsetof(LaunchAttribute, value) == 8,
              "CUlaunchAttribute layout");
/// CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION.
constexpr int kProgrammaticStreamSerialization = 6;
/// CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION.
constexpr int kClusterDimension = 4;
/// The largest cluster every chip with clusters schedules without a
/// per-kernel opt-in (the portable cluster size).
constexpr unsigned kPortableClusterSize = 8;

/// CUmemPoolProps (cuda.h, CUDA 11.2 to 13; the bytes after `location`
/// and the Windows attributes are zero).
struct MemPoolProps {
  int allocType;   ///< CU_MEM_ALLOCATION_TYPE_PINNED = 1
  int handleTypes; ///< CU_MEM_HANDLE_TYPE_NONE = 0
  int locationType; ///< CU_MEM_LOCATION_TYPE_DEVICE = 1
  int locationId;   ///< the device ordinal
  void *win32SecurityAttributes;
  size_t maxSize;
  unsigned short usage;
  unsigned char reserved[54];
};
static_assert(sizeof(MemPoolProps) == 88 &&
                  offsetof(MemPoolProps, maxSize) == 24,
              "CUmemPoolProps layout");
/// CU_MEMPOOL_ATTR_RELEASE_THRESHOLD.
constexpr int kPoolReleaseThreshold = 4;

/// CUlaunchConfig (cuda.h).
struct LaunchConfig {
  unsigned gridDimX, gridDimY, gridDimZ;
  unsigned blockDimX, blockDimY, blockDimZ;
  unsigned sharedMemBytes;
  CUstream hStream;
  LaunchAttribute *attrs;
  unsigned numAttrs;
};
static_assert(sizeof(LaunchConfig) == 56 &&
                  offsetof(LaunchConfig, hStream) == 32 &&
                  offsetof(LaunchConfig, numAttrs) == 48,
              "CUlaunchConfig layout");

/// NVFP4_PDL=0 turns programmatic dependent launch off for the process
/// (a kill switch for a framework's users; programs call
/// CudaDevice::setDependentLaunch). Read once.
bool dependentLaunchAllowedByEnvironment() {
  static const bool allowed = [] {
    const char *value = std::getenv("NVFP4_PDL");
    return !(value && std::strcmp(value, "0") == 0);
  }();
  return allowed;
}

/// NVFP4_GEMM_SPLIT_K: the GEMM cluster split of the devices this process
/// opens (CudaDevice::setGemmClusterSplit); unset or empty: 0 (automatic).
llvm::Expected<unsigned> gemmClusterSplitFromEnvironment() {
  const char *value = std::getenv("NVFP4_GEMM_SPLIT_K");
  if (!value || !*value)
    return 0u;
  unsigned split = 0;
  if (llvm::StringRef(value).getAsInteger(10, split) ||
      split > kPortableClusterSize)
    return ::nvfp4::detail::makeError(
        llvm::Twine("NVFP4_GEMM_SPLIT_K must be 0 (automatic) or a cluster "
                    "size from 1 to 8, got '") +
        value + "'");
  return split;
}
} // namespace

/// Entry points resolved from libcuda.so.1 (the _v2 ABI where one exists).
struct CudaDevice::Api {
  CUresult (*init)(unsigned);
  CUresult (*getErrorName)(CUresult, const char **);
  CUresult (*deviceGetCount)(int *);
  CUresult (*deviceGet)(CUdevice *, int);
  CUresult (*deviceGetName)(char *, int, CUdevice);
  CUresult (*deviceGetAttribute)(int *, int, CUdevice);
  CUresult (*primaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*primaryCtxRelease)(CUdevice);
  CUresult (*ctxSetCurrent)(CUcontext);
  CUresult (*ctxSynchronize)();
  CUresult (*memAlloc)(CUdeviceptr *, size_t);
  CUresult (*memFree)(CUdeviceptr);
  CUresult (*memPoolCreate)(void **, const MemPoolProps *);
  CUresult (*memPoolDestroy)(void *);
  CUresult (*memPoolSetAttribute)(void *, int, void *);
  CUresult (*memAllocFromPoolAsync)(CUdeviceptr *, size_t, void *, CUstream);
  CUresult (*memFreeAsync)(CUdeviceptr, CUstream);
  CUresult (*memcpyHtoD)(CUdeviceptr, const void *, size_t);
  CUresult (*memcpyDtoH)(void *, CUdeviceptr, size_t);
  CUresult (*memcpyDtoD)(CUdeviceptr, CUdeviceptr, size_t);
  CUresult (*eventCreate)(void **, unsigned);
  CUresult (*eventRecord)(void *, CUstream);
  CUresult (*eventSynchronize)(void *);
  CUresult (*eventElapsedTime)(float *, void *, void *);
  CUresult (*eventDestroy)(void *);
  CUresult (*moduleLoadData)(CUmodule *, const void *);
  CUresult (*moduleUnload)(CUmodule);
  CUresult (*moduleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*funcSetAttribute)(CUfunction, int, int);
  CUresult (*launchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned,
                           unsigned, unsigned, unsigned, CUstream, void **,
                           void **);
  /// Null on a driver older than CUDA 12.0 (no programmatic launch and no
  /// clusters then).
  CUresult (*launchKernelEx)(const LaunchConfig *, CUfunction, void **,
                             void **);
  CUresult (*occupancyMaxActiveBlocksPerMultiprocessor)(int *, CUfunction,
                                                        int, size_t);
  CUresult (*streamCreate)(CUstream *, unsigned);
  CUresult (*streamDestroy)(CUstream);
  CUresult (*streamSynchronize)(CUstream);
  CUresult (*memcpyHtoDAsync)(CUdeviceptr, const void *, size_t, CUstream);
  CUresult (*memcpyDtoHAsync)(void *, CUdeviceptr, size_t, CUstream);
  CUresult (*streamBeginCapture)(CUstream, int);
  CUresult (*streamEndCapture)(CUstream, void **);
  CUresult (*graphInstantiate)(void **, void *, unsigned long long);
  CUresult (*graphLaunch)(void *, CUstream);
  CUresult (*graphExecDestroy)(void *);
  CUresult (*graphDestroy)(void *);
  /// Null on a driver older than CUDA 12.0 (no TMA then). The enums are
  /// ints: data type, interleave, swizzle, L2 promotion, out-of-bounds fill.
  CUresult (*tensorMapEncodeTiled)(void *, int, unsigned, void *,
                                   const uint64_t *, const uint64_t *,
                                   const unsigned *, const unsigned *, int, int,
                                   int, int);
};

namespace {
using ::nvfp4::detail::makeError;

/// A driver library's entry points, or why they could not be loaded.
struct LoadedApi {
  CudaDevice::Api api;
  std::string failure;
};

/// Loads `library` once per process (entries are never freed: the driver
/// stays loaded for the life of the process).
llvm::Expected<const CudaDevice::Api *> loadApi(llvm::StringRef library) {
  static std::mutex mutex;
  static llvm::StringMap<std::unique_ptr<LoadedApi>> loaded;
  std::lock_guard<std::mutex> lock(mutex);
  std::unique_ptr<LoadedApi> &entry = loaded[library];
  if (!entry) {
    entry = std::make_unique<LoadedApi>();
    CudaDevice::Api &api = entry->api;
    std::string &failure = entry->failure;
    void *lib = dlopen(library.str().c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      const char *why = dlerror();
      failure = "cannot load the CUDA driver (" + library.str() +
                "): " + (why ? why : "unknown error");
      return makeError(failure);
    }
    auto get = [&](auto &fn, const char *symbol) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(
          dlsym(lib, symbol));
      if (!fn && failure.empty())
        failure = std::string("the CUDA driver lacks ") + symbol;
    };
    get(api.init, "cuInit");
    get(api.getErrorName, "cuGetErrorName");
    get(api.deviceGetCount, "cuDeviceGetCount");
    get(api.deviceGet, "cuDeviceGet");
    get(api.deviceGetName, "cuDeviceGetName");
    get(api.deviceGetAttribute, "cuDeviceGetAttribute");
    get(api.primaryCtxRetain, "cuDevicePrimaryCtxRetain");
    get(api.primaryCtxRelease, "cuDevicePrimaryCtxRelease_v2");
    get(api.ctxSetCurrent, "cuCtxSetCurrent");
    get(api.ctxSynchronize, "cuCtxSynchronize");
    get(api.memAlloc, "cuMemAlloc_v2");
    get(api.memFree, "cuMemFree_v2");
    get(api.memPoolCreate, "cuMemPoolCreate");
    get(api.memPoolDestroy, "cuMemPoolDestroy");
    get(api.memPoolSetAttribute, "cuMemPoolSetAttribute");
    get(api.memAllocFromPoolAsync, "cuMemAllocFromPoolAsync");
    get(api.memFreeAsync, "cuMemFreeAsync");
    get(api.memcpyHtoD, "cuMemcpyHtoD_v2");
    get(api.memcpyDtoH, "cuMemcpyDtoH_v2");
    get(api.memcpyDtoD, "cuMemcpyDtoD_v2");
    get(api.eventCreate, "cuEventCreate");
    get(api.eventRecord, "cuEventRecord");
    get(api.eventSynchronize, "cuEventSynchronize");
    get(api.eventElapsedTime, "cuEventElapsedTime");
    get(api.eventDestroy, "cuEventDestroy_v2");
    get(api.moduleLoadData, "cuModuleLoadData");
    get(api.moduleUnload, "cuModuleUnload");
    get(api.moduleGetFunction, "cuModuleGetFunction");
    get(api.funcSetAttribute, "cuFuncSetAttribute");
    get(api.launchKernel, "cuLaunchKernel");
    // Optional: only programmatic dependent launch needs it.
    api.launchKernelEx =
        reinterpret_cast<decltype(api.launchKernelEx)>(
            dlsym(lib, "cuLaunchKernelEx"));
    get(api.occupancyMaxActiveBlocksPerMultiprocessor,
        "cuOccupancyMaxActiveBlocksPerMultiprocessor");
    get(api.streamCreate, "cuStreamCreate");
    get(api.streamDestroy, "cuStreamDestroy_v2");
    get(api.streamSynchronize, "cuStreamSynchronize");
    get(api.memcpyHtoDAsync, "cuMemcpyHtoDAsync_v2");
    get(api.memcpyDtoHAsync, "cuMemcpyDtoHAsync_v2");
    get(api.streamBeginCapture, "cuStreamBeginCapture_v2");
    get(api.streamEndCapture, "cuStreamEndCapture");
    get(api.graphInstantiate, "cuGraphInstantiateWithFlags");
    get(api.graphLaunch, "cuGraphLaunch");
    get(api.graphExecDestroy, "cuGraphExecDestroy");
    get(api.graphDestroy, "cuGraphDestroy");
    // Optional: only kernels that load through TMA need it.
    api.tensorMapEncodeTiled =
        reinterpret_cast<decltype(api.tensorMapEncodeTiled)>(
            dlsym(lib, "cuTensorMapEncodeTiled"));
  }
  if (!entry->failure.empty())
    return makeError(entry->failure);
  return &entry->api;
}

/// The error of a failed driver call: "cuMemAlloc_v2 failed:
/// CUDA_ERROR_OUT_OF_MEMORY".
llvm::Error check(const CudaDevice::Api *api, CUresult result,
                  const char *call) {
  if (result == 0)
    return llvm::Error::success();
  const char *name = nullptr;
  if (api->getErrorName(result, &name) != 0 || !name)
    name = "unknown CUDA error";
  return makeError(llvm::Twine(call) + " failed: " + name + " (" +
                   llvm::Twine(result) + ")");
}
} // namespace

class CudaDevice::Module {
public:
  Module(const Api *api, CUmodule module) : api(api), module(module) {}
  ~Module() { api->moduleUnload(module); }
  llvm::Expected<CUfunction> function(llvm::StringRef name) {
    auto it = functions.find(name);
    if (it != functions.end())
      return it->second;
    CUfunction fn = nullptr;
    if (llvm::Error e = check(api,
                              api->moduleGetFunction(&fn, module,
                                                     name.str().c_str()),
                              "cuModuleGetFunction"))
      return std::move(e);
    functions[name] = fn;
    return fn;
  }

  /// Lets `fn` (named `name`) take `bytes` of dynamic shared memory: a
  /// kernel gets at most 48 KB unless its limit is raised.
  llvm::Error reserveSharedMemory(llvm::StringRef name, CUfunction fn,
                                  unsigned bytes) {
    constexpr unsigned kDefaultLimit = 48 * 1024;
    unsigned &limit = sharedLimits[name];
    if (bytes <= std::max(limit, kDefaultLimit))
      return llvm::Error::success();
    // CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES.
    constexpr int kMaxDynamicSharedSizeBytes = 8;
    if (llvm::Error e = check(api,
                              api->funcSetAttribute(
                                  fn, kMaxDynamicSharedSizeBytes, int(bytes)),
                              "cuFuncSetAttribute"))
      return e;
    limit = bytes;
    return llvm::Error::success();
  }

  /// Blocks of kernel `name` one SM holds, if residentBlocks has asked:
  /// a kernel's launch shape does not change between its launches.
  std::optional<int> knownResidentBlocks(llvm::StringRef name) const {
    auto it = resident.find(name);
    if (it == resident.end())
      return std::nullopt;
    return it->second;
  }
  /// Asks the driver how many blocks of `fn` (named `name`) one SM holds
  /// and remembers it.
  llvm::Expected<int> residentBlocks(llvm::StringRef name, CUfunction fn,
                                     unsigned block, unsigned sharedBytes) {
    int blocks = 0;
    if (llvm::Error e =
            check(api,
                  api->occupancyMaxActiveBlocksPerMultiprocessor(
                      &blocks, fn, int(block), size_t(sharedBytes)),
                  "cuOccupancyMaxActiveBlocksPerMultiprocessor"))
      return std::move(e);
    resident[name] = blocks;
    return blocks;
  }

private:
  const Api *api;
  CUmodule module;
  llvm::StringMap<CUfunction> functions;
  llvm::StringMap<unsigned> sharedLimits;
  llvm::StringMap<int> resident;
};

llvm::Expected<std::unique_ptr<CudaDevice>> CudaDevice::open(int ordinal) {
  return open(ordinal, "libcuda.so.1");
}

llvm::Expected<std::unique_ptr<CudaDevice>>
CudaDevice::open(int ordinal, llvm::StringRef driverLibrary) {
  auto api = loadApi(driverLibrary);
  if (!api)
    return api.takeError();
  const Api *a = *api;
  if (llvm::Error e = check(a, a->init(0), "cuInit"))
    return std::move(e);
  int count = 0;
  if (llvm::Error e = check(a, a->deviceGetCount(&count), "cuDeviceGetCount"))
    return std::move(e);
  if (ordinal < 0 || ordinal >= count)
    return makeError("no CUDA device " + llvm::Twine(ordinal) + " (" +
                     llvm::Twine(count) + " found)");
  std::unique_ptr<CudaDevice> dev(new CudaDevice());
  dev->api = a;
  if (llvm::Error e = check(a, a->deviceGet(&dev->device, ordinal),
                            "cuDeviceGet"))
    return std::move(e);
  char name[256] = {};
  if (llvm::Error e = check(a, a->deviceGetName(name, sizeof(name),
                                                dev->device),
                            "cuDeviceGetName"))
    return std::move(e);
  dev->deviceName = name;
  int major = 0, minor = 0;
  if (llvm::Error e = check(a,
                            a->deviceGetAttribute(&major,
                                                  kComputeCapabilityMajor,
                                                  dev->device),
                            "cuDeviceGetAttribute"))
    return std::move(e);
  if (llvm::Error e = check(a,
                            a->deviceGetAttribute(&minor,
                                                  kComputeCapabilityMinor,
                                                  dev->device),
                            "cuDeviceGetAttribute"))
    return std::move(e);
  dev->cc = major * 10 + minor;
  if (llvm::Error e = check(a,
                            a->deviceGetAttribute(&dev->sms,
                                                  kMultiprocessorCount,
                                                  dev->device),
                            "cuDeviceGetAttribute"))
    return std::move(e);
  // Drivers before CUDA 12.0 do not know the attribute: no clusters then.
  int clusterLaunch = 0;
  dev->clusters = a->deviceGetAttribute(&clusterLaunch, kClusterLaunchSupported,
                                        dev->device) == 0 &&
                  clusterLaunch != 0;
  dev->setDependentLaunch(dependentLaunchAllowedByEnvironment());
  auto split = gemmClusterSplitFromEnvironment();
  if (!split)
    return split.takeError();
  dev->gemmSplit.store(*split);
  if (llvm::Error e = check(a, a->primaryCtxRetain(&dev->context, dev->device),
                            "cuDevicePrimaryCtxRetain"))
    return std::move(e);
  if (llvm::Error e = check(a, a->ctxSetCurrent(dev->context),
                            "cuCtxSetCurrent"))
    return std::move(e);
  return dev;
}

CudaDevice::~CudaDevice() {
  // Allocations still pending release the pool's memory when they are
  // freed (cuMemPoolDestroy returns at once).
  if (api && pool)
    api->memPoolDestroy(pool);
  if (api && context)
    api->primaryCtxRelease(device);
}

llvm::Expected<CUdeviceptr> CudaDevice::alloc(size_t bytes) {
  CUdeviceptr ptr = 0;
  if (llvm::Error e = check(api, api->ctxSetCurrent(context), "cuCtxSetCurrent"))
    return std::move(e);
  // A zero-byte request still gets a distinct pointer.
  if (llvm::Error e = check(api, api->memAlloc(&ptr, bytes ? bytes : 1),
                            "cuMemAlloc_v2"))
    return std::move(e);
  return ptr;
}

llvm::Error CudaDevice::free(CUdeviceptr ptr) {
  return check(api, api->memFree(ptr), "cuMemFree_v2");
}

llvm::Expected<CUdeviceptr> CudaDevice::allocAsync(size_t bytes,
                                                   void *stream) {
  if (llvm::Error e = check(api, api->ctxSetCurrent(context), "cuCtxSetCurrent"))
    return std::move(e);
  void *from = nullptr;
  {
    std::lock_guard<std::mutex> lock(poolMutex);
    if (!pool) {
      MemPoolProps props = {};
      props.allocType = 1;
      props.locationType = 1;
      props.locationId = device;
      void *created = nullptr;
      if (llvm::Error e = check(api, api->memPoolCreate(&created, &props),
                                "cuMemPoolCreate"))
        return std::move(e);
      // Keep what the pool holds across synchronizations: with the default
      // threshold (0) every synchronize would hand it back to the driver
      // and the next launch would map it afresh.
      uint64_t keep = UINT64_MAX;
      if (llvm::Error e = check(api,
                                api->memPoolSetAttribute(
                                    created, kPoolReleaseThreshold, &keep),
                                "cuMemPoolSetAttribute")) {
        api->memPoolDestroy(created);
        return std::move(e);
      }
      pool = created;
    }
    from = pool;
  }
  CUdeviceptr ptr = 0;
  // As alloc: a zero-byte request still gets a distinct pointer.
  if (llvm::Error e = check(api,
                            api->memAllocFromPoolAsync(&ptr, bytes ? bytes : 1,
                                                       from, stream),
                            "cuMemAllocFromPoolAsync"))
    return std::move(e);
  return ptr;
}

llvm::Error CudaDevice::freeAsync(CUdeviceptr ptr, void *stream) {
  if (llvm::Error e = check(api, api->ctxSetCurrent(context), "cuCtxSetCurrent"))
    return e;
  return check(api, api->memFreeAsync(ptr, stream), "cuMemFreeAsync");
}

llvm::Error CudaDevice::copyToDevice(CUdeviceptr dst, const void *src,
                                     size_t bytes) {
  if (!bytes)
    return llvm::Error::success();
  return check(api, api->memcpyHtoD(dst, src, bytes), "cuMemcpyHtoD_v2");
}

llvm::Error CudaDevice::copyToHost(void *dst, CUdeviceptr src, size_t bytes) {
  if (!bytes)
    return llvm::Error::success();
  return check(api, api->memcpyDtoH(dst, src, bytes), "cuMemcpyDtoH_v2");
}

llvm::Error CudaDevice::copyDeviceToDevice(CUdeviceptr dst, CUdeviceptr src,
                                           size_t bytes) {
  return check(api, api->memcpyDtoD(dst, src, bytes), "cuMemcpyDtoD_v2");
}

llvm::Expected<float> CudaDevice::time(llvm::function_ref<llvm::Error()> work) {
  void *start = nullptr, *stop = nullptr;
  if (llvm::Error e = check(api, api->eventCreate(&start, 0), "cuEventCreate"))
    return std::move(e);
  if (llvm::Error e = check(api, api->eventCreate(&stop, 0), "cuEventCreate")) {
    api->eventDestroy(start);
    return std::move(e);
  }
  auto finish = [&](llvm::Error e) -> llvm::Expected<float> {
    api->eventDestroy(start);
    api->eventDestroy(stop);
    return std::move(e);
  };
  if (llvm::Error e = check(api, api->eventRecord(start, nullptr),
                            "cuEventRecord"))
    return finish(std::move(e));
  if (llvm::Error e = work())
    return finish(std::move(e));
  if (llvm::Error e = check(api, api->eventRecord(stop, nullptr),
                            "cuEventRecord"))
    return finish(std::move(e));
  if (llvm::Error e = check(api, api->eventSynchronize(stop),
                            "cuEventSynchronize"))
    return finish(std::move(e));
  float ms = 0;
  if (llvm::Error e = check(api, api->eventElapsedTime(&ms, start, stop),
                            "cuEventElapsedTime"))
    return finish(std::move(e));
  api->eventDestroy(start);
  api->eventDestroy(stop);
  return ms;
}

llvm::Error CudaDevice::synchronize() {
  return check(api, api->ctxSynchronize(), "cuCtxSynchronize");
}

llvm::Expected<std::shared_ptr<CudaDevice::Module>>
CudaDevice::loadModule(llvm::ArrayRef<char> image) {
  if (llvm::Error e = check(api, api->ctxSetCurrent(context), "cuCtxSetCurrent"))
    return std::move(e);
  CUmodule module = nullptr;
  if (llvm::Error e = check(api, api->moduleLoadData(&module, image.data()),
                            "cuModuleLoadData"))
    return std::move(e);
  return std::make_shared<Module>(api, module);
}

llvm::Error CudaDevice::launch(Module &module, llvm::StringRef kernel,
                               unsigned grid, unsigned block,
                               llvm::ArrayRef<void *> params) {
  return launch(module, kernel, grid, block, params, nullptr);
}

llvm::Error CudaDevice::launch(Module &module, llvm::StringRef kernel,
                               unsigned grid, unsigned block,
                               llvm::ArrayRef<void *> params, void *stream,
                               unsigned sharedBytes, bool dependent,
                               unsigned cluster) {
  // Launches may come from any thread; the context must be current there.
  if (llvm::Error e = check(api, api->ctxSetCurrent(context), "cuCtxSetCurrent"))
    return e;
  auto fn = module.function(kernel);
  if (!fn)
    return fn.takeError();
  if (llvm::Error e = module.reserveSharedMemory(kernel, *fn, sharedBytes))
    return e;
  if (cluster > 1 && (!clusterLaunch() || grid % cluster != 0))
    return makeError("cannot launch " + kernel + " in clusters of " +
                     llvm::Twine(cluster) + " blocks (grid " +
                     llvm::Twine(grid) + ", compute capability " +
                     llvm::Twine(cc) + ")");
  bool programmatic = dependent && pdl.load();
  if (programmatic || cluster > 1) {
    LaunchAttribute attributes[2] = {};
    unsigned count = 0;
    if (programmatic) {
      attributes[count].id = kProgrammaticStreamSerialization;
      attributes[count++].value.programmaticStreamSerializationAllowed = 1;
    }
    if (cluster > 1) {
      attributes[count].id = kClusterDimension;
      attributes[count++].value.clusterDim = {cluster, 1, 1};
    }
    LaunchConfig config = {grid,        1,      1,          block, 1, 1,
                           sharedBytes, stream, attributes, count};
    return check(api,
                 api->launchKernelEx(&config, *fn,
                                     const_cast<void **>(params.data()),
                                     nullptr),
                 "cuLaunchKernelEx");
  }
  return check(api,
               api->launchKernel(*fn, grid, 1, 1, block, 1, 1, sharedBytes,
                                 stream,
                                 const_cast<void **>(params.data()), nullptr),
               "cuLaunchKernel");
}

void CudaDevice::setDependentLaunch(bool on) {
  pdl.store(on && cc >= 90 && api->launchKernelEx);
}

bool CudaDevice::clusterLaunch() const {
  return clusters && api->launchKernelEx;
}

llvm::Expected<int> CudaDevice::residentBlocksPerSM(Module &module,
                                                    llvm::StringRef kernel,
                                                    unsigned block,
                                                    unsigned sharedBytes) {
  // Every GEMM launch asks: after the first, without a driver call.
  if (std::optional<int> known = module.knownResidentBlocks(kernel))
    return *known;
  if (llvm::Error e = check(api, api->ctxSetCurrent(context), "cuCtxSetCurrent"))
    return std::move(e);
  auto fn = module.function(kernel);
  if (!fn)
    return fn.takeError();
  // The occupancy query counts the dynamic shared memory the kernel may
  // take: raise its limit first, as a launch would.
  if (llvm::Error e = module.reserveSharedMemory(kernel, *fn, sharedBytes))
    return std::move(e);
  return module.residentBlocks(kernel, *fn, block, sharedBytes);
}

llvm::Error CudaDevice::setGemmClusterSplit(unsigned split) {
  if (split > kPortableClusterSize)
    return makeError("a GEMM cluster split is 0 (automatic) or 1 to 8, got " +
                     llvm::Twine(split));
  gemmSplit.store(split);
  return llvm::Error::success();
}

llvm::Expected<void *> CudaDevice::createStream() {
  if (llvm::Error e = check(api, api->ctxSetCurrent(context), "cuCtxSetCurrent"))
    return std::move(e);
  CUstream stream = nullptr;
  // CU_STREAM_DEFAULT: ordered after work on the legacy default stream, as
  // frameworks' own streams are.
  if (llvm::Error e = check(api, api->streamCreate(&stream, 0),
                            "cuStreamCreate"))
    return std::move(e);
  return stream;
}

llvm::Error CudaDevice::destroyStream(void *stream) {
  return check(api, api->streamDestroy(stream), "cuStreamDestroy_v2");
}

llvm::Error CudaDevice::synchronizeStream(void *stream) {
  if (llvm::Error e = check(api, api->ctxSetCurrent(context), "cuCtxSetCurrent"))
    return e;
  return check(api, api->streamSynchronize(stream), "cuStreamSynchronize");
}

llvm::Error CudaDevice::copyToDeviceAsync(CUdeviceptr dst, const void *src,
                                          size_t bytes, void *stream) {
  if (!bytes)
    return llvm::Error::success();
  return check(api, api->memcpyHtoDAsync(dst, src, bytes, stream),
               "cuMemcpyHtoDAsync_v2");
}

llvm::Error CudaDevice::copyToHostAsync(void *dst, CUdeviceptr src,
                                        size_t bytes, void *stream) {
  if (!bytes)
    return llvm::Error::success();
  return check(api, api->memcpyDtoHAsync(dst, src, bytes, stream),
               "cuMemcpyDtoHAsync_v2");
}

llvm::Expected<void *>
CudaDevice::captureGraph(void *stream,
                         llvm::function_ref<llvm::Error()> enqueue) {
  if (llvm::Error e = check(api, api->ctxSetCurrent(context), "cuCtxSetCurrent"))
    return std::move(e);
  // CU_STREAM_CAPTURE_MODE_GLOBAL: any call that is not legal during a
  // capture (a synchronous copy, an allocation, a synchronization) fails,
  // in this thread or another, instead of being silently left out.
  constexpr int kCaptureModeGlobal = 0;
  if (llvm::Error e =
          check(api, api->streamBeginCapture(stream, kCaptureModeGlobal),
                "cuStreamBeginCapture_v2"))
    return std::move(e);
  llvm::Error work = enqueue();
  // The capture must end even when `enqueue` failed, or the stream stays
  // in capture mode.
  void *graph = nullptr;
  llvm::Error ended = check(api, api->streamEndCapture(stream, &graph),
                            "cuStreamEndCapture");
  llvm::scope_exit destroyGraph([&] {
    if (graph)
      api->graphDestroy(graph);
  });
  if (work)
    return llvm::joinErrors(std::move(work), std::move(ended));
  if (ended)
    return std::move(ended);
  void *exec = nullptr;
  if (llvm::Error e = check(api, api->graphInstantiate(&exec, graph, 0),
                            "cuGraphInstantiateWithFlags"))
    return std::move(e);
  return exec;
}

llvm::Error CudaDevice::launchGraph(void *graphExec, void *stream) {
  if (llvm::Error e = check(api, api->ctxSetCurrent(context), "cuCtxSetCurrent"))
    return e;
  return check(api, api->graphLaunch(graphExec, stream), "cuGraphLaunch");
}

void CudaDevice::destroyGraph(void *graphExec) {
  if (graphExec)
    api->graphExecDestroy(graphExec);
}

llvm::Error CudaDevice::encodeTensorMap(void *map, CUdeviceptr address,
                                        const TensorMapEncoding &encoding) {
  if (!api->tensorMapEncodeTiled)
    return makeError("the CUDA driver lacks cuTensorMapEncodeTiled (CUDA "
                     "12.0 or later is needed for TMA kernels)");
  // cuda.h: CU_TENSOR_MAP_DATA_TYPE_UINT8 = 0, CU_TENSOR_MAP_INTERLEAVE_NONE
  // = 0, CU_TENSOR_MAP_L2_PROMOTION_L2_128B = 2 (a box row is 32 to 128
  // bytes), CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE = 0 (zeros out of bounds).
  constexpr int kUint8 = 0, kInterleaveNone = 0, kL2Promotion128B = 2,
                kOobZeros = 0;
  return check(
      api,
      api->tensorMapEncodeTiled(map, kUint8, /*tensorRank=*/2,
                                reinterpret_cast<void *>(uintptr_t(address)),
                                encoding.dims, encoding.strides, encoding.box,
                                encoding.elementStrides, kInterleaveNone,
                                encoding.swizzle, kL2Promotion128B, kOobZeros),
      "cuTensorMapEncodeTiled");
}

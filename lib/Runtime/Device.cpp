//===- Device.cpp - Devices, streams, buffers and loaded kernels ----------===//

#include "nvfp4/Runtime/Device.h"
#include "Errors.h"
#include "KernelParams.h"
#include "MatmulLaunch.h"
#include "QuantizeLaunch.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/Twine.h"

using namespace llvm;

namespace nvfp4 {
namespace {
using ::nvfp4::detail::makeError;

using ::nvfp4::detail::KernelParams;
} // namespace

//===----------------------------------------------------------------------===//
// Stream and DeviceBuffer
//===----------------------------------------------------------------------===//

Stream::Stream(Stream &&other) noexcept
    : dev(std::move(other.dev)), stream(other.stream), owned(other.owned) {
  other.owned = false;
}

Stream &Stream::operator=(Stream &&other) noexcept {
  if (this != &other) {
    if (owned && dev)
      consumeError(dev->cuda().destroyStream(stream));
    dev = std::move(other.dev);
    stream = other.stream;
    owned = other.owned;
    other.owned = false;
  }
  return *this;
}

Stream::~Stream() {
  if (owned && dev)
    consumeError(dev->cuda().destroyStream(stream));
}

Error Stream::synchronize() { return dev->cuda().synchronizeStream(stream); }

DeviceBuffer::DeviceBuffer(DeviceBuffer &&other) noexcept
    : dev(std::move(other.dev)), address(other.address), bytes(other.bytes) {
  other.address = 0;
}

DeviceBuffer &DeviceBuffer::operator=(DeviceBuffer &&other) noexcept {
  if (this != &other) {
    release();
    dev = std::move(other.dev);
    address = other.address;
    bytes = other.bytes;
    other.address = 0;
  }
  return *this;
}

DeviceBuffer::~DeviceBuffer() { release(); }

void DeviceBuffer::release() {
  if (dev && address)
    consumeError(dev->cuda().free(address));
  address = 0;
}

Error DeviceBuffer::copyFromHost(const void *src, size_t n) {
  if (n > bytes)
    return makeError("copy of " + Twine(n) + " bytes into a buffer of " +
                     Twine(bytes));
  return dev->cuda().copyToDevice(address, src, n);
}

Error DeviceBuffer::copyToHost(void *dst, size_t n) const {
  if (n > bytes)
    return makeError("copy of " + Twine(n) + " bytes out of a buffer of " +
                     Twine(bytes));
  return dev->cuda().copyToHost(dst, address, n);
}

//===----------------------------------------------------------------------===//
// Device
//===----------------------------------------------------------------------===//

Expected<std::shared_ptr<Device>> Device::open(int ordinal,
                                               StringRef driverLibrary) {
  auto cuda = CudaDevice::open(ordinal, driverLibrary);
  if (!cuda)
    return cuda.takeError();
  return std::shared_ptr<Device>(new Device(std::move(*cuda)));
}

Expected<std::shared_ptr<Device>> Device::shared(int ordinal) {
  static std::mutex mutex;
  // Never destroyed: the driver may be gone when static destructors run.
  static auto *devices = new std::map<int, std::shared_ptr<Device>>();
  std::lock_guard<std::mutex> lock(mutex);
  std::shared_ptr<Device> &slot = (*devices)[ordinal];
  if (!slot) {
    auto dev = open(ordinal);
    if (!dev) {
      devices->erase(ordinal);
      return dev.takeError();
    }
    slot = std::move(*dev);
  }
  return slot;
}

Expected<std::string> Device::target() const {
  return gpuTargetFor(computeCapability(), name());
}

Expected<DeviceBuffer> Device::allocate(size_t bytes) {
  auto ptr = dev->alloc(bytes);
  if (!ptr)
    return ptr.takeError();
  return DeviceBuffer(shared_from_this(), *ptr, bytes);
}

Expected<Stream> Device::createStream() {
  auto stream = dev->createStream();
  if (!stream)
    return stream.takeError();
  return Stream(shared_from_this(), *stream, /*owned=*/true);
}

Stream Device::wrapStream(void *stream) {
  return Stream(shared_from_this(), stream, /*owned=*/false);
}

Expected<Kernel> Device::load(const CompiledRecipe &compiled) {
  if (!compiled.code)
    return makeError("the " + compiled.target +
                     " compilation has no GPU image to load");
  std::lock_guard<std::mutex> lock(mutex);
  auto &slot = modules[compiled.code.get()];
  if (!slot.second) {
    auto module = dev->loadModule(compiled.code->image);
    if (!module) {
      modules.erase(compiled.code.get());
      return module.takeError();
    }
    slot = {compiled.code, std::move(*module)};
  }
  return Kernel(shared_from_this(), compiled, slot.second);
}

//===----------------------------------------------------------------------===//
// Kernel
//===----------------------------------------------------------------------===//

Error Kernel::checkLaunch(Stream &stream, Operation op) const {
  if (&stream.device() != dev.get())
    return makeError("the stream belongs to another device");
  if (recipe.op != op)
    return makeError("the kernel was compiled for another operation");
  return Error::success();
}

Error Kernel::launchAll(Stream &stream, const QuantizeResult &outputs,
                        ArrayRef<void *> params,
                        std::optional<int64_t> groups) const {
  std::lock_guard<std::mutex> lock(dev->mutex);
  return detail::enqueueQuantizeKernels(dev->cuda(), *module, *recipe.code,
                                        outputs, params, groups,
                                        stream.handle());
}

namespace {
/// The kernel parameters of a quantization's outputs (data, scale, amax
/// per direction) from `buffers`, which must hold exactly them.
Error addOutputParams(KernelParams &params, const QuantizeResult &outputs,
                      ArrayRef<CUdeviceptr> buffers) {
  size_t expected = 3 * (size_t(outputs.rowwise.has_value()) +
                         size_t(outputs.columnwise.has_value()));
  if (buffers.size() != expected)
    return makeError("expected " + Twine(expected) + " output buffers, got " +
                     Twine(buffers.size()));
  detail::addOutputParams(params, outputs, buffers, 0);
  return Error::success();
}
} // namespace

Error Kernel::launchQuantize(Stream &stream, int64_t rows, int64_t cols,
                             const QuantizeResult &outputs,
                             ArrayRef<CUdeviceptr> buffers) const {
  if (Error e = checkLaunch(stream, Operation::Quantize))
    return e;
  if (buffers.empty())
    return makeError("expected the input buffer");
  KernelParams params;
  params.addMemRef(buffers[0], {rows, cols});
  if (Error e = addOutputParams(params, outputs, buffers.drop_front(1)))
    return e;
  return launchAll(stream, outputs, params.pointers());
}

Error Kernel::launchAmax(Stream &stream, int64_t rows, int64_t cols,
                         const QuantizeResult &outputs,
                         ArrayRef<CUdeviceptr> buffers) const {
  if (Error e = checkLaunch(stream, Operation::Amax))
    return e;
  KernelParams params;
  size_t next = 0;
  auto take = [&]() -> Expected<CUdeviceptr> {
    if (next >= buffers.size())
      return makeError("expected the input and one amax buffer per "
                       "direction");
    return buffers[next++];
  };
  auto input = take();
  if (!input)
    return input.takeError();
  params.addMemRef(*input, {rows, cols});
  for (const std::optional<QuantizedOutput> *out :
       {&outputs.rowwise, &outputs.columnwise}) {
    if (!*out)
      continue;
    auto amax = take();
    if (!amax)
      return amax.takeError();
    params.addMemRef(*amax, (*out)->amaxShape);
  }
  return launchAll(stream, outputs, params.pointers());
}

Error Kernel::launchQuantizeGrouped(Stream &stream, int64_t rows, int64_t cols,
                                    int64_t groups,
                                    const QuantizeResult &outputs,
                                    ArrayRef<CUdeviceptr> buffers) const {
  if (Error e = checkLaunch(stream, Operation::GroupedQuantize))
    return e;
  if (buffers.size() < 2)
    return makeError("expected the input and splits buffers");
  KernelParams params;
  params.addMemRef(buffers[0], {rows, cols});
  params.addMemRef(buffers[1], {groups});
  if (Error e = addOutputParams(params, outputs, buffers.drop_front(2)))
    return e;
  return launchAll(stream, outputs, params.pointers(), groups);
}

Error Kernel::launchProducer(Stream &stream, int64_t rows, int64_t cols,
                             const QuantizeResult *outputs,
                             ArrayRef<CUdeviceptr> buffers) const {
  if (&stream.device() != dev.get())
    return makeError("the stream belongs to another device");
  if (!recipe.producer || bool(outputs) != bool(recipe.recipe))
    return makeError("the kernel was compiled for another operation");
  std::lock_guard<std::mutex> lock(dev->mutex);
  return detail::enqueueProducerKernels(dev->cuda(), *module, *recipe.code,
                                        *recipe.producer, rows, cols, outputs,
                                        buffers, stream.handle());
}

Error Kernel::launchMatmul(Stream &stream, const QuantizedOutput &a,
                           const QuantizedOutput &b,
                           ArrayRef<CUdeviceptr> buffers) const {
  if (Error e = checkLaunch(stream, Operation::Matmul))
    return e;
  bool bias = buffers.size() == 8;
  if (buffers.size() != 7 && !bias)
    return makeError("expected 7 or 8 GEMM buffers, got " +
                     Twine(buffers.size()));
  std::lock_guard<std::mutex> lock(dev->mutex);
  return detail::enqueueMatmul(dev->cuda(), *recipe.code, *module, a, b, bias,
                               buffers, stream.handle());
}

Error Kernel::launchMatmulW4A16(Stream &stream, int64_t m, int64_t k,
                                const QuantizedOutput &b,
                                ArrayRef<CUdeviceptr> buffers) const {
  if (Error e = checkLaunch(stream, Operation::MatmulW4A16))
    return e;
  bool bias = buffers.size() == 6;
  if (buffers.size() != 5 && !bias)
    return makeError("expected 5 or 6 W4A16 GEMM buffers, got " +
                     Twine(buffers.size()));
  std::lock_guard<std::mutex> lock(dev->mutex);
  return detail::enqueueMatmulW4A16(dev->cuda(), *recipe.code, *module, m, k,
                                    b, bias, buffers, stream.handle());
}

Error Kernel::launchMatmulGrouped(Stream &stream, int64_t m, int64_t groups,
                                  int64_t n, int64_t k,
                                  ArrayRef<CUdeviceptr> buffers) const {
  if (Error e = checkLaunch(stream, Operation::GroupedMatmul))
    return e;
  bool bias = buffers.size() == 9;
  if (buffers.size() != 8 && !bias)
    return makeError("expected 8 or 9 grouped GEMM buffers, got " +
                     Twine(buffers.size()));
  std::lock_guard<std::mutex> lock(dev->mutex);
  return detail::enqueueMatmulGrouped(dev->cuda(), *recipe.code, *module,
                                      recipe.recipe, recipe.bRecipe, m, groups,
                                      n, k, bias, buffers, stream.handle());
}

Error Kernel::launchDequantize(Stream &stream, const QuantizedOutput &input,
                               CUdeviceptr data, CUdeviceptr scale,
                               CUdeviceptr amax, CUdeviceptr output) const {
  if (Error e = checkLaunch(stream, Operation::Dequantize))
    return e;
  KernelParams params;
  params.addMemRef(data, {input.rows, input.cols / 2});
  params.addMemRef(scale, input.scaleShape);
  params.addMemRef(amax, input.amaxShape);
  params.addMemRef(output, {input.rows, input.cols});
  // Dequantize kernels are sized by the matrix they read.
  QuantizeResult shapes;
  shapes.rowwise = input;
  shapes.columnwise = input;
  return launchAll(stream, shapes, params.pointers());
}

} // namespace nvfp4

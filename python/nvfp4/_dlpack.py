"""GPU tensors of any framework: their device address, shape and dtype, the
stream to run on, and outputs allocated in the same framework.

PyTorch and CuPy tensors are used directly (their device pointer, their
current stream); any other object with ``__dlpack__`` (JAX on the GPU, ...)
is read through its DLPack capsule on the legacy default stream, and its
outputs are allocated with PyTorch or CuPy and handed back through the
framework's ``from_dlpack``.
"""

from __future__ import annotations

import ctypes
import sys

from ._lib import NVFP4Error

KDL_CPU, KDL_CUDA, KDL_CUDA_HOST, KDL_CUDA_MANAGED = 1, 2, 3, 13
_DL_FLOAT, _DL_BFLOAT = 2, 4


class _DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class _DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8),
                ("lanes", ctypes.c_uint16)]


class _DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device", _DLDevice),
                ("ndim", ctypes.c_int32), ("dtype", _DLDataType),
                ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64)),
                ("byte_offset", ctypes.c_uint64)]


class _DLManagedTensor(ctypes.Structure):
    _fields_ = [("dl_tensor", _DLTensor), ("manager_ctx", ctypes.c_void_p),
                ("deleter", ctypes.c_void_p)]


_get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_get_pointer.restype = ctypes.c_void_p
_get_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]


class Capsule:
    """What a DLPack capsule says about an array (the capsule is kept alive
    with it; the producer's array must be too)."""

    def __init__(self, x, stream):
        self.capsule = x.__dlpack__() if stream is None else x.__dlpack__(stream=stream)
        t = _DLManagedTensor.from_address(
            _get_pointer(self.capsule, b"dltensor")).dl_tensor
        self.ptr = (t.data or 0) + t.byte_offset
        self.shape = tuple(t.shape[i] for i in range(t.ndim))
        self.strides = (tuple(t.strides[i] for i in range(t.ndim))
                        if t.strides else None)
        self.dtype = (t.dtype.code, t.dtype.bits, t.dtype.lanes)
        self.device = (t.device.device_type, t.device.device_id)

    def row_major(self) -> bool:
        if self.strides is None:
            return True
        expect, stride = [], 1
        for d in reversed(self.shape):
            expect.append(stride)
            stride *= d
        return all(s == e or d == 1 for s, e, d in
                   zip(self.strides, reversed(expect), self.shape))

    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


def device_of(x):
    """(DLPack device type, device id), or None for a non-DLPack object."""
    if not hasattr(x, "__dlpack_device__"):
        return None
    kind, index = x.__dlpack_device__()
    return int(kind), int(index)


def is_gpu(x) -> bool:
    dev = device_of(x)
    return dev is not None and dev[0] in (KDL_CUDA, KDL_CUDA_MANAGED)


def framework(x) -> str:
    return type(x).__module__.split(".")[0]


_DTYPES = {"float32": ("fp32", 0), "float16": ("fp16", 1), "bfloat16": ("bf16", 2)}


class GPUTensor:
    """A 2-D row-major GPU array: address, shape, dtype code, device, stream."""

    def __init__(self, owner, ptr, shape, dtype, device, stream, keepalive=None):
        self.owner, self.ptr, self.shape = owner, ptr, shape
        self.dtype, self.device, self.stream = dtype, device, stream
        self.keepalive = keepalive


def _torch_dtype_name(t):
    return str(t.dtype).replace("torch.", "")


def as_gpu_tensor(x, input_dtype=None) -> GPUTensor:
    """Reads `x` (converted to `input_dtype` and made contiguous when needed)."""
    fw = framework(x)
    if fw == "torch":
        import torch
        if input_dtype:
            target = {"fp32": torch.float32, "fp16": torch.float16,
                      "bf16": torch.bfloat16}.get(input_dtype)
            if target is None:
                raise NVFP4Error(f"unknown input_dtype {input_dtype!r} "
                                 "(expected bf16, fp16 or fp32)")
            x = x.to(target)
        x = x.contiguous()
        name = _torch_dtype_name(x)
        stream = torch.cuda.current_stream(x.device).cuda_stream
        return _checked(x, x.data_ptr(), tuple(x.shape), name, x.device.index,
                        stream)
    if fw == "cupy":
        import cupy
        if input_dtype:
            if input_dtype == "bf16":
                raise NVFP4Error("CuPy has no bfloat16: pass float32 or float16")
            x = x.astype({"fp32": cupy.float32, "fp16": cupy.float16}[input_dtype])
        x = cupy.ascontiguousarray(x)
        stream = cupy.cuda.get_current_stream().ptr
        return _checked(x, x.data.ptr, tuple(x.shape), str(x.dtype), x.device.id,
                        stream)
    # Any other DLPack producer: read its capsule; the legacy default stream
    # (1 in DLPack's numbering) orders our launches after its work.
    if input_dtype:
        raise NVFP4Error("input_dtype conversion on the GPU needs a PyTorch or "
                         "CuPy tensor")
    c = Capsule(x, stream=1)
    if not c.row_major():
        raise NVFP4Error("expected a row-major contiguous GPU array")
    name = {(_DL_FLOAT, 32, 1): "float32", (_DL_FLOAT, 16, 1): "float16",
            (_DL_BFLOAT, 16, 1): "bfloat16"}.get(c.dtype, f"dlpack{c.dtype}")
    return _checked(x, c.ptr, c.shape, name, c.device[1], None, keepalive=c)


class RawGPUArray:
    """Address, element count, device and stream of any contiguous GPU array."""

    def __init__(self, ptr, size, device, stream, keepalive=None):
        self.ptr, self.size, self.device = ptr, size, device
        self.stream, self.keepalive = stream, keepalive


def as_gpu_tensor_raw(x) -> RawGPUArray:
    fw = framework(x)
    if fw == "torch":
        import torch
        x = x.contiguous()
        return RawGPUArray(x.data_ptr(), x.numel(), x.device.index,
                           torch.cuda.current_stream(x.device).cuda_stream or None, x)
    if fw == "cupy":
        import cupy
        x = cupy.ascontiguousarray(x)
        return RawGPUArray(x.data.ptr, x.size, x.device.id,
                           cupy.cuda.get_current_stream().ptr or None, x)
    if not is_gpu(x):
        raise NVFP4Error("expected every buffer on the GPU")
    c = Capsule(x, stream=1)
    if not c.row_major():
        raise NVFP4Error("expected contiguous GPU buffers")
    return RawGPUArray(c.ptr, c.size(), c.device[1], None, (x, c))


def _checked(x, ptr, shape, dtype_name, device, stream, keepalive=None):
    if len(shape) != 2:
        raise NVFP4Error(f"expected a 2-D array, got shape {shape}")
    if dtype_name not in _DTYPES:
        raise NVFP4Error(f"unsupported dtype {dtype_name} "
                         "(expected float32, float16 or bfloat16)")
    return GPUTensor(x, ptr, shape, _DTYPES[dtype_name][1], device, stream or None,
                     keepalive)


def empty_like_framework(x, shape, dtype: str):
    """A new GPU array of `shape` and `dtype` (uint8 or float32) in `x`'s
    framework on its device: (array, its device address)."""
    fw = framework(x)
    if fw == "torch":
        import torch
        a = torch.empty(shape, dtype=getattr(torch, dtype), device=x.device)
        return a, a.data_ptr()
    if fw == "cupy":
        import cupy
        with cupy.cuda.Device(x.device.id):
            a = cupy.empty(shape, dtype=dtype)
        return a, a.data.ptr
    device = device_of(x)[1]
    if "torch" in sys.modules or _importable("torch"):
        import torch
        a = torch.empty(shape, dtype=getattr(torch, dtype), device=f"cuda:{device}")
        return _Exchanged(a, fw), a.data_ptr()
    if _importable("cupy"):
        import cupy
        with cupy.cuda.Device(device):
            a = cupy.empty(shape, dtype=dtype)
        return _Exchanged(a, fw), a.data.ptr
    raise NVFP4Error(f"cannot allocate GPU outputs for a {fw} array: "
                     "install PyTorch or CuPy")


class _Exchanged:
    """An output allocated by another framework, converted on finish()."""

    def __init__(self, array, fw):
        self.array, self.fw = array, fw


def finish(out):
    """Hands an output back in the input's framework."""
    if not isinstance(out, _Exchanged):
        return out
    mod = sys.modules.get(out.fw)
    for owner in (getattr(mod, "dlpack", None), getattr(mod, "numpy", None), mod):
        if owner is not None and hasattr(owner, "from_dlpack"):
            return owner.from_dlpack(out.array)
    return out.array


def _importable(name):
    import importlib.util
    return importlib.util.find_spec(name) is not None

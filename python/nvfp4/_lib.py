"""Loading libnvfp4_capi.so (the runtime's C ABI) with ctypes."""

from __future__ import annotations

import ctypes
import os
import pathlib
import threading

c_int, c_int64, c_size_t = ctypes.c_int, ctypes.c_int64, ctypes.c_size_t
c_char_p, c_void_p, c_uint64 = ctypes.c_char_p, ctypes.c_void_p, ctypes.c_uint64
P = ctypes.POINTER


class NVFP4Error(RuntimeError):
    """A runtime error, with the runtime's one-line message."""


# name: (restype, argtypes). Functions added after the first slice are
# looked up lazily so an older library still serves the CPU quantize path.
_SIGNATURES = {
    "nvfp4_abi_version": (c_int, []),
    "nvfp4_host_runner_create": (c_void_p, [c_char_p, c_size_t]),
    "nvfp4_quantize": (c_void_p, [c_void_p, c_char_p, c_int, c_void_p, c_int64,
                                  c_int64, c_char_p, c_size_t]),
    "nvfp4_result_has": (c_int, [c_void_p, c_int]),
    "nvfp4_result_buffer": (c_void_p, [c_void_p, c_int, c_int, P(c_int64), P(c_int)]),
    "nvfp4_result_destroy": (None, [c_void_p]),
    "nvfp4_result_recipe": (None, [c_void_p, P(c_int), P(c_int)]),
    "nvfp4_recipe_canonical": (c_int, [c_char_p, c_char_p, c_size_t, c_char_p, c_size_t]),
    "nvfp4_quantize_shapes": (c_int, [c_char_p, c_int64, c_int64, P(c_int), P(c_int64),
                                      P(c_int), P(c_int), P(c_int), c_char_p, c_size_t]),
    "nvfp4_dequantize_host": (c_int, [c_char_p, c_void_p, c_void_p, c_void_p, c_int64,
                                      c_int64, c_void_p, c_char_p, c_size_t]),
    "nvfp4_dequantize_shapes": (c_int, [c_char_p, c_int64, c_int64, P(c_int64), P(c_int),
                                        c_char_p, c_size_t]),
    "nvfp4_device_target": (c_int, [c_int, c_char_p, c_size_t, c_char_p, c_size_t]),
    "nvfp4_quantize_device": (c_int, [c_int, c_char_p, c_int, c_uint64, c_int64, c_int64,
                                      P(c_uint64), c_void_p, c_char_p, c_size_t]),
    "nvfp4_dequantize_device": (c_int, [c_int, c_char_p, c_uint64, c_uint64, c_uint64,
                                        c_int64, c_int64, c_uint64, c_void_p, c_char_p,
                                        c_size_t]),
    "nvfp4_compile": (c_void_p, [c_char_p, c_char_p, c_int, c_int, c_char_p, c_size_t]),
    "nvfp4_kernel_count": (c_int, [c_void_p]),
    "nvfp4_kernel_name": (c_char_p, [c_void_p, c_int]),
    "nvfp4_kernel_image": (c_void_p, [c_void_p, P(c_size_t)]),
    "nvfp4_kernel_source": (c_int, [c_void_p]),
    "nvfp4_kernel_destroy": (None, [c_void_p]),
    "nvfp4_matmul_host": (c_int, [c_char_p, c_char_p, c_void_p, c_void_p, c_void_p,
                                  c_int64, c_char_p, c_void_p, c_void_p, c_void_p,
                                  c_int64, c_int64, c_void_p, ctypes.c_float, c_int,
                                  c_void_p, c_char_p, c_size_t]),
    # The host entry points with each buffer's size, checked by the C ABI
    # against the recipe before anything is read.
    "nvfp4_quantize_sized": (c_void_p, [c_void_p, c_char_p, c_int, c_void_p, c_size_t,
                                        c_int64, c_int64, c_char_p, c_size_t]),
    "nvfp4_amax_host": (c_int, [c_void_p, c_char_p, c_int, c_void_p, c_size_t, c_int64,
                                c_int64, c_void_p, c_size_t, c_void_p, c_size_t,
                                c_char_p, c_size_t]),
    "nvfp4_amax_device": (c_int, [c_int, c_char_p, c_int, c_uint64, c_int64, c_int64,
                                  P(c_uint64), c_void_p, c_char_p, c_size_t]),
    "nvfp4_quantize_given": (c_void_p, [c_void_p, c_char_p, c_int, c_void_p, c_size_t,
                                        c_int64, c_int64, c_void_p, c_size_t,
                                        c_void_p, c_size_t, c_char_p, c_size_t]),
    "nvfp4_dequantize_host_sized": (c_int, [c_char_p, c_void_p, c_size_t, c_void_p,
                                            c_size_t, c_void_p, c_size_t, c_int64,
                                            c_int64, c_void_p, c_size_t, c_char_p,
                                            c_size_t]),
    "nvfp4_matmul_host_sized": (c_int, [c_char_p, c_char_p, c_void_p, c_size_t, c_void_p,
                                        c_size_t, c_void_p, c_size_t, c_int64, c_char_p,
                                        c_void_p, c_size_t, c_void_p, c_size_t, c_void_p,
                                        c_size_t, c_int64, c_int64, c_void_p, c_size_t,
                                        ctypes.c_float, c_int, c_void_p, c_size_t,
                                        c_char_p, c_size_t]),
    # Device GEMMs and grouped forms: enqueue on a raw CUstream, never
    # allocate, copy or synchronize.
    "nvfp4_grouped_quantize_shapes": (c_int, [c_char_p, c_int64, c_int64, c_int64,
                                              P(c_int), P(c_int64), P(c_int), P(c_int),
                                              P(c_int), c_char_p, c_size_t]),
    "nvfp4_grouped_quantize_device": (c_int, [c_int, c_char_p, c_int, c_uint64, c_int64,
                                              c_int64, c_uint64, c_int64, P(c_uint64),
                                              c_void_p, c_char_p, c_size_t]),
    "nvfp4_matmul_device": (c_int, [c_int, c_char_p, P(c_uint64), c_int64, c_char_p,
                                    P(c_uint64), c_int64, c_int64, c_uint64,
                                    ctypes.c_float, c_int, c_uint64, c_void_p, c_char_p,
                                    c_size_t]),
    # W4A16: a bf16/f16 A as given times an NVFP4 B.
    "nvfp4_matmul_w4a16_host_sized": (c_int, [c_char_p, c_int, c_void_p, c_size_t,
                                              c_int64, c_char_p, c_void_p, c_size_t,
                                              c_void_p, c_size_t, c_void_p, c_size_t,
                                              c_int64, c_int64, c_void_p, c_size_t,
                                              ctypes.c_float, c_int, c_void_p,
                                              c_size_t, c_char_p, c_size_t]),
    "nvfp4_matmul_w4a16_device": (c_int, [c_int, c_int, c_uint64, c_int64, c_char_p,
                                          P(c_uint64), c_int64, c_int64, c_uint64,
                                          ctypes.c_float, c_int, c_uint64, c_void_p,
                                          c_char_p, c_size_t]),
    "nvfp4_grouped_matmul_device": (c_int, [c_int, c_char_p, P(c_uint64), c_int64,
                                            c_uint64, c_int64, c_char_p, P(c_uint64),
                                            c_int64, c_int64, c_uint64, ctypes.c_float,
                                            c_int, c_uint64, c_void_p, c_char_p,
                                            c_size_t]),
    # Producers (SPEC.md section 15), alone and fused into a quantize. The
    # host forms take each buffer with its size; the device forms enqueue on
    # a raw CUstream like nvfp4_quantize_device.
    "nvfp4_rms_norm_quantize_host_sized": (c_void_p, [
        c_void_p, c_char_p, c_int, c_void_p, c_size_t, c_void_p, c_size_t, c_void_p,
        c_size_t, ctypes.c_float, c_int64, c_int64, c_void_p, c_size_t, c_void_p,
        c_size_t, c_void_p, c_size_t, c_void_p, c_size_t, c_char_p, c_size_t]),
    "nvfp4_gated_act_quantize_host_sized": (c_void_p, [
        c_void_p, c_char_p, c_int, c_int, c_void_p, c_size_t, c_int64, c_int64,
        c_void_p, c_size_t, c_void_p, c_size_t, c_void_p, c_size_t, c_char_p, c_size_t]),
    "nvfp4_rms_norm_host_sized": (c_int, [
        c_void_p, c_int, c_void_p, c_size_t, c_void_p, c_size_t, c_void_p, c_size_t,
        ctypes.c_float, c_int64, c_int64, c_void_p, c_size_t, c_void_p, c_size_t,
        c_char_p, c_size_t]),
    "nvfp4_gated_act_host_sized": (c_int, [c_void_p, c_int, c_int, c_void_p, c_size_t,
                                           c_int64, c_int64, c_void_p, c_size_t,
                                           c_char_p, c_size_t]),
    "nvfp4_rms_norm_quantize_device": (c_int, [
        c_int, c_char_p, c_int, c_uint64, c_uint64, c_uint64, ctypes.c_float, c_int64,
        c_int64, c_uint64, c_uint64, P(c_uint64), c_void_p, c_char_p, c_size_t]),
    "nvfp4_gated_act_quantize_device": (c_int, [
        c_int, c_char_p, c_int, c_int, c_uint64, c_int64, c_int64, c_uint64,
        P(c_uint64), c_void_p, c_char_p, c_size_t]),
    "nvfp4_rms_norm_device": (c_int, [c_int, c_int, c_uint64, c_uint64, c_uint64,
                                      ctypes.c_float, c_int64, c_int64, c_uint64,
                                      c_uint64, c_void_p, c_char_p, c_size_t]),
    "nvfp4_gated_act_device": (c_int, [c_int, c_int, c_int, c_uint64, c_int64, c_int64,
                                       c_uint64, c_void_p, c_char_p, c_size_t]),
}

# Every C function ends with (char *error, size_t error_size).
ERROR_SIZE = 2048
_tls = threading.local()


def error_buffer():
    """This thread's buffer for C error messages (one per thread: the hot
    path allocates none per call)."""
    try:
        return _tls.error
    except AttributeError:
        _tls.error = ctypes.create_string_buffer(ERROR_SIZE)
        return _tls.error


def message(error) -> str:
    return error.value.decode(errors="replace")


def _library_candidates():
    if "NVFP4_CAPI_LIBRARY" in os.environ:
        yield pathlib.Path(os.environ["NVFP4_CAPI_LIBRARY"])
    here = pathlib.Path(__file__).resolve().parent
    yield here / "libnvfp4_capi.so"
    # A source checkout: python/nvfp4 -> build/lib.
    yield here.parents[1] / "build" / "lib" / "libnvfp4_capi.so"


class _Library:
    def __init__(self, cdll):
        self._cdll = cdll

    def __getattr__(self, name):
        try:
            fn = getattr(self._cdll, name)
        except AttributeError:
            raise NVFP4Error(f"libnvfp4_capi.so lacks {name}: rebuild it") from None
        fn.restype, fn.argtypes = _SIGNATURES[name]
        setattr(self, name, fn)
        return fn


_lib = None


def lib():
    """The loaded C ABI (loaded on first use)."""
    global _lib
    if _lib is not None:
        return _lib
    tried = []
    for path in _library_candidates():
        tried.append(str(path))
        if path.exists():
            cdll = ctypes.CDLL(str(path))
            break
    else:
        raise NVFP4Error("cannot find libnvfp4_capi.so (looked in: "
                         + ", ".join(tried) + "); build it with scripts/build.sh")
    loaded = _Library(cdll)
    if loaded.nvfp4_abi_version() != 1:
        raise NVFP4Error("libnvfp4_capi.so has an incompatible ABI version")
    _lib = loaded
    return _lib


def call(name, *args):
    """Calls an int-returning C function; nonzero raises its message."""
    error = error_buffer()
    if getattr(lib(), name)(*args, error, ERROR_SIZE) != 0:
        raise NVFP4Error(message(error))


def call_handle(name, *args):
    """Calls a handle-returning C function; NULL raises its message."""
    error = error_buffer()
    handle = getattr(lib(), name)(*args, error, ERROR_SIZE)
    if not handle:
        raise NVFP4Error(message(error))
    return handle

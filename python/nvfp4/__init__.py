"""nvfp4: NVFP4 quantization recipes compiled by nvfp4-mlir.

The package talks to the runtime through its C ABI (``libnvfp4_capi.so``,
loaded with ctypes), so one package serves every Python version. This first
slice runs on the CPU with NumPy arrays; the GPU path (DLPack tensors) is
not wired up yet.

    >>> import numpy as np, nvfp4
    >>> q = nvfp4.quantize(np.ones((4, 32), np.float32), outer="row")
    >>> q.data.shape, q.scale.shape, q.amax.shape
    ((4, 16), (4, 2), (4,))
"""

from __future__ import annotations

import ctypes
import os
import pathlib
from dataclasses import dataclass
from typing import Optional

import numpy as np

__all__ = ["QuantizeResult", "NVFP4Error", "quantize", "recipe_text", "PRESETS"]

PRESETS = (
    "per_tensor", "per_tensor_2d", "per_tensor_rht", "per_token",
    "per_token_quotient", "local_1x64", "four_over_six", "four_over_six_mse",
)


class NVFP4Error(RuntimeError):
    """A runtime error, with the runtime's one-line message."""


def _library_candidates():
    if "NVFP4_CAPI_LIBRARY" in os.environ:
        yield pathlib.Path(os.environ["NVFP4_CAPI_LIBRARY"])
    here = pathlib.Path(__file__).resolve().parent
    yield here / "libnvfp4_capi.so"
    # A source checkout: python/nvfp4 -> build/lib.
    yield here.parents[1] / "build" / "lib" / "libnvfp4_capi.so"


def _load():
    tried = []
    for path in _library_candidates():
        tried.append(str(path))
        if path.exists():
            lib = ctypes.CDLL(str(path))
            break
    else:
        raise NVFP4Error("cannot find libnvfp4_capi.so (looked in: "
                         + ", ".join(tried) + "); build it with scripts/build.sh")
    lib.nvfp4_abi_version.restype = ctypes.c_int
    if lib.nvfp4_abi_version() != 1:
        raise NVFP4Error("libnvfp4_capi.so has an incompatible ABI version")
    lib.nvfp4_host_runner_create.restype = ctypes.c_void_p
    lib.nvfp4_host_runner_create.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    lib.nvfp4_quantize.restype = ctypes.c_void_p
    lib.nvfp4_quantize.argtypes = [
        ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_void_p,
        ctypes.c_int64, ctypes.c_int64, ctypes.c_char_p, ctypes.c_size_t]
    lib.nvfp4_result_has.restype = ctypes.c_int
    lib.nvfp4_result_has.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.nvfp4_result_buffer.restype = ctypes.c_void_p
    lib.nvfp4_result_buffer.argtypes = [
        ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
        ctypes.POINTER(ctypes.c_int64), ctypes.POINTER(ctypes.c_int)]
    lib.nvfp4_result_destroy.argtypes = [ctypes.c_void_p]
    lib.nvfp4_result_recipe.argtypes = [
        ctypes.c_void_p, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int)]
    return lib


_lib = None
_runner = None


def _host_runner():
    global _lib, _runner
    if _runner is None:
        _lib = _lib or _load()
        error = ctypes.create_string_buffer(1024)
        runner = _lib.nvfp4_host_runner_create(error, len(error))
        if not runner:
            raise NVFP4Error(error.value.decode())
        _runner = runner
    return _lib, _runner


@dataclass
class QuantizeResult:
    """The outputs of one quantization (None where not produced)."""

    data: Optional[np.ndarray] = None
    scale: Optional[np.ndarray] = None
    amax: Optional[np.ndarray] = None
    data_t: Optional[np.ndarray] = None
    scale_t: Optional[np.ndarray] = None
    amax_t: Optional[np.ndarray] = None
    per_token_scale: Optional[np.ndarray] = None


_OUTER = {"tensor": "tensor", "row": "row", "window": "window<64>",
               "window64": "window<64>"}
_SELECT = {"map6": "map6", "mae": "four_over_six<mae>",
           "mse": "four_over_six<mse>"}


def recipe_text(*, recipe=None, outer="tensor", block="1x16",
                numerics="reciprocal", select="map6", e4m3_max=448,
                rounding="nearest", seed=0, rht=False, rowwise=True,
                columnwise=False, sf_layout="linear") -> str:
    """The `#nvfp4.recipe` keys for these arguments (a preset when given)."""
    if recipe is not None:
        return recipe
    if outer not in _OUTER:
        raise NVFP4Error(f"unknown outer {outer!r} (expected tensor, row or window)")
    if select not in _SELECT:
        raise NVFP4Error(f"unknown select {select!r} (expected map6, mae or mse)")
    dirs = [d for d, on in (("rowwise", rowwise), ("columnwise", columnwise)) if on]
    keys = [f"outer = {_OUTER[outer]}", f"block = {block}",
            f"numerics = {numerics}", f"select = {_SELECT[select]}",
            f"e4m3_max = {int(e4m3_max)}",
            ("rounding = stochastic<seed = %d>" % seed
             if rounding == "stochastic" else f"rounding = {rounding}"),
            "transform = rht16" if rht else "transform = none",
            "directions = [" + ", ".join(dirs) + "]",
            f"sf_layout = {sf_layout}"]
    return ", ".join(keys)


def _storage(x: np.ndarray, input_dtype: Optional[str]):
    """The input rounded to its storage dtype, and the C ABI dtype code."""
    if x.ndim != 2:
        raise NVFP4Error(f"expected a 2-D array, got shape {x.shape}")
    if x.dtype not in (np.float32, np.float16):
        raise NVFP4Error(f"unsupported dtype {x.dtype} (expected float32 or float16)")
    dtype = input_dtype or ("fp16" if x.dtype == np.float16 else "fp32")
    if dtype == "fp32":
        return np.ascontiguousarray(x, np.float32), 0
    if dtype == "fp16":
        return np.ascontiguousarray(x, np.float16), 1
    if dtype == "bf16":
        # Round to nearest even on the bit pattern; NaN stays NaN.
        f = np.ascontiguousarray(x, np.float32).view(np.uint32)
        nan = (f & 0x7FFFFFFF) > 0x7F800000
        r = ((f + 0x7FFF + ((f >> 16) & 1)) >> 16).astype(np.uint16)
        r[nan] = ((f[nan] >> 16) | 0x40).astype(np.uint16)
        return r, 2
    raise NVFP4Error(f"unknown input_dtype {dtype!r} (expected bf16, fp16 or fp32)")


def quantize(x, *, recipe=None, outer="tensor", block="1x16",
             numerics="reciprocal", select="map6", e4m3_max=448,
             rounding="nearest", seed=0, rht=False, rowwise=True,
             columnwise=False, sf_layout="linear",
             input_dtype=None) -> QuantizeResult:
    """Quantizes a 2-D NumPy array with an NVFP4 recipe on the CPU.

    Same semantics and bytes as ``nvfp4-quantize --target=cpu``.
    """
    x = np.asarray(x)
    storage, code = _storage(x, input_dtype)
    text = recipe_text(recipe=recipe, outer=outer, block=block,
                       numerics=numerics, select=select, e4m3_max=e4m3_max,
                       rounding=rounding, seed=seed, rht=rht, rowwise=rowwise,
                       columnwise=columnwise, sf_layout=sf_layout)
    lib, runner = _host_runner()
    error = ctypes.create_string_buffer(1024)
    handle = lib.nvfp4_quantize(runner, text.encode(), code,
                                storage.ctypes.data, x.shape[0], x.shape[1],
                                error, len(error))
    if not handle:
        raise NVFP4Error(error.value.decode())
    try:
        out = QuantizeResult()
        for direction, suffix in ((0, ""), (1, "_t")):
            if not lib.nvfp4_result_has(handle, direction):
                continue
            for kind, name, dtype in ((0, "data", np.uint8),
                                      (1, "scale", np.uint8),
                                      (2, "amax", np.float32)):
                shape = (ctypes.c_int64 * 2)()
                ndim = ctypes.c_int()
                ptr = lib.nvfp4_result_buffer(handle, direction, kind, shape,
                                              ctypes.byref(ndim))
                dims = tuple(shape[i] for i in range(ndim.value))
                count = int(np.prod(dims))
                buf = (ctypes.c_char * (count * np.dtype(dtype).itemsize)).from_address(ptr)
                setattr(out, name + suffix,
                        np.frombuffer(bytes(buf), dtype).reshape(dims).copy())
        outer, bound = ctypes.c_int(), ctypes.c_int()
        lib.nvfp4_result_recipe(handle, ctypes.byref(outer), ctypes.byref(bound))
        if outer.value == 1 and out.amax is not None:  # per-token rowwise
            out.per_token_scale = _decode_multiplier(out.amax, bound.value)
        return out
    finally:
        lib.nvfp4_result_destroy(handle)


def _decode_multiplier(amax: np.ndarray, e4m3_max: int) -> np.ndarray:
    """FlashInfer's per-token decode multiplier: 0 where amax == 0, else
    S_dec = RN(1 / S_enc) with S_enc = min(RN(6E / amax), FLT_MAX)."""
    amax = amax.astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        s_enc = np.minimum(np.float32(6 * e4m3_max) / amax,
                           np.float32(np.finfo(np.float32).max))
        s_enc = np.where((amax == 0) | (s_enc == 0), np.float32(1), s_enc)
        s_dec = (np.float32(1) / s_enc).astype(np.float32)
    return np.where(amax == 0, np.float32(0), s_dec).astype(np.float32)

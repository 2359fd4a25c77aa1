"""nvfp4: NVFP4 quantization recipes compiled by nvfp4-mlir.

The package talks to the runtime through its C ABI (``libnvfp4_capi.so``,
loaded with ctypes), so one package serves every Python version
(docs/Rationale.md). NumPy arrays run on the CPU; GPU tensors of any DLPack
framework (PyTorch, CuPy, JAX) run on their device, on the framework's
current stream, with outputs in the same framework.

    >>> import numpy as np, nvfp4
    >>> q = nvfp4.quantize(np.ones((4, 32), np.float32), outer="row")
    >>> q.data.shape, q.scale.shape, q.amax.shape
    ((4, 16), (4, 2), (4,))
    >>> nvfp4.dequantize(q).shape
    (4, 32)
"""

from __future__ import annotations

import ctypes
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from . import _dlpack
from ._lib import NVFP4Error, call, call_handle, lib

__all__ = ["QuantizeResult", "NVFP4Error", "Kernel", "quantize", "dequantize",
           "matmul", "compile", "recipe_text", "presets", "PRESETS"]

PRESETS = (
    "per_tensor", "per_tensor_2d", "per_tensor_rht", "per_token",
    "per_token_quotient", "local_1x64", "four_over_six", "four_over_six_mse",
)


class _Presets(Mapping):
    """Recipe presets by name -> their full ``#nvfp4.recipe<...>`` text."""

    def __init__(self):
        self._texts = {}

    def __getitem__(self, name):
        if name not in PRESETS:
            raise KeyError(name)
        if name not in self._texts:
            self._texts[name] = canonical(name)
        return self._texts[name]

    def __iter__(self):
        return iter(PRESETS)

    def __len__(self):
        return len(PRESETS)

    def __repr__(self):
        return f"nvfp4.presets({', '.join(PRESETS)})"


presets = _Presets()


def canonical(recipe: str) -> str:
    """The full ``#nvfp4.recipe<...>`` text of a preset, keys or attribute."""
    out = ctypes.create_string_buffer(4096)
    call("nvfp4_recipe_canonical", recipe.encode(), out, len(out))
    return out.value.decode()


@dataclass
class QuantizeResult:
    """The outputs of one quantization (None where not produced), as arrays
    of the input's framework and device."""

    data: Optional[Any] = None
    scale: Optional[Any] = None
    amax: Optional[Any] = None
    data_t: Optional[Any] = None
    scale_t: Optional[Any] = None
    amax_t: Optional[Any] = None
    per_token_scale: Optional[Any] = None
    recipe: Optional[str] = None


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
    """Quantizes a 2-D array with an NVFP4 recipe.

    NumPy arrays (and CPU DLPack tensors) run on the CPU; GPU tensors run
    on their device. Same semantics and bytes as ``nvfp4-quantize``.
    """
    text = recipe_text(recipe=recipe, outer=outer, block=block,
                       numerics=numerics, select=select, e4m3_max=e4m3_max,
                       rounding=rounding, seed=seed, rht=rht, rowwise=rowwise,
                       columnwise=columnwise, sf_layout=sf_layout)
    if _dlpack.is_gpu(x):
        return _quantize_gpu(x, text, input_dtype)
    back = _cpu_framework(x)
    out = _quantize_cpu(_as_numpy(x), text, input_dtype)
    return _convert(out, back)


def _as_numpy(x):
    if isinstance(x, np.ndarray) or not hasattr(x, "__dlpack__"):
        return np.asarray(x)
    return np.from_dlpack(x)


def _cpu_framework(x):
    """For CPU tensors of another framework (torch), a converter back."""
    if _dlpack.framework(x) == "torch":
        import torch
        return torch.from_numpy
    return None


def _convert(out: QuantizeResult, back):
    if back is None:
        return out
    for name in ("data", "scale", "amax", "data_t", "scale_t", "amax_t",
                 "per_token_scale"):
        value = getattr(out, name)
        if value is not None:
            setattr(out, name, back(value))
    return out


def _quantize_cpu(x: np.ndarray, text: str, input_dtype) -> QuantizeResult:
    storage, code = _storage(x, input_dtype)
    l = lib()
    runner = _host_runner()
    error = ctypes.create_string_buffer(2048)
    handle = l.nvfp4_quantize(runner, text.encode(), code, storage.ctypes.data,
                              x.shape[0], x.shape[1], error, len(error))
    if not handle:
        raise NVFP4Error(error.value.decode())
    try:
        out = QuantizeResult(recipe=text)
        for direction, suffix in ((0, ""), (1, "_t")):
            if not l.nvfp4_result_has(handle, direction):
                continue
            for kind, name, dtype in ((0, "data", np.uint8),
                                      (1, "scale", np.uint8),
                                      (2, "amax", np.float32)):
                shape = (ctypes.c_int64 * 2)()
                ndim = ctypes.c_int()
                ptr = l.nvfp4_result_buffer(handle, direction, kind, shape,
                                            ctypes.byref(ndim))
                dims = tuple(shape[i] for i in range(ndim.value))
                count = int(np.prod(dims))
                buf = (ctypes.c_char * (count * np.dtype(dtype).itemsize)).from_address(ptr)
                setattr(out, name + suffix,
                        np.frombuffer(bytes(buf), dtype).reshape(dims).copy())
        outer, bound = ctypes.c_int(), ctypes.c_int()
        l.nvfp4_result_recipe(handle, ctypes.byref(outer), ctypes.byref(bound))
        if outer.value == 1 and out.amax is not None:  # per-token rowwise
            out.per_token_scale = _decode_multiplier(out.amax, bound.value)
        return out
    finally:
        l.nvfp4_result_destroy(handle)


_runner = None


def _host_runner():
    global _runner
    if _runner is None:
        _runner = call_handle("nvfp4_host_runner_create")
    return _runner


def _shapes(text: str, rows: int, cols: int):
    present = (ctypes.c_int * 2)()
    shapes = (ctypes.c_int64 * 12)()
    ndims = (ctypes.c_int * 6)()
    outer, bound = ctypes.c_int(), ctypes.c_int()
    call("nvfp4_quantize_shapes", text.encode(), rows, cols, present, shapes,
         ndims, ctypes.byref(outer), ctypes.byref(bound))
    dirs = {}
    for d in range(2):
        if present[d]:
            dirs[d] = [tuple(shapes[(d * 3 + k) * 2 + i] for i in range(ndims[d * 3 + k]))
                       for k in range(3)]
    return dirs, outer.value, bound.value


def _quantize_gpu(x, text: str, input_dtype) -> QuantizeResult:
    t = _dlpack.as_gpu_tensor(x, input_dtype)
    rows, cols = t.shape
    dirs, outer, bound = _shapes(text, rows, cols)
    out = QuantizeResult(recipe=text)
    pointers = (ctypes.c_uint64 * 6)()
    arrays = {}
    for d, shapes in dirs.items():
        suffix = "" if d == 0 else "_t"
        for k, (name, dtype) in enumerate((("data", "uint8"), ("scale", "uint8"),
                                           ("amax", "float32"))):
            array, ptr = _dlpack.empty_like_framework(t.owner, shapes[k], dtype)
            arrays[name + suffix] = array
            pointers[d * 3 + k] = ptr
    call("nvfp4_quantize_device", t.device, text.encode(), t.dtype, t.ptr, rows,
         cols, pointers, t.stream)
    for name, array in arrays.items():
        setattr(out, name, _dlpack.finish(array))
    if outer == 1 and out.amax is not None:
        out.per_token_scale = _decode_multiplier_gpu(out.amax, bound)
    return out


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


def _decode_multiplier_gpu(amax, e4m3_max: int):
    """The same multiplier on the GPU array's framework (IEEE f32 division
    and min, so the same bits as the NumPy version)."""
    fw = _dlpack.framework(amax)
    if fw == "torch":
        import torch
        big = torch.tensor(np.finfo(np.float32).max, dtype=torch.float32,
                           device=amax.device)
        s_enc = torch.minimum(torch.tensor(np.float32(6 * e4m3_max),
                                           device=amax.device) / amax, big)
        s_enc = torch.where((amax == 0) | (s_enc == 0), torch.ones_like(s_enc), s_enc)
        s_dec = torch.ones_like(s_enc) / s_enc
        return torch.where(amax == 0, torch.zeros_like(s_dec), s_dec)
    if fw == "cupy":
        import cupy
        with np.errstate(divide="ignore", invalid="ignore"):
            s_enc = cupy.minimum(cupy.float32(6 * e4m3_max) / amax,
                                 cupy.float32(np.finfo(np.float32).max))
            s_enc = cupy.where((amax == 0) | (s_enc == 0), cupy.float32(1), s_enc)
            s_dec = (cupy.float32(1) / s_enc).astype(cupy.float32)
        return cupy.where(amax == 0, cupy.float32(0), s_dec).astype(cupy.float32)
    return None


def dequantize(q, scale=None, amax=None, *, columnwise=False, recipe=None,
               **recipe_keys):
    """Dequantizes to float32 (SPEC.md section 11).

    ``q`` is a QuantizeResult (its rowwise output, or the columnwise one
    with ``columnwise=True``; its recipe unless another is given), or the
    data array with ``scale`` and ``amax``. The recipe arguments are those
    of quantize(). Returns a (rows, cols) float32 array of the data's
    framework and device (cols x rows for the columnwise output).
    """
    if isinstance(q, QuantizeResult):
        suffix = "_t" if columnwise else ""
        data, scale, amax = (getattr(q, n + suffix) for n in ("data", "scale", "amax"))
        if data is None:
            raise NVFP4Error("the result has no %s output"
                             % ("columnwise" if columnwise else "rowwise"))
        if recipe is None and not recipe_keys:
            recipe = q.recipe
    else:
        data = q
        if scale is None or amax is None:
            raise NVFP4Error("dequantize needs data, scale and amax")
    text = recipe_text(recipe=recipe, **recipe_keys)
    if len(data.shape) != 2:
        raise NVFP4Error(f"expected 2-D data, got shape {tuple(data.shape)}")
    rows, cols = int(data.shape[0]), int(data.shape[1]) * 2
    if _dlpack.is_gpu(data):
        return _dequantize_gpu(data, scale, amax, text, rows, cols)
    back = _cpu_framework(data)
    data = np.ascontiguousarray(_as_numpy(data), np.uint8)
    scale = np.ascontiguousarray(_as_numpy(scale), np.uint8)
    amax = np.ascontiguousarray(_as_numpy(amax), np.float32)
    out = np.empty((rows, cols), np.float32)
    _check_sizes(text, rows, cols, scale.size, amax.size)
    call("nvfp4_dequantize_host", text.encode(), data.ctypes.data,
         scale.ctypes.data, amax.ctypes.data, rows, cols, out.ctypes.data)
    return back(out) if back else out


def _check_sizes(text, rows, cols, scale_size, amax_size):
    """The scale and amax arrays must hold what the recipe reads."""
    shape = (ctypes.c_int64 * 4)()
    ndim = ctypes.c_int()
    call("nvfp4_dequantize_shapes", text.encode(), rows, cols, shape,
         ctypes.byref(ndim))
    want_scale = (shape[0], shape[1])
    want_amax = tuple(shape[2 + i] for i in range(ndim.value))
    if scale_size != int(np.prod(want_scale)) or amax_size != int(np.prod(want_amax)):
        raise NVFP4Error(
            f"scale ({scale_size} bytes) and amax ({amax_size} values) do not "
            f"match the recipe's shapes {want_scale} and {want_amax} for a "
            f"{rows}x{cols} matrix")


def _dequantize_gpu(data, scale, amax, text, rows, cols):
    d = _dlpack.as_gpu_tensor_raw(data)
    s = _dlpack.as_gpu_tensor_raw(scale)
    a = _dlpack.as_gpu_tensor_raw(amax)
    _check_sizes(text, rows, cols, s.size, a.size)
    out, ptr = _dlpack.empty_like_framework(data, (rows, cols), "float32")
    call("nvfp4_dequantize_device", d.device, text.encode(), d.ptr, s.ptr, a.ptr,
         rows, cols, ptr, d.stream)
    return _dlpack.finish(out)


_OUT_DTYPES = {"f32": (0, np.float32), "float32": (0, np.float32),
               "f16": (1, np.float16), "float16": (1, np.float16),
               "bf16": (2, np.uint16), "bfloat16": (2, np.uint16)}


def matmul(a: QuantizeResult, b: QuantizeResult, *, bias=None, alpha=1.0,
           out_dtype="bf16", target="cpu"):
    """D = A * B^T (SPEC.md section 12) of two rowwise quantizations.

    ``a`` (M x K) and ``b`` (N x K) are results of quantize() on NumPy
    arrays with recipes whose ``sf_layout`` is ``128x4``; ``bias`` is N
    float32 values; ``target`` is "cpu" or a GPU architecture ("sm_90a"),
    in which case the operands are copied to the device and back. Returns
    an (M, N) NumPy array: float32 or float16, and for bf16 float32 holding
    the bf16-rounded values (NumPy has no bfloat16).
    """
    for name, q in (("a", a), ("b", b)):
        if not isinstance(q, QuantizeResult) or q.data is None:
            raise NVFP4Error(f"{name}: expected a QuantizeResult with a rowwise output")
    if out_dtype not in _OUT_DTYPES:
        raise NVFP4Error(f"unknown out_dtype {out_dtype!r} (expected bf16, f16 or f32)")
    code, storage = _OUT_DTYPES[out_dtype]
    ops = []
    for q in (a, b):
        ops.append([np.ascontiguousarray(_as_numpy(q.data), np.uint8),
                    np.ascontiguousarray(_as_numpy(q.scale), np.uint8),
                    np.ascontiguousarray(_as_numpy(q.amax), np.float32)])
    m, k = ops[0][0].shape[0], ops[0][0].shape[1] * 2
    n = ops[1][0].shape[0]
    if ops[1][0].shape[1] * 2 != k:
        raise NVFP4Error(f"A and B must share K: {k} and {ops[1][0].shape[1] * 2}")
    bias_arr = None
    if bias is not None:
        bias_arr = np.ascontiguousarray(_as_numpy(bias), np.float32)
        if bias_arr.shape != (n,):
            raise NVFP4Error(f"expected a bias of shape ({n},), got {bias_arr.shape}")
    out = np.empty((m, n), storage)
    call("nvfp4_matmul_host", target.encode(), a.recipe.encode(),
         ops[0][0].ctypes.data, ops[0][1].ctypes.data, ops[0][2].ctypes.data, m,
         b.recipe.encode(), ops[1][0].ctypes.data, ops[1][1].ctypes.data,
         ops[1][2].ctypes.data, n, k,
         bias_arr.ctypes.data if bias_arr is not None else None, float(alpha),
         code, out.ctypes.data)
    if code == 2:
        return (out.astype(np.uint32) << 16).view(np.float32)
    return out


_SOURCES = ("compiled", "memory", "disk")


class Kernel:
    """A recipe compiled for one target; call it like quantize() (or
    dequantize() for op="dequantize") without the recipe arguments."""

    def __init__(self, recipe, target, op, input_dtype, names, image, source):
        self.recipe, self.target, self.op = recipe, target, op
        self.input_dtype, self.kernels = input_dtype, names
        self.image, self.source = image, source

    def __call__(self, *args, **kwargs):
        if self.op == "dequantize":
            return dequantize(*args, recipe=self.recipe, **kwargs)
        kwargs.setdefault("input_dtype", self.input_dtype)
        return quantize(*args, recipe=self.recipe, **kwargs)

    def __repr__(self):
        return (f"nvfp4.Kernel({self.op} {self.recipe} for {self.target}: "
                f"{len(self.kernels)} kernel(s), {self.source})")


def compile(recipe=None, target="cpu", *, op="quantize", input_dtype=None,
            **recipe_keys) -> Kernel:
    """Compiles a recipe (preset name, keys, attribute, or quantize()'s
    recipe arguments) for ``target``: "cpu", "sm_90a", "sm_100a", or "cuda"
    (the current GPU's). Compilations are cached in memory and, for GPU
    targets, on disk ($NVFP4_CACHE_DIR, else ~/.cache/nvfp4-mlir)."""
    if op not in ("quantize", "dequantize"):
        raise NVFP4Error(f"unknown op {op!r} (expected quantize or dequantize)")
    text = canonical(recipe_text(recipe=recipe, **recipe_keys))
    if target == "cuda":
        out = ctypes.create_string_buffer(64)
        call("nvfp4_device_target", 0, out, len(out))
        target = out.value.decode()
    code = {None: 2, "fp32": 0, "fp16": 1, "bf16": 2}.get(input_dtype)
    if code is None:
        raise NVFP4Error(f"unknown input_dtype {input_dtype!r} (expected bf16, fp16 or fp32)")
    handle = call_handle("nvfp4_compile", target.encode(), text.encode(), code,
                         0 if op == "quantize" else 1)
    l = lib()
    try:
        names = tuple(l.nvfp4_kernel_name(handle, i).decode()
                      for i in range(l.nvfp4_kernel_count(handle)))
        size = ctypes.c_size_t()
        ptr = l.nvfp4_kernel_image(handle, ctypes.byref(size))
        image = ctypes.string_at(ptr, size.value) if ptr else None
        source = _SOURCES[l.nvfp4_kernel_source(handle)]
    finally:
        l.nvfp4_kernel_destroy(handle)
    return Kernel(text, target, op, input_dtype, names, image, source)

"""nvfp4: NVFP4 quantization recipes compiled by nvfp4-mlir.

The package talks to the runtime through its C ABI (``libnvfp4_capi.so``,
loaded with ctypes), so one package serves every Python version
(docs/Rationale.md). NumPy arrays run on the CPU; GPU tensors of any DLPack
framework (PyTorch, CuPy, JAX) run on their device, on the framework's
current stream, with outputs in the same framework. PyTorch is optional:
``nvfp4.torch`` registers the operations as ``torch.ops.nvfp4.*`` (for
torch.compile and torch.export) and holds an NVFP4 ``Linear``.
``nvfp4.training`` holds the training recipes (which recipe quantizes each
operand of a Linear layer's fprop, dgrad and wgrad GEMMs) that
``nvfp4.torch.TrainingLinear`` trains with (docs/Training.md).

    >>> import numpy as np, nvfp4
    >>> q = nvfp4.quantize(np.ones((4, 32), np.float32), outer="row")
    >>> q.data.shape, q.scale.shape, q.amax.shape
    ((4, 16), (4, 2), (4,))
    >>> nvfp4.dequantize(q).shape
    (4, 32)
"""

from __future__ import annotations

import ctypes
import os
import sys
import warnings
from collections.abc import Mapping

import numpy as np

from . import _device, _dlpack, _recipes
from ._device import PLAIN
from ._lib import NVFP4Error, call, call_handle, lib
from ._recipes import canonical_text as canonical
from ._recipes import info_for_text
from ._result import QuantizeResult

__all__ = ["QuantizeResult", "NVFP4Error", "Kernel", "quantize", "dequantize",
           "matmul", "grouped_quantize", "grouped_matmul", "stack_groups",
           "compile", "recipe_text", "presets", "PRESETS", "rms_norm_quantize",
           "silu_mul_quantize", "gelu_tanh_mul_quantize", "rms_norm", "silu_mul",
           "gelu_tanh_mul"]

PRESETS = (
    "per_tensor", "per_tensor_2d", "per_tensor_rht", "per_token",
    "per_token_quotient", "local_1x64", "four_over_six", "four_over_six_mse",
)


def _not_compiling():
    return False


# Set by nvfp4.torch when it registers the ops: torch.compiler.is_compiling,
# and the module whose functions call torch.ops.nvfp4.* (what torch.compile
# and torch.export trace, where the direct ctypes path cannot run).
_is_compiling = _not_compiling
_ops = None


def _register_torch():
    """Imports nvfp4.torch, which registers the ops (once)."""
    if _ops is not None:
        return
    try:
        from . import torch as _  # noqa: F401
    except Exception as e:  # an old or broken PyTorch: eager use still works
        warnings.warn(f"nvfp4: the PyTorch ops are not registered ({e})")


class _Presets(Mapping):
    """Recipe presets by name -> their full ``#nvfp4.recipe<...>`` text."""

    def __getitem__(self, name):
        if name not in PRESETS:
            raise KeyError(name)
        return info_for_text(name).text

    def __iter__(self):
        return iter(PRESETS)

    def __len__(self):
        return len(PRESETS)

    def __repr__(self):
        return f"nvfp4.presets({', '.join(PRESETS)})"


presets = _Presets()


_OUTER = {"tensor": "tensor", "row": "row", "window": "window<64>",
          "window64": "window<64>"}
_SELECT = {"map6": "map6", "mae": "four_over_six<mae>",
           "mse": "four_over_six<mse>"}
# The values each string keyword takes (NVFP4Attrs.td): anything else is an
# error, never pasted into the recipe text (`block="1x16, outer = row"`
# would otherwise override another key).
_CHOICES = {"outer": tuple(_OUTER), "block": ("1x16", "16x16"),
            "numerics": ("reciprocal", "quotient"), "select": tuple(_SELECT),
            "rounding": ("nearest", "stochastic"),
            "sf_layout": ("linear", "128x4", "8x4"),
            "amax_source": ("computed", "given", "given_encode_scale")}
_E4M3_MAX = (448, 256)
_SEED_RANGE = (0, 2**64 - 1)


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _check_keywords(values: dict):
    """Every recipe keyword against its allowed values (NVFP4Error naming
    the keyword and what it takes)."""
    for name, allowed in _CHOICES.items():
        value = values[name]
        if not isinstance(value, str) or value not in allowed:
            raise NVFP4Error(f"unknown {name} {value!r} (expected one of "
                             f"{', '.join(allowed)})")
    for name in ("rht", "rowwise", "columnwise"):
        if not isinstance(values[name], (bool, np.bool_)):
            raise NVFP4Error(f"expected {name} to be a bool (True or False), got "
                             f"{values[name]!r}")
    e4m3_max = values["e4m3_max"]
    if not _is_int(e4m3_max) or int(e4m3_max) not in _E4M3_MAX:
        raise NVFP4Error(f"expected e4m3_max to be the int 448 or 256, got {e4m3_max!r}")
    seed = values["seed"]
    if not _is_int(seed) or not _SEED_RANGE[0] <= int(seed) <= _SEED_RANGE[1]:
        raise NVFP4Error(f"expected seed to be an int in [0, 2**64 - 1], got {seed!r}")


def recipe_text(*, recipe=None, outer="tensor", block="1x16",
                numerics="reciprocal", select="map6", e4m3_max=448,
                rounding="nearest", seed=0, rht=False, rowwise=True,
                columnwise=False, sf_layout="linear",
                amax_source="computed") -> str:
    """The `#nvfp4.recipe` keys for these arguments (a preset when given).

    Each keyword takes only its listed values: ``outer`` tensor, row,
    window (window64); ``block`` 1x16, 16x16; ``numerics`` reciprocal,
    quotient; ``select`` map6, mae, mse; ``rounding`` nearest, stochastic;
    ``sf_layout`` linear, 128x4, 8x4; ``amax_source`` computed, given,
    given_encode_scale; ``e4m3_max`` the int 448 or 256;
    ``seed`` an int in [0, 2**64 - 1]; ``rht``, ``rowwise`` and
    ``columnwise`` bools. Anything else raises NVFP4Error."""
    if recipe is not None:
        _recipes.check_text(recipe)
        return recipe
    _check_keywords(locals())
    dirs = [d for d, on in (("rowwise", rowwise), ("columnwise", columnwise)) if on]
    keys = [f"outer = {_OUTER[outer]}", f"block = {block}",
            f"numerics = {numerics}", f"select = {_SELECT[select]}",
            f"e4m3_max = {int(e4m3_max)}",
            ("rounding = stochastic<seed = %d>" % int(seed)
             if rounding == "stochastic" else f"rounding = {rounding}"),
            "transform = rht16" if rht else "transform = none",
            "directions = [" + ", ".join(dirs) + "]",
            f"sf_layout = {sf_layout}", f"amax = {amax_source}"]
    return ", ".join(keys)


_KEY_NAMES = ("outer", "block", "numerics", "select", "e4m3_max", "rounding",
              "seed", "rht", "rowwise", "columnwise", "sf_layout", "amax_source")


def _info(recipe, key):
    """The RecipeInfo of a recipe string, or of quantize()'s keyword
    arguments as the tuple `key` (both cached)."""
    if recipe is not None:
        return info_for_text(recipe)
    # Keyed with the values' types: 1 == True and 448.0 == 448 must not hit
    # the entry of a validated bool or int.
    typed = key + tuple(map(type, key))
    try:
        info = _recipes.BY_ARGS.get(typed)
    except TypeError:  # an unhashable value (a list): recipe_text says which
        info = None
        typed = None
    if info is None:
        text = recipe_text(**dict(zip(_KEY_NAMES, key)))
        info = info_for_text(text) if typed is None else _recipes.remember(typed, text)
    return info


def _keys_info(recipe, recipe_keys):
    """_info for a recipe and a dict of recipe keywords (dequantize)."""
    if recipe is not None and not recipe_keys:
        return info_for_text(recipe)
    if recipe is not None:
        # recipe_text would ignore the keywords: a silent wrong recipe.
        raise NVFP4Error(f"pass either recipe or recipe keywords, got recipe={recipe!r} "
                         f"and {', '.join(sorted(recipe_keys))}")
    items = tuple(sorted(recipe_keys.items()))
    key = ("keys",) + items + tuple(type(v) for _, v in items)
    try:
        info = _recipes.BY_ARGS.get(key)
    except TypeError:  # an unhashable value: recipe_text says which
        return info_for_text(recipe_text(**recipe_keys))
    if info is None:
        info = _recipes.remember(key, recipe_text(**recipe_keys))
    return info


#===------------------------------------------------------------------------===#
# Quantize
#===------------------------------------------------------------------------===#

def quantize(x, *, recipe=None, outer="tensor", block="1x16",
             numerics="reciprocal", select="map6", e4m3_max=448,
             rounding="nearest", seed=0, rht=False, rowwise=True,
             columnwise=False, sf_layout="linear", amax_source="computed",
             input_dtype=None, amax=None, amax_t=None) -> QuantizeResult:
    """Quantizes a 2-D array with an NVFP4 recipe.

    NumPy arrays (and CPU DLPack tensors) run on the CPU; GPU tensors run
    on their device, on the framework's current stream, without
    synchronizing (CUDA-graph capturable). Same semantics and bytes as
    ``nvfp4-quantize``. ``recipe`` is a preset name, recipe keys or the
    attribute text; otherwise the keyword arguments build the recipe.

    ``amax`` / ``amax_t``: the outer amaxes of the rowwise / columnwise
    output, given (a delayed, calibrated or all-reduced amax; with
    ``amax = given_encode_scale`` the encode scales S_enc): float32 arrays
    of the shape the result's ``amax`` / ``amax_t`` has, on the input's
    device (the GPU kernels read them there; X is read once). The recipe
    must say ``amax = given`` or ``given_encode_scale``; with keyword
    arguments, passing ``amax`` makes ``amax_source`` default to given.
    Everything is checked before anything runs; the result's amaxes are
    the given arrays.
    """
    if (amax is not None or amax_t is not None) and recipe is None and \
            amax_source == "computed":
        amax_source = "given"
    key = None if recipe is not None else (
        outer, block, numerics, select, e4m3_max, rounding, seed, rht, rowwise,
        columnwise, sf_layout, amax_source)
    if _is_compiling():
        if amax is not None or amax_t is not None:
            raise NVFP4Error("given amaxes are not supported under torch.compile")
        return _ops.quantize(x, recipe, key, input_dtype)
    return _quantize(x, _info(recipe, key), input_dtype, given=(amax, amax_t))


def amax(x, *, recipe=None, outer="tensor", block="1x16", numerics="reciprocal",
         select="map6", e4m3_max=448, rounding="nearest", seed=0, rht=False,
         rowwise=True, columnwise=False, sf_layout="linear",
         input_dtype=None):
    """The outer amaxes quantize() would compute for this recipe, and
    nothing else (``nvfp4.amax``): ``(amax, amax_t)``, None for a direction
    the recipe lacks, float32 arrays of the input's framework and device
    (GPU: enqueued on the current stream). Reduce them (all-reduce across
    ranks, a delayed-scaling history) and pass them to quantize(...,
    amax=..., amax_t=...) for the bytes of a quantization that reads X
    once."""
    key = None if recipe is not None else (
        outer, block, numerics, select, e4m3_max, rounding, seed, rht, rowwise,
        columnwise, sf_layout, "computed")
    info = _info(recipe, key)
    be = _device.gpu_backend(x)
    if be is not None:
        return _device.amax(be, x, info, input_dtype)
    if _dlpack.is_gpu(x):
        array, back = _adopt(x)
        out = _device.amax(_device.gpu_backend(array), array, info, input_dtype)
        return tuple(None if a is None else back(a) for a in out)
    back = _cpu_framework(x)
    if back is not None and str(x.dtype) == "torch.bfloat16":
        x, input_dtype = x.float(), input_dtype or "bf16"
    x = _as_numpy(x)
    storage, code = _storage(x, input_dtype)
    specs = info.specs(x.shape[0], x.shape[1])
    arrays = [np.zeros(specs.by_name[n], np.float32) if n in specs.by_name else None
              for n in ("amax", "amax_t")]
    ptrs = [0 if a is None else a.ctypes.data for a in arrays]
    counts = [0 if a is None else a.size for a in arrays]
    error = ctypes.create_string_buffer(2048)
    if lib().nvfp4_amax_host(_host_runner(), info.btext, code, storage.ctypes.data,
                             storage.nbytes, x.shape[0], x.shape[1], ptrs[0],
                             counts[0], ptrs[1], counts[1], error, len(error)):
        raise NVFP4Error(error.value.decode())
    if back is not None:
        arrays = [None if a is None else back(a) for a in arrays]
    return tuple(arrays)


def _check_given(info, given):
    """Given amaxes need a recipe that reads them, and a recipe that reads
    them needs them for each direction it has (NVFP4Error otherwise)."""
    amax, amax_t = given
    if not info.given:
        if amax is not None or amax_t is not None:
            raise NVFP4Error("amax values were given, but the recipe computes its "
                             "amax (given ones need amax = given or "
                             "given_encode_scale)")
        return
    for name, wanted, value in (("amax", info.rowwise, amax),
                                ("amax_t", info.columnwise, amax_t)):
        if wanted and value is None:
            raise NVFP4Error(f"the recipe reads given amaxes: pass {name}=")
        if not wanted and value is not None:
            raise NVFP4Error(f"{name} was given, but the recipe has no "
                             f"{'rowwise' if name == 'amax' else 'columnwise'} output")


def _quantize(x, info, input_dtype, separate=False, given=(None, None)):
    _check_given(info, given)
    be = _device.gpu_backend(x)
    if be is not None:
        return _device.quantize(be, x, info, input_dtype, separate=separate,
                                given=given)
    if _dlpack.is_gpu(x):
        array, back = _adopt(x)
        adopted = tuple(None if g is None else _adopt(g)[0] for g in given)
        return _give_back(_quantize(array, info, input_dtype, True, adopted), back)
    back = _cpu_framework(x)
    if back is not None and str(x.dtype) == "torch.bfloat16":
        # NumPy has no bfloat16: the values are exact in float32.
        x, input_dtype = x.float(), input_dtype or "bf16"
    out = _quantize_cpu(_as_numpy(x), info, input_dtype, given)
    return _convert(out, back)


def grouped_quantize(x, splits, *, recipe=None, outer="tensor", block="1x16",
                     numerics="reciprocal", select="map6", e4m3_max=448,
                     rounding="nearest", seed=0, rht=False, rowwise=True,
                     columnwise=False, sf_layout="linear",
                     amax_source="computed", input_dtype=None, amax=None,
                     amax_t=None) -> QuantizeResult:
    """Quantizes the rows of `x` in groups (MoE): ``splits`` is a device
    int64 array of G group sizes (non-negative, adding up to the rows; empty
    groups are legal), read by the kernels only. Each group is quantized as
    its own tensor; with ``sf_layout = 128x4`` each group's scales start on
    a fresh 128-row tile. The result has ``groups = G``; its amax is G
    values per tensor. GPU arrays (PyTorch, CuPy) only: the C ABI has no host
    grouped quantization. ``amax``/``amax_t`` as for quantize() (one value
    per group for per-tensor recipes)."""
    if (amax is not None or amax_t is not None) and recipe is None and \
            amax_source == "computed":
        amax_source = "given"
    key = None if recipe is not None else (
        outer, block, numerics, select, e4m3_max, rounding, seed, rht, rowwise,
        columnwise, sf_layout, amax_source)
    given = (amax, amax_t)
    if _is_compiling():
        if amax is not None or amax_t is not None:
            raise NVFP4Error("given amaxes are not supported under torch.compile")
        return _ops.grouped_quantize(x, splits, recipe, key, input_dtype)
    info = _info(recipe, key)
    _check_given(info, given)
    be = _device.gpu_backend(x)
    if be is None:
        if _dlpack.is_gpu(x):
            array, back = _adopt(x)
            s, _ = _adopt(splits)
            adopted = tuple(None if g is None else _adopt(g)[0] for g in given)
            return _give_back(_device.quantize(_device.gpu_backend(array), array, info,
                                               input_dtype, s, given=adopted), back)
        raise NVFP4Error("grouped_quantize runs on GPU arrays (PyTorch, CuPy): the C "
                         "ABI has no host grouped quantization")
    return _device.quantize(be, x, info, input_dtype, splits, given=given)


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


def _adopt(x):
    """A GPU array of another DLPack framework (JAX, ...) as a PyTorch
    tensor or CuPy array (no copy), and the function handing arrays back
    in its framework."""
    fw = _dlpack.framework(x)
    try:
        import torch
        array = torch.from_dlpack(x)
    except ImportError:
        try:
            import cupy
            array = cupy.from_dlpack(x)
        except ImportError:
            raise NVFP4Error(f"cannot run on a {fw} GPU array: install PyTorch or "
                             "CuPy") from None
    return array, _dlpack.from_dlpack_of(fw)


def _give_back(q: QuantizeResult, back):
    decode, q._decode = q._decode, None  # stays lazy
    amax = q.amax  # of the adopted framework
    _convert(q, back)
    if decode is not None:
        fn, _, bound = decode
        q._decode = (lambda a, b: back(fn(a, b)), amax, bound)
    q._operand = None
    return q


def _host_given(value, name, shape):
    """A given amax as a contiguous float32 NumPy array of `shape` (no
    silent casts: other dtypes are errors)."""
    if _dlpack.is_gpu(value):
        raise NVFP4Error(f"expected {name} in host memory with the input, got a "
                         "GPU array")
    array = _as_numpy(value)
    if array.dtype != np.float32:
        raise NVFP4Error(f"expected {name} to be float32, got {array.dtype}")
    if tuple(array.shape) != tuple(shape):
        raise NVFP4Error(f"expected {name} of shape {tuple(shape)}, got "
                         f"{tuple(array.shape)}")
    return np.ascontiguousarray(array)


def _quantize_cpu(x: np.ndarray, info, input_dtype,
                  given=(None, None)) -> QuantizeResult:
    storage, code = _storage(x, input_dtype)
    l = lib()
    runner = _host_runner()
    error = ctypes.create_string_buffer(2048)
    if info.given:
        _, amaxes = _host_given_args(info, given, x.shape[0], x.shape[1])
        handle = l.nvfp4_quantize_given(runner, info.btext, code,
                                        storage.ctypes.data, storage.nbytes,
                                        x.shape[0], x.shape[1], *amaxes, error,
                                        len(error))
    else:
        handle = l.nvfp4_quantize_sized(runner, info.btext, code,
                                        storage.ctypes.data, storage.nbytes,
                                        x.shape[0], x.shape[1], error, len(error))
    if not handle:
        raise NVFP4Error(error.value.decode())
    return _host_quantize_result(handle, info)


def _host_given_args(info, given, rows, cols):
    """The given amaxes of a rows x cols quantization as host float32 arrays
    (None where absent, kept alive by the caller) and the C ABI's
    (amax, amax_count, amax_t, amax_t_count) arguments for them."""
    specs = info.specs(rows, cols)
    arrays = [None if value is None else _host_given(value, name, specs.by_name[name])
              for name, value in zip(("amax", "amax_t"), given)]
    args = []
    for a in arrays:
        args += [0 if a is None else a.ctypes.data, 0 if a is None else a.size]
    return arrays, args


def _host_quantize_result(handle, info) -> QuantizeResult:
    """The QuantizeResult of an nvfp4_result handle (copied out; the handle
    is destroyed)."""
    l = lib()
    try:
        out = QuantizeResult(recipe=info.text)
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
            out.per_token_scale = _decode_multiplier(out.amax, info.numerator)
        return out
    finally:
        l.nvfp4_result_destroy(handle)


def _storage(x: np.ndarray, input_dtype):
    """The input rounded to its storage dtype, and the C ABI dtype code."""
    if x.ndim != 2:
        raise NVFP4Error(f"expected a 2-D array, got shape {x.shape}")
    if x.dtype not in (np.float32, np.float16):
        raise NVFP4Error(f"unsupported dtype {x.dtype} (expected float32 or float16)")
    dtype = input_dtype or ("fp16" if x.dtype == np.float16 else "fp32")
    # Before any copy: a zero-strided view of 2**31 rows is 16 bytes of
    # NumPy but 128 GiB once contiguous.
    _check_host_bytes("quantize", x.shape, x.shape[0] * x.shape[1] * (
        (4 if dtype == "fp32" else 2) + 1))
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


_memory = None


def _host_memory() -> int:
    """The bytes of physical memory (asked once): the bound on what one host
    call may allocate (inputs made contiguous, outputs)."""
    global _memory
    if _memory is None:
        try:
            _memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (AttributeError, ValueError, OSError):  # not POSIX: 1 TiB
            _memory = 1 << 40
    return _memory


def _check_host_bytes(op, shape, nbytes):
    """An NVFP4Error, before anything is allocated, for a host call whose
    copies and outputs would need more than the machine's physical memory
    (a zero-strided view costs nothing until it is copied)."""
    limit = _host_memory()
    if nbytes > limit:
        raise NVFP4Error(f"{op}: a {'x'.join(map(str, shape))} matrix needs about "
                         f"{nbytes} bytes of host memory, more than this machine's "
                         f"{limit}")


def _check_dtypes(what, data, scale, amax):
    """Quantized host buffers as quantize() returns them: uint8 data and
    scales, float32 amaxes (a float or int64 array is not cast)."""
    for name, array, want in (("data", data, np.uint8), ("scale", scale, np.uint8),
                              ("amax", amax, np.float32)):
        if array.dtype != want:
            raise NVFP4Error(f"{what}expected {name} to be a {np.dtype(want).name} "
                             f"array, got {array.dtype}")


_runner = None


def _host_runner():
    global _runner
    if _runner is None:
        _runner = call_handle("nvfp4_host_runner_create")
    return _runner


def _decode_multiplier(amax: np.ndarray, numerator: float) -> np.ndarray:
    """FlashInfer's per-token decode multiplier: 0 where amax == 0, else
    S_dec = RN(1 / S_enc) with S_enc = min(RN(numerator / amax), FLT_MAX),
    the numerator being 6E (or RN(1 / global_scale_inv)). The GPU forms
    (nvfp4._device) compute the same bits with device ops."""
    amax = amax.astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        s_enc = np.minimum(np.float32(numerator) / amax,
                           np.float32(np.finfo(np.float32).max))
        s_enc = np.where((amax == 0) | (s_enc == 0), np.float32(1), s_enc)
        s_dec = (np.float32(1) / s_enc).astype(np.float32)
    return np.where(amax == 0, np.float32(0), s_dec).astype(np.float32)


#===------------------------------------------------------------------------===#
# Dequantize
#===------------------------------------------------------------------------===#

def dequantize(q, scale=None, amax=None, *, columnwise=False, recipe=None,
               out=None, **recipe_keys):
    """Dequantizes to float32 (SPEC.md section 11).

    ``q`` is a QuantizeResult (its rowwise output, or the columnwise one
    with ``columnwise=True``; its recipe unless another is given), or the
    data array with ``scale`` and ``amax``. The recipe arguments are those
    of quantize(). Returns a (rows, cols) float32 array of the data's
    framework and device (cols x rows for the columnwise output), or writes
    into ``out`` (float32, that shape, contiguous, on the same device).
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
    if _is_compiling():
        result = _ops.dequantize(data, scale, amax, recipe, recipe_keys)
        return result if out is None else out.copy_(result)
    return _dequantize(data, scale, amax, _keys_info(recipe, recipe_keys), out)


def _dequantize(data, scale, amax, info, out):
    if len(data.shape) != 2:
        raise NVFP4Error(f"expected 2-D data, got shape {tuple(data.shape)}")
    rows, cols = int(data.shape[0]), int(data.shape[1]) * 2
    be = _device.gpu_backend(data)
    if be is not None:
        return _device.dequantize(be, data, scale, amax, info, rows, cols, out)
    if _dlpack.is_gpu(data):
        arrays = [_adopt(t)[0] for t in (data, scale, amax)]
        back = _dlpack.from_dlpack_of(_dlpack.framework(data))
        o = None if out is None else _adopt(out)[0]
        result = _device.dequantize(_device.gpu_backend(arrays[0]), *arrays, info,
                                    rows, cols, o)
        return out if out is not None else back(result)
    back = _cpu_framework(data)
    data, scale, amax = (_as_numpy(t) for t in (data, scale, amax))
    # Checked before any conversion or allocation: dtypes (never cast),
    # sizes against the recipe, and the output against host memory.
    _check_dtypes("", data, scale, amax)
    _check_sizes(info, rows, cols, scale.size, amax.size)
    _check_host_bytes("dequantize", (rows, cols), rows * cols * 4 + data.size)
    data, scale, amax = (np.ascontiguousarray(t) for t in (data, scale, amax))
    host_out = np.empty((rows, cols), np.float32)
    call("nvfp4_dequantize_host_sized", info.btext, data.ctypes.data, data.nbytes,
         scale.ctypes.data, scale.nbytes, amax.ctypes.data, amax.size, rows, cols,
         host_out.ctypes.data, host_out.size)
    return _host_result(host_out, back, out)


def _check_sizes(info, rows, cols, scale_size, amax_size):
    """The scale and amax arrays must hold what the recipe reads."""
    want = info.dequantize_sizes(rows, cols)
    if (scale_size, amax_size) != want[:2]:
        raise NVFP4Error(
            f"scale ({scale_size} bytes) and amax ({amax_size} values) do not "
            f"match the recipe's shapes {want[2]} and {want[3]} for a "
            f"{rows}x{cols} matrix")


def _host_result(result: np.ndarray, back, out):
    """A host result as a new array of the inputs' framework, or in `out`."""
    if out is None:
        return back(result) if back else result
    target = _as_numpy(out)
    if (not isinstance(target, np.ndarray) or target.shape != result.shape
            or target.dtype != result.dtype or not target.flags.c_contiguous):
        raise NVFP4Error(f"expected out to be a contiguous {result.dtype} host array of "
                         f"shape {result.shape}, got {getattr(target, 'dtype', None)} of "
                         f"shape {getattr(target, 'shape', None)}")
    target[...] = result
    return out


#===------------------------------------------------------------------------===#
# Matmul
#===------------------------------------------------------------------------===#

_OUT_CODES = {"f32": 0, "fp32": 0, "float32": 0, "torch.float32": 0,
              "f16": 1, "fp16": 1, "float16": 1, "torch.float16": 1,
              "bf16": 2, "bfloat16": 2, "torch.bfloat16": 2}
_HOST_OUT = (np.float32, np.float16, np.uint16)


def _out_code(out_dtype) -> int:
    code = _OUT_CODES.get(out_dtype)
    if code is None:
        code = _OUT_CODES.get(str(out_dtype))
        if code is None:
            raise NVFP4Error(f"unknown out_dtype {out_dtype!r} (expected bf16, f16 or f32)")
    return code


def matmul(a, b: QuantizeResult, *, bias=None, alpha=1.0,
           out_dtype="bf16", out=None, target="cpu"):
    """D = A * B^T (SPEC.md section 12) of two rowwise quantizations.

    W4A16: ``a`` may instead be an unquantized (M, K) bf16 or fp16 array
    (PyTorch bfloat16/float16, NumPy float16, or NumPy/CuPy uint16 holding
    bf16 bits), used exactly as given (``nvfp4.matmul_w4a16``): only B is
    NVFP4, with any recipe. Everything else is as below.

    ``a`` (M x K) and ``b`` (N x K) are results of quantize() with recipes
    whose ``sf_layout`` is ``128x4``; ``bias`` is N float32 values;
    ``alpha`` multiplies the scaled product; ``out_dtype`` is bf16, f16 or
    f32 (or the torch dtype).

    On the GPU (operands of quantize() on PyTorch or CuPy arrays) the GEMM
    runs on their device and the framework's current stream, without
    synchronizing, into a new (M, N) array of that framework or into
    ``out`` (contiguous, that shape and dtype; CuPy has no bfloat16: pass a
    uint16 ``out`` for bf16). Shapes, dtypes, devices and recipes are
    checked before anything is launched.

    On the host (NumPy operands) it runs on ``target``: "cpu" or a GPU
    architecture ("sm_90a"), in which case the operands are copied to the
    device and back. Returns an (M, N) NumPy array: float32 or float16, and
    for bf16 float32 holding the bf16-rounded values (NumPy has no
    bfloat16).
    """
    if _is_compiling():
        result = (_ops.matmul(a, b, bias, alpha, out_dtype)
                  if isinstance(a, QuantizeResult)
                  else _ops.matmul_w4a16(a, b, bias, alpha, out_dtype))
        return result if out is None else out.copy_(result)
    if not isinstance(a, QuantizeResult) and hasattr(a, "shape"):
        return _matmul_w4a16(a, b, bias, alpha, _out_code(out_dtype), out, target)
    return _matmul(a, b, bias, alpha, _out_code(out_dtype), out, target)


def _matmul_w4a16(a, b, bias, alpha, code, out, target):
    ob = _device.operand(b, "b", PLAIN)
    be = _device.gpu_backend(a)
    if be is not None and ob is not None:
        return _device.matmul_w4a16(be, a, ob, bias, float(alpha), code, out)
    if be is not None or ob is not None or _dlpack.is_gpu(a):
        raise NVFP4Error(f"expected a and b on one device, got a on "
                         f"{'the GPU' if _dlpack.is_gpu(a) else 'the host'} and b on "
                         f"{'the GPU' if ob else 'the host'}")
    arr, a_code = _a16_host(a)
    bd, bsc, bm = (_as_numpy(t) for t in (b.data, b.scale, b.amax))
    _check_dtypes("b: ", bd, bsc, bm)
    if bd.ndim != 2:
        raise NVFP4Error("expected a 2-D b (grouped operands need the GPU: "
                         "nvfp4.grouped_matmul)")
    (m, k), n = arr.shape, bd.shape[0]
    if bd.shape[1] * 2 != k:
        raise NVFP4Error(f"A and B must share K: {k} and {bd.shape[1] * 2}")
    bias_arr = _host_bias(bias, n)
    _check_host_bytes("matmul", (m, n), m * n * 4 + m * k * 2 + n * k)
    arr = np.ascontiguousarray(arr)
    bd, bsc, bm = (np.ascontiguousarray(t) for t in (bd, bsc, bm))
    host_out = np.empty((m, n), _HOST_OUT[code])
    call("nvfp4_matmul_w4a16_host_sized", target.encode(), a_code, arr.ctypes.data,
         arr.nbytes, m, info_for_text(b.recipe).btext, bd.ctypes.data, bd.nbytes,
         bsc.ctypes.data, bsc.nbytes, bm.ctypes.data, bm.size, n, k,
         bias_arr.ctypes.data if bias_arr is not None else None,
         0 if bias_arr is None else bias_arr.size, float(alpha), code,
         host_out.ctypes.data, host_out.nbytes)
    return _host_matmul_result(host_out, code, _dlpack.framework(a) == "torch", out)


def _a16_host(a):
    """A host W4A16 A as a NumPy array of bf16 bits (uint16) or float16,
    and its C ABI dtype code; no other dtype is cast silently."""
    if _dlpack.framework(a) == "torch":
        import torch
        if a.dtype == torch.bfloat16:
            arr, code = a.detach().contiguous().view(torch.int16).numpy().view(np.uint16), 2
        elif a.dtype == torch.float16:
            arr, code = a.detach().contiguous().numpy(), 1
        else:
            arr, code = None, str(a.dtype)
    else:
        arr = _as_numpy(a)
        if arr.dtype == np.float16:
            code = 1
        elif arr.dtype == np.uint16 or arr.dtype.name == "bfloat16":
            arr, code = arr.view(np.uint16), 2
        else:
            arr, code = None, str(arr.dtype)
    if arr is None:
        raise NVFP4Error(f"a: expected a bfloat16 or float16 array for W4A16 (NumPy "
                         f"uint16 holds bf16 bits), got {code}; quantize it with "
                         "nvfp4.quantize for an NVFP4 GEMM, or cast it")
    if arr.ndim != 2:
        raise NVFP4Error(f"a: expected a 2-D array, got shape {arr.shape}")
    return arr, code


def _host_bias(bias, n):
    if bias is None:
        return None
    bias_arr = _as_numpy(bias)
    if bias_arr.shape != (n,):
        raise NVFP4Error(f"expected a bias of shape ({n},), got {bias_arr.shape}")
    return np.ascontiguousarray(bias_arr, np.float32)


def _host_matmul_result(host_out, code, torch_in, out):
    """A host GEMM's output as a torch tensor (for torch inputs) or a NumPy
    array (bf16 widened to float32), or written into `out`."""
    if torch_in:
        import torch
        t = torch.from_numpy(host_out.view(np.int16) if code == 2 else host_out)
        t = t.view(torch.bfloat16) if code == 2 else t
        return t if out is None else out.copy_(t)
    if code == 2:
        host_out = (host_out.astype(np.uint32) << 16).view(np.float32)
    return _host_result(host_out, None, out)


def _matmul(a, b, bias, alpha, code, out, target):
    oa = _device.operand(a, "a", PLAIN)
    ob = _device.operand(b, "b", PLAIN)
    if oa is not None and ob is not None:
        return _device.matmul(oa, ob, bias, float(alpha), code, out)
    if oa is not None or ob is not None:
        raise NVFP4Error(f"expected a and b on one device, got a on "
                         f"{'the GPU' if oa else 'the host'} and b on "
                         f"{'the GPU' if ob else 'the host'}")
    if _dlpack.is_gpu(a.data):
        return _adopted(lambda x, y, extra: _matmul(x, y, extra[0], alpha, code, extra[1],
                                                    target), a, b, (bias, out))
    return _matmul_host(a, b, bias, alpha, code, out, target)


def _adopted(fn, a, b, extra):
    """Runs `fn` on results of another DLPack framework via PyTorch/CuPy."""
    back = _dlpack.from_dlpack_of(_dlpack.framework(a.data))

    def adopt(q):
        if not isinstance(q, QuantizeResult):
            return q
        r = QuantizeResult(recipe=q.recipe, groups=q.groups)
        for name in ("data", "scale", "amax"):
            setattr(r, name, _adopt(getattr(q, name))[0])
        return r

    adopted = tuple(None if t is None else _adopt(t)[0] for t in extra)
    result = fn(adopt(a), adopt(b), adopted)
    return back(result) if extra[-1] is None else extra[-1]


def _matmul_host(a, b, bias, alpha, code, out, target):
    ops = []
    for name, q in (("a", a), ("b", b)):
        arrays = [_as_numpy(t) for t in (q.data, q.scale, q.amax)]
        _check_dtypes(f"{name}: ", *arrays)
        ops.append(arrays)
    if ops[0][0].ndim != 2 or ops[1][0].ndim != 2:
        raise NVFP4Error("expected 2-D operands (grouped operands need the GPU: "
                         "nvfp4.grouped_matmul)")
    m, k = ops[0][0].shape[0], ops[0][0].shape[1] * 2
    n = ops[1][0].shape[0]
    if ops[1][0].shape[1] * 2 != k:
        raise NVFP4Error(f"A and B must share K: {k} and {ops[1][0].shape[1] * 2}")
    bias_arr = _host_bias(bias, n)
    _check_host_bytes("matmul", (m, n), m * n * 4 + (m + n) * k)
    ops = [[np.ascontiguousarray(t) for t in arrays] for arrays in ops]
    host_out = np.empty((m, n), _HOST_OUT[code])
    (ad, asc, am), (bd, bsc, bm) = ops
    call("nvfp4_matmul_host_sized", target.encode(), info_for_text(a.recipe).btext,
         ad.ctypes.data, ad.nbytes, asc.ctypes.data, asc.nbytes, am.ctypes.data,
         am.size, m, info_for_text(b.recipe).btext, bd.ctypes.data, bd.nbytes,
         bsc.ctypes.data, bsc.nbytes, bm.ctypes.data, bm.size, n, k,
         bias_arr.ctypes.data if bias_arr is not None else None,
         0 if bias_arr is None else bias_arr.size, float(alpha), code,
         host_out.ctypes.data, host_out.nbytes)
    return _host_matmul_result(host_out, code, _dlpack.framework(a.data) == "torch",
                               out)


def grouped_matmul(a: QuantizeResult, splits, b: QuantizeResult, *, bias=None,
                   alpha=1.0, out_dtype="bf16", out=None):
    """The grouped (MoE) GEMM on the GPU: row block g of ``a`` (a
    grouped_quantize() result with the same ``splits``, a device int64
    array of G group sizes; empty groups are legal) times B[g]^T, where
    ``b`` holds G stacked N x K operands (stack_groups()). ``bias`` is
    G x N float32 values. Returns the M x N output (or writes ``out``), as
    matmul() does, without synchronizing."""
    if _is_compiling():
        result = _ops.grouped_matmul(a, splits, b, bias, alpha, out_dtype)
        return result if out is None else out.copy_(result)
    code = _out_code(out_dtype)
    if _device.gpu_backend(splits) is None and _dlpack.is_gpu(splits):
        s = _adopt(splits)[0]
        return _adopted(lambda x, y, extra: grouped_matmul(
            x, extra[0], y, bias=extra[1], alpha=alpha, out_dtype=out_dtype,
            out=extra[2]), a, b, (s, bias, out))
    return _device.grouped_matmul(a, splits, b, bias, float(alpha), code, out)


def stack_groups(q, groups=None) -> QuantizeResult:
    """G weight operands of N x K stacked for grouped_matmul(): data
    G x N x K/2, scales G x Np x Cp, amaxes G (per tensor), G x N (per row)
    or G x N x K/64 (windows).

    ``q`` is either a list of G quantize() results of one recipe (stacked:
    a copy), or a grouped_quantize() result of the G*N x K matrix with G
    equal splits of N rows (viewed without a copy: with ``sf_layout =
    128x4`` group g's scales start at row g * Np, Np = N rounded up to 128).
    """
    if isinstance(q, (list, tuple)):
        return _stack_list(list(q))
    if not isinstance(q, QuantizeResult) or q.data is None:
        raise NVFP4Error("expected a QuantizeResult with a rowwise output or a list of them")
    if q.groups is None or (groups is not None and groups != q.groups):
        raise NVFP4Error("expected a grouped_quantize() result (of G equal groups) "
                         f"and its group count, got groups={groups} for a result of "
                         f"{q.groups} groups")
    groups = q.groups
    info = info_for_text(q.recipe)
    rows, k = int(q.data.shape[0]), int(q.data.shape[1]) * 2
    if rows % groups:
        raise NVFP4Error(f"expected {rows} rows to split into {groups} equal groups")
    n = rows // groups
    one = info.specs(n, k).by_name
    scale_rows, scale_cols = one["scale"]
    out = QuantizeResult(recipe=q.recipe, groups=groups)
    out.data = q.data.reshape(groups, n, k // 2)
    out.scale = q.scale[:groups * scale_rows].reshape(groups, scale_rows, scale_cols)
    out.amax = (q.amax.reshape(groups) if info.outer == _recipes.OUTER_TENSOR
                else q.amax.reshape((groups,) + one["amax"]))
    return out


def _stack_list(results):
    if not results or not all(isinstance(r, QuantizeResult) and r.data is not None
                              for r in results):
        raise NVFP4Error("expected a non-empty list of QuantizeResults with rowwise outputs")
    infos = {info_for_text(r.recipe).text for r in results}
    if len(infos) != 1:
        raise NVFP4Error(f"expected one recipe for every group, got {sorted(infos)}")
    shapes = {tuple(r.data.shape) for r in results}
    if len(shapes) != 1:
        raise NVFP4Error(f"expected every group to have the same N x K, got data shapes "
                         f"{sorted(shapes)}")
    fw = _dlpack.framework(results[0].data)
    if fw == "torch":
        import torch
        stack = torch.stack
    elif fw == "cupy":
        import cupy
        stack = cupy.stack
    else:
        stack = np.stack
    info = info_for_text(results[0].recipe)
    out = QuantizeResult(recipe=info.text, groups=len(results))
    out.data = stack([r.data for r in results])
    out.scale = stack([r.scale for r in results])
    amax = stack([r.amax for r in results])
    out.amax = amax.reshape(len(results)) if info.outer == _recipes.OUTER_TENSOR else amax
    return out


#===------------------------------------------------------------------------===#
# Compiled kernels
#===------------------------------------------------------------------------===#

_SOURCES = ("compiled", "memory", "disk")


class Kernel:
    """A recipe compiled for one target; call it like quantize() (or
    dequantize() for op="dequantize") without the recipe arguments. Calls
    take quantize()'s hot path with the recipe already resolved."""

    def __init__(self, recipe, target, op, input_dtype, names, image, source):
        self.recipe, self.target, self.op = recipe, target, op
        self.input_dtype, self.kernels = input_dtype, names
        self.image, self.source = image, source
        self._info = info_for_text(recipe)

    def __call__(self, *args, **kwargs):
        if self.op == "dequantize":
            return dequantize(*args, recipe=self.recipe, **kwargs)
        if len(args) == 1 and set(kwargs) <= {"input_dtype"} and not _is_compiling():
            return _quantize(args[0], self._info,
                             kwargs.get("input_dtype", self.input_dtype))
        kwargs.setdefault("input_dtype", self.input_dtype)
        return quantize(*args, recipe=self.recipe, **kwargs)

    def __repr__(self):
        return (f"nvfp4.Kernel({self.op} {self.recipe} for {self.target}: "
                f"{len(self.kernels)} kernel(s), {self.source})")


def compile(recipe=None, target="cpu", *, op="quantize", input_dtype=None,
            **recipe_keys) -> Kernel:
    """Compiles a recipe (preset name, keys, attribute, or quantize()'s
    recipe arguments) for ``target``: "cpu", a GPU target ("sm_90a",
    "sm_100a", "sm_103a", "sm_110a", "sm_120a", "sm_121a"), or "cuda" (the
    current GPU's). Compilations are cached in memory and, for GPU
    targets, on disk ($NVFP4_CACHE_DIR, else ~/.cache/nvfp4-mlir)."""
    if op not in ("quantize", "dequantize"):
        raise NVFP4Error(f"unknown op {op!r} (expected quantize or dequantize)")
    if recipe is not None and recipe_keys:
        raise NVFP4Error(f"pass either recipe or recipe keywords, got recipe={recipe!r} "
                         f"and {', '.join(sorted(recipe_keys))}")
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


from ._producers import (gelu_tanh_mul, gelu_tanh_mul_quantize,  # noqa: E402
                         rms_norm, rms_norm_quantize, silu_mul, silu_mul_quantize)

# With PyTorch already imported, register its ops now: torch.compile may
# trace a call before any eager one would (nvfp4._device registers them on
# the first PyTorch tensor otherwise; `import nvfp4.torch` does it at once).
if sys.modules.get("torch") is not None:
    _register_torch()

"""Producers fused into a quantize (SPEC.md section 15): RMSNorm and the
gated activations (SiLU, GELU-tanh times the up half), alone or feeding a
quantization that never writes their result to memory unless asked.

A producer's result is rounded to the storage dtype of its inputs, so
``nvfp4.rms_norm_quantize(x, w)`` gives the bytes of
``nvfp4.quantize(nvfp4.rms_norm(x, w)[0])`` with any recipe. NumPy arrays
(and CPU PyTorch tensors) run on the CPU through the C ABI's host entry
points; PyTorch and CuPy GPU arrays on their device and the framework's
current stream, with outputs from the framework's allocator, as
``nvfp4.quantize`` does. Every argument is checked before anything runs or
is written; the C ABI checks again.
"""

from __future__ import annotations

import math

import numpy as np

import nvfp4 as _pkg
from . import _device, _dlpack
from ._lib import NVFP4Error, call, call_handle, lib

# The C ABI's activation codes (NVFP4_SILU, NVFP4_GELU_TANH).
ACTIVATIONS = {"silu": 0, "gelu_tanh": 1}
RMS_NORM = None  # the `act` of RMSNorm in the functions below
# NumPy arrays of each storage dtype (C ABI code): bf16 as its bits.
_HOST_STORAGE = (np.float32, np.float16, np.uint16)


#===------------------------------------------------------------------------===#
# Public API
#===------------------------------------------------------------------------===#

def rms_norm_quantize(x, weight, eps=1e-6, *, residual=None, return_y=False,
                      recipe=None, input_dtype=None, amax=None, amax_t=None,
                      **recipe_keys):
    """RMSNorm of each row of ``x`` (M x K) scaled by ``weight`` (K values),
    quantized with a recipe exactly as ``nvfp4.quantize`` would quantize the
    normalized matrix y (SPEC.md section 15), without writing y to memory.

    ``x``, ``weight`` and ``residual`` share one dtype and device; the
    recipe arguments, ``input_dtype`` (the storage dtype, as for quantize)
    and the given amaxes ``amax``/``amax_t`` are those of quantize().
    ``residual`` (M x K, contiguous, optional) is added to ``x`` first and
    **overwritten in place** with h = RN_s(x + residual), the next layer's
    residual. ``eps`` must be finite and > 0 as a float32.

    Returns the quantization as a QuantizeResult whose ``rstd`` holds the M
    float32 values 1/rms of each row and whose ``y`` is the normalized
    matrix when ``return_y``, else None: of the storage dtype (NumPy has no
    bfloat16: bf16 values come as float32), in x's framework and device.
    A residual of another dtype than the storage one (``input_dtype``)
    receives h converted to its own dtype. GPU calls neither copy to the
    host nor synchronize (CUDA-graph capturable).
    """
    keys = _recipe_keys("rms_norm_quantize", recipe, recipe_keys, amax, amax_t)
    eps = _eps(eps)
    if _pkg._is_compiling():
        _not_traced(amax, amax_t)
        return _pkg._ops.rms_norm_quantize(x, weight, residual, eps, recipe, keys,
                                           return_y, input_dtype)
    return _fused(run(RMS_NORM, x, weight, residual, eps,
                      _pkg._keys_info(recipe, keys), return_y, input_dtype,
                      (amax, amax_t)))


def silu_mul_quantize(x, *, return_y=False, recipe=None, input_dtype=None,
                      amax=None, amax_t=None, **recipe_keys):
    """silu(gate) * up of ``x`` (M x 2N: the gate half, then the up half),
    quantized with a recipe exactly as ``nvfp4.quantize`` would quantize
    that M x N matrix y, without writing y unless ``return_y`` (then the
    result's ``y``; its ``rstd`` is None). Arguments as for
    rms_norm_quantize()."""
    return _gated_quantize("silu", x, return_y, recipe, input_dtype, amax, amax_t,
                           recipe_keys)


def gelu_tanh_mul_quantize(x, *, return_y=False, recipe=None, input_dtype=None,
                           amax=None, amax_t=None, **recipe_keys):
    """gelu_tanh(gate) * up fused into its quantize, as silu_mul_quantize()."""
    return _gated_quantize("gelu_tanh", x, return_y, recipe, input_dtype, amax,
                           amax_t, recipe_keys)


def rms_norm(x, weight, eps=1e-6, *, residual=None, input_dtype=None):
    """RMSNorm alone (any K): ``(y, rstd)``, y of the storage dtype (NumPy:
    bf16 values as float32), rstd M float32 values; ``residual`` is updated
    in place as for rms_norm_quantize()."""
    eps = _eps(eps)
    if _pkg._is_compiling():
        return _pkg._ops.rms_norm(x, weight, residual, eps, input_dtype)
    _, rstd, y = run(RMS_NORM, x, weight, residual, eps, None, True, input_dtype)
    return y, rstd


def silu_mul(x, *, input_dtype=None):
    """silu(gate) * up of ``x`` (M x 2N) alone: the M x N result y."""
    return _gated("silu", x, input_dtype)


def gelu_tanh_mul(x, *, input_dtype=None):
    """gelu_tanh(gate) * up of ``x`` (M x 2N) alone: the M x N result y."""
    return _gated("gelu_tanh", x, input_dtype)


def _gated_quantize(act, x, return_y, recipe, input_dtype, amax, amax_t, recipe_keys):
    keys = _recipe_keys(f"{act}_mul_quantize", recipe, recipe_keys, amax, amax_t)
    if _pkg._is_compiling():
        _not_traced(amax, amax_t)
        return _pkg._ops.gated_act_quantize(x, act, recipe, keys, return_y, input_dtype)
    return _fused(run(act, x, None, None, None, _pkg._keys_info(recipe, keys),
                      return_y, input_dtype, (amax, amax_t)))


def _gated(act, x, input_dtype):
    if _pkg._is_compiling():
        return _pkg._ops.gated_act(x, act, input_dtype)
    return run(act, x, None, None, None, None, True, input_dtype)[2]


def _fused(outputs):
    q, rstd, y = outputs
    q.rstd, q.y = rstd, y
    return q


def _recipe_keys(fn, recipe, keys, amax, amax_t):
    """quantize()'s recipe keywords as a dict for _keys_info (given amaxes
    make ``amax_source`` default to given, as in quantize())."""
    unknown = sorted(set(keys).difference(_pkg._KEY_NAMES))
    if unknown:
        raise TypeError(f"{fn}() got an unexpected keyword argument {unknown[0]!r}")
    if (amax is not None or amax_t is not None) and recipe is None and \
            keys.get("amax_source", "computed") == "computed":
        keys = dict(keys, amax_source="given")
    return keys


def _not_traced(amax, amax_t):
    if amax is not None or amax_t is not None:
        raise NVFP4Error("given amaxes are not supported under torch.compile")


def _eps(eps) -> float:
    """eps, checked to be finite and > 0 as the float32 the kernels use
    (NVFP4Error); plain Python, so torch.compile traces it."""
    if isinstance(eps, (bool, np.bool_)) or not isinstance(
            eps, (int, float, np.integer, np.floating)):
        raise NVFP4Error(f"expected eps to be a number, got {eps!r}")
    value = float(eps)
    # Rounded to float32: 2^-150 and below become 0, 2^128 - 2^103 and
    # above Inf.
    if not (math.isfinite(value) and _EPS_RANGE[0] < value < _EPS_RANGE[1]):
        raise NVFP4Error(f"expected eps to be finite and > 0 as a float32, got {eps!r}")
    return value


_EPS_RANGE = (2.0 ** -150, 2.0 ** 128 - 2.0 ** 103)


#===------------------------------------------------------------------------===#
# Checks shared by every path
#===------------------------------------------------------------------------===#

def result_cols(act, rows, cols) -> int:
    """The columns of the produced matrix (NVFP4Error for an odd gated
    width)."""
    if act is RMS_NORM:
        return cols
    if cols % 2:
        raise NVFP4Error(f"expected an even number of columns (the gate half, then "
                         f"the up half), got {rows}x{cols}")
    return cols // 2


def _check_operands(x_shape, x_dtype, weight, residual, describe):
    """RMSNorm's weight and residual against x: `describe(t, name)` gives
    (shape, dtype name, contiguous) of an operand already known to be on
    x's device."""
    rows, cols = x_shape
    shape, dtype, _ = describe(weight, "weight")
    if dtype != x_dtype:
        raise NVFP4Error(f"expected weight of x's dtype {x_dtype}, got {dtype}")
    if tuple(shape) != (cols,):
        raise NVFP4Error(f"expected weight of shape ({cols},) (one value per column "
                         f"of x), got {tuple(shape)}")
    if residual is None:
        return
    shape, dtype, contiguous = describe(residual, "residual")
    if dtype != x_dtype:
        raise NVFP4Error(f"expected residual of x's dtype {x_dtype}, got {dtype}")
    if tuple(shape) != (rows, cols):
        raise NVFP4Error(f"expected residual of x's shape {(rows, cols)}, got "
                         f"{tuple(shape)}")
    if not contiguous:
        raise NVFP4Error("expected a contiguous residual (it is updated in place)")


#===------------------------------------------------------------------------===#
# Dispatch
#===------------------------------------------------------------------------===#

def run(act, x, weight, residual, eps, info, want_y, input_dtype,
        given=(None, None), separate=False):
    """A producer (`act`: RMS_NORM or an ACTIVATIONS name) on `x`, fused into
    the quantize with `info` unless it is None: ``(q, rstd, y)``, q None
    alone, rstd None for a gated activation, y None unless `want_y` (always
    produced alone). `separate` as for nvfp4._device.quantize."""
    if info is not None:
        _pkg._check_given(info, given)
    be = _device.gpu_backend(x)
    if be is not None:
        return _run_gpu(be, act, x, weight, residual, eps, info, want_y, input_dtype,
                        given, separate)
    if _dlpack.is_gpu(x):  # another DLPack framework: through PyTorch/CuPy
        array, back = _pkg._adopt(x)
        adopt = [None if t is None else _pkg._adopt(t)[0]
                 for t in (weight, residual) + tuple(given)]
        q, rstd, y = _run_gpu(_device.gpu_backend(array), act, array, adopt[0],
                              adopt[1], eps, info, want_y, input_dtype,
                              tuple(adopt[2:]), True)
        return (None if q is None else _pkg._give_back(q, back),
                None if rstd is None else back(rstd), None if y is None else back(y))
    return _run_host(act, x, weight, residual, eps, info, want_y, input_dtype, given)


#===------------------------------------------------------------------------===#
# GPU
#===------------------------------------------------------------------------===#

def _run_gpu(be, act, x, weight, residual, eps, info, want_y, input_dtype, given,
             separate):
    _, shape, x_dtype, index, _ = be.describe(x)
    if len(shape) != 2:
        raise NVFP4Error(f"expected a 2-D array, got shape {tuple(shape)}")
    rows, cols = shape
    ycols = result_cols(act, rows, cols)
    if act is RMS_NORM:
        def describe(t, name):
            _, got, dtype, _, contiguous = _device._describe(be, t, name, index)
            return got, dtype, contiguous
        _check_operands(shape, x_dtype, weight, residual, describe)
    x, code, _, _, _ = _device._input(be, x, input_dtype)
    l = lib()
    w_ptr = r_ptr = rstd_ptr = y_ptr = 0
    rstd = y = stored = None
    if act is RMS_NORM:
        # Held until the launch is enqueued: a converted copy freed earlier
        # could be handed out again as one of the outputs.
        weight = _device._input(be, weight.reshape(1, cols), input_dtype)[0]
        w_ptr = be.ptr(weight)
        if residual is not None:
            # Converted (input_dtype) or as given; written back after the run.
            stored = _device._input(be, residual, input_dtype)[0]
            r_ptr = be.ptr(stored)
        rstd = be.empty((rows,), "float32", index)
        rstd_ptr = be.ptr(rstd)
    if want_y or info is None:
        y = be.empty((rows, ycols), _device.OUT_NAMES[code], index)
        y_ptr = be.ptr(y)
    stream = be.stream(index)
    if info is None:
        if act is RMS_NORM:
            _device._call(l.nvfp4_rms_norm_device, index, code, be.ptr(x), w_ptr, r_ptr,
                          eps, rows, cols, y_ptr, rstd_ptr, stream)
        else:
            _device._call(l.nvfp4_gated_act_device, index, code, ACTIVATIONS[act],
                          be.ptr(x), rows, cols, y_ptr, stream)
        q = None
    else:
        specs = info._specs.get((rows, ycols, None)) or info.specs(rows, ycols)
        out, ptrs = _device.outputs(be, info, specs, index, separate or info.given,
                                    given)
        if act is RMS_NORM:
            _device._call(l.nvfp4_rms_norm_quantize_device, index, info.btext, code,
                          be.ptr(x), w_ptr, r_ptr, eps, rows, cols, rstd_ptr, y_ptr,
                          ptrs, stream)
        else:
            _device._call(l.nvfp4_gated_act_quantize_device, index, info.btext, code,
                          ACTIVATIONS[act], be.ptr(x), rows, cols, y_ptr, ptrs, stream)
        q = _device._finish(be, out, ptrs, info, index, rows, ycols, None)
    if stored is not None and stored is not residual:
        _write_back(be, residual, stored)
    return q, rstd, (y if want_y or info is None else None)


def _write_back(be, residual, stored):
    """The new residual, computed in the storage dtype, into the caller's
    array of another dtype (exact: the storage values widen)."""
    if be.name == "torch":
        residual.copy_(stored)
    else:
        be.cupy.copyto(residual, stored, casting="unsafe")


#===------------------------------------------------------------------------===#
# Host
#===------------------------------------------------------------------------===#

def _host_array(t, name):
    """A host operand as NumPy (CPU PyTorch bfloat16 as float32), with its
    dtype name before any conversion."""
    if _dlpack.is_gpu(t):
        raise NVFP4Error(f"expected {name} in host memory with x, got a GPU array")
    if _dlpack.framework(t) == "torch":
        dtype = str(t.dtype).replace("torch.", "")
        return _pkg._as_numpy(t.float() if dtype == "bfloat16" else t), dtype
    array = _pkg._as_numpy(t)
    return array, array.dtype.name


def _widen(values, code):
    """Host storage values as NumPy returns them: bf16 bits as float32."""
    if code == 2:
        return (values.astype(np.uint32) << 16).view(np.float32)
    return values


def _run_host(act, x, weight, residual, eps, info, want_y, input_dtype, given):
    torch_in = _dlpack.framework(x) == "torch"
    xn, x_dtype = _host_array(x, "x")
    if x_dtype == "bfloat16":
        input_dtype = input_dtype or "bf16"
    if xn.ndim != 2:
        raise NVFP4Error(f"expected a 2-D array, got shape {xn.shape}")
    rows, cols = xn.shape
    ycols = result_cols(act, rows, cols)
    if act is RMS_NORM:
        host = {}

        def describe(t, name):
            host[name] = array, dtype = _host_array(t, name)
            return array.shape, dtype, array.flags.c_contiguous

        _check_operands(xn.shape, x_dtype, weight, residual, describe)
        if (residual is not None and _dlpack.framework(residual) != "torch"
                and not host["residual"][0].flags.writeable):
            raise NVFP4Error("expected a writable residual (it is updated in place)")
    xs, code = _pkg._storage(xn, input_dtype)
    rstd = y = None
    args = []
    if act is RMS_NORM:
        ws = _pkg._storage(host["weight"][0].reshape(1, cols), input_dtype)[0]
        rn = None if residual is None else host["residual"][0]
        # In place when the residual is already contiguous storage values.
        rs = None if rn is None else _pkg._storage(rn, input_dtype)[0]
        rstd = np.empty(rows, np.float32)
        args = [ws.ctypes.data, ws.nbytes, 0 if rs is None else rs.ctypes.data,
                0 if rs is None else rs.nbytes, eps, rows, cols]
    if want_y or info is None:
        y = np.empty((rows, ycols), _HOST_STORAGE[code])
    y_args = [None if y is None else y.ctypes.data, 0 if y is None else y.nbytes]
    runner = _pkg._host_runner()
    q = None
    if info is None and act is RMS_NORM:
        call("nvfp4_rms_norm_host_sized", runner, code, xs.ctypes.data, xs.nbytes,
             *args, *y_args, rstd.ctypes.data, rstd.size)
    elif info is None:
        call("nvfp4_gated_act_host_sized", runner, code, ACTIVATIONS[act],
             xs.ctypes.data, xs.nbytes, rows, cols, *y_args)
    else:
        kept, amaxes = ((None, [0, 0, 0, 0]) if not info.given else
                        _pkg._host_given_args(info, given, rows, ycols))
        if act is RMS_NORM:
            handle = call_handle("nvfp4_rms_norm_quantize_host_sized", runner,
                                 info.btext, code, xs.ctypes.data, xs.nbytes, *args,
                                 rstd.ctypes.data, rstd.size, *y_args, *amaxes)
        else:
            handle = call_handle("nvfp4_gated_act_quantize_host_sized", runner,
                                 info.btext, code, ACTIVATIONS[act], xs.ctypes.data,
                                 xs.nbytes, rows, cols, *y_args, *amaxes)
        del kept
        q = _pkg._host_quantize_result(handle, info)
        q = _pkg._convert(q, _pkg._cpu_framework(x))
    if act is RMS_NORM and residual is not None and rs.ctypes.data != rn.ctypes.data:
        h = _widen(rs, code)
        if _dlpack.framework(residual) == "torch":
            import torch
            residual.copy_(torch.from_numpy(h))
        else:
            rn[...] = h
    if y is not None:
        y = _pkg._host_matmul_result(y, code, torch_in, None)
    if rstd is not None and torch_in:
        import torch
        rstd = torch.from_numpy(rstd)
    return q, rstd, y

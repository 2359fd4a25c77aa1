"""The GPU paths: quantize, grouped_quantize, dequantize, matmul and
grouped_matmul on PyTorch and CuPy arrays, on the framework's current
stream.

Each call is built for the hot path of a model step: the recipe and its
shapes come from caches (nvfp4._recipes), operands already validated are
recognised by identity (QuantizeResult._operand), outputs come from the
framework's caching allocator (a PyTorch quantization's three outputs are
one allocation, made into tensor views only when read: a decode step that
feeds it to the GEMM never does), and there is exactly one ctypes call,
whose argument types are preset. Nothing here copies between host and
device, allocates pinned memory or synchronizes, so every call can be
captured in a CUDA graph. Every check runs before that one call, and the C
ABI checks again before it enqueues anything.
"""

from __future__ import annotations

import ctypes
import sys

from ._lib import ERROR_SIZE, NVFP4Error, error_buffer, lib, message
from ._recipes import OUTER_ROW, OUTER_TENSOR, info_for_text
from ._result import QuantizeResult, new_result, untouched

U64x3 = ctypes.c_uint64 * 3
U64x6 = ctypes.c_uint64 * 6
FLT_MAX = 3.4028234663852886e38

# Input dtypes of the C ABI (NVFP4_F32, _F16, _BF16) and output dtypes.
IN_CODES = {"float32": 0, "float16": 1, "bfloat16": 2}
OUT_NAMES = ("float32", "float16", "bfloat16")
INPUT_DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}


def _where(index):
    return "the CPU" if index is None else f"cuda:{index}"


class TorchBackend:
    """PyTorch: tensors, the caching allocator, the current stream."""

    name = "torch"

    def __init__(self):
        import torch
        self.torch = torch
        self.dtypes = {n: getattr(torch, n) for n in
                       ("uint8", "int64", "float32", "float16", "bfloat16")}
        self.names = {v: k for k, v in self.dtypes.items()}
        self.uint8, self.float32 = torch.uint8, torch.float32
        self.codes = {self.dtypes[n]: c for n, c in IN_CODES.items()}
        self.devices = {}
        raw = getattr(torch._C, "_cuda_getCurrentRawStream", None)
        self.stream = raw if raw is not None else (
            lambda index: torch.cuda.current_stream(index).cuda_stream)

    def __reduce__(self):  # one per process: copies and pickles share it
        return (_make, ("torch",))

    def is_gpu(self, t):
        return t.is_cuda

    def dtype_name(self, t):
        name = self.names.get(t.dtype)
        return name if name is not None else str(t.dtype).replace("torch.", "")

    def describe(self, t):
        """(address, shape, dtype name, CUDA device index or None, contiguous)."""
        return (t.data_ptr(), tuple(t.shape), self.dtype_name(t),
                t.device.index if t.is_cuda else None, t.is_contiguous())

    def ptr(self, t):
        return t.data_ptr()

    def device(self, index):
        dev = self.devices.get(index)
        if dev is None:
            dev = self.devices[index] = self.torch.device("cuda", index)
        return dev

    def empty(self, shape, dtype, index):
        return self.torch.empty(shape, dtype=self.dtypes[dtype], device=self.device(index))

    def outputs(self, plan, index, separate=False):
        """The outputs of a Specs plan as views of one allocation (one
        caching-allocator call instead of three), or as separate tensors
        (what a custom op must return: outputs that alias none another),
        and their addresses."""
        total, items = plan
        if separate:
            ptrs = U64x6()
            out = {}
            for slot, name, _, shape, _, is_float in items:
                out[name] = t = self.empty(shape, "float32" if is_float else "uint8", index)
                ptrs[slot] = t.data_ptr()
            return out, ptrs
        buf = self.torch.empty(total, dtype=self.uint8, device=self.device(index))
        base = buf.data_ptr()
        ptrs = U64x6()
        for item in items:
            ptrs[item[0]] = base + item[2]
        return (self, buf, items), ptrs

    def views(self, buf, items):
        """The outputs of outputs()'s one allocation, by name."""
        out = {}
        wide = None
        for _, name, offset, shape, strides, is_float in items:
            if is_float:
                if wide is None:
                    wide = buf.view(self.float32)
                out[name] = wide.as_strided(shape, strides, offset >> 2)
            else:
                out[name] = buf.as_strided(shape, strides, offset)
        return out

    def convert(self, x, dtype):
        return x.to(self.dtypes[dtype])

    def contiguous(self, x):
        return x if x.is_contiguous() else x.contiguous()

    def decode(self, amax, numerator):
        return decode_torch(self.torch, amax, numerator)


def decode_torch(torch, amax, numerator):
    """FlashInfer's decode multiplier (nvfp4._decode_multiplier) with
    device ops only: no host tensor, no copy, so graph-capturable and
    traceable. Divisions are of two tensors, IEEE like NumPy's (``scalar /
    tensor`` would be computed as a reciprocal times the scalar)."""
    s_enc = torch.full_like(amax, float(numerator)).div_(amax)
    s_enc = s_enc.clamp_max_(FLT_MAX)
    s_enc = s_enc.masked_fill_((amax == 0) | (s_enc == 0), 1.0)
    s_dec = torch.ones_like(s_enc).div_(s_enc)
    return s_dec.masked_fill_(amax == 0, 0.0)


class CuPyBackend:
    """CuPy: arrays, its memory pool, the current stream of the device."""

    name = "cupy"

    def __init__(self):
        import cupy
        self.cupy = cupy

    def __reduce__(self):
        return (_make, ("cupy",))

    def is_gpu(self, t):
        return True

    def dtype_name(self, t):
        return str(t.dtype)

    def describe(self, t):
        return (t.data.ptr, tuple(t.shape), str(t.dtype), t.device.id,
                t.flags.c_contiguous)

    def ptr(self, t):
        return t.data.ptr

    def stream(self, index):
        cupy = self.cupy
        if cupy.cuda.runtime.getDevice() == index:
            return cupy.cuda.get_current_stream().ptr
        with cupy.cuda.Device(index):
            return cupy.cuda.get_current_stream().ptr

    def outputs(self, plan, index, separate=True):
        ptrs = U64x6()
        out = {}
        for slot, name, _, shape, _, is_float in plan[1]:
            out[name] = t = self.empty(shape, "float32" if is_float else "uint8", index)
            ptrs[slot] = t.data.ptr
        return out, ptrs

    def empty(self, shape, dtype, index):
        cupy = self.cupy
        if dtype == "bfloat16":
            raise NVFP4Error("CuPy has no bfloat16: pass out_dtype='f16' or 'f32', "
                             "or out= a uint16 array for the bf16 bits")
        with cupy.cuda.Device(index):
            return cupy.empty(shape, dtype=dtype)

    def convert(self, x, dtype):
        if dtype == "bfloat16":
            raise NVFP4Error("CuPy has no bfloat16: pass float32 or float16")
        return x.astype(dtype)

    def contiguous(self, x):
        return x if x.flags.c_contiguous else self.cupy.ascontiguousarray(x)

    def decode(self, amax, numerator):
        cupy = self.cupy
        s_enc = cupy.minimum(cupy.float32(numerator) / amax, cupy.float32(FLT_MAX))
        s_enc = cupy.where((amax == 0) | (s_enc == 0), cupy.float32(1), s_enc)
        s_dec = (cupy.float32(1) / s_enc).astype(cupy.float32)
        return cupy.where(amax == 0, cupy.float32(0), s_dec).astype(cupy.float32)


_BACKENDS = {}
_BY_TYPE = {}


def _make(name):
    be = _BACKENDS.get(name)
    if be is None:
        be = _BACKENDS[name] = TorchBackend() if name == "torch" else CuPyBackend()
        if name == "torch":
            _torch_seen()
    return be


def _torch_seen():
    """PyTorch is in use: register the nvfp4 ops, so torch.compile and
    torch.export of code calling the package find them."""
    import nvfp4
    nvfp4._register_torch()


def backend_of(x):
    """The backend of a PyTorch tensor or CuPy array (None for others)."""
    t = type(x)
    try:
        return _BY_TYPE[t]
    except KeyError:
        pass
    be = None
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(t, type) and issubclass(t, torch.Tensor):
        be = _make("torch")
    elif t.__module__.split(".")[0] == "cupy" and hasattr(x, "data") and hasattr(x, "device"):
        be = _make("cupy")
    _BY_TYPE[t] = be
    return be


def gpu_backend(x):
    """The backend of a GPU PyTorch tensor or CuPy array, else None."""
    be = backend_of(x)
    if be is not None and be.is_gpu(x):
        return be
    return None


def _call(fn, *args):
    error = error_buffer()
    if fn(*args, error, ERROR_SIZE) != 0:
        raise NVFP4Error(message(error))


#===------------------------------------------------------------------------===#
# Quantize
#===------------------------------------------------------------------------===#

def _input(be, x, input_dtype):
    """The GPU input as a kernel reads it: converted to `input_dtype` when
    asked, contiguous and 2-D; with its C ABI dtype code, shape and device
    index."""
    if input_dtype is not None:
        name = INPUT_DTYPES.get(input_dtype)
        if name is None:
            raise NVFP4Error(f"unknown input_dtype {input_dtype!r} "
                             "(expected bf16, fp16 or fp32)")
        if be.dtype_name(x) != name:
            x = be.convert(x, name)
    code = IN_CODES.get(be.dtype_name(x))
    if code is None:
        raise NVFP4Error(f"unsupported dtype {be.dtype_name(x)} "
                         "(expected float32, float16 or bfloat16)")
    if len(x.shape) != 2:
        raise NVFP4Error(f"expected a 2-D array, got shape {tuple(x.shape)}")
    x = be.contiguous(x)
    rows, cols = x.shape
    index = x.device.index if be.name == "torch" else x.device.id
    return x, code, rows, cols, index


def quantize(be, x, info, input_dtype, splits=None, separate=False,
             given=(None, None)):
    """Quantizes the GPU array `x` (grouped by the device int64 `splits`
    when given) into new arrays of its framework: PyTorch outputs are views
    of one allocation unless `separate`. With a recipe that reads given
    amaxes, `given` holds them (device float32 arrays); the kernels read
    them in place and the result's amaxes are those arrays."""
    if info.given:
        separate = True
    elif be.name == "torch" and input_dtype is None and splits is None and not separate:
        code = be.codes.get(x.dtype)
        if code is not None and x.dim() == 2:
            return quantize_torch(be, x, info, code)
    x, code, rows, cols, index = _input(be, x, input_dtype)
    if splits is None:
        specs = info._specs.get((rows, cols, None)) or info.specs(rows, cols)
        groups = None
    else:
        groups, splits_ptr = _splits(be, splits, index)
        specs = info.specs(rows, cols, groups)
    out, ptrs = outputs(be, info, specs, index, separate, given)
    stream = be.stream(index)
    l = lib()
    if splits is None:
        _call(l.nvfp4_quantize_device, index, info.btext, code, be.ptr(x), rows,
              cols, ptrs, stream)
    else:
        _call(l.nvfp4_grouped_quantize_device, index, info.btext, code, be.ptr(x),
              rows, cols, splits_ptr, groups, ptrs, stream)
    return _finish(be, out, ptrs, info, index, rows, cols, groups)


def outputs(be, info, specs, index, separate, given):
    """The outputs of a quantization shaped by `specs` and their addresses
    (be.outputs), the given amaxes of a recipe that reads them bound in
    place of the amax outputs (checked before anything is allocated)."""
    bound = []
    if info.given:
        for slot, name, value, wanted in ((2, "amax", given[0], info.rowwise),
                                          (5, "amax_t", given[1], info.columnwise)):
            if wanted and value is None:
                raise NVFP4Error(f"the recipe reads given amaxes: pass {name}=")
            if not wanted and value is not None:
                raise NVFP4Error(f"{name} was given, but the recipe has no "
                                 f"{'rowwise' if slot == 2 else 'columnwise'} output")
            if value is not None:
                bound.append((slot, name, value,
                              _given_ptr(be, value, name, specs.by_name[name], index)))
    out, ptrs = be.outputs(specs.plan, index, separate)
    for slot, name, value, ptr in bound:
        ptrs[slot] = ptr
        out[name] = value
    return out, ptrs


def quantize_torch(be, x, info, code):
    """quantize() for the common case, a 2-D PyTorch tensor of an input
    dtype: the hot path, with nothing beyond the outputs' allocation."""
    if not x.is_contiguous():
        x = x.contiguous()
    rows, cols = x.shape
    index = x.get_device()
    specs = info._specs.get((rows, cols, None)) or info.specs(rows, cols)
    out, ptrs = be.outputs(specs.plan, index)
    error = error_buffer()
    if lib().nvfp4_quantize_device(index, info.btext, code, x.data_ptr(), rows, cols, ptrs,
                                   be.stream(index), error, ERROR_SIZE):
        raise NVFP4Error(message(error))
    return _finish(be, out, ptrs, info, index, rows, cols, None)


def _finish(be, out, ptrs, info, index, rows, cols, groups):
    """The QuantizeResult of new outputs (a name -> array dict, or lazy
    views as a tuple), with its per-token multiplier pending and its GEMM
    operand validated (we made it)."""
    lazy = type(out) is tuple
    q = new_result(None, info.text, groups, out) if lazy else new_result(out, info.text, groups)
    if info.rowwise:
        if info.outer == OUTER_ROW:
            q._decode = (be.decode, None, info.numerator)
        # The C ABI reads a[0..2]: the rowwise addresses lead `ptrs`.
        fields = (None, None, None) if lazy else (out["data"], out["scale"], out["amax"])
        q._operand = Operand(*fields, q.recipe, be, info, index, ptrs, rows, cols, groups,
                             GROUPED if groups else PLAIN)
    return q


def amax(be, x, info, input_dtype):
    """nvfp4.amax on the GPU array `x`: new float32 arrays (amax, amax_t),
    None for a direction the recipe lacks."""
    x, code, rows, cols, index = _input(be, x, input_dtype)
    specs = info._specs.get((rows, cols, None)) or info.specs(rows, cols)
    out = [be.empty(specs.by_name[n], "float32", index) if n in specs.by_name else None
           for n in ("amax", "amax_t")]
    ptrs = (ctypes.c_uint64 * 2)(*[0 if a is None else be.ptr(a) for a in out])
    _call(lib().nvfp4_amax_device, index, info.btext, code, be.ptr(x), rows, cols,
          ptrs, be.stream(index))
    return tuple(out)


def _given_ptr(be, value, name, shape, index):
    """The address of a given amax: a contiguous float32 array of `shape` of
    the input's framework, on its device."""
    if backend_of(value) is not be:
        raise NVFP4Error(f"expected {name} to be a {be.name} array on the GPU with "
                         f"the input, got {type(value).__module__}."
                         f"{type(value).__name__}")
    ptr, got_shape, dtype, dev, contiguous = be.describe(value)
    if dev != index:
        raise NVFP4Error(f"expected {name} on {_where(index)} with the input, got "
                         f"{_where(dev)}")
    if dtype != "float32" or not contiguous:
        raise NVFP4Error(f"expected {name} to be a contiguous float32 array, got "
                         f"{'a contiguous' if contiguous else 'a strided'} {dtype} one")
    if tuple(got_shape) != tuple(shape):
        raise NVFP4Error(f"expected {name} of shape {tuple(shape)}, got "
                         f"{tuple(got_shape)}")
    return ptr


def _splits(be, splits, index):
    """The group count and address of the device int64 group sizes."""
    if backend_of(splits) is not be:
        raise NVFP4Error(f"expected splits to be a {be.name} array on the GPU, got "
                         f"{type(splits).__module__}.{type(splits).__name__}")
    ptr, shape, dtype, dev, contiguous = be.describe(splits)
    if dev != index:
        raise NVFP4Error(f"expected splits on {_where(index)} with the input, got "
                         f"{_where(dev)}")
    if dtype != "int64" or len(shape) != 1 or not contiguous or shape[0] < 1:
        raise NVFP4Error("expected splits to be a contiguous 1-D int64 array of at "
                         f"least one group size, got {dtype} of shape {shape}")
    return shape[0], ptr


#===------------------------------------------------------------------------===#
# Dequantize
#===------------------------------------------------------------------------===#

def dequantize(be, data, scale, amax, info, rows, cols, out):
    """Dequantizes on the GPU into a new float32 array (or `out`)."""
    index = data.device.index if be.name == "torch" else data.device.id
    ptrs = []
    for name, t, dtype in (("data", data, "uint8"), ("scale", scale, "uint8"),
                           ("amax", amax, "float32")):
        ptr, _, got, dev, contiguous = _describe(be, t, name, index)
        if got != dtype or not contiguous:
            raise NVFP4Error(f"expected {name} to be a contiguous {dtype} array, got "
                             f"{'a contiguous' if contiguous else 'a strided'} {got} one")
        ptrs.append(ptr)
    want = info.dequantize_sizes(rows, cols)
    if (_size(scale.shape), _size(amax.shape)) != want[:2]:
        raise NVFP4Error(
            f"scale ({_size(scale.shape)} bytes) and amax ({_size(amax.shape)} "
            f"values) do not match the recipe's shapes {want[2]} and {want[3]} "
            f"for a {rows}x{cols} matrix")
    if out is None:
        out = be.empty((rows, cols), "float32", index)
        out_ptr = be.ptr(out)
    else:
        out_ptr = _check_out(be, out, (rows, cols), ("float32",), index)
    _call(lib().nvfp4_dequantize_device, index, info.btext, ptrs[0], ptrs[1], ptrs[2],
          rows, cols, out_ptr, be.stream(index))
    return out


def _size(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def _describe(be, t, name, index):
    if backend_of(t) is not be:
        raise NVFP4Error(f"expected {name} to be a {be.name} array like the other "
                         f"operands, got {type(t).__module__}.{type(t).__name__}")
    d = be.describe(t)
    if d[3] != index:
        raise NVFP4Error(f"expected every array on one CUDA device ({_where(index)}), "
                         f"got {name} on {_where(d[3])}")
    return d


def _check_out(be, out, shape, dtypes, index):
    ptr, got_shape, dtype, _, contiguous = _describe(be, out, "out", index)
    if got_shape != shape or dtype not in dtypes or not contiguous:
        raise NVFP4Error(f"expected out to be a contiguous {' or '.join(dtypes)} array of "
                         f"shape {shape}, got {'a contiguous' if contiguous else 'a strided'} "
                         f"{dtype} array of shape {got_shape}")
    return ptr


#===------------------------------------------------------------------------===#
# Matmul operands
#===------------------------------------------------------------------------===#

PLAIN, GROUPED, STACKED = "plain", "grouped", "stacked"
_FORMS = {PLAIN: "a quantization (nvfp4.quantize)",
          GROUPED: "a grouped quantization (nvfp4.grouped_quantize)",
          STACKED: "G stacked operands (nvfp4.stack_groups)"}


class Operand:
    """A validated GEMM operand: the arrays (for identity), their
    addresses as the C ABI takes them, rows (N per group for STACKED), K,
    groups, and the form."""

    __slots__ = ("data", "scale", "amax", "recipe", "backend", "info", "index",
                 "ptrs", "rows", "k", "groups", "form")

    def __init__(self, data, scale, amax, recipe, be, info, index, ptrs, rows, k, groups,
                 form):
        self.data, self.scale, self.amax, self.recipe = data, scale, amax, recipe
        self.backend, self.info, self.index, self.ptrs = be, info, index, ptrs
        self.rows, self.k, self.groups, self.form = rows, k, groups, form


def operand(q, name, form):
    """The validated operand of `q` as `form` (cached on `q`): None for a
    result on the host."""
    op = q._operand if isinstance(q, QuantizeResult) else None
    if op is not None and op.form == form and op.recipe is q.recipe and untouched(q):
        return op  # our own outputs, never exposed
    if (op is not None and op.form == form and op.data is q.data
            and op.scale is q.scale and op.amax is q.amax and op.recipe is q.recipe):
        ptr, ptrs = op.backend.ptr, op.ptrs
        # An array whose storage was swapped (`t.data = ...`) moved.
        if ptr(q.data) == ptrs[0] and ptr(q.scale) == ptrs[1] and ptr(q.amax) == ptrs[2]:
            return op
    if not isinstance(q, QuantizeResult) or q.data is None:
        raise NVFP4Error(f"{name}: expected a QuantizeResult with a rowwise output")
    be = gpu_backend(q.data)
    if be is None:
        return None
    op = _validate(q, name, form, be)
    q._operand = op
    return op


def _validate(q, name, form, be):
    info = info_for_text(q.recipe)
    if info.sf_layout != "128x4":
        raise NVFP4Error(f"{name}: matmul operands need sf_layout = 128x4 (the "
                         f"block-scaled MMA layout), got {info.sf_layout} in {info.text}")
    index = be.describe(q.data)[3]
    d = [_describe(be, t, f"{name}.{n}", index)
         for n, t in (("data", q.data), ("scale", q.scale), ("amax", q.amax))]
    for (_, _, dtype, _, contiguous), n, want in zip(d, ("data", "scale", "amax"),
                                                     ("uint8", "uint8", "float32")):
        if dtype != want or not contiguous:
            raise NVFP4Error(f"{name}.{n}: expected a contiguous {want} array, got "
                             f"{'a contiguous' if contiguous else 'a strided'} {dtype} one")
    shapes = [x[1] for x in d]
    if form == STACKED:
        if len(shapes[0]) != 3:
            raise NVFP4Error(f"{name}: expected {_FORMS[STACKED]}, whose data is G x N x "
                             f"K/2, got data of shape {shapes[0]}")
        groups, rows, k = shapes[0][0], shapes[0][1], shapes[0][2] * 2
        one = info.specs(rows, k).by_name
        amax = (groups,) if info.outer == OUTER_TENSOR else (groups,) + one["amax"]
        want = ((groups, rows, k // 2), (groups,) + one["scale"], amax)
    else:
        if len(shapes[0]) != 2:
            raise NVFP4Error(f"{name}: expected {_FORMS[form]}, whose data is M x K/2, "
                             f"got data of shape {shapes[0]}")
        rows, k = shapes[0][0], shapes[0][1] * 2
        groups = q.groups
        if form == PLAIN and groups is not None:
            raise NVFP4Error(f"{name} is a grouped quantization: multiply it with "
                             "nvfp4.grouped_matmul")
        if form == GROUPED and groups is None:
            raise NVFP4Error(f"{name}: expected {_FORMS[GROUPED]}, got an ungrouped one")
        want = tuple(info.specs(rows, k, groups).by_name[n]
                     for n in ("data", "scale", "amax"))
    for n, got, expected in zip(("data", "scale", "amax"), shapes, want):
        if got != expected:
            raise NVFP4Error(f"{name}.{n} has shape {got}, expected {expected} for "
                             f"{_FORMS[form]} of {rows} x {k} with {info.text}")
    return Operand(q.data, q.scale, q.amax, q.recipe, be, info, index,
                   U64x3(*(x[0] for x in d)), rows, k, groups, form)


def _common(oa, ob):
    if oa.backend is not ob.backend:
        raise NVFP4Error(f"expected a and b in one framework, got {oa.backend.name} "
                         f"and {ob.backend.name}")
    if oa.index != ob.index:
        raise NVFP4Error(f"expected every array on one CUDA device, got a on "
                         f"{_where(oa.index)} and b on {_where(ob.index)}")
    if oa.k != ob.k:
        raise NVFP4Error(f"A and B must share K: {oa.k} and {ob.k}")


def _bias(be, bias, shape, index):
    if bias is None:
        return 0
    ptr, got, dtype, _, contiguous = _describe(be, bias, "bias", index)
    if got != shape or dtype != "float32" or not contiguous:
        raise NVFP4Error(f"expected a bias of shape {shape} (contiguous float32), got "
                         f"{dtype} of shape {got}")
    return ptr


def _output(be, out, code, shape, index):
    if out is None:
        t = be.empty(shape, OUT_NAMES[code], index)
        return t, be.ptr(t)
    # NumPy and CuPy have no bfloat16: their bf16 bits go to uint16.
    dtypes = (OUT_NAMES[code], "uint16") if code == 2 else (OUT_NAMES[code],)
    return out, _check_out(be, out, shape, dtypes, index)


#===------------------------------------------------------------------------===#
# Matmul
#===------------------------------------------------------------------------===#

def matmul(oa, ob, bias, alpha, code, out):
    """D = A * B^T of two validated device operands."""
    _common(oa, ob)
    be, index, m, n = oa.backend, oa.index, oa.rows, ob.rows
    bias_ptr = _bias(be, bias, (n,), index)
    out, out_ptr = _output(be, out, code, (m, n), index)
    _call(lib().nvfp4_matmul_device, index, oa.info.btext, oa.ptrs, m, ob.info.btext,
          ob.ptrs, n, oa.k, bias_ptr, alpha, code, out_ptr, be.stream(index))
    return out


# W4A16 A dtypes (C ABI codes); NumPy and CuPy carry bf16 as uint16 bits.
A16_CODES = {"float16": 1, "bfloat16": 2, "uint16": 2}


def matmul_w4a16(be, a, ob, bias, alpha, code, out):
    """D = A * B^T of a device bf16/f16 array `a` (used as given) and a
    validated device operand `ob` (nvfp4.matmul_w4a16)."""
    if be is not ob.backend:
        raise NVFP4Error(f"expected a and b in one framework, got {be.name} and "
                         f"{ob.backend.name}")
    ptr, shape, dtype, index, contiguous = be.describe(a)
    if index != ob.index:
        raise NVFP4Error(f"expected every array on one CUDA device, got a on "
                         f"{_where(index)} and b on {_where(ob.index)}")
    a_code = A16_CODES.get(dtype)
    if a_code is None or len(shape) != 2 or not contiguous:
        raise NVFP4Error(f"a: expected a contiguous 2-D bfloat16 or float16 array "
                         f"(W4A16), got {'a contiguous' if contiguous else 'a strided'} "
                         f"{dtype} array of shape {shape}")
    m, k = shape
    if k != ob.k:
        raise NVFP4Error(f"A and B must share K: {k} and {ob.k}")
    bias_ptr = _bias(be, bias, (ob.rows,), index)
    out, out_ptr = _output(be, out, code, (m, ob.rows), index)
    _call(lib().nvfp4_matmul_w4a16_device, index, a_code, ptr, m, ob.info.btext,
          ob.ptrs, ob.rows, k, bias_ptr, alpha, code, out_ptr, be.stream(index))
    return out


def grouped_matmul(a, splits, b, bias, alpha, code, out):
    """The grouped GEMM: `a` grouped by the device `splits`, `b` stacked."""
    be = gpu_backend(splits)
    if be is None:
        raise NVFP4Error("grouped_matmul runs on the GPU: expected splits to be a "
                         "device int64 array")
    index = be.describe(splits)[3]
    groups, splits_ptr = _splits(be, splits, index)
    oa = operand(a, "a", GROUPED)
    ob = operand(b, "b", STACKED)
    if oa is None or ob is None:
        raise NVFP4Error("grouped_matmul runs on the GPU: expected a and b on the "
                         "device of splits")
    _common(oa, ob)
    if oa.index != index:
        raise NVFP4Error(f"expected every array on one CUDA device, got a on "
                         f"{_where(oa.index)} and splits on {_where(index)}")
    if oa.groups != groups or ob.groups != groups:
        raise NVFP4Error(f"expected {groups} groups (the length of splits), got a "
                         f"quantized in {oa.groups} and b stacking {ob.groups}")
    m, n = oa.rows, ob.rows
    bias_ptr = _bias(be, bias, (groups, n), index)
    out, out_ptr = _output(be, out, code, (m, n), index)
    _call(lib().nvfp4_grouped_matmul_device, index, oa.info.btext, oa.ptrs, m,
          splits_ptr, groups, ob.info.btext, ob.ptrs, n, oa.k, bias_ptr, alpha, code,
          out_ptr, be.stream(index))
    return out

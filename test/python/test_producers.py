"""Producers fused into a quantize (SPEC.md section 15) from Python:
nvfp4.rms_norm_quantize, silu_mul_quantize, gelu_tanh_mul_quantize and the
producers alone.

CPU (NumPy, always run): the fused bytes equal the producer alone followed
by nvfp4.quantize for every preset and storage dtype; RMSNorm's y, rstd and
new residual equal a NumPy float32 replica of SPEC.md section 15 bit for
bit; the gated activations are within the documented distance of a float64
evaluation; adversarial values; every argument error before anything is
written. PyTorch CPU tensors and torch.compile run where PyTorch is
installed; GPU tests (PyTorch, CuPy) skip with the reason without a GPU.
"""

import numpy as np
import pytest

import nvfp4
from conftest import cupy_gpu, torch_cuda

DTYPES = ["fp32", "fp16", "bf16"]
RECIPES = list(nvfp4.PRESETS) + [
    "per_token, sf_layout = 128x4", "local_1x64, sf_layout = 8x4",
    "per_token, directions = [rowwise, columnwise]"]
PRODUCERS = ["rms_norm", "rms_norm_residual", "silu", "gelu_tanh"]
# (storage mantissa bits, smallest normal exponent)
_FORMATS = {"fp32": (24, -126), "fp16": (11, -14), "bf16": (8, -126)}


#===------------------------------------------------------------------------===#
# Storage values and the NumPy float32 replica of SPEC.md section 15
#===------------------------------------------------------------------------===#

def rn_s(v, dtype):
    """RN_s: float32 values rounded to the storage dtype (as float32), every
    NaN the canonical quiet NaN."""
    v = np.asarray(v, np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        if dtype == "fp16":
            out = v.astype(np.float16).astype(np.float32)
        elif dtype == "bf16":
            f = v.view(np.uint32).astype(np.uint64)
            out = (((f + 0x7FFF + ((f >> 16) & 1)) >> 16) << 16).astype(np.uint32)
            out = out.view(np.float32)
        else:
            out = v.copy()
    out[np.isnan(v)] = np.float32(np.nan)
    return out


def stored(v, dtype):
    """A float32 array of storage values as the package takes them: float16
    for fp16, float32 otherwise (bf16 values with input_dtype="bf16")."""
    v = rn_s(v, dtype)
    return v.astype(np.float16) if dtype == "fp16" else v


def bits(a, dtype):
    """The stored bytes of host values (y as the package returns it, or a
    float32 replica) as unsigned integers."""
    a = np.asarray(a)
    if dtype == "fp16":
        return a.astype(np.float16).view(np.uint16)
    a = a.astype(np.float32)
    return a.view(np.uint32) >> 16 if dtype == "bf16" else a.view(np.uint32)


def rms_norm_replica(x, w, r, eps, dtype):
    """SPEC.md section 15's RMSNorm in NumPy float32, one rounding per
    operation: h, the 16-value blocks summed in order, the pairwise tree,
    inv and y. Returns (y, rstd, h) as float32 storage values."""
    f = np.float32
    x, w = x.astype(f), w.astype(f)
    with np.errstate(all="ignore"):
        h = x if r is None else rn_s(x + r.astype(f), dtype)
        rows, k = h.shape
        blocks = -(-k // 16)
        sq = h * h
        p = np.zeros((rows, blocks), f)
        for i in range(16):
            cols = np.arange(blocks) * 16 + i
            ok = cols < k
            p[:, ok] = p[:, ok] + sq[:, cols[ok]]
        stride = 1
        while stride < blocks:
            for b in range(0, blocks - stride, 2 * stride):
                p[:, b] = p[:, b] + p[:, b + stride]
            stride *= 2
        inv = f(1) / np.sqrt(p[:, 0] / f(k) + f(eps))
        y = rn_s((h * inv[:, None]) * w[None, :], dtype)
    return y, inv, h


def gated_float64(x, act):
    """y = act(gate) * up in float64 from the stored values."""
    n = x.shape[1] // 2
    g, u = x[:, :n].astype(np.float64), x[:, n:].astype(np.float64)
    if act == "silu":
        a = g / (1 + np.exp(-g))
    else:
        a = 0.5 * g * (1 + np.tanh(np.sqrt(2 / np.pi) * (g + 0.044715 * g ** 3)))
    return a * u, g


def ulp(v, dtype):
    """One ulp of the storage dtype at the magnitude of v (float64)."""
    digits, emin = _FORMATS[dtype]
    _, e = np.frexp(np.abs(v))
    return np.ldexp(1.0, np.maximum(e - 1, emin) - digits + 1)


def _inputs(producer, dtype, rows=32, cols=128, seed=0):
    """(x, weight, residual) of storage values for one producer; gated
    producers take rows x 2*cols and no weight."""
    rng = np.random.default_rng(seed)
    if producer.startswith("rms_norm"):
        x = stored(rng.standard_normal((rows, cols)) * 3, dtype)
        w = stored(rng.uniform(0.5, 1.5, cols), dtype)
        r = (stored(rng.standard_normal((rows, cols)), dtype)
             if producer == "rms_norm_residual" else None)
        return x, w, r
    g = rng.uniform(-3, 8, (rows, cols))
    u = rng.uniform(-2, 2, (rows, cols))
    return stored(np.concatenate([g, u], 1), dtype), None, None


def _fused(producer, x, w, r, **kw):
    if producer.startswith("rms_norm"):
        return nvfp4.rms_norm_quantize(x, w, 1e-5, residual=r, **kw)
    fn = {"silu": nvfp4.silu_mul_quantize, "gelu_tanh": nvfp4.gelu_tanh_mul_quantize}
    return fn[producer](x, **kw)


def _alone(producer, x, w, r, **kw):
    if producer.startswith("rms_norm"):
        return nvfp4.rms_norm(x, w, 1e-5, residual=r, **kw)
    fn = {"silu": nvfp4.silu_mul, "gelu_tanh": nvfp4.gelu_tanh_mul}
    return fn[producer](x, **kw), None


def _input_dtype(dtype):
    return "bf16" if dtype == "bf16" else None


QUANTIZED = ("data", "scale", "amax", "data_t", "scale_t", "amax_t", "per_token_scale")
PRODUCED = QUANTIZED + ("rstd", "y")


def host_bytes(a):
    """The bytes of a NumPy, PyTorch or CuPy array as a NumPy array (torch
    bfloat16 as uint16)."""
    if hasattr(a, "detach"):
        import torch
        a = a.detach().cpu()
        return a.view(torch.int16).numpy().view(np.uint16) if a.dtype == torch.bfloat16 \
            else a.numpy()
    return a.get() if hasattr(a, "get") else np.asarray(a)


def assert_same(got, want, names=QUANTIZED):
    """The same outputs (None alike), dtypes, shapes and bytes."""
    assert got.recipe == want.recipe
    for name in names:
        a, b = getattr(got, name), getattr(want, name)
        assert (a is None) == (b is None), name
        if a is not None:
            a, b = host_bytes(a), host_bytes(b)
            assert a.dtype == b.dtype and a.shape == b.shape, name
            np.testing.assert_array_equal(a, b, err_msg=name)


#===------------------------------------------------------------------------===#
# Fused == alone, then quantize
#===------------------------------------------------------------------------===#

def _check_fused(recipe, dtype, producer, return_y=True):
    """The fused form == the producer alone, then quantize(): quantization,
    y, rstd and the new residual."""
    x, w, r = _inputs(producer, dtype)
    r_fused = None if r is None else r.copy()
    dt = _input_dtype(dtype)
    y, rstd = _alone(producer, x, w, r, input_dtype=dt)
    want = nvfp4.quantize(y, recipe=recipe, input_dtype=dt)
    q = _fused(producer, x, w, r_fused, recipe=recipe, return_y=return_y, input_dtype=dt)
    assert isinstance(q, nvfp4.QuantizeResult)
    assert_same(q, want)
    if return_y:
        np.testing.assert_array_equal(bits(q.y, dtype), bits(y, dtype))
        assert q.y.dtype == y.dtype == (np.float16 if dtype == "fp16" else np.float32)
    else:
        assert q.y is None
    if producer.startswith("rms_norm"):
        np.testing.assert_array_equal(q.rstd, rstd)
        assert q.rstd.dtype == np.float32 and q.rstd.shape == (x.shape[0],)
    else:
        assert q.rstd is None and rstd is None
    if r is not None:  # both calls updated their residual alike
        np.testing.assert_array_equal(bits(r_fused, dtype), bits(r, dtype))


# Each fused variant (producer, residual, y) compiles a kernel per recipe and
# dtype: every recipe and dtype runs RMSNorm with a residual and y, and a
# gated activation (alternating); the other variants run on one recipe. On
# "cuda" the same runs on CUDA tensors against the host bytes (_check_cuda).
@pytest.mark.parametrize("where", ["cpu", "cuda"])
@pytest.mark.parametrize("recipe", RECIPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_fused_equals_alone_then_quantize(where, recipe, dtype):
    check = _check_fused if where == "cpu" else _check_cuda
    check(recipe, dtype, "rms_norm_residual")
    turn = RECIPES.index(recipe) + DTYPES.index(dtype)
    check(recipe, dtype, ("silu", "gelu_tanh")[turn % 2])


@pytest.mark.parametrize("where", ["cpu", "cuda"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("producer", PRODUCERS)
@pytest.mark.parametrize("return_y", [False, True])
def test_fused_variants(where, dtype, producer, return_y):
    check = _check_fused if where == "cpu" else _check_cuda
    check("per_token, sf_layout = 128x4", dtype, producer, return_y)


@pytest.mark.parametrize("dtype", DTYPES)
def test_given_amaxes(dtype):
    # amax= as in quantize(): the fused bytes equal quantize(y, amax=...).
    x, w, _ = _inputs("rms_norm", dtype)
    dt = _input_dtype(dtype)
    y, _ = nvfp4.rms_norm(x, w, 1e-5, input_dtype=dt)
    amax = np.array([3.5], np.float32)
    want = nvfp4.quantize(y, recipe="per_tensor, amax = given", amax=amax,
                          input_dtype=dt)
    q = nvfp4.rms_norm_quantize(x, w, 1e-5, amax=amax, input_dtype=dt)
    assert "amax = given" in q.recipe
    assert_same(q, want)
    g, _, _ = _inputs("silu", dtype)
    y = nvfp4.silu_mul(g, input_dtype=dt)
    amax = np.full(g.shape[0], 7.0, np.float32)
    want = nvfp4.quantize(y, outer="row", amax=amax, input_dtype=dt)
    assert_same(nvfp4.silu_mul_quantize(g, outer="row", amax=amax,
                                                     input_dtype=dt), want)


def test_recipe_keywords_resolve_like_quantize():
    x, w, _ = _inputs("rms_norm", "fp32")
    q = nvfp4.rms_norm_quantize(x, w, outer="row", e4m3_max=256, sf_layout="128x4")
    want = nvfp4.quantize(nvfp4.rms_norm(x, w)[0], outer="row", e4m3_max=256,
                          sf_layout="128x4")
    assert_same(q, want)
    # Default recipe: quantize()'s default.
    assert nvfp4.silu_mul_quantize(x).recipe == nvfp4.quantize(x[:, :64]).recipe


#===------------------------------------------------------------------------===#
# RMSNorm against the float32 replica
#===------------------------------------------------------------------------===#

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cols", [1, 16, 40, 128, 300, 1040])
@pytest.mark.parametrize("residual", [False, True])
def test_rms_norm_matches_the_replica(dtype, cols, residual):
    # K of 1, 40 and 300 leave a short last block; 300 (19 blocks) and 1040
    # (65) give blocks without a partner in the tree.
    x, w, r = _inputs("rms_norm_residual" if residual else "rms_norm", dtype, 9, cols,
                      seed=cols)
    r0 = None if r is None else r.copy()
    y, rstd = nvfp4.rms_norm(x, w, 1e-6, residual=r, input_dtype=_input_dtype(dtype))
    want_y, want_rstd, h = rms_norm_replica(x, w, r0, 1e-6, dtype)
    np.testing.assert_array_equal(bits(y, dtype), bits(want_y, dtype))
    np.testing.assert_array_equal(rstd.view(np.uint32), want_rstd.view(np.uint32))
    if residual:  # updated in place with h = RN_s(x + residual)
        np.testing.assert_array_equal(bits(r, dtype), bits(h, dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_rms_norm_adversarial_rows(dtype):
    big = {"fp32": 1e30, "bf16": 1e30, "fp16": 6e4}[dtype]
    k = 48
    rows = np.ones((9, k), np.float32)
    rows[0] = 0                  # ss = 0: inv = 1/sqrt(eps), y = 0 (signed by w)
    rows[1, 5] = np.inf          # ss = Inf: inv = 0, y = 0 except NaN at the Inf
    rows[2, 7] = -np.inf
    rows[3, 3] = np.nan          # NaN propagates to the whole row
    rows[4, :] = big             # squares overflow float32 (fp32, bf16): inv = 0
    rows[5, :] = -0.0            # -0.0 squared is +0: y = -0 * inv * w
    rows[6, :] = 1e-40 if dtype != "fp16" else 6e-8  # subnormal storage values
    rows[7, ::2] = -big
    rows[8, 10] = big
    w = np.linspace(-2, 2, k).astype(np.float32)
    w[20] = -0.0
    x, ws = stored(rows, dtype), stored(w, dtype)
    r = stored(np.full((9, k), 0.5, np.float32), dtype)
    r[4] = big                   # big + big overflows fp16 storage to Inf
    r0 = r.copy()
    dt = _input_dtype(dtype)
    for residual in (None, r):
        y, rstd = nvfp4.rms_norm(x, ws, 1e-6, residual=residual, input_dtype=dt)
        want_y, want_rstd, h = rms_norm_replica(x, ws, None if residual is None else r0,
                                                1e-6, dtype)
        np.testing.assert_array_equal(bits(y, dtype), bits(want_y, dtype))
        np.testing.assert_array_equal(rstd, want_rstd)
        if residual is not None:
            np.testing.assert_array_equal(bits(r, dtype), bits(h, dtype))
    # The NaN of y is the canonical one of the storage dtype.
    assert bits(y, dtype)[3, 0] == {"fp32": 0x7FC00000, "fp16": 0x7E00,
                                    "bf16": 0x7FC0}[dtype]
    assert np.all(rstd[[1, 2]] == 0)
    # The fused form quantizes exactly those values.
    q = nvfp4.rms_norm_quantize(x, ws, 1e-6, recipe="per_token", return_y=True,
                                input_dtype=dt)
    np.testing.assert_array_equal(bits(q.y, dtype),
                                  bits(rms_norm_replica(x, ws, None, 1e-6, dtype)[0],
                                       dtype))
    assert_same(q, nvfp4.quantize(q.y, recipe="per_token", input_dtype=dt))


def test_empty_matrices_are_errors():
    # As for quantize(): the runtime takes no empty matrix.
    x = np.zeros((0, 32), np.float32)
    with pytest.raises(nvfp4.NVFP4Error, match="expected a non-empty matrix, got 0x32"):
        nvfp4.quantize(x)
    with pytest.raises(nvfp4.NVFP4Error, match="expected a non-empty matrix, got 0x32"):
        nvfp4.rms_norm(x, np.ones(32, np.float32))
    with pytest.raises(nvfp4.NVFP4Error, match="expected a non-empty matrix"):
        nvfp4.silu_mul_quantize(x)


#===------------------------------------------------------------------------===#
# Gated activations against float64
#===------------------------------------------------------------------------===#

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", ["silu", "gelu_tanh"])
def test_gated_within_the_documented_distance_of_float64(dtype, act):
    # g in [-3, 8]: within 1 ulp of bf16 and f16 (SPEC.md section 15). In
    # f32 storage the fp32 sequences' own error shows (ProducerNumerics.md):
    # silu within 2.5 ulp of f32 and one more rounding for the product;
    # gelu_tanh within 2 (ulp(y) + ulp(g/2)) before it, times |up|.
    x, _, _ = _inputs(act, dtype, 64, 256, seed=3)
    fn = nvfp4.silu_mul if act == "silu" else nvfp4.gelu_tanh_mul
    y = fn(x, input_dtype=_input_dtype(dtype)).astype(np.float64)
    ref, g = gated_float64(x, act)
    err = np.abs(y - ref)
    if dtype != "fp32":
        assert np.all(err <= ulp(ref, dtype))
    elif act == "silu":
        assert np.all(err <= 3 * ulp(ref, dtype))
    else:
        u = np.abs(x[:, x.shape[1] // 2:].astype(np.float64))
        bound = (2 * (ulp(ref / np.maximum(u, 1e-30), dtype) + ulp(g / 2, dtype)) * u
                 + ulp(ref, dtype))
        assert np.all(err <= bound)


# (gate, up, silu's y, gelu_tanh's y): SPEC.md's formulas on special values.
GATED_SPECIALS = [
    (np.inf, 1, np.inf, np.inf),        # E(-Inf) = 0; T(Inf) = 1
    (-np.inf, 1, np.nan, np.nan),       # -Inf / (1 + E(Inf)) = -Inf/Inf; 0.5g * 0
    (np.nan, 1, np.nan, np.nan),
    (-0.0, 1, -0.0, -0.0),              # -0 / 2 and -0 * (1 + T(-0))
    (0.0, -1, -0.0, -0.0),              # +0 * -1
    (-100.0, 1, -0.0, -0.0),            # E(100) overflows: -100 / Inf; 1 + T = 0
    (1.0, np.inf, np.inf, np.inf),
    (0.0, np.inf, np.nan, np.nan),      # 0 * Inf
    (1.0, np.nan, np.nan, np.nan),
    (-10.0, 1, None, -0.0),             # gelu_tanh: 1 + T(-8.0) = 0 in fp32
]


@pytest.mark.parametrize("dtype", DTYPES)
def test_gated_special_values(dtype):
    g = np.array([s[0] for s in GATED_SPECIALS], np.float32)
    u = np.array([s[1] for s in GATED_SPECIALS], np.float32)
    x = stored(np.concatenate([g, u])[None, :], dtype)
    dt = _input_dtype(dtype)
    for column, fn in ((2, nvfp4.silu_mul), (3, nvfp4.gelu_tanh_mul)):
        checked = [i for i, s in enumerate(GATED_SPECIALS) if s[column] is not None]
        want = rn_s(np.array([GATED_SPECIALS[i][column] for i in checked], np.float32),
                    dtype)
        y = fn(x, input_dtype=dt)
        np.testing.assert_array_equal(bits(y, dtype)[0, checked], bits(want, dtype))


@pytest.mark.parametrize("producer", ["silu", "gelu_tanh", "rms_norm"])
def test_producers_alone_take_any_width(producer):
    # The producers alone have no multiple of 16; the fused forms have the
    # recipe's.
    x, w, _ = _inputs(producer, "fp32", 5, 13)
    y, _ = _alone(producer, x, w, None)
    assert y.shape == (5, 13)
    with pytest.raises(nvfp4.NVFP4Error, match="16"):
        _fused(producer, x, w, None)


#===------------------------------------------------------------------------===#
# Errors: before anything runs, nothing written
#===------------------------------------------------------------------------===#

def _rms_args(dtype=np.float32):
    x = np.ones((4, 32), dtype)
    return x, np.ones(32, dtype), np.full((4, 32), 2, dtype)


RMS_ERRORS = [
    (dict(weight=np.ones(31, np.float32)), r"expected weight of shape \(32,\)"),
    (dict(weight=np.ones((1, 32), np.float32)), r"expected weight of shape \(32,\)"),
    (dict(weight=np.ones(32, np.float16)), "expected weight of x's dtype float32, got "
                                           "float16"),
    (dict(residual=np.ones((4, 32), np.float16)), "expected residual of x's dtype"),
    (dict(residual=np.ones((4, 16), np.float32)), r"expected residual of x's shape "
                                                  r"\(4, 32\), got \(4, 16\)"),
    (dict(residual=np.asfortranarray(np.ones((4, 32), np.float32))),
     "expected a contiguous residual"),
    (dict(eps=0.0), "expected eps to be finite and > 0"),
    (dict(eps=-1e-6), "expected eps to be finite and > 0"),
    (dict(eps=float("nan")), "expected eps to be finite and > 0"),
    (dict(eps=float("inf")), "expected eps to be finite and > 0"),
    (dict(eps=1e-50), "expected eps to be finite and > 0 as a float32"),  # rounds to 0
    (dict(eps=1e39), "expected eps to be finite and > 0 as a float32"),   # to Inf
    (dict(eps="1e-6"), "expected eps to be a number"),
    (dict(eps=True), "expected eps to be a number"),
    (dict(x=np.ones((4, 2, 16), np.float32)), "expected a 2-D array"),
    (dict(x=np.ones((4, 32), np.int32), weight=np.ones(32, np.int32),
          residual=np.ones((4, 32), np.int32)), "unsupported dtype int32"),
    (dict(input_dtype="fp8"), "unknown input_dtype"),
]


@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("change,message", RMS_ERRORS)
def test_rms_norm_errors(change, message, fused):
    x, w, r = _rms_args()
    args = dict(x=x, weight=w, residual=r, eps=1e-6, input_dtype=None)
    args.update(change)
    before = args["residual"].copy()
    fn = nvfp4.rms_norm_quantize if fused else nvfp4.rms_norm
    with pytest.raises(nvfp4.NVFP4Error, match=message):
        fn(args["x"], args["weight"], args["eps"], residual=args["residual"],
           input_dtype=args["input_dtype"])
    np.testing.assert_array_equal(args["residual"], before)  # nothing written


def test_rms_norm_read_only_residual():
    x, w, r = _rms_args()
    r.flags.writeable = False
    with pytest.raises(nvfp4.NVFP4Error, match="expected a writable residual"):
        nvfp4.rms_norm(x, w, residual=r)


@pytest.mark.parametrize("call,message", [
    (lambda x: nvfp4.silu_mul(x[:, :31]), r"expected an even number of columns .*4x31"),
    (lambda x: nvfp4.gelu_tanh_mul_quantize(x[:, :31]), "expected an even number"),
    (lambda x: nvfp4.silu_mul_quantize(x, outer="col"), "unknown outer 'col'"),
    (lambda x: nvfp4.silu_mul_quantize(x, recipe="per_token", outer="row"),
     "pass either recipe or recipe keywords"),
    (lambda x: nvfp4.silu_mul_quantize(x, recipe="per_token",
                                       amax=np.ones(4, np.float32)),
     "amax values were given, but the recipe computes its amax"),
    (lambda x: nvfp4.silu_mul_quantize(x, outer="row", amax=np.ones(3, np.float32)),
     r"expected amax of shape \(4,\)"),
    (lambda x: nvfp4.silu_mul_quantize(x, amax=np.ones(1)), "expected amax to be float32"),
    (lambda x: nvfp4.silu_mul_quantize(x, recipe="per_tensor, amax = given"),
     "pass amax="),
    (lambda x: nvfp4.silu_mul(x.astype(np.float64)), "unsupported dtype float64"),
])
def test_gated_errors(call, message):
    x = np.ones((4, 64), np.float32)
    with pytest.raises(nvfp4.NVFP4Error, match=message):
        call(x)


def test_unknown_keyword_is_a_type_error():
    with pytest.raises(TypeError, match="unexpected keyword argument 'outr'"):
        nvfp4.silu_mul_quantize(np.ones((4, 64), np.float32), outr="row")
    with pytest.raises(TypeError, match="rms_norm_quantize.*'residuals'"):
        nvfp4.rms_norm_quantize(*_rms_args()[:2], residuals=None)


def test_recipe_errors_leave_the_residual():
    # An error of the C ABI (here the recipe's multiple of 16) writes nothing.
    x = np.ones((4, 40), np.float32)
    r = np.full((4, 40), 3, np.float32)
    with pytest.raises(nvfp4.NVFP4Error, match="16"):
        nvfp4.rms_norm_quantize(x, np.ones(40, np.float32), residual=r)
    np.testing.assert_array_equal(r, 3)


#===------------------------------------------------------------------------===#
# PyTorch (CPU tensors: the host path; CUDA: the device entry points)
#===------------------------------------------------------------------------===#

TORCH_DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}


def _torch_inputs(torch, producer, dtype, device, rows=32, cols=128, seed=0):
    x, w, r = _inputs(producer, dtype, rows, cols, seed)
    tdtype = getattr(torch, TORCH_DTYPES[dtype])

    def t(a):
        return None if a is None else torch.from_numpy(
            np.asarray(a, np.float32)).to(tdtype).to(device)
    return t(x), t(w), t(r)


def _device(name):
    if name == "cuda":
        return torch_cuda()
    return pytest.importorskip("torch", reason="PyTorch is not installed")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("producer", PRODUCERS)
def test_torch_cpu_equals_numpy(dtype, producer):
    torch = _device("cpu")
    x, w, r = _torch_inputs(torch, producer, dtype, "cpu")
    q = _fused(producer, x, w, r, recipe="per_token", return_y=True)
    nx, nw, nr = _inputs(producer, dtype)
    want = _fused(producer, nx, nw, nr, recipe="per_token", return_y=True,
                  input_dtype=_input_dtype(dtype))
    assert_same(q, want)
    assert q.y.dtype == getattr(torch, TORCH_DTYPES[dtype])
    np.testing.assert_array_equal(bits(q.y.float().numpy(), dtype), bits(want.y, dtype))
    if r is not None:  # updated in place, in its own dtype
        np.testing.assert_array_equal(bits(r.float().numpy(), dtype), bits(nr, dtype))


def _check_cuda(recipe, dtype, producer, return_y=True):
    """The fused form and the producer alone on CUDA tensors: the bytes of
    the host path on copies of the inputs, residuals updated alike
    (test_fused_equals_alone_then_quantize and test_fused_variants)."""
    torch = torch_cuda()
    x, w, r = _torch_inputs(torch, producer, dtype, "cuda")
    hx, hw, hr = (None if t is None else t.cpu() for t in (x, w, r))
    q = _fused(producer, x, w, r, recipe=recipe, return_y=return_y)
    want = _fused(producer, hx, hw, hr, recipe=recipe, return_y=return_y)
    assert (q.data if q.data is not None else q.data_t).is_cuda
    assert_same(q, want, PRODUCED)
    if r is not None:
        np.testing.assert_array_equal(host_bytes(r), host_bytes(hr))
    r2 = None if r is None else _torch_inputs(torch, producer, dtype, "cuda")[2]
    hr2 = None if r2 is None else r2.cpu()
    for a, b in zip(_alone(producer, x, w, r2), _alone(producer, hx, hw, hr2)):
        assert (a is None) == (b is None)
        if a is not None:
            assert a.dtype == b.dtype and a.is_cuda
            np.testing.assert_array_equal(host_bytes(a), host_bytes(b))
    if r2 is not None:
        np.testing.assert_array_equal(host_bytes(r2), host_bytes(hr2))


def test_cuda_converts_with_input_dtype_and_writes_the_residual_back():
    # float32 tensors stored as bf16: the residual is computed in bf16 and
    # written back into the float32 tensor (exactly: bf16 widens).
    torch = torch_cuda()
    x, w, r = _torch_inputs(torch, "rms_norm_residual", "bf16", "cuda")
    x, w, r = x.float(), w.float(), r.float()
    hx, hw, hr = x.cpu(), w.cpu(), r.cpu()
    q = nvfp4.rms_norm_quantize(x, w, residual=r, recipe="per_token", return_y=True,
                                input_dtype="bf16")
    want = nvfp4.rms_norm_quantize(hx, hw, residual=hr, recipe="per_token",
                                   return_y=True, input_dtype="bf16")
    assert_same(q, want, PRODUCED)
    assert q.y.dtype == torch.bfloat16 and r.dtype == torch.float32
    np.testing.assert_array_equal(host_bytes(r), host_bytes(hr))


def test_cuda_given_amaxes():
    torch = torch_cuda()
    x, w, _ = _torch_inputs(torch, "rms_norm", "bf16", "cuda")
    amax = torch.full((32,), 4.0, device="cuda")
    q = nvfp4.rms_norm_quantize(x, w, outer="row", amax=amax)
    want = nvfp4.quantize(nvfp4.rms_norm(x, w)[0], outer="row", amax=amax)
    assert_same(q, want)
    assert q.amax is amax


def test_cuda_errors_before_any_launch():
    torch = torch_cuda()
    x, w, r = _torch_inputs(torch, "rms_norm_residual", "bf16", "cuda")
    before = r.clone()
    cases = [
        (dict(weight=w.cpu()), "got weight on the CPU"),
        (dict(residual=r.cpu()), "got residual on the CPU"),
        (dict(weight=w.float()), "expected weight of x's dtype bfloat16, got float32"),
        (dict(residual=r.half()), "expected residual of x's dtype"),
        (dict(weight=w[:-1]), r"expected weight of shape \(128,\)"),
        (dict(residual=r.t().contiguous().t()), "expected a contiguous residual"),
        (dict(residual=r[:16]), "expected residual of x's shape"),
        (dict(eps=0.0), "expected eps to be finite and > 0"),
        (dict(weight=np.ones(128, np.float32)),
         "expected weight to be a torch array"),
    ]
    for change, message in cases:
        args = dict(weight=w, residual=r, eps=1e-6)
        args.update(change)
        for fn in (nvfp4.rms_norm, nvfp4.rms_norm_quantize):
            with pytest.raises(nvfp4.NVFP4Error, match=message):
                fn(x, args["weight"], args["eps"], residual=args["residual"])
    with pytest.raises(nvfp4.NVFP4Error, match="expected an even number"):
        nvfp4.silu_mul_quantize(x[:, :127])
    with pytest.raises(nvfp4.NVFP4Error, match="expected x in host memory|GPU array"):
        nvfp4.rms_norm(x.cpu(), w)
    torch.cuda.synchronize()
    assert torch.equal(r, before)  # nothing was written


def test_cuda_graph_capture_and_replay():
    # Nothing copies to the host or synchronizes: the calls capture, and a
    # replay on new inputs (and a reset residual) gives the eager bytes.
    torch = torch_cuda()
    x, w, r = _torch_inputs(torch, "rms_norm_residual", "bf16", "cuda", 64, 256)
    g = _torch_inputs(torch, "silu", "bf16", "cuda", 64, 128)[0]
    r0 = r.clone()

    def step():
        q = nvfp4.rms_norm_quantize(x, w, residual=r, recipe="per_token", return_y=True)
        s = nvfp4.silu_mul_quantize(g, recipe="per_tensor")
        return [q.data, q.scale, q.amax, q.per_token_scale, q.rstd, q.y, s.data, s.scale,
                s.amax, nvfp4.gelu_tanh_mul(g), *nvfp4.rms_norm(x, w)]

    step()  # compile and load the kernels before capture
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        captured = step()
    x.copy_(x * 3)
    g.copy_(-g)
    r.copy_(r0)
    graph.replay()
    torch.cuda.synchronize()
    replayed_residual = r.clone()
    r.copy_(r0)
    want = step()
    for a, b in zip(captured, want):
        assert torch.equal(a, b)
    assert torch.equal(replayed_residual, r)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize("dynamic", [False, True])
def test_compile_fullgraph_same_bytes(device, dynamic):
    torch = _device(device)
    import nvfp4.torch  # noqa: F401  (registers the ops)

    def f(x, w, res, g):
        q = nvfp4.rms_norm_quantize(x, w, 1e-5, residual=res, recipe="per_token",
                                    return_y=True)
        y, rstd = nvfp4.rms_norm(x, w)
        s = nvfp4.silu_mul_quantize(g, recipe="per_tensor, directions = [rowwise, "
                                              "columnwise]", return_y=True)
        t = nvfp4.gelu_tanh_mul_quantize(g, recipe="local_1x64")
        return (q.data, q.scale, q.amax, q.per_token_scale, q.rstd, q.y, y, rstd,
                s.data, s.scale, s.amax, s.data_t, s.scale_t, s.amax_t, s.y,
                t.data, t.scale, t.amax, nvfp4.gelu_tanh_mul(g))

    backend = "aot_eager" if device == "cpu" else "inductor"
    cf = torch.compile(f, fullgraph=True, dynamic=dynamic, backend=backend)
    for m in (16, 48):
        x, w, r = _torch_inputs(torch, "rms_norm_residual", "bf16", device, m)
        g = _torch_inputs(torch, "silu", "bf16", device, m)[0]
        r_eager = r.clone()
        got, want = cf(x, w, r, g), f(x, w, r_eager, g)
        for a, b in zip(got, want):
            assert a.dtype == b.dtype and a.shape == b.shape
            assert torch.equal(a, b)
        assert torch.equal(r, r_eager) and not torch.equal(r, x)  # mutated alike


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_export_keeps_the_ops_and_the_residual_update(device):
    torch = _device(device)
    import nvfp4.torch  # noqa: F401

    class Block(torch.nn.Module):
        def __init__(self, w):
            super().__init__()
            self.register_buffer("w", w)

        def forward(self, x, res):
            q = nvfp4.rms_norm_quantize(x, self.w, residual=res, recipe="per_token")
            s = nvfp4.silu_mul_quantize(x, recipe="per_tensor", return_y=True)
            return q.data, q.scale, q.amax, q.rstd, s.data, s.y

    x, w, r = _torch_inputs(torch, "rms_norm_residual", "bf16", device)
    block = Block(w)
    ep = torch.export.export(block, (x, r.clone()))
    ops = {str(n.target) for n in ep.graph.nodes if "nvfp4" in str(n.target)}
    assert {"nvfp4.rms_norm_quantize.default", "nvfp4.gated_act_quantize.default"} <= ops
    r_exported, r_eager = r.clone(), r.clone()
    for a, b in zip(ep.module()(x, r_exported), block(x, r_eager)):
        assert torch.equal(a, b)
    assert torch.equal(r_exported, r_eager) and not torch.equal(r_eager, r)


def test_torch_ops_schemas_and_fakes():
    torch = _device("cpu")
    import nvfp4.torch  # noqa: F401
    from torch._subclasses.fake_tensor import FakeTensorMode
    schema = str(torch.ops.nvfp4.rms_norm_quantize.default._schema)
    assert "Tensor(a!)? residual" in schema
    assert "Tensor(a!)? residual" in str(torch.ops.nvfp4.rms_norm.default._schema)
    info = nvfp4._recipes.info_for_text("per_token, directions = [rowwise, columnwise]")
    with FakeTensorMode():
        x = torch.empty(48, 256, dtype=torch.bfloat16)
        w = torch.empty(256, dtype=torch.bfloat16)
        outs = torch.ops.nvfp4.rms_norm_quantize(x, w, None, 1e-6, info.text, True)
        g = torch.ops.nvfp4.gated_act_quantize(x, "silu", info.text, False)
        y = torch.ops.nvfp4.gated_act(x, "gelu_tanh", "fp16")
        with pytest.raises(nvfp4.NVFP4Error, match="expected an even number"):
            torch.ops.nvfp4.gated_act(x[:, :5], "silu")
        with pytest.raises(nvfp4.NVFP4Error, match="unknown activation"):
            torch.ops.nvfp4.gated_act(x, "relu")
        with pytest.raises(nvfp4.NVFP4Error, match="eps"):
            torch.ops.nvfp4.rms_norm(x, w, None, 0.0)
    assert [tuple(o.shape) for o in outs[:2]] == [(48,), (48, 256)]
    assert [e[2] for e in info.specs(48, 256).entries] == [tuple(o.shape) for o in outs[2:]]
    assert [e[2] for e in info.specs(48, 128).entries] == [tuple(o.shape) for o in g]
    assert y.shape == (48, 128) and y.dtype == torch.float16


#===------------------------------------------------------------------------===#
# CuPy
#===------------------------------------------------------------------------===#

@pytest.mark.parametrize("dtype", ["fp32", "fp16"])
@pytest.mark.parametrize("producer", PRODUCERS)
def test_cupy_same_bytes_as_cpu(dtype, producer):
    cupy = cupy_gpu()
    x, w, r = _inputs(producer, dtype)
    r_host = None if r is None else r.copy()
    dx, dw, dr = (None if a is None else cupy.asarray(a) for a in (x, w, r))
    q = _fused(producer, dx, dw, dr, recipe="per_token, sf_layout = 128x4",
               return_y=True)
    want = _fused(producer, x, w, r_host, recipe="per_token, sf_layout = 128x4",
                  return_y=True)
    assert_same(q, want, ("data", "scale", "amax", "rstd", "y"))
    if r is not None:
        np.testing.assert_array_equal(dr.get(), r_host)
    y, _ = _alone(producer, dx, dw, None)
    np.testing.assert_array_equal(y.get(), _alone(producer, x, w, None)[0])

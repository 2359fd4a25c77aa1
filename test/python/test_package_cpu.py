"""The pure-Python parts of the package on the CPU: recipe and shape caches,
argument checks that run before any C call, stack_groups, the lazy decode
multiplier, and that PyTorch stays optional."""

import os
import subprocess
import sys

import numpy as np
import pytest

nvfp4 = pytest.importorskip("nvfp4")
from nvfp4 import _recipes  # noqa: E402


RECIPES = ["per_tensor", "per_token", "local_1x64", "per_tensor_2d", "per_tensor_rht",
           "four_over_six", "per_token, sf_layout = 128x4",
           "per_tensor_2d, sf_layout = 128x4", "local_1x64, sf_layout = 8x4",
           "outer = row, directions = [rowwise, columnwise]",
           "outer = window<64>, directions = [columnwise]",
           "per_token, directions = [rowwise, columnwise], sf_layout = 128x4"]


def test_recipe_info_is_cached_and_canonical():
    a = _recipes.info_for_text("per_token")
    assert _recipes.info_for_text("per_token") is a
    assert a.text.startswith("#nvfp4.recipe<") and a.text == nvfp4.presets["per_token"]
    assert _recipes.info_for_text(a.text) is a  # the canonical text maps to itself
    assert (a.outer, a.bound, a.rowwise, a.columnwise, a.sf_layout) == (1, 448, True, False,
                                                                         "linear")
    b = _recipes.info_for_text("per_token, sf_layout = 128x4")
    assert (b.sf_layout, b.row_tile, b.col_tile) == ("128x4", 128, 4)
    assert _recipes.info_for_text("local_1x64").window == 64
    assert _recipes.info_for_text("local_1x64, sf_layout = 8x4").sf_layout == "8x4"


def test_keyword_arguments_resolve_once(monkeypatch):
    x = np.ones((4, 32), np.float32)
    nvfp4.quantize(x, outer="row", e4m3_max=256)
    calls = []
    monkeypatch.setattr(_recipes, "canonical_text", lambda t: calls.append(t) or t)
    q = nvfp4.quantize(x, outer="row", e4m3_max=256)
    assert calls == []  # the argument tuple hit the cache
    assert "e4m3_max = 256" in q.recipe


def test_shapes_are_asked_once(monkeypatch):
    info = _recipes.info_for_text("per_token, sf_layout = 128x4")
    first = info.specs(300, 512)
    asked = []
    monkeypatch.setattr(_recipes, "call", lambda *a: asked.append(a))
    assert info.specs(300, 512) is first
    assert asked == []
    assert first.by_name == {"data": (300, 256), "scale": (384, 32), "amax": (300,)}
    assert [e[0] for e in first.entries] == [0, 1, 2]


@pytest.mark.parametrize("recipe", RECIPES)
@pytest.mark.parametrize("rows,cols", [(16, 16), (1, 64), (129, 4096), (48, 160), (300, 1040)])
def test_symbolic_shapes_match_the_c_abi(recipe, rows, cols):
    # The formulas the fake kernels use for SymInt sizes give the C ABI's shapes.
    info = _recipes.info_for_text(recipe)
    if info.columnwise and rows % 16:
        pytest.skip("columnwise output needs rows % 16 == 0")
    assert info.symbolic_specs(rows, cols).entries == info.specs(rows, cols).entries


def _has_grouped_shapes():
    try:
        nvfp4._lib.lib().nvfp4_grouped_quantize_shapes
        return True
    except nvfp4.NVFP4Error:
        return False


@pytest.mark.skipif(not _has_grouped_shapes(), reason="library without grouped shapes")
@pytest.mark.parametrize("recipe", ["per_tensor", "per_token", "local_1x64",
                                    "per_token, sf_layout = 128x4",
                                    "per_tensor, sf_layout = 128x4",
                                    "outer = row, directions = [rowwise, columnwise]"])
@pytest.mark.parametrize("rows,cols,groups", [(48, 64, 1), (48, 64, 5), (304, 1024, 8)])
def test_grouped_symbolic_shapes_match_the_c_abi(recipe, rows, cols, groups):
    info = _recipes.info_for_text(recipe)
    got = info.symbolic_specs(rows, cols, groups).entries
    assert got == info.specs(rows, cols, groups).entries
    if info.sf_layout == "128x4":
        # Each group starts on a fresh 128-row scale tile.
        assert info.specs(rows, cols, groups).by_name["scale"][0] == \
            -(-(rows + groups * 127) // 128) * 128


def test_per_token_scale_is_lazy():
    calls = []
    q = nvfp4.QuantizeResult(amax=np.array([6.0, 0.0], np.float32))
    q._decode = (lambda amax, bound: calls.append(bound) or
                 nvfp4._decode_multiplier(amax, bound), q.amax, 448)
    assert calls == []
    first = q.per_token_scale
    assert q.per_token_scale is first and calls == [448]
    np.testing.assert_array_equal(first, nvfp4._decode_multiplier(q.amax, 448))
    q.per_token_scale = None  # an explicit value wins
    assert q.per_token_scale is None and calls == [448]


def test_result_repr():
    q = nvfp4.quantize(np.ones((4, 32), np.float32), outer="row")
    text = repr(q)
    assert "data=ndarray(4, 16)" in text and "recipe='#nvfp4.recipe<" in text


@pytest.mark.parametrize("call,message", [
    (lambda a, b: nvfp4.matmul(a, b, out_dtype="f64"), "unknown out_dtype 'f64'"),
    (lambda a, b: nvfp4.matmul(nvfp4.QuantizeResult(), b), "a: expected a QuantizeResult"),
    (lambda a, b: nvfp4.matmul(a, "b"), "b: expected a QuantizeResult"),
    (lambda a, b: nvfp4.matmul(a, b, out=np.zeros((3, 8), np.float32)),
     r"expected out to be a contiguous float32 host array of shape \(4, 8\)"),
    (lambda a, b: nvfp4.grouped_quantize(np.zeros((4, 32), np.float32),
                                         np.array([4])), "runs on GPU arrays"),
    (lambda a, b: nvfp4.grouped_matmul(a, np.array([4]), b), "grouped_matmul runs on the GPU"),
    (lambda a, b: nvfp4.stack_groups(a, 2), "expected a grouped_quantize"),
    (lambda a, b: nvfp4.stack_groups([a, b]), "expected one recipe for every group"),
    (lambda a, b: nvfp4.stack_groups([]), "non-empty list"),
])
def test_argument_errors(call, message):
    rng = np.random.default_rng(0)
    a = nvfp4.quantize(rng.standard_normal((4, 64)).astype(np.float32),
                       recipe="per_token, sf_layout = 128x4")
    b = nvfp4.quantize(rng.standard_normal((8, 64)).astype(np.float32),
                       recipe="per_tensor, sf_layout = 128x4")
    with pytest.raises(nvfp4.NVFP4Error, match=message):
        call(a, b)


def test_matmul_host_out():
    rng = np.random.default_rng(1)
    a = nvfp4.quantize(rng.standard_normal((4, 64)).astype(np.float32),
                       recipe="per_token, sf_layout = 128x4")
    b = nvfp4.quantize(rng.standard_normal((8, 64)).astype(np.float32),
                       recipe="per_tensor, sf_layout = 128x4")
    want = nvfp4.matmul(a, b, out_dtype="f16")
    out = np.full((4, 8), np.nan, np.float16)
    assert nvfp4.matmul(a, b, out_dtype="f16", out=out) is out
    np.testing.assert_array_equal(out, want)
    d = np.empty((4, 64), np.float32)
    assert nvfp4.dequantize(a, out=d) is d
    np.testing.assert_array_equal(d, nvfp4.dequantize(a))


@pytest.mark.parametrize("recipe,amax_shape", [("per_tensor, sf_layout = 128x4", (3,)),
                                               ("per_token, sf_layout = 128x4", (3, 40)),
                                               ("local_1x64, sf_layout = 128x4", (3, 40, 2))])
def test_stack_groups(recipe, amax_shape):
    rng = np.random.default_rng(2)
    qs = [nvfp4.quantize(rng.standard_normal((40, 128)).astype(np.float32), recipe=recipe)
          for _ in range(3)]
    s = nvfp4.stack_groups(qs)
    assert s.groups == 3 and s.recipe == qs[0].recipe
    assert s.data.shape == (3, 40, 64) and s.scale.shape == (3, 128, 8)
    assert s.amax.shape == amax_shape
    np.testing.assert_array_equal(s.data[1], qs[1].data)
    # A grouped quantization of the 3*40 x 128 matrix with splits of 40:
    # group g's scales start on tile row g * 128; views, no copy.
    g = nvfp4.QuantizeResult(
        data=np.concatenate([q.data for q in qs]),
        scale=np.concatenate([q.scale for q in qs] + [np.zeros((128, 8), np.uint8)]),
        amax=np.concatenate([q.amax.reshape(-1) for q in qs]).reshape(
            (3,) if amax_shape == (3,) else (120,) + amax_shape[2:]),
        recipe=recipe, groups=3)
    v = nvfp4.stack_groups(g, 3)
    for name in ("data", "scale", "amax"):
        np.testing.assert_array_equal(getattr(v, name), getattr(s, name), err_msg=name)
    assert np.shares_memory(v.scale, g.scale)


def test_import_without_torch():
    # PyTorch unavailable: the package imports and runs on NumPy.
    code = ("import sys; sys.modules['torch'] = None\n"
            "import numpy as np, nvfp4\n"
            "q = nvfp4.quantize(np.ones((4, 32), np.float32), outer='row')\n"
            "print(q.per_token_scale.dtype, nvfp4._ops is None)\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["float32", "True"]


def test_import_does_not_import_torch():
    code = "import sys, nvfp4; print('torch' in sys.modules)"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"


class _NumpyViews:
    """A stand-in backend whose one allocation is a NumPy buffer."""

    def __init__(self):
        self.calls = 0

    def views(self, buf, items):
        self.calls += 1
        out = {}
        for _, name, offset, shape, strides, is_float in items:
            dtype = np.float32 if is_float else np.uint8
            count = int(np.prod(shape))
            out[name] = np.frombuffer(buf, dtype, count, offset).reshape(shape)
        return out


def test_lazy_outputs_are_views_made_once():
    # GPU results keep their outputs as one allocation until a field is read.
    import copy
    from nvfp4._result import new_result, untouched
    info = _recipes.info_for_text("per_token, sf_layout = 128x4")
    specs = info.specs(3, 64)
    total, items = specs.plan
    assert total % _recipes.ALIGN == 0
    assert all(item[2] % _recipes.ALIGN == 0 for item in items)
    buf = bytearray(total)
    be = _NumpyViews()
    q = new_result(None, info.text, None, (be, buf, items))
    assert untouched(q) and be.calls == 0
    assert q.data.shape == (3, 32) and q.scale.shape == (128, 4) and q.amax.shape == (3,)
    assert q.data_t is None and be.calls == 1 and not untouched(q)
    q.amax[:] = 6.0
    assert np.frombuffer(buf, np.float32, 3, items[2][2]).tolist() == [6.0] * 3
    with pytest.raises(AttributeError, match="no attribute 'dat'"):
        q.dat
    # Copies and pickles hold real arrays, not the lazy closure.
    r = new_result(None, info.text, None, (be, buf, items))
    c = copy.deepcopy(r)
    assert c.__dict__["_lazy"] is None and c.scale.shape == (128, 4)
    s = new_result(None, info.text, None, (be, buf, items))
    s.data = np.zeros((3, 32), np.uint8)  # a replaced field: no longer untouched
    assert s.__dict__["_lazy"] is not None and not untouched(s)


#===------------------------------------------------------------------------===#
# Hardening (issue 17, items 3 and 6)
#===------------------------------------------------------------------------===#

import ctypes  # noqa: E402

from nvfp4 import _lib  # noqa: E402


def _ptr(a):
    return a.ctypes.data


def _sized_dequantize(recipe, data, scale, amax, rows, cols, out, sizes=None):
    """nvfp4_dequantize_host_sized through ctypes; `sizes` overrides the
    (data, scale, amax, output) sizes passed."""
    sizes = sizes or (data.nbytes, scale.nbytes, amax.size, out.size)
    info = _recipes.info_for_text(recipe)
    _lib.call("nvfp4_dequantize_host_sized", info.btext, _ptr(data), sizes[0], _ptr(scale),
              sizes[1], _ptr(amax), sizes[2], rows, cols, _ptr(out), sizes[3])


@pytest.mark.parametrize("which,message", [
    (0, r"input: expected the data buffer to hold 64 bytes \(4x16 nibble pairs for a "
        r"4x32 matrix\), got 63"),
    (1, r"input: expected the scale buffer to hold 8 bytes \(4x2 scales for a 4x32 "
        r"matrix\), got 7"),
    (2, r"input: expected the amax buffer to hold 4 float32 values \(4 amaxes for a 4x32 "
        r"matrix\), got 1"),
    (3, r"output: expected the output buffer to hold 128 float32 values \(4x32\), got 127"),
])
def test_c_abi_sized_dequantize_checks_every_buffer(which, message):
    # Item 3: the C ABI checks each host buffer's size against the recipe
    # before reading (a per-token amax cut to one value read past its end).
    q = nvfp4.quantize(np.arange(128, dtype=np.float32).reshape(4, 32), outer="row")
    out = np.zeros((4, 32), np.float32)
    sizes = [q.data.nbytes, q.scale.nbytes, q.amax.size, out.size]
    _sized_dequantize(q.recipe, q.data, q.scale, q.amax, 4, 32, out, sizes)
    np.testing.assert_array_equal(out, nvfp4.dequantize(q))
    sizes[which] = 1 if which == 2 else sizes[which] - 1
    with pytest.raises(nvfp4.NVFP4Error, match=message):
        _sized_dequantize(q.recipe, q.data, q.scale, q.amax, 4, 32, out, sizes)


def test_c_abi_unsized_entry_points_still_work():
    # The unchecked entry points stay for ABI compatibility.
    rng = np.random.default_rng(3)
    q = nvfp4.quantize(rng.standard_normal((8, 64)).astype(np.float32), outer="row")
    out = np.zeros((8, 64), np.float32)
    _lib.call("nvfp4_dequantize_host", q.recipe.encode(), _ptr(q.data), _ptr(q.scale),
              _ptr(q.amax), 8, 64, _ptr(out))
    np.testing.assert_array_equal(out, nvfp4.dequantize(q))
    assert _lib.lib().nvfp4_abi_version() == 1


def _sized_matmul(a, b, m, n, k, sizes):
    out = np.zeros((m, n), np.float32)
    bias = np.zeros(n, np.float32)
    ra, rb = (_recipes.info_for_text(q.recipe).btext for q in (a, b))
    _lib.call("nvfp4_matmul_host_sized", b"cpu", ra, _ptr(a.data), sizes["a_data"],
              _ptr(a.scale), sizes["a_scale"], _ptr(a.amax), sizes["a_amax"], m, rb,
              _ptr(b.data), sizes["b_data"], _ptr(b.scale), sizes["b_scale"],
              _ptr(b.amax), sizes["b_amax"], n, k, _ptr(bias), sizes["bias"], 1.0, 0,
              _ptr(out), sizes["out"])
    return out


@pytest.mark.parametrize("key,value,message", [
    (None, None, None),
    ("a_amax", 1, r"a: expected the amax buffer to hold 4 float32 values \(4 amaxes"),
    ("b_scale", 0, r"b: expected the scale buffer to hold 512 bytes \(128x4 scales"),
    ("b_data", 1 << 40, r"b: expected the data buffer to hold 256 bytes"),
    ("bias", 7, r"bias: expected the bias buffer to hold 8 float32 values \(8\), got 7"),
    ("out", 4 * 8 * 2, r"output: expected the output buffer to hold 128 bytes \(4x8 values "
                       r"of 4 bytes\), got 64"),
])
def test_c_abi_sized_matmul_checks_every_buffer(key, value, message):
    rng = np.random.default_rng(4)
    a = nvfp4.quantize(rng.standard_normal((4, 64)).astype(np.float32),
                       recipe="per_token, sf_layout = 128x4")
    b = nvfp4.quantize(rng.standard_normal((8, 64)).astype(np.float32),
                       recipe="per_tensor, sf_layout = 128x4")
    sizes = {"a_data": a.data.nbytes, "a_scale": a.scale.nbytes, "a_amax": a.amax.size,
             "b_data": b.data.nbytes, "b_scale": b.scale.nbytes, "b_amax": b.amax.size,
             "bias": 8, "out": 4 * 8 * 4}
    if key is None:
        np.testing.assert_array_equal(_sized_matmul(a, b, 4, 8, 64, sizes),
                                      nvfp4.matmul(a, b, out_dtype="f32"))
        return
    sizes[key] = value
    with pytest.raises(nvfp4.NVFP4Error, match=message):
        _sized_matmul(a, b, 4, 8, 64, sizes)


def test_c_abi_per_token_recipe_on_per_tensor_data_is_refused():
    # The case: a per-token recipe string on per-tensor data reads M
    # amaxes from a buffer of one.
    rng = np.random.default_rng(5)
    q = nvfp4.quantize(rng.standard_normal((4, 64)).astype(np.float32),
                       recipe="per_tensor, sf_layout = 128x4")
    out = np.zeros((4, 64), np.float32)
    with pytest.raises(nvfp4.NVFP4Error, match="amax buffer to hold 4 float32 values"):
        _sized_dequantize("per_token, sf_layout = 128x4", q.data, q.scale, q.amax, 4, 64,
                          out)


def test_c_abi_sized_quantize_checks_the_input():
    l = _lib.lib()
    runner = l.nvfp4_host_runner_create(None, 0)
    x = np.ones((4, 32), np.float32)
    error = ctypes.create_string_buffer(512)
    assert not l.nvfp4_quantize_sized(runner, b"per_tensor", 0, _ptr(x), x.nbytes - 4, 4,
                                      32, error, len(error))
    assert (error.value.decode() == "input: expected the input buffer to hold 512 bytes "
            "(4x32 values of 4 bytes), got 508")
    handle = l.nvfp4_quantize_sized(runner, b"per_tensor", 0, _ptr(x), x.nbytes, 4, 32,
                                    error, len(error))
    assert handle
    l.nvfp4_result_destroy(handle)


def test_python_calls_the_sized_entry_points(monkeypatch):
    called = []
    real = _lib.call
    monkeypatch.setattr(nvfp4, "call", lambda name, *a: called.append(name) or real(name, *a))
    rng = np.random.default_rng(6)
    a = nvfp4.quantize(rng.standard_normal((4, 64)).astype(np.float32),
                       recipe="per_token, sf_layout = 128x4")
    nvfp4.dequantize(a)
    nvfp4.matmul(a, a)
    assert called == ["nvfp4_dequantize_host_sized", "nvfp4_matmul_host_sized"]


@pytest.mark.parametrize("kwargs,message", [
    # The case: a value that is more recipe text.
    ({"block": "1x16, outer = row"}, r"unknown block '1x16, outer = row' \(expected one "
                                     r"of 1x16, 16x16\)"),
    ({"numerics": "quotient, outer = row"}, "unknown numerics .* reciprocal, quotient"),
    ({"sf_layout": "128x4, outer = row"}, "unknown sf_layout .* linear, 128x4, 8x4"),
    ({"rounding": "stochastic<seed = 3>"}, "unknown rounding .* nearest, stochastic"),
    ({"outer": "row, block = 16x16"}, "unknown outer .* tensor, row, window"),
    ({"select": "mse>"}, "unknown select .* map6, mae, mse"),
    ({"block": ["1x16"]}, r"unknown block \['1x16'\]"),
    ({"rht": 1}, "expected rht to be a bool"),
    ({"rowwise": "yes"}, "expected rowwise to be a bool"),
    ({"columnwise": None}, "expected columnwise to be a bool"),
    ({"e4m3_max": 448.0}, "expected e4m3_max to be the int 448 or 256, got 448.0"),
    ({"e4m3_max": -1}, "expected e4m3_max to be the int 448 or 256, got -1"),
    ({"e4m3_max": True}, "expected e4m3_max to be the int 448 or 256, got True"),
    ({"rounding": "stochastic", "seed": -1}, r"expected seed to be an int in \[0, 2\*\*64"),
    ({"rounding": "stochastic", "seed": 2**64}, "expected seed to be an int in"),
    ({"rounding": "stochastic", "seed": "7, outer = row"}, "expected seed to be an int"),
    ({"seed": 1.5}, "expected seed to be an int"),
])
def test_recipe_keywords_are_validated(kwargs, message):
    x = np.ones((4, 32), np.float32)
    with pytest.raises(nvfp4.NVFP4Error, match=message):
        nvfp4.quantize(x, **kwargs)
    with pytest.raises(nvfp4.NVFP4Error, match=message):
        nvfp4.recipe_text(**kwargs)


def test_validation_does_not_depend_on_the_cache():
    # rht=1 == rht=True and hashes alike: a cached True must not admit 1.
    x = np.ones((16, 32), np.float32)
    nvfp4.quantize(x, rht=True, columnwise=True)
    with pytest.raises(nvfp4.NVFP4Error, match="expected rht to be a bool"):
        nvfp4.quantize(x, rht=1, columnwise=True)
    nvfp4.quantize(x, e4m3_max=256)
    with pytest.raises(nvfp4.NVFP4Error, match="e4m3_max"):
        nvfp4.quantize(x, e4m3_max=256.0)
    assert "e4m3_max = 256" in nvfp4.quantize(x, e4m3_max=np.int64(256)).recipe
    q = nvfp4.quantize(x, rounding="stochastic", seed=2**64 - 1)
    assert "18446744073709551615" in q.recipe


@pytest.mark.parametrize("call", [
    lambda x: nvfp4.quantize(x, recipe="per_tensor\0, outer = row"),
    lambda x: nvfp4.recipe_text(recipe="per_token\0"),
    lambda x: nvfp4.compile("per_token\0junk"),
    lambda x: nvfp4.dequantize(nvfp4.quantize(x), recipe="per_tensor\0"),
])
def test_recipe_strings_with_nul_are_rejected(call):
    # C reads up to the NUL: "per_tensor\0, outer = row" would be per_tensor.
    with pytest.raises(nvfp4.NVFP4Error, match="without NUL characters"):
        call(np.ones((4, 32), np.float32))


def test_matmul_recipe_with_nul_is_rejected():
    a = nvfp4.quantize(np.ones((4, 64), np.float32), recipe="per_tensor, sf_layout = 128x4")
    a.recipe = "per_tensor, sf_layout = 128x4\0garbage"
    with pytest.raises(nvfp4.NVFP4Error, match="without NUL characters"):
        nvfp4.matmul(a, a)


def test_recipe_and_keywords_together_are_rejected():
    q = nvfp4.quantize(np.ones((4, 32), np.float32))
    with pytest.raises(nvfp4.NVFP4Error, match="pass either recipe or recipe keywords"):
        nvfp4.dequantize(q.data, q.scale, q.amax, recipe="per_tensor", outer="row")
    with pytest.raises(nvfp4.NVFP4Error, match="pass either recipe or recipe keywords"):
        nvfp4.compile("per_tensor", outer="row")


@pytest.mark.parametrize("name,dtype,message", [
    ("data", np.float32, "expected data to be a uint8 array, got float32"),
    ("data", np.int64, "expected data to be a uint8 array, got int64"),
    ("scale", np.float64, "expected scale to be a uint8 array, got float64"),
    ("scale", np.int64, "expected scale to be a uint8 array, got int64"),
    ("amax", np.float64, "expected amax to be a float32 array, got float64"),
    ("amax", np.uint8, "expected amax to be a float32 array, got uint8"),
])
def test_dequantize_does_not_cast(name, dtype, message):
    q = nvfp4.quantize(np.ones((4, 32), np.float32), outer="row")
    arrays = {"data": q.data, "scale": q.scale, "amax": q.amax}
    arrays[name] = arrays[name].astype(dtype)
    with pytest.raises(nvfp4.NVFP4Error, match=message):
        nvfp4.dequantize(arrays["data"], arrays["scale"], arrays["amax"], outer="row")
    r = nvfp4.QuantizeResult(recipe=q.recipe)
    r.data, r.scale, r.amax = arrays["data"], arrays["scale"], arrays["amax"]
    with pytest.raises(nvfp4.NVFP4Error, match=message):
        nvfp4.dequantize(r)


def test_matmul_does_not_cast():
    a = nvfp4.quantize(np.ones((4, 64), np.float32), recipe="per_tensor, sf_layout = 128x4")
    a.amax = a.amax.astype(np.float64)
    with pytest.raises(nvfp4.NVFP4Error, match="a: expected amax to be a float32 array"):
        nvfp4.matmul(a, a)


def _zero_strided(shape, dtype):
    return np.lib.stride_tricks.as_strided(np.zeros(1, dtype), shape, (0, 0))


@pytest.mark.skipif(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") >= 160 << 30,
                    reason="a machine that can hold it")
def test_huge_zero_strided_quantize_is_an_error_not_an_allocation():
    # The case: 16 bytes of NumPy, 128 GiB once contiguous.
    with pytest.raises(nvfp4.NVFP4Error, match="quantize: a 2147483648x16 matrix needs"):
        nvfp4.quantize(_zero_strided((2**31, 16), np.float32))


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_impossible_quantize_is_an_error_on_any_machine(dtype):
    with pytest.raises(nvfp4.NVFP4Error, match="more than this machine's"):
        nvfp4.quantize(_zero_strided((2**44, 16), dtype))


def test_impossible_dequantize_is_an_error_not_an_allocation():
    rows = 2**40
    data = _zero_strided((rows, 8), np.uint8)
    scale = _zero_strided((rows, 1), np.uint8)
    amax = np.ones(1, np.float32)
    with pytest.raises(nvfp4.NVFP4Error, match="dequantize: a 1099511627776x16 matrix"):
        nvfp4.dequantize(data, scale, amax, recipe="per_tensor")

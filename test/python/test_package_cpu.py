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

"""Given outer amaxes and encode scales (recipe key `amax`): the same bytes
as the computed recipe for the same values, saturation for a stale amax,
and every argument checked before anything runs."""

import numpy as np
import pytest

from conftest import torch_cuda

nvfp4 = pytest.importorskip("nvfp4")

FIELDS = ("data", "scale", "data_t", "scale_t")


def assert_same_bytes(got, want):
    for name in FIELDS:
        a, b = getattr(got, name), getattr(want, name)
        assert (a is None) == (b is None), name
        if a is not None:
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=name)


def sample(rows=48, cols=160, seed=3):
    x = np.random.default_rng(seed).standard_normal((rows, cols)).astype(np.float32)
    x[2, 5] = 40.0
    return x


@pytest.mark.parametrize("recipe", [
    "per_tensor", "per_token", "local_1x64", "per_tensor_2d",
    "per_tensor, sf_layout = 128x4", "per_tensor_rht",
    "per_token, directions = [rowwise, columnwise]", "four_over_six",
])
def test_given_equal_to_computed_gives_same_bytes(recipe):
    x = sample()
    want = nvfp4.quantize(x, recipe=recipe)
    got = nvfp4.quantize(x, recipe=recipe + ", amax = given", amax=want.amax,
                         amax_t=want.amax_t)
    assert_same_bytes(got, want)
    np.testing.assert_array_equal(got.amax, want.amax)
    assert "amax = given" in got.recipe


def test_keyword_recipe_with_amax_is_given():
    x = sample()
    want = nvfp4.quantize(x, outer="row")
    got = nvfp4.quantize(x, outer="row", amax=want.amax)
    assert "amax = given" in got.recipe
    assert_same_bytes(got, want)


def test_given_encode_scale_matches_computed():
    # vLLM's input_global_scale_inv / FlashInfer's global_scale_inv: S_enc.
    x = sample()
    want = nvfp4.quantize(x, recipe="per_tensor")
    s_enc = np.minimum(np.float32(2688) / want.amax, np.float32(3.4028235e38))
    got = nvfp4.quantize(x, amax_source="given_encode_scale",
                         amax=s_enc.astype(np.float32))
    assert_same_bytes(got, want)
    np.testing.assert_array_equal(got.amax, s_enc)


def test_stale_amax_saturates():
    # Given amax 6 below the data's 12: S_enc = 448, the block scale
    # saturates at 448 (0x7E), enc_B = 1, and 12 encodes as 6.
    x = np.zeros((1, 16), np.float32)
    x[0, :5] = [12, 3, -12, 6, 0.5]
    q = nvfp4.quantize(x, amax=np.array([6], np.float32))
    assert q.scale.tolist() == [[0x7E]]
    assert q.data.tolist() == [[0x57, 0x7F, 0x01, 0, 0, 0, 0, 0]]
    assert q.amax.tolist() == [6.0]


@pytest.mark.parametrize("kwargs,message", [
    (dict(recipe="per_tensor, amax = given"), "the recipe reads given amaxes: pass amax="),
    (dict(recipe="per_tensor", amax=np.ones(1, np.float32)),
     "amax values were given, but the recipe computes its amax"),
    (dict(amax=np.ones(2, np.float32)), "expected amax of shape (1,), got (2,)"),
    (dict(amax=np.ones(1, np.float64)), "expected amax to be float32, got float64"),
    (dict(amax=np.ones(1, np.float32), amax_t=np.ones(1, np.float32)),
     "amax_t was given, but the recipe has no columnwise output"),
    (dict(recipe="per_tensor, amax = given_encode_scale, select = four_over_six",
          amax=np.ones(1, np.float32)),
     "four_over_six is incompatible with amax = given_encode_scale"),
    (dict(amax_source="static"), "unknown amax_source 'static'"),
])
def test_errors_before_running(kwargs, message):
    with pytest.raises(nvfp4.NVFP4Error) as info:
        nvfp4.quantize(np.zeros((4, 32), np.float32), **kwargs)
    assert message in str(info.value)


def test_gpu_given_device_amax():
    torch = torch_cuda()
    x = torch.from_numpy(sample()).to(torch.bfloat16).cuda()
    for recipe in ("per_tensor", "per_token", "local_1x64",
                   "per_tensor, directions = [rowwise, columnwise]"):
        want = nvfp4.quantize(x, recipe=recipe)
        amax = want.amax.clone()
        amax_t = None if want.amax_t is None else want.amax_t.clone()
        got = nvfp4.quantize(x, recipe=recipe + ", amax = given", amax=amax,
                             amax_t=amax_t)
        torch.cuda.synchronize()
        for name in FIELDS:
            a, b = getattr(got, name), getattr(want, name)
            assert (a is None) == (b is None), name
            if a is not None:
                assert torch.equal(a, b), (recipe, name)
        assert got.amax is amax  # read in place
        # Stale: the GPU bytes are the CPU's.
        stale = amax * 0.5
        stale_t = None if amax_t is None else amax_t * 0.5
        g = nvfp4.quantize(x, recipe=recipe + ", amax = given", amax=stale,
                           amax_t=stale_t)
        c = nvfp4.quantize(x.float().cpu().numpy(), recipe=recipe + ", amax = given",
                           input_dtype="bf16", amax=stale.cpu().numpy(),
                           amax_t=None if stale_t is None else stale_t.cpu().numpy())
        for name in FIELDS:
            a = getattr(g, name)
            if a is not None:
                np.testing.assert_array_equal(a.cpu().numpy(), getattr(c, name),
                                              err_msg=f"{recipe} {name}")


def test_gpu_given_amax_errors():
    torch = torch_cuda()
    x = torch.zeros((4, 32), dtype=torch.bfloat16, device="cuda")
    with pytest.raises(nvfp4.NVFP4Error, match="expected amax to be a torch array on the GPU"):
        nvfp4.quantize(x, amax=np.ones(1, np.float32))
    with pytest.raises(nvfp4.NVFP4Error, match="contiguous float32"):
        nvfp4.quantize(x, amax=torch.ones(1, dtype=torch.float64, device="cuda"))
    with pytest.raises(nvfp4.NVFP4Error, match=r"expected amax of shape \(4,\)"):
        nvfp4.quantize(x, outer="row", amax=torch.ones(1, device="cuda"))


# nvfp4-quantize --amax=VALUE|FILE.npy: the bytes of the Python package for
# the same given values; errors are one line and exit non-zero.

def _cli(tools_dir, *args):
    import subprocess
    return subprocess.run([str(tools_dir / "nvfp4-quantize"), *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def _load(out):
    return {p.stem: np.load(p) for p in out.glob("*.npy")}


def test_cli_amax_value_and_file(tools_dir, tmp_path):
    x = sample()
    src = tmp_path / "x.npy"
    np.save(src, x)
    # A VALUE for a per-tensor recipe (stale on purpose: 10 < 40).
    res = _cli(tools_dir, "--amax=10", src, tmp_path / "a")
    assert res.returncode == 0, res.stderr
    got = _load(tmp_path / "a")
    want = nvfp4.quantize(x, amax=np.array([10], np.float32))
    for name in ("data", "scale", "amax"):
        np.testing.assert_array_equal(got[name], getattr(want, name), err_msg=name)
    assert "amax = given" in (tmp_path / "a" / "recipe.mlir").read_text()
    # A FILE.npy of per-row amaxes, both directions.
    ref = nvfp4.quantize(x, outer="row", columnwise=True)
    np.save(tmp_path / "amax.npy", ref.amax)
    np.save(tmp_path / "amax_t.npy", ref.amax_t)
    res = _cli(tools_dir, "--outer=row", "--rowwise", "--columnwise",
               f"--amax={tmp_path / 'amax.npy'}", f"--amax-t={tmp_path / 'amax_t.npy'}",
               src, tmp_path / "b")
    assert res.returncode == 0, res.stderr
    got = _load(tmp_path / "b")
    for name in ("data", "scale", "amax", "data_t", "scale_t", "amax_t"):
        np.testing.assert_array_equal(got[name], getattr(ref, name), err_msg=name)
    # A given encode scale.
    # A given encode scale: the per-tensor bytes again (printed exactly).
    per_tensor = nvfp4.quantize(x)
    s_enc = float(np.float32(2688) / per_tensor.amax[0])
    res = _cli(tools_dir, "--amax-source=given_encode_scale", f"--amax={s_enc.hex()}",
               src, tmp_path / "c")
    assert res.returncode == 0, res.stderr
    got = _load(tmp_path / "c")
    for name in ("data", "scale"):
        np.testing.assert_array_equal(got[name], getattr(per_tensor, name), err_msg=name)


@pytest.mark.parametrize("flags,message", [
    (["--amax=abc"], "--amax: expected a number or a FILE.npy, got 'abc'"),
    (["--outer=row", "--amax=AMAX64"], "expected float32 values, got float64"),
    (["--outer=row", "--amax=AMAX3"], "expected 48 values (one per outer group), got 3"),
    (["--amax-t=1"], "--amax-t: the recipe has no columnwise output"),
    (["--amax-source=computed", "--amax=1"],
     "amax values were given, but the recipe computes its amax"),
    (["--amax-source=static"], "unknown --amax-source value 'static'"),
])
def test_cli_amax_errors(tools_dir, tmp_path, flags, message):
    src = tmp_path / "x.npy"
    np.save(src, sample())
    np.save(tmp_path / "a64.npy", np.ones(48, np.float64))
    np.save(tmp_path / "a3.npy", np.ones(3, np.float32))
    flags = [f.replace("AMAX64", str(tmp_path / "a64.npy"))
              .replace("AMAX3", str(tmp_path / "a3.npy")) for f in flags]
    out = tmp_path / "out"
    res = _cli(tools_dir, *flags, src, out)
    assert res.returncode != 0
    assert message in res.stderr, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert not out.exists() or not list(out.glob("*.npy"))


# nvfp4.amax (K1 of a split quantization): the amaxes quantize computes;
# reduced by the framework, then given to the quantize (K2).

@pytest.mark.parametrize("recipe", [
    "per_tensor", "per_token", "local_1x64", "per_tensor_rht",
    "per_token, directions = [rowwise, columnwise]",
])
def test_amax_then_given_quantize(recipe):
    x = sample()
    one_shot = nvfp4.quantize(x, recipe=recipe)
    amax, amax_t = nvfp4.amax(x, recipe=recipe)
    np.testing.assert_array_equal(amax, one_shot.amax)
    if one_shot.amax_t is None:
        assert amax_t is None
    else:
        np.testing.assert_array_equal(amax_t, one_shot.amax_t)
    # e.g. an all-reduce over two ranks holding the same shard.
    reduced = np.maximum(amax, amax)
    got = nvfp4.quantize(x, recipe=recipe + ", amax = given", amax=reduced,
                         amax_t=amax_t)
    assert_same_bytes(got, one_shot)


def test_amax_rejects_encode_scale_recipe():
    with pytest.raises(nvfp4.NVFP4Error, match="got amax = given_encode_scale"):
        nvfp4.amax(sample(), recipe="per_tensor, amax = given_encode_scale")


def test_gpu_amax_matches_cpu():
    torch = torch_cuda()
    x = sample()
    xg = torch.from_numpy(x).cuda()
    for recipe in ("per_tensor", "per_token", "local_1x64", "per_tensor_rht"):
        want = nvfp4.amax(x, recipe=recipe)
        got = nvfp4.amax(xg, recipe=recipe)
        torch.cuda.synchronize()
        for w, g in zip(want, got):
            assert (w is None) == (g is None)
            if w is not None:
                np.testing.assert_array_equal(g.cpu().numpy(), w, err_msg=recipe)


# FlashInfer's per-token quantization with a global scale on top
# (nvfp4_quantize_per_token_cute_dsl(x, global_scale_inv)): per row
# S = min(RN(G / amax), FLT_MAX), G = RN(1 / global_scale_inv), and
# per_token_scale = RN(1 / S) (0 for an all-zero row).

def flashinfer_per_token_scale(amax, global_scale_inv):
    g = np.float32(1) / np.float32(global_scale_inv)
    with np.errstate(divide="ignore"):
        s = np.minimum(g / amax, np.float32(3.4028235e38)).astype(np.float32)
    s = np.where((amax == 0) | (s == 0), np.float32(1), s)
    return np.where(amax == 0, np.float32(0), np.float32(1) / s).astype(np.float32)


def test_per_token_global_scale():
    x = sample()
    x[7] = 0
    plain = nvfp4.quantize(x, recipe="per_token")
    same = nvfp4.quantize(x, recipe="per_token, global_scale_inv = 0x39C30C31")
    assert_same_bytes(same, plain)  # RN(1/2688): G = 2688 = 6E
    inv = np.array([0x3A000000], np.uint32).view(np.float32)[0]  # 2^-11
    q = nvfp4.quantize(x, recipe="per_token, global_scale_inv = 0x3A000000")
    np.testing.assert_array_equal(q.amax, plain.amax)
    np.testing.assert_array_equal(q.per_token_scale,
                                  flashinfer_per_token_scale(q.amax, inv))
    assert not np.array_equal(q.scale, plain.scale)


def test_per_token_global_scale_gpu():
    torch = torch_cuda()
    x = sample()
    recipe = "per_token, global_scale_inv = 0x3A000000, sf_layout = 128x4"
    want = nvfp4.quantize(x, recipe=recipe, input_dtype="bf16")
    got = nvfp4.quantize(torch.from_numpy(x).to(torch.bfloat16).cuda(), recipe=recipe)
    for name in ("data", "scale", "amax", "per_token_scale"):
        np.testing.assert_array_equal(getattr(got, name).cpu().numpy(),
                                      getattr(want, name), err_msg=name)

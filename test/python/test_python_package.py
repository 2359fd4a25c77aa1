"""The Python package (ctypes over the C ABI) gives the CLI's bytes."""

import subprocess

import numpy as np
import pytest

nvfp4 = pytest.importorskip("nvfp4")


def cli(tools_dir, tmp_path, x, *flags):
    src = tmp_path / "x.npy"
    np.save(src, x)
    out = tmp_path / "out"
    res = subprocess.run([str(tools_dir / "nvfp4-quantize"), *flags, str(src), str(out)],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    return {p.stem: np.load(p) for p in out.glob("*.npy")}


@pytest.mark.parametrize("kwargs,flags", [
    (dict(outer="row"), ["--outer=row"]),
    (dict(recipe="local_1x64", input_dtype="bf16"), ["--recipe=local_1x64", "--input-dtype=bf16"]),
    (dict(recipe="per_tensor_rht", input_dtype="bf16"), ["--recipe=per_tensor_rht", "--input-dtype=bf16"]),
    (dict(select="mae", e4m3_max=256, sf_layout="128x4", rowwise=True, columnwise=True),
     ["--select=mae", "--e4m3-max=256", "--sf-layout=128x4", "--rowwise", "--columnwise"]),
    (dict(rounding="stochastic", seed=11, outer="window"),
     ["--rounding=stochastic", "--seed=11", "--outer=window64"]),
])
def test_same_bytes_as_cli(tools_dir, tmp_path, kwargs, flags):
    x = np.random.default_rng(8).standard_normal((48, 160)).astype(np.float32)
    x[3, 7] = np.nan
    x[5, 9] = -np.inf
    want = cli(tools_dir, tmp_path, x, *flags)
    got = nvfp4.quantize(x, **kwargs)
    for name, array in want.items():
        np.testing.assert_array_equal(getattr(got, name), array, err_msg=name)
    for name in ("data", "scale", "amax", "data_t", "scale_t", "amax_t"):
        assert (getattr(got, name) is None) == (name not in want), name


def test_per_token_scale_is_the_decode_multiplier():
    x = np.zeros((3, 32), np.float32)
    x[0, 0] = 6.0
    x[2, 5] = -1.0
    q = nvfp4.quantize(x, outer="row")
    # S_enc = 2688 / amax, S_dec = RN(1 / S_enc); 0 for an all-zero row.
    expect = np.array([np.float32(1) / (np.float32(2688) / np.float32(6)), 0,
                       np.float32(1) / np.float32(2688)], np.float32)
    np.testing.assert_array_equal(q.per_token_scale, expect)
    assert nvfp4.quantize(x).per_token_scale is None  # per-tensor: none


@pytest.mark.parametrize("x,kwargs,message", [
    (np.zeros((4, 100), np.float32), {}, "multiple of 16, got 100"),
    (np.zeros((2, 3, 4), np.float32), {}, "expected a 2-D array"),
    (np.zeros((4, 32), np.int32), {}, "unsupported dtype int32"),
    (np.zeros((16, 32), np.float32), dict(outer="row", block="16x16"),
     "outer = row is incompatible with block = 16x16"),
    (np.zeros((16, 32), np.float32), dict(recipe="per_channel"),
     "unknown recipe preset 'per_channel'"),
    (np.zeros((16, 32), np.float32), dict(input_dtype="int8"),
     "unknown input_dtype 'int8'"),
])
def test_errors_raise(x, kwargs, message):
    with pytest.raises(nvfp4.NVFP4Error, match=message):
        nvfp4.quantize(x, **kwargs)

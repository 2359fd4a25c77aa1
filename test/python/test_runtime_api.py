"""nvfp4.dequantize, nvfp4.compile and nvfp4.presets on the CPU (and the
GPU compiler, which needs ptxas but no GPU)."""

import os
import pathlib
import subprocess

import numpy as np
import pytest

nvfp4 = pytest.importorskip("nvfp4")

PTXAS = pathlib.Path("/usr/local/cuda/bin/ptxas")
needs_ptxas = pytest.mark.skipif(not PTXAS.exists(), reason="no ptxas in /usr/local/cuda")


def cli(tools_dir, tmp_path, x, *flags):
    src = tmp_path / "x.npy"
    np.save(src, x)
    out = tmp_path / "out"
    res = subprocess.run([str(tools_dir / "nvfp4-quantize"), *flags, str(src), str(out)],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    return {p.stem: np.load(p) for p in out.glob("*.npy")}


def test_presets():
    assert set(nvfp4.presets) == set(nvfp4.PRESETS)
    for name, text in nvfp4.presets.items():
        assert text.startswith("#nvfp4.recipe<"), text
    with pytest.raises(KeyError):
        nvfp4.presets["per_channel"]
    # The text is a recipe: it quantizes like the name.
    x = np.random.default_rng(1).standard_normal((16, 64)).astype(np.float32)
    a = nvfp4.quantize(x, recipe=nvfp4.presets["local_1x64"])
    b = nvfp4.quantize(x, recipe="local_1x64")
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(a.amax, b.amax)


@pytest.mark.parametrize("kwargs,flags", [
    (dict(outer="row"), ["--outer=row"]),
    (dict(recipe="local_1x64", input_dtype="bf16"), ["--recipe=local_1x64", "--input-dtype=bf16"]),
    (dict(select="mae", e4m3_max=256, sf_layout="128x4", rowwise=True, columnwise=True),
     ["--select=mae", "--e4m3-max=256", "--sf-layout=128x4", "--rowwise", "--columnwise"]),
    (dict(outer="window", numerics="quotient"), ["--outer=window64", "--numerics=quotient"]),
])
def test_dequantize_same_bytes_as_cli(tools_dir, tmp_path, kwargs, flags):
    x = np.random.default_rng(4).standard_normal((48, 160)).astype(np.float32)
    want = cli(tools_dir, tmp_path, x, *flags, "--dequant")
    q = nvfp4.quantize(x, **kwargs)
    got = nvfp4.dequantize(q)
    assert got.dtype == np.float32 and got.shape == x.shape
    np.testing.assert_array_equal(got.view(np.uint32), want["dequant"].view(np.uint32))
    if "dequant_t" in want:
        got_t = nvfp4.dequantize(q, columnwise=True)
        np.testing.assert_array_equal(got_t.view(np.uint32),
                                      want["dequant_t"].view(np.uint32))
    # The buffers with the recipe arguments give the same values.
    again = nvfp4.dequantize(q.data, q.scale, q.amax, **kwargs) if "input_dtype" not in kwargs \
        else nvfp4.dequantize(q.data, q.scale, q.amax, recipe=kwargs["recipe"])
    np.testing.assert_array_equal(again, got)


@pytest.mark.parametrize("args,kwargs,message", [
    ((np.zeros((4, 8), np.uint8), np.zeros(3, np.uint8), np.zeros(1, np.float32)),
     dict(recipe="per_tensor"), r"scale \(3 bytes\) and amax \(1 values\) do not match"),
    ((np.zeros((4, 7), np.uint8), np.zeros(2, np.uint8), np.zeros(1, np.float32)),
     dict(recipe="per_tensor"), "multiple of 16, got 4x14"),
    ((np.zeros((4, 8), np.uint8), np.zeros(4, np.uint8), np.zeros(1, np.float32)),
     dict(recipe="per_channel"), "unknown recipe preset 'per_channel'"),
    ((np.zeros((4, 8), np.uint8),), dict(recipe="per_tensor"), "needs data, scale and amax"),
    ((nvfp4.QuantizeResult(),), dict(), "no rowwise output"),
])
def test_dequantize_errors(args, kwargs, message):
    with pytest.raises(nvfp4.NVFP4Error, match=message):
        nvfp4.dequantize(*args, **kwargs)


def test_compile_cpu_kernel_is_reusable():
    k = nvfp4.compile("per_token")
    assert k.target == "cpu" and k.kernels == () and k.image is None
    x = np.random.default_rng(2).standard_normal((8, 32)).astype(np.float32)
    for _ in range(2):
        got = k(x)
        want = nvfp4.quantize(x, recipe="per_token")
        np.testing.assert_array_equal(got.data, want.data)
        np.testing.assert_array_equal(got.per_token_scale, want.per_token_scale)
    d = nvfp4.compile("per_token", op="dequantize")
    np.testing.assert_array_equal(d(got), nvfp4.dequantize(got))


@needs_ptxas
@pytest.mark.parametrize("target", ["sm_90a", "sm_100a"])
def test_compile_gpu_without_a_gpu(target):
    k = nvfp4.compile(outer="row", columnwise=True, target=target, input_dtype="bf16")
    assert k.target == target
    assert k.image[:4] == b"\x7fELF"
    assert len(k.kernels) >= 2 and all(n.startswith("kernel") for n in k.kernels)
    again = nvfp4.compile(outer="row", columnwise=True, target=target, input_dtype="bf16")
    assert again.source == "memory"
    assert again.image == k.image


@needs_ptxas
def test_compile_uses_the_disk_cache(tmp_path):
    # A new process with the same cache directory reads the kernel from disk.
    code = ("import nvfp4; k = nvfp4.compile('per_tensor_2d', 'sm_90a', input_dtype='fp16');"
            "print(k.source, len(k.image))")
    env = dict(os.environ, NVFP4_CACHE_DIR=str(tmp_path / "cache"))
    runs = [subprocess.run([os.sys.executable, "-c", code], capture_output=True, text=True,
                           env=env, timeout=300) for _ in range(2)]
    for r in runs:
        assert r.returncode == 0, r.stderr
    first, second = (r.stdout.split() for r in runs)
    assert first[0] == "compiled" and second[0] == "disk"
    assert first[1] == second[1]
    assert len(list((tmp_path / "cache").glob("*.nvfp4k"))) == 1


@pytest.mark.parametrize("call,message", [
    (lambda: nvfp4.compile("per_tensor", "sm_80"),
     r"unknown target 'sm_80' \(expected cpu, sm_90a, sm_100a, sm_103a, sm_110a, sm_120a, "
     r"sm_121a\)"),
    (lambda: nvfp4.compile("per_tensor", op="matmul"), "unknown op 'matmul'"),
    (lambda: nvfp4.compile("per_tensor", input_dtype="int8"), "unknown input_dtype 'int8'"),
    (lambda: nvfp4.compile("outer = row, block = 16x16"),
     "outer = row is incompatible with block = 16x16"),
])
def test_compile_errors(call, message):
    with pytest.raises(nvfp4.NVFP4Error, match=message):
        call()

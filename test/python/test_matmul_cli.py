"""nvfp4-matmul: D = A * B^T of two tensors written by nvfp4-quantize.

Each case quantizes two random matrices with nvfp4-quantize (128x4 scales,
--dequant), multiplies them with nvfp4-matmul and compares with a float64
product of the dequantized operands (SPEC.md section 12 tolerance: relative
Frobenius error 1e-5 for f32 output, about one output ulp for bf16/f16).
Bad input must give exit code != 0, one line on stderr and no output file.
"""

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import cuda_driver_loads


def run(tools_dir, tool, *args, timeout=300):
    return subprocess.run(
        [str(tools_dir / tool), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def quantize(tools_dir, tmp_path, x, recipe, name):
    src = tmp_path / f"{name}.npy"
    np.save(src, x)
    out = tmp_path / name
    res = run(tools_dir, "nvfp4-quantize", f"--recipe={recipe}",
              "--sf-layout=128x4", "--dequant", src, out)
    assert res.returncode == 0, res.stderr
    return out


def reference(tools_dir, a_dir, b_dir, alpha=1.0, bias=None):
    a = np.load(a_dir / "dequant.npy").astype(np.float64)
    b = np.load(b_dir / "dequant.npy").astype(np.float64)
    d = alpha * (a @ b.T)
    if bias is not None:
        d = d + bias.astype(np.float64)
    return d


def matrix(rng, rows, cols):
    # Rows and 64-column stripes of different magnitudes, so per-token and
    # window amaxes differ.
    x = rng.standard_normal((rows, cols))
    x *= 2.0 ** (np.arange(rows) % 5 - 2)[:, None]
    x *= 2.0 ** ((np.arange(cols) // 64) % 3 - 1)[None, :]
    return x.astype(np.float32)


RECIPES = ["per_tensor", "per_token", "local_1x64", "four_over_six"]


@pytest.mark.parametrize("a_recipe,b_recipe", [
    ("per_tensor", "per_tensor"),
    ("per_token", "per_tensor"),
    ("local_1x64", "local_1x64"),
    ("four_over_six", "per_token"),
])
@pytest.mark.parametrize("out_dtype", ["f32", "bf16", "f16"])
def test_matches_dequantized_reference(tools_dir, tmp_path, a_recipe,
                                       b_recipe, out_dtype):
    rng = np.random.default_rng(0)
    m, n, k = 37, 80, 192
    a_dir = quantize(tools_dir, tmp_path, matrix(rng, m, k), a_recipe, "a")
    b_dir = quantize(tools_dir, tmp_path, matrix(rng, n, k), b_recipe, "b")
    bias = rng.standard_normal(n).astype(np.float32)
    np.save(tmp_path / "bias.npy", bias)
    out = tmp_path / "d.npy"
    res = run(tools_dir, "nvfp4-matmul",
              f"--a-recipe={a_recipe}, sf_layout = 128x4",
              f"--b-recipe={b_recipe}, sf_layout = 128x4", "--alpha=0.5",
              f"--bias={tmp_path / 'bias.npy'}", f"--out-dtype={out_dtype}",
              "--target=cpu", a_dir, b_dir, out)
    assert res.returncode == 0, res.stderr
    d = np.load(out)
    assert d.shape == (m, n)
    assert d.dtype == (np.float16 if out_dtype == "f16" else np.float32)
    want = reference(tools_dir, a_dir, b_dir, 0.5, bias)
    d = d.astype(np.float64)
    if out_dtype == "f32":
        # dequant.npy rounds each operand element to f32 once (SPEC.md
        # section 11), which the exact GEMM does not; that costs ~1e-7.
        assert np.linalg.norm(d - want) <= 1e-5 * np.linalg.norm(want)
    else:
        mantissa = 7 if out_dtype == "bf16" else 10
        exp = np.floor(np.log2(np.maximum(np.abs(want), 2.0 ** -14)))
        ulp = 2.0 ** (exp - mantissa)
        # One output ulp, plus the f32 accumulation/operand-rounding error
        # of elements whose sums cancel.
        slack = 1e-6 * np.abs(reference(tools_dir, a_dir, b_dir) * 0.5).max()
        assert np.all(np.abs(d - want) <= ulp + slack)


def test_default_output_is_bf16_values(tools_dir, tmp_path):
    rng = np.random.default_rng(1)
    a_dir = quantize(tools_dir, tmp_path, matrix(rng, 4, 64), "per_tensor", "a")
    b_dir = quantize(tools_dir, tmp_path, matrix(rng, 8, 64), "per_tensor", "b")
    out = tmp_path / "d.npy"
    res = run(tools_dir, "nvfp4-matmul", "--a-recipe=per_tensor, sf_layout = 128x4",
              "--b-recipe=per_tensor, sf_layout = 128x4", a_dir, b_dir, out)
    assert res.returncode == 0, res.stderr
    d = np.load(out)
    # bf16 values stored as float32: the low 16 bits are zero.
    assert np.all(d.view(np.uint32) & 0xFFFF == 0)


def expect_error(tools_dir, tmp_path, args, needle):
    out = tmp_path / "d.npy"
    # A short timeout: a read that blocks (a FIFO) must fail the test, not
    # hang it.
    res = run(tools_dir, "nvfp4-matmul", *args, out, timeout=60)
    assert res.returncode != 0
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert needle in lines[0], lines[0]
    assert not out.exists()


def test_errors(tools_dir, tmp_path):
    rng = np.random.default_rng(2)
    a_dir = quantize(tools_dir, tmp_path, matrix(rng, 4, 64), "per_tensor", "a")
    b_dir = quantize(tools_dir, tmp_path, matrix(rng, 8, 32), "per_tensor", "b")
    ok = "per_tensor, sf_layout = 128x4"
    expect_error(tools_dir, tmp_path,
                 [f"--a-recipe={ok}", f"--b-recipe={ok}", a_dir, b_dir],
                 "share K")
    linear = tmp_path / "linear"
    np.save(tmp_path / "lin.npy", matrix(rng, 4, 64))
    res = run(tools_dir, "nvfp4-quantize", "--recipe=per_tensor", tmp_path / "lin.npy",
              linear)
    assert res.returncode == 0, res.stderr
    expect_error(tools_dir, tmp_path, [f"--b-recipe={ok}", linear, a_dir],
                 "must use sf_layout = 128x4")
    expect_error(tools_dir, tmp_path,
                 [f"--a-recipe={ok}", f"--b-recipe={ok}", "--target=gpu",
                  a_dir, a_dir],
                 "unknown target 'gpu'")
    expect_error(tools_dir, tmp_path,
                 [f"--a-recipe={ok}", f"--b-recipe={ok}", "--out-dtype=f64",
                  a_dir, a_dir],
                 "unknown --out-dtype")
    expect_error(tools_dir, tmp_path,
                 [f"--a-recipe={ok}", "--b-recipe=bogus", a_dir, a_dir],
                 "--b-recipe")
    expect_error(tools_dir, tmp_path,
                 [f"--a-recipe={ok}", f"--b-recipe={ok}", a_dir,
                  tmp_path / "missing"],
                 "data.npy")
    np.save(tmp_path / "bias.npy", np.zeros(3, np.float32))
    expect_error(tools_dir, tmp_path,
                 [f"--a-recipe={ok}", f"--b-recipe={ok}",
                  f"--bias={tmp_path / 'bias.npy'}", a_dir, a_dir],
                 "expected a bias of shape (4,)")



def test_recipe_comes_from_the_folder(tools_dir, tmp_path):
    # Issue 17 item 7: 4over6 data (E4M3 bound 256) read as per_tensor (448)
    # ran and was 50-70% off. The folder's recipe.mlir now decides; a flag
    # must agree with it.
    rng = np.random.default_rng(3)
    a_dir = quantize(tools_dir, tmp_path, matrix(rng, 20, 128), "four_over_six", "a")
    b_dir = quantize(tools_dir, tmp_path, matrix(rng, 24, 128), "per_token", "b")
    want = reference(tools_dir, a_dir, b_dir)
    out = tmp_path / "d.npy"
    for flags in ([], ["--a-recipe=four_over_six, sf_layout = 128x4"],
                  ["--b-recipe=#nvfp4.recipe<per_token, sf_layout = 128x4>"]):
        out.unlink(missing_ok=True)
        res = run(tools_dir, "nvfp4-matmul", *flags, "--out-dtype=f32", a_dir, b_dir,
                  out)
        assert res.returncode == 0, res.stderr
        d = np.load(out).astype(np.float64)
        assert np.linalg.norm(d - want) <= 1e-5 * np.linalg.norm(want), flags
    out.unlink()
    expect_error(tools_dir, tmp_path,
                 ["--a-recipe=per_tensor, sf_layout = 128x4", a_dir, b_dir],
                 "--a-recipe gives #nvfp4.recipe<per_tensor, sf_layout = 128x4>, but "
                 f"{a_dir} was quantized with "
                 "#nvfp4.recipe<four_over_six, sf_layout = 128x4>")
    # A folder without recipe.mlir (from an older nvfp4-quantize) still needs
    # the flag.
    (b_dir / "recipe.mlir").unlink()
    expect_error(tools_dir, tmp_path, [a_dir, b_dir],
                 f"--b-recipe is required: {b_dir} has no recipe.mlir")
    res = run(tools_dir, "nvfp4-matmul", "--b-recipe=per_token, sf_layout = 128x4",
              a_dir, b_dir, out)
    assert res.returncode == 0, res.stderr
    out.unlink()
    # The recipe file is read like any other: bounded, regular files only.
    (b_dir / "recipe.mlir").symlink_to("/dev/zero")
    expect_error(tools_dir, tmp_path, [a_dir, b_dir],
                 f"{b_dir / 'recipe.mlir'}: cannot read recipe file: is a character "
                 "device, not a regular file")


def test_only_regular_files_are_read(tools_dir, tmp_path):
    # Issue 17 item 2: --bias=/dev/zero grew until "out of memory" and a FIFO
    # blocked forever; operand files are read the same way.
    rng = np.random.default_rng(4)
    a_dir = quantize(tools_dir, tmp_path, matrix(rng, 4, 64), "per_tensor", "a")
    fifo = tmp_path / "bias.npy"
    os.mkfifo(fifo)
    for bias, needle in ((Path("/dev/zero"), "/dev/zero: cannot read file: is a "
                          "character device, not a regular file"),
                         (fifo, f"{fifo}: cannot read file: is a FIFO, not a "
                          "regular file")):
        expect_error(tools_dir, tmp_path, [f"--bias={bias}", a_dir, a_dir], needle)
    b_dir = tmp_path / "b"
    b_dir.mkdir()
    for name in ("scale.npy", "amax.npy", "recipe.mlir"):
        (b_dir / name).write_bytes((a_dir / name).read_bytes())
    os.mkfifo(b_dir / "data.npy")
    expect_error(tools_dir, tmp_path, [a_dir, b_dir],
                 f"{b_dir / 'data.npy'}: cannot read file: is a FIFO")


@pytest.mark.skipif(cuda_driver_loads(), reason="a CUDA driver is present")
def test_gpu_target_without_driver(tools_dir, tmp_path):
    rng = np.random.default_rng(8)
    a_dir = quantize(tools_dir, tmp_path, matrix(rng, 4, 64), "per_tensor", "a")
    ok = "per_tensor, sf_layout = 128x4"
    expect_error(tools_dir, tmp_path,
                 [f"--a-recipe={ok}", f"--b-recipe={ok}", "--target=sm_90a",
                  a_dir, a_dir],
                 "cannot load the CUDA driver (libcuda.so.1)")


@pytest.mark.skipif(not cuda_driver_loads(), reason="no CUDA driver")
def test_gpu_target_matches_cpu(tools_dir, tmp_path):
    rng = np.random.default_rng(9)
    for a_recipe, b_recipe, dtype in (("per_token", "per_tensor", "bf16"),
                                      ("local_1x64", "local_1x64", "f32")):
        a_dir = quantize(tools_dir, tmp_path, matrix(rng, 33, 320), a_recipe, "a")
        b_dir = quantize(tools_dir, tmp_path, matrix(rng, 72, 320), b_recipe, "b")
        outs = {}
        for target in ("cpu", "sm_90a"):
            out = tmp_path / f"d-{target}.npy"
            res = run(tools_dir, "nvfp4-matmul",
                      f"--a-recipe={a_recipe}, sf_layout = 128x4",
                      f"--b-recipe={b_recipe}, sf_layout = 128x4",
                      f"--out-dtype={dtype}", f"--target={target}",
                      a_dir, b_dir, out)
            assert res.returncode == 0, res.stderr
            outs[target] = np.load(out).astype(np.float64)
        ref = reference(tools_dir, a_dir, b_dir)
        for d in outs.values():
            err = np.linalg.norm(d - ref) / np.linalg.norm(ref)
            assert err <= (1e-5 if dtype == "f32" else 4e-3), err

"""nvfp4-quantize: outputs, SPEC.md test vectors end to end, and bad input.

Bad input must give exit code != 0, exactly one line on stderr naming the
problem, and leave OUTDIR without any output file.
"""

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import cuda_driver_loads


def run(tools_dir, *args):
    return subprocess.run(
        [str(tools_dir / "nvfp4-quantize"), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def quantize(tools_dir, tmp_path, x, *flags, name="x"):
    src = tmp_path / f"{name}.npy"
    np.save(src, x)
    out = tmp_path / f"{name}_out"
    res = run(tools_dir, *flags, src, out)
    assert res.returncode == 0, res.stderr
    return {p.stem: np.load(p) for p in out.glob("*.npy")}


TV4 = np.array([6, -6, 3, -3, 1, 0.5, 0.25, 0.75, 2.5, 5, 1.75, 1.25, 4, -0.5, 0, 1.5],
               np.float32)
TV5 = np.arange(1, 17, dtype=np.float32) / 4


def test_tv4_whole_tensor_block(tools_dir, tmp_path):
    # One block is the whole tensor: the block maps to 6 and sf = 448.
    out = quantize(tools_dir, tmp_path, TV4[None, :])
    assert out["scale"].tobytes() == bytes([0x7E])
    assert out["data"].tobytes() == bytes.fromhex("F7D5122064249630")
    assert out["amax"].tolist() == [6.0]


def test_tv20_local_1x64_quotient(tools_dir, tmp_path):
    row = np.zeros(128, np.float32)
    row[0:16] = TV5
    row[16] = 100
    row[64:80] = TV4
    out = quantize(tools_dir, tmp_path, row[None, :], "--recipe=local_1x64")
    assert out["amax"].shape == (1, 2)
    assert out["amax"].tolist() == [[100.0, 6.0]]
    assert out["scale"].tobytes() == bytes.fromhex("597E00007E000000")
    data = out["data"].tobytes()
    assert data[0:8] == bytes.fromhex("1132445565667677")  # TV5
    assert data[8:16] == bytes.fromhex("0700000000000000")
    assert data[32:40] == bytes.fromhex("F7D5122064249630")  # TV4


def test_tv9_numerics_forms_differ(tools_dir, tmp_path):
    # Outer amax 0x4196AB85 elsewhere; the two forms flip an E2M1 tie.
    x = np.zeros((1, 32), np.float32)
    x[0, 16] = np.frombuffer(bytes.fromhex("85AB9641"), np.float32)[0]
    x[0, 0] = np.frombuffer(bytes.fromhex("F8E8C73F"), np.float32)[0]
    x[0, 1] = np.frombuffer(bytes.fromhex("F4B7413E"), np.float32)[0]
    rec = quantize(tools_dir, tmp_path, x, "--recipe=per_token", name="r")
    quo = quantize(tools_dir, tmp_path, x, "--recipe=per_token_quotient", name="q")
    assert rec["scale"][0, 0] == 0x61 and quo["scale"][0, 0] == 0x61
    assert rec["data"][0, 0] == 0x17
    assert quo["data"][0, 0] == 0x27


def test_output_files_and_shapes(tools_dir, tmp_path):
    x = np.random.default_rng(0).standard_normal((130, 96)).astype(np.float32)
    out = quantize(tools_dir, tmp_path, x, "--outer=row", "--sf-layout=128x4",
                   "--dequant")
    assert sorted(out) == ["amax", "data", "dequant", "scale"]
    assert out["data"].dtype == np.uint8 and out["data"].shape == (130, 48)
    # 130 rows pad to 256, 6 scale columns pad to 8; padding bytes are 0.
    assert out["scale"].dtype == np.uint8 and out["scale"].shape == (256, 8)
    assert out["amax"].dtype == np.float32 and out["amax"].shape == (130,)
    np.testing.assert_array_equal(out["amax"], np.abs(x).max(axis=1))
    assert out["dequant"].shape == (130, 96)
    # Per-row NVFP4 keeps every element within a block-scale step of x.
    err = np.abs(out["dequant"] - x) / np.abs(x).max(axis=1, keepdims=True)
    assert err.max() < 0.2


def test_columnwise_outputs(tools_dir, tmp_path):
    x = np.random.default_rng(1).standard_normal((64, 48)).astype(np.float32)
    out = quantize(tools_dir, tmp_path, x, "--recipe=per_tensor_rht",
                   "--input-dtype=bf16", "--dequant")
    assert sorted(out) == ["amax", "amax_t", "data", "data_t", "dequant",
                           "dequant_t", "scale", "scale_t"]
    assert out["data_t"].shape == (48, 32)
    assert out["scale_t"].shape == (48, 4)
    assert out["dequant_t"].shape == (48, 64)


def test_2d_columnwise_is_nibble_transpose(tools_dir, tmp_path):
    # SPEC.md section 5: with 16x16 blocks and no RHT the columnwise output
    # is the nibble transpose of the rowwise one, scales included.
    x = np.random.default_rng(2).standard_normal((32, 48)).astype(np.float32)
    out = quantize(tools_dir, tmp_path, x, "--recipe=per_tensor_2d",
                   "--rowwise", "--columnwise")

    def nibbles(d):
        return np.stack([d & 0xF, d >> 4], axis=-1).reshape(d.shape[0], -1)

    np.testing.assert_array_equal(nibbles(out["data_t"]), nibbles(out["data"]).T)
    for n in range(48):
        for m in range(0, 32, 16):
            assert out["scale_t"][n, m // 16] == out["scale"][m, n // 16]


def test_recipe_file(tools_dir, tmp_path, examples_dir):
    x = np.random.default_rng(3).standard_normal((8, 4096)).astype(np.float32)
    a = quantize(tools_dir, tmp_path, x, f"--recipe={examples_dir / 'per_token.mlir'}",
                 name="a")
    b = quantize(tools_dir, tmp_path, x, "--outer=row", name="b")
    for key in ("data", "scale", "amax"):
        np.testing.assert_array_equal(a[key], b[key])


def test_input_dtype_rounds_first(tools_dir, tmp_path):
    # 1 + 2^-10 is exact in fp16 and rounds to 1 in bf16: the amax differs.
    x = np.full((1, 16), 1 + 2**-10, np.float32)
    bf = quantize(tools_dir, tmp_path, x, "--input-dtype=bf16", name="bf")
    fp = quantize(tools_dir, tmp_path, x, "--input-dtype=fp16", name="fp")
    assert bf["amax"][0] == 1.0
    assert fp["amax"][0] == np.float32(1 + 2**-10)


def test_stochastic_rounding(tools_dir, tmp_path):
    x = np.random.default_rng(4).uniform(-1, 1, (16, 64)).astype(np.float32)
    x[0, 0] = 1.0  # fixes the per-tensor scale

    def draw(seed, name):
        return quantize(tools_dir, tmp_path, x, "--rounding=stochastic",
                        f"--seed={seed}", "--dequant", name=name)

    a, b, c = draw(1, "a"), draw(1, "b"), draw(2, "c")
    np.testing.assert_array_equal(a["data"], b["data"])  # deterministic
    assert (a["data"] != c["data"]).any()  # seed-sensitive
    assert a["scale"].tobytes() == c["scale"].tobytes()  # scales as nearest
    mean = np.mean([draw(s, f"s{s}")["dequant"] for s in range(40)], axis=0)
    # Unbiased: the mean of draws converges to x (step <= 1/3 of amax here;
    # 40 draws bound the error of the mean to a few percent of a step).
    assert np.abs(mean - x).mean() < 0.01
    assert np.abs(a["dequant"] - x).mean() > 0.02  # a single draw is noisy


@pytest.mark.parametrize(
    "case",
    [
        ("not_2d", np.zeros((2, 3, 4), np.float32), [], "expected a 2-D array"),
        ("int_dtype", np.zeros((4, 16), np.int32), [], "unsupported dtype"),
        ("k_not_16", np.zeros((4, 100), np.float32), [],
         "expected quantized dimension K to be a multiple of 16, got 100"),
        ("m_not_16_columnwise", np.zeros((17, 32), np.float32), ["--columnwise"],
         "columnwise output requires M to be a multiple of 16, got 17"),
        ("row_16x16", np.zeros((16, 32), np.float32), ["--outer=row", "--block=16x16"],
         "outer = row is incompatible with block = 16x16"),
        ("4over6_quotient", np.zeros((16, 32), np.float32),
         ["--select=mae", "--numerics=quotient"],
         "four_over_six is incompatible with numerics = quotient"),
        ("4over6_sr", np.zeros((16, 32), np.float32),
         ["--select=mse", "--rounding=stochastic"],
         "four_over_six is incompatible with rounding = stochastic"),
        ("rht_rowwise", np.zeros((16, 32), np.float32), ["--rht"],
         "transform = rht16 requires a columnwise output"),
        ("bad_flag_value", np.zeros((16, 32), np.float32), ["--outer=token"],
         "unknown --outer value 'token'"),
        ("unknown_preset", np.zeros((16, 32), np.float32), ["--recipe=per_channel"],
         "unknown recipe preset 'per_channel'"),
        ("seed_without_sr", np.zeros((16, 32), np.float32), ["--seed=3"],
         "--seed needs --rounding=stochastic"),
        ("bad_target", np.zeros((16, 32), np.float32), ["--target=tpu"],
         "unknown target 'tpu'"),
    ],
    ids=lambda c: c[0],
)
def test_bad_input(tools_dir, tmp_path, case):
    _, x, flags, message = case
    src = tmp_path / "in.npy"
    np.save(src, x)
    out = tmp_path / "out"
    out.mkdir()
    res = run(tools_dir, *flags, src, out)
    assert res.returncode != 0
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert message in lines[0]
    assert list(out.iterdir()) == []


def test_recipe_file_errors(tools_dir, tmp_path, examples_dir):
    src = tmp_path / "in.npy"
    np.save(src, np.ones((16, 32), np.float32))
    out = tmp_path / "out"
    out.mkdir()
    no_recipe = tmp_path / "plain.mlir"
    no_recipe.write_text("func.func @f() { return }\n")
    bad_recipe = tmp_path / "bad.mlir"
    bad_recipe.write_text("#nvfp4.recipe<outer = row, block = 16x16>\n")
    cases = [
        ([f"--recipe={examples_dir / 'per_token.mlir'}", "--outer=tensor"],
         "recipe flags cannot be combined with a recipe file"),
        ([f"--recipe={tmp_path / 'missing.mlir'}"], "cannot read recipe file"),
        ([f"--recipe={no_recipe}"], "no op with a recipe attribute"),
        ([f"--recipe={bad_recipe}"], "outer = row is incompatible with block = 16x16"),
        (["--input-dtype=int8"], "unknown --input-dtype value 'int8'"),
    ]
    for flags, message in cases:
        res = run(tools_dir, *flags, src, out)
        assert res.returncode != 0, flags
        assert len(res.stderr.strip().splitlines()) == 1, res.stderr
        assert message in res.stderr, res.stderr
        assert list(out.iterdir()) == []


def test_unreadable_input(tools_dir, tmp_path):
    garbage = tmp_path / "garbage.npy"
    garbage.write_bytes(b"not a numpy file at all")
    out = tmp_path / "out"
    out.mkdir()
    for src, message in [(tmp_path / "missing.npy", "missing.npy"),
                         (garbage, "garbage.npy")]:
        res = run(tools_dir, src, out)
        assert res.returncode != 0
        assert len(res.stderr.strip().splitlines()) == 1, res.stderr
        assert message in res.stderr
        assert list(out.iterdir()) == []



def expect_refused(tools_dir, out, args, needles):
    # A short timeout: the failure being guarded against is a read that
    # blocks (FIFO) or grows until the process runs out of memory (/dev/zero).
    res = subprocess.run([str(tools_dir / "nvfp4-quantize"), *map(str, args)],
                         capture_output=True, text=True, timeout=30)
    assert res.returncode != 0
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert list(out.iterdir()) == []


def test_only_regular_files_are_read(tools_dir, tmp_path):
    # Issue 17 item 2: a device grew until "out of memory", a FIFO blocked
    # forever. Both are refused by a stat before the open, naming the path.
    src = tmp_path / "x.npy"
    np.save(src, np.ones((16, 32), np.float32))
    out = tmp_path / "out"
    out.mkdir()
    fifo = tmp_path / "fifo.npy"
    os.mkfifo(fifo)
    recipe_fifo = tmp_path / "recipe_fifo.mlir"
    os.mkfifo(recipe_fifo)
    zero_link = tmp_path / "zero.mlir"
    zero_link.symlink_to("/dev/zero")
    zero_plain = tmp_path / "zero"  # no .mlir: still a file, not a preset
    zero_plain.symlink_to("/dev/zero")
    not_regular = "not a regular file"
    cases = [
        ([Path("/dev/zero"), out], ["/dev/zero", "is a character device", not_regular]),
        ([Path("/dev/urandom"), out], ["/dev/urandom", not_regular]),
        ([fifo, out], [str(fifo), "is a FIFO", not_regular]),
        ([tmp_path, out], [str(tmp_path), "is a directory"]),
        ([f"--recipe={zero_link}", src, out],
         [str(zero_link), "cannot read recipe file", not_regular]),
        ([f"--recipe={zero_plain}", src, out], [str(zero_plain), not_regular]),
        ([f"--recipe={recipe_fifo}", src, out], [str(recipe_fifo), "is a FIFO"]),
    ]
    for args, needles in cases:
        expect_refused(tools_dir, out, args, needles)


def test_reads_are_bounded(tools_dir, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    # A version 2.0 header that claims 2 GiB is refused before it is read.
    huge_header = tmp_path / "huge_header.npy"
    huge_header.write_bytes(b"\x93NUMPY\x02\x00" + (2**31).to_bytes(4, "little")
                            + b"{" * 64)
    expect_refused(tools_dir, out, [huge_header, out],
                   [str(huge_header), "header length 2147483648 exceeds the limit"])
    # Data past what the header promises: refused from the file size, without
    # reading the (sparse) 4 GiB.
    long_file = tmp_path / "long.npy"
    np.save(long_file, np.ones((16, 32), np.float32))
    with open(long_file, "r+b") as f:
        f.truncate(4 << 30)
    expect_refused(tools_dir, out, [long_file, out],
                   [str(long_file), "trailing bytes after array data"])
    # A recipe file is at most 64 KiB.
    src = tmp_path / "x.npy"
    np.save(src, np.ones((16, 32), np.float32))
    big_recipe = tmp_path / "big.mlir"
    big_recipe.write_text("#nvfp4.recipe<per_token>" + " " * 65536 + "\n")
    expect_refused(tools_dir, out, [f"--recipe={big_recipe}", src, out],
                   [str(big_recipe), "recipe file too large",
                    "expected at most 65536"])


def test_writes_canonical_recipe(tools_dir, tmp_path):
    # Issue 17 item 7: the recipe travels with the data, as the printer's
    # canonical text, which --recipe reads back to the same outputs.
    x = np.random.default_rng(7).standard_normal((16, 64)).astype(np.float32)
    src = tmp_path / "x.npy"
    np.save(src, x)
    res = run(tools_dir, "--select=mae", "--e4m3-max=256", "--sf-layout=128x4", src,
              tmp_path / "a")
    assert res.returncode == 0, res.stderr
    text = (tmp_path / "a" / "recipe.mlir").read_text()
    assert text == "#nvfp4.recipe<four_over_six, sf_layout = 128x4>\n"
    res = run(tools_dir, f"--recipe={tmp_path / 'a' / 'recipe.mlir'}", src,
              tmp_path / "b")
    assert res.returncode == 0, res.stderr
    for name in ("data.npy", "scale.npy", "amax.npy", "recipe.mlir"):
        assert ((tmp_path / "a" / name).read_bytes()
                == (tmp_path / "b" / name).read_bytes()), name


def test_rerun_replaces_earlier_outputs(tools_dir, tmp_path):
    # Issue 17 item 8: OUTDIR holds exactly one run's outputs; files the tool
    # does not write (even with similar names) are the user's and stay.
    src = tmp_path / "x.npy"
    np.save(src, np.random.default_rng(8).standard_normal((16, 64)).astype(np.float32))
    out = tmp_path / "out"
    res = run(tools_dir, "--recipe=per_tensor_rht", "--rowwise", "--columnwise", "--dequant",
              src, out)
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "amax.npy", "amax_t.npy", "data.npy", "data_t.npy", "dequant.npy",
        "dequant_t.npy", "recipe.mlir", "scale.npy", "scale_t.npy"]
    for name in ("notes.txt", "data_backup.npy", "dequant_old.npy"):
        (out / name).write_text("mine")
    res = run(tools_dir, "--recipe=per_token", src, out)
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "amax.npy", "data.npy", "data_backup.npy", "dequant_old.npy", "notes.txt",
        "recipe.mlir", "scale.npy"]
    assert (out / "recipe.mlir").read_text() == "#nvfp4.recipe<per_token>\n"
    assert (out / "data_backup.npy").read_text() == "mine"


@pytest.mark.skipif(cuda_driver_loads(), reason="a CUDA driver is present")
def test_gpu_target_without_driver(tools_dir, tmp_path):
    src = tmp_path / "x.npy"
    np.save(src, np.ones((16, 32), np.float32))
    out = tmp_path / "out"
    out.mkdir()
    res = run(tools_dir, "--target=sm_90a", src, out)
    assert res.returncode != 0
    assert res.stderr.strip().splitlines() == [
        res.stderr.strip().splitlines()[0]]
    assert "cannot load the CUDA driver (libcuda.so.1)" in res.stderr
    assert list(out.iterdir()) == []


@pytest.mark.skipif(not cuda_driver_loads(), reason="no CUDA driver")
def test_gpu_target_matches_cpu(tools_dir, tmp_path):
    x = np.random.default_rng(6).standard_normal((64, 256)).astype(np.float32)
    for flags in (["--recipe=per_token", "--sf-layout=128x4"],
                  ["--recipe=per_tensor_rht"]):
        cpu = quantize(tools_dir, tmp_path, x, *flags, "--target=cpu", name="c")
        gpu = quantize(tools_dir, tmp_path, x, *flags, "--target=sm_90a", name="g")
        assert sorted(cpu) == sorted(gpu)
        for key in cpu:
            np.testing.assert_array_equal(cpu[key], gpu[key])


def test_auto_target_matches_cpu(tools_dir, tmp_path):
    # auto runs on the GPU when there is a supported one, else on the host:
    # the same files either way.
    x = np.random.default_rng(7).standard_normal((64, 128)).astype(np.float32)
    flags = ["--recipe=per_token", "--sf-layout=128x4", "--dequant"]
    cpu = quantize(tools_dir, tmp_path, x, *flags, "--target=cpu", name="c")
    auto = quantize(tools_dir, tmp_path, x, *flags, "--target=auto", name="a")
    assert sorted(cpu) == sorted(auto)
    for key in cpu:
        np.testing.assert_array_equal(cpu[key], auto[key])

"""W4A16 (nvfp4.matmul_w4a16): an unquantized bf16/fp16 A, used as given,
times an NVFP4 B of any recipe, through nvfp4.matmul, the torch op and
Linear(act_recipe=None), and nvfp4-matmul with an A.npy file. Each result is
compared with a float64 product of A's exact values and the dequantized B
(SPEC.md section 12 tolerance). GPU and PyTorch cases skip with the reason."""

import subprocess

import numpy as np
import pytest

import nvfp4
from conftest import TOLERANCE, cuda_driver_loads, host_result, rel_error, torch_cuda


def bf16_bits(x):
    """float32 -> bf16 bit patterns (uint16), round to nearest even."""
    f = np.ascontiguousarray(x, np.float32).view(np.uint32)
    return ((f + 0x7FFF + ((f >> 16) & 1)) >> 16).astype(np.uint16)


def bf16_values(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)


def weight(rng, n, k, outer):
    w = rng.standard_normal((n, k)).astype(np.float32)
    return nvfp4.quantize(w, outer=outer, sf_layout="128x4")


def reference(a_values, b, bias=None, alpha=1.0):
    d = alpha * (np.asarray(a_values, np.float64) @
                 nvfp4.dequantize(b).astype(np.float64).T)
    return d if bias is None else d + bias.astype(np.float64)


@pytest.mark.parametrize("outer", ["tensor", "row", "window"])
@pytest.mark.parametrize("a_dtype", ["bf16", "f16"])
@pytest.mark.parametrize("out_dtype", ["f32", "bf16", "f16"])
def test_matches_float64(outer, a_dtype, out_dtype):
    rng = np.random.default_rng(1)
    m, n, k = 9, 40, 192
    x = rng.standard_normal((m, k)).astype(np.float32)
    if a_dtype == "bf16":
        a = bf16_bits(x)
        values = bf16_values(a)
    else:
        a = x.astype(np.float16)
        values = a.astype(np.float32)
    b = weight(rng, n, k, outer)
    bias = rng.standard_normal(n).astype(np.float32)
    d = nvfp4.matmul(a, b, bias=bias, alpha=0.5, out_dtype=out_dtype)
    assert d.shape == (m, n)
    assert rel_error(d, reference(values, b, bias, 0.5)) <= TOLERANCE[out_dtype]


def test_a_is_used_as_given():
    # NaN and Inf in A propagate; a row of -0 gives the bias alone.
    rng = np.random.default_rng(2)
    b = weight(rng, 16, 64, "tensor")
    a = rng.standard_normal((3, 64)).astype(np.float16)
    a[0] = -0.0
    a[1, 7] = np.nan
    a[2, 9] = np.inf
    bias = np.arange(16, dtype=np.float32)
    d = nvfp4.matmul(a, b, bias=bias, out_dtype="f32")
    assert np.array_equal(d[0], bias)
    assert np.all(np.isnan(d[1]))
    assert not np.any(np.isfinite(d[2]))


def test_errors():
    rng = np.random.default_rng(3)
    b = weight(rng, 8, 64, "tensor")
    with pytest.raises(nvfp4.NVFP4Error, match="bfloat16 or float16 array for W4A16"):
        nvfp4.matmul(rng.standard_normal((4, 64)).astype(np.float32), b)
    with pytest.raises(nvfp4.NVFP4Error, match="share K: 32 and 64"):
        nvfp4.matmul(np.zeros((4, 32), np.float16), b)
    with pytest.raises(nvfp4.NVFP4Error, match=r"bias of shape \(8,\)"):
        nvfp4.matmul(np.zeros((4, 64), np.float16), b, bias=np.zeros(3, np.float32))
    with pytest.raises(nvfp4.NVFP4Error, match="2-D"):
        nvfp4.matmul(np.zeros((2, 4, 64), np.float16), b)
    linear = nvfp4.quantize(rng.standard_normal((8, 64)).astype(np.float32))
    with pytest.raises(nvfp4.NVFP4Error, match="128x4"):
        nvfp4.matmul(np.zeros((4, 64), np.float16), linear)


def test_c_abi_checks_sizes():
    # The sized host entry point checks A's bytes against m x k before
    # reading it.
    rng = np.random.default_rng(4)
    b = weight(rng, 8, 64, "row")
    a = np.zeros((4, 64), np.float16)
    out = np.empty((4, 8), np.float32)
    with pytest.raises(nvfp4.NVFP4Error,
                       match=r"a: expected the data buffer to hold 512 bytes"):
        nvfp4._lib.call("nvfp4_matmul_w4a16_host_sized", b"cpu", 1, a.ctypes.data,
                        a.nbytes - 2, 4, nvfp4._recipes.info_for_text(b.recipe).btext,
                        b.data.ctypes.data, b.data.nbytes, b.scale.ctypes.data,
                        b.scale.nbytes, b.amax.ctypes.data, b.amax.size, 8, 64,
                        None, 0, 1.0, 0, out.ctypes.data, out.nbytes)
    with pytest.raises(nvfp4.NVFP4Error, match="W4A16 A of bf16 or f16, got dtype 0"):
        nvfp4._lib.call("nvfp4_matmul_w4a16_host_sized", b"cpu", 0, a.ctypes.data,
                        a.nbytes, 4, nvfp4._recipes.info_for_text(b.recipe).btext,
                        b.data.ctypes.data, b.data.nbytes, b.scale.ctypes.data,
                        b.scale.nbytes, b.amax.ctypes.data, b.amax.size, 8, 64,
                        None, 0, 1.0, 0, out.ctypes.data, out.nbytes)


def test_cli_with_an_a_file(tools_dir, tmp_path):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((7, 128)).astype(np.float32)
    w = rng.standard_normal((24, 128)).astype(np.float32)
    np.save(tmp_path / "w.npy", w)
    res = subprocess.run([str(tools_dir / "nvfp4-quantize"), "--recipe=per_token",
                          "--sf-layout=128x4", "--dequant", str(tmp_path / "w.npy"),
                          str(tmp_path / "b")], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    deq = np.load(tmp_path / "b" / "dequant.npy").astype(np.float64)
    for a, values, flags in ((x, bf16_values(bf16_bits(x)), []),
                             (x, x.astype(np.float16).astype(np.float32),
                              ["--a-dtype=f16"]),
                             (x.astype(np.float16), x.astype(np.float16), [])):
        np.save(tmp_path / "a.npy", a)
        res = subprocess.run([str(tools_dir / "nvfp4-matmul"), *flags, "--out-dtype=f32",
                              str(tmp_path / "a.npy"), str(tmp_path / "b"),
                              str(tmp_path / "d.npy")], capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
        d = np.load(tmp_path / "d.npy")
        assert rel_error(d, values.astype(np.float64) @ deq.T) <= 1e-5
    res = subprocess.run([str(tools_dir / "nvfp4-matmul"), "--a-recipe=per_tensor",
                          str(tmp_path / "a.npy"), str(tmp_path / "b"),
                          str(tmp_path / "e.npy")], capture_output=True, text=True)
    assert res.returncode != 0 and "unquantized A (W4A16)" in res.stderr
    assert not (tmp_path / "e.npy").exists()


@pytest.mark.skipif(not cuda_driver_loads(), reason="no CUDA driver")
@pytest.mark.parametrize("m", [1, 20, 300])
def test_gpu_target_matches_float64(m):
    rng = np.random.default_rng(6)
    b = weight(rng, 72, 320, "row")
    a = rng.standard_normal((m, 320)).astype(np.float16)
    d = nvfp4.matmul(a, b, out_dtype="f32", target="sm_90a")
    assert rel_error(d, reference(a.astype(np.float32), b)) <= 1e-5


def test_torch_op_and_fake_kernel():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    import nvfp4.torch  # noqa: F401
    from torch._subclasses.fake_tensor import FakeTensorMode
    info = nvfp4._recipes.info_for_text("per_token, sf_layout = 128x4")
    with FakeTensorMode():
        a = torch.empty(5, 64, dtype=torch.bfloat16)
        bd = torch.empty(8, 32, dtype=torch.uint8)
        bs = torch.empty(128, 4, dtype=torch.uint8)
        ba = torch.empty(8)
        d = torch.ops.nvfp4.matmul_w4a16(a, bd, bs, ba, info.text, None, 1.0, "f16")
        assert tuple(d.shape) == (5, 8) and d.dtype == torch.float16
        with pytest.raises(nvfp4.NVFP4Error, match="bfloat16 or float16"):
            torch.ops.nvfp4.matmul_w4a16(a.float(), bd, bs, ba, info.text)
        with pytest.raises(nvfp4.NVFP4Error, match="share K: 64 and 128"):
            torch.ops.nvfp4.matmul_w4a16(a, torch.empty(8, 64, dtype=torch.uint8),
                                         bs, ba, info.text)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_linear_w4a16(device):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    if device == "cuda":
        torch_cuda()
    import nvfp4.torch as nt
    lin = torch.nn.Linear(256, 96).to(device=device, dtype=torch.bfloat16)
    model = nt.Linear.from_linear(lin, act_recipe=None)
    x = torch.randn(2, 7, 256, device=device, dtype=torch.bfloat16)
    with torch.inference_mode():
        y = model(x)
    assert y.shape == (2, 7, 96) and y.dtype == torch.bfloat16
    w = model.weight_result()
    wq = nvfp4.QuantizeResult(w.data.cpu().numpy(), w.scale.cpu().numpy(),
                              w.amax.cpu().numpy(), recipe=w.recipe)
    ref = reference(x.float().reshape(-1, 256).cpu().numpy(), wq,
                    model.bias.cpu().numpy())
    assert rel_error(y.float().reshape(-1, 96).cpu().numpy(), ref) <= TOLERANCE["bf16"]


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_torch_cuda_matches_the_host(dtype):
    # The device path (nvfp4_matmul_w4a16_device on the current stream)
    # against the host path, for a direct kernel and the large-M one; out= and
    # an A that is not 16-byte aligned (an error before anything launches).
    torch = torch_cuda()
    dt = getattr(torch, dtype)
    w = torch.randn(72, 320, device="cuda")
    wq = nvfp4.quantize(w, recipe="per_token, sf_layout = 128x4")
    for m in (1, 20, 300):
        a = torch.randn(m, 320, device="cuda", dtype=dt)
        d = nvfp4.matmul(a, wq, out_dtype="f32")
        host = nvfp4.matmul(a.cpu(), host_result(wq), out_dtype="f32")
        assert rel_error(d.cpu().numpy(), host.numpy().astype(np.float64)) <= 1e-5
        out = torch.empty(m, 72, device="cuda", dtype=torch.bfloat16)
        assert nvfp4.matmul(a, wq, out=out) is out
    flat = torch.zeros(4 * 320 + 1, device="cuda", dtype=dt)
    with pytest.raises(nvfp4.NVFP4Error, match="not aligned to 16 bytes"):
        nvfp4.matmul(flat[1:].view(4, 320), wq)

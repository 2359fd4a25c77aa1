"""Device GEMMs and grouped forms from Python on PyTorch and CuPy arrays:
the same bytes as the host convenience, errors before any launch, `out=`,
and CUDA-graph capture and replay. Skipped (with the reason) without a
GPU, PyTorch or CuPy."""

import numpy as np
import pytest

import nvfp4
from conftest import (TOLERANCE, cupy_gpu, host_result, reference, rel_error,
                      torch_cuda)

A_TOKEN = "per_token, sf_layout = 128x4"
PAIRS = [("per_tensor, sf_layout = 128x4", "per_tensor, sf_layout = 128x4"),
         (A_TOKEN, "per_tensor_2d, sf_layout = 128x4"),
         (A_TOKEN, A_TOKEN),
         ("local_1x64, sf_layout = 128x4", "local_1x64, sf_layout = 128x4")]
TORCH_OUT = {"f32": "float32", "f16": "float16", "bf16": "bfloat16"}


def _device_target():
    import ctypes
    out = ctypes.create_string_buffer(64)
    nvfp4._lib.call("nvfp4_device_target", 0, out, len(out))
    return out.value.decode()


def _operands(torch, m, n, k, ra, rb, seed=0):
    rng = np.random.default_rng(seed)
    x = torch.from_numpy(rng.standard_normal((m, k)).astype(np.float32)).cuda()
    w = torch.from_numpy(rng.standard_normal((n, k)).astype(np.float32)).cuda()
    return (nvfp4.quantize(x.bfloat16(), recipe=ra),
            nvfp4.quantize(w.bfloat16(), recipe=rb))


def _bits(t):
    """The bytes of a torch tensor as a NumPy array (bf16 as uint16)."""
    import torch
    t = t.detach().cpu()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().view(np.uint16)
    return t.numpy()


def _host_bits(d, out_dtype):
    """The host matmul's output as the device output's bits."""
    if out_dtype == "bf16":
        return (d.view(np.uint32) >> 16).astype(np.uint16)
    return d


#===------------------------------------------------------------------------===#
# matmul
#===------------------------------------------------------------------------===#

@pytest.mark.parametrize("ra,rb", PAIRS)
@pytest.mark.parametrize("out_dtype", ["bf16", "f32", "f16"])
@pytest.mark.parametrize("m", [1, 33, 300])
def test_torch_matmul_same_bytes_as_host(ra, rb, out_dtype, m):
    torch = torch_cuda()
    n, k = 72, 320
    qa, qb = _operands(torch, m, n, k, ra, rb)
    bias = torch.linspace(-1, 1, n, device="cuda")
    d = nvfp4.matmul(qa, qb, bias=bias, alpha=0.5, out_dtype=out_dtype)
    assert d.shape == (m, n) and d.device == qa.data.device
    assert d.dtype == getattr(torch, TORCH_OUT[out_dtype])
    ha, hb = host_result(qa), host_result(qb)
    hbias = bias.cpu().numpy()
    # The host convenience runs the same GPU GEMM on copies: same bytes.
    want = nvfp4.matmul(ha, hb, bias=hbias, alpha=0.5, out_dtype=out_dtype,
                        target=_device_target())
    np.testing.assert_array_equal(_bits(d), _host_bits(want, out_dtype))
    ref = reference(ha, hb, hbias, 0.5)
    assert rel_error(d.float().cpu().numpy(), ref) <= TOLERANCE[out_dtype]


def test_torch_matmul_out_and_dtypes():
    torch = torch_cuda()
    qa, qb = _operands(torch, 16, 128, 256, A_TOKEN, A_TOKEN)
    want = nvfp4.matmul(qa, qb, out_dtype=torch.float16)
    assert want.dtype == torch.float16
    out = torch.full((16, 128), float("nan"), dtype=torch.float16, device="cuda")
    assert nvfp4.matmul(qa, qb, out_dtype="f16", out=out) is out
    assert torch.equal(out, want)
    # A result reused many times stays valid (the operand cache), and a
    # swapped buffer is noticed.
    for _ in range(3):
        assert torch.equal(nvfp4.matmul(qa, qb, out_dtype="f16"), want)
    qb.scale = qb.scale.clone()
    assert torch.equal(nvfp4.matmul(qa, qb, out_dtype="f16"), want)


def _bad_calls(torch):
    qa, qb = _operands(torch, 8, 64, 128, A_TOKEN, A_TOKEN)
    _, qk = _operands(torch, 8, 64, 256, A_TOKEN, A_TOKEN)
    lin = nvfp4.quantize(torch.ones(64, 128, device="cuda"), recipe="per_token")
    out = torch.zeros(8, 64, dtype=torch.bfloat16, device="cuda")
    host = host_result(qb)
    strided = nvfp4.QuantizeResult(qb.data, qb.scale, qb.amax, recipe=qb.recipe)
    strided.amax = torch.zeros(2 * 64, device="cuda")[::2]
    return [
        # Our own quantize results skip the Python operand checks; the C ABI
        # rejects the layout before it enqueues anything.
        (lambda: nvfp4.matmul(qa, lin, out=out),
         "sf_layout = 128x4 scales .*; B uses linear"),
        (lambda: nvfp4.matmul(qa, qk, out=out), "A and B must share K: 128 and 256"),
        (lambda: nvfp4.matmul(qa, host, out=out), "expected a and b on one device"),
        (lambda: nvfp4.matmul(qa, qb, bias=torch.zeros(63, device="cuda"), out=out),
         r"expected a bias of shape \(64,\)"),
        (lambda: nvfp4.matmul(qa, qb, bias=torch.zeros(64, device="cuda",
                                                       dtype=torch.bfloat16), out=out),
         r"expected a bias of shape \(64,\) \(contiguous float32\)"),
        (lambda: nvfp4.matmul(qa, qb, bias=torch.zeros(64), out=out),
         "got bias on the CPU"),
        (lambda: nvfp4.matmul(qa, qb, out_dtype="f32", out=out),
         r"expected out to be a contiguous float32 array of shape \(8, 64\)"),
        (lambda: nvfp4.matmul(qa, qb, out=torch.zeros(64, 8, dtype=torch.bfloat16,
                                                      device="cuda").t()),
         "got a strided bfloat16 array"),
        (lambda: nvfp4.matmul(qa, strided, out=out), "b.amax: expected a contiguous float32"),
        (lambda: nvfp4.matmul(qa, nvfp4.QuantizeResult(qb.data[:32], qb.scale, qb.amax,
                                                      recipe=qb.recipe), out=out),
         r"b.amax has shape \(64,\), expected \(32,\)"),
    ], out


def test_torch_errors_before_any_launch():
    torch = torch_cuda()
    calls, out = _bad_calls(torch)
    sentinel = out.clone()
    for call, message in calls:
        with pytest.raises(nvfp4.NVFP4Error, match=message):
            call()
    torch.cuda.synchronize()
    assert torch.equal(out, sentinel)  # nothing was launched into `out`


def test_torch_operands_on_two_devices():
    torch = torch_cuda()
    if torch.cuda.device_count() < 2:
        pytest.skip("needs two CUDA devices")
    qa, _ = _operands(torch, 8, 64, 128, A_TOKEN, A_TOKEN)
    with torch.cuda.device(1):
        w = torch.ones(64, 128, device="cuda:1")
        qb = nvfp4.quantize(w, recipe=A_TOKEN)
    with pytest.raises(nvfp4.NVFP4Error, match="got a on cuda:0 and b on cuda:1"):
        nvfp4.matmul(qa, qb)


def test_torch_dequantize_out():
    torch = torch_cuda()
    x = torch.randn(32, 64, device="cuda")
    q = nvfp4.quantize(x, recipe="local_1x64")
    want = nvfp4.dequantize(q)
    out = torch.empty(32, 64, device="cuda")
    assert nvfp4.dequantize(q, out=out) is out
    assert torch.equal(out, want)
    with pytest.raises(nvfp4.NVFP4Error, match="expected out to be a contiguous float32"):
        nvfp4.dequantize(q, out=torch.empty(32, 64, device="cuda", dtype=torch.float16))


#===------------------------------------------------------------------------===#
# Grouped forms
#===------------------------------------------------------------------------===#

SPLITS = [0, 37, 0, 64, 27]  # empty groups, ragged sizes; 128 rows


def _group_rows(splits):
    starts = np.concatenate([[0], np.cumsum(splits)])
    return [(int(starts[g]), int(starts[g + 1])) for g in range(len(splits))]


@pytest.mark.parametrize("recipe", [A_TOKEN, "per_tensor, sf_layout = 128x4",
                                    "local_1x64, sf_layout = 128x4", "per_token"])
def test_grouped_quantize_is_per_group_quantize(recipe):
    torch = torch_cuda()
    x = torch.randn(sum(SPLITS), 256, device="cuda", dtype=torch.bfloat16)
    splits = torch.tensor(SPLITS, dtype=torch.int64, device="cuda")
    q = nvfp4.grouped_quantize(x, splits, recipe=recipe)
    info = nvfp4._recipes.info_for_text(recipe)
    assert q.groups == len(SPLITS)
    assert q.scale.shape == info.specs(x.shape[0], 256, len(SPLITS)).by_name["scale"]
    tile_row = 0
    for g, (r0, r1) in enumerate(_group_rows(SPLITS)):
        if r0 == r1:
            continue
        p = nvfp4.quantize(x[r0:r1], recipe=recipe)
        assert torch.equal(q.data[r0:r1], p.data), g
        if info.outer == 0:
            assert torch.equal(q.amax[g:g + 1], p.amax), g
        else:
            assert torch.equal(q.amax[r0:r1], p.amax), g
            if info.outer == 1:
                assert torch.equal(q.per_token_scale[r0:r1], p.per_token_scale)
        rows = p.scale.shape[0]
        start = tile_row if info.row_tile > 1 else r0
        assert torch.equal(q.scale[start:start + rows], p.scale), g
        tile_row += rows


@pytest.mark.parametrize("ra,rb", PAIRS[:3])
def test_grouped_matmul_matches_per_group_reference(ra, rb):
    torch = torch_cuda()
    groups, n, k = len(SPLITS), 48, 256
    rng = np.random.default_rng(5)
    x = torch.from_numpy(rng.standard_normal((sum(SPLITS), k)).astype(np.float32)).cuda()
    w = torch.from_numpy(rng.standard_normal((groups * n, k)).astype(np.float32)).cuda()
    splits = torch.tensor(SPLITS, dtype=torch.int64, device="cuda")
    qa = nvfp4.grouped_quantize(x, splits, recipe=ra)
    qw = nvfp4.grouped_quantize(w, torch.full((groups,), n, dtype=torch.int64,
                                              device="cuda"), recipe=rb)
    b = nvfp4.stack_groups(qw, groups)
    # The stacked view holds the per-group quantizations' bytes.
    parts = [nvfp4.quantize(w[g * n:(g + 1) * n], recipe=rb) for g in range(groups)]
    listed = nvfp4.stack_groups(parts)
    for name in ("data", "scale", "amax"):
        assert torch.equal(getattr(b, name), getattr(listed, name)), name
    bias = torch.randn(groups, n, device="cuda")
    d = nvfp4.grouped_matmul(qa, splits, b, bias=bias, out_dtype="f32")
    assert d.shape == (sum(SPLITS), n) and d.dtype == torch.float32
    for g, (r0, r1) in enumerate(_group_rows(SPLITS)):
        if r0 == r1:
            continue
        pa = nvfp4.quantize(x[r0:r1], recipe=ra)
        ref = reference(host_result(pa), host_result(parts[g]), bias[g].cpu().numpy())
        assert rel_error(d[r0:r1].cpu().numpy(), ref) <= TOLERANCE["f32"], g
    out = torch.empty_like(d)
    assert nvfp4.grouped_matmul(qa, splits, b, bias=bias, out_dtype="f32", out=out) is out
    assert torch.equal(out, d)


def test_grouped_errors_before_any_launch():
    torch = torch_cuda()
    splits = torch.tensor(SPLITS, dtype=torch.int64, device="cuda")
    x = torch.randn(sum(SPLITS), 128, device="cuda")
    qa = nvfp4.grouped_quantize(x, splits, recipe=A_TOKEN)
    plain = nvfp4.quantize(x, recipe=A_TOKEN)
    w = torch.randn(len(SPLITS) * 32, 128, device="cuda")
    b = nvfp4.stack_groups(nvfp4.grouped_quantize(
        w, torch.full((len(SPLITS),), 32, dtype=torch.int64, device="cuda"), recipe=A_TOKEN),
        len(SPLITS))
    out = torch.zeros(sum(SPLITS), 32, dtype=torch.bfloat16, device="cuda")
    sentinel = out.clone()
    for call, message in [
        (lambda: nvfp4.grouped_quantize(x, splits.int()), "contiguous 1-D int64"),
        (lambda: nvfp4.grouped_quantize(x, splits.cpu()), "expected splits on cuda:0"),
        (lambda: nvfp4.grouped_matmul(plain, splits, b, out=out),
         "expected a grouped quantization"),
        (lambda: nvfp4.grouped_matmul(qa, splits[:3], b, out=out),
         "expected 3 groups .* got a quantized in 5"),
        (lambda: nvfp4.grouped_matmul(qa, splits, plain, out=out),
         "b: expected G stacked operands"),
        (lambda: nvfp4.grouped_matmul(qa, splits, b, bias=torch.zeros(32, device="cuda"),
                                      out=out), r"expected a bias of shape \(5, 32\)"),
        (lambda: nvfp4.matmul(qa, plain, out=out), "a is a grouped quantization"),
    ]:
        with pytest.raises(nvfp4.NVFP4Error, match=message):
            call()
    torch.cuda.synchronize()
    assert torch.equal(out, sentinel)


#===------------------------------------------------------------------------===#
# CUDA graphs: capture, change the inputs in place, replay, compare
#===------------------------------------------------------------------------===#

def _fields(q):
    return {n: getattr(q, n) for n in ("data", "scale", "amax", "data_t", "scale_t",
                                       "amax_t", "per_token_scale")
            if getattr(q, n) is not None}


@pytest.mark.parametrize("recipe", ["per_token", "per_tensor", "local_1x64",
                                    "outer = row, directions = [rowwise, columnwise]"])
def test_cuda_graph_quantize_dequantize(recipe):
    torch = torch_cuda()
    x = torch.randn(64, 256, device="cuda", dtype=torch.bfloat16)

    def step():
        q = nvfp4.quantize(x, recipe=recipe)
        fields = _fields(q)  # per_token_scale inside the capture
        fields["dequant"] = nvfp4.dequantize(q)
        return fields

    step()  # compile and load the kernels before capture
    torch.cuda.synchronize()
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        captured = step()
    x.copy_(torch.randn(64, 256, device="cuda", dtype=torch.bfloat16) * 3)
    g.replay()
    torch.cuda.synchronize()
    want = step()
    assert set(captured) == set(want)
    for name in want:
        assert torch.equal(captured[name], want[name]), name


def test_cuda_graph_matmul_and_grouped():
    torch = torch_cuda()
    groups, n, k = len(SPLITS), 32, 128
    x = torch.randn(4, k, device="cuda", dtype=torch.bfloat16)
    xg = torch.randn(sum(SPLITS), k, device="cuda", dtype=torch.bfloat16)
    splits = torch.tensor(SPLITS, dtype=torch.int64, device="cuda")
    qb = nvfp4.quantize(torch.randn(n, k, device="cuda"), recipe="per_tensor_2d, sf_layout = 128x4")
    b = nvfp4.stack_groups(nvfp4.grouped_quantize(
        torch.randn(groups * n, k, device="cuda"),
        torch.full((groups,), n, dtype=torch.int64, device="cuda"), recipe=A_TOKEN), groups)
    bias = torch.randn(n, device="cuda")

    def step():
        qa = nvfp4.quantize(x, recipe=A_TOKEN)
        qg = nvfp4.grouped_quantize(xg, splits, recipe=A_TOKEN)
        # (The grouped scales' trailing padding tiles are written by no
        # kernel: compared through the GEMM that reads them.)
        return {"d": nvfp4.matmul(qa, qb, bias=bias), "gq": qg.data, "ga": qg.amax,
                "gd": nvfp4.grouped_matmul(qg, splits, b, out_dtype="f32")}

    step()
    torch.cuda.synchronize()
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        captured = step()
    x.copy_(torch.randn_like(x))
    xg.copy_(torch.randn_like(xg))
    splits.copy_(torch.tensor([20, 0, 50, 58, 0], device="cuda"))  # same total
    bias.mul_(2)
    g.replay()
    torch.cuda.synchronize()
    want = step()
    for name in want:
        assert torch.equal(captured[name], want[name]), name


#===------------------------------------------------------------------------===#
# CuPy
#===------------------------------------------------------------------------===#

def test_cupy_matmul_same_bytes_as_host():
    cupy = cupy_gpu()
    rng = np.random.default_rng(3)
    x = cupy.asarray(rng.standard_normal((9, 192)).astype(np.float32))
    w = cupy.asarray(rng.standard_normal((40, 192)).astype(np.float32))
    qa = nvfp4.quantize(x, recipe=A_TOKEN)
    qb = nvfp4.quantize(w, recipe="per_tensor, sf_layout = 128x4")
    d = nvfp4.matmul(qa, qb, out_dtype="f32")
    assert isinstance(d, cupy.ndarray) and d.dtype == np.float32
    want = nvfp4.matmul(host_result(qa), host_result(qb), out_dtype="f32",
                        target=_device_target())
    np.testing.assert_array_equal(cupy.asnumpy(d), want)
    with pytest.raises(nvfp4.NVFP4Error, match="CuPy has no bfloat16"):
        nvfp4.matmul(qa, qb)
    bits = cupy.empty((9, 40), dtype=cupy.uint16)
    assert nvfp4.matmul(qa, qb, out=bits) is bits
    want_bf16 = nvfp4.matmul(host_result(qa), host_result(qb), target=_device_target())
    np.testing.assert_array_equal(cupy.asnumpy(bits), _host_bits(want_bf16, "bf16"))
    deq = cupy.empty((9, 192), dtype=cupy.float32)
    assert nvfp4.dequantize(qa, out=deq) is deq
    np.testing.assert_array_equal(cupy.asnumpy(deq), nvfp4.dequantize(host_result(qa)))

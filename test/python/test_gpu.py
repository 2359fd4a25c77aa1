"""The GPU path: DLPack tensors of PyTorch and CuPy quantized on their
device give the CPU path's bytes. Skipped (with the reason) without a GPU,
PyTorch or CuPy."""

import numpy as np
import pytest

from conftest import cupy_gpu, torch_cuda

nvfp4 = pytest.importorskip("nvfp4")

RECIPES = [
    dict(recipe="per_tensor"),
    dict(recipe="per_token"),
    dict(recipe="local_1x64"),
    dict(recipe="per_tensor_rht"),
    dict(recipe="four_over_six"),
    dict(outer="row", rowwise=True, columnwise=True, sf_layout="128x4"),
    dict(rounding="stochastic", seed=3),
]
NAMES = ("data", "scale", "amax", "data_t", "scale_t", "amax_t", "per_token_scale")


def _input(rows=64, cols=256, seed=0):
    x = np.random.default_rng(seed).standard_normal((rows, cols)).astype(np.float32)
    x[1, 2] = np.inf
    x[3, 5] = 0.0
    return x


def _compare(got, want, to_numpy):
    for name in NAMES:
        w = getattr(want, name)
        g = getattr(got, name)
        assert (g is None) == (w is None), name
        if w is not None:
            np.testing.assert_array_equal(to_numpy(g), w, err_msg=name)


@pytest.mark.parametrize("kwargs", RECIPES)
@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16"])
def test_torch_same_bytes_as_cpu(kwargs, dtype):
    torch = torch_cuda()
    x = _input()
    xt = torch.from_numpy(x).to("cuda").to(getattr(torch, dtype))
    # The CPU reference sees the same stored values.
    input_dtype = {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16"}[dtype]
    want = nvfp4.quantize(x, input_dtype=input_dtype, **kwargs)
    got = nvfp4.quantize(xt, **kwargs)
    assert got.data.device == xt.device and got.data.dtype == torch.uint8
    _compare(got, want, lambda t: t.cpu().numpy())


def test_torch_on_a_side_stream():
    torch = torch_cuda()
    x = _input(256, 4096, seed=7)
    want = nvfp4.quantize(x, recipe="per_token")
    s = torch.cuda.Stream()
    with torch.cuda.stream(s):
        xt = torch.from_numpy(x).to("cuda", non_blocking=True)
        got = nvfp4.quantize(xt, recipe="per_token")
    s.synchronize()
    _compare(got, want, lambda t: t.cpu().numpy())


def test_torch_compiled_kernel_reused():
    torch = torch_cuda()
    k = nvfp4.compile("per_token", target="cuda", input_dtype="bf16")
    assert k.image[:4] == b"\x7fELF"
    x = _input(32, 128)
    xt = torch.from_numpy(x).cuda().bfloat16()
    want = nvfp4.quantize(x, recipe="per_token", input_dtype="bf16")
    for _ in range(3):
        _compare(k(xt), want, lambda t: t.cpu().numpy())


def test_torch_errors():
    torch = torch_cuda()
    with pytest.raises(nvfp4.NVFP4Error, match="multiple of 16, got 100"):
        nvfp4.quantize(torch.zeros((4, 100), device="cuda"))
    with pytest.raises(nvfp4.NVFP4Error, match="expected a 2-D array"):
        nvfp4.quantize(torch.zeros((2, 4, 32), device="cuda"))
    with pytest.raises(nvfp4.NVFP4Error, match="unsupported dtype int32"):
        nvfp4.quantize(torch.zeros((4, 32), dtype=torch.int32, device="cuda"))


def test_torch_dequantize():
    torch = torch_cuda()
    x = _input(32, 64)
    q_cpu = nvfp4.quantize(x, recipe="per_token")
    want = nvfp4.dequantize(q_cpu)
    q = nvfp4.quantize(torch.from_numpy(x).cuda(), recipe="per_token")
    got = nvfp4.dequantize(q)
    assert got.device == q.data.device and got.dtype == torch.float32
    np.testing.assert_array_equal(got.cpu().numpy().view(np.uint32), want.view(np.uint32))


@pytest.mark.parametrize("kwargs", RECIPES[:4])
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_cupy_same_bytes_as_cpu(kwargs, dtype):
    cupy = cupy_gpu()
    x = _input()
    xc = cupy.asarray(x).astype(dtype)
    want = nvfp4.quantize(x, input_dtype="fp32" if dtype == "float32" else "fp16", **kwargs)
    got = nvfp4.quantize(xc, **kwargs)
    assert isinstance(got.data, cupy.ndarray)
    _compare(got, want, cupy.asnumpy)

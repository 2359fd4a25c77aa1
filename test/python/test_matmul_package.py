"""nvfp4.matmul: the GEMM of two quantized NumPy matrices, checked against a
float64 product of the dequantized operands (SPEC.md section 12)."""


import numpy as np
import pytest

import nvfp4
from conftest import cuda_driver_loads


def operands(rng, m, n, k, a_outer, b_outer):
    x = rng.standard_normal((m, k)).astype(np.float32)
    w = rng.standard_normal((n, k)).astype(np.float32)
    a = nvfp4.quantize(x, outer=a_outer, sf_layout="128x4")
    b = nvfp4.quantize(w, outer=b_outer, sf_layout="128x4")
    return a, b


def reference(a, b, bias=None, alpha=1.0):
    d = alpha * (nvfp4.dequantize(a).astype(np.float64) @
                 nvfp4.dequantize(b).astype(np.float64).T)
    return d if bias is None else d + bias.astype(np.float64)


@pytest.mark.parametrize("a_outer,b_outer", [("tensor", "tensor"),
                                             ("row", "tensor"),
                                             ("window", "window")])
@pytest.mark.parametrize("out_dtype", ["f32", "bf16", "f16"])
def test_matches_float64(a_outer, b_outer, out_dtype):
    rng = np.random.default_rng(1)
    a, b = operands(rng, 9, 40, 192, a_outer, b_outer)
    bias = rng.standard_normal(40).astype(np.float32)
    d = nvfp4.matmul(a, b, bias=bias, alpha=0.5, out_dtype=out_dtype)
    assert d.shape == (9, 40)
    ref = reference(a, b, bias, 0.5)
    err = np.linalg.norm(d.astype(np.float64) - ref) / np.linalg.norm(ref)
    assert err <= {"f32": 1e-5, "bf16": 4e-3, "f16": 1e-3}[out_dtype], err
    if out_dtype == "bf16":
        # bf16 values held in float32: the low 16 bits are zero.
        assert np.all(d.view(np.uint32) & 0xFFFF == 0)


def test_errors():
    rng = np.random.default_rng(2)
    a, b = operands(rng, 4, 8, 64, "tensor", "tensor")
    with pytest.raises(nvfp4.NVFP4Error, match="out_dtype"):
        nvfp4.matmul(a, b, out_dtype="f64")
    with pytest.raises(nvfp4.NVFP4Error, match=r"bias of shape \(8,\)"):
        nvfp4.matmul(a, b, bias=np.zeros(3, np.float32))
    _, c = operands(rng, 4, 8, 128, "tensor", "tensor")
    with pytest.raises(nvfp4.NVFP4Error, match="share K"):
        nvfp4.matmul(a, c)
    linear = nvfp4.quantize(rng.standard_normal((4, 64)).astype(np.float32))
    with pytest.raises(nvfp4.NVFP4Error, match="128x4"):
        nvfp4.matmul(linear, b)
    with pytest.raises(nvfp4.NVFP4Error, match="target"):
        nvfp4.matmul(a, b, target="gpu")



@pytest.mark.skipif(not cuda_driver_loads(), reason="no CUDA driver")
def test_gpu_target_matches_float64():
    rng = np.random.default_rng(3)
    a, b = operands(rng, 33, 72, 320, "row", "tensor")
    d = nvfp4.matmul(a, b, out_dtype="f32", target="sm_90a")
    ref = reference(a, b)
    assert np.linalg.norm(d - ref) / np.linalg.norm(ref) <= 1e-5


def test_host_buffers_smaller_than_the_recipe_are_rejected():
    # The C ABI checks each host buffer against what the recipe implies: a
    # sliced amax, or another recipe's buffers under this recipe's name, is
    # an error before any read, not a read past the array.
    rng = np.random.default_rng(3)
    a, b = operands(rng, 8, 16, 64, "row", "row")
    a.amax = a.amax[:1]
    with pytest.raises(nvfp4.NVFP4Error,
                       match=r"a: expected the amax buffer to hold 8 float32 values "
                             r"\(8 amaxes for a 8x64 matrix\), got 1"):
        nvfp4.matmul(a, b)
    _, c = operands(rng, 8, 16, 64, "row", "tensor")
    c.recipe = b.recipe  # per-tensor buffers (one amax) named per-token
    with pytest.raises(nvfp4.NVFP4Error, match=r"b: expected the amax buffer .*, got 1$"):
        nvfp4.matmul(operands(rng, 8, 16, 64, "row", "row")[0], c)

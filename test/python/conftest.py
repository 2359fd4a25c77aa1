"""Shared fixtures: where the built tools are."""

import os
import pathlib

import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def cuda_driver_loads() -> bool:
    """Whether the CUDA driver library can be loaded here."""
    import ctypes
    try:
        ctypes.CDLL("libcuda.so.1")
        return True
    except OSError:
        return False

# Kernels compiled by the tests go to a scratch cache, not the user's.
os.environ.setdefault("NVFP4_CACHE_DIR", tempfile.mkdtemp(prefix="nvfp4-pytest-cache-"))


@pytest.fixture(scope="session")
def tools_dir() -> pathlib.Path:
    path = pathlib.Path(os.environ.get("NVFP4_TOOLS_DIR", ROOT / "build" / "bin"))
    if not (path / "nvfp4-quantize").exists():
        pytest.skip(f"nvfp4-quantize not built in {path}")
    return path


@pytest.fixture(scope="session")
def examples_dir() -> pathlib.Path:
    return ROOT / "examples"


def torch_cuda():
    """PyTorch with a CUDA device, else the test is skipped with the reason."""
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    if not torch.cuda.is_available():
        pytest.skip("PyTorch sees no CUDA device")
    return torch


def cupy_gpu():
    """CuPy with a CUDA device, else the test is skipped with the reason."""
    cupy = pytest.importorskip("cupy", reason="CuPy is not installed")
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            pytest.skip("CuPy sees no CUDA device")
    except cupy.cuda.runtime.CUDARuntimeError as e:
        pytest.skip(f"CuPy sees no CUDA device: {e}")
    return cupy


def host_result(q):
    """A QuantizeResult of GPU arrays copied to NumPy (for the host paths)."""
    import nvfp4

    def to_numpy(t):
        if t is None:
            return None
        if hasattr(t, "cpu"):
            return t.cpu().numpy()
        return t.get()  # CuPy

    return nvfp4.QuantizeResult(*(to_numpy(getattr(q, n)) for n in
                                  ("data", "scale", "amax", "data_t", "scale_t", "amax_t")),
                                recipe=q.recipe, groups=q.groups)


def reference(a, b, bias=None, alpha=1.0):
    """alpha * A B^T (+ bias) in float64 from the dequantized host operands."""
    import numpy as np
    import nvfp4
    d = alpha * (nvfp4.dequantize(a).astype(np.float64) @
                 nvfp4.dequantize(b).astype(np.float64).T)
    return d if bias is None else d + np.asarray(bias, np.float64)


def rel_error(got, want):
    import numpy as np
    got = np.asarray(got, np.float64)
    return np.linalg.norm(got - want) / max(np.linalg.norm(want), 1e-30)


# SPEC.md section 12: 1e-5 for f32 output; bf16 and f16 by their rounding.
TOLERANCE = {"f32": 1e-5, "bf16": 4e-3, "f16": 1e-3}

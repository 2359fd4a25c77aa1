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

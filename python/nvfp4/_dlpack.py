"""Arrays of any DLPack framework: where they live, and how to hand arrays
back to their framework.

PyTorch tensors and CuPy arrays are used directly (nvfp4._device); a GPU
array of any other DLPack producer (JAX, ...) is adopted as a PyTorch
tensor or CuPy array through ``from_dlpack`` (no copy; the producer orders
its work before the consumer's current stream), and results go back through
the producer's own ``from_dlpack``.
"""

from __future__ import annotations

import sys

KDL_CPU, KDL_CUDA, KDL_CUDA_HOST, KDL_CUDA_MANAGED = 1, 2, 3, 13


def device_of(x):
    """(DLPack device type, device id), or None for a non-DLPack object."""
    if not hasattr(x, "__dlpack_device__"):
        return None
    kind, index = x.__dlpack_device__()
    return int(kind), int(index)


def is_gpu(x) -> bool:
    dev = device_of(x)
    return dev is not None and dev[0] in (KDL_CUDA, KDL_CUDA_MANAGED)


def framework(x) -> str:
    return type(x).__module__.split(".")[0]


def from_dlpack_of(fw: str):
    """The function turning a DLPack array into one of framework `fw`."""
    mod = sys.modules.get(fw)
    for owner in (getattr(mod, "dlpack", None), getattr(mod, "numpy", None), mod):
        if owner is not None and hasattr(owner, "from_dlpack"):
            return owner.from_dlpack
    return lambda array: array

"""Recipes as the hot path needs them: parsed once, shapes cached.

A recipe argument (preset name, keys, attribute text, or quantize()'s
keyword arguments) resolves once to a RecipeInfo holding its canonical
``#nvfp4.recipe<...>`` text and what the C ABI says about it; the buffer
shapes for a (rows, cols[, groups]) matrix are asked of the C ABI once and
kept. Later calls are dictionary lookups.

Shapes for symbolic sizes (PyTorch's SymInts while tracing) cannot be asked
of the C ABI; ``symbolic_specs`` evaluates the same formulas
(NVFP4Shapes.h) with parameters read off the C ABI's answers for small
probe matrices, and a CPU test checks it against the C ABI.
"""

from __future__ import annotations

import ctypes

from ._lib import NVFP4Error, call

# Outer groups as nvfp4_quantize_shapes reports them.
OUTER_TENSOR, OUTER_ROW, OUTER_WINDOW = 0, 1, 2
# Buffers of a direction, with their element types.
KINDS = (("data", "uint8"), ("scale", "uint8"), ("amax", "float32"))
NAMES = ("data", "scale", "amax", "data_t", "scale_t", "amax_t")


# Sub-buffers of one allocation start on this many bytes.
ALIGN = 256


class Specs:
    """The outputs of one quantization: ``entries`` is a tuple of (slot,
    name, shape, dtype name), slot being the index into the C ABI's six
    buffer addresses (rowwise data, scale, amax, columnwise data, scale,
    amax). ``plan`` lays them out in one allocation of ``plan[0]`` bytes:
    (slot, name, byte offset, shape, row-major strides, is float32) each,
    every offset a multiple of ALIGN."""

    __slots__ = ("entries", "by_name", "plan")

    def __init__(self, entries):
        self.entries = tuple(entries)
        self.by_name = {name: shape for _, name, shape, _ in self.entries}
        offset, items = 0, []
        for slot, name, shape, dtype in self.entries:
            strides, count = [], 1
            for d in reversed(shape):
                strides.insert(0, count)
                count *= d
            wide = dtype == "float32"
            items.append((slot, name, offset, tuple(shape), tuple(strides), wide))
            offset = _ceil_to(offset + count * (4 if wide else 1), ALIGN)
        self.plan = (max(offset, ALIGN), tuple(items))


def _query(fn, text: bytes, *dims):
    present = (ctypes.c_int * 2)()
    shapes = (ctypes.c_int64 * 12)()
    ndims = (ctypes.c_int * 6)()
    outer, bound = ctypes.c_int(), ctypes.c_int()
    call(fn, text, *dims, present, shapes, ndims, ctypes.byref(outer),
         ctypes.byref(bound))
    entries = []
    for d in range(2):
        if not present[d]:
            continue
        for k, (name, dtype) in enumerate(KINDS):
            slot = d * 3 + k
            shape = tuple(int(shapes[slot * 2 + i]) for i in range(ndims[slot]))
            entries.append((slot, NAMES[slot], shape, dtype))
    return Specs(entries), outer.value, bound.value


def _ceil_to(x, tile):
    return (x + tile - 1) // tile * tile


class RecipeInfo:
    """One recipe: canonical text (str and the bytes the C ABI is passed),
    outer group, E4M3 bound, directions, scale layout and cached shapes."""

    def __init__(self, text: str):
        self.text = text
        self.btext = text.encode()
        self._specs = {}
        probe, self.outer, self.bound = _query("nvfp4_quantize_shapes", self.btext, 16, 16)
        self.rowwise = "data" in probe.by_name
        self.columnwise = "data_t" in probe.by_name
        # `amax = given` or `given_encode_scale`: the amaxes are inputs.
        self.given = "amax = given" in text
        # The numerator of each outer encode scale S = RN(numerator / amax):
        # 6E, or RN(1 / global_scale_inv) (FlashInfer's global scale).
        self.numerator = float(6 * self.bound)
        key = "global_scale_inv = 0x"
        if key in text:
            import numpy as np
            digits = text.split(key, 1)[1][:8]
            inv = np.array([int(digits, 16)], np.uint32).view(np.float32)[0]
            self.numerator = float(np.float32(1) / inv)
        # Scale tiles of a 16 x 16 matrix (one 16-block per row): (16, 1)
        # linear, (16, 4) for 8x4, (128, 4) for 128x4.
        scale = probe.by_name["scale" if self.rowwise else "scale_t"]
        self.col_tile = scale[1]
        self.row_tile = 1 if scale[1] == 1 else (128 if scale[0] == 128 else 8)
        self.sf_layout = {1: "linear", 8: "8x4", 128: "128x4"}[self.row_tile]
        self.window = 0
        if self.outer == OUTER_WINDOW:
            # ceil(2^20 / w) differs for every multiple of 16 below 4096.
            dims = (16, 1 << 20) if self.rowwise else (1 << 20, 16)
            wide, _, _ = _query("nvfp4_quantize_shapes", self.btext, *dims)
            count = wide.by_name["amax" if self.rowwise else "amax_t"][1]
            self.window = next(w for w in range(16, 1 << 20, 16)
                               if -(-(1 << 20) // w) == count)

    def specs(self, rows: int, cols: int, groups=None) -> Specs:
        """The output shapes for a rows x cols matrix (grouped into
        ``groups`` groups), from the C ABI once per size."""
        key = (rows, cols, groups)
        specs = self._specs.get(key)
        if specs is None:
            if groups is None:
                specs, _, _ = _query("nvfp4_quantize_shapes", self.btext, rows, cols)
            else:
                specs, _, _ = _query("nvfp4_grouped_quantize_shapes", self.btext,
                                     rows, cols, groups)
            self._specs[key] = specs
        return specs

    def dequantize_sizes(self, rows: int, cols: int):
        """(scale bytes, amax values, scale shape, amax shape) a
        dequantization of a rows x cols matrix reads, from the C ABI once."""
        key = (rows, cols, "dequantize")
        sizes = self._specs.get(key)
        if sizes is None:
            shape = (ctypes.c_int64 * 4)()
            ndim = ctypes.c_int()
            call("nvfp4_dequantize_shapes", self.btext, rows, cols, shape,
                 ctypes.byref(ndim))
            scale = (int(shape[0]), int(shape[1]))
            amax = tuple(int(shape[2 + i]) for i in range(ndim.value))
            count = 1
            for d in amax:
                count *= d
            sizes = self._specs[key] = (scale[0] * scale[1], count, scale, amax)
        return sizes

    def symbolic_specs(self, rows, cols, groups=None) -> Specs:
        """The same shapes for sizes that may be symbolic (SymInt), by the
        formulas of NVFP4Shapes.h; errors are left to the run."""
        entries = []
        for d, (r, c) in enumerate(((rows, cols), (cols, rows))):
            if not (self.rowwise, self.columnwise)[d]:
                continue
            if self.row_tile == 1:
                scale = (r, c // 16)
            else:
                scale_rows = _ceil_to(r, self.row_tile)
                if groups is not None and d == 0:
                    scale_rows = _ceil_to(r + groups * (self.row_tile - 1), self.row_tile)
                scale = (scale_rows, _ceil_to(c // 16, self.col_tile))
            if groups is not None and self.outer == OUTER_TENSOR:
                amax = (groups,)
            elif self.outer == OUTER_TENSOR:
                amax = (1,)
            elif self.outer == OUTER_ROW:
                amax = (groups, r) if groups is not None and d == 1 else (r,)
            else:
                amax = (r, (c + self.window - 1) // self.window)
            for k, (shape, (_, dtype)) in enumerate(zip(((r, c // 2), scale, amax), KINDS)):
                entries.append((d * 3 + k, NAMES[d * 3 + k], shape, dtype))
        return Specs(entries)

    def __repr__(self):
        return f"RecipeInfo({self.text})"


_BY_TEXT = {}


def info_for_text(text: str) -> RecipeInfo:
    """The RecipeInfo of a preset name, keys or attribute text."""
    info = _BY_TEXT.get(text)
    if info is None:
        canonical = canonical_text(text)
        info = _BY_TEXT.get(canonical)
        if info is None:
            info = _BY_TEXT[canonical] = RecipeInfo(canonical)
        _BY_TEXT[text] = info
    return info


def check_text(text) -> bytes:
    """A recipe string as the C ABI is passed it: a str without NUL (C would
    read only up to the first one, silently dropping the keys after it)."""
    if not isinstance(text, str):
        raise NVFP4Error(f"expected a recipe string, got {type(text).__name__}")
    if "\0" in text:
        raise NVFP4Error(f"expected a recipe string without NUL characters, got "
                         f"{text!r}")
    return text.encode()


def canonical_text(text: str) -> str:
    """The full ``#nvfp4.recipe<...>`` text of a preset, keys or attribute."""
    data = check_text(text)
    out = ctypes.create_string_buffer(4096)
    call("nvfp4_recipe_canonical", data, out, len(out))
    return out.value.decode()


# The RecipeInfo of quantize()'s recipe arguments, by their tuple: callers
# look up BY_ARGS first and remember() their text on a miss.
BY_ARGS = {}


def remember(key: tuple, text: str) -> RecipeInfo:
    info = BY_ARGS[key] = info_for_text(text)
    return info

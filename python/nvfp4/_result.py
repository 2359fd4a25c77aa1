"""QuantizeResult: the outputs of one quantization."""

from __future__ import annotations

FIELDS = ("data", "scale", "amax", "data_t", "scale_t", "amax_t")


def _not_compiling():
    return False


# torch.compiler.is_compiling once nvfp4.torch is imported.
compiling = _not_compiling


class QuantizeResult:
    """The outputs of one quantization (None where not produced), as arrays
    of the input's framework and device (on PyTorch, views of one
    allocation).

    ``recipe`` is the recipe's canonical text; ``groups`` the number of
    groups of a grouped quantization (None otherwise). For per-token
    recipes ``per_token_scale`` is FlashInfer's decode multiplier; on the
    GPU it is computed from ``amax`` on first access, on the device (an
    unused multiplier costs nothing; under a CUDA graph, access it inside
    the captured region so that replays refresh it).

    A quantization fused with its producer (``nvfp4.rms_norm_quantize``,
    ``silu_mul_quantize``, ``gelu_tanh_mul_quantize``) also holds the
    producer's outputs: ``rstd`` (RMSNorm's M float32 values 1/rms) and
    ``y`` (the produced matrix, when asked with ``return_y``); both are None
    otherwise.
    """

    rstd = None
    y = None

    def __init__(self, data=None, scale=None, amax=None, data_t=None,
                 scale_t=None, amax_t=None, per_token_scale=None, recipe=None,
                 groups=None):
        self.data, self.scale, self.amax = data, scale, amax
        self.data_t, self.scale_t, self.amax_t = data_t, scale_t, amax_t
        self.recipe, self.groups = recipe, groups
        self._per_token_scale = per_token_scale
        # (function, amax or None for self.amax, e4m3 bound) computing
        # per_token_scale on access.
        self._decode = None
        # The validated device operand (nvfp4._device.Operand), if any.
        self._operand = None
        self._lazy = None

    def __getattr__(self, name):
        # Reached only for attributes not set: the outputs of a GPU
        # quantization still held as one allocation (nvfp4._device), made
        # into views on first access. A decode step that only multiplies
        # the result never pays for them.
        d = self.__dict__
        lazy = d.get("_lazy")
        if lazy is None or name not in FIELDS:
            raise AttributeError(f"'QuantizeResult' object has no attribute {name!r}")
        be, buf, items = lazy
        views = be.views(buf, items)
        if compiling():
            # Traced: views in the graph, no mutation of the object (its
            # new attributes would become graph outputs aliasing `buf`).
            return views.get(name)
        for field in FIELDS:
            if field not in d:
                d[field] = views.get(field)
        d["_lazy"] = None
        return d[name]

    @property
    def per_token_scale(self):
        value = self._per_token_scale
        if value is None and self._decode is not None:
            fn, amax, bound = self._decode
            value = self._per_token_scale = fn(self.amax if amax is None else amax, bound)
            self._decode = None
        return value

    @per_token_scale.setter
    def per_token_scale(self, value):
        self._per_token_scale, self._decode = value, None

    def __getstate__(self):  # the operand cache holds addresses: not copied
        for name in FIELDS:
            getattr(self, name)
        state = dict(self.__dict__)
        state["_operand"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)

    def __repr__(self):
        parts = []
        for name in FIELDS:
            value = getattr(self, name)
            if value is not None:
                parts.append(f"{name}={type(value).__name__}{tuple(value.shape)}")
        if self.groups is not None:
            parts.append(f"groups={self.groups}")
        parts.append(f"recipe={self.recipe!r}")
        return "QuantizeResult(" + ", ".join(parts) + ")"


_FIELD_DEFAULTS = dict.fromkeys(FIELDS)
_DEFAULTS = dict(_per_token_scale=None, _decode=None, _operand=None, _lazy=None)


def new_result(fields, recipe, groups, lazy=None):
    """A QuantizeResult of `fields` (name -> array), or of the lazy views
    `lazy` = (backend, buffer, plan items), without __init__'s keyword
    handling: the hot path's constructor."""
    q = object.__new__(QuantizeResult)
    d = q.__dict__
    d.update(_DEFAULTS)
    if lazy is None:
        d.update(_FIELD_DEFAULTS)
        d.update(fields)
    else:
        d["_lazy"] = lazy
    d["recipe"], d["groups"] = recipe, groups
    return q


def untouched(q) -> bool:
    """Whether `q` still holds its lazy outputs, none replaced."""
    d = q.__dict__
    return d["_lazy"] is not None and "data" not in d and "scale" not in d and "amax" not in d

"""QuantizeResult: the outputs of one quantization."""

from __future__ import annotations

FIELDS = ("data", "scale", "amax", "data_t", "scale_t", "amax_t")


class QuantizeResult:
    """The outputs of one quantization (None where not produced), as arrays
    of the input's framework and device.

    ``recipe`` is the recipe's canonical text; ``groups`` the number of
    groups of a grouped quantization (None otherwise). For per-token
    recipes ``per_token_scale`` is FlashInfer's decode multiplier; on the
    GPU it is computed from ``amax`` on first access, on the device (an
    unused multiplier costs nothing; under a CUDA graph, access it inside
    the captured region so that replays refresh it).
    """

    def __init__(self, data=None, scale=None, amax=None, data_t=None,
                 scale_t=None, amax_t=None, per_token_scale=None, recipe=None,
                 groups=None):
        self.data, self.scale, self.amax = data, scale, amax
        self.data_t, self.scale_t, self.amax_t = data_t, scale_t, amax_t
        self.recipe, self.groups = recipe, groups
        self._per_token_scale = per_token_scale
        # (function, amax, e4m3 bound) computing per_token_scale on access.
        self._decode = None
        # The validated device operand (nvfp4._device.Operand), if any.
        self._operand = None

    @property
    def per_token_scale(self):
        value = self._per_token_scale
        if value is None and self._decode is not None:
            fn, amax, bound = self._decode
            value = self._per_token_scale = fn(amax, bound)
            self._decode = None
        return value

    @per_token_scale.setter
    def per_token_scale(self, value):
        self._per_token_scale, self._decode = value, None

    def __getstate__(self):  # the operand cache holds addresses: not copied
        state = dict(self.__dict__)
        state["_operand"] = None
        return state

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


_DEFAULTS = dict(data=None, scale=None, amax=None, data_t=None, scale_t=None,
                 amax_t=None, _per_token_scale=None, _decode=None, _operand=None)


def new_result(fields, recipe, groups):
    """A QuantizeResult of `fields` (name -> array) without __init__'s
    keyword handling: the hot path's constructor."""
    q = object.__new__(QuantizeResult)
    d = q.__dict__
    d.update(_DEFAULTS)
    d.update(fields)
    d["recipe"], d["groups"] = recipe, groups
    return q

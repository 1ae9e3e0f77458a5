"""Packing parameters into one flat buffer, so that an optimiser updates them all with
a handful of NumPy calls instead of a few calls per array.

Only layers that write their gradients in place (``grads_in_place = True``, as
``Linear`` and ``BatchNorm1d`` do) are packed: their ``w``, ``dw``, ... become views
into two flat arrays, with the same shapes and values. Element-wise update formulas
give the same numbers on the flat arrays as on each array in turn.
"""

from __future__ import annotations

import numpy as np

from barenet.layers import Parameter


class PackedParameters:
    """Several parameters of one dtype, stored as views into ``value`` and ``grad``.

    Attributes
    ----------
    value, grad : ndarray, shape (total_size,)
    members : list of Parameter
    """

    def __init__(self, members: list[Parameter]) -> None:
        self.members = members
        dtype = members[0].value.dtype
        total = sum(p.value.size for p in members)
        self.value = np.empty(total, dtype=dtype)
        self.grad = np.zeros(total, dtype=dtype)
        self.rebind()

    def rebind(self) -> None:
        """Copy the members' current arrays into the buffers and make them views."""
        offset, self._views = 0, []
        for p in self.members:
            value, grad = p.value, p.grad
            end = offset + value.size
            self.value[offset:end] = value.reshape(-1)
            self.grad[offset:end] = grad.reshape(-1)
            value_view = self.value[offset:end].reshape(value.shape)
            grad_view = self.grad[offset:end].reshape(value.shape)
            setattr(p.layer, p.name, value_view)
            setattr(p.layer, "d" + p.name, grad_view)
            self._views.append((p.layer, p.name, value_view, grad_view))
            offset = end

    def intact(self) -> bool:
        """False if a layer has replaced one of its arrays since packing."""
        for layer, name, value_view, grad_view in self._views:
            attributes = vars(layer)
            if attributes[name] is not value_view or attributes["d" + name] is not grad_view:
                return False
        return True

    def __repr__(self) -> str:
        return f"PackedParameters({len(self.members)} arrays, {self.value.size} values)"


def packable(param: Parameter) -> bool:
    return bool(getattr(param.layer, "grads_in_place", False))


def pack(params: list[Parameter]) -> list:
    """The optimiser's slots: one ``PackedParameters`` per dtype for the packable
    parameters (in their order), then the others as they are."""
    slots, by_dtype = [], {}
    for p in params:
        if packable(p):
            by_dtype.setdefault(p.value.dtype, []).append(p)
        else:
            slots.append(p)
    return [PackedParameters(members) for members in by_dtype.values()] + slots

"""Parameters packed into one flat buffer, for fused optimiser steps.

Element-wise update formulas (every built-in optimiser's) give the same numbers on
one flat array as on each parameter in turn, with a few NumPy calls in all.
"""

from __future__ import annotations

import numpy as np

from barenet.errors import BarenetValueError


class FlatParameters:
    """Parameters of one dtype whose values and gradients are views into two buffers.

    While packed, each ``layer.<name>`` (and ``layer.d<name>``) is a view into
    ``value`` (``grad``), with the same shape and values; ``unpack`` copies the values
    back into the layer's original arrays and restores them, so a reference taken
    before packing sees every update.

    Attributes
    ----------
    value, grad : ndarray, shape (total_size,)
    members : list of Parameter
    state : dict
        The optimiser's state for the whole buffer (flat arrays and the step count).
    """

    def __init__(self, members: list) -> None:
        self.members = members
        total = sum(p.value.size for p in members)
        dtype = members[0].value.dtype
        self.value = np.empty(total, dtype=dtype)
        self.grad = np.zeros(total, dtype=dtype)
        self.state: dict = {}
        self.originals = [p.value for p in members]
        self.views = []
        offset = 0
        for p in members:
            end = offset + p.value.size
            self.value[offset:end] = p.value.reshape(-1)
            self.grad[offset:end] = np.asarray(p.grad).reshape(-1)
            value_view = self.value[offset:end].reshape(p.value.shape)
            grad_view = self.grad[offset:end].reshape(p.value.shape)
            setattr(p.layer, p.name, value_view)
            setattr(p.layer, "d" + p.name, grad_view)
            self.views.append((value_view, grad_view, offset, end))
            offset = end

    def intact(self) -> bool:
        """False if a layer has replaced one of its parameter arrays since packing."""
        return all(
            vars(p.layer)[p.name] is value_view
            for p, (value_view, _, _, _) in zip(self.members, self.views, strict=True)
        )

    def gather_grads(self) -> None:
        """Copy into ``grad`` every gradient a layer wrote to a new array (as the
        notebook's ``backward`` does), and point the layer back at its view."""
        for p, (_, grad_view, _, _) in zip(self.members, self.views, strict=True):
            grad = vars(p.layer)["d" + p.name]
            if grad is not grad_view:
                grad_view[...] = grad
                setattr(p.layer, "d" + p.name, grad_view)

    def member_state(self, index: int) -> dict:
        """The optimiser state of one member: slices of the flat state arrays."""
        _, _, start, end = self.views[index]
        shape = self.members[index].value.shape
        return {
            k: (v[start:end].reshape(shape).copy() if isinstance(v, np.ndarray) else v)
            for k, v in self.state.items()
        }

    def set_member_states(self, states: list[dict]) -> None:
        """Rebuild the flat state from one state dict per member (same keys in each)."""
        self.state = {}
        keys = set().union(*states) if states else set()
        for key in keys:
            values = [s.get(key) for s in states]
            if any(v is None for v in values):
                raise BarenetValueError(f"optimiser state {key!r} is missing for some parameters")
            if isinstance(values[0], np.ndarray):
                self.state[key] = np.concatenate([np.reshape(v, -1) for v in values]).astype(
                    self.value.dtype
                )
            else:
                self.state[key] = values[0]

    def unpack(self) -> None:
        """Copy the values back into the layers' original arrays and restore those."""
        for p, original, (value_view, _, _, _) in zip(
            self.members, self.originals, self.views, strict=True
        ):
            if vars(p.layer)[p.name] is value_view:
                original[...] = value_view
                setattr(p.layer, p.name, original)
                setattr(p.layer, "d" + p.name, np.array(vars(p.layer)["d" + p.name]))

    def __repr__(self) -> str:
        return f"FlatParameters({len(self.members)} arrays, {self.value.size} values)"


def pack(params: list) -> list[FlatParameters]:
    """One ``FlatParameters`` per dtype, members in the parameters' order."""
    by_dtype: dict = {}
    for p in params:
        by_dtype.setdefault(p.value.dtype, []).append(p)
    return [FlatParameters(members) for members in by_dtype.values()]

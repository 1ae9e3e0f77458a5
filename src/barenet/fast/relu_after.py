"""A matrix-product step and the ``Relu`` after it, the Relu applied in place.

``Relu``'s own methods keep a 0/1 mask and write two new arrays per batch (the mask
and the output), then one more in backward. After a step whose forward returns a new
array of its own (``Linear``, a shared ``EnsembleLinear``, the ensemble block), the
Relu can be applied to that array in place::

    out = step.forward(x)            # a new array, referenced by nothing else
    np.maximum(out, 0, out=out)      # max(0, x), as the notebook writes it

and its backward multiplies by ``out > 0`` (the same elements as ``inp > 0``), in place
when the gradient coming back is a new array too. The numbers are those of the Relu's
own methods: ``x * 1`` is ``x`` and ``g * 0`` is ``g * 0`` either way; only the sign of
a zero output may differ (``-0.0`` from ``x * 0`` for a negative ``x``), which adds the
same to every sum.

``FusedStep`` uses this for the notebook's ``Linear, Relu`` and for the tabular
recipe's shared layers; ``tests/test_fast.py`` checks the weights against the layers'
own methods.
"""

from __future__ import annotations

import numpy as np

from barenet.activations import Relu
from barenet.ensemble import EnsembleLinear
from barenet.fast.ensemble_block import ScaledEnsembleBlock
from barenet.layers import Linear


def gives_new_array(step) -> bool:
    """Whether ``step``'s forward and backward (as ``FusedStep`` runs them) return new
    arrays that nothing else references, so the next step may change them in place."""
    return isinstance(step, (ReluAfter, ScaledEnsembleBlock)) or type(step) in (
        Linear,
        EnsembleLinear,
    )


class ReluAfter:
    """``step`` followed by ``relu``: the forward's new output made ``max(0, out)`` in
    place, the backward's gradient masked by ``out > 0``.

    Shapes: as ``step``: x (batch_size, in) -> out (batch_size, out).

    ``backward_of(step, grad)`` is how the owner runs ``step``'s backward (``FusedStep``
    writes ``Linear``'s gradients in place); ``grad_is_new`` says whether the gradient
    arriving from the step after is a new array this one may overwrite.
    """

    def __init__(self, step, relu: Relu, backward_of, grad_is_new: bool = False) -> None:
        self.step, self.relu = step, relu
        self.backward_of = backward_of
        self.grad_is_new = grad_is_new
        self.out = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        out = self.step.forward(x)
        np.maximum(out, 0, out=out)
        self.out = out
        return out

    def backward(self, up_grad: np.ndarray, input_grad: bool = True):
        where = up_grad if self.grad_is_new else None
        grad = np.multiply(up_grad, self.out > 0, out=where)
        return self.backward_of(self.step, grad, input_grad)


def fuse_relus(steps: list, backward_of) -> list:
    """``steps`` with each product step followed by a built-in ``Relu`` run as one
    ``ReluAfter`` (exact types: a subclass of Relu runs its own methods)."""
    fused, i = [], 0
    while i < len(steps):
        step = steps[i]
        if i + 1 < len(steps) and gives_new_array(step) and type(steps[i + 1]) is Relu:
            fused.append(ReluAfter(step, steps[i + 1], backward_of))
            i += 2
        else:
            fused.append(step)
            i += 1
    for step, after in zip(fused[:-1], fused[1:], strict=True):  # whose gradient is new
        if isinstance(step, ReluAfter):
            step.grad_is_new = gives_new_array(after)
    return fused

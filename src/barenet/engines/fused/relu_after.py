"""A matrix-product step and the ``Relu`` after it: bias and Relu in one pass.

``Relu``'s own methods keep a 0/1 mask and write two new arrays per batch (the mask
and the output), then one more in backward; the product's bias is one more pass each
way. After a step whose forward returns a new array of its own (``Linear``, a shared
``EnsembleLinear``, the ensemble block, ``FeatureLinear``), all of that happens in the
product's output,
in place::

    out = x @ w                              # the product, a new array (products.py)
    out = (out + b) * (out + b > 0)          # one loop: Linear's bias, Relu.forward
    grad = grad * (out > 0);  db = sum(grad) # one loop back: Relu.backward, the bias's
    dw, dx = products' backward of grad      # gradient; then the product's own

The loops are ``barenet.engines.fused.loops`` (numba) on arrays large enough to gain
(``loop_dispatch.loops_for``) and NumPy's passes on smaller ones, with the same numbers: exactly
those of the layers' own methods, signed zeros and NaN included (``-inf * 0`` is NaN
either way, so divergence is caught as before; ``np.maximum`` would have made it 0).
A step ``products.product_of`` does not split (a per-member ``EnsembleLinear``) runs
its own forward and backward, with only the Relu applied in place.

``FusedStep`` uses this for the notebook's ``Linear, Relu`` and for the tabular
recipe's shared layers; ``tests/engines/test_relu_after.py`` checks the numbers against the
layers' own methods.
"""

from __future__ import annotations

import numpy as np

from barenet.activations import Relu
from barenet.engines.fused.ensemble_block import ScaledEnsembleBlock
from barenet.engines.fused.loop_dispatch import loops_for
from barenet.engines.fused.products import product_of
from barenet.functional import mirrors
from barenet.layers import Linear
from barenet.tabular.embeddings import FeatureLinear
from barenet.tabular.ensemble import EnsembleLinear


@mirrors("barenet.layers.Linear.forward", "barenet.activations.Relu.forward")
def bias_relu(out: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """``out = Relu(out + bias)`` in place; out (batch_size, width), bias (width,)."""
    loops = loops_for(out, bias, shapes=(out.shape, out.shape[1:])) if out.ndim == 2 else None
    if loops is None:
        out += bias
        np.multiply(out, out > 0, out=out)
    else:
        loops.bias_relu(out, bias)
    return out


@mirrors("barenet.activations.Relu.backward", "barenet.layers.Linear.backward")
def relu_grad_and_bias_sum(grad, out, db, in_place: bool) -> np.ndarray:
    """``grad * (out > 0)``, into ``grad`` itself if ``in_place``, and its sum over the
    batch written into ``db``: grad, out (batch_size, width), db (width,)."""
    # (NumPy sums a single column pairwise, not row after row: that one stays NumPy's)
    shapes = (grad.shape, grad.shape, grad.shape[1:])
    loops = (
        loops_for(grad, out, db, shapes=shapes) if grad.ndim == 2 and grad.shape[1] > 1 else None
    )
    if loops is None:
        result = np.multiply(grad, out > 0, out=grad if in_place else None)
        np.add.reduce(result, 0, None, db)
        return result
    result = grad if in_place else grad.copy()  # the loop is fastest in place
    loops.relu_grad_and_bias_sum(result, out, db)
    return result


def gives_new_array(step) -> bool:
    """Whether ``step``'s forward and backward (as ``FusedStep`` runs them) return new
    arrays that nothing else references, so the next step may change them in place."""
    return isinstance(step, (ReluAfter, ScaledEnsembleBlock)) or type(step) in (
        Linear,
        EnsembleLinear,
        FeatureLinear,
    )


class ReluAfter:
    """``step`` followed by a built-in ``Relu``: the forward's new output made
    ``Relu(out + b)`` in place, the backward's gradient masked by ``out > 0`` and summed
    for ``db``.

    Shapes: as ``step``: x (batch_size, in) -> out (batch_size, out).

    ``backward_of(step, grad, input_grad)`` is how the owner runs ``step``'s whole
    backward where the step has no product without its bias; ``grad_is_new`` says
    whether the gradient arriving from the step after is a new array this one may
    overwrite.
    """

    def __init__(self, step, backward_of, grad_is_new: bool = False) -> None:
        self.step = step
        self.backward_of = backward_of
        self.grad_is_new = grad_is_new
        self.product = product_of(step)
        self.out = None
        self.split = False  # whether the last forward left the bias to this step

    def forward(self, x: np.ndarray) -> np.ndarray:
        out = None if self.product is None else self.product.forward(x)
        self.split = out is not None
        if self.split:
            bias_relu(out, self.product.bias_row())
        else:  # the step's own forward (its message, for a wrong input), then the Relu
            out = self.step.forward(x)
            np.multiply(out, out > 0, out=out)
        self.out = out
        return out

    def backward(self, up_grad: np.ndarray, input_grad: bool = True):
        db = self.product.bias_grad_row() if self.split else None
        if db is None:
            where = up_grad if self.grad_is_new else None
            grad = np.multiply(up_grad, self.out > 0, out=where)
            return self.backward_of(self.step, grad, input_grad)
        grad = relu_grad_and_bias_sum(up_grad, self.out, db, in_place=self.grad_is_new)
        return self.product.backward(grad, input_grad)


def fuse_relus(steps: list, backward_of) -> list:
    """``steps`` with each product step followed by a built-in ``Relu`` run as one
    ``ReluAfter`` (exact types: a subclass of Relu runs its own methods)."""
    fused, i = [], 0
    while i < len(steps):
        step = steps[i]
        if i + 1 < len(steps) and gives_new_array(step) and type(steps[i + 1]) is Relu:
            fused.append(ReluAfter(step, backward_of))  # the Relu is the built-in one
            i += 2
        else:
            fused.append(step)
            i += 1
    for step, after in zip(fused[:-1], fused[1:], strict=True):  # whose gradient is new
        if isinstance(step, ReluAfter):
            step.grad_is_new = gives_new_array(after)
    return fused

"""A product step's forward and backward with its bias left out, for ``ReluAfter``.

``barenet.engines.fused.relu_after`` adds the bias, applies the Relu and, going back, sums the
bias's gradient in the loops that already touch the product's output
(``barenet.engines.fused.loops``). It needs the product without the bias, the bias as one
row, and the backward of the rest. For the four steps it fuses::

    Linear                  out = inp @ w                       bias b       (1, out)
    EnsembleLinear(shared)  out = (inp as batch * k rows) @ w   bias b       (k, out)
    ScaledEnsembleBlock     out = x @ scaled                    bias b       (k, out)
    FeatureLinear           out_j = inp_j @ w_j, feature by     bias b       (F, out)
                            feature, laid out (batch, F * out)

each bias read as one row of ``out``'s width. The numbers are the layers' own (the
ensemble block's, as ever, to rounding): ``forward`` is theirs without the
``out += b`` line, ``backward`` theirs without the ``db`` line
(``tests/engines/test_products.py``, ``tests/engines/test_relu_after.py``).
"""

from __future__ import annotations

import numpy as np

from barenet.engines.fused.ensemble_block import ScaledEnsembleBlock
from barenet.engines.fused.loop_dispatch import loops_for
from barenet.functional import mirrors
from barenet.layers import Linear
from barenet.tabular.embeddings import FeatureLinear
from barenet.tabular.ensemble import EnsembleLinear


@mirrors("barenet.layers.Linear.backward")
def linear_backward(layer: Linear, up_grad: np.ndarray, input_grad=True, bias_grad=True):
    """``Linear.backward``, writing ``dw`` (and ``db`` unless ``bias_grad=False``) in
    place; ``input_grad=False`` skips the input's gradient and returns None."""
    np.matmul(layer.inp.T, up_grad, out=layer.dw)
    if bias_grad:  # up_grad.sum(axis=0, keepdims=True), without np.sum's overhead
        np.add.reduce(up_grad, 0, None, layer.db.reshape(-1))
    if not input_grad:
        return None
    if layer.out_dim == 1:  # each element is one product either way
        return up_grad * layer.w.T
    return up_grad @ layer.w.T


class _Product:
    """The adapter's contract; ``layer`` owns ``b`` and ``db``."""

    def __init__(self, step, layer) -> None:
        self.step, self.layer = step, layer

    def bias_row(self) -> np.ndarray:
        """The bias as one row of the output's width (a view: read when used, since a
        fused optimiser may have replaced the array)."""
        return self.layer.b.reshape(-1)

    def bias_grad_row(self) -> np.ndarray | None:
        """The bias's gradient as one row to write into, or None where no view of it
        can be had (then the step's own backward writes it)."""
        db = self.layer.db
        return db.reshape(-1) if db.flags.c_contiguous and db.flags.writeable else None


class LinearProduct(_Product):
    def forward(self, x: np.ndarray) -> np.ndarray | None:
        """x @ w; None for a wrong input (``Linear.forward`` then gives its message)."""
        layer = self.layer
        if x.ndim != 2 or x.shape[1] != layer.in_dim:
            return None
        layer.inp = x
        return x @ layer.w

    def backward(self, grad: np.ndarray, input_grad: bool = True):
        return linear_backward(self.layer, grad, input_grad, bias_grad=False)


class SharedEnsembleProduct(_Product):
    def forward(self, x: np.ndarray) -> np.ndarray | None:
        layer = self.layer
        if x.ndim != 2 or x.shape[1] != layer.k * layer.in_dim:
            return None
        batch_size = len(x)
        layer.inp = x.reshape(batch_size * layer.k, layer.in_dim)
        return (layer.inp @ layer.w).reshape(batch_size, -1)

    def backward(self, grad: np.ndarray, input_grad: bool = True):
        layer = self.layer
        rows = grad.reshape(len(grad) * layer.k, layer.out_dim)
        np.matmul(layer.inp.T, rows, out=layer.dw)
        if not input_grad:
            return None
        return (rows @ layer.w.T).reshape(len(grad), -1)


class FeatureProduct(_Product):
    """``FeatureLinear``: one small product per feature, (F, batch, in) @ (F, in, out),
    laid out as (batch, F * out); its bias, (F, out), is one row of that width."""

    def forward(self, x: np.ndarray) -> np.ndarray | None:
        layer = self.layer
        if x.ndim != 2 or x.shape[1] != layer.n_features * layer.in_dim:
            return None
        layer.inp = x.reshape(len(x), layer.n_features, layer.in_dim).transpose(1, 0, 2)
        return np.ascontiguousarray((layer.inp @ layer.w).transpose(1, 0, 2)).reshape(len(x), -1)

    def backward(self, grad: np.ndarray, input_grad: bool = True):
        layer = self.layer
        by_feature = grad.reshape(len(grad), layer.n_features, layer.out_dim).transpose(1, 0, 2)
        np.matmul(layer.inp.transpose(0, 2, 1), by_feature, out=layer.dw)
        if not input_grad:
            return None
        down_grad = by_feature @ layer.w.transpose(0, 2, 1)
        return down_grad.transpose(1, 0, 2).reshape(len(grad), -1)


class BlockProduct(_Product):
    def forward(self, x: np.ndarray) -> np.ndarray | None:
        return self.step.product(x)

    def backward(self, grad: np.ndarray, input_grad: bool = True):
        return self.step.product_backward(grad, input_grad)


@mirrors("barenet.tabular.ensemble.EnsembleLinear.backward")
def member_head_backward(layer: EnsembleLinear, up_grad: np.ndarray, input_grad=True):
    """``EnsembleLinear.backward`` of a per-member head (``shared=False``, one output):
    the same numbers, the input's gradient ``up_grad[b, m] * w[m, :, 0]`` written by one
    loop instead of NumPy's broadcast (several times slower on these shapes).

    up_grad : ndarray, shape (batch_size, k) -> (batch_size, k * in_dim)
    """
    batch_size, k = len(up_grad), layer.k
    members = up_grad.reshape(batch_size, k, 1)
    layer.db[...] = members.sum(axis=0)
    np.matmul(layer.inp.transpose(0, 2, 1), members.transpose(1, 0, 2), out=layer.dw)
    if not input_grad:
        return None
    w = layer.w.reshape(k, layer.in_dim)
    out = np.empty((batch_size, k * layer.in_dim), dtype=np.result_type(up_grad, w))
    up_grad = np.ascontiguousarray(up_grad)  # the loss's gradient may be a strided view
    loops = loops_for(out, w, up_grad, shapes=(out.shape, (k, layer.in_dim), (batch_size, k)))
    if loops is None:
        return (members * w[None]).reshape(batch_size, -1)
    loops.member_products(up_grad, w, out)
    return out


def is_member_head(step) -> bool:
    return type(step) is EnsembleLinear and not step.shared and step.out_dim == 1


def product_of(step) -> _Product | None:
    """The adapter for ``step``, or None where ``ReluAfter`` runs the step's own
    forward and backward and only the Relu in place."""
    if type(step) is Linear:
        return LinearProduct(step, step)
    if type(step) is EnsembleLinear and step.shared:
        return SharedEnsembleProduct(step, step)
    if isinstance(step, ScaledEnsembleBlock):
        return BlockProduct(step, step.linear)
    if type(step) is FeatureLinear:
        return FeatureProduct(step, step)
    return None

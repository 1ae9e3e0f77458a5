"""TabM-mini's entry as one matrix product: ``Ensemble``, ``MemberScale``, ``EnsembleLinear``.

The three layers copy each row ``x`` to ``k`` members, multiply member ``m``'s copy by
its vector ``r[m]`` and apply the shared matrix ``w`` with member ``m``'s bias ``b[m]``::

    out_m = (x * r[m]) @ w + b[m] = x @ (r[m][:, None] * w) + b[m]

So the block is one product of the batch, ``(batch, d)``, with the ``k`` scaled
matrices side by side, ``(d, k * out)``: the same multiply-adds as the layers' own
product over ``batch * k`` rows, without writing the ``k`` copies and their scaled
version to memory (two passes over ``(batch, k, d)`` each way). Backward::

    p = x.T @ grad                      (d, k * out), every member's x.T @ grad_m
    dw = sum_m r[m][:, None] * p_m      dr[m] = rowsum(w * p_m)      db[m] = sum grad_m
    dx = grad @ scaled.T                the members' summed input gradients

``FusedStep`` runs the three layers this way when they follow each other. The sums
are grouped differently from the layers' own methods, so the two agree to rounding
(``tests/engines/test_fast.py``), not bit for bit.
"""

from __future__ import annotations

import numpy as np

from barenet.engines.fused.loop_dispatch import loops_for
from barenet.tabular.ensemble import Ensemble, EnsembleLinear, MemberScale


def starts_block(layers, i: int) -> bool:
    """Whether ``layers[i:i + 3]`` are ``Ensemble``, ``MemberScale`` and a shared
    ``EnsembleLinear`` with matching sizes (exact types: subclasses run their own code)."""
    if i + 3 > len(layers):
        return False
    copies, scale, linear = layers[i : i + 3]
    return (
        type(copies) is Ensemble
        and type(scale) is MemberScale
        and type(linear) is EnsembleLinear
        and linear.shared
        and copies.k == scale.k == linear.k
        and copies.dim == scale.dim == linear.in_dim
    )


class ScaledEnsembleBlock:
    """Forward and backward of ``[Ensemble, MemberScale, EnsembleLinear(shared)]``.

    Shapes: x (batch_size, d) -> out (batch_size, k * out_dim), as the three layers.
    The gradients go into the layers' own ``scale.dr``, ``linear.dw`` and ``linear.db``.
    """

    def __init__(self, copies: Ensemble, scale: MemberScale, linear: EnsembleLinear) -> None:
        self.copies, self.scale, self.linear = copies, scale, linear
        self.k, self.dim, self.out_dim = linear.k, linear.in_dim, linear.out_dim

    def forward(self, x: np.ndarray) -> np.ndarray:
        out = self.product(x)
        if out is None:  # the layers' own message
            return self.copies.forward(x)
        out += self.linear.b.reshape(-1)
        return out

    def product(self, x: np.ndarray) -> np.ndarray | None:
        """``x @ scaled``, the output without the bias; None for a wrong input."""
        if x.ndim != 2 or x.shape[1] != self.dim:
            return None
        self.copies.inp = self.x = x
        r, w = self.scale.r, self.linear.w
        loops = loops_for(r, w, shapes=((self.k, self.dim), (self.dim, self.out_dim)))
        if loops is None:  # (d, k, out): member m's matrix r[m][:, None] * w, side by side
            self.scaled = (r.T[:, :, None] * w[:, None, :]).reshape(self.dim, -1)
        else:  # the same products, in one loop (several times faster)
            self.scaled = np.empty((self.dim, self.k * self.out_dim), dtype=w.dtype)
            loops.scaled_matrices(r, w, self.scaled)
        return x @ self.scaled

    def backward(self, up_grad: np.ndarray, input_grad: bool = True):
        np.add.reduce(up_grad, 0, None, self.linear.db.reshape(-1))
        return self.product_backward(up_grad, input_grad)

    def product_backward(self, up_grad: np.ndarray, input_grad: bool = True):
        """The gradients of ``w`` and ``r`` (and of ``x``, unless ``input_grad`` is
        False), the bias's left to the caller."""
        k, out_dim = self.k, self.out_dim
        by_member = (self.x.T @ up_grad).reshape(self.dim, k, out_dim)  # p_m, (d, k, out)
        r, w = self.scale.r, self.linear.w
        # for each input i, a small product over the members (and one over the outputs)
        r_t = np.ascontiguousarray(r.T)[:, None, :]  # (d, 1, k)
        self.linear.dw[...] = np.matmul(r_t, by_member)[:, 0, :]
        self.scale.dr[...] = np.matmul(by_member, w[:, :, None])[:, :, 0].T
        if not input_grad:
            return None
        return up_grad @ self.scaled.T

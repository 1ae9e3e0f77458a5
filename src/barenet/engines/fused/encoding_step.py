"""``PiecewiseLinearEncoding``'s forward in one compiled loop, for ``FusedStep``.

The layer's own forward makes three passes over ``(batch, features, bins)`` (the
difference, the division, ``np.clip``) and a fourth for the clip's bounds;
``barenet.engines.fused.loops.piecewise_linear`` computes ``raw`` and the clipped output in one,
with NumPy's numbers bit for bit (``tests/engines/test_loops.py``). The backward is the layer's
own (``FusedStep`` skips it when, as in the tabular recipe, no parameter comes before).
"""

from __future__ import annotations

import numpy as np

from barenet.engines.fused.loop_dispatch import loops_for
from barenet.tabular.embeddings import PiecewiseLinearEncoding


class PiecewiseStep:
    """Runs ``layer.forward`` as one loop (leaving ``layer.inp`` and ``layer.raw`` as
    the layer's own would), and ``layer.backward`` as it is.

    Shapes: x (batch_size, n_features) -> out (batch_size, n_features * n_bins).
    """

    param_names = ()

    def __init__(self, layer: PiecewiseLinearEncoding) -> None:
        self.layer = layer

    def forward(self, x: np.ndarray) -> np.ndarray:
        layer = self.layer
        if x.ndim != 2 or x.shape[1] != layer.n_features:  # the layer's own message
            return layer.forward(x)
        raw = np.empty((len(x), layer.n_features, layer.n_bins), dtype=layer.left.dtype)
        table = raw.shape[1:]  # (n_features, n_bins), as left, width, low and high
        arrays = (raw, x, layer.left, layer.width, layer.low, layer.high)
        loops = loops_for(*arrays, shapes=(raw.shape, x.shape) + (table,) * 4)
        if loops is None:
            return layer.forward(x)
        out = np.empty_like(raw)
        loops.piecewise_linear(x, layer.left, layer.width, layer.low, layer.high, raw, out)
        layer.inp, layer.raw = x, raw
        return out.reshape(len(x), -1)

    def backward(self, up_grad: np.ndarray) -> np.ndarray:
        return self.layer.backward(up_grad)

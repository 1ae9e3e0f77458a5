"""``check_gradients``: compare a layer's or a loss's backward with finite differences.

The same check the test suite runs on every built-in layer and loss, for a learner
to run on their own (say, a ``Tanh`` written from the notebook's contract)::

    >>> report = barenet.check_gradients(MyTanh(), np.random.randn(4, 3))
    >>> report.ok, report.errors
    (True, {'input': 3.1e-11})
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from barenet.errors import BarenetTypeError, BarenetValueError
from barenet.losses import Loss


@dataclass
class GradientReport:
    """The worst relative error of each gradient: ``{"input": ..., "w": ..., "b": ...}``
    (``"prediction"`` for a loss), and whether all are within ``tolerance``.

    ``differences`` holds the worst absolute difference of each: a gradient whose
    values are all tiny also passes when that is below ``atol``, the accuracy of
    central differences themselves (their round-off is about 1e-10 for ``eps=1e-6``).
    """

    errors: dict[str, float]
    tolerance: float
    differences: dict[str, float] | None = None
    atol: float = 1e-9

    @property
    def ok(self) -> bool:
        differences = self.differences or {}
        return all(
            e <= self.tolerance or differences.get(name, np.inf) <= self.atol
            for name, e in self.errors.items()
        )

    def __str__(self) -> str:
        differences = self.differences or {}
        lines = [
            f"{name:<12} worst relative error {e:.2e}"
            + (f" (absolute {differences[name]:.1e})" if name in differences else "")
            for name, e in self.errors.items()
        ]
        verdict = "all within" if self.ok else "NOT all within"
        return "\n".join([*lines, f"{verdict} tolerance {self.tolerance:g}"])


def _relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """max |a - n| / max(|a| + |n|): 0 when equal, about 1 when unrelated."""
    scale = float(np.max(np.abs(analytic) + np.abs(numeric), initial=0.0))
    if scale == 0.0:
        return 0.0
    return float(np.max(np.abs(analytic - numeric))) / scale


def _report(pairs: dict, tolerance: float, atol: float) -> GradientReport:
    """The report of ``{name: (analytic, numeric)}``."""
    return GradientReport(
        {name: _relative_error(a, n) for name, (a, n) in pairs.items()},
        tolerance,
        {name: float(np.max(np.abs(a - n), initial=0.0)) for name, (a, n) in pairs.items()},
        atol,
    )


def _numeric_gradient(f, array: np.ndarray, eps: float) -> np.ndarray:
    """Central differences of the scalar ``f()`` with respect to ``array``, in place."""
    grad = np.zeros_like(array)
    flat, grad_flat = array.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + eps
        plus = f()
        flat[i] = saved - eps
        minus = f()
        flat[i] = saved
        grad_flat[i] = (plus - minus) / (2 * eps)
    return grad


class _Frozen:
    """Makes a layer's forward repeatable during the check (the same dropout mask, the
    same running statistics) and gives it float64 parameters, restored afterwards."""

    def __init__(self, layer) -> None:
        self.layer = layer
        rng = getattr(layer, "rng", None)
        self.rng_state = None if rng is None else rng.bit_generator.state
        buffers = layer.buffers() if hasattr(layer, "buffers") else {}
        self.buffers = {k: v.copy() for k, v in buffers.items()}
        self.saved = {}
        for name in getattr(layer, "param_names", ()):
            for attr in (name, "d" + name):
                self.saved[attr] = getattr(layer, attr)
            setattr(layer, name, np.array(getattr(layer, name), dtype=np.float64))

    def reset(self) -> None:
        if self.rng_state is not None:
            self.layer.rng.bit_generator.state = self.rng_state
        for name, value in self.buffers.items():
            getattr(self.layer, name)[...] = value

    def restore(self) -> None:
        self.reset()
        for attr, value in self.saved.items():
            setattr(self.layer, attr, value)


def check_gradients(
    layer_or_loss,
    inp,
    target=None,
    *,
    up_grad=None,
    eps: float = 1e-6,
    tolerance: float = 1e-6,
    atol: float = 1e-9,
    seed: int = 0,
) -> GradientReport:
    """Check ``backward`` against central finite differences, in float64.

    Parameters
    ----------
    layer_or_loss : Layer, Loss or MLP
        A layer (``forward(inp)``, ``backward(up_grad)``, parameters in
        ``param_names``), a loss (``forward(prediction, target)``, ``backward()``), or
        a whole model (its ``loss(forward(inp), target)``, ``backward()``; the model
        must hold float64 parameters, and its parameters are reported by key, "0.w").
    inp : array, shape (batch_size, in_dim)
        The layer's input, or the loss's prediction.
    target : array, optional
        The loss's target (required for a loss).
    up_grad : array, optional
        For a layer, the gradient arriving from above (default: random normal with
        the output's shape); the checked function is ``sum(forward(inp) * up_grad)``.
    eps, tolerance, atol, seed : float, float, float, int
        Finite-difference step; the largest relative error that passes; the absolute
        difference below which a gradient passes anyway (central differences are not
        more accurate than about 1e-10 with ``eps=1e-6``, so gradients smaller than
        that cannot be checked); the seed of the default ``up_grad``.

    Returns
    -------
    GradientReport
        The worst relative error per input and parameter; ``report.ok``.
    """
    x = np.array(inp, dtype=np.float64)
    if x.ndim == 0 or x.size == 0:
        raise BarenetValueError(f"check_gradients needs a non-empty input array, got {x.shape}")
    if hasattr(layer_or_loss, "layers") and hasattr(layer_or_loss, "loss_fun"):
        return _check_model(layer_or_loss, x, target, eps, tolerance, atol)
    if isinstance(layer_or_loss, Loss) or target is not None:
        return _check_loss(layer_or_loss, x, target, eps, tolerance, atol)
    if not (hasattr(layer_or_loss, "forward") and hasattr(layer_or_loss, "backward")):
        raise BarenetTypeError(
            f"check_gradients needs a layer or a loss, got {type(layer_or_loss).__name__}"
        )
    return _check_layer(layer_or_loss, x, up_grad, seed, eps, tolerance, atol)


def _check_loss(loss, x, target, eps: float, tolerance: float, atol: float) -> GradientReport:
    """A loss's ``backward()`` against the finite differences of ``forward(x, target)``."""
    if target is None:
        raise BarenetValueError("check_gradients on a loss needs its target")
    target = np.asarray(target)
    loss.forward(x, target)
    analytic = np.array(loss.backward(), dtype=np.float64)
    numeric = _numeric_gradient(lambda: loss.forward(x, target), x, eps)
    return _report({"prediction": (analytic, numeric)}, tolerance, atol)


def _check_layer(layer, x, up_grad, seed: int, eps, tolerance, atol) -> GradientReport:
    """A layer's input and parameter gradients against the finite differences of
    ``sum(forward(x) * up_grad)``, its parameters and buffers frozen in float64."""
    frozen = _Frozen(layer)
    try:
        out = np.asarray(layer.forward(x))
        if up_grad is None:
            up_grad = np.random.default_rng(seed).standard_normal(out.shape)
        up_grad = np.asarray(up_grad, dtype=np.float64)
        if up_grad.shape != out.shape:
            raise BarenetValueError(
                f"up_grad has shape {up_grad.shape}, the layer's output {out.shape}"
            )
        analytic = {"input": np.array(layer.backward(up_grad), dtype=np.float64)}
        for name in getattr(layer, "param_names", ()):
            analytic[name] = np.array(getattr(layer, "d" + name), dtype=np.float64)

        def f() -> float:
            frozen.reset()
            return float(np.sum(np.asarray(layer.forward(x), dtype=np.float64) * up_grad))

        pairs = {"input": (analytic["input"], _numeric_gradient(f, x, eps))}
        for name in getattr(layer, "param_names", ()):
            pairs[name] = (analytic[name], _numeric_gradient(f, getattr(layer, name), eps))
    finally:
        frozen.restore()
    return _report(pairs, tolerance, atol)


def _check_model(model, x, target, eps: float, tolerance: float, atol: float) -> GradientReport:
    if target is None:
        raise BarenetValueError("check_gradients on a model needs the target")
    if model.dtype != np.float64:
        raise BarenetValueError("check_gradients on a model needs float64 parameters")

    def f() -> float:
        return model.loss(model.forward(x), target)

    f()
    model.backward()
    analytic = {p.key: np.array(p.grad, dtype=np.float64) for p in model.parameters()}
    pairs = {
        p.key: (analytic[p.key], _numeric_gradient(f, p.value, eps)) for p in model.parameters()
    }
    return _report(pairs, tolerance, atol)

"""Losses: the notebook's ``Loss`` contract, ``MSE``, and the usual others.

``loss(prediction, target)`` returns a Python float and remembers what
``backward()`` needs; ``backward()`` returns dL/dprediction with the
prediction's shape. Each loss is registered in ``LOSSES`` under its command-line name.

An ensemble in training mode (``barenet.tabular.ensemble.EnsembleMean``) predicts
``(batch_size, k, out_dim)``: every loss then scores each of the ``k`` members against
the same target, ``(batch_size, out_dim)``, and averages over the members.
"""

from __future__ import annotations

import numpy as np

from barenet import functional as F
from barenet._checks import check_number
from barenet.errors import BarenetValueError, UsageError
from barenet.registry import LOSSES


class Loss:
    """Abstract loss: ``forward(prediction, target) -> float`` and ``backward()``."""

    def __init__(self) -> None:
        self.prediction = None
        self.target = None
        self.loss = None

    def __call__(self, prediction: np.ndarray, target: np.ndarray) -> float:
        return self.forward(prediction, target)

    def forward(self, prediction: np.ndarray, target: np.ndarray) -> float:
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        raise NotImplementedError

    def _check_called(self) -> None:
        if self.prediction is None:
            raise UsageError(f"{type(self).__name__}.backward() called before forward()")

    def config(self) -> dict:
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


def match_target(prediction: np.ndarray, target: np.ndarray, loss_name: str) -> np.ndarray:
    """Return ``target`` with the prediction's shape, or raise ``ValueError``.

    A target of shape (N,) against a prediction of shape (N, 1) is reshaped to
    (N, 1). An ensemble's prediction (N, k, D) is scored member by member against a
    target (N, D) (or (N,) when D is 1), which gets a members axis of length 1. Any
    other mismatch is an error rather than a silent broadcast.
    """
    target = np.asarray(target)
    if prediction.ndim == 3:  # (N, k, D): the same target for every member
        n, _, out_dim = prediction.shape
        if target.shape == (n, out_dim) or (out_dim == 1 and target.shape == (n,)):
            return target.reshape(n, 1, out_dim)
    if target.shape == prediction.shape:
        return target
    if target.ndim == 1 and prediction.shape == (target.shape[0], 1):
        return target.reshape(-1, 1)
    raise BarenetValueError(
        f"{loss_name}: target shape {target.shape} does not match prediction shape "
        f"{prediction.shape}"
    )


@LOSSES.register("mse")
class MSE(Loss):
    """Mean squared error over all elements: L = mean((p - y)^2).

    For one output this is the notebook's 1/N sum over the batch; it equals
    ``torch.nn.MSELoss()``. Gradient: 2 (p - y) / numel.
    """

    def forward(self, prediction: np.ndarray, target: np.ndarray) -> float:
        target = match_target(prediction, target, "MSE")
        self.prediction, self.target = prediction, target
        self.diff = prediction - target
        flat = self.diff.reshape(-1)
        self.loss = float(flat @ flat) / flat.size
        return self.loss

    def backward(self) -> np.ndarray:
        self._check_called()
        return self.diff * (2.0 / self.diff.size)


@LOSSES.register("mae", "l1")
class MAE(Loss):
    """Mean absolute error (L1): L = mean(|p - y|); gradient sign(p - y) / numel."""

    def forward(self, prediction: np.ndarray, target: np.ndarray) -> float:
        target = match_target(prediction, target, "MAE")
        self.prediction, self.target = prediction, target
        self.diff = prediction - target
        self.loss = float(np.mean(np.abs(self.diff)))
        return self.loss

    def backward(self) -> np.ndarray:
        self._check_called()
        return np.sign(self.diff) / self.diff.size


@LOSSES.register("huber")
class Huber(Loss):
    """Huber loss, as ``torch.nn.HuberLoss(delta)``: quadratic within ``delta``, linear
    beyond it, averaged over all elements."""

    def __init__(self, delta: float = 1.0) -> None:
        super().__init__()
        self.delta = check_number(delta, "Huber delta", minimum=0.0)
        if self.delta == 0:
            raise BarenetValueError("Huber delta must be > 0, got 0.0")

    def forward(self, prediction: np.ndarray, target: np.ndarray) -> float:
        target = match_target(prediction, target, "Huber")
        self.prediction, self.target = prediction, target
        self.diff = prediction - target
        a = np.abs(self.diff)
        d = self.delta
        elementwise = np.where(a <= d, 0.5 * self.diff**2, d * (a - 0.5 * d))
        self.loss = float(np.mean(elementwise))
        return self.loss

    def backward(self) -> np.ndarray:
        self._check_called()
        return np.clip(self.diff, -self.delta, self.delta) / self.diff.size

    def config(self) -> dict:
        return {"delta": self.delta}


@LOSSES.register("bce", "bce_with_logits")
class BCEWithLogits(Loss):
    """Binary cross-entropy on logits, as ``torch.nn.BCEWithLogitsLoss``.

    L = mean(max(z, 0) - z y + log(1 + exp(-|z|))); gradient (sigmoid(z) - y) / numel.
    Targets are 0/1 (or probabilities) with the logits' shape, or shape (N,).
    """

    def forward(self, prediction: np.ndarray, target: np.ndarray) -> float:
        target = match_target(prediction, target, "BCEWithLogits")
        self.prediction, self.target = prediction, target.astype(prediction.dtype, copy=False)
        z = prediction
        terms = np.maximum(z, 0) - z * self.target + F.log1p_exp_neg_abs(z)
        self.loss = float(np.mean(terms))
        return self.loss

    def backward(self) -> np.ndarray:
        self._check_called()
        z = self.prediction
        return (F.sigmoid(z) - self.target) / z.size


@LOSSES.register("cross_entropy")
class CrossEntropy(Loss):
    """Softmax cross-entropy on logits, as ``torch.nn.CrossEntropyLoss``.

    ``prediction``: logits of shape (N, C). ``target``: integer labels of shape (N,)
    or (N, 1) in [0, C), or one-hot / probability rows of shape (N, C).
    L = mean over rows of -sum(y * log_softmax(z)); gradient (softmax(z) - y) / N.
    An ensemble's logits (N, k, C) are scored member by member: the mean over the
    N * k rows, each member against its row's target.
    """

    def forward(self, prediction: np.ndarray, target: np.ndarray) -> float:
        if prediction.ndim == 3:  # an ensemble's members, each scored as rows of their own
            n, k, classes = prediction.shape
            target = np.asarray(target)
            if target.shape in ((n,), (n, 1)) or target.shape == (n, classes):
                target = np.repeat(target.reshape(n, 1, -1), k, axis=1).reshape(n * k, -1)
                loss = self.forward(prediction.reshape(n * k, classes), target)
                self.members_shape = prediction.shape
                return loss
            raise BarenetValueError(
                f"CrossEntropy: target shape {target.shape} fits neither labels ({n},) nor "
                f"one-hot rows ({n}, {classes}) for an ensemble's logits {prediction.shape}"
            )
        self.members_shape = None
        if prediction.ndim != 2:
            raise BarenetValueError(
                f"CrossEntropy expects logits of shape (N, C), got {prediction.shape}"
            )
        n, classes = prediction.shape
        target = np.asarray(target)
        if target.shape == prediction.shape and not np.issubdtype(target.dtype, np.integer):
            probs = target.astype(prediction.dtype, copy=False)
        else:
            labels = target.reshape(-1) if target.shape in ((n,), (n, 1)) else None
            if labels is None:
                raise BarenetValueError(
                    f"CrossEntropy: target shape {target.shape} fits neither labels ({n},) "
                    f"nor one-hot rows {prediction.shape}"
                )
            if (
                not np.all(labels == np.round(labels))
                or labels.min() < 0
                or labels.max() >= classes
            ):
                raise BarenetValueError(
                    f"CrossEntropy: labels must be integers in [0, {classes}), "
                    f"got values from {labels.min()} to {labels.max()}"
                )
            probs = np.zeros_like(prediction)
            probs[np.arange(n), labels.astype(np.intp)] = 1.0
        log_softmax = F.log_softmax(prediction)
        self.prediction, self.target = prediction, probs
        self.softmax = np.exp(log_softmax)
        self.loss = float(-np.sum(probs * log_softmax) / n)
        return self.loss

    def backward(self) -> np.ndarray:
        self._check_called()
        grad = (self.softmax - self.target) / self.prediction.shape[0]
        return grad if self.members_shape is None else grad.reshape(self.members_shape)

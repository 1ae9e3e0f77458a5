"""Each shared formula once, as in PyTorch's ``nn/functional.py``.

The layers, the losses and the tables' answers call these instead of writing the
formula again; each is plain NumPy on whole arrays, in the input's dtype:

- ``sigmoid(x)``: 1 / (1 + exp(-x)), computed from exp(-|x|), which never overflows;
- ``log1p_exp_neg_abs(x)``: log(1 + exp(-|x|)), the tail of softplus and of the
  logistic losses; ``softplus(x)`` = max(x, 0) + log(1 + exp(-|x|)) = log(1 + exp(x));
- ``softmax(x)`` and ``log_softmax(x)`` over each row (the last axis), shifted by the
  row's maximum.

Where an engine must restate a formula in a compiled loop (numba cannot call NumPy's
whole-array functions element by element), the loop declares what it mirrors with
``@mirrors("barenet.activations.Relu.forward", ...)``; ``tests/test_functional.py`` pins
each original's source, so changing an original fails a test until its mirrors are
reviewed.
"""

from __future__ import annotations

import numpy as np

# restated formula (engine function's "module.qualname") -> the originals it mirrors
MIRRORS: dict[str, tuple[str, ...]] = {}


def mirrors(*originals: str):
    """Declare that the decorated engine function restates ``originals`` (dotted names
    of barenet functions or methods, such as ``"barenet.layers.Linear.backward"``).

    Returns the function unchanged; works above or below numba's ``njit``.
    """

    def declare(function):
        python_function = getattr(function, "py_func", function)
        name = f"{python_function.__module__}.{python_function.__qualname__}"
        MIRRORS[name] = tuple(originals)
        return function

    return declare


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)), finite and warning-free for any finite ``x``.

    x: any shape -> the same shape and dtype.
    """
    e = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1.0, e).astype(e.dtype, copy=False)
    out /= 1.0 + e
    return out


def log1p_exp_neg_abs(x: np.ndarray) -> np.ndarray:
    """log(1 + exp(-|x|)), finite for any finite ``x``. x: any shape -> the same."""
    return np.log1p(np.exp(-np.abs(x)))


def softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + exp(x)) = max(x, 0) + log(1 + exp(-|x|)), without overflow."""
    return np.maximum(x, 0) + log1p_exp_neg_abs(x)


def log_softmax(x: np.ndarray) -> np.ndarray:
    """log(softmax(x)) over the last axis, from the row-max-shifted values.

    x: (..., C) -> (..., C); each row's exponentials sum to 1.
    """
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax(x: np.ndarray) -> np.ndarray:
    """exp(x) / sum(exp(x)) over the last axis, shifted by the row max first.

    x: (..., C) -> (..., C), each row summing to 1.
    """
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)

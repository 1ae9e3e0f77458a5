"""Weight initialisers for :class:`~barenet.Linear`.

Each initialiser takes ``(in_dim, out_dim, rng, dtype)`` and returns an array of
shape ``(in_dim, out_dim)``. ``INITIALIZERS`` maps the names accepted by
``Linear(..., init=NAME)`` to these functions.
"""

from __future__ import annotations

import numpy as np


def glorot_uniform(in_dim: int, out_dim: int, rng: np.random.Generator, dtype) -> np.ndarray:
    """Glorot/Xavier uniform: U(-a, a) with a = sqrt(6 / (in_dim + out_dim))."""
    limit = np.sqrt(6.0 / (in_dim + out_dim))
    return rng.uniform(-limit, limit, size=(in_dim, out_dim)).astype(dtype)


def glorot_normal(in_dim: int, out_dim: int, rng: np.random.Generator, dtype) -> np.ndarray:
    """Glorot/Xavier normal: N(0, std^2) with std = sqrt(2 / (in_dim + out_dim))."""
    std = np.sqrt(2.0 / (in_dim + out_dim))
    return (rng.standard_normal((in_dim, out_dim)) * std).astype(dtype)


def he_uniform(in_dim: int, out_dim: int, rng: np.random.Generator, dtype) -> np.ndarray:
    """He/Kaiming uniform for Relu: U(-a, a) with a = sqrt(6 / in_dim)."""
    limit = np.sqrt(6.0 / in_dim)
    return rng.uniform(-limit, limit, size=(in_dim, out_dim)).astype(dtype)


def he_normal(in_dim: int, out_dim: int, rng: np.random.Generator, dtype) -> np.ndarray:
    """He/Kaiming normal for Relu: N(0, std^2) with std = sqrt(2 / in_dim)."""
    std = np.sqrt(2.0 / in_dim)
    return (rng.standard_normal((in_dim, out_dim)) * std).astype(dtype)


INITIALIZERS = {
    "glorot_uniform": glorot_uniform,
    "xavier_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "xavier_normal": glorot_normal,
    "he_uniform": he_uniform,
    "kaiming_uniform": he_uniform,
    "he_normal": he_normal,
    "kaiming_normal": he_normal,
}


def get_initializer(name: str):
    """Return the initialiser called ``name``; raise ``ValueError`` naming the choices."""
    try:
        return INITIALIZERS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown initialiser {name!r}; choose one of {sorted(INITIALIZERS)}"
        ) from None

"""Weight initialisers for :class:`~barenet.Linear`.

Each initialiser takes ``(in_dim, out_dim, rng, dtype)`` and returns an array of
shape ``(in_dim, out_dim)``. Each is registered in ``INITIALIZERS`` under the name
``Linear(..., init=NAME)`` accepts.
"""

from __future__ import annotations

import numpy as np

from barenet.registry import INITIALIZERS


@INITIALIZERS.register("glorot_uniform", "xavier_uniform")
def glorot_uniform(in_dim: int, out_dim: int, rng: np.random.Generator, dtype) -> np.ndarray:
    """Glorot/Xavier uniform: U(-a, a) with a = sqrt(6 / (in_dim + out_dim))."""
    limit = np.sqrt(6.0 / (in_dim + out_dim))
    return rng.uniform(-limit, limit, size=(in_dim, out_dim)).astype(dtype)


@INITIALIZERS.register("glorot_normal", "xavier_normal")
def glorot_normal(in_dim: int, out_dim: int, rng: np.random.Generator, dtype) -> np.ndarray:
    """Glorot/Xavier normal: N(0, std^2) with std = sqrt(2 / (in_dim + out_dim))."""
    std = np.sqrt(2.0 / (in_dim + out_dim))
    return (rng.standard_normal((in_dim, out_dim)) * std).astype(dtype)


@INITIALIZERS.register("he_uniform", "kaiming_uniform")
def he_uniform(in_dim: int, out_dim: int, rng: np.random.Generator, dtype) -> np.ndarray:
    """He/Kaiming uniform for Relu: U(-a, a) with a = sqrt(6 / in_dim)."""
    limit = np.sqrt(6.0 / in_dim)
    return rng.uniform(-limit, limit, size=(in_dim, out_dim)).astype(dtype)


@INITIALIZERS.register("he_normal", "kaiming_normal")
def he_normal(in_dim: int, out_dim: int, rng: np.random.Generator, dtype) -> np.ndarray:
    """He/Kaiming normal for Relu: N(0, std^2) with std = sqrt(2 / in_dim)."""
    std = np.sqrt(2.0 / in_dim)
    return (rng.standard_normal((in_dim, out_dim)) * std).astype(dtype)

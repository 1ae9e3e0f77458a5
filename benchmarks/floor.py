"""The arithmetic floor of an epoch: its matrix-product FLOPs at the large-GEMM rate.

One epoch of an MLP with layer widths ``sizes`` on ``n_rows`` rows does, per row and
per layer of shape (a, b), 2ab FLOPs for the forward product, 2ab for the weight
gradient and 2ab for the input gradient (none for the first layer). Bias, activation,
loss and update are O(a + b) per row and left out. The large-GEMM rate is the best of
a few 2048x2048 float32 products measured in the same run, so the floor assumes every
small product ran as fast as a big one: no real epoch can reach it.
"""

from __future__ import annotations

import time

import numpy as np


def flops_per_epoch(sizes: list[int], n_rows: int) -> int:
    """Multiply-add FLOPs of one epoch's forward and backward matrix products."""
    per_row = 0
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        products = 2 if i == 0 else 3  # forward, weight gradient, input gradient
        per_row += products * 2 * a * b
    return per_row * n_rows


def gemm_gflops(size: int = 2048, repeats: int = 5) -> float:
    """The best float32 rate, in GFLOP/s, of ``repeats`` size x size matrix products
    (after one untimed product)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    out = np.empty((size, size), np.float32)
    np.matmul(a, b, out=out)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        np.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def floor_ms(sizes: list[int], n_rows: int, gflops: float) -> float:
    """Milliseconds per epoch at ``gflops``: the arithmetic floor."""
    return flops_per_epoch(sizes, n_rows) / (gflops * 1e9) * 1000

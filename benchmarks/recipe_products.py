"""The tabular recipe network's six large matrix products per batch, each timed alone.

    python benchmarks/recipe_products.py

Times each product (batch 256, TabM-mini's 16 members, 128 wide, float32) with the
BLAS at one and at two threads, and split in two halves run on two Python threads of
one BLAS thread each; prints their sum per batch and per epoch (16,512 training rows:
64.5 batches' worth) against the arithmetic floor of ``recipe_bench.py`` (the whole
network's product FLOPs, the encoding's and the heads' too, at the best large-GEMM rate
of ``floor.gemm_gflops`` with the BLAS's default threads). Then the notebook network's
eight products at batch 64, called from numba as the compiled engine calls them,
against its floor (``floor.floor_ms``, as ``bench.py`` computes it). docs/speed.md
quotes one run.
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from floor import floor_ms, gemm_gflops  # noqa: E402 (the benchmarks' own modules)
from recipe_bench import BATCH, BINS, flops_per_epoch  # noqa: E402

ROWS = 16512  # California's training rows in the notebook's split
BATCHES_PER_EPOCH = ROWS / BATCH  # 64.5: the last batch has half the rows
FLOPS = 2 * 4096 * 128 * 128  # each of the six products


def ms_per_call(function, calls: int = 200) -> float:
    function()
    start = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - start) / calls * 1e3


def halves(pool, left, right, split: str):
    """left @ right as two halves on two threads: by rows, or by the summed dimension."""
    if split == "rows":
        middle = left.shape[0] // 2

        def run():
            other = pool.submit(np.matmul, left[:middle], right)
            lower = left[middle:] @ right
            return other.result(), lower  # the two halves of the rows, in order

    else:
        middle = left.shape[1] // 2

        def run():
            other = pool.submit(np.matmul, left[:, :middle], right[:middle])
            return left[:, middle:] @ right[middle:] + other.result()

    return run


def main() -> float:
    """Time the six products; returns the large-GEMM rate (GFLOP/s)."""
    rng = np.random.default_rng(0)

    def array(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    x, w_block, grad_block = array(256, 128), array(128, 2048), array(256, 2048)
    h, w_shared, grad_shared = array(4096, 128), array(128, 128), array(4096, 128)
    products = [
        ("block forward 256x128 @ 128x2048", x, w_block, "rows"),
        ("block weight grad 128x256 @ 256x2048", x.T, grad_block, "sum"),
        ("block input grad 256x2048 @ 2048x128", grad_block, w_block.T, "rows"),
        ("shared forward 4096x128 @ 128x128", h, w_shared, "rows"),
        ("shared weight grad 128x4096 @ 4096x128", h.T, grad_shared, "sum"),
        ("shared input grad 4096x128 @ 128x128", grad_shared, w_shared.T, "rows"),
    ]
    pool = ThreadPoolExecutor(1)
    totals = {"1 thread": 0.0, "2 threads": 0.0, "2 Python threads": 0.0}
    print(f"{'product':42s}" + "".join(f"{k:>20s}" for k in totals) + "  (ms, GFLOP/s)")
    for name, left, right, split in products:
        times = []
        for threads in (1, 2):
            with threadpool_limits(threads, "blas"):
                times.append(ms_per_call(lambda left=left, right=right: left @ right))
        with threadpool_limits(1, "blas"):
            times.append(ms_per_call(halves(pool, left, right, split)))
        for key, ms in zip(totals, times, strict=True):
            totals[key] += ms
        print(f"{name:42s}" + "".join(f"{ms:>12.3f} ({FLOPS / ms / 1e6:3.0f})" for ms in times))
    rate = gemm_gflops()
    floor = flops_per_epoch(ROWS, 8, BINS) / (rate * 1e9) * 1000
    print(f"large-GEMM rate {rate:.0f} GFLOP/s; the network's floor {floor:.1f} ms per epoch")
    for key, ms in totals.items():
        epoch = BATCHES_PER_EPOCH * ms
        print(
            f"{key}: {ms:.3f} ms per batch, {epoch:.1f} ms per epoch, {epoch / floor:.2f}x floor"
        )
    return rate


def notebook_products(rate: float, batch_size: int = 64, calls: int = 2000) -> None:
    """The notebook network's (8 -> 64 -> 64 -> 1) products for one batch, as the compiled
    engine runs them (np.dot inside numba): forward, weight and input gradients, the
    first layer's input gradient left out; against its floor at ``rate`` GFLOP/s."""
    from numba import njit

    @njit
    def products(x, w1, w2, w3, h1, h2, out, g3, g2, g1, dw1, dw2, dw3, repeats):
        for _ in range(repeats):
            np.dot(x, w1, h1)
            np.dot(h1, w2, h2)
            np.dot(h2, w3, out)
            np.dot(h2.T, g3, dw3)
            np.dot(g3, w3.T, g2)
            np.dot(h1.T, g2, dw2)
            np.dot(g2, w2.T, g1)
            np.dot(x.T, g1, dw1)
        return 0

    rng = np.random.default_rng(0)
    shapes = [(batch_size, 8), (8, 64), (64, 64), (64, 1), (batch_size, 64), (batch_size, 64)]
    shapes += [(batch_size, 1), (batch_size, 1), (batch_size, 64), (batch_size, 64)]
    shapes += [(8, 64), (64, 64), (64, 1)]
    arrays = [rng.standard_normal(shape).astype(np.float32) for shape in shapes]
    products(*arrays, 1)
    start = time.perf_counter()
    products(*arrays, calls)
    us = (time.perf_counter() - start) / calls * 1e6
    epoch_ms = us * ROWS / batch_size / 1e3
    sizes = [8, 64, 64, 1]
    floor = floor_ms(sizes, ROWS, rate)
    per_batch = floor_ms(sizes, batch_size, rate) * 1e3  # microseconds
    print(f"notebook network, batch {batch_size}: products {us:.1f} us a batch", end=" ")
    print(f"({per_batch / us * rate:.0f} GFLOP/s), {epoch_ms:.2f} ms an epoch,", end=" ")
    print(f"{epoch_ms / floor:.2f}x its floor of {floor:.2f} ms")


if __name__ == "__main__":
    notebook_products(main())

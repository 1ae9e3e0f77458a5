"""What every peer shares: timing, sizes, peak memory, and the "unavailable" signal."""

from __future__ import annotations

import resource
import time


class Unavailable(Exception):
    """This peer cannot run here: an optional package or a barenet feature is missing."""


def engine_options(engine: str, fast: bool = True) -> dict:
    """``MLP.train``'s keywords for the engine these benchmarks call "numpy" (the fused
    step; with ``fast=False`` the model's own methods) or "compiled", in this barenet's
    words: ``engine="fused"`` / ``"methods"`` since the engines are named by what runs,
    ``engine="numpy"`` (and ``fast=False``) before."""
    try:
        from barenet.engines.names import ENGINES
    except ImportError:
        ENGINES = ()
    if "fused" in ENGINES:
        return {"engine": ("fused" if fast else "methods") if engine == "numpy" else engine}
    return {"engine": engine} if fast else {"engine": engine, "fast": False}


def sizes_of(workload: dict) -> list[int]:
    """Layer widths of the workload's network: [in_dim, *hidden, 1]."""
    return [workload["in_dim"], *workload["hidden"], 1]


def timed_epochs(run_epoch, epochs: int) -> dict:
    """``{"times": [...], "warmup_s": ...}``: seconds per timed epoch, after one warm-up
    epoch, timed on its own (it includes any compilation)."""
    start = time.perf_counter()
    run_epoch()
    warmup = time.perf_counter() - start
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        run_epoch()
        times.append(time.perf_counter() - start)
    return {"times": times, "warmup_s": warmup}


def peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM starts afresh at exec, unlike
    getrusage's ru_maxrss, which a child inherits from the parent that forked it."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def compiler_memory_mb() -> float:
    """What numba adds to a process's peak memory: importing it and compiling one small
    kernel (a dense layer with Relu, float32), after barenet is loaded."""
    import numpy as np

    import barenet  # noqa: F401 (the baseline includes barenet, as in every peer)

    before = peak_rss_mb()
    try:
        import numba
    except ImportError:
        raise Unavailable("numba is not installed") from None

    @numba.njit(cache=False)
    def dense_relu(x, w, b, out):
        for i in range(x.shape[0]):
            for j in range(w.shape[1]):
                total = b[j]
                for k in range(x.shape[1]):
                    total += x[i, k] * w[k, j]
                out[i, j] = max(total, 0.0)

    x = np.ones((4, 8), np.float32)
    dense_relu(
        x, np.ones((8, 3), np.float32), np.zeros(3, np.float32), np.empty((4, 3), np.float32)
    )
    return peak_rss_mb() - before


def limit_threads(threads: int) -> None:
    """Make every worker started after this call use ``threads`` threads: OpenBLAS, MKL
    and OpenMP (NumPy, PyTorch, numba), and XLA's CPU runtime (JAX)."""
    import os

    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)
    eigen = "true" if threads > 1 else "false"
    os.environ["XLA_FLAGS"] = (
        f"{os.environ.get('XLA_FLAGS', '')} --xla_cpu_multi_thread_eigen={eigen} "
        f"intra_op_parallelism_threads={threads}"
    ).strip()

"""Per-epoch CPU time of barenet's engines on ``bench.py``'s workloads, for comparing two
checkouts on a busy machine, where wall-clock medians vary several-fold.

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=OTHER/src python benchmarks/cpu_epochs.py 4 > a.json
    OPENBLAS_NUM_THREADS=1 PYTHONPATH=src python benchmarks/cpu_epochs.py 4 > b.json

Each workload trains on 16,512 (notebook) or 4,096 (wide, deep) rows of synthetic data;
after a warm-up epoch, REPEATS epochs are timed with ``time.process_time`` and the least
is kept: other processes lengthen CPU time far less than wall time, and the minimum
leaves out what they still add. Prints JSON: ``{"workload/engine": ms}``.
"""

import json
import sys
import time

import numpy as np

from barenet import MLP, MSE, Linear, Relu

WORKLOADS = {
    "notebook-32": ([64, 64], 32),
    "notebook-64": ([64, 64], 64),
    "notebook-256": ([64, 64], 256),
    "wide": ([1024, 1024], 1024),
    "deep": ([256] * 6, 128),
}
# label (as in earlier results) -> engine: "numpy" is the fused step, "plain" the methods
ENGINES = (("compiled", "compiled"), ("numpy", "fused"), ("plain", "methods"))


def network(hidden: list[int]) -> MLP:
    dims = [8, *hidden, 1]
    layers = []
    for i in range(len(dims) - 1):
        layers += [Linear(dims[i], dims[i + 1], seed=i), Relu()]
    return MLP(layers[:-1], MSE(), lr=0.01, seed=0)


def main(repeats: int) -> dict:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16512, 8)).astype(np.float32)
    y = (x.sum(1, keepdims=True) ** 2 / 8).astype(np.float32)
    out = {}
    for name, (hidden, batch) in WORKLOADS.items():
        rows = len(x) if name.startswith("notebook") else 4096
        for label, engine in ENGINES:
            model = network(hidden)
            fit = dict(epochs=1, batch_size=batch, engine=engine)
            model.train(x[:rows], y[:rows], **fit)  # warm-up (and compilation)
            times = []
            for _ in range(repeats):
                started = time.process_time()
                model.train(x[:rows], y[:rows], **fit)
                times.append((time.process_time() - started) * 1000)
            out[f"{name}/{label}"] = min(times)
    return out


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 4)))

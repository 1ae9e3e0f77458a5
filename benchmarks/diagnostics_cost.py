"""What watching costs: epochs of the notebook's network on California Housing, with and
without ``barenet.Diagnostics``, interleaved in one process so both see the same load.

    python benchmarks/diagnostics_cost.py             # 3 rounds of 3 epochs each way
    python benchmarks/diagnostics_cost.py --quick     # 1 round of 1 epoch each way
    python benchmarks/diagnostics_cost.py --threads 1 # BLAS on one thread (a shared machine)

Reports the median time per epoch each way, the difference (one record per epoch) and
their ratio (the target: watching costs at most 10 %), for each engine, with the load
average beside them: compare figures only as ratios measured in one run.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from barenet import MLP, MSE, Diagnostics, Linear, Relu
from barenet.tables.datasets import load_california_housing


def notebook_model(seed: int = 0) -> MLP:
    rng = np.random.default_rng(seed)
    layers = [Linear(8, 64, seed=rng), Relu(), Linear(64, 64, seed=rng), Relu()]
    return MLP([*layers, Linear(64, 1, seed=rng)], MSE(), lr=0.01, seed=seed)


def epoch_seconds(x, y, *, watched: bool, engine: str, epochs: int) -> float:
    model = notebook_model()
    callbacks = [Diagnostics(model, x, y)] if watched else []
    model.train(x[:64], y[:64], epochs=1, batch_size=32, engine=engine)  # warm-up
    started = time.perf_counter()
    model.train(
        x, y, epochs=epochs, batch_size=32, clip_norm=1.0, callbacks=callbacks, engine=engine
    )
    return (time.perf_counter() - started) / epochs


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1 round of 1 epoch")
    parser.add_argument(
        "--threads", type=int, default=None, help="BLAS threads (default: left as they are)"
    )
    args = parser.parse_args(argv)
    if args.threads is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=args.threads, user_api="blas")
    rounds, epochs = (1, 1) if args.quick else (args.rounds, args.epochs)
    x, _, y, *_ = load_california_housing()
    load = ", ".join(f"{v:.1f}" for v in _load_average())
    print(f"CPU {platform.processor() or platform.machine()}, load average {load}")
    for engine in ("fused", "compiled"):
        plain, watched = [], []
        for _ in range(rounds):
            plain.append(epoch_seconds(x, y, watched=False, engine=engine, epochs=epochs))
            watched.append(epoch_seconds(x, y, watched=True, engine=engine, epochs=epochs))
        ratio = np.median(np.array(watched) / np.array(plain))
        extra = np.median(np.array(watched) - np.array(plain))
        print(
            f"{engine:9s} plain {1e3 * np.median(plain):8.1f} ms/epoch   watched "
            f"{1e3 * np.median(watched):8.1f} ms/epoch   (+{1e3 * extra:.2f} ms)   "
            f"cost {100 * (ratio - 1):+.1f} % "
            f"(target <= +10 %: {'met' if ratio <= 1.10 else 'not met'})"
        )
    load = ", ".join(f"{v:.1f}" for v in _load_average())
    print(f"load average after: {load}")


def _load_average():
    try:
        import os

        return os.getloadavg()
    except OSError:
        return (float("nan"),) * 3


if __name__ == "__main__":
    main()

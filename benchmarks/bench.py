"""Side-by-side training speed: barenet, PyTorch eager, scikit-learn, plain NumPy, and
the GEMM floor, each in its own process, on the same network and data.

    python benchmarks/bench.py                 # every workload, 7 timed epochs each
    python benchmarks/bench.py --quick         # one workload, two epochs (CI smoke run)
    python benchmarks/bench.py --workloads notebook-64,wide --peers barenet,torch

Prints a table (median ms per epoch after a warm-up epoch, each peer's ratio to
barenet, final test MSE, peak resident memory) and writes it as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
WORKLOADS = {
    "notebook-32": {"hidden": [64, 64], "batch_size": 32},
    "notebook-64": {"hidden": [64, 64], "batch_size": 64},
    "notebook-256": {"hidden": [64, 64], "batch_size": 256},
    "wide": {"hidden": [1024, 1024], "batch_size": 1024},
    "deep": {"hidden": [256] * 6, "batch_size": 128},
}
for spec in WORKLOADS.values():
    spec.update(in_dim=8, lr=0.01)


NAMES = ("x_train", "y_train", "x_test", "y_test")


def save_data(folder: Path) -> None:
    """California Housing, preprocessed as in the notebook, as .npy files: the workers
    load these, so no worker's memory includes scikit-learn's data loading."""
    from barenet.datasets import load_california_housing

    split = load_california_housing()
    for name in NAMES:
        np.save(folder / f"{name}.npy", getattr(split, name))


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


def worker(peer: str, workload: str, epochs: int, data_dir: str) -> None:
    """Run one peer on one workload in this process; print its JSON result."""
    sys.path.insert(0, str(HERE))
    from peers import PEERS

    data = {name: np.load(Path(data_dir) / f"{name}.npy") for name in NAMES}
    result = PEERS[peer](WORKLOADS[workload], data, epochs)
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result))


def run_one(peer: str, workload: str, epochs: int, data_dir: Path) -> dict:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        peer,
        workload,
        "--epochs",
        str(epochs),
        "--data-dir",
        str(data_dir),
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=os.environ.copy())
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["ms_per_epoch"] = float(np.median(result["times"])) * 1000
    return result


def machine() -> dict:
    info = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
    }
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        info["processor"] = names[0] if names else info["processor"]
    except OSError:
        pass
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    import sklearn

    info["sklearn"] = sklearn.__version__
    return info


def table(results: dict) -> str:
    lines = [
        f"{'workload':<13} {'peer':<13} {'ms/epoch':>9} {'vs barenet':>10} "
        f"{'test MSE':>9} {'peak MB':>8}"
    ]
    for workload, peers in results.items():
        base = peers.get("barenet", {}).get("ms_per_epoch")
        for peer, r in peers.items():
            if "error" in r:
                lines.append(f"{workload:<13} {peer:<13} error: {r['error']}")
                continue
            ratio = f"{r['ms_per_epoch'] / base:.2f}x" if base else "-"
            loss = f"{r['test_loss']:.4f}" if r.get("test_loss") is not None else "-"
            lines.append(
                f"{workload:<13} {peer:<13} {r['ms_per_epoch']:9.2f} {ratio:>10} "
                f"{loss:>9} {r['peak_rss_mb']:8.0f}"
            )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--peers", default="barenet,barenet_plain,torch,sklearn,numpy,gemm_floor")
    parser.add_argument("--epochs", type=int, default=7, help="timed epochs (after a warm-up)")
    parser.add_argument("--quick", action="store_true", help="one workload, two epochs")
    parser.add_argument("--out", default="benchmark.json")
    parser.add_argument("--worker", nargs=2, metavar=("PEER", "WORKLOAD"), help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(*args.worker, args.epochs, args.data_dir)
        return 0
    workloads = ["notebook-64"] if args.quick else args.workloads.split(",")
    epochs = 2 if args.quick else args.epochs
    peers = args.peers.split(",")
    results = {}
    data_dir = Path(tempfile.mkdtemp(prefix="barenet-bench-"))
    save_data(data_dir)
    for workload in workloads:
        results[workload] = {}
        for peer in peers:
            results[workload][peer] = run_one(peer, workload, epochs, data_dir)
            print(
                f"  {workload} {peer}: "
                f"{results[workload][peer].get('ms_per_epoch', float('nan')):.2f} ms/epoch",
                file=sys.stderr,
                flush=True,
            )
    shutil.rmtree(data_dir, ignore_errors=True)
    print(table(results))
    report = {"machine": machine(), "epochs": epochs, "workloads": WORKLOADS, "results": results}
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(f"written to {args.out}")
    failed = [f"{w}/{p}" for w, ps in results.items() for p, r in ps.items() if "error" in r]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

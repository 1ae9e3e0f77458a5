"""Side-by-side training speed: barenet's engines, PyTorch eager, JAX, scikit-learn,
plain NumPy and two floors, each peer in its own process, on the same network and data.

    python benchmarks/bench.py                 # every workload, 7 timed epochs each
    python benchmarks/bench.py --quick         # one workload, two epochs (CI smoke run)
    python benchmarks/bench.py --rounds 2      # every peer twice, interleaved: spreads
    python benchmarks/bench.py --threads 1     # one thread per worker (a busy machine)
    python benchmarks/bench.py --workloads notebook-64,wide --peers barenet_compiled,torch
    python benchmarks/bench.py --workloads recipe    # the tabular recipe's network vs tabm

Prints a table (median ms per epoch after a warm-up epoch; each peer's ratio to
barenet's compiled engine, to its numpy engine and to the arithmetic floor; final test
MSE; peak resident memory; the warm-up epoch's seconds, compilation included), the
issue's targets with their value in every round, and writes it all as JSON. A peer
that cannot run here (a missing optional package or engine) gives an "unavailable" row.
The workload ``recipe`` (the tabular recipe's network, with PyTorch's ``tabm`` as its
peer) has peers of its own: it runs ``recipe_bench.py`` with the same epochs, rounds
and threads, and writes ``recipe_<out>``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from floor import floor_ms, gemm_gflops  # noqa: E402 (the benchmarks' own modules)
from peer_tools import limit_threads, sizes_of  # noqa: E402
from report import summarise, table, targets_text  # noqa: E402

DEFAULT_PEERS = (
    "barenet_compiled,barenet_numpy,barenet,barenet_plain,torch,jax_scan,jax_step,"
    "sklearn,numpy,gemm_floor"
).split(",")
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
    from barenet.tables.datasets import load_california_housing

    split = load_california_housing()
    for name in NAMES:
        np.save(folder / f"{name}.npy", getattr(split, name))


def worker(peer: str, workload: str, epochs: int, data_dir: str) -> None:
    """Run one peer on one workload in this process; print its JSON result. The peer
    ``compiler_memory`` measures instead what numba adds to a process's peak memory, and
    ``gemm_rate`` the large-GEMM rate (best of ``epochs`` products)."""
    sys.path.insert(0, str(HERE))
    from peer_tools import Unavailable, compiler_memory_mb, peak_rss_mb
    from peers import PEERS

    data = {name: np.load(Path(data_dir) / f"{name}.npy") for name in NAMES}
    try:
        if peer == "compiler_memory":
            result = {"compiler_mb": compiler_memory_mb()}
        elif peer == "gemm_rate":
            result = {"gemm_gflops": gemm_gflops(repeats=epochs)}
        else:
            result = PEERS[peer](WORKLOADS[workload], data, epochs)
            result["peak_rss_mb"] = peak_rss_mb()
    except Unavailable as why:
        result = {"unavailable": str(why)}
    print(json.dumps(result))


def run_worker(command: list[str]) -> dict:
    """Run ``python *command`` in a new process: the JSON object on its last output line,
    or ``{"error": ...}`` with the last line of its error output."""
    done = subprocess.run(
        [sys.executable, *command], capture_output=True, text=True, env=os.environ.copy()
    )
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_one(peer: str, workload: str, epochs: int, data_dir: Path) -> dict:
    result = run_worker(
        [
            str(Path(__file__).resolve()),
            "--worker",
            peer,
            workload,
            "--epochs",
            str(epochs),
            "--data-dir",
            str(data_dir),
        ]
    )
    if "times" in result:
        result["ms_per_epoch"] = float(np.median(result["times"])) * 1000
    return result


def run_round(index: int, workloads: list[str], peers: list[str], epochs, data_dir) -> dict:
    """Every peer on every workload once, in order (reversed in odd rounds, so that a
    drift of the machine's speed does not always favour the same peers), then the
    large-GEMM rate (in a worker too) that sets this round's arithmetic floor."""
    order = [(w, p) for w in workloads for p in peers]
    results = {w: {} for w in workloads}
    for workload, peer in order[::-1] if index % 2 else order:
        result = results[workload][peer] = run_one(peer, workload, epochs, data_dir)
        status = ", ".join(f"{key}: {value}" for key, value in result.items())
        if "ms_per_epoch" in result:
            status = f"{result['ms_per_epoch']:.2f} ms/epoch"
        print(f"  round {index + 1} {workload} {peer}: {status}", file=sys.stderr, flush=True)
    gflops = run_one("gemm_rate", workloads[0], 3 if epochs < 3 else 5, data_dir)["gemm_gflops"]
    n_rows = len(np.load(data_dir / "x_train.npy", mmap_mode="r"))
    floors = {w: floor_ms(sizes_of(WORKLOADS[w]), n_rows, gflops) for w in workloads}
    compiler_mb = None
    if "barenet_compiled" in peers:
        compiler_mb = run_one("compiler_memory", workloads[0], 0, data_dir).get("compiler_mb")
    return {"results": results, "gemm_gflops": gflops, "floor_ms": floors,
            "compiler_mb": compiler_mb}  # fmt: skip


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
    info["load_average"] = [round(v, 2) for v in os.getloadavg()]
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [
            f"{pool.get('internal_api')} {pool.get('version')} ({pool.get('num_threads')} threads)"
            for pool in threadpool_info()
            if pool.get("user_api") == "blas"
        ]
    except ImportError:
        pass
    for package in ("scikit-learn", "jax", "numba", "onnxruntime"):
        try:
            info[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return info


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--peers", default=",".join(DEFAULT_PEERS))
    parser.add_argument("--epochs", type=int, default=7, help="timed epochs (after a warm-up)")
    parser.add_argument("--rounds", type=int, default=1, help="runs of every peer, interleaved")
    parser.add_argument("--quick", action="store_true", help="one workload, two epochs")
    parser.add_argument("--threads", type=int, help="threads per worker (BLAS, OpenMP, XLA)")
    parser.add_argument("--out", default="benchmark.json")
    parser.add_argument("--worker", nargs=2, metavar=("PEER", "WORKLOAD"), help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(*args.worker, args.epochs, args.data_dir)
        return 0
    workloads = ["notebook-64"] if args.quick else args.workloads.split(",")
    epochs = 2 if args.quick else args.epochs
    if "recipe" in workloads:  # its own peers and table
        from recipe_bench import main as recipe_main

        workloads.remove("recipe")
        recipe_args = ["--epochs", str(epochs), "--rounds", str(args.rounds)]
        recipe_args += ["--out", str(Path(args.out).with_name("recipe_" + Path(args.out).name))]
        status = recipe_main(
            recipe_args + (["--threads", str(args.threads)] if args.threads else [])
        )
        if not workloads:
            return status
    peers = args.peers.split(",")
    if args.threads:
        limit_threads(args.threads)
    data_dir = Path(tempfile.mkdtemp(prefix="barenet-bench-"))
    try:
        save_data(data_dir)
        rounds = [run_round(i, workloads, peers, epochs, data_dir) for i in range(args.rounds)]
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    summary = summarise(rounds, workloads, peers)
    print(table(summary))
    gflops = [r["gemm_gflops"] for r in rounds]
    print(
        f"arith_floor: matrix-product FLOPs per epoch / large-GEMM rate, "
        f"{np.median(gflops):.1f} GFLOP/s (rounds: {', '.join(f'{g:.1f}' for g in gflops)})"
    )
    compiler = [r["compiler_mb"] for r in rounds if r["compiler_mb"] is not None]
    if compiler:
        print(f"numba's own memory (import + one small kernel): {np.median(compiler):.0f} MB")
    print(targets_text(summary, args.rounds))
    report = {
        "machine": machine(),
        "epochs": epochs,
        "rounds": args.rounds,
        "threads": args.threads or "default",
        "workloads": WORKLOADS,
        "gemm_gflops": gflops,
        "compiler_mb": compiler,
        **summary,
    }
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(f"written to {args.out}")
    failed = [
        f"{w}/{p}" for w, ps in summary["results"].items() for p, r in ps.items() if "error" in r
    ]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

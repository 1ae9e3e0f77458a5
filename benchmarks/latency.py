"""Inference latency: predicting 1 row and 1,000 rows with the same trained weights in
barenet's engines, PyTorch eager and onnxruntime, each peer in its own process.

    python benchmarks/latency.py               # 3 rounds, 2,000 calls per size
    python benchmarks/latency.py --quick       # 1 round, 100 calls per size
    python benchmarks/latency.py --peers barenet_compiled,onnxruntime --rounds 5

The notebook's network (8 -> 64 -> 64 -> 1, Relu, float32) is trained for two epochs on
California Housing, then copied into every peer; each peer first checks that it gives
barenet's predictions. A call is the whole user-visible call (input array in, NumPy
array out); each call is timed on its own after warm-up calls. Reported: the median
and the 90th percentile of the call times in microseconds (medians over rounds, with
the min-max of the per-round medians), and writes JSON.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench import machine, run_worker  # noqa: E402 (the benchmarks' own modules)
from peer_tools import Unavailable, engine_options, limit_threads  # noqa: E402

SIZES = (1, 1000)
PEERS = (
    "barenet_compiled",
    "barenet_numpy",
    "torch",
    "torch_inference_mode",
    "onnxruntime",
    "onnxruntime_1thread",
)


def build_model():
    from barenet import MLP, MSE, Linear, Relu

    rng = np.random.default_rng(0)
    layers = [Linear(8, 64, seed=rng), Relu(), Linear(64, 64, seed=rng), Relu()]
    return MLP([*layers, Linear(64, 1, seed=rng)], MSE(), 0.01, seed=0)


def _barenet(model, engine: str):
    if "engine" not in inspect.signature(model.predict).parameters:
        if engine == "numpy":
            return model.predict  # before the engine switch, NumPy is the only engine
        raise Unavailable("this barenet has no engine= switch (MLP.predict)")
    engine = engine_options(engine)["engine"]  # "numpy": the fused step's name today
    return lambda x: model.predict(x, engine=engine)


def _torch(model, inference_mode: bool):
    try:
        import torch
    except ImportError:
        raise Unavailable("torch is not installed") from None
    modules = []
    for layer in model.layers:
        if hasattr(layer, "w"):
            linear = torch.nn.Linear(*layer.w.shape)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(layer.w.T.copy()))
                linear.bias.copy_(torch.from_numpy(layer.b.ravel()))
            modules.append(linear)
        else:
            modules.append(torch.nn.ReLU())
    network = torch.nn.Sequential(*modules).eval()
    context = torch.inference_mode if inference_mode else torch.no_grad

    def predict(x):
        with context():
            return network(torch.from_numpy(x)).numpy()

    return predict


def _onnxruntime(model, folder: Path, threads: int | None):
    try:
        import onnxruntime
    except ImportError:
        raise Unavailable("onnxruntime is not installed") from None
    from barenet.io.onnx.export import export_onnx

    path = export_onnx(model, folder / "latency.onnx")
    options = onnxruntime.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return lambda x: session.run(["prediction"], {"input": x})[0]


def predictor(peer: str, model, folder: Path):
    if peer.startswith("barenet_"):
        return _barenet(model, peer.removeprefix("barenet_"))
    if peer.startswith("torch"):
        return _torch(model, inference_mode=peer == "torch_inference_mode")
    return _onnxruntime(model, folder, threads=1 if peer.endswith("1thread") else None)


def call_times_us(predict, x: np.ndarray, calls: int) -> np.ndarray:
    for _ in range(max(10, calls // 10)):
        predict(x)
    times = np.empty(calls)
    for i in range(calls):
        start = time.perf_counter_ns()
        predict(x)
        times[i] = time.perf_counter_ns() - start
    return times / 1000


def worker(peer: str, folder: str, calls: int) -> dict:
    """Time one peer (in this process) on 1 and on 1,000 rows."""
    folder = Path(folder)
    model = build_model()
    model.load_state_dict(dict(np.load(folder / "weights.npz")))
    rows = np.load(folder / "rows.npy")
    expected = np.load(folder / "expected.npy")
    predict = predictor(peer, model, folder)
    difference = float(np.max(np.abs(predict(rows) - expected)))
    if difference > 1e-4:
        raise SystemExit(f"{peer} predicts differently from barenet: {difference:.2e}")
    result = {"max_difference": difference}
    for size in SIZES:
        times = call_times_us(predict, rows[:size], calls)
        result[str(size)] = {
            "median_us": float(np.median(times)),
            "p90_us": float(np.percentile(times, 90)),
        }
    return result


def prepare(folder: Path) -> None:
    """Train the notebook's network briefly and save its weights and 1,000 test rows."""
    from barenet.tables.datasets import load_california_housing

    split = load_california_housing()
    model = build_model()
    model.train(split.x_train, split.y_train, epochs=2, batch_size=64)
    np.savez(folder / "weights.npz", **model.state_dict())
    rows = np.ascontiguousarray(split.x_test[: max(SIZES)], dtype=np.float32)
    np.save(folder / "rows.npy", rows)
    np.save(folder / "expected.npy", model.predict(rows))


def summarise(rounds: list[dict]) -> dict:
    summary = {}
    for peer in rounds[0]:
        per_round = [r[peer] for r in rounds]
        failed = next((r for r in per_round if "error" in r or "unavailable" in r), None)
        if failed:
            summary[peer] = failed
            continue
        summary[peer] = {}
        for size in map(str, SIZES):
            medians = [r[size]["median_us"] for r in per_round]
            summary[peer][size] = {
                "median_us": float(np.median(medians)),
                "median_min_us": min(medians),
                "median_max_us": max(medians),
                "p90_us": float(np.median([r[size]["p90_us"] for r in per_round])),
            }
    return summary


def table(summary: dict) -> str:
    head = "".join(f"{f'{s} row(s): median':>22} {'min-max':>15} {'p90':>8}" for s in SIZES)
    lines = [f"{'peer':<21}{head}   (microseconds per call)"]
    for peer, r in summary.items():
        if "error" in r or "unavailable" in r:
            status = "error" if "error" in r else "unavailable"
            lines.append(f"{peer:<21}{status}: {r[status]}")
            continue
        cells = ""
        for size in map(str, SIZES):
            c = r[size]
            spread = f"{c['median_min_us']:.1f}-{c['median_max_us']:.1f}"
            cells += f"{c['median_us']:22.1f} {spread:>15} {c['p90_us']:8.1f}"
        lines.append(f"{peer:<21}{cells}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peers", default=",".join(PEERS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, help="timed calls per size (2000; quick: 100)")
    parser.add_argument("--quick", action="store_true", help="1 round, 100 calls")
    parser.add_argument("--threads", type=int, help="threads per worker (BLAS, OpenMP)")
    parser.add_argument("--out", default="latency.json")
    parser.add_argument(
        "--worker", nargs=3, metavar=("PEER", "FOLDER", "CALLS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.worker:
        peer, folder, calls = args.worker
        try:
            print(json.dumps(worker(peer, folder, int(calls))))
        except Unavailable as why:
            print(json.dumps({"unavailable": str(why)}))
        return 0
    rounds = 1 if args.quick else args.rounds
    calls = args.calls or (100 if args.quick else 2000)
    peers = args.peers.split(",")
    if args.threads:
        limit_threads(args.threads)
    described = machine()  # the CPU, the BLAS and its threads, the load before
    with tempfile.TemporaryDirectory(prefix="barenet-latency-") as folder:
        prepare(Path(folder))
        results = []
        for index in range(rounds):
            order = peers[::-1] if index % 2 else peers
            results.append({})
            for peer in order:
                command = [str(Path(__file__).resolve()), "--worker", peer, folder, str(calls)]
                results[-1][peer] = run_worker(command)
                print(f"  round {index + 1} {peer}: done", file=sys.stderr, flush=True)
    summary = summarise([{peer: r[peer] for peer in peers} for r in results])
    print(table(summary))
    Path(args.out).write_text(
        json.dumps(
            {
                "rounds": rounds,
                "calls": calls,
                "threads": args.threads or "default",
                "machine": described,
                "load_average_after": [round(v, 2) for v in os.getloadavg()],
                "results": summary,
            },
            indent=2,
        )
    )
    print(f"written to {args.out}")
    return 1 if any("error" in r for r in summary.values()) else 0


if __name__ == "__main__":
    sys.exit(main())

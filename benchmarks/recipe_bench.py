"""The tabular recipe's network, barenet against PyTorch's ``tabm`` package, per epoch.

    python benchmarks/recipe_bench.py                # 3 timed epochs, 2 interleaved rounds
    python benchmarks/recipe_bench.py --threads 1    # one BLAS/OpenMP thread per worker
    python benchmarks/recipe_bench.py --peers barenet,tabm --epochs 5 --rounds 3

The network is ``--recipe tabular``'s: piecewise-linear encoding on 48 quantile bins,
a 16-wide linear layer and Relu per feature, TabM-mini with k = 16 members, two shared
128-wide layers, a head per member; AdamW, batch 256, California Housing's 16,512
training rows (the notebook's split, standardised). Peers, each in its own process:

- ``barenet``: the numpy engine as ``barenet train`` runs it (``FusedStep``);
- ``barenet_plain``: the layers' own methods (``fast=False``), for what the fused path buys;
- ``tabm``: ``tabm.TabM`` (``arch_type="tabm-mini"``) with ``rtdl_num_embeddings``'
  ``PiecewiseLinearEmbeddings`` (the same encoding, linear layer and Relu, plus the
  per-feature linear term of version "B" that TabM requires: 16 numbers per feature
  and row), on the same bins, the same shapes and the same optimiser;
- the arithmetic floor: the matrix products' FLOPs at the large-GEMM rate measured in
  the same round.

Prints median ms per epoch, each peer's ratio to barenet and to the floor, and the
machine (CPU model, BLAS and its threads, load average before and after each round);
writes it all as JSON. A peer that cannot run here gives an "unavailable" row.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench import machine, run_worker, save_data  # noqa: E402 (the benchmarks' own modules)
from floor import gemm_gflops  # noqa: E402
from peer_tools import Unavailable, engine_options, limit_threads, timed_epochs  # noqa: E402

PEERS = ("barenet", "barenet_plain", "tabm")
BINS, EMBEDDING, K, WIDTH, DEPTH, BATCH = 48, 16, 16, 128, 2, 256
LR, WEIGHT_DECAY = 2e-3, 3e-4


def flops_per_epoch(n_rows: int, n_features: int, bins: int) -> int:
    """The matrix products' multiply-adds per epoch: each feature's (bins x 16) layer
    (forward and weight gradient), each shared layer's (forward, weight and input
    gradients, for all k members' rows) and the heads (the same three)."""
    per_row = 2 * 2 * n_features * bins * EMBEDDING
    width = n_features * EMBEDDING
    for _ in range(DEPTH):
        per_row += 3 * 2 * K * width * WIDTH
        width = WIDTH
    per_row += 3 * 2 * K * WIDTH
    return per_row * n_rows


def barenet_peer(data: dict, epochs: int, fast: bool = True) -> dict:
    from barenet.training.config import TrainConfig, build_model
    from barenet.training.hyperparams import RECIPES

    x, y = data["x_train"].astype(np.float32), data["y_train"].astype(np.float32)
    preset = {**RECIPES["tabular"], "bins": BINS, "embedding_dim": EMBEDDING, "ensemble": K,
              "hidden": (WIDTH,) * DEPTH, "lr": LR, "weight_decay": WEIGHT_DECAY}  # fmt: skip
    model = build_model(TrainConfig(**preset, seed=0), x.shape[1], 1, "regression", x, y)
    options = engine_options("numpy", fast)  # the fused step, or the model's own methods
    result = timed_epochs(lambda: model.train(x, y, epochs=1, batch_size=BATCH, **options), epochs)
    return {**result, "test_loss": model.evaluate(data["x_test"], data["y_test"])}


def tabm_peer(data: dict, epochs: int) -> dict:
    try:
        import rtdl_num_embeddings
        import tabm
        import torch
    except ImportError as error:
        raise Unavailable(f"{error.name} is not installed (pip install tabm)") from None
    from barenet.tabular.embeddings import quantile_bins

    torch.manual_seed(0)
    x = torch.as_tensor(data["x_train"], dtype=torch.float32)
    y = torch.as_tensor(data["y_train"], dtype=torch.float32).reshape(-1, 1)
    bins = [torch.as_tensor(e, dtype=torch.float32) for e in quantile_bins(data["x_train"], BINS)]
    model = tabm.TabM.make(
        n_num_features=x.shape[1],
        d_out=1,
        num_embeddings=rtdl_num_embeddings.PiecewiseLinearEmbeddings(
            bins, EMBEDDING, activation=True, version="B"
        ),
        arch_type="tabm-mini",
        k=K,
        n_blocks=DEPTH,
        d_block=WIDTH,
        dropout=0.0,
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    generator = torch.Generator().manual_seed(0)

    def epoch():
        model.train()
        for rows in torch.randperm(len(x), generator=generator).split(BATCH):
            optimizer.zero_grad()
            members = model(x[rows])  # (batch, k, 1): each member scored, as barenet does
            loss = torch.nn.functional.mse_loss(members, y[rows, None].expand_as(members))
            loss.backward()
            optimizer.step()

    result = timed_epochs(epoch, epochs)
    model.eval()
    with torch.no_grad():
        prediction = model(torch.as_tensor(data["x_test"], dtype=torch.float32)).mean(1)
    target = torch.as_tensor(data["y_test"], dtype=torch.float32).reshape(-1, 1)
    return {**result, "test_loss": float(torch.mean((prediction - target) ** 2))}


def worker(peer: str, epochs: int, data_dir: str) -> None:
    names = ("x_train", "y_train", "x_test", "y_test")
    data = {name: np.load(Path(data_dir) / f"{name}.npy") for name in names}
    try:
        if peer == "gemm_rate":
            result = {"gemm_gflops": gemm_gflops(repeats=5), "blas": blas_info()}
        elif peer == "tabm":
            result = tabm_peer(data, epochs)
        else:
            result = barenet_peer(data, epochs, fast=peer == "barenet")
    except Unavailable as why:
        result = {"unavailable": str(why)}
    print(json.dumps(result))


def load_average() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def run_round(index: int, peers: list[str], epochs: int, data_dir: Path) -> dict:
    """Every peer once (reversed in odd rounds), then the large-GEMM rate."""
    here = str(Path(__file__).resolve())
    results, load_before = {}, load_average()
    for peer in peers[::-1] if index % 2 else peers:
        results[peer] = run_worker(
            [here, "--worker", peer, "--epochs", str(epochs), "--data-dir", str(data_dir)]
        )
        if "times" in results[peer]:
            results[peer]["ms_per_epoch"] = float(np.median(results[peer]["times"])) * 1000
        print(f"  round {index + 1} {peer}: {results[peer].get('ms_per_epoch', results[peer])}",
              file=sys.stderr, flush=True)  # fmt: skip
    rate = run_worker([here, "--worker", "gemm_rate", "--data-dir", str(data_dir)])
    return {"results": results, "gemm_gflops": rate["gemm_gflops"], "blas": rate["blas"],
            "load_average": {"before": load_before, "after": load_average()}}  # fmt: skip


def blas_info() -> list[dict]:
    """Each BLAS/OpenMP library NumPy loaded, its version and thread count."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    keys = ("internal_api", "version", "num_threads", "architecture")
    return [{k: pool.get(k) for k in keys} for pool in threadpool_info()]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peers", default=",".join(PEERS))
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs (after a warm-up)")
    parser.add_argument("--rounds", type=int, default=2, help="runs of every peer, interleaved")
    parser.add_argument("--threads", type=int, help="threads per worker (BLAS, OpenMP)")
    parser.add_argument("--out", default="recipe_benchmark.json")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.epochs, args.data_dir)
        return 0
    if args.threads:
        limit_threads(args.threads)
    peers = args.peers.split(",")
    with tempfile.TemporaryDirectory(prefix="barenet-recipe-") as folder:
        save_data(Path(folder))
        n_rows, n_features = np.load(Path(folder) / "x_train.npy").shape
        rounds = [run_round(i, peers, args.epochs, Path(folder)) for i in range(args.rounds)]
    flops = flops_per_epoch(n_rows, n_features, BINS)
    blas = rounds[0]["blas"]  # as a worker has it, with --threads applied
    report = {"machine": {**machine(), "blas": blas, "threads": args.threads or "default"},
              "epochs": args.epochs, "rounds": rounds, "flops_per_epoch": flops}  # fmt: skip
    print(text_table(report, peers))
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(f"written to {args.out}")
    return 0


def text_table(report: dict, peers: list[str]) -> str:
    """A Markdown table: ms per epoch in each round, the median, ratios to barenet and
    to the floor; then the machine."""
    rounds = report["rounds"]
    floors = [report["flops_per_epoch"] / (r["gemm_gflops"] * 1e9) * 1000 for r in rounds]
    rows = {p: [r["results"][p].get("ms_per_epoch") for r in rounds] for p in peers}
    rows["arithmetic floor"] = floors
    base = [r["results"].get("barenet", {}).get("ms_per_epoch") for r in rounds]
    header = " | ".join(f"round {i + 1}" for i in range(len(rounds)))
    lines = [f"| recipe network, ms/epoch | {header} | x barenet | x floor |",
             "|---" * (len(rounds) + 3) + "|"]  # fmt: skip
    for name, values in rows.items():
        if any(v is None for v in values):
            why = next(
                (r["results"][name] for r in rounds if "ms_per_epoch" not in r["results"][name]),
                {},
            )
            lines.append(f"| {name} | {why} |")
            continue
        ratio = [v / b for v, b in zip(values, base, strict=True)] if None not in base else []
        to_floor = [v / f for v, f in zip(values, floors, strict=True)]
        cells = " | ".join(f"{v:.0f}" for v in values)
        ratio_text = f"{np.median(ratio):.2f}" if ratio else "-"
        lines.append(f"| {name} | {cells} | {ratio_text} | {np.median(to_floor):.2f} |")
    m = report["machine"]
    blas = ", ".join(f"{b['internal_api']} {b['version']} ({b['num_threads']} threads)"
                     for b in m.get("blas", []))  # fmt: skip
    loads = "; ".join(
        f"{r['load_average']['before']} -> {r['load_average']['after']}" for r in rounds
    )
    lines.append("")
    lines.append(f"machine: {m['processor']}, {m['cpus']} CPUs; BLAS: {blas}; "
                 f"threads: {m['threads']}; torch {m.get('torch', '-')} "
                 f"({m.get('torch_threads', '-')} threads); load average (1, 5, 15 min) per "
                 f"round: {loads}; large-GEMM rate: "
                 + ", ".join(f"{r['gemm_gflops']:.0f}" for r in rounds) + " GFLOP/s")  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

"""README's speed table, rendered from one recorded run of ``bench.py``.

    python benchmarks/bench.py --epochs 5 --rounds 2 \\
        --workloads notebook-32,notebook-64,notebook-256,wide,deep,recipe \\
        --peers barenet_compiled,barenet_numpy,barenet,torch,jax_scan,gemm_floor \\
        --out benchmarks/results/speed.json
    python benchmarks/speed_table.py benchmarks/results/speed.json --write README.md docs/speed.md

``bench.py`` writes ``speed.json`` and, for the ``recipe`` workload, ``recipe_speed.json``
beside it. This script turns the two into Markdown: README's one table between the
markers ``<!-- speed-table:start -->`` and ``<!-- speed-table:end -->``, and every
figure between ``<!-- speed-table-full:start -->`` and ``<!-- speed-table-full:end -->``
in docs/speed.md (``--write`` replaces the blocks; without it, the Markdown is printed).
``tests/test_benchmarks.py`` checks that both blocks are what the recorded run renders,
so the tables and the run cannot drift apart.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

MARKERS = {  # the block's name in a file -> how it is rendered
    "speed-table": lambda path: render_short(path),
    "speed-table-full": lambda path: render(path),
}
NOTEBOOK = ("notebook-32", "notebook-64", "notebook-256")
OTHER = ("wide", "deep")
PEERS = {  # bench.py's peer -> the row's name
    "barenet_compiled": "barenet, compiled engine",
    "barenet_numpy": "barenet, numpy engine",
    "barenet": "barenet, `auto` (the default)",
    "torch": "PyTorch eager",
    "jax_scan": "JAX `jit` + `lax.scan`",
    "gemm_floor": "the matrix products alone (NumPy)",
    "arith_floor": "arithmetic floor",
}
RECIPE_PEERS = {
    "barenet": "barenet (numpy engine, fused step)",
    "barenet_plain": "barenet, the layers' own methods",
    "tabm": "PyTorch, `tabm` + `rtdl_num_embeddings`",
}


def _ms(results: dict, workload: str, peer: str) -> float | None:
    row = results.get(workload, {}).get(peer)
    return row.get("ms_per_epoch") if isinstance(row, dict) else None


def _cell(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _ratio(numerator: float | None, denominator: float | None) -> str:
    if not numerator or not denominator:
        return "-"
    return f"{numerator / denominator:.2f}x"


def _column(name: str, spec: dict) -> str:
    """A workload's column title: its batch size, and its widths unless the notebook's."""
    if name.startswith("notebook"):
        return f"batch {spec['batch_size']}"
    hidden = spec["hidden"]
    width = f"{len(hidden)} x {hidden[0]}" if len(set(hidden)) == 1 else "-".join(map(str, hidden))
    return f"{name}: {width}, batch {spec['batch_size']}"


def _table(run: dict, workloads: tuple[str, ...], header: str) -> list[str]:
    results = run["results"]
    present = [w for w in workloads if w in results]
    titles = [_column(w, run["workloads"][w]) for w in present]
    lines = [f"| {header} | " + " | ".join(titles) + " |"]
    lines.append("|---" * (len(present) + 1) + "|")
    for peer, name in PEERS.items():
        cells = [_ms(results, w, peer) for w in present]
        if any(c is not None for c in cells):
            lines.append(f"| {name} | " + " | ".join(_cell(c) for c in cells) + " |")
    for peer, name in (
        ("torch", "PyTorch"),
        ("jax_scan", "JAX"),
        ("barenet_numpy", "numpy engine"),
    ):
        ratios = [_ratio(_ms(results, w, peer), _ms(results, w, "barenet")) for w in present]
        if any(r != "-" for r in ratios):
            lines.append(f"| {name} / `auto` | " + " | ".join(ratios) + " |")
    floors = [_ratio(_ms(results, w, "barenet"), _ms(results, w, "arith_floor")) for w in present]
    lines.append("| `auto` / arithmetic floor | " + " | ".join(floors) + " |")
    return lines


def _load(path: Path) -> tuple[dict, dict | None]:
    """The run in ``path`` and its recipe part (``recipe_<name>`` beside it, if any)."""
    run = json.loads(Path(path).read_text())
    recipe_path = Path(path).with_name("recipe_" + Path(path).name)
    return run, json.loads(recipe_path.read_text()) if recipe_path.exists() else None


def _recipe_medians(recipe: dict) -> dict[str, float | None]:
    """Each recipe peer's median ms per epoch over the rounds, and ``"floor"``'s."""
    rounds = recipe["rounds"]
    medians = {}
    for peer in RECIPE_PEERS:
        values = [r["results"].get(peer, {}).get("ms_per_epoch") for r in rounds]
        values = [v for v in values if v is not None]
        medians[peer] = statistics.median(values) if values else None
    floors = [recipe["flops_per_epoch"] / (r["gemm_gflops"] * 1e9) * 1e3 for r in rounds]
    medians["floor"] = statistics.median(floors)
    return medians


def _recipe_lines(recipe: dict) -> list[str]:
    medians = _recipe_medians(recipe)
    ours, floor = medians["barenet"], medians["floor"]
    lines = ["| tabular recipe's network, ms/epoch | median of rounds | x barenet | x floor |"]
    lines.append("|---|---|---|---|")
    for peer, name in RECIPE_PEERS.items():
        ms = medians[peer]
        lines.append(f"| {name} | {_cell(ms)} | {_ratio(ms, ours)} | {_ratio(ms, floor)} |")
    lines.append(f"| arithmetic floor | {_cell(floor)} | {_ratio(floor, ours)} | 1.00x |")
    return lines


def _machine(run: dict, recipe: dict | None) -> str:
    machine = run["machine"]
    pools = machine.get("blas") or ["unknown BLAS"]
    # every BLAS loaded (NumPy's, and SciPy's once numba has loaded it), in load order
    blas = " and ".join(
        pool if isinstance(pool, str) else f"{pool['internal_api']} {pool['version']}"
        for pool in pools
    )

    loads = [machine.get("load_average")]
    if recipe:
        loads += [
            r["load_average"][when] for r in recipe["rounds"] for when in ("before", "after")
        ]
    ones = [a[0] for a in loads if a]
    load = f"{min(ones):.2f} to {max(ones):.2f}"
    return (
        f"{machine['processor']}, {machine['cpus']} CPUs; {blas}; threads: {run['threads']} "
        f"(torch {machine.get('torch_threads', '-')}); 1-minute load average {load}; "
        f"large-GEMM rate {statistics.median(run['gemm_gflops']):.0f} GFLOP/s; "
        f"{run['epochs']} timed epochs x {run['rounds']} rounds; numpy {machine['numpy']}, "
        f"torch {machine.get('torch', '-')}, jax {machine.get('jax', '-')}, "
        f"numba {machine.get('numba', '-')}"
    )


def render_short(path: Path) -> str:
    """README's one table: the default engine against its peers, and the floors."""
    run, recipe = _load(path)
    results = run["results"]
    present = [w for w in NOTEBOOK if w in results]
    titles = [f"notebook, {_column(w, run['workloads'][w])}" for w in present]
    recipe_ms = _recipe_medians(recipe) if recipe else {}
    if recipe:
        titles.append("tabular recipe's network")
    rows = [
        ("barenet (`auto`)", [_ms(results, w, "barenet") for w in present], "barenet"),
        ("PyTorch (eager; `tabm`)", [_ms(results, w, "torch") for w in present], "tabm"),
        ("JAX `jit` + `lax.scan`", [_ms(results, w, "jax_scan") for w in present], None),
        ("arithmetic floor", [_ms(results, w, "arith_floor") for w in present], "floor"),
    ]
    lines = [f"Machine: {_machine(run, recipe)}.", ""]
    lines.append("| ms per epoch | " + " | ".join(titles) + " |")
    lines.append("|---" * (len(titles) + 1) + "|")
    for name, cells, recipe_peer in rows:
        if recipe:
            cells = [*cells, recipe_ms.get(recipe_peer) if recipe_peer else None]
        lines.append(f"| {name} | " + " | ".join(_cell(c) for c in cells) + " |")
    ours = [_ms(results, w, "barenet") for w in present] + [recipe_ms.get("barenet")] * bool(
        recipe
    )
    theirs = [_ms(results, w, "torch") for w in present] + [recipe_ms.get("tabm")] * bool(recipe)
    lines.append(
        "| PyTorch / barenet | "
        + " | ".join(_ratio(t, o) for t, o in zip(theirs, ours, strict=True))
        + " |"
    )
    return "\n".join(lines) + "\n"


def render(path: Path) -> str:
    """The Markdown for the run recorded in ``path`` (and ``recipe_<name>`` beside it)."""
    run, recipe = _load(path)
    lines = [f"Machine: {_machine(run, recipe)}.", ""]
    lines += _table(run, NOTEBOOK, "notebook's network (8-64-64-1), ms/epoch")
    lines.append("")
    lines += _table(run, OTHER, "wider networks, ms/epoch")
    if recipe:
        lines.append("")
        lines += _recipe_lines(recipe)
    return "\n".join(lines) + "\n"


def replace_blocks(text: str, path: Path) -> str:
    """``text`` with each marked block (``<!-- NAME:start -->`` ... ``<!-- NAME:end -->``,
    NAME in ``MARKERS``) rendered anew from the run in ``path``."""
    found = False
    for name, rendering in MARKERS.items():
        start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
        if start in text and end in text:
            head, rest = text.split(start, 1)
            _, tail = rest.split(end, 1)
            text = f"{head}{start}\n{rendering(path)}{end}{tail}"
            found = True
    if not found:
        raise SystemExit("speed_table.py: no <!-- speed-table:start --> block to replace")
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="bench.py's --out JSON")
    parser.add_argument("--write", type=Path, nargs="*", default=[],
                        help="replace the marked blocks in these files")  # fmt: skip
    parser.add_argument("--short", action="store_true", help="print README's table")
    args = parser.parse_args(argv)
    for path in args.write:
        path.write_text(replace_blocks(path.read_text(), args.run))
    if not args.write:
        sys.stdout.write((render_short if args.short else render)(args.run))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

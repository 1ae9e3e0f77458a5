"""From the per-round results to the summary: medians and spreads over rounds, each
peer's ratios to barenet's two engines and to the arithmetic floor, and the issue's
targets, each with its value in every round.

A ratio is taken within one round (both figures measured minutes apart at most) and
then summarised over rounds: median, min and max.
"""

from __future__ import annotations

import numpy as np

COMPILED, NUMPY_ENGINE, FLOOR = "barenet_compiled", "barenet_numpy", "arith_floor"

# (target, workload, numerator, denominator, comparison, bound): numerator/denominator,
# per round. A name is a peer (ms per epoch), FLOOR, "peak:<peer>" (peak MB) or
# "peak:barenet_numpy+compiler" (the numpy engine's peak plus what numba adds).
TARGETS = [
    ("at least 10x faster than PyTorch eager", "notebook-64", "torch", COMPILED, ">=", 10),
    ("at least 12x faster than PyTorch eager", "notebook-32", "torch", COMPILED, ">=", 12),
    ("at least 2.5x faster than the numpy engine", "notebook-64", NUMPY_ENGINE, COMPILED,
     ">=", 2.5),
    ("at most 2.5x the arithmetic floor", "notebook-64", COMPILED, FLOOR, "<=", 2.5),
    ("faster than JAX jit + lax.scan", "notebook-32", "jax_scan", COMPILED, ">", 1),
    ("faster than JAX jit + lax.scan", "notebook-64", "jax_scan", COMPILED, ">", 1),
    ("no slower than the numpy engine", "wide", NUMPY_ENGINE, COMPILED, ">=", 1),
    ("no slower than PyTorch eager", "wide", "torch", COMPILED, ">=", 1),
    ("no slower than the numpy engine", "deep", NUMPY_ENGINE, COMPILED, ">=", 1),
    ("no slower than PyTorch eager", "deep", "torch", COMPILED, ">=", 1),
    ("peak memory at most the numpy engine's + numba's", "notebook-64",
     f"peak:{NUMPY_ENGINE}+compiler", f"peak:{COMPILED}", ">=", 1),
    ("peak memory under a third of PyTorch's", "notebook-64", "peak:torch",
     f"peak:{COMPILED}", ">", 3),
]  # fmt: skip
COMPARE = {">=": np.greater_equal, ">": np.greater, "<=": np.less_equal}


def _value(one_round: dict, workload: str, name: str) -> float | None:
    """One round's figure for ``name`` on ``workload`` (None when not measured)."""
    if name == FLOOR:
        return one_round["floor_ms"].get(workload)
    memory = name.startswith("peak:")
    peer, _, plus = name.removeprefix("peak:").partition("+")
    result = one_round["results"].get(workload, {}).get(peer, {})
    if "ms_per_epoch" not in result:
        return None
    if not memory:
        return result["ms_per_epoch"]
    if plus and one_round.get("compiler_mb") is None:
        return None
    return result["peak_rss_mb"] + (one_round["compiler_mb"] if plus else 0.0)


def _ratios(rounds: list[dict], workload: str, top: str, bottom: str) -> list[float]:
    """``top / bottom`` in every round where both were measured."""
    values = [(_value(r, workload, top), _value(r, workload, bottom)) for r in rounds]
    return [a / b for a, b in values if a is not None and b]


def _spread(values: list[float]) -> dict:
    return {"median": float(np.median(values)), "min": min(values), "max": max(values)}


def _peer_summary(per_round: list[dict], ratios: dict) -> dict:
    for key in ("error", "unavailable"):
        reasons = [r[key] for r in per_round if key in r]
        if reasons:
            return {key: reasons[0], "rounds": per_round}
    ms = [r["ms_per_epoch"] for r in per_round]
    return {
        "ms_per_epoch": float(np.median(ms)),
        "ms_min": min(ms),
        "ms_max": max(ms),
        "times": [t for r in per_round for t in r["times"]],
        "warmup_s": float(np.median([r["warmup_s"] for r in per_round])),
        "test_loss": per_round[-1]["test_loss"],
        "peak_rss_mb": max(r["peak_rss_mb"] for r in per_round),
        **{name: _spread(values)["median"] for name, values in ratios.items() if values},
        "rounds": per_round,
    }


def summarise(rounds: list[dict], workloads: list[str], peers: list[str]) -> dict:
    """Medians and spreads over rounds, per workload and peer, and the targets."""
    results = {}
    for workload in workloads:
        results[workload] = {}
        floors = [r["floor_ms"][workload] for r in rounds]
        for name in [*peers, FLOOR]:
            ratios = {
                "vs_compiled": _ratios(rounds, workload, name, COMPILED),
                "vs_numpy_engine": _ratios(rounds, workload, name, NUMPY_ENGINE),
                "x_floor": _ratios(rounds, workload, name, FLOOR),
            }
            if name == FLOOR:
                per_round = [{"ms_per_epoch": f, "times": [], "warmup_s": 0.0,
                              "test_loss": None, "peak_rss_mb": 0.0} for f in floors]  # fmt: skip
            else:
                per_round = [r["results"][workload][name] for r in rounds]
            results[workload][name] = _peer_summary(per_round, ratios)
    targets = []
    for what, workload, top, bottom, comparison, bound in TARGETS:
        if workload not in workloads:
            continue
        values = _ratios(rounds, workload, top, bottom)
        target = {"target": what, "workload": workload, "ratio": f"{top} / {bottom}",
                  "comparison": comparison, "bound": bound, "per_round": values}  # fmt: skip
        if values:
            target.update(_spread(values))
            target["met_rounds"] = int(COMPARE[comparison](values, bound).sum())
        targets.append(target)
    return {"results": results, "targets": targets}


def _cell(result: dict, key: str, unit: str = "x") -> str:
    return f"{result[key]:.2f}{unit}" if result.get(key) is not None else "-"


def table(summary: dict) -> str:
    lines = [
        f"{'workload':<13} {'peer':<17} {'ms/epoch':>9} {'min-max':>17} {'/compiled':>9} "
        f"{'/numpy-eng':>10} {'x floor':>8} {'test MSE':>8} {'peak MB':>7} {'warm-up s':>9}"
    ]
    for workload, peers in summary["results"].items():
        for peer, r in peers.items():
            if "error" in r or "unavailable" in r:
                status = "error" if "error" in r else "unavailable"
                lines.append(f"{workload:<13} {peer:<17} {status}: {r[status]}")
                continue
            spread = f"{r['ms_min']:.2f}-{r['ms_max']:.2f}"
            memory = f"{r['peak_rss_mb']:.0f}" if r["peak_rss_mb"] else "-"
            warmup = f"{r['warmup_s']:.2f}" if peer != FLOOR else "-"
            lines.append(
                f"{workload:<13} {peer:<17} {r['ms_per_epoch']:9.2f} {spread:>17} "
                f"{_cell(r, 'vs_compiled'):>9} {_cell(r, 'vs_numpy_engine'):>10} "
                f"{_cell(r, 'x_floor'):>8} {_cell(r, 'test_loss', ''):>8} {memory:>7} "
                f"{warmup:>9}"
            )
    return "\n".join(lines)


def targets_text(summary: dict, rounds: int) -> str:
    lines = [f"targets (ratio per round; median [min-max] over {rounds} round(s)):"]
    for t in summary["targets"]:
        head = f"  {t['workload']:<12} {t['target']}: {t['ratio']}"
        if not t["per_round"]:
            lines.append(f"{head}: not measured")
            continue
        lines.append(
            f"{head} = {t['median']:.2f} [{t['min']:.2f}-{t['max']:.2f}], "
            f"target {t['comparison']} {t['bound']}: met in {t['met_rounds']} of "
            f"{len(t['per_round'])}"
        )
    return "\n".join(lines)

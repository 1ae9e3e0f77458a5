"""From the suite's fits to its report: per table and model the metric's mean and
spread over seeds, fit seconds and epochs; barenet's wins against each peer, every
model's mean rank, the fit-time ratio to CatBoost, and issue 28's targets, met or not.

barenet is "no worse" than a peer on a table when its mean over the seeds is at least
the peer's (accuracy) or at most it (RMSE); every model has the same splits, and both
the wins and the ranks compare means over the splits the models compared all scored (a
peer run on one seed is compared with barenet's score on that split).
"""

from __future__ import annotations

import numpy as np

LABELS = {
    "barenet": "barenet, no flags",
    "hgb": "HGB, native categoricals",
    "skrub": "skrub `tabular_pipeline`",
    "catboost": "CatBoost default",
    "realmlp_td": "RealMLP-TD",
    "tabm": "TabM default",
}
TARGET_TABLES = 13  # issue 28's targets count wins out of the 13 tables


def _result(fits: list[dict]) -> dict:
    """One model on one table: mean and spread over the seeds that scored."""
    good = [f for f in fits if "score" in f]
    if not good:
        first = fits[0]
        return {key: first[key] for key in ("unavailable", "error") if key in first}
    scores = np.array([f["score"] for f in good])
    result = {
        "mean": float(scores.mean()),
        "std": float(scores.std()),
        "seconds": float(np.mean([f["s"] for f in good])),
        "seeds": len(good),
        "by_seed": {f["seed"]: f["score"] for f in good},
    }
    if all(f.get("epochs") is not None for f in good):
        result["epochs"] = float(np.mean([f["epochs"] for f in good]))
    failed = [f.get("error") for f in fits if "error" in f]
    if failed:
        result["failed_seeds"] = failed
    return result


def _no_worse(mine: float, theirs: float, metric: str) -> bool:
    return mine >= theirs if metric == "accuracy" else mine <= theirs


def _same_splits(results: dict, models: list[str]) -> dict | None:
    """Each model's mean over the seeds (splits) every one of ``models`` scored, so that
    a model run on fewer seeds is compared on its own splits only; None if they share
    none."""
    seeds = None
    for model in models:
        scored = set(results.get(model, {}).get("by_seed", {}))
        seeds = scored if seeds is None else seeds & scored
    if not seeds:
        return None
    return {m: float(np.mean([results[m]["by_seed"][s] for s in sorted(seeds)])) for m in models}


def _ranks(tables: dict, models: list[str]) -> dict:
    """Mean rank (1 = best, ties share) over the tables every ranked model scored on,
    each table ranked on the splits they all scored (``_same_splits``)."""
    ranked = [m for m in models if any("mean" in t["results"].get(m, {}) for t in tables.values())]
    means = [(t, _same_splits(t["results"], ranked)) for t in tables.values()]
    common = [(t, m) for t, m in means if m is not None]
    if not common:
        return {"tables": 0, "mean_rank": {}}
    totals = dict.fromkeys(ranked, 0.0)
    for table, mean in common:
        sign = -1.0 if table["metric"] == "accuracy" else 1.0
        values = {m: sign * mean[m] for m in ranked}
        for model, value in values.items():
            better = sum(v < value for v in values.values())
            ties = sum(v == value for v in values.values())
            totals[model] += better + (ties + 1) / 2
    return {"tables": len(common), "mean_rank": {m: t / len(common) for m, t in totals.items()}}


def _wins(tables: dict, peers: list[str]) -> dict:
    """For each peer (and the better of HGB and skrub): tables where barenet is no
    worse, out of the tables where both scored, on the splits both scored."""
    wins = {}
    for peer in [*peers, "best_of_hgb_skrub"]:
        no_worse = compared = 0
        for table in tables.values():
            results = table["results"]
            if peer == "best_of_hgb_skrub":
                them = [p for p in ("hgb", "skrub") if "mean" in results.get(p, {})]
            else:
                them = [peer] if "mean" in results.get(peer, {}) else []
            means = _same_splits(results, ["barenet", *them]) if them else None
            if means is None:
                continue
            best = max if table["metric"] == "accuracy" else min
            compared += 1
            no_worse += _no_worse(means["barenet"], best(means[p] for p in them), table["metric"])
        wins[peer] = {"no_worse": no_worse, "of": compared}
    return wins


def _time_ratio(tables: dict) -> dict:
    per_table = {}
    for name, table in tables.items():
        mine = table["results"].get("barenet", {}).get("seconds")
        theirs = table["results"].get("catboost", {}).get("seconds")
        if mine is not None and theirs:
            per_table[name] = (mine, theirs)
    if not per_table:
        return {}
    total = sum(m for m, _ in per_table.values()) / sum(t for _, t in per_table.values())
    return {"per_table": {n: m / t for n, (m, t) in per_table.items()}, "total": total}


def summarise(report: dict) -> dict:
    """Tables (results per model), wins, ranks, time ratio and the targets."""
    from suite_tables import TABLES

    models = report["models"]
    tables = {}
    for name in dict.fromkeys(f["table"] for f in report["fits"]):
        fits = [f for f in report["fits"] if f["table"] == name]
        scored = next((f for f in fits if "rows" in f), {})
        results = {}
        for model in models:
            mine = [f for f in fits if f["model"] == model]
            if mine:
                results[model] = _result(mine)
        tables[name] = {
            "rows": scored.get("rows"),
            "metric": "accuracy" if TABLES[name].classification else "RMSE",
            "results": results,
        }
    peers = [m for m in models if m != "barenet"]
    summary = {"tables": tables, "wins": _wins(tables, peers), "ranks": _ranks(tables, models)}
    summary["time_ratio"] = _time_ratio(tables)
    summary["targets"] = _targets(summary)
    return summary


def _targets(summary: dict) -> list[str]:
    wins, ranks, ratio = summary["wins"], summary["ranks"]["mean_rank"], summary["time_ratio"]
    lines = []
    for peer, bound, what in (
        ("best_of_hgb_skrub", 11, "the better of HGB and skrub"),
        ("catboost", 8, "CatBoost's default"),
    ):
        won = wins.get(peer, {"no_worse": 0, "of": 0})
        if not won["of"]:
            lines.append(f"no worse than {what} on at least {bound} of {TARGET_TABLES}: "
                         "not measured")  # fmt: skip
            continue
        met = "met" if won["no_worse"] >= bound else "NOT met"
        lines.append(
            f"no worse than {what} on at least {bound} of {TARGET_TABLES}: "
            f"{won['no_worse']} of {won['of']} compared ({met})"
        )
    for peer in ("realmlp_td", "tabm"):
        if "barenet" in ranks and peer in ranks:
            met = "met" if ranks["barenet"] < ranks[peer] else "NOT met"
            lines.append(
                f"mean rank better than {LABELS[peer]}'s: {ranks['barenet']:.2f} against "
                f"{ranks[peer]:.2f} ({met})"
            )
    if ratio:
        met = "met" if ratio["total"] <= 2 else "NOT met"
        lines.append(f"total fit time at most 2x CatBoost's: {ratio['total']:.2f}x ({met})")
    return lines


def _number(value: float, digits: int) -> str:
    """Whole units with thousands separators from 1,000 up, else ``digits`` significant."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.{digits}g}"


def _cell(result: dict, metric: str) -> str:
    if "mean" not in result:
        reason = result.get("unavailable") or result.get("error") or "not run"
        return f"skipped: {reason[:50]}" if "unavailable" in result else f"fails: {reason[:50]}"
    if metric == "accuracy":
        figure = f"{100 * result['mean']:.2f} %"
        spread = f"{100 * result['std']:.2f}"
    else:
        figure, spread = _number(result["mean"], 4), _number(result["std"], 2)
    if result["seeds"] > 1:  # one seed has no spread to show
        figure += f" ± {spread}"
    epochs = f", {result['epochs']:.0f} ep" if "epochs" in result else ""
    return f"{figure} ({result['seconds']:.1f} s{epochs})"


def report_text(report: dict, summary: dict) -> str:
    """The Markdown table (one row per table), then the summary lines."""
    models = report["models"]
    ratio = summary["time_ratio"].get("per_table", {})
    head = ["table (rows)", "metric", *(LABELS[m] for m in models), "seeds", "barenet/CatBoost s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, table in summary["tables"].items():
        cells = [_cell(table["results"].get(m, {}), table["metric"]) for m in models]
        seeds = max((r.get("seeds", 0) for r in table["results"].values()), default=0)
        time = f"{ratio[name]:.2f}" if name in ratio else "-"
        rows = f"{table['rows']:,}" if table["rows"] else "?"
        lines.append(f"| {name} ({rows}) | {table['metric']} | {' | '.join(cells)} | "
                     f"{seeds} | {time} |")  # fmt: skip
    wins = ", ".join(
        f"{LABELS.get(p, 'the better of HGB and skrub')} {w['no_worse']}/{w['of']}"
        for p, w in summary["wins"].items()
    )
    lines += ["", f"barenet no worse than: {wins}."]
    ranks = summary["ranks"]
    if ranks["mean_rank"]:
        text = ", ".join(f"{LABELS[m]} {r:.2f}" for m, r in ranks["mean_rank"].items())
        lines.append(f"Mean rank over the {ranks['tables']} tables every model scored: {text}.")
    lines += [f"- {line}" for line in summary["targets"]]
    machine = report["machine"]
    lines.append(
        f"Machine: {machine['processor']}, {machine['cpus']} cores, BLAS "
        f"{'; '.join(machine.get('blas', [])) or '?'}; one thread per fit, {report['jobs']} "
        f"fits at a time; load average {report['load_before']} before, "
        f"{report.get('load_after')} after; {report.get('suite_seconds', 0) / 60:.0f} min"
        f"{'' if report.get('complete') else ' (partial run)'}"
        f"{' (quick mode)' if report['quick'] else ''}."
    )
    for run in report.get("earlier_runs", []):
        lines.append(
            f"Resumed from an earlier run of {run['fits']} fits: load average "
            f"{run['load_before']} before, {run['load_after']} after; "
            f"{(run['seconds'] or 0) / 60:.0f} min."
        )
    return "\n".join(lines)


START, END = "<!-- suite-table:start -->", "<!-- suite-table:end -->"


def replace_block(text: str, report: dict) -> str:
    """``text`` with its ``<!-- suite-table:start -->`` ... ``end`` block rendered anew
    from ``report`` (a saved run)."""
    if START not in text or END not in text:
        raise SystemExit(f"no {START} ... {END} block to replace")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{report_text(report, summarise(report))}\n{END}{tail}"

"""Strict JSON for ``--json``: every output parses with any JSON parser.

``json.dumps`` writes NaN and infinity as ``NaN`` and ``Infinity``, which strict parsers
(JavaScript's ``JSON.parse``, ``jq``, Go, Rust) reject. ``dumps`` writes each non-finite
number as ``null`` and adds a ``notes`` entry naming it and what it was.
"""

from __future__ import annotations

import json
import math

import numpy as np


def _clean(value, where: str, notes: list):
    """``value`` with each non-finite float replaced by None (a note each)."""
    if isinstance(value, dict):
        return {k: _clean(v, f"{where}.{k}" if where else str(k), notes) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v, f"{where}[{i}]", notes) for i, v in enumerate(value)]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        what = "not a number (NaN)" if math.isnan(value) else f"{value} (overflow)"
        notes.append(f"{where} is {what}: written as null")
        return None
    return value


def dumps(obj, **kwargs) -> str:
    """``json.dumps(obj, allow_nan=False, **kwargs)`` after writing each non-finite number
    as null; a dict gains ``notes`` (a list of sentences) naming each one."""
    notes: list[str] = []
    clean = _clean(obj, "", notes)
    if notes and isinstance(clean, dict):
        clean["notes"] = [*(clean.get("notes") or []), *notes]
    return json.dumps(clean, allow_nan=False, **kwargs)

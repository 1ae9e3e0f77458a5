"""The estimators' checks of labels and targets, the command line's rules in
scikit-learn's terms (a ``ValueError`` subclass naming what is wrong)."""

from __future__ import annotations

import numpy as np

from barenet.errors import BarenetValueError


def check_no_missing_targets(y, name: str = "y") -> None:
    """A ``BarenetValueError`` naming the rows of ``y`` that are missing (None, NaN,
    ``pd.NA``, ``NaT``): a label or target to learn from cannot be blank."""
    import pandas as pd

    values = np.asarray(y, dtype=object) if not hasattr(y, "isna") else y
    try:
        missing = np.asarray(pd.isna(values), dtype=bool).reshape(len(values), -1).any(axis=1)
    except (TypeError, ValueError):  # not array-like: scikit-learn's checks name it
        return
    if missing.any():
        rows = np.flatnonzero(missing)
        shown = ", ".join(map(str, rows[:5])) + (", ..." if len(rows) > 5 else "")
        raise BarenetValueError(
            f"{name} has {len(rows)} missing values (None, NaN or pd.NA) at rows {shown} "
            "(0-based): every row to learn from needs its target. Drop those rows, or fill "
            "them in"
        )


def check_two_classes(classes) -> None:
    """A ``BarenetValueError`` for fewer than two classes, as ``barenet train`` refuses a
    target with a single value."""
    if len(classes) < 2:
        raise BarenetValueError(
            f"y has one class ({_plain(classes[0])!r}): there is nothing to learn. A "
            "classifier needs at least 2 classes (barenet train refuses such a target too)"
        )


def _plain(value):
    return value.item() if hasattr(value, "item") else value

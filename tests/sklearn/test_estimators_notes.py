"""The estimators' ``predict`` says what ``barenet predict`` notes (blank cells
imputed, unseen categories, values and dates clipped to the training range) as one
``DataWarning`` per call, and nothing on clean rows."""

import warnings

import numpy as np
import pandas as pd
import pytest

from barenet.errors import DataWarning
from barenet.sklearn.estimators import BarenetClassifier, BarenetRegressor

SETTINGS = {"epochs": 2, "hidden": (8,), "random_state": 0}


def frame(n=60, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.uniform(0, 10, n),
            "plan": rng.choice(["basic", "plus", "lux"], n),
            "sold": pd.date_range("2020-01-01", periods=n, freq="D"),
        }
    )


@pytest.fixture(scope="module")
def fitted():
    x = frame()
    y = x["a"] * 2 + x["b"]
    return x, BarenetRegressor(**SETTINGS).fit(x, y)


def test_clean_rows_give_no_warning(fitted):
    x, model = fitted
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.predict(x)
        model.predict(x.iloc[:5])
        model.score(x, x["a"])


def test_what_predict_did_is_one_data_warning(fitted):
    x, model = fitted
    odd = x.iloc[:4].copy()
    odd.loc[odd.index[0], "b"] = np.nan  # imputed
    odd.loc[odd.index[1], "a"] = 1e6  # clipped to the training range
    odd.loc[odd.index[2], "plan"] = "gold"  # unseen
    odd.loc[odd.index[3], "sold"] = pd.Timestamp("2031-01-01")  # a date clipped
    with pytest.warns(DataWarning) as caught:
        model.predict(odd)
    assert len(caught) == 1 and issubclass(DataWarning, UserWarning)
    assert str(caught[0].message) == (
        "X: imputed 1 blank cell (b: 1); 1 cell held a category unseen in training (plan: "
        "1, e.g. 'gold'); 1 date was outside the training range, their year and days "
        "clipped to it (sold: 1); 1 value was outside the training range, clipped to it "
        "(a: 1)"
    )
    assert caught[0].filename == __file__  # points at the caller's line
    with pytest.warns(DataWarning) as caught:
        model.score(odd, odd["a"])  # scikit-learn's score calls predict
    assert len(caught) == 1 and caught[0].filename == __file__


def test_a_classifier_warns_once_per_call_of_predict_and_predict_proba():
    x = frame()
    model = BarenetClassifier(**SETTINGS).fit(x, x["a"] > 0)
    odd = x.iloc[:3].copy()
    odd["b"] = [-50.0, 5.0, 500.0]
    for method in (model.predict, model.predict_proba):
        with pytest.warns(DataWarning, match=r"^X: 2 values were .*clipped to it \(b: 2\)$"):
            method(odd)
    with pytest.warns(DataWarning) as caught:
        model.score(odd, odd["a"] > 0)
    assert len(caught) == 1 and caught[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.predict(x)


def test_arrays_without_a_table_give_no_notes():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 3))
    model = BarenetRegressor(**SETTINGS).fit(x, x[:, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.predict(x * 100)  # arrays are not clipped: nothing to say

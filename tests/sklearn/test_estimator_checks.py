"""The estimators on hostile input (barenet.sklearn.checks, barenet.tables.standardize): labels
with missing values, sample_weight, a single class, a target around 1e200, and
non-finite outputs."""

import numpy as np
import pandas as pd
import pytest

from barenet.errors import BarenetError, BarenetTypeError, BarenetValueError, DataError
from barenet.sklearn.estimators import BarenetClassifier, BarenetRegressor

X = np.random.default_rng(0).standard_normal((60, 3))


@pytest.mark.parametrize(
    "labels",
    [
        np.array([0, 1, None] * 20, dtype=object),
        pd.Series([0, 1, pd.NA] * 20, dtype="Int64"),
        np.array(["a", "b", None] * 20, dtype=object),
        pd.Series(["a", "b", np.nan] * 20),
        np.array([0.0, 1.0, np.nan] * 20),
    ],
    ids=["int-None", "Int64-NA", "str-None", "str-nan", "float-nan"],
)
def test_labels_with_missing_values_get_a_clear_value_error(labels):
    with pytest.raises(ValueError, match=r"20 missing values .* at rows 2, 5, 8") as caught:
        BarenetClassifier(epochs=1).fit(X, labels)
    assert isinstance(caught.value, BarenetError)
    with pytest.raises(BarenetValueError, match="missing values"):
        BarenetClassifier(epochs=1).partial_fit(X, labels, classes=["a", "b"])


def test_regression_targets_with_missing_values_get_a_clear_value_error():
    y = pd.Series(np.arange(60.0)).astype("Float64")
    y[7] = pd.NA
    with pytest.raises(BarenetValueError, match="1 missing values .* at rows 7"):
        BarenetRegressor(epochs=1).fit(X, y)


@pytest.mark.parametrize("cls", [BarenetRegressor, BarenetClassifier])
def test_sample_weight_is_refused_by_name(cls):
    y = (X[:, 0] > 0).astype(int)
    with pytest.raises(BarenetTypeError, match=r"fit does not support sample_weight"):
        cls(epochs=1).fit(X, y, sample_weight=np.ones(len(y)))
    with pytest.raises(TypeError, match=r"unexpected arguments \['weights'\]"):
        cls(epochs=1).fit(X, y, weights=np.ones(len(y)))


def test_a_single_class_is_refused_as_on_the_command_line():
    with pytest.raises(
        BarenetValueError, match=r"y has one class \(1\): there is nothing to learn"
    ):
        BarenetClassifier(epochs=1).fit(X, np.ones(len(X), dtype=int))
    with pytest.raises(BarenetValueError, match="one class"):
        BarenetClassifier(epochs=1).partial_fit(X, np.zeros(len(X)), classes=[0])


def test_a_target_around_1e200_trains_and_predicts_finite_values():
    """The target scaler works in float64 without squaring such values (y_scale_ was
    inf, and every prediction +-inf); least squares is the yardstick."""
    from sklearn.linear_model import LinearRegression

    y = (X @ [1.0, 2.0, -1.0] + 5) * 1e200
    model = BarenetRegressor(epochs=60, random_state=0, hidden=(16,)).fit(X, y)
    assert np.isfinite(model.y_mean_).all() and np.isfinite(model.y_scale_).all()
    prediction = model.predict(X)
    assert np.isfinite(prediction).all()
    least_squares = LinearRegression().fit(X, y).predict(X)
    from sklearn.metrics import r2_score  # on y / 1e200: its squares overflow in float64

    assert r2_score(y / 1e200, prediction / 1e200) > 0.5
    assert r2_score(y / 1e200, least_squares / 1e200) > 0.99


def test_non_finite_outputs_are_an_error_naming_the_rows():
    model = BarenetClassifier(epochs=1, random_state=0).fit(X, (X[:, 0] > 0).astype(int))
    model.model_.layers[0].w[0, :] = np.nan
    with pytest.raises(DataError, match=r"data rows 1, 2, 3, 4, 5, \.\.\. \(60 of 60\)"):
        model.predict(X)
    with pytest.raises(DataError, match="not finite"):
        model.predict_proba(X)

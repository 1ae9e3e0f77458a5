"""Renamed names keep working for one minor version, with a FutureWarning naming the new
spelling: the estimators' ``hidden_layer_sizes`` (now ``hidden``) and ``MLP.save(path)``
(now ``barenet.save(model, path)``)."""

import warnings

import numpy as np
import pytest
from conftest import small_mlp, toy_data
from sklearn.base import clone

import barenet
from barenet.errors import BarenetValueError
from barenet.sklearn.estimators import BarenetClassifier, BarenetRegressor

X = np.random.default_rng(0).standard_normal((40, 3))
Y = X[:, 0] - 2 * X[:, 1]


def test_hidden_layer_sizes_warns_at_fit_and_builds_the_same_network_as_hidden():
    old = BarenetRegressor(hidden_layer_sizes=(7, 5), epochs=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # constructing, cloning, get_params: no warning
        copy = clone(old)
        assert copy.get_params()["hidden_layer_sizes"] == (7, 5)
    with pytest.warns(FutureWarning, match=r"hidden_layer_sizes=\.\.\.\) is deprecated") as caught:
        old.fit(X, Y)
    assert "use hidden=... instead" in str(caught[0].message)
    assert caught[0].filename == __file__, "the warning points at the user's call"
    new = BarenetRegressor(hidden=(7, 5), epochs=2, random_state=0).fit(X, Y)
    shapes = [{k: v.shape for k, v in m.model_.state_dict().items()} for m in (old, new)]
    assert shapes[0] == shapes[1]
    assert old.config_.hidden == new.config_.hidden == (7, 5)
    np.testing.assert_array_equal(old.predict(X), new.predict(X))


def test_hidden_layer_sizes_warns_in_partial_fit_and_for_the_classifier():
    labels = (Y > 0).astype(int)
    with pytest.warns(FutureWarning, match="use hidden="):
        BarenetClassifier(hidden_layer_sizes=(4,), epochs=1).partial_fit(X, labels, [0, 1])
    with pytest.warns(FutureWarning, match="use hidden="):
        BarenetClassifier(hidden_layer_sizes=(4,), epochs=1).fit(X, labels)


def test_both_spellings_at_once_is_an_error_naming_both():
    model = BarenetRegressor(hidden_layer_sizes=(4,), hidden=(8,), epochs=1)
    with pytest.raises(BarenetValueError, match="both hidden_layer_sizes=.* and hidden="):
        model.fit(X, Y)


def test_without_the_old_name_there_is_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        BarenetRegressor(hidden=(4,), epochs=1).fit(X, Y)


def test_mlp_save_warns_and_writes_what_barenet_save_writes(tmp_path):
    model = small_mlp()
    x, y = toy_data(20)
    model.train(x, y, epochs=1, batch_size=8)
    with pytest.warns(FutureWarning, match=r"use barenet\.save\(model, path\)") as caught:
        path = model.save(tmp_path / "old.npz")
    assert caught[0].filename == __file__
    assert path == tmp_path / "old.npz"
    barenet.save(model, tmp_path / "new.npz")
    old, new = barenet.load(path), barenet.load(tmp_path / "new.npz")
    np.testing.assert_array_equal(old.predict(x), new.predict(x))
    assert old.state_dict().keys() == model.state_dict().keys()

import inspect

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from barenet.registry import LAYERS
from barenet.sklearn.estimators import BarenetClassifier, BarenetRegressor
from barenet.training import hyperparams

FAST = {"epochs": 60, "random_state": 0, "hidden": (32,)}


@parametrize_with_checks(
    [
        BarenetRegressor(**FAST, dtype="float64"),
        BarenetClassifier(**FAST, dtype="float64"),
        BarenetRegressor(**FAST),
        BarenetClassifier(**FAST),
    ],
)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def regression_data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4))
    y = np.stack([x[:, 0] * x[:, 1] + x[:, 2], np.sin(2 * x[:, 3])], axis=1)
    return x, y


def test_parameters_are_the_hyperparameter_spec():
    expected = [p.for_estimator for p in hyperparams.PARAMS] + [("verbose", False)]
    deprecated = [("hidden_layer_sizes", None)]  # the old name of hidden, until 0.4
    own = {BarenetRegressor: [("target_scaling", True)], BarenetClassifier: []}
    for cls in (BarenetRegressor, BarenetClassifier):
        signature = inspect.signature(cls.__init__).parameters
        want = expected + deprecated + own[cls]
        assert [(n, p.default) for n, p in signature.items() if n != "self"] == want
        assert cls().get_params() == dict(want)
    names = [name for name, _ in expected]
    assert "hidden" in names and "val_fraction" in names and "random_state" in names
    assert "seed" not in names and "hidden_layer_sizes" not in names
    with pytest.raises(TypeError, match="seed"):
        BarenetRegressor(seed=0)


def test_every_parameter_reaches_the_network():
    x, y = regression_data(60)
    model = BarenetRegressor(
        hidden=(5, 3),
        activation="tanh",
        batchnorm=True,
        optimizer="sgd",
        lr=0.02,
        momentum=0.5,
        weight_decay=0.001,
        epochs=3,
        batch_size=7,
        dropout=0.1,
        loss="huber",
        dtype="float64",
        random_state=0,
    ).fit(x, y)
    config = model.config_
    assert (config.hidden, config.activation, config.batch_size) == ((5, 3), "tanh", 7)
    assert [LAYERS.name_of(layer) for layer in model.model_.layers][:4] == [
        "linear",
        "batchnorm",
        "tanh",
        "dropout",
    ]
    assert model.model_.layers[-1].out_dim == 2 and model.model_.dtype == np.float64
    assert type(model.model_.loss_fun).__name__ == "Huber"
    optimizer = model.model_.optimizer
    assert (type(optimizer).__name__, optimizer.lr, optimizer.momentum) == ("SGD", 0.02, 0.5)
    assert optimizer.weight_decay == 0.001 and model.n_iter_ == 3
    with pytest.raises(ValueError, match="momentum must be >= 0"):
        BarenetRegressor(momentum=-1.0).fit(x, y)
    with pytest.raises(ValueError, match="unknown activation"):
        BarenetClassifier(activation="softsign").fit(x, y[:, 0] > 0)
    with pytest.raises(ValueError, match="val_fraction must be > 0"):  # not silently ignored
        BarenetRegressor(early_stopping=5, val_fraction=0.0).fit(x, y)


def test_early_stopping_holds_out_val_fraction_of_the_rows():
    x, y = regression_data()
    model = BarenetRegressor(
        hidden=(64, 64), epochs=150, random_state=0, early_stopping=10, val_fraction=0.2
    ).fit(x[:250], y[:250])
    assert model.predict(x[250:]).shape == (50, 2)
    assert model.score(x[250:], y[250:]) > 0.7  # least squares gets 0.32 here
    curve = np.array(model.validation_loss_curve_)
    assert len(model.loss_curve_) == len(curve) == model.n_iter_ < 150  # it stopped early
    assert np.argmin(curve) + 1 < model.n_iter_
    assert np.isfinite(curve).all() and model.n_features_in_ == 4
    # it ends with the weights of the best validation epoch, measured on 20 % of the rows
    _, x_val, _, y_val = train_test_split(
        x[:250], y[:250], test_size=0.2, random_state=model.config_.seed
    )
    y_val_scaled = (y_val - model.y_mean_) / model.y_scale_  # the network's units
    x_val_scaled = model.preprocessing_.transform(x_val)  # standardised, as fit trains
    evaluated = model.model_.evaluate(x_val_scaled, y_val_scaled)
    assert evaluated == pytest.approx(curve.min(), rel=1e-5)
    single = BarenetRegressor(epochs=5, random_state=0).fit(x, y[:, 0])
    assert single.predict(x).shape == (300,) and single.n_iter_ == 5
    assert len(single.validation_loss_curve_) == 5  # aligned with the epochs:
    assert np.isnan(single.validation_loss_curve_).all()  # no validation without selection


def test_classifier_proba_classes_and_partial_fit():
    from sklearn.datasets import load_iris

    x, y = load_iris(return_X_y=True)
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = make_pipeline(StandardScaler(), BarenetClassifier(epochs=100, random_state=0))
    clf.fit(x, labels)
    proba = clf.predict_proba(x)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    assert list(clf[-1].classes_) == ["setosa", "versicolor", "virginica"]
    np.testing.assert_array_equal(clf.predict(x), clf[-1].classes_[proba.argmax(axis=1)])
    assert clf.score(x, labels) > 0.95
    assert type(clf[-1].model_.loss_fun).__name__ == "CrossEntropy"
    incremental = BarenetClassifier(random_state=0)
    xs = StandardScaler().fit_transform(x)
    for _ in range(30):
        incremental.partial_fit(xs, labels, classes=np.unique(labels))
    assert incremental.n_iter_ == 30 and incremental.score(xs, labels) > 0.9
    with pytest.raises(ValueError, match="classes must be passed"):
        BarenetClassifier().partial_fit(xs, labels)
    with pytest.raises(ValueError, match="not in classes"):
        incremental.partial_fit(xs[:2], ["setosa", "dodo"])


def test_grid_search_sets_the_parameters_it_searches():
    x, y = regression_data(200)
    pipeline = make_pipeline(StandardScaler(), BarenetRegressor(epochs=20, random_state=0))
    grid = GridSearchCV(
        pipeline, {"barenetregressor__lr": [1e-4, 3e-2]}, cv=3, return_train_score=True
    )
    grid.fit(x, y[:, 0])
    scores = grid.cv_results_["mean_test_score"]
    assert scores[1] > scores[0] + 0.1  # the learning rate reached the network
    assert grid.best_params_ == {"barenetregressor__lr": 3e-2}
    assert grid.best_estimator_[-1].model_.optimizer.lr == pytest.approx(3e-2)
    scores = cross_val_score(pipeline, x, y[:, 0], cv=3)
    assert scores.shape == (3,) and np.all(np.isfinite(scores))
    copy = clone(pipeline[-1])
    assert copy.get_params() == pipeline[-1].get_params() and not hasattr(copy, "model_")


def test_same_seed_same_model_and_feature_names():
    x, y = regression_data(100)
    a = BarenetRegressor(epochs=5, random_state=3).fit(x, y[:, 0])
    b = BarenetRegressor(epochs=5, random_state=3).fit(x, y[:, 0])
    c = BarenetRegressor(epochs=5, random_state=4).fit(x, y[:, 0])
    np.testing.assert_array_equal(a.predict(x), b.predict(x))
    assert not np.array_equal(a.predict(x), c.predict(x))
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(x, columns=list("abcd"))
    assert list(BarenetRegressor(epochs=1).fit(frame, y[:, 0]).feature_names_in_) == list("abcd")


def test_selection_holds_out_a_tenth_by_default_as_the_command_line_does():
    from sklearn.datasets import make_regression

    x, y = make_regression(n_samples=200, n_features=4, noise=1.0, random_state=0)
    model = BarenetRegressor(epochs=5, early_stopping=3, random_state=0).fit(x, y / 100)
    assert not np.isnan(model.validation_loss_curve_).any()
    plateau = BarenetRegressor(epochs=3, schedule="plateau", random_state=0).fit(x, y / 100)
    assert not np.isnan(plateau.validation_loss_curve_).any()
    plain = BarenetRegressor(epochs=3, random_state=0).fit(x, y / 100)
    assert np.isnan(plain.validation_loss_curve_).all()  # nothing held out, nothing selected
    with pytest.raises(ValueError, match="partial_fit cannot select"):
        BarenetRegressor(early_stopping=2).partial_fit(x, y)


def test_a_raw_dollar_target_trains_as_well_as_a_scaled_one():
    x, y = regression_data()
    dollars = y[:, 0] * 100_000 + 200_000
    scaled = BarenetRegressor(hidden=(32,), epochs=60, random_state=0).fit(x, dollars)
    raw = BarenetRegressor(hidden=(32,), epochs=60, random_state=0, target_scaling=False)
    raw.fit(x, dollars)
    assert scaled.score(x, dollars) > 0.7 and scaled.score(x, dollars) > raw.score(x, dollars)
    assert scaled.y_mean_[0] == pytest.approx(dollars.mean())


def test_sparse_input_gets_a_clear_message():
    from scipy import sparse

    x, y = regression_data(40)
    with pytest.raises(TypeError, match="dense data is required.*toarray"):
        BarenetRegressor(epochs=1).fit(sparse.csr_matrix(x), y)


def test_dataframes_of_numbers_are_taken_and_text_columns_encoded():
    import pandas as pd

    frame = pd.DataFrame({"a": np.arange(40.0), "b": np.linspace(0, 1, 40)})
    model = BarenetRegressor(epochs=2, random_state=0).fit(frame, frame["a"] * 2)
    assert list(model.feature_names_in_) == ["a", "b"] and model.predict(frame).shape == (40,)
    frame["city"] = ["x", "y"] * 20  # text: one-hot, as barenet train does
    model = BarenetClassifier(epochs=1, random_state=0).fit(frame, (frame["a"] > 20))
    # "a" numbers the rows 0..39: kept (barenet train leaves it out), as a CV fold keeps it
    assert list(model.get_feature_names_out()) == ["a", "b", "city=x", "city=y"]
    assert model.preprocessing_.extra["dropped"] == []


def test_the_tabular_recipe_fills_the_parameters_left_at_their_defaults():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    y = x[:, 0] ** 2 + x[:, 1]
    model = BarenetRegressor(recipe="tabular", ensemble=3, hidden=(16,), epochs=5, bins=8)
    model.fit(x, y)
    config = model.config_
    assert (config.ensemble, config.hidden, config.epochs) == (3, (16,), 5)  # given
    preset = hyperparams.RECIPES["tabular"]
    assert config.optimizer == preset["optimizer"] and config.embedding == preset["embedding"]
    assert config.early_stopping == preset["early_stopping"]  # not given: the recipe's
    assert model.predict(x).shape == (200,)
    assert clone(model).get_params()["recipe"] == "tabular"
    labels = (y > np.median(y)).astype(int)
    classifier = BarenetClassifier(recipe="tabular", ensemble=2, hidden=(8,), epochs=3).fit(
        x, labels
    )
    assert classifier.predict_proba(x).shape == (200, 2)
    np.testing.assert_allclose(classifier.predict_proba(x).sum(axis=1), 1, rtol=1e-5)

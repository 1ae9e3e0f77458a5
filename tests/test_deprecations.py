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


# -- engine names: fast= and engine="numpy" (now "methods" and "fused") ------------------


def _trained(**kwargs):
    model = small_mlp()
    x, y = toy_data(40)
    history = model.train(x, y, x, y, epochs=2, batch_size=8, **kwargs)
    return model, {key: list(value) for key, value in history.items()}


def _assert_same(a, b):
    assert a[1] == b[1]
    for key, value in a[0].state_dict().items():
        np.testing.assert_array_equal(b[0].state_dict()[key], value, err_msg=key)


def test_fast_false_warns_at_the_users_call_and_trains_as_engine_methods():
    with pytest.warns(FutureWarning, match='pass engine="methods"') as caught:
        old = _trained(fast=False)
    assert caught[0].filename == __file__, "the warning points at the user's call"
    _assert_same(old, _trained(engine="methods"))


def test_fast_true_warns_and_trains_as_the_default():
    with pytest.warns(FutureWarning, match="fast=True is deprecated") as caught:
        old = _trained(fast=True)
    assert caught[0].filename == __file__
    _assert_same(old, _trained())


def test_a_trainer_built_by_hand_warns_at_its_caller_too():
    from barenet.trainer import Trainer

    with pytest.warns(FutureWarning, match="fast=False") as caught:
        trainer = Trainer(small_mlp(), epochs=1, batch_size=8, fast=False)
    assert caught[0].filename == __file__
    assert trainer.engine == "methods"


def test_engine_numpy_warns_and_runs_the_fused_step_or_the_methods():
    with pytest.warns(FutureWarning, match='engine="numpy" is deprecated') as caught:
        old = _trained(engine="numpy")
    assert caught[0].filename == __file__
    assert 'engine="fused"' in str(caught[0].message)
    _assert_same(old, _trained(engine="fused"))

    class MyRelu(barenet.Relu):  # the fused step cannot run a learner's class: methods
        pass

    model = small_mlp()
    model.layers[1] = MyRelu()
    x, y = toy_data(40)
    with pytest.warns(FutureWarning):
        model.train(x, y, epochs=1, batch_size=8, engine="numpy")
    assert model.predict(x, engine="methods").shape == (40, 2)
    with pytest.warns(FutureWarning, match='engine="numpy"'):
        model.predict(x, engine="numpy")


def test_barenet_engine_numpy_still_means_the_fused_step(monkeypatch):
    from barenet.engines.select import resolve_engine

    monkeypatch.setenv("BARENET_ENGINE", "numpy")
    with pytest.warns(FutureWarning, match="BARENET_ENGINE=numpy is deprecated: set it to fused"):
        assert resolve_engine(small_mlp(), "auto") == "fused"


def test_a_saved_config_with_engine_numpy_loads_and_trains_as_before():
    from barenet.training.config import TrainConfig

    config = TrainConfig.from_json(TrainConfig(engine="numpy").to_json())
    assert config.engine == "numpy"
    with pytest.raises(BarenetValueError, match=r"\['auto', 'methods', 'fused', 'compiled'\]"):
        TrainConfig(engine="torch")
    fits = []
    for name in ("numpy", "fused"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            fit = BarenetRegressor(epochs=2, random_state=0, engine=name).fit(X, Y)
            fits.append(fit.predict(X))
    np.testing.assert_array_equal(fits[0], fits[1])


def test_the_command_line_still_takes_engine_numpy(tmp_path, capsys, monkeypatch):
    import json

    from barenet.cli import main

    monkeypatch.chdir(tmp_path)
    losses = {}
    for name in ("numpy", "fused"):
        common = ["--dataset", "diabetes", "--epochs", "2", "--plot", "none", "--json"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            assert main([*common, "--engine", name]) == 0
        out, err = capsys.readouterr()
        losses[name] = json.loads(out)["history"]["train_loss"]
        said = "barenet: --engine numpy is deprecated: pass --engine fused"
        assert (said in err) == (name == "numpy")
    assert losses["numpy"] == losses["fused"]
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    help_text = capsys.readouterr().out
    assert "{auto,methods,fused,compiled}" in help_text


def test_fast_true_with_engine_methods_warns_that_methods_is_what_runs():
    """fast=True allowed the fused step (it never required it), so unlike fast=False with
    engine="fused" it contradicts no engine: it runs as asked, and the warning says so."""
    with pytest.warns(FutureWarning, match="fast=True is deprecated") as caught:
        old = _trained(fast=True, engine="methods")
    message = str(caught[0].message)
    assert 'engine="methods" is what runs' in message
    assert "changes nothing" in message
    _assert_same(old, _trained(engine="methods"))
    with pytest.raises(BarenetValueError, match='pass engine="methods" alone'):
        with pytest.warns(FutureWarning):
            _trained(fast=False, engine="fused")

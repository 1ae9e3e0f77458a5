import math

import numpy as np
import pytest
from conftest import needs_california

import barenet
from barenet import MAE, MLP, MSE, Adam, CrossEntropy, Huber, Linear, Relu, RMSprop
from barenet.errors import ModelFileError
from barenet.registry import LAYERS
from barenet.tables.preprocessing import Preprocessing
from barenet.training.config import (
    TrainConfig,
    build_model,
    build_schedule,
    load_checkpoint,
    save_checkpoint,
)
from barenet.training.metrics import regression_metrics


def layer_names(model):
    return [LAYERS.name_of(layer) for layer in model.layers]


def test_a_config_builds_the_network_it_describes():
    config = TrainConfig(
        hidden=(5, 3),
        activation="tanh",
        batchnorm=True,
        dropout=0.25,
        optimizer="rmsprop",
        momentum=0.9,
        weight_decay=0.01,
        lr=0.002,
        dtype="float64",
    )
    model = build_model(config, 7, 2)
    assert layer_names(model) == [
        "linear",
        "batchnorm",
        "tanh",
        "dropout",
        "linear",
        "batchnorm",
        "tanh",
        "dropout",
        "linear",
    ]
    sizes = [(layer.in_dim, layer.out_dim) for layer in model.layers if hasattr(layer, "in_dim")]
    assert sizes == [(7, 5), (5, 3), (3, 2)] and model.layers[3].p == 0.25
    assert model.dtype == np.float64 and isinstance(model.loss_fun, MSE)
    assert isinstance(model.optimizer, RMSprop)
    assert (model.optimizer.lr, model.optimizer.momentum) == (0.002, 0.9)
    assert model.optimizer.weight_decay == 0.01
    assert model.record["task"] == "regression" and model.record["seed"] == config.seed
    plain = build_model(TrainConfig(hidden=(4,), activation="gelu"), 3, 1)
    assert layer_names(plain) == ["linear", "gelu", "linear"] and plain.in_dim == 3


def test_the_loss_follows_the_task_unless_given():
    assert isinstance(build_model(TrainConfig(), 3, 4, "classification").loss_fun, CrossEntropy)
    assert isinstance(build_model(TrainConfig(loss="huber"), 3, 1).loss_fun, Huber)
    model = build_model(TrainConfig(loss="mae"), 3, 4, "classification")
    assert isinstance(model.loss_fun, MAE) and model.record["task"] == "classification"


def test_same_seed_same_network_different_seed_different_network():
    a, b = (build_model(TrainConfig(hidden=(6,), dropout=0.5, seed=3), 4, 1) for _ in "ab")
    c = build_model(TrainConfig(hidden=(6,), dropout=0.5, seed=4), 4, 1)
    x = np.random.default_rng(0).standard_normal((30, 4))
    histories = [m.train(x, x[:, :1], epochs=2, batch_size=8) for m in (a, b, c)]
    assert histories[0] == histories[1] != histories[2]
    np.testing.assert_array_equal(a.layers[0].w, b.layers[0].w)


def test_config_validation():
    with pytest.raises(ValueError, match="unknown activation 'softsign'"):
        TrainConfig(activation="softsign")
    with pytest.raises(ValueError, match="dropout"):
        TrainConfig(dropout=1.5)
    with pytest.raises(ValueError, match="unknown initiali[sz]er 'zeros'"):
        TrainConfig(init="zeros")
    with pytest.raises(ValueError, match="hidden entry must be >= 1, got 0"):
        TrainConfig(hidden=(64, 0))
    with pytest.raises(ValueError, match="hidden needs at least one layer size"):
        TrainConfig(hidden=())
    with pytest.raises(ValueError, match="momentum must be >= 0"):
        TrainConfig(momentum=-0.5)
    with pytest.raises(ValueError, match="val_fraction must be in"):
        TrainConfig(val_fraction=1.0)
    for selects in ({"early_stopping": 2}, {"schedule": "plateau"}):
        with pytest.raises(ValueError, match="val_fraction must be > 0"):
            TrainConfig(val_fraction=0, **selects)  # it would select on the test split
    with pytest.raises(ValueError, match="lr must be finite"):
        TrainConfig(lr=float("inf"))
    with pytest.raises(ValueError, match="dtype"):
        TrainConfig(dtype="float16")
    with pytest.raises(TypeError, match="epochs must be an integer"):
        TrainConfig(epochs=True)
    with pytest.raises(TypeError, match="hidden_layer_sizes"):
        TrainConfig(hidden_layer_sizes=(3,))
    with pytest.raises(ValueError, match="lr must be > 0"):
        TrainConfig().replace(lr=0)
    assert TrainConfig(clip_norm=0).clip_norm is None  # 0 means off
    model = build_model(TrainConfig(init="he_normal", hidden=(400,)), 600, 1)
    assert abs(model.layers[0].w.std() / np.sqrt(2 / 600) - 1) < 0.05
    config = TrainConfig(hidden=[3, 4], schedule="cosine", early_stopping=2, val_fraction=0.2)
    assert config.hidden == (3, 4) and TrainConfig.from_json(config.to_json()) == config


def test_validation_rows_are_held_out_only_for_selection():
    assert TrainConfig().validation_fraction() == 0.0  # nothing selects: watch the test loss
    assert TrainConfig(schedule="cosine").validation_fraction() == 0.0
    assert TrainConfig(early_stopping=3).validation_fraction() == 0.1
    assert TrainConfig(schedule="plateau").validation_fraction() == 0.1
    assert TrainConfig(early_stopping=3, val_fraction=0.25).validation_fraction() == 0.25
    assert TrainConfig(val_fraction=0.3).validation_fraction() == 0.3


def classification_data(n=90, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4))
    return x, (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5)  # classes 0, 1, 2


def test_checkpoint_of_a_classifier_resumes_exactly_with_cross_entropy(tmp_path):
    """A classifier checkpointed from Python (as ``barenet train --checkpoint`` does)
    resumes as a classifier: cross-entropy, float64, its labels, its early stopping."""
    x, y = classification_data()
    config = TrainConfig(
        hidden=(8,),
        optimizer="adam",
        lr=0.01,
        dropout=0.2,
        dtype="float64",
        early_stopping=3,
        schedule="plateau",
        seed=5,
    )
    prep = Preprocessing(["a", "b", "c", "d"], "kind", None, None, ["x", "y", "z"])
    path = tmp_path / "ck.npz"

    def run(model, epochs, schedule, trainer_state=None, save_at=None):
        def checkpoint(model, epoch, logs):
            if epoch == save_at:
                save_checkpoint(
                    model,
                    path,
                    config,
                    schedule=schedule,
                    trainer=logs["trainer"],
                    preprocessing=prep,
                )

        model.train(
            x[:70],
            y[:70],
            x[70:],
            y[70:],
            epochs,
            16,
            clip_norm=config.clip_norm,
            schedule=schedule,
            early_stopping=config.early_stopping,
            callbacks=[checkpoint],
            trainer_state=trainer_state,
        )
        return model

    straight = build_model(config, 4, 3, "classification")
    run(straight, 6, build_schedule(config, straight), save_at=3)

    resumed, resumed_config, schedule, trainer_state = load_checkpoint(path)
    loaded = barenet.load(path)
    for model in (resumed, loaded):
        assert type(model.loss_fun) is CrossEntropy and model.dtype == np.float64
        assert model.record["task"] == "classification" and model.epoch == 3
        assert model.preprocessing.classes == ["x", "y", "z"]
        assert type(model.optimizer) is type(straight.optimizer)
    assert resumed_config == config and trainer_state["best_epoch"] is not None
    np.testing.assert_array_equal(resumed.predict(x), loaded.predict(x))
    run(resumed, 3, schedule, trainer_state)
    assert resumed.history == straight.history and resumed.epoch == 6
    for key, value in straight.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[key], value)


def test_checkpoint_of_a_hand_built_classifier(tmp_path):
    x, y = classification_data()
    layers = [Linear(4, 6, dtype=np.float64, seed=0), Relu(), Linear(6, 3, dtype=np.float64)]
    model = MLP(layers, CrossEntropy(), optimizer=Adam(lr=0.01), seed=1)
    model.train(x, y, epochs=2, batch_size=16)
    save_checkpoint(model, tmp_path / "ck.npz", TrainConfig(optimizer="adam", lr=0.01))
    resumed, _, _, _ = load_checkpoint(tmp_path / "ck.npz")
    loaded = barenet.load(tmp_path / "ck.npz")
    for rebuilt in (resumed, loaded):
        assert type(rebuilt.loss_fun) is CrossEntropy and rebuilt.dtype == np.float64
        assert rebuilt.record["task"] == "classification" and rebuilt.preprocessing is None
    model.train(x, y, epochs=2, batch_size=16)
    resumed.train(x, y, epochs=2, batch_size=16)
    assert resumed.history == model.history
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[key], value)


def test_a_model_file_is_not_a_checkpoint(tmp_path):
    model = build_model(TrainConfig(hidden=(2,)), 3, 1)
    barenet.save(model, tmp_path / "m.npz")
    with pytest.raises(ModelFileError, match="not a checkpoint"):
        load_checkpoint(tmp_path / "m.npz")


@pytest.mark.slow
@needs_california
def test_default_training_converges_for_twenty_seeds(california):
    """The notebook's recipe diverges for some seeds; barenet's defaults must not."""
    s = california
    y_test = s.scaler_y.inverse_transform(s.y_test)
    rmses = []
    for seed in range(20):
        config = TrainConfig(seed=seed).with_epochs_for(len(s.x_train))
        model = build_model(config, 8, 1)
        history = model.train(
            s.x_train,
            s.y_train,
            s.x_test,
            s.y_test,
            config.epochs,
            config.batch_size,
            clip_norm=config.clip_norm,
        )
        assert all(math.isfinite(v) for v in history["train_loss"] + history["val_loss"])
        prediction = s.scaler_y.inverse_transform(model.predict(s.x_test))
        rmses.append(regression_metrics(y_test, prediction)["rmse"])
    assert max(rmses) < 0.60, rmses


CALIFORNIA_RECIPE = (
    "--hidden 256,256,256 --optimizer adamw --lr 0.001 --weight-decay 0.01 --batch-size 128 "
    "--epochs 100 --schedule cosine --clip-norm 0 --dropout 0.1"
)


@pytest.mark.slow
@needs_california
def test_readme_california_recipe_reaches_rmse_050(tmp_path, monkeypatch, capsys):
    """The plain-MLP recipe of docs/accuracy.md: test RMSE <= 0.50 ($100,000) with the
    notebook's split."""
    import json

    from conftest import california_home

    from barenet.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SCIKIT_LEARN_DATA", california_home())
    assert main([*CALIFORNIA_RECIPE.split(), "--json", "--plot", "none"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rows"]["test"] == 4128
    assert summary["test"]["rmse"] <= 0.50, summary["test"]


def test_readme_digits_recipe_reaches_97_percent(tmp_path, monkeypatch, capsys):
    import json

    from barenet.cli import main

    monkeypatch.chdir(tmp_path)
    args = "--dataset digits --hidden 128 --optimizer adam --lr 0.001 --epochs 60"
    assert main([*args.split(), "--json", "--plot", "none"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["test"]["accuracy"] >= 0.97, summary["test"]["accuracy"]


def test_a_damaged_checkpoint_section_is_a_model_file_error(tmp_path):
    import json

    from barenet.errors import ModelFileError
    from barenet.training.config import load_checkpoint, save_checkpoint

    config = TrainConfig(hidden=(3,), optimizer="adam")
    model = build_model(config, 2, 1)
    save_checkpoint(model, tmp_path / "ck.npz", config)
    with np.load(tmp_path / "ck.npz") as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(str(arrays["__meta__"]))
    del meta["checkpoint"]["rng_states"]
    arrays["__meta__"] = np.array(json.dumps(meta))
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ModelFileError, match="training state is unusable"):
        load_checkpoint(tmp_path / "bad.npz")


# -- the tabular recipe ---------------------------------------------------------------


def test_the_tabular_recipe_fills_only_what_is_not_given():
    config = TrainConfig(recipe="tabular", lr=0.01, hidden=(32,))
    preset = barenet.training.hyperparams.RECIPES["tabular"]
    assert (config.lr, config.hidden) == (0.01, (32,))  # given: kept
    for name in ("embedding", "ensemble", "optimizer", "batch_size", "early_stopping"):
        assert getattr(config, name) == preset[name]  # not given: the recipe's
    assert TrainConfig().embedding == "none" and TrainConfig().ensemble == 1
    assert config.replace(epochs=3).lr == 0.01  # a copy keeps everything
    with pytest.raises(ValueError, match="recipe must be one of"):
        TrainConfig(recipe="fast")
    with pytest.raises(ValueError, match="batchnorm is not available inside an ensemble"):
        TrainConfig(ensemble=4, batchnorm=True)


@needs_california
def test_a_reduced_tabular_recipe_learns_california(california):
    """A smoke run of the recipe (fewer members, bins, epochs and rows than docs/table.md's)."""
    config = TrainConfig(
        recipe="tabular", ensemble=4, hidden=(32, 32), bins=16, epochs=4, seed=1
    ).with_epochs_for(4000)
    x, y = california.x_train[:4000], california.y_train[:4000]
    x_train, y_train, x_val, y_val = barenet.training.config.hold_out_validation(
        x, y, config, classification=False
    )
    assert len(x_val) == 400  # the recipe selects its epoch on held-out training rows
    model = build_model(config, 8, 1, "regression", x_train, y_train)
    model.train(
        x_train,
        y_train,
        x_val,
        y_val,
        config.epochs,
        config.batch_size,
        early_stopping=config.early_stopping,
    )
    rmse = regression_metrics(california.y_test, model.predict(california.x_test))["rmse"]
    assert rmse < 0.75  # scaled units: predicting the mean scores 1.0

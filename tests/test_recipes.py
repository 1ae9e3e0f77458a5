import math

import numpy as np
import pytest
from conftest import needs_california

from barenet.metrics import regression_metrics
from barenet.recipes import TrainConfig, build_model, load_checkpoint, save_checkpoint


def test_default_config_is_the_notebook_network():
    config = TrainConfig()
    model = build_model(config, 8, 1)
    sizes = [(layer.in_dim, layer.out_dim) for layer in model.layers if hasattr(layer, "in_dim")]
    assert sizes == [(8, 64), (64, 64), (64, 1)]
    assert [type(layer).__name__ for layer in model.layers] == [
        "Linear",
        "Relu",
        "Linear",
        "Relu",
        "Linear",
    ]
    assert type(model.loss_fun).__name__ == "MSE" and model.optimizer.lr == 0.01
    assert config.batch_size == 32 and config.clip_norm == 1.0


def test_config_validation():
    with pytest.raises(ValueError, match="unknown activation"):
        TrainConfig(activation="swish")
    with pytest.raises(ValueError, match="dropout"):
        TrainConfig(dropout=1.5)
    with pytest.raises(ValueError, match="unknown initialiser"):
        TrainConfig(init="zeros")
    model = build_model(TrainConfig(init="he_normal", hidden=(400,)), 600, 1)
    assert abs(model.layers[0].w.std() / np.sqrt(2 / 600) - 1) < 0.05
    with pytest.raises(ValueError, match="hidden layer size"):
        TrainConfig(hidden=(64, 0))
    assert TrainConfig.from_json(TrainConfig(hidden=(3, 4)).to_json()) == TrainConfig(
        hidden=(3, 4)
    )


def test_checkpoint_round_trip_restores_optimiser_and_random_state(tmp_path):
    config = TrainConfig(hidden=(8,), optimizer="adam", lr=0.01, dropout=0.2, epochs=2)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((40, 3)), rng.standard_normal((40, 1))
    model = build_model(config, 3, 1)
    model.train(x, y, epochs=1, batch_size=8)
    save_checkpoint(model, tmp_path / "c.npz", config)
    resumed, resumed_config, _, _ = load_checkpoint(tmp_path / "c.npz")
    assert resumed_config == config
    model.train(x, y, epochs=1, batch_size=8)
    resumed.train(x, y, epochs=1, batch_size=8)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[key], value)


@needs_california
def test_default_training_converges_for_twenty_seeds(california):
    """The notebook's recipe diverges for some seeds; barenet's defaults must not."""
    s = california
    y_test = s.scaler_y.inverse_transform(s.y_test)
    rmses = []
    for seed in range(20):
        config = TrainConfig(seed=seed)
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


@needs_california
def test_readme_california_recipe_reaches_rmse_050(tmp_path, monkeypatch, capsys):
    """The README's recipe: test RMSE <= 0.50 ($100,000) with the notebook's split."""
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

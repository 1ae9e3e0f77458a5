"""Every route to a ``TrainConfig`` in one module (barenet.training.sources): the
command line's flags, an estimator's parameters, and a tune candidate."""

import argparse

import numpy as np
import pytest

from barenet.cli import build_parser, config_from_args
from barenet.sklearn.estimators import BarenetRegressor
from barenet.training.config import TrainConfig
from barenet.training.sources import (
    config_from_candidate,
    config_from_estimator,
    config_from_flags,
    estimator_params,
    train_command,
)


def parsed(*words) -> argparse.Namespace:
    return build_parser().parse_args(["train", *words])


@pytest.mark.parametrize(
    "words, recipe",
    [
        (["--data", "t.csv"], "auto"),
        (["--data", "t.csv", "--seed", "3", "--time-limit", "9"], "auto"),
        (["--data", "t.csv", "--lr", "0.01"], None),  # an option given: the defaults
        (["--lr", "0.05"], None),  # no --data: the notebook's network
        ([], None),
    ],
)
def test_data_alone_means_auto_on_the_command_line_only(words, recipe):
    assert config_from_args(parsed(*words)).recipe == recipe


def test_an_estimators_recipe_fills_only_the_parameters_left_at_their_defaults():
    params = BarenetRegressor(recipe="tabular", lr=0.05, random_state=4).get_params()
    config = config_from_estimator(params)
    tabular = TrainConfig(recipe="tabular")
    assert config.lr == 0.05 and config.seed == 4  # an int random_state is the seed
    assert config.optimizer == tabular.optimizer and config.ensemble == tabular.ensemble
    plain = config_from_estimator(BarenetRegressor(random_state=4).get_params())
    assert plain.optimizer == "adam" and plain.epochs == 200  # the estimators' defaults


def test_a_candidate_trains_what_barenet_train_trains_with_those_flags():
    given = {"recipe": "tabular", "lr": 0.01, "epochs": 3, "seed": 7}
    config = config_from_candidate(given, data=True, n_rows=500)
    assert config == config_from_flags(given, data=True).with_epochs_for(500)
    assert config.lr == 0.01  # given, though it is barenet train's default lr
    assert config_from_estimator(estimator_params(config)) == config.replace(recipe=None)
    command = train_command(given, ["--data", "t.csv", "--target", "y"])
    assert command == (
        "barenet train --data t.csv --target y --epochs 3 --lr 0.01 --recipe tabular --seed 7"
    )
    flags = parsed(*command.split()[2:])
    assert config_from_args(flags).with_epochs_for(500) == config


def test_auto_is_resolved_for_the_training_rows_as_fit_model_does():
    small = config_from_candidate({"seed": 0}, data=True, n_rows=200)
    large = config_from_candidate({"seed": 0}, data=True, n_rows=5000)
    assert small == TrainConfig(recipe="small", seed=0).with_epochs_for(200)
    assert large.time_limit is None and large.ensemble == TrainConfig(recipe="tabular").ensemble


def test_options_that_turn_recipe_auto_off_are_named_with_the_way_to_keep_it():
    from barenet.training.sources import auto_off

    given = {"lr": 0.01, "seed": 3, "val_fraction": 0.2}
    config = config_from_flags(given, data=True)
    assert config.recipe is None
    assert auto_off(given, config) == (
        "the notebook's defaults and the options given (--lr, --val-fraction); recipe auto, "
        "the default for tables, is off: add --recipe auto to keep it"
    )
    assert auto_off({"seed": 3}, config_from_flags({"seed": 3}, data=True)) is None  # auto
    assert (
        auto_off({"lr": 0.01}, config_from_flags({"lr": 0.01, "recipe": "auto"}, data=True))
        is None
    )


def test_a_table_trained_without_recipe_auto_says_so(tmp_path, capsys):
    from barenet.cli import main

    rng = np.random.default_rng(0)
    lines = ["a,y"] + [f"{v:.3f},{2 * v:.3f}" for v in rng.normal(size=60)]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    argv = ["train", "--data", str(tmp_path / "t.csv"), "--target", "y", "--plot", "none"]
    assert main([*argv, "--epochs", "1"]) == 0
    out = capsys.readouterr().out
    assert "Model: the notebook's defaults and the options given (--epochs); recipe auto" in out

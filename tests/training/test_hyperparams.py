"""The one hyper-parameter specification."""

import pytest

from barenet.training import hyperparams


def test_the_spec_validates_and_names_the_parameter():
    values = hyperparams.validate({"hidden": [8, 4], "clip_norm": 0, "lr": 1})
    assert values["hidden"] == (8, 4) and values["clip_norm"] is None and values["lr"] == 1.0
    assert values["batch_size"] == 32  # the default filled in
    for bad, message in [
        ({"lr": -1}, "lr must be > 0"),
        ({"momentum": -0.1}, "momentum must be >= 0"),
        ({"hidden": []}, "hidden needs at least one"),
        ({"hidden": [8, 0]}, "hidden entry must be >= 1"),
        ({"dropout": 1.0}, r"dropout must be in \[0, 1\)"),
        ({"activation": "softsign"}, "unknown activation 'softsign'"),
        ({"batch_size": 2.5}, "batch_size must be an integer"),
        ({"learning_rate": 0.1}, "unknown hyper-parameter"),
    ]:
        with pytest.raises((ValueError, TypeError), match=message):
            hyperparams.validate(bad)
    assert hyperparams.parse_sizes("64,32") == (64, 32)
    for text in ("", "64,,64", "a,b"):
        with pytest.raises(ValueError, match="expected comma-separated"):
            hyperparams.parse_sizes(text)


def test_estimator_defaults_are_a_valid_configuration_that_builds():
    import numpy as np

    from barenet.sklearn.estimators import BarenetRegressor
    from barenet.training.config import TrainConfig, build_model

    config = BarenetRegressor()._config()
    assert isinstance(config, TrainConfig)
    names = {name for name, _ in BarenetRegressor._parameters()}
    own = {"random_state", "verbose", "target_scaling", "hidden_layer_sizes"}
    assert names - own <= set(hyperparams.BY_NAME)
    # ... and it builds: a network of the configured sizes that trains one epoch
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((64, 3)), rng.standard_normal((64, 1))
    model = build_model(config.resolve_auto(len(x))[0], 3, 1, "regression", x, y)
    assert model.in_dim == 3 and model.out_dim == 1
    before = [p.value.copy() for p in model.parameters()]
    model.train(x, y, epochs=1, batch_size=16)
    after = [p.value for p in model.parameters()]
    assert any(not np.array_equal(b, a) for b, a in zip(before, after, strict=True))


def test_momentum_with_an_optimizer_that_has_none_is_an_error():
    from barenet.training.config import TrainConfig

    with pytest.raises(ValueError, match="momentum is for sgd and rmsprop; adam"):
        TrainConfig(optimizer="adam", momentum=0.9)
    assert TrainConfig(optimizer="rmsprop", momentum=0.9).momentum == 0.9


def test_default_epochs_reach_a_thousand_updates_on_a_small_table():
    from barenet.training.config import TrainConfig

    assert TrainConfig().with_epochs_for(16512).epochs == 30  # California: the notebook's 30
    assert TrainConfig().with_epochs_for(120).epochs == 250  # iris: 4 batches of 32
    assert TrainConfig(epochs=5).with_epochs_for(120).epochs == 5  # given: kept
    assert TrainConfig().with_epochs_for(3).epochs == 1000  # at most 1,000 epochs

"""The layer lists a configuration describes (barenet.training.networks), built and rebuilt."""

import numpy as np
import pytest

import barenet
from barenet.registry import LAYERS
from barenet.training.config import TrainConfig, build_model


def layer_names(model):
    return [LAYERS.name_of(layer) for layer in model.layers]


def test_a_plain_configuration_is_the_notebook_stack():
    model = build_model(TrainConfig(hidden=(5, 3), dropout=0.1), 4, 2)
    assert layer_names(model) == [
        "linear", "relu", "dropout", "linear", "relu", "dropout", "linear"
    ]  # fmt: skip
    assert (model.in_dim, model.out_dim) == (4, 2)


@pytest.mark.parametrize(
    ("embedding", "scaling", "front"),
    [
        ("piecewise", "none", ["piecewise_linear", "feature_linear", "relu"]),
        ("piecewise_tree", "quantile", ["quantile_scaling", "piecewise_linear"]),
        ("periodic", "robust", ["robust_scaling", "periodic", "feature_linear", "relu"]),
    ],
)
def test_embeddings_and_scaling_are_fitted_on_the_training_rows(embedding, scaling, front):
    rng = np.random.default_rng(0)
    x = rng.exponential(size=(300, 3))
    y = (x[:, :1] > 1).astype(float)
    config = TrainConfig(
        embedding=embedding, scaling=scaling, bins=6, embedding_dim=4, ensemble=3, hidden=(8,)
    )
    with pytest.raises(ValueError, match="give x_train"):
        build_model(config, 3, 1)
    model = build_model(config, 3, 1, "regression", x, y)
    names = layer_names(model)
    assert names[: len(front)] == front
    body = ["ensemble", "member_scale", "ensemble_linear", "relu", "ensemble_linear"]
    assert names[-6:] == [*body, "ensemble_mean"]
    if "piecewise" in embedding:  # the bins are the training rows' (after the scaling)
        edges = model.layers[names.index("piecewise_linear")].edges
        scaled = model.layers[0].forward(x.astype(np.float32)) if scaling != "none" else x
        assert edges[0][0] == pytest.approx(scaled[:, 0].min(), rel=1e-6, abs=1e-6)
        assert edges[0][-1] == pytest.approx(scaled[:, 0].max(), rel=1e-6, abs=1e-6)
    assert model.predict(x).shape == (300, 1)
    # the record holds the fitted numbers: the same network again from the file
    again = barenet.io.record.build(barenet.io.record.describe(model))
    np.testing.assert_array_equal(again.predict(x), model.predict(x))

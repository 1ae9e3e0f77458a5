"""The model record: one description, one builder."""

import numpy as np
import pytest

import barenet
from barenet import MLP, MSE, Adam, CrossEntropy, Layer, Linear, Relu
from barenet.io.record import build, describe, generators
from barenet.training.config import TrainConfig


def test_describe_then_build_gives_the_same_architecture_loss_and_optimizer():
    model = MLP(
        [Linear(4, 8, seed=0, dtype=np.float64), Relu(), Linear(8, 3, seed=1, dtype=np.float64)],
        CrossEntropy(),
        0.2,
        optimizer=Adam(lr=0.003, fused=True),
    )
    record = describe(model)
    assert record["task"] == "classification" and record["dtype"] == "float64"
    assert [layer["type"] for layer in record["layers"]] == ["linear", "relu", "linear"]
    rebuilt = build(record)
    assert isinstance(rebuilt.loss_fun, CrossEntropy) and rebuilt.dtype == np.float64
    assert isinstance(rebuilt.optimizer, Adam) and rebuilt.optimizer.lr == 0.003
    assert rebuilt.optimizer.fused and rebuilt.lr == 0.2
    assert describe(rebuilt) == record


def test_the_same_record_and_seed_build_the_same_weights():
    record = TrainConfig(hidden=(16,), dropout=0.1, batchnorm=True, seed=3).model_record(5, 2)
    a, b, c = build(record), build(record), build({**record, "seed": 4})
    for key, value in a.state_dict().items():
        np.testing.assert_array_equal(b.state_dict()[key], value)
    assert not np.array_equal(a.layers[0].w, c.layers[0].w)
    types = [type(layer).__name__ for layer in a.layers]
    assert types == ["Linear", "BatchNorm1d", "Relu", "Dropout", "Linear"]


def test_a_user_layer_cannot_be_described():
    class Mine(Layer):
        def forward(self, inp):
            return inp

        def backward(self, up_grad):
            return up_grad

    model = MLP([Linear(2, 2), Mine(), Linear(2, 1)], MSE())
    with pytest.raises(TypeError, match=r"cannot describe layer 1 \(Mine\).*state_dict"):
        describe(model)
    with pytest.raises(TypeError, match="cannot describe"):
        barenet.save(model, "never-written.npz")


def test_a_model_whose_schedule_reached_zero_saves_and_loads(tmp_path):
    model = MLP([Linear(2, 1, seed=0)], MSE(), optimizer=Adam(lr=0.01))
    schedule = barenet.CosineAnnealingLR(model.optimizer, t_max=2)
    x = np.random.default_rng(0).standard_normal((8, 2))
    model.train(x, x[:, :1], epochs=2, batch_size=4, schedule=schedule)
    assert model.optimizer.lr == 0.0
    loaded = barenet.load(barenet.save(model, tmp_path / "m.npz"))
    assert loaded.optimizer.lr == 0.01  # rebuilt as it was built; the weights are the trained ones
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_a_model_changed_after_building_is_saved_as_it_is(tmp_path):
    model = build(TrainConfig(hidden=(4,), seed=2).model_record(3, 2))
    model.layers[-1] = Linear(4, 3, seed=0)  # a new head
    model.out_dim = 3
    loaded = barenet.load(barenet.save(model, tmp_path / "m.npz"))
    assert loaded.layers[-1].out_dim == 3 and loaded.record["seed"] == 2


def _kind_model(kind):
    """A small model of 4 features, 1 output, whose layers draw from the initialisation
    stream in every way (uniform, normal, integers; Retrieval also while training)."""
    from barenet import Dropout, FeatureLinear, PeriodicEmbedding
    from barenet.tabular.ensemble import Ensemble, EnsembleLinear, EnsembleMean, MemberScale
    from barenet.tabular.retrieval import Retrieval

    rows = np.random.default_rng(0).standard_normal((60, 4))
    r = np.random.default_rng(2)  # the model saved: the same in every run
    layers = {
        "linear": [
            Linear(4, 8, init="he_normal", seed=r),
            Relu(),
            Dropout(0.2, seed=r),
            Linear(8, 1, seed=r),
        ],
        "ensemble": [
            Ensemble(2, 4),
            MemberScale(2, 4, seed=r),
            EnsembleLinear(4, 3, 2, shared=False, seed=r),
            Relu(),
            EnsembleLinear(3, 1, 2, seed=r),
            EnsembleMean(2, 1),
        ],
        "periodic": [
            PeriodicEmbedding(4, 2, seed=r),
            FeatureLinear(4, 4, 2, seed=r),
            Linear(8, 1, seed=r),
        ],
        "retrieval": [
            Linear(4, 4, seed=r),
            Retrieval(
                4, 1, 60, rows=rows, targets=rows[:, :1], heads=2, dim=3, candidates=20, seed=r
            ),
            Dropout(0.1, seed=r),
            Linear(6, 1, seed=r),
        ],
    }[kind]
    return MLP(layers, MSE(), 0.05, seed=3)


@pytest.mark.parametrize("kind", ["linear", "ensemble", "periodic", "retrieval"])
def test_a_loaded_model_predicts_and_trains_on_as_one_built_and_given_its_weights(kind, tmp_path):
    """``barenet.load`` builds without drawing the initial weights (they are replaced),
    yet the loaded model's generators, predictions and continued training are those of
    the model built as training builds it and given the same weights."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((60, 4)).astype(np.float32)
    y = x[:, :1] - x[:, 1:2]
    model = _kind_model(kind)
    model.record = {**describe(model), "seed": 5}
    model.train(x, y, epochs=1, batch_size=16)
    loaded = barenet.load(barenet.save(model, tmp_path / "m.npz"))
    fresh = build(loaded.record)  # as loading built it before
    fresh.load_state_dict(model.state_dict())
    fresh.epoch = loaded.epoch
    states = [g.bit_generator.state for g in generators(fresh)]
    assert [g.bit_generator.state for g in generators(loaded)] == states
    np.testing.assert_array_equal(loaded.eval().predict(x), model.eval().predict(x))
    for each in (loaded, fresh):
        each.train(x, y, epochs=2, batch_size=16)
    for key, value in fresh.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[key], value, err_msg=key)
    undrawn, drawn = (
        _initial_weights(build(loaded.record, for_loading=True)),
        _initial_weights(build(loaded.record)),
    )
    # Retrieval keeps the stream (it draws candidates while training): drawn as before
    assert np.array_equal(undrawn, drawn) == (kind == "retrieval")


def _initial_weights(model):
    """The first parameter of the model's first layer that draws its initial values."""
    layer = next(each for each in model.layers if getattr(each, "seed_stream", "") == "init")
    return getattr(layer, layer.param_names[0])

"""The model record: one description, one builder."""

import numpy as np
import pytest

import barenet
from barenet import MLP, MSE, Adam, CrossEntropy, Layer, Linear, Relu
from barenet.io.record import build, describe
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

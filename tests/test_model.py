import numpy as np
import pytest
from conftest import needs_california, numeric_grad, rel_error

from barenet import MLP, MSE, SGD, Layer, Linear, Relu, Sigmoid, TrainingDiverged


def small_mlp(seed=0, dtype=np.float32, lr=0.05, **kwargs):
    rng = np.random.default_rng(seed)
    layers = [
        Linear(3, 8, seed=rng, dtype=dtype),
        Relu(),
        Linear(8, 8, seed=rng, dtype=dtype),
        Sigmoid(),
        Linear(8, 2, seed=rng, dtype=dtype),
    ]
    return MLP(layers, MSE(), lr, seed=seed, **kwargs)


def toy_data(n=100, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3))
    y = np.stack([x[:, 0] * x[:, 1], np.sin(x[:, 2])], axis=1)
    return x, y


def test_call_and_forward_return_the_output():
    model = small_mlp()
    x, _ = toy_data(5)
    out = model(x)
    assert out.shape == (5, 2) and out.dtype == np.float32
    np.testing.assert_array_equal(model.forward(x), out)


def test_whole_mlp_gradients_finite_differences_float64():
    model = small_mlp(dtype=np.float64)
    x, y = toy_data(7)

    def loss():
        return model.loss(model(x), y)

    loss()
    model.backward()
    for p in model.parameters():
        analytic = p.grad.copy()
        assert rel_error(analytic, numeric_grad(loss, p.value)) < 1e-6, p


def test_notebook_manual_loop_reduces_loss():
    model = small_mlp(lr=0.1)
    x, y = toy_data()
    first = model.loss(model(x), y)
    for _ in range(50):
        model.loss(model(x), y)
        model.backward()
        model.update()
    assert model.loss(model(x), y) < 0.8 * first


def test_train_history_covers_every_sample_and_weights_by_batch_size():
    model = small_mlp()
    x, y = toy_data(10)
    seen = []

    class Spy(Layer):
        def forward(self, inp):
            seen.append(len(inp))
            return inp

        def backward(self, up_grad):
            return up_grad

    model.layers.insert(0, Spy())
    batch_losses = []
    original = model.loss_fun.forward

    def record(prediction, target):
        value = original(prediction, target)
        batch_losses.append((value, len(prediction)))
        return value

    model.loss_fun.forward = record
    history = model.train(x, y, None, None, epochs=1, batch_size=4)
    training_calls = seen[1:]  # the first call is the 2-row dry run
    assert training_calls == [4, 4, 2]
    assert history["val_loss"] == [] and len(history["train_loss"]) == 1
    losses = batch_losses[-3:]
    expected = sum(v * n for v, n in losses) / 10
    assert history["train_loss"][0] == pytest.approx(expected)
    assert model.history is history


def test_train_returns_per_epoch_losses_and_validation_falls():
    model = small_mlp()
    x, y = toy_data(200)
    history = model.train(x[:150], y[:150], x[150:], y[150:], epochs=15, batch_size=16)
    assert set(history) == {"train_loss", "val_loss"}
    assert len(history["train_loss"]) == len(history["val_loss"]) == 15
    assert all(isinstance(v, float) for v in history["train_loss"] + history["val_loss"])
    assert history["val_loss"][-1] < history["val_loss"][0]
    assert history["val_loss"][-1] == pytest.approx(model.evaluate(x[150:], y[150:]), rel=1e-5)


def test_training_is_bit_reproducible_with_seeds():
    x, y = toy_data(64)
    runs = []
    for _ in range(2):
        model = small_mlp(seed=5)
        history = model.train(x, y, x, y, epochs=3, batch_size=10)
        runs.append((history, model.state_dict(), model.rng.integers(1 << 30)))
    assert runs[0][0] == runs[1][0]
    for key in runs[0][1]:
        np.testing.assert_array_equal(runs[0][1][key], runs[1][1][key])
    assert runs[0][2] == runs[1][2]
    other = small_mlp(seed=6)
    other.train(x, y, epochs=1, batch_size=10)
    assert not np.array_equal(other.layers[0].w, runs[0][1]["0.w"])


def test_float64_input_converted_once_to_float32_parameters():
    model = small_mlp()
    x, y = toy_data(20)
    model.train(x.astype(np.float64), y, epochs=1, batch_size=5)
    assert all(p.value.dtype == np.float32 for p in model.parameters())
    assert model.predict(x).dtype == np.float32
    model64 = small_mlp(dtype=np.float64)
    assert model64.predict(x.astype(np.float32)).dtype == np.float64


def test_model_does_not_change_its_inputs():
    model = small_mlp()
    x, y = toy_data(20)
    x32, y32 = x.astype(np.float32), y.astype(np.float32)
    copies = x32.copy(), y32.copy()
    model.train(x32, y32, x32, y32, epochs=2, batch_size=3)
    np.testing.assert_array_equal(x32, copies[0])
    np.testing.assert_array_equal(y32, copies[1])


def test_user_written_layer_trains_inside_an_mlp():
    class MyTanh(Layer):  # written as the notebook shows: forward and backward only
        def forward(self, inp):
            self.out = np.tanh(inp)
            return self.out

        def backward(self, up_grad):
            return up_grad * (1 - self.out**2)

    rng = np.random.default_rng(0)
    model = MLP([Linear(3, 16, seed=rng), MyTanh(), Linear(16, 2, seed=rng)], MSE(), 0.05, seed=0)
    x, y = toy_data(200)
    history = model.train(x, y, x, y, epochs=20, batch_size=16)
    assert history["val_loss"][-1] < 0.7 * history["val_loss"][0]


def test_train_and_eval_modes_pytorch_style():
    model = small_mlp()
    assert model.eval() is model and model.training is False
    assert all(layer.training is False for layer in model.layers)
    assert model.train() is model and model.training is True


def test_state_dict_round_trip_and_zero_grad():
    a, b = small_mlp(seed=1), small_mlp(seed=2)
    b.load_state_dict(a.state_dict())
    x, _ = toy_data(5)
    np.testing.assert_array_equal(a.predict(x), b.predict(x))
    with pytest.raises(ValueError, match="missing"):
        b.load_state_dict({"0.w": a.layers[0].w})
    a.loss(a(x), np.zeros((5, 2)))
    a.backward()
    assert a.layers[0].dw.any()
    a.zero_grad()
    assert not any(p.grad.any() for p in a.parameters())


def test_optimizer_is_used_instead_of_layer_step():
    model = small_mlp(optimizer=SGD(lr=0.5))
    x, y = toy_data(8)
    model.loss(model(x), y)
    model.backward()
    w, dw = model.layers[0].w.copy(), model.layers[0].dw.copy()
    model.update()
    np.testing.assert_allclose(model.layers[0].w, w - 0.5 * dw, rtol=1e-6)


def test_construction_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"layer 0 \(Linear.*outputs 4 features but layer 2"):
        MLP([Linear(3, 4), Relu(), Linear(5, 1)], MSE(), 0.1)
    with pytest.raises(TypeError, match="non-empty list"):
        MLP([], MSE(), 0.1)
    with pytest.raises(TypeError, match="no forward/backward"):
        MLP([Linear(3, 4), "relu"], MSE(), 0.1)
    with pytest.raises(ValueError, match="lr must be"):
        MLP([Linear(3, 1)], MSE(), -1)
    with pytest.raises(ValueError, match="mix parameter dtypes"):
        MLP([Linear(3, 4), Linear(4, 1, dtype=np.float64)], MSE(), 0.1)


def test_training_argument_errors():
    model = small_mlp()
    x, y = toy_data(10)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        model.train(x, y, epochs=1, batch_size=0)
    with pytest.raises(ValueError, match="epochs must be >= 0"):
        model.train(x, y, epochs=-1, batch_size=2)
    with pytest.raises(ValueError, match="x_train has 4 features"):
        model.train(np.zeros((10, 4)), y, epochs=1, batch_size=2)
    with pytest.raises(ValueError, match="y_train has 9 rows"):
        model.train(x, y[:9], epochs=1, batch_size=2)
    with pytest.raises(ValueError, match="NaN or infinity"):
        model.train(np.where(x > 1, np.nan, x), y, epochs=1, batch_size=2)
    with pytest.raises(RuntimeError, match="before forward"):
        small_mlp().backward()


def test_divergence_stops_with_finite_weights_and_keeps_history():
    model = small_mlp(lr=1e6)
    x, y = toy_data(100)
    y = y * 1e3
    with pytest.raises(TrainingDiverged, match=r"epoch \d+, .*smaller learning rate") as info:
        model.train(x, y, x, y, epochs=20, batch_size=10)
    assert info.value.epoch >= 1
    assert all(np.isfinite(p.value).all() for p in model.parameters())
    assert len(model.history["train_loss"]) == info.value.epoch - 1


@needs_california
def test_notebook_regression_run_reaches_rmse_below_060(california):
    from barenet.metrics import regression_metrics

    s = california
    rng = np.random.default_rng(0)
    model = MLP(
        [
            Linear(8, 64, seed=rng),
            Relu(),
            Linear(64, 64, seed=rng),
            Relu(),
            Linear(64, 1, seed=rng),
        ],
        MSE(),
        0.01,
        seed=0,
    )
    history = model.train(s.x_train, s.y_train, s.x_test, s.y_test, epochs=30, batch_size=32)
    assert history["val_loss"][-1] < history["val_loss"][0]
    prediction = s.scaler_y.inverse_transform(model.predict(s.x_test))
    rmse = regression_metrics(s.scaler_y.inverse_transform(s.y_test), prediction)["rmse"]
    assert rmse < 0.60


def overfitting_setup(seed=0):
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((30, 3)), rng.standard_normal((30, 2))  # pure noise
    x_val, y_val = rng.standard_normal((30, 3)), rng.standard_normal((30, 2))
    layers = [Linear(3, 64, seed=rng), Relu(), Linear(64, 2, seed=rng)]
    return MLP(layers, MSE(), lr=0.2, seed=seed), x, y, x_val, y_val


def test_early_stopping_restores_the_best_weights():
    model, x, y, x_val, y_val = overfitting_setup()
    snapshots = []
    history = model.train(
        x,
        y,
        x_val,
        y_val,
        epochs=200,
        batch_size=5,
        early_stopping=3,
        callbacks=[lambda m, e, logs: snapshots.append(m.state_dict())],
    )
    val = history["val_loss"]
    best = int(np.argmin(val))
    assert len(val) == best + 1 + 3 < 200  # stopped 3 epochs after the best one
    for key, value in snapshots[best].items():
        np.testing.assert_array_equal(model.state_dict()[key], value)
    assert model.evaluate(x_val, y_val) == pytest.approx(val[best], rel=1e-6)


def test_best_weights_are_restored_when_training_ends_otherwise():
    model, x, y, x_val, y_val = overfitting_setup(1)
    snapshots = []

    def stop_at_eight(m, epoch, logs):
        snapshots.append(m.state_dict())
        return epoch == 8  # a callback ends training, not the patience

    history = model.train(
        x, y, x_val, y_val, epochs=50, batch_size=5, early_stopping=100, callbacks=[stop_at_eight]
    )
    best = int(np.argmin(history["val_loss"]))
    assert len(history["val_loss"]) == 8 and best < 7
    for key, value in snapshots[best].items():
        np.testing.assert_array_equal(model.state_dict()[key], value)


def test_early_stopping_needs_validation_data():
    model, x, y, _, _ = overfitting_setup()
    with pytest.raises(ValueError, match="early_stopping needs validation data"):
        model.train(x, y, epochs=5, batch_size=5, early_stopping=2)

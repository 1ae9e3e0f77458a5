import numpy as np
import pytest
from conftest import needs_california, small_mlp, toy_data

from barenet import MLP, MSE, SGD, Linear, Relu


def test_call_checks_and_converts_its_input_forward_does_not():
    model = small_mlp()
    x, _ = toy_data(5)
    out = model(x.tolist())  # the public boundary converts (a list, float64) once
    assert out.shape == (5, 2) and out.dtype == np.float32
    with pytest.raises(ValueError, match="input has 4 features per row but the model expects 3"):
        model(np.zeros((5, 4)))
    with pytest.raises(ValueError, match="NaN"):
        model(np.full((2, 3), np.nan))
    assert np.isnan(model.forward(np.full((2, 3), np.nan, dtype=np.float32))).all()


def test_notebook_manual_loop_reduces_loss():
    model = small_mlp(lr=0.1)
    x, y = toy_data()
    first = model.loss(model(x), y)
    for _ in range(50):
        model.loss(model(x), y)
        model.backward()
        model.update()
    assert model.loss(model(x), y) < 0.8 * first


def test_float64_input_converted_once_to_float32_parameters():
    model = small_mlp()
    x, y = toy_data(20)
    model.train(x.astype(np.float64), y, epochs=1, batch_size=5)
    assert all(p.value.dtype == np.float32 for p in model.parameters())
    assert model.predict(x).dtype == np.float32
    model64 = small_mlp(dtype=np.float64)
    assert model64.predict(x.astype(np.float32)).dtype == np.float64


def test_train_and_eval_modes_pytorch_style():
    model = small_mlp()
    assert model.eval() is model and model.training is False
    assert all(layer.training is False for layer in model.layers)
    assert model.train() is model and model.training is True


def test_state_dict_round_trip_and_parameter_keys():
    a, b = small_mlp(seed=1), small_mlp(seed=2)
    b.load_state_dict(a.state_dict())
    x, _ = toy_data(5)
    np.testing.assert_array_equal(a.predict(x), b.predict(x))
    with pytest.raises(ValueError, match="missing"):
        b.load_state_dict({"0.w": a.layers[0].w})
    assert [p.key for p in a.parameters()] == ["0.w", "0.b", "2.w", "2.b", "4.w", "4.b"]
    assert set(a.state_dict()) == {p.key for p in a.parameters()}


def test_zero_grad_is_not_needed_gradients_are_overwritten():
    """barenet keeps the notebook's semantics: backward overwrites the gradients."""
    model = small_mlp(dtype=np.float64)
    x, y = toy_data(6)
    model.loss(model(x), y)
    model.backward()
    once = [p.grad.copy() for p in model.parameters()]
    model.loss(model(x), y)
    model.backward()  # without zero_grad: the same gradients, not twice them
    for p, g in zip(model.parameters(), once, strict=True):
        np.testing.assert_array_equal(p.grad, g)
    model.zero_grad()
    assert not any(p.grad.any() for p in model.parameters())


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


@needs_california
def test_notebook_regression_run_reaches_rmse_below_060(california):
    from barenet.training.metrics import regression_metrics

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

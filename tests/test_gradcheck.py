"""barenet.check_gradients: the learner's check, and the one the suite uses."""

import numpy as np
import pytest

import barenet
from barenet import MSE, CrossEntropy, Dropout, Layer, Linear, check_gradients


class Tanh(Layer):
    def forward(self, inp):
        self.out = np.tanh(inp)
        return self.out

    def backward(self, up_grad):
        return up_grad * (1 - self.out**2)


class WrongTanh(Tanh):
    def backward(self, up_grad):
        return up_grad * (1 - self.out)  # a learner's slip


def test_a_correct_layer_passes_and_a_wrong_one_fails():
    x = np.random.default_rng(0).standard_normal((4, 3))
    good = check_gradients(Tanh(), x)
    assert good.ok and set(good.errors) == {"input"} and good.errors["input"] < 1e-8
    bad = check_gradients(WrongTanh(), x)
    assert not bad.ok and bad.errors["input"] > 0.01
    assert "NOT all within" in str(bad)


def test_parameters_are_checked_in_float64_and_restored():
    layer = Linear(3, 2, seed=0)  # float32 parameters
    w, dw = layer.w, layer.dw
    report = check_gradients(layer, np.ones((5, 3)))
    assert report.ok and set(report.errors) == {"input", "w", "b"}
    assert report.errors["w"] < 1e-8  # float64 differences: far below float32's 1e-7
    assert layer.w is w and layer.dw is dw and layer.w.dtype == np.float32


def test_a_wrong_parameter_gradient_is_named():
    class HalfDw(Linear):
        def backward(self, up_grad):
            down = super().backward(up_grad)
            self.dw = self.dw / 2
            return down

    report = check_gradients(HalfDw(3, 2, seed=0), np.ones((4, 3)))
    assert report.errors["w"] > 0.1 and report.errors["b"] < 1e-8 and not report.ok


def test_losses_and_random_layers():
    rng = np.random.default_rng(1)
    assert check_gradients(MSE(), rng.standard_normal((5, 2)), rng.standard_normal((5, 2))).ok
    logits, labels = rng.standard_normal((6, 3)), np.array([0, 1, 2, 0, 1, 2])
    assert check_gradients(CrossEntropy(), logits, labels).ok
    dropout = Dropout(0.5, seed=0)
    assert check_gradients(dropout, rng.standard_normal((8, 4))).ok  # the same mask each time


def test_a_whole_model():
    rng = np.random.default_rng(2)
    model = barenet.MLP(
        [Linear(3, 4, seed=0, dtype=np.float64), Tanh(), Linear(4, 1, seed=1, dtype=np.float64)],
        MSE(),
    )
    report = check_gradients(model, rng.standard_normal((5, 3)), rng.standard_normal((5, 1)))
    assert report.ok and set(report.errors) == {"0.w", "0.b", "2.w", "2.b"}


def test_errors():
    with pytest.raises(ValueError, match="needs its target"):
        check_gradients(MSE(), np.ones((2, 1)))
    with pytest.raises(TypeError, match="needs a layer or a loss"):
        check_gradients(object(), np.ones((2, 1)))
    with pytest.raises(ValueError, match="up_grad has shape"):
        check_gradients(Tanh(), np.ones((2, 2)), up_grad=np.ones((3, 2)))
    with pytest.raises(ValueError, match="float64 parameters"):
        check_gradients(barenet.MLP([Linear(2, 1)], MSE()), np.ones((2, 2)), np.ones((2, 1)))


def test_tiny_gradients_pass_within_the_accuracy_of_finite_differences():
    layer = Linear(3, 2, seed=0, dtype=np.float64)
    report = check_gradients(layer, np.full((4, 3), 1e-9), up_grad=np.full((4, 2), 1e-3))
    assert report.ok and report.differences["w"] < 1e-9
    wrong = check_gradients(WrongTanh(), np.ones((3, 2)))
    assert not wrong.ok and wrong.differences["input"] > 1e-3

import numpy as np
import pytest
from conftest import assert_gradients_ok

from barenet import MAE, MSE, BCEWithLogits, CrossEntropy, Huber
from barenet.registry import LOSSES


def check_loss_gradient(loss, prediction, target, tol=1e-6):
    value = loss(prediction, target)
    assert isinstance(value, float)
    assert loss.backward().shape == prediction.shape
    assert_gradients_ok(loss, prediction, target, tol)


def test_mse_value_matches_notebook_and_torch_definition():
    p = np.array([[1.0], [2.0], [4.0]])
    y = np.array([[0.0], [2.0], [1.0]])
    loss = MSE()
    assert loss(p, y) == pytest.approx((1 + 0 + 9) / 3)
    np.testing.assert_allclose(loss.backward(), 2 * (p - y) / 3)


def test_mse_mean_over_all_elements_for_many_outputs():
    rng = np.random.default_rng(0)
    p, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    assert MSE()(p, y) == pytest.approx(np.mean((p - y) ** 2))


def test_mse_never_broadcasts_n_against_n_by_1():
    p = np.arange(4.0).reshape(4, 1)
    y = np.array([0.0, 1.0, 2.0, 5.0])
    loss = MSE()
    assert loss(p, y) == pytest.approx(4 / 4)  # only the last row differs, by 2
    assert loss.backward().shape == (4, 1)
    with pytest.raises(ValueError, match=r"target shape \(3,\) does not match"):
        loss(p, y[:3])
    with pytest.raises(ValueError, match="does not match"):
        loss(np.zeros((4, 2)), y)


@pytest.mark.parametrize("loss", [MSE(), MAE(), Huber(0.7)], ids=lambda loss: repr(loss))
def test_regression_loss_gradients(loss):
    rng = np.random.default_rng(1)
    p = rng.standard_normal((6, 2)) * 2
    y = p + np.where(rng.random((6, 2)) < 0.5, -1, 1) * rng.uniform(0.1, 2, (6, 2))
    check_loss_gradient(loss, p, y)


def test_bce_with_logits_gradient_and_stability():
    rng = np.random.default_rng(2)
    p = rng.standard_normal((6, 1)) * 3
    y = (rng.random((6, 1)) < 0.5).astype(float)
    check_loss_gradient(BCEWithLogits(), p, y)
    loss = BCEWithLogits()
    extreme = loss(np.array([[1e4], [-1e4], [1e4]]), np.array([[1.0], [0.0], [0.0]]))
    assert np.isfinite(extreme) and extreme == pytest.approx(1e4 / 3)
    assert np.isfinite(loss.backward()).all()


def test_cross_entropy_labels_one_hot_gradient_and_stability():
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((5, 4))
    labels = np.array([0, 3, 1, 1, 2])
    check_loss_gradient(CrossEntropy(), logits, labels)
    one_hot = np.eye(4)[labels]
    assert CrossEntropy()(logits, labels) == pytest.approx(CrossEntropy()(logits, one_hot))
    loss = CrossEntropy()
    value = loss(np.array([[1e4, -1e4], [-1e4, 1e4]]), np.array([1, 1]))
    assert np.isfinite(value) and value == pytest.approx(1e4)
    assert np.isfinite(loss.backward()).all()
    with pytest.raises(ValueError, match="labels must be integers"):
        CrossEntropy()(logits, np.array([0, 4, 1, 1, 2]))


def test_backward_before_forward_and_unknown_name():
    with pytest.raises(RuntimeError, match="before forward"):
        MSE().backward()
    with pytest.raises(ValueError, match=r"unknown loss 'hinge'; choose one of \['bce'"):
        LOSSES.lookup("hinge")

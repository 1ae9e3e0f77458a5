import numpy as np
import pytest
from conftest import assert_gradients_ok

from barenet import MAE, MSE, BCEWithLogits, CrossEntropy, Huber
from barenet.errors import BarenetValueError
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


# -- an ensemble's members: prediction (N, k, D), target (N, D) ---------------------------


def members_data(seed=4, n=6, k=3, out_dim=2):
    rng = np.random.default_rng(seed)
    target = rng.standard_normal((n, out_dim))
    # every member's prediction at least 0.1 away from the target (MAE's kink) and
    # from target +- 0.7 (Huber's)
    offset = np.where(rng.random((n, k, out_dim)) < 0.5, -1, 1) * rng.choice(
        [0.2, 0.45, 1.3, 2.0], (n, k, out_dim)
    )
    return target[:, None, :] + offset, target


@pytest.mark.parametrize(
    "loss", [MSE(), MAE(), Huber(0.7), BCEWithLogits()], ids=lambda loss: repr(loss)
)
def test_member_predictions_finite_differences(loss):
    prediction, target = members_data()
    if isinstance(loss, BCEWithLogits):
        target = (target > 0).astype(float)
    check_loss_gradient(loss, prediction, target)


def test_cross_entropy_member_logits_finite_differences():
    rng = np.random.default_rng(5)
    logits = rng.standard_normal((5, 3, 4)) * 2
    labels = np.array([0, 3, 1, 1, 2])
    check_loss_gradient(CrossEntropy(), logits, labels)
    check_loss_gradient(CrossEntropy(), logits, labels.reshape(-1, 1))
    check_loss_gradient(CrossEntropy(), logits, rng.dirichlet(np.ones(4), 5))


@pytest.mark.parametrize(
    "loss, target_kind",
    [
        (MSE(), "real"),
        (MAE(), "real"),
        (Huber(0.7), "real"),
        (BCEWithLogits(), "binary"),
        (CrossEntropy(), "labels"),
        (CrossEntropy(), "probabilities"),
    ],
    ids=["mse", "mae", "huber", "bce", "ce-labels", "ce-probabilities"],
)
def test_member_loss_is_the_mean_of_the_members_losses(loss, target_kind):
    prediction, target = members_data(out_dim=4)
    rng = np.random.default_rng(6)
    if target_kind == "binary":
        target = (target > 0).astype(float)
    elif target_kind == "labels":
        target = rng.integers(0, 4, len(prediction))
    elif target_kind == "probabilities":
        target = rng.dirichlet(np.ones(4), len(prediction))
    k = prediction.shape[1]
    value = loss(prediction, target)
    grad = loss.backward()
    assert grad.shape == prediction.shape
    member_losses = []
    for member in range(k):
        single = type(loss)(**loss.config())
        member_losses.append(single(prediction[:, member], target))
        # each member's gradient is its own loss's, shared among k members
        np.testing.assert_allclose(grad[:, member], single.backward() / k, rtol=1e-12)
    assert value == pytest.approx(np.mean(member_losses), rel=1e-12)


def test_member_targets_of_one_output_may_be_one_dimensional():
    prediction, target = members_data(out_dim=1)
    loss = MSE()
    assert loss(prediction, target[:, 0]) == pytest.approx(loss(prediction, target), rel=1e-15)
    assert loss.backward().shape == prediction.shape


@pytest.mark.parametrize("loss", [MSE(), MAE(), Huber(), BCEWithLogits()], ids=repr)
def test_a_wrong_target_for_members_is_a_clear_error(loss):
    prediction, target = members_data(n=6, k=3, out_dim=2)
    name = type(loss).__name__
    for wrong in (target[:5], target[:, :1], target[:, 0], np.zeros((6, 2, 2))):
        with pytest.raises(BarenetValueError, match=rf"{name}: target shape .* does not match"):
            loss(prediction, wrong)


def test_a_wrong_target_for_member_logits_is_a_clear_error():
    logits = np.zeros((6, 3, 4))
    for wrong in (np.zeros(5, int), np.zeros((6, 5)), np.zeros((6, 3), int)):
        with pytest.raises(BarenetValueError, match=r"CrossEntropy: target shape .* \(6, 3, 4\)"):
            CrossEntropy()(logits, wrong)
    with pytest.raises(BarenetValueError, match="labels must be integers"):
        CrossEntropy()(logits, np.array([0, 1, 2, 3, 4, 0]))

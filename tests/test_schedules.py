import numpy as np
import pytest
from conftest import TORCH_MISSING

from barenet import SGD, CosineAnnealingLR, Linear, ReduceLROnPlateau, StepLR
from barenet.registry import SCHEDULES

CASES = [
    (StepLR, "StepLR", {"step_size": 3, "gamma": 0.5}),
    (CosineAnnealingLR, "CosineAnnealingLR", {"t_max": 7, "eta_min": 0.001}),
    (ReduceLROnPlateau, "ReduceLROnPlateau", {"factor": 0.5, "patience": 2, "cooldown": 1}),
]


@pytest.mark.parametrize("ours, theirs, kwargs", CASES, ids=["step", "cosine", "plateau"])
def test_schedule_and_parameter_trajectory_match_torch(ours, theirs, kwargs):
    torch = pytest.importorskip("torch", reason=TORCH_MISSING)
    theirs = getattr(torch.optim.lr_scheduler, theirs)
    layer = Linear(3, 2, dtype=np.float64, seed=0)
    tensor = torch.tensor(layer.w.copy(), requires_grad=True)
    optimizer = SGD([layer.parameters()[0]], lr=0.1, momentum=0.9)
    reference = torch.optim.SGD([tensor], lr=0.1, momentum=0.9)
    torch_kwargs = dict(kwargs)
    if "t_max" in torch_kwargs:
        torch_kwargs["T_max"] = torch_kwargs.pop("t_max")
    schedule, t_schedule = ours(optimizer, **kwargs), theirs(reference, **torch_kwargs)
    rng = np.random.default_rng(0)
    val_losses = [1.0, 0.9, 0.95, 0.96, 0.97, 0.98, 0.85, 0.9, 0.9, 0.9, 0.9, 0.9] * 2
    for epoch in range(20):
        grad = rng.standard_normal(layer.w.shape)
        layer.dw[...] = grad
        tensor.grad = torch.from_numpy(grad.copy())
        optimizer.step()
        reference.step()
        if ours is ReduceLROnPlateau:
            schedule.step(val_losses[epoch])
            t_schedule.step(val_losses[epoch])
        else:
            schedule.step()
            t_schedule.step()
        assert optimizer.lr == pytest.approx(reference.param_groups[0]["lr"], rel=1e-12)
        np.testing.assert_allclose(layer.w, tensor.detach().numpy(), rtol=0, atol=1e-10)


def test_schedule_drives_a_plain_sgd_model_lr():
    from barenet import MLP, MSE

    model = MLP([Linear(2, 1)], MSE(), lr=0.1)
    schedule = StepLR(model, step_size=1, gamma=0.5)
    x = np.random.default_rng(0).standard_normal((20, 2))
    lrs = []
    model.train(
        x,
        x[:, :1],
        epochs=3,
        batch_size=5,
        schedule=schedule,
        callbacks=[lambda m, epoch, logs: lrs.append(logs["lr"])],
    )
    assert lrs == [0.05, 0.025, 0.0125]


def test_schedule_errors():
    with pytest.raises(ValueError, match="unknown schedule"):
        SCHEDULES.lookup("linear")
    with pytest.raises(TypeError, match="needs an object with an lr"):
        StepLR(object(), 2)
    with pytest.raises(ValueError, match="validation loss"):
        ReduceLROnPlateau(SGD(lr=0.1)).step(None)

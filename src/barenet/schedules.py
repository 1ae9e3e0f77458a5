"""Learning-rate schedules, stepped once per epoch.

A schedule changes the ``lr`` attribute of whatever it is given: an optimiser,
or an ``MLP`` trained with plain SGD. The formulas follow
``torch.optim.lr_scheduler``. Each is registered in ``SCHEDULES`` by name.
"""

from __future__ import annotations

import math

from barenet._checks import check_number, check_positive_int
from barenet.errors import BarenetTypeError, BarenetValueError
from barenet.registry import SCHEDULES


class Schedule:
    """Base class: remembers the initial ``lr`` and sets ``target.lr`` each ``step``."""

    def __init__(self, target) -> None:
        if not hasattr(target, "lr"):
            raise BarenetTypeError(
                f"a schedule needs an object with an lr, got {type(target).__name__}"
            )
        self.target = target
        if not hasattr(
            target, "initial_lr"
        ):  # as PyTorch's schedulers: the rate it was built with
            target.initial_lr = float(target.lr)
        self.base_lr = float(target.lr)
        self.epoch = 0

    def step(self, val_loss: float | None = None) -> None:
        self.epoch += 1
        self.target.lr = self.lr_at(self.epoch, val_loss)

    def lr_at(self, epoch: int, val_loss: float | None) -> float:
        raise NotImplementedError

    def state_dict(self) -> dict:
        return {k: v for k, v in vars(self).items() if k != "target"}

    def load_state_dict(self, state: dict) -> None:
        vars(self).update(state)


@SCHEDULES.register("step")
class StepLR(Schedule):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs."""

    def __init__(self, target, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(target)
        self.step_size = check_positive_int(step_size, "StepLR step_size")
        self.gamma = check_number(gamma, "StepLR gamma", minimum=0.0)

    def lr_at(self, epoch, val_loss):
        return self.base_lr * self.gamma ** (epoch // self.step_size)


@SCHEDULES.register("cosine")
class CosineAnnealingLR(Schedule):
    """Cosine from the initial rate down to ``eta_min`` over ``t_max`` epochs."""

    def __init__(self, target, t_max: int, eta_min: float = 0.0) -> None:
        super().__init__(target)
        if t_max < 1:
            raise BarenetValueError(f"CosineAnnealingLR t_max must be >= 1, got {t_max}")
        self.t_max, self.eta_min = int(t_max), float(eta_min)

    def lr_at(self, epoch, val_loss):
        cos = 1 + math.cos(math.pi * epoch / self.t_max)
        return self.eta_min + (self.base_lr - self.eta_min) * cos / 2


@SCHEDULES.register("plateau")
class ReduceLROnPlateau(Schedule):
    """Multiply the rate by ``factor`` when the validation loss has not improved by a
    relative ``threshold`` for more than ``patience`` epochs (then wait ``cooldown``)."""

    def __init__(
        self,
        target,
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
    ) -> None:
        super().__init__(target)
        self.factor = check_number(factor, "ReduceLROnPlateau factor", minimum=0.0, maximum=1.0)
        if not 0 < self.factor < 1:
            raise BarenetValueError(f"ReduceLROnPlateau factor must be in (0, 1), got {factor}")
        self.patience = check_positive_int(patience, "ReduceLROnPlateau patience", minimum=0)
        self.threshold = check_number(threshold, "ReduceLROnPlateau threshold", minimum=0.0)
        self.cooldown, self.min_lr = int(cooldown), float(min_lr)
        self.best = math.inf
        self.bad_epochs = 0
        self.cooldown_left = 0

    def lr_at(self, epoch, val_loss):
        lr = float(self.target.lr)
        if val_loss is None:
            raise BarenetValueError("ReduceLROnPlateau needs a validation loss each epoch")
        if val_loss < self.best * (1 - self.threshold):
            self.best, self.bad_epochs = val_loss, 0
        else:
            self.bad_epochs += 1
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.bad_epochs = 0
        if self.bad_epochs > self.patience:
            new_lr = max(lr * self.factor, self.min_lr)
            if lr - new_lr > 1e-8:
                lr = new_lr
            self.cooldown_left, self.bad_epochs = self.cooldown, 0
        return lr

"""Training recipes: one configuration, turned into a model, an optimiser, a schedule,
and checkpoints that record that configuration. Shared by the command line and the
scikit-learn estimators.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

import numpy as np

from barenet._checks import check_learning_rate, check_positive_int
from barenet.activations import get_activation
from barenet.initializers import get_initializer
from barenet.layers import BatchNorm1d, Dropout, Linear
from barenet.losses import get_loss
from barenet.model import MLP
from barenet.optimizers import get_optimizer
from barenet.persistence import Preprocessing, build, read, save
from barenet.schedules import get_schedule


@dataclass
class TrainConfig:
    """Everything that defines a training run. The defaults are the notebook's network
    (8 -> 64 -> 64 -> 1 Relu, MSE, SGD lr 0.01, batch 32) plus gradient clipping at a
    global norm of 1.0, which makes every seed converge (see README)."""

    hidden: tuple[int, ...] = (64, 64)
    activation: str = "relu"
    loss: str | None = None  # None: "mse" for regression, "cross_entropy" for classification
    optimizer: str = "sgd"
    lr: float = 0.01
    momentum: float = 0.0
    weight_decay: float = 0.0
    epochs: int = 30
    batch_size: int = 32
    seed: int | None = 0
    clip_norm: float | None = 1.0
    dropout: float = 0.0
    batchnorm: bool = False
    init: str = "glorot_uniform"
    schedule: str | None = None
    early_stopping: int | None = None
    dtype: str = "float32"
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.hidden = tuple(check_positive_int(h, "hidden layer size") for h in self.hidden)
        check_learning_rate(self.lr)
        check_positive_int(self.epochs, "epochs", minimum=0)
        check_positive_int(self.batch_size, "batch_size")
        get_activation(self.activation)
        get_optimizer(self.optimizer)
        get_initializer(self.init)
        if self.loss is not None:
            get_loss(self.loss)
        if self.schedule is not None:
            get_schedule(self.schedule)
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.clip_norm is not None and not self.clip_norm > 0:
            raise ValueError(f"clip_norm must be > 0, got {self.clip_norm}")

    def to_json(self) -> dict:
        data = dataclasses.asdict(self)
        data["hidden"] = list(self.hidden)
        return data

    @classmethod
    def from_json(cls, data: dict) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(
            **{k: (tuple(v) if k == "hidden" else v) for k, v in data.items() if k in known}
        )


def build_model(config: TrainConfig, in_dim: int, out_dim: int, task: str = "regression") -> MLP:
    """The network, loss and optimiser a configuration describes.

    Linear layers are initialised from one generator seeded with ``config.seed``, and
    the shuffling from an independent stream of the same seed.
    """
    seeds = np.random.SeedSequence(config.seed).spawn(3)
    init_rng = np.random.default_rng(seeds[0])
    dropout_rng = np.random.default_rng(seeds[1])
    dtype = np.dtype(config.dtype)
    activation = get_activation(config.activation)
    layers, width = [], in_dim
    for size in config.hidden:
        layers.append(Linear(width, size, dtype=dtype, seed=init_rng, init=config.init))
        if config.batchnorm:
            layers.append(BatchNorm1d(size, dtype=dtype))
        layers.append(activation())
        if config.dropout:
            layers.append(Dropout(config.dropout, seed=dropout_rng))
        width = size
    layers.append(Linear(width, out_dim, dtype=dtype, seed=init_rng, init=config.init))
    loss_name = config.loss or ("cross_entropy" if task == "classification" else "mse")
    optimizer_cls = get_optimizer(config.optimizer)
    kwargs = {"lr": config.lr, "weight_decay": config.weight_decay}
    if config.optimizer in ("sgd", "rmsprop"):
        kwargs["momentum"] = config.momentum
    model = MLP(
        layers,
        get_loss(loss_name)(),
        config.lr,
        seed=np.random.default_rng(seeds[2]),
        optimizer=optimizer_cls(**kwargs),
    )
    return model


def build_schedule(config: TrainConfig, model: MLP):
    if config.schedule is None:
        return None
    target = model.optimizer or model
    if config.schedule == "step":
        return get_schedule("step")(target, step_size=max(1, config.epochs // 3), gamma=0.1)
    if config.schedule == "cosine":
        return get_schedule("cosine")(target, t_max=max(1, config.epochs))
    return get_schedule("plateau")(target, factor=0.5, patience=5)


def _generators(model: MLP) -> list[np.random.Generator]:
    """Every random generator that training draws from: shuffling, then each Dropout."""
    return [model.rng] + [layer.rng for layer in model.layers if isinstance(layer, Dropout)]


def save_checkpoint(
    model: MLP,
    path,
    config: TrainConfig,
    *,
    schedule=None,
    trainer=None,
    preprocessing: Preprocessing | None = None,
) -> None:
    """Model, optimiser state, random states and progress, so ``load_checkpoint``
    continues exactly where this left off."""
    arrays, optimizer_meta = {}, None
    if model.optimizer is not None:
        state = model.optimizer.state_dict()
        steps = []
        for i, param_state in enumerate(state["state"]):
            scalars = {}
            for name, value in param_state.items():
                if isinstance(value, np.ndarray):
                    arrays[f"optim/{i}/{name}"] = value
                else:
                    scalars[name] = value
            steps.append(scalars)
        optimizer_meta = {"hyperparameters": state["hyperparameters"], "scalars": steps}
    trainer_meta = None
    if trainer is not None:
        trainer_state = trainer.state_dict()
        best = trainer_state.pop("best_state")
        for key, value in (best or {}).items():
            arrays[f"best/{key}"] = value
        trainer_meta = {**trainer_state, "has_best": best is not None}
        if trainer_meta["best_loss"] == float("inf"):
            trainer_meta["best_loss"] = None
    extra = {
        "checkpoint": {
            "config": config.to_json(),
            "rng_states": [g.bit_generator.state for g in _generators(model)],
            "optimizer": optimizer_meta,
            "schedule": None if schedule is None else schedule.state_dict(),
            "trainer": trainer_meta,
        }
    }
    json.dumps(extra)  # fail before writing anything if a state is not JSON-able
    save(model, path, preprocessing=preprocessing, extra=extra, arrays=arrays)


def load_checkpoint(path):
    """Rebuild ``(model, config, schedule, trainer_state)`` from a checkpoint file."""
    from barenet.persistence import ModelFileError

    meta, arrays = read(path)
    info = meta.get("checkpoint")
    if info is None:
        raise ModelFileError(f"{path}: a model file, not a checkpoint (written with --save)")
    config = TrainConfig.from_json(info["config"])
    task = "classification" if (meta.get("preprocessing") or {}).get("classes") else "regression"
    saved = build(meta, arrays, path)
    model = build_model(config, saved.in_dim, saved.out_dim, task)
    model.load_state_dict(saved.state_dict())
    model.history, model.epoch, model.preprocessing = (
        saved.history,
        saved.epoch,
        saved.preprocessing,
    )
    for generator, state in zip(_generators(model), info["rng_states"], strict=True):
        generator.bit_generator.state = state
    if info["optimizer"] is not None:
        states = [dict(s) for s in info["optimizer"]["scalars"]]
        for key, value in arrays.items():
            if key.startswith("optim/"):
                _, index, name = key.split("/", 2)
                states[int(index)][name] = value
        model.optimizer.load_state_dict(
            {"hyperparameters": info["optimizer"]["hyperparameters"], "state": states}
        )
    schedule = build_schedule(config, model)
    if schedule is not None and info["schedule"] is not None:
        schedule.load_state_dict(info["schedule"])
    trainer_state = None
    if info["trainer"] is not None:
        t = info["trainer"]
        best = {k[len("best/") :]: v for k, v in arrays.items() if k.startswith("best/")}
        trainer_state = {
            "best_loss": float("inf") if t["best_loss"] is None else t["best_loss"],
            "bad_epochs": t["bad_epochs"],
            "best_state": best if t["has_best"] else None,
        }
    return model, config, schedule, trainer_state

"""Training recipes: a ``TrainConfig`` turned into a model record, a schedule, and
checkpoints that continue exactly. Shared by the command line and the estimators.
"""

from __future__ import annotations

import json
import math

import numpy as np

from barenet.errors import BarenetValueError, DataError, ModelFileError
from barenet.io.file_checks import whole_number
from barenet.io.persistence import read, rebuild, save, unusable_as
from barenet.io.record import build, generators
from barenet.model import MLP
from barenet.registry import SCHEDULES
from barenet.tables.preprocessing import Preprocessing
from barenet.training import hyperparams, networks

MIN_UPDATES = 1000  # the default epochs reach at least this many updates on a small table


class TrainConfig:
    """Everything that defines a training run: one attribute per ``hyperparams.PARAMS``.

    The defaults are the notebook's network (8 -> 64 -> 64 -> 1 Relu, MSE, SGD lr
    0.01, batch 32, 30 epochs) plus gradient clipping at a global norm of 1.0, which
    makes every seed converge (docs/learn/contract.md, "Defaults that always converge").
    Values are checked on construction.
    """

    def __init__(self, **values) -> None:
        vars(self).update(hyperparams.validate(values))
        # the names given (not filled by a recipe or a default), for resolve_auto
        object.__setattr__(self, "_given", frozenset(values))
        if self.momentum and self.optimizer not in ("sgd", "rmsprop"):
            raise BarenetValueError(
                f"momentum is for sgd and rmsprop; {self.optimizer} has its own moments "
                f"(got momentum={self.momentum})"
            )
        if self.ensemble > 1 and self.batchnorm:
            raise BarenetValueError("batchnorm is not available inside an ensemble (ensemble > 1)")
        if self.selects_on_validation() and self.val_fraction == 0:
            # with no rows held out, the only loss to select on would be the test split's
            raise BarenetValueError(
                "early_stopping and the plateau schedule select on held-out validation rows: "
                "val_fraction must be > 0 (or None for 0.1), got 0"
            )

    def replace(self, **changes) -> TrainConfig:
        new = TrainConfig(**{**self.to_json(), **changes})
        object.__setattr__(new, "_given", self._given | set(changes))
        return new

    def _values(self) -> dict:
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    def to_json(self) -> dict:
        data = self._values()
        data["hidden"] = list(self.hidden)
        return data

    @classmethod
    def from_json(cls, data: dict) -> TrainConfig:
        return cls(**{k: v for k, v in data.items() if k in hyperparams.BY_NAME})

    def __eq__(self, other) -> bool:
        return isinstance(other, TrainConfig) and self._values() == other._values()

    def __repr__(self) -> str:
        return "TrainConfig(" + ", ".join(f"{k}={v!r}" for k, v in self._values().items()) + ")"

    def resolve_auto(self, n_rows: int) -> tuple[TrainConfig, str | None]:
        """``(config, why)``: with ``recipe="auto"``, the concrete recipe chosen for
        ``n_rows`` training rows ("small" below ``hyperparams.AUTO_SMALL_ROWS``, else
        "tabular"); the values given explicitly (a ``time_limit``, say) are kept. Its
        epochs are the recipe's, never decided by the clock. Otherwise this
        configuration, and None."""
        if self.recipe != "auto":
            return self, None
        threshold = hyperparams.AUTO_SMALL_ROWS
        name = "small" if n_rows < threshold else "tabular"
        given = {k: getattr(self, k) for k in self._given if k != "recipe"}
        config = TrainConfig(**given, recipe=name)
        sign = "<" if name == "small" else ">="
        why = f"recipe auto chose {name} ({n_rows:,} training rows {sign} {threshold:,})"
        return config, why

    def with_epochs_for(self, n_rows: int) -> TrainConfig:
        """This configuration with ``epochs`` decided: as given, or by default 30, raised on
        a small table to reach ``MIN_UPDATES`` mini-batch updates (at most 1,000 epochs)."""
        if self.epochs is not None or self.recipe == "auto":  # auto: see resolve_auto
            return self
        batches = max(1, math.ceil(n_rows / self.batch_size))
        return self.replace(epochs=min(1000, max(30, math.ceil(MIN_UPDATES / batches))))

    def loss_for(self, task: str) -> str:
        return self.loss or ("cross_entropy" if task == "classification" else "mse")

    def validation_fraction(self) -> float:
        """The share of training rows to hold out: ``val_fraction`` if given, else 0.1
        when something selects on the validation loss (early stopping, plateau), else 0."""
        if self.val_fraction is not None:
            return self.val_fraction
        return 0.1 if self.selects_on_validation() else 0.0

    def selects_on_validation(self) -> bool:
        return self.early_stopping is not None or self.schedule == "plateau"

    def fits_on_training_rows(self) -> bool:
        """Whether the network's first layers are fitted on training rows (scaling, bins)."""
        return (
            self.scaling != "none"
            or self.embedding in ("piecewise", "piecewise_tree")
            or self.retrieval > 0
        )

    def model_record(
        self, in_dim: int, out_dim: int, task: str = "regression", x_train=None, y_train=None
    ) -> dict:
        """The model record (``barenet.io.record``) of this configuration's network.

        ``x_train`` (and ``y_train`` for tree bins) are the training rows that the
        scaling and the piecewise bins are fitted on, when the configuration has them.
        """
        if self.fits_on_training_rows() and x_train is None:
            raise BarenetValueError(
                f"scaling={self.scaling!r} and embedding={self.embedding!r} are fitted on "
                "training rows: give x_train"
            )
        front, width = networks.input_layers(self, in_dim, task, x_train, y_train, out_dim)
        if self.ensemble > 1:
            body = networks.ensemble_body(self, width, out_dim, self.ensemble)
        else:
            body = networks.plain_body(self, width, out_dim)
        optimizer = {"lr": self.lr, "weight_decay": self.weight_decay, "fused": True}
        if self.optimizer in ("sgd", "rmsprop"):
            optimizer["momentum"] = self.momentum
        return {
            "layers": front + body,
            "loss": {"type": self.loss_for(task), "config": {}},
            "optimizer": {"type": self.optimizer, "config": optimizer},
            "lr": self.lr,
            "dtype": self.dtype,
            "seed": self.seed,
            "task": task,
        }


def hold_out_validation(x, y, config: TrainConfig, *, classification: bool):
    """``(x_train, y_train, x_val, y_val)`` with ``config.validation_fraction()`` of the
    rows held out for validation (stratified by class when every class allows it), or
    None when nothing is to be held out. The command line and the estimators share it.

    Raises ``DataError`` when the rows cannot be split.
    """
    fraction = config.validation_fraction()
    if not fraction:
        return None
    from sklearn.model_selection import train_test_split

    reason = ""
    for stratify in (y, None) if classification else (None,):
        try:
            x_train, x_val, y_train, y_val = train_test_split(
                x, y, test_size=fraction, random_state=config.seed, stratify=stratify
            )
            return x_train, y_train, x_val, y_val
        except ValueError as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
    raise DataError(
        f"cannot hold out {fraction:g} of the {len(x)} training rows for validation: {reason}"
    )


def build_model(
    config: TrainConfig,
    in_dim: int,
    out_dim: int,
    task: str = "regression",
    x_train=None,
    y_train=None,
) -> MLP:
    """The network, loss and optimiser a configuration describes (``build`` of its
    record), with its scaling and bins fitted on ``x_train`` if it has any."""
    return build(config.model_record(in_dim, out_dim, task, x_train, y_train))


def build_schedule(config: TrainConfig, model: MLP):
    """The learning-rate schedule named by ``config.schedule`` (None for none)."""
    if config.schedule is None:
        return None
    target = model.optimizer or model
    cls = SCHEDULES.lookup(config.schedule)
    epochs = 30 if config.epochs is None else config.epochs  # see with_epochs_for
    if config.schedule == "step":
        return cls(target, step_size=max(1, epochs // 3), gamma=0.1)
    if config.schedule == "cosine":
        return cls(target, t_max=max(1, epochs))
    return cls(target, factor=0.5, patience=5)


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
        scalars = {}
        for key, param_state in state["state"].items():
            scalars[key] = {}
            for name, value in param_state.items():
                if isinstance(value, np.ndarray):
                    arrays[f"optim/{key}/{name}"] = value
                else:
                    scalars[key][name] = value
        optimizer_meta = {"hyperparameters": state["hyperparameters"], "scalars": scalars}
    trainer_meta = None
    if trainer is not None:
        trainer_state = trainer.state_dict()
        best = trainer_state.pop("best_state")
        for key, value in (best or {}).items():
            arrays[f"best/{key}"] = value
        trainer_meta = {**trainer_state, "has_best": best is not None}
        if math.isinf(trainer_meta["best_loss"]):
            trainer_meta["best_loss"] = None
    extra = {
        "checkpoint": {
            "config": config.to_json(),
            "rng_states": [g.bit_generator.state for g in generators(model)],
            "optimizer": optimizer_meta,
            "schedule": None if schedule is None else schedule.state_dict(),
            "trainer": trainer_meta,
        }
    }
    json.dumps(extra)  # fail before writing anything if a state is not JSON-able
    save(model, path, preprocessing=preprocessing, extra=extra, arrays=arrays)


def load_checkpoint(path):
    """Rebuild ``(model, config, schedule, trainer_state)`` from a checkpoint file.

    The model comes from the file's record, as ``barenet.load`` builds it: the same
    layers, loss, optimiser and dtype.
    """
    meta, arrays = read(path)
    info = meta.get("checkpoint")
    if info is None:
        raise ModelFileError(f"{path}: a model file, not a checkpoint (written with --checkpoint)")
    with unusable_as(path, "the checkpoint's training state is unusable"):
        resumed = _resume(meta, arrays, info, path)
    _check_position(resumed[0], path)
    return resumed


def _check_position(model: MLP, path) -> None:
    """A ``ModelFileError`` unless a folder checkpoint's position (``stream_position``:
    the epoch, file and batch to continue from) holds whole numbers >= 0, at the
    model's epoch."""
    extra = getattr(model.preprocessing, "extra", None) or {}
    if "stream_position" not in extra:
        return
    position = extra["stream_position"]
    fields = {"epoch", "file", "batch"}
    if not isinstance(position, dict) or not fields <= set(position) <= fields | {"losses"}:
        raise ModelFileError(
            f"{path}: its stream_position must hold an epoch, a file and a batch, got "
            f"{position!r} (the file was altered or damaged: use another one, or train again)"
        )
    for name in ("epoch", "file", "batch"):
        whole_number(position[name], path, f"stream_position {name}")
    _check_block_losses(position.get("losses", []), path)
    if position["epoch"] != model.epoch:
        raise ModelFileError(
            f"{path}: its stream_position epoch {position['epoch']} is not the model's "
            f"epoch {model.epoch} (the file was altered or damaged: use another one)"
        )


def _check_block_losses(losses, path) -> None:
    """A ``ModelFileError`` unless ``losses`` (a folder checkpoint's losses of the
    epoch's blocks trained so far) is a list of ``[finite loss, rows >= 1]``."""
    good = isinstance(losses, list) and all(
        isinstance(pair, list)
        and len(pair) == 2
        and isinstance(pair[0], (int, float))
        and math.isfinite(pair[0])
        and isinstance(pair[1], int)
        and pair[1] >= 1
        for pair in losses
    )
    if not good:
        raise ModelFileError(
            f"{path}: its stream_position losses must be [loss, rows] pairs, got "
            f"{losses!r} (the file was altered or damaged: use another one, or train again)"
        )


def nothing_left_note(path, model: MLP, config: TrainConfig) -> str | None:
    """A note when a resumed checkpoint has already trained ``config.epochs`` epochs or
    more: nothing is trained (None when epochs are left)."""
    if config.epochs is None or model.epoch < config.epochs:
        return None
    return (
        f"note: {path} has already trained {model.epoch} epochs (epochs {config.epochs}): "
        f"nothing is trained; give --epochs above {model.epoch} to train more"
    )


def _resume(meta: dict, arrays: dict, info: dict, path):
    config = TrainConfig.from_json(info["config"])
    model = rebuild(meta, arrays, path)
    for generator, state in zip(generators(model), info["rng_states"], strict=True):
        generator.bit_generator.state = state
    if info["optimizer"] is not None:
        states = {key: dict(s) for key, s in info["optimizer"]["scalars"].items()}
        for key, value in arrays.items():
            if key.startswith("optim/"):
                _, param, name = key.split("/", 2)
                states[param][name] = value
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
            "best_loss": math.inf if t["best_loss"] is None else t["best_loss"],
            "best_epoch": t.get("best_epoch"),
            "bad_epochs": t["bad_epochs"],
            "best_state": best if t["has_best"] else None,
        }
    return model, config, schedule, trainer_state

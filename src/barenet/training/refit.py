"""The saved model learns from every row: after the held-out fit that
chose the epochs and scored the test split, the same configuration is trained again
on the training, validation and test rows together for the epochs the held-out fit
kept (the best validation epoch, with early stopping).

The test metrics ``barenet train`` reports stay the held-out fit's: the refitted
model has seen the test rows, so it cannot be scored on them.
"""

from __future__ import annotations

import numpy as np

from barenet.training.config import TrainConfig
from barenet.training.fitting import FitResult, fit_model


def epochs_text(count: int) -> str:
    """``"1 epoch"``, ``"3 epochs"``."""
    return f"{count} epoch" if count == 1 else f"{count} epochs"


def why_no_refit(fit: FitResult) -> str | None:
    """Why the held-out fit's model is the one to keep, or None if it can be refitted."""
    if fit.model.interrupted:
        return "training was interrupted"
    if fit.config.schedule == "plateau":
        return "the plateau schedule needs validation rows to follow"
    return None


def refit_config(fit: FitResult) -> TrainConfig:
    """The held-out fit's configuration, for ``fit.kept_epoch`` epochs with nothing
    held out (no early stopping: the epochs are already chosen)."""
    return fit.config.replace(
        epochs=max(1, fit.kept_epoch), early_stopping=None, val_fraction=None
    )


def saved_model(
    fit: FitResult, split, *, refit: bool, task: str, out_dim: int, kept: str = "--no-refit"
):
    """``(model, what)``: the model to save and, for the summary, which rows it learned
    from (``what["line"]`` says it in words); without ``refit``, ``kept`` says why.

    With ``refit``, and unless ``why_no_refit`` says otherwise, ``refit_config(fit)``
    trained on every row of ``split`` (the training rows, the validation rows among
    them, and the test rows), with the preprocessing learned from them all
    (``split.every_row``: levels, medians, date and numeric ranges, scaling; a
    built-in data set's is already learned from every row); else ``fit.model``, whose
    preprocessing is ``split``'s.
    """
    validation = 0 if fit.x_val is None or fit.validation == "watched rows" else len(fit.x_val)
    rows = {"train": len(fit.x_train), "validation": validation, "test": len(split.x_test)}
    why = why_no_refit(fit) if refit else kept
    if why is not None:
        line = (
            f"Saved model: learned from the {rows['train']} training rows ({why}); "
            f"the {rows['test']} test rows were held out."
        )
        return fit.model, {"refitted": False, "rows": rows["train"], "why": why, "line": line}
    whole = split.every_row() if split.every_row is not None else None
    if whole is None:
        whole = split._replace(
            x_train=np.concatenate([split.x_train, split.x_test]),
            y_train=np.concatenate([split.y_train, split.y_test]),
        )
    x = whole.x_train

    def prepare(model):
        model.preprocessing = whole.preprocessing

    again = fit_model(
        refit_config(fit), x, whole.y_train, task=task, out_dim=out_dim, prepare=prepare,
        limit_name="--time-limit",
    )  # fmt: skip
    if again.model.interrupted:  # stopped by the user: keep the complete held-out fit
        why = "the refit on every row was interrupted"
        line = f"Saved model: learned from the {rows['train']} training rows ({why})."
        return fit.model, {"refitted": False, "rows": rows["train"], "why": why, "line": line}
    parts = f"{rows['train']} training + {rows['validation']} validation + {rows['test']} test"
    line = (
        f"Saved model: refitted on all {len(x)} rows ({parts}) for "
        f"{epochs_text(again.model.epoch)}, "
        "the epochs the held-out fit kept; the test metrics above are the held-out fit's."
    )
    what = {
        "refitted": True,
        "rows": len(x),
        "epochs": again.model.epoch,
        "train_seconds": again.train_seconds,
        "time_limit_cut": again.time_cut,
        "line": line,
    }
    return again.model, what

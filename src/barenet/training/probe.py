"""Recipe auto's probe on a small table: the small recipe with and without piecewise
embeddings, the one of lower validation loss kept.

Below ``hyperparams.AUTO_SMALL_ROWS`` training rows, recipe ``auto`` trains the small
recipe. Piecewise-linear embeddings help it much where a feature acts through
thresholds (on the suite's concrete table test RMSE 5.40 -> 4.48, attrition 86.9 % ->
88.1 %) and hurt it where the target is smooth in the features (the cars-like table of
``benchmarks/tables.py``, 2.44 -> 2.63), so neither is right for every small table.
The probe trains both on the training rows, each selecting its best epoch on the same
held-out validation rows the fit itself holds out, and keeps the one whose best
validation loss is lower (docs/accuracy.md, "The small recipe's probe"), when at least
``hyperparams.AUTO_PROBE_MIN_VALIDATION`` rows are held out (fewer cannot tell the two
apart: on 32 validation rows of the cars-like table it chose wrongly). It costs two
small fits (a few seconds); the fit that follows is the chosen candidate's fit again
(same seed, same rows), so the probe changes which model is trained, not how.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from barenet.errors import TrainingDiverged
from barenet.training import hyperparams
from barenet.training.config import TrainConfig


def candidates(config: TrainConfig) -> list[TrainConfig]:
    """The configurations the probe compares: ``config`` and, for each option of
    ``hyperparams.AUTO_SMALL_PROBE`` the user did not give, ``config`` with it."""
    changes = {k: v for k, v in hyperparams.AUTO_SMALL_PROBE.items() if k not in config._given}
    return [config, config.replace(**changes)] if changes else [config]


def why_not(config: TrainConfig, n_rows: int) -> str | None:
    """Why the probe does not run on this resolved configuration and ``n_rows``
    training rows (None: it runs)."""
    if config.recipe != "small":
        return "not the small recipe"
    if len(candidates(config)) < 2:
        return "its options are given"
    if config.time_limit is not None:
        return "a time limit is given"
    if not config.selects_on_validation():
        return "nothing selects on validation rows"
    held_out = math.ceil(n_rows * config.validation_fraction())  # as train_test_split
    if held_out < hyperparams.AUTO_PROBE_MIN_VALIDATION:
        return f"{held_out} validation rows, too few to tell the candidates apart"
    return None


def best_loss(fit: Callable[[TrainConfig], object], config: TrainConfig) -> float:
    """The lowest validation loss of one candidate's fit.

    Parameters
    ----------
    fit : callable
        ``fit(config)`` trains ``config`` on the training rows and returns
        ``fit_model``'s ``FitResult``.
    config : TrainConfig
        The candidate.

    Returns
    -------
    float
        Its best validation loss; ``inf`` if it diverged.

    Raises
    ------
    KeyboardInterrupt
        When the user stopped the candidate's fit (Ctrl-C): the whole run stops, as
        it would have in the fit itself.
    """
    try:
        model = fit(config).model
    except TrainingDiverged:
        return math.inf
    if model.interrupted:
        raise KeyboardInterrupt
    losses = np.asarray(model.history["val_loss"], dtype=np.float64)
    return float(np.nanmin(losses)) if np.isfinite(losses).any() else math.inf


def choose(config: TrainConfig, why: str, n_rows: int, fit: Callable[[TrainConfig], object]):
    """Recipe auto's small configuration, with piecewise embeddings or not.

    Parameters
    ----------
    config : TrainConfig
        Recipe auto resolved (``TrainConfig.resolve_auto``) for ``n_rows``.
    why : str
        What recipe auto chose, and why.
    n_rows : int
        The training rows before the validation hold-out.
    fit : callable
        ``fit(config)`` trains one candidate on the training rows, selecting its best
        epoch on the validation rows the fit itself validates on, and returns
        ``fit_model``'s ``FitResult``.

    Returns
    -------
    (TrainConfig, str)
        The candidate of lower best validation loss, and ``why`` with what the probe
        measured; ``config`` unchanged when the probe does not run (``why_not``), with
        ``why`` saying why for the small recipe.
    """
    reason = why_not(config, n_rows)
    if reason is not None:
        return config, why if config.recipe != "small" else f"{why}; no probe: {reason}"
    plain, other = candidates(config)
    losses = [best_loss(fit, plain), best_loss(fit, other)]
    if not math.isfinite(min(losses)):
        return config, why
    chosen = other if losses[1] < losses[0] else plain
    with_or_not = "with" if chosen is other else "without"
    shown = _shown(losses)
    return chosen, (
        f"{why}, {with_or_not} piecewise embeddings (best validation loss "
        f"{shown[1]} with, {shown[0]} without)"
    )


def _shown(losses: list[float]) -> list[str]:
    """The losses as the ``Model:`` line gives them: 4 significant digits, more when
    those would show two different losses alike; "diverged" for an infinite one."""
    for digits in (4, 8, 17):
        shown = [f"{loss:.{digits}g}" if math.isfinite(loss) else "diverged" for loss in losses]
        if shown[0] != shown[1] or losses[0] == losses[1]:
            break
    return shown

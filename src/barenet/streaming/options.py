"""What ``barenet train --data FOLDER`` makes of its options: the configuration by the
command line's rules (``training.sources``), refused by name where a folder cannot
follow them; the time limit and the loss plot, as for a table in memory."""

from __future__ import annotations

from barenet.errors import BarenetValueError


def given_options(args) -> dict:
    """The hyper-parameters given on the command line (as ``cli.given_hyperparameters``)."""
    from barenet.training import hyperparams

    return {p.name: getattr(args, p.name) for p in hyperparams.PARAMS if hasattr(args, p.name)}


#: Options a folder or glob cannot apply, refused by name rather than ignored.
FOLDER_REFUSED = {
    "early_stopping": "--early-stopping is not available for a folder or glob yet; give --epochs",
}


def stream_config(args, notices: list):
    """The configuration of the options given for a folder or glob, by the command
    line's own rules (``training.sources.config_from_flags``), except where a folder
    cannot follow them: ``--recipe auto`` (and a recipe that selects its best epoch on
    held-out rows) is refused by name; ``--data FOLDER`` alone, which would mean
    auto, keeps ``barenet train``'s defaults, and a note in ``notices`` says so."""
    from barenet.training.config import TrainConfig
    from barenet.training.sources import auto_by_default, config_from_flags

    given = given_options(args)
    if given.get("recipe") == "auto":
        raise BarenetValueError(
            "--recipe auto is not available for a folder or glob yet (its tabular recipe "
            "selects the best epoch on held-out rows); give --recipe small with --epochs, "
            "or the options themselves"
        )
    if auto_by_default(given, data=True):
        config = TrainConfig(**given)
        notices.append(
            f"a folder or glob trains with barenet train's defaults ({config.optimizer}, "
            f"lr {config.lr:g}); --recipe auto, the default for one file, is not available "
            "for a folder yet"
        )
        return config
    config = config_from_flags(given, data=True)
    if config.early_stopping is not None:
        where = f" (--recipe {config.recipe} selects on held-out rows)" if config.recipe else ""
        raise BarenetValueError(FOLDER_REFUSED["early_stopping"].replace(";", where + ";", 1))
    return config


def train_epochs(run, config, position: dict, progress, schedule):
    """``(stopped, budget)``: the epochs from ``position``, stopped by Ctrl-C
    (``stopped``) or by ``--time-limit`` (``budget.cut`` says after which epoch), as
    ``training.fitting.TimeBudget`` stops training on a table in memory."""
    from barenet.training.fitting import TimeBudget

    budget = None
    if config.time_limit is not None:
        budget = TimeBudget(
            config.time_limit,
            config.epochs,
            position["epoch"],
            name="--time-limit",
            schedule=schedule,
        )
    for epoch in range(position["epoch"], config.epochs):
        start = (position["file"], position["batch"]) if epoch == position["epoch"] else (0, 0)
        if not run.epoch(epoch, start, progress):
            return True, budget
        if budget is not None and budget(run.model, run.model.epoch, {}):
            break
    return False, budget


def plot_losses_of(args, model, summary: dict, config) -> None:
    """The loss plot (``--plot``, ``--log-scale``), as for a table in memory."""
    if getattr(args, "plot", "none") == "none" or not model.history["train_loss"]:
        return
    from barenet.diagnostics.plotting import plot_losses

    test = summary["test"]
    final = (
        f"test accuracy {test['accuracy']:.3f}"
        if "accuracy" in test
        else f"test RMSE {test['rmse']:.4g}, R^2 {test['r2']:.3f}"
    )
    title = f"{summary['dataset']}, {model.epoch} epochs (standardised losses)\nfinal: {final}"
    val_label = "validation" if config.validation_fraction() else "test (watched only)"
    summary["plot"] = str(
        plot_losses(
            model.history, args.plot, log_scale=args.log_scale, title=title, val_label=val_label
        )
    )

"""What ``barenet train --data FOLDER`` makes of its options: the configuration by the
command line's rules (``training.sources``), refused by name where a folder cannot
follow them."""

from __future__ import annotations

from barenet.errors import BarenetValueError


def given_options(args) -> dict:
    """The hyper-parameters given on the command line (as ``cli.given_hyperparameters``)."""
    from barenet.training import hyperparams

    return {p.name: getattr(args, p.name) for p in hyperparams.PARAMS if hasattr(args, p.name)}


#: Options a folder or glob cannot apply, refused by name rather than ignored.
FOLDER_REFUSED = {
    "retrieval": (
        "--retrieval (and --recipe tabular-best) reads every training row as a candidate; "
        "a folder or glob holds only a sample of its rows in memory: give --recipe tabular"
    ),
}


def stream_config(args):
    """The configuration of the options given for a folder or glob, by the command
    line's own rules (``training.sources.config_from_flags``: ``--data FOLDER`` alone
    means ``--recipe auto``, resolved for the training rows the one pass counted
    before the validation hold-out, as a file's), refused by name where a folder cannot
    follow them (``FOLDER_REFUSED``)."""
    from barenet.training.sources import config_from_flags

    config = config_from_flags(given_options(args), data=True)
    if config.retrieval:
        raise BarenetValueError(FOLDER_REFUSED["retrieval"])
    return config

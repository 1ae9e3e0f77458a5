"""The errors barenet raises on purpose.

Every one derives from ``BarenetError``, so a caller (the command line, say) can tell
a user's mistake that barenet caught from a bug. Each also derives from the built-in
exception a Python user would expect (``ValueError``, ``TypeError``, ``OSError``...),
so ``except ValueError`` keeps working. ``DataWarning`` is the one warning class: what
barenet did to the data, to know about, not an error.
"""

from __future__ import annotations


class BarenetError(Exception):
    """Base class of every error barenet raises on purpose."""


class BarenetValueError(BarenetError, ValueError):
    """An argument has the right type but a value barenet cannot use."""


class BarenetTypeError(BarenetError, TypeError):
    """An argument has a type barenet cannot use."""


class UsageError(BarenetError, RuntimeError):
    """Methods called in an order that cannot work (``backward`` before ``forward``)."""


class DataError(BarenetValueError):
    """A data file is missing, empty or not usable; the message names the place."""


class DataUnavailableError(BarenetError, OSError):
    """A data set is neither cached nor downloadable."""


class OutputPathError(BarenetError, FileNotFoundError):
    """A file cannot be written where asked: its folder does not exist."""


class ModelFileError(BarenetValueError):
    """A model file is missing, truncated, corrupt, foreign, or from an incompatible version."""


class TrainingDiverged(BarenetError, FloatingPointError):
    """The loss or a gradient became NaN or infinite during training.

    The model keeps finite weights and its history up to the failure; ``epoch``
    and ``batch`` (1-based; batch 0 means the end of the epoch) say where.
    """

    def __init__(self, message: str, epoch: int, batch: int) -> None:
        super().__init__(message)
        self.epoch, self.batch = epoch, batch


class DataWarning(UserWarning):
    """What barenet did to rows it was given, as ``barenet predict``'s notes say it:
    blank cells imputed, categories unseen in training, values or dates clipped to the
    training range (the estimators' ``predict``, once per call)."""

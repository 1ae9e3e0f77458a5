"""Saving and loading models and checkpoints: one ``.npz`` file, never a pickle.

The file holds every parameter and buffer as a plain array, and one JSON
document (``__meta__``): the model record (``barenet.io.record``: layers, loss,
optimiser, dtype, task), the preprocessing, the history and the barenet version,
so that a file rebuilds its model without any code of the user's. Checkpoints add
the training configuration, the optimiser's state, the random generators' states and
the training progress.
"""

from __future__ import annotations

import contextlib
import json
import math
import warnings
import zipfile
from pathlib import Path

import numpy as np

from barenet._version import __version__
from barenet.errors import ModelFileError
from barenet.io.atomic import atomic_path
from barenet.io.file_checks import check_archive, check_rebuilt, check_record
from barenet.io.record import build, describe
from barenet.model import MLP
from barenet.tables.preprocessing import Preprocessing

FORMAT = "barenet-model"
FORMAT_VERSION = 2


def save(
    model,
    path,
    *,
    preprocessing: Preprocessing | None = None,
    extra: dict | None = None,
    arrays: dict[str, np.ndarray] | None = None,
) -> Path:
    """Write ``model`` (and its preprocessing) to one ``.npz`` file, atomically.

    ``extra`` adds JSON-able entries to the description and ``arrays`` more named
    arrays (used by checkpoints). Returns the path written. ``barenet.load`` reads it.
    """
    if preprocessing is None:
        preprocessing = model.preprocessing
    task = None if preprocessing is None else preprocessing.task
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "barenet_version": __version__,
        "record": describe(model, task=task),
        "preprocessing": None if preprocessing is None else preprocessing.to_json(),
        "history": {  # NaN (an epoch without validation) is not JSON: null
            key: [None if math.isnan(v) else v for v in values]
            for key, values in model.history.items()
        },
        "epoch": model.epoch,
        **(extra or {}),
    }
    payload = {f"param/{k}": v for k, v in model.state_dict().items()}
    payload.update(arrays or {})
    payload["__meta__"] = np.array(json.dumps(meta))
    path = Path(path)
    with atomic_path(path, suffix=".npz") as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **payload)
    return path


def deprecated_mlp_save(model, path, **kwargs) -> Path:
    """``MLP.save(path)``, the old spelling of ``barenet.save(model, path)``: the same
    file, with a ``FutureWarning``; removed in barenet 0.4. Attached to ``MLP`` here,
    since the model does not import its file format."""
    warnings.warn(
        "MLP.save(path) is deprecated and will be removed in barenet 0.4; use "
        "barenet.save(model, path) instead",
        FutureWarning,
        stacklevel=2,
    )
    return save(model, path, **kwargs)


MLP.save = deprecated_mlp_save


def read(path) -> tuple[dict, dict[str, np.ndarray]]:
    """Read and check a barenet file: ``(meta, arrays)``; ``ModelFileError`` if unusable."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file")
    with open(path, "rb") as f:
        start = f.read(4)
    if not start.startswith(b"PK"):  # every .npz is a zip archive
        looks = " (it looks like a text table)" if _is_text(start) else ""
        raise ModelFileError(
            f"{path}: not a barenet model file{looks}; a model file is the .npz written by "
            "barenet train --save or barenet.save"
        )
    check_archive(path)  # no array may claim more than the file holds
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as error:
        raise ModelFileError(
            f"{path}: not a readable barenet model file ({type(error).__name__}: {error})"
        ) from None
    except Exception as error:  # zlib.error, struct.error, ... from damaged archives
        raise ModelFileError(f"{path}: corrupt model file ({type(error).__name__})") from None
    if "__meta__" not in arrays:
        raise ModelFileError(f"{path}: not a barenet model file (no description inside)")
    try:
        meta = json.loads(str(arrays.pop("__meta__")))
    except (ValueError, TypeError) as error:
        raise ModelFileError(f"{path}: the model description is corrupt ({error})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a barenet model file")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: file format version {meta.get('format_version')} is not supported by this "
            f"barenet (it reads version {FORMAT_VERSION}; the file was written by barenet "
            f"{meta.get('barenet_version')})"
        )
    return meta, arrays


def _is_text(start: bytes) -> bool:
    return bool(start) and all(
        32 <= b < 127 or b in (9, 10, 13) for b in start.lstrip(b"\xef\xbb\xbf")
    )


def load(path):
    """Rebuild the ``MLP`` saved in ``path``, with ``.preprocessing`` and ``.history``.

    Raises
    ------
    ModelFileError
        For a missing, truncated, corrupt or foreign file, or an incompatible version.
    """
    meta, arrays = read(path)
    return rebuild(meta, arrays, path)


@contextlib.contextmanager
def unusable_as(path, what: str):
    """Turn the errors a malformed description raises into one ``ModelFileError``
    saying ``what`` failed (``ModelFileError`` itself passes through)."""
    try:
        yield
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
        raise ModelFileError(f"{path}: {what} ({type(error).__name__}: {error})") from None


def rebuild(meta: dict, arrays: dict[str, np.ndarray], path="model"):
    """The model of a file's description and arrays (see ``read``): built from its record
    by ``barenet.io.record.build``, then given the saved weights, history and preprocessing."""
    with unusable_as(path, "the model description does not rebuild a model"):
        check_record(meta["record"], arrays, path)  # before anything is allocated
        model = build(meta["record"])
        state = {k[len("param/") :]: v for k, v in arrays.items() if k.startswith("param/")}
        model.load_state_dict(state)
        model.history = {
            "train_loss": [float(v) for v in meta["history"]["train_loss"]],
            "val_loss": [math.nan if v is None else float(v) for v in meta["history"]["val_loss"]],
        }
        model.epoch = int(meta.get("epoch", 0))
        prep = meta.get("preprocessing")
        model.preprocessing = None if prep is None else Preprocessing.from_json(prep)
        check_rebuilt(model, model.preprocessing, path)
    return model

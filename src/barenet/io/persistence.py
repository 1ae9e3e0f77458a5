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
from pathlib import Path

import numpy as np

from barenet._version import __version__
from barenet.errors import BarenetValueError, ModelFileError
from barenet.io.archive import members, open_archive, read_array, read_meta
from barenet.io.atomic import atomic_path
from barenet.io.file_checks import (
    check_parameters,
    check_rebuilt,
    check_record,
    check_stored,
    expected_arrays,
    whole_number,
)
from barenet.io.record import build, describe
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

    ``model`` is an ``MLP`` or a fitted ``BarenetRegressor``/``BarenetClassifier`` (its
    network and its preprocessing: ``barenet.load`` gives an ``MLP`` whose
    ``preprocessing.predict(model, rows)`` answers as the estimator's ``predict``).

    ``extra`` adds JSON-able entries to the description and ``arrays`` more named
    arrays (used by checkpoints). Returns the path written. ``barenet.load`` reads it.
    """
    model = _network(model)
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


def read(path) -> tuple[dict, dict[str, np.ndarray]]:
    """Read and check a barenet file: ``(meta, arrays)``; ``ModelFileError`` if unusable."""
    meta, arrays, _ = _read(path)
    return meta, arrays


def _read(path) -> tuple[dict, dict[str, np.ndarray], object]:
    """``read``, and the model its record builds (before its weights are loaded)."""
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
    size = path.stat().st_size
    with open_archive(path) as archive:
        found = members(archive, path, size)
        meta = read_meta(archive, found, path, size)
        _check_format(meta, path)
        model = _built(meta, found, path)
        built = _arrays(model)
        needed = {key: (value.shape, value.dtype) for key, value in built.items()}
        check_stored(found, needed, path)  # the built layers agree; nothing read yet
        arrays = {  # a parameter straight into the built layer's array: no second copy
            k: read_array(archive, m, path, into=_own(built, k))
            for k, m in found.items()
            if k != "__meta__"
        }
    return meta, arrays, model


def _check_format(meta, path) -> None:
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a barenet model file")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: file format version {meta.get('format_version')} is not supported by this "
            f"barenet (it reads version {FORMAT_VERSION}; the file was written by barenet "
            f"{meta.get('barenet_version')})"
        )


def _built(meta: dict, found: dict, path):
    """The model of the record, built once the shapes its layers compute from their
    configurations are exactly the stored members' declared shapes (nothing is built
    larger than the file holds)."""
    with unusable_as(path, "the model description does not rebuild a model"):
        record = meta["record"]
        check_stored(found, expected_arrays(record, path), path)
        check_parameters(record, {}, path)
        return build(record, for_loading=True)  # its weights are about to be replaced


def _arrays(model) -> dict[str, np.ndarray]:
    """Parameter key -> the array itself, of every parameter and buffer of ``model``."""
    arrays = {}
    for i, layer in enumerate(model.layers):
        for name in getattr(layer, "param_names", ()):
            arrays[f"{i}.{name}"] = getattr(layer, name)
        for name, value in (layer.buffers() if hasattr(layer, "buffers") else {}).items():
            arrays[f"{i}.{name}"] = value
    return arrays


def _own(built: dict[str, np.ndarray], key: str):
    """The built model's array a stored member ``param/<key>`` is read into, if any."""
    return built.get(key[len("param/") :]) if key.startswith("param/") else None


def _is_text(start: bytes) -> bool:
    return bool(start) and all(
        32 <= b < 127 or b in (9, 10, 13) for b in start.lstrip(b"\xef\xbb\xbf")
    )


def _network(model):
    """The ``MLP`` of a fitted barenet estimator (``model_``), or ``model`` itself."""
    if hasattr(model, "get_params") and not hasattr(model, "state_dict"):
        network = getattr(model, "model_", None)
        if network is None:
            raise BarenetValueError(f"cannot save {type(model).__name__}: fit it first")
        return network
    return model


def load(path):
    """Rebuild the ``MLP`` saved in ``path``, with ``.preprocessing`` and ``.history``.

    Raises
    ------
    ModelFileError
        For a missing, truncated, corrupt or foreign file, or an incompatible version.
    """
    meta, arrays, model = _read(path)
    return rebuild(meta, arrays, path, model)


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


def rebuild(meta: dict, arrays: dict[str, np.ndarray], path="model", model=None):
    """The model of a file's description and arrays (see ``read``): built from its record
    by ``barenet.io.record.build`` (unless ``model``, already built from it, is given),
    then given the saved weights, history and preprocessing."""
    with unusable_as(path, "the model description does not rebuild a model"):
        check_record(meta["record"], arrays, path)  # before anything is allocated
        if model is None:
            model = build(meta["record"], for_loading=True)
        state = {k[len("param/") :]: v for k, v in arrays.items() if k.startswith("param/")}
        model.load_state_dict(state)
        model.history = {
            "train_loss": [float(v) for v in meta["history"]["train_loss"]],
            "val_loss": [math.nan if v is None else float(v) for v in meta["history"]["val_loss"]],
        }
        model.epoch = whole_number(meta.get("epoch", 0), path, "epoch")
        prep = meta.get("preprocessing")
        model.preprocessing = None if prep is None else Preprocessing.from_json(prep)
        check_rebuilt(model, model.preprocessing, path)
    return model

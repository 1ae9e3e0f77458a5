"""Saving and loading models and checkpoints: one ``.npz`` file, never a pickle.

The file holds every parameter and buffer as a plain array, and one JSON
document (``__meta__``) describing the architecture, the loss, the
preprocessing, the training configuration and the barenet version, so that a
file rebuilds its model without any code of the user's. Checkpoints add the
optimiser's state, the random generators' states and the training progress.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from barenet import activations, layers, losses
from barenet._files import atomic_path

FORMAT = "barenet-model"
FORMAT_VERSION = 1

LAYER_TYPES = {
    cls.__name__: cls
    for module in (layers, activations)
    for cls in vars(module).values()
    if isinstance(cls, type) and issubclass(cls, layers.Layer) and cls is not layers.Layer
}
LOSS_TYPES = {cls.__name__: cls for cls in set(losses.LOSSES.values())}


class ModelFileError(ValueError):
    """A model file is missing, truncated, corrupt, foreign, or from an incompatible version."""


@dataclass
class Preprocessing:
    """What turns raw rows into the network's inputs and its outputs back into answers.

    ``scaler_x``/``scaler_y`` are fitted scikit-learn ``StandardScaler`` objects
    (``scaler_y`` is None for classification); ``classes`` lists the original
    class labels of a classifier, in output order.
    """

    feature_names: list[str]
    target_name: str = "target"
    scaler_x: object = None
    scaler_y: object = None
    classes: list | None = None
    extra: dict = field(default_factory=dict)

    @property
    def task(self) -> str:
        return "classification" if self.classes is not None else "regression"

    def transform(self, x: np.ndarray) -> np.ndarray:
        return x if self.scaler_x is None else self.scaler_x.transform(x)

    def predict(self, model, x_raw: np.ndarray) -> np.ndarray:
        """Predictions in original units (regression, shape (n,) or (n, k)) or original
        class labels (classification, shape (n,)) for raw rows ``x_raw``."""
        output = model.predict(self.transform(np.asarray(x_raw, dtype=np.float64)))
        if self.classes is not None:
            return np.asarray(self.classes)[np.argmax(output, axis=1)]
        output = np.asarray(output, dtype=np.float64)
        if self.scaler_y is not None:
            output = self.scaler_y.inverse_transform(output)
        return output[:, 0] if output.shape[1] == 1 else output

    def to_json(self) -> dict:
        def scaler(s):
            return None if s is None else {"mean": s.mean_.tolist(), "scale": s.scale_.tolist()}

        return {
            "feature_names": list(self.feature_names),
            "target_name": self.target_name,
            "scaler_x": scaler(self.scaler_x),
            "scaler_y": scaler(self.scaler_y),
            "classes": self.classes,
            "extra": self.extra,
        }

    @classmethod
    def from_json(cls, data: dict) -> Preprocessing:
        from sklearn.preprocessing import StandardScaler

        def scaler(d):
            if d is None:
                return None
            s = StandardScaler()
            s.mean_ = np.asarray(d["mean"], dtype=np.float64)
            s.scale_ = np.asarray(d["scale"], dtype=np.float64)
            s.var_ = s.scale_**2
            s.n_features_in_ = len(s.mean_)
            s.n_samples_seen_ = 1
            return s

        return cls(
            list(data["feature_names"]),
            data.get("target_name", "target"),
            scaler(data.get("scaler_x")),
            scaler(data.get("scaler_y")),
            data.get("classes"),
            data.get("extra", {}),
        )


def describe(model) -> dict:
    """The JSON description of a model's architecture and loss."""
    described = []
    for i, layer in enumerate(model.layers):
        name = type(layer).__name__
        if LAYER_TYPES.get(name) is not type(layer):
            raise TypeError(
                f"cannot save layer {i} ({name}): only barenet's own layers can be rebuilt "
                "from a file; save its state_dict() with your own code instead"
            )
        described.append({"type": name, "config": layer.config()})
    loss_name = type(model.loss_fun).__name__
    if LOSS_TYPES.get(loss_name) is not type(model.loss_fun):
        raise TypeError(f"cannot save loss {loss_name}: not one of barenet's losses")
    return {
        "layers": described,
        "loss": {"type": loss_name, "config": model.loss_fun.config()},
        "dtype": str(model.dtype),
        "lr": model.lr,
    }


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
    arrays (used by checkpoints). Returns the path written.
    """
    from barenet import __version__

    if preprocessing is None:
        preprocessing = getattr(model, "preprocessing", None)
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "barenet_version": __version__,
        **describe(model),
        "preprocessing": None if preprocessing is None else preprocessing.to_json(),
        "history": model.history,
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
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file")
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


def load(path):
    """Rebuild the ``MLP`` saved in ``path``, with ``.preprocessing`` and ``.history``.

    Raises
    ------
    ModelFileError
        For a missing, truncated, corrupt or foreign file, or an incompatible version.
    """
    meta, arrays = read(path)
    return build(meta, arrays, path)


def build(meta: dict, arrays: dict[str, np.ndarray], path="model"):
    """Rebuild a model from a file's description and arrays (see ``read``)."""
    from barenet.model import MLP

    try:
        dtype = np.dtype(meta["dtype"])
        built = []
        for spec in meta["layers"]:
            cls = LAYER_TYPES[spec["type"]]
            config = dict(spec["config"])
            if "dtype" in cls.__init__.__code__.co_varnames:
                config["dtype"] = dtype
            built.append(cls(**config))
        loss = LOSS_TYPES[meta["loss"]["type"]](**meta["loss"]["config"])
        model = MLP(built, loss, meta.get("lr", 0.01))
        state = {k[len("param/") :]: v for k, v in arrays.items() if k.startswith("param/")}
        model.load_state_dict(state)
        model.history = {
            "train_loss": list(meta["history"]["train_loss"]),
            "val_loss": list(meta["history"]["val_loss"]),
        }
        model.epoch = int(meta.get("epoch", 0))
        prep = meta.get("preprocessing")
        model.preprocessing = None if prep is None else Preprocessing.from_json(prep)
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
        raise ModelFileError(
            f"{path}: the model description does not rebuild a model "
            f"({type(error).__name__}: {error})"
        ) from None
    return model

"""What turns raw rows into the network's inputs, and its outputs back into answers.

``Preprocessing`` is stored in model files (as JSON arrays, never a pickle) and is
the one place that turns model outputs into answers: values in the target's original
units, or the original class labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def _scaler_to_json(scaler) -> dict | None:
    return (
        None
        if scaler is None
        else {"mean": scaler.mean_.tolist(), "scale": scaler.scale_.tolist()}
    )


def _scaler_from_json(data: dict | None):
    return None if data is None else standard_scaler(data["mean"], data["scale"])


def standard_scaler(mean, scale):
    """A fitted scikit-learn ``StandardScaler`` of ``mean`` and ``scale`` (k,): what
    ``x -> (x - mean) / scale`` and back needs, without the rows it was learned from."""
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler()
    scaler.mean_ = np.asarray(mean, dtype=np.float64).reshape(-1)
    scaler.scale_ = np.asarray(scale, dtype=np.float64).reshape(-1)
    with np.errstate(over="ignore"):  # var_ (unused by transform) may overflow: inf
        scaler.var_ = scaler.scale_**2
    scaler.n_features_in_ = len(scaler.mean_)
    scaler.n_samples_seen_ = 1
    return scaler


@dataclass
class Preprocessing:
    """Feature scaling, and the way back from outputs to answers.

    ``scaler_x``/``scaler_y`` are fitted scikit-learn ``StandardScaler`` objects
    (``scaler_y`` is None for classification); ``classes`` lists the original class
    labels of a classifier, in output order.
    """

    feature_names: list[str]
    target_name: str = "target"
    scaler_x: object = None
    scaler_y: object = None
    classes: list | None = None
    extra: dict = field(default_factory=dict)
    columns: list | None = None  # barenet.tables.columns column specs: raw table -> features
    # how the training file was read (--sep, --decimal, --encoding, --thousands as given),
    # for predict and evaluate to read new rows the same way; None in older model files
    reading: dict | None = None

    def __post_init__(self) -> None:
        if self.classes is not None:  # JSON gives lists; keep labels hashable and plain
            self.classes = [c.item() if hasattr(c, "item") else c for c in self.classes]

    @property
    def task(self) -> str:
        return "classification" if self.classes is not None else "regression"

    def transform(self, x_raw, tally: dict | None = None) -> np.ndarray:
        """Raw rows -> the network's inputs. ``x_raw`` is a pandas DataFrame (columns
        found by name, in any order, others ignored) or an array whose columns are
        ``feature_names`` in order. ``tally`` (a dict) receives the blank cells and
        unseen categories per column of a table model (``tables.encode``)."""
        from barenet.tables.columns import encode, numeric_matrix

        if _is_frame(x_raw) or self.columns is not None:
            frame = x_raw if _is_frame(x_raw) else _frame(x_raw, self.feature_names)
            if self.columns is not None:
                x = encode(frame, self.columns, tally)
            else:
                x = numeric_matrix(frame, self.feature_names)
        else:
            x = np.asarray(x_raw, dtype=np.float64)
        return x if self.scaler_x is None else self.scaler_x.transform(x)

    def outputs(self, model, x_raw, tally: dict | None = None) -> np.ndarray:
        """The model's outputs (n, out_dim) for raw rows, checked: a feature beyond the
        model dtype's range, or a non-finite output, is a ``DataError`` naming the rows
        (``barenet.tables.standardize``). ``tally`` as in ``transform``."""
        from barenet.tables.standardize import check_inputs, check_outputs, row_numbers

        x = self.transform(x_raw, tally)
        rows = row_numbers(x_raw, len(x))
        check_inputs(x, self._input_names(x.shape[1]), model.dtype, rows)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # checked below
            outputs = np.asarray(model.predict(x), dtype=np.float64)
        return check_outputs(outputs, rows, "outputs")

    def _input_names(self, width: int) -> list[str]:
        from barenet.tables.columns import encoded_names

        names = encoded_names(self.columns) if self.columns is not None else self.feature_names
        return list(names) if len(names) == width else [f"x{i}" for i in range(width)]

    def probabilities(self, model, x_raw) -> np.ndarray:
        """Class probabilities (n, n_classes) for raw rows, columns in ``classes`` order."""
        logits = self.outputs(model, x_raw)
        logits = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def labels(self, values) -> np.ndarray:
        """Raw target values (from a table) as labels comparable with ``classes``."""
        from barenet.tables.columns import labels_of

        values = labels_of(values)
        if self.classes and isinstance(self.classes[0], str):
            return values.astype(str).astype(object)
        return values

    def answers(self, output: np.ndarray) -> np.ndarray:
        """Model outputs -> answers: class labels (n,) for a classifier; values in the
        target's original units, (n,) for one target or (n, k), for a regressor."""
        output = np.asarray(output, dtype=np.float64)
        if self.classes is not None:
            return np.asarray(self.classes)[np.argmax(output, axis=1)]
        if self.scaler_y is not None:
            output = self.scaler_y.inverse_transform(output.reshape(len(output), -1))
        return output[:, 0] if output.ndim == 2 and output.shape[1] == 1 else output

    def targets(self, y: np.ndarray) -> np.ndarray:
        """Training targets (scaled values, or class indices) -> answers, as ``answers``."""
        y = np.asarray(y)
        if self.classes is not None:
            return np.asarray(self.classes)[y.reshape(-1).astype(np.intp)]
        y = y.astype(np.float64).reshape(len(y), -1)
        if self.scaler_y is not None:
            y = self.scaler_y.inverse_transform(y)
        return y[:, 0] if y.shape[1] == 1 else y

    def predict(self, model, x_raw, tally: dict | None = None) -> np.ndarray:
        """Answers for raw rows ``x_raw`` (``tally`` as in ``transform``); a non-finite
        one is a ``DataError``."""
        from barenet.tables.standardize import check_outputs, row_numbers

        answers = self.answers(self.outputs(model, x_raw, tally))
        return check_outputs(answers, row_numbers(x_raw, len(answers)))

    def to_json(self) -> dict:
        return {
            "feature_names": list(self.feature_names),
            "target_name": self.target_name,
            "scaler_x": _scaler_to_json(self.scaler_x),
            "scaler_y": _scaler_to_json(self.scaler_y),
            "classes": self.classes,
            "extra": self.extra,
            "columns": self.columns,
            "reading": self.reading,
        }

    @classmethod
    def from_json(cls, data: dict) -> Preprocessing:
        return cls(
            list(data["feature_names"]),
            data.get("target_name", "target"),
            _scaler_from_json(data.get("scaler_x")),
            _scaler_from_json(data.get("scaler_y")),
            data.get("classes"),
            data.get("extra", {}),
            data.get("columns"),
            data.get("reading"),
        )


def _is_frame(x) -> bool:
    return type(x).__name__ == "DataFrame" and hasattr(x, "columns")


def _frame(x, names):
    import pandas as pd

    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != len(names):
        from barenet.errors import DataError

        raise DataError(
            f"expected rows of {len(names)} values ({', '.join(names)}), got shape {x.shape}; "
            "or pass a pandas DataFrame with those columns"
        )
    return pd.DataFrame(x, columns=list(names))

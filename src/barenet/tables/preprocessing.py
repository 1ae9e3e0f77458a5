"""What turns raw rows into the network's inputs, and its outputs back into answers.

``Preprocessing`` is stored in model files (as JSON arrays, never a pickle) and is
the one place that turns model outputs into answers: values in the target's original
units, or the original class labels.

A table model also keeps each numeric column's training range (``ranges``, from
``fit_ranges``): a new value outside it is clipped to it before scaling, as a tree
would treat it, so that a far value (1e300, or 1e8 in a column of a few units) is an
edge row and not an activation the float32 network cannot hold; ``predict`` says how
many it clipped (``range_notice``), and the ONNX graph clips alike. Model files
without ranges predict as before.
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
    # {"features": [i, ...], "low": [...], "high": [...]}: the encoded features of the
    # numeric columns and their training range (``fit_ranges``); None in older model files
    ranges: dict | None = None

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
                x = self.clip(encode(frame, self.columns, tally), tally)
            else:
                x = numeric_matrix(frame, self.feature_names)
        else:
            x = np.asarray(x_raw, dtype=np.float64)
        return x if self.scaler_x is None else self.scaler_x.transform(x)

    def clip(self, x: np.ndarray, tally: dict | None = None) -> np.ndarray:
        """Encoded features ``x`` (n, k) of a table model (``columns``) with each numeric
        column's feature clipped to its training range (a copy; ``x`` itself when there
        are no ``ranges``). ``tally``
        receives, per column name, the number of values clipped, under
        ``"outside_range"`` (see ``range_notice``)."""
        if not self.ranges or not self.ranges["features"] or self.columns is None:
            return x
        index = np.asarray(self.ranges["features"], dtype=np.intp)
        low, high = np.asarray(self.ranges["low"]), np.asarray(self.ranges["high"])
        part = x[:, index]
        if tally is not None:
            from barenet.tables.columns import encoded_names

            names = encoded_names(self.columns)
            counts = ((part < low) | (part > high)).sum(axis=0)
            for i, count in zip(index, counts, strict=True):
                counted = tally.setdefault(names[i], {"imputed": 0, "unseen": 0})
                counted["outside_range"] = counted.get("outside_range", 0) + int(count)
        x = np.array(x, dtype=np.float64)
        x[:, index] = np.clip(part, low, high)
        return x

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
            "ranges": self.ranges,
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
            data.get("ranges"),
        )


def fit_ranges(x: np.ndarray, columns: list[dict]) -> dict | None:
    """The training range of each numeric column's feature in the encoded training
    rows ``x`` (n, k) of ``columns`` (``tables.encode``, blanks already imputed), for
    ``Preprocessing.ranges``; None when no column is numeric. True/false, text and date
    columns are not clipped here (dates clip their own year and days)."""
    features = [offset for offset, _ in numeric_features(columns)]
    if not features or not len(x):
        return None
    part = np.asarray(x, dtype=np.float64)[:, features]
    return {
        "features": features,
        "low": part.min(axis=0).tolist(),
        "high": part.max(axis=0).tolist(),
    }


def ranges_from_bounds(columns: list[dict], bounds: dict) -> dict | None:
    """``fit_ranges`` from each numeric column's smallest and largest training value,
    ``bounds[name] = (low, high)`` (a folder's one pass), as ``fit_ranges`` finds them
    on the encoded rows: blanks become the column's median, inside those bounds."""
    found = numeric_features(columns)
    if not found:
        return None
    low, high = [], []
    for _, spec in found:
        seen_low, seen_high = bounds[spec["name"]]
        median = float(spec["median"])
        low.append(float(min(seen_low, median)))
        high.append(float(max(seen_high, median)))
    return {"features": [offset for offset, _ in found], "low": low, "high": high}


def numeric_features(columns: list[dict]) -> list[tuple[int, dict]]:
    """``(feature index, spec)`` of each numeric column's value among the encoded
    features of ``columns``."""
    from barenet.tables.columns import encoded_names

    found, offset = [], 0
    for spec in columns:
        if spec["kind"] == "numeric":
            found.append((offset, spec))
        offset += len(encoded_names([spec]))
    return found


def range_problem(ranges, width: int) -> str | None:
    """What is wrong with ``ranges`` read from a model file of ``width`` encoded
    features, or None: lists of equal length, feature indices in range, finite bounds
    with low <= high."""
    if ranges is None:
        return None
    if not isinstance(ranges, dict) or not all(
        isinstance(ranges.get(key), list) for key in ("features", "low", "high")
    ):
        return "its ranges are not lists of features, lows and highs"
    features, low, high = ranges["features"], ranges["low"], ranges["high"]
    if not len(features) == len(low) == len(high):
        return "its ranges list different numbers of features, lows and highs"
    if not all(type(i) is int and 0 <= i < width for i in features):
        return f"its ranges name features outside the {width} features"
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in low + high):
        return "its ranges hold values that are not numbers"
    low, high = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
    if not (np.isfinite(low).all() and np.isfinite(high).all() and (low <= high).all()):
        return "its ranges are not finite, or a low is above its high"
    return None


def range_notice(tally: dict) -> str | None:
    """One line from the tally of ``Preprocessing.clip``: how many values, per numeric
    column, were outside the training range and clipped to it; None when none was."""
    clipped = {name: c["outside_range"] for name, c in tally.items() if c.get("outside_range")}
    if not clipped:
        return None
    total = sum(clipped.values())
    each = ", ".join(f"{name}: {n}" for name, n in clipped.items())
    values = "values were" if total != 1 else "value was"
    return f"{total} {values} outside the training range, clipped to it ({each})"


def predict_notice(tally: dict) -> str | None:
    """One line from the tally of ``Preprocessing.transform`` (``tables.encode`` and
    ``Preprocessing.clip``): blank cells imputed, unseen categories, dates and values
    clipped to the training range (``tally_notice``, ``range_notice``); None when
    nothing was."""
    from barenet.tables.columns import tally_notice

    return "; ".join(filter(None, [tally_notice(tally), range_notice(tally)])) or None


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

"""Checks of a model file before anything is built from it.

A file's record says how big each layer is; building a layer allocates what it says.
So the record is checked first, against itself and against the stored arrays, and
only then built (``barenet.io.persistence.rebuild``):

- ``barenet.io.archive``: every member is one barenet names, of the size its header
  says, read only once its shape is what the record needs (a small file cannot make
  NumPy allocate or decompress gigabytes);
- ``check_record``: the layers are a list of at most ``MAX_LAYERS``; every size in a
  layer's configuration is at most ``MAX_WIDTH``; the product of a layer's sizes (its
  parameter count for most of barenet's layers, an overestimate for the others; a
  layer class may count for itself with ``allocated_size(config)``)
  summed over the layers is at most ``MAX_PARAMETERS`` and at most what the stored
  arrays can back (``CLAIM_FACTOR`` times their size plus ``FREE_PARAMETERS``); the
  dtype is float32 or float64; the stored parameters have that dtype and finite
  values;
- ``check_rebuilt``: the preprocessing fits the built model (scaler widths, encoded
  features, one class per output), with finite scales.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from barenet.errors import ModelFileError

MAX_LAYERS = 1_000
MAX_WIDTH = 1_000_000  # any one size: features, units, bins, ensemble members
MAX_PARAMETERS = 100_000_000  # counted as the product of each layer's sizes
# The product of a layer's sizes overestimates its weights (an ensemble layer's member
# count, say) by less than this factor; a record claiming more than the stored arrays
# can back is refused, so a small file cannot make ``build`` allocate much.
CLAIM_FACTOR = 64
FREE_PARAMETERS = 1_000_000


def _sizes(config):
    """Every integer in a layer's configuration (nested lists included; not bools)."""
    if isinstance(config, dict):
        for value in config.values():
            yield from _sizes(value)
    elif isinstance(config, list):
        for value in config:
            yield from _sizes(value)
    elif isinstance(config, numbers.Integral) and not isinstance(config, bool):
        yield int(config)


def _claimed_size(spec: dict, sizes: list[int]) -> int:
    """The numbers a layer of this record entry allocates: its class's own count
    (``allocated_size(config)``, for a layer whose sizes do not multiply, such as
    ``Retrieval``'s rows and candidates) or else the product of its sizes."""
    from barenet.registry import LAYERS

    try:
        count = LAYERS.lookup(spec.get("type")).allocated_size
    except Exception:  # unknown type (refused later, naming it) or no count of its own
        return math.prod(s for s in sizes if s > 0)
    try:
        return int(count(spec["config"]))
    except Exception as error:
        raise ModelFileError(
            f"layer type {spec.get('type')!r}: its configuration does not give its size "
            f"({type(error).__name__}: {error})"
        ) from None


def check_record(record, arrays: dict[str, np.ndarray], path) -> None:
    """A ``ModelFileError`` for a record that cannot describe a model of sane size, or
    stored parameters of the wrong dtype or with non-finite values."""
    stored = sum(v.size for k, v in arrays.items() if k.startswith("param/"))
    check_record_sizes(record, stored, path)
    check_parameters(record, arrays, path)


def check_record_sizes(record, stored: int, path) -> None:
    """A ``ModelFileError`` for a record whose layers are too many or too big, or claim
    more numbers than ``stored`` (the count of the file's ``param/`` arrays) can back."""
    if not isinstance(record, dict) or not isinstance(record.get("layers"), list):
        raise ModelFileError(f"{path}: the model record has no list of layers")
    layers = record["layers"]
    if not 1 <= len(layers) <= MAX_LAYERS:
        raise ModelFileError(
            f"{path}: the record lists {len(layers)} layers (1 to {MAX_LAYERS} are possible)"
        )
    budget = min(MAX_PARAMETERS, CLAIM_FACTOR * stored + FREE_PARAMETERS)
    total = 0
    for i, spec in enumerate(layers):
        if not isinstance(spec, dict) or not isinstance(spec.get("config"), dict):
            raise ModelFileError(f"{path}: layer {i} of the record has no configuration")
        sizes = list(_sizes(spec["config"]))
        too_big = [s for s in sizes if abs(s) > MAX_WIDTH]
        if too_big:
            raise ModelFileError(
                f"{path}: layer {i} ({spec.get('type')}) claims a size of {too_big[0]}; "
                f"barenet allows at most {MAX_WIDTH:,} (features, units or bins) per layer"
            )
        total += _claimed_size(spec, sizes)
        if total > budget:
            raise ModelFileError(
                f"{path}: by layer {i} ({spec.get('type')}) the record claims layers of "
                f"{total:,} weights (the product of their sizes), more than the {stored:,} "
                f"stored weights can back (at most {CLAIM_FACTOR} times as many plus "
                f"{FREE_PARAMETERS:,}, and never over {MAX_PARAMETERS:,})"
            )


def check_parameters(record, arrays: dict[str, np.ndarray], path) -> None:
    """A ``ModelFileError`` for a record's dtype other than float32 or float64, or a
    stored parameter of another dtype or with NaN or infinite values."""
    dtype = record.get("dtype")
    if dtype not in ("float32", "float64"):
        raise ModelFileError(f"{path}: the record's dtype is {dtype!r}, not float32 or float64")
    for key, value in arrays.items():
        if not key.startswith("param/"):
            continue
        if value.dtype != np.dtype(dtype):
            raise ModelFileError(
                f"{path}: parameter {key[6:]!r} is {value.dtype}; the record says {dtype}"
            )
        if not np.isfinite(value).all():
            raise ModelFileError(
                f"{path}: parameter {key[6:]!r} holds NaN or infinite values: the model "
                "cannot predict (the file was damaged, or saved from a diverged model)"
            )


def check_rebuilt(model, prep, path) -> None:
    """A ``ModelFileError`` if the preprocessing does not fit the built model."""
    if prep is None:
        return
    from barenet.tables.columns import encoded_names
    from barenet.tables.preprocessing import range_problem

    def fail(what):
        raise ModelFileError(f"{path}: the preprocessing does not fit the model: {what}")

    if prep.columns is not None:
        width = len(encoded_names(prep.columns))
        for spec in prep.columns:
            if spec.get("kind") != "category" and not math.isfinite(float(spec["median"])):
                fail(f"column {spec['name']!r} has a non-finite median")
    else:
        width = len(prep.feature_names)
    if width != model.in_dim:
        fail(f"its columns make {width} features; the network takes {model.in_dim}")
    if problem := range_problem(prep.ranges, width):
        fail(problem)
    for name, scaler, size in (
        ("feature", prep.scaler_x, model.in_dim),
        ("target", prep.scaler_y, model.out_dim),
    ):
        if scaler is None:
            continue
        if scaler.mean_.shape != (size,) or scaler.scale_.shape != (size,):
            fail(
                f"the {name} scaler has {scaler.mean_.size} means and {scaler.scale_.size} "
                f"scales; the network has {size}"
            )
        if not (np.isfinite(scaler.mean_).all() and np.isfinite(scaler.scale_).all()):
            fail(f"the {name} scaler has non-finite values")
        if not (scaler.scale_ > 0).all():
            fail(f"the {name} scaler has a scale <= 0")
    if prep.classes is not None:
        if len(prep.classes) != model.out_dim:
            fail(f"{len(prep.classes)} classes for {model.out_dim} outputs")
        if len({str(c) for c in prep.classes}) != len(prep.classes):
            fail(f"the classes {prep.classes} repeat a label")
        if len(prep.classes) < 2:
            fail("a classifier needs at least 2 classes")


def check_finite_weights(model, what: str = "the model") -> None:
    """A ``BarenetValueError`` naming the first parameter or buffer holding NaN or
    infinity, with its layer."""
    from barenet.errors import BarenetValueError

    for key, value in model.state_dict().items():
        bad = np.size(value) - np.count_nonzero(np.isfinite(value))
        if bad:
            index = int(key.split(".", 1)[0])
            layer = type(model.layers[index]).__name__
            raise BarenetValueError(
                f"{what}: parameter {key!r} holds NaN or infinite values ({bad} of "
                f"{np.size(value)}, in layer {index}, {layer}); it cannot be exported or "
                "used to predict: the model diverged, train it again (a lower --lr, or "
                "--clip-norm)"
            )

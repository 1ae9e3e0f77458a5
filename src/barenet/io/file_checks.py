"""Checks of a model file before anything is built from it.

A file's record says how big each layer is; building a layer allocates what it says.
So the record is checked first, against itself and against the stored arrays, and
only then built (``barenet.io.persistence.rebuild``):

- ``barenet.io.archive``: every member is one barenet names, of the size its header
  says, read only once its shape is what the record needs (a small file cannot make
  NumPy allocate or decompress gigabytes);
- ``expected_arrays``: the layers are a list of at most ``MAX_LAYERS``, each of a
  registered type; every size in a layer's configuration is at most ``MAX_WIDTH``; each
  layer class computes, from the configuration alone, the exact shape of every
  parameter and buffer it would allocate (``stored_shapes(config)``), and these are
  what the file must store, no more and no fewer, of those shapes (``check_stored``:
  so a layer is only built as large as the arrays the file holds, which
  ``barenet.io.archive`` has bounded by the file's size), at most ``MAX_PARAMETERS``
  in all; what a layer computes from its configuration besides (the bins' tables of a
  piecewise encoding: ``derived_size(config)``) is at most ``MAX_DERIVED`` numbers in
  all; a layer storing nothing (``Ensemble``) is at most ``MAX_WIDTH`` wide (the
  product of its sizes); the dtype is float32 or float64; the stored parameters have
  that dtype and finite values;
- ``check_rebuilt``: the preprocessing fits the built model (scaler widths, encoded
  features, one class per output), with finite scales, and a free-text column's words
  are words ``barenet.tables.free_text.fit_words`` can make.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from barenet.errors import ModelFileError

MAX_LAYERS = 1_000
MAX_WIDTH = 1_000_000  # any one size: features, units, bins, ensemble members
MAX_PARAMETERS = 100_000_000  # numbers in the parameters and buffers, all layers
# numbers computed from the configurations (not stored): 1,000,000 bins' four tables,
# 20,000 features of 50 bins (12 bytes a number while built: about 48 MB)
MAX_DERIVED = 4_000_000
STORED = ("param/", "best/", "optim/")  # the member prefixes holding a layer's arrays


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


def check_record(record, arrays: dict[str, np.ndarray], path) -> None:
    """A ``ModelFileError`` for a record that cannot describe a model of sane size, arrays
    (``param/<key>`` and the like) not exactly those it needs, or stored parameters of
    the wrong dtype or with non-finite values."""
    check_stored(arrays, expected_arrays(record, path), path)
    check_parameters(record, arrays, path)


def expected_arrays(record, path) -> dict[str, tuple]:
    """Parameter key (``"0.w"``) -> (shape, dtype, its layer) of every parameter and
    buffer the record's layers would hold, computed without building any; a
    ``ModelFileError`` for a record whose layers are too many, of an unknown type or too
    big."""
    if not isinstance(record, dict) or not isinstance(record.get("layers"), list):
        raise ModelFileError(f"{path}: the model record has no list of layers")
    layers = record["layers"]
    if not 1 <= len(layers) <= MAX_LAYERS:
        raise ModelFileError(
            f"{path}: the record lists {len(layers)} layers (1 to {MAX_LAYERS} are possible)"
        )
    expected, derived = {}, 0
    for i, spec in enumerate(layers):
        where = f"{path}: layer {i} ({_type(spec)})"
        shapes, extra = _layer_arrays(spec, where)
        dtype = spec["config"].get("dtype", "float32")  # as the layers' constructors
        if dtype not in ("float32", "float64"):
            raise ModelFileError(f"{where}: dtype {dtype!r}, not float32 or float64")
        layer = f"layer {i}, {_type(spec)}"
        need = {f"{i}.{name}": (shape, np.dtype(dtype), layer) for name, shape in shapes.items()}
        expected.update(need)
        derived += extra
        if derived > MAX_DERIVED:
            raise ModelFileError(
                f"{where}: by this layer the record's layers compute tables of {derived:,} "
                "numbers from their configurations (the bins of piecewise encodings, padded "
                f"to the most of any feature); barenet reads at most {MAX_DERIVED:,}"
            )
    total = sum(math.prod(need[0]) for need in expected.values())
    if total > MAX_PARAMETERS:
        raise ModelFileError(
            f"{path}: the record's layers hold {total:,} weights; barenet reads at most "
            f"{MAX_PARAMETERS:,}"
        )
    return expected


def _type(spec) -> str:
    return str(spec.get("type")) if isinstance(spec, dict) else "?"


def _layer_arrays(spec, where: str) -> tuple[dict[str, tuple], int]:
    """``(stored shapes, derived numbers)`` of one record entry, checked."""
    from barenet.registry import LAYERS

    if not isinstance(spec, dict) or not isinstance(spec.get("config"), dict):
        raise ModelFileError(f"{where} has no configuration")
    sizes = list(_sizes(spec["config"]))
    too_big = [s for s in sizes if abs(s) > MAX_WIDTH]
    if too_big:
        raise ModelFileError(
            f"{where} claims a size of {too_big[0]}; barenet allows at most "
            f"{MAX_WIDTH:,} (features, units or bins) per layer"
        )
    cls = LAYERS.lookup(spec.get("type"))  # a ValueError naming the known types
    shapes, derived = cls.stored_shapes(spec["config"]), cls.derived_size(spec["config"])
    if shapes is None:
        raise ModelFileError(
            f"{where}: {cls.__name__} cannot say the shapes of its parameters before it is "
            "built (give it a stored_shapes(config) classmethod), so its file is not read"
        )
    for name, shape in shapes.items():
        bad = [n for n in shape if not (_is_size(n) and n >= 0)]
        if bad:
            raise ModelFileError(_not_a_size(spec["config"], bad[0], where, name, shape))
    width = math.prod(s for s in sizes if s > 0)
    if not shapes and not derived and width > MAX_WIDTH:
        raise ModelFileError(
            f"{where} is {width:,} wide (the product of its sizes); barenet allows at most "
            f"{MAX_WIDTH:,}"
        )
    return {name: tuple(int(n) for n in shape) for name, shape in shapes.items()}, int(derived)


def _is_size(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _not_a_size(config: dict, value, where: str, name: str, shape) -> str:
    """What is wrong with a layer whose configuration makes ``value`` (not a whole number
    >= 0) one of the sizes of ``name``: the configuration entry holding it, if one does."""
    keys = [k for k, v in config.items() if type(v) is type(value) and v == value]
    what = f"the record's {keys[0]}" if keys else f"its configuration's size of {name}"
    return (
        f"{where}: {what} is {value!r}, not a whole number >= 0 (it makes {name} the shape "
        f"{shape}): the file was altered or damaged; use another one, or train again"
    )


def check_stored(stored: dict, expected: dict[str, tuple], path) -> None:
    """A ``ModelFileError`` naming the first stored array (``param/0.w``: an object with
    ``shape`` and ``dtype``, an array or an archive member) whose shape or dtype is not
    what the record needs (``expected``: key -> (shape, dtype[, its layer]), from
    ``expected_arrays``), or that the record has no use for; ``param/`` must hold every
    parameter and buffer."""
    for key, array in stored.items():
        if not key.startswith(STORED):
            continue
        name = key.split("/")[1]
        need = expected.get(name)
        if need is None:
            raise ModelFileError(
                f"{path}: an unknown member '{key}.npy': the model record has no parameter "
                f"{name!r}"
            )
        if tuple(array.shape) != tuple(need[0]) or array.dtype != need[1]:
            layer = f" ({need[2]})" if len(need) > 2 else ""
            raise ModelFileError(
                f"{path}: member '{key}.npy' holds {array.dtype} of shape "
                f"{tuple(array.shape)}; the record says {np.dtype(need[1])} of shape "
                f"{tuple(need[0])}{layer}"
            )
    missing = [k for k in expected if f"param/{k}" not in stored]
    if missing:
        raise ModelFileError(f"{path}: parameter {missing[0]!r} is missing from the file")


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
        if not _finite(value):
            raise ModelFileError(
                f"{path}: parameter {key[6:]!r} holds NaN or infinite values: the model "
                "cannot predict (the file was damaged, or saved from a diverged model)"
            )


def _finite(value: np.ndarray) -> bool:
    """Whether every number is finite: their float64 sum is (NaN or infinity makes it
    NaN or infinite), else, since finite float64 numbers may add up to infinity,
    each number is."""
    with np.errstate(over="ignore", invalid="ignore"):
        total = value.sum(dtype=np.float64)
    return bool(np.isfinite(total) or np.isfinite(value).all())


def check_rebuilt(model, prep, path) -> None:
    """A ``ModelFileError`` if the preprocessing does not fit the built model."""
    if prep is None:
        return
    from barenet.tables.columns import encoded_names
    from barenet.tables.free_text import text_spec_problem
    from barenet.tables.preprocessing import range_problem

    def fail(what):
        raise ModelFileError(f"{path}: the preprocessing does not fit the model: {what}")

    if prep.columns is not None:
        for spec in prep.columns:
            if spec.get("kind") == "text" and (problem := text_spec_problem(spec)):
                fail(f"column {spec.get('name')!r}: {problem}")
            if spec.get("kind") not in ("category", "text") and not math.isfinite(
                float(spec["median"])
            ):
                fail(f"column {spec['name']!r} has a non-finite median")
        width = len(encoded_names(prep.columns))
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


def whole_number(value, path, field: str) -> int:
    """``value``, a count a file stores (an epoch, a position), if it is a whole number
    >= 0; else a ``ModelFileError`` naming the file and the field."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ModelFileError(
            f"{path}: its {field} must be a whole number >= 0, got {value!r} (the file was "
            "altered or damaged: use another one, or train again)"
        )
    return int(value)


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

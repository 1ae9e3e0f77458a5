"""Small input checks shared by the public entry points.

They turn a user's mistake into a ``TypeError`` or ``ValueError`` that names the
argument, instead of a traceback from deep inside NumPy.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from barenet.errors import BarenetTypeError, BarenetValueError


def as_rng(seed, where: str) -> np.random.Generator:
    """Turn ``None``, an int or a ``numpy.random.Generator`` into a Generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool)):
        return np.random.default_rng(seed)
    raise BarenetTypeError(
        f"{where}: seed must be None, an int or a numpy.random.Generator, "
        f"not {type(seed).__name__}"
    )


def check_positive_int(value, name: str, *, minimum: int = 1) -> int:
    """Return ``value`` as an int, or raise if it is not an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise BarenetTypeError(f"{name} must be an integer, not {type(value).__name__}")
    if value < minimum:
        raise BarenetValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_number(value, name: str, *, minimum=None, maximum=None, open_max=False) -> float:
    """``value`` as a finite float in [minimum, maximum] (or [minimum, maximum)), or a
    ``TypeError``/``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise BarenetTypeError(f"{name} must be a number, not {type(value).__name__}")
    value = float(value)
    too_big = maximum is not None and (value >= maximum if open_max else value > maximum)
    if not math.isfinite(value) or (minimum is not None and value < minimum) or too_big:
        low = "-inf" if minimum is None else minimum
        high = "inf" if maximum is None else maximum
        raise BarenetValueError(
            f"{name} must be in [{low}, {high}{')' if open_max else ']'}, got {value}"
        )
    return value


def check_learning_rate(lr, name: str = "lr") -> float:
    """Return ``lr`` as a float, or raise if it is not finite and positive."""
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real):
        raise BarenetTypeError(f"{name} must be a number, not {type(lr).__name__}")
    lr = float(lr)
    if not math.isfinite(lr) or lr <= 0:
        raise BarenetValueError(f"{name} must be a finite number > 0, got {lr}")
    return lr


def check_dtype(dtype) -> np.dtype:
    """Return ``dtype`` as float32 or float64, or raise ``ValueError``."""
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise BarenetTypeError(f"dtype must be float32 or float64, not {dtype!r}") from None
    if dtype not in (np.float32, np.float64):
        raise BarenetValueError(f"dtype must be float32 or float64, not {dtype}")
    return dtype


def as_float_array(data, name: str, dtype, *, ndim: tuple[int, ...] = (2,)) -> np.ndarray:
    """Convert ``data`` to a finite float array of ``dtype``; raise a clear error if it is not.

    Parameters
    ----------
    data : array-like
    name : str
        The argument's name, used in messages (``"x_train"``).
    dtype : numpy dtype
    ndim : tuple of int
        The accepted numbers of dimensions.
    """
    if data is None:
        raise BarenetTypeError(f"{name} is None; expected an array")
    array = np.asarray(data)
    if array.dtype == object or not (
        np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_
    ):
        raise BarenetTypeError(
            f"{name} must hold numbers, but its dtype is {array.dtype}; "
            "convert it to a numeric array first"
        )
    if np.iscomplexobj(array):
        raise BarenetTypeError(f"{name} holds complex numbers; barenet needs real numbers")
    if array.ndim not in ndim:
        want = " or ".join(f"{n}-D" for n in ndim)
        raise BarenetValueError(f"{name} must be {want}, got shape {array.shape}")
    if array.shape[0] == 0:
        raise BarenetValueError(f"{name} is empty (shape {array.shape})")
    array = np.ascontiguousarray(array, dtype=dtype)
    if not np.isfinite(array).all():
        bad = np.argwhere(~np.isfinite(array))[0]
        raise BarenetValueError(
            f"{name} contains NaN or infinity (first at index {tuple(int(i) for i in bad)})"
        )
    return array


def check_features(x, name: str, dtype, in_dim: int | None) -> np.ndarray:
    """``x`` as a finite 2-D array of ``dtype`` with ``in_dim`` columns, or a clear error."""
    x = as_float_array(x, name, dtype)
    if in_dim is not None and x.shape[1] != in_dim:
        raise BarenetValueError(
            f"{name} has {x.shape[1]} features per row but the model expects {in_dim}"
        )
    return x


def check_targets(y, name: str, dtype, n_rows: int, out_dim: int | None) -> np.ndarray:
    """``y`` as a finite 1-D or 2-D array of ``dtype`` with ``n_rows`` rows and 1 or
    ``out_dim`` columns, or a clear error."""
    y = as_float_array(y, name, dtype, ndim=(1, 2))
    if len(y) != n_rows:
        raise BarenetValueError(f"{name} has {len(y)} rows but the inputs have {n_rows}")
    if y.ndim == 2 and out_dim is not None and y.shape[1] not in (1, out_dim):
        raise BarenetValueError(f"{name} has {y.shape[1]} columns but the model outputs {out_dim}")
    return y


def data_row(column, position: int) -> int:
    """The 1-based data row of a position in a pandas column, for error messages: by the
    frame's index when it counts rows from 0 (a table as read, or its training rows),
    else by position."""
    label = column.index[position]
    return int(label) + 1 if isinstance(label, (int, np.integer)) else position + 1


def close_names(word: str, names, limit: int = 3) -> list[str]:
    """Up to ``limit`` of ``names`` spelled most like ``word`` (``difflib``, ignoring case,
    ``_`` and ``-``), best first; empty when none is close."""
    import difflib

    def key(name) -> str:
        return str(name).lower().replace("_", "").replace("-", "").replace(" ", "")

    by_key: dict[str, list[str]] = {}
    for name in names:
        by_key.setdefault(key(name), []).append(str(name))
    found = difflib.get_close_matches(key(word), list(by_key), n=limit, cutoff=0.6)
    return [name for k in found for name in by_key[k]][:limit]


def did_you_mean(word: str, names, limit: int = 3) -> str:
    """``"did you mean 'Sale_Price'?"`` (or two or three names), or ``""``."""
    close = close_names(word, names, limit)
    if not close:
        return ""
    quoted = [repr(name) for name in close]
    shown = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
    return f"did you mean {shown}?"

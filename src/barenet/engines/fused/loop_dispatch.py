"""Whether the fused engine's steps call a compiled loop (``barenet.engines.fused.loops``)
or run the same operations in NumPy: ``loops_for(*arrays, shapes=...)``."""

from __future__ import annotations

import numpy as np

# below this many elements NumPy's passes cost less than one call into numba
MIN_SIZE = 2048

_LOOPS: list = []


def loops_for(*arrays: np.ndarray, shapes: tuple):
    """``barenet.engines.fused.loops`` if its loops may run on ``arrays`` (C-ordered, one
    float dtype, ``MIN_SIZE`` elements or more in the first, and each of the shape in
    ``shapes`` the loop indexes) and numba imports; else None, and the caller runs the
    same operations in NumPy (which raises NumPy's error on a wrong shape).

    The loops run without bounds checks: a wrong shape would read or write past an
    array, so each caller states the shapes, derived from the array the loop writes.
    """
    first = arrays[0]
    if first.size < MIN_SIZE or first.dtype not in (np.float32, np.float64):
        return None
    if tuple(a.shape for a in arrays) != tuple(shapes):
        return None
    if not all(a.dtype == first.dtype and a.flags.c_contiguous for a in arrays):
        return None
    if not _LOOPS:  # imported on first use: ``import barenet`` does not load numba
        try:
            import barenet.engines.fused.loops as loops
        except Exception:  # numba missing, or broken for this NumPy
            loops = None
        _LOOPS.append(loops)
    return _LOOPS[0]

"""``Diagnostics``' compiled loop: an array's spread and histogram in a few tight
passes, where NumPy's ``std`` and ``histogram`` take a dozen and a general ``bincount``.

Imported lazily, by ``barenet.diagnostics.recorder``, on the first record. The kernel takes a
flat, contiguous float32 or float64 array of finite values (numba compiles it once per
dtype and caches it on disk) and works in float64, as ``np.histogram`` does on the
values cast to float64.

The counts are NumPy's, bit for bit. ``np.histogram`` with equal bins estimates each
value's bin from its scaled offset, ``floor((x - low) / (high - low) * bins)``, then
moves it by one where ``x`` falls outside that bin's two edges (the edges are
``np.linspace``'s, rounded, and the estimate is rounded too); so each value ends in the
bin whose edges hold it, the last bin closed. Here the estimate is checked against the
edges only where it could be wrong: where the scaled offset lies within a rounding
margin of a whole number (the margin bounds both roundings with room to spare). The
lowest and highest values are exact edges and need no check. Elsewhere the estimate is
already the bin whose edges hold the value.
"""

from __future__ import annotations

import numpy as np

# numba's njit, through barenet.engines.compiled.formulas: it picks numba's cache folder on a
# read-only install before numba is imported
from barenet.engines.compiled.formulas import njit

EPS = float(np.finfo(np.float64).eps)


@njit(cache=True)
def sum_of_squares(values, mean):
    """``sum((values - mean) ** 2)`` in float64.

    values : ndarray, shape (n,), float32 or float64
    mean : float
    """
    n = len(values)
    # four running sums of squares, so that no addition waits on the one before
    s0 = s1 = s2 = s3 = 0.0
    whole = n - n % 4
    for j in range(0, whole, 4):
        d0 = np.float64(values[j]) - mean
        d1 = np.float64(values[j + 1]) - mean
        d2 = np.float64(values[j + 2]) - mean
        d3 = np.float64(values[j + 3]) - mean
        s0 += d0 * d0
        s1 += d1 * d1
        s2 += d2 * d2
        s3 += d3 * d3
    for j in range(whole, n):
        d0 = np.float64(values[j]) - mean
        s0 += d0 * d0
    return (s0 + s1) + (s2 + s3)


@njit(cache=True)
def moments(values):
    """(mean, sum of squared deviations from it), summed in float64, in two passes.

    values : ndarray, shape (n,), float32 or float64, n >= 1
    The sums of squares is nan when the mean is not finite (a nan or an infinity among
    the values, or a sum past float64's range).
    """
    n = len(values)
    # four running sums, so that no addition waits on the one before
    t0 = t1 = t2 = t3 = 0.0
    whole = n - n % 4
    for j in range(0, whole, 4):
        t0 += np.float64(values[j])
        t1 += np.float64(values[j + 1])
        t2 += np.float64(values[j + 2])
        t3 += np.float64(values[j + 3])
    for j in range(whole, n):
        t0 += np.float64(values[j])
    mean = ((t0 + t1) + (t2 + t3)) / n
    if not np.isfinite(mean):
        return mean, np.nan
    return mean, sum_of_squares(values, mean)


@njit(cache=True)
def spread_and_histogram(values, edges, counts):
    """The mean and sum of squared deviations (``moments``); fills ``counts`` with the
    values' histogram on ``edges``.

    Parameters
    ----------
    values : ndarray, shape (n,), float32 or float64, all finite, n >= 1
    edges : ndarray, shape (bins + 1,), float64
        ``np.linspace(low, high, bins + 1)`` with ``low <= values <= high`` and
        ``low < high``.
    counts : ndarray, shape (bins,), int64
        Overwritten.

    Returns
    -------
    mean, squares : float
        As ``moments``.
    """
    n = len(values)
    bins = len(counts)
    low, high = edges[0], edges[bins]
    width = high - low
    # how far a rounded scaled offset and a rounded edge can sit from the true ones, in
    # bins: a few roundings of the offset (at most `bins`) and of the edges (at most
    # |low| + |high|, in bins), times 16 for room
    margin = 16.0 * EPS * (bins + (abs(low) + abs(high)) / width * bins)
    check_all = margin > 1e-6  # a range of a few ulps: check every value
    mean, squares = moments(values)
    index = np.empty(n, dtype=np.int64)
    near = np.empty(n, dtype=np.bool_)
    for j in range(n):  # the estimate, and whether it needs checking
        x = np.float64(values[j])
        scaled = (x - low) / width * bins  # NumPy's order: no overflow on tiny ranges
        # truncation, as NumPy's astype(intp); the highest value into the last bin
        estimate = np.int64(scaled) if scaled < bins else bins - 1
        fraction = scaled - estimate
        index[j] = estimate
        near[j] = check_all | (
            ((fraction < margin) | (fraction > 1.0 - margin)) & (x > low) & (x < high)
        )
    for j in range(n):  # the check: NumPy's two corrections, in its order
        if near[j]:
            x = np.float64(values[j])
            i = index[j]
            if x < edges[i]:
                i -= 1
            if i != bins - 1 and x >= edges[i + 1]:
                i += 1
            index[j] = i
    # four sub-histograms in turn: no increment waits on the previous one's store
    partial = np.zeros(4 * bins, dtype=np.int64)
    for j in range(n):
        partial[(j & 3) * bins + index[j]] += 1
    for i in range(bins):
        counts[i] = partial[i] + partial[bins + i] + partial[2 * bins + i] + partial[3 * bins + i]
    return mean, squares

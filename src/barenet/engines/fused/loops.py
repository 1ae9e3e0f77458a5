"""The fused engine's compiled loops: a product's bias and the ``Relu`` after it in one
pass and their gradients in one pass back, a per-member head's input gradient, the
ensemble block's scaled matrices, the piecewise-linear encoding and the Adam update.

NumPy needs four passes over the output forward (``out += b``, ``out > 0``, the
multiply, and the 0/1 mask's own array) and three back (the mask, the multiply, the
bias's sum); each pass reads or writes the whole ``(batch_size, width)`` array. These
two loops (``barenet.engines.fused.relu_after`` calls them) touch each element once::

    forward     v = out + bias;  out = v * (v > 0)            Relu.forward(inp + b)
    backward    g = grad * (out > 0);  db += g, row by row    Relu.backward, then the
                                                              bias's sum over the batch

The operations are NumPy's, in NumPy's order, so the numbers are the same bit for bit:
each element is one addition and one multiplication by 1 or 0 in the array's dtype
(``-inf * 0`` is NaN, as in ``Relu.forward``), and NumPy sums a C-ordered array of
two columns or more over its first axis from 0.0, row after row, as the loop does
(one column it sums pairwise: ``relu_after`` keeps that case in NumPy).
``tests/engines/test_loops.py`` checks the loops against NumPy, signed zeros, NaN and
infinities included; a NaN's sign bit is not part of the claim.

``member_products`` is the per-member head's input gradient, ``up_grad[b, m] * w[m, i]``
for every input ``i`` of member ``m``: one product each, as NumPy's broadcast computes
it, without the broadcast's slow inner loop. ``scaled_matrices`` is the ensemble
block's ``r[m][:, None] * w`` side by side (``barenet.engines.fused.ensemble_block``), one
product each too. ``adam_update`` is ``Adam.update`` (``AdamW``'s too) on the fused
optimiser's flat arrays: NumPy's operations in NumPy's order, element by element,
with each constant cast to the arrays' dtype first, as NumPy casts a Python float.

numba compiles each loop once per signature (dtype, and layout) and caches it on disk.
The loops index without bounds checks: ``loop_dispatch.loops_for`` hands them only
arrays of the shapes their callers state. They raise no NumPy floating-point warnings
(NumPy's passes do, where ``np.errstate`` does not silence them, as in training).
``loop_dispatch.loops_for`` imports this module on first use, for C-ordered float
arrays of ``MIN_SIZE`` elements or more; on smaller ones, and where numba cannot be
imported, the callers run the same NumPy operations.
"""

from __future__ import annotations

import numpy as np

from barenet.engines.compiled.formulas import njit

# numba's njit, through barenet.engines.compiled.formulas: it picks numba's cache folder on a
# read-only install before numba is imported
from barenet.functional import mirrors


@mirrors("barenet.layers.Linear.forward", "barenet.activations.Relu.forward")
@njit(cache=True, error_model="numpy")
def bias_relu(out, bias):
    """``out = Relu(out + bias)`` in place: out (batch_size, width), bias (width,)."""
    one, zero = out.dtype.type(1), out.dtype.type(0)
    rows, width = out.shape
    for i in range(rows):
        for j in range(width):
            v = out[i, j] + bias[j]
            out[i, j] = v * (one if v > 0 else zero)


@mirrors("barenet.activations.Relu.backward", "barenet.layers.Linear.backward")
@njit(cache=True, error_model="numpy")
def relu_grad_and_bias_sum(grad, out, db):
    """``grad *= (out > 0)`` in place and ``db`` its sum over the batch: grad, out
    (batch_size, width), db (width,)."""
    one, zero = grad.dtype.type(1), grad.dtype.type(0)
    rows, width = grad.shape
    db[:] = 0  # as NumPy's sum, which starts from 0.0 (so a column of -0.0 sums to 0.0)
    for i in range(rows):
        for j in range(width):
            g = grad[i, j] * (one if out[i, j] > 0 else zero)
            grad[i, j] = g
            db[j] += g


@mirrors("barenet.tabular.ensemble.EnsembleLinear.backward")
@njit(cache=True, error_model="numpy")
def member_products(grad, w, out):
    """A per-member head's input gradient: ``out[b, m * d + i] = grad[b, m] * w[m, i]``;
    grad (batch_size, k), w (k, d), out (batch_size, k * d)."""
    rows, k = grad.shape
    d = w.shape[1]
    for b in range(rows):
        for m in range(k):
            g = grad[b, m]
            for i in range(d):
                out[b, m * d + i] = g * w[m, i]


@mirrors(
    "barenet.tabular.ensemble.MemberScale.forward",
    "barenet.tabular.ensemble.EnsembleLinear.forward",
)
@njit(cache=True, error_model="numpy")
def scaled_matrices(r, w, scaled):
    """The ensemble block's matrices side by side: ``scaled[i, m * out + o] =
    r[m, i] * w[i, o]``; r (k, d), w (d, out), scaled (d, k * out). One product each,
    as NumPy's broadcast ``r.T[:, :, None] * w[:, None, :]``."""
    k, d = r.shape
    out_dim = w.shape[1]
    for i in range(d):
        for m in range(k):
            rm = r[m, i]
            for o in range(out_dim):
                scaled[i, m * out_dim + o] = rm * w[i, o]


@mirrors(
    "barenet.optimizers.Optimizer.update",
    "barenet.optimizers.Adam.update",
    "barenet.optimizers.AdamW.update",
)
@njit(cache=True, error_model="numpy")
def adam_update(value, grad, m, v, use_l2, constants):
    """``Adam.update`` (and AdamW's decay before it, and the L2 term ``update_one`` adds
    to the gradient) on flat arrays, one element at a time; value, grad, m, v (n,).
    ``constants`` (9,) in the arrays' dtype (each cast as NumPy casts a
    Python float): l2, decay, beta1, 1 - beta1, beta2, 1 - beta2, the bias correction's
    root, eps, the step size."""
    l2, decay, beta1, one_minus_beta1 = constants[0], constants[1], constants[2], constants[3]
    beta2, one_minus_beta2, bias2_root = constants[4], constants[5], constants[6]
    eps, step_size = constants[7], constants[8]
    for i in range(value.size):
        g = grad[i]
        if use_l2:  # grad + weight_decay * value
            g = g + l2 * value[i]
        x = value[i] * decay  # AdamW: value *= 1 - lr * weight_decay (else 1)
        mi = m[i] * beta1
        mi = mi + one_minus_beta1 * g
        vi = v[i] * beta2
        vi = vi + one_minus_beta2 * g * g
        m[i], v[i] = mi, vi
        denom = np.sqrt(vi) / bias2_root + eps
        value[i] = x - step_size * mi / denom


@mirrors("barenet.tabular.embeddings.PiecewiseLinearEncoding.forward")
@njit(cache=True, error_model="numpy")
def piecewise_linear(inp, left, width, low, high, raw, out):
    """``PiecewiseLinearEncoding.forward``: ``raw = (inp[:, :, None] - left) / width``
    and ``out = np.clip(raw, low, high)`` in one pass, NumPy's clip to the bit (a NaN
    stays NaN, and the bound is taken where ``raw`` is not beyond it, so ``-0.0``
    against a bound of 0.0 gives 0.0). inp (batch, F); left, width, low, high (F, bins);
    raw, out (batch, F, bins)."""
    rows, features = inp.shape
    bins = left.shape[1]
    for b in range(rows):
        for j in range(features):
            x = inp[b, j]
            for k in range(bins):
                r = (x - left[j, k]) / width[j, k]
                raw[b, j, k] = r
                if not (r != r or r > low[j, k]):  # max(r, low), NaN kept
                    r = low[j, k]
                if not (r != r or r < high[j, k]):  # min(r, high), NaN kept
                    r = high[j, k]
                out[b, j, k] = r

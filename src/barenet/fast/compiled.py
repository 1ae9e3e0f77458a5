"""The compiled engine's numba kernels: a chunk of training batches, and prediction.

Imported lazily, by ``barenet.fast.engine``, only when the compiled engine runs. The
kernels take no Python objects: the network is a table of small integers (one row
per layer: its kind, widths and offsets), every parameter, gradient, optimiser state
and activation lives in a few flat arrays allocated once per ``train`` call, and the
loss and optimiser are integer codes. So numba compiles each kernel once per dtype
(float32, float64), whatever the architecture, and caches it on disk.

Each formula repeats the notebook's method it stands for (``Relu.forward``,
``MSE.backward``, ``Adam.update``...) operation by operation, in the parameters'
dtype, so the numbers agree with the NumPy engine to rounding. Constants are cast to
that dtype first (``_cast``), as NumPy casts a Python float against a float32 array.

Adding an activation: give it a code below, its forward in ``_activation_forward``
and its derivative in ``_activation_backward`` (both element by element), then map
its class to the code in ``barenet.fast.engine.LAYER_CODES``.
"""

from __future__ import annotations

import os


def cache_folder_fallback(package_dir: str, home: str) -> str | None:
    """A folder for ``NUMBA_CACHE_DIR`` when numba could not cache anywhere: numba
    caches beside this file, else in the user's cache folder; when neither is writable
    (a read-only install without a home), the temporary folder still saves recompiling."""
    if os.access(package_dir, os.W_OK):
        return None
    user_cache = os.path.join(home, ".cache")
    if os.access(user_cache if os.path.isdir(user_cache) else home, os.W_OK):
        return None
    import tempfile

    return os.path.join(tempfile.gettempdir(), "barenet-numba")


if "NUMBA_CACHE_DIR" not in os.environ:  # read by numba when it is imported, just below
    _fallback = cache_folder_fallback(os.path.dirname(__file__), os.path.expanduser("~"))
    if _fallback is not None:
        os.environ["NUMBA_CACHE_DIR"] = _fallback

import numpy as np  # noqa: E402
from numba import njit  # noqa: E402

# layer kinds (column KIND of the plan)
LINEAR, RELU, LEAKY_RELU, SIGMOID, TANH, GELU, DROPOUT = 0, 1, 2, 3, 4, 5, 6
# losses
MSE, MAE, HUBER, BCE_WITH_LOGITS, CROSS_ENTROPY = 0, 1, 2, 3, 4
# optimisers (plain SGD is SGD without momentum)
SGD, ADAM, RMSPROP = 0, 1, 2

# columns of the plan: one row per layer
KIND, IN_WIDTH, OUT_WIDTH, W_OFFSET, B_OFFSET, OUT_OFFSET = 0, 1, 2, 3, 4, 5
PLAN_COLUMNS = 6

# entries of the optimiser's hyper-parameter vector (float64)
LR, WEIGHT_DECAY, MOMENTUM, DAMPENING, NESTEROV, BETA1, BETA2, EPS, ALPHA = range(9)
CENTERED, DECOUPLED, CLIP_NORM, DTYPE_MAX = 9, 10, 11, 12
HYPER_SIZE = 13

# entries of the counters vector (int64), read and written by the kernel
STEP, HAS_MOMENTUM_BUFFER = 0, 1

# GELU's sqrt(2 / pi), as ``activations.GELU._c``
GELU_C = float(np.sqrt(2.0 / np.pi))


@njit(cache=True)
def _cast(scratch, value):
    """``value`` rounded to the parameters' dtype (``scratch`` is a 1-element array of it)."""
    scratch[0] = value
    return scratch[0]


@njit(cache=True)
def _copy_rows(source, source_row, target, target_row, rows):
    """target[target_row:][:rows] = source[source_row:][:rows], element by element (numba
    compiles a slice assignment much more slowly)."""
    for i in range(rows):
        for j in range(source.shape[1]):
            target[target_row + i, j] = source[source_row + i, j]


@njit(cache=True)
def _activation_forward(kind, inp, out, slope):
    """out = f(inp) for the activation ``kind``; inp, out: (rows, width).

    One plain loop per kind, so that each compiles to vector instructions."""
    zero = out.dtype.type(0)
    one = out.dtype.type(1)
    x, y = inp.reshape(inp.size), out.reshape(out.size)
    if kind == RELU:  # inp * (inp > 0)
        for k in range(x.size):
            y[k] = x[k] * (one if x[k] > zero else zero)
    elif kind == LEAKY_RELU:
        for k in range(x.size):
            y[k] = x[k] if x[k] > zero else x[k] * slope
    elif kind == SIGMOID:  # from exp(-|x|), which never overflows
        for k in range(x.size):
            e = np.exp(-np.abs(x[k]))
            y[k] = (one if x[k] >= zero else e) / (one + e)
    elif kind == TANH:
        for k in range(x.size):
            y[k] = np.tanh(x[k])
    elif kind == GELU:  # as activations.GELU: the tanh in float64
        for k in range(x.size):
            cube = x[k] ** out.dtype.type(3.0)
            t = np.tanh(GELU_C * np.float64(x[k] + out.dtype.type(0.044715) * cube))
            y[k] = np.float64(out.dtype.type(0.5) * x[k]) * (1.0 + t)


@njit(cache=True)
def _activation_backward(kind, inp, out, grad, slope):
    """grad *= f'(inp) in place, for the activation ``kind`` (``out`` = f(inp))."""
    zero = out.dtype.type(0)
    one = out.dtype.type(1)
    x, y, g = inp.reshape(inp.size), out.reshape(out.size), grad.reshape(grad.size)
    if kind == RELU:
        for k in range(x.size):
            g[k] = g[k] * (one if x[k] > zero else zero)
    elif kind == LEAKY_RELU:
        for k in range(x.size):
            g[k] = g[k] if x[k] > zero else g[k] * slope
    elif kind == SIGMOID:
        for k in range(x.size):
            g[k] = g[k] * y[k] * (one - y[k])
    elif kind == TANH:
        for k in range(x.size):
            g[k] = g[k] * (one - y[k] * y[k])
    elif kind == GELU:
        for k in range(x.size):
            cube = x[k] ** out.dtype.type(3.0)
            t = np.tanh(GELU_C * np.float64(x[k] + out.dtype.type(0.044715) * cube))
            du_dx = GELU_C * np.float64(one + out.dtype.type(3 * 0.044715) * x[k] * x[k])
            half_x = np.float64(out.dtype.type(0.5) * x[k])
            g[k] = g[k] * (0.5 * (1.0 + t) + half_x * (1.0 - t * t) * du_dx)


@njit(cache=True)
def _forward(plan, params, work, rows, slopes, uniforms, u_start, training, first, scratch):
    """Run every layer on the (rows, width) input at ``work[first:]``; returns the output
    view. Dropout (in training) uses ``uniforms[u_start:]``; returns the next start."""
    cur = work[first : first + rows * plan[0, IN_WIDTH]].reshape((rows, plan[0, IN_WIDTH]))
    for li in range(plan.shape[0]):
        kind, width, out_width = plan[li, KIND], plan[li, IN_WIDTH], plan[li, OUT_WIDTH]
        start = plan[li, OUT_OFFSET]
        out = work[start : start + rows * out_width].reshape((rows, out_width))
        if kind == LINEAR:  # out = inp @ w; out += b
            w_at, b_at = plan[li, W_OFFSET], plan[li, B_OFFSET]
            w = params[w_at : w_at + width * out_width].reshape((width, out_width))
            np.dot(cur, w, out)
            for i in range(rows):
                for j in range(out_width):
                    out[i, j] += params[b_at + j]
        elif kind == DROPOUT:
            if training:  # inp * mask, mask = (u >= p) / (1 - p) in the dtype
                p = slopes[li]
                scale = _cast(scratch, 1.0) / _cast(scratch, 1.0 - p)
                zero = _cast(scratch, 0.0)
                for i in range(rows):
                    for j in range(out_width):
                        keep = uniforms[u_start + i * out_width + j] >= p
                        out[i, j] = cur[i, j] * (scale if keep else zero)
                u_start += rows * out_width
            else:
                _copy_rows(cur, 0, out, 0, rows)
        else:
            _activation_forward(kind, cur, out, _cast(scratch, slopes[li]))
        cur = out
    return cur, u_start


@njit(cache=True)
def _loss_and_grad(code, delta, labels, pred, target, grad, scratch):
    """The batch loss (float64) and dL/dpred written to ``grad``; pred, grad: (rows, C).

    ``target`` holds (rows, C) values, or (rows, 1) class labels when ``labels``."""
    rows, classes = pred.shape
    size = rows * classes
    total = 0.0
    if code == CROSS_ENTROPY:
        n = _cast(scratch, rows)
        zero = _cast(scratch, 0.0)
        for i in range(rows):
            top = pred[i, 0]
            for j in range(1, classes):
                top = max(top, pred[i, j])
            exp_sum = zero
            for j in range(classes):
                exp_sum += np.exp(pred[i, j] - top)
            log_sum = np.log(exp_sum)
            for j in range(classes):
                log_softmax = (pred[i, j] - top) - log_sum
                if labels:
                    prob = _cast(scratch, 1.0 if j == int(target[i, 0]) else 0.0)
                else:
                    prob = target[i, j]
                total -= prob * log_softmax
                grad[i, j] = (np.exp(log_softmax) - prob) / n
        return total / rows
    if code == MSE:
        factor = _cast(scratch, 2.0 / size)
    else:
        factor = _cast(scratch, size)
    d = _cast(scratch, delta)
    zero = _cast(scratch, 0.0)
    one = _cast(scratch, 1.0)
    for i in range(rows):
        for j in range(classes):
            z, y = pred[i, j], target[i, j]
            diff = z - y
            if code == MSE:
                total += np.float64(diff) * diff
                grad[i, j] = diff * factor
            elif code == MAE:
                total += abs(np.float64(diff))
                grad[i, j] = np.sign(diff) / factor
            elif code == HUBER:
                a = abs(diff)
                total += 0.5 * diff * diff if a <= d else d * (a - 0.5 * d)
                grad[i, j] = min(max(diff, -d), d) / factor
            else:  # BCE with logits
                e = np.exp(-abs(z))
                total += max(z, zero) - z * y + np.log1p(e)
                grad[i, j] = ((one if z >= zero else e) / (one + e) - y) / factor
    return total / size


@njit(cache=True)
def _backward(plan, params, grads, work, rows, slopes, uniforms, u_start, first, grad_at, scratch):
    """Back-propagate the loss gradient at ``work[grad_at[0]:]`` through every layer,
    writing each Linear's dw and db into ``grads``; the first layer's input gradient is
    not computed. Dropout re-reads the uniforms its forward used, from the end back."""
    n_layers = plan.shape[0]
    side = 0
    last_width = plan[n_layers - 1, OUT_WIDTH]
    g = work[grad_at[0] : grad_at[0] + rows * last_width].reshape((rows, last_width))
    for li in range(n_layers - 1, -1, -1):
        kind, width, out_width = plan[li, KIND], plan[li, IN_WIDTH], plan[li, OUT_WIDTH]
        in_at = first if li == 0 else plan[li - 1, OUT_OFFSET]
        inp = work[in_at : in_at + rows * width].reshape((rows, width))
        out_at = plan[li, OUT_OFFSET]
        out = work[out_at : out_at + rows * out_width].reshape((rows, out_width))
        if kind == LINEAR:
            w_at, b_at = plan[li, W_OFFSET], plan[li, B_OFFSET]
            dw = grads[w_at : w_at + width * out_width].reshape((width, out_width))
            np.dot(inp.T, g, dw)
            for j in range(out_width):  # the sum over rows, in row order
                grads[b_at + j] = g[0, j]
            for i in range(1, rows):
                for j in range(out_width):
                    grads[b_at + j] += g[i, j]
            if li > 0:
                w = params[w_at : w_at + width * out_width].reshape((width, out_width))
                side = 1 - side
                down = work[grad_at[side] : grad_at[side] + rows * width].reshape((rows, width))
                np.dot(g, w.T, down)
                g = down
        elif kind == DROPOUT:
            p = slopes[li]
            scale = _cast(scratch, 1.0) / _cast(scratch, 1.0 - p)
            zero = _cast(scratch, 0.0)
            u_start -= rows * out_width
            for i in range(rows):
                for j in range(out_width):
                    keep = uniforms[u_start + i * out_width + j] >= p
                    g[i, j] = g[i, j] * (scale if keep else zero)
        else:
            _activation_backward(kind, inp, out, g, _cast(scratch, slopes[li]))


@njit(cache=True)
def _update(opt, hyper, counters, params, grads, state, scratch):
    """One optimiser step on the flat parameters, as ``barenet.optimizers`` computes it;
    ``state`` rows: SGD's momentum buffer; Adam's exp_avg, exp_avg_sq; RMSprop's
    square_avg, grad_avg, momentum_buffer."""
    counters[STEP] += 1
    t = np.float64(counters[STEP])
    lr, wd = hyper[LR], hyper[WEIGHT_DECAY]
    lr_ = _cast(scratch, lr)
    wd_ = _cast(scratch, wd)
    coupled = wd != 0.0 and hyper[DECOUPLED] == 0.0
    n = params.shape[0]
    if opt == SGD and hyper[MOMENTUM] == 0.0 and not coupled:  # the notebook's update
        for k in range(n):
            params[k] = params[k] - lr_ * grads[k]
    elif opt == SGD:
        momentum = hyper[MOMENTUM]
        mom_ = _cast(scratch, momentum)
        keep_ = _cast(scratch, 1.0 - hyper[DAMPENING])
        nesterov = hyper[NESTEROV] != 0.0
        first = counters[HAS_MOMENTUM_BUFFER] == 0
        for k in range(n):
            g = grads[k]
            if coupled:
                g = g + wd_ * params[k]
            if momentum != 0.0:
                if first:
                    state[0, k] = g
                else:
                    state[0, k] = state[0, k] * mom_ + keep_ * g
                g = g + mom_ * state[0, k] if nesterov else state[0, k]
            params[k] = params[k] - lr_ * g
        if momentum != 0.0:
            counters[HAS_MOMENTUM_BUFFER] = 1
    elif opt == ADAM:
        beta1, beta2 = hyper[BETA1], hyper[BETA2]
        b1, keep1 = _cast(scratch, beta1), _cast(scratch, 1.0 - beta1)
        b2, keep2 = _cast(scratch, beta2), _cast(scratch, 1.0 - beta2)
        eps = _cast(scratch, hyper[EPS])
        correction2 = _cast(scratch, np.sqrt(1.0 - beta2**t))
        step_size = _cast(scratch, lr / (1.0 - beta1**t))
        decay = _cast(scratch, 1.0 - lr * wd)
        decoupled = hyper[DECOUPLED] != 0.0
        for k in range(n):
            g = grads[k]
            if coupled:
                g = g + wd_ * params[k]
            if decoupled:
                params[k] = params[k] * decay
            m = state[0, k] * b1 + keep1 * g
            v = state[1, k] * b2 + keep2 * g * g
            state[0, k] = m
            state[1, k] = v
            params[k] = params[k] - step_size * m / (np.sqrt(v) / correction2 + eps)
    else:  # RMSprop
        alpha = _cast(scratch, hyper[ALPHA])
        keep = _cast(scratch, 1.0 - hyper[ALPHA])
        eps = _cast(scratch, hyper[EPS])
        momentum = hyper[MOMENTUM]
        mom_ = _cast(scratch, momentum)
        centered = hyper[CENTERED] != 0.0
        for k in range(n):
            g = grads[k]
            if coupled:
                g = g + wd_ * params[k]
            sq = state[0, k] * alpha + keep * g * g
            state[0, k] = sq
            if centered:
                g_avg = state[1, k] * alpha + keep * g
                state[1, k] = g_avg
                avg = np.sqrt(sq - g_avg * g_avg) + eps
            else:
                avg = np.sqrt(sq) + eps
            if momentum > 0.0:
                state[2, k] = state[2, k] * mom_ + g / avg
                params[k] = params[k] - lr_ * state[2, k]
            else:
                params[k] = params[k] - lr_ * g / avg


@njit(cache=True)
def train_batches(
    x,
    y,
    order,
    first_batch,
    end_batch,
    batch_size,
    plan,
    slopes,
    layout,
    params,
    grads,
    state,
    work,
    uniforms,
    loss_code,
    loss_delta,
    labels,
    opt,
    hyper,
    counters,
    result,
):
    """Train on batches ``first_batch`` to ``end_batch - 1`` of one epoch.

    x : (n, in_dim) and y : (n, C) or (n, 1) labels, in the data's order; ``order``
    (n,) is the epoch's shuffle. ``layout`` = (input offset, two gradient offsets) in
    ``work``. ``uniforms`` holds, batch after batch and layer after layer, the uniform
    draws of the Dropout layers. ``result[0]`` receives the sum of batch loss times
    rows; ``result[1]`` a non-finite loss.

    Returns 0, or the 1-based batch number whose loss (positive) or gradient
    (negative) was not finite, before any update from that batch.
    """
    n, in_dim = x.shape
    targets = y.shape[1]
    scratch = np.empty(1, params.dtype)
    u_start = layout[0] * 0  # int64, not a literal: one compilation of _forward
    last_width = plan[plan.shape[0] - 1, OUT_WIDTH]
    first = layout[0]
    grad_at = layout[1:]
    clip = hyper[CLIP_NORM]
    dtype_max = hyper[DTYPE_MAX]
    training = n >= 0
    for batch in range(first_batch, end_batch):
        row0 = batch * batch_size
        rows = min(batch_size, n - row0)
        inp = work[first : first + rows * in_dim].reshape((rows, in_dim))
        target = work[layout[3] : layout[3] + rows * targets].reshape((rows, targets))
        for i in range(rows):
            source = order[row0 + i]
            for j in range(in_dim):
                inp[i, j] = x[source, j]
            for j in range(targets):
                target[i, j] = y[source, j]
        pred, u_end = _forward(
            plan, params, work, rows, slopes, uniforms, u_start, training, first, scratch
        )
        g = work[grad_at[0] : grad_at[0] + rows * last_width].reshape((rows, last_width))
        loss = _loss_and_grad(loss_code, loss_delta, labels, pred, target, g, scratch)
        if not np.isfinite(loss) or abs(loss) > dtype_max:
            result[1] = loss if not np.isfinite(loss) else np.inf
            return batch + 1
        _backward(
            plan, params, grads, work, rows, slopes, uniforms, u_end, first, grad_at, scratch
        )
        u_start = u_end
        # the global norm as optimizers.grad_norm takes it: a BLAS dot in the dtype
        squares = np.float64(np.dot(grads, grads))
        norm = np.sqrt(squares) if squares <= dtype_max else np.inf
        if clip > 0.0:  # clip_grad_norm: scale by min(1, max_norm / (norm + 1e-6))
            coef = clip / (norm + 1e-6)
            if coef < 1.0:
                coef_ = _cast(scratch, coef)
                for k in range(grads.shape[0]):
                    grads[k] *= coef_
        if not np.isfinite(norm):
            return -(batch + 1)
        _update(opt, hyper, counters, params, grads, state, scratch)
        result[0] += loss * rows
    return 0


@njit(cache=True)
def predict_rows(x, out, chunk, plan, slopes, params, work, first):
    """out = the network on x (evaluation mode), ``chunk`` rows at a time.

    x : (n, in_dim), out : (n, out_dim)."""
    n, in_dim = x.shape
    uniforms = np.empty(0)
    scratch = np.empty(1, params.dtype)
    u_start = first - first  # (typed as in train_batches: one compilation of _forward)
    training = n < 0
    for row0 in range(0, n, chunk):
        rows = min(chunk, n - row0)
        inp = work[first : first + rows * in_dim].reshape((rows, in_dim))
        _copy_rows(x, row0, inp, 0, rows)
        pred, _ = _forward(
            plan, params, work, rows, slopes, uniforms, u_start, training, first, scratch
        )
        _copy_rows(pred, 0, out, row0, rows)

"""The compiled engine's formulas, element by element, for ``barenet.engines.compiled.kernels``.

Each repeats the notebook's method it stands for (``Relu.forward``, ``MSE.backward``,
``Adam.update``...) operation by operation, in the parameters' dtype, so the numbers
agree with the model's own methods to rounding. Constants are cast to that dtype first
(``cast``), as NumPy casts a Python float against a float32 array. Layers, losses
and optimisers are small integer codes, so that numba compiles every function once
per dtype, whatever the network.

Adding an activation: give it a code below, list it in ``ACTIVATION_CODES`` under its
registered name, and write its forward in ``activation_forward`` and its derivative in
``activation_backward`` (one plain loop each); ``barenet.engines.select.layer_codes``
finds it there.

Importing this module imports numba; when numba could cache nowhere, it first points
``NUMBA_CACHE_DIR`` at the temporary folder.
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

from barenet.functional import mirrors  # noqa: E402

# layer kinds (column KIND of the plan)
LINEAR, RELU, LEAKY_RELU, SIGMOID, TANH, GELU, DROPOUT, SOFTPLUS = 0, 1, 2, 3, 4, 5, 6, 7
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

# the activations the kernels compute, by their names in barenet.registry.ACTIVATIONS
# (barenet.engines.select.layer_codes maps each class to its code's name, the upper case)
ACTIVATION_CODES = {
    "relu": RELU,
    "leaky_relu": LEAKY_RELU,
    "sigmoid": SIGMOID,
    "tanh": TANH,
    "gelu": GELU,
    "softplus": SOFTPLUS,
}

# GELU's sqrt(2 / pi), as ``activations.GELU._c``
GELU_C = float(np.sqrt(2.0 / np.pi))


@njit(cache=True)
def cast(scratch, value):
    """``value`` rounded to the parameters' dtype (``scratch`` is a 1-element array of it)."""
    scratch[0] = value
    return scratch[0]


@njit(cache=True)
def copy_rows(source, source_row, target, target_row, rows):
    """target[target_row:][:rows] = source[source_row:][:rows], element by element (numba
    compiles a slice assignment much more slowly)."""
    for i in range(rows):
        for j in range(source.shape[1]):
            target[target_row + i, j] = source[source_row + i, j]


@mirrors(
    "barenet.activations.Relu.forward",
    "barenet.activations.LeakyRelu.forward",
    "barenet.functional.sigmoid",
    "barenet.activations.Tanh.forward",
    "barenet.activations.GELU.forward",
    "barenet.activations.Softplus.forward",
    "barenet.functional.softplus",
)
@njit(cache=True)
def activation_forward(kind, inp, out, slope):
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
    elif kind == SOFTPLUS:  # max(x, 0) + log1p(exp(-|x|)), as functional.softplus
        for k in range(x.size):
            y[k] = max(x[k], zero) + np.log1p(np.exp(-np.abs(x[k])))


@mirrors(
    "barenet.activations.Relu.backward",
    "barenet.activations.LeakyRelu.backward",
    "barenet.activations.Sigmoid.backward",
    "barenet.activations.Tanh.backward",
    "barenet.activations.GELU.backward",
    "barenet.activations.Softplus.backward",
)
@njit(cache=True)
def activation_backward(kind, inp, out, grad, slope):
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
    elif kind == SOFTPLUS:  # times sigmoid(x), as functional.sigmoid
        for k in range(x.size):
            e = np.exp(-np.abs(x[k]))
            g[k] = g[k] * ((one if x[k] >= zero else e) / (one + e))


@mirrors(
    "barenet.losses.MSE.forward",
    "barenet.losses.MSE.backward",
    "barenet.losses.MAE.forward",
    "barenet.losses.MAE.backward",
    "barenet.losses.Huber.forward",
    "barenet.losses.Huber.backward",
    "barenet.losses.BCEWithLogits.forward",
    "barenet.losses.BCEWithLogits.backward",
    "barenet.losses.CrossEntropy.forward",
    "barenet.losses.CrossEntropy.backward",
    "barenet.functional.sigmoid",
    "barenet.functional.log1p_exp_neg_abs",
    "barenet.functional.log_softmax",
)
@njit(cache=True)
def loss_and_grad(code, delta, labels, pred, target, grad, scratch):
    """The batch loss (float64) and dL/dpred written to ``grad``; pred, grad: (rows, C).

    ``target`` holds (rows, C) values, or (rows, 1) class labels when ``labels``."""
    rows, classes = pred.shape
    size = rows * classes
    total = 0.0
    if code == CROSS_ENTROPY:
        n = cast(scratch, rows)
        zero = cast(scratch, 0.0)
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
                    prob = cast(scratch, 1.0 if j == int(target[i, 0]) else 0.0)
                else:
                    prob = target[i, j]
                total -= prob * log_softmax
                grad[i, j] = (np.exp(log_softmax) - prob) / n
        return total / rows
    if code == MSE:
        factor = cast(scratch, 2.0 / size)
    else:
        factor = cast(scratch, size)
    d = cast(scratch, delta)
    zero = cast(scratch, 0.0)
    one = cast(scratch, 1.0)
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


@mirrors(
    "barenet.optimizers.Optimizer.update",
    "barenet.optimizers.SGD.update",
    "barenet.optimizers.Adam.update",
    "barenet.optimizers.AdamW.update",
    "barenet.optimizers.RMSprop.update",
)
@njit(cache=True)
def update(opt, hyper, counters, params, grads, state, scratch):
    """One optimiser step on the flat parameters, as ``barenet.optimizers`` computes it;
    ``state`` rows: SGD's momentum buffer; Adam's exp_avg, exp_avg_sq; RMSprop's
    square_avg, grad_avg, momentum_buffer."""
    counters[STEP] += 1
    wd = hyper[WEIGHT_DECAY]
    coupled = wd != 0.0 and hyper[DECOUPLED] == 0.0
    if opt == SGD and hyper[MOMENTUM] == 0.0 and not coupled:  # the notebook's update
        lr_ = cast(scratch, hyper[LR])
        for k in range(params.shape[0]):
            params[k] = params[k] - lr_ * grads[k]
    elif opt == SGD:
        _sgd_momentum(hyper, counters, params, grads, state, scratch, coupled)
    elif opt == ADAM:
        _adam(hyper, np.float64(counters[STEP]), params, grads, state, scratch, coupled)
    else:
        _rmsprop(hyper, params, grads, state, scratch, coupled)


@mirrors("barenet.optimizers.Optimizer.update", "barenet.optimizers.SGD.update")
@njit(cache=True)
def _sgd_momentum(hyper, counters, params, grads, state, scratch, coupled):
    """SGD with momentum (or coupled weight decay); ``state[0]`` is the momentum buffer."""
    lr_ = cast(scratch, hyper[LR])
    wd_ = cast(scratch, hyper[WEIGHT_DECAY])
    momentum = hyper[MOMENTUM]
    mom_ = cast(scratch, momentum)
    keep_ = cast(scratch, 1.0 - hyper[DAMPENING])
    nesterov = hyper[NESTEROV] != 0.0
    first = counters[HAS_MOMENTUM_BUFFER] == 0
    for k in range(params.shape[0]):
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


@mirrors(
    "barenet.optimizers.Optimizer.update",
    "barenet.optimizers.Adam.update",
    "barenet.optimizers.AdamW.update",
)
@njit(cache=True)
def _adam(hyper, t, params, grads, state, scratch, coupled):
    """Adam (AdamW with ``DECOUPLED``) at step ``t``; ``state`` rows: exp_avg, exp_avg_sq."""
    lr, wd = hyper[LR], hyper[WEIGHT_DECAY]
    wd_ = cast(scratch, wd)
    beta1, beta2 = hyper[BETA1], hyper[BETA2]
    b1, keep1 = cast(scratch, beta1), cast(scratch, 1.0 - beta1)
    b2, keep2 = cast(scratch, beta2), cast(scratch, 1.0 - beta2)
    eps = cast(scratch, hyper[EPS])
    correction2 = cast(scratch, np.sqrt(1.0 - beta2**t))
    step_size = cast(scratch, lr / (1.0 - beta1**t))
    decay = cast(scratch, 1.0 - lr * wd)
    decoupled = hyper[DECOUPLED] != 0.0
    for k in range(params.shape[0]):
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


@mirrors("barenet.optimizers.Optimizer.update", "barenet.optimizers.RMSprop.update")
@njit(cache=True)
def _rmsprop(hyper, params, grads, state, scratch, coupled):
    """RMSprop; ``state`` rows: square_avg, grad_avg (centered), momentum_buffer."""
    lr_ = cast(scratch, hyper[LR])
    wd_ = cast(scratch, hyper[WEIGHT_DECAY])
    alpha = cast(scratch, hyper[ALPHA])
    keep = cast(scratch, 1.0 - hyper[ALPHA])
    eps = cast(scratch, hyper[EPS])
    momentum = hyper[MOMENTUM]
    mom_ = cast(scratch, momentum)
    centered = hyper[CENTERED] != 0.0
    for k in range(params.shape[0]):
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

"""The compiled engine's numba kernels: a chunk of training batches, and prediction.

Imported lazily, by ``barenet.engines.select``, only when the compiled engine runs. The
kernels take no Python objects: the network is a table of small integers (one row
per layer: its kind, widths and offsets), every parameter, gradient, optimiser state
and activation lives in a few flat arrays allocated once per ``train`` call, and the
loss and optimiser are integer codes. So numba compiles each kernel once per dtype
(float32, float64), whatever the architecture, and caches it on disk. The formulas,
element by element, are in ``barenet.engines.compiled.formulas``; the matrix products call BLAS.
"""

from __future__ import annotations

import numpy as np
from numba import carray, njit, types
from numba.extending import intrinsic

from barenet.engines.compiled.formulas import (  # noqa: F401  (the codes and layout, for the runner)
    ADAM,
    ALPHA,
    B_OFFSET,
    BCE_WITH_LOGITS,
    BETA1,
    BETA2,
    CENTERED,
    CLIP_NORM,
    CROSS_ENTROPY,
    DAMPENING,
    DECOUPLED,
    DROPOUT,
    DTYPE_MAX,
    EPS,
    GELU,
    HAS_MOMENTUM_BUFFER,
    HUBER,
    HYPER_SIZE,
    IN_WIDTH,
    KIND,
    LEAKY_RELU,
    LINEAR,
    LR,
    MAE,
    MOMENTUM,
    MSE,
    NESTEROV,
    OUT_OFFSET,
    OUT_WIDTH,
    PLAN_COLUMNS,
    RELU,
    RMSPROP,
    SGD,
    SIGMOID,
    STEP,
    TANH,
    W_OFFSET,
    WEIGHT_DECAY,
    activation_backward,
    activation_forward,
    cast,
    copy_rows,
    loss_and_grad,
    update,
)
from barenet.functional import mirrors


@mirrors("barenet.layers.Linear.forward", "barenet.layers.Dropout.forward")
@njit(cache=True)
def _forward(net, rows, first, training, uniforms, u_start):
    """Run every layer on the (rows, width) input at ``work[first:]``; returns the output
    view. Dropout (in training) uses ``uniforms[u_start:]``; returns the next start.

    ``net`` = (plan, slopes, params, work, scratch): the plan table, each layer's float
    argument, the flat parameters, the workspace and a 1-element array of the dtype."""
    plan, slopes, params, work, scratch = net
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
                scale = cast(scratch, 1.0) / cast(scratch, 1.0 - p)
                zero = cast(scratch, 0.0)
                for i in range(rows):
                    for j in range(out_width):
                        keep = uniforms[u_start + i * out_width + j] >= p
                        out[i, j] = cur[i, j] * (scale if keep else zero)
                u_start += rows * out_width
            else:
                copy_rows(cur, 0, out, 0, rows)
        else:
            activation_forward(kind, cur, out, cast(scratch, slopes[li]))
        cur = out
    return cur, u_start


@mirrors("barenet.layers.Linear.backward", "barenet.layers.Dropout.backward")
@njit(cache=True)
def _backward(net, grads, rows, first, grad_at, uniforms, u_start):
    """Back-propagate the loss gradient at ``work[grad_at[0]:]`` through every layer,
    writing each Linear's dw and db into ``grads``; the first layer's input gradient is
    not computed. Dropout re-reads the uniforms its forward used, from the end back.
    ``net`` as for ``_forward``."""
    plan, slopes, params, work, scratch = net
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
            scale = cast(scratch, 1.0) / cast(scratch, 1.0 - p)
            zero = cast(scratch, 0.0)
            u_start -= rows * out_width
            for i in range(rows):
                for j in range(out_width):
                    keep = uniforms[u_start + i * out_width + j] >= p
                    g[i, j] = g[i, j] * (scale if keep else zero)
        else:
            activation_backward(kind, inp, out, g, cast(scratch, slopes[li]))


@mirrors("barenet.trainer.Trainer._run_batches")
@njit(cache=True)
def train_batches(data, batches, network, buffers, loss_spec, optimiser, result):
    """Train on batches ``first_batch`` to ``end_batch - 1`` of one epoch.

    The arguments, grouped:

    - ``data`` = (x, y, order): x (n, in_dim) and y (n, C) or (n, 1) labels in the
      data's order; ``order`` (n,) is the epoch's shuffle;
    - ``batches`` = (first_batch, end_batch, batch_size);
    - ``network`` = (plan, slopes, layout): ``layout`` = (input offset, two gradient
      offsets, target offset) in ``work``;
    - ``buffers`` = (params, grads, state, work, uniforms): ``uniforms`` holds, batch
      after batch and layer after layer, the uniform draws of the Dropout layers;
    - ``loss_spec`` = (loss code, its delta, labels); ``optimiser`` = (code, hyper,
      counters);
    - ``result[0]`` receives the sum of batch loss times rows; ``result[1]`` a
      non-finite loss.

    Returns 0, or the 1-based batch number whose loss (positive) or gradient
    (negative) was not finite, before any update from that batch.
    """
    x, y, order = data
    first_batch, end_batch, batch_size = batches
    plan, slopes, layout = network
    params, grads, state, work, uniforms = buffers
    loss_code, loss_delta, labels = loss_spec
    opt, hyper, counters = optimiser
    scratch = np.empty(1, params.dtype)
    u_start = layout[0] * 0  # int64, not a literal: one compilation of _forward
    last_width = plan[plan.shape[0] - 1, OUT_WIDTH]
    first, grad_at = layout[0], layout[1:]
    net = (plan, slopes, params, work, scratch)
    training = x.shape[0] >= 0  # True, typed as predict_rows' flag: one compilation
    for batch in range(first_batch, end_batch):
        rows = _gather_batch(x, y, order, batch * batch_size, batch_size, work, layout)
        pred, u_end = _forward(net, rows, first, training, uniforms, u_start)
        g = work[grad_at[0] : grad_at[0] + rows * last_width].reshape((rows, last_width))
        target = work[layout[3] : layout[3] + rows * y.shape[1]].reshape((rows, y.shape[1]))
        loss = loss_and_grad(loss_code, loss_delta, labels, pred, target, g, scratch)
        if not np.isfinite(loss) or abs(loss) > hyper[DTYPE_MAX]:
            result[1] = loss if not np.isfinite(loss) else np.inf
            return batch + 1
        _backward(net, grads, rows, first, grad_at, uniforms, u_end)
        u_start = u_end
        if not _clip_gradients(grads, hyper, scratch):
            return -(batch + 1)
        update(opt, hyper, counters, params, grads, state, scratch)
        result[0] += loss * rows
    return 0


@njit(cache=True)
def _gather_batch(x, y, order, row0, batch_size, work, layout):
    """Copy the batch's shuffled rows of ``x`` and ``y`` into ``work`` (at the input and
    target offsets of ``layout``); returns the batch's row count."""
    n, in_dim = x.shape
    targets = y.shape[1]
    rows = min(batch_size, n - row0)
    inp = work[layout[0] : layout[0] + rows * in_dim].reshape((rows, in_dim))
    target = work[layout[3] : layout[3] + rows * targets].reshape((rows, targets))
    for i in range(rows):
        source = order[row0 + i]
        for j in range(in_dim):
            inp[i, j] = x[source, j]
        for j in range(targets):
            target[i, j] = y[source, j]
    return rows


@mirrors("barenet.optimizers.clip_grad_norm")
@njit(cache=True)
def _clip_gradients(grads, hyper, scratch):
    """The global norm as ``optimizers.grad_norm`` takes it (a BLAS dot in the dtype),
    and ``clip_grad_norm``'s scaling by min(1, max_norm / (norm + 1e-6)) when
    ``CLIP_NORM`` is set; False when the norm is not finite (nothing updated)."""
    dtype_max = hyper[DTYPE_MAX]
    squares = np.float64(np.dot(grads, grads))
    norm = np.sqrt(squares) if squares <= dtype_max else np.inf
    clip = hyper[CLIP_NORM]
    if clip > 0.0:
        coef = clip / (norm + 1e-6)
        if coef < 1.0:
            coef_ = cast(scratch, coef)
            for k in range(grads.shape[0]):
                grads[k] *= coef_
    return np.isfinite(norm)


@intrinsic
def _pointer_to(typingctx, address, like):
    """A pointer to ``like``'s dtype at the integer ``address``."""
    pointer = types.CPointer(like.dtype)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(pointer))

    return pointer(types.int64, like), codegen


@mirrors("barenet.layers.Linear.forward", "barenet.model.MLP.forward")
@njit(cache=True)
def predict_rows(x, out, chunk, plan, slopes, weights_at, weights_size, work, first):
    """out = the network on x (evaluation mode), ``chunk`` rows at a time.

    x : (n, in_dim), out : (n, out_dim). The parameters are read from the
    ``weights_size`` values of work's dtype at the address ``weights_at``, at the plan's
    offsets: the span from the first weight array to the end of the last (the caller
    keeps them alive and has checked their sizes and dtype), or one flat buffer.
    Returns 1, computing nothing, if x holds a NaN or an infinity (the caller's checks
    then name it); else 0."""
    n, in_dim = x.shape
    for i in range(n):
        for j in range(in_dim):
            if not np.isfinite(x[i, j]):
                return 1
    params = carray(_pointer_to(weights_at, work), weights_size)
    uniforms = np.empty(0)
    scratch = np.empty(1, params.dtype)
    u_start = first - first  # (typed as in train_batches: one compilation of _forward)
    training = n < 0
    net = (plan, slopes, params, work, scratch)
    for row0 in range(0, n, chunk):
        rows = min(chunk, n - row0)
        inp = work[first : first + rows * in_dim].reshape((rows, in_dim))
        copy_rows(x, row0, inp, 0, rows)
        pred, _ = _forward(net, rows, first, training, uniforms, u_start)
        copy_rows(pred, 0, out, row0, rows)
    return 0

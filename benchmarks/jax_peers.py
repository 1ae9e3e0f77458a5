"""JAX peers (optional: ``pip install -e '.[bench]'``): the same 8→64→64→1 style network,
Relu, MSE, plain SGD, float32, trained on the same data in the same batches.

- ``jax_scan``: a whole epoch under ``jax.jit``: shuffle and gather, then
  ``jax.lax.scan`` over the batches (forward, ``jax.grad`` backward, SGD update), all
  compiled; the last, smaller batch is one more step inside the same function.
- ``jax_step``: one ``jax.jit``-compiled train step, called from Python per batch.

Compilation happens in the warm-up epoch, which is not among the timed epochs.
"""

from __future__ import annotations

import os

import numpy as np
from peer_tools import Unavailable, sizes_of, timed_epochs


def _import_jax():
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    try:
        import jax
    except ImportError:
        raise Unavailable("jax is not installed (pip install -e '.[bench]')") from None
    return jax


def _initial_params(workload) -> list[tuple[np.ndarray, np.ndarray]]:
    """Glorot-uniform weights and zero biases, float32, as the plain NumPy peer."""
    sizes = sizes_of(workload)
    rng = np.random.default_rng(0)
    params = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        limit = np.sqrt(6 / (a + b))
        params.append(
            (rng.uniform(-limit, limit, (a, b)).astype(np.float32), np.zeros(b, np.float32))
        )
    return params


def _functions(jax, lr: float):
    """``(forward, sgd_step)`` for a list of ``(w, b)`` pairs."""
    jnp = jax.numpy

    def forward(params, x):
        for i, (w, b) in enumerate(params):
            x = x @ w + b
            if i < len(params) - 1:
                x = jax.nn.relu(x)
        return x

    def loss(params, x, y):
        return jnp.mean((forward(params, x) - y) ** 2)

    def sgd_step(params, x, y):
        grads = jax.grad(loss)(params, x, y)
        return jax.tree.map(lambda p, g: p - lr * g, params, grads)

    return forward, sgd_step


def _test_loss(jax, forward, params, data) -> float:
    prediction = forward(params, jax.numpy.asarray(data["x_test"], np.float32))
    return float(np.mean((np.asarray(prediction) - data["y_test"]) ** 2))


def jax_scan_peer(workload, data, epochs):
    jax = _import_jax()
    forward, sgd_step = _functions(jax, workload["lr"])
    x = jax.numpy.asarray(data["x_train"], np.float32)
    y = jax.numpy.asarray(data["y_train"], np.float32)
    n, batch_size = len(x), workload["batch_size"]
    full = n // batch_size

    @jax.jit
    def epoch(params, key, x, y):
        order = jax.random.permutation(key, n)
        batches = order[: full * batch_size].reshape(full, batch_size)

        def one_batch(params, batch):
            return sgd_step(params, *batch), None

        # gathering the epoch's rows at once is faster here than a gather per batch
        params, _ = jax.lax.scan(one_batch, params, (x[batches], y[batches]))
        if full * batch_size < n:
            rest = order[full * batch_size :]
            params = sgd_step(params, x[rest], y[rest])
        return params

    state = {"params": jax.device_put(_initial_params(workload)), "key": jax.random.key(0)}

    def run_epoch():
        state["key"], key = jax.random.split(state["key"])
        state["params"] = jax.block_until_ready(epoch(state["params"], key, x, y))

    timed = timed_epochs(run_epoch, epochs)
    return {**timed, "test_loss": _test_loss(jax, forward, state["params"], data)}


def jax_step_peer(workload, data, epochs):
    jax = _import_jax()
    forward, sgd_step = _functions(jax, workload["lr"])
    step = jax.jit(sgd_step)
    x, y = data["x_train"].astype(np.float32), data["y_train"].astype(np.float32)
    n, batch_size = len(x), workload["batch_size"]
    rng = np.random.default_rng(0)
    state = {"params": jax.device_put(_initial_params(workload))}

    def run_epoch():
        order = rng.permutation(n)
        params = state["params"]
        for start in range(0, n, batch_size):
            rows = order[start : start + batch_size]
            params = step(params, x[rows], y[rows])
        state["params"] = jax.block_until_ready(params)

    timed = timed_epochs(run_epoch, epochs)
    return {**timed, "test_loss": _test_loss(jax, forward, state["params"], data)}

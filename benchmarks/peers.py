"""The peers of the benchmark: each trains the same network on the same data.

Every peer is a function ``peer(workload, data, epochs) -> dict`` returning the
per-epoch times in seconds (``times``), the warm-up epoch's time (``warmup_s``: it
includes any compilation) and the final test loss (MSE on the standardised target).
A peer that cannot run here raises ``Unavailable`` with the reason.
"""

from __future__ import annotations

import importlib.util
import inspect

import numpy as np
from jax_peers import jax_scan_peer, jax_step_peer
from peer_tools import Unavailable, engine_options, sizes_of, timed_epochs


def _engine_option(engine: str | None) -> dict:
    """The keyword that selects barenet's engine, or Unavailable with the reason."""
    if engine is None:
        return {}
    from barenet import MLP

    if "engine" not in inspect.signature(MLP.train).parameters:
        if engine == "numpy":
            return {}  # before the engine switch, NumPy is barenet's only engine
        raise Unavailable("this barenet has no engine= switch (MLP.train)")
    if engine == "compiled" and importlib.util.find_spec("numba") is None:
        raise Unavailable("numba is not installed")
    return {"engine": engine}


def barenet_peer(workload, data, epochs, fast=True, engine=None):
    """barenet as the notebook uses it. ``fast=False``: the model's own methods, with
    no fused step, to show what the fast path buys; ``engine``: "numpy" (the fused
    step, ``engine="fused"`` today) or "compiled" for training and the test loss (None:
    barenet's default choice)."""
    from barenet import MLP, MSE, Linear, Relu

    options = _engine_option(engine)
    if options:
        options = engine_options(options["engine"], fast)
    elif not fast:
        options["fast"] = False
    sizes = sizes_of(workload)
    rng = np.random.default_rng(0)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(Linear(a, b, seed=rng))
        if i < len(sizes) - 2:
            layers.append(Relu())
    model = MLP(layers, MSE(), workload["lr"], seed=0)
    x, y = data["x_train"], data["y_train"]
    result = timed_epochs(
        lambda: model.train(x, y, epochs=1, batch_size=workload["batch_size"], **options),
        epochs,
    )
    evaluated = {}
    if "engine" in options and "engine" in inspect.signature(model.evaluate).parameters:
        evaluated["engine"] = options["engine"]
    return {**result, "test_loss": model.evaluate(data["x_test"], data["y_test"], **evaluated)}


def barenet_numpy_peer(workload, data, epochs):
    return barenet_peer(workload, data, epochs, engine="numpy")


def barenet_compiled_peer(workload, data, epochs):
    return barenet_peer(workload, data, epochs, engine="compiled")


def barenet_plain_peer(workload, data, epochs):
    return barenet_peer(workload, data, epochs, fast=False, engine="numpy")


def torch_peer(workload, data, epochs):
    import torch

    torch.manual_seed(0)
    sizes = sizes_of(workload)
    modules = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        modules.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            modules.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*modules)
    optimizer = torch.optim.SGD(model.parameters(), lr=workload["lr"])
    loss_fn = torch.nn.MSELoss()
    x = torch.from_numpy(data["x_train"].astype(np.float32))
    y = torch.from_numpy(data["y_train"].astype(np.float32))
    bs, n = workload["batch_size"], len(x)
    generator = torch.Generator().manual_seed(0)

    def run_epoch():
        order = torch.randperm(n, generator=generator)
        xs, ys = x[order], y[order]
        for start in range(0, n, bs):
            optimizer.zero_grad()
            loss = loss_fn(model(xs[start : start + bs]), ys[start : start + bs])
            loss.backward()
            optimizer.step()

    timed = timed_epochs(run_epoch, epochs)
    with torch.no_grad():
        test = loss_fn(
            model(torch.from_numpy(data["x_test"].astype(np.float32))),
            torch.from_numpy(data["y_test"].astype(np.float32)),
        ).item()
    return {**timed, "test_loss": test}


def sklearn_peer(workload, data, epochs):
    import warnings

    from sklearn.neural_network import MLPRegressor

    model = MLPRegressor(
        hidden_layer_sizes=tuple(workload["hidden"]),
        activation="relu",
        solver="sgd",
        learning_rate="constant",
        learning_rate_init=workload["lr"],
        momentum=0.0,
        alpha=0.0,
        batch_size=workload["batch_size"],
        shuffle=True,
        random_state=0,
    )
    x = data["x_train"].astype(np.float32)
    y = data["y_train"].astype(np.float32).ravel()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        timed = timed_epochs(lambda: model.partial_fit(x, y), epochs)
    prediction = model.predict(data["x_test"].astype(np.float32))
    return {
        **timed,
        "test_loss": float(np.mean((prediction - data["y_test"].ravel()) ** 2)),
    }


def plain_numpy_peer(workload, data, epochs):
    """The notebook filled in the obvious way: float64, new arrays every step."""
    sizes = sizes_of(workload)
    rng = np.random.default_rng(0)
    weights = [
        rng.uniform(-np.sqrt(6 / (a + b)), np.sqrt(6 / (a + b)), (a, b))
        for a, b in zip(sizes[:-1], sizes[1:], strict=True)
    ]
    biases = [np.zeros((1, b)) for b in sizes[1:]]
    x, y, lr, bs = data["x_train"], data["y_train"], workload["lr"], workload["batch_size"]

    def forward(inp):
        activations = [inp]
        for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
            out = activations[-1] @ w + b
            if i < len(weights) - 1:
                out = np.maximum(0, out)
            activations.append(out)
        return activations

    def run_epoch():
        order = rng.permutation(len(x))
        for start in range(0, len(x), bs):
            idx = order[start : start + bs]
            xb, yb = x[idx], y[idx]
            activations = forward(xb)
            grad = 2 * (activations[-1] - yb) / yb.size
            for i in range(len(weights) - 1, -1, -1):
                dw = activations[i].T @ grad
                db = grad.sum(axis=0, keepdims=True)
                if i > 0:
                    grad = (grad @ weights[i].T) * (activations[i] > 0)
                weights[i] = weights[i] - lr * dw
                biases[i] = biases[i] - lr * db

    timed = timed_epochs(run_epoch, epochs)
    test = float(np.mean((forward(data["x_test"])[-1] - data["y_test"]) ** 2))
    return {**timed, "test_loss": test}


def gemm_floor_peer(workload, data, epochs):
    """Only the matrix products one epoch needs, at barenet's dtype (float32), into
    preallocated outputs: forward x @ W, backward inp.T @ grad and grad @ W.T (not for
    the first layer)."""
    dtype = np.float32
    sizes = sizes_of(workload)
    rng = np.random.default_rng(0)
    n, bs = len(data["x_train"]), workload["batch_size"]
    batches = [min(bs, n - start) for start in range(0, n, bs)]
    weights = [
        rng.standard_normal((a, b)).astype(dtype)
        for a, b in zip(sizes[:-1], sizes[1:], strict=True)
    ]
    plans = {}
    for m in set(batches):
        acts = [rng.standard_normal((m, s)).astype(dtype) for s in sizes]
        grads = [np.empty((m, s), dtype) for s in sizes]
        dws = [np.empty_like(w) for w in weights]
        plans[m] = (acts, grads, dws)

    def run_epoch():
        for m in batches:
            acts, grads, dws = plans[m]
            for i, w in enumerate(weights):
                np.matmul(acts[i], w, out=acts[i + 1])
            for i in range(len(weights) - 1, -1, -1):
                np.matmul(acts[i].T, acts[i + 1], out=dws[i])
                if i > 0:
                    np.matmul(acts[i + 1], weights[i].T, out=grads[i])

    return {**timed_epochs(run_epoch, epochs), "test_loss": None}


PEERS = {
    "barenet": barenet_peer,
    "barenet_plain": barenet_plain_peer,
    "torch": torch_peer,
    "sklearn": sklearn_peer,
    "numpy": plain_numpy_peer,
    "gemm_floor": gemm_floor_peer,
    "barenet_numpy": barenet_numpy_peer,
    "barenet_compiled": barenet_compiled_peer,
    "jax_scan": jax_scan_peer,
    "jax_step": jax_step_peer,
}

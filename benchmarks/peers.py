"""The peers of the benchmark: each trains the same network on the same data.

Every peer is a function ``peer(workload, data, epochs) -> dict`` returning the
per-epoch times in seconds and the final test loss (MSE on the standardised target).
"""

from __future__ import annotations

import time

import numpy as np


def _timed_epochs(run_epoch, epochs: int) -> list[float]:
    run_epoch()  # warm-up
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        run_epoch()
        times.append(time.perf_counter() - start)
    return times


def _sizes(workload) -> list[int]:
    return [workload["in_dim"], *workload["hidden"], 1]


def barenet_peer(workload, data, epochs, fast=True):
    """barenet as the notebook uses it (``fast=False``: the model's own methods, with
    no fused step, to show what the fast path buys)."""
    from barenet import MLP, MSE, Linear, Relu

    sizes = _sizes(workload)
    rng = np.random.default_rng(0)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(Linear(a, b, seed=rng))
        if i < len(sizes) - 2:
            layers.append(Relu())
    model = MLP(layers, MSE(), workload["lr"], seed=0)
    x, y = data["x_train"], data["y_train"]
    times = _timed_epochs(
        lambda: model.train(x, y, epochs=1, batch_size=workload["batch_size"], fast=fast), epochs
    )
    return {"times": times, "test_loss": model.evaluate(data["x_test"], data["y_test"])}


def barenet_plain_peer(workload, data, epochs):
    return barenet_peer(workload, data, epochs, fast=False)


def torch_peer(workload, data, epochs):
    import torch

    torch.manual_seed(0)
    sizes = _sizes(workload)
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

    times = _timed_epochs(run_epoch, epochs)
    with torch.no_grad():
        test = loss_fn(
            model(torch.from_numpy(data["x_test"].astype(np.float32))),
            torch.from_numpy(data["y_test"].astype(np.float32)),
        ).item()
    return {"times": times, "test_loss": test}


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
        times = _timed_epochs(lambda: model.partial_fit(x, y), epochs)
    prediction = model.predict(data["x_test"].astype(np.float32))
    return {
        "times": times,
        "test_loss": float(np.mean((prediction - data["y_test"].ravel()) ** 2)),
    }


def plain_numpy_peer(workload, data, epochs):
    """The notebook filled in the obvious way: float64, new arrays every step."""
    sizes = _sizes(workload)
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

    times = _timed_epochs(run_epoch, epochs)
    test = float(np.mean((forward(data["x_test"])[-1] - data["y_test"]) ** 2))
    return {"times": times, "test_loss": test}


def gemm_floor_peer(workload, data, epochs):
    """Only the matrix products one epoch needs, at barenet's dtype (float32), into
    preallocated outputs: forward x @ W, backward inp.T @ grad and grad @ W.T (not for
    the first layer)."""
    dtype = np.float32
    sizes = _sizes(workload)
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

    return {"times": _timed_epochs(run_epoch, epochs), "test_loss": None}


PEERS = {
    "barenet": barenet_peer,
    "barenet_plain": barenet_plain_peer,
    "torch": torch_peer,
    "sklearn": sklearn_peer,
    "numpy": plain_numpy_peer,
    "gemm_floor": gemm_floor_peer,
}

"""Build examples/california_housing.ipynb from the cells below and execute it, so the
saved notebook carries its outputs:

    python examples/build_notebook.py

The notebook follows the teaching notebook section by section, filled in with barenet.
"""

from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent

CELLS = [
    (
        "markdown",
        """# Training a neural network from scratch, with barenet

This notebook follows the teaching notebook it started from, section by section: the
`Layer` contract, `Linear`, the activations, the `Loss` contract and `MSE`, the `MLP`,
and the regression run on California Housing with its loss plot. Every piece is the
one in `barenet`, whose gradients are tested against finite differences and PyTorch.""",
    ),
    (
        "code",
        """import numpy as np
import barenet
from barenet import MLP, MSE, Layer, Linear, Relu, Sigmoid
print("barenet", barenet.__version__)""",
    ),
    (
        "markdown",
        """## Layers

Each layer has `forward(inp)`, `backward(up_grad)` returning the gradient for the layer
below, and `step(lr)`. `Linear` keeps `w` of shape `(in_dim, out_dim)` (Xavier/Glorot
uniform), `b` of shape `(1, out_dim)` (zeros), and their gradients `dw`, `db`.""",
    ),
    (
        "code",
        """layer = Linear(3, 2, seed=0, dtype=np.float64)
x = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]])
out = layer(x)
up_grad = np.ones_like(out)
down_grad = layer.backward(up_grad)
print("w shape", layer.w.shape, "b shape", layer.b.shape)
print("dw == inp.T @ up_grad:", np.allclose(layer.dw, x.T @ up_grad))
print("down_grad == up_grad @ w.T:", np.allclose(down_grad, up_grad @ layer.w.T))""",
    ),
    (
        "markdown",
        """### Sigmoid and Relu

$f(x) = 1 / (1 + e^{-x})$ with $f'(x) = f(x)(1 - f(x))$; barenet computes it from
$e^{-|x|}$, so it never overflows. Relu is as in the notebook.""",
    ),
    (
        "code",
        """s = Sigmoid()
print(s(np.array([[-1000.0, 0.0, 1000.0]])))
print(s.backward(np.ones((1, 3))))""",
    ),
    (
        "markdown",
        """### Checking a gradient by finite differences

The tests do this for every layer; here is the idea for `Sigmoid`.""",
    ),
    (
        "code",
        """x = np.random.default_rng(0).standard_normal((4, 3))
s = Sigmoid()
s(x)
analytic = s.backward(np.ones_like(x))
eps = 1e-6
numeric = (Sigmoid()(x + eps) - Sigmoid()(x - eps)) / (2 * eps)
print("max difference:", np.abs(analytic - numeric).max())""",
    ),
    (
        "markdown",
        """### Your own layer

Subclass `Layer` with `forward` and `backward`, exactly as the notebook shows, and it
trains inside an `MLP`.""",
    ),
    (
        "code",
        """class Tanh(Layer):
    def forward(self, inp):
        self.out = np.tanh(inp)
        return self.out

    def backward(self, up_grad):
        return up_grad * (1 - self.out ** 2)""",
    ),
    (
        "markdown",
        """## Loss function

`MSE` is the mean of $(p_i - y_i)^2$ over all elements, with gradient
$2 (p_i - y_i) / N$.""",
    ),
    (
        "code",
        """loss = MSE()
print(loss(np.array([[1.0], [2.0]]), np.array([[0.0], [2.0]])))
print(loss.backward())""",
    ),
    (
        "markdown",
        """## Regression training

The notebook's preprocessing in one call: StandardScaler on X and y, then
`train_test_split(test_size=0.2, random_state=42)`.""",
    ),
    (
        "code",
        """from barenet.datasets import load_california_housing

x_train, x_test, y_train, y_test, scaler_x, scaler_y, *_ = load_california_housing()
print(x_train.shape, x_test.shape, y_train.shape, y_test.shape)""",
    ),
    (
        "code",
        """rng = np.random.default_rng(0)
model = MLP([Linear(8, 64, seed=rng), Relu(), Linear(64, 64, seed=rng), Relu(),
             Linear(64, 1, seed=rng)], MSE(), lr=0.01, seed=0)
history = model.train(x_train, y_train, x_test, y_test, epochs=30, batch_size=32,
                      clip_norm=1.0)
print(f"final train loss {history['train_loss'][-1]:.4f}, "
      f"validation loss {history['val_loss'][-1]:.4f}")""",
    ),
    (
        "code",
        """from barenet.metrics import regression_metrics

prediction = scaler_y.inverse_transform(model.predict(x_test))
metrics = regression_metrics(scaler_y.inverse_transform(y_test), prediction)
print({k: round(v, 4) for k, v in metrics.items()}, "(in $100,000)")""",
    ),
    ("markdown", "## Plot train and validation loss"),
    (
        "code",
        """from IPython.display import Image
from barenet import plot_losses

Image(filename=str(plot_losses(history, "losses.png")))""",
    ),
    (
        "markdown",
        """## The same network in PyTorch

When torch is installed, the same architecture trained the same way reaches a similar
test RMSE (different initial weights and shuffles, so not the same numbers).""",
    ),
    (
        "code",
        """try:
    import torch
except ImportError:
    torch = None
    print("torch is not installed; skipping the comparison")
if torch is not None:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(8, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64),
                              torch.nn.ReLU(), torch.nn.Linear(64, 1))
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    xt, yt = torch.tensor(x_train, dtype=torch.float32), torch.tensor(y_train, dtype=torch.float32)
    for _ in range(30):
        order = torch.randperm(len(xt))
        for start in range(0, len(xt), 32):
            idx = order[start:start + 32]
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(net(xt[idx]), yt[idx])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
    with torch.no_grad():
        p = net(torch.tensor(x_test, dtype=torch.float32)).numpy()
    torch_rmse = regression_metrics(scaler_y.inverse_transform(y_test),
                                    scaler_y.inverse_transform(p))["rmse"]
    print(f"PyTorch RMSE {torch_rmse:.4f} vs barenet RMSE {metrics['rmse']:.4f}")""",
    ),
    (
        "markdown",
        """## Keep the model

One `.npz` file, no pickle: the weights and a JSON description of the network.""",
    ),
    (
        "code",
        """model.save("model.npz")
again = barenet.load("model.npz")
print("identical predictions:", np.array_equal(again.predict(x_test), model.predict(x_test)))""",
    ),
]


def build() -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    for kind, source in CELLS:
        make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        notebook.cells.append(make(source))
    return notebook


def execute(notebook, workdir: Path) -> nbformat.NotebookNode:
    NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
    ).execute()
    return notebook


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        notebook = execute(build(), Path(tmp))
    nbformat.write(notebook, HERE / "california_housing.ipynb")
    print("wrote", HERE / "california_housing.ipynb")

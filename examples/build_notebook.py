"""Build examples/california_housing.ipynb from the cells below and execute it, so the
saved notebook carries its outputs:

    python examples/build_notebook.py

The notebook retraces the teaching notebook barenet started from, step by step: at each
``pass`` the teaching notebook leaves to the learner, it prints barenet's own code for that
piece (read with ``inspect``, so it is the code that runs) and checks its gradients. Then
the learner writes and trains a layer of their own, trains the notebook's network, and
moves on to the command line, CSV files, optimisers, saving and scikit-learn.
"""

import re
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
NOTEBOOK = HERE / "california_housing.ipynb"


ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def md(source: str) -> tuple[str, str]:
    return "markdown", source.strip("\n")


def code(source: str) -> tuple[str, str]:
    return "code", source.strip("\n")


CELLS = [
    md(
        """
# Training a neural network from scratch, with barenet

The teaching notebook barenet grew out of asks you to build a small neural-network library
yourself: an abstract `Layer`, a `Linear` layer, the `Sigmoid` and `Relu` activations, an
abstract `Loss` with `MSE`, and an `MLP` that trains them on the California Housing data set.
It gives you the outline and leaves a `pass` wherever you have to write code.

This notebook walks through the same steps in the same order. At each `pass` it prints
**barenet's own code** for that piece. The code is read from the installed library with
Python's `inspect` module, so you see the code that actually runs, not a copy. Then it checks
that piece's gradients against finite differences.

After that you write a layer of your own, check it and train it. Then you train the
notebook's network and plot its losses. The last part goes beyond the teaching notebook: the
`barenet` command line, your own CSV files, optimisers and learning-rate schedules, saving and
loading, and the scikit-learn estimators.
"""
    ),
    md(
        """
`show` is a small helper. It asks `inspect` for the source code of a barenet class, function
or method, and prints it with the file and line it comes from. The files this notebook writes
(plots, models, CSV files) go to a fresh temporary folder, not beside the notebook.
"""
    ),
    code(
        """
import inspect
import os
import tempfile
import textwrap
from pathlib import Path

import numpy as np

import barenet

print("barenet", barenet.__version__, "with NumPy", np.__version__)
os.chdir(tempfile.mkdtemp(prefix="barenet-walkthrough-"))  # where this notebook's files go


def show(obj):
    \"\"\"Print the source code of a barenet class, function or method, and where it is.\"\"\"
    lines, first_line = inspect.getsourcelines(obj)
    path = Path(inspect.getsourcefile(obj)).relative_to(Path(barenet.__file__).parent.parent)
    print(f"# {path}, line {first_line}")
    print(textwrap.dedent("".join(lines)))
"""
    ),
    md(
        """
## Layers

### The abstract `Layer` class

In the teaching notebook every layer is an object with three methods:

- `forward(inp)` computes the layer's output for a batch of inputs (one row per example) and
  remembers whatever the backward pass will need.
- `backward(up_grad)` receives the gradient of the loss with respect to the layer's output
  (the *upstream* gradient), stores the gradients of the layer's own parameters, and returns
  the gradient with respect to the layer's input, which is passed on to the layer below.
- `step(lr)` updates the parameters with those gradients.

`barenet.Layer` is that class, with a few additions. The most important one is
`param_names`: a layer lists its parameters by name, and for each name `p` it keeps the array
`self.p` and its gradient `self.dp`. With that, a single `step` works for every layer, and
optimisers can find every parameter. `train()` and `eval()` switch between training and
evaluation mode (this matters for dropout and batch normalisation), and `config()` is what
`barenet.save` writes to a file.
"""
    ),
    code("show(barenet.Layer)"),
    md(
        r"""
### The `Linear` layer

`Linear` is the fully connected layer. It computes
$\mathbf{out} = \mathbf{inp} \cdot \mathbf{W} + \mathbf{b}$, where `inp` has shape
`(batch_size, in_dim)`, `w` has shape `(in_dim, out_dim)` and `b` has shape `(1, out_dim)`.
The output has shape `(batch_size, out_dim)`.

**Initialisation.** The teaching notebook asks for Xavier (Glorot) initialisation. The weights
are drawn uniformly from $[-a, a]$ with $a = \sqrt{6 / (\text{in\_dim} + \text{out\_dim})}$,
which keeps the size of the signals about the same from one layer to the next. The biases
start at zero. barenet's `Linear(in_dim, out_dim)` takes the notebook's two arguments, plus
three optional keyword arguments: `seed` (for repeatable weights), `dtype` (float32 by
default) and `init` (the initialiser's name).

**Backward pass.** Given `up_grad` $= \partial L / \partial\,\mathbf{out}$:

- $\partial L / \partial W = \mathbf{inp}^T \cdot \text{up\_grad}$
- $\partial L / \partial b = \text{up\_grad}$ summed over the batch
- $\text{down\_grad} = \text{up\_grad} \cdot W^T$, passed to the layer below.
"""
    ),
    code("show(barenet.Linear)"),
    md(
        """
`Linear` looks its initialiser up by name; here is the default, `"glorot_uniform"`:
"""
    ),
    code("show(barenet.initializers.glorot_uniform)"),
    md(
        """
**Step.** `Linear` has no `step` of its own. It inherits `Layer.step`, shown above, which for
`param_names = ("w", "b")` does exactly the notebook's $W = W - lr \\cdot dW$ and
$b = b - lr \\cdot db$.

Let us run a `Linear` layer on a batch of two rows and compare every result with the formulas,
computed by hand with NumPy:
"""
    ),
    code(
        """
layer = barenet.Linear(3, 2, seed=0)
x = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]], dtype=np.float32)
out = layer.forward(x)
up_grad = np.ones_like(out)
down_grad = layer.backward(up_grad)

limit = np.sqrt(6 / (3 + 2))
print(
    f"w has shape {layer.w.shape}; every weight is within the Xavier limit {limit:.3f}:",
    bool(np.all(np.abs(layer.w) <= limit)),
)
print(f"b has shape {layer.b.shape} and starts at {layer.b}")
print("out       == inp @ w + b:       ", np.allclose(out, x @ layer.w + layer.b))
print("dw        == inp.T @ up_grad:   ", np.allclose(layer.dw, x.T @ up_grad))
print("db        == up_grad summed:    ", np.allclose(layer.db, up_grad.sum(axis=0)))
print("down_grad == up_grad @ w.T:     ", np.allclose(down_grad, up_grad @ layer.w.T))
w_before = layer.w.copy()
layer.step(0.1)
print("after step(0.1), w == w - 0.1 dw:", np.allclose(layer.w, w_before - 0.1 * layer.dw))
"""
    ),
    md(
        """
### Checking gradients

A backward pass can be wrong and still run without any error: the network then trains
badly, or not at all. `barenet.check_gradients(layer, inp)` catches such mistakes. It compares
the gradients computed by `backward` with *finite differences*: it nudges each input and each
parameter by a tiny `eps` up and down, and measures how much the layer's output changes. (To
get one number, it uses the sum of the output times a fixed random `up_grad`.)

It reports the worst relative error for the input and for each parameter. The report is ok
when every error is below the tolerance, `1e-6` by default. The check runs in float64, because
finite differences in float32 are too noisy.
"""
    ),
    code(
        """
rng = np.random.default_rng(0)
report = barenet.check_gradients(barenet.Linear(8, 4, seed=0), rng.standard_normal((5, 8)))
print(report)
print("ok:", report.ok, "| errors:", report.errors)
"""
    ),
    md(
        r"""
## Activation functions

As in the teaching notebook, activation functions are layers without parameters, so the
network is just a list of layers.

### Sigmoid

$$f(x) = \frac{1}{1 + e^{-x}}, \qquad f'(x) = f(x)\,(1 - f(x))$$

Sigmoid squashes any number into the range $(0, 1)$. Because its derivative can be written
with its output, `forward` keeps the output and `backward` reuses it. barenet computes
$e^{-|x|}$ instead of $e^{-x}$. The result is the same, but it never overflows, even for
inputs like $-1000$.
"""
    ),
    code("show(barenet.Sigmoid)"),
    code(
        """
sigmoid = barenet.Sigmoid()
print(sigmoid.forward(np.array([[-1000.0, -2.0, 0.0, 2.0, 1000.0]])))
print(barenet.check_gradients(barenet.Sigmoid(), rng.standard_normal((5, 8))))
"""
    ),
    md(
        """
### Relu

The teaching notebook gives `Relu` in full: `np.maximum(0, inp)` forward and
`up_grad * (inp > 0)` backward. barenet computes the same numbers. It keeps the 0/1 mask from
the forward pass and multiplies by it in both directions.

Relu has a kink at 0, where its slope jumps from 0 to 1. A finite difference across the kink
measures something in between, so we check Relu on inputs at least 0.1 away from 0.
"""
    ),
    code("show(barenet.Relu)"),
    code(
        """
signs = rng.choice([-1.0, 1.0], size=(5, 8))
x = signs * rng.uniform(0.1, 2.0, size=(5, 8))  # no input within 0.1 of the kink at 0
print(barenet.check_gradients(barenet.Relu(), x))
"""
    ),
    md(
        """
## Loss function

### The abstract `Loss` class

A loss has two methods. `forward(prediction, target)` returns the loss as a number and
remembers what it needs. `backward()` returns the gradient of the loss with respect to the
prediction, which is where the backward pass through the network starts.
"""
    ),
    code("show(barenet.Loss)"),
    md(
        r"""
### Mean squared error

$$L = \frac{1}{N} \sum_{i} (p_i - y_i)^2, \qquad
\frac{\partial L}{\partial p_i} = \frac{2}{N} (p_i - y_i)$$

Here $p_i$ is a prediction, $y_i$ its target and $N$ the number of values. With one output per
example, $N$ is the batch size, as in the teaching notebook. (barenet averages over all
elements, as PyTorch's `MSELoss` does.)
"""
    ),
    code("show(barenet.MSE)"),
    code(
        """
mse = barenet.MSE()
prediction = np.array([[1.0], [2.0], [0.5]])
target = np.array([[0.0], [2.0], [1.5]])
print("loss:    ", mse(prediction, target), "  by hand:", np.mean((prediction - target) ** 2))
print("gradient:", mse.backward().ravel(), "  by hand:", (2 / 3 * (prediction - target)).ravel())
prediction, target = rng.standard_normal((6, 1)), rng.standard_normal((6, 1))
print(barenet.check_gradients(barenet.MSE(), prediction, target))
"""
    ),
    md(
        """
## Neural network

The `MLP` combines the pieces. Its constructor takes the teaching notebook's three arguments
(`layers`, `loss_fun`, `lr`), plus two optional keyword arguments: `seed`, which makes the
shuffling of the training data repeatable, and `optimizer` (see *Optimisers* below). Here are
its `forward`, `loss`, `backward` and `update` methods:

- `forward` passes the input through each layer in turn.
- `loss` applies the loss function.
- `backward` starts from the loss's gradient and passes it down through the layers in reverse
  order; each layer stores its own parameter gradients on the way.
- `update` takes one step with every layer's `step(lr)`, or with the optimiser if the model
  has one.
"""
    ),
    code(
        """
print("MLP" + str(inspect.signature(barenet.MLP)), end="\\n\\n")
for method in (barenet.MLP.forward, barenet.MLP.loss, barenet.MLP.backward, barenet.MLP.update):
    show(method)
"""
    ),
    md(
        """
### The training loop

`model.train(x_train, y_train, x_test, y_test, epochs, batch_size)` is the notebook's `train`.
It returns the history: `{"train_loss": [...], "val_loss": [...]}`, with one number per
epoch in each list. Each epoch is one pass over the shuffled training data, made by
`Trainer._run_batches`:
"""
    ),
    code("show(barenet.trainer.Trainer._run_batches)"),
    md(
        """
Reading it from the top:

1. The training rows are shuffled into a new order every epoch (with the model's seeded
   random generator), then cut into batches of `batch_size` rows; the last batch may be
   smaller.
2. For each batch: `forward`, `loss`, `backward`, then `update`. These are the notebook's
   four steps. Before the update, the gradients' overall size (norm) is measured, and scaled
   down if `clip_norm` is set and the norm is larger. If the loss or a gradient is not a
   finite number, training stops with a `TrainingDiverged` error, and the weights stay
   finite.
3. The epoch's training loss is the average of the batch losses, each weighted by its
   batch's number of rows.

`step` is usually the model itself, so training runs the model's methods, and through them
the layers' own `forward` and `backward`, including layers you write. When every part of the
model is one of barenet's unmodified built-ins, `step` is a `FusedStep` instead. It computes
the same numbers with fewer NumPy calls. `model.train(..., engine="methods")` always runs
the model's own methods. After each epoch, the loss on the validation data (`x_test`, `y_test`)
is measured and both losses are added to the history.
"""
    ),
    md(
        """
## Your own layer: Tanh

Now write a layer yourself, exactly the way the teaching notebook does:
$\\tanh(x)$, whose derivative is $1 - \\tanh(x)^2$. Subclass `barenet.Layer`, write
`forward(self, inp)` and `backward(self, up_grad)`, and that is all. The layer has no
parameters, so the inherited `step` has nothing to do. (barenet has its own `Tanh`; ours is
called `MyTanh` to tell them apart.)
"""
    ),
    code(
        """
class MyTanh(barenet.Layer):
    def forward(self, inp):
        self.out = np.tanh(inp)  # kept for backward
        return self.out

    def backward(self, up_grad):
        return up_grad * (1 - self.out**2)  # d tanh(x) / dx = 1 - tanh(x)^2


print(barenet.check_gradients(MyTanh(), rng.standard_normal((5, 8))))
"""
    ),
    md(
        """
This is what a mistake looks like. Suppose you forget the square in the derivative. The layer
still runs, and a network built with it still trains, badly. The check fails at once:
"""
    ),
    code(
        """
class BuggyTanh(MyTanh):
    def backward(self, up_grad):
        return up_grad * (1 - self.out)  # wrong: the derivative is 1 - out**2


print(barenet.check_gradients(BuggyTanh(), rng.standard_normal((5, 8))))
"""
    ),
    md(
        """
### Train it on California Housing

`load_california_housing` does the teaching notebook's preprocessing in one call. It loads
the data through scikit-learn, standardises the features and the target with
`StandardScaler`, and splits them with `train_test_split(test_size=0.2, random_state=42)`.
The two scalers are returned too, to convert back to the original units.
"""
    ),
    code(
        """
from barenet.tables.datasets import load_california_housing

data = load_california_housing()
x_train, x_test, y_train, y_test, scaler_x, scaler_y, *_ = data
print("features:", data.feature_names)
print("train:", x_train.shape, y_train.shape, "  test:", x_test.shape, y_test.shape)
"""
    ),
    md(
        """
A network with one hidden layer of 64 `MyTanh` units. `MyTanh` is not one of barenet's
built-ins, so training runs the model's own methods, and they call your `forward` and
`backward`. For comparison, we train a twin network with barenet's `Tanh`, from the same
initial weights and the same shuffling, on the `numpy` engine: the one that runs the
layers' own methods (barenet's `compiled` engine computes the same formulas in numba,
equal to rounding rather than bit for bit).
"""
    ),
    code(
        """
tanh_model = barenet.MLP(
    [barenet.Linear(8, 64, seed=0), MyTanh(), barenet.Linear(64, 1, seed=1)],
    barenet.MSE(),
    lr=0.01,
    seed=0,
)
history = tanh_model.train(x_train, y_train, x_test, y_test, epochs=5, batch_size=32)
print("MyTanh train loss per epoch:     ", " ".join(f"{v:.4f}" for v in history["train_loss"]))
print("MyTanh validation loss per epoch:", " ".join(f"{v:.4f}" for v in history["val_loss"]))

twin = barenet.MLP(
    [barenet.Linear(8, 64, seed=0), barenet.Tanh(), barenet.Linear(64, 1, seed=1)],
    barenet.MSE(),
    lr=0.01,
    seed=0,
)
twin.train(x_train, y_train, x_test, y_test, epochs=5, batch_size=32, engine="fused")
mine, builtin = tanh_model.state_dict(), twin.state_dict()
print("same weights as with barenet.Tanh:", all(np.array_equal(mine[k], builtin[k]) for k in mine))
"""
    ),
    md(
        """
### Your own `Linear` backward

A layer with parameters works the same way. Subclass `barenet.Linear`, which keeps its
constructor (with the Xavier initialisation) and its `forward`, and write `backward` with the
teaching notebook's formulas. `Layer.step` then updates `w` and `b` from the `dw` and `db`
you set.

We train the notebook's 8 → 64 → 64 → 1 network twice from the same initial weights: once
with barenet's `Linear`, which trains on the fused path, and once with `MyLinear`, which
trains through the model's own methods and your `backward`. The two end with exactly the same
weights.
"""
    ),
    code(
        """
class MyLinear(barenet.Linear):
    def backward(self, up_grad):
        self.dw = self.inp.T @ up_grad  # dL/dW = inp^T . up_grad
        self.db = up_grad.sum(axis=0, keepdims=True)  # dL/db = up_grad summed over the batch
        return up_grad @ self.w.T  # down_grad = up_grad . W^T


print(barenet.check_gradients(MyLinear(8, 4, seed=0), rng.standard_normal((5, 8))))


def notebook_layers(linear=barenet.Linear):
    \"\"\"The notebook's network, 8 -> 64 -> 64 -> 1 with Relu, from fixed seeds.\"\"\"
    return [
        linear(8, 64, seed=0),
        barenet.Relu(),
        linear(64, 64, seed=1),
        barenet.Relu(),
        linear(64, 1, seed=2),
    ]


builtin = barenet.MLP(notebook_layers(barenet.Linear), barenet.MSE(), lr=0.01, seed=0)
mine = barenet.MLP(notebook_layers(MyLinear), barenet.MSE(), lr=0.01, seed=0)
builtin.train(x_train, y_train, x_test, y_test, epochs=2, batch_size=32, engine="fused")
mine.train(x_train, y_train, x_test, y_test, epochs=2, batch_size=32)
print("train loss with barenet.Linear:", builtin.history["train_loss"])
print("train loss with MyLinear:      ", mine.history["train_loss"])
a, b = builtin.state_dict(), mine.state_dict()
same = all(np.array_equal(a[k], b[k]) for k in a)
print("same weights with MyLinear as with barenet.Linear:", same)
"""
    ),
    md(
        """
## Regression training

These are the teaching notebook's last cells: define the layers, define the model, train it,
and plot the losses. The network is 8 → 64 → 64 → 1 with `Relu`, trained on the `MSE` loss
with a learning rate of 0.01 and batches of 32 rows.

`clip_norm=1.0` is a safety net. Whenever the gradients' overall size (their global L2 norm)
is above 1, they are scaled down to 1 before the step, so one unusual batch cannot throw the
weights far off. Ten epochs take about a second here; more epochs improve the result a bit more.
"""
    ),
    code(
        """
# define layers
layers = [
    barenet.Linear(8, 64, seed=0),
    barenet.Relu(),
    barenet.Linear(64, 64, seed=1),
    barenet.Relu(),
    barenet.Linear(64, 1, seed=2),
]
# define model
model = barenet.MLP(layers, barenet.MSE(), lr=0.01, seed=0)
# train model
history = model.train(x_train, y_train, x_test, y_test, epochs=10, batch_size=32, clip_norm=1.0)
losses = zip(history["train_loss"], history["val_loss"], strict=True)
for epoch, (train, val) in enumerate(losses, 1):
    print(f"epoch {epoch:2d}   train loss {train:.4f}   validation loss {val:.4f}")
"""
    ),
    md("### Plot train and validation loss"),
    code(
        """
from IPython.display import Image

Image(filename=str(barenet.plot_losses(history, "losses.png")))
"""
    ),
    md(
        """
The validation loss goes down every epoch. The training loss goes down too, but it is bumpier
and mostly a little above the validation loss, although the network learns from those very
rows. There are two reasons. First, an epoch's training loss is the average of its batch
losses, measured *during* the epoch while the weights are still improving; the validation
loss is measured at the end of the epoch. Second, the training rows include a few extreme
ones. Here are the training rows with the largest errors after training:
"""
    ),
    code(
        """
squared_error = ((model.predict(x_train) - y_train) ** 2).ravel()
worst = np.argsort(squared_error)[::-1][:4]
column = data.feature_names.index("AveOccup")
occupancy = scaler_x.inverse_transform(x_train[worst])[:, column]
for row, people in zip(worst, occupancy, strict=True):
    print(f"training row {row:5d}: squared error {squared_error[row]:6.1f}, AveOccup {people:.0f}")
without = np.delete(squared_error, worst).mean()
print(f"mean squared error {squared_error.mean():.3f}; without these {len(worst)}: {without:.3f}")
test_occupancy = scaler_x.inverse_transform(x_test)[:, column]
print(f"the largest AveOccup among the test rows: {test_occupancy.max():.0f}")
"""
    ),
    md(
        """
A few census blocks report hundreds of people per household (probably dormitories or other
group housing). After standardisation, such values lie up to about a hundred standard
deviations from the mean. The network has seen almost nothing like them, and its Relu units
extrapolate in straight lines, so its predictions for these rows are far off. Whenever one of
them is in a batch, that batch's loss and gradients jump: this is where `clip_norm` helps.
No test row is that extreme (see the largest test value above). A loss that is less
sensitive to outliers (`barenet.Huber`), or capping extreme feature values, would help
further, but that is beyond the teaching notebook.

What matters in the end is the error on the test rows, in the target's original units
(hundreds of thousands of dollars). `scaler_y.inverse_transform` undoes the standardisation:
"""
    ),
    code(
        """
def test_rmse(model):
    \"\"\"Root mean squared error on the test rows, in $100,000.\"\"\"
    prediction = scaler_y.inverse_transform(model.predict(x_test))
    truth = scaler_y.inverse_transform(y_test)
    return float(np.sqrt(np.mean((prediction - truth) ** 2)))


rmse = test_rmse(model)
mean_price = scaler_y.inverse_transform(y_train).mean()
baseline = np.sqrt(np.mean((scaler_y.inverse_transform(y_test) - mean_price) ** 2))
print(f"test RMSE: {rmse:.3f} (x $100,000, about ${rmse * 100_000:,.0f})")
print(f"always predicting the mean training price: RMSE {baseline:.3f}")
"""
    ),
    md(
        """
## Inside training: gradients, dead units and saturation

The loss curve says *whether* a network learns, not *why* it learns slowly or not at all.
`barenet.Diagnostics` is a training callback that looks inside. Before training and after
every epoch it runs one fixed batch of 256 training rows through the model's own `forward`,
`loss` and `backward`, and records for each layer the gradient norm of its weights, how far
the weights moved during the epoch relative to their size (the update-to-weight ratio), the
mean and spread of its outputs, the share of *dead* Relu units (zero for every row) or of
*saturated* Sigmoid and Tanh outputs (where the derivative is almost 0), and histograms of
weights and activations. `barenet.plot_diagnostics` draws it all in one figure.

Three contrasts, each trained for 6 epochs on the full training split:
"""
    ),
    code(
        """
from IPython.display import display


def watch(activation=barenet.Relu, init_scale=1.0, lr=0.01, clip_norm=1.0, epochs=6):
    \"\"\"Train the notebook's network, watched; return (diagnostics, outcome).\"\"\"
    layers = notebook_layers()
    layers[1], layers[3] = activation(), activation()
    for linear in layers[::2]:
        linear.w *= init_scale  # 1.0: Xavier's scale
    model = barenet.MLP(layers, barenet.MSE(), lr=lr, seed=0)
    diagnostics = barenet.Diagnostics(model, x_train, y_train)
    try:
        model.train(
            x_train,
            y_train,
            x_test,
            y_test,
            epochs=epochs,
            batch_size=32,
            clip_norm=clip_norm,
            callbacks=[diagnostics],
        )
        losses = ", ".join(f"{v:.2f}" for v in model.history["val_loss"])
        outcome = f"validation loss per epoch: {losses}"
    except barenet.TrainingDiverged as error:
        outcome = str(error).split(". ")[0]
    return diagnostics, outcome


def describe(name, diagnostics, outcome):
    layers = diagnostics.history["layers"]
    first, last = layers[0], layers[-1]
    health = [f"{e['health']} {max(e['share']):.0%}" for e in layers if e["health"]]
    print(f"{name}:")
    print(
        f"  gradient norm, first layer {first['grad_norm']['w'][-1]:.3f}, "
        f"last layer {last['grad_norm']['w'][-1]:.3f}"
    )
    ratios = first["update_ratio"]["w"][1:]  # none if the first epoch diverged
    if ratios:
        print(f"  first layer's largest update/weight ratio {max(ratios):.2f}")
    print(f"  units at worst: {', '.join(health)}")
    print(f"  {outcome}")


relu = watch(barenet.Relu)
sigmoid = watch(barenet.Sigmoid)
describe("Relu", *relu)
describe("Sigmoid", *sigmoid)
display(Image(filename=str(barenet.plot_diagnostics(sigmoid[0], "sigmoid.png"))))
"""
    ),
    md(
        """
**Sigmoid against Relu.** The Sigmoid's derivative is at most 0.25, and the gradient is
multiplied by it once per layer on the way back. So with Sigmoid the first layer's gradient
is less than half the last layer's, and a fraction of what the same layer gets with Relu
(top-left panel): it learns slowly, and after six epochs the validation loss is well above
Relu's. Relu's derivative is 1 wherever a unit is active, so the gradient reaches the first
layer undiminished.
"""
    ),
    code(
        """
xavier = watch(barenet.Tanh)
too_large = watch(barenet.Tanh, init_scale=6.0)
describe("Tanh, Xavier initialisation", *xavier)
describe("Tanh, weights 6 times larger", *too_large)
display(Image(filename=str(barenet.plot_diagnostics(too_large[0], "too_large.png"))))
"""
    ),
    md(
        """
**Xavier against a too-large initialisation.** Xavier's scale keeps each layer's outputs
about as spread as its inputs. Six times larger weights push many Tanh outputs against -1
and +1: the activation histograms pile up at the ends, and a large share of the outputs is
saturated, where the derivative is almost 0 and those units stop learning. The gradients
are not small in absolute terms (the large weights after them amplify them), but relative
to the weights' size the updates are a fraction of Xavier's (the update/weight ratio), and
the validation loss starts far higher and falls slowly.
"""
    ),
    code(
        """
clipped = watch(clip_norm=1.0)
unclipped = watch(clip_norm=None)
describe("plain SGD, clip_norm=1.0", *clipped)
describe("plain SGD, no clipping", *unclipped)
describe("plain SGD, lr 0.03, no clipping", *watch(lr=0.03, clip_norm=None))
display(Image(filename=str(barenet.plot_diagnostics(unclipped[0], "unclipped.png"))))
"""
    ),
    md(
        """
**The notebook's SGD with and without clipping.** Without clipping, the few extreme rows
seen above (hundreds of people per household) produce huge gradients whenever they land in a
batch. The weights jump: the first layer's update/weight ratio is about twice as large as
with clipping, and the validation loss can spike (here, after the first epoch). At three
times the learning rate, one such jump is enough to make the loss overflow, and training
stops with `TrainingDiverged` (the weights are kept finite). With `clip_norm=1.0`, no
single batch can move the weights far.
"""
    ),
    md(
        """
# Beyond the teaching notebook

## The command line

Installing barenet also installs a `barenet` command. With no arguments it trains the
notebook's network on California Housing (30 epochs by default) and prints a summary. In a
notebook, a line that starts with `!` runs in a shell. First we make sure the shell finds the
`barenet` command installed next to the Python that runs this notebook:
"""
    ),
    code(
        """
import os
import sys

os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])
!barenet --epochs 3 --plot none --quiet
"""
    ),
    md(
        """
The summary compares the network with two baselines on the test rows: always predicting the
training mean, and a least-squares linear fit. `barenet train --help` lists every option; the same
names (`--hidden 64,64`, `--lr`, `--batch-size`, `--optimizer`, ...) appear again in the
scikit-learn estimators below.

## Your own data: a CSV file

`barenet train --data FILE.csv --target COLUMN` trains on a table (CSV or Parquet) with a
header row: numbers, true/false, text columns (one-hot encoded) and blank cells (filled with
the training median). The target column is predicted from all the other columns (or from
those listed with `--features`). Features and target are scaled with a `StandardScaler`
fitted on the training rows, and 20% of the rows are held out as a test split. With no network
option, the model is one chosen for tables (`--recipe auto`, see README); here we give the
notebook's options instead.

As an example, we write scikit-learn's diabetes data set to a CSV file: 442 patients,
10 measurements each, and the progression of their disease one year later. We keep the last
42 patients out of the training file, to evaluate the model on patients it has never seen.
"""
    ),
    code(
        """
from sklearn.datasets import load_diabetes

diabetes = load_diabetes(as_frame=True).frame.rename(columns={"target": "progression"})
diabetes.iloc[:400].to_csv("diabetes.csv", index=False)  # for training
diabetes.iloc[400:].to_csv("diabetes_holdout.csv", index=False)  # never seen in training
diabetes.iloc[400:403].drop(columns="progression").to_csv("new_patients.csv", index=False)
diabetes.head()
"""
    ),
    code(
        """
!barenet train --data diabetes.csv --target progression --hidden 32 --epochs 50 \\
    --save diabetes.npz --plot none --quiet
"""
    ),
    md(
        """
Compare the `barenet MLP` line with the `least squares` line. With only 320 training rows,
a neural network has little to gain over a straight-line fit, and it may even do slightly
worse. This is why the summary always prints the baselines.

The saved file keeps the scalers and the column names along with the weights. So
`barenet predict` takes raw rows, without the target column, and returns predictions in the
original units:
"""
    ),
    code("!barenet predict --model diabetes.npz --data new_patients.csv"),
    md(
        """
`barenet evaluate` measures the model on a labelled CSV file, here the 42 held-out patients:
"""
    ),
    code("!barenet evaluate --model diabetes.npz --data diabetes_holdout.csv"),
    md(
        """
## Optimisers and learning-rate schedules

The teaching notebook's update is plain gradient descent: `layer.step(lr)`. barenet also has
`SGD` (with momentum), `Adam`, `AdamW` and `RMSprop`, which use the same formulas as
`torch.optim`. Pass one to the model as `optimizer=`. The model hands it its parameters, and
`update` calls the optimiser's `step()` instead (see `MLP.update` above).

A schedule changes the learning rate after each epoch. `CosineAnnealingLR` lowers it along a
half cosine curve, from its initial value down to `eta_min` over `t_max` epochs. A callback
(a function called after each epoch) records the learning rate.
"""
    ),
    code(
        """
adam = barenet.Adam(lr=1e-3)
adam_model = barenet.MLP(notebook_layers(), barenet.MSE(), optimizer=adam, seed=0)
schedule = barenet.CosineAnnealingLR(adam, t_max=5, eta_min=1e-5)
rates = [adam.lr]  # the learning rate of the first epoch; the callback adds the next ones


def record_lr(model, epoch, logs):
    rates.append(logs["lr"])


adam_history = adam_model.train(
    x_train,
    y_train,
    x_test,
    y_test,
    epochs=5,
    batch_size=32,
    schedule=schedule,
    callbacks=[record_lr],
)
losses = zip(adam_history["train_loss"], adam_history["val_loss"], strict=True)
for epoch, (train, val) in enumerate(losses, 1):
    lr = rates[epoch - 1]
    print(f"epoch {epoch}   lr {lr:.6f}   train loss {train:.4f}   validation loss {val:.4f}")
print(f"learning rate after the last epoch: {rates[-1]:.6f}")
print(f"test RMSE after 5 epochs of Adam: {test_rmse(adam_model):.3f}")
print(f"test RMSE after 10 epochs of SGD:  {rmse:.3f}")
"""
    ),
    md(
        """
## Saving and loading

`barenet.save(model, path)` writes one `.npz` file. It holds the weights and a JSON
description of the network, and no pickle, so loading a file cannot run code.
`barenet.load(path)` rebuilds the model from it:
"""
    ),
    code(
        """
path = barenet.save(model, "california.npz")
again = barenet.load(path)
print(again)
print("identical predictions:", np.array_equal(again.predict(x_test), model.predict(x_test)))
print("history kept:", len(again.history["train_loss"]), "epochs")
"""
    ),
    md(
        """
A file can only describe barenet's own building blocks. A model with your `MyTanh` cannot
be rebuilt from a file, and barenet tells you so. You can still keep its weights: save
`state_dict()` with NumPy, and put them back into a model built the same way with
`load_state_dict`.
"""
    ),
    code(
        """
try:
    barenet.save(tanh_model, "tanh.npz")
except TypeError as error:
    print(type(error).__name__ + ":", error)

np.savez("tanh_weights.npz", **tanh_model.state_dict())
rebuilt = barenet.MLP(
    [barenet.Linear(8, 64), MyTanh(), barenet.Linear(64, 1)], barenet.MSE(), lr=0.01
)
with np.load("tanh_weights.npz") as weights:
    rebuilt.load_state_dict(dict(weights))
same = np.array_equal(rebuilt.predict(x_test), tanh_model.predict(x_test))
print("identical predictions:", same)
"""
    ),
    md(
        """
## scikit-learn estimators

`BarenetRegressor` and `BarenetClassifier` wrap a barenet network as a scikit-learn
estimator. They work with pipelines, cross-validation and grid search. Their parameters have
the same names as the command line's options (`hidden`, `lr`, `epochs`, `batch_size`, ...),
except `random_state` for the seed. Their defaults differ in three places: Adam, a learning
rate of 1e-3, and 200 epochs. They do no scaling of their own, so put a `StandardScaler` in
front of them in a pipeline:
"""
    ),
    code(
        """
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from barenet.sklearn.estimators import BarenetRegressor

features, progression = load_diabetes(return_X_y=True)
xd_train, xd_test, yd_train, yd_test = train_test_split(
    features, progression, test_size=0.2, random_state=42
)
net = make_pipeline(
    StandardScaler(),
    BarenetRegressor(hidden=(32,), lr=0.01, epochs=100, batch_size=32, random_state=0),
)
net.fit(xd_train, yd_train)
print(f"barenet R^2 on the test rows:       {net.score(xd_test, yd_test):.3f}")
linear = make_pipeline(StandardScaler(), LinearRegression()).fit(xd_train, yd_train)
print(f"least squares R^2 on the test rows: {linear.score(xd_test, yd_test):.3f}")

scores = cross_val_score(net, features, progression, cv=5, scoring="r2")
print("5-fold cross-validated R^2 of barenet:", scores.round(3), "mean", scores.mean().round(3))
"""
    ),
    md(
        """
## The tabular recipe

`recipe="tabular"` (`barenet --recipe tabular` on the command line) adds the pieces that
let an MLP compete with gradient boosting on tables: each feature cut at its training
quantiles and encoded piecewise-linearly (`PiecewiseLinearEncoding`), a small linear
layer per feature (`FeatureLinear`), and a TabM-style ensemble of members that share their
hidden weights (`Ensemble`, `MemberScale`, `EnsembleLinear`, `EnsembleMean`). Each has its
backward beside its forward, and `check_gradients` checks them like any other layer. Here
is a smaller version (4 members, 32 epochs at most) on the diabetes rows, against the
plain network above:
"""
    ),
    code(
        """
from barenet.tabular.embeddings import quantile_bins

edges = quantile_bins(xd_train[:, :2], 8)
encoding = barenet.PiecewiseLinearEncoding(edges, dtype=np.float64)
print(barenet.check_gradients(encoding, xd_train[:5, :2]))

tabular = BarenetRegressor(recipe="tabular", ensemble=4, epochs=32, random_state=0)
tabular.fit(xd_train, yd_train)
print(f"tabular recipe R^2 on the test rows: {tabular.score(xd_test, yd_test):.3f}")
print([type(layer).__name__ for layer in tabular.model_.layers])
"""
    ),
    md(
        """
## Where to go next

- `barenet.check_gradients` works on any layer or loss you write. Run it before training.
- `barenet.BatchNorm1d`, `barenet.Dropout`, `barenet.GELU`, `barenet.LeakyRelu` and the
  `CrossEntropy`, `BCEWithLogits`, `Huber` and `MAE` losses are all written the same way.
  `show(...)` any of them.
- `barenet train --dataset digits` trains a classifier; `barenet tune` searches over
  hyper-parameters; `barenet export-onnx` exports a saved model to ONNX.
"""
    ),
]


def build() -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    notebook.metadata["language_info"] = {"name": "python"}
    for kind, source in CELLS:
        make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        notebook.cells.append(make(source))
    return notebook


def execute(notebook, workdir: Path) -> nbformat.NotebookNode:
    """Run every cell in a fresh kernel, in ``workdir`` (where the notebook's files go)."""
    NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
    ).execute()
    for cell in notebook.cells:  # some IPython versions end a shell command's output with a
        for output in cell.get("outputs", []):  # terminal colour reset: not content
            if output.get("output_type") == "stream":
                output["text"] = ANSI_ESCAPE.sub("", output["text"])
    return notebook


if __name__ == "__main__":
    import os
    import tempfile

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TMPDIR"] = tmp  # the notebook's own temporary folder goes in here too
        notebook = execute(build(), Path(tmp))
    seconds = time.perf_counter() - started
    nbformat.write(notebook, NOTEBOOK)
    print(f"executed in {seconds:.1f} s; wrote {NOTEBOOK}")

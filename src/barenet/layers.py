"""Layers: the notebook's ``Layer`` contract, ``Linear``, and the structural layers.

Every layer has ``forward(inp)`` and ``backward(up_grad)``; the backward rule sits
beside its forward. A layer with trainable parameters lists their attribute names
in ``param_names``; for each name ``p`` it holds the array ``self.p`` and its
gradient ``self.dp`` of the same shape. That is the one thing an optimiser needs
to know about a layer, so a user-written layer that follows it trains with any
optimiser.
"""

from __future__ import annotations

import inspect

import numpy as np

from barenet._checks import as_rng, check_dtype, check_number, check_positive_int
from barenet.errors import BarenetValueError, UsageError
from barenet.initializers import INITIALIZERS
from barenet.registry import ACTIVATIONS, LAYERS


class Parameter:
    """A reference to one trainable array of a layer and its gradient.

    ``value`` is ``layer.<name>`` and ``grad`` is ``layer.d<name>``; both are read
    through the layer each time, so a layer may replace its arrays.
    """

    __slots__ = ("key", "layer", "name")

    def __init__(self, layer: Layer, name: str, key: str | None = None) -> None:
        self.layer = layer
        self.name = name
        self.key = name if key is None else key  # "0.w" when it comes from a model

    @property
    def value(self) -> np.ndarray:
        return getattr(self.layer, self.name)

    @property
    def grad(self) -> np.ndarray:
        return getattr(self.layer, "d" + self.name)

    def __repr__(self) -> str:
        return f"Parameter({self.key!r}, {type(self.layer).__name__}, shape={self.value.shape})"


def config_arguments(cls, config: dict) -> dict:
    """The arguments ``cls(**config)`` would receive, its defaults filled in, without
    building it (a ``TypeError`` for an argument ``cls`` does not take)."""
    bound = inspect.signature(cls).bind(**config)
    bound.apply_defaults()
    return dict(bound.arguments)


class Layer:
    """Abstract layer: ``forward``, ``backward`` and ``step``, as in the notebook.

    Subclasses implement ``forward(inp)`` and ``backward(up_grad)``. A subclass
    with parameters sets ``param_names`` (e.g. ``("w", "b")``) and keeps, for each
    name ``p``, the arrays ``self.p`` and ``self.dp``; ``step``, ``parameters``
    and ``zero_grad`` then work without more code.

    Gradients are *overwritten* by each ``backward``, as in the notebook (not
    accumulated, as in PyTorch), so nothing needs to be zeroed between steps;
    ``zero_grad`` exists for PyTorch habits and sets the gradients to zero.
    """

    param_names: tuple[str, ...] = ()
    training: bool = True
    onnx_op: str | None = None  # the ONNX operator of a parameter-free layer, if any

    def __init__(self) -> None:
        self.inp = None
        self.out = None

    def __call__(self, inp: np.ndarray) -> np.ndarray:
        return self.forward(inp)

    def forward(self, inp: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, up_grad: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def step(self, lr: float) -> None:
        """Plain SGD on every parameter: ``p -= lr * dp`` (nothing to do without any)."""
        for name in self.param_names:
            value = getattr(self, name)
            value -= lr * getattr(self, "d" + name)

    def parameters(self) -> list[Parameter]:
        return [Parameter(self, name) for name in self.param_names]

    def zero_grad(self) -> None:
        """Set every gradient to zero (not needed between steps: backward overwrites)."""
        for name in self.param_names:
            getattr(self, "d" + name)[...] = 0

    def train(self, mode: bool = True) -> Layer:
        self.training = bool(mode)
        return self

    def eval(self) -> Layer:
        return self.train(False)

    def config(self) -> dict:
        """The constructor arguments that rebuild this layer (used by ``barenet.save``)."""
        return {}

    @classmethod
    def stored_shapes(cls, config: dict) -> dict[str, tuple] | None:
        """The shape of each parameter and buffer a layer built from ``config`` holds, by
        name, computed without building it: what a model file must store for it, checked
        before anything is allocated (``barenet.io.file_checks``). ``{}`` for a layer
        without any; ``None`` (its file is refused) for a class with some that does not
        say: a layer with parameters that can be loaded overrides this."""
        if cls.param_names or hasattr(cls, "buffers"):
            return None
        return {}

    @classmethod
    def derived_size(cls, config: dict) -> int:
        """How many numbers a layer built from ``config`` allocates besides its stored
        arrays and their gradients (tables computed from its configuration): 0."""
        return 0

    def onnx_attributes(self) -> dict:
        """Attributes of the ``onnx_op`` node (e.g. LeakyRelu's ``alpha``)."""
        return {}

    def onnx_nodes(self, graph, inp: str) -> str:
        """Add this layer's evaluation-mode computation to an ONNX graph.

        ``inp`` names a float32 tensor of shape (N, in_dim); ``graph`` offers
        ``node(op, inputs, **attributes)``, ``constant(name, array)`` and
        ``cast(inp, dtype)``, each returning a name (``barenet.io.onnx.graph``). Returns
        the name of the output, shape (N, out_dim). By default one ``onnx_op`` node; a
        layer with neither cannot be exported.
        """
        if self.onnx_op is None:
            raise BarenetValueError(
                f"{type(self).__name__} has no ONNX form: give it an onnx_op or an "
                "onnx_nodes(graph, inp) method"
            )
        return graph.node(self.onnx_op, [inp], **self.onnx_attributes())

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


@LAYERS.register("linear")
class Linear(Layer):
    """Fully connected layer: ``out = inp @ w + b``.

    Parameters
    ----------
    in_dim, out_dim : int
        Input and output features.
    dtype : float32 (default) or float64, keyword-only
    seed : None, int or numpy.random.Generator, keyword-only
        Source of the initial weights.
    init : str, keyword-only
        ``"glorot_uniform"`` (default: Xavier/Glorot *uniform*,
        U(-a, a) with a = sqrt(6 / (in_dim + out_dim))), ``"glorot_normal"``,
        ``"he_uniform"`` or ``"he_normal"``.

    Attributes
    ----------
    w, dw : ndarray, shape (in_dim, out_dim)
    b, db : ndarray, shape (1, out_dim), ``b`` starts at zero
    """

    param_names = ("w", "b")
    seed_stream = "init"  # the model builder seeds it from the model's initialisation stream

    def __init__(
        self, in_dim: int, out_dim: int, *, dtype=np.float32, seed=None, init="glorot_uniform"
    ) -> None:
        super().__init__()
        self.in_dim = check_positive_int(in_dim, "Linear in_dim")
        self.out_dim = check_positive_int(out_dim, "Linear out_dim")
        dtype = check_dtype(dtype)
        self.init = init
        rng = as_rng(seed, "Linear")
        self.w = INITIALIZERS.lookup(init)(self.in_dim, self.out_dim, rng, dtype)
        self.b = np.zeros((1, self.out_dim), dtype=dtype)
        # np.zeros, not zeros_like: its memory is not written (nor counted) until used
        self.dw = np.zeros(self.w.shape, self.w.dtype)
        self.db = np.zeros(self.b.shape, self.b.dtype)

    def forward(self, inp: np.ndarray) -> np.ndarray:
        """inp: (batch_size, in_dim) -> out: (batch_size, out_dim)."""
        if inp.ndim != 2 or inp.shape[1] != self.in_dim:
            raise BarenetValueError(
                f"Linear({self.in_dim}, {self.out_dim}) expects input of shape "
                f"(batch_size, {self.in_dim}), got {inp.shape}"
            )
        self.inp = inp
        out = inp @ self.w
        out += self.b
        return out

    def backward(self, up_grad: np.ndarray) -> np.ndarray:
        """up_grad: (batch_size, out_dim) -> down_grad: (batch_size, in_dim).

        Sets ``dw = inp.T @ up_grad`` and ``db`` = ``up_grad`` summed over the batch.
        """
        if self.inp is None:
            raise UsageError("Linear.backward() called before forward()")
        self.dw = self.inp.T @ up_grad
        self.db = up_grad.sum(axis=0, keepdims=True)
        return up_grad @ self.w.T

    def onnx_nodes(self, graph, inp: str) -> str:
        """Gemm: inp @ w + b."""
        w, b = graph.constant("w", self.w), graph.constant("b", self.b.reshape(-1))
        return graph.node("Gemm", [inp, w, b])

    def config(self) -> dict:
        return {
            "in_dim": self.in_dim,
            "out_dim": self.out_dim,
            "init": self.init,
            "dtype": str(self.w.dtype),
        }

    @classmethod
    def stored_shapes(cls, config: dict) -> dict[str, tuple]:
        """``w`` (in_dim, out_dim) and ``b`` (1, out_dim)."""
        arguments = config_arguments(cls, config)
        return {"w": (arguments["in_dim"], arguments["out_dim"]), "b": (1, arguments["out_dim"])}


@ACTIVATIONS.register("identity")
class Identity(Layer):
    """Passes its input through unchanged."""

    def forward(self, inp: np.ndarray) -> np.ndarray:
        return inp

    def backward(self, up_grad: np.ndarray) -> np.ndarray:
        return up_grad

    def onnx_nodes(self, graph, inp: str) -> str:
        return inp


@LAYERS.register("dropout")
class Dropout(Layer):
    """Inverted dropout: zero each input with probability ``p`` and scale the rest by
    ``1 / (1 - p)`` in training mode; the identity in evaluation mode.

    The mask drawn in ``forward`` is kept in ``self.mask`` (shape of the input).
    """

    seed_stream = "dropout"

    def __init__(self, p: float = 0.5, *, seed=None) -> None:
        super().__init__()
        self.p = check_number(p, "Dropout p", minimum=0.0, maximum=1.0, open_max=True)
        self.rng = as_rng(seed, "Dropout")
        self.mask = None

    def forward(self, inp: np.ndarray) -> np.ndarray:
        if not self.training or self.p == 0.0:
            self.mask = None
            return inp
        keep = self.rng.random(inp.shape) >= self.p
        self.mask = keep.astype(inp.dtype) / inp.dtype.type(1.0 - self.p)
        return inp * self.mask

    def backward(self, up_grad: np.ndarray) -> np.ndarray:
        return up_grad if self.mask is None else up_grad * self.mask

    def onnx_nodes(self, graph, inp: str) -> str:
        """The identity: dropout is off in evaluation mode."""
        return inp

    def config(self) -> dict:
        return {"p": self.p}


@LAYERS.register("batchnorm")
class BatchNorm1d(Layer):
    """Batch normalisation over the batch axis, as ``torch.nn.BatchNorm1d``.

    Training mode normalises with the batch mean and (biased) variance and updates
    the running statistics with ``momentum`` (running variance is unbiased, as in
    PyTorch); evaluation mode uses the running statistics. A training batch of one
    row (e.g. the last, partial batch) normalises to ``beta`` and leaves the running
    statistics alone, where PyTorch would raise.

    Attributes
    ----------
    gamma, dgamma, beta, dbeta : ndarray, shape (1, num_features)
    running_mean, running_var : ndarray, shape (1, num_features)
    """

    param_names = ("gamma", "beta")

    def __init__(
        self, num_features: int, *, momentum: float = 0.1, eps: float = 1e-5, dtype=np.float32
    ) -> None:
        super().__init__()
        self.num_features = check_positive_int(num_features, "BatchNorm1d num_features")
        dtype = check_dtype(dtype)
        self.momentum = check_number(momentum, "BatchNorm1d momentum", minimum=0.0, maximum=1.0)
        self.eps = check_number(eps, "BatchNorm1d eps", minimum=0.0)
        shape = (1, self.num_features)
        self.gamma = np.ones(shape, dtype=dtype)
        self.beta = np.zeros(shape, dtype=dtype)
        self.dgamma = np.zeros(shape, dtype=dtype)
        self.dbeta = np.zeros(shape, dtype=dtype)
        self.running_mean = np.zeros(shape, dtype=dtype)
        self.running_var = np.ones(shape, dtype=dtype)

    def forward(self, inp: np.ndarray) -> np.ndarray:
        if inp.ndim != 2 or inp.shape[1] != self.num_features:
            raise BarenetValueError(
                f"BatchNorm1d({self.num_features}) expects input of shape "
                f"(batch_size, {self.num_features}), got {inp.shape}"
            )
        if self.training:
            mean = inp.mean(axis=0, keepdims=True)
            var = inp.var(axis=0, keepdims=True)
            n = inp.shape[0]
            if n > 1:  # a batch of one row (a last partial batch) has no variance estimate
                m = self.momentum
                self.running_mean *= 1 - m
                self.running_mean += m * mean
                self.running_var *= 1 - m
                self.running_var += m * var * (n / (n - 1))
        else:
            mean, var = self.running_mean, self.running_var
        self.inv_std = 1.0 / np.sqrt(var + self.eps)
        self.x_hat = (inp - mean) * self.inv_std
        return self.x_hat * self.gamma + self.beta

    def backward(self, up_grad: np.ndarray) -> np.ndarray:
        self.dgamma[...] = np.sum(up_grad * self.x_hat, axis=0, keepdims=True)
        self.dbeta[...] = np.sum(up_grad, axis=0, keepdims=True)
        grad_x_hat = up_grad * self.gamma
        if not self.training:
            return grad_x_hat * self.inv_std
        # d/dx of (x - mean) / std with batch statistics
        mean_grad = grad_x_hat.mean(axis=0, keepdims=True)
        mean_grad_x = (grad_x_hat * self.x_hat).mean(axis=0, keepdims=True)
        return (grad_x_hat - mean_grad - self.x_hat * mean_grad_x) * self.inv_std

    def onnx_nodes(self, graph, inp: str) -> str:
        """BatchNormalization with the running statistics (evaluation mode)."""
        arrays = ("gamma", "beta", "running_mean", "running_var")
        names = [graph.constant(name, getattr(self, name).reshape(-1)) for name in arrays]
        return graph.node("BatchNormalization", [inp, *names], epsilon=self.eps)

    def config(self) -> dict:
        return {
            "num_features": self.num_features,
            "momentum": self.momentum,
            "eps": self.eps,
            "dtype": str(self.gamma.dtype),
        }

    def buffers(self) -> dict[str, np.ndarray]:
        """Non-trainable state saved with the model."""
        return {"running_mean": self.running_mean, "running_var": self.running_var}

    @classmethod
    def stored_shapes(cls, config: dict) -> dict[str, tuple]:
        """Each of ``gamma``, ``beta``, ``running_mean``, ``running_var``: (1, num_features)."""
        shape = (1, config_arguments(cls, config)["num_features"])
        return dict.fromkeys(("gamma", "beta", "running_mean", "running_var"), shape)

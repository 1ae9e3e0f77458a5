"""``FusedStep``: the notebook's four training methods, with fewer NumPy calls.

``MLP.train`` runs each batch as ``forward``, ``loss``, ``backward``, ``update``. When
the model, its layers, its loss and its optimiser are all barenet's built-ins with no
method replaced, it calls those four on a ``FusedStep`` instead of on the model. The
differences are only in how the same numbers are computed:

- ``Linear``'s gradients are written in place (into the optimiser's flat buffer when
  it is fused) instead of into new arrays;
- the first ``Linear`` layer's input gradient, which nothing uses, is not computed;
- a ``Linear`` with one output propagates its gradient as an outer product (each
  element is one product either way);
- the plain SGD of ``Layer.step(lr)`` runs as one fused ``SGD`` update.

Every other layer's and the loss's own ``forward`` and ``backward`` are called as
they are. ``tests/test_fast.py`` checks that both paths give bit-identical weights.
"""

from __future__ import annotations

import numpy as np

from barenet.activations import GELU, LeakyRelu, Relu, Sigmoid, Softmax, Tanh
from barenet.layers import BatchNorm1d, Dropout, Identity, Linear
from barenet.losses import MAE, MSE, BCEWithLogits, CrossEntropy, Huber
from barenet.optimizers import SGD, Adam, AdamW, RMSprop

BUILTIN_LAYERS = (Linear, Relu, Sigmoid, Tanh, LeakyRelu, GELU, Softmax, Identity, Dropout)
BUILTIN_LAYERS += (BatchNorm1d,)
BUILTIN_LOSSES = (MSE, MAE, Huber, BCEWithLogits, CrossEntropy)
BUILTIN_OPTIMIZERS = (SGD, Adam, AdamW, RMSprop)
MODEL_METHODS = ("forward", "loss", "backward", "update")


def _replaced(obj, names) -> list[str]:
    """Methods replaced on the instance itself (``layer.backward = my_function``)."""
    return [name for name in names if name in vars(obj)]


def why_not_fused(model) -> str | None:
    """None if ``FusedStep`` computes exactly what the model's methods do; else why not."""
    cls = type(model)
    if cls.__module__ != "barenet.model" or _replaced(model, MODEL_METHODS):
        return f"the model ({cls.__name__}) is not barenet's MLP with its own methods"
    for i, layer in enumerate(model.layers):
        if type(layer) not in BUILTIN_LAYERS or _replaced(layer, ("forward", "backward", "step")):
            return f"layer {i} ({type(layer).__name__}) is not a built-in layer"
    loss = model.loss_fun
    if type(loss) not in BUILTIN_LOSSES or _replaced(loss, ("forward", "backward")):
        return f"the loss ({type(loss).__name__}) is not a built-in loss"
    optimizer = model.optimizer
    if optimizer is not None and (
        type(optimizer) not in BUILTIN_OPTIMIZERS
        or _replaced(optimizer, ("step", "update", "update_one"))
    ):
        return f"the optimiser ({type(optimizer).__name__}) is not a built-in optimiser"
    return None


class FusedStep:
    """Runs ``forward``, ``loss``, ``backward`` and ``update`` for a built-in model.

    Use as a context manager around training: it packs the parameters of a fused
    optimiser on entry and unpacks them on exit.
    """

    def __init__(self, model) -> None:
        self.model = model
        self.layers = model.layers
        self.loss_fun = model.loss_fun
        self.skip_first = type(self.layers[0]) is Linear
        self.upper_layers = self.layers[:0:-1] if self.skip_first else self.layers[::-1]
        # the notebook's update is Layer.step(lr), i.e. plain SGD: run it fused
        self.plain_sgd = model.optimizer is None
        self.optimizer = (
            SGD(model.parameters(), lr=model.lr, fused=True) if self.plain_sgd else model.optimizer
        )
        self.groups = None
        self.grad_views = None

    def __enter__(self) -> FusedStep:
        self.begin_epoch()
        return self

    def __exit__(self, *exc) -> bool:
        self.optimizer.unpack()
        return False

    def begin_epoch(self) -> None:
        """Pick up what may have changed between epochs: the learning rate of plain SGD
        (a schedule sets ``model.lr``) and arrays a callback replaced."""
        if self.plain_sgd:
            self.optimizer.lr = self.model.lr
        if self.optimizer.fused:
            self.groups = self.optimizer.packed_groups()
            self.grad_views = [view for g in self.groups for (_, view, _, _) in g.views]
        for layer in self.layers:
            if type(layer) is Linear:  # own, writable gradient arrays to write into
                if layer.dw.shape != layer.w.shape or not layer.dw.flags.writeable:
                    layer.dw = np.zeros_like(layer.w)
                if layer.db.shape != layer.b.shape or not layer.db.flags.writeable:
                    layer.db = np.zeros_like(layer.b)

    def forward(self, inp: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            inp = layer.forward(inp)
        return inp

    def loss(self, prediction: np.ndarray, target: np.ndarray) -> float:
        return self.loss_fun.forward(prediction, target)

    def backward(self) -> None:
        grad = self.loss_fun.backward()
        for layer in self.upper_layers:
            if type(layer) is Linear:
                grad = self._linear_backward(layer, grad)
            else:
                grad = layer.backward(grad)
        if self.skip_first:
            self._linear_backward(self.layers[0], grad, input_grad=False)

    @staticmethod
    def _linear_backward(layer: Linear, up_grad: np.ndarray, input_grad: bool = True):
        """``Linear.backward``, writing ``dw`` and ``db`` in place."""
        np.matmul(layer.inp.T, up_grad, out=layer.dw)
        np.sum(up_grad, axis=0, keepdims=True, out=layer.db)
        if not input_grad:
            return None
        if layer.out_dim == 1:
            return up_grad * layer.w.T
        return up_grad @ layer.w.T

    def update(self) -> None:
        if self.groups is None:
            self.optimizer.step()
            return
        for group in self.groups:  # built-in layers write their gradients into the views
            self.optimizer.update_one(group.value, group.grad, group.state)

    def gradients(self) -> list[np.ndarray]:
        """Every gradient array, in the model's parameter order (views into the flat
        buffer when fused), so clipping computes the norm exactly as the model's path."""
        if self.groups is not None:
            return self.grad_views
        return [p.grad for p in self.model.parameters()]

    def flat_gradients(self) -> list[np.ndarray]:
        """The same gradients in as few arrays as possible, for the finiteness check."""
        if self.groups is not None:
            return [group.grad for group in self.groups]
        return self.gradients()

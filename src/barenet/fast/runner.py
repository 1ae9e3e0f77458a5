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

While ``train`` runs with a fused optimiser (the notebook's plain SGD is one), each
``layer.w`` is a view into the optimiser's flat buffer: read the weights through the
layer (``model.layers[0].w``) inside a callback. When ``train`` returns, the layers
have their own arrays back, updated in place, so a reference taken before training
sees every update.
"""

from __future__ import annotations

import numpy as np

import barenet.activations  # noqa: F401  (these register the built-in layers and losses
import barenet.embeddings  # noqa: F401   listed below, whatever order barenet imports them)
import barenet.ensemble  # noqa: F401
import barenet.losses  # noqa: F401
import barenet.retrieval  # noqa: F401
import barenet.scaling  # noqa: F401
from barenet.layers import Linear
from barenet.optimizers import SGD
from barenet.registry import LAYERS, LOSSES, OPTIMIZERS

LAYER_METHODS = ("forward", "backward", "step")
LOSS_METHODS = ("forward", "backward")
OPTIMIZER_METHODS = ("step", "update_one", "update")
MODEL_METHODS = ("forward", "loss", "backward", "update")


def _methods(cls, names) -> dict[str, object]:
    return {name: getattr(cls, name) for name in names}


# barenet's own classes and their methods as imported, before any user code could
# replace one on the class (``Linear.backward = my_backward``)
BUILTIN = {
    cls: _methods(cls, names)
    for registry, names in ((LAYERS, LAYER_METHODS), (LOSSES, LOSS_METHODS))
    for cls in {registry.lookup(name) for name in registry.choices()}
    if cls.__module__.startswith("barenet.")
}
BUILTIN.update(
    {
        cls: _methods(cls, OPTIMIZER_METHODS)
        for cls in {OPTIMIZERS.lookup(name) for name in OPTIMIZERS.choices()}
        if cls.__module__.startswith("barenet.")
    }
)


def remember_builtin_model(cls) -> None:
    """Called by ``barenet.model`` once ``MLP`` exists (it imports this module)."""
    BUILTIN[cls] = _methods(cls, MODEL_METHODS)


def _unchanged(obj) -> bool:
    """``obj`` is an instance of a built-in class (not a subclass) whose methods are
    the originals: none replaced on the class, none set on the instance."""
    methods = BUILTIN.get(type(obj))
    return methods is not None and all(
        name not in vars(obj) and getattr(type(obj), name) is original
        for name, original in methods.items()
    )


def why_not_fused(model) -> str | None:
    """None if ``FusedStep`` computes exactly what the model's methods do; else why not."""
    if not _unchanged(model):
        return f"the model ({type(model).__name__}) is not barenet's MLP with its own methods"
    for i, layer in enumerate(model.layers):
        if not _unchanged(layer):
            return f"layer {i} ({type(layer).__name__}) is not an unchanged built-in layer"
    if not _unchanged(model.loss_fun):
        return f"the loss ({type(model.loss_fun).__name__}) is not an unchanged built-in loss"
    if model.optimizer is not None and not _unchanged(model.optimizer):
        name = type(model.optimizer).__name__
        return f"the optimiser ({name}) is not an unchanged built-in optimiser"
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
        # (its lr is the model's, set each epoch: a schedule may have taken it to 0)
        self.optimizer = SGD(model.parameters(), fused=True) if self.plain_sgd else model.optimizer
        self.groups = None

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
            for group in self.groups:  # a callback's backward may have made new arrays
                group.gather_grads()
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
        # up_grad.sum(axis=0, keepdims=True), the same additions, without np.sum's overhead
        np.add.reduce(up_grad, 0, None, layer.db.reshape(-1))
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

    def flat_gradients(self) -> list:
        """Every gradient, in as few arrays as possible (for the finiteness check)."""
        if self.groups is not None:
            return [group.grad for group in self.groups]
        return self.model.parameters()

"""``FusedStep``: the notebook's four training methods, with fewer NumPy calls.

``MLP.train`` runs each batch as ``forward``, ``loss``, ``backward``, ``update``. When
the model, its layers, its loss and its optimiser are all barenet's built-ins with no
method replaced, it calls those four on a ``FusedStep`` instead of on the model. The
differences are only in how the same numbers are computed:

- ``Linear``'s gradients are written in place (into the optimiser's flat buffer when
  it is fused) instead of into new arrays;
- nothing below the first layer with parameters needs a gradient: the layers in front
  of it (scaling, the piecewise encoding) are skipped in backward, and it computes only
  its own gradients (``Linear``, ``FeatureLinear``, the ensemble block);
- ``Ensemble``, ``MemberScale`` and a shared ``EnsembleLinear`` in a row run as one
  matrix product (``barenet.engines.fused.ensemble_block``): the same multiply-adds grouped
  differently, so an ensemble's weights agree with its own methods to rounding;
- a ``Relu`` after a product (``Linear``, ``EnsembleLinear``, the ensemble block,
  ``FeatureLinear``) is
  applied in place on the product's new output, in the same loop as the product's
  bias, and its backward masks the returning gradient (in place when that is a new
  array) in the loop that sums the bias's gradient (``barenet.engines.fused.relu_after``);
- ``PiecewiseLinearEncoding``'s forward runs as one loop (``barenet.engines.fused.encoding_step``);
- a ``Linear`` with one output propagates its gradient as an outer product (each
  element is one product either way);
- the plain SGD of ``Layer.step(lr)`` runs as one fused ``SGD`` update, and ``Adam``
  and ``AdamW`` update each flat group in one compiled loop (``barenet.engines.fused.adam``).

Every other layer's and the loss's own ``forward`` and ``backward`` are called as
they are. ``tests/engines/test_fast.py`` checks that both paths give bit-identical weights
(``tests/tabular/test_ensemble.py``: to rounding, for an ensemble).

While ``train`` runs with a fused optimiser (the notebook's plain SGD is one), each
``layer.w`` is a view into the optimiser's flat buffer: read the weights through the
layer (``model.layers[0].w``) inside a callback. When ``train`` returns, the layers
have their own arrays back, updated in place, so a reference taken before training
sees every update.
"""

from __future__ import annotations

import numpy as np

from barenet.engines.fused.adam import compiled_update
from barenet.engines.fused.encoding_step import PiecewiseStep
from barenet.engines.fused.ensemble_block import ScaledEnsembleBlock, starts_block
from barenet.engines.fused.products import is_member_head, linear_backward, member_head_backward
from barenet.engines.fused.relu_after import ReluAfter, fuse_relus
from barenet.layers import Linear
from barenet.optimizers import SGD
from barenet.registry import LAYERS, LOSSES, OPTIMIZERS
from barenet.tabular.embeddings import FeatureLinear, PiecewiseLinearEncoding

LAYER_METHODS = ("forward", "backward", "step")
LOSS_METHODS = ("forward", "backward")
OPTIMIZER_METHODS = ("step", "update_one", "update")
MODEL_METHODS = ("forward", "loss", "backward", "update")
# what ``predict`` runs: each layer's forward, and the model's forward in chunks in
# evaluation mode (``eval``, then ``train`` to restore the mode)
PREDICT_METHODS = ("forward",)
PREDICT_MODEL_METHODS = ("forward", "forward_in_chunks", "eval", "train")

_MODEL_CLASSES: set = set()  # barenet's MLP, once barenet.model has defined it


def remember_builtin_model(cls) -> None:
    """Called when the engines are installed (``barenet.engines.hooks.install``), so
    that a change to MLP's methods turns the fast paths off."""
    _MODEL_CLASSES.add(cls)


def builtin_methods(cls) -> tuple[str, ...] | None:
    """The methods that must be barenet's own for an instance of ``cls`` to count as a
    built-in, or None if ``cls`` is not one of barenet's classes.

    Decided when asked, from the registries as they are then: a barenet class registered
    as a layer, loss or optimiser (or barenet's MLP), whatever order the modules were
    imported in. A user's subclass lives in the user's module, so it is never built-in.
    """
    if cls in _KNOWN:
        return _KNOWN[cls]
    if not cls.__module__.startswith("barenet."):
        return None
    if cls in _MODEL_CLASSES:
        return MODEL_METHODS
    for registry, names in (
        (LAYERS, LAYER_METHODS),
        (LOSSES, LOSS_METHODS),
        (OPTIMIZERS, OPTIMIZER_METHODS),
    ):
        if cls in registry:
            _KNOWN[cls] = names  # registration is for good: remember the yes, not a no
            return names
    return None


_KNOWN: dict = {}


def _is_barenets(cls, name: str) -> bool:
    """``cls.name`` is the function barenet's source defines for it: from barenet, and
    written in the body of the class it comes from (not a user's function, nor another
    class's method put there, such as ``Relu.forward = Tanh.forward``)."""
    func = getattr(cls, name, None)
    func = getattr(func, "__func__", func)
    module = getattr(func, "__module__", None) or ""
    if not (module == "barenet" or module.startswith("barenet.")):
        return False
    owner = next((c for c in cls.__mro__ if name in vars(c)), None)
    return getattr(func, "__qualname__", None) == f"{owner.__qualname__}.{name}"


def _unchanged(obj, predicting: bool = False) -> bool:
    """``obj`` is an instance of a built-in class (not a subclass) whose methods are
    barenet's: none replaced on the class (``Linear.backward = my_backward``), none set
    on the instance. ``predicting``: only the methods ``predict`` runs."""
    cls = type(obj)
    names = builtin_methods(cls)
    if names is not None and predicting:
        names = PREDICT_MODEL_METHODS if cls in _MODEL_CLASSES else PREDICT_METHODS
    own = vars(obj)
    if names is None or any(name in own for name in names):
        return False
    methods = tuple(getattr(cls, name, None) for name in names)
    if _CHECKED.get((cls, names)) == methods:  # the same functions as last time: no need to look
        return True
    if all(_is_barenets(cls, name) for name in names):
        _CHECKED[cls, names] = methods
        return True
    return False


_CHECKED: dict = {}  # (class, method names) -> those methods, last seen all barenet's


def why_not_fused(model, *, predicting: bool = False) -> str | None:
    """None if ``FusedStep`` computes exactly what the model's methods do; else why not.

    ``predicting``: whether the compiled ``predict`` computes what the model's
    ``predict`` does, which depends on the layers' ``forward`` and the model's methods
    around it (``PREDICT_MODEL_METHODS``) alone: a learner's ``backward``, loss or
    optimiser changes training, not predictions."""
    if not _unchanged(model, predicting):
        return f"the model ({type(model).__name__}) is not barenet's MLP with its own methods"
    for i, layer in enumerate(model.layers):
        if not _unchanged(layer, predicting):
            return f"layer {i} ({type(layer).__name__}) is not an unchanged built-in layer"
    if predicting:
        return None
    if not _unchanged(model.loss_fun):
        return f"the loss ({type(model.loss_fun).__name__}) is not an unchanged built-in loss"
    if model.optimizer is not None and not _unchanged(model.optimizer):
        name = type(model.optimizer).__name__
        return f"the optimiser ({name}) is not an unchanged built-in optimiser"
    return None


def _steps(layers) -> list:
    """The layers, with each ``Ensemble, MemberScale, EnsembleLinear`` run as one block
    and each ``Relu`` after a product applied in place (``barenet.engines.fused.relu_after``)."""
    steps, i = [], 0
    while i < len(layers):
        if starts_block(layers, i):
            steps.append(ScaledEnsembleBlock(*layers[i : i + 3]))
            i += 3
        elif type(layers[i]) is PiecewiseLinearEncoding:
            steps.append(PiecewiseStep(layers[i]))
            i += 1
        else:
            steps.append(layers[i])
            i += 1
    return fuse_relus(steps, _step_backward)


def _has_params(step) -> bool:
    if isinstance(step, ReluAfter):
        return _has_params(step.step)
    return isinstance(step, ScaledEnsembleBlock) or bool(step.param_names)


def _step_backward(step, grad: np.ndarray, input_grad: bool = True):
    """``step``'s backward as ``FusedStep`` runs it (``input_grad=False``, for the first
    step with parameters: their gradients only, where the step can skip its input's)."""
    if type(step) is Linear:
        return linear_backward(step, grad, input_grad)
    if isinstance(step, (ScaledEnsembleBlock, ReluAfter)):
        return step.backward(grad, input_grad)
    if is_member_head(step):
        return member_head_backward(step, grad, input_grad)
    if type(step) is FeatureLinear and not input_grad:
        return step._param_grads(grad)
    return step.backward(grad)


class FusedStep:
    """Runs ``forward``, ``loss``, ``backward`` and ``update`` for a built-in model.

    Use as a context manager around training: it packs the parameters of a fused
    optimiser on entry and unpacks them on exit.
    """

    def __init__(self, model) -> None:
        self.model = model
        self.layers = model.layers
        self.loss_fun = model.loss_fun
        self.steps = _steps(model.layers)
        # nothing uses the gradient below the first layer with parameters: layers in
        # front of it (scaling, encodings) are skipped, and it writes only its own
        self.first = next((i for i, s in enumerate(self.steps) if _has_params(s)), None)
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
        for step in self.steps:
            inp = step.forward(inp)
        return inp

    def evaluates_as_the_model(self) -> bool:
        """Whether ``evaluate`` gives what ``model.evaluate`` would: the model's
        ``evaluate`` and ``predict`` are barenet's, on the class and the instance (a
        learner's ``predict`` must see the validation rows)."""
        model, names = self.model, ("evaluate", "predict")
        own = vars(model)
        return not any(name in own for name in names) and all(
            _is_barenets(type(model), name) for name in names
        )

    def evaluate(self, x: np.ndarray, y: np.ndarray, batch_size: int = 8192) -> float:
        """``model.evaluate(x, y)`` through the fused steps: the loss in evaluation
        mode, on the same chunks of rows as ``MLP.predict``, so the same number (to
        rounding where an ensemble block groups its sums differently).

        x : (n_samples, in_dim), y : (n_samples, out_dim), both checked already.
        """
        return self.loss_fun(self.model.forward_in_chunks(self.forward, x, batch_size), y)

    def loss(self, prediction: np.ndarray, target: np.ndarray) -> float:
        return self.loss_fun.forward(prediction, target)

    def backward(self) -> None:
        grad = self.loss_fun.backward()
        if self.first is None:  # no parameters: nothing to compute
            return
        for step in self.steps[: self.first : -1]:
            grad = _step_backward(step, grad)
        _step_backward(self.steps[self.first], grad, input_grad=False)

    def update(self) -> None:
        if self.groups is None:
            self.optimizer.step()
            return
        for group in self.groups:  # built-in layers write their gradients into the views
            if not compiled_update(self.optimizer, group.value, group.grad, group.state):
                self.optimizer.update_one(group.value, group.grad, group.state)

    def flat_gradients(self) -> list:
        """Every gradient, in as few arrays as possible (for the finiteness check)."""
        if self.groups is not None:
            return [group.grad for group in self.groups]
        return self.model.parameters()

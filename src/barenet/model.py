"""The ``MLP``: a list of layers, a loss, and the mini-batch training loop."""

from __future__ import annotations

import importlib
import warnings

import numpy as np

from barenet._checks import (
    as_rng,
    check_features,
    check_learning_rate,
    check_positive_int,
    check_targets,
)
from barenet.errors import BarenetTypeError, BarenetValueError, UsageError
from barenet.layers import Layer, Parameter
from barenet.losses import Loss
from barenet.optimizers import Optimizer
from barenet.registry import ENGINES
from barenet.trainer import Trainer, TrainOptions


def _layer_name(index: int, layer) -> str:
    return f"layer {index} ({layer!r})"


def _io_dims(layer) -> tuple[int | None, int | None]:
    """The (input, output) feature counts a layer fixes, or None where it fixes none."""
    if hasattr(layer, "io_dims"):
        return layer.io_dims()
    if hasattr(layer, "in_dim") and hasattr(layer, "out_dim"):
        return layer.in_dim, layer.out_dim
    if hasattr(layer, "num_features"):
        return layer.num_features, layer.num_features
    return None, None


class MLP:
    """Multi-layer perceptron: layers applied in order, trained by mini-batch descent.

    Parameters
    ----------
    layers : list of Layer
        E.g. ``[Linear(8, 64), Relu(), Linear(64, 1)]``.
    loss_fun : Loss
    lr : float
        Learning rate of the notebook's plain SGD (``layer.step(lr)``).
    seed : None, int or numpy.random.Generator, keyword-only
        Seeds the shuffling of the training data.
    optimizer : Optimizer, keyword-only
        Use it instead of plain SGD; the model attaches its parameters to it.

    Attributes
    ----------
    history : dict
        ``{"train_loss": [...], "val_loss": [...]}``: one float per epoch trained in
        each list, across ``train`` calls (``nan`` for an epoch without validation).
    dtype : numpy dtype
        The parameters' dtype; inputs are converted to it once, on the way in.
    """

    def __init__(
        self,
        layers: list[Layer],
        loss_fun: Loss,
        lr: float = 0.01,
        *,
        seed=None,
        optimizer: Optimizer | None = None,
    ) -> None:
        if not isinstance(layers, list | tuple) or not layers:
            raise BarenetTypeError("MLP layers must be a non-empty list of Layer objects")
        for i, layer in enumerate(layers):
            if not (hasattr(layer, "forward") and hasattr(layer, "backward")):
                raise BarenetTypeError(
                    f"MLP layer {i} ({type(layer).__name__}) has no forward/backward"
                )
        if not (hasattr(loss_fun, "forward") and hasattr(loss_fun, "backward")):
            raise BarenetTypeError(f"MLP loss_fun must be a Loss, got {type(loss_fun).__name__}")
        self.layers = list(layers)
        self.loss_fun = loss_fun
        self.lr = check_learning_rate(lr)
        self.rng = as_rng(seed, "MLP")
        self.in_dim, self.out_dim = self._check_layer_sizes()
        dtypes = {p.value.dtype for p in self.parameters()}
        if len(dtypes) > 1:
            raise BarenetValueError(f"MLP layers mix parameter dtypes {sorted(map(str, dtypes))}")
        self.dtype = dtypes.pop() if dtypes else np.dtype(np.float32)
        self.optimizer = optimizer.attach(self.parameters()) if optimizer is not None else None
        self.training = True
        self.history: dict[str, list[float]] = {"train_loss": [], "val_loss": []}
        self.epoch = 0
        self.interrupted = False
        self.stop_requested = False
        self.record = None  # the model record it was built from, if any (barenet.io.record)
        self.preprocessing = None

    def _check_layer_sizes(self) -> tuple[int | None, int | None]:
        in_dim = out_dim = None
        previous = None
        for i, layer in enumerate(self.layers):
            layer_in, layer_out = _io_dims(layer)
            if layer_in is None:
                continue
            if out_dim is not None and layer_in != out_dim:
                raise BarenetValueError(
                    f"MLP: {_layer_name(*previous)} outputs {out_dim} features but "
                    f"{_layer_name(i, layer)} expects {layer_in}"
                )
            in_dim = layer_in if in_dim is None else in_dim
            out_dim, previous = layer_out, (i, layer)
        return in_dim, out_dim

    # -- the notebook's API -------------------------------------------------------

    def __call__(self, inp) -> np.ndarray:
        """The output for ``inp`` (checked and converted), in the current mode."""
        return self.forward(check_features(inp, "input", self.dtype, self.in_dim))

    def forward(self, inp: np.ndarray) -> np.ndarray:
        """inp: (batch_size, in_dim) -> output: (batch_size, out_dim): each layer in turn."""
        for layer in self.layers:
            inp = layer.forward(inp)
        return inp

    def loss(self, prediction: np.ndarray, target: np.ndarray) -> float:
        return self.loss_fun(prediction, target)

    def backward(self) -> None:
        """Propagate dL/dprediction from the loss back through every layer."""
        if getattr(self.loss_fun, "prediction", None) is None:
            raise UsageError("MLP.backward() called before forward() and loss()")
        grad = self.loss_fun.backward()
        for layer in reversed(self.layers):
            grad = layer.backward(grad)

    def update(self) -> None:
        """One step: the optimiser's if there is one, else ``layer.step(lr)`` on every layer."""
        if self.optimizer is not None:
            self.optimizer.step()
            return
        for layer in self.layers:
            layer.step(self.lr)

    # -- PyTorch's vocabulary -----------------------------------------------------

    def parameters(self) -> list[Parameter]:
        """Every trainable array, keyed ``"<layer index>.<name>"`` as in ``state_dict``."""
        return [
            Parameter(layer, name, f"{i}.{name}")
            for i, layer in enumerate(self.layers)
            for name in getattr(layer, "param_names", ())
        ]

    def zero_grad(self) -> None:
        """Set every gradient to zero. Not needed between steps: ``backward`` overwrites
        the gradients (the notebook's semantics), it does not accumulate them."""
        for p in self.parameters():
            p.grad[...] = 0

    def eval(self) -> MLP:
        return self.train(False)

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer, keyed ``"<layer index>.<name>"``."""
        return {key: value.copy() for key, value in self._state_arrays().items()}

    def _state_arrays(self) -> dict[str, np.ndarray]:
        """Every parameter and buffer itself (not copied), keyed as in ``state_dict``."""
        state = {}
        for i, layer in enumerate(self.layers):
            for name in getattr(layer, "param_names", ()):
                state[f"{i}.{name}"] = getattr(layer, name)
            for name, value in (layer.buffers() if hasattr(layer, "buffers") else {}).items():
                state[f"{i}.{name}"] = value
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy arrays into the parameters in place; names and shapes must match exactly."""
        own = self._state_arrays()
        if set(own) != set(state):
            missing, extra = sorted(set(own) - set(state)), sorted(set(state) - set(own))
            raise BarenetValueError(
                f"state dict does not fit: missing {missing}, unexpected {extra}"
            )
        for key, value in state.items():
            index, name = key.split(".", 1)
            target = getattr(self.layers[int(index)], name)
            if np.shape(value) != target.shape:
                raise BarenetValueError(
                    f"state dict {key}: shape {np.shape(value)}, need {target.shape}"
                )
            target[...] = value

    # -- training -----------------------------------------------------------------

    def train(
        self,
        x_train=None,
        y_train=None,
        x_test=None,
        y_test=None,
        epochs: int = 30,
        batch_size: int = 32,
        *,
        clip_norm: float | None = None,
        schedule=None,
        early_stopping: int | None = None,
        restore_best: bool = True,
        callbacks=(),
        trainer_state: dict | None = None,
        fast: bool | None = None,
        engine: str = "auto",
        verbose: bool = False,
    ) -> dict[str, list[float]] | MLP:
        """Train by mini-batch gradient descent; or, with no data, switch to training mode.

        ``model.train()`` (or ``model.train(False)``) sets the mode as in PyTorch.
        ``model.train(x_train, y_train, x_test, y_test, epochs, batch_size)`` trains.

        Parameters
        ----------
        x_train : array, shape (n_samples, in_dim)
        y_train : array, shape (n_samples,) or (n_samples, out_dim)
        x_test, y_test : arrays or None
            Validation data; its loss is measured in evaluation mode after each epoch.
        epochs, batch_size : int
            Every sample is seen once per epoch, in a new random order.
        clip_norm, schedule, early_stopping, restore_best, callbacks, trainer_state
            How to train, each described in ``barenet.trainer.TrainOptions``
            (with ``fast``, ``engine`` and ``verbose``, the engine's choice).

        Returns
        -------
        dict
            ``self.history``: ``{"train_loss": [...], "val_loss": [...]}``, one float per
            epoch in each list, across calls: the sample-weighted mean of the epoch's
            batch losses, and the validation loss after it (``nan`` without validation).

        Raises
        ------
        TrainingDiverged
            When a loss becomes NaN or infinite; the weights stay finite.
        """
        if (x_train is None or isinstance(x_train, bool)) and y_train is None:
            mode = True if x_train is None else x_train
            self.training = mode
            for layer in self.layers:
                layer.training = mode
            return self
        options = TrainOptions(
            epochs=epochs, batch_size=batch_size, clip_norm=clip_norm, schedule=schedule,
            early_stopping=early_stopping, restore_best=restore_best, callbacks=callbacks,
            trainer_state=trainer_state, fast=fast, engine=engine, verbose=verbose,
        )  # fmt: skip
        return Trainer(self, options).fit(x_train, y_train, x_test, y_test)

    def predict(self, x, batch_size: int = 8192, *, engine: str = "auto") -> np.ndarray:
        """Outputs for ``x`` in evaluation mode, in chunks of ``batch_size`` rows.

        x: (n_samples, in_dim) -> (n_samples, out_dim). The mode is restored after.
        ``engine``: as for ``train`` (``compiled`` runs the forward pass in numba), except
        that the choice looks only at what prediction runs: the layers' ``forward`` and
        the model's (a replaced ``backward``, loss or optimiser changes training only).
        A pandas DataFrame of raw rows, for a model that carries its preprocessing (one
        ``barenet train --data`` saved), gives answers instead: class labels, or values
        in the target's units (``self.preprocessing.predict``).
        """
        if self.preprocessing is not None and hasattr(x, "columns"):
            return self.preprocessing.predict(self, x)
        # the common call on an unchanged model the compiled engine ran before, with
        # cheaper checks of the same things (see barenet.engines.compiled.predict)
        engines = ENGINES.get()
        out = engines.quick_predict(self, x, batch_size, engine)
        if out is not None:
            return out
        x = check_features(x, "x", self.dtype, self.in_dim)
        batch_size = check_positive_int(batch_size, "predict batch_size")
        if engines.choose_for_predict(self, engine) == "compiled":
            return engines.predict(self, x, batch_size, engine)
        return self.forward_in_chunks(self.forward, x, batch_size)

    def forward_in_chunks(self, forward, x: np.ndarray, batch_size: int) -> np.ndarray:
        """``forward`` (the model's, or a fused step's) over ``x`` in chunks of
        ``batch_size`` rows, in evaluation mode (the mode restored after).

        x: (n_samples, in_dim), checked -> (n_samples, out_dim)."""
        was_training = self.training
        self.eval()
        try:
            outs = [forward(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
        finally:
            self.train(was_training)
        return outs[0] if len(outs) == 1 else np.concatenate(outs)

    def evaluate(self, x, y, batch_size: int = 8192, *, engine: str = "auto") -> float:
        """The loss on ``(x, y)`` in evaluation mode (``engine`` as for ``predict``)."""
        x = check_features(x, "x", self.dtype, self.in_dim)
        y = check_targets(y, "y", self.dtype, len(x), self.out_dim)
        return self.loss_fun(self.predict(x, batch_size, engine=engine), y)

    def request_stop(self) -> None:
        """Ask a running ``train`` to stop after the current batch (safe from a signal)."""
        self.stop_requested = True

    def save(self, path, **kwargs):
        """Deprecated: use ``barenet.save(model, path)``; removed in barenet 0.4.

        Writes the same file as ``barenet.save`` (it calls it) and returns its path,
        with a ``FutureWarning`` naming the new spelling."""
        warnings.warn(
            "MLP.save(path) is deprecated and will be removed in barenet 0.4; use "
            "barenet.save(model, path) instead",
            FutureWarning,
            stacklevel=2,
        )
        # looked up when called: the core imports no file code (tests/test_architecture.py)
        return importlib.import_module("barenet").save(self, path, **kwargs)

    def __repr__(self) -> str:
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return f"MLP([\n  {inner}\n], loss_fun={self.loss_fun!r}, lr={self.lr})"

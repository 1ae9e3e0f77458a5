"""The ``MLP``: a list of layers, a loss, and the mini-batch training loop."""

from __future__ import annotations

import numpy as np

from barenet._checks import as_float_array, as_rng, check_learning_rate
from barenet.layers import Layer, Parameter
from barenet.losses import Loss
from barenet.optimizers import Optimizer


def _layer_name(index: int, layer) -> str:
    return f"layer {index} ({layer!r})"


def _io_dims(layer) -> tuple[int | None, int | None]:
    """The (input, output) feature counts a layer fixes, or None where it fixes none."""
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
        ``{"train_loss": [...], "val_loss": [...]}``, one float per epoch trained.
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
            raise TypeError("MLP layers must be a non-empty list of Layer objects")
        for i, layer in enumerate(layers):
            if not (hasattr(layer, "forward") and hasattr(layer, "backward")):
                raise TypeError(f"MLP layer {i} ({type(layer).__name__}) has no forward/backward")
        if not (hasattr(loss_fun, "forward") and hasattr(loss_fun, "backward")):
            raise TypeError(f"MLP loss_fun must be a Loss, got {type(loss_fun).__name__}")
        self.layers = list(layers)
        self.loss_fun = loss_fun
        self.lr = check_learning_rate(lr)
        self.rng = as_rng(seed, "MLP")
        self.in_dim, self.out_dim = self._check_layer_sizes()
        dtypes = {p.value.dtype for p in self.parameters()}
        if len(dtypes) > 1:
            raise ValueError(f"MLP layers mix parameter dtypes {sorted(map(str, dtypes))}")
        self.dtype = dtypes.pop() if dtypes else np.dtype(np.float32)
        self.optimizer = optimizer.attach(self.parameters()) if optimizer is not None else None
        self._plain_sgd, self._stepped_layers = (
            (None, []) if optimizer is not None else self._plain_sgd_plan()
        )
        self.training = True
        self.history: dict[str, list[float]] = {"train_loss": [], "val_loss": []}
        self.epoch = 0
        self.interrupted = False
        self.preprocessing = None
        self._stop_requested = False

    def _check_layer_sizes(self) -> tuple[int | None, int | None]:
        in_dim = out_dim = None
        previous = None
        for i, layer in enumerate(self.layers):
            layer_in, layer_out = _io_dims(layer)
            if layer_in is None:
                continue
            if out_dim is not None and layer_in != out_dim:
                raise ValueError(
                    f"MLP: {_layer_name(*previous)} outputs {out_dim} features but "
                    f"{_layer_name(i, layer)} expects {layer_in}"
                )
            in_dim = layer_in if in_dim is None else in_dim
            out_dim, previous = layer_out, (i, layer)
        return in_dim, out_dim

    # -- the notebook's API -------------------------------------------------------

    def __call__(self, inp) -> np.ndarray:
        return self.forward(inp)

    def forward(self, inp) -> np.ndarray:
        """inp: (batch_size, in_dim) -> output: (batch_size, out_dim), in the current mode."""
        out = self._check_x(inp, "input")
        for layer in self.layers:
            out = layer.forward(out)
        return out

    def loss(self, prediction, target) -> float:
        return self.loss_fun(prediction, target)

    def backward(self) -> None:
        """Propagate dL/dprediction from the loss back through every layer."""
        if getattr(self.loss_fun, "prediction", None) is None:
            raise RuntimeError("MLP.backward() called before forward() and loss()")
        grad = self.loss_fun.backward()
        for layer in reversed(self.layers):
            grad = layer.backward(grad)

    def update(self) -> None:
        """One step: the optimiser's, or plain SGD ``layer.step(lr)`` on every layer.

        For built-in layers the plain SGD step runs as one packed update (the same
        numbers as calling each ``step``); a layer with its own ``step`` is called.
        """
        if self.optimizer is not None:
            self.optimizer.step()
            return
        if self._plain_sgd is not None:
            self._plain_sgd.lr = self.lr
            self._plain_sgd.step()
        for layer in self._stepped_layers:
            layer.step(self.lr)

    def _plain_sgd_plan(self):
        """Split the layers into those whose ``step`` is the default SGD on in-place
        gradients (updated together) and the others (stepped one by one)."""
        from barenet.optimizers import SGD

        packed, stepped = [], []
        for layer in self.layers:
            if getattr(type(layer), "step", None) is Layer.step and getattr(
                layer, "grads_in_place", False
            ):
                packed.extend(layer.parameters())
            elif hasattr(layer, "step"):
                stepped.append(layer)
        return (SGD(packed, lr=self.lr) if packed else None), stepped

    def _gradient_source(self):
        """What gradient clipping scales: the optimiser's packed buffers when possible."""
        if self.optimizer is not None:
            return self.optimizer
        if self._plain_sgd is not None and not any(
            getattr(layer, "param_names", ()) for layer in self._stepped_layers
        ):
            return self._plain_sgd
        return self.parameters()

    # -- PyTorch's vocabulary -----------------------------------------------------

    def parameters(self) -> list[Parameter]:
        return [
            p for layer in self.layers if hasattr(layer, "parameters") for p in layer.parameters()
        ]

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad[...] = 0

    def eval(self) -> MLP:
        return self._set_mode(False)

    def _set_mode(self, training: bool) -> MLP:
        self.training = training
        for layer in self.layers:
            layer.training = training
        return self

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer, keyed ``"<layer index>.<name>"``."""
        state = {}
        for i, layer in enumerate(self.layers):
            for name in getattr(layer, "param_names", ()):
                state[f"{i}.{name}"] = getattr(layer, name).copy()
            for name, value in (layer.buffers() if hasattr(layer, "buffers") else {}).items():
                state[f"{i}.{name}"] = value.copy()
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy arrays into the parameters in place; names and shapes must match exactly."""
        own = self.state_dict()
        if set(own) != set(state):
            missing, extra = sorted(set(own) - set(state)), sorted(set(state) - set(own))
            raise ValueError(f"state dict does not fit: missing {missing}, unexpected {extra}")
        for key, value in state.items():
            index, name = key.split(".", 1)
            target = getattr(self.layers[int(index)], name)
            if np.shape(value) != target.shape:
                raise ValueError(f"state dict {key}: shape {np.shape(value)}, need {target.shape}")
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
            Every sample is seen once per epoch, in a new random order; the last
            batch may be smaller.
        clip_norm : float, optional
            Clip the gradients' global L2 norm to this value before each step.
        schedule : Schedule, optional
            Stepped after each epoch (with the validation loss).
        early_stopping : int, optional
            Stop when the validation loss has not improved for this many epochs.
        restore_best : bool
            With early stopping, end with the weights of the best validation epoch,
            however training ends.
        callbacks : iterable of callables ``f(model, epoch, logs) -> bool | None``
            Called after each epoch with ``logs = {"train_loss", "val_loss", "lr",
            "trainer"}``; returning True stops training.
        trainer_state : dict, optional
            Early-stopping state from a checkpoint (``logs["trainer"].state_dict()``).

        Returns
        -------
        dict
            ``self.history``: ``{"train_loss": [...], "val_loss": [...]}``, one float
            per epoch (the sample-weighted mean of the epoch's batch losses, and the
            validation loss after the epoch; empty without validation data).

        Raises
        ------
        TrainingDiverged
            When a loss becomes NaN or infinite; the weights stay finite.
        """
        if (x_train is None or isinstance(x_train, bool)) and y_train is None:
            return self._set_mode(True if x_train is None else x_train)
        from barenet.trainer import Trainer

        trainer = Trainer(
            self,
            epochs=epochs,
            batch_size=batch_size,
            clip_norm=clip_norm,
            schedule=schedule,
            early_stopping=early_stopping,
            restore_best=restore_best,
            callbacks=callbacks,
        )
        if trainer_state is not None:
            trainer.load_state_dict(trainer_state)
        return trainer.fit(x_train, y_train, x_test, y_test)

    def predict(self, x, batch_size: int = 8192) -> np.ndarray:
        """Outputs for ``x`` in evaluation mode, in chunks of ``batch_size`` rows.

        x: (n_samples, in_dim) -> (n_samples, out_dim). The mode is restored after.
        """
        return self._predict_checked(self._check_x(x, "x"), batch_size)

    def _predict_checked(self, x: np.ndarray, batch_size: int = 8192) -> np.ndarray:
        """``predict`` for an input already converted and checked by ``_check_x``."""
        was_training = self.training
        self._set_mode(False)
        try:
            outs = []
            for start in range(0, len(x), batch_size):
                out = x[start : start + batch_size]
                for layer in self.layers:
                    out = layer.forward(out)
                outs.append(out)
        finally:
            self._set_mode(was_training)
        return outs[0] if len(outs) == 1 else np.concatenate(outs)

    def evaluate(self, x, y, batch_size: int = 8192) -> float:
        """The loss on ``(x, y)`` in evaluation mode."""
        x = self._check_x(x, "x")
        return self._evaluate_checked(x, self._check_y(y, "y", len(x)), batch_size)

    def _evaluate_checked(self, x: np.ndarray, y: np.ndarray, batch_size: int = 8192) -> float:
        """``evaluate`` for inputs already checked (the training loop's validation)."""
        return self.loss_fun(self._predict_checked(x, batch_size), y)

    def _check_x(self, x, name: str) -> np.ndarray:
        x = as_float_array(x, name, self.dtype)
        if self.in_dim is not None and x.shape[1] != self.in_dim:
            raise ValueError(
                f"{name} has {x.shape[1]} features per row but the model expects {self.in_dim}"
            )
        return x

    def _check_y(self, y, name: str, n_rows: int) -> np.ndarray:
        y = as_float_array(y, name, self.dtype, ndim=(1, 2))
        if len(y) != n_rows:
            raise ValueError(f"{name} has {len(y)} rows but the inputs have {n_rows}")
        if y.ndim == 2 and self.out_dim is not None and y.shape[1] not in (1, self.out_dim):
            raise ValueError(
                f"{name} has {y.shape[1]} columns but the model outputs {self.out_dim}"
            )
        return y

    def save(self, path, **kwargs):
        """Write the model (with ``self.preprocessing``) to one ``.npz`` file; see
        ``barenet.persistence.save``. Load it back with ``barenet.load(path)``."""
        from barenet.persistence import save

        return save(self, path, **kwargs)

    def request_stop(self) -> None:
        """Ask a running ``train`` to stop after the current batch (safe from a signal)."""
        self._stop_requested = True

    def __repr__(self) -> str:
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return f"MLP([\n  {inner}\n], loss_fun={self.loss_fun!r}, lr={self.lr})"

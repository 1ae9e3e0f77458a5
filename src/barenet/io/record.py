"""The model record: the one description a model is built from.

As nanoGPT's ``model_args``: a JSON-able dict naming each layer, the loss, the
optimiser, the dtype, the learning rate and the seed. ``build(record)`` is the only
builder: ``barenet.training.config`` turns a ``TrainConfig`` into a record, ``describe``
turns a model made in Python into one, and model files and checkpoints store it, so
``barenet.load`` and ``load_checkpoint`` rebuild the same model with the same loss.

A record looks like::

    {"layers": [{"type": "linear", "config": {"in_dim": 8, "out_dim": 64, ...}},
                {"type": "relu", "config": {}}, ...],
     "loss": {"type": "mse", "config": {}},
     "optimizer": {"type": "adam", "config": {"lr": 0.001, ...}} or None,
     "lr": 0.01, "dtype": "float32", "seed": 0, "task": "regression"}
"""

from __future__ import annotations

import functools

import numpy as np

from barenet.errors import BarenetTypeError
from barenet.layers import Layer
from barenet.model import MLP
from barenet.registry import LAYERS, LOSSES, OPTIMIZERS


def _entry(registry, obj, what: str) -> dict:
    try:
        name = registry.name_of(obj)
    except BarenetTypeError as error:
        raise BarenetTypeError(
            f"cannot describe {what}: {error}. Only barenet's own building blocks can be "
            "rebuilt from a file; save its state_dict() with your own code instead"
        ) from None
    return {"type": name, "config": obj.config()}


def describe(model: MLP, *, task: str | None = None) -> dict:
    """The record of a model as it is now; the seed and task of the record it was built
    from, if any, are kept."""
    built_from = model.record or {}
    optimizer = model.optimizer
    return {
        "layers": [
            _entry(LAYERS, layer, f"layer {i} ({type(layer).__name__})")
            for i, layer in enumerate(model.layers)
        ],
        "loss": _entry(LOSSES, model.loss_fun, "the loss"),
        "optimizer": None if optimizer is None else _entry(OPTIMIZERS, optimizer, "the optimiser"),
        "lr": getattr(model, "initial_lr", model.lr),  # before any schedule changed it
        "dtype": str(model.dtype),
        "seed": built_from.get("seed"),
        "task": task or built_from.get("task") or guess_task(model),
    }


def guess_task(model: MLP) -> str:
    """Classification for the classification losses, else regression."""
    return "classification" if LOSSES.name_of(model.loss_fun) == "cross_entropy" else "regression"


@functools.cache
def _undrawn():
    """The class of the initialisation stream of a model about to be given its stored
    weights: the initial weights it is asked for are zeros (never computed; ``np.zeros``
    does not touch its memory), since they are overwritten. (Made on first use: NumPy's
    random module is not imported with barenet.)"""

    class Undrawn(np.random.Generator):
        def uniform(self, low=0.0, high=1.0, size=None):
            return np.zeros(() if size is None else size)

        def normal(self, loc=0.0, scale=1.0, size=None):
            return np.zeros(() if size is None else size)

        def standard_normal(self, size=None, dtype=np.float64, out=None):
            if out is not None:
                out[...] = 0
                return out
            return np.zeros(() if size is None else size, dtype=dtype)

        def integers(self, low, high=None, size=None, dtype=np.int64, endpoint=False):
            return np.zeros(() if size is None else size, dtype=dtype)

    return Undrawn


def build(record: dict, *, for_loading: bool = False) -> MLP:
    """The model a record describes, freshly initialised from ``record["seed"]``.

    Three independent streams of that seed initialise the weights, draw the dropout
    masks and shuffle the data, so the same record and seed train identically.

    ``for_loading``: every parameter and buffer is about to be replaced by a stored one
    (``barenet.io.persistence.rebuild``), so the initial weights are not drawn (zeros
    instead), unless a layer keeps the initialisation stream to draw from later
    (``Retrieval`` draws its candidate rows from it): then the model is built as
    without ``for_loading``, so that the stream is where drawing the weights leaves it
    and continued training is the same. The shuffling and dropout streams do not
    depend on ``for_loading``.
    """
    if for_loading:
        model = _built(record, undrawn=True)
        if not any(_keeps(layer, _undrawn()) for layer in model.layers):
            return model
    return _built(record, undrawn=False)


def _keeps(layer, kind) -> bool:
    """Whether ``layer`` (or a layer it holds) holds a generator of class ``kind``."""
    return any(
        isinstance(value, kind) or (isinstance(value, Layer) and _keeps(value, kind))
        for value in vars(layer).values()
    )


def _built(record: dict, *, undrawn: bool) -> MLP:
    init_rng, dropout_rng, shuffle_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(record.get("seed")).spawn(3)
    )
    if undrawn:
        init_rng = _undrawn()(init_rng.bit_generator)
    streams = {"init": init_rng, "dropout": dropout_rng}
    layers = []
    for i, spec in enumerate(record["layers"]):
        cls = LAYERS.lookup(spec["type"])
        config = dict(spec["config"])
        stream = getattr(cls, "seed_stream", None)
        if stream is not None:
            config["seed"] = streams[stream]
        try:
            layers.append(cls(**config))
        except (TypeError, ValueError) as error:  # name the layer whose record is wrong
            error.args = (f"layer {i} ({spec['type']}): {error}", *error.args[1:])
            raise
    loss = record["loss"]
    optimizer = record.get("optimizer")
    model = MLP(
        layers,
        LOSSES.lookup(loss["type"])(**loss["config"]),
        record.get("lr", 0.01),
        seed=shuffle_rng,
        optimizer=None
        if optimizer is None
        else OPTIMIZERS.lookup(optimizer["type"])(**optimizer["config"]),
    )
    model.record = record
    return model


def generators(model: MLP) -> list[np.random.Generator]:
    """Every random generator training draws from: the shuffling, then each layer's."""
    return [model.rng] + [layer.rng for layer in model.layers if hasattr(layer, "rng")]

"""barenet: a small, exact and fast neural-network library written from scratch in NumPy."""

import importlib.abc
import importlib.util
import sys
import types

from barenet import engines  # noqa: F401  (installs the engines the core asks for)
from barenet._version import __version__
from barenet.activations import (
    GELU,
    LeakyRelu,
    Mish,
    Relu,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from barenet.diagnostics.plotting import plot_diagnostics, plot_losses
from barenet.diagnostics.recorder import Diagnostics
from barenet.errors import BarenetError, ModelFileError, TrainingDiverged
from barenet.gradcheck import check_gradients
from barenet.io.persistence import load, save
from barenet.layers import BatchNorm1d, Dropout, Identity, Layer, Linear, Parameter
from barenet.losses import MAE, MSE, BCEWithLogits, CrossEntropy, Huber, Loss
from barenet.model import MLP
from barenet.optimizers import SGD, Adam, AdamW, Optimizer, RMSprop, clip_grad_norm
from barenet.schedules import CosineAnnealingLR, ReduceLROnPlateau, StepLR
from barenet.tabular.embeddings import FeatureLinear, PeriodicEmbedding, PiecewiseLinearEncoding
from barenet.tabular.ensemble import Ensemble, EnsembleLinear, EnsembleMean, MemberScale
from barenet.tabular.passthrough import PiecewisePassthrough
from barenet.tabular.retrieval import Retrieval
from barenet.tabular.scaling import QuantileScaling, RobustScaling

# Module paths from before barenet's modules moved into packages (0.3): each old path
# imports the module that now holds its code (the same module object, so
# ``barenet.datasets is barenet.tables.datasets``).
MOVED_MODULES = {
    "embeddings": "tabular.embeddings",
    "ensemble": "tabular.ensemble",
    "scaling": "tabular.scaling",
    "retrieval": "tabular.retrieval",
    "table_reading": "tables.reading",
    "dates": "tables.dates",
    "date_arithmetic": "tables.calendar",
    "preprocessing": "tables.preprocessing",
    "finite": "tables.standardize",
    "datasets": "tables.datasets",
    "stream_columns": "streaming.columns",
    "stream_blocks": "streaming.blocks",
    "stream_train": "streaming.train",
    "stream_predict": "streaming.predict",
    "hyperparams": "training.hyperparams",
    "recipes": "training.config",
    "networks": "training.networks",
    "fitting": "training.fitting",
    "metrics": "training.metrics",
    "heap": "engines.heap",
    "interrupts": "engines.interrupts",
    "fast": "engines",
    "fast.engine": "engines.select",
    "fast.runner": "engines.fused.step",
    "fast.products": "engines.fused.products",
    "fast.relu_after": "engines.fused.relu_after",
    "fast.ensemble_block": "engines.fused.ensemble_block",
    "fast.encoding_step": "engines.fused.encoding_step",
    "fast.adam_loop": "engines.fused.adam",
    "fast.loops": "engines.fused.loops",
    "fast.loop_dispatch": "engines.fused.loop_dispatch",
    "fast.packing": "engines.fused.packing",
    "fast.compiled": "engines.compiled.kernels",
    "fast.formulas": "engines.compiled.formulas",
    "fast.compiled_runner": "engines.compiled.training",
    "fast.compiled_predict": "engines.compiled.predict",
    "persistence": "io.persistence",
    "record": "io.record",
    "model_checks": "io.file_checks",
    "_files": "io.atomic",
    "onnx_export": "io.onnx.export",
    "onnx_graph": "io.onnx.graph",
    "_diagnostics_kernels": "diagnostics._kernels",
    "plotting": "diagnostics.plotting",
    "data_args": "cli.data_args",
    "reporting": "cli.reporting",
    "estimators": "sklearn.estimators",
    "estimator_checks": "sklearn.checks",
    "tuning": "sklearn.tuning",
}


class _MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answers ``import barenet.OLD`` with the module now at ``MOVED_MODULES[OLD]``."""

    def __init__(self):
        self.own_specs = {}

    def find_spec(self, fullname, path=None, target=None):
        old = fullname.partition("barenet.")[2]
        if fullname.startswith("barenet.") and old in MOVED_MODULES:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        old = spec.name[len("barenet.") :]
        new = importlib.import_module("barenet." + MOVED_MODULES[old])
        if not any(key.startswith(old + ".") for key in MOVED_MODULES):
            self.own_specs[spec.name] = new.__spec__  # importlib overwrites __spec__
            return new
        # an old package (``barenet.fast``): a stand-in whose attributes are the new
        # package's, so that importing its old submodules leaves the new package as it is
        stand_in = types.ModuleType(spec.name, new.__doc__)
        stand_in.__path__ = []
        stand_in.__getattr__ = lambda name: getattr(new, name)
        return stand_in

    def exec_module(self, module):
        """The module is already executed under its new name: give it back its spec."""
        own = self.own_specs.pop(module.__spec__.name, None)
        if own is not None:
            module.__spec__ = own


if not any(isinstance(finder, _MovedModuleFinder) for finder in sys.meta_path):
    sys.meta_path.insert(0, _MovedModuleFinder())

__all__ = [
    "Retrieval",
    "RobustScaling",
    "QuantileScaling",
    "MemberScale",
    "EnsembleMean",
    "EnsembleLinear",
    "Ensemble",
    "PiecewiseLinearEncoding",
    "PiecewisePassthrough",
    "PeriodicEmbedding",
    "FeatureLinear",
    "SiLU",
    "Softplus",
    "Mish",
    "GELU",
    "MAE",
    "MLP",
    "MSE",
    "SGD",
    "Adam",
    "AdamW",
    "BCEWithLogits",
    "BarenetError",
    "BatchNorm1d",
    "CosineAnnealingLR",
    "CrossEntropy",
    "Dropout",
    "Huber",
    "Identity",
    "Layer",
    "LeakyRelu",
    "Linear",
    "Loss",
    "ModelFileError",
    "Optimizer",
    "Parameter",
    "RMSprop",
    "ReduceLROnPlateau",
    "Relu",
    "Sigmoid",
    "Softmax",
    "StepLR",
    "Tanh",
    "TrainingDiverged",
    "__version__",
    "check_gradients",
    "clip_grad_norm",
    "load",
    "plot_losses",
    "plot_diagnostics",
    "Diagnostics",
    "save",
]

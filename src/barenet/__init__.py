"""barenet: a small, exact and fast neural-network library written from scratch in NumPy."""

from barenet._version import __version__
from barenet.activations import GELU, LeakyRelu, Mish, Relu, Sigmoid, SiLU, Softmax, Tanh
from barenet.diagnostics import Diagnostics
from barenet.embeddings import FeatureLinear, PeriodicEmbedding, PiecewiseLinearEncoding
from barenet.ensemble import Ensemble, EnsembleLinear, EnsembleMean, MemberScale
from barenet.errors import BarenetError, ModelFileError, TrainingDiverged
from barenet.gradcheck import check_gradients
from barenet.layers import BatchNorm1d, Dropout, Identity, Layer, Linear, Parameter
from barenet.losses import MAE, MSE, BCEWithLogits, CrossEntropy, Huber, Loss
from barenet.model import MLP
from barenet.optimizers import SGD, Adam, AdamW, Optimizer, RMSprop, clip_grad_norm
from barenet.persistence import load, save
from barenet.plotting import plot_diagnostics, plot_losses
from barenet.retrieval import Retrieval
from barenet.scaling import QuantileScaling, RobustScaling
from barenet.schedules import CosineAnnealingLR, ReduceLROnPlateau, StepLR

__all__ = [
    "Retrieval",
    "RobustScaling",
    "QuantileScaling",
    "MemberScale",
    "EnsembleMean",
    "EnsembleLinear",
    "Ensemble",
    "PiecewiseLinearEncoding",
    "PeriodicEmbedding",
    "FeatureLinear",
    "SiLU",
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

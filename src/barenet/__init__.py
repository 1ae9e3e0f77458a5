"""barenet: a small, exact and fast neural-network library written from scratch in NumPy."""

from barenet.activations import GELU, LeakyRelu, Relu, Sigmoid, Softmax, Tanh
from barenet.layers import BatchNorm1d, Dropout, Identity, Layer, Linear, Parameter
from barenet.losses import MAE, MSE, BCEWithLogits, CrossEntropy, Huber, Loss
from barenet.model import MLP
from barenet.optimizers import SGD, Adam, AdamW, Optimizer, RMSprop, clip_grad_norm
from barenet.plotting import plot_losses
from barenet.schedules import CosineAnnealingLR, ReduceLROnPlateau, StepLR
from barenet.trainer import TrainingDiverged

__version__ = "0.1.0"

__all__ = [
    "MAE",
    "MLP",
    "MSE",
    "SGD",
    "Adam",
    "AdamW",
    "BCEWithLogits",
    "BatchNorm1d",
    "CosineAnnealingLR",
    "CrossEntropy",
    "Dropout",
    "GELU",
    "Huber",
    "Identity",
    "Layer",
    "LeakyRelu",
    "Linear",
    "Loss",
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
    "clip_grad_norm",
    "plot_losses",
]

from barenet.persistence import load  # noqa: E402

__all__ += ["load"]

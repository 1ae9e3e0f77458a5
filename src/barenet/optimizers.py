"""Optimisers that update any layer's parameters, and gradient clipping.

The base class ``Optimizer`` does the bookkeeping (the parameter list, a state
dict per parameter, coupled L2 weight decay, saving and loading state); each
subclass writes only ``update(value, grad, state)``, its formula, in place.
The formulas follow ``torch.optim`` exactly. ``OPTIMIZERS`` maps names to
classes for the command line and the estimators.
"""

from __future__ import annotations

import math

import numpy as np

from barenet._checks import check_learning_rate
from barenet.layers import Parameter
from barenet.packing import PackedParameters, pack


def _as_parameters(params) -> list[Parameter]:
    if isinstance(params, Optimizer):
        return params.params
    if hasattr(params, "parameters"):
        params = params.parameters()
    params = list(params)
    for p in params:
        if not isinstance(p, Parameter):
            raise TypeError(
                f"optimiser parameters must be barenet Parameters (from .parameters()), "
                f"got {type(p).__name__}"
            )
    return params


class Optimizer:
    """Base class: keeps the parameters and one state dict per parameter.

    Parameters
    ----------
    params : iterable of Parameter, a model or layer, or None
        ``None`` lets ``MLP(..., optimizer=...)`` attach the model's parameters.
    lr : float
    weight_decay : float
        L2 penalty added to the gradient (``grad + weight_decay * value``).
    """

    decoupled_weight_decay = False

    def __init__(self, params=None, lr: float = 0.01, *, weight_decay: float = 0.0) -> None:
        self.lr = check_learning_rate(lr)
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
        self.weight_decay = float(weight_decay)
        self.params: list[Parameter] = []
        self.slots: list = []
        self.state: list[dict] = []
        if params is not None:
            self.attach(params)

    def attach(self, params) -> Optimizer:
        """Set the parameters to optimise (a list of Parameters, or a model) and reset state.

        Parameters of layers that write their gradients in place are packed into one
        flat buffer (see ``barenet.packing``), so each update is a few NumPy calls.
        """
        self.params = _as_parameters(params)
        self.slots = pack(self.params)
        self.state = [{} for _ in self.slots]
        return self

    def step(self) -> None:
        if not self.params:
            raise RuntimeError(
                f"{type(self).__name__} has no parameters: pass them, or give it to an MLP"
            )
        wd = self.weight_decay
        for slot, state in zip(self.current_slots(), self.state, strict=True):
            value, grad = slot.value, slot.grad
            if wd and not self.decoupled_weight_decay:
                grad = grad + wd * value
            state["step"] = state.get("step", 0) + 1
            self.update(value, grad, state)

    def update(self, value: np.ndarray, grad: np.ndarray, state: dict) -> None:
        """Change ``value`` in place from ``grad``; ``state`` is this parameter's own."""
        raise NotImplementedError

    def current_slots(self) -> list:
        """The slots, each packed buffer re-packed first if a layer replaced an array."""
        for slot in self.slots:
            if isinstance(slot, PackedParameters) and not slot.intact():
                slot.rebind()
        return self.slots

    def zero_grad(self) -> None:
        for slot in self.current_slots():
            slot.grad[...] = 0

    def hyperparameters(self) -> dict:
        return {"lr": self.lr, "weight_decay": self.weight_decay}

    def state_dict(self) -> dict:
        """``{"hyperparameters": {...}, "state": [{name: array or int}, ...]}``."""
        return {
            "hyperparameters": self.hyperparameters(),
            "state": [
                {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in s.items()}
                for s in self.state
            ],
        }

    def load_state_dict(self, state_dict: dict) -> None:
        states = state_dict["state"]
        if len(states) != len(self.slots):
            raise ValueError(
                f"optimiser state has {len(states)} slots, this optimiser has {len(self.slots)}"
            )
        for key, value in state_dict["hyperparameters"].items():
            setattr(self, key, value)
        self.state = [dict(s) for s in states]

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """SGD with optional momentum, dampening and Nesterov momentum (``torch.optim.SGD``)."""

    def __init__(
        self,
        params=None,
        lr: float = 0.01,
        *,
        momentum: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr, weight_decay=weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum needs momentum > 0 and dampening = 0")
        self.momentum, self.dampening, self.nesterov = float(momentum), float(dampening), nesterov

    def update(self, value, grad, state):
        if self.momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(grad, copy=True)
            else:
                buf *= self.momentum
                buf += (1 - self.dampening) * grad
            grad = grad + self.momentum * buf if self.nesterov else buf
        value -= self.lr * grad

    def hyperparameters(self):
        return {
            **super().hyperparameters(),
            "momentum": self.momentum,
            "dampening": self.dampening,
            "nesterov": self.nesterov,
        }


class Adam(Optimizer):
    """Adam (``torch.optim.Adam``): bias-corrected first and second moments; L2 weight
    decay added to the gradient."""

    def __init__(
        self,
        params=None,
        lr: float = 1e-3,
        *,
        betas=(0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr, weight_decay=weight_decay)
        self.betas, self.eps = (float(betas[0]), float(betas[1])), float(eps)

    def update(self, value, grad, state):
        beta1, beta2 = self.betas
        if "exp_avg" not in state:
            state["exp_avg"] = np.zeros_like(value)
            state["exp_avg_sq"] = np.zeros_like(value)
        m, v, t = state["exp_avg"], state["exp_avg_sq"], state["step"]
        m *= beta1
        m += (1 - beta1) * grad
        v *= beta2
        v += (1 - beta2) * grad * grad
        denom = np.sqrt(v) / math.sqrt(1 - beta2**t) + self.eps
        value -= (self.lr / (1 - beta1**t)) * m / denom

    def hyperparameters(self):
        return {**super().hyperparameters(), "betas": list(self.betas), "eps": self.eps}


class AdamW(Adam):
    """AdamW (``torch.optim.AdamW``): Adam with decoupled weight decay
    ``value *= 1 - lr * weight_decay`` before the Adam step (default 0.01)."""

    decoupled_weight_decay = True

    def __init__(
        self,
        params=None,
        lr: float = 1e-3,
        *,
        betas=(0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.01,
    ) -> None:
        super().__init__(params, lr, betas=betas, eps=eps, weight_decay=weight_decay)

    def update(self, value, grad, state):
        value *= 1 - self.lr * self.weight_decay
        super().update(value, grad, state)


class RMSprop(Optimizer):
    """RMSprop (``torch.optim.RMSprop``), with optional momentum and centring."""

    def __init__(
        self,
        params=None,
        lr: float = 0.01,
        *,
        alpha: float = 0.99,
        eps: float = 1e-8,
        momentum: float = 0.0,
        centered: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr, weight_decay=weight_decay)
        self.alpha, self.eps = float(alpha), float(eps)
        self.momentum, self.centered = float(momentum), bool(centered)

    def update(self, value, grad, state):
        if "square_avg" not in state:
            state["square_avg"] = np.zeros_like(value)
        sq = state["square_avg"]
        sq *= self.alpha
        sq += (1 - self.alpha) * grad * grad
        if self.centered:
            g_avg = state.setdefault("grad_avg", np.zeros_like(value))
            g_avg *= self.alpha
            g_avg += (1 - self.alpha) * grad
            avg = np.sqrt(sq - g_avg * g_avg) + self.eps
        else:
            avg = np.sqrt(sq) + self.eps
        if self.momentum > 0:
            buf = state.setdefault("momentum_buffer", np.zeros_like(value))
            buf *= self.momentum
            buf += grad / avg
            value -= self.lr * buf
        else:
            value -= self.lr * grad / avg

    def hyperparameters(self):
        return {
            **super().hyperparameters(),
            "alpha": self.alpha,
            "eps": self.eps,
            "momentum": self.momentum,
            "centered": self.centered,
        }


OPTIMIZERS = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop}


def get_optimizer(name: str) -> type[Optimizer]:
    """Return the optimiser class called ``name``; raise ``ValueError`` naming the choices."""
    try:
        return OPTIMIZERS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown optimizer {name!r}; choose one of {sorted(OPTIMIZERS)}"
        ) from None


def _grad_arrays(params) -> list[np.ndarray]:
    slots = params.current_slots() if isinstance(params, Optimizer) else _as_parameters(params)
    return [slot.grad for slot in slots]


def grad_norm(params) -> float:
    """The global L2 norm of all gradients (inf or nan if any gradient is not finite)."""
    return math.sqrt(sum(float(np.vdot(g, g)) for g in _grad_arrays(params)))


def clip_grad_norm(params, max_norm: float) -> float:
    """Scale all gradients in place so that their global L2 norm is at most ``max_norm``.

    As ``torch.nn.utils.clip_grad_norm_``: the factor is
    ``min(1, max_norm / (norm + 1e-6))``. ``params``: Parameters, a model or layer, or an
    optimiser (then its packed buffers are used). Returns the norm before clipping; a
    non-finite norm leaves the gradients as they are.
    """
    total = grad_norm(params)
    coef = max_norm / (total + 1e-6)
    if coef < 1.0:
        for g in _grad_arrays(params):
            g *= coef
    return total

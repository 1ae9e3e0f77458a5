"""Optimisers that update any layer's parameters, and gradient clipping.

The base class ``Optimizer`` does the bookkeeping (the parameters, a state dict per
parameter keyed by its name, ``"0.w"``, as in a model's ``state_dict``; coupled L2
weight decay; saving and loading state). Each subclass writes only
``update(value, grad, state)``, its formula, in place. The formulas follow
``torch.optim`` exactly. Each optimiser is registered in ``OPTIMIZERS`` by name.

``fused=True`` (as tinygrad's option) applies the formula once to all parameters of
a dtype, packed into one flat buffer (``barenet.engines.fused.packing``): the same numbers
in fewer NumPy calls. Parameters stay packed until ``unpack()``; ``MLP.train``
unpacks when it returns.
"""

from __future__ import annotations

import math

import numpy as np

from barenet._checks import check_learning_rate, check_number
from barenet.errors import BarenetTypeError, BarenetValueError, UsageError
from barenet.layers import Parameter
from barenet.registry import ENGINES, OPTIMIZERS


def _as_parameters(params) -> list[Parameter]:
    if isinstance(params, Optimizer):
        return params.params
    if hasattr(params, "parameters"):
        params = params.parameters()
    params = list(params)
    for p in params:
        if not isinstance(p, Parameter):
            raise BarenetTypeError(
                f"optimiser parameters must be barenet Parameters (from .parameters()), "
                f"got {type(p).__name__}"
            )
    return params


def _check_non_negative(value, name: str) -> float:
    value = check_number(value, name)
    if value < 0:
        raise BarenetValueError(f"{name} must be >= 0, got {value}")
    return value


class Optimizer:
    """Base class: the parameters, and one state dict per parameter.

    Parameters
    ----------
    params : iterable of Parameter, a model or layer, or None
        ``None`` lets ``MLP(..., optimizer=...)`` attach the model's parameters.
    lr : float
    weight_decay : float
        L2 penalty added to the gradient (``grad + weight_decay * value``).
    fused : bool
        Update all parameters of a dtype at once, packed in one flat buffer.

    Attributes
    ----------
    state : dict
        ``{parameter key: {"step": int, name: array, ...}}``.
    """

    decoupled_weight_decay = False

    def __init__(
        self, params=None, lr: float = 0.01, *, weight_decay: float = 0.0, fused: bool = False
    ) -> None:
        self.lr = check_learning_rate(lr)
        self.weight_decay = _check_non_negative(weight_decay, "weight_decay")
        self.fused = bool(fused)
        self.params: list[Parameter] = []
        self.state: dict[str, dict] = {}
        self._groups = None  # the packed FlatParameters while fused
        if params is not None:
            self.attach(params)

    def attach(self, params) -> Optimizer:
        """Set the parameters to optimise (a list of Parameters, or a model); reset state."""
        self.unpack()
        self.params = _as_parameters(params)
        keys = [p.key for p in self.params]
        if len(set(keys)) != len(keys):  # parameters of separate layers, not from a model
            for i, p in enumerate(self.params):
                p.key = str(i)
        self.state = {p.key: {} for p in self.params}
        return self

    def step(self) -> None:
        """Update every parameter from its gradient."""
        if not self.params:
            raise UsageError(
                f"{type(self).__name__} has no parameters: pass them, or give it to an MLP"
            )
        if self.fused:
            for group in self.packed_groups():
                group.gather_grads()
                self.update_one(group.value, group.grad, group.state)
        else:
            for p in self.params:
                self.update_one(p.value, p.grad, self.state[p.key])

    def update_one(self, value: np.ndarray, grad: np.ndarray, state: dict) -> None:
        """Weight decay, the step count, then the subclass's formula."""
        if self.weight_decay and not self.decoupled_weight_decay:
            grad = grad + self.weight_decay * value
        state["step"] = state.get("step", 0) + 1
        self.update(value, grad, state)

    def update(self, value: np.ndarray, grad: np.ndarray, state: dict) -> None:
        """Change ``value`` in place from ``grad``; ``state`` is this parameter's own."""
        raise NotImplementedError

    # -- fused: the parameters packed in flat buffers (barenet.engines.fused.packing) ----------

    def packed_groups(self) -> list:
        """The flat groups, packing the parameters first (or again, if a layer replaced
        one of its arrays)."""
        if self._groups is not None and all(g.intact() for g in self._groups):
            return self._groups
        self.unpack()
        self._groups = ENGINES.get().pack(self.params)
        for group in self._groups:
            group.set_member_states([self.state[p.key] for p in group.members])
        return self._groups

    def unpack(self) -> None:
        """Give the layers back their own arrays (updated) and keep the state per parameter."""
        if self._groups is None:
            return
        self.state = self._states()
        for group in self._groups:
            group.unpack()
        self._groups = None

    def _states(self) -> dict[str, dict]:
        if self._groups is None:
            return self.state
        states = dict(self.state)
        for group in self._groups:
            for i, p in enumerate(group.members):
                states[p.key] = group.member_state(i)
        return states

    # -- PyTorch's vocabulary ---------------------------------------------------------

    def zero_grad(self) -> None:
        """Set the gradients to zero (not needed: barenet's backward overwrites them)."""
        for p in self.params:
            p.grad[...] = 0

    def hyperparameters(self) -> dict:
        return {"lr": self.lr, "weight_decay": self.weight_decay}

    def config(self) -> dict:
        """The constructor arguments that rebuild this optimiser (without parameters), with
        the learning rate it was built with if a schedule has changed it since."""
        return {
            **self.hyperparameters(),
            "lr": getattr(self, "initial_lr", self.lr),
            "fused": self.fused,
        }

    def state_dict(self) -> dict:
        """``{"hyperparameters": {...}, "state": {key: {name: array or int}}}``, keyed
        per parameter (``"0.w"``) whether fused or not."""
        return {
            "hyperparameters": self.hyperparameters(),
            "state": {
                key: {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in s.items()}
                for key, s in self._states().items()
            },
        }

    def load_state_dict(self, state_dict: dict) -> None:
        states = state_dict["state"]
        if set(states) != set(self.state):
            raise BarenetValueError(
                f"optimiser state is for parameters {sorted(states)}, "
                f"this optimiser has {sorted(self.state)}"
            )
        self.unpack()
        for key, value in state_dict["hyperparameters"].items():
            setattr(self, key, tuple(value) if isinstance(value, list) else value)
        self.state = {key: dict(s) for key, s in states.items()}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


@OPTIMIZERS.register("sgd")
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
        fused: bool = False,
    ) -> None:
        super().__init__(params, lr, weight_decay=weight_decay, fused=fused)
        momentum = _check_non_negative(momentum, "momentum")
        if nesterov and (momentum <= 0 or dampening):
            raise BarenetValueError("Nesterov momentum needs momentum > 0 and dampening = 0")
        self.momentum, self.nesterov = momentum, bool(nesterov)
        self.dampening = check_number(dampening, "SGD dampening", minimum=0.0, maximum=1.0)

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


@OPTIMIZERS.register("adam")
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
        fused: bool = False,
    ) -> None:
        super().__init__(params, lr, weight_decay=weight_decay, fused=fused)
        if isinstance(betas, str) or len(betas) != 2:
            raise BarenetValueError(f"Adam betas must be two numbers, got {betas!r}")
        self.betas = tuple(
            check_number(b, "Adam betas", minimum=0.0, maximum=1.0, open_max=True) for b in betas
        )
        self.eps = check_number(eps, "Adam eps", minimum=0.0)

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


@OPTIMIZERS.register("adamw")
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
        fused: bool = False,
    ) -> None:
        super().__init__(params, lr, betas=betas, eps=eps, weight_decay=weight_decay, fused=fused)

    def update(self, value, grad, state):
        value *= 1 - self.lr * self.weight_decay
        super().update(value, grad, state)


@OPTIMIZERS.register("rmsprop")
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
        fused: bool = False,
    ) -> None:
        super().__init__(params, lr, weight_decay=weight_decay, fused=fused)
        self.momentum = _check_non_negative(momentum, "momentum")
        self.alpha = check_number(alpha, "RMSprop alpha", minimum=0.0, maximum=1.0)
        self.eps = check_number(eps, "RMSprop eps", minimum=0.0)
        self.centered = bool(centered)

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


def _grad_arrays(params) -> list[np.ndarray]:
    """The gradient arrays of Parameters, a model or layer, an optimiser, or arrays
    (the layers' current ``d<name>`` arrays, which a fused step gathers)."""
    if isinstance(params, list | tuple) and all(isinstance(g, np.ndarray) for g in params):
        return list(params)
    return [p.grad for p in _as_parameters(params)]


def grad_norm(params) -> float:
    """The global L2 norm of all gradients (inf or nan if any gradient is not finite)."""
    return math.sqrt(sum(float(np.vdot(g, g)) for g in _grad_arrays(params)))


def clip_grad_norm(params, max_norm: float) -> float:
    """Scale all gradients in place so that their global L2 norm is at most ``max_norm``.

    As ``torch.nn.utils.clip_grad_norm_``: the factor is
    ``min(1, max_norm / (norm + 1e-6))``. ``params``: Parameters, a model or layer, an
    optimiser, or a list of gradient arrays. Returns the norm before clipping; a
    non-finite norm leaves the gradients as they are.
    """
    grads = _grad_arrays(params)
    total = grad_norm(grads)
    coef = max_norm / (total + 1e-6)
    if coef < 1.0:
        for g in grads:
            g *= coef
    return total

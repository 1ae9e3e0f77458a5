"""Activation functions as layers, each backward rule beside its forward.

Each is registered in ``barenet.registry.ACTIVATIONS`` under the name the command
line, the estimators and model files use (``"relu"``, ``"sigmoid"``, ...), with the
ONNX operator that exports it: adding an activation means editing this file only.
"""

from __future__ import annotations

import numpy as np

from barenet import functional as F
from barenet._checks import check_number
from barenet.layers import Layer
from barenet.registry import ACTIVATIONS


@ACTIVATIONS.register("sigmoid")
class Sigmoid(Layer):
    """f(x) = 1 / (1 + exp(-x)); f'(x) = f(x) (1 - f(x)).

    Computed from exp(-|x|), which never overflows, so any finite input gives a
    finite output without warnings.
    """

    onnx_op = "Sigmoid"

    def forward(self, inp: np.ndarray) -> np.ndarray:
        self.inp = inp
        self.out = F.sigmoid(inp)
        return self.out

    def backward(self, up_grad: np.ndarray) -> np.ndarray:
        return up_grad * self.out * (1.0 - self.out)


@ACTIVATIONS.register("relu")
class Relu(Layer):
    """f(x) = max(0, x); f'(x) = 1 where x > 0, else 0 (as in the notebook).

    Both passes multiply by the 0/1 mask of ``inp > 0``, kept in the input's dtype:
    the same numbers as ``np.maximum(0, inp)`` and ``up_grad * (inp > 0)``, faster.
    """

    onnx_op = "Relu"

    def forward(self, inp: np.ndarray) -> np.ndarray:
        self.inp = inp
        self.mask = (inp > 0).astype(inp.dtype)
        return inp * self.mask

    def backward(self, up_grad: np.ndarray) -> np.ndarray:
        return up_grad * self.mask


@ACTIVATIONS.register("tanh")
class Tanh(Layer):
    """f(x) = tanh(x); f'(x) = 1 - f(x)^2."""

    onnx_op = "Tanh"

    def forward(self, inp: np.ndarray) -> np.ndarray:
        self.inp = inp
        self.out = np.tanh(inp)
        return self.out

    def backward(self, up_grad: np.ndarray) -> np.ndarray:
        return up_grad * (1.0 - self.out * self.out)


@ACTIVATIONS.register("leaky_relu")
class LeakyRelu(Layer):
    """f(x) = x for x > 0, else slope * x (``torch.nn.LeakyReLU``, slope 0.01)."""

    onnx_op = "LeakyRelu"

    def __init__(self, slope: float = 0.01) -> None:
        super().__init__()
        self.slope = check_number(slope, "LeakyRelu slope")

    def forward(self, inp: np.ndarray) -> np.ndarray:
        self.inp = inp
        return np.where(inp > 0, inp, inp * self.slope)

    def backward(self, up_grad: np.ndarray) -> np.ndarray:
        return np.where(self.inp > 0, up_grad, up_grad * self.slope)

    def config(self) -> dict:
        return {"slope": self.slope}

    def onnx_attributes(self) -> dict:
        return {"alpha": self.slope}


@ACTIVATIONS.register("gelu")
class GELU(Layer):
    """GELU, tanh approximation (``torch.nn.GELU(approximate="tanh")``):

    f(x) = 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3).
    """

    _c = float(np.sqrt(2.0 / np.pi))  # a Python float keeps float32 arrays float32
    onnx_op = "Gelu"  # opset 20

    def onnx_attributes(self) -> dict:
        return {"approximate": "tanh"}

    def forward(self, inp: np.ndarray) -> np.ndarray:
        self.inp = inp
        self.t = np.tanh(self._c * (inp + 0.044715 * inp**3))
        return 0.5 * inp * (1.0 + self.t)

    def backward(self, up_grad: np.ndarray) -> np.ndarray:
        x, t = self.inp, self.t
        du_dx = self._c * (1.0 + 3 * 0.044715 * x * x)
        return up_grad * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du_dx)


@ACTIVATIONS.register("silu", "swish")
class SiLU(Layer):
    """SiLU (swish): f(x) = x sigmoid(x); f'(x) = s + x s (1 - s), s = sigmoid(x)."""

    onnx_op = "Sigmoid"  # then multiplied by x: ONNX has no SiLU operator

    def onnx_nodes(self, graph, inp: str) -> str:
        return graph.node("Mul", [inp, graph.node("Sigmoid", [inp])])

    def forward(self, inp: np.ndarray) -> np.ndarray:
        self.inp = inp
        self.s = F.sigmoid(inp)
        return inp * self.s

    def backward(self, up_grad: np.ndarray) -> np.ndarray:
        s = self.s
        return up_grad * (s + self.inp * s * (1.0 - s))


@ACTIVATIONS.register("softplus")
class Softplus(Layer):
    """f(x) = log(1 + exp(x)); f'(x) = sigmoid(x). Computed without overflow."""

    onnx_op = "Softplus"

    def forward(self, inp: np.ndarray) -> np.ndarray:
        self.inp = inp
        return F.softplus(inp)

    def backward(self, up_grad: np.ndarray) -> np.ndarray:
        return up_grad * F.sigmoid(self.inp)


@ACTIVATIONS.register("mish")
class Mish(Layer):
    """Mish: f(x) = x tanh(softplus(x)), softplus(x) = log(1 + exp(x));
    f'(x) = t + x (1 - t^2) sigmoid(x), t = tanh(softplus(x))."""

    onnx_op = "Mish"  # opset 18

    def forward(self, inp: np.ndarray) -> np.ndarray:
        self.inp = inp
        self.t = np.tanh(F.softplus(inp))
        return inp * self.t

    def backward(self, up_grad: np.ndarray) -> np.ndarray:
        t = self.t
        return up_grad * (t + self.inp * (1.0 - t * t) * F.sigmoid(self.inp))


@ACTIVATIONS.register("softmax")
class Softmax(Layer):
    """Softmax over the features of each row (axis 1), shifted by the row max.

    For classification prefer ``CrossEntropy`` on the logits, which is more
    accurate; this layer is for when probabilities are needed inside a network.
    """

    onnx_op = "Softmax"

    def onnx_attributes(self) -> dict:
        return {"axis": 1}

    def forward(self, inp: np.ndarray) -> np.ndarray:
        self.inp = inp
        self.out = F.softmax(inp)
        return self.out

    def backward(self, up_grad: np.ndarray) -> np.ndarray:
        s = self.out
        return s * (up_grad - np.sum(up_grad * s, axis=1, keepdims=True))

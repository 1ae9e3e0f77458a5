"""Parameter-efficient ensembles: ``k`` networks trained at once, sharing most weights.

After BatchEnsemble (Wen et al., 2020) and TabM (Gorishniy et al., 2024), written
afresh in NumPy. An ensemble's activations are 2-D, ``(batch_size, k * width)``:
member by member, so activations and Dropout apply to them unchanged.

- ``Ensemble(k, dim)`` copies each row to the ``k`` members.
- ``MemberScale(k, dim)`` multiplies each member's features by its own trainable
  vector (TabM-mini's adapter: random signs at first, so members start different).
- ``EnsembleLinear(in_dim, out_dim, k)`` applies one weight matrix to every member in
  one matrix product (``shared=True``, with a bias per member), or a separate one per
  member (``shared=False``, e.g. the output heads).
- ``EnsembleMean(k, out_dim)`` ends the ensemble. In training mode it gives the
  members' outputs as ``(batch_size, k, out_dim)``, and every loss scores each member
  against the target and averages (each member learns as a model of its own); in
  evaluation mode it gives their mean, ``(batch_size, out_dim)``.
"""

from __future__ import annotations

import numpy as np

from barenet._checks import as_rng, check_dtype, check_positive_int
from barenet.errors import BarenetValueError
from barenet.initializers import INITIALIZERS
from barenet.layers import Layer, config_arguments
from barenet.registry import LAYERS


def _check_input(layer, inp: np.ndarray, width: int) -> None:
    if inp.ndim != 2 or inp.shape[1] != width:
        raise BarenetValueError(
            f"{layer!r} expects input of shape (batch_size, {width}), got {inp.shape}"
        )


@LAYERS.register("ensemble")
class Ensemble(Layer):
    """Copy each row to ``k`` members: (batch_size, dim) -> (batch_size, k * dim)."""

    def __init__(self, k: int, dim: int) -> None:
        super().__init__()
        self.k = check_positive_int(k, "Ensemble k")
        self.dim = check_positive_int(dim, "Ensemble dim")

    def io_dims(self) -> tuple[int, int]:
        return self.dim, self.k * self.dim

    def forward(self, inp: np.ndarray) -> np.ndarray:
        _check_input(self, inp, self.dim)
        self.inp = inp
        return np.tile(inp, (1, self.k))

    def backward(self, up_grad: np.ndarray) -> np.ndarray:
        """Each input fed every member: its gradient is the members' sum."""
        return up_grad.reshape(len(up_grad), self.k, -1).sum(axis=1)

    def onnx_nodes(self, graph, inp: str) -> str:
        return graph.node("Tile", [inp, graph.constant("repeats", [1, self.k], np.int64)])

    def config(self) -> dict:
        return {"k": self.k, "dim": self.dim}


@LAYERS.register("member_scale")
class MemberScale(Layer):
    """Multiply member ``m``'s features by its vector ``r[m]``: out = inp * r.

    ``r`` starts as random signs (+1 or -1), as TabM's first adapter.
    Shapes: (batch_size, k * dim) -> (batch_size, k * dim).

    Attributes
    ----------
    r, dr : ndarray, shape (k, dim)
    """

    param_names = ("r",)
    seed_stream = "init"

    def __init__(self, k: int, dim: int, *, dtype=np.float32, seed=None) -> None:
        super().__init__()
        self.k = check_positive_int(k, "MemberScale k")
        self.dim = check_positive_int(dim, "MemberScale dim")
        rng = as_rng(seed, "MemberScale")
        signs = rng.integers(0, 2, size=(self.k, self.dim)) * 2 - 1
        self.r = signs.astype(check_dtype(dtype))
        self.dr = np.zeros(self.r.shape, self.r.dtype)

    def io_dims(self) -> tuple[int, int]:
        return self.k * self.dim, self.k * self.dim

    def forward(self, inp: np.ndarray) -> np.ndarray:
        _check_input(self, inp, self.k * self.dim)
        self.inp = inp.reshape(len(inp), self.k, self.dim)
        return (self.inp * self.r).reshape(len(inp), -1)

    def backward(self, up_grad: np.ndarray) -> np.ndarray:
        up_grad = up_grad.reshape(self.inp.shape)
        np.einsum("bkd,bkd->kd", up_grad, self.inp, out=self.dr)  # sum over the batch
        return (up_grad * self.r).reshape(len(up_grad), -1)

    def onnx_nodes(self, graph, inp: str) -> str:
        """inp * r, with r laid out member by member as the input: (1, k * dim)."""
        return graph.node("Mul", [inp, graph.constant("r", self.r.reshape(1, -1))])

    def config(self) -> dict:
        return {"k": self.k, "dim": self.dim, "dtype": str(self.r.dtype)}

    @classmethod
    def stored_shapes(cls, config: dict) -> dict[str, tuple]:
        """``r``: (k, dim)."""
        arguments = config_arguments(cls, config)
        return {"r": (arguments["k"], arguments["dim"])}


@LAYERS.register("ensemble_linear")
class EnsembleLinear(Layer):
    """A linear layer for each of ``k`` members: ``out_m = inp_m @ w (+ b_m)``.

    Parameters
    ----------
    in_dim, out_dim : int
        Features per member.
    k : int
        Members.
    shared : bool, keyword-only
        One weight matrix for all members (default), applied in one matrix product
        over ``batch_size * k`` rows; or, if False, a matrix per member.
    init : str, keyword-only
        Initialiser of each member's matrix (see ``Linear``).

    Attributes
    ----------
    w, dw : ndarray, shape (in_dim, out_dim) if shared, else (k, in_dim, out_dim)
    b, db : ndarray, shape (k, out_dim), zero at first

    Shapes: inp (batch_size, k * in_dim) -> out (batch_size, k * out_dim).
    """

    param_names = ("w", "b")
    seed_stream = "init"

    def __init__(
        self, in_dim: int, out_dim: int, k: int, *, shared: bool = True, init="glorot_uniform",
        dtype=np.float32, seed=None,
    ) -> None:  # fmt: skip
        super().__init__()
        self.in_dim = check_positive_int(in_dim, "EnsembleLinear in_dim")
        self.out_dim = check_positive_int(out_dim, "EnsembleLinear out_dim")
        self.k = check_positive_int(k, "EnsembleLinear k")
        self.shared = bool(shared)
        self.init = init
        dtype = check_dtype(dtype)
        rng = as_rng(seed, "EnsembleLinear")
        initialize = INITIALIZERS.lookup(init)
        if self.shared:
            self.w = initialize(self.in_dim, self.out_dim, rng, dtype)
        else:
            self.w = np.stack([initialize(in_dim, out_dim, rng, dtype) for _ in range(self.k)])
        self.b = np.zeros((self.k, self.out_dim), dtype=dtype)
        self.dw, self.db = (
            np.zeros(self.w.shape, self.w.dtype),
            np.zeros(self.b.shape, self.b.dtype),
        )

    def io_dims(self) -> tuple[int, int]:
        return self.k * self.in_dim, self.k * self.out_dim

    def forward(self, inp: np.ndarray) -> np.ndarray:
        _check_input(self, inp, self.k * self.in_dim)
        batch_size = len(inp)
        if self.shared:  # every member's rows in one product: (batch * k, in) @ (in, out)
            self.inp = inp.reshape(batch_size * self.k, self.in_dim)
            out = (self.inp @ self.w).reshape(batch_size, self.k, self.out_dim)
        else:  # (k, batch, in) @ (k, in, out)
            self.inp = inp.reshape(batch_size, self.k, self.in_dim).transpose(1, 0, 2)
            out = (self.inp @ self.w).transpose(1, 0, 2)
        out += self.b
        return out.reshape(batch_size, -1)

    def backward(self, up_grad: np.ndarray) -> np.ndarray:
        batch_size = len(up_grad)
        members = up_grad.reshape(batch_size, self.k, self.out_dim)
        self.db[...] = members.sum(axis=0)
        if self.shared:
            rows = members.reshape(batch_size * self.k, self.out_dim)
            np.matmul(self.inp.T, rows, out=self.dw)
            return (rows @ self.w.T).reshape(batch_size, -1)
        by_member = members.transpose(1, 0, 2)  # (k, batch, out)
        np.matmul(self.inp.transpose(0, 2, 1), by_member, out=self.dw)
        if self.out_dim == 1:  # the usual head: each input gradient is one product,
            # written straight into (batch, k, in) order, not as k outer-product matmuls
            return (members * self.w[None, :, :, 0]).reshape(batch_size, -1)
        return (by_member @ self.w.transpose(0, 2, 1)).transpose(1, 0, 2).reshape(batch_size, -1)

    def onnx_nodes(self, graph, inp: str) -> str:
        """(N, k * in) -> (N, k, in) @ w (+ b) -> (N, k * out); per member, the product
        runs on (k, N, in) @ (k, in, out)."""
        shape = graph.constant("shape", [0, self.k, self.in_dim], np.int64)
        members = graph.node("Reshape", [inp, shape])
        w = graph.constant("w", self.w)
        if self.shared:
            out = graph.node("MatMul", [members, w])
        else:
            members = graph.node("Transpose", [members], perm=[1, 0, 2])
            out = graph.node("Transpose", [graph.node("MatMul", [members, w])], perm=[1, 0, 2])
        out = graph.node("Add", [out, graph.constant("b", self.b)])
        return graph.node("Flatten", [out], axis=1)

    def config(self) -> dict:
        return {
            "in_dim": self.in_dim,
            "out_dim": self.out_dim,
            "k": self.k,
            "shared": self.shared,
            "init": self.init,
            "dtype": str(self.w.dtype),
        }

    @classmethod
    def stored_shapes(cls, config: dict) -> dict[str, tuple]:
        """``w``: (in_dim, out_dim) if shared, else (k, in_dim, out_dim); ``b``: (k, out_dim)."""
        a = config_arguments(cls, config)
        w = (a["in_dim"], a["out_dim"])
        return {"w": w if bool(a["shared"]) else (a["k"], *w), "b": (a["k"], a["out_dim"])}


@LAYERS.register("ensemble_mean")
class EnsembleMean(Layer):
    """The end of an ensemble: each member's output while training, their mean after.

    Training mode: (batch_size, k * out_dim) -> (batch_size, k, out_dim), for a loss
    that scores each member. Evaluation mode: -> (batch_size, out_dim), the mean.
    """

    def __init__(self, k: int, out_dim: int = 1) -> None:
        super().__init__()
        self.k = check_positive_int(k, "EnsembleMean k")
        self.out_dim = check_positive_int(out_dim, "EnsembleMean out_dim")

    def io_dims(self) -> tuple[int, int]:
        return self.k * self.out_dim, self.out_dim

    def forward(self, inp: np.ndarray) -> np.ndarray:
        _check_input(self, inp, self.k * self.out_dim)
        self.inp = inp
        members = inp.reshape(len(inp), self.k, self.out_dim)
        return members if self.training else members.mean(axis=1)

    def backward(self, up_grad: np.ndarray) -> np.ndarray:
        if up_grad.ndim == 3:  # training: each member's own gradient
            return up_grad.reshape(len(up_grad), -1)
        share = up_grad[:, None, :] / up_grad.dtype.type(self.k)
        return np.broadcast_to(share, (len(up_grad), self.k, self.out_dim)).reshape(
            len(up_grad), -1
        )

    def onnx_nodes(self, graph, inp: str) -> str:
        """The members' mean (evaluation mode): (N, k * out) -> (N, out)."""
        shape = graph.constant("shape", [0, self.k, self.out_dim], np.int64)
        members = graph.node("Reshape", [inp, shape])
        axis = graph.constant("axis", [1], np.int64)
        return graph.node("ReduceMean", [members, axis], keepdims=0)

    def config(self) -> dict:
        return {"k": self.k, "out_dim": self.out_dim}

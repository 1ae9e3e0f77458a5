"""Retrieval: each row looks up similar training rows and reads their targets.

In the spirit of ModernNCA and TabR (Gorishniy et al., 2024; Ye et al., 2024), written
afresh in NumPy. ``Retrieval`` holds the training rows and their targets (as buffers,
so a model file carries them). Each head ``h`` encodes rows with its own learned linear
map ``k = x @ w[h]``; a row attends over the candidate training rows with the softmax
of the negative squared distances of the encodings,

    p_ij = exp(-|k_i - c_j|^2) / sum_l exp(-|k_i - c_l|^2),

and reads ``sum_j p_ij y_j``, the attention-weighted mean of their targets (one-hot
classes for classification). The layer passes its input through and appends what each
head read, so the network behind it sees the features and the neighbours' targets.

While training, each batch attends over a fresh random sample of ``candidates``
training rows (all of them when ``candidates`` is at least their number), and a row
never retrieves itself (nor a training row with exactly the same features). In
evaluation mode every training row is a candidate.

With ``top=m`` (as TabR's context of m rows), a row's softmax keeps only its ``m``
highest scores, its ``m`` nearest candidates in the encoding; the others get no weight
and no gradient. With every training row a candidate, a row then reads the same
neighbourhood in training (less itself) as at prediction.

``encoder="diagonal"`` is a learned per-feature metric: head ``h`` encodes
``k = x * exp(speed * log_scale[h])``, one weight per feature, starting at ``scale 3^h / std_f``
(the held rows' standard deviation), so distances start on standardised features, all
weighted alike. A step of Adam moves a log-scale by about its rate, so a weight can grow
or shrink by a factor of 100 in a thousand steps: the encoder soon finds which features
a neighbourhood is about (California: latitude and longitude), where a linear encoder's
weights grow only by about the rate at each step.
"""

from __future__ import annotations

import numpy as np

from barenet._checks import as_rng, check_dtype, check_number, check_positive_int
from barenet.errors import BarenetValueError
from barenet.layers import Layer, config_arguments
from barenet.registry import LAYERS

ROW_CHUNK = 1024  # rows scored at a time against every candidate (``top``)
#: scores held at a time when evaluating over every held row (rows x held rows): a model
#: of a million held rows predicts a few rows at a time, in bounded memory
SCORE_BUDGET = 2**22


def _softmax_rows(scores: np.ndarray) -> np.ndarray:
    """Softmax along the last axis; rows of ``-inf`` only are not expected."""
    scores = scores - scores.max(axis=-1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(axis=-1, keepdims=True)
    return scores


@LAYERS.register("retrieval")
class Retrieval(Layer):
    """Attention over training rows: the input, then each head's weighted mean target.

    Parameters
    ----------
    in_dim : int
        Features of a row.
    target_dim : int
        Numbers per target: the outputs of a regression, the classes of a classification.
    n_rows : int
        Training rows held (the buffers' length; ``rows``/``targets`` fill them).
    rows : ndarray, shape (n_rows, in_dim), optional
        The training rows, as the layer receives them (after any layer in front of it).
    targets : ndarray, shape (n_rows, target_dim), optional
        Their targets (class probabilities, e.g. one-hot, for a classification).
    heads : int
        Independent encoders, each appending ``target_dim`` numbers.
    dim : int
        Size of each head's encoding.
    candidates : int
        Training rows sampled as candidates for each training batch (0, or at least
        ``n_rows``: every row).
    scale : float
        The encoders' initial scale: with ``encoder="linear"`` head ``h`` starts
        N(0, (scale 3^h)^2 / in_dim), so on standardised inputs each next head starts
        over a closer neighbourhood (California: scale 1 averages over most of the
        state; 12 measured best of 4, 12 and 36); with ``encoder="diagonal"`` see below.
    top : int
        Keep only each row's ``top`` highest scores in its softmax (0: all candidates).
    encoder : {"linear", "diagonal"}
        ``"linear"``: ``k = x @ w[h]``; ``"diagonal"``: ``k = x * exp(speed * log_scale[h])``
        (``dim`` is then ``in_dim``; any other is refused).
    speed : float
        The diagonal weights are ``exp(speed * log_scale)``: an optimizer's step on
        ``log_scale`` moves them ``speed`` times as far (a learning-rate multiplier for
        the metric alone).
    dtype, seed : keyword-only

    Attributes
    ----------
    w, dw : ndarray, shape (heads, in_dim, dim)
        The linear encoders (see ``scale``).
    log_scale, dlog_scale : ndarray, shape (heads, in_dim)
        The diagonal encoders' log weights, instead of ``w``.
    rows : ndarray, shape (n_rows, in_dim)     (buffer, saved with the model)
    targets : ndarray, shape (n_rows, target_dim)     (buffer, saved with the model)

    Shapes: inp (batch_size, in_dim) -> out (batch_size, in_dim + heads * target_dim).
    """

    param_names = ("w",)
    seed_stream = "init"

    def __init__(
        self,
        in_dim: int,
        target_dim: int,
        n_rows: int,
        *,
        rows=None,
        targets=None,
        heads: int = 2,
        dim: int = 16,
        candidates: int = 8192,
        scale: float = 12.0,
        top: int = 0,
        encoder: str = "linear",
        speed: float = 1.0,
        dtype=np.float32,
        seed=None,
    ) -> None:
        super().__init__()
        self.in_dim = check_positive_int(in_dim, "Retrieval in_dim")
        self.target_dim = check_positive_int(target_dim, "Retrieval target_dim")
        self.n_rows = check_positive_int(n_rows, "Retrieval n_rows", minimum=2)
        self.heads = check_positive_int(heads, "Retrieval heads")
        self.dim = check_positive_int(dim, "Retrieval dim")
        self.candidates = check_positive_int(candidates, "Retrieval candidates", minimum=0)
        dtype = check_dtype(dtype)
        self.rng = as_rng(seed, "Retrieval")
        self.scale = check_number(scale, "Retrieval scale", minimum=0.0)
        self.top = check_positive_int(top, "Retrieval top", minimum=0)
        self.encoder = self._checked_encoder(encoder)
        self.speed = check_number(speed, "Retrieval speed", minimum=0.0)
        if self.speed == 0:
            raise BarenetValueError("Retrieval speed must be above 0, got 0")
        self.rows = np.zeros((self.n_rows, self.in_dim), dtype=dtype)
        self.targets = np.zeros((self.n_rows, self.target_dim), dtype=dtype)
        if rows is not None or targets is not None:
            self.set_rows(rows, targets)
        self._start_encoders(dtype)
        self.out_dim = self.in_dim + self.heads * self.target_dim
        self._groups = None  # (rows' bytes -> group, group of each row), built when training

    def _checked_encoder(self, encoder: str) -> str:
        """``encoder`` if it is ``"linear"``, or ``"diagonal"`` with ``dim == in_dim``."""
        if encoder not in ("linear", "diagonal"):
            raise BarenetValueError(
                f"Retrieval encoder must be 'linear' or 'diagonal', got {encoder!r}"
            )
        if encoder == "diagonal" and self.dim != self.in_dim:
            raise BarenetValueError(
                f"Retrieval encoder='diagonal' weights each of the {self.in_dim} features: "
                f"dim must be {self.in_dim}, got {self.dim}"
            )
        return encoder

    def _start_encoders(self, dtype) -> None:
        """The encoders' first values: ``log_scale`` (heads, in_dim) for ``diagonal``,
        ``w`` (heads, in_dim, dim) for ``linear``, and their gradients' arrays."""
        # head h starts at scale * 3**h: from a broad neighbourhood to a closer one
        spread = self.scale * 3.0 ** np.arange(self.heads)
        if self.encoder == "diagonal":
            self.param_names = ("log_scale",)
            std = self.rows.astype(np.float64).std(axis=0)
            per_feature = 1.0 / np.where(std > 0, std, 1.0)
            start = np.log(spread[:, None] * per_feature[None, :]) / self.speed
            self.log_scale = start.astype(dtype)
            self.dlog_scale = np.zeros(self.log_scale.shape, self.log_scale.dtype)
        else:
            self.w = self.rng.standard_normal((self.heads, self.in_dim, self.dim)).astype(dtype)
            self.w *= (spread / np.sqrt(self.in_dim))[:, None, None].astype(dtype)
            self.dw = np.zeros(self.w.shape, self.w.dtype)

    @classmethod
    def stored_shapes(cls, config: dict) -> dict[str, tuple]:
        """``rows``: (n_rows, in_dim); ``targets``: (n_rows, target_dim); the encoders:
        ``w`` (heads, in_dim, dim), or ``log_scale`` (heads, in_dim) if diagonal."""
        a = config_arguments(cls, config)
        encoders = (
            {"log_scale": (a["heads"], a["in_dim"])}
            if a["encoder"] == "diagonal"
            else {"w": (a["heads"], a["in_dim"], a["dim"])}
        )
        rows = {"rows": (a["n_rows"], a["in_dim"]), "targets": (a["n_rows"], a["target_dim"])}
        return {**encoders, **rows}

    def set_rows(self, rows, targets) -> None:
        """Hold ``rows`` (n_rows, in_dim) and ``targets`` (n_rows, target_dim)."""
        rows = np.asarray(rows, dtype=self.rows.dtype)
        targets = np.asarray(targets, dtype=self.targets.dtype)
        if targets.ndim == 1:
            targets = targets[:, None]
        if rows.shape != self.rows.shape or targets.shape != self.targets.shape:
            raise BarenetValueError(
                f"Retrieval holds rows of shape {self.rows.shape} and targets of shape "
                f"{self.targets.shape}, got {rows.shape} and {targets.shape}"
            )
        if not (np.all(np.isfinite(rows)) and np.all(np.isfinite(targets))):
            raise BarenetValueError("Retrieval: the training rows and targets must be finite")
        self.rows[...] = rows
        self.targets[...] = targets
        self._groups = None

    def io_dims(self) -> tuple[int, int]:
        return self.in_dim, self.out_dim

    def buffers(self) -> dict[str, np.ndarray]:
        return {"rows": self.rows, "targets": self.targets}

    # -- which candidates a batch may see ----------------------------------------

    def _row_groups(self):
        """Each distinct training row's group number, and the group of every row."""
        if self._groups is None:
            _, first, group_of_row = np.unique(
                self.rows, axis=0, return_index=True, return_inverse=True
            )
            lookup = {self.rows[i].tobytes(): g for g, i in enumerate(first)}
            self._groups = (lookup, group_of_row.ravel())
        return self._groups

    def candidate_rows(self, inp: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """``(indices, excluded)``: the candidate training rows for this batch, and a
        (batch_size, n_candidates) mask of the pairs a row may not attend to (itself
        and identical rows) while training; all rows and no mask in evaluation."""
        if not self.training:
            return np.arange(self.n_rows), None
        if 0 < self.candidates < self.n_rows:
            indices = np.sort(self.rng.choice(self.n_rows, self.candidates, replace=False))
        else:
            indices = np.arange(self.n_rows)
        lookup, group_of_row = self._row_groups()
        batch_groups = np.array([lookup.get(row.tobytes(), -1) for row in inp])
        excluded = batch_groups[:, None] == group_of_row[indices][None, :]
        return indices, excluded

    # -- forward and backward ----------------------------------------------------

    def scales(self, h: int) -> np.ndarray:
        """Head ``h``'s diagonal weights (in_dim,): ``exp(speed * log_scale[h])``."""
        return np.exp(self.speed * self.log_scale[h])

    def encode(self, rows: np.ndarray, h: int) -> np.ndarray:
        """Head ``h``'s encodings (n, dim) of ``rows`` (n, in_dim)."""
        if self.encoder == "diagonal":
            return rows * self.scales(h)
        return rows @ self.w[h]

    @staticmethod
    def _scores(keys, cand_keys, excluded) -> np.ndarray:
        """(N, M) scores ``-|k_i - c_j|^2`` less ``-|k_i|^2``, which is the same for a
        whole row of the softmax and so changes nothing; ``-inf`` where excluded."""
        scores = keys @ (2 * cand_keys.T)
        scores -= np.sum(cand_keys * cand_keys, axis=1)[None, :]
        if excluded is not None:
            scores[excluded] = -np.inf
        return scores

    def _nearest_scores(self, keys, cand_keys, excluded) -> tuple[np.ndarray, np.ndarray]:
        """Each row's ``top`` highest scores (N, top) and their candidates' positions
        (N, top), ``ROW_CHUNK`` rows at a time (a prediction over all training rows
        would otherwise hold an (N, n_rows) array of scores and one of positions)."""
        scores = np.empty((len(keys), self.top), dtype=keys.dtype)
        nearest = np.empty((len(keys), self.top), dtype=np.intp)
        for start in range(0, len(keys), ROW_CHUNK):
            part = slice(start, start + ROW_CHUNK)
            chunk = self._scores(
                keys[part], cand_keys, None if excluded is None else excluded[part]
            )
            nearest[part] = np.argpartition(chunk, -self.top, axis=1)[:, -self.top :]
            scores[part] = np.take_along_axis(chunk, nearest[part], axis=1)
        return scores, nearest

    def forward(self, inp: np.ndarray) -> np.ndarray:
        if inp.ndim != 2 or inp.shape[1] != self.in_dim:
            raise BarenetValueError(
                f"{self!r} expects input of shape (batch_size, {self.in_dim}), got {inp.shape}"
            )
        if not self.training and len(inp) * self.n_rows > SCORE_BUDGET:
            return self._evaluate(inp)
        self.inp = inp
        indices, excluded = self.candidate_rows(inp)
        self.indices, self.excluded = indices, excluded
        cand_rows = self.rows[indices]  # (M, in_dim)
        cand_targets = self.targets[indices]  # (M, target_dim)
        self.cand_rows, self.cand_targets = cand_rows, cand_targets  # for backward
        self.keys, self.cand_keys, self.attention, self.nearest = [], [], [], []
        self.near_targets = []  # each head's (N, top, target_dim) kept targets, or None
        read = []
        for h in range(self.heads):
            keys = self.encode(inp, h)  # (N, dim)
            cand_keys = self.encode(cand_rows, h)  # (M, dim)
            nearest = None
            if 0 < self.top < len(indices):
                scores, nearest = self._nearest_scores(keys, cand_keys, excluded)
            else:
                scores = self._scores(keys, cand_keys, excluded)
            attention = _softmax_rows(scores)  # (N, M), or (N, top)
            near_targets = None if nearest is None else cand_targets[nearest]
            if nearest is None:
                read.append(attention @ cand_targets)
            else:
                read.append(np.einsum("nm,nmt->nt", attention, near_targets))
            self.near_targets.append(near_targets)
            self.keys.append(keys)
            self.cand_keys.append(cand_keys)
            self.attention.append(attention)
            self.nearest.append(nearest)
        self.read = read
        return np.concatenate([inp, *read], axis=1)

    def _evaluate(self, inp: np.ndarray) -> np.ndarray:
        """Evaluation-mode output (N, out_dim) over every held row, ``SCORE_BUDGET //
        n_rows`` rows at a time (the same numbers as ``forward``; nothing is kept for a
        backward pass: call it in training mode, or with fewer rows, to get gradients)."""
        self.inp = self.read = None
        step = max(1, SCORE_BUDGET // self.n_rows)
        keep = 0 < self.top < self.n_rows
        reads = []
        for h in range(self.heads):
            cand_keys = self.encode(self.rows, h)  # (n_rows, dim)
            parts = []
            for start in range(0, len(inp), step):
                scores = self._scores(self.encode(inp[start : start + step], h), cand_keys, None)
                if keep:
                    nearest = np.argpartition(scores, -self.top, axis=1)[:, -self.top :]
                    attention = _softmax_rows(np.take_along_axis(scores, nearest, axis=1))
                    parts.append(np.einsum("nm,nmt->nt", attention, self.targets[nearest]))
                else:
                    parts.append(_softmax_rows(scores) @ self.targets)
            reads.append(np.concatenate(parts, axis=0))
        return np.concatenate([inp, *reads], axis=1)

    def backward(self, up_grad: np.ndarray) -> np.ndarray:
        """Through the softmax to both ends of each distance, then the encoders.

        With ``s_ij = -|k_i - c_j|^2`` (forward leaves out ``-|k_i|^2``, constant along
        a row of the softmax) and ``G_ij = p_ij (g_i . y_j - g_i . read_i)``
        (the softmax's backward), ``dk_i = 2 sum_j G_ij c_j`` (G's rows sum to zero) and
        ``dc_j = 2 sum_i G_ij (k_i - c_j)``. With ``top``, ``j`` runs over each row's
        kept candidates only (the rest have ``p_ij = 0``).
        """
        if getattr(self, "read", None) is None:
            raise BarenetValueError(
                "Retrieval.backward after an evaluation over more than "
                f"{SCORE_BUDGET:,} scores, which keeps nothing for it: call forward in "
                "training mode (model.train()) before backward"
            )
        in_dim, t = self.in_dim, self.target_dim
        grad_inp = up_grad[:, :in_dim].copy()
        cand_rows, cand_targets = self.cand_rows, self.cand_targets  # as forward gathered
        for h in range(self.heads):
            g = up_grad[:, in_dim + h * t : in_dim + (h + 1) * t]  # (N, target_dim)
            attention, nearest = self.attention[h], self.nearest[h]
            keys, cand_keys = self.keys[h], self.cand_keys[h]
            if nearest is None:
                along = g @ cand_targets.T  # (N, M): g_i . y_j
                along -= np.sum(g * self.read[h], axis=1, keepdims=True)
                grad_scores = attention * along  # G, (N, M)
                grad_keys = 2 * grad_scores @ cand_keys
                grad_cand = 2 * (
                    grad_scores.T @ keys - grad_scores.sum(axis=0)[:, None] * cand_keys
                )
            else:
                along = np.einsum("nt,nmt->nm", g, self.near_targets[h])  # (N, top)
                along -= np.sum(g * self.read[h], axis=1, keepdims=True)
                grad_scores = attention * along  # G over each row's kept candidates
                near_keys = cand_keys[nearest]  # (N, top, dim)
                grad_keys = 2 * np.einsum("nm,nmd->nd", grad_scores, near_keys)
                pulls = 2 * grad_scores[:, :, None] * (keys[:, None, :] - near_keys)
                grad_cand = np.zeros_like(cand_keys)
                np.add.at(grad_cand, nearest.ravel(), pulls.reshape(-1, self.dim))
            if self.encoder == "diagonal":
                scales = self.scales(h)
                self.dlog_scale[h] = (
                    self.speed
                    * scales
                    * (
                        np.sum(grad_keys * self.inp, axis=0)
                        + np.sum(grad_cand * cand_rows, axis=0)
                    )
                )
                grad_inp += grad_keys * scales
            else:
                self.dw[h] = self.inp.T @ grad_keys + cand_rows.T @ grad_cand
                grad_inp += grad_keys @ self.w[h].T
        return grad_inp

    def onnx_nodes(self, graph, inp: str) -> str:
        """Evaluation mode: every held row is a candidate, their encodings constants.

        The graph holds each head's candidate encodings (n_rows, dim) and the targets
        (n_rows, target_dim): the training rows travel inside the ONNX file too. With
        ``top``, a TopK node keeps each row's highest scores and a Gather their targets.
        """
        targets = graph.constant("targets", self.targets)
        reads = [inp]
        for h in range(self.heads):
            cand_keys = self.encode(self.rows, h)  # as forward computes them
            if self.encoder == "diagonal":
                scales = self.scales(h)[None, :]
                keys = graph.node("Mul", [inp, graph.constant("scales", scales)])
            else:
                keys = graph.node("MatMul", [inp, graph.constant("w", self.w[h])])
            doubled = graph.constant("cand_keys_t", 2 * cand_keys.T)
            scores = graph.node("MatMul", [keys, doubled])
            cand_norms = np.sum(cand_keys * cand_keys, axis=1)[None, :]
            scores = graph.node("Sub", [scores, graph.constant("cand_norms", cand_norms)])
            if not 0 < self.top < self.n_rows:
                attention = graph.node("Softmax", [scores], axis=-1)
                reads.append(graph.node("MatMul", [attention, targets]))
                continue
            top = graph.constant("top", [self.top], dtype=np.int64)
            values, nearest = graph._unique("top_scores"), graph._unique("top_rows")
            graph.nodes.append(
                graph.onnx.helper.make_node("TopK", [scores, top], [values, nearest], axis=-1)
            )
            attention = graph.node("Softmax", [values], axis=-1)  # (N, top)
            as_row = graph.constant("shape", [0, 1, -1], dtype=np.int64)
            attention = graph.node("Reshape", [attention, as_row])  # (N, 1, top)
            near_targets = graph.node("Gather", [targets, nearest], axis=0)  # (N, top, t)
            read = graph.node("MatMul", [attention, near_targets])  # (N, 1, t)
            flat = graph.constant("shape", [0, -1], dtype=np.int64)
            reads.append(graph.node("Reshape", [read, flat]))
        return graph.node("Concat", reads, axis=1)

    def config(self) -> dict:
        return {
            "in_dim": self.in_dim,
            "target_dim": self.target_dim,
            "n_rows": self.n_rows,
            "heads": self.heads,
            "dim": self.dim,
            "candidates": self.candidates,
            "scale": self.scale,
            "top": self.top,
            "encoder": self.encoder,
            "speed": self.speed,
            "dtype": str(self.rows.dtype),
        }

    def __repr__(self) -> str:
        return (
            f"Retrieval({self.in_dim} features, {self.n_rows} rows, {self.heads} heads "
            f"of dim {self.dim}, {self.candidates} candidates a batch, top {self.top})"
        )


def retrieval_targets(y, task: str, target_dim: int) -> np.ndarray:
    """What a retrieval layer reads of each training row: the regression targets as
    (n_rows, target_dim), or the one-hot of class indices (n_rows, n_classes)."""
    y = np.asarray(y)
    if task == "classification":
        indices = y.reshape(-1).astype(np.int64)
        one_hot = np.zeros((len(indices), target_dim))
        one_hot[np.arange(len(indices)), indices] = 1.0
        return one_hot
    return np.asarray(y, dtype=np.float64).reshape(len(y), target_dim)

"""The compiled engine's Python side: the plan, the flat buffers, dropout draws.

``CompiledTraining`` stands in for ``FusedStep`` in ``Trainer``: the epoch loop, the
validation, early stopping, schedules and callbacks stay in Python; each chunk of
batches runs in ``barenet.engines.compiled.kernels.train_batches``. As with ``FusedStep`` and a
fused optimiser, the parameters are packed into one flat buffer
(``barenet.engines.fused.packing``) while ``train`` runs: each ``layer.w`` is a view into it,
so the layers see every update, and the optimiser's state lives in the packed
group's state dict, so ``optimizer.state_dict()`` and checkpoints stay as they are.

``barenet.engines.compiled.predict`` runs ``predict`` on the same plan tables.
"""

from __future__ import annotations

import os
import sys

import numpy as np

from barenet import layers as layer_classes
from barenet.engines.select import LOSS_CODES, OPTIMIZER_CODES, kernels, layer_codes
from barenet.losses import CrossEntropy, Huber
from barenet.optimizers import SGD, AdamW

# the optimiser state the kernels keep, one row each, under the names the Optimizer uses
STATE_NAMES = {
    "SGD": ("momentum_buffer",),
    "ADAM": ("exp_avg", "exp_avg_sq"),
    "RMSPROP": ("square_avg", "grad_avg", "momentum_buffer"),
}
CHUNK_ROWS = 16384  # rows per kernel call; Ctrl-C and request_stop act between calls


_noticed = False
_blas_limited = False


def _limit_kernel_blas_threads() -> None:
    """Run the BLAS that numba calls (the OpenBLAS bundled with SciPy's wheels) on one
    thread, from the first kernel call on.

    It is a second thread pool beside NumPy's: the kernels' products are small, and two
    pools of spinning threads on a few busy cores slowed whole epochs down twenty-fold
    on the shared development machine. Any other BLAS (NumPy's, PyTorch's, or one that
    SciPy shares with NumPy) is left alone. (Setting the threads around each call
    instead costs more than a small prediction.)"""
    global _blas_limited
    if _blas_limited:
        return
    _blas_limited = True
    try:
        import scipy
        import scipy.linalg.cython_blas  # noqa: F401  (what numba calls: load it to find it)
        from threadpoolctl import ThreadpoolController

        scipy_dir = os.path.dirname(scipy.__file__)  # .../scipy, and its .../scipy.libs
        for controller in ThreadpoolController().lib_controllers:
            if controller.user_api == "blas" and controller.filepath.startswith(scipy_dir):
                controller.set_num_threads(1)
    except Exception:  # threadpoolctl missing or failing: leave the threads alone
        pass


def _call(kernel, *args):
    """``kernel(*args)``, with a one-line notice when numba is about to compile it (the
    first run on a machine; later processes load it from numba's on-disk cache)."""
    global _noticed
    if not kernel.signatures and not _noticed:
        try:  # numba's cache API is internal: never fail over a notice
            from numba import typeof

            cache = kernel._cache
            key = cache._index_key(tuple(typeof(a) for a in args), kernel.targetctx.codegen())
            cached = key in cache._cache_file._load_index()
        except Exception:
            cached = True
        if not cached:
            _noticed = True
            print("barenet: compiling kernels (once)...", file=sys.stderr, flush=True)
    _limit_kernel_blas_threads()
    return kernel(*args)


def _plan_layers(model, training: bool) -> list:
    """The layers the kernels run: Identity, and Dropout outside training or with
    p = 0, change nothing and are left out."""
    kept = []
    for layer in model.layers:
        code = layer_codes()[type(layer)]
        if code is None or (code == "DROPOUT" and (not training or layer.p == 0.0)):
            continue
        kept.append(layer)
    return kept


def _plan(k, plan_layers, in_dim: int, offsets: dict, rows: int, start: int):
    """The kernels' plan table (int64, one row per layer), each layer's float argument
    (slope or dropout p), and the end of the activation buffers in the workspace.

    ``offsets`` maps (id(layer), name) to the parameter's offset in the flat buffer;
    each layer's output takes ``rows`` x width values of the workspace from ``start``."""
    from barenet.engines.compiled import formulas  # the layer codes (imported by k)

    plan = np.zeros((len(plan_layers), k.PLAN_COLUMNS), dtype=np.int64)
    slopes = np.zeros(len(plan), dtype=np.float64)
    width = in_dim
    for i, layer in enumerate(plan_layers):
        code = layer_codes()[type(layer)]
        out_width = layer.out_dim if code == "LINEAR" else width
        plan[i, k.KIND] = getattr(formulas, code)
        plan[i, k.IN_WIDTH], plan[i, k.OUT_WIDTH] = width, out_width
        if code == "LINEAR":
            plan[i, k.W_OFFSET] = offsets[id(layer), "w"]
            plan[i, k.B_OFFSET] = offsets[id(layer), "b"]
        slopes[i] = getattr(layer, "slope", getattr(layer, "p", 0.0))
        plan[i, k.OUT_OFFSET] = start
        start += rows * out_width
        width = out_width
    return plan, slopes, start


class CompiledTraining:
    """Trains ``model`` on ``(x, y)`` chunk by chunk in the compiled kernels.

    Use as a context manager around training, as ``FusedStep``.

    Parameters
    ----------
    model : MLP whose ``engine.why_not_compiled`` is None
    x : ndarray, shape (n_samples, in_dim), the model's dtype
    y : ndarray, shape (n_samples,) or (n_samples, out_dim), the model's dtype
    batch_size : int
    clip_norm : float or None
    """

    def __init__(self, model, x, y, batch_size: int, clip_norm) -> None:
        self.k = k = kernels()
        self.model = model
        self.x = np.ascontiguousarray(x)
        n = len(x)
        loss = model.loss_fun
        classes = model.out_dim
        self.labels = isinstance(loss, CrossEntropy) and y.shape != (n, classes)
        if self.labels:
            # the label checks of CrossEntropy.forward, once for all rows
            CrossEntropy().forward(np.zeros((n, classes), dtype=model.dtype), y)
        self.y = np.ascontiguousarray(y.reshape(n, -1))
        self.batch_size = batch_size
        self.clip_norm = clip_norm
        self.plain_sgd = model.optimizer is None
        self.optimizer = SGD(model.parameters(), fused=True) if self.plain_sgd else model.optimizer
        opt_code = OPTIMIZER_CODES[type(self.optimizer)]
        self.opt = getattr(k, opt_code)
        self.state_names = STATE_NAMES[opt_code]
        self.loss_code = getattr(k, LOSS_CODES[type(loss)])
        self.loss_delta = loss.delta if isinstance(loss, Huber) else 0.0
        self.plan_layers = _plan_layers(model, training=True)
        self.dropouts = [
            layer for layer in self.plan_layers if type(layer) is layer_classes.Dropout
        ]
        rows = min(batch_size, n)
        widths = [model.in_dim] + [
            layer.out_dim for layer in self.plan_layers if hasattr(layer, "out_dim")
        ]
        widest = max(widths)
        self.rows = rows
        # workspace: the input batch, the two gradient buffers, the targets, then one
        # output buffer per layer (offsets of the latter in the plan)
        self.layout = np.array(
            [0, rows * model.in_dim, rows * (model.in_dim + widest), 0], dtype=np.int64
        )
        self.layout[3] = rows * (model.in_dim + 2 * widest)
        self.layers_start = int(self.layout[3]) + rows * self.y.shape[1]
        self.hyper = np.zeros(k.HYPER_SIZE, dtype=np.float64)
        self.counters = np.zeros(2, dtype=np.int64)
        self.result = np.zeros(2, dtype=np.float64)
        self.group = None
        self.state = None
        self.work = None

    runs_chunks = True  # the trainer hands it whole chunks of batches (run_batches)

    @staticmethod
    def batches_per_chunk(batch_size: int) -> int:
        """How many batches one kernel call runs (``CHUNK_ROWS`` rows; at least one)."""
        return max(1, CHUNK_ROWS // batch_size)

    def evaluates_as_the_model(self) -> bool:
        """Validation runs through the model's ``evaluate`` (on the compiled engine)."""
        return False

    def __enter__(self) -> CompiledTraining:
        self.begin_epoch()
        return self

    def __exit__(self, *exc) -> bool:
        self.optimizer.unpack()
        return False

    def begin_epoch(self) -> None:
        """Pick up what may have changed between epochs: the learning rate (a schedule),
        the optimiser's settings, and arrays a callback replaced."""
        k, model, optimizer = self.k, self.model, self.optimizer
        if self.plain_sgd:
            optimizer.lr = model.lr
        (group,) = optimizer.packed_groups()
        group.gather_grads()
        if group is not self.group:
            self.group = group
            offsets = {
                (id(p.layer), p.name): start
                for p, (_, _, start, _) in zip(group.members, group.views, strict=True)
            }
            self.plan, self.slopes, end = _plan(
                k, self.plan_layers, model.in_dim, offsets, self.rows, self.layers_start
            )
            self.work = np.zeros(end, dtype=model.dtype)
            self.state = np.zeros((len(self.state_names), group.value.size), dtype=model.dtype)
        for row, name in enumerate(self.state_names):
            value = group.state.get(name)
            if isinstance(value, np.ndarray) and value is not self.state[row]:
                self.state[row] = value
            elif value is None:
                self.state[row] = 0
        self.counters[k.STEP] = group.state.get("step", 0)
        self.counters[k.HAS_MOMENTUM_BUFFER] = "momentum_buffer" in group.state
        self._set_hyper(optimizer)

    def _set_hyper(self, optimizer) -> None:
        k, hyper = self.k, self.hyper
        hyper[:] = 0.0
        hyper[k.LR] = optimizer.lr
        hyper[k.WEIGHT_DECAY] = optimizer.weight_decay
        hyper[k.MOMENTUM] = getattr(optimizer, "momentum", 0.0)
        hyper[k.DAMPENING] = getattr(optimizer, "dampening", 0.0)
        hyper[k.NESTEROV] = getattr(optimizer, "nesterov", False)
        hyper[k.BETA1], hyper[k.BETA2] = getattr(optimizer, "betas", (0.0, 0.0))
        hyper[k.EPS] = getattr(optimizer, "eps", 0.0)
        hyper[k.ALPHA] = getattr(optimizer, "alpha", 0.0)
        hyper[k.CENTERED] = getattr(optimizer, "centered", False)
        hyper[k.DECOUPLED] = isinstance(optimizer, AdamW)
        hyper[k.CLIP_NORM] = self.clip_norm or 0.0
        hyper[k.DTYPE_MAX] = float(np.finfo(self.model.dtype).max)

    def _uniforms(self, first: int, end: int) -> np.ndarray:
        """The Dropout layers' uniform draws for batches ``first`` to ``end - 1``, in the
        order the model's own Dropout layers draw them: batch after batch, layer after layer."""
        if not self.dropouts:
            return np.empty(0)
        n, size = len(self.x), self.batch_size
        rows = [min(size, n - b * size) for b in range(first, end)]
        widths = [
            int(self.plan[i, self.k.IN_WIDTH])
            for i, layer in enumerate(self.plan_layers)
            if type(layer) is layer_classes.Dropout
        ]
        total = sum(rows) * sum(widths)
        generators = {id(d.rng) for d in self.dropouts}
        if len(generators) == 1:  # one stream (as barenet.io.record builds): one draw
            return self.dropouts[0].rng.random(total)
        uniforms = np.empty(total)
        at = 0
        for batch_rows in rows:
            for layer, width in zip(self.dropouts, widths, strict=True):
                count = batch_rows * width
                layer.rng.random(out=uniforms[at : at + count])
                at += count
        return uniforms

    def run_batches(self, order: np.ndarray, first: int, end: int) -> tuple[int, float, float]:
        """Train on batches ``first`` to ``end - 1`` of the epoch shuffled by ``order``.

        Returns (status, sum of batch loss x rows, the non-finite loss if any); status
        is 0, or the 1-based batch whose loss (> 0) or gradient (< 0) was not finite,
        before that batch's update."""
        k, group = self.k, self.group
        self.result[:] = 0.0
        step_before = int(self.counters[k.STEP])
        status = _call(
            k.train_batches,
            (self.x, self.y, order),
            (first, end, self.batch_size),
            (self.plan, self.slopes, self.layout),
            (group.value, group.grad, self.state, self.work, self._uniforms(first, end)),
            (self.loss_code, self.loss_delta, self.labels),
            (self.opt, self.hyper, self.counters),
            self.result,
        )
        if self.counters[k.STEP] != step_before:  # the state an Optimizer would now hold
            self._share_state()
        return int(status), float(self.result[0]), float(self.result[1])

    def _share_state(self) -> None:
        """Put the kernels' state in the packed group's state dict (as views), with the
        keys the Optimizer's own ``update`` would have created by now."""
        k, state, optimizer = self.k, self.group.state, self.optimizer
        state["step"] = int(self.counters[k.STEP])
        wanted = {
            "exp_avg": True,
            "exp_avg_sq": True,
            "square_avg": True,
            "grad_avg": bool(getattr(optimizer, "centered", False)),
            "momentum_buffer": getattr(optimizer, "momentum", 0.0) > 0,
        }
        for row, name in enumerate(self.state_names):
            if wanted[name] or name in state:
                state[name] = self.state[row]

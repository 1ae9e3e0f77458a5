"""``Adam`` and ``AdamW`` on the fused optimiser's flat arrays in one compiled loop.

NumPy's ``Adam.update`` makes about ten passes over the parameters (each ``m *=``,
``m +=``, the temporary products, ``np.sqrt``, the divisions); ``barenet.engines.fused.loops``'
``adam_update`` reads and writes each element once, with NumPy's operations in
NumPy's order and each constant cast to the arrays' dtype first, as NumPy casts a
Python float. So the weights are the same bit for bit (``tests/engines/test_adam_loop.py``).

``FusedStep.update`` calls ``compiled_update`` for each flat group; it declines (and
the optimiser's own ``update_one`` runs) for any other optimiser, for a hyper-parameter
that is not a plain Python number (a NumPy float64 would make NumPy compute in
float64), and where ``loop_dispatch.loops_for`` declines the arrays.
"""

from __future__ import annotations

import math

import numpy as np

from barenet.engines.fused.loop_dispatch import loops_for
from barenet.functional import mirrors
from barenet.optimizers import Adam, AdamW


@mirrors("barenet.optimizers.Adam.update", "barenet.optimizers.AdamW.update")
def compiled_update(optimizer, value: np.ndarray, grad: np.ndarray, state: dict) -> bool:
    """``optimizer.update_one(value, grad, state)`` as one loop; False if it declined
    (then nothing has changed).

    value, grad : ndarray, shape (n,), a flat group's parameters and gradients
    state : dict, the group's state (``step``, ``exp_avg``, ``exp_avg_sq``)
    """
    if type(optimizer) not in (Adam, AdamW):
        return False
    lr, weight_decay, (beta1, beta2), eps = (
        optimizer.lr, optimizer.weight_decay, optimizer.betas, optimizer.eps
    )  # fmt: skip
    if not all(type(h) in (float, int) for h in (lr, weight_decay, beta1, beta2, eps)):
        return False
    m, v = state.get("exp_avg", value), state.get("exp_avg_sq", value)
    if value.ndim != 1 or not all(a.flags.writeable for a in (value, m, v)):
        return False  # (a read-only state gets NumPy's error from the optimiser's own)
    loops = loops_for(value, grad, m, v, shapes=(value.shape,) * 4)
    if loops is None:
        return False
    if "exp_avg" not in state:  # as Adam.update's first step
        state["exp_avg"], state["exp_avg_sq"] = np.zeros_like(value), np.zeros_like(value)
    state["step"] = t = state.get("step", 0) + 1  # as Optimizer.update_one
    constants = [  # loops.adam_update's, each Python float cast to the dtype by np.array
        weight_decay,
        # AdamW.update's value *= 1 - lr * weight_decay (whatever the flag says)
        1 - lr * weight_decay if type(optimizer) is AdamW else 1,
        beta1,
        1 - beta1,
        beta2,
        1 - beta2,
        math.sqrt(1 - beta2**t),
        eps,
        lr / (1 - beta1**t),
    ]
    loops.adam_update(
        value,
        grad,
        state["exp_avg"],
        state["exp_avg_sq"],
        # update_one's L2 term, grad + weight_decay * value, as its flag says
        bool(weight_decay) and not optimizer.decoupled_weight_decay,
        np.array(constants, dtype=value.dtype),
    )
    return True

"""What the core asks of the engines, in one place: ``barenet.registry.ENGINES`` holds
an ``EngineHooks`` (installed by ``barenet.engines``), so ``MLP.train``, ``MLP.predict``
and a fused optimiser reach the fused and compiled engines without importing them."""

from __future__ import annotations

from barenet.engines import heap, interrupts
from barenet.engines.compiled import predict as compiled_predict
from barenet.engines.compiled.training import CompiledTraining
from barenet.engines.fused.packing import pack
from barenet.engines.fused.step import FusedStep, remember_builtin_model
from barenet.engines.names import check_engine, engine_for_fast
from barenet.engines.select import resolve_engine


class EngineHooks:
    """The engines' answers to the core's questions."""

    @staticmethod
    def check(engine, fast=None) -> str:
        """The engine ``engine`` names (``"auto"``, ``"methods"``, ``"fused"`` or
        ``"compiled"``; the alias ``"numpy"`` with a ``FutureWarning``), with the
        deprecated ``fast=`` folded in (``barenet.engines.names.engine_for_fast``)."""
        return engine_for_fast(fast, check_engine(engine))

    @staticmethod
    def start_training(trainer, x, y):
        """The engine ``trainer`` runs on and its step, chosen once per ``fit``.

        Returns ``(engine_used, step, guard)``: ``"methods"``, ``"fused"`` or
        ``"compiled"``; a ``FusedStep`` or ``CompiledTraining`` standing in for the model
        (``None``: the model's own methods); a context manager for the fit (a second
        Ctrl-C stops a compiled kernel at once).
        """
        model = trainer.model
        engine_used = resolve_engine(model, trainer.engine, verbose=trainer.verbose)
        heap.keep_freed_arrays()  # each batch reuses the last one's memory
        if engine_used == "compiled":
            step = CompiledTraining(model, x, y, trainer.batch_size, trainer.clip_norm)
        elif engine_used == "fused":
            step = FusedStep(model)
        else:
            step = None
        guard = interrupts.second_interrupt_exits(engine_used == "compiled")
        return engine_used, step, guard

    @staticmethod
    def quick_predict(model, x, batch_size, engine):
        """The compiled engine's fast path for a model it ran before (None: not taken)."""
        return compiled_predict.quick_predict(model, x, batch_size, engine)

    @staticmethod
    def choose_for_predict(model, engine) -> str:
        """``"methods"`` or ``"compiled"`` for ``predict`` (looks only at what it runs)."""
        return resolve_engine(model, check_engine(engine), predicting=True)

    @staticmethod
    def predict(model, x, batch_size, engine):
        """The compiled engine's prediction of checked rows ``x``."""
        return compiled_predict.predict(model, x, batch_size, engine)

    @staticmethod
    def pack(params: list) -> list:
        """A fused optimiser's parameters packed into flat buffers, one per dtype."""
        return pack(params)


def install() -> None:
    """Put the engines where the core looks for them (``barenet.registry.ENGINES``)."""
    from barenet.model import MLP
    from barenet.registry import ENGINES

    remember_builtin_model(MLP)
    ENGINES.install(EngineHooks())

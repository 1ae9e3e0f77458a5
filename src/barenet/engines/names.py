"""The engines' names, the one ``engine=`` knob, and the old spellings it replaces.

``engine`` is one of ``ENGINES``, named by what runs each step:

- ``"methods"``: the model's own ``forward``/``loss``/``backward``/``update``, what a
  learner reads and changes (plain NumPy, nothing compiled);
- ``"fused"``: ``barenet.engines.fused.step.FusedStep``, the same formulas for a model
  whose parts are all unchanged built-ins, with fewer passes over memory (NumPy, plus
  small numba loops in ``barenet.engines.fused.loops`` where numba imports);
- ``"compiled"``: whole chunks of batches in numba kernels
  (``barenet.engines.compiled``);
- ``"auto"``: ``compiled`` where it applies, else ``fused``, else ``methods``
  (``barenet.engines.select.resolve_engine``).

Deprecated, accepted for one release with a ``FutureWarning``: ``engine="numpy"``
(``fused`` where it applies, else ``methods``: what it always ran), and ``fast=`` of
``MLP.train`` and ``Trainer`` (``fast=False`` is ``engine="methods"``; ``fast=True``
was the default).
"""

from __future__ import annotations

import os
import sys
import warnings

from barenet.errors import BarenetValueError

ENGINES = ("auto", "methods", "fused", "compiled")

# old name -> what it runs now; resolved as ``BARENET_ENGINE`` is (``fused`` where it
# applies, else ``methods``), never an error
ALIASES = {"numpy": "fused"}
ALIAS_ADVICE = (
    'engine="numpy" is deprecated: pass engine="fused" (the fused step, which "numpy" ran '
    'where every part is an unchanged built-in) or engine="methods" (the model\'s own '
    'methods, which it ran otherwise); "numpy" will be refused in the next release'
)


class EngineChoices(list):
    """``ENGINES`` as a list (what ``--engine``'s help shows) that also contains the
    deprecated aliases (what ``--engine`` still accepts)."""

    def __contains__(self, value) -> bool:
        return list.__contains__(self, value) or value in ALIASES


def choices() -> EngineChoices:
    return EngineChoices(ENGINES)


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def warn_deprecated(message: str) -> None:
    """A ``FutureWarning`` pointing at the first caller outside barenet (the user's call,
    whichever of barenet's functions relayed it)."""
    frame, level = sys._getframe(1), 2
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(
        _PACKAGE + os.sep
    ):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, FutureWarning, stacklevel=level)


def is_engine(engine) -> bool:
    return isinstance(engine, str) and (engine in ENGINES or engine in ALIASES)


def check_engine(engine, *, warn: bool = True) -> str:
    """``engine`` if it is one of ``ENGINES`` or a deprecated alias (with a
    ``FutureWarning`` if ``warn``); else ``BarenetValueError`` naming the choices."""
    if not is_engine(engine):
        raise BarenetValueError(f"engine must be one of {list(ENGINES)}, got {engine!r}")
    if warn and engine in ALIASES:
        warn_deprecated(ALIAS_ADVICE)
    return engine


def engine_for_fast(fast, engine: str) -> str:
    """The engine that ``fast=`` (deprecated) and ``engine`` ask for together, with a
    ``FutureWarning`` saying which engine to pass instead (None: ``engine`` alone).

    Not symmetric, on purpose: ``fast=False`` forbade the fused step, so it contradicts
    ``engine="fused"``/``"compiled"`` (refused); ``fast=True`` only allowed it, so any
    ``engine`` runs as asked and the warning says that ``fast=True`` changes nothing."""
    if fast is None:
        return engine
    if fast not in (True, False):
        raise BarenetValueError(f"fast must be True or False, got {fast!r}")
    if fast:  # it allowed the fused step, never required it: no engine contradicts it
        chosen = (
            f'; engine="{engine}" is what runs (fast=True only allowed the fused step, it '
            "never required it, so it changes nothing here)"
            if engine != "auto"
            else ""
        )
        warn_deprecated(
            'fast=True is deprecated (it was the default): drop it; engine="auto" (the '
            f'default) or engine="fused" runs the fused step it allowed{chosen}'
        )
        return engine
    warn_deprecated(
        'fast=False is deprecated: pass engine="methods" (the model\'s own methods) instead'
    )
    if engine in ("fused", "compiled"):
        raise BarenetValueError(
            f'fast=False asks for the model\'s own methods and engine="{engine}" for '
            'another engine: pass engine="methods" alone'
        )
    return "methods"


def default_engine() -> str:
    """What ``auto`` means: ``BARENET_ENGINE`` if set, else ``auto``."""
    value = os.environ.get("BARENET_ENGINE", "auto").strip().lower() or "auto"
    if not is_engine(value):
        raise BarenetValueError(
            f"the environment variable BARENET_ENGINE must be one of {list(ENGINES)}, "
            f"got {value!r}"
        )
    if value in ALIASES:
        warn_deprecated(f"BARENET_ENGINE={value} is deprecated: set it to {ALIASES[value]}")
    return value

"""One registry per kind of building block: the names users type.

The command line, the estimators, model files and the ONNX export all look classes
up here, so a new activation is one decorated class in ``activations.py``::

    @ACTIVATIONS.register("swish")
    class Swish(Layer): ...

An activation is also a layer, so registering it in ``ACTIVATIONS`` registers it in
``LAYERS`` too. Lookups accept the registered name or the class name (model files
written by barenet 0.1 used class names).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from barenet.errors import BarenetTypeError, BarenetValueError


class Registry(Mapping):
    """Names of one kind (``"activation"``) mapped to classes or functions.

    A read-only mapping from each registered name (aliases included) to its object.
    """

    def __init__(self, kind: str, *, parent: Registry | None = None) -> None:
        self.kind = kind
        self.parent = parent
        self._objects: dict[str, object] = {}
        self._names: dict[object, str] = {}

    def register(self, name: str, *aliases: str):
        """Decorator: register the class or function under ``name`` and ``aliases``."""

        def decorate(obj):
            for key in (name, *aliases):
                if key in self._objects:
                    raise BarenetValueError(f"{self.kind} {key!r} is registered twice")
                self._objects[key] = obj
            self._names[obj] = name
            if self.parent is not None:
                self.parent.register(name, *aliases)(obj)
            return obj

        return decorate

    def lookup(self, name: str):
        """The object registered as ``name`` (or with that class name)."""
        if isinstance(name, str):
            if name in self._objects:
                return self._objects[name]
            for obj in self._names:
                if getattr(obj, "__name__", None) == name:
                    return obj
        raise BarenetValueError(f"unknown {self.kind} {name!r}; choose one of {self.choices()}")

    def name_of(self, obj) -> str:
        """The registered name of a class or function, or of an instance's exact class."""
        for key in (obj, type(obj)):
            if key in self._names:
                return self._names[key]
        name = getattr(obj, "__name__", type(obj).__name__)
        raise BarenetTypeError(f"{name} is not one of barenet's {self.kind}s ({self.choices()})")

    def __contains__(self, obj) -> bool:
        return obj in self._objects or obj in self._names

    def choices(self) -> list[str]:
        """The primary names, sorted (aliases left out)."""
        return sorted(self._names.values())

    def __getitem__(self, name: str):
        return self._objects[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._objects)

    def __len__(self) -> int:
        return len(self._objects)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.choices()})"


LAYERS = Registry("layer")
ACTIVATIONS = Registry("activation", parent=LAYERS)
LOSSES = Registry("loss")
OPTIMIZERS = Registry("optimiser")
SCHEDULES = Registry("schedule")
INITIALIZERS = Registry("initialiser")


class EngineSlot:
    """Where ``barenet.engines`` installs itself, so that the core never imports an engine.

    The core (``MLP.train``, ``MLP.predict``, a fused optimiser) asks the installed
    engines for a faster way to run the same formulas, as tinygrad's core asks its
    devices; ``import barenet`` installs ``barenet.engines`` here. The engines answer
    ``check(engine)``, ``start_training(trainer, x, y)``, ``quick_predict``,
    ``choose_for_predict``, ``predict`` and ``pack`` (see ``barenet.engines.hooks``).
    """

    def __init__(self) -> None:
        self.installed = None

    def install(self, engines) -> None:
        self.installed = engines

    def get(self):
        """The installed engines (``BarenetValueError`` if there are none)."""
        if self.installed is None:
            raise BarenetValueError(
                "no training engines are installed: import barenet (which installs "
                "barenet.engines) before training or predicting"
            )
        return self.installed


ENGINES = EngineSlot()

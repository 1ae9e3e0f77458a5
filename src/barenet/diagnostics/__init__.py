"""What happens inside a network while it trains, for learners: the recorder
(``Diagnostics``), its compiled kernel, and the figures (``plot_losses``,
``plot_diagnostics``).

The names of ``barenet.diagnostics.recorder`` are also reachable here, where they were before this
module became a package.
"""


def __getattr__(name: str):
    import importlib

    return getattr(importlib.import_module("barenet.diagnostics.recorder"), name)

"""Tables as they come: reading files, dates, the column preprocessing learned from
the training rows, its scaling and checks, and the built-in data sets.

The names of ``barenet.tables.columns`` are also reachable here, where they were before this
module became a package.
"""


def __getattr__(name: str):
    import importlib

    return getattr(importlib.import_module("barenet.tables.columns"), name)

"""Tables larger than memory: a folder or glob of files read as a stream of record
batches, its column preprocessing learned in one pass, training and prediction
batch by batch.

The names of ``barenet.streaming.source`` are also reachable here, where they were before this
module became a package.
"""


def __getattr__(name: str):
    import importlib

    return getattr(importlib.import_module("barenet.streaming.source"), name)

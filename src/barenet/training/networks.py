"""The layer lists a ``TrainConfig`` describes, as model-record entries.

``recipes.TrainConfig.model_record`` puts them together: the input layers (scaling and
embeddings, fitted on the training rows), then either a plain stack of ``Linear``
layers or a TabM-mini ensemble, each hidden layer followed by the batch norm, the
activation and the dropout the configuration asks for. Each entry is
``{"type": <registry name>, "config": {...}}``, which ``record.build`` turns into a layer.
"""

from __future__ import annotations

import numpy as np

from barenet.registry import LAYERS


def _layer(kind: str, **config) -> dict:
    return {"type": kind, "config": config}


def input_layers(config, in_dim: int, task: str, x, y, out_dim=None) -> tuple[list, int]:
    """The scaling, retrieval and embedding layers in front of the hidden layers, and
    their width. A piecewise embedding embeds the columns of ``x`` with at least 3
    distinct values; one-hot and indicator (0/1) columns pass straight through
    (``PiecewisePassthrough``)."""
    from barenet.tabular.embeddings import quantile_bins, tree_bins
    from barenet.tabular.passthrough import embedded_columns
    from barenet.tabular.scaling import SCALINGS

    dtype = config.dtype
    layers = []
    if config.scaling != "none":
        scaling = SCALINGS[config.scaling].fit(x, dtype=np.float64)
        layers.append(_layer(LAYERS.name_of(scaling), **{**scaling.config(), "dtype": dtype}))
        x = scaling.forward(np.asarray(x, dtype=np.float64))
    if getattr(config, "retrieval", 0):
        entry, x, y = retrieval_layer(config, layers, task, x, y, out_dim)
        layers.append(entry)
        in_dim = entry["config"]["in_dim"] + config.retrieval * entry["config"]["target_dim"]
    dim = config.embedding_dim
    if config.embedding == "none":
        return layers, in_dim
    if config.embedding == "periodic":
        frequencies = 48
        layers.append(
            _layer(
                "periodic", n_features=in_dim, n_frequencies=frequencies, sigma=0.1, dtype=dtype
            )
        )
        per_feature = 2 * frequencies
    else:
        embedded = embedded_columns(x)
        if not embedded:  # only 0/1 columns: nothing to embed
            return layers, in_dim
        x = np.asarray(x)[:, embedded]
        if config.embedding == "piecewise":
            edges = quantile_bins(x, config.bins)
        else:
            edges = tree_bins(
                x, y, config.bins, regression=task == "regression", seed=config.seed or 0
            )
        if len(embedded) < in_dim:  # the 0/1 columns pass straight through
            entry = _layer(
                "piecewise_passthrough", n_features=in_dim, embedded=embedded, edges=edges,
                out_dim=dim, dtype=dtype,
            )  # fmt: skip
            layers.append(entry)
            return layers, len(embedded) * dim + in_dim - len(embedded)
        layers.append(_layer("piecewise_linear", edges=edges, dtype=dtype))
        per_feature = max(len(column) - 1 for column in edges)
    layers.append(
        _layer("feature_linear", n_features=in_dim, in_dim=per_feature, out_dim=dim, dtype=dtype)
    )
    layers.append(_layer("relu"))
    return layers, in_dim * dim


def retrieval_layer(config, front: list, task: str, x, y, out_dim) -> tuple[dict, object, object]:
    """The retrieval entry (``barenet.tabular.retrieval``), holding the training rows as the
    layers in ``front`` deliver them, and ``(x, y)`` for fitting the bins behind it:
    ``x`` with each head's columns standing in for what it reads (the row's own target),
    which has the same range."""
    from barenet.tabular.retrieval import retrieval_targets

    rows = np.asarray(x, dtype=config.dtype)
    for spec in front:  # as the model will compute them, in its dtype
        rows = LAYERS.lookup(spec["type"])(**spec["config"]).forward(rows)
    target_dim = out_dim or np.asarray(y).reshape(len(rows), -1).shape[1]
    targets = retrieval_targets(y, task, target_dim)
    entry = _layer(
        "retrieval",
        in_dim=rows.shape[1],
        target_dim=target_dim,
        n_rows=len(rows),
        rows=rows,  # arrays: given to the constructor, saved as the layer's buffers
        targets=targets,
        heads=config.retrieval,
        dim=rows.shape[1] if config.retrieval_encoder == "diagonal" else config.retrieval_dim,
        candidates=config.retrieval_candidates,
        scale=config.retrieval_scale,
        top=config.retrieval_top,
        encoder=config.retrieval_encoder,
        speed=config.retrieval_speed,
        dtype=config.dtype,
    )
    x = np.concatenate([np.asarray(x, dtype=np.float64)] + [targets] * config.retrieval, axis=1)
    return entry, x, y


def _hidden_extras(config, size: int) -> list:
    """What follows each hidden linear layer: batch norm, the activation, dropout."""
    layers = []
    if config.batchnorm:
        layers.append(_layer("batchnorm", num_features=size, dtype=config.dtype))
    layers.append(_layer(config.activation))
    if config.dropout:
        layers.append(_layer("dropout", p=config.dropout))
    return layers


def plain_body(config, width: int, out_dim: int) -> list:
    layers = []
    for size in config.hidden:
        layers.append(
            _layer("linear", in_dim=width, out_dim=size, init=config.init, dtype=config.dtype)
        )
        layers += _hidden_extras(config, size)
        width = size
    layers.append(
        _layer("linear", in_dim=width, out_dim=out_dim, init=config.init, dtype=config.dtype)
    )
    return layers


def ensemble_body(config, width: int, out_dim: int, k: int) -> list:
    """TabM-mini: copies for ``k`` members, each scaled by its own random signs, the
    shared hidden layers, a head per member, and the members' mean."""
    dtype = config.dtype
    layers = [
        _layer("ensemble", k=k, dim=width),
        _layer("member_scale", k=k, dim=width, dtype=dtype),
    ]
    for size in config.hidden:
        layers.append(
            _layer(
                "ensemble_linear",
                in_dim=width,
                out_dim=size,
                k=k,
                shared=True,
                init=config.init,
                dtype=dtype,
            )
        )
        layers += _hidden_extras(config, size)
        width = size
    layers.append(
        _layer(
            "ensemble_linear",
            in_dim=width,
            out_dim=out_dim,
            k=k,
            shared=False,
            init=config.init,
            dtype=dtype,
        )
    )
    layers.append(_layer("ensemble_mean", k=k, out_dim=out_dim))
    return layers

"""The retrieval layer: finite differences, a PyTorch reference, never retrieving
itself, the fused path, the model file holding the training rows, and the preset."""

import numpy as np
import pytest
from conftest import TORCH_MISSING, assert_gradients_ok

import barenet
from barenet import MLP, MSE, Adam, Linear, Relu, Retrieval
from barenet.engines.fused.step import why_not_fused
from barenet.errors import BarenetValueError
from barenet.training.config import TrainConfig, build_model


def held_rows(n=40, in_dim=3, target_dim=2, seed=0):
    rng = np.random.default_rng(seed)
    rows = rng.standard_normal((n, in_dim))
    targets = np.column_stack([np.sin(rows[:, 0]), rows[:, 1] * rows[:, 2]])[:, :target_dim]
    return rows, targets


def retrieval(dtype=np.float64, *, n=40, in_dim=3, target_dim=2, **kwargs):
    rows, targets = held_rows(n, in_dim, target_dim)
    kwargs = {"heads": 2, "dim": 4, "seed": 1, **kwargs}
    return Retrieval(in_dim, target_dim, n, rows=rows, targets=targets, dtype=dtype, **kwargs)


# -- finite differences ---------------------------------------------------------------


@pytest.mark.parametrize("training", [True, False], ids=["training", "eval"])
@pytest.mark.parametrize("target_dim", [1, 2])
def test_retrieval_gradients_match_finite_differences(training, target_dim):
    layer = retrieval(target_dim=target_dim, candidates=25).train(training)
    inp = np.random.default_rng(5).standard_normal((7, 3))  # rows it does not hold
    assert_gradients_ok(layer, inp)


def test_retrieval_gradients_with_its_own_rows_excluded():
    """Held rows as the batch: each row's own candidate is masked; the mask stays fixed
    under the small steps of the check only for the parameters, so check those."""
    layer = retrieval(candidates=30)
    rows = layer.rows[:6].copy()
    report = barenet.check_gradients(layer, rows)
    assert report.errors["w"] < 1e-6, str(report)
    assert np.all(layer.excluded.sum(axis=1) <= 1)


# -- PyTorch reference --------------------------------------------------------------------


def torch_retrieval(torch, inp, rows, targets, w, excluded=None):
    """Softmax over -|x W - r W|^2 per head, reading the targets; the input passes."""
    reads = [inp]
    for h in range(w.shape[0]):
        keys, cand = inp @ w[h], rows @ w[h]
        scores = -((keys[:, None, :] - cand[None, :, :]) ** 2).sum(-1)
        if excluded is not None:
            scores = scores.masked_fill(torch.from_numpy(excluded), float("-inf"))
        reads.append(torch.softmax(scores, dim=1) @ targets)
    return torch.cat(reads, dim=1)


@pytest.mark.parametrize("training", [True, False], ids=["training", "eval"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_retrieval_matches_a_pytorch_reference(training, dtype):
    torch = pytest.importorskip("torch", reason=TORCH_MISSING)
    layer = retrieval(dtype, candidates=30).train(training)
    rng = np.random.default_rng(3)
    inp = np.concatenate([layer.rows[:5], rng.standard_normal((4, 3)).astype(dtype)])
    up = rng.standard_normal((9, layer.out_dim)).astype(dtype)
    out = layer.forward(inp)
    grad_inp = layer.backward(up)

    t_inp = torch.from_numpy(inp.copy()).requires_grad_()
    t_w = torch.from_numpy(layer.w.copy()).requires_grad_()
    rows = torch.from_numpy(layer.rows[layer.indices])
    targets = torch.from_numpy(layer.targets[layer.indices])
    t_out = torch_retrieval(torch, t_inp, rows, targets, t_w, layer.excluded)
    (t_out * torch.from_numpy(up)).sum().backward()
    tol = {np.float64: 1e-10, np.float32: 1e-4}[dtype]
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(grad_inp, t_inp.grad.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(layer.dw, t_w.grad.numpy(), rtol=tol, atol=tol)
    assert out.dtype == dtype and layer.dw.dtype == dtype


# -- the nearest candidates only (top) and the diagonal encoder -----------------------------


@pytest.mark.parametrize("training", [True, False], ids=["training", "eval"])
@pytest.mark.parametrize(
    "options",
    [
        {"top": 6},
        {"encoder": "diagonal", "dim": 3},
        {"encoder": "diagonal", "dim": 3, "top": 6, "speed": 3.0},
    ],
    ids=["top", "diagonal", "diagonal-top"],
)
def test_top_and_diagonal_gradients_match_finite_differences(training, options):
    layer = retrieval(candidates=25, scale=1.0, **options).train(training)
    inp = np.random.default_rng(5).standard_normal((7, 3))
    assert_gradients_ok(layer, inp)
    names = [p.name for p in layer.parameters()]
    assert names == (["log_scale"] if "encoder" in options else ["w"])


def torch_top_retrieval(torch, inp, rows, targets, encoders, top, excluded=None, speed=None):
    """Per head: encode (x @ w, or x * exp(speed log_scale)), score -|k - c|^2, keep each row's
    ``top`` highest scores (the rest -inf), softmax, read the targets."""
    reads = [inp]
    for h in range(encoders.shape[0]):
        if speed is not None:
            keys, cand = inp * (speed * encoders[h]).exp(), rows * (speed * encoders[h]).exp()
        else:
            keys, cand = inp @ encoders[h], rows @ encoders[h]
        scores = -((keys[:, None, :] - cand[None, :, :]) ** 2).sum(-1)
        if excluded is not None:
            scores = scores.masked_fill(torch.from_numpy(excluded), float("-inf"))
        kept = torch.topk(scores, top, dim=1).indices
        mask = torch.ones_like(scores, dtype=torch.bool).scatter(1, kept, False)
        scores = scores.masked_fill(mask, float("-inf"))
        reads.append(torch.softmax(scores, dim=1) @ targets)
    return torch.cat(reads, dim=1)


@pytest.mark.parametrize("training", [True, False], ids=["training", "eval"])
@pytest.mark.parametrize("encoder", ["linear", "diagonal"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_top_and_diagonal_match_a_pytorch_reference(training, encoder, dtype):
    torch = pytest.importorskip("torch", reason=TORCH_MISSING)
    layer = retrieval(dtype, candidates=30, top=5, encoder=encoder, dim=3, scale=1.0, speed=2.0)
    layer.train(training)
    rng = np.random.default_rng(3)
    inp = np.concatenate([layer.rows[:5], rng.standard_normal((4, 3)).astype(dtype)])
    up = rng.standard_normal((9, layer.out_dim)).astype(dtype)
    out = layer.forward(inp)
    grad_inp = layer.backward(up)

    name = "log_scale" if encoder == "diagonal" else "w"
    t_inp = torch.from_numpy(inp.copy()).requires_grad_()
    t_enc = torch.from_numpy(getattr(layer, name).copy()).requires_grad_()
    rows = torch.from_numpy(layer.rows[layer.indices])
    targets = torch.from_numpy(layer.targets[layer.indices])
    t_out = torch_top_retrieval(
        torch,
        t_inp,
        rows,
        targets,
        t_enc,
        5,
        layer.excluded,
        2.0 if encoder == "diagonal" else None,
    )
    (t_out * torch.from_numpy(up)).sum().backward()
    tol = {np.float64: 1e-10, np.float32: 1e-4}[dtype]
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(grad_inp, t_inp.grad.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(getattr(layer, "d" + name), t_enc.grad.numpy(), rtol=tol, atol=tol)


def test_top_reads_the_same_neighbours_in_training_as_at_prediction_less_itself():
    """Every row a candidate: a held row reads, while training, its nearest rows but
    itself; at prediction, a new row reads its nearest held rows."""
    layer = retrieval(top=4, candidates=1000, scale=1.0, heads=1)
    batch = layer.rows[:6].copy()
    layer.forward(batch)
    keys = layer.encode(layer.rows, 0)
    distances = ((keys[:6, None, :] - keys[None, :, :]) ** 2).sum(-1)
    distances[np.arange(6), np.arange(6)] = np.inf
    expected = np.sort(np.argsort(distances, axis=1)[:, :4], axis=1)
    np.testing.assert_array_equal(np.sort(layer.nearest[0], axis=1), expected)
    layer.eval().forward(batch)
    assert np.all(np.sort(layer.nearest[0], axis=1)[:, 0] <= np.arange(6))  # itself, now


def test_the_diagonal_encoder_starts_on_standardised_features():
    rows, targets = held_rows()
    rows *= np.array([1.0, 10.0, 0.1])
    layer = Retrieval(3, 2, 40, rows=rows, targets=targets, encoder="diagonal", dim=3, scale=2.0)
    weights = np.exp(layer.log_scale[0]) * rows.std(axis=0)
    np.testing.assert_allclose(weights, 2.0, rtol=1e-5)
    np.testing.assert_allclose(np.exp(layer.log_scale[1]) * rows.std(axis=0), 6.0, rtol=1e-5)
    fast = Retrieval(
        3, 2, 40, rows=rows, targets=targets, encoder="diagonal", dim=3, scale=2.0, speed=10.0
    )
    np.testing.assert_allclose(fast.scales(0), np.exp(layer.log_scale[0]), rtol=1e-5)
    np.testing.assert_allclose(10.0 * fast.log_scale, layer.log_scale, rtol=1e-5)


def test_top_scores_rows_in_chunks_with_the_same_result(monkeypatch):
    import barenet.tabular.retrieval as module

    layer = retrieval(top=5, candidates=0, scale=1.0).eval()
    inp = np.random.default_rng(4).standard_normal((11, 3))
    whole = layer.forward(inp)
    monkeypatch.setattr(module, "ROW_CHUNK", 4)
    np.testing.assert_array_equal(layer.forward(inp), whole)
    layer.train()
    layer.forward(layer.rows[:9].copy())
    assert len(layer.indices) == 40  # candidates=0: every held row


def test_bad_encoders_are_refused_with_clear_messages():
    with pytest.raises(BarenetValueError, match="encoder must be 'linear' or 'diagonal'"):
        retrieval(encoder="cosine")
    with pytest.raises(BarenetValueError, match="dim must be 3, got 4"):
        retrieval(encoder="diagonal", dim=4)
    with pytest.raises(BarenetValueError, match="top must be >= 0"):
        retrieval(top=-1)


# -- what a row may see -------------------------------------------------------------------


def test_a_row_never_retrieves_itself_while_training():
    rows, targets = held_rows(60)
    rows[7] = rows[3]  # a duplicate: neither may see the other (same features)
    # a small scale: smooth attention, so every candidate allowed gets a weight above 0
    layer = Retrieval(3, 2, 60, rows=rows, targets=targets, heads=1, dim=3, scale=0.5, seed=0)
    batch = layer.rows[:10].copy()
    for _ in range(3):  # fresh candidates each batch
        layer.forward(batch)
        attention = layer.attention[0]
        for i in range(10):
            seen = set(layer.indices[attention[i] > 0].tolist())
            assert i not in seen
            if i in (3, 7):
                assert not {3, 7} & seen
            assert len(seen) >= len(layer.indices) - 2  # everyone else stays a candidate
    assert len(layer.indices) == 60  # candidates >= rows: all of them
    layer.eval().forward(batch)
    assert np.all(layer.attention[0][np.arange(10), np.arange(10)] > 0)  # at prediction: all


def test_training_samples_fresh_candidates_each_batch():
    layer = retrieval(candidates=15)
    layer.forward(layer.rows[:4].copy())
    first = layer.indices.copy()
    layer.forward(layer.rows[:4].copy())
    assert len(first) == len(layer.indices) == 15 and not np.array_equal(first, layer.indices)
    layer.eval().forward(layer.rows[:4])
    np.testing.assert_array_equal(layer.indices, np.arange(40))


def test_the_read_is_a_weighted_mean_of_the_targets():
    layer = retrieval().eval()
    out = layer.forward(np.random.default_rng(0).standard_normal((5, 3)))
    np.testing.assert_array_equal(out[:, :3], np.random.default_rng(0).standard_normal((5, 3)))
    low, high = layer.targets.min(axis=0), layer.targets.max(axis=0)
    for h in range(2):
        read = out[:, 3 + 2 * h : 5 + 2 * h]
        assert np.all(read >= low - 1e-12) and np.all(read <= high + 1e-12)


def test_bad_rows_are_refused_with_clear_messages():
    rows, targets = held_rows()
    with pytest.raises(BarenetValueError, match="holds rows of shape"):
        Retrieval(3, 2, 40, rows=rows[:30], targets=targets)
    rows[2, 1] = np.nan
    with pytest.raises(BarenetValueError, match="finite"):
        Retrieval(3, 2, 40, rows=rows, targets=targets)
    with pytest.raises(BarenetValueError, match=r"\(batch_size, 3\)"):
        retrieval().forward(np.zeros((2, 4)))


# -- in a model: the fused path, files, the preset -------------------------------------------


def toy_regression(n=200, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3))
    return x, (np.sin(2 * x[:, :1]) + 0.1 * x[:, 1:2]).astype(np.float64)


def retrieval_mlp(x, y, dtype=np.float32):
    rng = np.random.default_rng(2)
    layer = Retrieval(
        3, 1, len(x), rows=x, targets=y, dim=4, candidates=120, dtype=dtype, seed=rng
    )
    layers = [
        layer,
        Linear(5, 16, dtype=dtype, seed=rng),
        Relu(),
        Linear(16, 1, dtype=dtype, seed=rng),
    ]
    return MLP(layers, MSE(), seed=0, optimizer=Adam(lr=0.01, fused=True))


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_fused_and_plain_paths_give_bit_identical_weights(dtype):
    x, y = toy_regression()
    fused, plain, start = (retrieval_mlp(x, y, dtype) for _ in range(3))
    assert why_not_fused(fused) is None
    history = fused.train(x, y, x, y, 3, 32)
    assert history == plain.train(x, y, x, y, 3, 32, engine="methods")
    start = start.state_dict()
    for key, value in plain.state_dict().items():
        np.testing.assert_array_equal(fused.state_dict()[key], value, err_msg=key)
    assert not np.array_equal(start["0.w"], plain.state_dict()["0.w"])  # the encoder learns


def test_retrieval_helps_on_a_neighbourly_target():
    """A target that is a rough function of position: reading the neighbours' targets
    fits it better than the same network without the layer, after the same epochs."""
    x, y = toy_regression(400)
    x_test, y_test = toy_regression(200, seed=1)
    with_layer = retrieval_mlp(x, y)
    rng = np.random.default_rng(2)
    plain_layers = [Linear(3, 16, seed=rng), Relu(), Linear(16, 1, seed=rng)]
    without = MLP(plain_layers, MSE(), seed=0, optimizer=Adam(lr=0.01, fused=True))
    for model in (with_layer, without):
        model.train(x, y, epochs=20, batch_size=32)
    assert with_layer.evaluate(x_test, y_test) < without.evaluate(x_test, y_test)


def test_the_model_file_holds_the_training_rows_and_predicts_the_same(tmp_path):
    x, y = toy_regression()
    config = TrainConfig(
        recipe="tabular-best", epochs=2, ensemble=2, hidden=(8,), bins=4, retrieval_dim=3
    )
    model = build_model(config, 3, 1, "regression", x, y)
    assert [entry["type"] for entry in model.record["layers"][:3]] == [
        "retrieval",
        "piecewise_linear",
        "feature_linear",
    ]
    model.train(x, y, epochs=2, batch_size=32)
    path = barenet.save(model, tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as data:  # no pickle anywhere
        np.testing.assert_array_equal(data["param/0.rows"], x.astype(np.float32))
        np.testing.assert_array_equal(data["param/0.targets"], y.astype(np.float32))
        assert data["param/0.log_scale"].shape == (1, 3)  # the preset's diagonal metric
    loaded = barenet.load(path)
    x_new = toy_regression(50, seed=3)[0]
    np.testing.assert_array_equal(loaded.predict(x_new), model.predict(x_new))
    assert type(loaded.layers[0]) is Retrieval and loaded.layers[0].heads == 1


def test_a_retrieval_model_exports_to_onnx_with_onnxruntime_parity(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from barenet.io.onnx.export import to_onnx

    x, y = toy_regression()
    config = TrainConfig(recipe="tabular-best", ensemble=2, hidden=(8,), bins=4)
    model = build_model(config, 3, 1, "regression", x, y)
    model.train(x, y, epochs=2, batch_size=32)
    session = ort.InferenceSession(to_onnx(model).SerializeToString())
    x_new = toy_regression(50, seed=3)[0].astype(np.float32)
    got = session.run(None, {session.get_inputs()[0].name: x_new})[0]
    np.testing.assert_allclose(got, model.predict(x_new), rtol=1e-5, atol=1e-5)


def test_the_preset_is_the_tabular_recipe_behind_retrieval():
    best, tabular = TrainConfig(recipe="tabular-best"), TrainConfig(recipe="tabular")
    assert best.retrieval == 1 and tabular.retrieval == 0
    # the tabular recipe in every other respect
    retrieval_params = {k: v for k, v in vars(best).items() if k.startswith("retrieval")}
    assert best.retrieval_top == 32 and best.retrieval_encoder == "diagonal"
    assert best.retrieval_candidates == 0  # every training row
    defaults = {k: getattr(TrainConfig(), k) for k in retrieval_params}
    assert best.replace(**defaults, recipe="tabular") == tabular


def test_a_classifier_reads_its_neighbours_classes():
    from barenet.sklearn.estimators import BarenetClassifier

    rng = np.random.default_rng(0)
    x = rng.standard_normal((150, 2))
    labels = np.where(x[:, 0] * x[:, 1] > 0, "same", "other")
    model = BarenetClassifier(
        recipe="tabular-best", epochs=5, ensemble=2, hidden=(8,), bins=4, random_state=0
    )
    model.fit(x, labels)
    layer = model.model_.layers[0]
    assert type(layer) is Retrieval and layer.targets.shape == (len(layer.rows), 2)
    np.testing.assert_array_equal(layer.targets.sum(axis=1), 1.0)  # one-hot classes
    assert set(model.predict(x)) <= {"same", "other"}

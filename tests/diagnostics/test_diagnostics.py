"""Training diagnostics: the numbers against hand computations on a tiny network, dead
and saturated units on networks built to have them, watching changes nothing, and the
figure has its panels."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from barenet import (
    MLP,
    MSE,
    Diagnostics,
    Dropout,
    Layer,
    Linear,
    Relu,
    Sigmoid,
    Tanh,
    plot_diagnostics,
)
from barenet.diagnostics.plotting import diagnostics_figure
from barenet.errors import BarenetValueError


def tiny_model(activation=Relu):
    first = Linear(2, 3, seed=0, dtype=np.float64)
    first.w[...] = [[1.0, -2.0, 0.5], [0.0, 1.0, -1.0]]
    first.b[...] = [[0.0, 0.5, -3.0]]
    last = Linear(3, 1, seed=1, dtype=np.float64)
    last.w[...] = [[1.0], [2.0], [-1.0]]
    last.b[...] = [[0.25]]
    return MLP([first, activation(), last], MSE(), lr=0.1, seed=0)


X = np.array([[1.0, 2.0], [-1.0, 0.5], [0.5, -1.0], [2.0, 1.0]])
Y = np.array([[1.0], [0.0], [-1.0], [2.0]])


def test_the_first_record_matches_a_hand_computation():
    model = tiny_model()
    watch = Diagnostics(model, X, Y, rows=len(X))
    rows = watch.x  # the fixed batch: the four rows, in the order drawn
    order = [int(np.flatnonzero((X == r).all(axis=1))[0]) for r in rows]
    y = Y[order]
    w1, b1 = np.array([[1.0, -2.0, 0.5], [0.0, 1.0, -1.0]]), np.array([0.0, 0.5, -3.0])
    w2, b2 = np.array([[1.0], [2.0], [-1.0]]), 0.25
    hidden = rows @ w1 + b1
    active = np.maximum(hidden, 0)
    out = active @ w2 + b2
    up = 2 * (out - y) / out.size  # dMSE/dout
    d_w2 = active.T @ up
    d_hidden = (up @ w2.T) * (hidden > 0)
    d_w1 = rows.T @ d_hidden
    layers = watch.history["layers"]
    assert watch.history["epoch"] == [0]
    assert layers[0]["grad_norm"]["w"][0] == pytest.approx(np.linalg.norm(d_w1))
    assert layers[0]["grad_norm"]["b"][0] == pytest.approx(np.linalg.norm(d_hidden.sum(0)))
    assert layers[2]["grad_norm"]["w"][0] == pytest.approx(np.linalg.norm(d_w2))
    assert layers[1]["mean"][0] == pytest.approx(active.mean())
    assert layers[1]["std"][0] == pytest.approx(active.std())
    assert layers[2]["mean"][0] == pytest.approx(out.mean())
    # unit 3 has bias -3: negative on all four rows, so one of three units is dead
    assert layers[1]["health"] == "dead" and layers[1]["share"][0] == pytest.approx(1 / 3)
    assert np.isnan(layers[0]["update_ratio"]["w"][0])
    assert sum(layers[0]["weight_hist"]["w"][0]["counts"]) == 6


def test_the_update_ratio_is_the_relative_change_since_the_last_record():
    model = tiny_model()
    watch = Diagnostics(model, X, Y)
    before = model.state_dict()
    model.train(X, Y, epochs=1, batch_size=2, callbacks=[watch], engine="fused")
    after = model.state_dict()
    for key, name in (("0.w", "w"), ("0.b", "b")):
        expected = np.linalg.norm(after[key] - before[key]) / np.linalg.norm(before[key])
        assert watch.history["layers"][0]["update_ratio"][name][1] == pytest.approx(expected)
    assert watch.history["epoch"] == [0, 1]


def test_a_network_built_with_dead_units_reports_them():
    rng = np.random.default_rng(0)
    first = Linear(4, 8, seed=0)
    first.b[0, :6] = -100.0  # six of eight units can never fire on standard inputs
    model = MLP([first, Relu(), Linear(8, 1, seed=1)], MSE(), lr=0.01)
    x = rng.standard_normal((300, 4))
    watch = Diagnostics(model, x, x[:, :1])
    assert watch.history["layers"][1]["share"][0] == pytest.approx(6 / 8)


@pytest.mark.parametrize("activation, limit", [(Sigmoid, (0.01, 0.99)), (Tanh, (-0.99, 0.99))])
def test_saturated_outputs_are_counted(activation, limit):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((200, 3))
    first = Linear(3, 5, seed=0, dtype=np.float64)
    first.w *= 50.0  # a too-large initialisation saturates the units
    model = MLP([first, activation(), Linear(5, 1, seed=1, dtype=np.float64)], MSE(), lr=0.1)
    watch = Diagnostics(model, x, x[:, :1], rows=200)
    out = activation().forward(watch.x @ first.w + first.b)
    expected = np.mean((out < limit[0]) | (out > limit[1]))
    share = watch.history["layers"][1]["share"][0]
    assert watch.history["layers"][1]["health"] == "saturated"
    assert share == pytest.approx(expected) and share > 0.8


@pytest.mark.parametrize("engine", ["fused", "compiled"])
def test_watching_does_not_change_training(engine):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((120, 4))
    y = np.sin(x[:, :1])
    runs = []
    for watched in (False, True):
        r = np.random.default_rng(5)
        model = MLP(
            [Linear(4, 16, seed=r), Relu(), Dropout(0.2, seed=1), Linear(16, 1, seed=r)],
            MSE(),
            lr=0.05,
            seed=0,
        )
        callbacks = [Diagnostics(model, x, y)] if watched else []
        model.train(x, y, epochs=3, batch_size=16, callbacks=callbacks, engine=engine)
        runs.append(model)
    # the same operations on both sides (same engine): bit for bit
    for key, value in runs[0].state_dict().items():
        np.testing.assert_array_equal(runs[1].state_dict()[key], value, err_msg=key)
    assert runs[1].training  # mode restored after each record


def test_a_learners_own_layer_is_watched():
    class Square(Layer):
        def forward(self, inp):
            self.inp = inp
            return inp * inp

        def backward(self, up_grad):
            return 2 * self.inp * up_grad

    model = tiny_model(activation=Square)
    watch = Diagnostics(model, X, Y, rows=4)
    hidden = watch.x @ model.layers[0].w + model.layers[0].b
    entry = watch.history["layers"][1]
    assert entry["name"] == "Square" and entry["health"] is None
    assert entry["mean"][0] == pytest.approx(np.mean(hidden**2))


def test_every_records_every_nth_epoch():
    model = tiny_model()
    watch = Diagnostics(model, X, Y, every=2)
    model.train(X, Y, epochs=5, batch_size=2, callbacks=[watch])
    assert watch.history["epoch"] == [0, 2, 4]
    assert len(watch.history["layers"][0]["grad_norm"]["w"]) == 3


def test_the_figure_has_its_six_panels_and_is_written(tmp_path):
    model = tiny_model(activation=Sigmoid)
    watch = Diagnostics(model, X, Y)
    model.train(X, Y, epochs=3, batch_size=2, callbacks=[watch])
    figure = diagnostics_figure(watch.history)
    titles = [ax.get_title() for ax in figure.axes]
    assert titles == [
        "gradient norm (fixed batch)",
        "update / weight ratio per epoch",
        "activations: mean ± spread",
        "dead (Relu) or saturated (Sigmoid, Tanh) share",
        "weight histograms (dotted: first, solid: last)",
        "activation histograms (dotted: first, solid: last)",
    ]
    assert len(figure.axes[0].get_lines()) == 2  # one per Linear layer
    assert len(figure.axes[3].get_lines()) == 1  # the Sigmoid's saturated share
    path = plot_diagnostics(watch.history, tmp_path / "inside.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_arguments_are_clear_errors():
    model = tiny_model()
    with pytest.raises(BarenetValueError, match="rows must be a positive integer"):
        Diagnostics(model, X, Y, rows=0)
    with pytest.raises(BarenetValueError, match="same, non-zero number of rows"):
        Diagnostics(model, X, Y[:2])
    with pytest.raises(BarenetValueError, match="no records"):
        plot_diagnostics({"epoch": [], "layers": []}, "x.png")


@pytest.mark.parametrize("values", [np.linspace(-3, 5, 1001), np.full(7, 2.5), [1.0, np.nan]])
def test_histograms_count_as_numpy_does(values):
    from barenet.diagnostics.recorder import BINS, _histogram

    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    counts, edges = np.histogram(finite, bins=BINS)
    hist = _histogram(values)
    np.testing.assert_array_equal(hist["counts"], counts)
    np.testing.assert_allclose(hist["edges"], edges)


def _histogram_cases():
    rng = np.random.default_rng(7)
    on_edges = np.linspace(-1.0, 2.0, 31)  # every value an edge, in real arithmetic
    return {
        "float32 normal": rng.standard_normal(5000).astype(np.float32),
        "relu output": np.maximum(rng.standard_normal((256, 64)), 0).astype(np.float32),
        "values on the edges": np.repeat(on_edges, 7),
        "tenths": np.round(rng.standard_normal(20000), 1),
        "tiny range far from zero": 1000.0 + rng.random(3000) * 1e-9,
        "a range of a thousand ulps": 1.0 + np.arange(0, 1001, 7) * np.finfo(np.float64).eps,
        "edges far from zero": np.linspace(1000.0, 1000.01, 3001),
        "with inf and nan": np.array([np.inf, 1.0, -np.inf, 3.0, np.nan, 2.5]),
        "integers": np.arange(-40, 77),
        "one value": np.array([4.0]),
        "a denormal range": np.array([2.2250738585e-313, 0.0, 1e-314]),
    }


@pytest.fixture(params=["compiled", "numpy"])
def passes(request, monkeypatch):
    """The compiled loop, and the NumPy passes used where numba cannot be imported."""
    from barenet.diagnostics import recorder as diagnostics

    if request.param == "numpy":
        monkeypatch.setattr(diagnostics, "_KERNELS", [diagnostics._NumpyPasses])
    return request.param


@pytest.mark.parametrize("name", list(_histogram_cases()))
def test_histograms_count_as_numpy_does_on_hard_cases(name, passes):
    """The compiled loop checks a value against the edges only near a bin boundary:
    values on or within rounding of the edges, and degenerate ranges, must still land
    where np.histogram puts them."""
    from barenet.diagnostics.recorder import BINS, _histogram

    numpy_version = tuple(int(part) for part in np.__version__.split(".")[:2])
    if name == "a denormal range" and numpy_version < (1, 26):
        pytest.skip("the reference, np.histogram, fails on a denormal range before NumPy 1.26")
    values = _histogram_cases()[name]
    finite = np.asarray(values, dtype=np.float64).ravel()
    finite = finite[np.isfinite(finite)]
    counts, edges = np.histogram(finite, bins=BINS)
    hist = _histogram(values)
    np.testing.assert_array_equal(hist["counts"], counts)
    np.testing.assert_array_equal(hist["edges"], edges)  # the same steps: bit for bit


@pytest.mark.parametrize("which", ["compiled", "numpy"])
@settings(max_examples=200, deadline=None)
@given(
    arrays(
        np.float64,
        st.integers(1, 400),
        elements=st.floats(-1e6, 1e6, allow_nan=False) | st.sampled_from([0.0, 0.1, 1 / 3, 1e3]),
    )
)
def test_histograms_count_as_numpy_does_on_any_values(which, values):
    from barenet.diagnostics import recorder as diagnostics

    try:
        counts, edges = np.histogram(values, bins=diagnostics.BINS)
    except ValueError:  # a range of a few ulps: NumPy cannot make 30 distinct edges
        assume(False)
    except IndexError:  # NumPy 1.24 on a range of one float64 near 2.2e-308: no oracle
        assume(False)  # (barenet's own histogram of it is tested below, in both passes)
    kernels = diagnostics._KERNELS[:]
    if which == "numpy":
        diagnostics._KERNELS[:] = [diagnostics._NumpyPasses]
    try:
        hist = diagnostics._histogram(values)
    finally:
        diagnostics._KERNELS[:] = kernels
    np.testing.assert_array_equal(hist["counts"], counts)
    np.testing.assert_array_equal(hist["edges"], edges)


def test_histogram_of_no_finite_values_is_empty(passes):
    from barenet.diagnostics.recorder import _histogram

    assert _histogram(np.array([np.nan, np.inf])) == {"counts": [], "edges": []}
    assert _histogram(np.zeros((0, 3))) == {"counts": [], "edges": []}


def test_a_histogram_of_equal_huge_values_puts_them_in_one_bin(passes):
    """NumPy cannot make 30 distinct edges around 1e300 ± 0.5; a diverging network's
    outputs can still all be equal and huge: one bin holds them, between strictly
    increasing edges."""
    from barenet.diagnostics.recorder import _histogram

    for value in (1e300, -3e17):
        hist = _histogram(np.full(5, value))
        assert sum(hist["counts"]) == 5 and max(hist["counts"]) == 5
        assert np.all(np.diff(hist["edges"]) > 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mean_and_spread_match_numpy(dtype, passes):
    from barenet.diagnostics.recorder import _summary

    values = (np.random.default_rng(3).standard_normal((256, 64)) * 3 + 5).astype(dtype)
    wide = values.astype(np.float64)
    for histogram in (True, False):
        mean, std, hist = _summary(values, histogram)
        # summed in float64 (NumPy sums float32 in float32): equal to float64 rounding
        assert mean == pytest.approx(wide.mean(), rel=1e-12)
        assert std == pytest.approx(wide.std(), rel=1e-12)
        assert (hist is None) == (not histogram)
    mean, std, _ = _summary(np.array([1.0, np.inf]))
    assert mean == np.inf and np.isnan(std)


def test_a_float32_network_records_numpys_numbers():
    """The default dtype: means and spreads within float32 rounding of NumPy's own."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((300, 4))
    model = MLP([Linear(4, 8, seed=0), Relu(), Linear(8, 1, seed=1)], MSE(), lr=0.01)
    watch = Diagnostics(model, x, x[:, :1], rows=300)
    hidden = watch.x @ model.layers[0].w + model.layers[0].b
    active = np.maximum(hidden, 0)
    entry = watch.history["layers"][1]
    assert entry["mean"][0] == pytest.approx(float(active.mean()), rel=1e-5)
    assert entry["std"][0] == pytest.approx(float(active.std()), rel=1e-5)
    counts, _ = np.histogram(active.astype(np.float64), bins=30)
    np.testing.assert_array_equal(entry["output_hist"][0]["counts"], counts)


def test_without_numba_the_numpy_passes_record_the_same(monkeypatch):
    import sys

    from barenet.diagnostics import recorder as diagnostics

    compiled = Diagnostics(tiny_model(), X, Y).history
    monkeypatch.setattr(diagnostics, "_KERNELS", [])
    monkeypatch.setitem(sys.modules, "barenet.diagnostics._kernels", None)  # import fails
    fallback = Diagnostics(tiny_model(), X, Y).history
    assert diagnostics._KERNELS == [diagnostics._NumpyPasses]
    for ours, theirs in zip(fallback["layers"], compiled["layers"], strict=True):
        assert ours["output_hist"] == theirs["output_hist"]
        assert ours["weight_hist"] == theirs["weight_hist"]
        np.testing.assert_allclose(ours["std"], theirs["std"], rtol=1e-12)
        np.testing.assert_allclose(ours["mean"], theirs["mean"], rtol=1e-12)


@pytest.mark.parametrize("which", ["compiled", "numpy"])
def test_a_histogram_over_the_smallest_normal_range_counts_both_ends(which):
    """[0, 2.2e-308]: NumPy 1.24's own histogram fails on it (IndexError); barenet's
    puts each value in its end bin, between 31 increasing edges."""
    from barenet.diagnostics import recorder as diagnostics

    kernels = diagnostics._KERNELS[:]
    if which == "numpy":
        diagnostics._KERNELS[:] = [diagnostics._NumpyPasses]
    try:
        hist = diagnostics._histogram(np.array([2.2250738585072014e-308, 0.0]))
    finally:
        diagnostics._KERNELS[:] = kernels
    assert hist["counts"][0] == hist["counts"][-1] == 1 and sum(hist["counts"]) == 2
    assert len(hist["edges"]) == 31 and np.all(np.diff(hist["edges"]) > 0)

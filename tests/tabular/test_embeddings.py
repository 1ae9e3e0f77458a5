"""Numeric-feature embeddings: finite differences, PyTorch references, bins."""

import numpy as np
import pytest
from conftest import TORCH_MISSING, assert_gradients_ok

from barenet import FeatureLinear, PeriodicEmbedding, PiecewiseLinearEncoding
from barenet.errors import BarenetValueError
from barenet.tabular.embeddings import quantile_bins, tree_bins

TOLERANCE = {np.float64: 1e-10, np.float32: 1e-5}
DTYPES = pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])

# three bins, one bin, four bins: the first two features are padded to four bins
EDGES = [[-1.0, 0.0, 0.5, 2.0], [0.0, 1.0], [-2.0, -1.0, 0.0, 1.0, 3.0]]
# each feature's values inside its bins, left of its first edge and right of its last,
# none on an edge
PLE_INPUT = np.array(
    [
        [-0.4, 0.3, -1.5],  # inside
        [0.25, 0.7, 0.4],  # inside
        [1.2, 0.1, 2.2],  # inside
        [-1.7, -0.6, -2.8],  # left of the first edge
        [2.9, 1.8, 3.5],  # right of the last edge
        [-3.0, 4.0, 7.0],  # mixed, far outside
    ]
)


def torch_or_skip():
    return pytest.importorskip("torch", reason=TORCH_MISSING)


# -- piecewise-linear encoding ------------------------------------------------------


def test_piecewise_linear_values_and_padding():
    layer = PiecewiseLinearEncoding([[0.0, 1.0, 2.0, 4.0], [0.0, 2.0]], dtype=np.float64)
    out = layer(np.array([[1.5, 1.0], [-1.0, -3.0], [5.0, 6.0]]))
    assert out.shape == (3, 2 * 3) and layer.out_dim == 6
    np.testing.assert_allclose(
        out,
        [
            [1.0, 0.5, 0.0, 0.5, 0.0, 0.0],  # the single bin is not clipped at all
            [-1.0, 0.0, 0.0, -1.5, 0.0, 0.0],  # the first bin is not clipped below
            [1.0, 1.0, 1.5, 3.0, 0.0, 0.0],  # the last bin is not clipped above
        ],
    )


@pytest.mark.parametrize(
    "rows",
    [slice(0, 3), slice(3, 4), slice(4, 5), slice(None)],
    ids=["in", "left", "right", "all"],
)
def test_piecewise_linear_finite_differences(rows):
    layer = PiecewiseLinearEncoding(EDGES, dtype=np.float64)
    assert_gradients_ok(layer, PLE_INPUT[rows])


def test_piecewise_linear_gradient_is_zero_on_flat_parts():
    layer = PiecewiseLinearEncoding([[0.0, 1.0, 2.0, 3.0]], dtype=np.float64)
    layer(np.array([[1.5]]))
    # only the middle bin is sloped at 1.5; the others are clipped (1 and 0)
    np.testing.assert_array_equal(layer.backward(np.array([[10.0, 20.0, 30.0]])), [[20.0]])


def torch_piecewise_linear(torch, x, edges, max_bins, dtype):
    """rtdl-num-embeddings' formula, written directly: bin t of feature j is
    (x_j - e_t) / (e_{t+1} - e_t), the first bin clamped above at 1 only, the last below
    at 0 only, the others to [0, 1], a single bin not at all; padded with zeros."""
    columns = []
    for j, column in enumerate(edges):
        column = torch.tensor(column, dtype=dtype)
        raw = (x[:, j : j + 1] - column[:-1]) / (column[1:] - column[:-1])
        if raw.shape[1] > 1:
            raw = torch.cat(
                [
                    raw[:, :1].clamp_max(1.0),
                    raw[:, 1:-1].clamp(0.0, 1.0),
                    raw[:, -1:].clamp_min(0.0),
                ],
                dim=1,
            )
        padding = torch.zeros(len(x), max_bins - raw.shape[1], dtype=dtype)
        columns.append(torch.cat([raw, padding], dim=1))
    return torch.cat(columns, dim=1)


@DTYPES
def test_piecewise_linear_matches_the_torch_reference(dtype):
    torch = torch_or_skip()
    tol = TOLERANCE[dtype]
    torch_dtype = torch.float64 if dtype == np.float64 else torch.float32
    # edges exactly representable in float32, so both sides use the same numbers
    layer = PiecewiseLinearEncoding(EDGES, dtype=dtype)
    x = PLE_INPUT.astype(dtype)
    up_grad = np.random.default_rng(0).standard_normal((len(x), layer.out_dim)).astype(dtype)
    out = layer(x)
    grad = layer.backward(up_grad)
    t_x = torch.from_numpy(x.copy()).requires_grad_()
    t_out = torch_piecewise_linear(torch, t_x, EDGES, layer.n_bins, torch_dtype)
    (t_out * torch.from_numpy(up_grad)).sum().backward()
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(grad, t_x.grad.numpy(), rtol=tol, atol=tol)


def test_piecewise_linear_errors_name_the_layer():
    layer = PiecewiseLinearEncoding(EDGES)
    with pytest.raises(BarenetValueError, match=r"PiecewiseLinearEncoding\(3 features.*\(6, 2\)"):
        layer(np.zeros((6, 2)))
    with pytest.raises(BarenetValueError, match="feature 1 needs >= 2 increasing edges"):
        PiecewiseLinearEncoding([[0.0, 1.0], [1.0, 1.0]])
    with pytest.raises(BarenetValueError, match="a list per feature"):
        PiecewiseLinearEncoding([])


# -- bins ---------------------------------------------------------------------------


def test_quantile_bins_increase_and_follow_the_data():
    rng = np.random.default_rng(0)
    x = np.column_stack([rng.exponential(size=500), rng.integers(0, 3, 500), rng.normal(size=500)])
    edges = quantile_bins(x, n_bins=8)
    assert len(edges) == 3
    for column, values in zip(edges, x.T, strict=True):
        assert np.all(np.diff(column) > 0)
        assert column[0] == values.min() and column[-1] == values.max()
    assert len(edges[0]) == 9 and len(edges[2]) == 9
    assert len(edges[1]) <= 3  # three distinct values: at most two bins
    np.testing.assert_allclose(edges[0][4], np.median(x[:, 0]))


def test_a_constant_column_gets_one_bin_that_encodes_it_as_zero():
    x = np.column_stack([np.arange(10.0), np.full(10, 2.5)])
    edges = quantile_bins(x)
    assert edges[1] == [2.5, 3.5]
    assert tree_bins(x, np.arange(10.0))[1] == [2.5, 3.5]
    out = PiecewiseLinearEncoding(edges, dtype=np.float64).forward(x)
    assert np.all(out.reshape(10, 2, -1)[:, 1] == 0)
    with pytest.raises(BarenetValueError, match="2-D array"):
        quantile_bins(np.arange(10.0))


def test_tree_bins_follow_the_target():
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, (2000, 2))
    y = np.where(x[:, 0] < 0.3, 0.0, 5.0) + 0.01 * rng.standard_normal(2000)  # a step at 0.3
    edges = tree_bins(x, y, n_bins=4, min_leaf=32)
    quantiles = quantile_bins(x, n_bins=4)
    for column, values in zip(edges, x.T, strict=True):
        assert np.all(np.diff(column) > 0)
        assert column[0] == values.min() and column[-1] == values.max()
        assert len(column) <= 5
    inner = np.array(edges[0][1:-1])
    assert np.min(np.abs(inner - 0.3)) < 0.01  # the tree found the step
    assert np.min(np.abs(np.array(quantiles[0]) - 0.3)) > 0.04  # unlike the quartiles


def test_tree_bins_for_classification():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(600, 1))
    labels = (x[:, 0] > 0.5).astype(int)
    edges = tree_bins(x, labels, n_bins=3, regression=False, min_leaf=20)
    assert np.min(np.abs(np.array(edges[0][1:-1]) - 0.5)) < 0.05


# -- periodic embedding --------------------------------------------------------------


def test_periodic_finite_differences_for_input_and_frequencies():
    layer = PeriodicEmbedding(3, 4, sigma=0.5, dtype=np.float64, seed=0)
    x = np.random.default_rng(1).standard_normal((5, 3))
    assert_gradients_ok(layer, x)


def test_periodic_layout_is_cosines_then_sines_per_feature():
    layer = PeriodicEmbedding(2, 3, dtype=np.float64, seed=0)
    x = np.array([[0.3, -1.2]])
    out = layer(x).reshape(2, 2, 3)
    angle = 2 * np.pi * layer.c * x[0][:, None]
    np.testing.assert_allclose(out[:, 0], np.cos(angle))
    np.testing.assert_allclose(out[:, 1], np.sin(angle))
    assert layer.out_dim == 12


@DTYPES
def test_periodic_matches_the_torch_reference(dtype):
    torch = torch_or_skip()
    tol = TOLERANCE[dtype]
    layer = PeriodicEmbedding(3, 5, sigma=1.0, dtype=dtype, seed=2)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((7, 3)).astype(dtype)
    up_grad = rng.standard_normal((7, layer.out_dim)).astype(dtype)
    out = layer(x)
    grad = layer.backward(up_grad)
    t_x = torch.from_numpy(x.copy()).requires_grad_()
    t_c = torch.from_numpy(layer.c.copy()).requires_grad_()
    angle = 2 * torch.pi * t_c * t_x[..., None]
    t_out = torch.cat([torch.cos(angle), torch.sin(angle)], dim=-1).reshape(len(x), -1)
    (t_out * torch.from_numpy(up_grad)).sum().backward()
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(grad, t_x.grad.numpy(), rtol=tol, atol=tol * 10)
    np.testing.assert_allclose(layer.dc, t_c.grad.numpy(), rtol=tol, atol=tol * 10)


# -- per-feature linear ---------------------------------------------------------------


def test_feature_linear_finite_differences():
    layer = FeatureLinear(3, 4, 2, dtype=np.float64, seed=0)
    x = np.random.default_rng(1).standard_normal((5, 12))
    assert_gradients_ok(layer, x)


def test_feature_linear_keeps_features_apart():
    layer = FeatureLinear(2, 3, 2, dtype=np.float64, seed=0)
    x = np.random.default_rng(2).standard_normal((4, 6))
    out = layer(x)
    changed = x.copy()
    changed[:, 3:] += 1.0  # only feature 1's embedding
    np.testing.assert_array_equal(layer(changed)[:, :2], out[:, :2])
    np.testing.assert_allclose(out[:, 2:], x[:, 3:] @ layer.w[1] + layer.b[1])


@DTYPES
def test_feature_linear_matches_the_torch_reference(dtype):
    torch = torch_or_skip()
    tol = TOLERANCE[dtype]
    layer = FeatureLinear(3, 4, 5, dtype=dtype, seed=4)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((6, 12)).astype(dtype)
    up_grad = rng.standard_normal((6, 15)).astype(dtype)
    out = layer(x)
    grad = layer.backward(up_grad)
    t_x = torch.from_numpy(x.copy()).requires_grad_()
    t_w = torch.from_numpy(layer.w.copy()).requires_grad_()
    t_b = torch.from_numpy(layer.b.copy()).requires_grad_()
    t_out = torch.einsum("bfi,fio->bfo", t_x.reshape(6, 3, 4), t_w) + t_b
    t_out = t_out.reshape(6, -1)
    (t_out * torch.from_numpy(up_grad)).sum().backward()
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(grad, t_x.grad.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(layer.dw, t_w.grad.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(layer.db, t_b.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize(
    "layer, width",
    [(PeriodicEmbedding(3, 2, seed=0), 3), (FeatureLinear(3, 2, 4, seed=0), 6)],
    ids=["PeriodicEmbedding", "FeatureLinear"],
)
def test_input_shape_errors_name_the_layer(layer, width):
    name = type(layer).__name__
    with pytest.raises(
        BarenetValueError, match=rf"{name}\(.*\(batch_size, {width}\), got \(4, 5\)"
    ):
        layer(np.zeros((4, 5)))


def test_quantile_bins_of_a_two_valued_feature_have_no_rounding_noise_bins():
    """Bins a few ulp wide (linear quantiles next to a data value) turned a float32
    rounding of that value into a bin value of 0 or 1, or far above 1 in the last bin."""
    for n_rows in (240, 457, 1001):  # 457: NumPy's quantiles gave a bin 3e-14 wide
        column = (np.random.default_rng(n_rows).random(n_rows) < 0.3).astype(float)
        x = ((column - column.mean()) / column.std()).reshape(-1, 1)
        (edges,) = quantile_bins(x, 48)
        assert np.diff(edges).min() > 1e-3 * np.ptp(x), edges  # no bin of rounding width
        exact = PiecewiseLinearEncoding([edges], dtype=np.float64).forward(x)
        layer = PiecewiseLinearEncoding([edges])
        np.testing.assert_allclose(layer.forward(x.astype(np.float32)), exact, atol=1e-6)

"""Input scaling fitted on training rows: quantile transform and robust scaling."""

import warnings

import numpy as np
import pytest
from conftest import assert_gradients_ok

from barenet import QuantileScaling, RobustScaling
from barenet.errors import BarenetValueError
from barenet.tabular.scaling import SCALINGS


def skewed(n=5000, seed=0):
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.exponential(2.0, n), rng.normal(3.0, 0.5, n), np.full(n, 7.0)])


# -- quantile scaling -------------------------------------------------------------------


def test_quantile_scaling_makes_training_data_standard_normal():
    x = skewed()
    out = QuantileScaling.fit(x, dtype=np.float64)(x)
    for j in (0, 1):  # exponential and normal alike
        assert abs(out[:, j].mean()) < 0.02
        assert abs(out[:, j].std() - 1.0) < 0.05
        assert abs(np.median(out[:, j])) < 0.01
    assert abs(np.mean(out[:, 0] ** 3)) < 0.1  # the exponential's skew is gone
    np.testing.assert_array_equal(out[:, 2], 0.0)  # a constant column maps to 0


def test_quantile_scaling_is_monotone_and_clips_unseen_values():
    x = skewed()
    layer = QuantileScaling.fit(x, n_quantiles=100, dtype=np.float64)
    grid = np.column_stack([np.linspace(-5, 30, 2001), np.linspace(0, 6, 2001), np.zeros(2001)])
    out = layer(grid)
    assert np.all(np.diff(out[:, 0]) >= 0) and np.all(np.diff(out[:, 1]) >= 0)
    assert out[-1, 0] > out[0, 0]
    extremes = layer(np.array([[-1e9, -1e9, -1e9], [1e9, 1e9, 1e9]]))
    low, high = layer(x.min(axis=0, keepdims=True)), layer(x.max(axis=0, keepdims=True))
    np.testing.assert_array_equal(extremes[0], low[0])
    np.testing.assert_array_equal(extremes[1], high[0])
    assert -5.3 < low[0, 0] < -5.1 and 5.1 < high[0, 0] < 5.3  # the normal's 1e-7 quantiles


def test_quantile_scaling_finite_differences_inside_and_beyond():
    x = skewed(500)
    layer = QuantileScaling.fit(x, n_quantiles=20, dtype=np.float64)
    rng = np.random.default_rng(1)
    inside = np.column_stack([rng.uniform(0.1, 5, 6), rng.uniform(2.5, 3.5, 6), np.full(6, 7.3)])
    beyond = np.array([[-3.0, -2.0, 5.0], [99.0, 20.0, 9.0]])
    assert_gradients_ok(layer, inside)
    assert_gradients_ok(layer, beyond)
    layer(beyond)
    np.testing.assert_array_equal(layer.backward(np.ones((2, 3))), 0.0)
    layer(inside)
    assert np.all(layer.backward(np.ones((6, 3)))[:, :2] > 0)


def test_quantile_scaling_keeps_the_input_dtype():
    x = skewed(300).astype(np.float32)
    layer = QuantileScaling.fit(x)
    assert layer(x).dtype == np.float32
    assert layer.backward(np.ones_like(x)).dtype == np.float32


# -- robust scaling ----------------------------------------------------------------------


def test_robust_scaling_centres_scales_and_smoothly_clips():
    x = skewed()
    layer = RobustScaling.fit(x, dtype=np.float64)
    q25, median, q75 = np.quantile(x, [0.25, 0.5, 0.75], axis=0)
    np.testing.assert_allclose(layer(median[None]), 0.0, atol=1e-12)
    out = layer(x)
    u = (x[:, :2] - median[:2]) / (q75[:2] - q25[:2])
    np.testing.assert_allclose(out[:, :2], u / np.sqrt(1 + (u / 3) ** 2), rtol=1e-12)
    np.testing.assert_array_equal(out[:, 2], 0.0)  # a constant feature
    moderate = layer(median[None] + np.array([[-1e3, 1e3, 0.0]]) * (q75 - q25))
    assert np.all(np.abs(moderate[0, :2]) < 3) and moderate[0, 1] > 2.99
    small = layer(median[None] + 1e-3 * (q75 - q25))
    np.testing.assert_allclose(small[0, :2], 1e-3, rtol=1e-6)  # small values stay as they are


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_robust_scaling_squashes_huge_values_to_three_without_overflow(dtype):
    layer = RobustScaling([0.0, 1.0], [1.0, 2.0], dtype=dtype)
    huge = np.array([[1e25, -1e25], [1e37, -1e37]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = layer(huge)
        grad = layer.backward(np.ones_like(huge))
    np.testing.assert_allclose(out, [[3.0, -3.0], [3.0, -3.0]], rtol=1e-6)
    assert np.all(np.abs(out) <= 3) and out.dtype == dtype
    np.testing.assert_allclose(grad, 0.0, atol=1e-30)


def test_robust_scaling_uses_the_range_when_the_quartiles_coincide():
    x = np.zeros((100, 1))
    x[:3, 0] = [-4.0, 6.0, 1.0]  # q25 = q75 = 0
    layer = RobustScaling.fit(x, dtype=np.float64)
    np.testing.assert_allclose(layer.factor, [[2.0 / 10.0]])
    np.testing.assert_allclose(layer.center, [[0.0]])


def test_robust_scaling_finite_differences():
    layer = RobustScaling.fit(skewed(500), dtype=np.float64)
    x = np.random.default_rng(2).normal(3, 4, (6, 3))
    assert_gradients_ok(layer, x)


# -- both -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["quantile", "robust"])
def test_fit_refuses_missing_and_infinite_values(name):
    x = skewed(50)
    for bad in (np.nan, np.inf):
        x_bad = x.copy()
        x_bad[3, 1] = bad
        with pytest.raises(BarenetValueError, match=r"Scaling\.fit needs a finite 2-D array"):
            SCALINGS[name].fit(x_bad)
    with pytest.raises(BarenetValueError, match="2-D array of >= 2 rows"):
        SCALINGS[name].fit(x[:1])


@pytest.mark.parametrize("name", ["quantile", "robust"])
def test_input_shape_errors_name_the_layer(name):
    layer = SCALINGS[name].fit(skewed(50))
    expected = {"quantile": "QuantileScaling", "robust": "RobustScaling"}[name]
    with pytest.raises(BarenetValueError, match=rf"{expected}\(3 features\).*got \(4, 2\)"):
        layer(np.zeros((4, 2), dtype=np.float32))


@pytest.mark.parametrize("name", ["quantile", "robust"])
def test_the_fitted_numbers_rebuild_the_same_layer(name):
    x = skewed(400)
    layer = SCALINGS[name].fit(x)
    rebuilt = type(layer)(**layer.config())
    np.testing.assert_array_equal(rebuilt(x.astype(np.float32)), layer(x.astype(np.float32)))


@pytest.mark.parametrize("n_rows", [100, 149, 457])  # sizes where NumPy's points had noise
def test_quantile_points_of_a_two_valued_feature_hold_no_rounding_noise(n_rows):
    """A 0/1 feature (a one-hot column, standardised) has two values; linear quantiles
    at a level whose position is an integer up to rounding used to give a point a few
    ulp from a value, next to it, so the map jumped there and one float32 rounding of
    the input moved the output by 0.6."""
    column = (np.random.default_rng(n_rows).random(n_rows) < 0.3).astype(float)
    x = ((column - column.mean()) / column.std()).reshape(-1, 1)
    layer = QuantileScaling.fit(x, dtype=np.float64)
    assert np.diff(layer.points[0]).min() > 1e-3 * np.ptp(x), layer.points[0]
    float32 = layer.forward(x.astype(np.float32)).astype(np.float64)
    np.testing.assert_allclose(float32, layer.forward(x), atol=1e-6)


def test_quantiles_interpolate_between_data_values_as_numpy():
    from barenet.tabular.scaling import even_quantiles

    column = np.random.default_rng(1).standard_normal(137)
    for count in (2, 10, 137, 500):
        np.testing.assert_allclose(
            even_quantiles(column, count),
            np.quantile(column, np.linspace(0, 1, count)),
            rtol=0,
            atol=1e-12,
        )

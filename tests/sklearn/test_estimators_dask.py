"""The estimators on Dask data: dask-ml's ``Incremental`` over ``partial_fit``, and
``partial_fit`` holding its preprocessing fixed after the first call."""

import numpy as np
import pytest
from sklearn.metrics import r2_score

from barenet.sklearn.estimators import BarenetClassifier, BarenetRegressor


def data(n=20000, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5))
    y = np.sin(x[:, 0]) + x[:, 1] * x[:, 2] + 0.5 * x[:, 3] + 0.05 * rng.normal(size=n)
    return x, y


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("dask.distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def test_incremental_trains_block_by_block_over_a_dask_array(client):
    da = pytest.importorskip("dask.array")
    incremental = pytest.importorskip("dask_ml.wrappers").Incremental
    x, y = data()
    x_train, y_train = da.from_array(x[:16000], chunks=2000), da.from_array(y[:16000], chunks=2000)
    estimator = BarenetRegressor(hidden=(32, 32), random_state=0)
    model = incremental(estimator, scoring="r2", shuffle_blocks=False)
    model.fit(x_train, y_train)
    assert model.estimator_.n_iter_ == 8  # one partial_fit, one epoch, per block
    x_test = da.from_array(x[16000:], chunks=2000)
    predictions = model.predict(x_test).compute()  # block by block on the workers
    assert r2_score(y[16000:], predictions) > 0.9
    # the same as calling partial_fit on the blocks in order, in one process
    direct = BarenetRegressor(hidden=(32, 32), random_state=0)
    for start in range(0, 16000, 2000):
        direct.partial_fit(x[start : start + 2000], y[start : start + 2000])
    np.testing.assert_allclose(predictions, direct.predict(x[16000:]))


def test_incremental_over_a_dask_dataframe_of_a_classifier(client):
    dd = pytest.importorskip("dask.dataframe")
    incremental = pytest.importorskip("dask_ml.wrappers").Incremental
    import pandas as pd

    x, y = data(8000)
    frame = dd.from_pandas(pd.DataFrame(x, columns=[f"x{i}" for i in range(5)]), npartitions=4)
    labels = dd.from_pandas(pd.Series(np.where(y > 0, "up", "down")), npartitions=4)
    model = incremental(BarenetClassifier(hidden=(16,), random_state=0))
    model.fit(frame, labels, classes=["down", "up"])
    assert list(model.estimator_.classes_) == ["down", "up"]
    accuracy = (model.predict(frame).compute() == labels.compute()).mean()
    assert accuracy > 0.8


def test_partial_fit_keeps_the_first_calls_preprocessing():
    x, y = data(4000)
    model = BarenetRegressor(scaling="quantile", hidden=(8,), random_state=0)
    model.partial_fit(x[:2000], y[:2000])
    mean, scale = model.y_mean_.copy(), model.y_scale_.copy()
    points = model.model_.layers[0].points.copy()
    model.partial_fit(10 * x[2000:] + 5, 100 * y[2000:] + 50)  # very different rows
    np.testing.assert_array_equal(model.y_mean_, mean)
    np.testing.assert_array_equal(model.y_scale_, scale)
    np.testing.assert_array_equal(model.model_.layers[0].points, points)
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(x[:10, :4], y[:10])
    classifier = BarenetClassifier(hidden=(8,), random_state=0)
    classifier.partial_fit(x[:100], y[:100] > 0, classes=[False, True])
    classifier.partial_fit(x[100:200], y[100:200] > 0, classes=[True])  # ignored after
    assert list(classifier.classes_) == [False, True]

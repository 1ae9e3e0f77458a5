import math

import numpy as np
import pytest

from barenet.metrics import classification_metrics, regression_metrics


def test_regression_metrics():
    m = regression_metrics([1.0, 2.0, 3.0, 4.0], np.array([[1.0], [2.0], [3.0], [6.0]]))
    assert m["mse"] == pytest.approx(1.0) and m["rmse"] == pytest.approx(1.0)
    assert m["mae"] == pytest.approx(0.5)
    assert m["r2"] == pytest.approx(1 - 4 / 5)
    assert math.isclose(regression_metrics([1, 2], [1, 2])["r2"], 1.0)


def test_classification_metrics():
    m = classification_metrics([0, 1, 2, 2], [0, 2, 2, 2], n_classes=3)
    assert m["accuracy"] == 0.75
    assert m["confusion_matrix"] == [[1, 0, 0], [0, 0, 1], [0, 0, 2]]

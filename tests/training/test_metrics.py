import math

import numpy as np
import pytest

from barenet.training.metrics import classification_metrics, regression_metrics


def test_regression_metrics():
    m = regression_metrics([1.0, 2.0, 3.0, 4.0], np.array([[1.0], [2.0], [3.0], [6.0]]))
    assert m["mse"] == pytest.approx(1.0) and m["rmse"] == pytest.approx(1.0)
    assert m["mae"] == pytest.approx(0.5)
    assert m["r2"] == pytest.approx(1 - 4 / 5)
    assert math.isclose(regression_metrics([1, 2], [1, 2])["r2"], 1.0)


def test_regression_metrics_of_several_targets_average_the_columns():
    truth = np.array([[0.0, 10.0], [2.0, 20.0], [4.0, 30.0]])
    predicted = truth + np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 3.0]])
    m = regression_metrics(truth, predicted)
    assert m["mse"] == pytest.approx((3 * 1 + 9) / 6)
    assert m["mae"] == pytest.approx((3 * 1 + 3) / 6)
    assert m["r2"] == pytest.approx(((1 - 3 / 8) + (1 - 9 / 200)) / 2)


def test_classification_metrics_in_the_order_of_the_classes():
    m = classification_metrics([0, 1, 2, 2], [0, 2, 2, 2], [0, 1, 2])
    assert m["accuracy"] == 0.75 and m["labels"] == [0, 1, 2]
    assert m["confusion_matrix"] == [[1, 0, 0], [0, 0, 1], [0, 0, 2]]
    reordered = classification_metrics([0, 1, 2, 2], [0, 2, 2, 2], [2, 1, 0])
    assert reordered["labels"] == [2, 1, 0]
    assert reordered["confusion_matrix"] == [[2, 0, 0], [1, 0, 0], [0, 0, 1]]


def test_classification_metrics_with_named_and_absent_classes():
    truth = ["cat", "dog", "dog", "cat"]
    m = classification_metrics(truth, ["cat", "cat", "dog", "cat"], ["cat", "dog", "emu"])
    assert m["accuracy"] == 0.75 and m["labels"] == ["cat", "dog", "emu"]
    assert m["confusion_matrix"] == [[2, 0, 0], [1, 1, 0], [0, 0, 0]]
    found = classification_metrics(truth, ["emu", "dog", "dog", "cat"])
    assert found["labels"] == ["cat", "dog", "emu"]  # the labels that occur, sorted
    assert found["confusion_matrix"] == [[1, 0, 1], [0, 2, 0], [0, 0, 0]]

"""dllab.metrics against values worked out by hand, and the device-side twins the Trainer sums."""

import functools
import warnings

import numpy as np
import pytest

import dllab as dl
from dllab import metrics

# five examples, three classes; the highest score of each row is marked *
SCORES = np.array([
    [2.0, 1.0, 0.1],   # * class 0, true 0: right
    [0.5, 0.2, 3.0],   # * class 2, true 1: wrong
    [0.1, 4.0, 0.3],   # * class 1, true 1: right
    [1.0, 0.0, 0.9],   # * class 0, true 2: wrong
    [0.2, 0.1, 0.8],   # * class 2, true 2: right
], dtype=np.float32)
LABELS = np.array([0, 1, 1, 2, 2])


def test_accuracy_and_error_by_hand():
    assert metrics.accuracy(SCORES, LABELS) == pytest.approx(3 / 5)
    assert metrics.classification_error(SCORES, LABELS) == pytest.approx(2 / 5)
    assert metrics.accuracy(SCORES, np.eye(3)[LABELS]) == pytest.approx(3 / 5)  # one-hot targets
    assert metrics.accuracy(np.array([0, 2, 1, 0, 2]), LABELS) == pytest.approx(3 / 5)  # labels as predictions
    assert metrics.accuracy(dl.Tensor(SCORES), LABELS) == pytest.approx(3 / 5)  # a Tensor
    assert metrics.accuracy(SCORES[[0, 2, 4]], LABELS[[0, 2, 4]]) == 1.0
    assert metrics.accuracy(SCORES[[1, 3]], LABELS[[1, 3]]) == 0.0


def test_accuracy_of_no_examples_is_nan_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NumPy's "mean of empty slice" would be one
        assert np.isnan(metrics.accuracy(np.zeros((0, 3), np.float32), np.zeros(0, np.int64)))
        assert np.isnan(metrics.on_device(metrics.accuracy)(np.zeros((0, 3), np.float32), np.zeros(0, np.int64)))


def test_accuracy_refuses_one_output_and_mismatched_sizes():
    with pytest.raises(ValueError) as info:
        metrics.accuracy(SCORES[:, :1], LABELS)
    assert str(info.value) == (
        "accuracy needs one score per class, shape (N, C) with C >= 2, but got scores of shape (5, 1): the argmax "
        "of one output is always 0. For regression use metrics=('mae',) (or none: the loss is the measure); for "
        "two classes give the last layer two outputs and use cross_entropy")
    with pytest.raises(ValueError, match=r"5 predictions but labels of shape \(4,\)"):
        metrics.accuracy(SCORES, LABELS[:4])


def test_predicted_labels():
    np.testing.assert_array_equal(metrics.predicted_labels(SCORES), [0, 2, 1, 0, 2])
    labels = metrics.predicted_labels(np.array([2.0, 0.0, 1.0]))
    np.testing.assert_array_equal(labels, [2, 0, 1])
    assert labels.dtype == np.int64


def test_confusion_matrix_by_hand():
    cm = metrics.confusion_matrix(LABELS, SCORES)
    # rows: true class; columns: predicted class
    np.testing.assert_array_equal(cm, [[1, 0, 0],
                                       [0, 1, 1],
                                       [1, 0, 1]])
    assert cm.sum() == 5 and np.trace(cm) == 3
    # predictions given as labels; more classes than appear
    cm4 = metrics.confusion_matrix([0, 0, 3], [0, 1, 3], num_classes=5)
    expected = np.zeros((5, 5), np.int64)
    expected[0, 0] = expected[0, 1] = expected[3, 3] = 1
    np.testing.assert_array_equal(cm4, expected)
    # without num_classes: the largest label or prediction decides the size
    assert metrics.confusion_matrix([0, 1], [2, 1]).shape == (3, 3)
    assert metrics.confusion_matrix([3, 1], [0, 1]).shape == (4, 4)
    assert metrics.confusion_matrix(np.array([1]), np.array([1]))[1, 1] == 1
    np.testing.assert_array_equal(metrics.confusion_matrix([0, 0], [0, 0]), [[2]])  # one class seen: 1 x 1
    empty = metrics.confusion_matrix(np.zeros(0, np.int64), np.zeros(0, np.int64))
    np.testing.assert_array_equal(empty, [[0]])


def test_mse_and_mae_by_hand():
    p = np.array([[1.0], [2.0], [4.0]], dtype=np.float32)
    t = np.array([[0.0], [2.0], [1.0]], dtype=np.float32)
    assert metrics.mse(p, t) == pytest.approx((1 + 0 + 9) / 3)
    assert metrics.mae(p, t) == pytest.approx((1 + 0 + 3) / 3)
    assert metrics.mse(dl.Tensor(p), t) == pytest.approx(10 / 3)
    assert isinstance(metrics.mse(p, t), float) and isinstance(metrics.mae(p, t), float)


def test_metrics_by_name():
    assert metrics.get("accuracy") == ("accuracy", metrics.accuracy)
    assert metrics.get("error") == ("error", metrics.classification_error)
    assert metrics.get("classification_error")[1] is metrics.classification_error
    assert metrics.get("mse")[1] is metrics.mse and metrics.get("mae")[1] is metrics.mae

    def f1(scores, labels):
        return 0.0

    assert metrics.get(f1) == ("f1", f1)
    unnamed = functools.partial(f1)  # a callable without __name__
    assert metrics.get(unnamed) == ("metric", unnamed)
    with pytest.raises(ValueError, match="unknown metric 'f1'.*accuracy, error"):
        metrics.get("f1")


def test_device_side_metrics_give_the_hand_worked_values_as_arrays():
    """The Trainer's per-batch metrics: the same values as 0-d arrays of the scores' module."""
    p = np.array([[1.0], [2.0], [4.0]], dtype=np.float32)
    t = np.array([[0.0], [2.0], [1.0]], dtype=np.float32)
    cases = [(metrics.accuracy, (SCORES, LABELS), 3 / 5), (metrics.accuracy, (SCORES, np.eye(3)[LABELS]), 3 / 5),
             (metrics.classification_error, (SCORES, LABELS), 2 / 5), (metrics.mse, (p, t), 10 / 3),
             (metrics.mae, (p, t), 4 / 3)]
    for fn, args, expected in cases:
        device_fn = metrics.on_device(fn)
        assert device_fn is not fn, fn.__name__
        value = device_fn(*args)
        assert isinstance(value, np.ndarray | np.generic), (fn.__name__, type(value))
        assert float(value) == pytest.approx(expected), fn.__name__
    custom = lambda s, y: 0.5  # noqa: E731 - a user's own metric is used as given
    assert metrics.on_device(custom) is custom
    with pytest.raises(ValueError, match="5 predictions but labels of shape"):
        metrics.on_device(metrics.accuracy)(SCORES, LABELS[:3])


def test_the_trainer_reports_the_hand_worked_accuracy():
    """evaluate sums the device-side accuracy over batches, weighted by batch size."""

    class Fixed(dl.Module):  # returns the fixed scores of the examples it is given (by index)
        def forward(self, x):
            return dl.Tensor(SCORES[x.data[:, 0].astype(int)])

    x = np.arange(5, dtype=np.float32).reshape(5, 1)
    result = dl.Trainer(Fixed(), metrics=("accuracy", "error")).evaluate((x, LABELS), batch_size=2)
    assert result["accuracy"] == pytest.approx(3 / 5) and result["error"] == pytest.approx(2 / 5)

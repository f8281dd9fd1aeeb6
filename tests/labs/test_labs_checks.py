"""dllab.labs' checks that teach: check, check_shape, check_close, check_gradient, check_backprop, check_conv2d and
check_max_pool, each recognising the common mistakes."""

from __future__ import annotations

import numpy as np
import pytest
from labs_helpers import (
    answer_keys_installed,  # noqa: F401 - an autouse fixture
    message,
)

import dllab as dl
from dllab import labs

# --- dllab.labs: checks that teach -------------------------------------------------------------


def test_check_and_check_shape():
    labs.check(True, "never shown")
    assert message(labs.check, False, "row 3 sums to 1.7") == "row 3 sums to 1.7"
    assert "transposed" in message(labs.check_shape, np.zeros((3, 2)), (2, 3), "dW")
    assert "did you forget a `return`" in message(labs.check_shape, None, (2, 3), "P")
    labs.check_shape(np.zeros((2, 3)), (2, 3), "P")


def test_check_close_names_the_worst_entry():
    labs.check_close([1.0, 2.0], [1.0, 2.0 + 1e-9], "v")
    text = message(labs.check_close, [[1.0, 2.0], [3.0, 9.0]], [[1.0, 2.0], [3.0, 4.0]], "M", hint="Look.")
    assert "index (1, 1)" in text and "9" in text and "expected 4" in text and text.endswith("Look.")
    assert "nan or inf" in message(labs.check_close, [np.nan], [1.0], "p")
    assert "is 3, expected 2" in message(labs.check_close, 3.0, 2.0, "the loss")


@pytest.mark.parametrize("mistake, words", [
    (lambda g, n: -g, "wrong sign"),
    (lambda g, n: g * n, "too large, exactly the batch size"),
    (lambda g, n: g / n, "divide by N twice"),
    (lambda g, n: g.T, "transposed"),
    (lambda g, n: np.zeros_like(g), "all zeros"),
    (lambda g, n: g * 0.5, "0.5× the right size"),
    (lambda g, n: g + np.eye(*g.shape), "at index"),
])
def test_check_gradient_recognises_common_mistakes(mistake, words):
    rng = np.random.default_rng(0)
    numeric = rng.normal(size=(4, 3))
    assert labs.check_gradient(numeric + 1e-9, numeric, "dW", batch_size=6) < 1e-8
    text = message(labs.check_gradient, mistake(numeric, 6), numeric, "dW", batch_size=6, hint="dW = X.T @ δ")
    assert words in text and "dW" in text and text.endswith("dW = X.T @ δ")


def reference_backward(X, y, params, cache, act="relu", mistake=None):
    f_grad = {"relu": lambda z: (z > 0) * 1.0,
              "sigmoid": lambda z: (s := 0.5 * (1 + np.tanh(0.5 * z))) * (1 - s)}[act]
    P = cache["P"]
    d3 = (P - np.eye(P.shape[1])[y]) / len(y)
    d2 = (d3 @ params["W3"].T) * f_grad(cache["Z2"])
    if mistake == "sign of delta2":
        d2 = -d2
    d1 = (d2 @ params["W2"].T) * f_grad(cache["Z1"])
    return {"W3": cache["A2"].T @ d3, "b3": d3.sum(0), "W2": cache["A1"].T @ d2, "b2": d2.sum(0),
            "W1": X.T @ d1, "b1": d1.sum(0)}


@pytest.mark.parametrize("act", ["relu", "sigmoid"])
def test_check_backprop_accepts_correct_and_locates_a_wrong_delta(act):
    report = labs.check_backprop(reference_backward, act=act)
    assert set(report) == {"W1", "b1", "W2", "b2", "W3", "b3"} and max(report.values()) < 1e-6
    text = message(labs.check_backprop, lambda *a: reference_backward(*a, mistake="sign of delta2"), act=act)
    assert "W2" in text and "W3, b3 are right" in text and "δ2" in text
    assert "missing" in message(labs.check_backprop, lambda *a: {"W1": 0}, act=act)


CONV_X = np.array([[1, 2, 0, 1], [0, 1, 3, 1], [2, 1, 0, 0], [1, 0, 2, 1]], dtype=float)


CONV_K = np.array([[1, 2, 0], [0, 1, -1], [-1, 0, 1]], dtype=float)


def test_conv_and_pool_references_agree_with_the_library():
    rng = np.random.default_rng(0)
    for shape, kshape in [((4, 4), (3, 3)), ((7, 5), (2, 4)), ((6, 6), (1, 1))]:
        x, k = rng.normal(size=shape), rng.normal(size=kshape)
        lib = dl.functional.conv2d(dl.Tensor(x[None, None]), dl.Tensor(k[None, None])).numpy()[0, 0]
        assert np.allclose(labs.conv2d_reference(x, k), lib)
    assert labs.conv2d_reference(CONV_X, CONV_K).tolist() == [[1, 3], [4, 8]]
    x = rng.normal(size=(6, 4))
    pooled = dl.functional.max_pool2d(dl.Tensor(x[None, None]), 2).numpy()[0, 0]
    assert np.allclose(labs.max_pool_reference(x, 2), pooled)


@pytest.mark.parametrize("mistake, words", [
    (lambda x, k: labs.conv2d_reference(x, k[::-1, ::-1]), "flips the kernel"),
    (lambda x, k: labs.conv2d_reference(x, k).T, "transposed"),
    (lambda x, k: np.zeros_like(x), "as with padding"),
    (lambda x, k: labs.conv2d_reference(np.pad(x, 2), k), "'full' size"),
    (lambda x, k: labs.conv2d_reference(x, k)[:-1, :-1], "off by one"),
    (lambda x, k: labs.conv2d_reference(x, k) + np.eye(2), "at index (0, 0) it is 2, expected 1"),
    (lambda x, k: None, "forget a `return`"),
])
def test_check_conv2d_recognises_common_mistakes(mistake, words):
    labs.check_conv2d(labs.conv2d_reference(CONV_X, CONV_K).tolist(), CONV_X, CONV_K)
    text = message(labs.check_conv2d, mistake(CONV_X, CONV_K), CONV_X, CONV_K, "conv(x, k)")
    assert words in text and text.startswith("conv(x, k)")


@pytest.mark.parametrize("mistake, words", [
    (lambda x: x.reshape(2, 2, 2, 2).mean(axis=(1, 3)), "averages"),
    (lambda x: labs.max_pool_reference(x, 2).T, "transposed"),
    (lambda x: np.lib.stride_tricks.sliding_window_view(x, (2, 2)).max(axis=(2, 3)), "one pixel at a time"),
    (lambda x: x[::2, ::2], "at index (1, 0) it is 0, expected 6, the maximum of x[2:4, 0:2]"),
    (lambda x: None, "forget a `return`"),
])
def test_check_max_pool_recognises_common_mistakes(mistake, words):
    x = np.array([[1, 3, 2, 0], [4, 2, 1, 5], [0, 1, 3, 2], [2, 6, 1, 1]], dtype=float)
    labs.check_max_pool(np.array([[4, 5], [6, 3]]), x, 2)
    assert words in message(labs.check_max_pool, mistake(x), x, 2)

"""Turning a time series into (window, target) training pairs, and scaling it.

``windows`` slides a window of ``lookback`` steps along the series; the target
of each window is the ``horizon`` values that follow it::

    series:  s0 s1 s2 s3 s4 s5 s6 ...
    X[0] = [s0 s1 s2]    y[0] = [s3]          (lookback=3, horizon=1)
    X[1] = [s1 s2 s3]    y[1] = [s4]

``Normalizer`` learns a shift and a scale on the training part only (so no
information from the validation or test part leaks into training) and can
undo them, to report predictions in the original units.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    return int(value)


def windows(series, lookback, horizon=1, stride=1, target=0):
    """Cut a series into input windows and the values that follow them.

    Args:
        series: shape (T,) or (T, F): T time steps of F features.
        lookback: steps in each input window (>= 1).
        horizon: steps to predict after each window (>= 1).
        stride: steps between the starts of consecutive windows (>= 1).
        target: the feature (column) to predict, for a (T, F) series.

    Returns:
        ``(X, y)``: X of shape (N, lookback, F) float32 and y of shape
        (N, horizon) float32, with N = (T - lookback - horizon) // stride + 1.
        ``X[i] = series[i*stride : i*stride + lookback]`` and
        ``y[i] = series[i*stride + lookback : i*stride + lookback + horizon, target]``.

    Raises:
        ValueError: bad arguments, NaN or infinite values, or a series shorter
            than lookback + horizon.
    """
    lookback = _positive_int(lookback, "lookback")
    horizon = _positive_int(horizon, "horizon")
    stride = _positive_int(stride, "stride")
    data = np.asarray(series, dtype=np.float32)
    if data.ndim == 1:
        data = data[:, None]  # (T,) -> (T, 1): one feature
    if data.ndim != 2:
        raise ValueError(f"series must have shape (T,) or (T, F), got {np.shape(series)}")
    if not -data.shape[1] <= target < data.shape[1]:
        raise ValueError(f"target column {target} out of range for {data.shape[1]} features")
    if not np.all(np.isfinite(data)):
        bad = np.flatnonzero(~np.all(np.isfinite(data), axis=1))
        raise ValueError(f"series has {len(bad)} steps with NaN or infinite values "
                         f"(first at index {bad[0]}); clean or fill them first")
    steps = len(data)
    if steps < lookback + horizon:
        raise ValueError(f"series of length {steps} is too short for lookback {lookback} "
                         f"+ horizon {horizon} = {lookback + horizon} steps")
    count = (steps - lookback - horizon) // stride + 1
    # sliding_window_view gives every window as a view: (T - w + 1, F, w) with w the window
    inputs = sliding_window_view(data, lookback, axis=0)[: count * stride : stride]
    outputs = sliding_window_view(data[lookback:, target], horizon)[: count * stride : stride]
    # copy: the views overlap each other and would alias the caller's series
    return np.ascontiguousarray(inputs.transpose(0, 2, 1)), np.ascontiguousarray(outputs)


class Normalizer:
    """Scale features with statistics learned from training data.

    Methods (``method=``):

    - ``"zscore"``: (x - mean) / std, per feature;
    - ``"minmax"``: (x - min) / (max - min), to [0, 1] on the training data;
    - ``"max"``: x / max, per feature (max of the absolute values); this is
      what the IoT lab uses, so that 0 W stays 0.

    Features are the last axis of the array given to ``fit``: a (T,) series
    has one feature, a (T, F) series or (N, L, F) windows have F features.

    Example::

        norm = Normalizer("zscore").fit(train)
        train_n, test_n = norm.transform(train), norm.transform(test)
        prediction = norm.inverse_transform(model_output)
    """

    METHODS = ("zscore", "minmax", "max")

    def __init__(self, method="zscore"):
        if method not in self.METHODS:
            raise ValueError(f"method must be one of {self.METHODS}, got {method!r}")
        self.method = method
        self.shift = None  # subtracted first ...
        self.scale = None  # ... then divided by: x_norm = (x - shift) / scale

    def fit(self, data):
        """Learn shift and scale from ``data`` (..., F); returns self."""
        data = np.asarray(data, dtype=np.float64)
        if data.size == 0:
            raise ValueError("cannot fit a Normalizer on an empty array")
        flat = data.reshape(-1, data.shape[-1]) if data.ndim > 1 else data.reshape(-1, 1)
        if self.method == "zscore":
            shift, scale = flat.mean(axis=0), flat.std(axis=0)
        elif self.method == "minmax":
            shift, scale = flat.min(axis=0), flat.max(axis=0) - flat.min(axis=0)
        else:
            shift, scale = np.zeros(flat.shape[1]), np.abs(flat).max(axis=0)
        # a constant feature would divide by zero: leave it unscaled instead
        scale = np.where(scale > 0, scale, 1.0)
        if data.ndim == 1:
            shift, scale = shift[0], scale[0]
        self.shift, self.scale = shift, scale
        return self

    def _check_fitted(self):
        if self.scale is None:
            raise RuntimeError("Normalizer is not fitted yet: call fit(train) first")

    def transform(self, data):
        """``(data - shift) / scale``; same shape, float32 (float64 input stays float64)."""
        self._check_fitted()
        data = np.asarray(data)
        dtype = np.float64 if data.dtype == np.float64 else np.float32
        return ((data - self.shift) / self.scale).astype(dtype)

    def inverse_transform(self, data):
        """``data * scale + shift``: back to the original units; same shape."""
        self._check_fitted()
        data = np.asarray(data)
        dtype = np.float64 if data.dtype == np.float64 else np.float32
        return (data * self.scale + self.shift).astype(dtype)

    inverse = inverse_transform

    def fit_transform(self, data):
        """``fit(data)`` then ``transform(data)``."""
        return self.fit(data).transform(data)

    def __repr__(self):
        return f"Normalizer({self.method!r}, shift={self.shift}, scale={self.scale})"


def normalize(train, *others, method="zscore"):
    """Fit a Normalizer on ``train`` and apply it to ``train`` and ``others``.

    Args:
        train: array (..., F) that the statistics are learned from.
        others: more arrays with the same last axis (validation, test).
        method: see ``Normalizer``.

    Returns:
        ``(train_n, *others_n, normalizer)``; ``normalizer.inverse(y)`` undoes
        the scaling.
    """
    normalizer = Normalizer(method).fit(train)
    return (*(normalizer.transform(a) for a in (train, *others)), normalizer)

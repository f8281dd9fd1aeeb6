"""Figures for time series: a forecast against what happened.

Returns a matplotlib Figure built without pyplot (see :mod:`dllab.viz`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure

from .. import backend
from ..autograd import _raw

_BASELINE_STYLES = ("--", ":", "-.")


def _values(name, values, n):
    values = np.asarray(backend.to_numpy(_raw(values)), dtype=np.float64).reshape(-1)  # Tensor, any device
    if values.size != n:
        raise ValueError(
            f"forecast_plot: {name} has {values.size} values but there are {n} points on the x axis; "
            "pass one value per date (reshape (N, 1) predictions with .ravel())"
        )
    return values


def _mse(a, b):
    return float(np.mean((a - b) ** 2))


def _number(v):
    """Readable in a legend: 2,281,160 rather than 2.281e+06; 0.006254 for small values."""
    return f"{v:,.0f}" if abs(v) >= 1e4 else f"{v:.4g}"


def forecast_plot(index, actual, predicted, baselines=None, title=None, ylabel="value", label="model",
                  show_mse=True, size=(10, 4)):  # fmt: skip
    """Predicted against actual values over time, with optional baselines for comparison.

    index: N dates (datetime64, datetime or strings parsed as dates) or positions.
    actual, predicted: N values each, e.g. (N,) or (N, 1) arrays, in the same units.
    baselines: a mapping name -> N values (e.g. ``{"yesterday's total": ...}``), drawn dashed.
    show_mse: append each series' mean squared error against ``actual`` to its legend entry.

    The lower panel shows each forecast's error (prediction - actual), so days where
    the model and the baselines go wrong stand out.
    """
    index = np.asarray(index)
    if index.ndim != 1:
        raise ValueError(f"forecast_plot: index must be one date or position per point, got shape {index.shape}")
    if index.dtype.kind in "UO":
        try:
            index = index.astype("datetime64[D]")
        except ValueError:
            raise ValueError("forecast_plot: index strings must be dates such as '2016-08-18'") from None
    n = index.size
    actual = _values("actual", actual, n)
    series = {label: _values("predicted", predicted, n)}
    if baselines is not None:
        if not isinstance(baselines, Mapping):
            raise TypeError("forecast_plot: baselines must be a mapping name -> values, e.g. {'mean': m}")
        for name, values in baselines.items():
            if np.ndim(values) == 0:
                values = np.full(n, float(values))
            series[str(name)] = _values(f"baseline {name!r}", values, n)

    fig = Figure(figsize=size)
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": (3, 1.2)})
    top.plot(index, actual, "o-", color="black", markersize=3, linewidth=1.2, label="actual")
    for k, (name, values) in enumerate(series.items()):
        text = f"{name} (MSE {_number(_mse(values, actual))})" if show_mse else name
        style = "-" if k == 0 else _BASELINE_STYLES[(k - 1) % len(_BASELINE_STYLES)]
        width = 1.8 if k == 0 else 1.1
        top.plot(index, values, style, linewidth=width, label=text, color=f"C{k}")
        bottom.plot(index, values - actual, style, linewidth=width, color=f"C{k}")
    bottom.axhline(0.0, color="black", linewidth=0.8)
    top.set_ylabel(ylabel)
    bottom.set_ylabel("error")
    top.legend(loc="best", fontsize="small")
    for ax in (top, bottom):
        ax.grid(True, alpha=0.3)
    if title:
        top.set_title(title)
    if index.dtype.kind == "M":
        fig.autofmt_xdate()
    fig.tight_layout()
    return fig


__all__ = ["forecast_plot"]

# ---
# jupyter:
#   jupytext:
#     notebook_metadata_filter: title,-jupytext.text_representation.jupytext_version,-jupytext.text_representation.format_version
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   title: 'Lab 4: an LSTM forecaster on IoT solar data'
# ---

# %% [markdown]
# # Lab 4 — Forecasting solar power with an LSTM
#
# A solar inverter on a house reported every 30 minutes of daylight, from December 2013 to December
# 2016, two numbers: the **current power** (W) and the **energy produced so far that day** (Wh, back
# to 0 every morning). The task: **forecast a day's total output**. In this lab you will
#
# 1. look at the readings and at the daily totals,
# 2. cut a series into (input window, target) pairs by hand,
# 3. **normalise** with statistics of the training days only, by hand,
# 4. write the **naive baselines** every forecast must beat: "today like yesterday" and "the average
#    day",
# 5. train an **LSTM** on the past week's totals — and see how hard the baselines are to beat,
# 6. pad each day's morning readings into sequences (by hand) and train an LSTM that reads the
#    morning: its error must be **at least 30 % below** both baselines',
# 7. plot the forecasts against what happened.
#
# As before: run the cells in order, fill in the `# YOUR CODE HERE` cells, read what the test cells
# say, write short answers where asked. The data set is small, so even the full run takes well under
# a minute of training on a CPU.

# %% tags=["parameters"]
# Parameters (a workshop or a test run may override them)
full = False      # True: 150 epochs for each forecaster (under a minute on a CPU)
epochs = None     # None: 150 when full, else 50
subset = None     # training days; None: all of them
device = "auto"   # "cpu", "gpu" or "auto" (the GPU when CuPy finds one)
seed = 0

# %% tags=["judge"]
import matplotlib.pyplot as plt
import numpy as np

import dllab as dl
from dllab import labs
from dllab.labs import check, check_close, check_shape
from dllab.viz.timeseries import forecast_plot

run = labs.setup(full, epochs, subset, device, seed, full_epochs=150, small_epochs=50, small_subset=None,
                 unit="days")
run

# %% [markdown]
# ## 1. The readings
#
# `dl.data.read_solar_csv()` reads the raw file (nothing is downloaded): one entry per reading, with
# its local time and date, the current power and the day's energy so far. Three days of it:

# %%
raw = dl.data.read_solar_csv()
print(f"{len(raw['time'])} readings, {raw['date'][0]} to {raw['date'][-1]}")
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.2))
for day in np.unique(raw["date"])[200:203]:
    rows = raw["date"] == day
    hours = (raw["time"][rows] - raw["time"][rows].astype("datetime64[D]")) / np.timedelta64(1, "h")
    ax1.plot(hours, raw["current"][rows], "o-", ms=3, label=str(day))
    ax2.plot(hours, raw["total"][rows], "o-", ms=3, label=str(day))
ax1.set(xlabel="hour of the day", ylabel="W", title="current power")
ax2.set(xlabel="hour of the day", ylabel="Wh", title="energy so far that day")
for ax in (ax1, ax2):
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# `dl.data.iot_solar()` turns the readings into one example per day: the day's first 14 readings
# (7 hours) as the input sequence, and the day's **total** (the last "energy so far") as the target.
# Days are split **in time order**: the first 80 % for training, the next 10 % for validation, the
# last 10 % for testing — a forecaster is only ever used on the future. The daily totals:

# %%
data = dl.data.iot_solar()
print(data)
dates = np.concatenate([data.dates_train, data.dates_val, data.dates_test])
totals = data.to_watt_hours(np.concatenate([data.y_train, data.y_val, data.y_test]).ravel())  # Wh
n_train, n_val = len(data.y_train), len(data.y_val)
n_train = n_train if run.subset is None else min(n_train, run.subset)  # a test run may use fewer days
first_test = len(data.y_train) + n_val  # index of the first test day
fig, ax = plt.subplots(figsize=(11, 3.2))
for name, part in [("training", slice(0, len(data.y_train))), ("validation", slice(len(data.y_train), first_test)),
                   ("test", slice(first_test, None))]:
    ax.plot(dates[part], totals[part], ".", ms=3, label=f"{name} days")
ax.set(ylabel="day's total (Wh)", title="the daily totals, split by time")
ax.grid(alpha=0.3)
ax.legend()
plt.show()


# %% [markdown]
# ## 2. Windows by hand
#
# A forecaster learns from pairs (input, target). From one long series they come by sliding a window
# along it: the `lookback` values in the window are the input, the `horizon` values right after it
# the target. With `lookback = 3` and `horizon = 1`:
#
# | series | $s_0$ | $s_1$ | $s_2$ | $s_3$ | $s_4$ | $s_5$ | $s_6$ |
# | --- | --- | --- | --- | --- | --- | --- | --- |
# | window 0 | input | input | input | **target** | | | |
# | window 1 | | input | input | input | **target** | | |
# | window 3 | | | | input | input | input | **target** |
#
# A series of $T$ values gives $N = T - \text{lookback} - \text{horizon} + 1$ windows.
#
# **Your turn.** Write `make_windows` for a 1-D series.

# %% nbgrader={"grade": false, "grade_id": "make_windows", "locked": false, "schema_version": 3, "solution": true, "task": false}
def make_windows(series, lookback, horizon=1):
    """series (T,) -> (X, y): X (N, lookback), y (N, horizon), N = T - lookback - horizon + 1, with
    X[i] = series[i : i + lookback] and y[i] = series[i + lookback : i + lookback + horizon]."""
    ### BEGIN SOLUTION
    n = len(series) - lookback - horizon + 1
    X = np.stack([series[i:i + lookback] for i in range(n)])
    y = np.stack([series[i + lookback:i + lookback + horizon] for i in range(n)])
    return X, y
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_make_windows", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Tests for make_windows (2 points)
windows = ("A series of T values gives N = T - lookback - horizon + 1 windows (here 7 - {} - {} + 1 = 4): "
           "the last window still needs horizon values after it. With one window more, the last targets "
           "run past the end of the series and come out shorter, so np.stack gets pieces of different "
           "lengths.")
out = labs.call(make_windows, np.arange(7.0), 3, hint=windows.format(3, 1))
check(isinstance(out, (tuple, list)) and len(out) == 2, "make_windows must return a pair (X, y).")
X, y = out
check(len(X) == 4, f"a series of 7 values with lookback 3 and horizon 1 gives 7 - 3 - 1 + 1 = 4 windows, "
      f"got {len(X)}: the last window must still have a target after it.")
check_shape(X, (4, 3), "X for lookback 3", hint="One row per window, lookback values in each.")
check_shape(y, (4, 1), "y for horizon 1", hint="y is 2-D, (N, horizon), even when the horizon is 1.")
check_close(X, [[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5]], "X", hint="Window i starts at series[i].")
check(not np.allclose(np.ravel(y), [2, 3, 4, 5]), "y[i] repeats the last value of window i: the target is "
      "the value right after the window, series[i + lookback].")
check_close(y, [[3], [4], [5], [6]], "y", hint="y[i] = series[i + lookback : i + lookback + horizon].")
X2, y2 = labs.call(make_windows, np.arange(7.0), 2, horizon=2, hint=windows.format(2, 2))
check_shape(X2, (4, 2), "X for lookback 2, horizon 2", hint="N = T - lookback - horizon + 1.")
check_close(y2, [[2, 3], [3, 4], [4, 5], [5, 6]], "y for lookback 2, horizon 2")
print("make_windows: all visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_make_windows_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Hidden tests for make_windows (1 point): they run when the notebook is graded.
### BEGIN HIDDEN TESTS
_s = np.random.default_rng(41).normal(size=40)
for _lb, _h in [(1, 1), (5, 3), (39, 1), (10, 30)]:
    _X, _y = labs.call(make_windows, _s, _lb, horizon=_h)
    _Xr, _yr = dl.data.windows(_s, _lb, horizon=_h)
    check_close(_X, _Xr[..., 0], f"X for lookback {_lb}, horizon {_h}, against dl.data.windows")
    check_close(_y, _yr, f"y for lookback {_lb}, horizon {_h}, against dl.data.windows")
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Normalising with the training days only
#
# Networks train best on numbers around 1, and the totals are around 10 000 Wh. Dividing by the
# largest value keeps 0 at 0 (no sun, no power) and brings the rest into $[0, 1]$. The scale must
# come from the **training part only**: when the forecaster is used, the future has not happened yet,
# so its largest value is unknown. Values above 1 in the validation or test part are fine.
#
# **Your turn.** Write `scale_by_train_max`: divide every array by the largest absolute value of each
# column of `train` (axis 0; for a 1-D series that is one number).

# %% nbgrader={"grade": false, "grade_id": "scale_by_train_max", "locked": false, "schema_version": 3, "solution": true, "task": false}
def scale_by_train_max(train, *others):
    """Divide train and each array of others by np.abs(train).max(axis=0).

    Returns (train_scaled, *others_scaled, scale): one scaled array per input, then the scale.
    """
    ### BEGIN SOLUTION
    scale = np.abs(train).max(axis=0)
    return (train / scale, *(other / scale for other in others), scale)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_scale_by_train_max", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Tests for scale_by_train_max (2 points)
tr = np.array([[1.0, 10.0], [2.0, 20.0], [4.0, -40.0]])
te = np.array([[8.0, 20.0]])
tr_before, te_before = tr.copy(), te.copy()
out = labs.call(scale_by_train_max, tr, te, hint="The scale has one number per column: "
                "np.abs(train).max(axis=0) has shape (2,) here and divides every row of train and of test.")
check(np.array_equal(tr, tr_before) and np.array_equal(te, te_before), "scale_by_train_max changed the arrays it "
      "was given (train /= scale or other /= scale writes into the caller's data, which is then scaled twice if "
      "the cell runs again): return new arrays, train / scale.")
tr, te = tr_before, te_before
check(isinstance(out, (tuple, list)) and len(out) == 3, "with one extra array scale_by_train_max returns three things: "
      "(train_scaled, test_scaled, scale).")
tr_s, te_s, scale = out
check_shape(scale, (2,), "the scale", hint="One number per column (axis 0) of train: "
            "np.abs(train).max(axis=0).")
check_shape(te_s, te.shape, "the scaled test data", hint="Each array keeps its shape; it is divided by "
            "the training scale.")
check(not np.allclose(te_s, [[1.0, 1.0]]), "the test part was divided by its own maximum: every part must use "
      "the training scale (in use, the future's maximum is unknown); values above 1 are fine.")
check(not np.allclose(np.ravel(scale), [8.0, 40.0]), "the scale came from train and test together: "
      "information from the test part leaked into training. Use train only.")
check(not np.allclose(np.ravel(scale), [4.0, 20.0]), "the scale of the second column is 20, but -40 is "
      "larger in size: use the largest absolute value, np.abs(train).max(axis=0).")
check_close(scale, [4.0, 40.0], "the scale", hint="One number per column (axis 0) of train.")
check_close(tr_s, tr / [4.0, 40.0], "the scaled training data")
check_close(te_s, [[2.0, 0.5]], "the scaled test data", hint="It is divided by the training scale.")
out = labs.call(scale_by_train_max, np.array([5.0, 10.0]), np.array([20.0]), np.array([0.0, 2.5]),
                hint="others is a tuple of any number of arrays: scale each one, e.g. "
                     "(train / scale, *(o / scale for o in others), scale).")
check(isinstance(out, (tuple, list)) and len(out) == 4, "with two extra arrays scale_by_train_max returns four "
      "things: (train_scaled, first_scaled, second_scaled, scale).")
s1, s2, s3, k = out
check_close(k, 10.0, "the scale of a 1-D series")
check_close(s3, [0.0, 0.25], "the second extra array", hint="Scale every array given after train.")
print("scale_by_train_max: all visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_scale_by_train_max_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Hidden tests for scale_by_train_max (1 point): they run when the notebook is graded.
### BEGIN HIDDEN TESTS
_rng = np.random.default_rng(42)
_tr, _va = _rng.normal(size=(30, 3)) * [1, 100, 1000], _rng.normal(size=(5, 3)) * 500
_tr0, _va0 = _tr.copy(), _va.copy()
_norm = dl.data.Normalizer("max").fit(_tr)
_a, _b, _k = labs.call(scale_by_train_max, _tr, _va)
check_close(_a, _norm.transform(_tr), "train, against dl.data.Normalizer('max')", rtol=1e-5)
check_close(_b, _norm.transform(_va), "other, against dl.data.Normalizer('max')", rtol=1e-5)
check_close(_a * _k, _tr, "train_scaled * scale gives train back")
check(np.array_equal(_tr, _tr0) and np.array_equal(_va, _va0), "scale_by_train_max must not change its "
      "arrays in place.")
check(len(labs.call(scale_by_train_max, _tr)) == 2, "with no other arrays: (train_scaled, scale).")
### END HIDDEN TESTS

# %% [markdown]
# The daily totals, scaled with the training days' maximum (the same scale `iot_solar` uses), and
# cut into windows: the last 7 days' totals as input, the next day's total as target. Window $i$
# forecasts day $i + 7$, so the windows are split by the day they forecast.

# %%
_, series, scale = scale_by_train_max(totals[:len(data.y_train)], totals)
lookback = 7
X_week, y_week = make_windows(series.astype(np.float32), lookback)  # float32, like the network's weights
target_day = np.arange(len(X_week)) + lookback
week_train = np.flatnonzero(target_day < n_train)
week_val = np.flatnonzero((target_day >= len(data.y_train)) & (target_day < first_test))
week_test = np.flatnonzero(target_day >= first_test)
print(f"scale: {scale:,.0f} Wh; windows {X_week.shape} -> targets {y_week.shape}; "
      f"{len(week_train)} / {len(week_val)} / {len(week_test)} for training / validation / test")


# %% [markdown]
# ## 4. The baselines
#
# A forecast is only worth something if it beats the obvious ones:
#
# * **persistence**: each day will be like the day before;
# * **mean**: each day will be an average day (the mean of all days before the test days).
#
# We measure a forecast $\hat y$ of the values $y$ by the **mean squared error**,
# $\text{MSE} = \frac{1}{n}\sum_i (\hat y_i - y_i)^2$, on the scaled totals.
#
# **Your turn.** Write `naive_forecasts`: given the values before the forecast period (`history`)
# and the values of the period itself (`future`, in time order), return both forecasts for the
# period. Persistence may use the actual value of the day before — by the time day $i$ is
# forecast, day $i - 1$ has happened.

# %% nbgrader={"grade": false, "grade_id": "naive_forecasts", "locked": false, "schema_version": 3, "solution": true, "task": false}
def naive_forecasts(history, future):
    """Forecasts of each value of future (n,): {"persistence": (n,), "mean": (n,)}.

    persistence[i] is the value before future[i]: history[-1] for i = 0, else future[i - 1].
    mean[i] is the mean of history.
    """
    ### BEGIN SOLUTION
    persistence = np.concatenate([history[-1:], future[:-1]])
    return {"persistence": persistence, "mean": np.full(len(future), np.mean(history))}
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_naive_forecasts", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Tests for naive_forecasts (2 points)
got = labs.call(naive_forecasts, np.array([1.0, 2.0, 6.0]), np.array([5.0, 7.0, 4.0]),
                hint="persistence: np.concatenate([history[-1:], future[:-1]]); "
                     "mean: np.full(len(future), np.mean(history)).")
check(isinstance(got, dict) and {"persistence", "mean"} <= set(got),
      "naive_forecasts must return a dict with the keys 'persistence' and 'mean'.")
check_shape(got["persistence"], (3,), "the persistence forecast", hint="One forecast per value of future.")
check(not np.allclose(got["persistence"], [5.0, 7.0, 4.0]), "persistence forecasts each day with its own "
      "value: that is the answer, not a forecast. Use the day before.")
check(not np.allclose(got["persistence"], [6.0, 6.0, 6.0]), "persistence repeats the last value of history "
      "for every day; it may use each day before as it happens: [history[-1], future[0], future[1], ...].")
check(not np.allclose(got["persistence"], [4.0, 5.0, 7.0]), "the persistence forecast is np.roll(future, 1) = "
      "[4, 5, 7]: np.roll wraps the last value of future (4, the end of the period) around to the front. "
      "The first forecast must be the last value of history (6), the day before the period starts: "
      "np.concatenate([history[-1:], future[:-1]]).")
check(not (np.allclose(got["persistence"][1:], [5.0, 7.0]) and not np.isclose(got["persistence"][0], 6.0)),
      f"the persistence forecast starts with {float(got['persistence'][0]):.4g}; the first forecast must be "
      "the last value of history (6): the day before future[0] is history[-1].")
check_close(got["persistence"], [6.0, 5.0, 7.0], "the persistence forecast")
check_shape(got["mean"], (3,), "the mean forecast", hint="One forecast per value of future, all equal.")
check(not np.allclose(got["mean"], 16 / 3), "the mean forecast uses the future too: only history is known.")
check(not np.allclose(got["mean"], 25 / 6), "the mean forecast is 4.167, the mean of history and future "
      "together: the future values (the test values the forecast is judged on) leaked into it. When the "
      "period is forecast, none of it has happened yet: use np.mean(history) only.")
check_close(got["mean"], [3.0, 3.0, 3.0], "the mean forecast")
print("naive_forecasts: all visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_naive_forecasts_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Hidden tests for naive_forecasts (1 point): they run when the notebook is graded.
### BEGIN HIDDEN TESTS
_h, _f = np.random.default_rng(43).random(20), np.random.default_rng(44).random(6)
_g = labs.call(naive_forecasts, _h, _f)
check_close(_g["persistence"], np.r_[_h[-1], _f[:-1]], "persistence for random values")
check_close(_g["mean"], np.full(6, _h.mean()), "mean for random values")
_one = labs.call(naive_forecasts, np.array([2.0]), np.array([9.0]))
check_close(_one["persistence"], [2.0], "persistence of a one-day future")
### END HIDDEN TESTS

# %%
def mse(forecast, actual):
    return float(np.mean((np.ravel(forecast) - np.ravel(actual)) ** 2))


test_actual = series[first_test:]
test_scores = {name: mse(f, test_actual) for name, f in naive_forecasts(series[:first_test], test_actual).items()}
test_scores["mean of the last 7 days"] = mse(X_week[week_test].mean(axis=1), test_actual)
for name, value in test_scores.items():
    print(f"{name:28} MSE {value:.5f}")

# %% [markdown]
# A third naive forecast came for free: the mean of the last 7 days, which smooths out one
# unusually cloudy or sunny day.

# %% [markdown]
# ## 5. An LSTM on the past week
#
# An **LSTM** reads a sequence one step at a time and carries a memory from step to step: at step $t$
# its gates decide what to forget from the memory cell $c$, what to write into it and what to output.
# Each gate is a small dense layer that reads the step's input $x_t$ and the previous output $h_{t-1}$:
#
# $$\begin{aligned}
# i_t &= \sigma(x_t W_{xi} + h_{t-1} W_{hi} + b_i) && \text{input gate: how much to write} \\
# f_t &= \sigma(x_t W_{xf} + h_{t-1} W_{hf} + b_f) && \text{forget gate: how much of } c_{t-1} \text{ to keep} \\
# g_t &= \tanh(x_t W_{xg} + h_{t-1} W_{hg} + b_g) && \text{candidate: what to write} \\
# o_t &= \sigma(x_t W_{xo} + h_{t-1} W_{ho} + b_o) && \text{output gate: how much to show} \\
# c_t &= f_t \odot c_{t-1} + i_t \odot g_t, \qquad h_t = o_t \odot \tanh(c_t)
# \end{aligned}$$
#
# ($\odot$: elementwise product.) The sigmoid gates lie between 0 and 1, so they act as dimmers on
# the memory line; because $c_t$ is updated by a sum rather than by repeated matrix products, the
# gradient can travel back over many steps without vanishing. dllab computes the four gates with one
# matrix product per step (their weights side by side, in the order $i, f, g, o$) and starts the
# forget gate's bias at 1, so a fresh cell remembers by default.

# %%
dl.viz.lstm_cell_diagram()


# %% [markdown]
# **Your turn.** Write one step of the cell, `lstm_step`, with dllab's layout of the weights: the four
# gates' weights side by side, `W_x` (F, 4H) for the input, `W_h` (H, 4H) for the previous output and
# `b` (4H,), the blocks in the order $i, f, g, o$, each $H$ columns wide. One matrix product gives all
# four pre-activations, `z = x_t @ W_x + h @ W_h + b` (N, 4H); cut it into the four blocks, put each
# through its function, then update the cell and the output. The test compares your step with
# `dl.LSTM`'s own weights and names the usual mistakes when it sees one.

# %% nbgrader={"grade": false, "grade_id": "lstm_step", "locked": false, "schema_version": 3, "solution": true, "task": false}
def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def lstm_step(x_t, h, c, W_x, W_h, b):
    """One LSTM step: x_t (N, F), h and c (N, H), W_x (F, 4H), W_h (H, 4H), b (4H,) -> (h_new, c_new)."""
    ### BEGIN SOLUTION
    H = h.shape[1]
    z = x_t @ W_x + h @ W_h + b
    i = sigmoid(z[:, :H])
    f = sigmoid(z[:, H:2 * H])
    g = np.tanh(z[:, 2 * H:3 * H])
    o = sigmoid(z[:, 3 * H:])
    c_new = f * c + i * g
    h_new = o * np.tanh(c_new)
    return h_new, c_new
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_lstm_step", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Tests for lstm_step (3 points)
rng_step = np.random.default_rng(46)
cell = dl.LSTM(4, in_features=3)  # its weights: cell.W_x (3, 16), cell.W_h (4, 16), cell.b (16,)
W_x, W_h, b = cell.W_x.numpy(), cell.W_h.numpy(), rng_step.normal(size=16)  # a bias with all gates at work
x_t, h, c = rng_step.normal(size=(2, 3)), rng_step.normal(size=(2, 4)), 2 * rng_step.normal(size=(2, 4))
out = labs.call(lstm_step, x_t, h, c, W_x, W_h, b, hint="z = x_t @ W_x + h @ W_h + b has the four gates' "
                "pre-activations side by side, H = h.shape[1] columns each: i = sigmoid(z[:, :H]), ...")
check(isinstance(out, (tuple, list)) and len(out) == 2, "lstm_step must return a pair (h_new, c_new).")
h_new, c_new = out
check_shape(h_new, (2, 4), "h_new for 2 examples and H = 4", hint="h_new has the shape of h: (N, H).")
check_shape(c_new, (2, 4), "c_new for 2 examples and H = 4", hint="c_new has the shape of c: (N, H).")
for why, (h_wrong, c_wrong) in labs.lstm_step_mistakes(x_t, h, c, W_x, W_h, b):
    check(not (np.allclose(h_new, h_wrong, atol=1e-6) and np.allclose(c_new, c_wrong, atol=1e-6)),
          f"lstm_step: {why}.")
h_ref, c_ref = labs.lstm_step_reference(x_t, h, c, W_x, W_h, b)
check_close(c_new, c_ref, "c_new", hint="c_new = f * c + i * g, with f = sigmoid(z[:, H:2H]), "
            "i = sigmoid(z[:, :H]) and g = np.tanh(z[:, 2H:3H]).")
check_close(h_new, h_ref, "h_new", hint="h_new = o * np.tanh(c_new), with o = sigmoid(z[:, 3H:]).")
print("lstm_step: all visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_lstm_step_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Hidden tests for lstm_step (1 point): they run when the notebook is graded.
### BEGIN HIDDEN TESTS
from dllab.functional.reference.recurrent import lstm_step_forward as _step

_rng = np.random.default_rng(47)
for _n, _f, _hid in [(1, 1, 1), (5, 2, 7)]:
    _args = (_rng.normal(size=(_n, _f)), _rng.normal(size=(_n, _hid)), _rng.normal(size=(_n, _hid)),
             _rng.normal(size=(_f, 4 * _hid)), _rng.normal(size=(_hid, 4 * _hid)), _rng.normal(size=4 * _hid))
    _h, _c = labs.call(lstm_step, *_args)
    _hr, _cr, _ = _step(*_args)
    check_close(_h, _hr, f"h_new for N={_n}, F={_f}, H={_hid}, against dllab's reference step")
    check_close(_c, _cr, f"c_new for N={_n}, F={_f}, H={_hid}, against dllab's reference step")
### END HIDDEN TESTS

# %% [markdown]
# **Your turn.** Run your step along a whole batch of sequences: `lstm_forward` starts from
# $h = c = 0$, feeds step $t$ the inputs `x[:, t]` and the state the step before returned, and gives
# the last $h$ of each sequence — what `dl.LSTM` passes on to the `Dense` layer. Padded sequences
# (section 6) come with their `lengths`: sequence $n$ has `lengths[n]` real steps, then zeros. The
# zeros must not change its state: at a step $t \ge$ `lengths[n]` its $h$ and $c$ stay as they were
# (`np.where` chooses, row by row, between the new state and the old one), so that the last $h$ is the
# one after its last real step. With `return_sequences=True` it gives every step's $h$ instead,
# (N, T, H), as `dl.LSTM(H, return_sequences=True)` does to feed a second recurrent layer: zeros at
# the padding steps, so that nothing is read there.

# %% nbgrader={"grade": false, "grade_id": "lstm_forward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def lstm_forward(x, W_x, W_h, b, lengths=None, return_sequences=False):
    """x (N, T, F) -> the last h (N, H) of each sequence, from h = c = 0, with lstm_step at every step.
    lengths (N,) or None: sequence n's state stops changing after its lengths[n] first steps.
    return_sequences: every step's h instead, (N, T, H), zeros at the padding steps."""
    ### BEGIN SOLUTION
    N, T, _ = x.shape
    H = W_h.shape[0]
    h = np.zeros((N, H))
    c = np.zeros((N, H))
    steps = []
    for t in range(T):
        h_new, c_new = lstm_step(x[:, t], h, c, W_x, W_h, b)
        if lengths is None:
            h, c = h_new, c_new
            steps.append(h)
        else:
            keep = (t < np.asarray(lengths))[:, None]
            h = np.where(keep, h_new, h)
            c = np.where(keep, c_new, c)
            steps.append(np.where(keep, h, 0.0))
    if return_sequences:
        return np.stack(steps, axis=1)
    return h
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_lstm_forward", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Tests for lstm_forward (3 points)
layer = dl.LSTM(4, in_features=2)  # dllab's LSTM, with weights of its own
x_seq = np.random.default_rng(48).normal(size=(3, 5, 2)).astype(np.float32)
W_x, W_h, b = layer.W_x.numpy(), layer.W_h.numpy(), layer.b.numpy()
with dl.no_grad():
    expected = layer(dl.Tensor(x_seq)).numpy()
got = labs.call(lstm_forward, x_seq, W_x, W_h, b, hint="h = c = zeros (N, H); then for each t: "
                "h, c = lstm_step(x[:, t], h, c, W_x, W_h, b); return h.")
check_shape(got, (3, 4), "the last h of 3 sequences, H = 4", hint="Return h after the last step, (N, H).")
for why, wrong in labs.lstm_forward_mistakes(x_seq, W_x, W_h, b):
    check(not np.allclose(got, wrong, atol=1e-6), f"lstm_forward: {why}.")
check_close(got, expected, "the last h, against dl.LSTM with the same weights", rtol=1e-4, atol=1e-6,
            hint="Start from zeros and carry h and c from each step to the next.")
lengths = np.array([5, 2, 4])
with dl.no_grad():
    expected = layer((dl.Tensor(x_seq), lengths)).numpy()
got = labs.call(lstm_forward, x_seq, W_x, W_h, b, lengths, hint="With lengths, at step t: keep = (t < lengths)"
                "[:, None]; h = np.where(keep, h_new, h), and the same for c.")
check_shape(got, (3, 4), "the last h of 3 padded sequences, H = 4")
for why, wrong in labs.lstm_forward_mistakes(x_seq, W_x, W_h, b, lengths):
    check(not np.allclose(got, wrong, atol=1e-6), f"lstm_forward with lengths [5, 2, 4]: {why}.")
check_close(got, expected, "the last h with lengths [5, 2, 4], against dl.LSTM", rtol=1e-4, atol=1e-6,
            hint="Sequence n's state after its step lengths[n] - 1 must be what comes out.")
from dllab.functional.recurrent import lstm as lstm_layer_function

for lens in (None, lengths):
    with dl.no_grad():
        expected = lstm_layer_function(dl.Tensor(x_seq), layer.W_x, layer.W_h, layer.b, lengths=lens,
                                       return_sequences=True).numpy()
    with_lengths = "" if lens is None else " with lengths [5, 2, 4]"
    got = labs.call(lstm_forward, x_seq, W_x, W_h, b, lens, return_sequences=True, hint="Collect h after "
                    "every step in a list and np.stack(steps, axis=1) it; at the padding steps, zeros.")
    check_shape(got, (3, 5, 4), f"every step's h of 3 sequences of 5 steps{with_lengths}",
                hint="return_sequences=True: (N, T, H), one h per step, the steps on axis 1.")
    check(lens is None or np.allclose(np.asarray(got)[1, 2:], 0), "with return_sequences and lengths the padding "
          "steps' h must be zeros (sequence 1 has 2 real steps, so got[1, 2:] must be 0): "
          "np.where(keep, h, 0.0) at each step.")
    check_close(got, expected, f"every step's h{with_lengths}, against dl.LSTM with return_sequences=True",
                rtol=1e-4, atol=1e-6)
print("lstm_forward: all visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_lstm_forward_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Hidden tests for lstm_forward (1 point): they run when the notebook is graded.
### BEGIN HIDDEN TESTS
_rng = np.random.default_rng(49)
_x = _rng.normal(size=(4, 7, 3))
_Wx, _Wh, _b = _rng.normal(size=(3, 20)) * 0.5, _rng.normal(size=(5, 20)) * 0.5, _rng.normal(size=20)
for _len in [None, np.array([7, 1, 3, 6])]:
    for _seq in (False, True):
        check_close(labs.call(lstm_forward, _x, _Wx, _Wh, _b, _len, return_sequences=_seq),
                    labs.lstm_forward_reference(_x, _Wx, _Wh, _b, _len, _seq), f"4 sequences of 7 steps, lengths "
                    f"{None if _len is None else _len.tolist()}, return_sequences={_seq}")
check_close(labs.call(lstm_forward, _x[:, :1], _Wx, _Wh, _b), labs.lstm_step_reference(
    _x[:, 0], np.zeros((4, 5)), np.zeros((4, 5)), _Wx, _Wh, _b)[0], "a single step from zeros")
### END HIDDEN TESTS

# %% [markdown]
# `dl.LSTM(16)` gives the last $h$ (16 numbers) of each sequence; a `dl.Dense(1)` turns it into the
# forecast. The `Trainer` could train it (it takes padded sequences as `((x, lengths), y)`, or
# `data.dataset("train")`); here a short loop does the training instead, so that every step is in
# view: Adam, learning rate 0.005 on a cosine schedule, batches of 32, drawing the error per step and
# the validation error per epoch.

# %%
def predict(model, x, lengths=None):
    """The model's forecasts (N,) in evaluation mode, without gradients."""
    model.eval()
    with dl.no_grad():
        inputs = dl.Tensor(dl.backend.to_device(x))
        return model(inputs if lengths is None else (inputs, lengths)).numpy().ravel()


def train_forecaster(model, x, y, name, live, lengths=None, validation=None, epochs=run.epochs, lr=5e-3,
                     batch_size=32):
    """Adam on the MSE; `lengths` (for padded sequences) travel with x. validation: (x, y, lengths)."""
    def batch(idx):
        inputs = dl.Tensor(dl.backend.to_device(x[idx]))
        return inputs if lengths is None else (inputs, lengths[idx])

    dl.seed(run.seed)
    model(batch(np.arange(1)))  # creates the weights before the optimizer reads them
    optimizer = dl.optim.Adam(model, lr=lr, schedule=dl.optim.CosineLR(epochs, min_factor=0.05))
    rng = np.random.default_rng(run.seed)
    live.start(name)
    for epoch in labs.progress(range(epochs), desc=name):
        optimizer.set_epoch(epoch)
        model.train()
        order = rng.permutation(len(x))
        for step, start in enumerate(range(0, len(x), batch_size)):
            idx = order[start:start + batch_size]
            loss = dl.mse(model(batch(idx)), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            live.step(loss.item(), epoch, step)
        values = {"loss": mse(predict(model, x, lengths), y)}
        if validation is not None:
            values["val_loss"] = mse(predict(model, validation[0], validation[2]), validation[1])
        live.epoch(epoch, **values)
    live.close()
    return model


live = labs.LiveCurves("LSTM on the past week's totals", metric="loss")
week_model = train_forecaster(dl.LSTM(16) >> dl.Dense(1), X_week[week_train, :, None], y_week[week_train],
                              "past week", live, validation=(X_week[week_val, :, None], y_week[week_val], None))
test_scores["LSTM on the past week"] = mse(predict(week_model, X_week[week_test, :, None]), test_actual)
for name, value in test_scores.items():
    print(f"{name:28} MSE {value:.5f}")


# %% [markdown]
# The trained network is nothing more than your two functions and a dense layer: the LSTM's weights
# are `model.layers[0].W_x`, `.W_h` and `.b`, the last layer's `model.layers[-1].W` (H, 1) and `.b`
# (1,), and `.numpy()` gives any of them as a NumPy array. (A `Dropout` between them does nothing in
# evaluation mode, which is how forecasts are made.)
#
# **Your turn.** Write `forecast_by_hand`: the forecasts of a trained `LSTM >> ... >> Dense(1)` from
# its weights, with your `lstm_forward`.

# %% nbgrader={"grade": false, "grade_id": "forecast_by_hand", "locked": false, "schema_version": 3, "solution": true, "task": false}
def forecast_by_hand(model, x, lengths=None):
    """model: a trained LSTM >> ... >> Dense(1); x (N, T, F), lengths (N,) or None -> forecasts (N,)."""
    ### BEGIN SOLUTION
    lstm, dense = model.layers[0], model.layers[-1]
    h = lstm_forward(x, lstm.W_x.numpy(), lstm.W_h.numpy(), lstm.b.numpy(), lengths)
    return (h @ dense.W.numpy() + dense.b.numpy()).ravel()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_forecast_by_hand", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Tests for forecast_by_hand (1 point)
# A small trained-looking network of the same form (its own weights, so the test needs nothing from above)
dl.seed(7)
fb_model = dl.LSTM(5) >> dl.Dense(1)
fb_x = np.random.default_rng(8).normal(size=(6, 4, 3)).astype(np.float32)
fb_lengths = np.array([4, 2, 3, 4, 1, 2])
fb_model.eval()
with dl.no_grad():
    fb_want = fb_model(dl.Tensor(fb_x)).numpy().ravel()
    fb_want_padded = fb_model((dl.Tensor(fb_x), fb_lengths)).numpy().ravel()
fb_bias = float(fb_model.layers[-1].b.numpy()[0])
fb_model.layers[-1].b.data[...] = 0.5  # a bias far from 0, so that leaving it out shows
fb_want, fb_want_padded = fb_want - fb_bias + 0.5, fb_want_padded - fb_bias + 0.5
fb_x_before = fb_x.copy()
got = labs.call(forecast_by_hand, fb_model, fb_x, hint="h = lstm_forward(x, lstm.W_x.numpy(), lstm.W_h.numpy(), "
                "lstm.b.numpy(), lengths), then the dense layer: h @ W + b.")
check_shape(got, (6,), "the forecasts of 6 sequences", hint="One number per sequence: ravel the (N, 1) result.")
check(np.array_equal(fb_x, fb_x_before), "forecast_by_hand changed its input x: compute on a copy.")
check(not np.allclose(got, fb_want - 0.5, atol=1e-5), "the dense layer's bias is missing: h @ W + b.")
check_close(got, fb_want, "the forecasts, against the network's own", rtol=1e-3, atol=1e-5,
            hint="The same weights give the same forecasts: lstm_forward, then h @ W + b.")
got = labs.call(forecast_by_hand, fb_model, fb_x, fb_lengths)
check(not np.allclose(got, fb_want, rtol=1e-3, atol=1e-5), "forecast_by_hand ignores lengths: pass them on to "
      "lstm_forward, so that each sequence stops at its own last step.")
check_close(got, fb_want_padded, "the forecasts of padded sequences (lengths 4, 2, 3, 4, 1, 2)", rtol=1e-3, atol=1e-5,
            hint="lstm_forward(x, ..., lengths): the h of each sequence is the one at its last real step.")
print("forecast_by_hand: all visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_forecast_by_hand_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Hidden tests for forecast_by_hand (1 point): they run when the notebook is graded.
### BEGIN HIDDEN TESTS
dl.seed(17)
_m = dl.LSTM(3) >> dl.Dense(1)
_x = np.random.default_rng(18).normal(size=(5, 6, 2)).astype(np.float32)
_len = np.array([6, 1, 3, 5, 2])
_m.eval()
with dl.no_grad():
    _m(dl.Tensor(_x))
_m.layers[-1].b.data[...] = -0.7
with dl.no_grad():
    _want = _m(dl.Tensor(_x)).numpy().ravel()
    _want_len = _m((dl.Tensor(_x), _len)).numpy().ravel()
_x0 = _x.copy()
check_close(labs.call(forecast_by_hand, _m, _x), _want, "forecast_by_hand of 5 sequences of 6 steps", rtol=1e-3,
            atol=1e-5)
check_close(labs.call(forecast_by_hand, _m, _x, _len), _want_len, "forecast_by_hand with lengths 6, 1, 3, 5, 2",
            rtol=1e-3, atol=1e-5)
check(np.array_equal(_x, _x0), "forecast_by_hand must not change x.")
### END HIDDEN TESTS

# %% [markdown]
# **Question (2 points).** How much better than the naive forecasts is the LSTM that sees the past week?
# Why is tomorrow's total so hard to forecast from past totals alone?

# %% [markdown] nbgrader={"grade": true, "grade_id": "past_week_answer", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# In the default run (seed 0) the LSTM's test MSE, 0.0143, is about 28 % below persistence's
# (0.0199) and far below the training mean's (0.0390), but only about 8 % below the plain mean of
# the last 7 days (0.0155); the full run is much the same (0.0142). Almost all it learned is "a
# smoothed recent level". The total of a day depends mostly on that day's clouds, and the
# weather of tomorrow is nearly independent of the totals of the past days beyond the season (day
# length, sun height), which the recent level already carries. Past totals contain no information
# about tomorrow's clouds, so no model, however clever, can do much better from them; a better
# forecast needs better inputs (a weather forecast, or readings from the day itself).

# %% [markdown]
# ## 6. Reading the morning
#
# Better inputs: the day's own first readings. By the time the inverter has reported 14 times
# (7 hours of daylight) the weather of the day has shown itself. The input of each day is then a
# sequence of 14 steps with 2 features (current power, energy so far). A few days have fewer readings
# (8 to 13): to stack days into one array they are **padded** with zeros at the end, and the true
# lengths go with them, so that the LSTM stops at each day's last real reading and never reads the
# padding.
#
# Padding is how a batch of sequences of different lengths fits in one array. Frameworks name the
# idea differently: CNTK gives each sequence a **dynamic axis**, a time axis whose length belongs to
# each example and is not fixed in the network (only the feature sizes are); Keras masks the padded
# steps, PyTorch packs the sequences with their lengths. Underneath it is the same bookkeeping as here:
# one array padded to the longest sequence, and each sequence's length, which the recurrent layer uses
# to stop updating that sequence's state, as your `lstm_forward` does.
#
# **Your turn.** Write `pad_days`.

# %% nbgrader={"grade": false, "grade_id": "pad_days", "locked": false, "schema_version": 3, "solution": true, "task": false}
def pad_days(days, steps):
    """days: list of arrays (T_i, F) with T_i <= steps -> (x, lengths):
    x (N, steps, F) float32, day i's readings first and zeros after them; lengths (N,) int64 = T_i."""
    ### BEGIN SOLUTION
    x = np.zeros((len(days), steps, days[0].shape[1]), dtype=np.float32)
    for i, day in enumerate(days):
        x[i, :len(day)] = day
    return x, np.array([len(day) for day in days], dtype=np.int64)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_pad_days", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Tests for pad_days (2 points)
days = [np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), np.array([[7.0, 8.0]])]
out = labs.call(pad_days, days, 4, hint="x = np.zeros((len(days), steps, features), dtype=np.float32), then "
                "x[i, :len(day)] = day for each day.")
check(isinstance(out, (tuple, list)) and len(out) == 2, "pad_days must return a pair (x, lengths).")
x, lengths = out
check_shape(x, (2, 4, 2), "x for 2 days padded to 4 steps", hint="(days, steps, features).")
check(np.asarray(x).dtype == np.float32, f"x should be float32 (the LSTM's dtype), got {np.asarray(x).dtype}.")
check(not np.allclose(x[1], [[0, 0], [0, 0], [0, 0], [7, 8]]), "the padding is at the start: put each day's "
      "readings first and the zeros after them, so that every day starts at step 0.")
check_close(x[0], [[1, 2], [3, 4], [5, 6], [0, 0]], "day 0, padded")
check_close(x[1], [[7, 8], [0, 0], [0, 0], [0, 0]], "day 1, padded")
check(np.array_equal(np.asarray(lengths), [3, 1]), f"lengths should be [3, 1], the readings of each day before "
      f"the padding, got {np.asarray(lengths).tolist()}.")
check(isinstance(lengths, np.ndarray) and lengths.dtype == np.int64, f"lengths should be a NumPy array of int64, "
      f"got {type(lengths).__name__}{f' of {lengths.dtype}' if isinstance(lengths, np.ndarray) else ''}: the "
      "LSTM reads lengths as an integer array (lengths - 1 indexes its steps), so return "
      "np.array([...], dtype=np.int64).")
print("pad_days: all visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_pad_days_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Hidden tests for pad_days (1 point): they run when the notebook is graded.
### BEGIN HIDDEN TESTS
from dllab.functional.recurrent import pad_sequences as _pad

_rng = np.random.default_rng(45)
_days = [_rng.random((_n, 3)) for _n in [5, 1, 9, 9, 2]]
_x, _l = labs.call(pad_days, _days, 9)
_xr, _lr = _pad(_days, length=9)
check_close(_x, _xr, "x for five days of 3 features, against dllab's pad_sequences")
check(np.array_equal(_l, _lr) and np.asarray(_l).dtype == np.int64, "lengths for five days (int64).")
_x, _l = labs.call(pad_days, _days, 12)
check_shape(_x, (5, 12, 3), "x padded to more steps than the longest day")
### END HIDDEN TESTS

# %% [markdown]
# `iot_solar` did exactly this, after dividing each feature by its training maximum. Your function,
# applied to the raw readings of the training days that have fewer than 14 readings, gives the same
# arrays:

# %%
short = np.flatnonzero(data.len_train < data.steps)
order = np.argsort(raw["time"], kind="stable")
readings = np.stack([raw["current"], raw["total"]], axis=1)[order]
days = [readings[raw["date"][order] == data.dates_train[i]][:data.steps] for i in short]
x_short, len_short = pad_days(days, data.steps)
print("lengths:", len_short.tolist())
print("largest difference from iot_solar's arrays:",
      np.abs(x_short / data.scale - data.x_train[short]).max(), "(float32 rounding)")

# %% [markdown]
# The forecaster: `LSTM(24)` over each day's readings, `Dropout(0.2)` against overfitting (832 days
# are not many), `Dense(1)`. Same training loop, now with the lengths.

# %%
live = labs.LiveCurves("LSTM reading the morning", metric="loss")
morning = train_forecaster(dl.LSTM(24) >> dl.Dropout(0.2) >> dl.Dense(1), data.x_train[:n_train],
                           data.y_train[:n_train], "the morning", live, lengths=data.len_train[:n_train],
                           validation=(data.x_val, data.y_val, data.len_val))
forecast = predict(morning, data.x_test, data.len_test)
test_scores["LSTM reading the morning"] = mse(forecast, data.y_test)
for name, value in test_scores.items():
    print(f"{name:28} MSE {value:.5f}   RMSE {np.sqrt(value) * scale:6,.0f} Wh")
best_baseline = min(test_scores["persistence"], test_scores["mean"])
labs.check_target("the morning LSTM against the better baseline", 1 - test_scores["LSTM reading the morning"]
                  / best_baseline, 0.30, run, what="lower MSE on the test days")
lstm_mse = test_scores["LSTM reading the morning"]
by_hand = forecast_by_hand(morning, data.x_test, data.len_test)
print("your forward pass on the morning model's weights, largest difference from its forecasts:",
      np.abs(by_hand - forecast).max())
labs.lesson("the LSTM that reads the morning beats both naive baselines",
            lstm_mse < test_scores["persistence"] and lstm_mse < test_scores["mean"],
            f"test MSE {lstm_mse:.5f} against persistence {test_scores['persistence']:.5f} and mean "
            f"{test_scores['mean']:.5f}", run)

# %% [markdown]
# **Question (2 points).** The morning LSTM beats both baselines by far. What does it know that they
# do not? At what time of the day could this forecast be used, and what would you change to forecast
# a day's total *before* it starts?

# %% [markdown] nbgrader={"grade": true, "grade_id": "morning_answer", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# It sees the day itself: the first 7 hours of power and energy show how sunny the day is, and the
# energy so far is already a large part of the total (on the test days, 61 % on average; up to all of
# it on short winter days, and less in summer). The baselines only know earlier days, whose weather
# says little about today's. So the "forecast" is mostly an extrapolation of the afternoon, available
# about 7 hours after sunrise - useful for planning the evening, not the morning. To forecast before
# the day starts one needs inputs available then: the past days (section 5, little better than the
# baselines) and, above all, a weather forecast (cloud cover), plus the date for the season; fewer
# morning readings (say 4) would give an earlier but less accurate forecast.

# %% [markdown]
# ## 7. The forecasts, day by day
#
# The test days with the morning LSTM's forecast and the two baselines, in Wh; below, each forecast's
# error (forecast minus actual).

# %%
naive = naive_forecasts(series[:first_test], series[first_test:])
forecast_plot(data.dates_test, data.to_watt_hours(data.y_test), data.to_watt_hours(forecast),
              baselines={"persistence": naive["persistence"] * scale, "mean": naive["mean"] * scale},
              label="LSTM reading the morning", ylabel="day's total (Wh)",
              title="test days: the day's total, forecast from its first 14 readings")

# %%
errors = forecast - data.y_test.ravel()
worst = np.argsort(-np.abs(errors))[:3]
fig, axes = plt.subplots(1, 3, figsize=(11, 3), sharey=True)
for ax, i in zip(axes, worst):
    steps = np.arange(data.len_test[i])
    ax.plot(steps, data.x_test[i, steps, 1] * scale, "o-", ms=3, label="energy so far (input)")
    ax.axhline(data.y_test[i, 0] * scale, color="black", lw=1, label="actual total")
    ax.axhline(forecast[i] * scale, color="C1", ls="--", label="forecast")
    ax.set(title=str(data.dates_test[i]), xlabel="reading (half hours)")
    ax.grid(alpha=0.3)
axes[0].set_ylabel("Wh")
axes[0].legend(fontsize=8)
plt.show()

# %% [markdown]
# **Question (2 points).** On which days does the LSTM go most wrong (the three days above), and why?
# Why were the days split by time, and the scale taken from the training days only, instead of a
# random split and the maximum of all days?

# %% [markdown] nbgrader={"grade": true, "grade_id": "errors_answer", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# In the full run (seed 0) the three worst days are short late-autumn days (mid-November to 1 December),
# and the forecast is far too high, nearly twice the actual total. Their mornings climb steadily, but
# the sun sets soon after the last input reading (on 1 December the day even ended within its 11
# readings, so its total was already in the input). The LSTM does not know the date or how long the
# day will be, and most training days with such a morning were longer, so it extrapolates as for a
# longer day; the day of the year as a third input, or more winter days, would help. Days whose
# afternoon differs from the morning (clouds coming or going) are the other kind of error the morning
# cannot show. A forecaster is only
# ever used on days after those it learned from; a random split would let it learn from days after
# (and around) the test days, whose season and weather are close to the test days', so the test error
# would be too optimistic. For the same reason the scale must not use the test days: their maximum is
# not known when the forecast is made, and using it lets information from the test period leak into
# training (in this data set the maximum comes from the training summers anyway, but the rule is
# what matters).

# %% [markdown]
# ## Summary
#
# * A series becomes training pairs by sliding a window: `lookback` inputs, `horizon` targets.
# * Normalise with the training part's statistics only; split time series by time.
# * Always compare with naive forecasts — persistence and the mean; the mean of the last days is a
#   strong one, and past totals alone barely beat it.
# * An LSTM reads a sequence step by step, carrying a memory; padded sequences go in with their
#   lengths.
# * What the input knows matters more than the model: reading the day's first hours cuts the error of
#   the baselines by more than half.

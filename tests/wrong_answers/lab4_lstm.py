"""Typical wrong answers for lab4_lstm, each with the phrases its failure message must contain
(run by tests/test_wrong_answers.py)."""

from wrong_answers.cases import Wrong

CASES = [
        Wrong("make_windows", "target inside the window", '''
def make_windows(series, lookback, horizon=1):
    n = len(series) - lookback - horizon + 1
    X = np.stack([series[i:i + lookback] for i in range(n)])
    y = np.stack([series[i + lookback - 1:i + lookback - 1 + horizon] for i in range(n)])
    return X, y
''', ("the value right after the window", "series[i + lookback]")),
        Wrong("make_windows", "one window short", '''
def make_windows(series, lookback, horizon=1):
    n = len(series) - lookback - horizon
    X = np.stack([series[i:i + lookback] for i in range(n)])
    y = np.stack([series[i + lookback:i + lookback + horizon] for i in range(n)])
    return X, y
''', ("gives 7 - 3 - 1 + 1 = 4 windows, got 3",)),
        Wrong("scale_by_train_max", "scale from all data", '''
def scale_by_train_max(train, *others):
    scale = max(np.abs(a).max() for a in (train, *others))
    return (train / scale, *(other / scale for other in others), scale)
''', ("the scale should have shape (2,)", "np.abs(train).max(axis=0)")),
        Wrong("scale_by_train_max", "one scale for all features", '''
def scale_by_train_max(train, *others):
    scale = np.abs(train).max()
    return (train / scale, *(other / scale for other in others), scale)
''', ("the scale should have shape (2,)", "One number per column")),
        Wrong("naive_forecasts", "persistence from the future", '''
def naive_forecasts(history, future):
    return {"persistence": future.copy(), "mean": np.full(len(future), np.mean(history))}
''', ("that is the answer, not a forecast", "the day before")),
        Wrong("naive_forecasts", "mean over the future too", '''
def naive_forecasts(history, future):
    persistence = np.concatenate([history[-1:], future[:-1]])
    return {"persistence": persistence, "mean": np.full(len(future), np.mean(np.concatenate([history, future])))}
''', ("leaked into it", "np.mean(history) only")),
        Wrong("pad_days", "padding before the readings", '''
def pad_days(days, steps):
    x = np.zeros((len(days), steps, days[0].shape[1]), dtype=np.float32)
    for i, day in enumerate(days):
        x[i, steps - len(day):] = day
    return x, np.array([len(day) for day in days], dtype=np.int64)
''', ("the padding is at the start", "readings first")),
        Wrong("pad_days", "float64 and lengths as floats", '''
def pad_days(days, steps):
    x = np.zeros((len(days), steps, days[0].shape[1]))
    for i, day in enumerate(days):
        x[i, :len(day)] = day
    return x, np.array([len(day) for day in days], dtype=float)
''', ("x should be float32",)),
]

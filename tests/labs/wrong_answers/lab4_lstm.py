"""Typical wrong answers for lab4_lstm, each with the phrases its failure message must contain
(run by tests/labs/test_wrong_answers.py)."""

from wrong_answers.cases import Edited, Unusual, Wrong

LAB = "lab4_lstm"

CASES = [
        Edited(LAB, "make_windows", "target inside the window", [
            ('    y = np.stack([series[i + lookback:i + lookback + horizon] for i in range(n)])',
             '    y = np.stack([series[i + lookback - 1:i + lookback - 1 + horizon] for i in range(n)])')],
            ("the value right after the window", "series[i + lookback]")),
        Edited(LAB, "make_windows", "one window short", [
            ('    n = len(series) - lookback - horizon + 1',
             '    n = len(series) - lookback - horizon')],
            ("gives 7 - 3 - 1 + 1 = 4 windows, got 3",)),
        Edited(LAB, "scale_by_train_max", "scale from all data", [
            ('    scale = np.abs(train).max(axis=0)',
             '    scale = max(np.abs(a).max() for a in (train, *others))')],
            ("the scale should have shape (2,)", "np.abs(train).max(axis=0)")),
        Edited(LAB, "scale_by_train_max", "one scale for all features", [
            ('    scale = np.abs(train).max(axis=0)',
             '    scale = np.abs(train).max()')],
            ("the scale should have shape (2,)", "One number per column")),
        Wrong("naive_forecasts", "persistence from the future", '''
def naive_forecasts(history, future):
    return {"persistence": future.copy(), "mean": np.full(len(future), np.mean(history))}
''', ("that is the answer, not a forecast", "the day before")),
        Wrong("naive_forecasts", "mean over the future too", '''
def naive_forecasts(history, future):
    persistence = np.concatenate([history[-1:], future[:-1]])
    return {"persistence": persistence, "mean": np.full(len(future), np.mean(np.concatenate([history, future])))}
''', ("leaked into it", "np.mean(history) only")),
        Edited(LAB, "pad_days", "padding before the readings", [
            ('        x[i, :len(day)] = day',
             '        x[i, steps - len(day):] = day')],
            ("the padding is at the start", "readings first")),
        Edited(LAB, "pad_days", "float64 and lengths as floats", [
            ('    x = np.zeros((len(days), steps, days[0].shape[1]), dtype=np.float32)',
             '    x = np.zeros((len(days), steps, days[0].shape[1]))'),
            ('    return x, np.array([len(day) for day in days], dtype=np.int64)',
             '    return x, np.array([len(day) for day in days], dtype=float)')],
            ("x should be float32",)),
        Edited(LAB, "lstm_step", 'candidate through a sigmoid', [
            ('    g = np.tanh(z[:, 2 * H:3 * H])',
             '    g = sigmoid(z[:, 2 * H:3 * H])')],
            ('the candidate g went through a sigmoid',)),
        Edited(LAB, "lstm_step", 'gates through tanh', [
            ('    i = sigmoid(z[:, :H])\n    f = sigmoid(z[:, H:2 * H])',
             '    i = np.tanh(z[:, :H])\n    f = np.tanh(z[:, H:2 * H])')],
            ('c_new',)),
        Edited(LAB, "lstm_step", 'every gate through tanh', [
            ('    i = sigmoid(z[:, :H])\n    f = sigmoid(z[:, H:2 * H])',
             '    i = np.tanh(z[:, :H])\n    f = np.tanh(z[:, H:2 * H])'),
            ('    o = sigmoid(z[:, 3 * H:])',
             '    o = np.tanh(z[:, 3 * H:])')],
            ('a gate went through tanh', 'only the candidate g')),
        Edited(LAB, "lstm_step", 'cell without the forget gate', [
            ('    c_new = f * c + i * g',
             '    c_new = c + i * g')],
            ('ignores the forget gate',)),
        Edited(LAB, "lstm_step", 'cell without the old cell', [
            ('    c_new = f * c + i * g',
             '    c_new = i * g')],
            ('forgets the old one',)),
        Edited(LAB, "lstm_step", 'h without tanh', [
            ('    h_new = o * np.tanh(c_new)',
             '    h_new = o * c_new')],
            ('misses the tanh',)),
        Edited(LAB, "lstm_step", 'gates i, f, o, g', [
            ('    g = np.tanh(z[:, 2 * H:3 * H])\n    o = sigmoid(z[:, 3 * H:])',
             '    o = sigmoid(z[:, 2 * H:3 * H])\n    g = np.tanh(z[:, 3 * H:])')],
            ('wrong order', 'i, f, g, o')),
        Edited(LAB, "lstm_step", 'no recurrent input', [
            ('    z = x_t @ W_x + h @ W_h + b',
             '    z = x_t @ W_x + b')],
            ('the recurrent input is missing',)),
        Edited(LAB, "lstm_forward", 'state not carried', [
            ('        h_new, c_new = lstm_step(x[:, t], h, c, W_x, W_h, b)',
             '        h_new, c_new = lstm_step(x[:, t], np.zeros((N, H)), np.zeros((N, H)), W_x, W_h, b)')],
            ('not carried from step to step',)),
        Wrong("lstm_forward", 'padding updates the state', '''
def lstm_forward(x, W_x, W_h, b, lengths=None, return_sequences=False):
    N, T, _ = x.shape
    H = W_h.shape[0]
    h = np.zeros((N, H))
    c = np.zeros((N, H))
    steps = []
    for t in range(T):
        h_new, c_new = lstm_step(x[:, t], h, c, W_x, W_h, b)
        h, c = h_new, c_new
        steps.append(h)
    if return_sequences:
        return np.stack(steps, axis=1)
    return h
''', ('the padding steps update the state', 'np.where')),
        Edited(LAB, "lstm_forward", 'one padding step too many', [
            ('            keep = (t < np.asarray(lengths))[:, None]',
             '            keep = (t <= np.asarray(lengths))[:, None]')],
            ('with lengths [5, 2, 4]',)),
        Edited(LAB, "lstm_forward", 'last step left out', [
            ('    for t in range(T):',
             '    for t in range(T - 1):')],
            ('the last h',)),
        Edited(LAB, "forecast_by_hand", 'dense bias missing', [
            ('    return (h @ dense.W.numpy() + dense.b.numpy()).ravel()',
             '    return (h @ dense.W.numpy()).ravel()')],
            ("the dense layer's bias is missing",)),
        Edited(LAB, "forecast_by_hand", 'not flattened', [
            ('    return (h @ dense.W.numpy() + dense.b.numpy()).ravel()',
             '    return h @ dense.W.numpy() + dense.b.numpy()')],
            ('should have shape (6,)', 'ravel')),
        Edited(LAB, "lstm_forward", "padding steps of the sequence not zero", [
            ('            steps.append(np.where(keep, h, 0.0))',
             '            steps.append(h)')],
            ("got[1, 2:] must be 0", "np.where(keep, h, 0.0)")),
        Edited(LAB, "scale_by_train_max", "the other arrays divided in place", [
            ('    return (train / scale, *(other / scale for other in others), scale)',
             '    for other in others:\n        other /= scale\n    return (train / scale, *others, scale)')],
            ("changed the arrays it was given", "return new arrays")),
        Edited(LAB, "pad_days", "lengths as a tuple of ints", [
            ('    return x, np.array([len(day) for day in days], dtype=np.int64)',
             '    return x, tuple(len(day) for day in days)')],
            ("lengths should be a NumPy array of int64, got tuple",)),
        Edited(LAB, "forecast_by_hand", "lengths never passed on", [
            ('    h = lstm_forward(x, lstm.W_x.numpy(), lstm.W_h.numpy(), lstm.b.numpy(), lengths)',
             '    h = lstm_forward(x, lstm.W_x.numpy(), lstm.W_h.numpy(), lstm.b.numpy())')],
            ("ignores lengths",)),
        Wrong("forecast_by_hand", "hard-codes lengths for the visible test's input only", '''
def forecast_by_hand(model, x, lengths=None):
    lstm, dense = model.layers[0], model.layers[-1]
    if x.shape != (6, 4, 3):
        lengths = None
    h = lstm_forward(x, lstm.W_x.numpy(), lstm.W_h.numpy(), lstm.b.numpy(), lengths)
    return (h @ dense.W.numpy() + dense.b.numpy()).ravel()
''', ("forecast_by_hand with lengths 6, 1, 3, 5, 2",), hard_coding=True),
]

MUST_PASS = [
        Unusual(LAB, "naive_forecasts", "persistence with np.r_ and the mean with np.full_like", [
            ('    persistence = np.concatenate([history[-1:], future[:-1]])',
             '    persistence = np.r_[history[-1], future[:-1]].astype(float)'),
            ('np.full(len(future), np.mean(history))', 'np.full_like(future, history.mean(), dtype=float)')]),
        Unusual(LAB, "pad_days", "each day padded with np.pad and stacked", [
            ('    x = np.zeros((len(days), steps, days[0].shape[1]), dtype=np.float32)\n'
             '    for i, day in enumerate(days):\n        x[i, :len(day)] = day\n',
             '    x = np.stack([np.pad(day, ((0, steps - len(day)), (0, 0))) for day in days]).astype(np.float32)\n')]),
        Unusual(LAB, "scale_by_train_max", "the scale from the absolute value's maximum and minimum", [
            ('    scale = np.abs(train).max(axis=0)',
             '    scale = np.maximum(train.max(axis=0), -train.min(axis=0))')]),
]

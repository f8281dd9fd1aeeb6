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
        Wrong("lstm_step", 'candidate through a sigmoid', '''
def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def lstm_step(x_t, h, c, W_x, W_h, b):
    H = h.shape[1]
    z = x_t @ W_x + h @ W_h + b
    i = sigmoid(z[:, :H])
    f = sigmoid(z[:, H:2 * H])
    g = sigmoid(z[:, 2 * H:3 * H])
    o = sigmoid(z[:, 3 * H:])
    c_new = f * c + i * g
    h_new = o * np.tanh(c_new)
    return h_new, c_new
''', ('the candidate g went through a sigmoid',)),
        Wrong("lstm_step", 'gates through tanh', '''
def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def lstm_step(x_t, h, c, W_x, W_h, b):
    H = h.shape[1]
    z = x_t @ W_x + h @ W_h + b
    i = np.tanh(z[:, :H])
    f = np.tanh(z[:, H:2 * H])
    g = np.tanh(z[:, 2 * H:3 * H])
    o = sigmoid(z[:, 3 * H:])
    c_new = f * c + i * g
    h_new = o * np.tanh(c_new)
    return h_new, c_new
''', ('c_new',)),
        Wrong("lstm_step", 'every gate through tanh', '''
def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def lstm_step(x_t, h, c, W_x, W_h, b):
    H = h.shape[1]
    z = x_t @ W_x + h @ W_h + b
    i = np.tanh(z[:, :H])
    f = np.tanh(z[:, H:2 * H])
    g = np.tanh(z[:, 2 * H:3 * H])
    o = np.tanh(z[:, 3 * H:])
    c_new = f * c + i * g
    h_new = o * np.tanh(c_new)
    return h_new, c_new
''', ('a gate went through tanh', 'only the candidate g')),
        Wrong("lstm_step", 'cell without the forget gate', '''
def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def lstm_step(x_t, h, c, W_x, W_h, b):
    H = h.shape[1]
    z = x_t @ W_x + h @ W_h + b
    i = sigmoid(z[:, :H])
    f = sigmoid(z[:, H:2 * H])
    g = np.tanh(z[:, 2 * H:3 * H])
    o = sigmoid(z[:, 3 * H:])
    c_new = c + i * g
    h_new = o * np.tanh(c_new)
    return h_new, c_new
''', ('ignores the forget gate',)),
        Wrong("lstm_step", 'cell without the old cell', '''
def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def lstm_step(x_t, h, c, W_x, W_h, b):
    H = h.shape[1]
    z = x_t @ W_x + h @ W_h + b
    i = sigmoid(z[:, :H])
    f = sigmoid(z[:, H:2 * H])
    g = np.tanh(z[:, 2 * H:3 * H])
    o = sigmoid(z[:, 3 * H:])
    c_new = i * g
    h_new = o * np.tanh(c_new)
    return h_new, c_new
''', ('forgets the old one',)),
        Wrong("lstm_step", 'h without tanh', '''
def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def lstm_step(x_t, h, c, W_x, W_h, b):
    H = h.shape[1]
    z = x_t @ W_x + h @ W_h + b
    i = sigmoid(z[:, :H])
    f = sigmoid(z[:, H:2 * H])
    g = np.tanh(z[:, 2 * H:3 * H])
    o = sigmoid(z[:, 3 * H:])
    c_new = f * c + i * g
    h_new = o * c_new
    return h_new, c_new
''', ('misses the tanh',)),
        Wrong("lstm_step", 'gates i, f, o, g', '''
def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def lstm_step(x_t, h, c, W_x, W_h, b):
    H = h.shape[1]
    z = x_t @ W_x + h @ W_h + b
    i = sigmoid(z[:, :H])
    f = sigmoid(z[:, H:2 * H])
    o = sigmoid(z[:, 2 * H:3 * H])
    g = np.tanh(z[:, 3 * H:])
    c_new = f * c + i * g
    h_new = o * np.tanh(c_new)
    return h_new, c_new
''', ('wrong order', 'i, f, g, o')),
        Wrong("lstm_step", 'no recurrent input', '''
def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def lstm_step(x_t, h, c, W_x, W_h, b):
    H = h.shape[1]
    z = x_t @ W_x + b
    i = sigmoid(z[:, :H])
    f = sigmoid(z[:, H:2 * H])
    g = np.tanh(z[:, 2 * H:3 * H])
    o = sigmoid(z[:, 3 * H:])
    c_new = f * c + i * g
    h_new = o * np.tanh(c_new)
    return h_new, c_new
''', ('the recurrent input is missing',)),
        Wrong("lstm_forward", 'state not carried', '''
def lstm_forward(x, W_x, W_h, b, lengths=None, return_sequences=False):
    N, T, _ = x.shape
    H = W_h.shape[0]
    h = np.zeros((N, H))
    c = np.zeros((N, H))
    steps = []
    for t in range(T):
        h_new, c_new = lstm_step(x[:, t], np.zeros((N, H)), np.zeros((N, H)), W_x, W_h, b)
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
''', ('not carried from step to step',)),
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
        Wrong("lstm_forward", 'one padding step too many', '''
def lstm_forward(x, W_x, W_h, b, lengths=None, return_sequences=False):
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
            keep = (t <= np.asarray(lengths))[:, None]
            h = np.where(keep, h_new, h)
            c = np.where(keep, c_new, c)
            steps.append(np.where(keep, h, 0.0))
    if return_sequences:
        return np.stack(steps, axis=1)
    return h
''', ('with lengths [5, 2, 4]',)),
        Wrong("lstm_forward", 'last step left out', '''
def lstm_forward(x, W_x, W_h, b, lengths=None, return_sequences=False):
    N, T, _ = x.shape
    H = W_h.shape[0]
    h = np.zeros((N, H))
    c = np.zeros((N, H))
    steps = []
    for t in range(T - 1):
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
''', ('the last h',)),
        Wrong("forecast_by_hand", 'dense bias missing', '''
def forecast_by_hand(model, x, lengths=None):
    lstm, dense = model.layers[0], model.layers[-1]
    h = lstm_forward(x, lstm.W_x.numpy(), lstm.W_h.numpy(), lstm.b.numpy(), lengths)
    return (h @ dense.W.numpy()).ravel()
''', ("the dense layer's bias is missing",)),
        Wrong("forecast_by_hand", 'not flattened', '''
def forecast_by_hand(model, x, lengths=None):
    lstm, dense = model.layers[0], model.layers[-1]
    h = lstm_forward(x, lstm.W_x.numpy(), lstm.W_h.numpy(), lstm.b.numpy(), lengths)
    return h @ dense.W.numpy() + dense.b.numpy()
''', ('should have shape (20,)',)),
        Wrong("lstm_forward", "padding steps of the sequence not zero", '''
def lstm_forward(x, W_x, W_h, b, lengths=None, return_sequences=False):
    N, T, _ = x.shape
    H = W_h.shape[0]
    h = np.zeros((N, H))
    c = np.zeros((N, H))
    steps = []
    for t in range(T):
        h_new, c_new = lstm_step(x[:, t], h, c, W_x, W_h, b)
        if lengths is not None:
            keep = (t < np.asarray(lengths))[:, None]
            h_new = np.where(keep, h_new, h)
            c_new = np.where(keep, c_new, c)
        h, c = h_new, c_new
        steps.append(h)
    return np.stack(steps, axis=1) if return_sequences else h
''', ("got[1, 2:] must be 0", "np.where(keep, h, 0.0)")),
]

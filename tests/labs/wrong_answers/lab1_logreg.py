"""Typical wrong answers for lab1_logreg, each with the phrases its failure message must contain, and right
answers written unusually that must pass (run by tests/labs/test_wrong_answers.py)."""

from wrong_answers.cases import Edited, Noisy, Wrong

LAB = "lab1_logreg"

# right answers that other functions of an answer cell are combined with
NEURON_OK_SIG = '''
def sigmoid(z):
    return 0.5 * (1 + np.tanh(0.5 * z))
'''
NEURON_OK_BCE = '''
def binary_cross_entropy(p, t):
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return float(-(t * np.log(p) + (1 - t) * np.log(1 - p)).mean())
'''
NEURON_OK_GRAD = '''
def neuron_gradients(X, t, w, b):
    p = sigmoid(X @ w + b)
    delta = (p - t) / len(t)
    return binary_cross_entropy(p, t), X.T @ delta, float(delta.sum())
'''
SGD_OK_ACC = '''
def accuracy(X, y, W, b):
    return float(np.mean((X @ W + b).argmax(axis=1) == y))
'''
CM_OK = '''
def confusion_matrix(y_true, y_pred, num_classes=10):
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    for a, b in zip(y_true, y_pred):
        cm[a, b] += 1
    return cm
'''
MC_OK = '''
def most_confused(cm):
    m = cm.copy()
    np.fill_diagonal(m, 0)
    i, j = np.unravel_index(m.argmax(), m.shape)
    return int(i), int(j)
'''
SGD_OK_EPOCH = '''
def sgd_epoch(X, y, W, b, lr, batch_size, rng):
    losses = []
    for idx in minibatches(len(X), batch_size, rng):
        loss, dW, db = logreg_gradients(X[idx], y[idx], W, b)
        W = W - lr * dW
        b = b - lr * db
        losses.append(loss)
    return W, b, losses
'''

CASES = [
        Wrong("neuron", "sigmoid as e**z / (1 + e**z)", '''
def sigmoid(z):
    e = np.exp(z)
    return e / (1 + e)
''' + NEURON_OK_BCE + NEURON_OK_GRAD, ("sigmoid gives nan or inf for z = -1000 or 1000",)),
        Wrong("softmax", "subtracts the middle of each row's range", '''
def softmax(Z):
    middle = (Z.max(axis=1, keepdims=True) + Z.min(axis=1, keepdims=True)) / 2
    E = np.exp(Z - middle)
    return E / E.sum(axis=1, keepdims=True)
''', ("span thousands", "subtracting each row's maximum")),
        Wrong("minibatches", "an empty batch when batch_size divides n", '''
def minibatches(n, batch_size, rng):
    order = rng.permutation(n)
    return [order[k * batch_size:(k + 1) * batch_size] for k in range(n // batch_size + 1)]
''', ("should give batches of sizes [4, 4, 4], got [4, 4, 4, 0]", "no empty batch")),
        Wrong("sgd_epoch", "accuracy without the bias", '''
def accuracy(X, y, W, b):
    return float(np.mean((X @ W).argmax(axis=1) == y))
''' + SGD_OK_EPOCH, ("without the bias",)),
        Wrong("sgd_epoch", "steps the caller's W in place", SGD_OK_ACC + '''
def sgd_epoch(X, y, W, b, lr, batch_size, rng):
    losses = []
    for idx in minibatches(len(X), batch_size, rng):
        loss, dW, db = logreg_gradients(X[idx], y[idx], W, b)
        W -= lr * dW
        b -= lr * db
        losses.append(loss)
    return W, b, losses
''', ("changed the caller's W or b", "W = W - lr * dW")),
        Wrong("confusion", "most_confused clears the caller's diagonal", CM_OK + '''
def most_confused(cm):
    cm -= np.diag(np.diag(cm))
    i, j = np.unravel_index(cm.argmax(), cm.shape)
    return int(i), int(j)
''', ("changed the matrix it was given", "m = cm.copy()")),

        Wrong("neuron", "sigmoid with the wrong sign", '''
def sigmoid(z):
    return 1 / (1 + np.exp(z))
''' + NEURON_OK_BCE + NEURON_OK_GRAD, ("sigmoid([-1000, -2, 0, 2, 1000]) is wrong", "near 1 for large z")),
        Wrong("neuron", "binary cross-entropy without clipping", NEURON_OK_SIG + '''
def binary_cross_entropy(p, t):
    return float(-(t * np.log(p) + (1 - t) * np.log(1 - p)).mean())
''' + NEURON_OK_GRAD, ("large and finite", "Clip p to [1e-12, 1 - 1e-12]")),
        Wrong("neuron", "binary cross-entropy summed", NEURON_OK_SIG + '''
def binary_cross_entropy(p, t):
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return float(-(t * np.log(p) + (1 - t) * np.log(1 - p)).sum())
''' + NEURON_OK_GRAD, ("binary_cross_entropy([0.9, 0.2, 0.6], [1, 0, 0]) is", "the mean over the batch, not the sum")),
        Wrong("neuron", "clips p in place", NEURON_OK_SIG + '''
def binary_cross_entropy(p, t):
    np.clip(p, 1e-12, 1 - 1e-12, out=p)
    return float(-(t * np.log(p) + (1 - t) * np.log(1 - p)).mean())
''' + NEURON_OK_GRAD, ("changed its input p", "p = np.clip(p, ...)")),
        Wrong("neuron", "gradient without dividing by N", NEURON_OK_SIG + NEURON_OK_BCE + '''
def neuron_gradients(X, t, w, b):
    p = sigmoid(X @ w + b)
    delta = p - t
    return binary_cross_entropy(p, t), X.T @ delta, float(delta.sum())
''', ("5× too large, exactly the batch size", "dw = X.T @ (p - t) / N")),
        Wrong("neuron", "db as a vector", NEURON_OK_SIG + NEURON_OK_BCE + '''
def neuron_gradients(X, t, w, b):
    p = sigmoid(X @ w + b)
    delta = (p - t) / len(t)
    return binary_cross_entropy(p, t), X.T @ delta, delta
''', ("db must be one number", "sum delta over the batch")),
        Edited(LAB, "sgd_epoch", "steps up the gradient", [
            ('W = W - lr * dW\n        b = b - lr * db',
             'W = W + lr * dW\n        b = b + lr * db')],
            ('steps up the gradient', 'W = W - lr * dW')),
        Edited(LAB, "sgd_epoch", "gradient of all images at every step", [
            ('logreg_gradients(Xb, yb, W, b)',
             'logreg_gradients(X, y, W, b)')],
            ('the gradient of all the images', 'X[idx], y[idx]')),
        Edited(LAB, "sgd_epoch", "b never moves", [
            ('        b = b - lr * db\n',
             '')],
            ('b never moves', 'b = b - lr * db')),
        Edited(LAB, "sgd_epoch", "a new rng instead of the given one", [
            ('minibatches(len(X), batch_size, rng)',
             'minibatches(len(X), batch_size, np.random.default_rng())')],
            ('with the rng it is given', 'minibatches(len(X), batch_size, rng)')),
        Wrong("sgd_epoch", "accuracy over the wrong axis", '''
def accuracy(X, y, W, b):
    return float(np.mean((X @ W + b).argmax(axis=0) == y))

def sgd_epoch(X, y, W, b, lr, batch_size, rng):
    return W, b, []
''', ("accuracy(X=array (4, 2)", "argmax(axis=1)")),
        Wrong("confusion", "rows and columns swapped", '''
def confusion_matrix(y_true, y_pred, num_classes=10):
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    for a, b in zip(y_true, y_pred):
        cm[b, a] += 1
    return cm
''' + MC_OK, ("confusion_matrix for 6 samples is wrong", "cm[true, predicted] += 1")),
        Wrong("confusion", "sized from the labels", '''
def confusion_matrix(y_true, y_pred, num_classes=10):
    n = max(y_true.max(), y_pred.max()) + 1
    cm = np.zeros((n, n), dtype=np.int64)
    for a, b in zip(y_true, y_pred):
        cm[a, b] += 1
    return cm
''' + MC_OK, ("should have shape (4, 4)", "from num_classes")),
        Wrong("confusion", "most_confused counts the right answers", CM_OK + '''
def most_confused(cm):
    i, j = np.unravel_index(cm.argmax(), cm.shape)
    return int(i), int(j)
''', ("right answers, not confusions", "got (1, 1)")),
        Wrong("softmax", "changes Z in place", '''
def softmax(Z):
    Z -= Z.max(axis=1, keepdims=True)
    E = np.exp(Z)
    return E / E.sum(axis=1, keepdims=True)
''', ("changed its input Z", "Z = Z - Z.max")),
        Wrong("softmax", "log-softmax", '''
def softmax(Z):
    Z = Z - Z.max(axis=1, keepdims=True)
    return Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
''', ("log-probabilities", "without np.log")),
        Wrong("softmax", "normalises over axis 0", '''
def softmax(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=0, keepdims=True)
''', ("must sum to 1", "axis 1")),
        Wrong("softmax", "no max subtracted", '''
def softmax(Z):
    E = np.exp(Z)
    return E / E.sum(axis=1, keepdims=True)
''', ("overflows", "Subtract each row's maximum")),
        Wrong("softmax", "max of the whole batch", '''
def softmax(Z):
    E = np.exp(Z - Z.max())
    return E / E.sum(axis=1, keepdims=True)
''', ("own maximum", "Z.max()")),
        Wrong("softmax", "sum without keepdims", '''
def softmax(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1)
''', ("softmax(Z=array (4, 3)) raised ValueError", "keepdims=True")),
        Wrong("one_hot", "sized from y.max() + 1", '''
def one_hot(y, num_classes=10):
    Y = np.zeros((len(y), y.max() + 1))
    Y[np.arange(len(y)), y] = 1.0
    return Y
''', ("should have shape (3, 4)", "num_classes, not from y.max() + 1")),
        Wrong("one_hot", "labels as row indices", '''
def one_hot(y, num_classes=10):
    Y = np.zeros((len(y), num_classes))
    Y[y, np.arange(len(y))] = 1.0
    return Y
''', ("raised IndexError", "which axis you index")),
        Wrong("cross_entropy", "P[:, y] instead of one entry per row", '''
def cross_entropy(P, y):
    return float(-np.log(P[:, y]).mean())
''', ("the loss of P[:, y]", "P[np.arange(N), y]")),
        Wrong("cross_entropy", "missing minus sign", '''
def cross_entropy(P, y):
    return float(np.log(P[np.arange(len(y)), y]).mean())
''', ("never negative", "minus sign")),
        Wrong("cross_entropy", "sum instead of mean", '''
def cross_entropy(P, y):
    return float(-np.log(P[np.arange(len(y)), y]).sum())
''', ("cross_entropy(P, [0, 2])", "a sum instead of a mean is N times too big")),
        Wrong("logreg_gradients", "updates W in place", '''
def logreg_gradients(X, y, W, b):
    N = len(y)
    P = softmax(X @ W + b)
    loss = cross_entropy(P, y)
    delta = (P - one_hot(y, W.shape[1])) / N
    dW, db = X.T @ delta, delta.sum(axis=0)
    W -= 0.1 * dW
    return loss, dW, db
''', ("changed W or b", "only compute the gradients")),
        Wrong("logreg_gradients", "N times too large", '''
def logreg_gradients(X, y, W, b):
    P = softmax(X @ W + b)
    delta = P - one_hot(y, W.shape[1])
    return cross_entropy(P, y), X.T @ delta, delta.sum(axis=0)
''', ("6× too large, exactly the batch size", "divide by N once")),
        Wrong("logreg_gradients", "wrong sign", '''
def logreg_gradients(X, y, W, b):
    N = len(y)
    P = softmax(X @ W + b)
    delta = (one_hot(y, W.shape[1]) - P) / N
    return cross_entropy(P, y), X.T @ delta, delta.sum(axis=0)
''', ("wrong sign", "P − Y")),
        Wrong("logreg_gradients", "one_hot without the number of classes", '''
def logreg_gradients(X, y, W, b):
    N = len(y)
    P = softmax(X @ W + b)
    delta = (P - one_hot(y)) / N
    return cross_entropy(P, y), X.T @ delta, delta.sum(axis=0)
''', ("raised ValueError", "one_hot(y, W.shape[1])")),
        Wrong("minibatches", "stops one short (range(0, n - 1, B))", '''
def minibatches(n, batch_size, rng):
    order = rng.permutation(n)
    return [order[i:i + batch_size] for i in range(0, n - 1, batch_size)]
''', ("minibatches(9, 4, rng) must hold every index", "range(0, n, batch_size)")),
        Wrong("minibatches", "np.random instead of the given rng", '''
def minibatches(n, batch_size, rng):
    order = np.random.permutation(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]
''', ("same rng seed gave different batches", "not np.random.permutation")),
        Wrong("minibatches", "no shuffle", '''
def minibatches(n, batch_size, rng):
    order = np.arange(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]
''', ("not shuffled", "rng.permutation(n)")),
        Wrong("minibatches", "drops the last partial batch", '''
def minibatches(n, batch_size, rng):
    order = rng.permutation(n)
    return [order[i:i + batch_size] for i in range(0, n - batch_size + 1, batch_size)]
''', ("sizes [4, 4, 2]", "leftover")),
]

MUST_PASS = [
        Noisy("softmax", "np.seterr(all='raise') in the notebook", '''
np.seterr(all="raise")


def softmax(Z):
    Z = Z - Z.max(axis=1, keepdims=True)
    E = np.exp(Z)
    return E / E.sum(axis=1, keepdims=True)
'''),
        Noisy("cross_entropy", "warns about log(0)", '''
def cross_entropy(P, y):
    import warnings
    warnings.warn("checking P for zeros", RuntimeWarning)
    return float(-np.log(P[np.arange(len(y)), y]).mean())
'''),
        Noisy("minibatches", "a progress bar on stderr", '''
def minibatches(n, batch_size, rng):
    import sys
    order = rng.permutation(n)
    print(f"shuffling {n} indices", file=sys.stderr)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]
'''),
        Noisy("softmax", "through log-sum-exp", '''
def softmax(Z):
    shifted = Z - np.max(Z, axis=1, keepdims=True)
    return np.exp(shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True)))
'''),
        Noisy("one_hot", "rows of the identity matrix", '''
def one_hot(y, num_classes=10):
    return np.eye(num_classes)[y]
'''),
        Noisy("minibatches", "np.array_split at multiples of batch_size", '''
def minibatches(n, batch_size, rng):
    return np.array_split(rng.permutation(n), np.arange(batch_size, n, batch_size))
'''),
        Noisy("confusion", "np.add.at and a masked argmax", '''
def confusion_matrix(y_true, y_pred, num_classes=10):
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def most_confused(cm):
    off = np.where(np.eye(len(cm), dtype=bool), -1, cm)
    i, j = divmod(int(np.argmax(off)), cm.shape[1])
    return i, j
'''),
        Noisy("sgd_epoch", "count_nonzero and both steps on one line", '''
def accuracy(X, y, W, b):
    return np.count_nonzero(np.argmax(X @ W + b, axis=1) == y) / len(y)


def sgd_epoch(X, y, W, b, lr, batch_size, rng):
    losses = []
    for idx in minibatches(len(X), batch_size, rng):
        loss, dW, db = logreg_gradients(X[idx], y[idx], W, b)
        W, b = W - lr * dW, b - lr * db
        losses += [loss]
    return W, b, losses
'''),
]

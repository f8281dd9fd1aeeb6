"""A corpus of typical wrong answers: each must fail its lab's tests with the teaching message.

For every graded function of every lab, the typical mistakes attendees make (an axis, a missing
keepdims, an in-place update, np.random instead of the given rng, a loop that stops one short, a
transpose, ...) are put in place of the solution, and the lab's own test cells for that function
are run. Each case asserts that a test fails with a LabCheckError (never a bare NumPy error) whose
message says what is wrong, and fails it in a VISIBLE test cell, so that the attendee learns it before
grading (only a case marked ``hard_coding``, an answer that memorises the visible tests' own answers,
may be caught by the hidden tests alone). The right answers of NOISY (ones that make noise, and ones
written in an unusual way) must pass every test, visible and hidden.

The lab runs in-process, its cells in order in one namespace, the way nbgrader runs it (training
shortened by NBGRADER_EXECUTION); each wrong answer is tried in a copy of the namespace taken just
before the function's answer cell.

Labs 3-5 keep their cases in wrong_answers/<lab>.py; most are written as the lab's own right answer
with the mistake as an edit (wrong_answers.cases.Edited), so a changed solution shows up as an edit
that no longer applies rather than as a stale copy.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import load_release
from wrong_answers import lab3_cnn, lab4_lstm, lab5_transfer
from wrong_answers.cases import Noisy, Wrong

from dllab.labs import LabCheckError

pytestmark = pytest.mark.slow  # runs the labs with wrong answers

# Right answers that make noise. nbgrader scores a test cell 0 when anything reaches stderr, so
# every one of these must pass its tests (visible and hidden) with nothing on stderr.
NOISY = {
    "lab1_logreg": [
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
    ],
    "lab2_mlp": [
        Noisy("activations", "sigmoid overflows for -1000 (RuntimeWarning)", '''
def sigmoid(Z):
    return 1 / (1 + np.exp(-Z))


def sigmoid_grad(Z):
    s = sigmoid(Z)
    return s * (1 - s)


def relu(Z):
    return np.maximum(Z, 0)


def relu_grad(Z):
    return (Z > 0).astype(Z.dtype)
'''),
        Noisy("activations", "two-branch stable sigmoid, boolean relu_grad made float", '''
def sigmoid(Z):
    e = np.exp(-np.abs(Z))
    return np.where(Z >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_grad(Z):
    e = np.exp(-np.abs(Z))
    return e / (1 + e) ** 2


def relu(Z):
    return Z * (Z > 0)


def relu_grad(Z):
    return np.heaviside(Z, 0.0)
'''),
        Noisy("update_rules", "penalties as separate terms, Adam's corrections folded into the step size", '''
def sgd_step(w, g, state, lr, momentum=0.0, weight_decay=0.0, l1=0.0):
    grad = g.copy()
    if weight_decay:
        grad += weight_decay * w
    if l1:
        grad += l1 * np.sign(w)
    state["v"] = momentum * state["v"] + grad if "v" in state else grad
    return w - lr * state["v"]


def rmsprop_step(w, g, state, lr, rho=0.9, eps=1e-8):
    state["s"] = rho * state.get("s", np.zeros_like(g)) + (1 - rho) * np.square(g)
    return w - lr * g / (np.sqrt(state["s"]) + eps)


def adam_step(w, g, state, lr, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    state["t"] = state.get("t", 0) + 1
    state["m"] = b1 * state.get("m", 0) + (1 - b1) * g
    state["v"] = b2 * state.get("v", 0) + (1 - b2) * g * g
    t = state["t"]
    return w - lr * (state["m"] / (1 - b1 ** t)) / (np.sqrt(state["v"] / (1 - b2 ** t)) + eps)
'''),
        Noisy("make_mlp", "each activation as a layer of its own after its Dense", '''
def make_mlp(sizes=(400, 400, 10), activation=dl.relu, dropout=0.0):
    layers = [dl.Flatten()]
    for units in sizes[:-1]:
        layers += [dl.Dense(units), activation] + ([dl.Dropout(dropout)] if dropout else [])
    model = layers[0]
    for layer in layers[1:] + [dl.Dense(sizes[-1])]:
        model = model >> layer
    return model
'''),
        Noisy("early_stopping", "counts from the best epoch", '''
def early_stopping_epoch(val_losses, patience):
    best_epoch = 1
    for epoch in range(2, len(val_losses) + 1):
        if val_losses[epoch - 1] < val_losses[best_epoch - 1]:
            best_epoch = epoch
        elif epoch - best_epoch >= patience:
            return best_epoch, epoch
    return best_epoch, len(val_losses)
'''),
    ],
}

for _module in (lab3_cnn, lab4_lstm, lab5_transfer):
    NOISY[_module.LAB] = list(getattr(_module, "MUST_PASS", []))


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


RMS_OK = '''
def rmsprop_step(w, g, state, lr, rho=0.9, eps=1e-8):
    s = rho * state.get("s", 0.0) + (1 - rho) * g ** 2
    state["s"] = s
    return w - lr * g / (np.sqrt(s) + eps)
'''
ADAM_OK = '''
def adam_step(w, g, state, lr, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    t = state.get("t", 0) + 1
    m = b1 * state.get("m", 0.0) + (1 - b1) * g
    v = b2 * state.get("v", 0.0) + (1 - b2) * g ** 2
    state.update(t=t, m=m, v=v)
    return w - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
'''
SGD_OK = '''
def sgd_step(w, g, state, lr, momentum=0.0, weight_decay=0.0, l1=0.0):
    g = g + weight_decay * w + l1 * np.sign(w)
    state["v"] = momentum * state.get("v", 0.0) + g
    return w - lr * state["v"]
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


CORPUS = {
    "lab1_logreg": [
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
        Wrong("sgd_epoch", "steps up the gradient", SGD_OK_ACC + '''
def sgd_epoch(X, y, W, b, lr, batch_size, rng):
    losses = []
    for idx in minibatches(len(X), batch_size, rng):
        loss, dW, db = logreg_gradients(X[idx], y[idx], W, b)
        W = W + lr * dW
        b = b + lr * db
        losses.append(loss)
    return W, b, losses
''', ("steps up the gradient", "W = W - lr * dW")),
        Wrong("sgd_epoch", "gradient of all images at every step", SGD_OK_ACC + '''
def sgd_epoch(X, y, W, b, lr, batch_size, rng):
    losses = []
    for idx in minibatches(len(X), batch_size, rng):
        loss, dW, db = logreg_gradients(X, y, W, b)
        W = W - lr * dW
        b = b - lr * db
        losses.append(loss)
    return W, b, losses
''', ("the gradient of all the images", "X[idx], y[idx]")),
        Wrong("sgd_epoch", "b never moves", SGD_OK_ACC + '''
def sgd_epoch(X, y, W, b, lr, batch_size, rng):
    losses = []
    for idx in minibatches(len(X), batch_size, rng):
        loss, dW, db = logreg_gradients(X[idx], y[idx], W, b)
        W = W - lr * dW
        losses.append(loss)
    return W, b, losses
''', ("b never moves", "b = b - lr * db")),
        Wrong("sgd_epoch", "a new rng instead of the given one", SGD_OK_ACC + '''
def sgd_epoch(X, y, W, b, lr, batch_size, rng):
    losses = []
    for idx in minibatches(len(X), batch_size, np.random.default_rng()):
        loss, dW, db = logreg_gradients(X[idx], y[idx], W, b)
        W = W - lr * dW
        b = b - lr * db
        losses.append(loss)
    return W, b, losses
''', ("with the rng it is given", "minibatches(len(X), batch_size, rng)")),
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
    ],
    "lab2_mlp": [
        Wrong("activations", "sigmoid_grad as e**z / (1 + e**z)**2", '''
def sigmoid(Z):
    return 0.5 * (1 + np.tanh(0.5 * Z))
def sigmoid_grad(Z):
    e = np.exp(Z)
    return e / (1 + e) ** 2
def relu(Z):
    return np.maximum(Z, 0)
def relu_grad(Z):
    return (Z > 0).astype(Z.dtype)
''', ("sigmoid_grad([-800, -30, 30, 800]) gives nan or inf", "s * (1 - s)")),
        Wrong("update_rules", "L1 slope as w / sqrt(w**2)", '''
def sgd_step(w, g, state, lr, momentum=0.0, weight_decay=0.0, l1=0.0):
    g = g + weight_decay * w + l1 * w / np.sqrt(w * w)
    state["v"] = momentum * state.get("v", 0.0) + g
    return w - lr * state["v"]
''' + RMS_OK + ADAM_OK, ("0 / 0 at w = 0", "np.sign(w)")),
        Wrong("update_rules", "sign(0) taken as +1", '''
def sgd_step(w, g, state, lr, momentum=0.0, weight_decay=0.0, l1=0.0):
    g = g + weight_decay * w + l1 * np.where(w >= 0, 1.0, -1.0)
    state["v"] = momentum * state.get("v", 0.0) + g
    return w - lr * state["v"]
''' + RMS_OK + ADAM_OK, ("sgd_step(w=[0, 2, -1], g=0.5, lr=0.1, l1=0.2)", "nothing where w = 0")),
        Wrong("update_rules", "weight decay added into the caller's g", '''
def sgd_step(w, g, state, lr, momentum=0.0, weight_decay=0.0, l1=0.0):
    np.add(g, weight_decay * w + l1 * np.sign(w), out=g)
    state["v"] = momentum * state.get("v", 0.0) + g
    return w - lr * state["v"]
''' + RMS_OK + ADAM_OK, ("changed the gradient g it was given", "g = g + ...")),
        Wrong("update_rules", "penalties only on 2-D arrays", '''
def sgd_step(w, g, state, lr, momentum=0.0, weight_decay=0.0, l1=0.0):
    if w.ndim >= 2:
        g = g + weight_decay * w + l1 * np.sign(w)
    state["v"] = momentum * state.get("v", 0.0) + g
    return w - lr * state["v"]
''' + RMS_OK + ADAM_OK, ("sgd_step on a bias b=[1, -2] with weight_decay=0.1", "a 1-D bias too")),
        Wrong("update_rules", "RMSProp's eps inside the square root", SGD_OK + '''
def rmsprop_step(w, g, state, lr, rho=0.9, eps=1e-8):
    s = rho * state.get("s", 0.0) + (1 - rho) * g ** 2
    state["s"] = s
    return w - lr * g / np.sqrt(s + eps)
''' + ADAM_OK, ("rmsprop_step of a tiny gradient", "after the square root")),
        Wrong("make_mlp", "in_features from the image's side", '''
def make_mlp(sizes=(400, 400, 10), activation=dl.relu, dropout=0.0):
    model, width = dl.Flatten(), 28
    for units in sizes[:-1]:
        model = model >> dl.Dense(units, activation=activation, in_features=width)
        width = units
        if dropout:
            model = model >> dl.Dropout(dropout)
    return model >> dl.Dense(sizes[-1], in_features=width)
''', ("fails on an input of shape (2, 1, 28, 28): ShapeError", "Flatten >> Dense")),
        Wrong("early_stopping", "the patience counter never restarts", '''
def early_stopping_epoch(val_losses, patience):
    best, best_epoch, waited = None, 0, 0
    for epoch, loss in enumerate(val_losses, start=1):
        if best is None or loss < best:
            best, best_epoch = loss, epoch
        else:
            waited += 1
            if waited >= patience:
                return best_epoch, epoch
    return best_epoch, len(val_losses)
''', ("restarts at 0 at every improvement", "got (3, 4)")),
        Wrong("update_rules", "momentum velocity not kept", '''
def sgd_step(w, g, state, lr, momentum=0.0, weight_decay=0.0, l1=0.0):
    g = g + weight_decay * w + l1 * np.sign(w)
    v = momentum * state.get("v", 0.0) + g
    return w - lr * v
''' + RMS_OK + ADAM_OK, ("after step 2", "the velocity is not kept between steps")),
        Wrong("update_rules", "L1 with w instead of sign(w)", '''
def sgd_step(w, g, state, lr, momentum=0.0, weight_decay=0.0, l1=0.0):
    g = g + weight_decay * w + l1 * w
    state["v"] = momentum * state.get("v", 0.0) + g
    return w - lr * state["v"]
''' + RMS_OK + ADAM_OK, ("L1 adds l1 * np.sign(w)",)),
        Wrong("update_rules", "updates w in place", '''
def sgd_step(w, g, state, lr, momentum=0.0, weight_decay=0.0, l1=0.0):
    g = g + weight_decay * w + l1 * np.sign(w)
    state["v"] = momentum * state.get("v", 0.0) + g
    w -= lr * state["v"]
    return w
''' + RMS_OK + ADAM_OK, ("changed w in place", "a new array")),
        Wrong("update_rules", "RMSProp without the square root", SGD_OK + '''
def rmsprop_step(w, g, state, lr, rho=0.9, eps=1e-8):
    s = rho * state.get("s", 0.0) + (1 - rho) * g ** 2
    state["s"] = s
    return w - lr * g / (s + eps)
''' + ADAM_OK, ("rmsprop_step", "square root of s")),
        Wrong("update_rules", "Adam without bias correction", SGD_OK + RMS_OK + '''
def adam_step(w, g, state, lr, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m = b1 * state.get("m", 0.0) + (1 - b1) * g
    v = b2 * state.get("v", 0.0) + (1 - b2) * g ** 2
    state.update(m=m, v=v)
    return w - lr * m / (np.sqrt(v) + eps)
''', ("adam_step(lr=0.01) after step 1", "bias correction")),
        Wrong("update_rules", "Adam's step count starts at 0", SGD_OK + RMS_OK + '''
def adam_step(w, g, state, lr, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    t = state.get("t", 1)
    m = b1 * state.get("m", 0.0) + (1 - b1) * g
    v = b2 * state.get("v", 0.0) + (1 - b2) * g ** 2
    state.update(t=t + 1, m=m, v=v)
    return w - lr * (m / (1 - b1 ** (t + 1))) / (np.sqrt(v / (1 - b2 ** (t + 1))) + eps)
''', ("adam_step(lr=0.01) after step 1 is wrong", "t counts the steps from 1")),
        Wrong("make_mlp", "returns only the last layer", '''
def make_mlp(sizes=(400, 400, 10), activation=dl.relu, dropout=0.0):
    model = dl.Flatten()
    for units in sizes[:-1]:
        model >> dl.Dense(units, activation=activation)
    return dl.Dense(sizes[-1])
''', ("a dl.Sequential), got Dense", "last layer only")),
        Wrong("make_mlp", "activation on the output layer", '''
def make_mlp(sizes=(400, 400, 10), activation=dl.relu, dropout=0.0):
    model = dl.Flatten()
    for units in sizes[:-1]:
        model = model >> dl.Dense(units, activation=activation)
        if dropout:
            model = model >> dl.Dropout(dropout)
    return model >> dl.Dense(sizes[-1], activation=activation)
''', ("no activation", "the loss applies softmax")),
        Wrong("make_mlp", "one layer too many", '''
def make_mlp(sizes=(400, 400, 10), activation=dl.relu, dropout=0.0):
    model = dl.Flatten()
    for units in sizes:
        model = model >> dl.Dense(units, activation=activation)
        if dropout:
            model = model >> dl.Dropout(dropout)
    return model >> dl.Dense(sizes[-1])
''', ("should chain Flatten, Dense, Dropout, Dense, Dropout, Dense",)),
        Wrong("clip_by_global_norm", "one norm per gradient", '''
def clip_by_global_norm(grads, max_norm):
    out = {}
    for k, g in grads.items():
        n = np.sqrt(np.sum(g ** 2))
        out[k] = g * min(1.0, max_norm / n) if n > 0 else g
    return out, float(np.sqrt(sum(np.sum(g ** 2) for g in grads.values())))
''', ("clipped W is wrong", "max_norm / norm")),
        Wrong("clip_by_global_norm", "always rescales to max_norm", '''
def clip_by_global_norm(grads, max_norm):
    norm = float(np.sqrt(sum(np.sum(g ** 2) for g in grads.values())))
    return {k: g * max_norm / norm for k, g in grads.items()}, norm
''', ("above the norm", "scale only when norm > max_norm")),
        Wrong("clip_by_global_norm", "scales in place", '''
def clip_by_global_norm(grads, max_norm):
    norm = float(np.sqrt(sum(np.sum(g ** 2) for g in grads.values())))
    if norm > max_norm:
        for g in grads.values():
            g *= max_norm / norm
    return grads, norm
''', ("grads['W'] after the call is wrong", "changes the caller's gradients")),

        Wrong("activations", "sigmoid_grad returns sigmoid", '''
def sigmoid(Z):
    return 0.5 * (1 + np.tanh(0.5 * Z))
def sigmoid_grad(Z):
    return sigmoid(Z)
def relu(Z):
    return np.maximum(Z, 0)
def relu_grad(Z):
    return (Z > 0).astype(Z.dtype)
''', ("sigmoid_grad([0, 2])", "sigmoid(z) * (1 - sigmoid(z))")),
        Wrong("activations", "relu changes Z in place", '''
def sigmoid(Z):
    return 0.5 * (1 + np.tanh(0.5 * Z))
def sigmoid_grad(Z):
    s = sigmoid(Z)
    return s * (1 - s)
def relu(Z):
    Z[Z < 0] = 0
    return Z
def relu_grad(Z):
    return (Z > 0).astype(Z.dtype)
''', ("changed its input", "np.maximum(Z, 0)")),
        Wrong("forward", "activation after the last layer", '''
def forward(X, params, act="relu"):
    f, _ = ACTIVATIONS[act]
    Z1 = X @ params["W1"] + params["b1"]
    A1 = f(Z1)
    Z2 = A1 @ params["W2"] + params["b2"]
    A2 = f(Z2)
    Z3 = A2 @ params["W3"] + params["b3"]
    return softmax(f(Z3)), {"X": X, "Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2, "Z3": Z3}
''', ("P with relu is wrong", "no f after layer 3")),
        Wrong("forward", "W transposed", '''
def forward(X, params, act="relu"):
    f, _ = ACTIVATIONS[act]
    Z1 = X @ params["W1"] + params["b1"]
    A1 = f(Z1)
    Z2 = A1 @ params["W2"] + params["b2"]
    A2 = f(Z2)
    Z3 = A2 @ params["W3"].T + params["b3"]
    return softmax(Z3), {"X": X, "Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2, "Z3": Z3}
''', ("inner sizes of a matrix product", "W3 (6, 3)")),
        Wrong("forward", "relu always", '''
def forward(X, params, act="relu"):
    f, _ = ACTIVATIONS["relu"]
    Z1 = X @ params["W1"] + params["b1"]
    A1 = f(Z1)
    Z2 = A1 @ params["W2"] + params["b2"]
    A2 = f(Z2)
    Z3 = A2 @ params["W3"] + params["b3"]
    return softmax(Z3), {"X": X, "Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2, "Z3": Z3}
''', ("P with sigmoid is wrong", "ACTIVATIONS[act]")),
        Wrong("backward", "untransposed W3", '''
def backward(X, y, params, cache, act="relu"):
    _, f_grad = ACTIVATIONS[act]
    N = len(y)
    P = softmax(cache["Z3"])
    Y = np.eye(P.shape[1])[y]
    d3 = (P - Y) / N
    d2 = (d3 @ params["W3"]) * f_grad(cache["Z2"])
    d1 = (d2 @ params["W2"].T) * f_grad(cache["Z1"])
    return {"W3": cache["A2"].T @ d3, "b3": d3.sum(axis=0), "W2": cache["A1"].T @ d2, "b2": d2.sum(axis=0),
            "W1": X.T @ d1, "b1": d1.sum(axis=0)}
''', ("raised ValueError", "inner sizes of a matrix product")),
        Wrong("backward", "derivative at A instead of Z", '''
def backward(X, y, params, cache, act="relu"):
    _, f_grad = ACTIVATIONS[act]
    N = len(y)
    P = softmax(cache["Z3"])
    Y = np.eye(P.shape[1])[y]
    d3 = (P - Y) / N
    d2 = (d3 @ params["W3"].T) * f_grad(cache["A2"])
    d1 = (d2 @ params["W2"].T) * f_grad(cache["A1"])
    return {"W3": cache["A2"].T @ d3, "b3": d3.sum(axis=0), "W2": cache["A1"].T @ d2, "b2": d2.sum(axis=0),
            "W1": X.T @ d1, "b1": d1.sum(axis=0)}
''', ("the gradient W2", "W3, b3 are right, so look at this layer", "not A2")),
        Wrong("backward", "no mean over the batch", '''
def backward(X, y, params, cache, act="relu"):
    _, f_grad = ACTIVATIONS[act]
    P = softmax(cache["Z3"])
    Y = np.eye(P.shape[1])[y]
    d3 = P - Y
    d2 = (d3 @ params["W3"].T) * f_grad(cache["Z2"])
    d1 = (d2 @ params["W2"].T) * f_grad(cache["Z1"])
    return {"W3": cache["A2"].T @ d3, "b3": d3.sum(axis=0), "W2": cache["A1"].T @ d2, "b2": d2.sum(axis=0),
            "W1": X.T @ d1, "b1": d1.sum(axis=0)}
''', ("4× too large, exactly the batch size", "δ3 = (P − Y) / N")),
        Wrong("dropout", "no rescaling", '''
def dropout_forward(A, p, rng, training=True):
    if not training or p == 0:
        return A, np.ones_like(A)
    mask = (rng.random(A.shape) >= p).astype(float)
    return A * mask, mask
''', ("1/(1-p)", "scales the survivors")),
        Wrong("dropout", "keeps with probability p", '''
def dropout_forward(A, p, rng, training=True):
    if not training or p == 0:
        return A, np.ones_like(A)
    mask = (rng.random(A.shape) < p) / p
    return A * mask, mask
''', ("about 25 % of the entries should be 0", "probability to drop")),
        Wrong("dropout", "drops at evaluation too", '''
def dropout_forward(A, p, rng, training=True):
    mask = (rng.random(A.shape) >= p) / (1 - p)
    return A * mask, mask
''', ("evaluation mode", "return A unchanged")),
        Wrong("dropout", "np.random instead of rng", '''
def dropout_forward(A, p, rng, training=True):
    if not training or p == 0:
        return A, np.ones_like(A)
    mask = (np.random.random(A.shape) >= p) / (1 - p)
    return A * mask, mask
''', ("same rng seed gave different masks", "not np.random")),
        Wrong("early_stopping", "patience off by one", '''
def early_stopping_epoch(val_losses, patience):
    best, best_epoch, waited = None, 0, 0
    for epoch, loss in enumerate(val_losses, start=1):
        if best is None or loss < best:
            best, best_epoch, waited = loss, epoch, 0
        else:
            waited += 1
            if waited > patience:
                return best_epoch, epoch
    return best_epoch, len(val_losses)
''', ("the answer is (3, 6), got (3, 7)", "stops after epoch 6")),
        Wrong("early_stopping", "equal loss counts as improvement", '''
def early_stopping_epoch(val_losses, patience):
    best, best_epoch, waited = None, 0, 0
    for epoch, loss in enumerate(val_losses, start=1):
        if best is None or loss <= best:
            best, best_epoch, waited = loss, epoch, 0
        else:
            waited += 1
            if waited >= patience:
                return best_epoch, epoch
    return best_epoch, len(val_losses)
''', ("an equal loss is no improvement", "got (3, 3)")),
        Wrong("early_stopping", "0-based epochs", '''
def early_stopping_epoch(val_losses, patience):
    best, best_epoch, waited = None, 0, 0
    for epoch, loss in enumerate(val_losses):
        if best is None or loss < best:
            best, best_epoch, waited = loss, epoch, 0
        else:
            waited += 1
            if waited >= patience:
                return best_epoch, epoch
    return best_epoch, len(val_losses) - 1
''', ("got (2, 5)", "counting from 1")),
    ],

    "lab3_cnn": lab3_cnn.CASES,
    "lab4_lstm": lab4_lstm.CASES,
    "lab5_transfer": lab5_transfer.CASES,
}


# --- running a lab's cells ------------------------------------------------------------------


def _cells(lab):
    """(kind, grade_id, source) of each code cell: kind is answer, visible, hidden or code."""
    out = []
    for cell in load_release().notebook(lab).cells:
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            kind = "answer"
        elif meta.get("grade"):
            kind = "hidden" if "BEGIN HIDDEN TESTS" in cell.source else "visible"
        else:
            kind = "code"
        out.append((kind, meta.get("grade_id"), cell.source))
    return out


def _run(source, ns, name, stderr=None):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(stderr or io.StringIO()):
        exec(compile(source, name, "exec"), ns)  # noqa: S102 - the lab's own cells


def _failure(answer, tests, ns, lab):
    """Run an answer and its test cells in a copy of ``ns``.

    Returns (kind of the cell that failed or None, the error or None, what the test cells wrote to
    stderr). NumPy's error state is restored afterwards, whatever the answer set.
    """
    trial, stderr = dict(ns), io.StringIO()
    with np.errstate():
        _run(answer.source, trial, f"<{lab}: {answer.why}>")
        for kind, grade_id, source in tests:
            try:
                _run(source, trial, f"<{lab}: {grade_id}>", stderr)
            except Exception as error:  # noqa: BLE001 - which error it is, is what the test checks
                return kind, error, stderr.getvalue()
    return None, None, stderr.getvalue()


@pytest.fixture(scope="module")
def graded_env():
    """The environment nbgrader grades in: shortened training, CPU, no progress bars, no display."""
    saved = dict(os.environ)
    os.environ.update(NBGRADER_EXECUTION="autograde", DLLAB_DEVICE="cpu", CI="true", MPLBACKEND="Agg")
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(autouse=True, scope="module")
def _answer_keys():
    """The tests here run hidden tests in this process: with the grader's answer keys, as the judge does."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "grading"))
    import answer_keys

    from dllab import labs

    labs.use_answer_keys(answer_keys)
    yield
    labs.use_answer_keys(None)


def _results(lab):
    """Run ``lab`` once, trying each of its corpus cases at its function's answer cell."""
    import matplotlib

    matplotlib.use("Agg")
    cells = _cells(lab)
    cases = CORPUS.get(lab, []) + NOISY.get(lab, [])
    ns = {"__name__": "__main__"}
    results = {}
    answers = [i for i, (kind, _, _) in enumerate(cells) if kind == "answer"]
    for position, (kind, grade_id, source) in enumerate(cells):
        if kind == "answer":
            # the test cells of this answer: the graded cells up to the next answer cell
            nxt = next((i for i in answers if i > position), len(cells))
            tests = [c for c in cells[position + 1:nxt] if c[0] in ("visible", "hidden")]
            for case in cases:
                if case.function == grade_id:
                    results[case.why] = _failure(case, tests, ns, lab)
            if all(case.why in results for case in cases):
                return results
        _run(source, ns, f"<{lab}: cell {position} {grade_id or ''}>")
        import matplotlib.pyplot as plt

        plt.close("all")
    return results


_CACHE = {}


@pytest.mark.parametrize("lab, case", [(lab, case) for lab, cases in CORPUS.items() for case in cases],
                         ids=lambda v: v if isinstance(v, str) else f"{v.function}: {v.why}")
def test_wrong_answer_fails_with_its_lesson(lab, case, graded_env):
    if lab not in _CACHE:
        _CACHE[lab] = _results(lab)
    assert case.why in _CACHE[lab], f"{lab} has no answer cell {case.function!r}"
    kind, error, _ = _CACHE[lab][case.why]
    assert error is not None, f"the wrong answer ({case.why}) passes every test of {case.function}"
    assert isinstance(error, LabCheckError), \
        f"the wrong answer ({case.why}) fails with a bare {type(error).__name__}: {error}"
    message = str(error)
    for phrase in case.message:
        assert phrase in message, f"the message for '{case.why}' does not say {phrase!r}:\n{message}"
    if not case.hard_coding:
        assert kind == "visible", f"'{case.why}' passes every visible test and is caught only by the hidden " \
            f"tests (the attendee is told all is well, then marked down):\n{message}"


@pytest.mark.parametrize("lab, case", [(lab, case) for lab, cases in NOISY.items() for case in cases],
                         ids=lambda v: v if isinstance(v, str) else f"{v.function}: {v.why}")
def test_right_answer_that_makes_noise_passes_with_nothing_on_stderr(lab, case, graded_env):
    if lab not in _CACHE:
        _CACHE[lab] = _results(lab)
    kind, error, stderr = _CACHE[lab][case.why]
    assert error is None, f"a right answer ({case.why}) fails in a {kind} test cell: {error}"
    assert stderr == "", f"a right answer ({case.why}) puts this on stderr (nbgrader would score 0):\n{stderr}"


def test_every_graded_function_has_a_wrong_answer_case():
    missing = []
    for lab in load_release().all_labs():
        functions = {grade_id for kind, grade_id, _ in _cells(lab) if kind == "answer"}
        covered = {case.function for case in CORPUS.get(lab, [])}
        missing += [f"{lab}: {f}" for f in sorted(functions - covered)]
    assert not missing, "graded functions without a wrong-answer case: " + ", ".join(missing)


def test_only_hard_coding_may_escape_the_visible_tests():
    """A wrong answer that only a hidden test catches costs the attendee points after "all visible tests
    passed": the visible tests must check every property the hidden ones do. The one exception is an
    answer that memorises the visible tests' own answers."""
    marked = [f"{lab}: {case.function}: {case.why}" for lab, cases in CORPUS.items() for case in cases
              if case.hard_coding and "hard-cod" not in case.why]
    assert not marked, "cases excused from failing a visible test that do not hard-code answers: " + \
        ", ".join(marked)


def test_every_graded_function_has_a_hidden_test():
    """Each function an attendee writes (in an answer cell's solution region) is called by a hidden test cell."""
    import ast
    import re

    missing = []
    for lab in load_release().all_labs():
        cells = _cells(lab)
        hidden = "\n".join(source for kind, _, source in cells if kind == "hidden")
        for kind, grade_id, source in cells:
            if kind != "answer":
                continue
            for node in ast.parse(source).body:
                written = isinstance(node, ast.FunctionDef) and \
                    "BEGIN SOLUTION" in (ast.get_source_segment(source, node) or "")  # not a given helper
                if written and not re.search(rf"\b{node.name}\b", hidden):
                    missing.append(f"{lab}: {node.name} ({grade_id})")
    assert not missing, "graded functions that no hidden test calls: " + ", ".join(missing)


def test_every_lab_has_right_but_unusual_answers_that_must_pass():
    few = {lab: len(NOISY.get(lab, [])) for lab in load_release().all_labs() if len(NOISY.get(lab, [])) < 2}
    assert not few, f"labs with fewer than 2 right answers in the must-pass corpus: {few}"

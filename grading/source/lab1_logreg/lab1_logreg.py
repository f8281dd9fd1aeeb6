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
#   title: 'Lab 1: multiclass logistic regression on MNIST'
# ---

# %% [markdown]
# # Lab 1 — Multiclass logistic regression on MNIST
#
# A first classifier for handwritten digits, built from the ground up. You will
#
# 1. look at the data,
# 2. build **one neuron** (sigmoid, binary cross-entropy and its gradient) that tells zeros from the
#    other digits,
# 3. write **softmax**, the **cross-entropy** loss and its **gradient** yourself, in NumPy, for all ten
#    digits,
# 4. train the model with **minibatch stochastic gradient descent** (SGD), written by you,
# 5. then do the same again in three lines of `dllab`, and reach **at least 92 %** test accuracy.
#
# **How this notebook works.** Run the cells from top to bottom (Shift+Enter). Cells that say
# `# YOUR CODE HERE` are yours: replace `raise NotImplementedError()` with your code. The cell
# after each answer tests it; a failing test says what is wrong and hints why. Those test cells
# carry points, and more tests run when the notebook is graded. Cells that say
# *YOUR ANSWER HERE* want a few sentences of your own. Re-run a test cell after fixing your code.
#
# By default everything runs on a small part of the data so that each cell takes seconds. When it
# all works, set `full = True` in the next cell and run all cells again (Kernel → Restart Kernel and
# Run All Cells) for the full-size result.

# %% tags=["parameters"]
# Parameters (a workshop or a test run may override them)
full = False      # True: all 60 000 training images and 30 epochs (about a minute on a laptop)
epochs = None     # None: 30 when full, else 5
subset = None     # number of training images; None: all when full, else 6 000
device = "auto"   # "cpu", "gpu" or "auto" (the GPU when CuPy finds one)
seed = 0

# %% tags=["judge"]
import matplotlib.pyplot as plt
import numpy as np

import dllab as dl
from dllab import labs
from dllab.labs import check, check_close, check_gradient, check_shape
from dllab.widgets import DigitPad, LossSurfaceExplorer, TrainingDashboard

run = labs.setup(full, epochs, subset, device, seed, full_epochs=30, small_epochs=5, small_subset=6000)
run

# %% [markdown]
# ## 1. Look at the data
#
# MNIST holds 70 000 handwritten digits, each a 28 × 28 grey image: 60 000 for training and 10 000
# for testing. `dl.data.mnist(flatten=True)` reads them from the repository (nothing is downloaded)
# and gives each image as a row of 784 numbers between 0 (no ink: the background) and 1 (full ink),
# with its label 0–9. MNIST draws them as light ink on a dark background, and so does every figure
# and the drawing pad in these labs: a pixel's value is how much ink it holds.

# %%
train, test = dl.data.mnist(subset=run.subset, flatten=True)
print(train)
print(test)
print("first labels:", train.y[:12])
labs.show_digits(train.x[:30], train.y[:30])

# %% [markdown]
# The classes are balanced, and most pixels are background. Averaging all images of a class gives a
# blurry "typical" digit — keep these in mind: the model below will learn something similar.

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3))
ax1.bar(range(10), np.bincount(train.y, minlength=10))
ax1.set(xlabel="digit", ylabel="training images", title="images per class", xticks=range(10))
ax2.hist(train.x.ravel(), bins=50, log=True)
ax2.set(xlabel="pixel value", ylabel="pixels (log scale)", title="pixel values")
plt.show()
labs.show_digits(np.stack([train.x[train.y == k].mean(axis=0) for k in range(10)]), np.arange(10))


# %% [markdown]
# ## 2. One neuron: is it a zero?
#
# Before ten classes, one yes-or-no question: *is this image a 0?* A single **neuron** scores an
# image with a weighted sum of its 784 pixels plus a bias, $z = x \cdot w + b$, and squashes the
# score into a probability with the **sigmoid**
#
# $$\sigma(z) = \frac{1}{1 + e^{-z}} \in (0, 1).$$
#
# For a batch stacked in the rows of $X$ ($N \times 784$), $z = Xw + b$ gives one score per image.
# The target is $t_n = 1$ for a zero and $0$ otherwise. The **binary cross-entropy** is small when
# the probability of the right answer is high:
#
# $$L = -\frac{1}{N}\sum_{n=1}^{N} \big(t_n \log p_n + (1 - t_n) \log(1 - p_n)\big), \qquad p = \sigma(z).$$
#
# Its gradient is as simple as a gradient gets: since $\sigma'(z) = \sigma(z)(1 - \sigma(z))$, the
# chain rule cancels the logarithm's $1/p$ and leaves $\partial L / \partial z_n = (p_n - t_n) / N$, so
#
# $$\frac{\partial L}{\partial w} = X^\top (p - t) / N, \qquad \frac{\partial L}{\partial b} = \sum_n (p_n - t_n) / N.$$
#
# **Your turn.** Write the three functions. Two traps: $e^{-z}$ overflows for $z = -1000$ (the
# same function written $\tfrac12\big(1 + \tanh(z/2)\big)$ never does), and $\log 0 = -\infty$
# (clip $p$ to $[10^{-12}, 1 - 10^{-12}]$ first, so that a sure but wrong answer costs a large,
# finite loss).

# %% nbgrader={"grade": false, "grade_id": "neuron", "locked": false, "schema_version": 3, "solution": true, "task": false}
def sigmoid(z):
    """1 / (1 + exp(-z)), elementwise, for any real z (no overflow)."""
    ### BEGIN SOLUTION
    return 0.5 * (1 + np.tanh(0.5 * z))
    ### END SOLUTION


def binary_cross_entropy(p, t):
    """Mean binary cross-entropy of probabilities p (N,) for targets t (N,) of 0 and 1: one float."""
    ### BEGIN SOLUTION
    p = np.clip(p, 1e-12, 1 - 1e-12)  # a new array: the caller's p is not changed
    losses = t * np.log(p) + (1 - t) * np.log(1 - p)
    return float(-losses.mean())
    ### END SOLUTION


def neuron_gradients(X, t, w, b):
    """Loss and gradients of one sigmoid neuron on a batch.

    X: (N, D) inputs, t: (N,) targets of 0 and 1, w: (D,) weights, b: the bias (a float).
    Returns (loss, dw, db): the mean binary cross-entropy, dw (D,) and db (a float).
    """
    ### BEGIN SOLUTION
    z = X @ w + b
    p = sigmoid(z)
    loss = binary_cross_entropy(p, t)
    delta = (p - t) / len(t)  # dL/dz
    dw = X.T @ delta
    db = float(delta.sum())
    return loss, dw, db
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_neuron", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Tests for sigmoid, binary_cross_entropy and neuron_gradients (2 points)
z = np.array([-1000.0, -2.0, 0.0, 2.0, 1000.0])
z_before = z.copy()
s = labs.call(sigmoid, z, hint="Work on the whole array with NumPy (np.tanh or np.exp), not math.exp.")
check_shape(s, z.shape, "sigmoid(z)", hint="sigmoid works elementwise: one probability per score.")
check(np.array_equal(z, z_before), "sigmoid changed its input z: return a new array.")
check(np.all(np.isfinite(s)), "sigmoid gives nan or inf for z = -1000 or 1000: e**1000 overflows. "
      "Use the form 0.5 * (1 + np.tanh(0.5 * z)), which is the same function.")
check_close(s, [0.0, 0.11920292, 0.5, 0.88079708, 1.0], "sigmoid([-1000, -2, 0, 2, 1000])",
            hint="sigmoid(z) = 1 / (1 + exp(-z)): 0.5 at 0, near 1 for large z.")
p, t = np.array([0.9, 0.2, 0.6]), np.array([1.0, 0.0, 0.0])
p_before = p.copy()
L = labs.call(binary_cross_entropy, p, t)
check(np.ndim(L) == 0, f"binary_cross_entropy must return one number (the mean), got shape {np.shape(L)}.")
check(np.array_equal(p, p_before), "binary_cross_entropy changed its input p (np.clip(p, ..., out=p) or "
      "p[...] = ...): write p = np.clip(p, ...), which makes a new array.")
check(float(L) >= 0, f"binary_cross_entropy gave {float(L):.4g}, but the loss is never negative: is the "
      "minus sign missing?")
check_close(L, -(np.log(0.9) + np.log(0.8) + np.log(0.4)) / 3, "binary_cross_entropy([0.9, 0.2, 0.6], [1, 0, 0])",
            hint="For t = 1 the loss is -log p, for t = 0 it is -log(1 - p); then the mean over the batch, "
                 "not the sum.")
p_sure = np.array([1.0, 0.0])
sure = labs.call(binary_cross_entropy, p_sure, np.array([0.0, 1.0]))
check(np.array_equal(p_sure, [1.0, 0.0]), "binary_cross_entropy changed its input p (np.clip(p, ..., out=p) "
      "or p[...] = ...): write p = np.clip(p, ...), which makes a new array.")
check(np.isfinite(sure) and sure > 20, f"two sure but wrong answers (p = 1 for t = 0, p = 0 for t = 1) gave "
      f"{float(sure):.4g}: it should be large and finite (about 27.6). Clip p to [1e-12, 1 - 1e-12] before np.log.")
labs.check_pieces("neuron_gradients", sigmoid=sigmoid, binary_cross_entropy=binary_cross_entropy)
rng = np.random.default_rng(3)
Xn, tn = rng.normal(size=(5, 4)), np.array([1.0, 0.0, 0.0, 1.0, 0.0])
wn, bn = rng.normal(size=4) * 0.5, 0.1
wn_before = wn.copy()


def neuron_loss():
    """The loss for the current wn, bn, computed without your functions."""
    pn = 1 / (1 + np.exp(-(Xn @ wn + bn)))
    return -np.mean(tn * np.log(pn) + (1 - tn) * np.log(1 - pn))


out = labs.call(neuron_gradients, Xn, tn, wn, bn, hint="Shapes: X (N, D), w (D,), so z = X @ w + b is (N,).")
check(isinstance(out, (tuple, list)) and len(out) == 3, "neuron_gradients must return (loss, dw, db).")
check(np.array_equal(wn, wn_before), "neuron_gradients changed w: it must only compute the gradients.")
loss, dw, db = out
check_close(loss, neuron_loss(), "the neuron's loss", hint="It is binary_cross_entropy(sigmoid(X @ w + b), t).")
check(np.ndim(db) == 0, f"db must be one number (the bias is one number), got shape {np.shape(db)}: "
      "sum delta over the batch.")
check_gradient(dw, labs.numerical_gradient(neuron_loss, wn), "dw", batch_size=5, hint="dw = X.T @ (p - t) / N.")
bn_box = np.array([bn])


def neuron_loss_b():
    pn = 1 / (1 + np.exp(-(Xn @ wn + bn_box[0])))
    return -np.mean(tn * np.log(pn) + (1 - tn) * np.log(1 - pn))


check_gradient(np.array([db]), labs.numerical_gradient(neuron_loss_b, bn_box), "db", batch_size=5,
               hint="db = (p - t) / N summed over the batch.")
print("neuron: all visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_neuron_hidden", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Hidden tests for the neuron (2 points): they run when the notebook is graded.
### BEGIN HIDDEN TESTS
_rng = np.random.default_rng(17)
_z = _rng.normal(size=(3, 4)) * 30
check_close(labs.call(sigmoid, _z), np.where(_z >= 0, 1 / (1 + np.exp(-np.abs(_z))),
                                             np.exp(-np.abs(_z)) / (1 + np.exp(-np.abs(_z)))),
            "sigmoid of a (3, 4) array of large scores")
_p, _t = _rng.uniform(0.01, 0.99, size=40), (_rng.uniform(size=40) < 0.5).astype(float)
check_close(labs.call(binary_cross_entropy, _p, _t), -np.mean(_t * np.log(_p) + (1 - _t) * np.log(1 - _p)),
            "binary_cross_entropy of 40 random probabilities")
for _N, _D in [(1, 3), (12, 6)]:
    _X, _tt = _rng.normal(size=(_N, _D)), (_rng.uniform(size=_N) < 0.5).astype(float)
    _w, _b = _rng.normal(size=_D), float(_rng.normal())
    _l, _dw, _db = labs.call(neuron_gradients, _X, _tt, _w, _b)
    _pp = 1 / (1 + np.exp(-(_X @ _w + _b)))
    check_close(_l, -np.mean(_tt * np.log(_pp) + (1 - _tt) * np.log(1 - _pp)), f"the loss for N={_N}, D={_D}")
    check_close(_dw, _X.T @ (_pp - _tt) / _N, f"dw for N={_N}, D={_D}")
    check_close(_db, np.sum(_pp - _tt) / _N, f"db for N={_N}, D={_D}")
### END HIDDEN TESTS

# %% [markdown]
# Train the neuron with plain gradient descent on all the training images at once: each step moves
# $w$ and $b$ a little against their gradients. Nine images in ten are *not* zeros, so a model that
# always answers "no" is already right 90 % of the time: the neuron must beat that.

# %%
is_zero = (train.y == 0).astype(float)
w, b = np.zeros(784), 0.0
for _ in range(100):
    loss, dw, db = neuron_gradients(train.x, is_zero, w, b)
    w, b = w - 1.0 * dw, b - 1.0 * db
said_yes = sigmoid(test.x @ w + b) > 0.5
neuron_acc = float(np.mean(said_yes == (test.y == 0)))
always_no = float(np.mean(test.y != 0))
print(f"loss after 100 steps: {loss:.4f}")
labs.lesson("one trained neuron beats always answering 'not a zero'", neuron_acc > always_no + 0.05,
            f"the neuron is right on {neuron_acc:.2%} of the test images, 'always no' on {always_no:.2%}", run)
labs.show_templates(w[:, None], title="the neuron's weights: red pixels say 'zero', blue ones say 'not zero'")

# %% [markdown]
# Ten classes need ten such neurons, one score per class, and a way to turn ten scores into ten
# probabilities that sum to 1. That is softmax; for two classes with scores $(z, 0)$ it gives back
# the sigmoid, $e^z / (e^z + e^0) = \sigma(z)$.

# %% [markdown]
# ## 3. Ten classes: a score per class, and softmax
#
# The model gives each class $k$ a score: a weighted sum of the 784 pixels plus a bias — one
# *neuron* per class. For a batch of $N$ images stacked in the rows of $X$ (shape $N \times 784$),
# all scores at once are
#
# $$Z = X W + b, \qquad W \in \mathbb{R}^{784 \times 10},\; b \in \mathbb{R}^{10},\; Z \in \mathbb{R}^{N \times 10}.$$
#
# **Softmax** turns each row of scores into probabilities: positive, summing to 1, larger score →
# larger probability.
#
# $$p_k = \frac{e^{z_k}}{\sum_{j=1}^{C} e^{z_j}}$$
#
# One trap: $e^{1000}$ overflows to `inf`. Subtracting the row's largest score $m$ from every score
# changes nothing (the factor $e^{-m}$ cancels) and keeps every exponent $\le 0$:
# $p_k = e^{z_k - m} / \sum_j e^{z_j - m}$.
#
# **Your turn.** Write `softmax` for a batch: `Z` has one row per image. Useful: `Z.max(axis=1,
# keepdims=True)`, `np.exp`, `.sum(axis=1, keepdims=True)` (`keepdims` keeps the shape `(N, 1)`
# so that the division broadcasts over each row).

# %% nbgrader={"grade": false, "grade_id": "softmax", "locked": false, "schema_version": 3, "solution": true, "task": false}
def softmax(Z):
    """Row-wise softmax. Z: (N, C) scores -> (N, C) probabilities; each row sums to 1."""
    ### BEGIN SOLUTION
    Z = Z - Z.max(axis=1, keepdims=True)  # the same result, and no overflow
    E = np.exp(Z)
    return E / E.sum(axis=1, keepdims=True)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_softmax", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Tests for softmax (2 points)
Z = np.array([[1.0, 2.0, 3.0],
              [0.0, 0.0, 0.0],
              [-1.0, 5.0, 2.0],
              [3.0, 1.0, 0.5]])
Z_before = Z.copy()
P = labs.call(softmax, Z, hint="E.sum(axis=1) has shape (N,), which does not broadcast against E "
              "(N, C); E.sum(axis=1, keepdims=True) has shape (N, 1) and divides each row by its own sum.")
check_shape(P, Z.shape, "softmax(Z)", hint="Softmax gives one probability per score.")
check(np.array_equal(Z, Z_before), "softmax changed its input Z: `Z -= ...` (or `Z /= ...`) writes into the "
      "caller's array. Write `Z = Z - Z.max(axis=1, keepdims=True)`, which makes a new array.")
check(not np.all(np.asarray(P) <= 0), "every value softmax returned is ≤ 0: those are log-probabilities "
      "(log-softmax). Softmax returns probabilities, E / E.sum(axis=1, keepdims=True), without np.log.")
check(np.all(np.asarray(P) >= 0), "probabilities cannot be negative: exponentiate the scores before normalising.")
rows = np.asarray(P).sum(axis=1)
worst = int(np.argmax(np.abs(rows - 1)))
check(np.allclose(rows, 1), f"each row of softmax must sum to 1; row {worst} sums to {rows[worst]:.3g}. "
      "Did you normalise over the right axis? The classes are axis 1, and keepdims=True makes "
      "the sums broadcast over each row.")
check_close(P[0], [0.09003057, 0.24472847, 0.66524096], "softmax of [1, 2, 3]")
check_close(P[1], [1 / 3, 1 / 3, 1 / 3], "softmax of equal scores",
            hint="Equal scores must give equal probabilities.")
big = labs.call(softmax, np.array([[1000.0, 1000.0, 0.0]]))
check(np.all(np.isfinite(big)), "softmax([1000, 1000, 0]) gives nan or inf because e**1000 overflows. "
      "Subtract each row's maximum before np.exp: it does not change the result.")
check_close(big, [[0.5, 0.5, 0.0]], "softmax of [1000, 1000, 0]")
far = labs.call(softmax, np.array([[1000.0, 999.0], [-1000.0, -1001.0]]))
check_shape(far, (2, 2), "softmax of two rows of two scores")
bad = np.flatnonzero(~np.all(np.isfinite(np.asarray(far, dtype=float)), axis=1)).tolist()
check(not bad, f"softmax of the rows [1000, 999] and [-1000, -1001] gives nan in row {', '.join(map(str, bad))}. "
      "Subtract each row's own maximum, Z.max(axis=1, keepdims=True), not one maximum of the whole batch "
      "(Z.max()): with 1000 taken from row 0, row 1 becomes e**-2000 / (e**-2000 + e**-2001), and both "
      "underflow to 0, so 0 / 0 = nan.")
check_close(far, [[0.73105858, 0.26894142], [0.73105858, 0.26894142]], "softmax of [1000, 999] and "
            "[-1000, -1001]", hint="Both rows have the same differences between scores, so the same "
            "probabilities; subtract each row's own maximum.")
wide = labs.call(softmax, np.array([[-1500.0, 0.0, 1500.0], [0.0, 2900.0, 3000.0]]))
check(np.all(np.isfinite(np.asarray(wide, dtype=float))), "softmax of rows that span thousands, [-1500, 0, 1500] "
      "and [0, 2900, 3000], gives nan or inf: after your shift some score is still above about 709, and "
      "e**710 overflows. Only subtracting each row's maximum is safe for every row: the largest exponent is then "
      "e**0 = 1 (subtracting the row's mean, its middle or its minimum is not).")
check_close(wide, [[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]], "softmax of [-1500, 0, 1500] and [0, 2900, 3000]",
            hint="The largest score wins with probability 1 when it is 100 or more above the others.")
print("softmax: all visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_softmax_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Hidden tests for softmax (1 point): they run when the notebook is graded.
### BEGIN HIDDEN TESTS
_rng = np.random.default_rng(11)
_Z = _rng.normal(size=(7, 10)) * 4
_Zc = _Z.copy()
_E = np.exp(_Z - _Z.max(axis=1, keepdims=True))
check_close(labs.call(softmax, _Z), _E / _E.sum(axis=1, keepdims=True), "softmax of random scores")
check(np.array_equal(_Z, _Zc), "softmax must not change its input Z in place (use Z = Z - ..., not Z -= ...).")
check_close(labs.call(softmax, _Z + 500.0), _E / _E.sum(axis=1, keepdims=True), "softmax(Z + 500)",
            hint="Adding a constant to every score of a row must not change the probabilities.")
check_close(labs.call(softmax, np.full((1, 4), -1000.0)), [[0.25] * 4], "softmax of one row of very negative scores")
check_close(labs.call(softmax, np.array([[0.0, 2.0], [-3000.0, -2998.0]])), [[0.11920292, 0.88079708]] * 2,
            "softmax of rows far apart", hint="Subtract each row's own maximum, not the batch's.")
check_shape(labs.call(softmax, _Z.astype(np.float32)), (7, 10), "softmax of float32 scores")
### END HIDDEN TESTS

# %% [markdown]
# A picture of what softmax does: the same scores, multiplied by a factor (a "temperature"). Larger
# score differences make softmax more confident; equal scores give a uniform guess.

# %%
scores = np.array([[1.0, 2.0, 0.5, 3.0, 0.0]])
fig, axes = plt.subplots(1, 3, figsize=(11, 2.6), sharey=True)
for ax, factor in zip(axes, [0.2, 1.0, 5.0]):
    ax.bar(range(5), softmax(scores * factor)[0])
    ax.set(title=f"softmax({factor:g} × scores)", xlabel="class", ylim=(0, 1))
axes[0].set_ylabel("probability")
plt.show()

# %% [markdown]
# ## 4. One-hot labels and the cross-entropy loss
#
# A label $y_n \in \{0, \dots, 9\}$ is written as a **one-hot** row $Y_n$: all zeros except a 1 in
# column $y_n$. The **cross-entropy** loss is the average, over the batch, of minus the log of the
# probability the model gives to the true class:
#
# $$L = -\frac{1}{N} \sum_{n=1}^{N} \log p_{n, y_n} = -\frac{1}{N} \sum_{n=1}^{N} \sum_{k=1}^{C} Y_{nk} \log P_{nk}.$$
#
# A confident right answer ($p \to 1$) costs almost nothing; a confident wrong one ($p \to 0$)
# costs a lot. Guessing $1/10$ for every class costs $\log 10 \approx 2.30$ per image.

# %%
p = np.linspace(0.005, 1, 200)
plt.figure(figsize=(4.5, 2.8))
plt.plot(p, -np.log(p))
plt.axvline(0.1, ls=":", c="grey")
plt.xlabel("probability of the true class")
plt.ylabel("loss  -log p")
plt.title("the cost of one prediction")
plt.show()


# %% [markdown]
# **Your turn.** Write `one_hot`, then `cross_entropy`. Fancy indexing picks one entry per row:
# `P[np.arange(N), y]` is the array `[P[0, y[0]], P[1, y[1]], ...]`.

# %% nbgrader={"grade": false, "grade_id": "one_hot", "locked": false, "schema_version": 3, "solution": true, "task": false}
def one_hot(y, num_classes=10):
    """Integer labels y (N,) -> (N, num_classes) array of 0.0 and 1.0 with Y[n, y[n]] = 1."""
    ### BEGIN SOLUTION
    Y = np.zeros((len(y), num_classes))
    Y[np.arange(len(y)), y] = 1.0
    return Y
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_one_hot", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Tests for one_hot (1 point)
Y = labs.call(one_hot, np.array([2, 0, 1, 2]), 3, hint="Start from np.zeros((len(y), num_classes)) and "
              "set one entry per row.")
check_shape(Y, (4, 3), "one_hot([2, 0, 1, 2], 3)", hint="One row per label, one column per class.")
check_close(Y, [[0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]], "one_hot([2, 0, 1, 2], 3)",
            hint="Row n holds a single 1, in column y[n].")
check_shape(labs.call(one_hot, np.arange(10)), (10, 10), "one_hot(y) with the default num_classes",
            hint="Without num_classes, use 10 classes.")
check_shape(labs.call(one_hot, np.array([0, 1, 1]), 4), (3, 4), "one_hot([0, 1, 1], 4)",
            hint="A batch need not hold every class: size the columns from num_classes, not from y.max() + 1.")
print("one_hot: all visible tests passed")


# %% nbgrader={"grade": false, "grade_id": "cross_entropy", "locked": false, "schema_version": 3, "solution": true, "task": false}
def cross_entropy(P, y):
    """Mean cross-entropy of probabilities P (N, C) for integer labels y (N,): one float."""
    ### BEGIN SOLUTION
    N = len(y)
    return float(-np.log(P[np.arange(N), y]).mean())
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_cross_entropy", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Tests for cross_entropy (2 points)
P = np.array([[0.7, 0.2, 0.1],
              [0.1, 0.1, 0.8]])
L = labs.call(cross_entropy, P, np.array([0, 2]), hint="Pick one probability per row with "
              "P[np.arange(N), y], take -np.log of them and their mean.")
check(L is not None, "cross_entropy returned None: did you forget the `return`?")
check(np.ndim(L) == 0, f"cross_entropy must return one number (the mean over the batch), got shape {np.shape(L)}.")
check(L >= 0, f"cross_entropy gave {float(L):.4g}, but -log p is never negative: is the minus sign missing?")
check(not np.isclose(L, -np.log(P[:, [0, 2]]).mean()) and not np.isclose(L, -np.log(P[:, [0, 2]]).sum()),
      f"cross_entropy(P, [0, 2]) gave {float(L):.4g}, the loss of P[:, y]: that takes the columns y of "
      "every row, an N x N block (here P[0, 0], P[0, 2], P[1, 0], P[1, 2]), not one entry per row. "
      "P[np.arange(N), y] pairs row n with column y[n]: [P[0, 0], P[1, 2]].")
check_close(L, -(np.log(0.7) + np.log(0.8)) / 2, "cross_entropy(P, [0, 2])",
            hint="It is the mean over the batch of -log(probability of the true class); "
                 "a sum instead of a mean is N times too big.")
check_close(labs.call(cross_entropy, np.full((5, 10), 0.1), np.arange(5)), np.log(10),
            "the loss of a uniform guess over 10 classes",
            hint="Guessing 1/10 for every class costs -log(0.1) = 2.303 per image.")
print("cross_entropy: all visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_loss_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Hidden tests for one_hot and cross_entropy (1 point): they run when the notebook is graded.
### BEGIN HIDDEN TESTS
_rng = np.random.default_rng(5)
_y = _rng.integers(0, 10, 50)
_P = _rng.dirichlet(np.ones(10), size=50)
check_close(labs.call(cross_entropy, _P, _y), -np.log(_P[np.arange(50), _y]).mean(),
            "cross_entropy on 50 random rows", hint="Only the probability of the true class counts.")
check_close(labs.call(cross_entropy, _P[:1], _y[:1]), -np.log(_P[0, _y[0]]), "cross_entropy of a batch of one")
check_close(labs.call(cross_entropy, _P.astype(np.float32), _y), -np.log(_P[np.arange(50), _y]).mean(),
            "cross_entropy of float32 probabilities", rtol=1e-5)
_Y = labs.call(one_hot, _y, 12)
check_shape(_Y, (50, 12), "one_hot(y, 12)")
check(np.array_equal(np.argmax(_Y, axis=1), _y) and np.all(_Y.sum(axis=1) == 1),
      "one_hot: each row needs exactly one 1, in column y[n].")
### END HIDDEN TESTS

# %% [markdown]
# ## 5. The gradient
#
# To lower the loss we need its gradient with respect to $W$ and $b$. Softmax and cross-entropy
# together have a famously simple derivative: for one image, $\partial(-\log p_y)/\partial z_k =
# p_k - [k = y]$ — the predicted probability minus the one-hot target. For the batch mean, with
# the chain rule through $Z = XW + b$:
#
# $$\frac{\partial L}{\partial Z} = \frac{1}{N}(P - Y), \qquad
#   \frac{\partial L}{\partial W} = X^\top \frac{P - Y}{N}, \qquad
#   \frac{\partial L}{\partial b} = \sum_{n=1}^{N} \frac{(P - Y)_n}{N}.$$
#
# Check the shapes: $X^\top$ is $784 \times N$, $P - Y$ is $N \times 10$, so $\partial L / \partial W$
# is $784 \times 10$, like $W$. A gradient always has the shape of its parameter.
#
# **How we test it: central differences.** Nudge one weight up and down by a tiny $h$ and watch the
# loss: $\partial L/\partial w \approx \big(L(w + h) - L(w - h)\big) / 2h$. This is slow (two
# loss evaluations per weight), but it needs no calculus, so it is the referee for the fast
# formula. `labs.numerical_gradient(f, w)` does it for every entry of `w`.
#
# **Your turn.** Write `logreg_gradients`, reusing `softmax`, `cross_entropy` and `one_hot`.

# %% nbgrader={"grade": false, "grade_id": "logreg_gradients", "locked": false, "schema_version": 3, "solution": true, "task": false}
def logreg_gradients(X, y, W, b):
    """Loss and gradients of softmax regression on one batch.

    X: (N, D) inputs, y: (N,) integer labels, W: (D, C) weights, b: (C,) biases.
    Returns (loss, dW, db): the mean cross-entropy (a float), dW (D, C) and db (C,).
    """
    ### BEGIN SOLUTION
    N = len(y)
    P = softmax(X @ W + b)
    loss = cross_entropy(P, y)
    delta = (P - one_hot(y, W.shape[1])) / N  # dL/dZ
    return loss, X.T @ delta, delta.sum(axis=0)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_logreg_gradients", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Tests for logreg_gradients (3 points): your gradient against central differences
rng = np.random.default_rng(0)
Xs, ys = rng.normal(size=(6, 4)), np.array([0, 1, 2, 2, 1, 0])
Ws, bs = rng.normal(size=(4, 3)) * 0.5, rng.normal(size=3) * 0.1


def loss_only():
    """The loss for the current Ws, bs, computed without your functions."""
    Zs = Xs @ Ws + bs
    Zs = Zs - Zs.max(axis=1, keepdims=True)
    logP = Zs - np.log(np.exp(Zs).sum(axis=1, keepdims=True))
    return -logP[np.arange(len(ys)), ys].mean()


labs.check_pieces("logreg_gradients", softmax=softmax, cross_entropy=cross_entropy, one_hot=one_hot)
Ws_before, bs_before = Ws.copy(), bs.copy()
out = labs.call(logreg_gradients, Xs, ys, Ws, bs,
                hint="This test has 3 classes: P is (N, 3), so build the targets with one_hot(y, W.shape[1]); "
                     "one_hot(y) alone makes 10 columns. Shapes: X (N, D), W (D, C), P and Y (N, C).")
check(np.array_equal(Ws, Ws_before) and np.array_equal(bs, bs_before), "logreg_gradients changed W or b: "
      "it must only compute the gradients (the SGD step updates the weights later). Look for W -= ... or "
      "W[...] = ... in it.")
check(isinstance(out, (tuple, list)) and len(out) == 3, "logreg_gradients must return a tuple (loss, dW, db).")
loss, dW, db = out
check_close(loss, loss_only(), "the loss", hint="It is cross_entropy(softmax(X @ W + b), y).")
check_gradient(dW, labs.numerical_gradient(loss_only, Ws), "dW", batch_size=len(ys),
               hint="dW = X.T @ (P - Y) / N.")
check_gradient(db, labs.numerical_gradient(loss_only, bs), "db", batch_size=len(ys),
               hint="db = (P - Y) / N summed over the batch (axis 0).")
print("logreg_gradients: all visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_logreg_gradients_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Hidden tests for logreg_gradients (1 point): they run when the notebook is graded.
### BEGIN HIDDEN TESTS
_rng = np.random.default_rng(21)
for _N, _D, _C in [(1, 3, 4), (9, 7, 5)]:
    _X, _y = _rng.normal(size=(_N, _D)), _rng.integers(0, _C, _N)
    _W, _b = _rng.normal(size=(_D, _C)), _rng.normal(size=_C)
    _W0, _b0 = _W.copy(), _b.copy()

    def _loss(_X=_X, _W=_W, _b=_b, _N=_N, _y=_y):  # numerical_gradient nudges _W and _b in place
        _Z = _X @ _W + _b
        _Z = _Z - _Z.max(axis=1, keepdims=True)
        return -(_Z - np.log(np.exp(_Z).sum(axis=1, keepdims=True)))[np.arange(_N), _y].mean()

    _l, _dW, _db = labs.call(logreg_gradients, _X, _y, _W, _b)
    check(np.array_equal(_W, _W0) and np.array_equal(_b, _b0), "logreg_gradients must not change W or b.")
    check_close(_l, _loss(), f"the loss for N={_N}, D={_D}, C={_C}")
    check_gradient(_dW, labs.numerical_gradient(_loss, _W), f"dW for N={_N}, D={_D}, C={_C}", batch_size=_N)
    check_gradient(_db, labs.numerical_gradient(_loss, _b), f"db for N={_N}, D={_D}, C={_C}", batch_size=_N)
### END HIDDEN TESTS

# %% [markdown]
# ## 6. Minibatch stochastic gradient descent
#
# Gradient descent steps against the gradient, with a **learning rate** $\eta$:
#
# $$W \leftarrow W - \eta \frac{\partial L}{\partial W}, \qquad b \leftarrow b - \eta \frac{\partial L}{\partial b}.$$
#
# Computing the gradient over all 60 000 images for every step is slow. **Minibatch SGD** shuffles
# the images, cuts them into batches of $B$ (here 100) and takes one step per batch: a noisy but
# cheap estimate of the full gradient. One pass over all batches is an **epoch**.
#
# **Your turn.** Write `minibatches`: shuffle the indices `0 … n-1` with `rng.permutation(n)` and
# cut them into consecutive pieces of `batch_size`.

# %% nbgrader={"grade": false, "grade_id": "minibatches", "locked": false, "schema_version": 3, "solution": true, "task": false}
def minibatches(n, batch_size, rng):
    """Split the indices 0..n-1, shuffled, into batches: a list of index arrays.

    Every index appears exactly once. All batches hold batch_size indices except perhaps
    the last, which holds the rest. rng is a np.random.Generator (use it for the shuffle).
    """
    ### BEGIN SOLUTION
    order = rng.permutation(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_minibatches", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Tests for minibatches (2 points)
batches = list(labs.call(minibatches, 10, 4, np.random.default_rng(0),
                         hint="order = rng.permutation(n), then slices order[i:i + batch_size]."))
sizes = [len(b) for b in batches]
check(sizes == [4, 4, 2], f"minibatches(10, 4, rng) should give batches of sizes [4, 4, 2], got {sizes}. "
      "The last batch keeps the leftover indices; none is dropped or repeated.")
seen = np.sort(np.concatenate(batches))
check(np.array_equal(seen, np.arange(10)), f"every index 0..9 must appear exactly once, got {seen.tolist()}.")
order = np.concatenate(list(labs.call(minibatches, 100, 10, np.random.default_rng(0))))
check(not np.array_equal(order, np.arange(100)), "the batches are not shuffled: the indices come out in "
      "order 0, 1, 2, ... Shuffle with rng.permutation(n) first, so that every batch mixes all classes.")
odd = list(labs.call(minibatches, 9, 4, np.random.default_rng(0)))
check(sorted(np.concatenate(odd).tolist()) == list(range(9)), "minibatches(9, 4, rng) must hold every index "
      f"0..8 exactly once, got {sorted(np.concatenate(odd).tolist())}: the slices must run over range(0, n, "
      "batch_size), up to n itself.")
even = [len(b) for b in labs.call(minibatches, 12, 4, np.random.default_rng(0))]
check(even == [4, 4, 4], f"minibatches(12, 4, rng) should give batches of sizes [4, 4, 4], got {even}: when "
      "batch_size divides n there is no leftover, so no empty batch at the end (an empty batch is a step on no "
      "images, and its loss is nan). Slice over range(0, n, batch_size).")
again = np.concatenate(list(labs.call(minibatches, 100, 10, np.random.default_rng(0))))
check(np.array_equal(order, again), "two calls with the same rng seed gave different batches: shuffle with the "
      "rng you are given (rng.permutation(n)), not np.random.permutation, so that a run can be repeated.")
print("minibatches: all visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_minibatches_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Hidden tests for minibatches (1 point): they run when the notebook is graded.
### BEGIN HIDDEN TESTS
_a = [np.asarray(b) for b in labs.call(minibatches, 12, 4, np.random.default_rng(3))]
check([len(b) for b in _a] == [4, 4, 4], "minibatches(12, 4): three full batches, no empty one at the end.")
_b = [np.asarray(b) for b in labs.call(minibatches, 12, 4, np.random.default_rng(3))]
check(all(np.array_equal(u, v) for u, v in zip(_a, _b)), "the same rng seed must give the same batches: "
      "shuffle with the rng you are given, not with np.random.")
_d = np.concatenate(list(labs.call(minibatches, 1000, 100, np.random.default_rng(4))))
_e = np.concatenate(list(labs.call(minibatches, 1000, 100, np.random.default_rng(5))))
check(not np.array_equal(_d, _e) and not np.array_equal(np.sort(_d), _d),
      "different rng seeds must give different shuffles of all 1000 indices.")
_c = list(labs.call(minibatches, 5, 50, np.random.default_rng(1)))
check(len(_c) == 1 and sorted(np.asarray(_c[0]).tolist()) == [0, 1, 2, 3, 4],
      "a batch size larger than n gives one batch with everything.")
### END HIDDEN TESTS

# %% [markdown]
# Now the training loop itself. One **epoch** of minibatch SGD: cut the images into shuffled batches
# with your `minibatches`, and for each batch compute the loss and gradients with your
# `logreg_gradients` on that batch only, then step: $W \leftarrow W - \eta\, dW$,
# $b \leftarrow b - \eta\, db$. Also write `accuracy`: the fraction of images whose highest score
# is their label.
#
# **Your turn.** Write `accuracy` and `sgd_epoch`.

# %% nbgrader={"grade": false, "grade_id": "sgd_epoch", "locked": false, "schema_version": 3, "solution": true, "task": false}
def accuracy(X, y, W, b):
    """The fraction (a float in [0, 1]) of the rows of X whose highest score X @ W + b is at their label y."""
    ### BEGIN SOLUTION
    predictions = (X @ W + b).argmax(axis=1)
    return float(np.mean(predictions == y))
    ### END SOLUTION


def sgd_epoch(X, y, W, b, lr, batch_size, rng):
    """One epoch of minibatch SGD for softmax regression.

    For each batch of minibatches(len(X), batch_size, rng), in order: the loss and gradients of
    logreg_gradients on that batch, then W <- W - lr * dW and b <- b - lr * db.
    Returns (W, b, losses): the weights after the epoch and the list of the batch losses, in order.
    """
    ### BEGIN SOLUTION
    losses = []
    for idx in minibatches(len(X), batch_size, rng):
        Xb, yb = X[idx], y[idx]
        loss, dW, db = logreg_gradients(Xb, yb, W, b)
        W = W - lr * dW
        b = b - lr * db
        losses.append(loss)
    return W, b, losses
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_sgd_epoch", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Tests for accuracy and sgd_epoch (2 points)
Xa, ya = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.0]]), np.array([0, 1, 0, 0])
Wa, ba = np.array([[2.0, 0.0], [0.0, 1.0]]), np.array([0.0, 1.5])
Xa_before, Wa_before, ba_before = Xa.copy(), Wa.copy(), ba.copy()
acc = labs.call(accuracy, Xa, ya, Wa, ba, hint="(X @ W + b).argmax(axis=1) is each row's predicted class.")
check(np.ndim(acc) == 0, f"accuracy must return one number, got shape {np.shape(acc)}.")
check(np.array_equal(Xa, Xa_before) and np.array_equal(Wa, Wa_before) and np.array_equal(ba, ba_before),
      "accuracy changed X, W or b: it must only read them.")
check(not np.isclose(acc, 0.75), "accuracy on these 4 rows gave 0.75, the accuracy of the scores X @ W without "
      "the bias: the scores are X @ W + b, and here b = [0, 1.5] changes two predictions.")
check_close(acc, 0.5, "accuracy on 4 rows (scores [2, 1.5], [0, 2.5], [2, 2.5], [-2, 1.5], labels 0, 1, 0, 0)",
            hint="The predicted classes are the argmax over axis 1 (the classes): 0, 1, 1, 1. Against the "
                 "labels 0, 1, 0, 0 that is 2 right of 4: the mean of (predictions == y).")
check(0 <= acc <= 1, f"accuracy is a fraction between 0 and 1, got {float(acc):.4g}.")
labs.check_pieces("sgd_epoch", softmax=softmax, one_hot=one_hot, cross_entropy=cross_entropy)
rng = np.random.default_rng(4)
Xs, ys = rng.normal(size=(10, 4)), np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
Ws, bs = rng.normal(size=(4, 3)) * 0.1, np.zeros(3)
given = np.random.default_rng(7)
Ws_before, bs_before = Ws.copy(), bs.copy()
W1, b1, losses = labs.call(sgd_epoch, Xs, ys, Ws, bs, 0.5, 4, given,
                           hint="for idx in minibatches(len(X), batch_size, rng): one logreg_gradients call on "
                                "X[idx], y[idx], then the step.")
check(np.array_equal(Ws, Ws_before) and np.array_equal(bs, bs_before), "sgd_epoch changed the caller's W or b "
      "(W -= lr * dW writes into the array it was given): write W = W - lr * dW, a new array, and return it. "
      "The caller keeps its starting weights, for instance to try several learning rates from the same start.")
Ws, bs = Ws_before, bs_before
used = np.random.default_rng(7)
used.permutation(10)
check(given.bit_generator.state == used.bit_generator.state, "sgd_epoch must shuffle once, with the rng it is "
      "given: minibatches(len(X), batch_size, rng), so that the same seed repeats the same epoch.")
expected = labs.reference_sgd_epoch(Xs, ys, Ws, bs, 0.5, 4, np.random.default_rng(7))
check(len(losses) == 3, f"10 images in batches of 4 make 3 steps (4, 4 and 2 images), so 3 losses, got "
      f"{len(losses)}: one step, and one loss, per batch.")
for name, variant in labs.sgd_epoch_mistakes(Xs, ys, Ws, bs, 0.5, 4, np.random.default_rng(7)).items():
    check(not (np.allclose(W1, variant[0]) and np.allclose(b1, variant[1])), f"sgd_epoch: {name}.")
check_close(losses, expected[2], "the batch losses", hint="Append each batch's loss, before its step, in order.")
check_close(W1, expected[0], "W after one epoch", hint="Each step: W = W - lr * dW with dW from this batch only.")
check_close(b1, expected[1], "b after one epoch", hint="Each step also moves b: b = b - lr * db.")
print("sgd_epoch: all visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_sgd_epoch_hidden", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Hidden tests for accuracy and sgd_epoch (2 points): they run when the notebook is graded.
### BEGIN HIDDEN TESTS
_rng = np.random.default_rng(29)
_X, _y = _rng.normal(size=(23, 5)), _rng.integers(0, 4, 23)
_W, _b = _rng.normal(size=(5, 4)) * 0.1, _rng.normal(size=4) * 0.1
check_close(labs.call(accuracy, _X, _y, _W, _b), np.mean((_X @ _W + _b).argmax(axis=1) == _y),
            "accuracy on 23 random rows")
_got = labs.call(sgd_epoch, _X, _y, _W.copy(), _b.copy(), 0.1, 5, np.random.default_rng(30))
_want = labs.reference_sgd_epoch(_X, _y, _W, _b, 0.1, 5, np.random.default_rng(30))
check_close(_got[2], _want[2], "the 5 batch losses of 23 images in batches of 5")
check_close(_got[0], _want[0], "W after an epoch of 23 images in batches of 5")
check_close(_got[1], _want[1], "b after an epoch of 23 images in batches of 5")
### END HIDDEN TESTS

# %% [markdown]
# Now train: start from zero weights and run your epochs. The figure updates after each epoch: the
# loss of every step (faint), its running mean, and the accuracy on the training images and on the
# test images the model never trains on.

# %%
lr = 0.5
rng = np.random.default_rng(run.seed)
W, b = np.zeros((784, 10)), np.zeros(10)
live = labs.LiveCurves("logistic regression, written by hand")
for epoch in labs.progress(range(run.quick_epochs), desc="epochs"):
    W, b, losses = sgd_epoch(train.x, train.y, W, b, lr, 100, rng)
    for step, loss in enumerate(losses):
        live.step(loss, epoch, step)
    live.epoch(epoch, accuracy=accuracy(train.x, train.y, W, b),
               val_accuracy=accuracy(test.x, test.y, W, b))
live.close()
print(f"test accuracy after {run.quick_epochs} epochs: {accuracy(test.x, test.y, W, b):.2%}")

# %% [markdown]
# ### What did it learn?
#
# Each column of $W$ holds 784 weights, one per pixel: draw it as an image. Red pixels raise the
# score of that class, blue ones lower it.

# %%
labs.show_templates(W)

# %% [markdown]
# Which digits does it mix up? A **confusion matrix** counts, for every true class $i$ and
# predicted class $j$, the test images of class $i$ the model called $j$: the diagonal holds the
# right answers, everything else a mistake.
#
# **Your turn.** Write `confusion_matrix`, and `most_confused`: the (true, predicted) pair of two
# different classes with the largest count.

# %% nbgrader={"grade": false, "grade_id": "confusion", "locked": false, "schema_version": 3, "solution": true, "task": false}
def confusion_matrix(y_true, y_pred, num_classes=10):
    """(num_classes, num_classes) int64 counts: entry [i, j] counts the samples of class i predicted as j."""
    ### BEGIN SOLUTION
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    for true, predicted in zip(y_true, y_pred):
        cm[true, predicted] += 1
    return cm
    ### END SOLUTION


def most_confused(cm):
    """The pair (i, j) of two different classes with the largest cm[i, j], as two ints."""
    ### BEGIN SOLUTION
    mistakes = cm.copy()
    np.fill_diagonal(mistakes, 0)  # the right answers are not confusions
    i, j = np.unravel_index(mistakes.argmax(), mistakes.shape)
    return int(i), int(j)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_confusion", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Tests for confusion_matrix and most_confused (1 point)
cm = labs.call(confusion_matrix, np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 0, 0]), 4,
               hint="Start from np.zeros((num_classes, num_classes), dtype=np.int64) and add 1 per sample.")
check_shape(cm, (4, 4), "confusion_matrix(y_true, y_pred, 4)",
            hint="One row and one column per class, from num_classes (class 3 never occurs here).")
check(np.asarray(cm).sum() == 6, f"the counts must add up to the 6 samples, got {np.asarray(cm).sum()}.")
check_close(cm, [[1, 1, 0, 0], [0, 1, 0, 0], [2, 0, 1, 0], [0, 0, 0, 0]], "confusion_matrix for 6 samples",
            hint="Rows are the true classes, columns the predicted ones: cm[true, predicted] += 1. Two samples "
                 "of class 2 were predicted as 0, so cm[2, 0] is 2 (and cm[0, 2] is 0).")
check(np.issubdtype(np.asarray(cm).dtype, np.integer), f"counts are integers: use dtype=np.int64, got "
      f"{np.asarray(cm).dtype}.")
cm3 = np.array([[5, 1, 0], [3, 9, 2], [0, 4, 7]])
pair = labs.call(most_confused, cm3,
                 hint="Set the diagonal to 0 on a copy (np.fill_diagonal), then np.unravel_index of the argmax.")
check(np.array_equal(cm3, [[5, 1, 0], [3, 9, 2], [0, 4, 7]]), "most_confused changed the matrix it was given "
      f"(its diagonal is now {np.diag(cm3).tolist()}, it was [5, 9, 7]): the caller's confusion matrix loses its "
      "right answers. Clear the diagonal of a copy: m = cm.copy(), then np.fill_diagonal(m, 0).")
check(isinstance(pair, (tuple, list)) and len(pair) == 2 and all(isinstance(v, (int, np.integer)) for v in pair),
      f"most_confused must return the pair (i, j) as two ints, got {type(pair).__name__} {pair!r}.")
check(tuple(np.asarray(pair).tolist()) == (2, 1), f"most_confused of [[5, 1, 0], [3, 9, 2], [0, 4, 7]] is "
      f"(2, 1): 4 samples of class 2 predicted as 1 (the diagonal's 9 are right answers, not confusions), "
      f"got {pair}.")
print("confusion: all visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_confusion_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Hidden tests for confusion_matrix and most_confused (1 point): they run when the notebook is graded.
### BEGIN HIDDEN TESTS
_rng = np.random.default_rng(44)
_t, _p = _rng.integers(0, 7, 300), _rng.integers(0, 7, 300)
_want = np.zeros((7, 7), dtype=np.int64)
np.add.at(_want, (_t, _p), 1)
check_close(labs.call(confusion_matrix, _t, _p, 7), _want, "confusion_matrix of 300 random labels")
_cm = np.diag([50, 40, 30, 20]) + np.eye(4, k=1, dtype=int)[::-1] * 3
_cm[0, 3] = 9
check(tuple(np.asarray(labs.call(most_confused, _cm)).tolist()) == (0, 3), "most_confused of a matrix whose "
      "largest off-diagonal count is at [0, 3].")
### END HIDDEN TESTS

# %%
pred = (test.x @ W + b).argmax(axis=1)
cm = confusion_matrix(test.y, pred)
labs.show_confusion(cm)
i, j = most_confused(cm)
print(f"the model most often takes a {i} for a {j} ({cm[i, j]} of the {cm[i].sum()} test images of {i})")
wrong = np.flatnonzero(pred != test.y)[:20]

# %%
labs.show_digits(test.x[wrong], test.y[wrong], pred[wrong])  # true → predicted

# %% [markdown]
# ## 7. The learning rate
#
# The learning rate is the most important setting of SGD. The next cell trains one epoch from zero
# with four learning rates and draws the loss of every step (smoothed).

# %%
fig, ax = plt.subplots(figsize=(7, 3.5))
for lr_try in [0.005, 0.05, 0.5, 20.0]:
    W_try, b_try, losses = np.zeros((784, 10)), np.zeros(10), []
    for idx in minibatches(len(train.x), 100, np.random.default_rng(run.seed)):
        with np.errstate(divide="ignore", over="ignore"):  # a too-large step may give log(0) = -inf
            loss, dW, db = logreg_gradients(train.x[idx], train.y[idx], W_try, b_try)
        W_try -= lr_try * dW
        b_try -= lr_try * db
        losses.append(min(loss, 10.0))  # clipped for the plot
    k = min(5, len(losses))
    ax.plot(np.convolve(losses, np.ones(k) / k, mode="valid"), label=f"lr = {lr_try:g}")
ax.set(xlabel="step", ylabel="training loss (running mean of 5)", ylim=(0, 3),
       title="one epoch with four learning rates")
ax.legend()
plt.show()

# %% [markdown]
# SGD is a skier in the fog: it cannot see the valley, only the slope under its feet, and steps
# downhill by the learning rate times that slope. The explorer below shows it on a loss surface of two
# weights, where the whole map can be drawn. Move the **learning rate** slider: small rates crawl,
# large ones zig-zag across the valley or fly off. (Momentum and Adam, the other two paths, come in
# section 7 and in lab 2.)

# %%
LossSurfaceExplorer()

# %% [markdown]
# **Question (2 points).** From the figure: what happens when the learning rate is too small, and
# what when it is too large? Why, in terms of the step $-\eta\,\partial L/\partial W$?

# %% [markdown] nbgrader={"grade": true, "grade_id": "learning_rate_answer", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# Too small (0.005): every step is tiny, so the loss falls slowly and is still high after a whole
# epoch; training would need many more epochs. Too large (20): the steps overshoot the minimum, so
# the loss jumps around at a high level instead of settling (it can even grow). The step is the
# gradient times the learning rate: a good rate (0.05 to 0.5 here) is large enough to move fast but
# small enough that the gradient still describes the loss over the distance moved.

# %% [markdown]
# ## 8. The same in three lines of dllab
#
# Everything above is in the library: `dl.Dense(10)` computes $XW + b$; `dl.cross_entropy` is softmax
# and cross-entropy in one op whose backward pass is exactly your $(P - Y)/N$; automatic
# differentiation chains the gradients; the `Trainer` shuffles, batches, steps and tracks accuracy.
# First, a check that the library computes the same gradient as you:

# %%
rng = np.random.default_rng(1)
Xs, ys = test.x[:5].astype(np.float64), test.y[:5]
W_lib = dl.Tensor(rng.normal(size=(784, 10)) * 0.01, requires_grad=True)
b_lib = dl.Tensor(np.zeros(10), requires_grad=True)
loss_lib = dl.cross_entropy(dl.Tensor(Xs) @ W_lib + b_lib, ys)
loss_lib.backward()
loss_mine, dW_mine, db_mine = logreg_gradients(Xs, ys, W_lib.numpy(), b_lib.numpy())
print(f"loss: yours {loss_mine:.6f}, dllab {loss_lib.item():.6f}")
gap = max(np.abs(dW_mine - W_lib.grad).max(), np.abs(db_mine - b_lib.grad).max())
size = max(np.abs(W_lib.grad).max(), np.abs(b_lib.grad).max())
# float64 on both sides: a right gradient agrees to about 1e-15 of its size; 1e-8 leaves room for rounding
labs.lesson("your hand-written gradient is the one automatic differentiation computes", gap <= 1e-8 * size,
            f"largest difference {gap:.1e} against entries up to {size:.1e}"
            + ("" if gap <= 1e-8 * size else ": more than rounding, so logreg_gradients is wrong although "
               "training may still work (SGD forgives a gradient of the wrong size); go back to it"), run)

# %% [markdown]
# Two additions make training faster. **Momentum** keeps a running sum of past gradients, so steps
# build up speed along directions where the gradient is consistent:
# $v \leftarrow \mu v + g,\; W \leftarrow W - \eta v$. A **cosine schedule** lowers the learning
# rate smoothly to 0 over the run, $\eta_t = \eta_0 \cdot \tfrac12\big(1 + \cos(\pi t / T)\big)$, so
# the last epochs take small, careful steps.
#
# The three lines: a model, a trainer, a fit. The dashboard shows the training live: epoch, step,
# loss, samples per second, the time left, and the curves. (The test images are shown in the figure
# only to watch progress; nothing is chosen with them.)

# %%
model = dl.Flatten() >> dl.Dense(10)
trainer = dl.Trainer(model, loss=dl.cross_entropy,
                     optimizer=dl.optim.SGD(lr=0.5, momentum=0.5, schedule=dl.optim.CosineLR(run.epochs)))
history = trainer.fit(train, epochs=run.epochs, batch_size=100, validation=test,
                      callbacks=[TrainingDashboard("logistic regression with dllab")])

# %%
result = trainer.evaluate(test)
labs.check_target("logistic regression", result["accuracy"], 0.92, run)
labs.show_templates(model[1].W.numpy(), title="dllab's weights, as images")

# %% [markdown]
# **Draw a digit.** Paint one with the mouse on the black pad (white ink, like MNIST). After each
# stroke your model classifies it: "the model sees" is your drawing as the model gets it (scaled and
# centred in 28 × 28 like MNIST), the bars are its probabilities. Which digits does it get right?
# Try a 4 and a 9, or a 7 with and without its cross-bar.

# %%
DigitPad(model)

# %% [markdown]
# **Question (2 points).** Look at the weight images and at the confusion matrix of section 5. Why do
# the weights of this linear model look like blurry digits? Which pair of digits does it confuse
# most often, and why is one template per class not enough for them?

# %% [markdown] nbgrader={"grade": true, "grade_id": "templates_answer", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# The score of a class is the dot product of the image with that class's weights, so training makes
# each weight image look like the pixels that are typically dark for the class (and unlike the other
# classes): a template, close to the average digits of section 1. Common confusions are 4 and 9,
# 3 and 5, or 7 and 9: they share most of their strokes and differ in a few pixels whose position
# changes from writer to writer. A single template can only score "how much does this image overlap
# the average shape"; it cannot say "a closed loop on top" wherever that loop is. That needs
# features computed from combinations of pixels — hidden layers, the subject of lab 2.

# %% [markdown]
# ## Summary
#
# * A linear model scores each class with $XW + b$; softmax turns scores into probabilities.
# * Cross-entropy punishes low probability on the true class; its gradient is $X^\top (P - Y)/N$.
# * A numerical gradient (central differences) is the referee for a hand-derived one.
# * Minibatch SGD takes one cheap, noisy step per batch; the learning rate sets the step size.
# * With all 60 000 images, this model reaches about 92 % — lab 2 adds hidden layers to pass 98 %.

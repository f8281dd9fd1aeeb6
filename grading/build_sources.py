"""Write the instructor notebooks grading/source/<lab>/<lab>.ipynb from the text in this file.

    python grading/build_sources.py            # rewrite the source notebooks
    python grading/build_sources.py --check    # exit 1 if a committed notebook differs from this file

The notebooks are generated so that a change to a lab is a reviewable diff of Python
strings, and so that every cell carries exactly nbgrader's metadata. After editing,
regenerate the student versions with ``python grading/release.py``.

Cell kinds (nbgrader schema 3):
    md / code      plain cells
    answer         a code cell the student fills in (### BEGIN/END SOLUTION is cleared)
    tests          an autograded, read-only test cell with points (visible tests)
    hidden         an autograded cell whose ### BEGIN/END HIDDEN TESTS region is removed
    written        a manually graded markdown answer (the model answer is cleared)
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import textwrap
from pathlib import Path

import nbformat
import numpy as np

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "source"

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python", "pygments_lexer": "ipython3", "file_extension": ".py",
                 "mimetype": "text/x-python", "nbconvert_exporter": "python",
                 "codemirror_mode": {"name": "ipython", "version": 3}}


def _text(s):
    return textwrap.dedent(s).strip("\n")


def _nbgrader(grade_id, *, grade=False, solution=False, locked=False, points=None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


def md(s):
    return nbformat.v4.new_markdown_cell(_text(s))


def code(s, tags=()):
    cell = nbformat.v4.new_code_cell(_text(s))
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def answer(grade_id, s):
    cell = code(s)
    cell.metadata.update(_nbgrader(grade_id, solution=True))
    return cell


def tests(grade_id, points, s):
    cell = code(s)
    cell.metadata.update(_nbgrader(grade_id, grade=True, locked=True, points=points))
    return cell


hidden = tests  # a test cell whose body sits inside ### BEGIN/END HIDDEN TESTS


def written(grade_id, points, s):
    cell = md(s)
    cell.metadata.update(_nbgrader(grade_id, grade=True, solution=True, points=points))
    return cell


def notebook(cells, title):
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": KERNELSPEC, "language_info": LANGUAGE_INFO, "title": title}
    seen = set()
    for cell in cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        base = gid or hashlib.sha1(cell.source.encode()).hexdigest()[:10]
        cid, k = base, 1
        while cid in seen:
            k += 1
            cid = f"{base}-{k}"
        seen.add(cid)
        cell.id = cid
    nb.cells = cells
    nbformat.validate(nb)
    return nb


# =====================================================================================
# Lab 1: multiclass logistic regression
# =====================================================================================


def lab1():
    c = []
    c.append(md(r'''
    # Lab 1 — Multiclass logistic regression on MNIST

    A first classifier for handwritten digits, built from the ground up. You will

    1. look at the data,
    2. write **softmax**, the **cross-entropy** loss and its **gradient** yourself, in NumPy,
    3. train the model with **minibatch stochastic gradient descent** (SGD),
    4. then do the same again in three lines of `dllab`, and reach **at least 92 %** test accuracy.

    **How this notebook works.** Run the cells from top to bottom (Shift+Enter). Cells that say
    `# YOUR CODE HERE` are yours: replace `raise NotImplementedError()` with your code. The cell
    after each answer tests it; a failing test says what is wrong and hints why. Those test cells
    carry points, and more tests run when the notebook is graded. Cells that say
    *YOUR ANSWER HERE* want a few sentences of your own. Re-run a test cell after fixing your code.

    By default everything runs on a small part of the data so that each cell takes seconds. When it
    all works, set `full = True` in the next cell and run all cells again (Kernel → Restart Kernel and
    Run All Cells) for the full-size result.
    '''))
    c.append(code(r'''
    # Parameters (a workshop or a test run may override them)
    full = False      # True: all 60 000 training images and 30 epochs (about a minute on a laptop)
    epochs = None     # None: 30 when full, else 5
    subset = None     # number of training images; None: all when full, else 6 000
    device = "auto"   # "cpu", "gpu" or "auto" (the GPU when CuPy finds one)
    seed = 0
    ''', tags=["parameters"]))
    c.append(code(r'''
    import numpy as np
    import matplotlib.pyplot as plt

    import dllab as dl
    from dllab import labs
    from dllab.labs import check, check_close, check_gradient, check_shape

    run = labs.setup(full, epochs, subset, device, seed, full_epochs=30, small_epochs=5, small_subset=6000)
    run
    '''))

    # --- 1. data ---------------------------------------------------------------------
    c.append(md(r'''
    ## 1. Look at the data

    MNIST holds 70 000 handwritten digits, each a 28 × 28 grey image: 60 000 for training and 10 000
    for testing. `dl.data.mnist(flatten=True)` reads them from the repository (nothing is downloaded)
    and gives each image as a row of 784 numbers between 0 (white) and 1 (black), with its label 0–9.
    '''))
    c.append(code(r'''
    train, test = dl.data.mnist(subset=run.subset, flatten=True)
    print(train)
    print(test)
    print("first labels:", train.y[:12])
    labs.show_digits(train.x[:30], train.y[:30])
    '''))
    c.append(md(r'''
    The classes are balanced, and most pixels are background. Averaging all images of a class gives a
    blurry "typical" digit — keep these in mind: the model below will learn something similar.
    '''))
    c.append(code(r'''
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3))
    ax1.bar(range(10), np.bincount(train.y, minlength=10))
    ax1.set(xlabel="digit", ylabel="training images", title="images per class", xticks=range(10))
    ax2.hist(train.x.ravel(), bins=50, log=True)
    ax2.set(xlabel="pixel value", ylabel="pixels (log scale)", title="pixel values")
    plt.show()
    labs.show_digits(np.stack([train.x[train.y == k].mean(axis=0) for k in range(10)]), np.arange(10))
    '''))

    # --- 2. softmax ------------------------------------------------------------------
    c.append(md(r'''
    ## 2. A score per class, and softmax

    The model gives each class $k$ a score: a weighted sum of the 784 pixels plus a bias — one
    *neuron* per class. For a batch of $N$ images stacked in the rows of $X$ (shape $N \times 784$),
    all scores at once are

    $$Z = X W + b, \qquad W \in \mathbb{R}^{784 \times 10},\; b \in \mathbb{R}^{10},\; Z \in \mathbb{R}^{N \times 10}.$$

    **Softmax** turns each row of scores into probabilities: positive, summing to 1, larger score →
    larger probability.

    $$p_k = \frac{e^{z_k}}{\sum_{j=1}^{C} e^{z_j}}$$

    One trap: $e^{1000}$ overflows to `inf`. Subtracting the row's largest score $m$ from every score
    changes nothing (the factor $e^{-m}$ cancels) and keeps every exponent $\le 0$:
    $p_k = e^{z_k - m} / \sum_j e^{z_j - m}$.

    **Your turn.** Write `softmax` for a batch: `Z` has one row per image. Useful: `Z.max(axis=1,
    keepdims=True)`, `np.exp`, `.sum(axis=1, keepdims=True)` (`keepdims` keeps the shape `(N, 1)`
    so that the division broadcasts over each row).
    '''))
    c.append(answer("softmax", r'''
    def softmax(Z):
        """Row-wise softmax. Z: (N, C) scores -> (N, C) probabilities; each row sums to 1."""
        ### BEGIN SOLUTION
        Z = Z - Z.max(axis=1, keepdims=True)  # the same result, and no overflow
        E = np.exp(Z)
        return E / E.sum(axis=1, keepdims=True)
        ### END SOLUTION
    '''))
    c.append(tests("test_softmax", 2, r'''
    # Tests for softmax (2 points)
    Z = np.array([[1.0, 2.0, 3.0],
                  [0.0, 0.0, 0.0],
                  [-1.0, 5.0, 2.0],
                  [3.0, 1.0, 0.5]])
    P = softmax(Z.copy())
    check_shape(P, Z.shape, "softmax(Z)", hint="Softmax gives one probability per score.")
    rows = np.asarray(P).sum(axis=1)
    worst = int(np.argmax(np.abs(rows - 1)))
    check(np.allclose(rows, 1), f"each row of softmax must sum to 1; row {worst} sums to {rows[worst]:.3g}. "
          "Did you normalise over the right axis? The classes are axis 1, and keepdims=True makes "
          "the sums broadcast over each row.")
    check(np.all(P >= 0), "probabilities cannot be negative: exponentiate the scores before normalising.")
    check_close(P[0], [0.09003057, 0.24472847, 0.66524096], "softmax of [1, 2, 3]")
    check_close(P[1], [1 / 3, 1 / 3, 1 / 3], "softmax of equal scores",
                hint="Equal scores must give equal probabilities.")
    big = softmax(np.array([[1000.0, 1000.0, 0.0]]))
    check(np.all(np.isfinite(big)), "softmax([1000, 1000, 0]) gives nan or inf because e**1000 overflows. "
          "Subtract each row's maximum before np.exp: it does not change the result.")
    check_close(big, [[0.5, 0.5, 0.0]], "softmax of [1000, 1000, 0]")
    print("softmax: all visible tests passed")
    '''))
    c.append(hidden("test_softmax_hidden", 1, r'''
    # Hidden tests for softmax (1 point): they run when the notebook is graded.
    ### BEGIN HIDDEN TESTS
    _rng = np.random.default_rng(11)
    _Z = _rng.normal(size=(7, 10)) * 4
    _Zc = _Z.copy()
    _E = np.exp(_Z - _Z.max(axis=1, keepdims=True))
    check_close(softmax(_Z), _E / _E.sum(axis=1, keepdims=True), "softmax of random scores")
    check(np.array_equal(_Z, _Zc), "softmax must not change its input Z in place (use Z = Z - ..., not Z -= ...).")
    check_close(softmax(_Z + 500.0), _E / _E.sum(axis=1, keepdims=True), "softmax(Z + 500)",
                hint="Adding a constant to every score of a row must not change the probabilities.")
    check_close(softmax(np.full((1, 4), -1000.0)), [[0.25] * 4], "softmax of one row of very negative scores")
    check(softmax(_Z.astype(np.float32)).shape == (7, 10), "softmax must work for float32 scores too.")
    ### END HIDDEN TESTS
    '''))
    c.append(md(r'''
    A picture of what softmax does: the same scores, multiplied by a factor (a "temperature"). Larger
    score differences make softmax more confident; equal scores give a uniform guess.
    '''))
    c.append(code(r'''
    scores = np.array([[1.0, 2.0, 0.5, 3.0, 0.0]])
    fig, axes = plt.subplots(1, 3, figsize=(11, 2.6), sharey=True)
    for ax, factor in zip(axes, [0.2, 1.0, 5.0]):
        ax.bar(range(5), softmax(scores * factor)[0])
        ax.set(title=f"softmax({factor:g} × scores)", xlabel="class", ylim=(0, 1))
    axes[0].set_ylabel("probability")
    plt.show()
    '''))

    # --- 3. loss -------------------------------------------------------------------
    c.append(md(r'''
    ## 3. One-hot labels and the cross-entropy loss

    A label $y_n \in \{0, \dots, 9\}$ is written as a **one-hot** row $Y_n$: all zeros except a 1 in
    column $y_n$. The **cross-entropy** loss is the average, over the batch, of minus the log of the
    probability the model gives to the true class:

    $$L = -\frac{1}{N} \sum_{n=1}^{N} \log p_{n, y_n} = -\frac{1}{N} \sum_{n=1}^{N} \sum_{k=1}^{C} Y_{nk} \log P_{nk}.$$

    A confident right answer ($p \to 1$) costs almost nothing; a confident wrong one ($p \to 0$)
    costs a lot. Guessing $1/10$ for every class costs $\log 10 \approx 2.30$ per image.
    '''))
    c.append(code(r'''
    p = np.linspace(0.005, 1, 200)
    plt.figure(figsize=(4.5, 2.8))
    plt.plot(p, -np.log(p))
    plt.axvline(0.1, ls=":", c="grey")
    plt.xlabel("probability of the true class")
    plt.ylabel("loss  -log p")
    plt.title("the cost of one prediction")
    plt.show()
    '''))
    c.append(md(r'''
    **Your turn.** Write `one_hot`, then `cross_entropy`. Fancy indexing picks one entry per row:
    `P[np.arange(N), y]` is the array `[P[0, y[0]], P[1, y[1]], ...]`.
    '''))
    c.append(answer("one_hot", r'''
    def one_hot(y, num_classes=10):
        """Integer labels y (N,) -> (N, num_classes) array of 0.0 and 1.0 with Y[n, y[n]] = 1."""
        ### BEGIN SOLUTION
        Y = np.zeros((len(y), num_classes))
        Y[np.arange(len(y)), y] = 1.0
        return Y
        ### END SOLUTION
    '''))
    c.append(tests("test_one_hot", 1, r'''
    # Tests for one_hot (1 point)
    Y = one_hot(np.array([2, 0, 1, 2]), 3)
    check_shape(Y, (4, 3), "one_hot([2, 0, 1, 2], 3)", hint="One row per label, one column per class.")
    check_close(Y, [[0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]], "one_hot([2, 0, 1, 2], 3)",
                hint="Row n holds a single 1, in column y[n].")
    check_shape(one_hot(np.arange(10)), (10, 10), "one_hot(y) with the default num_classes",
                hint="Without num_classes, use 10 classes.")
    print("one_hot: all visible tests passed")
    '''))
    c.append(answer("cross_entropy", r'''
    def cross_entropy(P, y):
        """Mean cross-entropy of probabilities P (N, C) for integer labels y (N,): one float."""
        ### BEGIN SOLUTION
        N = len(y)
        return float(-np.log(P[np.arange(N), y]).mean())
        ### END SOLUTION
    '''))
    c.append(tests("test_cross_entropy", 2, r'''
    # Tests for cross_entropy (2 points)
    P = np.array([[0.7, 0.2, 0.1],
                  [0.1, 0.1, 0.8]])
    L = cross_entropy(P, np.array([0, 2]))
    check(L is not None, "cross_entropy returned None: did you forget the `return`?")
    check(np.ndim(L) == 0, f"cross_entropy must return one number (the mean over the batch), got shape {np.shape(L)}.")
    check(L >= 0, f"cross_entropy gave {float(L):.4g}, but -log p is never negative: is the minus sign missing?")
    check_close(L, -(np.log(0.7) + np.log(0.8)) / 2, "cross_entropy(P, [0, 2])",
                hint="It is the mean over the batch of -log(probability of the true class); "
                     "a sum instead of a mean is N times too big.")
    check_close(cross_entropy(np.full((5, 10), 0.1), np.arange(5)), np.log(10),
                "the loss of a uniform guess over 10 classes",
                hint="Guessing 1/10 for every class costs -log(0.1) = 2.303 per image.")
    print("cross_entropy: all visible tests passed")
    '''))
    c.append(hidden("test_loss_hidden", 1, r'''
    # Hidden tests for one_hot and cross_entropy (1 point): they run when the notebook is graded.
    ### BEGIN HIDDEN TESTS
    _rng = np.random.default_rng(5)
    _y = _rng.integers(0, 10, 50)
    _P = _rng.dirichlet(np.ones(10), size=50)
    check_close(cross_entropy(_P, _y), -np.log(_P[np.arange(50), _y]).mean(), "cross_entropy on 50 random rows",
                hint="Only the probability of the true class counts.")
    check_close(cross_entropy(_P[:1], _y[:1]), -np.log(_P[0, _y[0]]), "cross_entropy of a batch of one")
    check_close(cross_entropy(_P.astype(np.float32), _y), -np.log(_P[np.arange(50), _y]).mean(),
                "cross_entropy of float32 probabilities", rtol=1e-5)
    _Y = one_hot(_y, 12)
    check_shape(_Y, (50, 12), "one_hot(y, 12)")
    check(np.array_equal(np.argmax(_Y, axis=1), _y) and np.all(_Y.sum(axis=1) == 1),
          "one_hot: each row needs exactly one 1, in column y[n].")
    ### END HIDDEN TESTS
    '''))

    # --- 4. gradient -----------------------------------------------------------------
    c.append(md(r'''
    ## 4. The gradient

    To lower the loss we need its gradient with respect to $W$ and $b$. Softmax and cross-entropy
    together have a famously simple derivative: for one image, $\partial(-\log p_y)/\partial z_k =
    p_k - [k = y]$ — the predicted probability minus the one-hot target. For the batch mean, with
    the chain rule through $Z = XW + b$:

    $$\frac{\partial L}{\partial Z} = \frac{1}{N}(P - Y), \qquad
      \frac{\partial L}{\partial W} = X^\top \frac{P - Y}{N}, \qquad
      \frac{\partial L}{\partial b} = \sum_{n=1}^{N} \frac{(P - Y)_n}{N}.$$

    Check the shapes: $X^\top$ is $784 \times N$, $P - Y$ is $N \times 10$, so $\partial L / \partial W$
    is $784 \times 10$, like $W$. A gradient always has the shape of its parameter.

    **How we test it: central differences.** Nudge one weight up and down by a tiny $h$ and watch the
    loss: $\partial L/\partial w \approx \big(L(w + h) - L(w - h)\big) / 2h$. This is slow (two
    loss evaluations per weight), but it needs no calculus, so it is the referee for the fast
    formula. `labs.numerical_gradient(f, w)` does it for every entry of `w`.

    **Your turn.** Write `logreg_gradients`, reusing `softmax`, `cross_entropy` and `one_hot`.
    '''))
    c.append(answer("logreg_gradients", r'''
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
    '''))
    c.append(tests("test_logreg_gradients", 3, r'''
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


    out = logreg_gradients(Xs, ys, Ws.copy(), bs.copy())
    check(isinstance(out, tuple) and len(out) == 3, "logreg_gradients must return a tuple (loss, dW, db).")
    loss, dW, db = out
    check_close(loss, loss_only(), "the loss", hint="It is cross_entropy(softmax(X @ W + b), y).")
    check_gradient(dW, labs.numerical_gradient(loss_only, Ws), "dW", batch_size=len(ys),
                   hint="dW = X.T @ (P - Y) / N.")
    check_gradient(db, labs.numerical_gradient(loss_only, bs), "db", batch_size=len(ys),
                   hint="db = (P - Y) / N summed over the batch (axis 0).")
    print("logreg_gradients: all visible tests passed")
    '''))
    c.append(hidden("test_logreg_gradients_hidden", 1, r'''
    # Hidden tests for logreg_gradients (1 point): they run when the notebook is graded.
    ### BEGIN HIDDEN TESTS
    _rng = np.random.default_rng(21)
    for _N, _D, _C in [(1, 3, 4), (9, 7, 5)]:
        _X, _y = _rng.normal(size=(_N, _D)), _rng.integers(0, _C, _N)
        _W, _b = _rng.normal(size=(_D, _C)), _rng.normal(size=_C)
        _W0, _b0 = _W.copy(), _b.copy()

        def _loss():
            _Z = _X @ _W + _b
            _Z = _Z - _Z.max(axis=1, keepdims=True)
            return -(_Z - np.log(np.exp(_Z).sum(axis=1, keepdims=True)))[np.arange(_N), _y].mean()

        _l, _dW, _db = logreg_gradients(_X, _y, _W, _b)
        check(np.array_equal(_W, _W0) and np.array_equal(_b, _b0), "logreg_gradients must not change W or b.")
        check_close(_l, _loss(), f"the loss for N={_N}, D={_D}, C={_C}")
        check_gradient(_dW, labs.numerical_gradient(_loss, _W), f"dW for N={_N}, D={_D}, C={_C}", batch_size=_N)
        check_gradient(_db, labs.numerical_gradient(_loss, _b), f"db for N={_N}, D={_D}, C={_C}", batch_size=_N)
    ### END HIDDEN TESTS
    '''))

    # --- 5. SGD ----------------------------------------------------------------------
    c.append(md(r'''
    ## 5. Minibatch stochastic gradient descent

    Gradient descent steps against the gradient, with a **learning rate** $\eta$:

    $$W \leftarrow W - \eta \frac{\partial L}{\partial W}, \qquad b \leftarrow b - \eta \frac{\partial L}{\partial b}.$$

    Computing the gradient over all 60 000 images for every step is slow. **Minibatch SGD** shuffles
    the images, cuts them into batches of $B$ (here 100) and takes one step per batch: a noisy but
    cheap estimate of the full gradient. One pass over all batches is an **epoch**.

    **Your turn.** Write `minibatches`: shuffle the indices `0 … n-1` with `rng.permutation(n)` and
    cut them into consecutive pieces of `batch_size`.
    '''))
    c.append(answer("minibatches", r'''
    def minibatches(n, batch_size, rng):
        """Split the indices 0..n-1, shuffled, into batches: a list of index arrays.

        Every index appears exactly once. All batches hold batch_size indices except perhaps
        the last, which holds the rest. rng is a np.random.Generator (use it for the shuffle).
        """
        ### BEGIN SOLUTION
        order = rng.permutation(n)
        return [order[i:i + batch_size] for i in range(0, n, batch_size)]
        ### END SOLUTION
    '''))
    c.append(tests("test_minibatches", 2, r'''
    # Tests for minibatches (2 points)
    batches = list(minibatches(10, 4, np.random.default_rng(0)))
    sizes = [len(b) for b in batches]
    check(sizes == [4, 4, 2], f"minibatches(10, 4, rng) should give batches of sizes [4, 4, 2], got {sizes}. "
          "The last batch keeps the leftover indices; none is dropped or repeated.")
    seen = np.sort(np.concatenate(batches))
    check(np.array_equal(seen, np.arange(10)), f"every index 0..9 must appear exactly once, got {seen.tolist()}.")
    order = np.concatenate(list(minibatches(100, 10, np.random.default_rng(0))))
    check(not np.array_equal(order, np.arange(100)), "the batches are not shuffled: the indices come out in "
          "order 0, 1, 2, ... Shuffle with rng.permutation(n) first, so that every batch mixes all classes.")
    print("minibatches: all visible tests passed")
    '''))
    c.append(hidden("test_minibatches_hidden", 1, r'''
    # Hidden tests for minibatches (1 point): they run when the notebook is graded.
    ### BEGIN HIDDEN TESTS
    _a = [np.asarray(b) for b in minibatches(12, 4, np.random.default_rng(3))]
    check([len(b) for b in _a] == [4, 4, 4], "minibatches(12, 4): three full batches, no empty one at the end.")
    _b = [np.asarray(b) for b in minibatches(12, 4, np.random.default_rng(3))]
    check(all(np.array_equal(u, v) for u, v in zip(_a, _b)), "the same rng seed must give the same batches: "
          "shuffle with the rng you are given, not with np.random.")
    _d = np.concatenate(list(minibatches(1000, 100, np.random.default_rng(4))))
    _e = np.concatenate(list(minibatches(1000, 100, np.random.default_rng(5))))
    check(not np.array_equal(_d, _e) and not np.array_equal(np.sort(_d), _d),
          "different rng seeds must give different shuffles of all 1000 indices.")
    _c = list(minibatches(5, 50, np.random.default_rng(1)))
    check(len(_c) == 1 and sorted(np.asarray(_c[0]).tolist()) == [0, 1, 2, 3, 4],
          "a batch size larger than n gives one batch with everything.")
    ### END HIDDEN TESTS
    '''))
    c.append(md(r'''
    Now train: start from zero weights and take one SGD step per minibatch. The figure updates while it
    trains: the loss of every step (faint), its running mean, and the accuracy after each epoch on the
    training images and on the test images the model never trains on.
    '''))
    c.append(code(r'''
    def accuracy(X, y, W, b):
        return float(np.mean((X @ W + b).argmax(axis=1) == y))


    lr = 0.5
    rng = np.random.default_rng(run.seed)
    W, b = np.zeros((784, 10)), np.zeros(10)
    live = labs.LiveCurves("logistic regression, written by hand")
    for epoch in range(run.quick_epochs):
        batches = minibatches(len(train.x), 100, rng)
        for step, idx in enumerate(labs.progress(batches, desc=f"epoch {epoch + 1}")):
            loss, dW, db = logreg_gradients(train.x[idx], train.y[idx], W, b)
            W -= lr * dW
            b -= lr * db
            live.step(loss, epoch, step)
        live.epoch(epoch, accuracy=accuracy(train.x, train.y, W, b),
                   val_accuracy=accuracy(test.x, test.y, W, b))
    live.close()
    print(f"test accuracy after {run.quick_epochs} epochs: {accuracy(test.x, test.y, W, b):.2%}")
    '''))
    c.append(md(r'''
    ### What did it learn?

    Each column of $W$ holds 784 weights, one per pixel: draw it as an image. Red pixels raise the
    score of that class, blue ones lower it.
    '''))
    c.append(code(r'''
    labs.show_templates(W)
    '''))
    c.append(code(r'''
    pred = (test.x @ W + b).argmax(axis=1)
    wrong = np.flatnonzero(pred != test.y)[:20]
    labs.show_confusion(dl.metrics.confusion_matrix(test.y, pred, num_classes=10))
    '''))
    c.append(code(r'''
    labs.show_digits(test.x[wrong], test.y[wrong], pred[wrong])  # true → predicted
    '''))

    # --- 6. learning rate ---------------------------------------------------------------
    c.append(md(r'''
    ## 6. The learning rate

    The learning rate is the most important setting of SGD. The next cell trains one epoch from zero
    with four learning rates and draws the loss of every step (smoothed).
    '''))
    c.append(code(r'''
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
    '''))
    c.append(md(r'''
    **Question (2 points).** From the figure: what happens when the learning rate is too small, and
    what when it is too large? Why, in terms of the step $-\eta\,\partial L/\partial W$?
    '''))
    c.append(written("learning_rate_answer", 2, r'''
    Too small (0.005): every step is tiny, so the loss falls slowly and is still high after a whole
    epoch; training would need many more epochs. Too large (20): the steps overshoot the minimum, so
    the loss jumps around at a high level instead of settling (it can even grow). The step is the
    gradient times the learning rate: a good rate (0.05 to 0.5 here) is large enough to move fast but
    small enough that the gradient still describes the loss over the distance moved.
    '''))

    # --- 7. dllab ----------------------------------------------------------------------
    c.append(md(r'''
    ## 7. The same in three lines of dllab

    Everything above is in the library: `dl.Dense(10)` computes $XW + b$; `dl.cross_entropy` is softmax
    and cross-entropy in one op whose backward pass is exactly your $(P - Y)/N$; automatic
    differentiation chains the gradients; the `Trainer` shuffles, batches, steps and tracks accuracy.
    First, a check that the library computes the same gradient as you:
    '''))
    c.append(code(r'''
    rng = np.random.default_rng(1)
    Xs, ys = test.x[:5].astype(np.float64), test.y[:5]
    W_lib = dl.Tensor(rng.normal(size=(784, 10)) * 0.01, requires_grad=True)
    b_lib = dl.Tensor(np.zeros(10), requires_grad=True)
    loss_lib = dl.cross_entropy(dl.Tensor(Xs) @ W_lib + b_lib, ys)
    loss_lib.backward()
    loss_mine, dW_mine, db_mine = logreg_gradients(Xs, ys, W_lib.numpy(), b_lib.numpy())
    print(f"loss: yours {loss_mine:.6f}, dllab {loss_lib.item():.6f}")
    print(f"largest difference in dW: {np.abs(dW_mine - W_lib.grad).max():.1e}, in db: {np.abs(db_mine - b_lib.grad).max():.1e}")
    '''))
    c.append(md(r'''
    Two additions make training faster. **Momentum** keeps a running sum of past gradients, so steps
    build up speed along directions where the gradient is consistent:
    $v \leftarrow \mu v + g,\; W \leftarrow W - \eta v$. A **cosine schedule** lowers the learning
    rate smoothly to 0 over the run, $\eta_t = \eta_0 \cdot \tfrac12\big(1 + \cos(\pi t / T)\big)$, so
    the last epochs take small, careful steps.

    The three lines: a model, a trainer, a fit. (The test images are shown in the figure only to watch
    progress; nothing is chosen with them.)
    '''))
    c.append(code(r'''
    model = dl.Flatten() >> dl.Dense(10)
    trainer = dl.Trainer(model, loss=dl.cross_entropy,
                         optimizer=dl.optim.SGD(lr=0.5, momentum=0.5, schedule=dl.optim.CosineLR(run.epochs)))
    history = trainer.fit(train, epochs=run.epochs, batch_size=100, validation=test,
                          callbacks=[labs.LiveCurves("logistic regression with dllab")])
    '''))
    c.append(code(r'''
    result = trainer.evaluate(test)
    labs.check_target("logistic regression", result["accuracy"], 0.92, run)
    labs.show_templates(model[1].W.numpy(), title="dllab's weights, as images")
    '''))
    c.append(md(r'''
    **Question (2 points).** Look at the weight images and at the confusion matrix of section 5. Why do
    the weights of this linear model look like blurry digits? Which pair of digits does it confuse
    most often, and why is one template per class not enough for them?
    '''))
    c.append(written("templates_answer", 2, r'''
    The score of a class is the dot product of the image with that class's weights, so training makes
    each weight image look like the pixels that are typically dark for the class (and unlike the other
    classes): a template, close to the average digits of section 1. Common confusions are 4 and 9,
    3 and 5, or 7 and 9: they share most of their strokes and differ in a few pixels whose position
    changes from writer to writer. A single template can only score "how much does this image overlap
    the average shape"; it cannot say "a closed loop on top" wherever that loop is. That needs
    features computed from combinations of pixels — hidden layers, the subject of lab 2.
    '''))
    c.append(md(r'''
    ## Summary

    * A linear model scores each class with $XW + b$; softmax turns scores into probabilities.
    * Cross-entropy punishes low probability on the true class; its gradient is $X^\top (P - Y)/N$.
    * A numerical gradient (central differences) is the referee for a hand-derived one.
    * Minibatch SGD takes one cheap, noisy step per batch; the learning rate sets the step size.
    * With all 60 000 images, this model reaches about 92 % — lab 2 adds hidden layers to pass 98 %.
    '''))
    return notebook(c, "Lab 1: multiclass logistic regression on MNIST")


# =====================================================================================
# Lab 2: a fully connected network
# =====================================================================================


def _literal(a, digits=8):
    return np.array2string(np.asarray(a), precision=digits, separator=", ", floatmode="maxprec",
                           max_line_width=100)


def lab2():
    from dllab import labs

    X, _, params = labs.net_fixture()
    P_relu, _ = labs.reference_forward(X, params, "relu")
    P_sig, _ = labs.reference_forward(X, params, "sigmoid")

    c = []
    c.append(md(r'''
    # Lab 2 — A fully connected network on MNIST

    Lab 1's linear model stops near 92 %. Hidden layers let a network build its own features from the
    pixels. In this lab you will

    1. write the **activation functions** and the **forward pass** of a network with two hidden layers,
    2. derive and write **backpropagation** (the δ equations) and check it with the **gradient checker**,
    3. train it, then rebuild it from `dllab` layers,
    4. compare **sigmoid vs ReLU**, **SGD vs momentum vs Adam**, **L2 and dropout**, and **early
       stopping**,
    5. and reach **at least 98 %** test accuracy.

    As in lab 1: run the cells in order, fill in the `# YOUR CODE HERE` cells, read what the test cells
    say, write short answers where asked. Everything runs small by default; set `full = True` below and
    run all cells again for the full-size result.
    '''))
    c.append(code(r'''
    # Parameters (a workshop or a test run may override them)
    full = False      # True: the final model trains on all 60 000 images for 20 epochs (a few minutes)
    epochs = None     # None: 20 when full, else 5
    subset = None     # training images of the final model; None: all when full, else 6 000
    device = "auto"   # "cpu", "gpu" or "auto" (the GPU when CuPy finds one)
    seed = 0
    ''', tags=["parameters"]))
    c.append(code(r'''
    import warnings

    import numpy as np
    import matplotlib.pyplot as plt

    import dllab as dl
    from dllab import labs
    from dllab.labs import check, check_close, check_shape

    run = labs.setup(full, epochs, subset, device, seed, full_epochs=20, small_epochs=5, small_subset=6000)
    run
    '''))
    c.append(md(r'''
    The data: all 60 000 training images, split once into 50 000 for training and 10 000 for
    **validation**. Comparisons and early stopping look at the validation images, so that the test
    images stay untouched until the very end. The comparisons train on a small part of the training
    images (`run.quick_subset`) to stay quick.
    '''))
    c.append(code(r'''
    train_all, test = dl.data.mnist(flatten=True)
    train, val = train_all.split(5 / 6, seed=0)
    quick = train.subset(run.quick_subset, seed=run.seed)
    print(train, val, quick, test, sep="\n")
    '''))

    # --- 1. activations -------------------------------------------------------------
    c.append(md(r'''
    ## 1. The neuron and its activation function

    A neuron computes a weighted sum of its inputs plus a bias, then applies a nonlinear
    **activation function**: $a = f(w^\top x + b)$. Without $f$, layers of neurons would collapse into
    one linear map — no better than lab 1. Two classic choices and their derivatives:

    $$\sigma(z) = \frac{1}{1 + e^{-z}}, \quad \sigma'(z) = \sigma(z)\,\big(1 - \sigma(z)\big);
    \qquad \mathrm{relu}(z) = \max(0, z), \quad \mathrm{relu}'(z) = \begin{cases} 1 & z > 0 \\ 0 & z \le 0 \end{cases}$$

    **Your turn.** Write the four functions; each works elementwise on an array of any shape. For large
    negative $z$, `np.exp(-z)` overflows: a stable sigmoid is `0.5 * (1 + np.tanh(0.5 * z))` (the same
    function), or use `np.exp(-np.abs(z))` with two cases.
    '''))
    c.append(answer("activations", r'''
    def sigmoid(Z):
        ### BEGIN SOLUTION
        return 0.5 * (1 + np.tanh(0.5 * Z))
        ### END SOLUTION


    def sigmoid_grad(Z):
        """The derivative of sigmoid at Z."""
        ### BEGIN SOLUTION
        s = sigmoid(Z)
        return s * (1 - s)
        ### END SOLUTION


    def relu(Z):
        ### BEGIN SOLUTION
        return np.maximum(Z, 0)
        ### END SOLUTION


    def relu_grad(Z):
        """The derivative of relu at Z: 1 where Z > 0, else 0."""
        ### BEGIN SOLUTION
        return (Z > 0).astype(Z.dtype)
        ### END SOLUTION
    '''))
    c.append(tests("test_activations", 2, r'''
    # Tests for the activations (2 points)
    z = np.array([-1000.0, -2.0, 0.0, 0.5, 3.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an overflow warning is not a mistake in itself
        s = sigmoid(z)
    check_shape(s, z.shape, "sigmoid(z)", hint="Activations work elementwise: same shape in, same shape out.")
    check(np.all(np.isfinite(s)), "sigmoid gives nan or inf for z = -1000 or 1000; use the stable form "
          "0.5 * (1 + np.tanh(0.5 * z)).")
    check_close(s, [0.0, 0.11920292, 0.5, 0.62245933, 0.95257413, 1.0], "sigmoid(z)",
                hint="sigmoid(z) = 1 / (1 + exp(-z)).")
    check_close(sigmoid_grad(np.array([0.0, 2.0])), [0.25, 0.10499359], "sigmoid_grad([0, 2])",
                hint="sigmoid'(z) = sigmoid(z) * (1 - sigmoid(z)), evaluated at z.")
    check_close(relu(np.array([-2.0, 0.0, 3.0])), [0.0, 0.0, 3.0], "relu([-2, 0, 3])")
    check_close(relu_grad(np.array([-2.0, 0.0, 3.0])), [0.0, 0.0, 1.0], "relu_grad([-2, 0, 3])",
                hint="1 where z > 0, 0 elsewhere (we take 0 at z = 0); it is not relu itself.")
    print("activations: all visible tests passed")
    '''))
    c.append(hidden("test_activations_hidden", 1, r'''
    # Hidden tests for the activations (1 point): they run when the notebook is graded.
    ### BEGIN HIDDEN TESTS
    _z = np.random.default_rng(2).normal(size=(4, 6)) * 3
    _z0 = _z.copy()
    check_close(sigmoid(_z), 1 / (1 + np.exp(-_z)), "sigmoid of a (4, 6) array")
    check_close(sigmoid_grad(_z), np.exp(-_z) / (1 + np.exp(-_z)) ** 2, "sigmoid_grad of a (4, 6) array")
    check_close(relu(_z), np.where(_z > 0, _z, 0), "relu of a (4, 6) array")
    check_close(relu_grad(_z), (_z > 0) * 1.0, "relu_grad of a (4, 6) array")
    check(np.array_equal(_z, _z0), "the activations must not change their input in place.")
    ### END HIDDEN TESTS
    '''))
    c.append(code(r'''
    z = np.linspace(-6, 6, 241)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3))
    ax1.plot(z, sigmoid(z), label="sigmoid")
    ax1.plot(z, relu(z), label="relu")
    ax1.set(title="activation", ylim=(-0.5, 3), xlabel="z")
    ax2.plot(z, sigmoid_grad(z), label="sigmoid'")
    ax2.plot(z, relu_grad(z), label="relu'")
    ax2.set(title="derivative", xlabel="z")
    for ax in (ax1, ax2):
        ax.legend()
        ax.grid(alpha=0.3)
    plt.show()
    '''))
    c.append(md(r'''
    Note the derivative of the sigmoid: at most 0.25, and almost 0 once $|z|$ is large (the neuron
    *saturates*). Backpropagation multiplies by it once per layer — keep that in mind for section 5.
    '''))

    # --- 2. forward -------------------------------------------------------------------
    c.append(md(r'''
    ## 2. The forward pass

    Our network has two hidden layers. For a batch $X$ ($N \times D$) and activation $f$:

    $$\begin{aligned}
    Z_1 &= X W_1 + b_1, & A_1 &= f(Z_1) \\
    Z_2 &= A_1 W_2 + b_2, & A_2 &= f(Z_2) \\
    Z_3 &= A_2 W_3 + b_3, & P &= \mathrm{softmax}(Z_3)
    \end{aligned}$$

    With 784 inputs, hidden layers of $H_1$ and $H_2$ units and 10 classes, $W_1$ is $784 \times H_1$,
    $W_2$ is $H_1 \times H_2$ and $W_3$ is $H_2 \times 10$. Softmax and cross-entropy come from lab 1;
    the weights start random, scaled by $\sqrt{2 / \text{inputs}}$ ("He" initialisation) so that the
    signal keeps its size from layer to layer.
    '''))
    c.append(code(r'''
    def softmax(Z):
        E = np.exp(Z - Z.max(axis=1, keepdims=True))
        return E / E.sum(axis=1, keepdims=True)


    def cross_entropy(P, y):
        return float(-np.log(P[np.arange(len(y)), y]).mean())


    def init_params(sizes, rng):
        """sizes = [D, H1, H2, C] -> {"W1": (D, H1), "b1": (H1,), ..., "b3": (C,)}"""
        params = {}
        for k in range(3):
            params[f"W{k + 1}"] = rng.normal(size=(sizes[k], sizes[k + 1])) * np.sqrt(2 / sizes[k])
            params[f"b{k + 1}"] = np.zeros(sizes[k + 1])
        return params


    ACTIVATIONS = {"relu": (relu, relu_grad), "sigmoid": (sigmoid, sigmoid_grad)}
    '''))
    c.append(md(r'''
    **Your turn.** Write `forward`. Besides the probabilities it returns a **cache**: the values the
    backward pass will need. Use exactly the keys `"X", "Z1", "A1", "Z2", "A2", "Z3"`.
    '''))
    c.append(answer("forward", r'''
    def forward(X, params, act="relu"):
        """The forward pass. Returns (P, cache): P (N, C) probabilities and a dict of the layer values."""
        f, _ = ACTIVATIONS[act]
        ### BEGIN SOLUTION
        Z1 = X @ params["W1"] + params["b1"]
        A1 = f(Z1)
        Z2 = A1 @ params["W2"] + params["b2"]
        A2 = f(Z2)
        Z3 = A2 @ params["W3"] + params["b3"]
        return softmax(Z3), {"X": X, "Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2, "Z3": Z3}
        ### END SOLUTION
    '''))
    c.append(tests("test_forward", 2, r'''
    # Tests for forward (2 points): a tiny net with 5 inputs, hidden layers of 4 and 3, 3 classes
    X, y, params = labs.net_fixture(sizes=(5, 4, 3, 3), batch=4, seed=0)
    out = forward(X, params, "relu")
    check(isinstance(out, tuple) and len(out) == 2, "forward must return a pair (P, cache).")
    P, cache = out
    check_shape(P, (4, 3), "P", hint="One row of class probabilities per input row.")
    missing = [k for k in ["X", "Z1", "A1", "Z2", "A2", "Z3"] if k not in cache]
    check(not missing, f"the cache misses {missing}: backward needs every Z and A.")
    check_shape(cache["Z1"], (4, 4), "Z1", hint="Z1 = X @ W1 + b1 has one column per unit of the first layer.")
    check_shape(cache["Z2"], (4, 3), "Z2")
    check(np.allclose(np.sum(P, axis=1), 1), "each row of P must sum to 1: apply softmax to Z3.")
    check(np.all(cache["A1"] >= 0), "A1 has negative values: apply the activation, A1 = f(Z1).")
    check_close(P, @P_RELU@, "P with relu",
                hint="Follow the equations above: each layer is (previous A) @ W + b, then f; no f after layer 3.")
    check_close(forward(X, params, "sigmoid")[0], @P_SIG@, "P with sigmoid",
                hint="Use the activation named by act: f, _ = ACTIVATIONS[act].")
    print("forward: all visible tests passed")
    '''.replace("@P_RELU@", _literal(P_relu).replace("\n", "\n                "))
       .replace("@P_SIG@", _literal(P_sig).replace("\n", "\n                "))))
    c.append(hidden("test_forward_hidden", 1, r'''
    # Hidden tests for forward (1 point): they run when the notebook is graded.
    ### BEGIN HIDDEN TESTS
    for _act in ["relu", "sigmoid"]:
        _X, _y, _p = labs.net_fixture(sizes=(7, 6, 5, 4), batch=1, seed=3)
        _P, _c = forward(_X, _p, _act)
        _Pr, _cr = labs.reference_forward(_X, _p, _act)
        check_close(_P, _Pr, f"P for a batch of one ({_act})")
        for _k in ["Z1", "A1", "Z2", "A2", "Z3"]:
            check_close(_c[_k], _cr[_k], f"cache[{_k!r}] ({_act})")
    ### END HIDDEN TESTS
    '''))

    # --- 3. backward ------------------------------------------------------------------
    c.append(md(r'''
    ## 3. Backpropagation: the δ equations

    Backpropagation is the chain rule applied layer by layer, from the loss back to the input. Call
    $\delta_\ell = \partial L / \partial Z_\ell$ the error of layer $\ell$. At the output, softmax with
    cross-entropy gives lab 1's result. Each layer then passes its δ back through its weights and
    through the derivative of the activation:

    $$\begin{aligned}
    \delta_3 &= \tfrac{1}{N}(P - Y) & \frac{\partial L}{\partial W_3} &= A_2^\top \delta_3 & \frac{\partial L}{\partial b_3} &= \textstyle\sum_n \delta_3 \\
    \delta_2 &= (\delta_3 W_3^\top) \odot f'(Z_2) & \frac{\partial L}{\partial W_2} &= A_1^\top \delta_2 & \frac{\partial L}{\partial b_2} &= \textstyle\sum_n \delta_2 \\
    \delta_1 &= (\delta_2 W_2^\top) \odot f'(Z_1) & \frac{\partial L}{\partial W_1} &= X^\top \delta_1 & \frac{\partial L}{\partial b_1} &= \textstyle\sum_n \delta_1
    \end{aligned}$$

    $\odot$ is the elementwise product and $\sum_n$ sums over the batch (axis 0). Why it works:
    $Z_3 = A_2 W_3 + b_3$, so a change in $A_2$ moves the loss by $\delta_3 W_3^\top$; and
    $A_2 = f(Z_2)$ elementwise, so a change in $Z_2$ is scaled by $f'(Z_2)$. Every weight gradient is
    (what came into the layer)$^\top$ times (the layer's δ) — the same pattern as $X^\top (P - Y)/N$
    in lab 1.

    **Your turn.** Write `backward`. It gets the cache of `forward` and returns a dict of gradients with
    the same keys as `params`. Lab 1's `one_hot` idea: `Y = np.eye(C)[y]`.
    '''))
    c.append(answer("backward", r'''
    def backward(X, y, params, cache, act="relu"):
        """Gradients of the mean cross-entropy: {"W1": dW1, "b1": db1, ..., "b3": db3}."""
        _, f_grad = ACTIVATIONS[act]
        N = len(y)
        P = softmax(cache["Z3"])
        ### BEGIN SOLUTION
        Y = np.eye(P.shape[1])[y]
        d3 = (P - Y) / N
        d2 = (d3 @ params["W3"].T) * f_grad(cache["Z2"])
        d1 = (d2 @ params["W2"].T) * f_grad(cache["Z1"])
        return {"W3": cache["A2"].T @ d3, "b3": d3.sum(axis=0),
                "W2": cache["A1"].T @ d2, "b2": d2.sum(axis=0),
                "W1": X.T @ d1, "b1": d1.sum(axis=0)}
        ### END SOLUTION
    '''))
    c.append(md(r'''
    ### Check it with the gradient checker

    `dl.gradcheck` compares the backward pass of any `dl.Function` with central differences (lab 1,
    section 4), entry by entry. Wrap your two functions as one Function — `forward` computes the loss,
    `backward` hands back your gradients — and let it judge. It reports the largest difference per
    parameter and raises an error naming the first wrong entry.
    '''))
    c.append(code(r'''
    class HandNet(dl.Function):
        """Your network's loss as a dllab op: inputs W1, b1, ..., b3; X and y are fixed."""

        def forward(self, W1, b1, W2, b2, W3, b3, X=None, y=None, act="relu"):
            self.p = dict(W1=W1, b1=b1, W2=W2, b2=b2, W3=W3, b3=b3)
            P, self.cache = forward(X, self.p, act)
            self.X, self.y, self.act = X, y, act
            return np.array(cross_entropy(P, y))

        def backward(self, g):
            grads = backward(self.X, self.y, self.p, self.cache, self.act)
            return tuple(g * grads[k] for k in ["W1", "b1", "W2", "b2", "W3", "b3"])


    X, y, params = labs.net_fixture(sizes=(5, 4, 3, 3), batch=4, seed=0)
    names = ["W1", "b1", "W2", "b2", "W3", "b3"]
    for act in ["relu", "sigmoid"]:
        report = dl.gradcheck(lambda *p: HandNet.apply(*p, X=X, y=y, act=act),
                              [params[k].copy() for k in names], names=names)
        print(act, {k: f"{v:.1e}" for k, v in report.items()})
    '''))
    c.append(tests("test_backward", 4, r'''
    # Tests for backward (4 points): every gradient against central differences, output layer first
    for act in ["relu", "sigmoid"]:
        report = labs.check_backprop(backward, act=act)
    print("backward: all visible tests passed; largest differences:", {k: f"{v:.0e}" for k, v in report.items()})
    '''))
    c.append(hidden("test_backward_hidden", 2, r'''
    # Hidden tests for backward (2 points): they run when the notebook is graded.
    ### BEGIN HIDDEN TESTS
    labs.check_backprop(backward, act="relu", sizes=(6, 7, 5, 4), batch=1, seed=4)
    labs.check_backprop(backward, act="sigmoid", sizes=(3, 5, 6, 2), batch=9, seed=5)
    # the library's automatic differentiation as a second referee
    _X, _y, _p = labs.net_fixture(sizes=(8, 6, 5, 4), batch=6, seed=6)
    _net = dl.Dense(6, activation=dl.relu) >> dl.Dense(5, activation=dl.relu) >> dl.Dense(4)
    _net(dl.Tensor(_X.astype(np.float32)))  # builds the layers; then float64 weights for the check
    for _k, _layer in zip("123", _net):
        _layer.W.data, _layer.b.data = _p["W" + _k].copy(), _p["b" + _k].copy()
    dl.cross_entropy(_net(dl.Tensor(_X)), _y).backward()
    _P, _c = labs.reference_forward(_X, _p, "relu")
    _g = backward(_X, _y, _p, _c, "relu")
    for _k, _layer in zip("123", _net):
        check_close(_g["W" + _k], _layer.W.grad, f"dW{_k} against dllab's autograd", rtol=1e-6, atol=1e-9)
        check_close(_g["b" + _k], _layer.b.grad, f"db{_k} against dllab's autograd", rtol=1e-6, atol=1e-9)
    ### END HIDDEN TESTS
    '''))

    # --- 4. train by hand ---------------------------------------------------------------
    c.append(md(r'''
    ## 4. Train your network

    Your `forward` and `backward` are all SGD needs. A network with hidden layers of 128 and 64 ReLU
    units, learning rate 0.1, batches of 64:
    '''))
    c.append(code(r'''
    rng = np.random.default_rng(run.seed)
    net = init_params([784, 128, 64, 10], rng)
    lr = 0.1


    def net_accuracy(data):
        return float(np.mean(forward(data.x, net)[0].argmax(axis=1) == data.y))


    live = labs.LiveCurves("your network, trained by hand")
    for epoch in range(run.quick_epochs):
        order = rng.permutation(len(quick))
        for step, i in enumerate(labs.progress(range(0, len(order), 64), desc=f"epoch {epoch + 1}")):
            idx = order[i:i + 64]
            P, cache = forward(quick.x[idx], net)
            grads = backward(quick.x[idx], quick.y[idx], net, cache)
            for k in net:
                net[k] -= lr * grads[k]
            live.step(cross_entropy(P, quick.y[idx]), epoch, step)
        live.epoch(epoch, accuracy=net_accuracy(quick), val_accuracy=net_accuracy(val))
    live.close()
    print(f"validation accuracy: {net_accuracy(val):.2%}")
    '''))
    c.append(md(r'''
    ## 5. The same network from dllab layers

    `dl.Dense(units, activation=...)` is one layer, $f(AW + b)$; `>>` chains layers; autograd does
    the backward pass you just wrote. A helper builds the networks for the comparisons, and another
    trains one and draws it into a shared live figure:
    '''))
    c.append(code(r'''
    def make_mlp(act=dl.relu, hidden=(400, 400), dropout=0.0):
        layers = [dl.Flatten()]
        for units in hidden:
            layers.append(dl.Dense(units, activation=act))
            if dropout:
                layers.append(dl.Dropout(dropout))
        layers.append(dl.Dense(10))
        return dl.Sequential(*layers)


    def train_run(name, model, optimizer, live, data=quick, validation=val, epochs=run.quick_epochs, **options):
        """Train `model` on `data`, draw it into `live` under `name`; returns the History."""
        dl.seed(run.seed)  # the same starting weights for every run
        trainer = dl.Trainer(model, loss=dl.cross_entropy, optimizer=optimizer)
        steps = epochs * -(-len(data) // 128)  # for the progress bar
        return trainer.fit(data, epochs=epochs, batch_size=128, validation=validation,
                           callbacks=[live.run(name, steps)], verbose=False, **options)


    print(make_mlp())
    '''))

    # --- 6. sigmoid vs relu ------------------------------------------------------------
    c.append(md(r'''
    ### Sigmoid vs ReLU

    The same network and plain SGD, once with each activation:
    '''))
    c.append(code(r'''
    live = labs.LiveCurves("sigmoid vs relu (plain SGD, lr 0.1)")
    histories = {}
    for name, act in [("sigmoid", dl.sigmoid), ("relu", dl.relu)]:
        histories[name] = train_run(name, make_mlp(act), dl.optim.SGD(lr=0.1), live)
    print(labs.summary_table(histories))
    '''))
    c.append(md(r'''
    **Question (2 points).** Which activation learned faster here? Explain it with the derivative
    figure of section 1 and the δ equations of section 3.
    '''))
    c.append(written("activation_answer", 2, r'''
    ReLU learned much faster. Each δ is multiplied by f'(Z) on its way back: the sigmoid's derivative
    is at most 0.25 and nearly 0 for saturated units, so the error signal shrinks at every layer and
    the early layers barely move (vanishing gradients). ReLU's derivative is exactly 1 for every
    active unit, so the gradient reaches the first layer undiminished.
    '''))

    # --- 7. optimizers -----------------------------------------------------------------
    c.append(md(r'''
    ### SGD and its variants

    With $g$ the gradient of a parameter $w$:

    * **SGD**: $w \leftarrow w - \eta g$.
    * **Momentum**: $v \leftarrow \mu v + g$, $\;w \leftarrow w - \eta v$ — a velocity that averages
      recent gradients; zig-zags across a narrow valley cancel, steady slopes add up.
    * **Adam**: running means of the gradient and of its square, corrected for their start at 0, give
      each weight its own step size:
      $m \leftarrow \beta_1 m + (1 - \beta_1) g$, $\;s \leftarrow \beta_2 s + (1 - \beta_2) g^2$,
      $\;w \leftarrow w - \eta \,\dfrac{m / (1 - \beta_1^t)}{\sqrt{s / (1 - \beta_2^t)} + \epsilon}$.
    '''))
    c.append(code(r'''
    live = labs.LiveCurves("SGD vs momentum vs Adam (relu)")
    optimizers = {"SGD": dl.optim.SGD(lr=0.05),
                  "momentum 0.9": dl.optim.SGD(lr=0.05, momentum=0.9),
                  "Adam": dl.optim.Adam(lr=1e-3)}
    histories = {name: train_run(name, make_mlp(), opt, live) for name, opt in optimizers.items()}
    print(labs.summary_table(histories))
    '''))
    c.append(md(r'''
    **Question (2 points).** Rank the three by how fast the training loss fell in your run. Why does
    momentum speed up plain SGD with the same learning rate?
    '''))
    c.append(written("optimizer_answer", 2, r'''
    Momentum and Adam both fell much faster than plain SGD (Adam is usually quickest in the first
    steps, momentum catches up). With momentum the step is η times a running sum of gradients: where
    successive gradients agree the velocity grows up to 1/(1 − μ) = 10 times a plain step, and where
    they alternate (across a narrow valley) they cancel. So it moves faster along the valley floor
    and oscillates less, with the same η.
    '''))

    # --- 8. regularisation ---------------------------------------------------------------
    c.append(md(r'''
    ### Regularisation: L2 and dropout

    A big network can memorise a small training set: training accuracy goes to 100 % while validation
    accuracy stalls — **overfitting**. Two remedies:

    * **L2 regularisation** adds $\frac{\lambda}{2}\sum w^2$ to the loss, so every step also shrinks the
      weights: $g \leftarrow g + \lambda w$ (`weight_decay=λ` in `dl.optim`). Small weights make a
      smoother function.
    * **Dropout** sets each hidden activation to 0 with probability $p$ during training, a different
      random set at every step, so no unit can rely on a few others. To keep the expected activation
      the same, the survivors are scaled by $1/(1 - p)$ (*inverted dropout*):
      $\tilde a = a \odot m / (1 - p)$ with $m_i \sim \text{Bernoulli}(1 - p)$. At evaluation,
      nothing is dropped.

    **Your turn.** Write inverted dropout. Draw the mask with `rng.random(A.shape) >= p` (True means
    keep). Return the output and the mask (as 0/1 floats scaled by $1/(1-p)$, so that
    `out == A * mask` — the backward pass multiplies by the same mask).
    '''))
    c.append(answer("dropout", r'''
    def dropout_forward(A, p, rng, training=True):
        """Inverted dropout. Returns (out, mask) with out == A * mask.

        training: drop each entry with probability p and scale the rest by 1 / (1 - p).
        not training (or p == 0): out is A unchanged and mask is all ones.
        """
        ### BEGIN SOLUTION
        if not training or p == 0:
            return A, np.ones_like(A)
        mask = (rng.random(A.shape) >= p) / (1 - p)
        return A * mask, mask
        ### END SOLUTION
    '''))
    c.append(tests("test_dropout", 2, r'''
    # Tests for dropout_forward (2 points)
    A = np.ones((400, 500))
    out, mask = dropout_forward(A, 0.25, np.random.default_rng(0))
    check_shape(out, A.shape, "dropout output")
    dropped = float(np.mean(out == 0))
    check(abs(dropped - 0.25) < 0.01, f"with p = 0.25 about 25 % of the entries should be 0, got {dropped:.1%}. "
          "Is p the probability to drop (not to keep)?")
    kept = np.asarray(out)[np.asarray(out) != 0]
    check(np.allclose(kept, 1 / 0.75), f"kept entries of a matrix of ones should be 1/(1-p) = {1 / 0.75:.4f}, "
          f"got {kept[:1]}: inverted dropout scales the survivors so that the mean stays the same.")
    check_close(out, A * mask, "out compared with A * mask", hint="Return the mask you applied, scaled.")
    check(abs(float(np.mean(out)) - 1) < 0.01, f"the mean activation should stay about 1, got {float(np.mean(out)):.3f}.")
    same, ones = dropout_forward(A[:3, :4] * 2, 0.5, np.random.default_rng(0), training=False)
    check_close(same, A[:3, :4] * 2, "dropout in evaluation mode", hint="When not training, return A unchanged.")
    print("dropout_forward: all visible tests passed")
    '''))
    c.append(hidden("test_dropout_hidden", 1, r'''
    # Hidden tests for dropout_forward (1 point): they run when the notebook is graded.
    ### BEGIN HIDDEN TESTS
    _A = np.random.default_rng(8).normal(size=(300, 300))
    _A0 = _A.copy()
    _o1, _m1 = dropout_forward(_A, 0.6, np.random.default_rng(4))
    _o2, _m2 = dropout_forward(_A, 0.6, np.random.default_rng(4))
    check(np.array_equal(_o1, _o2), "the same rng seed must give the same mask: draw it with the rng you are given.")
    check(np.array_equal(_A, _A0), "dropout_forward must not change A in place.")
    check(abs(np.mean(_m1 == 0) - 0.6) < 0.01, "with p = 0.6, 60 % of the mask should be 0.")
    check_close(_o1, _A * _m1, "out == A * mask for p = 0.6")
    _o3, _m3 = dropout_forward(_A, 0.0, np.random.default_rng(4))
    check_close(_o3, _A, "dropout with p = 0")
    ### END HIDDEN TESTS
    '''))
    c.append(md(r'''
    Now the experiment. To make overfitting visible within a short run, train on only 1 000 images for
    more epochs: without regularisation, with L2, and with dropout (the library's `dl.Dropout` layer
    does what you just wrote). 2 000 validation images keep it quick. Watch the gap between the dashed
    (training) and solid (validation) accuracy, and the validation loss (dots, left).
    '''))
    c.append(code(r'''
    few, val_small = train.subset(1000, seed=run.seed), val[:2000]
    reg_epochs = 4 * run.quick_epochs
    live = labs.LiveCurves(f"regularisation: {len(few)} training images, {reg_epochs} epochs")
    settings = {"none": (make_mlp(), 0.0),
                "L2 (weight_decay 1e-2)": (make_mlp(), 1e-2),
                "dropout 0.5": (make_mlp(dropout=0.5), 0.0)}
    histories = {name: train_run(name, model, dl.optim.SGD(lr=0.05, momentum=0.9, weight_decay=wd), live,
                                 data=few, validation=val_small, epochs=reg_epochs)
                 for name, (model, wd) in settings.items()}
    print(labs.summary_table(histories))
    '''))
    c.append(md(r'''
    **Question (2 points).** What did L2 and dropout do to training accuracy, validation accuracy and
    the gap between them? Why does dropout make a network generalise better?
    '''))
    c.append(written("regularisation_answer", 2, r'''
    Without regularisation the network reaches 100 % on its 1 000 training images while validation
    accuracy stays about 11 points lower, and the validation loss rises again after its minimum: it
    memorises. L2 keeps the validation loss from rising (a lower final validation loss) at about the
    same accuracy; dropout lowers training accuracy a little and gives the best validation accuracy,
    so the gap shrinks. Dropout trains a
    different random sub-network at every step, so no unit can depend on a particular other unit
    being present; each must be useful on its own, which works like averaging many networks and makes
    memorising single images harder.
    '''))

    # --- 9. early stopping ------------------------------------------------------------------
    c.append(md(r'''
    ### Early stopping

    The validation loss usually falls, reaches a minimum and rises again as the network starts to
    memorise. **Early stopping** watches it and stops once it has not improved for `patience` epochs in
    a row, then goes back to the weights of the best epoch.

    **Your turn.** Given the validation loss of every epoch, return the (1-based) epoch with the lowest
    loss so far when training stops, and the epoch at which it stops. An epoch improves when its loss is
    strictly lower than the best before it; training stops after `patience` epochs without
    improvement, or at the last epoch.
    '''))
    c.append(answer("early_stopping", r'''
    def early_stopping_epoch(val_losses, patience):
        """Returns (best_epoch, stop_epoch), both counted from 1."""
        ### BEGIN SOLUTION
        best, best_epoch, waited = None, 0, 0
        for epoch, loss in enumerate(val_losses, start=1):
            if best is None or loss < best:
                best, best_epoch, waited = loss, epoch, 0
            else:
                waited += 1
                if waited >= patience:
                    return best_epoch, epoch
        return best_epoch, len(val_losses)
        ### END SOLUTION
    '''))
    c.append(tests("test_early_stopping", 2, r'''
    # Tests for early_stopping_epoch (2 points)
    losses = [0.9, 0.6, 0.5, 0.55, 0.52, 0.58, 0.61, 0.4]
    got = early_stopping_epoch(losses, patience=3)
    check(got is not None and len(got) == 2, "early_stopping_epoch must return a pair (best_epoch, stop_epoch).")
    check(tuple(got) == (3, 6), f"for {losses} and patience 3 the answer is (3, 6), got {tuple(got)}: the best "
          "loss 0.5 is at epoch 3 (counting from 1), and epochs 4, 5, 6 do not beat it, so training stops "
          "after epoch 6 and never sees the 0.4.")
    got = early_stopping_epoch([0.9, 0.8, 0.7], patience=2)
    check(tuple(got) == (3, 3), f"a loss that keeps falling never stops early: expected (3, 3), got {tuple(got)}.")
    got = early_stopping_epoch([0.5, 0.5, 0.5], patience=2)
    check(tuple(got) == (1, 3), f"an equal loss is no improvement: for [0.5, 0.5, 0.5] and patience 2 expected "
          f"(1, 3), got {tuple(got)}.")
    print("early_stopping_epoch: all visible tests passed")
    '''))
    c.append(hidden("test_early_stopping_hidden", 1, r'''
    # Hidden tests for early_stopping_epoch (1 point): they run when the notebook is graded.
    ### BEGIN HIDDEN TESTS
    check(tuple(early_stopping_epoch([1.0], 1)) == (1, 1), "one epoch: best 1, stop 1.")
    check(tuple(early_stopping_epoch([1.0, 2.0, 0.5, 3.0], 1)) == (1, 2), "patience 1 stops at the first epoch "
          "without improvement.")
    check(tuple(early_stopping_epoch([3, 2, 2.5, 1, 1.5, 1.2, 0.9], 3)) == (7, 7),
          "the patience counter restarts after every improvement.")
    ### END HIDDEN TESTS
    '''))
    c.append(md(r'''
    The `Trainer` does the same with `early_stopping=dl.EarlyStopping(patience=...)`. On the 1 000
    images, with a generous maximum number of epochs:
    '''))
    c.append(code(r'''
    live = labs.LiveCurves("early stopping (patience 3)")
    max_epochs = 8 * run.quick_epochs
    h = train_run("early stopping", make_mlp(), dl.optim.SGD(lr=0.05, momentum=0.9), live, data=few,
                  validation=val_small, epochs=max_epochs,
                  early_stopping=dl.EarlyStopping(patience=3, monitor="val_loss"))
    print(h.stop_reason or f"ran all {max_epochs} epochs")
    print("your early_stopping_epoch says (best, stop) =", early_stopping_epoch(h["val_loss"], 3),
          f"; the Trainer: best {h.best_epoch}, stopped after {h.epochs}")
    '''))

    # --- 10. final ---------------------------------------------------------------------------
    c.append(md(r'''
    ## 6. The final model: 98 %

    Everything together: two hidden layers of 400 ReLU units, SGD with momentum 0.9, a little L2,
    a cosine learning-rate schedule, all the training images. (The test images appear in the figure only
    to watch; nothing is chosen with them.) With `full = True` this takes a few minutes on a laptop CPU.
    '''))
    c.append(code(r'''
    final_train = train_all if run.subset is None else train_all.subset(run.subset, seed=run.seed)
    dl.seed(run.seed)
    model = make_mlp(dl.relu, (400, 400))
    trainer = dl.Trainer(model, loss=dl.cross_entropy,
                         optimizer=dl.optim.SGD(lr=0.05, momentum=0.9, weight_decay=1e-4,
                                                schedule=dl.optim.CosineLR(run.epochs)))
    history = trainer.fit(final_train, epochs=run.epochs, batch_size=128, validation=test,
                          callbacks=[labs.LiveCurves("the final model")])
    '''))
    c.append(code(r'''
    result = trainer.evaluate(test)
    labs.check_target("2-hidden-layer network", result["accuracy"], 0.98, run)
    pred = trainer.predict(test).argmax(axis=1)
    wrong = np.flatnonzero(pred != test.y)[:20]
    labs.show_digits(test.x[wrong], test.y[wrong], pred[wrong])  # true → predicted
    '''))
    c.append(md(r'''
    ## Summary

    * A hidden layer is $f(AW + b)$; the nonlinearity $f$ is what makes depth useful.
    * Backpropagation: $\delta_3 = (P - Y)/N$, $\delta_\ell = (\delta_{\ell+1} W_{\ell+1}^\top) \odot f'(Z_\ell)$,
      and every weight gradient is $A_{\ell-1}^\top \delta_\ell$. A gradient checker catches mistakes.
    * ReLU keeps gradients alive where the sigmoid saturates; momentum and Adam speed up SGD.
    * L2, dropout and early stopping fight overfitting; validation data (never the test set) decides.
    * Lab 3 replaces the dense layers by convolutions, which know that pixels have neighbours.
    '''))
    return notebook(c, "Lab 2: a fully connected network on MNIST")


LABS = {"lab1_logreg": lab1, "lab2_mlp": lab2}


def build(name):
    return LABS[name]()


def path_of(name):
    return SOURCE / name / f"{name}.ipynb"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 if a notebook is stale")
    parser.add_argument("labs", nargs="*", default=list(LABS), help="which labs (default: all)")
    args = parser.parse_args(argv)
    stale = []
    for name in args.labs:
        text = nbformat.writes(build(name)) + "\n"
        path = path_of(name)
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path.relative_to(HERE.parent)}")
    if stale:
        print("out of date with grading/build_sources.py (run it):", *stale, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

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
    from dllab.widgets import DigitPad, LossSurfaceExplorer, TrainingDashboard

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
    P = labs.call(softmax, Z.copy(), hint="E.sum(axis=1) has shape (N,), which does not broadcast against E "
                  "(N, C); E.sum(axis=1, keepdims=True) has shape (N, 1) and divides each row by its own sum.")
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
    check_close(softmax(np.array([[0.0, 2.0], [-3000.0, -2998.0]])), [[0.11920292, 0.88079708]] * 2,
                "softmax of rows far apart", hint="Subtract each row's own maximum, not the batch's.")
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
    Y = labs.call(one_hot, np.array([2, 0, 1, 2]), 3, hint="Start from np.zeros((len(y), num_classes)) and "
                  "set one entry per row.")
    check_shape(Y, (4, 3), "one_hot([2, 0, 1, 2], 3)", hint="One row per label, one column per class.")
    check_close(Y, [[0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]], "one_hot([2, 0, 1, 2], 3)",
                hint="Row n holds a single 1, in column y[n].")
    check_shape(labs.call(one_hot, np.arange(10)), (10, 10), "one_hot(y) with the default num_classes",
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


    out = labs.call(logreg_gradients, Xs, ys, Ws.copy(), bs.copy(),
                    hint="This test has 3 classes: P is (N, 3), so build the targets with one_hot(y, W.shape[1]); "
                         "one_hot(y) alone makes 10 columns. Shapes: X (N, D), W (D, C), P and Y (N, C).")
    check(isinstance(out, (tuple, list)) and len(out) == 3, "logreg_gradients must return a tuple (loss, dW, db).")
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
    SGD is a skier in the fog: it cannot see the valley, only the slope under its feet, and steps
    downhill by the learning rate times that slope. The explorer below shows it on a loss surface of two
    weights, where the whole map can be drawn. Move the **learning rate** slider: small rates crawl,
    large ones zig-zag across the valley or fly off. (Momentum and Adam, the other two paths, come in
    section 7 and in lab 2.)
    '''))
    c.append(code(r'''
    LossSurfaceExplorer()
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

    The three lines: a model, a trainer, a fit. The dashboard shows the training live: epoch, step,
    loss, samples per second, the time left, and the curves. (The test images are shown in the figure
    only to watch progress; nothing is chosen with them.)
    '''))
    c.append(code(r'''
    model = dl.Flatten() >> dl.Dense(10)
    trainer = dl.Trainer(model, loss=dl.cross_entropy,
                         optimizer=dl.optim.SGD(lr=0.5, momentum=0.5, schedule=dl.optim.CosineLR(run.epochs)))
    history = trainer.fit(train, epochs=run.epochs, batch_size=100, validation=test,
                          callbacks=[TrainingDashboard("logistic regression with dllab")])
    '''))
    c.append(code(r'''
    result = trainer.evaluate(test)
    labs.check_target("logistic regression", result["accuracy"], 0.92, run)
    labs.show_templates(model[1].W.numpy(), title="dllab's weights, as images")
    '''))
    c.append(md(r'''
    **Draw a digit.** Paint one with the mouse on the black pad (white ink, like MNIST). After each
    stroke your model classifies it: "the model sees" is your drawing as the model gets it (scaled and
    centred in 28 × 28 like MNIST), the bars are its probabilities. Which digits does it get right?
    Try a 4 and a 9, or a 7 with and without its cross-bar.
    '''))
    c.append(code(r'''
    DigitPad(model)
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
        s = labs.call(sigmoid, z, hint="Work on the whole array at once with NumPy functions (np.exp, "
                      "np.tanh, np.maximum); math.exp and if/else on an array do not work elementwise.")
    check_shape(s, z.shape, "sigmoid(z)", hint="Activations work elementwise: same shape in, same shape out.")
    check(np.all(np.isfinite(s)), "sigmoid gives nan or inf for z = -1000 or 1000; use the stable form "
          "0.5 * (1 + np.tanh(0.5 * z)).")
    check_close(s, [0.0, 0.11920292, 0.5, 0.62245933, 0.95257413, 1.0], "sigmoid(z)",
                hint="sigmoid(z) = 1 / (1 + exp(-z)).")
    check_close(labs.call(sigmoid_grad, np.array([0.0, 2.0])), [0.25, 0.10499359], "sigmoid_grad([0, 2])",
                hint="sigmoid'(z) = sigmoid(z) * (1 - sigmoid(z)), evaluated at z.")
    check_close(labs.call(relu, np.array([-2.0, 0.0, 3.0]), hint="np.maximum(Z, 0) works elementwise; "
                          "max(Z, 0) does not."), [0.0, 0.0, 3.0], "relu([-2, 0, 3])")
    check_close(labs.call(relu_grad, np.array([-2.0, 0.0, 3.0])), [0.0, 0.0, 1.0], "relu_grad([-2, 0, 3])",
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
    out = labs.call(forward, X, params, "relu", hint="Shapes: X (4, 5), W1 (5, 4), W2 (4, 3), W3 (3, 3); "
                    "each layer is (previous A) @ W + b, so the inner sizes of every @ agree.")
    check(isinstance(out, (tuple, list)) and len(out) == 2, "forward must return a pair (P, cache).")
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
    check_close(labs.call(forward, X, params, "sigmoid")[0], @P_SIG@, "P with sigmoid",
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
    out = labs.call(dropout_forward, A, 0.25, np.random.default_rng(0),
                    hint="mask = (rng.random(A.shape) >= p) / (1 - p) has A's shape; return A * mask, mask.")
    check(isinstance(out, (tuple, list)) and len(out) == 2, "dropout_forward must return a pair (out, mask).")
    out, mask = out
    check_shape(out, A.shape, "dropout output")
    dropped = float(np.mean(out == 0))
    check(abs(dropped - 0.25) < 0.01, f"with p = 0.25 about 25 % of the entries should be 0, got {dropped:.1%}. "
          "Is p the probability to drop (not to keep)?")
    kept = np.asarray(out)[np.asarray(out) != 0]
    check(np.allclose(kept, 1 / 0.75), f"kept entries of a matrix of ones should be 1/(1-p) = {1 / 0.75:.4f}, "
          f"got {kept[:1]}: inverted dropout scales the survivors so that the mean stays the same.")
    check_close(out, A * mask, "out compared with A * mask", hint="Return the mask you applied, scaled.")
    check(abs(float(np.mean(out)) - 1) < 0.01, f"the mean activation should stay about 1, got {float(np.mean(out)):.3f}.")
    same, ones = labs.call(dropout_forward, A[:3, :4] * 2, 0.5, np.random.default_rng(0), training=False)
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
    got = labs.call(early_stopping_epoch, losses, patience=3)
    check(isinstance(got, (tuple, list)) and len(got) == 2,
          "early_stopping_epoch must return a pair (best_epoch, stop_epoch).")
    check(tuple(got) == (3, 6), f"for {losses} and patience 3 the answer is (3, 6), got {tuple(got)}: the best "
          "loss 0.5 is at epoch 3 (counting from 1), and epochs 4, 5, 6 do not beat it, so training stops "
          "after epoch 6 and never sees the 0.4.")
    got = labs.call(early_stopping_epoch, [0.9, 0.8, 0.7], patience=2)
    check(tuple(got) == (3, 3), f"a loss that keeps falling never stops early: expected (3, 3), got {tuple(got)}.")
    got = labs.call(early_stopping_epoch, [0.5, 0.5, 0.5], patience=2)
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


# =====================================================================================
# Lab 3: convolutional networks (the DIGITS workflow)
# =====================================================================================


def lab3():
    c = []
    c.append(md(r'''
    # Lab 3 — Convolutional networks on MNIST

    Labs 1 and 2 flattened each image into 784 numbers, so the network never knew which pixels are
    neighbours. A **convolutional network** (CNN) looks at small patches and uses the same weights at
    every position of the image. In this lab you will

    1. compute a **convolution** and a **max pooling** by hand,
    2. work out the shapes and parameter counts of **LeNet**, the classic CNN for digits,
    3. train LeNet on a **small set** (10 % of MNIST), then on the **full set**, and reach **at least
       99 %** test accuracy,
    4. show it **dark digits on a light background** — how a digit written on paper looks — and watch
       it fail,
    5. fix that by **adding inverted images** to the training set, and reach **at least 98 %** on
       dark-on-light digits,
    6. try a **bigger network**, look at its **filters and feature maps**, and time a training step on
       the **CPU and the GPU**.

    As before: run the cells in order, fill in the `# YOUR CODE HERE` cells, read what the test cells
    say, write short answers where asked. Everything runs small by default; with `full = True` the
    notebook trains four networks at full size, which takes 10–20 minutes on a CPU (less on a GPU:
    section 10 times one step on each).
    '''))
    c.append(code(r'''
    # Parameters (a workshop or a test run may override them)
    full = False      # True: all 60 000 training images; LeNet trains 5 epochs (10-20 minutes in all on a CPU)
    epochs = None     # None: 5 when full, else 2
    subset = None     # training images; None: all when full, else 6 000
    device = "auto"   # "cpu", "gpu" or "auto" (the GPU when CuPy finds one)
    seed = 0
    ''', tags=["parameters"]))
    c.append(code(r'''
    import time

    import numpy as np
    import matplotlib.pyplot as plt

    import dllab as dl
    from dllab import labs
    from dllab.labs import check, check_close, check_shape
    from dllab.models import lenet
    from dllab.widgets import DigitPad, LayerInspector, TrainingDashboard

    run = labs.setup(full, epochs, subset, device, seed, full_epochs=5, small_epochs=2, small_subset=6000)
    run
    '''))
    c.append(md(r'''
    The images keep their shape now: `(N, 1, 28, 28)`, one channel of 28 × 28 pixels. Small runs use
    2 000 of the test images; the learning curves watch 2 000 of them.

    Labs 1 and 2 drew the digits black on white. The numbers say otherwise: strokes are bright (1) on a
    dark background (0). From now on images are drawn as the numbers say — 0 black, 1 white — because
    in this lab it matters.
    '''))
    c.append(code(r'''
    train, test = dl.data.mnist(subset=run.subset)
    if not run.full:
        test = test.subset(2000, seed=0)
    watch = test.subset(2000, seed=1) if len(test) > 2000 else test  # drawn in the learning curves
    print(train, test, sep="\n")
    dl.viz.image_grid(train.x[:16], train.y[:16], title="MNIST as stored: bright strokes on a dark background")
    '''))

    # --- 1. convolution ------------------------------------------------------------------
    c.append(md(r'''
    ## 1. Convolution by hand

    A convolution layer slides a small grid of weights, the **kernel** (or filter), over the image. At
    each position it multiplies the kernel with the patch of image under it, entry by entry, and adds up
    the products: one output number per position. For an input $x$ and a $k_h \times k_w$ kernel $k$:

    $$\text{out}[i, j] = \sum_{a=0}^{k_h - 1} \sum_{b=0}^{k_w - 1} x[i + a,\, j + b]\; k[a, b]$$

    The kernel only goes where it fits wholly inside the input, so an $H \times W$ input gives an
    $(H - k_h + 1) \times (W - k_w + 1)$ output. (Signal processing would flip the kernel first; deep
    learning does not — the network learns the weights, so their orientation is only a convention.)

    An example: a 4 × 4 input and a 3 × 3 kernel give a 2 × 2 output.

    $$x = \begin{bmatrix} 1 & 2 & 0 & 1 \\ 0 & 1 & 3 & 1 \\ 2 & 1 & 0 & 0 \\ 1 & 0 & 2 & 1 \end{bmatrix},
    \qquad k = \begin{bmatrix} 1 & 2 & 0 \\ 0 & 1 & -1 \\ -1 & 0 & 1 \end{bmatrix}$$

    For the top-left output, lay $k$ over the top-left 3 × 3 patch of $x$, multiply and add, row by row:

    $$\text{out}[0, 0] = (1 \cdot 1 + 2 \cdot 2 + 0 \cdot 0) + (0 \cdot 0 + 1 \cdot 1 + 3 \cdot (-1))
    + (2 \cdot (-1) + 1 \cdot 0 + 0 \cdot 1) = 5 - 2 - 2 = 1$$

    **On paper first:** compute the other three outputs ($\text{out}[0, 1]$ uses rows 0–2 and columns
    1–3). Then **your turn:** write `conv2d_single` with two loops over the output positions;
    `x[i:i + kh, j:j + kw]` is the patch at $(i, j)$. The test cell checks your paper result too.
    '''))
    c.append(code(r'''
    x = np.array([[1, 2, 0, 1],
                  [0, 1, 3, 1],
                  [2, 1, 0, 0],
                  [1, 0, 2, 1]], dtype=float)
    k = np.array([[1, 2, 0],
                  [0, 1, -1],
                  [-1, 0, 1]], dtype=float)
    '''))
    c.append(answer("conv2d_single", r'''
    def conv2d_single(x, k):
        """Convolution of one image x (H, W) with one kernel k (kh, kw): no padding, stride 1.

        Returns out (H - kh + 1, W - kw + 1) with out[i, j] = sum(x[i:i+kh, j:j+kw] * k).
        """
        ### BEGIN SOLUTION
        kh, kw = k.shape
        out = np.zeros((x.shape[0] - kh + 1, x.shape[1] - kw + 1))
        for i in range(out.shape[0]):
            for j in range(out.shape[1]):
                out[i, j] = np.sum(x[i:i + kh, j:j + kw] * k)
        return out
        ### END SOLUTION
    '''))
    c.append(tests("test_conv2d_single", 3, r'''
    # Tests for conv2d_single (3 points)
    x = np.array([[1, 2, 0, 1], [0, 1, 3, 1], [2, 1, 0, 0], [1, 0, 2, 1]], dtype=float)
    k = np.array([[1, 2, 0], [0, 1, -1], [-1, 0, 1]], dtype=float)
    out = labs.call(conv2d_single, x, k, hint="The output is (H - kh + 1, W - kw + 1) and the window at (i, j) is "
                    "x[i:i + kh, j:j + kw], of the kernel's shape.")
    labs.check_conv2d(out, x, k, "conv2d_single(x, k) of the example")
    x56 = np.arange(30.0).reshape(5, 6) % 7
    labs.check_conv2d(labs.call(conv2d_single, x56, k[:2], hint="A kernel need not be square: this one is 2x3. "
                                "Take kh, kw = k.shape; then the window x[i:i + kh, j:j + kw] has k's shape and "
                                "the output is (H - kh + 1, W - kw + 1)."),
                      x56, k[:2], "conv2d_single of a 5x6 input with a 2x3 kernel")
    print("conv2d_single: all visible tests passed; the example gives", np.asarray(out).tolist())
    '''))
    c.append(hidden("test_conv2d_single_hidden", 1, r'''
    # Hidden tests for conv2d_single (1 point): they run when the notebook is graded.
    ### BEGIN HIDDEN TESTS
    _rng = np.random.default_rng(31)
    for _shape, _kshape in [((7, 9), (3, 3)), ((6, 5), (2, 4)), ((5, 5), (5, 5)), ((8, 8), (1, 1))]:
        _x, _k = _rng.normal(size=_shape), _rng.normal(size=_kshape)
        _x0 = _x.copy()
        _lib = dl.functional.conv2d(dl.Tensor(_x[None, None]), dl.Tensor(_k[None, None])).numpy()[0, 0]
        check_close(conv2d_single(_x, _k), _lib, f"conv2d_single of a {_shape} input and a {_kshape} kernel, "
                    "against dllab's conv2d")
        check(np.array_equal(_x, _x0), "conv2d_single must not change x in place.")
    ### END HIDDEN TESTS
    '''))
    c.append(md(r'''
    The library computes the same thing for whole batches of many-channel images at once (by turning
    every patch into a column of one big matrix, "im2col", so that the convolution becomes one matrix
    product). Its arrays are `(batch, channels, height, width)`:
    '''))
    c.append(code(r'''
    lib = dl.functional.conv2d(dl.Tensor(x[None, None]), dl.Tensor(k[None, None]))
    print("yours:", conv2d_single(x, k).tolist())
    print("dllab:", lib.numpy()[0, 0].tolist())
    '''))
    c.append(md(r'''
    A kernel is a pattern detector: the output is large where the patch under it looks like the kernel.
    Two hand-made edge kernels on a digit (red: strong positive response, blue: negative):
    '''))
    c.append(code(r'''
    digit = test.x[0, 0]  # 28 x 28
    vertical = np.array([[1.0, 0.0, -1.0]] * 3)  # bright on the left, dark on the right
    pictures = {"a test digit (28 x 28)": digit,
                "vertical-edge kernel (26 x 26)": conv2d_single(digit, vertical),
                "horizontal-edge kernel (26 x 26)": conv2d_single(digit, vertical.T)}
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.4))
    for ax, (title, picture) in zip(axes, pictures.items()):
        if picture is digit:
            ax.imshow(picture, cmap="gray", vmin=0, vmax=1)
        else:
            ax.imshow(picture, cmap="RdBu_r", vmin=-3, vmax=3)
        ax.set_title(title, fontsize=10)
        ax.set_axis_off()
    plt.show()
    '''))

    # --- 2. pooling ---------------------------------------------------------------------
    c.append(md(r'''
    ## 2. Max pooling by hand

    A pooling layer shrinks each map: it cuts it into non-overlapping size × size windows and keeps
    the largest value of each. With size 2 a 24 × 24 map becomes 12 × 12 — a quarter of the numbers —
    and a digit shifted by a pixel gives almost the same result.

    $$\begin{bmatrix} 1 & 3 & 2 & 0 \\ 4 & 2 & 1 & 5 \\ 0 & 1 & 3 & 2 \\ 2 & 6 & 1 & 1 \end{bmatrix}
    \xrightarrow{\;\text{max pool } 2 \times 2\;}
    \begin{bmatrix} 4 & 5 \\ 6 & 3 \end{bmatrix}$$

    **Your turn.** Write `max_pool_single`. The window of $\text{out}[i, j]$ is
    `x[size * i:size * (i + 1), size * j:size * (j + 1)]`; H and W are multiples of `size`.
    '''))
    c.append(answer("max_pool_single", r'''
    def max_pool_single(x, size=2):
        """Max pooling of one map x (H, W) with size x size windows, stride size: (H // size, W // size)."""
        ### BEGIN SOLUTION
        H, W = x.shape
        out = np.zeros((H // size, W // size))
        for i in range(H // size):
            for j in range(W // size):
                out[i, j] = x[size * i:size * (i + 1), size * j:size * (j + 1)].max()
        return out
        ### END SOLUTION
    '''))
    c.append(tests("test_max_pool_single", 2, r'''
    # Tests for max_pool_single (2 points)
    p = np.array([[1, 3, 2, 0], [4, 2, 1, 5], [0, 1, 3, 2], [2, 6, 1, 1]], dtype=float)
    window = ("The output is (H // size, W // size); out[i, j] is the maximum of "
              "x[size * i:size * (i + 1), size * j:size * (j + 1)].")
    labs.check_max_pool(labs.call(max_pool_single, p, hint=window), p, 2, "max_pool_single(x) of the example")
    labs.check_max_pool(labs.call(max_pool_single, -p, hint=window), -p, 2, "max_pool_single of negative values")
    p46 = np.arange(24.0).reshape(4, 6) % 5
    labs.check_max_pool(labs.call(max_pool_single, p46, hint="The map is 4x6, not square: H, W = x.shape. " + window),
                        p46, 2, "max_pool_single of a 4x6 map")
    p66 = np.arange(36.0).reshape(6, 6) % 7
    labs.check_max_pool(labs.call(max_pool_single, p66, 3, hint="Use size everywhere, not 2. " + window),
                        p66, 3, "max_pool_single(x, 3) of a 6x6 map")
    print("max_pool_single: all visible tests passed")
    '''))
    c.append(hidden("test_max_pool_single_hidden", 1, r'''
    # Hidden tests for max_pool_single (1 point): they run when the notebook is graded.
    ### BEGIN HIDDEN TESTS
    _rng = np.random.default_rng(32)
    for _shape, _s in [((8, 6), 2), ((9, 9), 3), ((4, 4), 4)]:
        _x = _rng.normal(size=_shape)
        _lib = dl.functional.max_pool2d(dl.Tensor(_x[None, None]), _s).numpy()[0, 0]
        check_close(max_pool_single(_x, _s), _lib, f"max_pool_single of a {_shape} map with size {_s}, against dllab")
    check_close(max_pool_single(np.full((2, 2), -5.0)), [[-5.0]], "max pooling of a map of -5",
                hint="Take each window's maximum from the window itself, not starting from 0.")
    ### END HIDDEN TESTS
    '''))

    # --- 3. LeNet shapes ------------------------------------------------------------------
    c.append(md(r'''
    ## 3. LeNet: shapes and parameters

    LeNet stacks two convolution-and-pooling stages and two dense layers:

    conv 20 filters 5 × 5 → max pool 2 → conv 50 filters 5 × 5 → max pool 2 → dense 500 (ReLU) → dense 10

    A convolution layer holds many filters, and each filter spans **all** input channels: conv2's 50
    filters are each 20 × 5 × 5 and read all 20 maps that conv1 makes. Each filter also has one bias.
    Along one side, with $p$ pixels of padding added on each side and a stride (step) of $s$, the
    output size of a convolution or a pooling is

    $$n_\text{out} = \left\lfloor \frac{n + 2p - k}{s} \right\rfloor + 1 .$$

    **Your turn.** Write the formula, then the number of parameters of a convolution layer.
    '''))
    c.append(answer("conv_output_size", r'''
    def conv_output_size(n, k, stride=1, padding=0):
        """Output size along one side for input size n and kernel (or pooling window) size k: an int."""
        ### BEGIN SOLUTION
        return (n + 2 * padding - k) // stride + 1
        ### END SOLUTION
    '''))
    c.append(tests("test_conv_output_size", 2, r'''
    # Tests for conv_output_size (2 points)
    got = labs.call(conv_output_size, 4, 3)
    check(got is not None, "conv_output_size returned None: did you forget the `return`?")
    check(got == 2, f"a 3x3 kernel fits into a 4x4 input at 2 positions per row (starting at column 0 or 1), "
          f"got {got}. Without padding and stride it is n - k + 1.")
    got = labs.call(conv_output_size, 28, 5)
    check(got == 24, f"conv 5x5 on 28x28 gives 24x24, got {got}.")
    got = labs.call(conv_output_size, 24, 2, stride=2)
    check(got == 12, f"2x2 pooling with stride 2 halves 24 to 12, got {got}: divide (n + 2p - k) by the stride, "
          "then add 1.")
    got = labs.call(conv_output_size, 28, 5, padding=2)
    check(got == 28, f"padding 2 keeps 28 with a 5x5 kernel, got {got}: padding is added on both sides, 2p in all.")
    got = labs.call(conv_output_size, 28, 3, stride=2)
    check(isinstance(got, (int, np.integer)), f"conv_output_size(28, 3, stride=2) gave {got!r}: return an int; "
          "use // (integer division), not /.")
    check(got == 13, f"(28 - 3) // 2 + 1 = 13, got {got}: where the kernel does not fit any more, there is no "
          "output, so round down.")
    print("conv_output_size: all visible tests passed")
    '''))
    c.append(hidden("test_conv_output_size_hidden", 1, r'''
    # Hidden tests for conv_output_size (1 point): they run when the notebook is graded.
    ### BEGIN HIDDEN TESTS
    for _n, _k, _s, _p in [(32, 3, 1, 1), (32, 3, 2, 1), (7, 7, 1, 0), (227, 11, 4, 0), (10, 4, 3, 2), (5, 1, 1, 0)]:
        _got = conv_output_size(_n, _k, stride=_s, padding=_p)
        check(_got == (_n + 2 * _p - _k) // _s + 1, f"conv_output_size({_n}, {_k}, stride={_s}, padding={_p}) "
              f"gave {_got}.")
    _n = 28
    for _k, _s in [(5, 1), (2, 2), (5, 1), (2, 2)]:
        _n = conv_output_size(_n, _k, stride=_s)
    check(_n == 4, "LeNet's chain 28 -> 24 -> 12 -> 8 -> 4.")
    ### END HIDDEN TESTS
    '''))
    c.append(answer("conv_params", r'''
    def conv_params(in_channels, filters, kernel_size):
        """Number of parameters (weights and biases) of a Conv2D layer with square kernels."""
        ### BEGIN SOLUTION
        return filters * (in_channels * kernel_size * kernel_size + 1)
        ### END SOLUTION
    '''))
    c.append(tests("test_conv_params", 2, r'''
    # Tests for conv_params (2 points)
    n1 = labs.call(conv_params, 1, 20, 5)
    check(n1 is not None, "conv_params returned None: did you forget the `return`?")
    check(n1 != 20 * 5 * 5, "conv_params(1, 20, 5) = 500 counts the weights only: each filter has one bias too.")
    check(n1 == 520, f"conv1 of LeNet has 20 filters of 1 x 5 x 5 weights plus 20 biases = 520 parameters, got {n1}.")
    n2 = labs.call(conv_params, 20, 50, 5)
    check(n2 != 50 * (5 * 5 + 1), "conv_params(20, 50, 5) = 1 300 forgets the input channels: each filter of conv2 "
          "is 20 x 5 x 5, because it reads all 20 maps of conv1.")
    check(n2 == 25050, f"conv2 of LeNet: 50 x (20 x 5 x 5 + 1) = 25 050, got {n2}.")
    layer = dl.Conv2D(16, 3, in_channels=3)
    n3 = labs.call(conv_params, 3, 16, 3)
    check(n3 == layer.num_parameters(), f"dllab's Conv2D(16, 3) on 3 input channels has "
          f"{layer.num_parameters()} parameters, conv_params(3, 16, 3) says {n3}.")
    print("conv_params: all visible tests passed")
    '''))
    c.append(hidden("test_conv_params_hidden", 1, r'''
    # Hidden tests for conv_params (1 point): they run when the notebook is graded.
    ### BEGIN HIDDEN TESTS
    for _c, _f, _k in [(1, 75, 5), (75, 100, 5), (3, 64, 7), (128, 1, 1)]:
        _layer = dl.Conv2D(_f, _k, in_channels=_c)
        check(conv_params(_c, _f, _k) == _layer.num_parameters(), f"conv_params({_c}, {_f}, {_k}) should be "
              f"{_layer.num_parameters()}, got {conv_params(_c, _f, _k)}.")
    ### END HIDDEN TESTS
    '''))
    c.append(md(r'''
    Your formulas against the real network: the next cell sends two digits through LeNet layer by layer.
    Layers create their weights on their first input, so the parameter counts appear after it.
    '''))
    c.append(code(r'''
    sizes = [28]
    for k_size, stride in [(5, 1), (2, 2), (5, 1), (2, 2)]:
        sizes.append(conv_output_size(sizes[-1], k_size, stride=stride))
    print("your formula:", " -> ".join(map(str, sizes)), f"; Flatten gives 50 x {sizes[-1]} x {sizes[-1]} = "
          f"{50 * sizes[-1] ** 2} numbers per image")
    print(f"your parameter count of the two convolutions: {conv_params(1, 20, 5) + conv_params(20, 50, 5):,}\n")

    model = lenet()
    out = dl.Tensor(train.x[:2])
    print(f"{'input':62} {tuple(out.shape)}")
    for layer in model:
        out = layer(out)
        print(f"{layer!r:62} {tuple(out.shape)}")
    print()
    print(model.summary())
    '''))
    c.append(md(r'''
    The two convolutions hold about 6 % of LeNet's 431 080 parameters: a filter is used at every position
    of the image, so a few weights go a long way. Most parameters sit in the first dense layer, which
    connects all 800 numbers of the last maps to 500 units.
    '''))

    # --- 4. small set -------------------------------------------------------------------
    c.append(md(r'''
    ## 4. LeNet on the small set

    First the situation of many real projects: few labelled images. The **small set** is 10 % of MNIST,
    6 000 images (600 per class); a small run takes 10 % of its training images. One recipe for every
    network in this lab: SGD with momentum 0.9, learning rate 0.03 lowered along a cosine to 2 % of it,
    weight decay $5 \cdot 10^{-4}$, batches of 64. The test digits in the figure are only watched;
    nothing is chosen with them.
    '''))
    c.append(code(r'''
    def train_lenet(model, data, epochs, name, live, validation=watch):
        """Train `model` with the lab's recipe and show it in `live` (a LiveCurves figure, or a
        TrainingDashboard); returns the Trainer."""
        optimizer = dl.optim.SGD(lr=0.03, momentum=0.9, weight_decay=5e-4,
                                 schedule=dl.optim.CosineLR(epochs, min_factor=0.02))
        trainer = dl.Trainer(model, loss=dl.cross_entropy, optimizer=optimizer)
        trainer.fit(data, epochs=epochs, batch_size=64, validation=validation, seed=run.seed,
                    callbacks=[live.run(name) if isinstance(live, labs.LiveCurves) else live])
        return trainer


    if run.subset is None:
        small, _ = dl.data.mnist(subset="small")
    else:
        small = train.subset(max(len(train) // 10, 100), seed=run.seed)
    small_epochs = 4 * run.epochs
    dl.seed(run.seed)
    trainer_small = train_lenet(lenet(), small, small_epochs, f"small set ({len(small)} images)",
                                labs.LiveCurves("LeNet on the small set"))
    acc_small = trainer_small.evaluate(test)["accuracy"]
    print(f"LeNet, {len(small)} training images, {small_epochs} epochs: {acc_small:.2%} on the test set")
    '''))

    # --- 5. full set --------------------------------------------------------------------
    c.append(md(r'''
    ## 5. LeNet on the full set: 99 %

    The same network and recipe with ten times the data (all 60 000 images when `full = True`).
    '''))
    c.append(code(r'''
    dl.seed(run.seed)
    trainer_full = train_lenet(lenet(), train, run.epochs, f"full set ({len(train)} images)",
                               TrainingDashboard(f"LeNet on the full training set ({len(train)} images)"))
    acc_full = trainer_full.evaluate(test)["accuracy"]
    labs.check_target("LeNet", acc_full, 0.99, run)
    print(f"small set ({len(small)} images): {acc_small:.2%}, full set ({len(train)} images): {acc_full:.2%}")
    '''))
    c.append(md(r'''
    What does it still get wrong? Titles show the prediction with its probability (green when right,
    red when wrong) and the true label.
    '''))
    c.append(code(r'''
    scores = trainer_full.predict(test)
    pred = scores.argmax(axis=1)
    wrong = np.flatnonzero(pred != test.y)[:16]
    dl.viz.image_grid(test.x[wrong], test.y[wrong], dl.softmax(dl.Tensor(scores[wrong])).numpy(),
                      title="some of LeNet's mistakes")
    '''))
    c.append(code(r'''
    dl.viz.confusion_matrix_plot(dl.metrics.confusion_matrix(test.y, pred, num_classes=10))
    '''))

    # --- 6. inverted --------------------------------------------------------------------
    c.append(md(r'''
    ## 6. Real-world digits: dark on light

    A digit written on paper and photographed is dark ink on a light background — the opposite of
    MNIST. `dl.data.invert` turns one into the other: every pixel $x$ becomes $1 - x$. The same test
    digits, inverted, shown to the network that just passed 99 %:
    '''))
    c.append(code(r'''
    test_inverted = test.map(dl.data.invert, name="mnist-test-inverted")
    inv_scores = trainer_full.predict(test_inverted)
    inv_pred = inv_scores.argmax(axis=1)
    print(f"LeNet on dark-on-light digits: {np.mean(inv_pred == test_inverted.y):.2%} "
          f"(on the usual ones: {acc_full:.2%})")
    dl.viz.image_grid(test_inverted.x[:16], test_inverted.y[:16], dl.softmax(dl.Tensor(inv_scores[:16])).numpy(),
                      title="dark-on-light digits and LeNet's answers")
    '''))
    c.append(code(r'''
    dl.viz.confusion_matrix_plot(dl.metrics.confusion_matrix(test_inverted.y, inv_pred, num_classes=10),
                                 title="dark-on-light digits (rows: true digit, columns: LeNet's answer)")
    '''))
    c.append(md(r'''
    **Question (2 points).** Why does a network with 99 % on MNIST fail on the same digits inverted?
    Think of what a first-layer filter computes (section 1) when every pixel $x$ becomes $1 - x$, and of
    what the training images never showed. What does the confusion matrix say the network answers?
    '''))
    c.append(written("inverted_answer", 2, r'''
    A first-layer filter computes sum(patch * k) + b. For an inverted patch that is sum(k) minus the
    original response: the background, which was 0 and added nothing, is now 1 everywhere and adds
    sum(k) at every position, and the strokes give responses of the opposite sign. So every feature map,
    and everything built on them, differs from anything seen in training: inverted digits lie outside
    the training distribution. A network learns only the variations its data shows; MNIST always has a
    dark background, so nothing taught it that the polarity does not matter. The confusion matrix shows
    no diagonal to speak of: the answers pile up in a few columns (9, 5, 3 and 0 in the reference run,
    about 24 % right), largely whatever the true digit, and often with high confidence — a network does
    not know when an input is unlike its training data.
    '''))

    # --- 7. augmentation ------------------------------------------------------------------
    c.append(md(r'''
    ## 7. Add inverted images and retrain

    The fix the data suggests: show the network both kinds. Keep every training image and add its
    inverted copy with the same label — twice the data. (Changing the training images in ways that keep
    their labels is called **data augmentation**.)

    **Your turn.** Write `with_inverted`: the images followed by their inverted copies, and the labels
    repeated to match. `np.concatenate` joins arrays along axis 0.
    '''))
    c.append(answer("with_inverted", r'''
    def with_inverted(x, y):
        """Images x (N, 1, 28, 28) in [0, 1] and labels y (N,) -> (x2, y2) with 2N images:
        x2 is x followed by 1 - x, y2 is y followed by y again."""
        ### BEGIN SOLUTION
        return np.concatenate([x, 1 - x]), np.concatenate([y, y])
        ### END SOLUTION
    '''))
    c.append(tests("test_with_inverted", 2, r'''
    # Tests for with_inverted (2 points)
    xs = np.stack([np.full((1, 2, 2), 0.25, dtype=np.float32), np.eye(2, dtype=np.float32)[None]])
    ys = np.array([3, 7])
    out = labs.call(with_inverted, xs.copy(), ys.copy(), hint="np.concatenate([x, 1 - x]) joins the two along "
                    "axis 0; the labels likewise.")
    check(isinstance(out, (tuple, list)) and len(out) == 2,
          f"with_inverted must return a pair (x2, y2), e.g. `return x2, y2`; got {type(out).__name__}"
          f"{f' of length {len(out)}' if isinstance(out, (tuple, list)) else ''}.")
    x2, y2 = out
    check_shape(x2, (4, 1, 2, 2), "x2 for 2 images", hint="2N images: the originals, then the inverted copies.")
    check_close(x2[:2], xs, "the first half of x2", hint="Keep the original images first, unchanged.")
    check(not np.allclose(x2[2:], -xs), "the inverted copies are -x, which leaves [0, 1]: inverting is 1 - x.")
    check_close(x2[2:], 1 - xs, "the second half of x2", hint="Each copy is 1 - x, in the order of the originals.")
    check(np.array_equal(np.asarray(y2), [3, 7, 3, 7]), f"the labels for [3, 7] should be [3, 7, 3, 7] (each copy "
          f"keeps its image's label, in the same order), got {np.asarray(y2).tolist()}.")
    print("with_inverted: all visible tests passed")
    '''))
    c.append(hidden("test_with_inverted_hidden", 1, r'''
    # Hidden tests for with_inverted (1 point): they run when the notebook is graded.
    ### BEGIN HIDDEN TESTS
    _both, _, _ = dl.data.mnist_with_inverted(subset=100)
    _base, _ = dl.data.mnist(subset=100)
    _x0 = _base.x.copy()
    _x2, _y2 = with_inverted(_base.x, _base.y)
    check_close(_x2, _both.x, "with_inverted of 100 MNIST images, against dl.data.mnist_with_inverted")
    check(np.array_equal(_y2, _both.y), "the labels of with_inverted for 100 MNIST images.")
    check(np.asarray(_x2).dtype == np.float32, "with_inverted should keep float32 images.")
    check(np.array_equal(_base.x, _x0), "with_inverted must not change x in place.")
    ### END HIDDEN TESTS
    '''))
    c.append(md(r'''
    A fresh LeNet on originals and copies together (the minibatches shuffle them, so every batch mixes
    both kinds), for `run.quick_epochs` epochs: with `full = True` that is 120 000 images per epoch;
    small runs take 1 000 digits and their copies. The curve now watches dark-on-light test digits.
    '''))
    c.append(code(r'''
    base = train if run.full else train.subset(min(len(train), 1000), seed=run.seed)
    both = dl.data.Dataset(*with_inverted(base.x, base.y), name=f"{base.name}+inverted")
    watch_inverted = watch.map(dl.data.invert)
    dl.seed(run.seed)
    trainer_both = train_lenet(lenet(), both, run.quick_epochs, f"original + inverted ({len(both)} images)",
                               labs.LiveCurves("LeNet on original + inverted digits"), validation=watch_inverted)
    acc_both = trainer_both.evaluate(test)["accuracy"]
    acc_both_inv = trainer_both.evaluate(test_inverted)["accuracy"]
    labs.check_target("LeNet trained on both", acc_both_inv, 0.98, run, what="on dark-on-light test digits")
    print(f"on the usual test digits: {acc_both:.2%}")
    '''))
    c.append(code(r'''
    dl.viz.image_grid(test_inverted.x[:16], test_inverted.y[:16],
                      dl.softmax(dl.Tensor(trainer_both.predict(test_inverted.x[:16]))).numpy(),
                      title="the same dark-on-light digits, after training on both kinds")
    '''))
    c.append(md(r'''
    **Classify one**, the DIGITS way: draw a digit in dark ink on a light page. The pad below gives the
    network what a photographed digit would be (`invert=True`: dark strokes on white). Draw a few digits
    for the network trained on both kinds; then change `trainer_both` to `trainer_full` (trained on
    MNIST only) and draw the same digits again.
    '''))
    c.append(code(r'''
    DigitPad(trainer_both.model, invert=True)
    '''))

    # --- 8. bigger network --------------------------------------------------------------------
    c.append(md(r'''
    ## 8. Modify the network

    A classic change to LeNet: more filters (75 in conv1 and 100 in conv2 instead of 20 and 50), and a
    ReLU after the first pooling so that the first stage is nonlinear too.
    `lenet(filters=(75, 100), relu_after_pool1=True)` builds it. It trains on the same data with the same
    recipe and number of epochs. It does several times the work per image, so this cell is the slowest
    of the lab.
    '''))
    c.append(code(r'''
    dl.seed(run.seed)
    trainer_big = train_lenet(lenet(filters=(75, 100), relu_after_pool1=True), both, run.quick_epochs,
                              "75/100 filters + ReLU", labs.LiveCurves("the modified network on both kinds"),
                              validation=watch_inverted)
    results = {"LeNet": (trainer_both, acc_both, acc_both_inv),
               "75/100 filters + ReLU": (trainer_big, trainer_big.evaluate(test)["accuracy"],
                                         trainer_big.evaluate(test_inverted)["accuracy"])}
    print(f"{'network':24}{'parameters':>12}{'in convs':>10}{'s/epoch':>9}{'test':>9}{'inverted':>10}")
    for name, (trainer, acc, acc_inv) in results.items():
        convs = [layer for layer in trainer.model if isinstance(layer, dl.Conv2D)]
        in_convs = sum(conv_params(layer.in_channels, layer.filters, layer.kernel_size[0]) for layer in convs)
        print(f"{name:24}{trainer.model.num_parameters():>12,}{in_convs:>10,}"
              f"{np.mean(trainer.history['time']):>9.1f}{acc:>9.2%}{acc_inv:>10.2%}")
    '''))
    c.append(md(r'''
    **Question (2 points).** Compare the two networks: accuracy on both test sets, parameters, seconds
    per epoch. Where do the extra parameters sit (use `conv_params` and the summary of section 3)? Is the
    modified network worth it here, and what would you try before making a network bigger?
    '''))
    c.append(written("modified_answer", 2, r'''
    In the full run the modified network is a little more accurate on both test sets after the same
    number of epochs (reference run: 99.25 / 99.27 % against 98.99 / 99.09 %), at about four times
    the time per epoch (185 s against 45 s on a CPU). Its
    convolutions grow from 25 570 to 189 550 parameters (conv2 alone: 100 x (75 x 25 + 1)), but most of
    the growth is in the first dense layer, which now reads 100 x 4 x 4 = 1 600 numbers instead of
    800: about 800 000 parameters instead of 400 000, for about a million in all. The ReLU after pool1
    costs nothing and lets the first stage keep only positive evidence. Whether it is worth it depends
    on the budget: a small gain for several times the compute. Cheaper things to try first: train
    longer, tune the learning rate, more augmentation (shifts), or dropout.
    '''))

    # --- 9. filters and maps ------------------------------------------------------------------
    c.append(md(r'''
    ## 9. Inside the network: filters and feature maps

    The 20 filters of conv1 are 5 × 5 images of weights (white: large positive, black: negative). Each
    **feature map** shows where in the digit its filter responds (yellow: high, dark blue: low). Here for
    the LeNet trained on both kinds of digits, for one digit and its inverted copy.
    '''))
    c.append(code(r'''
    model_both = trainer_both.model
    dl.viz.filters_plot(model_both[0], title="conv1: 20 filters of 5 x 5, trained on both kinds of digits")
    '''))
    c.append(code(r'''
    one = test.x[0]  # (1, 28, 28)
    dl.viz.feature_maps_plot(model_both, one, layer_index=0, title="conv1 maps of a test digit")
    '''))
    c.append(code(r'''
    dl.viz.feature_maps_plot(model_both, 1 - one, layer_index=0, title="conv1 maps of the same digit inverted")
    '''))
    c.append(code(r'''
    dl.viz.feature_maps_plot(model_both, one, layer_index=3, title="pool2: the 50 maps of 4 x 4 the dense layers read")
    '''))
    c.append(md(r'''
    The layer inspector does the same for any test digit and any layer: pick them in the two menus.
    Convolution and pooling layers show their maps, the dense layers their outputs as bars (the last one:
    the ten class scores).
    '''))
    c.append(code(r'''
    LayerInspector(model_both, dl.data.concat(test[:8], test_inverted[:8]))  # 8 digits, then their inverted copies
    '''))
    c.append(md(r'''
    **Question (2 points).** What do the conv1 filters look like (think of the edge kernels of
    section 1)? How do the conv1 maps of the inverted digit relate to those of the original, and how can
    the later layers still give both the same label?
    '''))
    c.append(written("feature_maps_answer", 2, r'''
    Many conv1 filters are small edge or stroke detectors: a bright band beside a dark band at some
    orientation, like the hand-made edge kernels; some are blob-like. For the inverted digit each map is
    the original map turned upside down in value plus a constant (sum(k) + b minus the original
    response): where a filter fired on the original it is now low, and the background, which was flat,
    now sits at a different constant level. The maps are still flat where the image is flat and show the
    same edges at the same places, only with opposite sign. Because the network saw both kinds during
    training, conv2 and the dense layers learned to combine the maps so that both sign patterns of the
    same strokes lead to the same digit (some filter pairs respond to the two polarities of one edge).
    '''))

    # --- 10. CPU vs GPU ------------------------------------------------------------------------
    c.append(md(r'''
    ## 10. CPU or GPU?

    Training a CNN is mostly large matrix products (im2col turns every convolution into one): the work a
    GPU is built for. The next cell times one training step of LeNet — forward pass, backward pass,
    update — on the CPU and, when this machine has an NVIDIA GPU that CuPy can use, on the GPU. The
    model is built again on each device, since weights live where they are created; the first steps
    (which create the weights and, on the GPU, compile kernels) are not counted.
    '''))
    c.append(code(r'''
    def seconds_per_step(device, batch_size, steps=10):
        """The median time of one LeNet training step on `device` ("cpu" or "gpu")."""
        dl.set_device(device)
        dl.seed(run.seed)
        model = lenet()
        optimizer = dl.optim.SGD(model, lr=0.01, momentum=0.9)
        xb, yb = dl.backend.to_device(train.x[:batch_size]), dl.backend.to_device(train.y[:batch_size])
        times = []
        for _ in range(steps + 2):
            start = time.perf_counter()
            loss = dl.cross_entropy(model(dl.Tensor(xb)), yb)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            loss.item()  # waits until the GPU has finished the step
            times.append(time.perf_counter() - start)
        return float(np.median(times[2:]))


    batch_sizes = [64, 256]
    cpu = {b: seconds_per_step("cpu", b) for b in batch_sizes}
    if dl.backend.gpu_available():
        gpu = {b: seconds_per_step("gpu", b) for b in batch_sizes}
    dl.set_device(run.device)  # back to the device of the rest of the notebook
    if dl.backend.gpu_available():
        print("GPU:", dl.backend.gpu_description())
        for b in batch_sizes:
            print(f"batch {b:4}: CPU {1000 * cpu[b]:7.1f} ms, GPU {1000 * gpu[b]:6.1f} ms per step "
                  f"({cpu[b] / gpu[b]:.0f}x faster on the GPU)")
    else:
        print(f"No GPU to compare with here ({dl.backend.gpu_unavailable_reason()}), so only the CPU is timed.")
        for b in batch_sizes:
            print(f"batch {b:4}: CPU {1000 * cpu[b]:7.1f} ms per step, {b / cpu[b]:,.0f} images per second")
    '''))
    c.append(md(r'''
    On a CPU the time per step grows about in proportion to the batch size. A GPU has thousands of
    arithmetic units that a batch of 64 small images does not fill, so there a larger batch costs little
    more time per step — which is why GPU training uses large batches. Run this cell on a machine with
    a GPU to see it.

    ## Summary

    * A convolution slides a small kernel over the image: $\text{out}[i, j] = \sum x[i + a, j + b]\,k[a, b]$,
      output size $\lfloor (n + 2p - k)/s \rfloor + 1$; pooling keeps the largest value of each window.
    * A filter is shared by all positions, so convolutions need few parameters; LeNet's sit mostly in
      its first dense layer.
    * More data helped: the small set gives about 98 %, the full set over 99 %.
    * A network knows only the variations its training data shows: 99 % on MNIST, failure on
      dark-on-light digits — fixed by adding inverted copies to the training set.
    * A bigger network gains a little for several times the compute; filters and feature maps show what
      the layers respond to.
    * Lab 4 moves from images to time series, with a recurrent network.
    '''))
    return notebook(c, "Lab 3: convolutional networks on MNIST")


# =====================================================================================
# Lab 4: an LSTM forecaster on IoT solar data
# =====================================================================================


def lab4():
    c = []
    c.append(md(r'''
    # Lab 4 — Forecasting solar power with an LSTM

    A solar inverter on a house reported every 30 minutes of daylight, from December 2013 to December
    2016, two numbers: the **current power** (W) and the **energy produced so far that day** (Wh, back
    to 0 every morning). The task: **forecast a day's total output**. In this lab you will

    1. look at the readings and at the daily totals,
    2. cut a series into (input window, target) pairs by hand,
    3. **normalise** with statistics of the training days only, by hand,
    4. write the **naive baselines** every forecast must beat: "today like yesterday" and "the average
       day",
    5. train an **LSTM** on the past week's totals — and see how hard the baselines are to beat,
    6. pad each day's morning readings into sequences (by hand) and train an LSTM that reads the
       morning: its error must be **at least 30 % below** both baselines',
    7. plot the forecasts against what happened.

    As before: run the cells in order, fill in the `# YOUR CODE HERE` cells, read what the test cells
    say, write short answers where asked. The data set is small, so even the full run takes well under
    a minute of training on a CPU.
    '''))
    c.append(code(r'''
    # Parameters (a workshop or a test run may override them)
    full = False      # True: 150 epochs for each forecaster (under a minute on a CPU)
    epochs = None     # None: 150 when full, else 50
    subset = None     # training days; None: all of them
    device = "auto"   # "cpu", "gpu" or "auto" (the GPU when CuPy finds one)
    seed = 0
    ''', tags=["parameters"]))
    c.append(code(r'''
    import numpy as np
    import matplotlib.pyplot as plt

    import dllab as dl
    from dllab import labs
    from dllab.labs import check, check_close, check_shape
    from dllab.viz.timeseries import forecast_plot

    run = labs.setup(full, epochs, subset, device, seed, full_epochs=150, small_epochs=50, small_subset=None,
                     unit="days")
    run
    '''))

    # --- 1. data -----------------------------------------------------------------------------
    c.append(md(r'''
    ## 1. The readings

    `dl.data.read_solar_csv()` reads the raw file (nothing is downloaded): one entry per reading, with
    its local time and date, the current power and the day's energy so far. Three days of it:
    '''))
    c.append(code(r'''
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
    '''))
    c.append(md(r'''
    `dl.data.iot_solar()` turns the readings into one example per day: the day's first 14 readings
    (7 hours) as the input sequence, and the day's **total** (the last "energy so far") as the target.
    Days are split **in time order**: the first 80 % for training, the next 10 % for validation, the
    last 10 % for testing — a forecaster is only ever used on the future. The daily totals:
    '''))
    c.append(code(r'''
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
    '''))

    # --- 2. windows ---------------------------------------------------------------------------
    c.append(md(r'''
    ## 2. Windows by hand

    A forecaster learns from pairs (input, target). From one long series they come by sliding a window
    along it: the `lookback` values in the window are the input, the `horizon` values right after it
    the target. With `lookback = 3` and `horizon = 1`:

    | series | $s_0$ | $s_1$ | $s_2$ | $s_3$ | $s_4$ | $s_5$ | $s_6$ |
    | --- | --- | --- | --- | --- | --- | --- | --- |
    | window 0 | input | input | input | **target** | | | |
    | window 1 | | input | input | input | **target** | | |
    | window 3 | | | | input | input | input | **target** |

    A series of $T$ values gives $N = T - \text{lookback} - \text{horizon} + 1$ windows.

    **Your turn.** Write `make_windows` for a 1-D series.
    '''))
    c.append(answer("make_windows", r'''
    def make_windows(series, lookback, horizon=1):
        """series (T,) -> (X, y): X (N, lookback), y (N, horizon), N = T - lookback - horizon + 1, with
        X[i] = series[i : i + lookback] and y[i] = series[i + lookback : i + lookback + horizon]."""
        ### BEGIN SOLUTION
        n = len(series) - lookback - horizon + 1
        X = np.stack([series[i:i + lookback] for i in range(n)])
        y = np.stack([series[i + lookback:i + lookback + horizon] for i in range(n)])
        return X, y
        ### END SOLUTION
    '''))
    c.append(tests("test_make_windows", 2, r'''
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
    '''))
    c.append(hidden("test_make_windows_hidden", 1, r'''
    # Hidden tests for make_windows (1 point): they run when the notebook is graded.
    ### BEGIN HIDDEN TESTS
    _s = np.random.default_rng(41).normal(size=40)
    for _lb, _h in [(1, 1), (5, 3), (39, 1), (10, 30)]:
        _X, _y = make_windows(_s, _lb, horizon=_h)
        _Xr, _yr = dl.data.windows(_s, _lb, horizon=_h)
        check_close(_X, _Xr[..., 0], f"X for lookback {_lb}, horizon {_h}, against dl.data.windows")
        check_close(_y, _yr, f"y for lookback {_lb}, horizon {_h}, against dl.data.windows")
    ### END HIDDEN TESTS
    '''))

    # --- 3. normalisation -----------------------------------------------------------------------
    c.append(md(r'''
    ## 3. Normalising with the training days only

    Networks train best on numbers around 1, and the totals are around 10 000 Wh. Dividing by the
    largest value keeps 0 at 0 (no sun, no power) and brings the rest into $[0, 1]$. The scale must
    come from the **training part only**: when the forecaster is used, the future has not happened yet,
    so its largest value is unknown. Values above 1 in the validation or test part are fine.

    **Your turn.** Write `scale_by_train_max`: divide every array by the largest absolute value of each
    column of `train` (axis 0; for a 1-D series that is one number).
    '''))
    c.append(answer("scale_by_train_max", r'''
    def scale_by_train_max(train, *others):
        """Divide train and each array of others by np.abs(train).max(axis=0).

        Returns (train_scaled, *others_scaled, scale): one scaled array per input, then the scale.
        """
        ### BEGIN SOLUTION
        scale = np.abs(train).max(axis=0)
        return (train / scale, *(other / scale for other in others), scale)
        ### END SOLUTION
    '''))
    c.append(tests("test_scale_by_train_max", 2, r'''
    # Tests for scale_by_train_max (2 points)
    tr = np.array([[1.0, 10.0], [2.0, 20.0], [4.0, -40.0]])
    te = np.array([[8.0, 20.0]])
    out = labs.call(scale_by_train_max, tr.copy(), te.copy(), hint="The scale has one number per column: "
                    "np.abs(train).max(axis=0) has shape (2,) here and divides every row of train and of test.")
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
    '''))
    c.append(hidden("test_scale_by_train_max_hidden", 1, r'''
    # Hidden tests for scale_by_train_max (1 point): they run when the notebook is graded.
    ### BEGIN HIDDEN TESTS
    _rng = np.random.default_rng(42)
    _tr, _va = _rng.normal(size=(30, 3)) * [1, 100, 1000], _rng.normal(size=(5, 3)) * 500
    _tr0 = _tr.copy()
    _norm = dl.data.Normalizer("max").fit(_tr)
    _a, _b, _k = scale_by_train_max(_tr, _va)
    check_close(_a, _norm.transform(_tr), "train, against dl.data.Normalizer('max')", rtol=1e-5)
    check_close(_b, _norm.transform(_va), "other, against dl.data.Normalizer('max')", rtol=1e-5)
    check_close(_a * _k, _tr, "train_scaled * scale gives train back")
    check(np.array_equal(_tr, _tr0), "scale_by_train_max must not change train in place.")
    check(len(scale_by_train_max(_tr)) == 2, "with no other arrays: (train_scaled, scale).")
    ### END HIDDEN TESTS
    '''))
    c.append(md(r'''
    The daily totals, scaled with the training days' maximum (the same scale `iot_solar` uses), and
    cut into windows: the last 7 days' totals as input, the next day's total as target. Window $i$
    forecasts day $i + 7$, so the windows are split by the day they forecast.
    '''))
    c.append(code(r'''
    _, series, scale = scale_by_train_max(totals[:len(data.y_train)], totals)
    lookback = 7
    X_week, y_week = make_windows(series.astype(np.float32), lookback)  # float32, like the network's weights
    target_day = np.arange(len(X_week)) + lookback
    week_train = np.flatnonzero(target_day < n_train)
    week_val = np.flatnonzero((target_day >= len(data.y_train)) & (target_day < first_test))
    week_test = np.flatnonzero(target_day >= first_test)
    print(f"scale: {scale:,.0f} Wh; windows {X_week.shape} -> targets {y_week.shape}; "
          f"{len(week_train)} / {len(week_val)} / {len(week_test)} for training / validation / test")
    '''))

    # --- 4. baselines -------------------------------------------------------------------------
    c.append(md(r'''
    ## 4. The baselines

    A forecast is only worth something if it beats the obvious ones:

    * **persistence**: each day will be like the day before;
    * **mean**: each day will be an average day (the mean of all days before the test days).

    We measure a forecast $\hat y$ of the values $y$ by the **mean squared error**,
    $\text{MSE} = \frac{1}{n}\sum_i (\hat y_i - y_i)^2$, on the scaled totals.

    **Your turn.** Write `naive_forecasts`: given the values before the forecast period (`history`)
    and the values of the period itself (`future`, in time order), return both forecasts for the
    period. Persistence may use the actual value of the day before — by the time day $i$ is
    forecast, day $i - 1$ has happened.
    '''))
    c.append(answer("naive_forecasts", r'''
    def naive_forecasts(history, future):
        """Forecasts of each value of future (n,): {"persistence": (n,), "mean": (n,)}.

        persistence[i] is the value before future[i]: history[-1] for i = 0, else future[i - 1].
        mean[i] is the mean of history.
        """
        ### BEGIN SOLUTION
        persistence = np.concatenate([history[-1:], future[:-1]])
        return {"persistence": persistence, "mean": np.full(len(future), np.mean(history))}
        ### END SOLUTION
    '''))
    c.append(tests("test_naive_forecasts", 2, r'''
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
    '''))
    c.append(hidden("test_naive_forecasts_hidden", 1, r'''
    # Hidden tests for naive_forecasts (1 point): they run when the notebook is graded.
    ### BEGIN HIDDEN TESTS
    _h, _f = np.random.default_rng(43).random(20), np.random.default_rng(44).random(6)
    _g = naive_forecasts(_h, _f)
    check_close(_g["persistence"], np.r_[_h[-1], _f[:-1]], "persistence for random values")
    check_close(_g["mean"], np.full(6, _h.mean()), "mean for random values")
    _one = naive_forecasts(np.array([2.0]), np.array([9.0]))
    check_close(_one["persistence"], [2.0], "persistence of a one-day future")
    ### END HIDDEN TESTS
    '''))
    c.append(code(r'''
    def mse(forecast, actual):
        return float(np.mean((np.ravel(forecast) - np.ravel(actual)) ** 2))


    test_actual = series[first_test:]
    test_scores = {name: mse(f, test_actual) for name, f in naive_forecasts(series[:first_test], test_actual).items()}
    test_scores["mean of the last 7 days"] = mse(X_week[week_test].mean(axis=1), test_actual)
    for name, value in test_scores.items():
        print(f"{name:28} MSE {value:.5f}")
    '''))
    c.append(md(r'''
    A third naive forecast came for free: the mean of the last 7 days, which smooths out one
    unusually cloudy or sunny day.
    '''))

    # --- 5. past week ---------------------------------------------------------------------------
    c.append(md(r'''
    ## 5. An LSTM on the past week

    An **LSTM** reads a sequence one step at a time and carries a memory from step to step: at step $t$
    its gates decide what to forget from the memory cell $c$, what to write into it and what to output.
    Each gate is a small dense layer that reads the step's input $x_t$ and the previous output $h_{t-1}$:

    $$\begin{aligned}
    i_t &= \sigma(x_t W_{xi} + h_{t-1} W_{hi} + b_i) && \text{input gate: how much to write} \\
    f_t &= \sigma(x_t W_{xf} + h_{t-1} W_{hf} + b_f) && \text{forget gate: how much of } c_{t-1} \text{ to keep} \\
    g_t &= \tanh(x_t W_{xg} + h_{t-1} W_{hg} + b_g) && \text{candidate: what to write} \\
    o_t &= \sigma(x_t W_{xo} + h_{t-1} W_{ho} + b_o) && \text{output gate: how much to show} \\
    c_t &= f_t \odot c_{t-1} + i_t \odot g_t, \qquad h_t = o_t \odot \tanh(c_t)
    \end{aligned}$$

    ($\odot$: elementwise product.) The sigmoid gates lie between 0 and 1, so they act as dimmers on
    the memory line; because $c_t$ is updated by a sum rather than by repeated matrix products, the
    gradient can travel back over many steps without vanishing. dllab computes the four gates with one
    matrix product per step (their weights side by side, in the order $i, f, g, o$) and starts the
    forget gate's bias at 1, so a fresh cell remembers by default.
    '''))
    c.append(code(r'''
    dl.viz.lstm_cell_diagram()
    '''))
    c.append(md(r'''
    `dl.LSTM(16)` gives the last $h$ (16 numbers) of each sequence; a `dl.Dense(1)` turns it into the
    forecast. The `Trainer` could train it (it takes padded sequences as `((x, lengths), y)`, or
    `data.dataset("train")`); here a short loop does the training instead, so that every step is in
    view: Adam, learning rate 0.005 on a cosine schedule, batches of 32, drawing the error per step and
    the validation error per epoch.
    '''))
    c.append(code(r'''
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
    '''))
    c.append(md(r'''
    **Question (2 points).** How much better than the naive forecasts is the LSTM that sees the past week?
    Why is tomorrow's total so hard to forecast from past totals alone?
    '''))
    c.append(written("past_week_answer", 2, r'''
    In the reference run the LSTM's test MSE is about 28 % below persistence's and far below the
    training mean's, but only about 8 % below the plain mean of the last 7 days: almost all it learned
    is "a smoothed recent level". The total of a day depends mostly on that day's clouds, and the
    weather of tomorrow is nearly independent of the totals of the past days beyond the season (day
    length, sun height), which the recent level already carries. Past totals contain no information
    about tomorrow's clouds, so no model, however clever, can do much better from them; a better
    forecast needs better inputs (a weather forecast, or readings from the day itself).
    '''))

    # --- 6. the morning ---------------------------------------------------------------------------
    c.append(md(r'''
    ## 6. Reading the morning

    Better inputs: the day's own first readings. By the time the inverter has reported 14 times
    (7 hours of daylight) the weather of the day has shown itself. The input of each day is then a
    sequence of 14 steps with 2 features (current power, energy so far). A few days have fewer readings
    (8 to 13): to stack days into one array they are **padded** with zeros at the end, and the true
    lengths go with them, so that the LSTM stops at each day's last real reading and never reads the
    padding.

    **Your turn.** Write `pad_days`.
    '''))
    c.append(answer("pad_days", r'''
    def pad_days(days, steps):
        """days: list of arrays (T_i, F) with T_i <= steps -> (x, lengths):
        x (N, steps, F) float32, day i's readings first and zeros after them; lengths (N,) int64 = T_i."""
        ### BEGIN SOLUTION
        x = np.zeros((len(days), steps, days[0].shape[1]), dtype=np.float32)
        for i, day in enumerate(days):
            x[i, :len(day)] = day
        return x, np.array([len(day) for day in days], dtype=np.int64)
        ### END SOLUTION
    '''))
    c.append(tests("test_pad_days", 2, r'''
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
    print("pad_days: all visible tests passed")
    '''))
    c.append(hidden("test_pad_days_hidden", 1, r'''
    # Hidden tests for pad_days (1 point): they run when the notebook is graded.
    ### BEGIN HIDDEN TESTS
    from dllab.functional.recurrent import pad_sequences as _pad

    _rng = np.random.default_rng(45)
    _days = [_rng.random((_n, 3)) for _n in [5, 1, 9, 9, 2]]
    _x, _l = pad_days(_days, 9)
    _xr, _lr = _pad(_days, length=9)
    check_close(_x, _xr, "x for five days of 3 features, against dllab's pad_sequences")
    check(np.array_equal(_l, _lr) and np.asarray(_l).dtype == np.int64, "lengths for five days (int64).")
    _x, _l = pad_days(_days, 12)
    check_shape(_x, (5, 12, 3), "x padded to more steps than the longest day")
    ### END HIDDEN TESTS
    '''))
    c.append(md(r'''
    `iot_solar` did exactly this, after dividing each feature by its training maximum. Your function,
    applied to the raw readings of the training days that have fewer than 14 readings, gives the same
    arrays:
    '''))
    c.append(code(r'''
    short = np.flatnonzero(data.len_train < data.steps)
    order = np.argsort(raw["time"], kind="stable")
    readings = np.stack([raw["current"], raw["total"]], axis=1)[order]
    days = [readings[raw["date"][order] == data.dates_train[i]][:data.steps] for i in short]
    x_short, len_short = pad_days(days, data.steps)
    print("lengths:", len_short.tolist())
    print("largest difference from iot_solar's arrays:",
          np.abs(x_short / data.scale - data.x_train[short]).max(), "(float32 rounding)")
    '''))
    c.append(md(r'''
    The forecaster: `LSTM(24)` over each day's readings, `Dropout(0.2)` against overfitting (832 days
    are not many), `Dense(1)`. Same training loop, now with the lengths.
    '''))
    c.append(code(r'''
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
    '''))
    c.append(md(r'''
    **Question (2 points).** The morning LSTM beats both baselines by far. What does it know that they
    do not? At what time of the day could this forecast be used, and what would you change to forecast
    a day's total *before* it starts?
    '''))
    c.append(written("morning_answer", 2, r'''
    It sees the day itself: the first 7 hours of power and energy show how sunny the day is, and the
    energy so far is already a large part of the total (on the test days, 61 % on average; up to all of
    it on short winter days, and less in summer). The baselines only know earlier days, whose weather
    says little about today's. So the "forecast" is mostly an extrapolation of the afternoon, available
    about 7 hours after sunrise - useful for planning the evening, not the morning. To forecast before
    the day starts one needs inputs available then: the past days (section 5, little better than the
    baselines) and, above all, a weather forecast (cloud cover), plus the date for the season; fewer
    morning readings (say 4) would give an earlier but less accurate forecast.
    '''))

    # --- 7. plots ---------------------------------------------------------------------------------
    c.append(md(r'''
    ## 7. The forecasts, day by day

    The test days with the morning LSTM's forecast and the two baselines, in Wh; below, each forecast's
    error (forecast minus actual).
    '''))
    c.append(code(r'''
    naive = naive_forecasts(series[:first_test], series[first_test:])
    forecast_plot(data.dates_test, data.to_watt_hours(data.y_test), data.to_watt_hours(forecast),
                  baselines={"persistence": naive["persistence"] * scale, "mean": naive["mean"] * scale},
                  label="LSTM reading the morning", ylabel="day's total (Wh)",
                  title="test days: the day's total, forecast from its first 14 readings")
    '''))
    c.append(code(r'''
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
    '''))
    c.append(md(r'''
    **Question (2 points).** On which days does the LSTM go most wrong (the three days above), and why?
    Why were the days split by time, and the scale taken from the training days only, instead of a
    random split and the maximum of all days?
    '''))
    c.append(written("errors_answer", 2, r'''
    In the reference run the three worst days are short late-autumn days (mid-November to 1 December),
    and the forecast is far too high, nearly twice the actual total. Their mornings climb steadily, but
    the sun sets soon after the last input reading (on 1 December the day even ended within its 11
    readings, so its total was already in the input). The LSTM does not know the date or how long the
    day will be, and most training days with such a morning were longer, so it extrapolates as for a
    longer day; the day of the year as a third input, or more winter days, would help. Days whose
    afternoon differs from the morning (clouds coming or going) are the other kind of error the morning
    cannot show. A forecaster is only
    ever used on days after those it learned from; a random split would let it learn from days after
    (and around) the test days, whose season and weather are close to the test days', so the test error
    would be too optimistic. For the same reason the scale must not use the test days: their maximum is
    not known when the forecast is made, and using it lets information from the test period leak into
    training (in this data set the maximum comes from the training summers anyway, but the rule is
    what matters).
    '''))
    c.append(md(r'''
    ## Summary

    * A series becomes training pairs by sliding a window: `lookback` inputs, `horizon` targets.
    * Normalise with the training part's statistics only; split time series by time.
    * Always compare with naive forecasts — persistence and the mean; the mean of the last days is a
      strong one, and past totals alone barely beat it.
    * An LSTM reads a sequence step by step, carrying a memory; padded sequences go in with their
      lengths.
    * What the input knows matters more than the model: reading the day's first hours cuts the error of
      the baselines by more than half.
    '''))
    return notebook(c, "Lab 4: an LSTM forecaster on IoT solar data")


# =====================================================================================
# Lab 5: transfer learning
# =====================================================================================


def lab5():
    c = []
    c.append(md(r'''
    # Lab 5 — Transfer learning

    Labelled data is expensive; a network trained for one task is cheap to reuse. In this lab a LeNet
    learns to tell the digits **0–4** apart from thousands of labelled images (the *source* task). Then
    it helps with a *target* task for which only a handful of labelled images exist: telling the digits
    **5–9** apart. You will

    1. cut one dataset into two tasks, relabelling the classes,
    2. train the source network, and train a network **from scratch** on the few target images, as the
       baseline,
    3. use the source network without its last layer as a **frozen feature extractor**: features once,
       under `dl.no_grad()`, and a small new classifier on top; and the same by giving the optimizer
       only the new layer's parameters,
    4. **fine-tune** the whole network with a small learning rate,
    5. measure how the benefit depends on the number of labelled images, and try the digit features
       on a far task: **Fashion-MNIST** clothing.

    As before: run the cells in order, fill in the `# YOUR CODE HERE` cells, read what the test cells
    say, write short answers where asked. Everything runs small by default; with `full = True` the
    source network trains on all 30 000 training images of the digits 0–4 (a few minutes on a CPU).
    '''))
    c.append(code(r'''
    # Parameters (a workshop or a test run may override them)
    full = False      # True: the source network trains on all digits 0-4 for 3 epochs; more repeats below
    epochs = None     # None: 3 when full, else 2
    subset = None     # MNIST training images the source task is cut from; None: all when full, else 6 000
    device = "auto"   # "cpu", "gpu" or "auto" (the GPU when CuPy finds one)
    seed = 0
    ''', tags=["parameters"]))
    c.append(code(r'''
    import copy

    import numpy as np
    import matplotlib.pyplot as plt

    import dllab as dl
    from dllab import labs
    from dllab.labs import check, check_close, check_shape
    from dllab.models import lenet

    run = labs.setup(full, epochs, subset, device, seed, full_epochs=3, small_epochs=2, small_subset=6000)
    run
    '''))

    # --- 1. tasks -------------------------------------------------------------------------
    c.append(md(r'''
    ## 1. Two tasks from one dataset

    The source task keeps the MNIST images of the digits 0–4, the target task those of 5–9. A network
    for five classes has five outputs, numbered 0–4, so the target's labels must be renumbered: digit 5
    becomes label 0, digit 6 label 1, and so on. The dataset's class names keep track of what each label
    means.

    **Your turn.** Write `take_classes`. `np.isin(data.y, classes)` marks the samples to keep;
    `data.classes` lists the class names (`data.classes[7]` is `'7'`).
    '''))
    c.append(answer("take_classes", r'''
    def take_classes(data, classes):
        """The samples of `data` whose label is in `classes`, relabelled 0 .. len(classes) - 1.

        classes: a list of labels such as [5, 6, 7, 8, 9]; classes[i] becomes the new label i.
        Returns dl.data.Dataset(x, y, name, names): the kept images in their original order, their
        new int64 labels, any name, and names[i] = data.classes[classes[i]].
        """
        ### BEGIN SOLUTION
        classes = list(classes)
        keep = np.isin(data.y, classes)
        y = np.array([classes.index(label) for label in data.y[keep]], dtype=np.int64)
        names = [data.classes[label] for label in classes]
        return dl.data.Dataset(data.x[keep], y, f"{data.name}-{''.join(map(str, classes))}", names)
        ### END SOLUTION
    '''))
    c.append(tests("test_take_classes", 2, r'''
    # Tests for take_classes (2 points)
    tiny = dl.data.Dataset(np.arange(6, dtype=np.float32).reshape(6, 1, 1, 1), np.array([5, 0, 7, 5, 9, 1]),
                           "tiny", [str(d) for d in range(10)])
    got = labs.call(take_classes, tiny, [5, 7, 9], hint="keep = np.isin(data.y, classes) is one boolean per "
                    "sample: use it for data.x and data.y alike, then renumber with classes.index(label).")
    check(isinstance(got, dl.data.Dataset), f"take_classes must return a dl.data.Dataset, got {type(got).__name__}.")
    check(len(got) == 4, f"the labels [5, 0, 7, 5, 9, 1] hold 4 samples of the classes [5, 7, 9], got {len(got)}: "
          "keep exactly the samples whose label is in `classes`.")
    check_close(got.x.ravel(), [0, 2, 3, 4], "the kept images", hint="Keep the images of the kept samples, in their "
                "original order (the same mask for x and y).")
    check(not np.array_equal(got.y, [5, 7, 5, 9]), "the labels are still [5, 7, 5, 9]: a network with 3 outputs "
          "has no output 7. Renumber them: classes[i] becomes label i.")
    check(np.array_equal(got.y, [0, 1, 0, 2]), f"for the classes [5, 7, 9] the labels [5, 7, 5, 9] become "
          f"[0, 1, 0, 2], got {np.asarray(got.y).tolist()}.")
    check(got.classes == ["5", "7", "9"], f"the class names should be ['5', '7', '9'] (names[i] = "
          f"data.classes[classes[i]]), got {got.classes}.")
    got = labs.call(take_classes, tiny, [9, 5])
    check(np.array_equal(got.y, [1, 1, 0]), f"for the classes [9, 5], 9 becomes 0 and 5 becomes 1, so [5, 5, 9] "
          f"gives [1, 1, 0], got {np.asarray(got.y).tolist()}: follow the order of `classes`, not of the labels.")
    print("take_classes: all visible tests passed")
    '''))
    c.append(hidden("test_take_classes_hidden", 1, r'''
    # Hidden tests for take_classes (1 point): they run when the notebook is graded.
    ### BEGIN HIDDEN TESTS
    _, _test = dl.data.mnist(subset=100)
    _high = _test.y >= 5
    _got = take_classes(_test, [5, 6, 7, 8, 9])
    check(len(_got) == int(_high.sum()), "take_classes(test, [5, 6, 7, 8, 9]) keeps every test digit 5-9.")
    check(np.array_equal(_got.y, _test.y[_high] - 5), "the labels of the digits 5-9 become 0-4.")
    check(np.asarray(_got.y).dtype == np.int64, "the new labels should be int64.")
    check_close(_got.x[:50], _test.x[_high][:50], "the images of the digits 5-9")
    _odd = take_classes(_test, [3, 1])
    check(np.array_equal(_odd.y, np.where(_test.y[np.isin(_test.y, [3, 1])] == 3, 0, 1)), "classes [3, 1]: 3 -> 0, 1 -> 1.")
    check(_odd.classes == ["3", "1"], "the class names follow `classes`.")
    ### END HIDDEN TESTS
    '''))
    c.append(md(r'''
    The data: the source task from `run.subset` training images (all 60 000 when `full = True`, about
    half of them digits 0–4); the target task's labelled images come from the training digits 5–9. Small
    runs test on 2 000 of the test images.
    '''))
    c.append(code(r'''
    train, test = dl.data.mnist(subset=run.subset)
    pool, _ = dl.data.mnist()  # the target task's candidates: all training images (only a few get labels)
    if not run.full:
        test = test.subset(2000, seed=0)
    source_train, source_test = take_classes(train, [0, 1, 2, 3, 4]), take_classes(test, [0, 1, 2, 3, 4])
    target_pool, target_test = take_classes(pool, [5, 6, 7, 8, 9]), take_classes(test, [5, 6, 7, 8, 9])
    print(source_train, source_test, target_pool, target_test, sep="\n")
    print("label -> digit in the target task:", dict(enumerate(target_test.classes)))
    '''))

    # --- 2. source and scratch ---------------------------------------------------------------
    c.append(md(r'''
    ## 2. The source network, and the baseline

    LeNet with five outputs learns the digits 0–4 with lab 3's recipe (SGD with momentum 0.9, learning
    rate 0.03 on a cosine schedule, weight decay $5 \cdot 10^{-4}$, batches of 64).
    '''))
    c.append(code(r'''
    def fit(model, data, epochs, lr=0.01, optimizer=None, batch_size=10, validation=None, live=None, name="train"):
        """Train with SGD (momentum 0.9, cosine schedule, weight decay 5e-4); returns the Trainer.

        With `live` the run is drawn into that LiveCurves figure under `name`, with a progress bar.
        """
        if optimizer is None:
            optimizer = dl.optim.SGD(lr=lr, momentum=0.9, weight_decay=5e-4,
                                     schedule=dl.optim.CosineLR(epochs, min_factor=0.02))
        trainer = dl.Trainer(model, loss=dl.cross_entropy, optimizer=optimizer)
        n = len(data[1]) if isinstance(data, tuple) else len(data)
        callbacks = [live.run(name, steps=epochs * -(-n // batch_size))] if live else []
        trainer.fit(data, epochs=epochs, batch_size=batch_size, validation=validation, seed=run.seed,
                    callbacks=callbacks, verbose=False)
        return trainer


    dl.seed(run.seed)
    source = lenet(classes=5)
    fit(source, source_train, run.epochs, lr=0.03, batch_size=64, validation=source_test,
        live=labs.LiveCurves("the source network: digits 0-4"), name="LeNet, digits 0-4")
    acc_source = dl.Trainer(source).evaluate(source_test)["accuracy"]
    labs.check_target("LeNet on the digits 0-4", acc_source, 0.99, run)
    '''))
    c.append(md(r'''
    The target task gets **10 labelled images per digit**, 50 in all. They are all there is, so the
    baseline is LeNet trained from scratch on them: many epochs (each one is 5 steps), a smaller learning
    rate, batches of 10. The test digits 5–9 in the figure are only watched.
    '''))
    c.append(code(r'''
    per_class = 10
    labelled = target_pool.subset(5 * per_class, seed=run.seed)
    watch = target_test.subset(1000 if run.full else 300, seed=1)  # drawn in the learning curves
    small_epochs = 1500 // len(labelled)  # about 150 steps of 10 images
    dl.viz.image_grid(labelled.x, labelled.y, ncols=10, class_names=labelled.classes, size=1.0,
                      title=f"all {len(labelled)} labelled images of the target task")
    '''))
    c.append(code(r'''
    live = labs.LiveCurves("the target task: 50 labelled digits 5-9")
    dl.seed(run.seed)
    scratch = fit(lenet(classes=5), labelled, small_epochs, validation=watch, live=live, name="from scratch")
    results = {"LeNet from scratch": scratch.evaluate(target_test)["accuracy"]}
    print(f"from scratch on {len(labelled)} images: {results['LeNet from scratch']:.2%} on the test digits 5-9")
    '''))

    # --- 3. features ----------------------------------------------------------------------------
    c.append(md(r'''
    ## 3. The source network as a frozen feature extractor

    Everything but the last layer of the source network turns an image into 500 numbers, the input of
    its last layer — **features** that were useful to tell 0–4 apart. Perhaps they are useful for 5–9
    too. Cut the network into a **body** (all layers before the cut) and a **head** (the rest); keep
    the body **frozen** (its weights never change) and train only a new head for the new classes.

    **Your turn.** Write `split_model`. It must not copy the layers: the body and head hold the model's
    own layer objects (`model.layers` is the list of them; `dl.Sequential(*layers)` makes a model).
    '''))
    c.append(answer("split_model", r'''
    def split_model(model, cut):
        """(body, head): two dl.Sequential models holding model.layers[:cut] and model.layers[cut:]."""
        ### BEGIN SOLUTION
        return dl.Sequential(*model.layers[:cut]), dl.Sequential(*model.layers[cut:])
        ### END SOLUTION
    '''))
    c.append(tests("test_split_model", 2, r'''
    # Tests for split_model (2 points)
    net = lenet(classes=5)
    xs = dl.Tensor(np.random.default_rng(0).random((3, 1, 28, 28)).astype(np.float32))
    net(xs)  # creates the weights
    out = labs.call(split_model, net, 5, hint="model.layers is a list: model.layers[:cut] and model.layers[cut:], "
                    "each passed to dl.Sequential(*layers).")
    check(isinstance(out, (tuple, list)) and len(out) == 2, "split_model must return a pair (body, head).")
    body_, head_ = out
    check(isinstance(body_, dl.Sequential) and isinstance(head_, dl.Sequential),
          "body and head should be dl.Sequential models: dl.Sequential(*layers).")
    check(len(body_) == 5 and len(head_) == 2, f"cutting LeNet's 7 layers at 5 gives a body of layers 0-4 and a "
          f"head of layers 5-6; got {len(body_)} and {len(head_)} layers.")
    check(body_[0] is net[0] and head_[-1] is net[-1], "body and head must hold the model's own layers, not "
          "copies: model.layers[:cut] and model.layers[cut:].")
    check_close(head_(body_(xs)), net(xs), "head(body(x)) compared with model(x)",
                hint="The body runs first, then the head: together they are the whole model.")
    _, last = labs.call(split_model, net, -1)
    check(len(last) == 1 and last[0] is net[-1], "split_model(model, -1) should give a head of the last layer only "
          "(a negative cut counts from the end, as in a slice).")
    print("split_model: all visible tests passed")
    '''))
    c.append(hidden("test_split_model_hidden", 1, r'''
    # Hidden tests for split_model (1 point): they run when the notebook is graded.
    ### BEGIN HIDDEN TESTS
    _net = dl.Flatten() >> dl.Dense(4, activation=dl.relu) >> dl.Dense(3, activation=dl.relu) >> dl.Dense(2)
    _x = dl.Tensor(np.random.default_rng(3).random((5, 1, 2, 3)).astype(np.float32))
    _want = _net(_x).numpy()
    for _cut in [1, 2, 3, -2]:
        _b, _h = split_model(_net, _cut)
        check(len(_b) + len(_h) == 4 and all(a is b for a, b in zip(list(_b) + list(_h), _net)),
              f"split_model(model, {_cut}) keeps every layer once, in order.")
        check_close(_h(_b(_x)), _want, f"head(body(x)) for cut {_cut}")
    ### END HIDDEN TESTS
    '''))
    c.append(md(r'''
    The body never changes, so its features can be computed **once** for every image and stored;
    training the new head then never runs the body again. Two things make that cheap:

    * `with dl.no_grad():` — nothing will be differentiated, so no graph of the computation is kept
      (it would hold every intermediate array in memory);
    * batches: the images go through in slices of `batch_size`, never all at once.

    Call `body.eval()` first, so that layers that train differently (dropout, batch norm; LeNet has
    none, but the next network might) behave as at test time.

    **Your turn.** Write `extract_features`. `dl.Tensor(dl.backend.to_device(xb))` puts a batch on
    the current device (CPU or GPU); `.numpy()` brings a result back as a NumPy array;
    `np.concatenate` joins the batches.
    '''))
    c.append(answer("extract_features", r'''
    def extract_features(body, x, batch_size=500):
        """body(x) for images x (N, ...) as a NumPy array (N, features): in evaluation mode, without
        gradients, batch_size images at a time."""
        ### BEGIN SOLUTION
        body.eval()
        parts = []
        with dl.no_grad():
            for i in range(0, len(x), batch_size):
                parts.append(body(dl.Tensor(dl.backend.to_device(x[i:i + batch_size]))).numpy())
        return np.concatenate(parts)
        ### END SOLUTION
    '''))
    c.append(tests("test_extract_features", 2, r'''
    # Tests for extract_features (2 points): a small body with a probe that records how it is called
    probe = labs.ProbeLayer()
    net = dl.Sequential(dl.Flatten(), probe, dl.Dense(3))
    xs = np.random.default_rng(0).random((25, 1, 2, 2)).astype(np.float32)
    feats = labs.call(extract_features, net, xs, batch_size=10,
                      hint="For each slice xb = x[i:i + batch_size]: body(dl.Tensor(dl.backend.to_device(xb)))"
                           ".numpy(); then np.concatenate the list of batches.")
    check(feats is not None, "extract_features returned None: did you forget the `return`?")
    check(isinstance(feats, np.ndarray), f"extract_features should return a NumPy array, got {type(feats).__name__}: "
          "use .numpy() on each batch's output and np.concatenate.")
    check_shape(feats, (25, 3), "the features of 25 images", hint="One row per image: join the batches along axis 0.")
    check(probe.batch_sizes == [10, 10, 5], f"the body saw batches of {probe.batch_sizes} images, expected "
          "[10, 10, 5]: send x[i:i + batch_size] for i = 0, 10, 20 (the last slice is shorter).")
    check(not any(grad for _, grad, _ in probe.calls), "the body ran with gradients on, keeping a graph nobody will "
          "use: run it inside `with dl.no_grad():`.")
    check(not any(training for _, _, training in probe.calls), "the body ran in training mode: call body.eval() "
          "first.")
    with dl.no_grad():
        want = net(dl.Tensor(xs)).numpy()
    check_close(feats, want, "the features", hint="Row n is body(x[n]), in the order of x.")
    print("extract_features: all visible tests passed")
    '''))
    c.append(hidden("test_extract_features_hidden", 1, r'''
    # Hidden tests for extract_features (1 point): they run when the notebook is graded.
    ### BEGIN HIDDEN TESTS
    _probe = labs.ProbeLayer()
    _net = dl.Sequential(_probe, dl.Flatten(), dl.Dense(4, activation=dl.relu))
    _x = np.random.default_rng(4).random((7, 1, 3, 3)).astype(np.float32)
    with dl.no_grad():
        _want = _net(dl.Tensor(_x)).numpy()
    _probe.calls.clear()
    check_close(extract_features(_net, _x, batch_size=7), _want, "features in one batch of 7")
    check(_probe.batch_sizes == [7], "one batch when batch_size == N.")
    _probe.calls.clear()
    check_close(extract_features(_net, _x, batch_size=3), _want, "features in batches of 3")
    check(_probe.batch_sizes == [3, 3, 1], "batches of 3, 3, 1 for 7 images.")
    check_close(extract_features(_net, _x), _want, "features with the default batch size")
    ### END HIDDEN TESTS
    '''))
    c.append(md(r'''
    The source network cut before its last layer (`cut = -1`): the body maps an image to the 500
    outputs of the dense layer `ip1`. Features for the 50 labelled images and for the test digits, once:
    '''))
    c.append(code(r'''
    body, _ = split_model(source, -1)
    features = extract_features(body, labelled.x)
    test_features = extract_features(body, target_test.x)
    print("features:", features.shape, "test features:", test_features.shape)
    '''))
    c.append(md(r'''
    How good are these features for the new classes? The simplest test needs no training at all: average
    the features of each class's labelled images, and give every test image the class of the **nearest
    class mean** (the smallest squared distance $\lVert f - \mu_c \rVert^2$). If the features put images
    of one digit close together, this works.

    **Your turn.** Write `nearest_mean_predict`. Broadcasting gives all distances at once:
    `queries[:, None, :] - means[None, :, :]` has shape (queries, classes, features).
    '''))
    c.append(answer("nearest_mean_predict", r'''
    def nearest_mean_predict(features, labels, queries):
        """Label each row of queries (M, F) with the class whose mean feature vector (over the rows of
        features (N, F) with that label) is nearest. Returns (M,) labels taken from `labels`."""
        ### BEGIN SOLUTION
        classes = np.unique(labels)
        means = np.stack([features[labels == c].mean(axis=0) for c in classes])
        distances = ((queries[:, None, :] - means[None, :, :]) ** 2).sum(axis=2)
        return classes[distances.argmin(axis=1)]
        ### END SOLUTION
    '''))
    c.append(tests("test_nearest_mean_predict", 2, r'''
    # Tests for nearest_mean_predict (2 points)
    F = np.array([[0.0, 0.0], [0.0, 2.0], [10.0, 10.0], [12.0, 10.0]])  # class means (0, 1) and (11, 10)
    Q = np.array([[1.0, 1.0], [9.0, 9.0], [6.0, 6.0], [-5.0, 0.0]])
    got = labs.call(nearest_mean_predict, F, np.array([0, 0, 1, 1]), Q,
                    hint="means (classes, F) from features[labels == c].mean(axis=0); then "
                         "queries[:, None, :] - means[None, :, :] is (M, classes, F): sum its squares over axis 2.")
    check_shape(got, (4,), "the predictions for 4 queries", hint="One label per query row.")
    check(not np.array_equal(got, [1, 0, 0, 1]), "every prediction is the farthest class: take the smallest "
          "distance (argmin), not the largest.")
    check(np.array_equal(got, [0, 1, 1, 0]), f"the queries (1, 1), (9, 9), (6, 6), (-5, 0) are nearest to the "
          f"class means (0, 1), (11, 10), (11, 10), (0, 1): expected [0, 1, 1, 0], got {np.asarray(got).tolist()}. "
          "Compare with the mean of each class, not with single training rows.")
    got = labs.call(nearest_mean_predict, F, np.array([3, 3, 7, 7]), Q,
                    hint="The labels here are 3 and 7: loop over np.unique(labels), not over range(number of classes).")
    check(np.array_equal(got, [3, 7, 7, 3]), f"with the labels [3, 3, 7, 7] the answer is [3, 7, 7, 3], got "
          f"{np.asarray(got).tolist()}: return labels, not positions (np.unique(labels)[index]).")
    print("nearest_mean_predict: all visible tests passed")
    '''))
    c.append(hidden("test_nearest_mean_predict_hidden", 1, r'''
    # Hidden tests for nearest_mean_predict (1 point): they run when the notebook is graded.
    ### BEGIN HIDDEN TESTS
    _rng = np.random.default_rng(51)
    _centres = _rng.normal(size=(4, 6)) * 5
    _y = np.repeat(np.arange(4), 5)
    _F = (_centres[_y] + _rng.normal(size=(20, 6))).astype(np.float32)
    _Q = _centres[[2, 0, 3, 1, 2]] + _rng.normal(size=(5, 6)) * 0.1
    _means = np.stack([_F[_y == c].mean(axis=0) for c in range(4)])
    _ref = ((_Q[:, None] - _means[None]) ** 2).sum(axis=2).argmin(axis=1)
    check(np.array_equal(nearest_mean_predict(_F, _y, _Q), _ref), "nearest_mean_predict on 4 random clusters.")
    check(np.array_equal(nearest_mean_predict(_F, _y, _Q[:1]), _ref[:1]), "nearest_mean_predict of one query.")
    ### END HIDDEN TESTS
    '''))
    c.append(md(r'''
    Now the real thing: a new head, `dl.Dense(5)`, trained on the stored features — logistic regression
    as in lab 1, on 500 features instead of 784 pixels. It takes a fraction of a second. As a control,
    the same head on the features of an **untrained** LeNet body (random weights): is it the learned
    features that help, or just the architecture? Random features are several times smaller than
    learned ones, so the heads train with Adam, which sizes each weight's step itself: both kinds of
    features get a fair chance.
    '''))
    c.append(code(r'''
    def head_optimizer(params=None, epochs=small_epochs):
        """Adam with weight decay and a cosine schedule, for a new head on features of any scale."""
        return dl.optim.Adam(params, lr=1e-2, weight_decay=5e-4,
                             schedule=dl.optim.CosineLR(epochs, min_factor=0.02))


    results["nearest class mean, learned features"] = np.mean(
        nearest_mean_predict(features, labelled.y, test_features) == target_test.y)
    live = labs.LiveCurves("new heads on frozen features")
    dl.seed(run.seed)
    head = dl.Dense(5)
    fit(head, (features, labelled.y), small_epochs, optimizer=head_optimizer(),
        validation=(test_features, target_test.y), live=live, name="learned features")
    results["new head, learned features"] = dl.Trainer(head).evaluate((test_features, target_test.y))["accuracy"]

    dl.seed(run.seed)
    random_body, _ = split_model(lenet(classes=5), -1)
    random_features, random_test_features = (extract_features(random_body, labelled.x),
                                             extract_features(random_body, target_test.x))
    random_head = dl.Dense(5)
    fit(random_head, (random_features, labelled.y), small_epochs, optimizer=head_optimizer(),
        validation=(random_test_features, target_test.y), live=live, name="random features")
    results["new head, random features"] = dl.Trainer(random_head).evaluate(
        (random_test_features, target_test.y))["accuracy"]
    for name, acc in results.items():
        print(f"{name:40}{acc:8.2%}")
    '''))
    c.append(md(r'''
    **Question (2 points).** Compare the four results. What does the nearest-mean classifier say about
    the learned features? What does the control with random features show?
    '''))
    c.append(written("features_answer", 2, r'''
    The head on the learned features does as well as a whole LeNet trained from scratch on the same 50
    images (reference run: 87.1 % against 86.9 %), while it trains 2 505 parameters for a fraction of a
    second instead of 430 000 for many seconds. The nearest class mean, with no training at all,
    already gets 83 %: in the learned feature space images of the same new digit lie close together,
    although the network never saw a 5-9 - the body learned stroke and shape detectors that are not
    specific to 0-4. The control shows that the learning matters, not only the architecture: on the
    features of a random body the same head does worse (84.3 %). That random convolutions get so far
    above chance (20 %) shows how much the architecture alone gives on images as simple as these.
    '''))
    c.append(md(r'''
    ### Freezing through the optimizer

    Computing features once works when the body never changes and sees each image once. The general way
    to freeze layers is to give the optimizer only the parameters that should change:
    `dl.optim.Adam(new_head, ...)` (an optimizer takes a model or a list of parameters). The whole
    network still runs at every step — slower, but the images can then be augmented (shifted, inverted)
    on the fly, and unfreezing later is a one-line change. The body is copied first, so that `source`
    keeps its weights for later.
    '''))
    c.append(code(r'''
    frozen = copy.deepcopy(body) >> dl.Dense(5)  # the copied body's layers, then a new head
    conv1_before = frozen[0].W.numpy().copy()
    only_head = head_optimizer(frozen[-1])  # it sees the new head's parameters only
    dl.seed(run.seed)
    fit(frozen, labelled, small_epochs, optimizer=only_head, validation=watch,
        live=labs.LiveCurves("frozen body, the optimizer updates the head only"), name="frozen body")
    results["frozen body, head trained on images"] = dl.Trainer(frozen).evaluate(target_test)["accuracy"]
    print(f"conv1 unchanged: {np.array_equal(conv1_before, frozen[0].W.numpy())}; "
          f"accuracy {results['frozen body, head trained on images']:.2%}")
    '''))
    c.append(md(r'''
    The same accuracy as the head trained on stored features: it is the same computation (same starting
    weights, same batches), only with the body run again at every step.
    '''))

    # --- 4. fine-tuning -------------------------------------------------------------------------
    c.append(md(r'''
    ## 4. Fine-tuning

    The frozen body never adapts to the new digits. **Fine-tuning** continues from the network above
    (body and trained head) and now lets the optimizer update **all** parameters, with a small
    learning rate (0.003), so that the learned features are adjusted rather than overwritten. Training
    the head first matters: a random head would send large, random gradients into the body.
    '''))
    c.append(code(r'''
    tuned = copy.deepcopy(frozen)
    dl.seed(run.seed)
    fit(tuned, labelled, small_epochs, lr=0.003, validation=watch,
        live=labs.LiveCurves("fine-tuning every layer"), name="fine-tuned")
    results["fine-tuned"] = dl.Trainer(tuned).evaluate(target_test)["accuracy"]
    moved = np.abs(tuned[0].W.numpy() - frozen[0].W.numpy()).mean() / np.abs(frozen[0].W.numpy()).mean()
    print(f"conv1's weights moved by {moved:.1%} of their size on average")
    for name, acc in results.items():
        print(f"{name:40}{acc:8.2%}")
    '''))

    # --- 5. how many labels -----------------------------------------------------------------------
    c.append(md(r'''
    ## 5. How many labels?

    One draw of 50 images is a noisy measurement. The next cell repeats the three main methods for
    several numbers of labelled images per digit, each with different random draws of the labelled
    images (more sizes and draws when `full = True`), and plots the mean accuracy with its spread.
    '''))
    c.append(code(r'''
    def few_labels(n_per_class, draw):
        """Test accuracy of scratch, frozen features + new head, and fine-tuning, for one random draw."""
        data = target_pool.subset(5 * n_per_class, seed=draw)
        n_epochs = max(10, 1500 // len(data))
        dl.seed(draw)
        acc = {"from scratch": fit(lenet(classes=5), data, n_epochs).evaluate(target_test)["accuracy"]}
        dl.seed(draw)
        new_head = dl.Dense(5)
        fit(new_head, (extract_features(body, data.x), data.y), n_epochs, optimizer=head_optimizer(epochs=n_epochs))
        acc["frozen features + new head"] = dl.Trainer(new_head).evaluate((test_features, target_test.y))["accuracy"]
        whole = copy.deepcopy(body) >> copy.deepcopy(new_head)
        acc["fine-tuned"] = fit(whole, data, n_epochs, lr=0.003).evaluate(target_test)["accuracy"]
        return acc


    sizes = [1, 3, 10, 30, 100] if run.full else [3, 30]
    draws = 3 if run.full else 1
    sweep = {}  # (n_per_class, draw) -> accuracies
    for n in labs.progress(sizes, desc="labelled images per class"):
        for draw in range(draws):
            sweep[n, draw] = few_labels(n, draw)
    methods = list(sweep[sizes[0], 0])
    mean = {m: np.array([np.mean([sweep[n, d][m] for d in range(draws)]) for n in sizes]) for m in methods}
    spread = {m: np.array([np.std([sweep[n, d][m] for d in range(draws)]) for n in sizes]) for m in methods}
    print(f"{'per class':>10}" + "".join(f"{m:>28}" for m in methods))
    for i, n in enumerate(sizes):
        print(f"{n:>10}" + "".join(f"{mean[m][i]:>21.2%} ± {spread[m][i]:.1%}" for m in methods))
    '''))
    c.append(code(r'''
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for m in methods:
        ax.errorbar(sizes, mean[m], yerr=spread[m], marker="o", capsize=3, label=m)
    ax.set(xscale="log", xlabel="labelled images per digit", ylabel="accuracy on the test digits 5-9",
           title=f"transfer from the digits 0-4 (mean of {draws} draw{'s' * (draws > 1)})")
    ax.set_xticks(sizes, [str(n) for n in sizes])
    ax.grid(alpha=0.3)
    ax.legend()
    plt.show()
    gain = np.mean(mean["fine-tuned"][:2] - mean["from scratch"][:2])
    labs.check_target(f"fine-tuning vs scratch with {sizes[0]} and {sizes[1]} labelled images per digit", gain,
                      0.02, run, what="more accuracy on average")
    '''))
    c.append(md(r'''
    **Question (2 points).** When does transfer help most? With 3 labelled images per digit, and with
    1 000, would you use frozen features or fine-tuning — and why (think of overfitting and of compute)?
    '''))
    c.append(written("how_many_answer", 2, r'''
    Transfer helps most when labels are scarce: with one to three images per digit the transferred
    network is about 4 to 5 points ahead of training from scratch (reference run), and the gap shrinks
    to one or two points at 10-30 images per digit and to half a point at 100, because with enough data
    the network learns good features for the new task itself; fine-tuning stays a little ahead of the
    frozen features throughout. The spread between draws is large with few labels: which images get labelled
    matters as much as the method, so one draw proves little. With 3 images
    per digit I would use frozen features (or fine-tune very gently): a few hundred thousand free
    parameters can memorise 15 images, while a linear head on fixed features has little room to
    overfit, and it trains in a moment. With 1 000 per digit fine-tuning (or even training from scratch)
    is better: there is enough data to adapt every layer to the new classes without overfitting, and
    the cost of running the whole network is worth the extra accuracy.
    '''))

    # --- 6. far task -----------------------------------------------------------------------------------
    c.append(md(r'''
    ## 6. A far task: clothing

    Digits 0–4 and 5–9 are drawn with the same pen strokes. How about a task that shares less?
    Fashion-MNIST has 28 × 28 grey images of ten kinds of clothing. With 10 labelled images per kind:
    LeNet from scratch, a new head on the digit features, and a new head on random features.
    '''))
    c.append(code(r'''
    fashion_pool, fashion_test = dl.data.fashion_mnist()
    fashion_test = fashion_test.subset(2000, seed=0)
    fashion = fashion_pool.subset(100, seed=run.seed)
    fashion_epochs = 1500 // len(fashion)
    dl.viz.image_grid(fashion.x[::10], fashion.y[::10], ncols=10, class_names=fashion.classes, size=1.1,
                      title="one labelled image of each kind")
    '''))
    c.append(code(r'''
    far = {}
    live = labs.LiveCurves("a far task: 100 labelled clothing images")
    fashion_watch = fashion_test.subset(1000 if run.full else 300, seed=1)  # drawn in the curves
    dl.seed(run.seed)
    far["LeNet from scratch"] = fit(lenet(), fashion, fashion_epochs, validation=fashion_watch, live=live,
                                    name="from scratch").evaluate(fashion_test)["accuracy"]
    for name, some_body in [("digit features", body), ("random features", random_body)]:
        far_test = (extract_features(some_body, fashion_test.x), fashion_test.y)
        dl.seed(run.seed)
        far_head = dl.Dense(10)
        fit(far_head, (extract_features(some_body, fashion.x), fashion.y), fashion_epochs,
            optimizer=head_optimizer(epochs=fashion_epochs), validation=far_test, live=live, name=name)
        far[f"new head, {name}"] = dl.Trainer(far_head).evaluate(far_test)["accuracy"]
    for name, acc in far.items():
        print(f"{name:32}{acc:8.2%}")
    '''))
    c.append(md(r'''
    **Question (2 points).** How useful were the digit features for clothing, compared with the other
    two (and with what they did for the digits 5–9)? Why?
    '''))
    c.append(written("far_task_answer", 2, r'''
    For clothing the digit features did not help: the head on them (reference run: 67.7 %) is below
    both the head on random features (69.4 %) and LeNet trained from scratch on the same 100 images
    (69.1 %) - on the digits 5-9 the learned features were clearly better than random ones. The body
    was trained only to tell five digits apart; its last layer, the 500 units of ip1, responds to
    combinations of pen strokes that separate 0-4, and has thrown away what does not matter for them -
    filled areas, textures, the shape of a sleeve or a sole - while random features keep a little of
    everything. Frozen features cannot adapt. Digits 5-9 are made of the same strokes, so there the
    features transfer. Transfer pays when the tasks share what the features capture; for a far task
    cut earlier (keep only the convolutions), fine-tune, or pretrain on a broader dataset.
    '''))
    c.append(md(r'''
    ## Summary

    * A network trained on a large labelled set is a feature extractor for related tasks: cut off its
      last layer, compute features once under `dl.no_grad()`, train a small new head.
    * Freezing means the optimizer gets only the parameters that should change:
      `dl.optim.Adam(new_head, ...)`.
    * Fine-tuning continues with every parameter and a small learning rate, after the new head is trained.
    * The fewer the labels, the more transfer helps; the further the tasks, the less.
    '''))
    return notebook(c, "Lab 5: transfer learning")


LABS = {"lab1_logreg": lab1, "lab2_mlp": lab2, "lab3_cnn": lab3, "lab4_lstm": lab4, "lab5_transfer": lab5}


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

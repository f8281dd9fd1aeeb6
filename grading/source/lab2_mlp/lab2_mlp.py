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
#   title: 'Lab 2: a fully connected network on MNIST'
# ---

# %% [markdown]
# # Lab 2 — A fully connected network on MNIST
#
# Lab 1's linear model stops near 92 %. Hidden layers let a network build its own features from the
# pixels. In this lab you will
#
# 1. write the **activation functions** and the **forward pass** of a network with two hidden layers,
# 2. derive and write **backpropagation** (the δ equations) and check it with the **gradient checker**,
# 3. train it, see a learning rate that is too large blow the gradients up, and fix it with
#    **gradient clipping**, written by you,
# 4. build the same network from `dllab` layers with your own `make_mlp`,
# 5. write the update rules of **SGD with momentum, RMSProp and Adam** (with L2 and L1) and race them
#    on a ravine and a saddle, then compare them on MNIST over three seeds; **sigmoid vs ReLU**,
#    **L2 and dropout**, and **early stopping**,
# 6. and reach **at least 98 %** test accuracy.
#
# As in lab 1: run the cells in order, fill in the `# YOUR CODE HERE` cells, read what the test cells
# say, write short answers where asked. Everything runs small by default; set `full = True` below and
# run all cells again for the full-size result.

# %% tags=["parameters"]
# Parameters (a workshop or a test run may override them)
full = False      # True: the final model trains on all 60 000 images for 20 epochs (a few minutes)
epochs = None     # None: 20 when full, else 5
subset = None     # training images of the final model; None: all when full, else 6 000
device = "auto"   # "cpu", "gpu" or "auto" (the GPU when CuPy finds one)
seed = 0

# %% tags=["judge"]

import matplotlib.pyplot as plt
import numpy as np

import dllab as dl
from dllab import labs
from dllab.labs import check, check_close, check_shape

run = labs.setup(full, epochs, subset, device, seed, full_epochs=20, small_epochs=5, small_subset=6000)
run

# %% [markdown]
# The data: all 60 000 training images, split once into 50 000 for training and 10 000 for
# **validation**. Comparisons and early stopping look at the validation images, so that the test
# images stay untouched until the very end. The comparisons train on a small part of the training
# images (`run.quick_subset`) to stay quick.

# %%
train_all, test = dl.data.mnist(flatten=True)
train, val = train_all.split(5 / 6, seed=0)
quick = train.subset(run.quick_subset, seed=run.seed)
print(train, val, quick, test, sep="\n")


# %% [markdown]
# ## 1. The neuron and its activation function
#
# A neuron computes a weighted sum of its inputs plus a bias, then applies a nonlinear
# **activation function**: $a = f(w^\top x + b)$. Without $f$, layers of neurons would collapse into
# one linear map — no better than lab 1. Two classic choices and their derivatives:
#
# $$\sigma(z) = \frac{1}{1 + e^{-z}}, \quad \sigma'(z) = \sigma(z)\,\big(1 - \sigma(z)\big);
# \qquad \mathrm{relu}(z) = \max(0, z), \quad \mathrm{relu}'(z) = \begin{cases} 1 & z > 0 \\ 0 & z \le 0 \end{cases}$$
#
# **Your turn.** Write the four functions; each works elementwise on an array of any shape. For large
# negative $z$, `np.exp(-z)` overflows: a stable sigmoid is `0.5 * (1 + np.tanh(0.5 * z))` (the same
# function), or use `np.exp(-np.abs(z))` with two cases.

# %% nbgrader={"grade": false, "grade_id": "activations", "locked": false, "schema_version": 3, "solution": true, "task": false}
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


# %% nbgrader={"grade": true, "grade_id": "test_activations", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Tests for the activations (2 points)
z = np.array([-1000.0, -2.0, 0.0, 0.5, 3.0, 1000.0])
z_before = z.copy()
s = labs.call(sigmoid, z, hint="Work on the whole array at once with NumPy functions (np.exp, "
              "np.tanh, np.maximum); math.exp and if/else on an array do not work elementwise.")
check_shape(s, z.shape, "sigmoid(z)", hint="Activations work elementwise: same shape in, same shape out.")
check(np.all(np.isfinite(s)), "sigmoid gives nan or inf for z = -1000 or 1000; use the stable form "
      "0.5 * (1 + np.tanh(0.5 * z)).")
check_close(s, [0.0, 0.11920292, 0.5, 0.62245933, 0.95257413, 1.0], "sigmoid(z)",
            hint="sigmoid(z) = 1 / (1 + exp(-z)).")
check_close(labs.call(sigmoid_grad, np.array([0.0, 2.0])), [0.25, 0.10499359], "sigmoid_grad([0, 2])",
            hint="sigmoid'(z) = sigmoid(z) * (1 - sigmoid(z)), evaluated at z.")
far = labs.call(sigmoid_grad, np.array([-800.0, -30.0, 30.0, 800.0]))
check(np.all(np.isfinite(np.asarray(far, dtype=float))), "sigmoid_grad([-800, -30, 30, 800]) gives nan or inf: "
      "a formula with np.exp(-z) or np.exp(z) in it overflows to inf for |z| above about 709, and inf / inf is "
      "nan. Write it with your stable sigmoid: s = sigmoid(z), then s * (1 - s).")
check_close(far, [0.0, 9.35762297e-14, 9.35762297e-14, 0.0], "sigmoid_grad([-800, -30, 30, 800])", atol=1e-15,
            hint="sigmoid'(z) = sigmoid(z) * (1 - sigmoid(z)): almost 0 far from 0, on both sides.")
r = np.array([-2.0, 0.0, 3.0])
check_close(labs.call(relu, r, hint="np.maximum(Z, 0) works elementwise; max(Z, 0) does not."),
            [0.0, 0.0, 3.0], "relu([-2, 0, 3])")
check(np.array_equal(z, z_before) and np.array_equal(r, [-2.0, 0.0, 3.0]), "an activation changed its input: "
      "`Z[Z < 0] = 0` or `Z *= ...` writes into the caller's array, and the forward pass still needs Z for "
      "the backward pass. Return a new array, e.g. np.maximum(Z, 0).")
check_close(labs.call(relu_grad, np.array([-2.0, 0.0, 3.0])), [0.0, 0.0, 1.0], "relu_grad([-2, 0, 3])",
            hint="1 where z > 0, 0 elsewhere (we take 0 at z = 0); it is not relu itself.")
print("activations: all visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_activations_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Hidden tests for the activations (1 point): they run when the notebook is graded.
### BEGIN HIDDEN TESTS
_z = np.random.default_rng(2).normal(size=(4, 6)) * 3
_z0 = _z.copy()
check_close(labs.call(sigmoid, _z), 1 / (1 + np.exp(-_z)), "sigmoid of a (4, 6) array")
check_close(labs.call(sigmoid_grad, _z), np.exp(-_z) / (1 + np.exp(-_z)) ** 2, "sigmoid_grad of a (4, 6) array")
check_close(labs.call(sigmoid_grad, np.array([[-750.0, 720.0], [-40.0, 0.0]])),
            [[0.0, 0.0], [np.exp(-40.0) / (1 + np.exp(-40.0)) ** 2, 0.25]], "sigmoid_grad far from 0", atol=1e-15)
check_close(labs.call(sigmoid, np.array([-900.0, 900.0])), [0.0, 1.0], "sigmoid(-900) and sigmoid(900)")
check_close(labs.call(relu, _z), np.where(_z > 0, _z, 0), "relu of a (4, 6) array")
check_close(labs.call(relu_grad, _z), (_z > 0) * 1.0, "relu_grad of a (4, 6) array")
check(np.array_equal(_z, _z0), "the activations must not change their input in place.")
### END HIDDEN TESTS

# %%
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


# %% [markdown]
# Note the derivative of the sigmoid: at most 0.25, and almost 0 once $|z|$ is large (the neuron
# *saturates*). Backpropagation multiplies by it once per layer — keep that in mind for section 5.

# %% [markdown]
# ## 2. The forward pass
#
# Our network has two hidden layers. For a batch $X$ ($N \times D$) and activation $f$:
#
# $$\begin{aligned}
# Z_1 &= X W_1 + b_1, & A_1 &= f(Z_1) \\
# Z_2 &= A_1 W_2 + b_2, & A_2 &= f(Z_2) \\
# Z_3 &= A_2 W_3 + b_3, & P &= \mathrm{softmax}(Z_3)
# \end{aligned}$$
#
# With 784 inputs, hidden layers of $H_1$ and $H_2$ units and 10 classes, $W_1$ is $784 \times H_1$,
# $W_2$ is $H_1 \times H_2$ and $W_3$ is $H_2 \times 10$. Softmax and cross-entropy come from lab 1;
# the weights start random, scaled by $\sqrt{2 / \text{inputs}}$ ("He" initialisation) so that the
# signal keeps its size from layer to layer.

# %%
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


# %% [markdown]
# **Your turn.** Write `forward`. Besides the probabilities it returns a **cache**: the values the
# backward pass will need. Use exactly the keys `"X", "Z1", "A1", "Z2", "A2", "Z3"`.

# %% nbgrader={"grade": false, "grade_id": "forward", "locked": false, "schema_version": 3, "solution": true, "task": false}
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


# %% nbgrader={"grade": true, "grade_id": "test_forward", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Tests for forward (2 points): a tiny net with 5 inputs, hidden layers of 7 and 6, 3 classes
X, y, params = labs.net_fixture(sizes=(5, 7, 6, 3), batch=4, seed=0)
out = labs.call(forward, X, params, "relu", hint="Shapes: X (4, 5), W1 (5, 7), W2 (7, 6), W3 (6, 3); "
                "each layer is (previous A) @ W + b, so the inner sizes of every @ agree.")
check(isinstance(out, (tuple, list)) and len(out) == 2, "forward must return a pair (P, cache).")
P, cache = out
check_shape(P, (4, 3), "P", hint="One row of class probabilities per input row.")
missing = [k for k in ["X", "Z1", "A1", "Z2", "A2", "Z3"] if k not in cache]
check(not missing, f"the cache misses {missing}: backward needs every Z and A.")
check_shape(cache["Z1"], (4, 7), "Z1", hint="Z1 = X @ W1 + b1 has one column per unit of the first layer.")
check_shape(cache["Z2"], (4, 6), "Z2")
check(np.allclose(np.sum(P, axis=1), 1), "each row of P must sum to 1: apply softmax to Z3.")
check(np.all(cache["A1"] >= 0), "A1 has negative values: apply the activation, A1 = f(Z1).")
check_close(P, [[0.24897913, 0.39332649, 0.35769438],
             [0.31448324, 0.38591321, 0.29960355],
             [0.2428305 , 0.59559467, 0.16157483],
             [0.28253599, 0.3857085 , 0.33175551]], "P with relu",
            hint="Follow the equations above: each layer is (previous A) @ W + b, then f; no f after layer 3.")
check_close(labs.call(forward, X, params, "sigmoid")[0], [[0.30581194, 0.47472477, 0.21946329],
             [0.3083488 , 0.47273797, 0.21891323],
             [0.30964893, 0.47959013, 0.21076093],
             [0.30591006, 0.4726126 , 0.22147735]], "P with sigmoid",
            hint="Use the activation named by act: f, _ = ACTIVATIONS[act].")
print("forward: all visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_forward_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Hidden tests for forward (1 point): they run when the notebook is graded.
### BEGIN HIDDEN TESTS
for _act in ["relu", "sigmoid"]:
    _X, _y, _p = labs.net_fixture(sizes=(7, 6, 5, 4), batch=1, seed=3)
    _P, _c = labs.call(forward, _X, _p, _act)
    _Pr, _cr = labs.reference_forward(_X, _p, _act)
    check_close(_P, _Pr, f"P for a batch of one ({_act})")
    for _k in ["Z1", "A1", "Z2", "A2", "Z3"]:
        check_close(_c[_k], _cr[_k], f"cache[{_k!r}] ({_act})")
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Backpropagation: the δ equations
#
# Backpropagation is the chain rule applied layer by layer, from the loss back to the input. Call
# $\delta_\ell = \partial L / \partial Z_\ell$ the error of layer $\ell$. At the output, softmax with
# cross-entropy gives lab 1's result. Each layer then passes its δ back through its weights and
# through the derivative of the activation:
#
# $$\begin{aligned}
# \delta_3 &= \tfrac{1}{N}(P - Y) & \frac{\partial L}{\partial W_3} &= A_2^\top \delta_3 & \frac{\partial L}{\partial b_3} &= \textstyle\sum_n \delta_3 \\
# \delta_2 &= (\delta_3 W_3^\top) \odot f'(Z_2) & \frac{\partial L}{\partial W_2} &= A_1^\top \delta_2 & \frac{\partial L}{\partial b_2} &= \textstyle\sum_n \delta_2 \\
# \delta_1 &= (\delta_2 W_2^\top) \odot f'(Z_1) & \frac{\partial L}{\partial W_1} &= X^\top \delta_1 & \frac{\partial L}{\partial b_1} &= \textstyle\sum_n \delta_1
# \end{aligned}$$
#
# $\odot$ is the elementwise product and $\sum_n$ sums over the batch (axis 0). Why it works:
# $Z_3 = A_2 W_3 + b_3$, so a change in $A_2$ moves the loss by $\delta_3 W_3^\top$; and
# $A_2 = f(Z_2)$ elementwise, so a change in $Z_2$ is scaled by $f'(Z_2)$. Every weight gradient is
# (what came into the layer)$^\top$ times (the layer's δ) — the same pattern as $X^\top (P - Y)/N$
# in lab 1.
#
# **The same equations with column vectors.** Textbooks and the CNTK crash course write one sample
# at a time as a column vector: $z_\ell = W_\ell\, a_{\ell-1} + b_\ell$ with $W_\ell$ of shape
# (units out × units in), and then
# $\delta_\ell = (W_{\ell+1}^\top \delta_{\ell+1}) \odot f'(z_\ell)$ and
# $\partial L / \partial W_\ell = \delta_\ell\, a_{\ell-1}^\top$. The code here stacks a batch as
# *rows* ($Z = AW + b$, $W$ of shape (in × out)), which transposes everything: $W^\top \delta$
# becomes $\delta W^\top$, and $\delta\, a^\top$ (an outer product for one sample) becomes
# $A^\top \delta$ (the sum of those outer products over the batch). Same maths, one transpose apart:
# when a formula from a book does not fit the shapes, check which convention it uses.
#
# **Your turn.** Write `backward`. It gets the cache of `forward` and returns a dict of gradients with
# the same keys as `params`. Lab 1's `one_hot` idea: `Y = np.eye(C)[y]`.

# %% nbgrader={"grade": false, "grade_id": "backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
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


# %% [markdown]
# ### Check it with the gradient checker
#
# `dl.gradcheck` compares the backward pass of any `dl.Function` with central differences (lab 1,
# section 4), entry by entry. Wrap your two functions as one Function — `forward` computes the loss,
# `backward` hands back your gradients — and let it judge. It reports the largest difference per
# parameter and raises an error naming the first wrong entry.

# %%
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


X, y, params = labs.net_fixture(sizes=(5, 7, 6, 3), batch=4, seed=0)
names = ["W1", "b1", "W2", "b2", "W3", "b3"]
for act in ["relu", "sigmoid"]:
    report = dl.gradcheck(lambda *p, act=act: HandNet.apply(*p, X=X, y=y, act=act),
                          [params[k].copy() for k in names], names=names)
    print(act, {k: f"{v:.1e}" for k, v in report.items()})

# %% nbgrader={"grade": true, "grade_id": "test_backward", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
# Tests for backward (4 points): every gradient against central differences, output layer first
for act in ["relu", "sigmoid"]:
    report = labs.check_backprop(backward, act=act)
print("backward: all visible tests passed; largest differences:", {k: f"{v:.0e}" for k, v in report.items()})

# %% nbgrader={"grade": true, "grade_id": "test_backward_hidden", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
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
_g = labs.call(backward, _X, _y, _p, _c, "relu")
for _k, _layer in zip("123", _net):
    check_close(_g["W" + _k], _layer.W.grad, f"dW{_k} against dllab's autograd", rtol=1e-6, atol=1e-9)
    check_close(_g["b" + _k], _layer.b.grad, f"db{_k} against dllab's autograd", rtol=1e-6, atol=1e-9)
### END HIDDEN TESTS

# %% [markdown]
# ## 4. Train your network
#
# Your `forward` and `backward` are all SGD needs. A network with hidden layers of 128 and 64 ReLU
# units, learning rate 0.1, batches of 64:

# %%
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


# %% [markdown]
# ### When gradients explode: clipping
#
# The step is the learning rate times the gradient, and nothing bounds the gradient: one unlucky
# batch, a large learning rate or large weights, and a step throws the weights far away, which makes
# the next gradient larger still. The loss jumps, units die, the network stops learning. **Gradient
# clipping** bounds each step: when the norm of all gradients together,
# $\|g\| = \sqrt{\sum_k \sum g_k^2}$ over every parameter $k$, exceeds a limit $c$, every gradient is
# scaled by $c / \|g\|$ — the direction is kept, only the length is cut.
#
# **Your turn.** Write `clip_by_global_norm`: it returns the clipped gradients (a new dict) and the
# norm before clipping.

# %% nbgrader={"grade": false, "grade_id": "clip_by_global_norm", "locked": false, "schema_version": 3, "solution": true, "task": false}
def clip_by_global_norm(grads, max_norm):
    """grads: {name: array}. Returns (clipped, norm): norm = sqrt of the sum of all squared entries of
    all gradients; clipped = grads scaled by max_norm / norm when norm > max_norm, else unchanged."""
    ### BEGIN SOLUTION
    norm = float(np.sqrt(sum(np.sum(g ** 2) for g in grads.values())))
    scale = min(1.0, max_norm / norm) if norm > 0 else 1.0
    clipped = {k: g * scale for k, g in grads.items()}
    return clipped, norm
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_clip_by_global_norm", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Tests for clip_by_global_norm (1 point)
grads = {"W": np.array([[3.0, 0.0], [0.0, 0.0]]), "b": np.array([4.0, 0.0])}
out = labs.call(clip_by_global_norm, grads, 1.0, hint="norm = np.sqrt(sum(np.sum(g ** 2) for g in grads.values()))")
check(isinstance(out, (tuple, list)) and len(out) == 2, "clip_by_global_norm must return (clipped, norm).")
clipped, norm = out
check_close(norm, 5.0, "the norm of W = [[3, 0], [0, 0]] and b = [4, 0] together",
            hint="One norm over all the gradients: sqrt(3² + 4²) = 5, not one norm per gradient.")
check(set(clipped) == {"W", "b"}, f"the clipped gradients keep the names W and b, got {sorted(clipped)}.")
check_close(clipped["W"], [[0.6, 0.0], [0.0, 0.0]], "clipped W", hint="Scale every gradient by max_norm / norm = 1/5.")
check_close(clipped["b"], [0.8, 0.0], "clipped b", hint="The same factor for every gradient keeps the direction.")
check_close(grads["W"], [[3.0, 0.0], [0.0, 0.0]], "grads['W'] after the call",
            hint="Return new arrays (g * scale); g *= scale changes the caller's gradients.")
small, small_norm = labs.call(clip_by_global_norm, grads, 10.0)
check_close(small["b"], [4.0, 0.0], "b with max_norm 10 (above the norm)",
            hint="Below the limit nothing changes: scale only when norm > max_norm.")
print("clip_by_global_norm: all visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_clip_by_global_norm_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Hidden tests for clip_by_global_norm (1 point): they run when the notebook is graded.
### BEGIN HIDDEN TESTS
_rng = np.random.default_rng(12)
_g = {k: _rng.normal(size=s) for k, s in [("W1", (5, 4)), ("b1", (4,)), ("W2", (4, 3))]}
_n = np.sqrt(sum(np.sum(v ** 2) for v in _g.values()))
_c, _cn = labs.call(clip_by_global_norm, _g, 0.5 * _n)
check_close(_cn, _n, "the norm of three random gradients")
for _k in _g:
    check_close(_c[_k], _g[_k] * 0.5, f"clipped {_k} at half the norm")
_z, _zn = labs.call(clip_by_global_norm, {"W": np.zeros((2, 2))}, 1.0)
check_close(_z["W"], np.zeros((2, 2)), "all-zero gradients (norm 0) stay zero")
### END HIDDEN TESTS

# %% [markdown]
# Now the experiment: your network again, with a learning rate twenty times too large (2.0), once
# without and once with clipping at norm 1. Each run takes 300 steps of 64 images.

# %%
def train_by_hand(lr, max_norm=None, steps=300, seed=run.seed):
    """Your forward and backward, SGD on batches of 64; returns (validation accuracy, gradient norms)."""
    rng = np.random.default_rng(seed)
    params = init_params([784, 128, 64, 10], rng)
    norms = []
    with np.errstate(all="ignore"):  # a diverging run overflows on purpose
        for _ in range(steps):
            idx = rng.integers(0, len(quick), 64)
            P, cache = forward(quick.x[idx], params)
            grads = backward(quick.x[idx], quick.y[idx], params, cache)
            if max_norm is None:
                norm = float(np.sqrt(sum(np.sum(g ** 2) for g in grads.values())))
            else:
                grads, norm = clip_by_global_norm(grads, max_norm)
            norms.append(norm)
            for k in params:
                params[k] -= lr * grads[k]
        accuracy = float(np.mean(forward(val.x[:2000], params)[0].argmax(axis=1) == val.y[:2000]))
    return accuracy, norms


plain_acc, plain_norms = train_by_hand(lr=2.0)
clipped_acc, clipped_norms = train_by_hand(lr=2.0, max_norm=1.0)
plt.figure(figsize=(7, 2.8))
plt.semilogy(plain_norms, label=f"no clipping: {plain_acc:.1%} validation accuracy")
plt.semilogy(clipped_norms, label=f"clipped at 1: {clipped_acc:.1%}")
plt.axhline(1.0, ls=":", c="grey")
plt.gca().set(xlabel="step", ylabel="gradient norm", title="learning rate 2.0")
plt.legend()
plt.show()
labs.lesson("clipping the gradient norm rescues a learning rate that is too large",
            clipped_acc > plain_acc + 0.2,
            f"validation accuracy {plain_acc:.1%} without clipping, {clipped_acc:.1%} with it", run)


# %% [markdown]
# ## 5. The same network from dllab layers
#
# `dl.Dense(units, activation=...)` is one layer, $f(AW + b)$; `a >> b` chains two layers (or a
# chain and a layer) into a `dl.Sequential`; autograd does the backward pass you just wrote.
#
# **Your turn.** Write `make_mlp`: `dl.Flatten()` (a 28 × 28 image becomes a row of 784), then one
# `dl.Dense(units, activation=activation)` per hidden size, each followed by `dl.Dropout(dropout)`
# when `dropout > 0`, then `dl.Dense(sizes[-1])` for the class scores (no activation: the loss applies
# softmax), all chained with `>>`.

# %% nbgrader={"grade": false, "grade_id": "make_mlp", "locked": false, "schema_version": 3, "solution": true, "task": false}
def make_mlp(sizes=(400, 400, 10), activation=dl.relu, dropout=0.0):
    """sizes: the hidden layers' widths, then the number of classes. Returns a dl.Sequential."""
    ### BEGIN SOLUTION
    model = dl.Flatten()
    for units in sizes[:-1]:
        model = model >> dl.Dense(units, activation=activation)
        if dropout:
            model = model >> dl.Dropout(dropout)
    return model >> dl.Dense(sizes[-1])
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_make_mlp", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Tests for make_mlp (1 point)
mlp = labs.call(make_mlp, (32, 16, 10), dl.sigmoid, 0.2, hint="Start from model = dl.Flatten() and chain each "
                "layer with model = model >> layer.")
check(isinstance(mlp, dl.Sequential), f"make_mlp must return the chain of layers (a dl.Sequential), got "
      f"{type(mlp).__name__}: did you return the last layer only?")
plan = labs.layer_plan(mlp)  # Dense(n) >> f counts as Dense(n, activation=f): the same function
kinds = [kind for kind, _, _ in plan]
check(kinds == ["Flatten", "Dense", "Dropout", "Dense", "Dropout", "Dense"], f"make_mlp((32, 16, 10), sigmoid, 0.2) "
      f"should chain Flatten, Dense, Dropout, Dense, Dropout, Dense, got {', '.join(kinds)}.")
dense = [(units, fn) for kind, units, fn in plan if kind == "Dense"]
check([units for units, _ in dense] == [32, 16, 10], f"the Dense layers should have 32, 16 and 10 units, got "
      f"{[units for units, _ in dense]}: one per entry of sizes, the last for the classes.")
check(all(fn is dl.sigmoid for _, fn in dense[:2]), "the hidden layers use the activation given: "
      "dl.Dense(units, activation=activation).")
check(dense[-1][1] is None, "the last Dense gives the class scores: no activation (the loss applies softmax).")
check(all(layer.p == 0.2 for layer in mlp.layers if isinstance(layer, dl.Dropout)), "each Dropout uses the rate given.")
labs.run_model(mlp, dl.Tensor(np.zeros((2, 1, 28, 28), dtype=np.float32)),
               "the network make_mlp((32, 16, 10), dl.sigmoid, 0.2) built",
               hint="Give each Dense only its number of units (and the activation): the layer learns its input "
                    "size from the first batch, 784 after Flatten.")
count = sum(p.numpy().size for p in mlp.parameters())
check(count == 784 * 32 + 32 + 32 * 16 + 16 + 16 * 10 + 10, f"the network has {count} parameters, expected "
      f"{784 * 32 + 32 + 32 * 16 + 16 + 16 * 10 + 10} (W and b of each Dense layer).")
plain = [kind for kind, _, _ in labs.layer_plan(labs.call(make_mlp, (8, 10)))]
check(plain == ["Flatten", "Dense", "Dense"], f"without dropout there is no Dropout layer: make_mlp((8, 10)) gave "
      f"{', '.join(plain)}.")
print("make_mlp: all visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_make_mlp_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Hidden tests for make_mlp (1 point): they run when the notebook is graded.
### BEGIN HIDDEN TESTS
_m = labs.call(make_mlp, (7, 5, 3, 4), dl.relu)
_plan = labs.layer_plan(_m)
check([_k for _k, _, _ in _plan] == ["Flatten", "Dense", "Dense", "Dense", "Dense"],
      "make_mlp((7, 5, 3, 4)) has three hidden layers and an output layer.")
check([_u for _, _u, _ in _plan[1:]] == [7, 5, 3, 4], "the widths follow sizes.")
check([_f for _, _, _f in _plan[1:]] == [dl.relu] * 3 + [None], "relu on the hidden layers, none on the scores.")
labs.run_model(_m, dl.Tensor(np.zeros((1, 1, 28, 28), dtype=np.float32)), "make_mlp((7, 5, 3, 4))")
check(sum(_p.numpy().size for _p in _m.parameters()) == 784 * 7 + 7 + 7 * 5 + 5 + 5 * 3 + 3 + 3 * 4 + 4,
      "make_mlp((7, 5, 3, 4)) has the parameters of its four Dense layers.")
### END HIDDEN TESTS

# %% [markdown]
# A helper trains one network and draws it into a shared live figure:

# %%
def train_run(name, model, optimizer, live, data=quick, validation=val, epochs=run.quick_epochs, seed=run.seed,
              **options):
    """Train `model` on `data`, draw it into `live` (if any) under `name`; returns the History."""
    dl.seed(seed)  # the same starting weights for every run of one seed
    trainer = dl.Trainer(model, loss=dl.cross_entropy, optimizer=optimizer)
    steps = epochs * -(-len(data) // 128)  # for the progress bar
    return trainer.fit(data, epochs=epochs, batch_size=128, validation=validation,
                       callbacks=[live.run(name, steps)] if live else [], verbose=False, **options)


print(make_mlp())

# the comparisons below train a smaller network, so that each run takes seconds; the final model of
# section 6 is the 400-400 one above
small = (128, 64, 10)

# %% [markdown]
# ### Define-by-run
#
# Nowhere did you describe the network's backward pass to `dllab`: each operation records itself
# as it runs (`Z = A @ W + b` on Tensors builds a small graph), and `loss.backward()` walks that graph
# back. This is **define-by-run**, as in PyTorch, Chainer and Gluon's imperative mode: the graph is
# whatever the Python code did this time, so loops, `if`s and sequences of varying length need no
# special syntax, and a failing line is a plain Python traceback. CNTK, Theano and TensorFlow 1 were
# **define-then-run**: you first build a symbolic graph (placeholders for the data, then operations on
# them), compile it, and only then feed it batches — which lets the framework optimise the whole graph
# before running it, at the price of a second language inside Python. (PyTorch's `torch.compile`,
# JAX's `jit` and Gluon's `hybridize` get both: write define-by-run, trace it once into a graph.)

# %% [markdown]
# ### Sigmoid vs ReLU
#
# The same network and plain SGD, once with each activation:

# %%
live = labs.LiveCurves("sigmoid vs relu (plain SGD, lr 0.1)")
histories = {}
for name, act in [("sigmoid", dl.sigmoid), ("relu", dl.relu)]:
    histories[name] = train_run(name, make_mlp(small, act), dl.optim.SGD(lr=0.1), live)
print(labs.summary_table(histories))

# %% [markdown]
# **Question (2 points).** Which activation learned faster here? Explain it with the derivative
# figure of section 1 and the δ equations of section 3.

# %% [markdown] nbgrader={"grade": true, "grade_id": "activation_answer", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# ReLU learned much faster. Each δ is multiplied by f'(Z) on its way back: the sigmoid's derivative
# is at most 0.25 and nearly 0 for saturated units, so the error signal shrinks at every layer and
# the early layers barely move (vanishing gradients). ReLU's derivative is exactly 1 for every
# active unit, so the gradient reaches the first layer undiminished.

# %% [markdown]
# ### SGD and its variants
#
# With $g$ the gradient of a parameter $w$:
#
# * **SGD**: $w \leftarrow w - \eta g$.
# * **Momentum**: $v \leftarrow \mu v + g$, $\;w \leftarrow w - \eta v$ — a velocity that averages
#   recent gradients; zig-zags across a narrow valley cancel, steady slopes add up.
# * **Adam**: running means of the gradient and of its square, corrected for their start at 0, give
#   each weight its own step size:
#   $m \leftarrow \beta_1 m + (1 - \beta_1) g$, $\;s \leftarrow \beta_2 s + (1 - \beta_2) g^2$,
#   $\;w \leftarrow w - \eta \,\dfrac{m / (1 - \beta_1^t)}{\sqrt{s / (1 - \beta_2^t)} + \epsilon}$.
#
# **RMSProp** is Adam without the first running mean: $s \leftarrow \rho s + (1 - \rho) g^2$,
# $\;w \leftarrow w - \eta\, g / (\sqrt{s} + \epsilon)$: each weight's step is divided by the recent
# size of its own gradient.
#
# **L2 and L1 in the update.** A penalty on the weights adds its gradient to $g$ before the update:
# L2, $\frac{\lambda}{2}\sum w^2$, adds $\lambda w$ (`weight_decay`); L1, $\lambda_1 \sum |w|$, adds
# $\lambda_1\, \mathrm{sign}(w)$ (`l1`), a constant pull towards 0 that makes many weights exactly
# small — sparse.
#
# **Which arrays get L2 and L1?** Your `sgd_step` adds the penalty to whatever array it is given:
# weights and biases alike, and the tests check it on a bias (a 1-D array) too. Which parameters get a
# penalty is the caller's choice, made by which arrays it passes with `weight_decay` or `l1`: `dl.optim`
# gives them only to arrays of 2 or more dimensions (the weights), because a bias shifts a unit and
# does not make the model more complex.
#
# **Your turn.** Write the three update rules for one parameter array `w` with gradient `g`. `state`
# is a dict that belongs to this parameter and lives from step to step (empty before the first step):
# keep the velocity, the running means and the step count $t$ in it. Return the new `w` (a new
# array; do not change `w` in place).

# %% nbgrader={"grade": false, "grade_id": "update_rules", "locked": false, "schema_version": 3, "solution": true, "task": false}
def sgd_step(w, g, state, lr, momentum=0.0, weight_decay=0.0, l1=0.0):
    """SGD with momentum (v = momentum * v + g; w - lr * v), L2 and L1 added to the gradient first."""
    ### BEGIN SOLUTION
    g = g + weight_decay * w + l1 * np.sign(w)
    v = momentum * state.get("v", 0.0) + g
    state["v"] = v
    return w - lr * v
    ### END SOLUTION


def rmsprop_step(w, g, state, lr, rho=0.9, eps=1e-8):
    """RMSProp: s = rho * s + (1 - rho) * g**2; w - lr * g / (sqrt(s) + eps)."""
    ### BEGIN SOLUTION
    s = rho * state.get("s", 0.0) + (1 - rho) * g ** 2
    state["s"] = s
    return w - lr * g / (np.sqrt(s) + eps)
    ### END SOLUTION


def adam_step(w, g, state, lr, betas=(0.9, 0.999), eps=1e-8):
    """Adam: running means m of g and v of g**2, corrected by 1 - beta**t at step t (1, 2, ...)."""
    ### BEGIN SOLUTION
    b1, b2 = betas
    t = state.get("t", 0) + 1
    m = b1 * state.get("m", 0.0) + (1 - b1) * g
    v = b2 * state.get("v", 0.0) + (1 - b2) * g ** 2
    state.update(t=t, m=m, v=v)
    m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_update_rules", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Tests for sgd_step, rmsprop_step and adam_step (3 points): five steps each, against dl.optim
rng = np.random.default_rng(6)
w0 = rng.normal(size=(3, 4))
gs = [rng.normal(size=(3, 4)) for _ in range(5)]
for fn, library, options in [
        (sgd_step, dl.optim.SGD, {"lr": 0.1}),
        (sgd_step, dl.optim.SGD, {"lr": 0.1, "momentum": 0.9}),
        (sgd_step, dl.optim.SGD, {"lr": 0.1, "momentum": 0.5, "weight_decay": 0.1}),
        (sgd_step, dl.optim.SGD, {"lr": 0.1, "l1": 0.05}),
        (rmsprop_step, dl.optim.RMSProp, {"lr": 0.01, "rho": 0.9}),
        (adam_step, dl.optim.Adam, {"lr": 0.01}),
        (adam_step, dl.optim.Adam, {"lr": 0.01, "betas": (0.5, 0.9)})]:
    expected = labs.optimizer_steps(library, w0, gs, **options)
    state, w = {}, w0.copy()
    for t, g in enumerate(gs, start=1):
        w_before, g_before = w.copy(), g.copy()
        w_new = labs.call(fn, w, g, state, **options, hint="Keep what must last between steps in state "
                          "(state['v'] = v), and return the new w.")
        check(np.array_equal(w, w_before), f"{fn.__name__} changed w in place: return w - ..., a new array.")
        check(np.array_equal(g, g_before), f"{fn.__name__} changed the gradient g it was given (g += ... or "
              "g *= ... writes into the caller's array, which the caller may still need): write g = g + ..., "
              "a new array.")
        name = f"{fn.__name__}({', '.join(f'{k}={v}' for k, v in options.items())}) after step {t}"
        for why, wrong in labs.optimizer_mistakes(fn.__name__, w0, gs[:t], **options).items():
            check(not np.allclose(w_new, wrong[-1]), f"{name}: {why}.")
        check_close(w_new, expected[t - 1], name, hint="Step 1 starts from an empty state: v, s, m start at 0 "
                    "and t counts the steps from 1.")
        w = w_new
# L2 on a bias: the rule applies to whatever array it is given
b_vec, gb = np.array([1.0, -2.0]), np.array([0.1, 0.1])
check_close(labs.call(sgd_step, b_vec, gb, {}, lr=0.5, weight_decay=0.1), b_vec - 0.5 * (gb + 0.1 * b_vec),
            "sgd_step on a bias b=[1, -2] with weight_decay=0.1",
            hint="sgd_step adds weight_decay * w for any array it is given, a 1-D bias too: which arrays get "
                 "a penalty is the caller's choice.")
# L1 where a weight is exactly 0: sign(0) = 0, no pull (and no 0 / 0)
w_zero, g_zero = np.array([0.0, 2.0, -1.0]), np.array([0.5, 0.5, 0.5])
w_l1 = labs.call(sgd_step, w_zero, g_zero, {}, lr=0.1, l1=0.2)
check(np.all(np.isfinite(np.asarray(w_l1, dtype=float))), "sgd_step(w=[0, 2, -1], l1=0.2) gives nan: the slope of "
      "|w| written as w / |w| is 0 / 0 at w = 0. Use np.sign(w), which is 0 there.")
check_close(w_l1, w_zero - 0.1 * (g_zero + 0.2 * np.sign(w_zero)), "sgd_step(w=[0, 2, -1], g=0.5, lr=0.1, l1=0.2)",
            hint="L1 adds l1 * np.sign(w) to g: nothing where w = 0, +l1 where w > 0, -l1 where w < 0.")
# eps outside the square root: it matters when gradients are tiny
g_tiny, w_one = np.array([1e-4, -1e-4, 0.0]), np.ones(3)
s_tiny = 0.1 * g_tiny ** 2
check_close(labs.call(rmsprop_step, w_one, g_tiny, {}, lr=0.01, eps=1e-4),
            w_one - 0.01 * g_tiny / (np.sqrt(s_tiny) + 1e-4), "rmsprop_step of a tiny gradient (1e-4), eps=1e-4",
            hint="eps is added after the square root, g / (np.sqrt(s) + eps), not inside it.")
check_close(labs.call(adam_step, w_one, g_tiny, {}, lr=0.01, eps=1e-4), w_one - 0.01 * g_tiny / (np.abs(g_tiny) + 1e-4),
            "adam_step of a tiny gradient (1e-4), eps=1e-4, step 1",
            hint="At step 1, m_hat = g and v_hat = g ** 2, so the step is lr * g / (|g| + eps) = 0.005 here: eps is "
                 "added after the square root, np.sqrt(v_hat) + eps, not inside it.")
print("update rules: all visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_update_rules_hidden", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Hidden tests for the update rules (2 points): they run when the notebook is graded.
### BEGIN HIDDEN TESTS
_rng = np.random.default_rng(61)
_w0 = _rng.normal(size=(6, 2))
_gs = [_rng.normal(size=(6, 2)) * 10.0 ** _rng.integers(-3, 2) for _ in range(12)]
for _fn, _library, _options in [
        (sgd_step, dl.optim.SGD, {"lr": 0.03, "momentum": 0.95, "weight_decay": 0.01, "l1": 0.01}),
        (rmsprop_step, dl.optim.RMSProp, {"lr": 0.003, "rho": 0.8, "eps": 1e-6}),
        (adam_step, dl.optim.Adam, {"lr": 0.02, "betas": (0.8, 0.99), "eps": 1e-6})]:
    _want = labs.optimizer_steps(_library, _w0, _gs, **_options)
    _state, _w = {}, _w0.copy()
    for _t, _g in enumerate(_gs, start=1):
        _g0 = _g.copy()
        _w = labs.call(_fn, _w, _g, _state, **_options)
        check(np.array_equal(_g, _g0), f"{_fn.__name__} must not change the gradient it is given.")
        check_close(_w, _want[_t - 1], f"{_fn.__name__} after step {_t} of 12")
_wz = np.array([[0.0, -3.0], [0.0, 0.5]])
check_close(labs.call(sgd_step, _wz, np.zeros((2, 2)), {}, lr=1.0, l1=0.5), _wz - 0.5 * np.sign(_wz),
            "sgd_step with l1 where some weights are 0")
check_close(labs.call(sgd_step, np.array([3.0]), np.array([0.0]), {}, lr=0.1, weight_decay=1.0), [2.7],
            "sgd_step with weight decay on a 1-D array")
check_close(labs.call(adam_step, np.zeros(2), np.array([1e-5, -1e-5]), {}, lr=1.0, eps=1e-5), [-0.5, 0.5],
            "adam_step of a tiny gradient, step 1")
### END HIDDEN TESTS

# %% [markdown]
# Your update rules on two 2-D loss surfaces, 60 steps each from the same start:
#
# * a **ravine**, $f = \tfrac12(x^2 + 100 y^2)$: steep across, flat along. Plain SGD's learning rate
#   must stay below $2/100$ or it bounces out across the ravine, and then it crawls along it;
# * a **saddle**, $f = x^2 + \tfrac14 y^4 - y^2$, started just off the saddle point at the origin:
#   the gradient there is almost 0, though the two minima ($y = \pm\sqrt2$) lie close by.

# %%
surfaces = {
    "ravine": (lambda p: 0.5 * (p[0] ** 2 + 100 * p[1] ** 2), lambda p: np.array([p[0], 100 * p[1]]),
               np.array([-4.0, 0.5])),
    "saddle": (lambda p: p[0] ** 2 + 0.25 * p[1] ** 4 - p[1] ** 2,
               lambda p: np.array([2 * p[0], p[1] ** 3 - 2 * p[1]]), np.array([-1.5, 1e-3])),
}
rules = {"SGD (lr 0.009)": lambda p, g, s: sgd_step(p, g, s, lr=0.009),
         "momentum 0.9 (lr 0.009)": lambda p, g, s: sgd_step(p, g, s, lr=0.009, momentum=0.9),
         "RMSProp (lr 0.05)": lambda p, g, s: rmsprop_step(p, g, s, lr=0.05),
         "Adam (lr 0.1)": lambda p, g, s: adam_step(p, g, s, lr=0.1)}
final_loss = {}
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
for ax, (surface, (f, grad, start)) in zip(axes, surfaces.items()):
    xs, ys = np.meshgrid(np.linspace(-4.5, 2, 200), np.linspace(-2, 2, 200))
    ax.contour(xs, ys, f(np.stack([xs, ys])), levels=30, cmap="Greys", linewidths=0.6)
    for name, rule in rules.items():
        p, state, path = start.copy(), {}, [start]
        for _ in range(60):
            p = rule(p, grad(p), state)
            path.append(p)
        path = np.array(path)
        final_loss[surface, name] = f(p)
        ax.plot(path[:, 0], path[:, 1], ".-", ms=3, lw=1, label=f"{name}: f = {f(p):.3g}")
    ax.set(title=f"the {surface}, 60 steps", xlabel="x", ylabel="y")
    ax.legend(fontsize=8)
plt.show()
sgd_name = "SGD (lr 0.009)"
beaten = all(final_loss[s, n] < final_loss[s, sgd_name] for s in surfaces for n in rules if n != sgd_name)
labs.lesson("momentum and the adaptive rules (RMSProp, Adam) end lower than plain SGD on the ravine and on "
            "the saddle", beaten,
            "; ".join(f"{s}: SGD {final_loss[s, sgd_name]:.3g}, momentum "
                      f"{final_loss[s, 'momentum 0.9 (lr 0.009)']:.3g}, RMSProp {final_loss[s, 'RMSProp (lr 0.05)']:.3g}, "
                      f"Adam {final_loss[s, 'Adam (lr 0.1)']:.3g}" for s in surfaces), run)

# %% [markdown]
# Two things the surfaces show that matter for real networks. **Saddle points**: in a loss with
# millions of weights, a point where the gradient vanishes is far more often a saddle (downhill in
# some directions, uphill in others) than a minimum; plain SGD slows to a crawl there, while momentum
# carries through and adaptive steps enlarge the tiny gradient along the escape direction. **Batch
# size**: the minibatch gradient is the true gradient plus noise whose size shrinks like
# $1/\sqrt{B}$. Small batches take many cheap, noisy steps — the noise itself helps leave saddles and
# sharp minima — while large batches take fewer, steadier steps that use a GPU better but usually need
# a larger learning rate (roughly in proportion to $B$) to make the same progress per epoch.
#
# The same comparison on MNIST, with the library's optimizers (the same rules as yours), three seeds
# each; the figure shows the first seed.

# %%
seeds = [run.seed, run.seed + 1, run.seed + 2]
live = labs.LiveCurves(f"SGD vs momentum vs Adam (relu, seed {seeds[0]})")
optimizers = {"SGD": lambda: dl.optim.SGD(lr=0.05),
              "momentum 0.9": lambda: dl.optim.SGD(lr=0.05, momentum=0.9),
              "Adam": lambda: dl.optim.Adam(lr=1e-3)}
runs = {name: [train_run(name, make_mlp(small), make(), live if seed == seeds[0] else None, seed=seed) for seed in seeds]
        for name, make in optimizers.items()}
print(labs.seeds_table(runs))
last_loss = {name: np.array([h["loss"][-1] for h in hs]) for name, hs in runs.items()}
labs.lesson("momentum and Adam bring the training loss down faster than plain SGD, on every seed",
            np.all(last_loss["momentum 0.9"] < last_loss["SGD"]) and np.all(last_loss["Adam"] < last_loss["SGD"]),
            ", ".join(f"{name} {loss.mean():.3f}" for name, loss in last_loss.items()) + " (final training loss, mean)",
            run)


# %% [markdown]
# **Question (2 points).** Rank the three by how fast the training loss fell in your run. Why does
# momentum speed up plain SGD with the same learning rate?

# %% [markdown] nbgrader={"grade": true, "grade_id": "optimizer_answer", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# Momentum and Adam both fell much faster than plain SGD (Adam is usually quickest in the first
# steps, momentum catches up). With momentum the step is η times a running sum of gradients: where
# successive gradients agree the velocity grows up to 1/(1 − μ) = 10 times a plain step, and where
# they alternate (across a narrow valley) they cancel. So it moves faster along the valley floor
# and oscillates less, with the same η.

# %% [markdown]
# ### Regularisation: L2 and dropout
#
# A big network can memorise a small training set: training accuracy goes to 100 % while validation
# accuracy stalls — **overfitting**. Two remedies:
#
# * **L2 regularisation** adds $\frac{\lambda}{2}\sum w^2$ to the loss, so every step also shrinks the
#   weights: $g \leftarrow g + \lambda w$ (`weight_decay=λ` in `dl.optim`). Small weights make a
#   smoother function.
# * **Dropout** sets each hidden activation to 0 with probability $p$ during training, a different
#   random set at every step, so no unit can rely on a few others. To keep the expected activation
#   the same, the survivors are scaled by $1/(1 - p)$ (*inverted dropout*):
#   $\tilde a = a \odot m / (1 - p)$ with $m_i \sim \text{Bernoulli}(1 - p)$. At evaluation,
#   nothing is dropped.
#
# **Your turn.** Write inverted dropout. Draw the mask with `rng.random(A.shape) >= p` (True means
# keep). Return the output and the mask (as 0/1 floats scaled by $1/(1-p)$, so that
# `out == A * mask` — the backward pass multiplies by the same mask).

# %% nbgrader={"grade": false, "grade_id": "dropout", "locked": false, "schema_version": 3, "solution": true, "task": false}
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


# %% nbgrader={"grade": true, "grade_id": "test_dropout", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
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
again, _ = labs.call(dropout_forward, A, 0.25, np.random.default_rng(0))
check(np.array_equal(out, again), "two calls with the same rng seed gave different masks: draw the mask with "
      "the rng you are given (rng.random(A.shape)), not np.random, so that a run can be repeated.")
print("dropout_forward: all visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_dropout_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Hidden tests for dropout_forward (1 point): they run when the notebook is graded.
### BEGIN HIDDEN TESTS
_A = np.random.default_rng(8).normal(size=(300, 300))
_A0 = _A.copy()
_o1, _m1 = labs.call(dropout_forward, _A, 0.6, np.random.default_rng(4))
_o2, _m2 = labs.call(dropout_forward, _A, 0.6, np.random.default_rng(4))
check(np.array_equal(_o1, _o2), "the same rng seed must give the same mask: draw it with the rng you are given.")
check(np.array_equal(_A, _A0), "dropout_forward must not change A in place.")
check(abs(np.mean(_m1 == 0) - 0.6) < 0.01, "with p = 0.6, 60 % of the mask should be 0.")
check_close(_o1, _A * _m1, "out == A * mask for p = 0.6")
_o3, _m3 = labs.call(dropout_forward, _A, 0.0, np.random.default_rng(4))
check_close(_o3, _A, "dropout with p = 0")
### END HIDDEN TESTS

# %% [markdown]
# Now the experiment. To make overfitting visible within a short run, train on only 1 000 images for
# more epochs: without regularisation, with L2, and with dropout (the library's `dl.Dropout` layer
# does what you just wrote). 1 000 validation images keep it quick. Watch the gap between the dashed
# (training) and solid (validation) accuracy, and the validation loss (dots, left).
#
# One run proves little: with 1 000 images, another random draw of the images and of the starting
# weights moves the validation accuracy by about a point. So each setting is trained with **three
# seeds**; the table shows the mean and, in brackets, the lowest and highest of the three. A
# difference smaller than that spread is noise, not a finding. (The figure shows the first seed.)

# %%
val_small = val[:1000]
reg_epochs = 4 * run.quick_epochs
seeds = [run.seed, run.seed + 1, run.seed + 2]
live = labs.LiveCurves(f"regularisation: 1000 training images, {reg_epochs} epochs (seed {seeds[0]})")
settings = {"none": (lambda: make_mlp(small), 0.0),
            "L2 (weight_decay 1e-2)": (lambda: make_mlp(small), 1e-2),
            "dropout 0.5": (lambda: make_mlp(small, dropout=0.5), 0.0)}
runs = {name: [] for name in settings}
for seed in seeds:
    few = train.subset(1000, seed=seed)
    for name, (build, wd) in settings.items():
        runs[name].append(train_run(name, build(), dl.optim.SGD(lr=0.05, momentum=0.9, weight_decay=wd),
                                    live if seed == seeds[0] else None, data=few, validation=val_small,
                                    epochs=reg_epochs, seed=seed))
print(labs.seeds_table(runs))


def final(name, key):
    return np.array([h[key][-1] for h in runs[name]])


def gap(name):
    return final(name, "accuracy") - final(name, "val_accuracy")


labs.lesson("L2 lowers the final validation loss, on every seed",
            np.all(final("L2 (weight_decay 1e-2)", "val_loss") < final("none", "val_loss")),
            f"validation loss {final('none', 'val_loss').mean():.3f} without, "
            f"{final('L2 (weight_decay 1e-2)', 'val_loss').mean():.3f} with L2", run)
labs.lesson("dropout narrows the gap between training and validation accuracy, on every seed",
            np.all(gap("dropout 0.5") < gap("none")),
            f"gap {gap('none').mean():.1%} without, {gap('dropout 0.5').mean():.1%} with dropout", run)


# %% [markdown]
# **Question (2 points).** What did L2 and dropout do to training accuracy, validation accuracy and
# the gap between them? Why does dropout make a network generalise better?

# %% [markdown] nbgrader={"grade": true, "grade_id": "regularisation_answer", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# Without regularisation the network reaches 100 % on its 1 000 training images while validation
# accuracy stays about 11 points lower, and the validation loss rises again after its minimum: it
# memorises. L2 keeps the validation loss from rising (about 0.37 instead of 0.48 at the end, on
# every seed); its validation accuracy is the same within the spread of the seeds, so this run
# shows no accuracy gain from L2. Dropout lowers training accuracy to about the validation accuracy,
# closing most of the gap; its validation accuracy, too, moves less than the seeds' spread. Dropout trains a
# different random sub-network at every step, so no unit can depend on a particular other unit
# being present; each must be useful on its own, which works like averaging many networks and makes
# memorising single images harder.

# %% [markdown]
# ### Early stopping
#
# The validation loss usually falls, reaches a minimum and rises again as the network starts to
# memorise. **Early stopping** watches it and stops once it has not improved for `patience` epochs in
# a row, then goes back to the weights of the best epoch.
#
# **Your turn.** Given the validation loss of every epoch, return the (1-based) epoch with the lowest
# loss so far when training stops, and the epoch at which it stops. An epoch improves when its loss is
# strictly lower than the best before it; training stops after `patience` epochs without
# improvement, or at the last epoch.

# %% nbgrader={"grade": false, "grade_id": "early_stopping", "locked": false, "schema_version": 3, "solution": true, "task": false}
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


# %% nbgrader={"grade": true, "grade_id": "test_early_stopping", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
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
got = labs.call(early_stopping_epoch, [1.0, 1.2, 0.8, 0.9, 0.7, 0.75, 0.6], patience=2)
check(tuple(got) == (7, 7), f"for [1.0, 1.2, 0.8, 0.9, 0.7, 0.75, 0.6] and patience 2 the answer is (7, 7), got "
      f"{tuple(got)}: every epoch without improvement (2, 4, 6) is followed by an improvement, so training never "
      "waits 2 epochs in a row. The count of epochs without improvement restarts at 0 at every improvement.")
got = labs.call(early_stopping_epoch, [0.5, 0.5, 0.5], patience=2)
check(tuple(got) == (1, 3), f"an equal loss is no improvement: for [0.5, 0.5, 0.5] and patience 2 expected "
      f"(1, 3), got {tuple(got)}.")
print("early_stopping_epoch: all visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_early_stopping_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Hidden tests for early_stopping_epoch (1 point): they run when the notebook is graded.
### BEGIN HIDDEN TESTS
for _losses, _patience, _expected, _why in [
        ([1.0], 1, (1, 1), "one epoch: best 1, stop 1"),
        ([1.0, 2.0, 0.5, 3.0], 1, (1, 2), "patience 1 stops at the first epoch without improvement"),
        ([3, 2, 2.5, 1, 1.5, 1.2, 0.9], 3, (7, 7), "the patience counter restarts after every improvement")]:
    _got = tuple(labs.call(early_stopping_epoch, _losses, _patience))
    check(_got == _expected, f"early_stopping_epoch({_losses}, {_patience}) returned {_got}, expected "
          f"{_expected}: {_why}.")
### END HIDDEN TESTS

# %% [markdown]
# The `Trainer` does the same with `early_stopping=dl.EarlyStopping(patience=...)`. On the 1 000
# images, with a generous maximum number of epochs:

# %%
live = labs.LiveCurves("early stopping (patience 3)")
max_epochs = 8 * run.quick_epochs
h = train_run("early stopping", make_mlp(small), dl.optim.SGD(lr=0.05, momentum=0.9), live, data=few,
              validation=val_small, epochs=max_epochs,
              early_stopping=dl.EarlyStopping(patience=3, monitor="val_loss"))
print(h.stop_reason or f"ran all {max_epochs} epochs")
print("your early_stopping_epoch says (best, stop) =", early_stopping_epoch(h["val_loss"], 3),
      f"; the Trainer: best {h.best_epoch}, stopped after {h.epochs}")

# %% [markdown]
# ## 6. The final model: 98 %
#
# Everything together: two hidden layers of 400 ReLU units, SGD with momentum 0.9, a little L2,
# a cosine learning-rate schedule, all the training images. (The test images appear in the figure only
# to watch; nothing is chosen with them.) With `full = True` this takes a few minutes on a laptop CPU.

# %%
final_train = train_all if run.subset is None else train_all.subset(run.subset, seed=run.seed)
dl.seed(run.seed)
model = make_mlp((400, 400, 10), dl.relu)
trainer = dl.Trainer(model, loss=dl.cross_entropy,
                     optimizer=dl.optim.SGD(lr=0.05, momentum=0.9, weight_decay=1e-4,
                                            schedule=dl.optim.CosineLR(run.epochs)))
history = trainer.fit(final_train, epochs=run.epochs, batch_size=128, validation=test,
                      callbacks=[labs.LiveCurves("the final model")])

# %%
result = trainer.evaluate(test)
labs.check_target("2-hidden-layer network", result["accuracy"], 0.98, run)
pred = trainer.predict(test).argmax(axis=1)
wrong = np.flatnonzero(pred != test.y)[:20]
labs.show_digits(test.x[wrong], test.y[wrong], pred[wrong])  # true → predicted

# %% [markdown]
# ## Summary
#
# * A hidden layer is $f(AW + b)$; the nonlinearity $f$ is what makes depth useful.
# * Backpropagation: $\delta_3 = (P - Y)/N$, $\delta_\ell = (\delta_{\ell+1} W_{\ell+1}^\top) \odot f'(Z_\ell)$,
#   and every weight gradient is $A_{\ell-1}^\top \delta_\ell$. A gradient checker catches mistakes.
# * ReLU keeps gradients alive where the sigmoid saturates; momentum and Adam speed up SGD.
# * L2, dropout and early stopping fight overfitting; validation data (never the test set) decides.
# * Lab 3 replaces the dense layers by convolutions, which know that pixels have neighbours.

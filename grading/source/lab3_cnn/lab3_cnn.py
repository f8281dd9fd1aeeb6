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
#   title: 'Lab 3: convolutional networks on MNIST'
# ---

# %% [markdown]
# # Lab 3 — Convolutional networks on MNIST
#
# Labs 1 and 2 flattened each image into 784 numbers, so the network never knew which pixels are
# neighbours. A **convolutional network** (CNN) looks at small patches and uses the same weights at
# every position of the image. In this lab you will
#
# 1. compute a **convolution** and a **max pooling** by hand,
# 2. work out the shapes and parameter counts of **LeNet**, the classic CNN for digits,
# 3. train LeNet on a **small set** (10 % of MNIST), then on the **full set**, and reach **at least
#    99 %** test accuracy,
# 4. show it **dark digits on a light background** — how a digit written on paper looks — and watch
#    it fail,
# 5. fix that by **adding inverted images** to the training set, and reach **at least 98 %** on
#    dark-on-light digits,
# 6. prepare **photos of digits on paper** as MNIST is made, and fill in **DIGITS' results table**:
#    every network on the usual, the inverted and the photographed digits,
# 7. try a **bigger network**, look at its **filters and feature maps**, and time a training step on
#    the **CPU and the GPU**.
#
# As before: run the cells in order, fill in the `# YOUR CODE HERE` cells, read what the test cells
# say, write short answers where asked. Everything runs small by default; with `full = True` the
# notebook trains four networks at full size, which takes 10–20 minutes on a CPU (less on a GPU:
# section 11 times one step on each).

# %% tags=["parameters"]
# Parameters (a workshop or a test run may override them)
full = False      # True: all 60 000 training images; LeNet trains 5 epochs (10-20 minutes in all on a CPU)
epochs = None     # None: 5 when full, else 2
subset = None     # training images; None: all when full, else 6 000
device = "auto"   # "cpu", "gpu" or "auto" (the GPU when CuPy finds one)
seed = 0

# %% tags=["judge"]
import time

import matplotlib.pyplot as plt
import numpy as np

import dllab as dl
from dllab import labs
from dllab.labs import check, check_close, check_shape
from dllab.models import lenet
from dllab.widgets import DigitPad, LayerInspector, TrainingDashboard

run = labs.setup(full, epochs, subset, device, seed, full_epochs=5, small_epochs=2, small_subset=6000)
run

# %% [markdown]
# The images keep their shape now: `(N, 1, 28, 28)`, one channel of 28 × 28 pixels. Small runs use
# 2 000 of the test images; the learning curves watch 2 000 of them.
#
# Labs 1 and 2 drew the digits black on white. The numbers say otherwise: strokes are bright (1) on a
# dark background (0). From now on images are drawn as the numbers say — 0 black, 1 white — because
# in this lab it matters.

# %% tags=["judge"]
train, test = dl.data.mnist(subset=run.subset)
if not run.full:
    test = test.subset(2000, seed=0)
watch = test.subset(2000, seed=1) if len(test) > 2000 else test  # drawn in the learning curves

# %%
print(train, test, sep="\n")
dl.viz.image_grid(train.x[:16], train.y[:16], title="MNIST as stored: bright strokes on a dark background")

# %% [markdown]
# ## 1. Convolution by hand
#
# A convolution layer slides a small grid of weights, the **kernel** (or filter), over the image. At
# each position it multiplies the kernel with the patch of image under it, entry by entry, and adds up
# the products: one output number per position. For an input $x$ and a $k_h \times k_w$ kernel $k$:
#
# $$\text{out}[i, j] = \sum_{a=0}^{k_h - 1} \sum_{b=0}^{k_w - 1} x[i + a,\, j + b]\; k[a, b]$$
#
# The kernel only goes where it fits wholly inside the input, so an $H \times W$ input gives an
# $(H - k_h + 1) \times (W - k_w + 1)$ output. (Signal processing would flip the kernel first; deep
# learning does not — the network learns the weights, so their orientation is only a convention.)
#
# An example: a 4 × 4 input and a 3 × 3 kernel give a 2 × 2 output.
#
# $$x = \begin{bmatrix} 1 & 2 & 0 & 1 \\ 0 & 1 & 3 & 1 \\ 2 & 1 & 0 & 0 \\ 1 & 0 & 2 & 1 \end{bmatrix},
# \qquad k = \begin{bmatrix} 1 & 2 & 0 \\ 0 & 1 & -1 \\ -1 & 0 & 1 \end{bmatrix}$$
#
# For the top-left output, lay $k$ over the top-left 3 × 3 patch of $x$, multiply and add, row by row:
#
# $$\text{out}[0, 0] = (1 \cdot 1 + 2 \cdot 2 + 0 \cdot 0) + (0 \cdot 0 + 1 \cdot 1 + 3 \cdot (-1))
# + (2 \cdot (-1) + 1 \cdot 0 + 0 \cdot 1) = 5 - 2 - 2 = 1$$
#
# **On paper first:** compute the other three outputs ($\text{out}[0, 1]$ uses rows 0–2 and columns
# 1–3). Then **your turn:** write `conv2d_single` with two loops over the output positions;
# `x[i:i + kh, j:j + kw]` is the patch at $(i, j)$. The test cell checks your paper result too.

# %%
x = np.array([[1, 2, 0, 1],
              [0, 1, 3, 1],
              [2, 1, 0, 0],
              [1, 0, 2, 1]], dtype=float)
k = np.array([[1, 2, 0],
              [0, 1, -1],
              [-1, 0, 1]], dtype=float)


# %% nbgrader={"grade": false, "grade_id": "conv2d_single", "locked": false, "schema_version": 3, "solution": true, "task": false}
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


# %% nbgrader={"grade": true, "grade_id": "test_conv2d_single", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
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

# %% nbgrader={"grade": true, "grade_id": "test_conv2d_single_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Hidden tests for conv2d_single (1 point): they run when the notebook is graded.
### BEGIN HIDDEN TESTS
_rng = np.random.default_rng(31)
for _shape, _kshape in [((7, 9), (3, 3)), ((6, 5), (2, 4)), ((5, 5), (5, 5)), ((8, 8), (1, 1))]:
    _x, _k = _rng.normal(size=_shape), _rng.normal(size=_kshape)
    _x0 = _x.copy()
    _lib = dl.functional.conv2d(dl.Tensor(_x[None, None]), dl.Tensor(_k[None, None])).numpy()[0, 0]
    check_close(labs.call(conv2d_single, _x, _k), _lib, f"conv2d_single of a {_shape} input and a {_kshape} kernel, "
                "against dllab's conv2d")
    check(np.array_equal(_x, _x0), "conv2d_single must not change x in place.")
### END HIDDEN TESTS

# %% [markdown]
# The library computes the same thing for whole batches of many-channel images at once (by turning
# every patch into a column of one big matrix, "im2col", so that the convolution becomes one matrix
# product). Its arrays are `(batch, channels, height, width)`:

# %%
lib = dl.functional.conv2d(dl.Tensor(x[None, None]), dl.Tensor(k[None, None]))
print("yours:", conv2d_single(x, k).tolist())
print("dllab:", lib.numpy()[0, 0].tolist())

# %% [markdown]
# A kernel is a pattern detector: the output is large where the patch under it looks like the kernel.
# Two hand-made edge kernels on a digit (red: strong positive response, blue: negative):

# %%
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


# %% [markdown]
# ## 2. Max pooling by hand
#
# A pooling layer shrinks each map: it cuts it into non-overlapping size × size windows and keeps
# the largest value of each. With size 2 a 24 × 24 map becomes 12 × 12 — a quarter of the numbers —
# and a digit shifted by a pixel gives almost the same result.
#
# $$\begin{bmatrix} 1 & 3 & 2 & 0 \\ 4 & 2 & 1 & 5 \\ 0 & 1 & 3 & 2 \\ 2 & 6 & 1 & 1 \end{bmatrix}
# \xrightarrow{\;\text{max pool } 2 \times 2\;}
# \begin{bmatrix} 4 & 5 \\ 6 & 3 \end{bmatrix}$$
#
# **Your turn.** Write `max_pool_single`. The window of $\text{out}[i, j]$ is
# `x[size * i:size * (i + 1), size * j:size * (j + 1)]`; H and W are multiples of `size`.

# %% nbgrader={"grade": false, "grade_id": "max_pool_single", "locked": false, "schema_version": 3, "solution": true, "task": false}
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


# %% nbgrader={"grade": true, "grade_id": "test_max_pool_single", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
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

# %% nbgrader={"grade": true, "grade_id": "test_max_pool_single_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Hidden tests for max_pool_single (1 point): they run when the notebook is graded.
### BEGIN HIDDEN TESTS
_rng = np.random.default_rng(32)
for _shape, _s in [((8, 6), 2), ((9, 9), 3), ((4, 4), 4)]:
    _x = _rng.normal(size=_shape)
    _lib = dl.functional.max_pool2d(dl.Tensor(_x[None, None]), _s).numpy()[0, 0]
    check_close(labs.call(max_pool_single, _x, _s), _lib, f"max_pool_single of a {_shape} map with size {_s}, against dllab")
check_close(labs.call(max_pool_single, np.full((2, 2), -5.0)), [[-5.0]], "max pooling of a map of -5",
            hint="Take each window's maximum from the window itself, not starting from 0.")
### END HIDDEN TESTS

# %% [markdown]
# **Backward.** To train, the network needs the gradient of the loss with respect to each input
# pixel, from the gradient `g` of each output. An output is the maximum of its window, so it changes
# only when the window's largest pixel changes, one for one: $\partial\,\text{out}[i, j] / \partial x$ is
# 1 at that pixel and 0 at the others. By the chain rule, `g[i, j]` goes to the window's maximum and
# every other pixel gets 0. When several pixels tie for the maximum, the library (and you) send it to
# the first in reading order — `np.argmax` of the window — so the gradients still add up to `g`.
#
# **Your turn.** Write `max_pool_backward`; `np.unravel_index(np.argmax(window), window.shape)`
# gives the row and column of the maximum inside a window.

# %% nbgrader={"grade": false, "grade_id": "max_pool_backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def max_pool_backward(x, g, size=2):
    """Gradient of max_pool_single: x (H, W) and g (H // size, W // size), the gradient of each output,
    -> dx (H, W): g[i, j] at the first maximum of window (i, j), 0 everywhere else."""
    ### BEGIN SOLUTION
    dx = np.zeros(x.shape)
    for i in range(g.shape[0]):
        for j in range(g.shape[1]):
            window = x[size * i:size * (i + 1), size * j:size * (j + 1)]
            a, b = np.unravel_index(np.argmax(window), window.shape)
            dx[size * i + a, size * j + b] = g[i, j]
    return dx
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_max_pool_backward", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Tests for max_pool_backward (2 points)
gp = np.array([[1.0, -2.0], [0.5, 3.0]])
route = "dx is zero except at each window's first maximum, which gets that window's g[i, j]."
labs.check_max_pool_backward(labs.call(max_pool_backward, p, gp, hint=route), p, gp, 2,
                             "max_pool_backward(x, g) of the example")
ties = np.array([[2.0, 2.0, 0.0, 1.0], [1.0, 2.0, 1.0, 1.0]])
gt = np.array([[4.0, 5.0]])
labs.check_max_pool_backward(labs.call(max_pool_backward, ties, gt, hint=route), ties, gt, 2,
                             "max_pool_backward of windows with tied maxima")
g3 = np.arange(4.0).reshape(2, 2) + 1
labs.check_max_pool_backward(labs.call(max_pool_backward, p66, g3, 3, hint="Use size everywhere, not 2. " + route),
                             p66, g3, 3, "max_pool_backward(x, g, 3) of a 6x6 map")
print("max_pool_backward: all visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_max_pool_backward_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Hidden tests for max_pool_backward (1 point): they run when the notebook is graded.
### BEGIN HIDDEN TESTS
_rng = np.random.default_rng(34)
for _shape, _s in [((8, 6), 2), ((9, 9), 3), ((4, 4), 4)]:
    _x = _rng.integers(0, 3, size=_shape).astype(float)  # small integers: many ties
    _g = _rng.normal(size=(_shape[0] // _s, _shape[1] // _s))
    labs.check_max_pool_backward(labs.call(max_pool_backward, _x, _g, _s), _x, _g, _s,
                                 f"max_pool_backward of a {_shape} map with size {_s}, against dllab's autograd")
### END HIDDEN TESTS

# %% [markdown]
# ## 3. LeNet: shapes and parameters
#
# LeNet stacks two convolution-and-pooling stages and two dense layers:
#
# conv 20 filters 5 × 5 → max pool 2 → conv 50 filters 5 × 5 → max pool 2 → dense 500 (ReLU) → dense 10
#
# A convolution layer holds many filters, and each filter spans **all** input channels: conv2's 50
# filters are each 20 × 5 × 5 and read all 20 maps that conv1 makes. Each filter also has one bias.
# Along one side, with $p$ pixels of padding added on each side and a stride (step) of $s$, the
# output size of a convolution or a pooling is
#
# $$n_\text{out} = \left\lfloor \frac{n + 2p - k}{s} \right\rfloor + 1 .$$
#
# **Your turn.** Write the formula, then the number of parameters of a convolution layer.

# %% nbgrader={"grade": false, "grade_id": "conv_output_size", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conv_output_size(n, k, stride=1, padding=0):
    """Output size along one side for input size n and kernel (or pooling window) size k: an int."""
    ### BEGIN SOLUTION
    return (n + 2 * padding - k) // stride + 1
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_conv_output_size", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
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
for n_, k_, s_, want_ in [(9, 2, 2, 4), (11, 3, 3, 3)]:
    got = labs.call(conv_output_size, n_, k_, stride=s_)
    check(got == want_, f"conv_output_size({n_}, {k_}, stride={s_}) should be ({n_} - {k_}) // {s_} + 1 = {want_}, "
          f"got {got}: ({n_} - {k_}) / {s_} = {(n_ - k_) / s_:.3g} positions after the first, and a window that "
          "would run past the edge gives no output. Round down with //, not to the nearest (round) or up (ceil).")
print("conv_output_size: all visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_conv_output_size_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Hidden tests for conv_output_size (1 point): they run when the notebook is graded.
### BEGIN HIDDEN TESTS
for _n, _k, _s, _p in [(32, 3, 1, 1), (32, 3, 2, 1), (7, 7, 1, 0), (227, 11, 4, 0), (10, 4, 3, 2), (5, 1, 1, 0)]:
    _got = labs.call(conv_output_size, _n, _k, stride=_s, padding=_p)
    check(_got == (_n + 2 * _p - _k) // _s + 1, f"conv_output_size({_n}, {_k}, stride={_s}, padding={_p}) "
          f"gave {_got}.")
_n = 28
for _k, _s in [(5, 1), (2, 2), (5, 1), (2, 2)]:
    _n = labs.call(conv_output_size, _n, _k, stride=_s)
check(_n == 4, "LeNet's chain 28 -> 24 -> 12 -> 8 -> 4.")
for _n, _k, _s in [(13, 2, 2), (15, 4, 4)]:
    check(labs.call(conv_output_size, _n, _k, stride=_s) == (_n - _k) // _s + 1,
          f"conv_output_size({_n}, {_k}, stride={_s}) rounds down.")
### END HIDDEN TESTS

# %% nbgrader={"grade": false, "grade_id": "conv_params", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conv_params(in_channels, filters, kernel_size):
    """Number of parameters (weights and biases) of a Conv2D layer with square kernels."""
    ### BEGIN SOLUTION
    return filters * (in_channels * kernel_size * kernel_size + 1)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_conv_params", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
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

# %% nbgrader={"grade": true, "grade_id": "test_conv_params_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Hidden tests for conv_params (1 point): they run when the notebook is graded.
### BEGIN HIDDEN TESTS
for _c, _f, _k in [(1, 75, 5), (75, 100, 5), (3, 64, 7), (128, 1, 1)]:
    _layer = dl.Conv2D(_f, _k, in_channels=_c)
    check(labs.call(conv_params, _c, _f, _k) == _layer.num_parameters(), f"conv_params({_c}, {_f}, {_k}) should be "
          f"{_layer.num_parameters()}, got {conv_params(_c, _f, _k)}.")
### END HIDDEN TESTS

# %% [markdown]
# ### The whole convolution layer
#
# A real convolution layer works on a batch of N images of C channels at once, has F filters of
# C × kh × kw weights and one bias each, and may move by a stride and pad the input with zeros:
#
# $$\text{out}[n, f, i, j] = b[f] + \sum_{c} \sum_{a, b'} x_\text{pad}[n, c,\; s\,i + a,\; s\,j + b']\;
# w[f, c, a, b']$$
#
# where $x_\text{pad}$ is x with `padding` zeros added on each side of H and W, and $(i, j)$ run over
# the `conv_output_size` positions of each side. Four loops (images, filters, rows, columns) as in
# `conv2d_single` would take seconds for one batch of LeNet. **Your turn:** write `conv2d` with no
# Python loop over images or filters — the library's way, **im2col**: gather every window into one
# array, then do one matrix product. Two NumPy tools do most of it:
#
# * `np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))` adds p zeros on each side of the last two axes;
# * `np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))` is a view of shape
#   (N, C, H' - kh + 1, W' - kw + 1, kh, kw) with every window at stride 1 (no copy); slicing its
#   axes 2 and 3 with `::stride` keeps the strided ones;
# * `np.einsum("nchwab,fcab->nfhw", windows, w)` multiplies each window by each filter and sums
#   over c, a and b — the matrix product of im2col (or reshape both and use `@`).

# %% nbgrader={"grade": false, "grade_id": "conv2d", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conv2d(x, w, b, stride=1, padding=0):
    """Convolution of a batch x (N, C, H, W) with filters w (F, C, kh, kw) and biases b (F,):
    padding zeros on each side of H and W, then windows every `stride` pixels -> (N, F, H_out, W_out)."""
    ### BEGIN SOLUTION
    kh, kw = w.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    return np.einsum("nchwab,fcab->nfhw", windows, w) + b[None, :, None, None]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_conv2d", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Tests for conv2d (3 points)
rng = np.random.default_rng(5)
xb, wb, bb = rng.normal(size=(2, 3, 7, 6)), rng.normal(size=(4, 3, 3, 2)), rng.normal(size=4)
layer_hint = "out[n, f, i, j] = b[f] + the sum over c and the window of w[f] times the padded x[n]."
labs.check_conv2d_batch(labs.call(conv2d, xb, wb, bb, hint=layer_hint), xb, wb, bb, 1, 0, "conv2d(x, w, b)")
labs.check_conv2d_batch(labs.call(conv2d, xb, wb, bb, padding=1, hint=layer_hint), xb, wb, bb, 1, 1,
                        "conv2d(x, w, b, padding=1)")
labs.check_conv2d_batch(labs.call(conv2d, xb, wb, bb, stride=2, hint=layer_hint), xb, wb, bb, 2, 0,
                        "conv2d(x, w, b, stride=2)")
labs.check_conv2d_batch(labs.call(conv2d, xb, wb, bb, stride=2, padding=2, hint=layer_hint), xb, wb, bb, 2, 2,
                        "conv2d(x, w, b, stride=2, padding=2)")
x1 = x[None, None]  # the 4x4 example of section 1, one image of one channel
check_close(labs.call(conv2d, x1, k[None, None], np.zeros(1))[0, 0], labs.conv2d_reference(x, k),
            "conv2d of the 4x4 example", hint="With one image, one channel and one filter, conv2d is conv2d_single.")
xl, wl, bl = train.x[:64].astype(np.float64), rng.normal(size=(20, 1, 5, 5)), np.zeros(20)
start = time.perf_counter()
labs.call(conv2d, xl, wl, bl)
seconds = time.perf_counter() - start
check(seconds < 2, f"conv2d of 64 digits with LeNet's 20 filters took {seconds:.1f} s: loop over nothing but "
      "(at most) the kh x kw kernel offsets — gather the windows with sliding_window_view and use einsum or @.")
print(f"conv2d: all visible tests passed; LeNet's conv1 on 64 digits in {1000 * seconds:.0f} ms")

# %% nbgrader={"grade": true, "grade_id": "test_conv2d_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Hidden tests for conv2d (1 point): they run when the notebook is graded.
### BEGIN HIDDEN TESTS
_rng = np.random.default_rng(33)
for _xs, _ws, _s, _p in [((3, 2, 9, 8), (5, 2, 3, 3), 1, 1), ((1, 4, 10, 10), (2, 4, 4, 4), 3, 1),
                         ((2, 1, 5, 7), (3, 1, 5, 2), 2, 0), ((2, 3, 6, 6), (1, 3, 1, 1), 1, 0)]:
    _x, _w, _b = _rng.normal(size=_xs), _rng.normal(size=_ws), _rng.normal(size=_ws[0])
    _x0 = _x.copy()
    labs.check_conv2d_batch(labs.call(conv2d, _x, _w, _b, stride=_s, padding=_p), _x, _w, _b, _s, _p,
                            f"conv2d of x {_xs} and w {_ws}, stride={_s}, padding={_p}")
    check(np.array_equal(_x, _x0), "conv2d must not change x in place.")
### END HIDDEN TESTS

# %% [markdown]
# Your formulas against the real network: the next cell sends two digits through LeNet layer by layer.
# Layers create their weights on their first input, so the parameter counts appear after it.

# %%
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


# %% [markdown]
# The two convolutions hold about 6 % of LeNet's 431 080 parameters: a filter is used at every position
# of the image, so a few weights go a long way. Most parameters sit in the first dense layer, which
# connects all 800 numbers of the last maps to 500 units.

# %% [markdown]
# ## 4. LeNet on the small set
#
# First the situation of many real projects: few labelled images. The **small set** is 10 % of MNIST,
# 6 000 images (600 per class); a small run takes 10 % of its training images. One recipe for every
# network in this lab: SGD with momentum 0.9, learning rate 0.03 lowered along a cosine to 2 % of it,
# weight decay $5 \cdot 10^{-4}$, batches of 64. The test digits in the figure are only watched;
# nothing is chosen with them.

# %%
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

# %% [markdown]
# ## 5. LeNet on the full set: 99 %
#
# The same network and recipe with ten times the data (all 60 000 images when `full = True`).

# %%
dl.seed(run.seed)
trainer_full = train_lenet(lenet(), train, run.epochs, f"full set ({len(train)} images)",
                           TrainingDashboard(f"LeNet on the full training set ({len(train)} images)"))
acc_full = trainer_full.evaluate(test)["accuracy"]
labs.check_target("LeNet", acc_full, 0.99, run)
print(f"small set ({len(small)} images): {acc_small:.2%}, full set ({len(train)} images): {acc_full:.2%}")

# %% [markdown]
# What does it still get wrong? Titles show the prediction with its probability (green when right,
# red when wrong) and the true label.

# %%
scores = trainer_full.predict(test)
pred = scores.argmax(axis=1)
wrong = np.flatnonzero(pred != test.y)[:16]
dl.viz.image_grid(test.x[wrong], test.y[wrong], dl.softmax(dl.Tensor(scores[wrong])).numpy(),
                  title="some of LeNet's mistakes")

# %%
dl.viz.confusion_matrix_plot(dl.metrics.confusion_matrix(test.y, pred, num_classes=10))

# %% [markdown]
# ## 6. Real-world digits: dark on light
#
# A digit written on paper and photographed is dark ink on a light background — the opposite of
# MNIST. `dl.data.invert` turns one into the other: every pixel $x$ becomes $1 - x$. The same test
# digits, inverted, shown to the network that just passed 99 %:

# %%
test_inverted = test.map(dl.data.invert, name="mnist-test-inverted")
inv_scores = trainer_full.predict(test_inverted)
inv_pred = inv_scores.argmax(axis=1)
acc_full_inv = np.mean(inv_pred == test_inverted.y)
print(f"LeNet on dark-on-light digits: {acc_full_inv:.2%} (on the usual ones: {acc_full:.2%})")
dl.viz.image_grid(test_inverted.x[:16], test_inverted.y[:16], dl.softmax(dl.Tensor(inv_scores[:16])).numpy(),
                  title="dark-on-light digits and LeNet's answers")

# %%
dl.viz.confusion_matrix_plot(dl.metrics.confusion_matrix(test_inverted.y, inv_pred, num_classes=10),
                             title="dark-on-light digits (rows: true digit, columns: LeNet's answer)")


# %% [markdown]
# **Question (2 points).** Why does a network with 99 % on MNIST fail on the same digits inverted?
# Think of what a first-layer filter computes (section 1) when every pixel $x$ becomes $1 - x$, and of
# what the training images never showed. What does the confusion matrix say the network answers?

# %% [markdown] nbgrader={"grade": true, "grade_id": "inverted_answer", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# A first-layer filter computes sum(patch * k) + b. For an inverted patch that is sum(k) minus the
# original response: the background, which was 0 and added nothing, is now 1 everywhere and adds
# sum(k) at every position, and the strokes give responses of the opposite sign. So every feature map,
# and everything built on them, differs from anything seen in training: inverted digits lie outside
# the training distribution. A network learns only the variations its data shows; MNIST always has a
# dark background, so nothing taught it that the polarity does not matter. The confusion matrix shows
# no diagonal to speak of: the answers pile up in a few columns (9, 5, 3 and 0 in the full run, about
# 24 % right; in the default run, seed 0, only 2 % right), largely whatever the true digit, and
# often with high confidence — a network does not know when an input is unlike its training data.

# %% [markdown]
# ## 7. Add inverted images and retrain
#
# The fix the data suggests: show the network both kinds. Keep every training image and add its
# inverted copy with the same label — twice the data. (Changing the training images in ways that keep
# their labels is called **data augmentation**.)
#
# **Your turn.** Write `with_inverted`: the images followed by their inverted copies, and the labels
# repeated to match. `np.concatenate` joins arrays along axis 0. Keep the images **float32**, the
# library's dtype: `1 - x` of a float32 array stays float32, but `1.0 - x.astype(float)` or an array
# built with `np.zeros(...)` (float64) doubles the memory and makes every layer convert it.

# %% nbgrader={"grade": false, "grade_id": "with_inverted", "locked": false, "schema_version": 3, "solution": true, "task": false}
def with_inverted(x, y):
    """Images x (N, 1, 28, 28) in [0, 1] and labels y (N,) -> (x2, y2) with 2N images:
    x2 is x followed by 1 - x, y2 is y followed by y again."""
    ### BEGIN SOLUTION
    return np.concatenate([x, 1 - x]), np.concatenate([y, y])
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_with_inverted", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Tests for with_inverted (2 points)
xs = np.stack([np.full((1, 2, 2), 0.25, dtype=np.float32),
               np.array([[[0.0, 0.8], [0.5, 0.1]]], dtype=np.float32)])  # no pixel is 1: 1 - x is not x.max() - x
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
check_close(x2[2:], 1 - xs, "the second half of x2", hint="Each copy is 1 - x, in the order of the originals: "
            "paper 0 becomes 1 and ink 1 becomes 0, whatever the image's own brightest pixel (not x.max() - x).")
check(np.array_equal(np.asarray(y2), [3, 7, 3, 7]), f"the labels for [3, 7] should be [3, 7, 3, 7] (each copy "
      f"keeps its image's label, in the same order), got {np.asarray(y2).tolist()}.")
check(np.asarray(x2).dtype == np.float32, f"x2 should stay float32, the dtype of the images, got "
      f"{np.asarray(x2).dtype}: 1 - x keeps x's dtype; avoid np.zeros(...) or .astype(float) on the way.")
x_before = xs.copy()
labs.call(with_inverted, xs, ys)
check(np.array_equal(xs, x_before), "with_inverted changed its input x: build new arrays (np.concatenate), "
      "do not write into x.")
print("with_inverted: all visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_with_inverted_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Hidden tests for with_inverted (1 point): they run when the notebook is graded.
### BEGIN HIDDEN TESTS
_both, _, _ = dl.data.mnist_with_inverted(subset=100)
_base, _ = dl.data.mnist(subset=100)
_x0 = _base.x.copy()
_x2, _y2 = labs.call(with_inverted, _base.x, _base.y)
check_close(_x2, _both.x, "with_inverted of 100 MNIST images, against dl.data.mnist_with_inverted")
check(np.array_equal(_y2, _both.y), "the labels of with_inverted for 100 MNIST images.")
check(np.asarray(_x2).dtype == np.float32, "with_inverted should keep float32 images.")
check(np.array_equal(_base.x, _x0), "with_inverted must not change x in place.")
_dim = (_base.x[:7] * 0.6).astype(np.float32)
check_close(labs.call(with_inverted, _dim, _base.y[:7])[0][7:], 1 - _dim, "the inverted copies of 7 dim images "
            "(brightest pixel 0.6)")
### END HIDDEN TESTS

# %% [markdown]
# A fresh LeNet on the training digits of section 5 and their inverted copies together (the
# minibatches shuffle them, so every batch mixes both kinds), for `run.quick_epochs` epochs: with
# `full = True` that is 120 000 images per epoch, in a small run 12 000. The originals are the same
# digits the LeNet of section 5 learned from, so the two models differ only in the added copies. The
# curve now watches dark-on-light test digits.

# %%
both = dl.data.Dataset(*with_inverted(train.x, train.y), name=f"{train.name}+inverted")
watch_inverted = watch.map(dl.data.invert)
dl.seed(run.seed)
trainer_both = train_lenet(lenet(), both, run.quick_epochs, f"original + inverted ({len(both)} images)",
                           labs.LiveCurves("LeNet on original + inverted digits"), validation=watch_inverted)
acc_both = trainer_both.evaluate(test)["accuracy"]
acc_both_inv = trainer_both.evaluate(test_inverted)["accuracy"]
labs.check_target("LeNet trained on both", acc_both_inv, 0.98, run, what="on dark-on-light test digits")
print(f"{'LeNet trained on':28}{'usual test digits':>18}{'dark-on-light':>15}")
print(f"{f'{len(train)} digits':28}{acc_full:>18.2%}{acc_full_inv:>15.2%}")
print(f"{'the same + inverted copies':28}{acc_both:>18.2%}{acc_both_inv:>15.2%}")
# within a point on the usual digits (about the spread between seeds), and close to it on inverted ones
labs.lesson("adding inverted copies keeps the accuracy on the usual digits and fixes dark-on-light ones",
            acc_both >= acc_full - 0.01 and acc_both_inv >= acc_both - 0.02 and acc_both_inv >= acc_full_inv + 0.5,
            f"usual digits {acc_full:.2%} -> {acc_both:.2%}, dark-on-light {acc_full_inv:.2%} -> "
            f"{acc_both_inv:.2%}", run)

# %%
dl.viz.image_grid(test_inverted.x[:16], test_inverted.y[:16],
                  dl.softmax(dl.Tensor(trainer_both.predict(test_inverted.x[:16]))).numpy(),
                  title="the same dark-on-light digits, after training on both kinds")

# %% [markdown]
# **Classify one**, the DIGITS way: draw a digit in dark ink on a light page. The pad below gives the
# network what a photographed digit would be (`invert=True`: dark strokes on white). Draw a few digits
# for the network trained on both kinds; then change `trainer_both` to `trainer_full` (trained on
# MNIST only) and draw the same digits again.

# %%
DigitPad(trainer_both.model, invert=True)

# %% [markdown]
# ## 8. Photos of digits on paper
#
# The last step of the DIGITS lab: digits as a camera sees them. `dl.data.digit_photos()` returns 600
# photographs of digits written dark on light paper — uneven lighting, blur, a slight tilt and
# perspective, paper texture — and their labels. They are synthetic (rendered from a dozen fonts and
# degraded by a script in `assets/data/digit-photos/`), and no model in this lab trained on them. Each
# photo is raw: a uint8 array of its own size (40 to 64 pixels a side), grey levels 0 (black) to 255
# (white), the digit somewhere inside.

# %%
photos, photo_labels = dl.data.digit_photos()
fig, axes = plt.subplots(1, 8, figsize=(10, 1.8))
for ax, i in zip(axes, range(0, 600, 75)):
    ax.imshow(photos[i], cmap="gray", vmin=0, vmax=255)
    ax.set_title(f"{photo_labels[i]}  ({photos[i].shape[0]}x{photos[i].shape[1]})", fontsize=9)
    ax.set_axis_off()
plt.show()

# %% [markdown]
# MNIST's digits were made from scans the same way: each digit cropped to its ink, shrunk to fit a
# 20 × 20 box keeping its proportions, and put into a 28 × 28 image so that the centre of mass of the
# ink lies at the centre. **Your turn:** write `prepare_photo(photo, invert=False)`, which does that to
# a photo and returns a `(1, 28, 28)` float32 array in [0, 1]:
#
# 1. **scale**: `x = photo / 255`; most of a photo is paper, so take `paper = np.median(x)` and
#    `ink = np.percentile(x, 1)`, and map them to 1 and 0: `np.clip((x - ink) / (paper - ink), 0, 1)`;
# 2. **crop** to the ink: the rows and columns that hold a pixel below 0.5 (`np.nonzero(x < 0.5)`
#    gives their indices), from the first to the last;
# 3. **pad** the crop with paper (1) to a square of side `max(h, w)`, the crop in the middle
#    (offsets `(side - h) // 2` and `(side - w) // 2`);
# 4. **resize** the square to 20 × 20 with `resize` (given below: each new pixel is the average of
#    the pixels it covers);
# 5. **centre by mass**: the ink's mass is `1 - x`; its centre of mass in the 20 × 20 image is
#    $c_y = \sum_i i \cdot m_i / \sum m$ over the row sums $m_i$, likewise $c_x$ over the column sums. Put
#    the 20 × 20 image into a 28 × 28 page of paper (`np.ones`) at row `round(13.5 - c_y)` and
#    column `round(13.5 - c_x)`, each clipped to 0..8 so that the box stays inside — then the
#    centre of mass is at the middle of the page, (13.5, 13.5);
# 6. **invert** (`1 - x`) only when `invert=True`: MNIST stores light ink on a dark page; without it
#    the result stays as the camera sees the digit, paper 1 and ink 0.
#
# The table of section 9 feeds the photos to the networks **without** inverting them, as the camera
# gives them — the situation DIGITS ends with.

# %%
def resize(square, size=20):
    """Shrink a square image (n, n) to (size, size): each new pixel averages the old pixels it covers."""
    A = labs.area_resize_matrix(square.shape[0], size)
    return A @ square @ A.T


# %% nbgrader={"grade": false, "grade_id": "prepare_photo", "locked": false, "schema_version": 3, "solution": true, "task": false}
def prepare_photo(photo, invert=False):
    """A photo (h, w) uint8, dark ink on light paper -> (1, 28, 28) float32 in [0, 1] as MNIST is made:
    paper 1 and ink 0, cropped, padded to a square, 20 x 20 centred by mass in 28 x 28; 1 - x if invert."""
    ### BEGIN SOLUTION
    x = photo / 255
    paper, ink = np.median(x), np.percentile(x, 1)
    x = np.clip((x - ink) / (paper - ink), 0, 1)
    rows, cols = np.nonzero(x < 0.5)
    x = x[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    h, w = x.shape
    side = max(h, w)
    square = np.ones((side, side))
    top, left = (side - h) // 2, (side - w) // 2
    square[top:top + h, left:left + w] = x
    small = resize(square, 20)
    mass = 1 - small
    cy = mass.sum(axis=1) @ np.arange(20) / mass.sum()
    cx = mass.sum(axis=0) @ np.arange(20) / mass.sum()
    top, left = int(np.clip(np.round(13.5 - cy), 0, 8)), int(np.clip(np.round(13.5 - cx), 0, 8))
    out = np.ones((28, 28))
    out[top:top + 20, left:left + 20] = small
    if invert:
        out = 1 - out
    return out[None].astype(np.float32)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_prepare_photo", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Tests for prepare_photo (3 points)
photo = labs.photo_fixture()  # an L of dark ink on paper brightening to the right, 48 x 40, off-centre
steps = "Follow the six steps: scale, crop, pad to a square, resize, centre by mass, invert only if asked."
out = labs.call(prepare_photo, photo.copy(), hint=steps)
labs.check_prepared_photo(out, photo, invert=False, name="prepare_photo(photo)")
out_inverted = labs.call(prepare_photo, photo.copy(), invert=True, hint=steps)
labs.check_prepared_photo(out_inverted, photo, invert=True, name="prepare_photo(photo, invert=True)")
photo_before = photo.copy()
labs.call(prepare_photo, photo)
check(np.array_equal(photo, photo_before), "prepare_photo changed the photo it was given: work on a copy "
      "(photo / 255 makes one).")
print("prepare_photo: all visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_prepare_photo_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Hidden tests for prepare_photo (1 point): they run when the notebook is graded.
### BEGIN HIDDEN TESTS
_photos, _ = dl.data.digit_photos()
for _i in range(0, 600, 40):
    _photo = _photos[_i]
    for _invert in (False, True):
        _out = labs.call(prepare_photo, _photo.copy(), invert=_invert)
        labs.check_prepared_photo(_out, _photo, invert=_invert, name=f"prepare_photo(photos[{_i}], invert={_invert})")
### END HIDDEN TESTS

# %% [markdown]
# All 600 photos prepared, as the camera sees them and inverted:

# %%
start = time.process_time()
photo_set = dl.data.Dataset(np.stack([prepare_photo(p) for p in photos]), photo_labels, name="digit-photos")
print(f"600 photos prepared in {time.process_time() - start:.2f} s of CPU time")
dl.viz.image_grid(photo_set.x[:16], photo_set.y[:16], title="prepared photos: dark on light, as the camera sees them")
dl.viz.image_grid(1 - photo_set.x[:16], photo_set.y[:16], title="the same inverted: as MNIST stores digits")

# %% [markdown]
# ## 9. Modify the network
#
# A classic change to LeNet: more filters (75 in conv1 and 100 in conv2 instead of 20 and 50), and a
# ReLU after the first pooling so that the first stage is nonlinear too. In DIGITS one edits the
# network's description; here one writes the chain of layers. `a >> b` chains two layers (lab 2), and
# a plain function such as `dl.relu` becomes a layer in the chain. LeNet itself, as `dllab.models`
# builds it, is
#
# ```python
# dl.Conv2D(20, 5) >> dl.MaxPool2D(2) >> dl.Conv2D(50, 5) >> dl.MaxPool2D(2) >> dl.Flatten()
#     >> dl.Dense(500, activation=dl.relu) >> dl.Dense(10)
# ```
#
# (`dl.Conv2D(filters, kernel_size)` finds its input channels on the first batch; `dl.Flatten()`
# turns each image's maps into one row for the dense layers; the last layer gives the ten scores,
# without an activation: the loss applies the softmax.)
#
# **Your turn.** Write `modified_lenet()`, which returns a new modified network each time it is
# called. The test checks it by what it computes, not by how it is spelled: the layer kinds (max
# pooling), the output shape of each layer with weights, the number of parameters, and, with the
# same weights, the same outputs as the network DIGITS' step describes (so `dl.Dense(500) >> dl.relu`
# is as good as `dl.Dense(500, activation=dl.relu)`, and ReLU then pooling as good as pooling then
# ReLU: the same function).

# %% nbgrader={"grade": false, "grade_id": "modified_lenet", "locked": false, "schema_version": 3, "solution": true, "task": false}
def modified_lenet():
    """LeNet with 75 and 100 filters and a ReLU after the first pooling, composed with >>."""
    ### BEGIN SOLUTION
    return (dl.Conv2D(75, 5, name="conv1")
            >> dl.MaxPool2D(2, name="pool1")
            >> dl.relu
            >> dl.Conv2D(100, 5, name="conv2")
            >> dl.MaxPool2D(2, name="pool2")
            >> dl.Flatten()
            >> dl.Dense(500, activation=dl.relu, name="ip1")
            >> dl.Dense(10, name="ip2"))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_modified_lenet", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Tests for modified_lenet (2 points)
net = labs.call(modified_lenet, hint="Chain the layers with >>: conv 75 >> pool >> relu >> conv 100 >> pool "
                ">> flatten >> dense 500 (ReLU) >> dense 10.")
labs.check_modified_lenet(net, "modified_lenet()")
check(labs.call(modified_lenet) is not net, "modified_lenet() returned the same network twice: build the layers "
      "inside the function, so that each call gives a new, untrained network.")
out = dl.Tensor(train.x[:2])
print(f"{'input':62} {tuple(out.shape)}")
for layer in net:
    out = layer(out)
    print(f"{layer!r:62} {tuple(out.shape)}")
print(f"{net.num_parameters():,} parameters (LeNet: 431,080)")
print("modified_lenet: all visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_modified_lenet_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Hidden tests for modified_lenet (1 point): they run when the notebook is graded.
### BEGIN HIDDEN TESTS
labs.check_modified_lenet(labs.call(modified_lenet), "modified_lenet() on a batch of 5", batch=5, seed=3)
_a, _b = labs.call(modified_lenet), labs.call(modified_lenet)
_a(dl.Tensor(train.x[:1])), _b(dl.Tensor(train.x[:1]))
check(all(p is not q for p, q in zip(_a.parameters(), _b.parameters())),
      "two calls of modified_lenet() share layers: create them inside the function.")
### END HIDDEN TESTS

# %% [markdown]
# The modified network trains on the same data with the same
# recipe and number of epochs as LeNet. It does several times the work per image, so this cell is the
# slowest of the lab. With `full = True` it trains on all of `both` and is compared with the LeNet of
# section 7; a small run, to stay short, trains both networks on 1 000 of the digits and their
# inverted copies. After so little training, and with one seed, a difference of a point or two
# between the networks says little: compare the parameters and the seconds per epoch, and see the
# answer below for the full run's accuracies.

# %%
live = labs.LiveCurves("LeNet and the modified network on the same digits")
if run.full:
    pair, trainer_pair = both, trainer_both
else:
    pair = dl.data.Dataset(*with_inverted(train.x[:1000], train.y[:1000]), name=f"{train.name}[:1000]+inverted")
    dl.seed(run.seed)
    trainer_pair = train_lenet(lenet(), pair, run.quick_epochs, f"LeNet ({len(pair)} images)", live,
                               validation=watch_inverted)
dl.seed(run.seed)
trainer_big = train_lenet(modified_lenet(), pair, run.quick_epochs,
                          f"75/100 filters + ReLU ({len(pair)} images)", live, validation=watch_inverted)
results = {"LeNet": (trainer_pair, trainer_pair.evaluate(test)["accuracy"],
                     trainer_pair.evaluate(test_inverted)["accuracy"]),
           "75/100 filters + ReLU": (trainer_big, trainer_big.evaluate(test)["accuracy"],
                                     trainer_big.evaluate(test_inverted)["accuracy"])}
print(f"{'network':24}{'parameters':>12}{'in convs':>10}{'s/epoch':>9}{'test':>9}{'inverted':>10}")
for name, (trainer, acc, acc_inv) in results.items():
    convs = [layer for layer in trainer.model if isinstance(layer, dl.Conv2D)]
    in_convs = sum(conv_params(layer.in_channels, layer.filters, layer.kernel_size[0]) for layer in convs)
    print(f"{name:24}{trainer.model.num_parameters():>12,}{in_convs:>10,}"
          f"{np.mean(trainer.history['time']):>9.1f}{acc:>9.2%}{acc_inv:>10.2%}")

# %% [markdown]
# ### DIGITS' results table
#
# Every network of this lab on the three test sets: the usual test digits, the same digits inverted,
# and the photos prepared as the camera sees them (`invert=False`). In a small run the modified
# network trained on 1 000 digits and their inverted copies only (the number of training images is in
# its name).

# %%
_, acc_big, acc_big_inv = results["75/100 filters + ReLU"]
table = {f"LeNet, small set ({len(small)})": (trainer_small, acc_small, trainer_small.evaluate(test_inverted)["accuracy"]),
         f"LeNet, full set ({len(train)})": (trainer_full, acc_full, acc_full_inv),
         f"LeNet, full + inverted ({len(both)})": (trainer_both, acc_both, acc_both_inv),
         f"75/100 filters + ReLU ({len(pair)})": (trainer_big, acc_big, acc_big_inv)}
print(f"{'trained':38}{'test':>8}{'inverted':>10}{'photos':>8}")
photo_accuracy = {}
for name, (trainer, acc, acc_inv) in table.items():
    photo_accuracy[name] = trainer.evaluate(photo_set)["accuracy"]  # the photos as the camera sees them
    print(f"{name:38}{acc:>8.1%}{acc_inv:>10.1%}{photo_accuracy[name]:>8.1%}")
acc_photos_full, acc_photos_both = photo_accuracy[f"LeNet, full set ({len(train)})"], \
    photo_accuracy[f"LeNet, full + inverted ({len(both)})"]
labs.lesson("trained on MNIST alone, LeNet fails on photos of digits on paper; with inverted copies it reads most",
            acc_photos_full < 0.25 and acc_photos_both > 0.6 and acc_photos_both > acc_photos_full + 0.5,
            f"photos {acc_photos_full:.1%} -> {acc_photos_both:.1%}", run)

# %% [markdown]
# The photos are harder than MNIST's own test digits even for the augmented network: printed fonts,
# blur and tilt are variations its training set never showed. To read them better, add such
# variations to the training set (shifts, small rotations, blur) — the same lesson as the inverted
# copies, one step further.

# %% [markdown]
# **Question (2 points).** Compare the two networks: accuracy on both test sets, parameters, seconds
# per epoch. Where do the extra parameters sit (use `conv_params` and the summary of section 3)? Is the
# modified network worth it here, and what would you try before making a network bigger?

# %% [markdown] nbgrader={"grade": true, "grade_id": "modified_answer", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# In the full run the modified network is a little more accurate on both test sets after the same
# number of epochs (99.25 / 99.27 % against 98.99 / 99.09 %, seed 0), at about four times
# the time per epoch (185 s against 45 s on a CPU). Its
# convolutions grow from 25 570 to 189 550 parameters (conv2 alone: 100 x (75 x 25 + 1)), but most of
# the growth is in the first dense layer, which now reads 100 x 4 x 4 = 1 600 numbers instead of
# 800: about 800 000 parameters instead of 400 000, for about a million in all. The ReLU after pool1
# costs nothing and lets the first stage keep only positive evidence. Whether it is worth it depends
# on the budget: a small gain for several times the compute. Cheaper things to try first: train
# longer, tune the learning rate, more augmentation (shifts), or dropout.

# %% [markdown]
# **After LeNet: depth and batch normalisation.** LeNet (1998) has two convolutions. AlexNet (2012)
# won the ImageNet contest with five convolutions and three dense layers, 60 million parameters,
# ReLUs, dropout and two GPUs; VGG (2014) went to 16–19 layers of 3 × 3 convolutions, ResNet (2015) to
# 152. Depth pays because each layer combines the features of the one before into larger patterns
# (edges, then strokes, then parts, then objects) at little cost per layer. But a deep chain is hard
# to train: the scale of the numbers drifts from layer to layer, and the gradient shrinks or grows as
# it is multiplied back through many layers. **Batch normalisation** (Ioffe and Szegedy, 2015) fixes
# the scale: for each channel it subtracts the batch's mean and divides by its standard deviation,
# then scales and shifts by two learned numbers, $y = \gamma\,(x - \mu_B)/\sqrt{\sigma_B^2 + \epsilon} + \beta$ —
# with it, much higher learning rates train reliably. ResNet adds **skip connections**,
# $\text{out} = x + f(x)$, so that the gradient reaches the first layers unchanged; together they made
# networks of a hundred layers trainable. dllab has `dl.BatchNorm`, used like any layer in a chain,
# e.g. `dl.Conv2D(75, 5) >> dl.BatchNorm() >> dl.relu`:

# %%
maps = dl.Conv2D(75, 5)(dl.Tensor(train.x[:64]))  # 64 digits, 75 maps each
normed = dl.BatchNorm()(maps).numpy()
print(f"conv1 maps: channel means {maps.numpy().mean(axis=(0, 2, 3))[:3].round(3)}..., "
      f"standard deviations {maps.numpy().std(axis=(0, 2, 3))[:3].round(3)}...")
print(f"after BatchNorm: means {normed.mean(axis=(0, 2, 3))[:3].round(3)}..., "
      f"standard deviations {normed.std(axis=(0, 2, 3))[:3].round(3)}...")

# %% [markdown]
# ## 10. Inside the network: filters and feature maps
#
# The 20 filters of conv1 are 5 × 5 images of weights (white: large positive, black: negative). Each
# **feature map** shows where in the digit its filter responds (yellow: high, dark blue: low). Here for
# the LeNet trained on both kinds of digits, for one digit and its inverted copy.

# %%
model_both = trainer_both.model
dl.viz.filters_plot(model_both[0], title="conv1: 20 filters of 5 x 5, trained on both kinds of digits")

# %%
one = test.x[0]  # (1, 28, 28)
dl.viz.feature_maps_plot(model_both, one, layer_index=0, title="conv1 maps of a test digit")

# %%
dl.viz.feature_maps_plot(model_both, 1 - one, layer_index=0, title="conv1 maps of the same digit inverted")

# %%
dl.viz.feature_maps_plot(model_both, one, layer_index=3, title="pool2: the 50 maps of 4 x 4 the dense layers read")

# %% [markdown]
# The layer inspector does the same for any test digit and any layer: pick them in the two menus.
# Convolution and pooling layers show their maps, the dense layers their outputs as bars (the last one:
# the ten class scores).

# %%
LayerInspector(model_both, dl.data.concat(test[:8], test_inverted[:8]))  # 8 digits, then their inverted copies


# %% [markdown]
# **Question (2 points).** What do the conv1 filters look like (think of the edge kernels of
# section 1)? How do the conv1 maps of the inverted digit relate to those of the original, and how can
# the later layers still give both the same label?

# %% [markdown] nbgrader={"grade": true, "grade_id": "feature_maps_answer", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# Many conv1 filters are small edge or stroke detectors: a bright band beside a dark band at some
# orientation, like the hand-made edge kernels; some are blob-like. For the inverted digit each map is
# the original map turned upside down in value plus a constant (sum(k) + b minus the original
# response): where a filter fired on the original it is now low, and the background, which was flat,
# now sits at a different constant level. The maps are still flat where the image is flat and show the
# same edges at the same places, only with opposite sign. Because the network saw both kinds during
# training, conv2 and the dense layers learned to combine the maps so that both sign patterns of the
# same strokes lead to the same digit (some filter pairs respond to the two polarities of one edge).

# %% [markdown]
# ## 11. CPU or GPU?
#
# Training a CNN is mostly large matrix products (im2col turns every convolution into one): the work a
# GPU is built for. The next cell times one training step of LeNet — forward pass, backward pass,
# update — on the CPU and, when this machine has an NVIDIA GPU that CuPy can use, on the GPU. The
# model is built again on each device, since weights live where they are created; the first steps
# (which create the weights and, on the GPU, compile kernels) are not counted.

# %%
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
        print(f"batch {b:4}: CPU {1000 * cpu[b]:7.1f} ms ({1000 * cpu[b] / b:.2f} ms per image), "
              f"GPU {1000 * gpu[b]:6.1f} ms ({1000 * gpu[b] / b:.3f} ms per image) per step: "
              f"{cpu[b] / gpu[b]:.1f}x faster on the GPU")
else:
    print(f"No GPU to compare with here ({dl.backend.gpu_unavailable_reason()}), so only the CPU is timed.")
    for b in batch_sizes:
        print(f"batch {b:4}: CPU {1000 * cpu[b]:7.1f} ms per step ({1000 * cpu[b] / b:.2f} ms per image), "
              f"{b / cpu[b]:,.0f} images per second")

# %% [markdown]
# **What a GPU changes.** A CPU has a few cores; a GPU has thousands of simple arithmetic units and
# its own fast memory, so one large matrix product runs many times faster — if there is enough work to
# fill them. Read the figures above: on the CPU the time per image barely changes with the batch size,
# so the time per step grows about in proportion to the batch. Where a GPU is present, the cell prints
# its figures beside the CPU's; compare how its time per step grows from 64 to 256 images, and its
# speed-up over the CPU at each batch size (small batches of 28 × 28 digits leave much of a GPU idle,
# which is why GPU training uses large batches). Without a GPU the cell prints no GPU figure, and this
# text quotes none: the figures to trust are the ones your machine measured.
#
# ## Summary
#
# * A convolution slides a small kernel over the image: $\text{out}[i, j] = \sum x[i + a, j + b]\,k[a, b]$,
#   output size $\lfloor (n + 2p - k)/s \rfloor + 1$; pooling keeps the largest value of each window.
# * A filter is shared by all positions, so convolutions need few parameters; LeNet's sit mostly in
#   its first dense layer.
# * More data helped: the small set gives about 98 %, the full set over 99 % (full run).
# * A network knows only the variations its training data shows: 99 % on MNIST, failure on
#   dark-on-light digits — fixed by adding inverted copies to the training set.
# * Photos of digits on paper, prepared as MNIST was made (crop, pad to a square, 20 × 20 centred by
#   mass in 28 × 28), are dark on light: the network trained on MNIST alone gets a few % of them, the
#   one trained with inverted copies most of them (DIGITS' table).
# * A bigger network gains a little for several times the compute; filters and feature maps show what
#   the layers respond to. Depth, with batch normalisation and skip connections to keep it trainable,
#   is what came after LeNet.
# * Lab 4 moves from images to time series, with a recurrent network.

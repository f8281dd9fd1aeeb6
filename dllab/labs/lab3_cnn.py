"""Lab 3 (a CNN): the checks of its visible tests and the answers they compare with (``*_reference``, served
by :mod:`dllab.labs.answers`): convolution and pooling by hand (padding, off-by-one sizes, a flipped kernel,
overlapping or averaged windows), a photo of a digit prepared as MNIST's (``area_resize_matrix`` is the
lab's given resizing helper), the modified LeNet judged by behaviour."""

from __future__ import annotations

from itertools import accumulate

import numpy as np

from ..autograd import Tensor
from ..functional import conv2d, max_pool2d
from ..layers import Sequential
from ..models import lenet
from .answers import served
from .checking import LabCheckError, as_array, returned, worst_index

__all__ = ["area_resize_matrix", "check_conv2d", "check_conv2d_batch", "check_max_pool", "check_max_pool_backward",
           "check_modified_lenet", "check_prepared_photo", "conv2d_reference", "max_pool_reference", "photo_fixture",
           "prepare_photo_reference"]  # what the package re-exports: labs.<name> in the notebook

conv2d_reference = served("conv2d_reference")
max_pool_reference = served("max_pool_reference")
prepare_photo_reference = served("prepare_photo_reference")


def area_resize_matrix(n, m):
    """(m, n) matrix that averages n pixels into m bins, each pixel weighted by its overlap with
    its bin: ``A @ image @ A.T`` shrinks an n x n image to m x m (lab 3's ``resize``)."""
    edges = np.arange(m + 1) * (n / m)
    j = np.arange(n)[None, :]
    overlap = np.clip(np.minimum(edges[1:, None], j + 1) - np.maximum(edges[:-1, None], j), 0, None)
    return overlap / overlap.sum(axis=1, keepdims=True)


def check_conv2d(out, x, k, name="conv2d_single(x, k)"):
    """Compare a hand-written convolution with the expected one and say what kind of mistake it looks like.

    Recognises: a missing return, padding ('same' or 'full' output size), an off-by-one
    output size, a flipped kernel (convolution in the signal-processing sense), a transposed
    result.
    """
    __tracebackhide__ = True
    x, k = np.asarray(x, dtype=np.float64), np.asarray(k, dtype=np.float64)
    (H, W), (kh, kw) = x.shape, k.shape
    want = conv2d_reference(x, k)
    a = returned(out, name).astype(np.float64)
    if a.shape != want.shape:
        if a.shape == (H, W):
            why = ("that is the input's size, as with padding. Without padding a kernel only fits where it "
                   "lies wholly inside the input")
        elif a.shape == (H + kh - 1, W + kw - 1):
            why = "that is the 'full' size, with the kernel hanging over the edges; here it stays inside"
        elif a.shape in ((H - kh, W - kw), (H - kh + 2, W - kw + 2)):
            why = "off by one: a kernel of width kw fits at W - kw + 1 positions (columns 0 .. W - kw)"
        else:
            why = "the output has one value per position where the kernel fits inside the input"
        raise LabCheckError(f"{name} should have shape {want.shape} for a {H}x{W} input and a {kh}x{kw} kernel, "
                            f"got {a.shape}: {why}.")
    if np.allclose(a, want):
        return
    if np.allclose(a, conv2d_reference(x, k[::-1, ::-1])):
        raise LabCheckError(f"{name} flips the kernel (that is convolution as in signal processing). Deep-learning "
                            "layers multiply each window by the kernel as it is: out[i, j] = "
                            "sum(x[i:i+kh, j:j+kw] * k).")
    if want.shape[0] == want.shape[1] and np.allclose(a, want.T):
        raise LabCheckError(f"{name} is transposed: out[i, j] belongs to the window that starts at row i and "
                            "column j, x[i:i+kh, j:j+kw].")
    i = worst_index(np.abs(a - want))
    raise LabCheckError(f"{name} is wrong: at index {i} it is {a[i]:.6g}, expected {want[i]:.6g}, which is "
                        f"sum(x[{i[0]}:{i[0] + kh}, {i[1]}:{i[1] + kw}] * k).")


def check_max_pool(out, x, size, name="max_pool_single(x)"):
    """Compare hand-written max pooling with the expected result and say what kind of mistake it looks like.

    Recognises: a missing return, overlapping windows (stride 1), averaging, a transposed result.
    """
    __tracebackhide__ = True
    x = np.asarray(x, dtype=np.float64)
    H, W = x.shape
    want = max_pool_reference(x, size)
    a = returned(out, name).astype(np.float64)
    if a.shape != want.shape:
        why = (f"the windows do not overlap: with size {size} the stride is {size} too, so each side "
               f"shrinks by a factor {size}")
        if a.shape == (H - size + 1, W - size + 1):
            why = f"you slid the window one pixel at a time (stride 1); pooling moves it by {size}"
        raise LabCheckError(f"{name} should have shape {want.shape} for a {H}x{W} input, got {a.shape}: {why}.")
    if np.allclose(a, want):
        return
    mean = x.reshape(H // size, size, W // size, size).mean(axis=(1, 3))
    if np.allclose(a, mean):
        raise LabCheckError(f"{name} averages each window; max pooling keeps the largest value of each window "
                            "(.max(), not .mean()).")
    if want.shape[0] == want.shape[1] and np.allclose(a, want.T):
        raise LabCheckError(f"{name} is transposed: out[i, j] is the maximum of rows {size}*i .. {size}*i+{size - 1} "
                            f"and columns {size}*j .. {size}*j+{size - 1}.")
    i = worst_index(np.abs(a - want))
    r, c = i[0] * size, i[1] * size
    raise LabCheckError(f"{name} is wrong: at index {i} it is {a[i]:.6g}, expected {want[i]:.6g}, the maximum of "
                        f"x[{r}:{r + size}, {c}:{c + size}].")


def check_max_pool_backward(dx, x, g, size, name="max_pool_backward(x, g)"):
    """Compare a hand-written max-pooling gradient with dllab's autograd (ties: the first maximum of a
    window in reading order takes the gradient, as in the library) and name the mistake.

    Recognises: a missing return, another shape, g copied to every pixel of its window, g shared out
    evenly (the gradient of average pooling), g sent to every tied maximum, g not used.
    """
    __tracebackhide__ = True
    x, g = np.asarray(x, np.float64), np.asarray(g, np.float64)
    t = Tensor(x[None, None].copy(), requires_grad=True)
    max_pool2d(t, size).backward(g[None, None])
    want = as_array(t.grad)[0, 0]
    a = returned(dx, name).astype(np.float64)
    if a.shape != x.shape:
        raise LabCheckError(f"{name} should have x's shape {x.shape} (one gradient per input pixel), got {a.shape}.")
    if np.allclose(a, want):
        return
    H, W = x.shape
    block = np.ones((size, size))
    if np.allclose(a, np.kron(g, block)):
        raise LabCheckError(f"{name} copies g[i, j] to every pixel of window (i, j); only the window's maximum "
                            "decided the output, so only it gets g[i, j] and the other pixels get 0.")
    if np.allclose(a, np.kron(g, block) / size ** 2):
        raise LabCheckError(f"{name} shares g[i, j] evenly over the window: that is the gradient of average "
                            "pooling. Max pooling sends all of g[i, j] to the window's maximum, 0 elsewhere.")
    wins = x.reshape(H // size, size, W // size, size)
    is_max = wins == wins.max(axis=(1, 3), keepdims=True)
    tied = (is_max * g[:, None, :, None]).reshape(H, W)
    if np.allclose(a, tied) or np.allclose(a, tied / is_max.sum(axis=(1, 3), keepdims=True).reshape(
            H // size, 1, W // size, 1).repeat(size, 1).repeat(size, 3).reshape(H, W)):
        raise LabCheckError(f"{name} gives the gradient to every tied maximum of a window; like the library, "
                            "send it to the first maximum only, in reading order (np.argmax of the window, "
                            "then np.unravel_index), so that the gradients sum to g.")
    if np.allclose(a, (want != 0)):
        raise LabCheckError(f"{name} puts 1 at each maximum: put g[i, j] there (the chain rule multiplies the "
                            "gradient arriving from above by d out / d x = 1).")
    i = worst_index(np.abs(a - want))
    raise LabCheckError(f"{name} is wrong at {i}: {a[i]:.6g}, expected {want[i]:.6g}. Pixel {i} is in window "
                        f"({i[0] // size}, {i[1] // size}) (size={size}: the windows are {size} x {size}); it gets "
                        "that window's g only if it is the window's (first) maximum, 0 otherwise.")


def _library_conv(x, w, b, stride, padding):
    return as_array(conv2d(Tensor(np.asarray(x, np.float64)), Tensor(np.asarray(w, np.float64)),
                       None if b is None else Tensor(np.asarray(b, np.float64)), stride=stride, padding=padding))


def check_conv2d_batch(out, x, w, b, stride=1, padding=0, name="conv2d(x, w, b)"):
    """Compare a batched, many-channel convolution with dllab's conv2d (floor semantics) and say
    what kind of mistake it looks like.

    Recognises: a missing return, padding left out or added on one side only, the stride left out,
    the axes in another order, the bias left out, the kernel flipped, padding with other values
    than zeros.
    """
    __tracebackhide__ = True
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    want = _library_conv(x, w, b, stride, padding)
    a = returned(out, name).astype(np.float64)
    N, C, H, W = x.shape
    F, _, kh, kw = w.shape
    if a.shape != want.shape:
        def size(n, k, s, p):
            return (n + 2 * p - k) // s + 1
        why = (f"(N, F, H_out, W_out) with H_out = (H + 2p - kh) // stride + 1 = ({H} + {2 * padding} - {kh}) // "
               f"{stride} + 1")
        if a.shape == (N, F, size(H, kh, stride, 0), size(W, kw, stride, 0)) and padding:
            why = f"padding={padding} was left out: pad H and W with {padding} zeros on each side first (np.pad)"
        elif a.shape == (N, F, size(H, kh, stride, padding / 2), size(W, kw, stride, padding / 2)) and padding:
            why = f"padding is added on both sides of H and W: {padding} zeros before and {padding} after"
        elif a.shape == (N, F, size(H, kh, 1, padding), size(W, kw, 1, padding)) and stride > 1:
            why = (f"the stride was left out: the window moves {stride} pixels at a time, so keep every "
                   f"{stride}-th position")
        elif sorted(a.shape) == sorted(want.shape):
            why = "the axes are in another order: the output is (N, F, H_out, W_out), images first, then filters"
        raise LabCheckError(f"{name} should have shape {want.shape} for x {x.shape}, w {w.shape}, stride={stride}, "
                            f"padding={padding}, got {a.shape}: {why}.")
    if np.allclose(a, want, rtol=1e-5, atol=1e-6):
        return
    if b is not None and np.allclose(a, want - np.asarray(b, np.float64)[None, :, None, None], atol=1e-6):
        raise LabCheckError(f"{name} leaves out the bias: add b[f] to every output of filter f "
                            "(b[None, :, None, None] broadcasts it).")
    if np.allclose(a, _library_conv(x, w[:, :, ::-1, ::-1], b, stride, padding), atol=1e-6):
        raise LabCheckError(f"{name} flips the kernel: multiply each window by w as it is (no [::-1]), as in "
                            "conv2d_single.")
    if padding:
        edge = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)), mode="edge")
        if np.allclose(a, _library_conv(edge, w, b, stride, 0), atol=1e-6):
            raise LabCheckError(f"{name} pads with copies of the border; padding adds zeros (np.pad's default, "
                                "mode='constant').")
    i = worst_index(np.abs(a - want))
    raise LabCheckError(f"{name} is wrong at out{list(i)}: {a[i]:.6g}, expected {want[i]:.6g} = b[{i[1]}] + the sum "
                        f"over all {C} channels and the {kh}x{kw} window of w[{i[1]}] times the padded x[{i[0]}] "
                        f"at rows {stride * i[2]}.. and columns {stride * i[3]}...")


def photo_fixture():
    """A small synthetic photo for lab 3's visible tests: an L of dark ink (40) on paper that
    brightens from left to right (200 to 220), off-centre in a 48 x 40 frame, uint8. Its ink box
    is 30 x 18 (tall, so a stretch shows) and its mass sits low and left (so centring by the box
    instead of the mass shows)."""
    photo = np.tile(np.linspace(200, 220, 40), (48, 1))
    photo[6:36, 9:15] = 40     # the upright stroke
    photo[30:36, 9:27] = 40    # the foot
    return np.round(photo).astype(np.uint8)


def _ink_centre(a):
    mass = 1 - a
    return tuple(float(mass.sum(axis=1 - k) @ np.arange(a.shape[k]) / mass.sum()) for k in (0, 1))


def _ink_box(a, level=0.5):
    rows, cols = np.nonzero(a < level)
    return (0, 0) if len(rows) == 0 else (int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1))


def check_prepared_photo(out, photo, invert=False, name="prepare_photo(photo)"):
    """Compare a prepared photo with the expected one and say which step looks wrong.

    Recognises: a missing return, the channel axis left out, another dtype, grey levels not
    scaled to paper 1 and ink 0, the polarity wrong (inverted twice, or never), no crop, a
    stretch instead of padding to a square, the box centred instead of the ink's mass.
    """
    __tracebackhide__ = True
    want = prepare_photo_reference(photo, invert=invert)
    a = returned(out, name)
    if a.shape != (1, 28, 28):
        why = ("add the channel axis, e.g. `return out[None]`: the network takes images of shape "
               "(1, 28, 28), like dataset.x[i]") if a.shape == (28, 28) else "one channel of 28 x 28 pixels"
        raise LabCheckError(f"{name} should have shape (1, 28, 28), got {a.shape}: {why}.")
    if a.dtype != np.float32:
        raise LabCheckError(f"{name} should be float32, the library's dtype (like MNIST's images), got "
                            f"{a.dtype}: end with .astype(np.float32).")
    a = a[0].astype(np.float64)
    if not np.isfinite(a).all():
        raise LabCheckError(f"{name} holds NaN or inf: check the divisions (by paper - ink, by the mass).")
    if a.max() > 2:
        raise LabCheckError(f"{name} goes up to {a.max():.4g}: the grey levels must be in [0, 1]. Divide the "
                            "photo by 255 first, then scale so that the paper is 1 and the ink 0.")
    if a.min() < -1e-6 or a.max() > 1 + 1e-6:
        raise LabCheckError(f"{name} goes from {a.min():.4g} to {a.max():.4g}: clip the scaled grey levels to "
                            "[0, 1] (np.clip) — the noise of a photo goes a little beyond paper and ink.")
    dark = a if not invert else 1 - a  # paper 1, ink 0
    corners = np.array([dark[0, 0], dark[0, -1], dark[-1, 0], dark[-1, -1]])
    if np.all(corners < 0.5):
        if invert:
            raise LabCheckError(f"{name} with invert=True has light paper around the digit: with invert=True "
                                "return 1 - x, light ink on a dark page as MNIST stores digits.")
        raise LabCheckError(f"{name} with invert=False has a dark page: without invert the result keeps the "
                            "photo's polarity, paper 1 and ink 0 (did you invert, or invert twice?). Invert only "
                            "when invert=True.")
    if np.allclose(a, want, atol=2e-3):
        return
    if dark.min() > 0.05 or np.any(np.abs(corners - 1) > 0.02):
        raise LabCheckError(f"{name}: the paper should be 1 and the darkest ink 0, got paper {corners.min():.3g} "
                            f"and ink {dark.min():.3g}. Scale the grey levels with paper = np.median(x) and ink = "
                            "np.percentile(x, 1): (x - ink) / (paper - ink), clipped to [0, 1].")
    h, w = _ink_box(dark)
    want_h, want_w = _ink_box(1 - want[0] if invert else want[0])
    if max(h, w) < 18:
        raise LabCheckError(f"{name}: the digit's ink spans only {h} x {w} pixels, expected {want_h} x {want_w}: "
                            "crop the photo to its ink (the rows and columns with a pixel below 0.5) before "
                            "resizing, so that the digit, not the photo, fills the 20 x 20 box.")
    if abs(h - w) <= 2 and abs(want_h - want_w) > 4:
        raise LabCheckError(f"{name}: the digit is stretched to {h} x {w} pixels, expected {want_h} x {want_w}: "
                            "pad the crop with paper (1) to a square before resizing, so the digit keeps its "
                            "proportions.")
    cy, cx = _ink_centre(dark)
    if max(abs(cy - 13.5), abs(cx - 13.5)) > 1:
        raise LabCheckError(f"{name}: the ink's centre of mass is at ({cy:.1f}, {cx:.1f}), it should be within a "
                            "pixel of (13.5, 13.5): shift the 20 x 20 box by the centre of mass of the ink "
                            "(mass = 1 - x), not by the box's middle.")
    if np.mean(np.abs(a - want[0])) < 0.02:  # every step right; a rounding differs at an edge
        return
    i = worst_index(np.abs(a - want[0]))
    raise LabCheckError(f"{name} is wrong at pixel {i}: {a[i]:.4g}, expected {want[0][i]:.4g}. Follow the steps "
                        "in the text: scale, crop, pad to a square, resize, centre by mass, invert.")


def check_modified_lenet(model, name="modified_lenet()", batch=2, seed=0):
    """Check ``model`` against lenet(filters=(75, 100), relu_after_pool1=True) by behaviour, not spelling.

    The layer kinds (max, not average, pooling; a Flatten), the output shape of each layer with
    parameters (75 and 100 filters of 5 x 5, dense 500 and 10) and the parameter count are compared;
    then what comes after each layer with parameters (its own activation and the layers up to the next
    one) is run on the same random input as the lab's network: max pooling then ReLU after conv1
    (ReLU then max pooling is the same function), a ReLU after the dense layer of 500 (as
    ``activation=dl.relu`` or as ``>> dl.relu``), nothing after the last layer (no softmax, no ReLU).
    An activation is judged by what it does to negative numbers.
    """
    __tracebackhide__ = True
    if model is None:
        raise LabCheckError(f"{name} is None: did you forget a `return`?")
    if not isinstance(model, Sequential):
        raise LabCheckError(f"{name} should return the network, a chain of layers built with >> (e.g. "
                            f"dl.Conv2D(75, 5) >> dl.MaxPool2D(2) >> ...), got {type(model).__name__}.")
    want_model = lenet(filters=(75, 100), relu_after_pool1=True)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, 1, 28, 28)).astype(np.float32)
    want_outs = list(accumulate(want_model, lambda t, layer: layer(t), initial=Tensor(x)))
    layers = list(model)
    kinds = [type(layer).__name__ for layer in layers]
    want_kinds = [type(layer).__name__ for layer in want_model]
    plan = ("conv 75 (5x5) >> max pool 2 >> relu >> conv 100 (5x5) >> max pool 2 >> flatten >> "
            "dense 500 with ReLU >> dense 10")
    if "AvgPool2D" in kinds:
        raise LabCheckError(f"{name}: layer {kinds.index('AvgPool2D')} is AvgPool2D, which averages each window; "
                            f"the network keeps the largest value of each window: dl.MaxPool2D(2). It is {plan}.")
    if "Flatten" not in kinds and "Dense" in kinds:
        raise LabCheckError(f"{name} has no Flatten: the dense layers read one row of numbers per image, so put "
                            f"dl.Flatten() between the last pooling and the first Dense. The network is {plan}.")
    outs = [Tensor(x)]
    for i, layer in enumerate(layers):
        try:
            outs.append(layer(outs[-1]))
        except Exception as error:  # the attendee's layers may fail in any way; say which and why
            raise LabCheckError(f"{name}: layer {i} ({layer!r}) raised {type(error).__name__} on the output of "
                                f"the layer before, of shape {tuple(outs[-1].shape)}: {error}. The network is "
                                f"{plan}.") from None
    weighted = [i for i, k in enumerate(kinds) if k in ("Conv2D", "Dense")]
    want_weighted = [i for i, k in enumerate(want_kinds) if k in ("Conv2D", "Dense")]
    if [kinds[i] for i in weighted] != ["Conv2D", "Conv2D", "Dense", "Dense"]:
        raise LabCheckError(f"{name} has the layers {', '.join(kinds)}: two Conv2D then two Dense layers are "
                            f"expected; the modified network is {plan}.")
    for i, j in zip(weighted, want_weighted):
        got, shape, kind = tuple(outs[i + 1].shape), tuple(want_outs[j + 1].shape), want_kinds[j]
        if got != shape:
            if kind == "Conv2D" and len(got) == 4 and got[1] in (20, 50):
                why = f"it has LeNet's {got[1]} filters; the modified network has 75 in conv1 and 100 in conv2"
            elif kind == "Conv2D" and len(got) == 4 and got[1] == shape[1]:
                why = "the filters are 5 x 5, as in LeNet: dl.Conv2D(filters, 5)"
            else:
                why = f"the modified network is {plan}"
            raise LabCheckError(f"{name}: layer {i} ({layers[i]!r}) gives shape {got} for a batch of {batch} digits, "
                                f"expected {shape} ({kind}): {why}.")
    n, n_want = model.num_parameters(), want_model.num_parameters()
    if n != n_want:
        raise LabCheckError(f"{name} has {n:,} parameters, expected {n_want:,}: the modified network is {plan}.")

    def after(net_layers, position, end, t):
        """What follows the weighted layer at ``position``: its own activation, then the layers up to ``end``."""
        f = getattr(net_layers[position], "activation", None)
        t = f(t) if f is not None else t
        for layer in net_layers[position + 1:end]:
            t = layer(t)
        return as_array(t)

    for k, (i, j) in enumerate(zip(weighted, want_weighted)):
        t = rng.normal(size=tuple(want_outs[j + 1].shape)).astype(np.float32) * 2
        end = weighted[k + 1] if k + 1 < len(weighted) else len(layers)
        want_end = want_weighted[k + 1] if k + 1 < len(want_weighted) else len(want_model)
        try:
            got = after(layers, i, end, Tensor(t))
        except Exception as error:  # noqa: BLE001 - said as a lesson
            raise LabCheckError(f"{name}: the layers after layer {i} raised {type(error).__name__}: {error}. "
                                f"The network is {plan}.") from None
        want = after(list(want_model), j, want_end, Tensor(t))
        if got.shape == want.shape and np.allclose(got, want, rtol=1e-4, atol=1e-5):
            continue
        stretch = " >> ".join(kinds[i:end])
        if got.shape != want.shape:
            raise LabCheckError(f"{name}: after layer {i}, {stretch} gives shape {got.shape}, expected "
                                f"{want.shape}: the network is {plan}.")
        if k == 0:
            pooled = as_array(list(want_model)[want_weighted[0] + 1](Tensor(t)))
            if np.allclose(got, pooled, rtol=1e-4, atol=1e-5):
                raise LabCheckError(f"{name} has no ReLU after the first pooling: add `>> dl.relu` after the first "
                                    f"MaxPool2D. The modified network is {plan}.")
            raise LabCheckError(f"{name}: between conv1 and conv2 ({stretch}) the network must take 2 x 2 max pooling "
                                "and a ReLU (in either order: the same function). Yours gives other numbers; a "
                                "ReLU gives 0 for every negative number and keeps the others, e.g. "
                                "[-3, -0.5, 0, 0.5, 3] -> [0, 0, 0, 0.5, 3] (a sigmoid or a tanh does not).")
        if k == 1:
            raise LabCheckError(f"{name}: between conv2 and the first Dense ({stretch}) the network takes 2 x 2 max "
                                f"pooling and a Flatten, no activation. The network is {plan}.")
        if k == 2:
            if got.min() < 0:
                raise LabCheckError(f"{name}: the dense layer of 500 gives negative numbers: give it a ReLU, "
                                    "dl.Dense(500, activation=dl.relu) (or dl.Dense(500) >> dl.relu).")
            raise LabCheckError(f"{name}: the activation of the dense layer of 500 is not a ReLU: a ReLU gives 0 "
                                "for every negative number and keeps the others ([-3, -0.5, 0, 0.5, 3] -> "
                                "[0, 0, 0, 0.5, 3]); use dl.Dense(500, activation=dl.relu).")
        rows = got.reshape(len(got), -1).sum(axis=1)
        if got.min() >= 0 and np.allclose(rows, 1, atol=1e-4):
            raise LabCheckError(f"{name}: the network ends with a softmax: its outputs are probabilities. The "
                                "loss (dl.cross_entropy) applies the softmax itself, so it would be applied twice: "
                                "end with dl.Dense(10), the class scores, and no activation.")
        if got.min() >= 0:
            raise LabCheckError(f"{name}: the last layer gives no negative scores: leave dl.Dense(10) without an "
                                "activation (the loss applies the softmax).")
        raise LabCheckError(f"{name}: after the last Dense ({stretch}) the network must give the scores as they "
                            "are: no activation, no further layer.")

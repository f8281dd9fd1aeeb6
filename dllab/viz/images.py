"""Figures of images: a grid with predictions, convolution filters, feature maps.

All functions return a matplotlib Figure built without pyplot.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure

from .. import backend
from ..autograd import Tensor, no_grad


def _np(a):
    """A NumPy array from a Tensor, a Parameter, a CuPy or NumPy array or a list."""
    if isinstance(a, Tensor):
        a = a.data
    return np.asarray(backend.to_numpy(a))


def _as_displayable(img):
    """One image as (H, W) or (H, W, 3) for imshow; accepts (H, W), (1, H, W), (3, H, W), (H, W, 3)."""
    img = np.asarray(img, dtype=np.float32)
    if img.ndim == 3 and img.shape[0] in (1, 3) and img.shape[-1] not in (1, 3):
        img = img.transpose(1, 2, 0)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if img.ndim == 1:
        side = math.isqrt(img.size)
        if side * side == img.size:
            img = img.reshape(side, side)
    if img.ndim not in (2, 3):
        raise ValueError(f"cannot show an image of shape {img.shape}: use (H, W), (C, H, W) or (H, W, C)")
    if img.ndim == 3:  # colour: imshow wants values in [0, 1]
        lo, hi = img.min(), img.max()
        img = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
    return img


def _grid(n, ncols):
    ncols = max(1, min(ncols, n))
    return math.ceil(n / ncols), ncols


def _name(label, class_names):
    label = int(label)
    if class_names is not None and 0 <= label < len(class_names):
        return str(class_names[label])
    return str(label)


def image_grid(images, labels=None, predictions=None, probabilities=None, ncols=8, class_names=None,
               cmap="gray", title=None, size=1.4):
    """Show images in a grid, each titled with its true and predicted label.

    images: (N, 1, H, W), (N, H, W), (N, 3, H, W) or (N, H, W, 3); (N, H*W) flattened square
        images, as logistic regression sees them; a single (H, W) image.
    labels: (N,) true labels, or None.
    predictions: (N,) predicted labels, or (N, C) scores/probabilities (the argmax is taken).
    probabilities: (N,) confidence of each prediction, or (N, C) probabilities; when
        predictions are (N, C) probabilities they are used.
    A wrong prediction is titled in red, a right one in green.
    """
    imgs = _np(images)
    if imgs.ndim == 2:
        side = math.isqrt(imgs.shape[1])
        if side >= 8 and side * side == imgs.shape[1] and imgs.shape[0] != imgs.shape[1]:
            imgs = imgs.reshape(-1, side, side)  # flattened square images, (N, 784) from lab 1
        else:
            imgs = imgs[None]  # one (H, W) image
    n = len(imgs)
    if n == 0:
        raise ValueError("image_grid: no images to show")
    labels = None if labels is None else _np(labels).reshape(-1)
    probs = None if probabilities is None else _np(probabilities)
    preds = None
    if predictions is not None:
        preds = _np(predictions)
        if preds.ndim == 2:
            if probs is None and np.all(preds >= 0) and np.allclose(preds.sum(axis=1), 1, atol=1e-3):
                probs = preds
            preds = preds.argmax(axis=1)
    if probs is not None and probs.ndim == 2:
        chosen = preds if preds is not None else probs.argmax(axis=1)
        probs = probs[np.arange(len(probs)), chosen]
    for name, arr in (("labels", labels), ("predictions", preds), ("probabilities", probs)):
        if arr is not None and len(arr) != n:
            raise ValueError(f"image_grid: {n} images but {len(arr)} {name}")

    rows, cols = _grid(n, ncols)
    fig = Figure(figsize=(size * cols, (size + 0.35 * (preds is not None)) * rows + 0.4 * bool(title)))
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).reshape(-1)
    for k, ax in enumerate(axes):
        ax.set_axis_off()
        if k >= n:
            continue
        img = _as_displayable(imgs[k])
        ax.imshow(img, cmap=cmap if img.ndim == 2 else None, interpolation="nearest")
        lines, color = [], "black"
        if preds is not None:
            text = f"pred {_name(preds[k], class_names)}"
            if probs is not None:
                text += f" ({100 * float(probs[k]):.0f}%)"
            lines.append(text)
            if labels is not None:
                color = "tab:green" if int(preds[k]) == int(labels[k]) else "tab:red"
        if labels is not None:
            lines.append(f"true {_name(labels[k], class_names)}")
        if lines:
            ax.set_title("\n".join(lines), fontsize=8, color=color)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def weight_templates(W, title="the weights of each class, as images", size=1.3):
    """The columns of a (H*W, C) weight matrix (a linear model on flattened square images) as C
    images: red pixels raise that class's score, blue ones lower it (one colour scale per image)."""
    W = _np(W)
    if W.ndim == 1:
        W = W[:, None]
    side = math.isqrt(W.shape[0])
    if W.ndim != 2 or side * side != W.shape[0]:
        raise ValueError(f"weight_templates: expected a (H*W, C) matrix of square images, got shape {W.shape}")
    k = W.shape[1]
    fig = Figure(figsize=(size * k, size + 0.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, k))
    for c, ax in enumerate(axes):
        image = W[:, c].reshape(side, side)
        lim = float(np.abs(image).max()) or 1.0
        ax.imshow(image, cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set_title(str(c), fontsize=9)
        ax.set_axis_off()
    fig.suptitle(title, fontsize=10)
    return fig


def _conv_weights(conv_layer_or_weights):
    obj = conv_layer_or_weights
    if getattr(obj, "W", None) is None and hasattr(obj, "modules"):  # a model: its first conv layer
        convs = [m for m in obj.modules() if type(m).__name__ == "Conv2D"]
        if not convs:
            raise ValueError(f"filters_plot: {type(obj).__name__} has no Conv2D layer; pass a conv layer "
                             "or weights (C_out, C_in, kH, kW)")
        obj = convs[0]
    w = getattr(obj, "W", obj)
    if w is None:
        raise ValueError("filters_plot: the layer has no weights yet; run the model on a batch first")
    w = _np(w)
    if w.ndim != 4:
        raise ValueError(f"filters_plot: expected convolution weights (C_out, C_in, kH, kW), got shape {w.shape}")
    return w


def filters_plot(conv_layer_or_weights, channel=None, ncols=10, size=0.9, cmap="gray", title=None):
    """Show the filters of a convolution layer, one small image per output channel.

    conv_layer_or_weights: a Conv2D layer (its ``W``), a model (its first Conv2D layer) or
        weights (C_out, C_in, kH, kW).
    With 3 input channels each filter is shown in colour; otherwise input channel
    ``channel`` (default 0) is shown. Each filter is scaled to its own range.
    """
    w = _conv_weights(conv_layer_or_weights)
    c_out, c_in = w.shape[:2]
    rows, cols = _grid(c_out, ncols)
    fig = Figure(figsize=(size * cols, size * rows + 0.5))
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).reshape(-1)
    colour = c_in == 3 and channel is None
    ch = 0 if channel is None else int(channel)
    if not 0 <= ch < c_in:
        raise ValueError(f"filters_plot: channel {ch} does not exist, the weights have {c_in} input channels")
    for k, ax in enumerate(axes):
        ax.set_axis_off()
        if k >= c_out:
            continue
        img = _as_displayable(w[k]) if colour else w[k, ch]
        ax.imshow(img, cmap=None if colour else cmap, interpolation="nearest")
        ax.set_title(str(k), fontsize=6)
    fig.suptitle(title or f"{c_out} filters of size {w.shape[2]}x{w.shape[3]}"
                 + ("" if colour or c_in == 1 else f" (input channel {ch})"))
    fig.tight_layout()
    return fig


def _layers_of(model):
    layers = getattr(model, "layers", None)
    if layers is None:
        raise TypeError(f"feature_maps_plot: needs a Sequential model (with .layers), got {type(model).__name__}")
    return list(layers)


def _layer_position(layers, layer):
    """A layer's index from the index itself, the layer's name ("conv1") or the layer object."""
    if isinstance(layer, (int, np.integer)) and not isinstance(layer, bool):
        return int(layer)
    for i, candidate in enumerate(layers):
        if candidate is layer or (isinstance(layer, str) and getattr(candidate, "name", None) == layer):
            return i
    names = [f"{i}: {getattr(m, 'name', None) or type(m).__name__}" for i, m in enumerate(layers)]
    raise ValueError(f"feature_maps_plot: no layer {layer!r} in the model; give an index or a name "
                     f"from {names}")


def feature_maps_plot(model, image, layer_index, max_maps=64, ncols=8, size=1.1, cmap="viridis", title=None):
    """Run ``model`` (a Sequential) on one image and show the maps made by one layer.

    image: (C, H, W), (H, W) or (1, C, H, W).  layer_index: which layer's output to
    show: its index (0 is the first layer; negative indices count from the end), its
    name (``"conv1"``) or the layer itself. The model runs
    in evaluation mode without building a graph; its mode is restored afterwards.
    """
    layers = _layers_of(model)
    layer_index = _layer_position(layers, layer_index)
    if not -len(layers) <= layer_index < len(layers):
        raise IndexError(f"feature_maps_plot: layer_index {layer_index} is out of range, the model has "
                         f"{len(layers)} layers")
    index = layer_index % len(layers)
    x = _np(image).astype(np.float32, copy=False)
    if x.ndim == 2:
        x = x[None]
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4 or x.shape[0] != 1:
        raise ValueError(f"feature_maps_plot: expected one image (C, H, W), got shape {_np(image).shape}")
    was_training = [m.training for m in model.modules()]
    model.eval()
    try:
        with no_grad():
            out = Tensor(backend.to_device(x))
            for layer in layers[: index + 1]:
                out = layer(out)
    finally:
        for m, mode in zip(model.modules(), was_training):
            m.training = mode
    maps = _np(out)
    if maps.ndim != 4:
        conv_like = [i for i, layer in enumerate(layers) if type(layer).__name__ in
                     ("Conv2D", "MaxPool2D", "AvgPool2D", "BatchNorm", "Activation")]
        raise ValueError(f"feature_maps_plot: layer {index} ({layers[index]!r}) outputs shape {maps.shape}, "
                         f"not feature maps (N, C, H, W); choose one of the layers {conv_like}")
    maps = maps[0]
    shown = min(len(maps), max_maps)
    rows, cols = _grid(shown, ncols)
    fig = Figure(figsize=(size * cols, size * rows + 0.5))
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).reshape(-1)
    for k, ax in enumerate(axes):
        ax.set_axis_off()
        if k < shown:
            ax.imshow(maps[k], cmap=cmap, interpolation="nearest")
            ax.set_title(str(k), fontsize=6)
    more = f", first {shown} of {len(maps)}" if shown < len(maps) else ""
    label = type(layers[index]).__name__ + (f" '{layers[index].name}'" if layers[index].name else "")
    fig.suptitle(title or f"layer {index}: {label}, {len(maps)} maps of "
                 f"{maps.shape[1]}x{maps.shape[2]}{more}")
    fig.tight_layout()
    return fig


__all__ = ["feature_maps_plot", "filters_plot", "image_grid", "weight_templates"]

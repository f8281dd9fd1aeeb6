"""Pick an image and a layer, see its feature maps."""

from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..autograd import Tensor, _raw, no_grad
from .common import _png


def _layers_of(model):
    return list(model.layers) if hasattr(model, "layers") else [model]


def _layer_label(i, layer, shape):
    dims = "×".join(str(d) for d in shape[1:])
    return f"{i}: {layer!r} → {dims}"


class LayerInspector:
    """Pick an image and a layer; see what that layer makes of the image (its feature maps).

        LayerInspector(model, test.x[:100], test.y[:100])

    images: (N, C, H, W) (or a Dataset). Convolution and pooling layers show one small image per
    channel; fully connected layers show their outputs as bars. The model runs in evaluation mode
    without building a graph; each image's layer outputs are computed once and kept.
    """

    def __init__(self, model, images, labels=None, max_maps=32, class_names=None):
        if labels is None and hasattr(images, "y"):
            labels = images.y
        images = getattr(images, "x", images)
        self.images = np.asarray(backend.to_numpy(_raw(images)), dtype=np.float32)
        if self.images.ndim == 3:
            self.images = self.images[:, None]
        if self.images.ndim != 4 or len(self.images) == 0:
            raise ValueError(f"LayerInspector: images must be (N, C, H, W) with N >= 1, got {self.images.shape}")
        self.labels = None if labels is None else np.asarray(backend.to_numpy(labels))
        self.model, self.max_maps, self.class_names = model, max_maps, class_names
        self.layers = _layers_of(model)
        self._cache = {}
        shapes = [out.shape for out in self.outputs(0)]
        self.layer_labels = [_layer_label(i, layer, s) for i, (layer, s) in enumerate(zip(self.layers, shapes))]
        maps = [i for i, s in enumerate(shapes) if len(s) == 4]
        self.layer = maps[0] if maps else 0
        self.index = 0
        self._widget = None

    def outputs(self, index):
        """Every layer's output (NumPy, batch of one) for image ``index``."""
        if index not in self._cache:
            modes = [m.training for m in self.model.modules()]
            self.model.eval()
            try:
                with no_grad():
                    out = Tensor(backend.to_device(self.images[index:index + 1]))
                    results = []
                    for layer in self.layers:
                        out = layer(out)
                        results.append(backend.to_numpy(out.data))
            finally:
                for m, mode in zip(self.model.modules(), modes):
                    m.training = mode
            if len(self._cache) > 64:
                self._cache.clear()
            self._cache[index] = results
        return self._cache[index]

    def figure(self, index=None, layer=None):
        """Image ``index`` and the output of ``layer`` as a matplotlib Figure."""
        from matplotlib.figure import Figure

        index = self.index if index is None else index
        layer = self.layer if layer is None else layer
        outs = self.outputs(index)
        out = outs[layer][0]
        fig = Figure(figsize=(10, 4), layout="constrained")
        left, right = fig.subfigures(1, 2, width_ratios=[1, 3])
        ax = left.subplots()
        img = self.images[index]
        ax.imshow(img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0), cmap="gray")
        ax.set_axis_off()
        title = f"image {index}"
        if self.labels is not None:
            title += f", label {self._name(self.labels[index])}"
        scores = outs[-1][0]
        if scores.ndim == 1 and scores.size > 1:
            title += f"\npredicted {self._name(int(np.argmax(scores)))}"
        ax.set_title(title, fontsize=10)
        right.suptitle(self.layer_labels[layer], fontsize=10)
        if out.ndim == 3:  # (C, H, W): one small image per channel
            shown = min(len(out), self.max_maps)
            ncols = min(8, shown)
            nrows = math.ceil(shown / ncols)
            axes = np.atleast_1d(right.subplots(nrows, ncols, squeeze=False)).ravel()
            for k, a in enumerate(axes):
                a.set_axis_off()
                if k < shown:
                    a.imshow(out[k], cmap="viridis")
                    a.set_title(str(k), fontsize=7)
            if shown < len(out):
                right.supxlabel(f"first {shown} of {len(out)} channels", fontsize=8)
        else:  # (units,): one bar per unit
            values = out.ravel()
            a = right.subplots()
            a.bar(np.arange(len(values)), values, color="C0")
            a.set(xlabel="unit", ylabel="output")
            a.grid(alpha=0.3)
        return fig

    def _name(self, label):
        label = int(label)
        if self.class_names is not None and 0 <= label < len(self.class_names):
            return str(self.class_names[label])
        return str(label)

    @property
    def widget(self):
        if self._widget is None:
            import ipywidgets as W

            self._index = W.IntSlider(value=self.index, min=0, max=len(self.images) - 1, description="image",
                                      continuous_update=False)
            self._layer = W.Dropdown(options=[(label, i) for i, label in enumerate(self.layer_labels)],
                                     value=self.layer, description="layer", layout=W.Layout(width="480px"))
            self._image = W.Image(format="png")
            self._index.observe(self._on_change, names="value")
            self._layer.observe(self._on_change, names="value")
            self._widget = W.VBox([W.HBox([self._index, self._layer]), self._image])
            self._widget.add_class("dllab-inspector")
            self._on_change(None)
        return self._widget

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def _on_change(self, change):
        self.index, self.layer = self._index.value, self._layer.value
        self._image.value = _png(self.figure())

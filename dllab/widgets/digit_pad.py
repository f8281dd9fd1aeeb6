"""Draw a digit with the mouse; the model classifies it after every stroke.

The browser side is an anywidget view whose JavaScript and CSS are the files digit_pad.js and
digit_pad.css beside this module (shipped with the package, so it works offline)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np

from .. import backend
from ..autograd import Tensor, _raw, no_grad
from ..functional.activations import softmax_array

HERE = Path(__file__).resolve().parent


PAD_GRID = 28  # the pad's coordinates run from 0 to 28, like the pixels of an MNIST image
MNIST_BOX = 20  # MNIST digits were scaled to fit a 20x20 box ...
MNIST_CENTER = 14.0  # ... then moved so their centre of mass sits here (row, column of pixel indices)


def _segments_distance(points, rows, cols):
    """Distance from each pixel centre (rows, cols) to the nearest segment of the polyline ``points``."""
    p = np.asarray(points, dtype=np.float64)
    if len(p) == 1:
        p = np.vstack([p, p])
    a, b = p[:-1], p[1:]  # segments from a to b, points as (x, y)
    px = cols.reshape(-1, 1)
    py = rows.reshape(-1, 1)
    dx, dy = (b - a)[:, 0], (b - a)[:, 1]
    length2 = np.maximum(dx * dx + dy * dy, 1e-12)
    t = np.clip(((px - a[:, 0]) * dx + (py - a[:, 1]) * dy) / length2, 0.0, 1.0)
    ex, ey = px - (a[:, 0] + t * dx), py - (a[:, 1] + t * dy)
    return np.sqrt(ex * ex + ey * ey).min(axis=1)


def _render(strokes, width, size=28):
    """Anti-aliased strokes of ``width`` pixels on a size x size image (pixel centres at integers)."""
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float64)
    dist = np.full(size * size, np.inf)
    for stroke in strokes:
        dist = np.minimum(dist, _segments_distance(stroke, rows.ravel(), cols.ravel()))
    # full ink inside the stroke's core, fading to none over about a pixel and a half at its edge
    ink = np.clip((width / 2 + 0.75 - dist) / 1.5, 0.0, 1.0)
    return ink.reshape(size, size).astype(np.float32)


def _center_of_mass(image):
    total = image.sum()
    rows, cols = np.indices(image.shape)
    return float((rows * image).sum() / total), float((cols * image).sum() / total)


def strokes_to_mnist(strokes, width=2.8):
    """Turn pen strokes into an image like MNIST's: (28, 28) float32 in [0, 1], white ink on black.

    strokes: a list of strokes, each a sequence of (x, y) points (x to the right, y down, any
    scale). As for MNIST, the drawing is scaled (keeping its aspect ratio) so that the digit with
    its ink fits a 20x20 box, then moved so that its centre of mass is at the image's centre. The
    strokes are drawn after scaling, so the ink is as thick as MNIST's however big the drawing was.
    """
    strokes = [np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in strokes if len(s)]
    if not strokes:
        return np.zeros((28, 28), np.float32)
    pts = np.vstack(strokes)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    extent = float((hi - lo).max())
    scale = (MNIST_BOX - width) / extent if extent > 0 else 1.0
    middle = (lo + hi) / 2
    placed = [(s - middle) * scale + MNIST_CENTER for s in strokes]
    image = _render(placed, width)
    row, col = _center_of_mass(image)
    shift = np.array([MNIST_CENTER - col, MNIST_CENTER - row])  # (x, y)
    # a lopsided digit (a 7 with a heavy bar) may not be pushed off the image
    lo, hi = np.vstack(placed).min(axis=0), np.vstack(placed).max(axis=0)
    shift = np.clip(shift, width / 2 - lo, 27 - width / 2 - hi)  # only the soft edge may be cut off
    return _render([s + shift for s in placed], width)


def _as_probabilities(scores):
    scores = np.asarray(backend.to_numpy(_raw(scores)), dtype=np.float64).reshape(-1)
    if np.all(scores >= 0) and abs(scores.sum() - 1.0) < 1e-3:
        return scores / scores.sum()  # already probabilities
    return softmax_array(scores)  # scores (logits) from the last layer


@cache
def _pad_view_class():
    """The browser side of the pad, an anywidget (imported only when a pad is shown)."""
    try:
        import anywidget
        import traitlets
    except ImportError as exc:
        raise ImportError(
            f"DigitPad needs the anywidget package ({exc}); install it with  pip install anywidget"
        ) from exc

    class DigitPadView(anywidget.AnyWidget):
        _esm = (HERE / "digit_pad.js").read_text(encoding="utf-8")
        _css = (HERE / "digit_pad.css").read_text(encoding="utf-8")
        strokes = traitlets.List([]).tag(sync=True)  # from the browser: finished strokes, pad units
        probabilities = traitlets.List([]).tag(sync=True)  # to the browser: one per class
        labels = traitlets.List([]).tag(sync=True)
        preview = traitlets.List([]).tag(sync=True)  # 784 values: the image the model gets
        brush = traitlets.Float(1.8).tag(sync=True)
        message = traitlets.Unicode("").tag(sync=True)

    return DigitPadView


class DigitPad:
    """Draw a digit with the mouse; the model classifies it after every stroke.

        pad = DigitPad(model)                      # or DigitPad(predict_fn=lambda x: trainer.predict(x))
        pad                                        # last value of a cell: shows the pad

    The drawing (white on black, like MNIST) is scaled into a 20x20 box and centred by its
    centre of mass in a 28x28 image (see :func:`strokes_to_mnist`), shown next to the pad as
    "the model sees", and classified; the bars are the class probabilities (a softmax of the
    model's outputs). ``invert=True`` gives the model dark ink on white instead, for a model
    trained on inverted digits.

    Without a browser, :meth:`add_stroke` does what a mouse stroke does.
    """

    def __init__(self, model=None, predict_fn=None, class_names=None, invert=False, width=2.8):
        if (model is None) == (predict_fn is None):
            raise ValueError("DigitPad: give a model (DigitPad(model)) or a predict_fn, not both and not neither")
        self.model, self.predict_fn = model, predict_fn
        self.class_names = [str(c) for c in (class_names if class_names is not None else range(10))]
        self.invert, self.width = invert, width
        self.strokes = []
        self.image = np.zeros((28, 28), np.float32)
        self.probabilities = None
        self.error = None
        self._view = None

    # --- what a stroke does ----------------------------------------------------------------------
    def add_stroke(self, points):
        """Add a stroke (a sequence of (x, y) points, pad units 0..28, y down); returns the probabilities."""
        pts = [tuple(map(float, p)) for p in points]
        if not pts:
            raise ValueError("add_stroke: a stroke needs at least one (x, y) point")
        self.set_strokes([*self.strokes, pts])
        return self.probabilities

    def set_strokes(self, strokes):
        """Replace all strokes and classify again (what the browser sends after each stroke)."""
        self.strokes = [[tuple(map(float, p)) for p in s] for s in strokes if len(s)]
        self._classify()
        self._sync()

    def clear(self):
        self.set_strokes([])

    @property
    def prediction(self):
        """The most likely class name, or None while the pad is empty."""
        return None if self.probabilities is None else self.class_names[int(np.argmax(self.probabilities))]

    def _classify(self):
        self.error = None
        if not self.strokes:
            self.image = np.zeros((28, 28), np.float32)
            self.probabilities = None
            return
        self.image = strokes_to_mnist(self.strokes, self.width)
        x = self.image[None, None]  # (1, 1, 28, 28), like one MNIST image
        if self.invert:
            x = 1.0 - x
        try:
            scores = self._scores(x.astype(np.float32))
            probs = _as_probabilities(scores)
            if len(probs) != len(self.class_names):
                raise ValueError(f"the model gave {len(probs)} outputs for {len(self.class_names)} classes")
            self.probabilities = probs
        except Exception as exc:  # shown in the widget: a pad that goes blank explains nothing
            self.probabilities = None
            self.error = f"{type(exc).__name__}: {exc}"
            if self._view is None:
                raise

    def _scores(self, x):
        if self.predict_fn is not None:
            return self.predict_fn(x)
        model = self.model
        modes = [m.training for m in model.modules()]
        model.eval()
        try:
            with no_grad():
                return model(Tensor(backend.to_device(x))).data
        finally:
            for m, mode in zip(model.modules(), modes):
                m.training = mode

    # --- the widget ------------------------------------------------------------------------------
    @property
    def widget(self):
        """The anywidget view (built on first use; needs the anywidget package)."""
        if self._view is None:
            view = _pad_view_class()(labels=self.class_names, brush=1.8)
            view.observe(self._on_view_strokes, names="strokes")
            self._view = view
            self._sync()
        return self._view

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def _on_view_strokes(self, change):
        strokes = change["new"]
        if [list(map(tuple, s)) for s in strokes] != self.strokes:
            self.set_strokes(strokes)

    def _sync(self):
        view = self._view
        if view is None:
            return
        with view.hold_sync():
            wanted = [[list(p) for p in s] for s in self.strokes]
            if view.strokes != wanted:
                view.strokes = wanted
            view.preview = [round(float(v), 3) for v in self.image.ravel()] if self.strokes else []
            view.probabilities = [] if self.probabilities is None else [float(p) for p in self.probabilities]
            view.message = self.error or ""

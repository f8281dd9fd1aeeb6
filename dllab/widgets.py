"""Live widgets for the labs: a training dashboard, an optimizer explorer, a digit pad, a layer inspector.

    from dllab.widgets import TrainingDashboard, LossSurfaceExplorer, DigitPad, LayerInspector
    trainer.fit(train, epochs=5, validation=test, callbacks=[TrainingDashboard()])
    LossSurfaceExplorer()                      # sliders: learning rate, momentum, steps, start point
    DigitPad(model)                            # draw a digit with the mouse, see the class probabilities
    LayerInspector(model, test.x[:50])         # pick an image and a layer, see its feature maps

Each one is an ipywidgets widget in Jupyter (it shows itself when it is the last value of a
cell). Outside Jupyter (:func:`in_notebook` is False) nothing is drawn: the dashboard only
records values, since the Trainer already prints a line per epoch, and ``figure()`` still
gives the current picture as a matplotlib Figure.

Figures are rendered to PNG and put in an ``ipywidgets.Image``: the picture is replaced in
place (no flicker, no growing output) and needs no matplotlib backend in the kernel.

The digit pad is the one widget that needs the browser's mouse: it is an ``anywidget`` view
(a small JavaScript module kept in this file, shipped with the Python package, so it works
offline). It sends each finished stroke to Python, which turns the strokes into an
MNIST-like 28x28 image and classifies it.
"""

from __future__ import annotations

import io
import math
import time
from functools import cache

import numpy as np

from . import backend
from .autograd import Parameter, Tensor, _raw, no_grad
from .functional.activations import softmax_array
from .notebook import in_notebook
from .train import Callback

__all__ = [
    "SURFACES",
    "DigitPad",
    "LayerInspector",
    "LossSurfaceExplorer",
    "TrainingDashboard",
    "in_notebook",
    "optimizer_path",
    "strokes_to_mnist",
]


def _png(fig, dpi=80) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def _show(widget):
    from IPython.display import display

    display(widget)


def _clock(seconds) -> str:
    """Seconds as m:ss or h:mm:ss."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    seconds = round(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


# --- live training dashboard ------------------------------------------------------------------


class TrainingDashboard(Callback):
    """A Trainer callback that shows training live: curves, epoch/step, samples/s and time left.

        trainer.fit(train, epochs=5, validation=test, callbacks=[TrainingDashboard()])

    Top: a status line (epoch, step, loss, samples/s, ETA; refreshed at most every
    ``status_every`` seconds) and a progress bar. Below: the loss of every step with the
    per-epoch training and validation loss, and ``metric`` per epoch (training dashed,
    validation solid), redrawn after every epoch and every ``plot_every`` seconds.
    Outside Jupyter it only records; ``status_text()`` and ``figure()`` give what it would show.
    """

    @property
    def shows_progress(self):
        """In a notebook the dashboard replaces the Trainer's bar and epoch lines; elsewhere the
        Trainer's text progress is the fallback."""
        return in_notebook()

    def __init__(self, title=None, metric="accuracy", status_every=0.25, plot_every=3.0):
        self.title, self.metric = title, metric
        self.status_every, self.plot_every = status_every, plot_every
        self._widget = None
        self._shown = False
        self._reset()

    def _reset(self):
        self.steps = []  # (x in epochs, loss) for every step
        self.epochs = []  # (epoch number from 1, logs) for every finished epoch
        self.epoch = 0  # current epoch, from 1
        self.step = 0  # steps done in the current epoch
        self.planned_epochs = None
        self.steps_per_epoch = None
        self.samples_per_s = None
        self.loss = None
        self.eta = None
        self.done = False
        self.stop_reason = None
        self._start_epoch = 0
        self._t_begin = None
        self._last_status = self._last_plot = 0.0

    # --- the widget ------------------------------------------------------------------------
    @property
    def widget(self):
        """The ipywidgets VBox (built on first use)."""
        if self._widget is None:
            import ipywidgets as W

            self._status = W.HTML(value=self._status_html(), layout=W.Layout(width="100%"))
            self._bar = W.IntProgress(value=0, min=0, max=1, bar_style="info",
                                      layout=W.Layout(width="100%"))
            self._image = W.Image(format="png", layout=W.Layout(width="auto", max_width="100%"))
            self._widget = W.VBox([self._status, self._bar, self._image],
                                  layout=W.Layout(align_items="flex-start"))
            self._widget.add_class("dllab-dashboard")
        return self._widget

    def _repr_mimebundle_(self, **kwargs):
        self._shown = True
        return self.widget._repr_mimebundle_(**kwargs)

    # --- Trainer hooks ---------------------------------------------------------------------
    def on_train_begin(self, trainer):
        self._reset()  # a second fit() starts new curves (in the same place if already shown)
        self._start_epoch = trainer.epoch
        self._t_begin = self._last_plot = time.perf_counter()
        if self._shown:
            self._bar.bar_style = "info"

    def on_epoch_begin(self, trainer, epoch):
        # the sizes of the fit() now running, as the Trainer records them (None if not known)
        epochs, steps = getattr(trainer, "fit_epochs", None), getattr(trainer, "steps_per_epoch", None)
        self.planned_epochs = self.planned_epochs or epochs
        self.steps_per_epoch = steps or self.steps_per_epoch
        self.epoch = epoch - self._start_epoch + 1
        self.step = 0
        if in_notebook():
            import matplotlib.figure  # noqa: F401 - imported here, before the epoch's clock starts

            if not self._shown:
                _show(self.widget)
                self._shown = True
            self._update_status(force=True)

    def on_step_end(self, trainer, epoch, step, logs):
        self.step = step + 1
        self.loss = float(logs["loss"])
        self.samples_per_s = float(logs.get("samples_per_s", float("nan")))
        per_epoch = self.steps_per_epoch or max(self.step, 1)
        self.steps.append((self.epoch - 1 + self.step / per_epoch, self.loss))
        self.eta = self._eta()
        if self._shown:
            now = time.perf_counter()
            self._update_status(force=self.step == self.steps_per_epoch)
            if now - self._last_plot > self.plot_every:
                self._redraw()

    def on_epoch_end(self, trainer, epoch, logs):
        if self.steps_per_epoch is None:
            self.steps_per_epoch = self.step  # learned from the first epoch
        self.epochs.append((self.epoch, {k: float(v) for k, v in logs.items()
                                         if isinstance(v, (int, float, np.floating))}))
        self.samples_per_s = float(logs.get("samples_per_s", self.samples_per_s or float("nan")))
        self.eta = self._eta()
        if self._shown:
            self._update_status(force=True)
            self._redraw()

    def on_train_end(self, trainer, history):
        self.done = True
        self.stop_reason = history.stop_reason
        self.eta = 0.0
        if self._shown:
            self._update_status(force=True)
            self._bar.bar_style = "warning" if history.stop_reason else "success"
            self._redraw()

    # --- what it shows ----------------------------------------------------------------------
    def total_steps(self):
        if self.planned_epochs and self.steps_per_epoch:
            return self.planned_epochs * self.steps_per_epoch
        return None

    def steps_done(self):
        return (self.epoch - 1) * (self.steps_per_epoch or self.step) + self.step

    def _eta(self):
        total, done = self.total_steps(), self.steps_done()
        if total is None or done <= 0 or self._t_begin is None:
            return None
        elapsed = time.perf_counter() - self._t_begin
        return max(total - done, 0) * elapsed / done

    def status_text(self) -> str:
        """One line: epoch, step, loss, samples/s and the estimated time left."""
        if self.epoch == 0:
            return "waiting for training to start"
        parts = [f"epoch {self.epoch}/{self.planned_epochs or '?'}",
                 f"step {self.step}/{self.steps_per_epoch or '?'}"]
        if self.loss is not None:
            parts.append(f"loss {self.loss:.4f}")
        if self.epochs and f"val_{self.metric}" in self.epochs[-1][1]:
            parts.append(f"val {self.metric} {self.epochs[-1][1][f'val_{self.metric}']:.2%}")
        if self.samples_per_s is not None and math.isfinite(self.samples_per_s):
            parts.append(f"{self.samples_per_s:,.0f} samples/s")
        if self.done:
            elapsed = time.perf_counter() - self._t_begin if self._t_begin else None
            parts.append(f"done in {_clock(elapsed)}" + (f" ({self.stop_reason})" if self.stop_reason else ""))
        else:
            parts.append(f"ETA {_clock(self.eta)}")
        return " · ".join(parts)

    def _status_html(self):
        title = f"<b>{self.title}</b>  " if self.title else ""
        return f"<span style='font-variant-numeric: tabular-nums'>{title}{self.status_text()}</span>"

    def _update_status(self, force=False):
        now = time.perf_counter()
        if not force and now - self._last_status < self.status_every:
            return
        self._last_status = now
        self._status.value = self._status_html()
        total = self.total_steps() or max(self.steps_done(), 1)
        self._bar.max = max(total, 1)
        self._bar.value = min(self.steps_done(), self._bar.max)

    def _redraw(self):
        self._last_plot = time.perf_counter()
        self._image.value = _png(self.figure())

    def figure(self):
        """The curves so far as a matplotlib Figure."""
        from matplotlib.figure import Figure

        fig = Figure(figsize=(9, 3.2), layout="constrained")
        ax_loss, ax_metric = fig.subplots(1, 2)
        if self.steps:
            x, y = np.array(self.steps).T
            ax_loss.plot(x, y, color="C0", alpha=0.25, lw=0.8, label="training loss (each step)")
        for key, style, color, name in (("loss", "--o", "C0", "training"), ("val_loss", "-o", "C1", "validation")):
            pts = [(e, logs[key]) for e, logs in self.epochs if key in logs]
            if pts:
                ax_loss.plot(*zip(*pts), style, color=color, ms=4, label=f"{name} (epoch mean)")
        for key, style, color, name in ((self.metric, "--o", "C0", "training"),
                                        (f"val_{self.metric}", "-o", "C1", "validation")):
            pts = [(e, logs[key]) for e, logs in self.epochs if key in logs]
            if pts:
                ax_metric.plot(*zip(*pts), style, color=color, ms=4, label=name)
        last = max(self.planned_epochs or 1, self.epoch, 1)
        ax_loss.set(xlabel="epoch", ylabel="loss", title="loss", xlim=(0, last))
        ax_metric.set(xlabel="epoch", ylabel=self.metric, title=f"{self.metric} per epoch", xlim=(0, last + 0.2))
        for ax in (ax_loss, ax_metric):
            ax.grid(alpha=0.3)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=8)
        if self.title:
            fig.suptitle(self.title)
        return fig


# --- the skier in the fog: optimizers on a 2-D loss surface ---------------------------------------


class Surface:
    """A loss over two parameters (x, y): ``fn(x, y)`` with Tensor arithmetic, a view box, a start
    point and a learning rate and number of steps that show it well."""

    def __init__(self, name, fn, xlim, ylim, start, about, lr=0.1, steps=60):
        self.name, self.fn, self.xlim, self.ylim, self.start, self.about = name, fn, xlim, ylim, start, about
        self.lr, self.steps = lr, steps

    def __call__(self, x, y):
        return self.fn(x, y)

    def grid(self, n=120):
        """(X, Y, Z) on an n x n grid over the view box, for a contour plot."""
        X, Y = np.meshgrid(np.linspace(*self.xlim, n), np.linspace(*self.ylim, n))
        with no_grad():
            Z = self.fn(Tensor(X), Tensor(Y)).data
        return X, Y, backend.to_numpy(Z)

    def __repr__(self):
        return f"Surface({self.name!r})"


def _valley(x, y):
    u, v = (x + y) * 0.7071, (x - y) * 0.7071  # rotated 45 degrees: the valley runs diagonally
    return u * u * 0.01 + v * v


def _banana(x, y):
    return (1 - x) ** 2 + ((y - x * x) ** 2) * 10


def _two_wells(x, y):
    bowl = (x * x + y * y) * 0.08
    deep = (-(((x - 1.5) ** 2 + (y - 1.0) ** 2) * 0.8)).exp() * 2.0
    shallow = (-(((x + 1.0) ** 2 + (y + 1.2) ** 2) * 1.5)).exp() * 1.2
    return bowl - deep - shallow + 3.0


SURFACES = {
    "valley": Surface("valley", _valley, (-4, 4), (-4, 4), (-3.0, -1.5),
                      "a long, narrow valley: plain SGD zigzags across it, momentum runs along it", lr=0.8),
    "banana": Surface("banana", _banana, (-2, 2), (-1, 3), (-1.5, 2.5),
                      "Rosenbrock's curved valley; the minimum is at (1, 1)", lr=0.01, steps=150),
    "two wells": Surface("two wells", _two_wells, (-3.5, 3.5), (-3.5, 3.5), (-2.5, -3.0),
                         "a shallow well and a deeper one: will the skier get stuck in the first?"),
}

OPTIMIZER_NAMES = ("SGD", "momentum", "Adam")


def _make_optimizer(name, params, lr, momentum):
    from . import optim

    if name == "SGD":
        return optim.SGD(params, lr=lr)
    if name == "momentum":
        return optim.SGD(params, lr=lr, momentum=momentum)
    if name == "Adam":
        return optim.Adam(params, lr=lr)
    raise ValueError(f"unknown optimizer {name!r}: use one of {', '.join(OPTIMIZER_NAMES)}")


def optimizer_path(surface="valley", optimizer="SGD", lr=0.1, momentum=0.9, steps=50, start=None,
                   noise=0.0, seed=0):
    """Run a dllab optimizer on a 2-parameter Parameter over ``surface``; returns ((k, 2) path, (k,) losses).

    The skier sees only the slope under her feet (the gradient); ``noise`` adds Gaussian noise of
    that size to each gradient, like the noise of a minibatch. The path stops early if it leaves
    the surface far behind (the learning rate is too high).
    """
    surface = SURFACES[surface] if isinstance(surface, str) else surface
    start = surface.start if start is None else start
    w = Parameter(np.array(start, dtype=np.float64))
    opt = _make_optimizer(optimizer, [w], lr, momentum)
    rng = np.random.default_rng(seed)
    path, losses = [], []
    limit = 100 * max(abs(v) for v in (*surface.xlim, *surface.ylim))
    for _ in range(steps + 1):
        loss = surface(w[0], w[1])
        path.append(backend.to_numpy(w.data).copy())
        losses.append(float(loss.data))
        if len(path) == steps + 1 or not np.all(np.isfinite(path[-1])) or np.abs(path[-1]).max() > limit:
            break
        loss.backward()
        if noise:
            w.grad = w.grad + rng.normal(0.0, noise, size=2)
        opt.step()
        opt.zero_grad()
    return np.array(path), np.array(losses)


class LossSurfaceExplorer:
    """SGD, momentum and Adam walking down a 2-D loss surface, with sliders.

    The surface is drawn as contours (the map the skier in the fog does not have); each
    optimizer's path starts at the same point. Change the learning rate, momentum, number of
    steps, start point, gradient noise and surface, and the paths are recomputed with
    ``dllab.optim`` on a 2-parameter :class:`~dllab.Parameter`.
    """

    def __init__(self, surface="valley", lr=None, momentum=0.9, steps=None, noise=0.0,
                 optimizers=OPTIMIZER_NAMES, start=None):
        self.surface = SURFACES[surface] if isinstance(surface, str) else surface
        self.lr = self.surface.lr if lr is None else lr
        self.steps = self.surface.steps if steps is None else steps
        self.momentum, self.noise = momentum, noise
        self.optimizers = tuple(optimizers)
        self.start = tuple(start) if start is not None else self.surface.start
        self._widget = None
        self._grid = None

    def paths(self) -> dict:
        """Optimizer name -> (path, losses) for the current settings."""
        return {name: optimizer_path(self.surface, name, self.lr, self.momentum, self.steps, self.start,
                                     self.noise)
                for name in self.optimizers}

    def figure(self, paths=None):
        from matplotlib.figure import Figure

        paths = self.paths() if paths is None else paths
        if self._grid is None or self._grid[0] is not self.surface:
            self._grid = (self.surface, self.surface.grid())
        X, Y, Z = self._grid[1]
        fig = Figure(figsize=(10, 4.2), layout="constrained")
        ax, ax_loss = fig.subplots(1, 2, width_ratios=[1.2, 1])
        levels = np.unique(np.quantile(Z, np.linspace(0, 1, 16)))  # equal areas between lines
        ax.contourf(X, Y, Z, levels=levels, cmap="Blues_r", alpha=0.85)
        ax.contour(X, Y, Z, levels=levels, colors="white", linewidths=0.5, alpha=0.7)
        for i, (name, (path, losses)) in enumerate(paths.items()):
            color = f"C{i + 1}"
            ax.plot(path[:, 0], path[:, 1], "-o", color=color, ms=2.5, lw=1.4, label=name)
            ax_loss.plot(np.arange(len(losses)), losses, color=color, label=f"{name}: {losses[-1]:.3g}")
        ax.plot(*self.start, "k*", ms=12, label="start")
        ax.set(xlim=self.surface.xlim, ylim=self.surface.ylim, xlabel="w1", ylabel="w2",
               title=f"{self.surface.name}: paths on the loss surface")
        ax.legend(fontsize=8, loc="upper right")
        ax_loss.set(xlabel="step", ylabel="loss", title="loss along each path (log scale)", yscale="log")
        ax_loss.grid(alpha=0.3)
        ax_loss.legend(fontsize=8)
        return fig

    @property
    def widget(self):
        if self._widget is None:
            self._widget = self._build()
        return self._widget

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def _build(self):
        import ipywidgets as W

        style = {"description_width": "110px"}
        slider = {"continuous_update": False, "style": style, "layout": W.Layout(width="330px")}
        self._controls = {
            "surface": W.Dropdown(options=list(SURFACES), value=self.surface.name, description="surface",
                                  style=style),
            "lr": W.FloatLogSlider(value=self.lr, base=10, min=-3, max=0.3, step=0.05,
                                   description="learning rate", readout_format=".3g", **slider),
            "momentum": W.FloatSlider(value=self.momentum, min=0.0, max=0.99, step=0.01,
                                      description="momentum", **slider),
            "steps": W.IntSlider(value=self.steps, min=1, max=300, description="steps", **slider),
            "noise": W.FloatSlider(value=self.noise, min=0.0, max=3.0, step=0.1,
                                   description="gradient noise", **slider),
            "x0": W.FloatSlider(value=self.start[0], min=self.surface.xlim[0], max=self.surface.xlim[1],
                                step=0.1, description="start w1", **slider),
            "y0": W.FloatSlider(value=self.start[1], min=self.surface.ylim[0], max=self.surface.ylim[1],
                                step=0.1, description="start w2", **slider),
        }
        self._checks = {name: W.Checkbox(value=name in self.optimizers, description=name, indent=False,
                                         layout=W.Layout(width="100px"))
                        for name in OPTIMIZER_NAMES}
        self._about = W.HTML()
        self._image = W.Image(format="png")
        for control in (*self._controls.values(), *self._checks.values()):
            control.observe(self._on_change, names="value")
        panel = W.VBox([*self._controls.values(), W.HBox(list(self._checks.values())), self._about],
                       layout=W.Layout(min_width="340px", flex="0 0 auto"))
        self._image.layout = W.Layout(flex="1 1 auto", min_width="0", max_width="800px")
        box = W.HBox([panel, self._image])
        box.add_class("dllab-explorer")
        self._refresh()
        return box

    def _on_change(self, change):
        c = self._controls
        if change["owner"] is c["surface"]:
            self.surface = SURFACES[c["surface"].value]
            for key, lim, start in (("x0", self.surface.xlim, self.surface.start[0]),
                                    ("y0", self.surface.ylim, self.surface.start[1])):
                c[key].unobserve(self._on_change, names="value")
                c[key].min, c[key].max = -1e9, 1e9  # widen first so the new limits are always valid
                c[key].min, c[key].max, c[key].value = lim[0], lim[1], start
                c[key].observe(self._on_change, names="value")
            for key in ("lr", "steps"):  # each surface comes with settings that show it well
                c[key].unobserve(self._on_change, names="value")
                c[key].value = getattr(self.surface, key)
                c[key].observe(self._on_change, names="value")
        self.lr, self.momentum = c["lr"].value, c["momentum"].value
        self.steps, self.noise = c["steps"].value, c["noise"].value
        self.start = (c["x0"].value, c["y0"].value)
        self.optimizers = tuple(name for name, box in self._checks.items() if box.value)
        self._refresh()

    def _refresh(self):
        paths = self.paths()
        self._image.value = _png(self.figure(paths))
        finals = ", ".join(f"{name} {losses[-1]:.3g}" + (" (left the map: lower the learning rate)"
                                                         if len(losses) < self.steps + 1 else "")
                           for name, (_, losses) in paths.items())
        self._about.value = (f"<div style='width:330px'><i>{self.surface.about}</i><br>"
                             f"final loss: {finals or 'pick an optimizer'}</div>")


# --- draw a digit ------------------------------------------------------------------------------------

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


_PAD_ESM = r"""
const GRID = 28, SIZE = 280, SCALE = SIZE / GRID;

function el_(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function render({ model, el }) {
  el.classList.add("dllab-digitpad");
  const left = el_("div", "dllab-pad-left"), middle = el_("div", "dllab-pad-middle");
  const right = el_("div", "dllab-pad-right");
  el.append(left, middle, right);

  // the drawing area: what the pen draws, redrawn from the strokes the model holds
  const canvas = el_("canvas", "dllab-pad-canvas");
  canvas.width = canvas.height = SIZE;
  const ctx = canvas.getContext("2d");
  const buttons = el_("div", "dllab-pad-buttons");
  const clear = el_("button", "dllab-pad-clear jupyter-button", "Clear");
  const hint = el_("span", "dllab-pad-hint", "draw a digit with the mouse");
  buttons.append(clear, hint);
  left.append(canvas, buttons);

  // what the model sees: the 28x28 image after MNIST-like scaling and centring
  middle.append(el_("div", "dllab-pad-title", "the model sees"));
  const seen = el_("canvas", "dllab-pad-seen");
  seen.width = seen.height = GRID;
  middle.append(seen);

  const bars = el_("div", "dllab-pad-bars");
  right.append(el_("div", "dllab-pad-title", "class probabilities"), bars);
  const message = el_("div", "dllab-pad-message");
  right.append(message);

  let current = null;  // the stroke being drawn, in pad coordinates (0..28)

  function stroke(points) {
    if (!points.length) return;
    ctx.beginPath();
    ctx.moveTo(points[0][0] * SCALE, points[0][1] * SCALE);
    for (const [x, y] of points) ctx.lineTo(x * SCALE, y * SCALE);
    if (points.length === 1) ctx.lineTo(points[0][0] * SCALE + 0.1, points[0][1] * SCALE);
    ctx.stroke();
  }

  function redraw() {
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, SIZE, SIZE);
    ctx.strokeStyle = "rgba(255,255,255,0.08)";
    ctx.lineWidth = 1;
    for (let i = 1; i < GRID; i++) {
      ctx.beginPath(); ctx.moveTo(i * SCALE, 0); ctx.lineTo(i * SCALE, SIZE); ctx.stroke();
      ctx.beginPath(); ctx.moveTo(0, i * SCALE); ctx.lineTo(SIZE, i * SCALE); ctx.stroke();
    }
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = model.get("brush") * SCALE;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    for (const s of model.get("strokes")) stroke(s);
    if (current) stroke(current);
  }

  function drawSeen() {
    const pixels = model.get("preview");
    const img = seen.getContext("2d").createImageData(GRID, GRID);
    for (let i = 0; i < GRID * GRID; i++) {
      const v = Math.round(255 * (pixels.length ? pixels[i] : 0));
      img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = v;
      img.data[4 * i + 3] = 255;
    }
    seen.getContext("2d").putImageData(img, 0, 0);
  }

  function drawBars() {
    const probs = model.get("probabilities"), labels = model.get("labels");
    bars.replaceChildren();
    const best = probs.length ? probs.indexOf(Math.max(...probs)) : -1;
    labels.forEach((label, k) => {
      const p = probs.length ? probs[k] : 0;
      const row = el_("div", "dllab-prob" + (k === best ? " dllab-prob-best" : ""));
      const bar = el_("div", "dllab-prob-bar");
      bar.style.width = (100 * p).toFixed(1) + "%";
      const track = el_("div", "dllab-prob-track");
      track.append(bar);
      row.append(el_("span", "dllab-prob-label", label), track,
                 el_("span", "dllab-prob-value", probs.length ? (100 * p).toFixed(1) + " %" : ""));
      bars.append(row);
    });
    hint.textContent = best >= 0 ? "prediction: " + labels[best] : "draw a digit with the mouse";
  }

  function pos(ev) {
    const r = canvas.getBoundingClientRect();
    const x = (ev.clientX - r.left) * GRID / r.width, y = (ev.clientY - r.top) * GRID / r.height;
    return [Math.round(x * 100) / 100, Math.round(y * 100) / 100];
  }
  function down(ev) {
    ev.preventDefault();
    canvas.setPointerCapture(ev.pointerId);
    current = [pos(ev)];
    redraw();
  }
  function move(ev) {
    if (!current) return;
    current.push(pos(ev));
    redraw();
  }
  function up() {
    if (!current) return;
    const done = current;
    current = null;
    model.set("strokes", [...model.get("strokes"), done]);
    model.save_changes();
  }
  canvas.addEventListener("pointerdown", down);
  canvas.addEventListener("pointermove", move);
  canvas.addEventListener("pointerup", up);
  canvas.addEventListener("pointercancel", up);
  clear.addEventListener("click", () => {
    current = null;
    model.set("strokes", []);
    model.save_changes();
    redraw();
  });

  const onStrokes = () => redraw();
  const onProbs = () => drawBars();
  const onPreview = () => drawSeen();
  const onMessage = () => { message.textContent = model.get("message"); };
  model.on("change:strokes", onStrokes);
  model.on("change:probabilities", onProbs);
  model.on("change:preview", onPreview);
  model.on("change:message", onMessage);
  redraw(); drawBars(); drawSeen(); onMessage();
  return () => {
    model.off("change:strokes", onStrokes);
    model.off("change:probabilities", onProbs);
    model.off("change:preview", onPreview);
    model.off("change:message", onMessage);
  };
}

export default { render };
"""

_PAD_CSS = """
.dllab-digitpad { display: flex; gap: 18px; align-items: flex-start; font-size: 13px; padding: 4px; }
.dllab-pad-canvas { width: 280px; height: 280px; cursor: crosshair; touch-action: none;
                    border: 1px solid var(--jp-border-color1, #999); }
.dllab-pad-buttons { display: flex; gap: 10px; align-items: center; margin-top: 6px; }
.dllab-pad-seen { width: 112px; height: 112px; image-rendering: pixelated;
                  border: 1px solid var(--jp-border-color1, #999); }
.dllab-pad-title { font-weight: bold; margin-bottom: 4px; }
.dllab-pad-bars { width: 260px; }
.dllab-prob { display: flex; align-items: center; gap: 6px; height: 22px; }
.dllab-prob-label { width: 24px; text-align: right; font-family: var(--jp-code-font-family, monospace); }
.dllab-prob-track { flex: 1; height: 14px; background: var(--jp-layout-color2, #eee); }
.dllab-prob-bar { height: 100%; background: var(--jp-brand-color2, #90caf9); }
.dllab-prob-best .dllab-prob-bar { background: var(--jp-brand-color0, #1565c0); }
.dllab-prob-best .dllab-prob-label { font-weight: bold; }
.dllab-prob-value { width: 56px; text-align: right; font-family: var(--jp-code-font-family, monospace); }
.dllab-pad-message { color: var(--jp-error-color1, #c62828); margin-top: 6px; max-width: 260px; }
"""


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
        _esm = _PAD_ESM
        _css = _PAD_CSS
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


# --- layer inspector ------------------------------------------------------------------------------


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

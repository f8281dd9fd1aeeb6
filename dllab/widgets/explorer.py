"""The skier in the fog: optimizers on a 2-D loss surface, with sliders."""

from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import Parameter, Tensor, no_grad
from .common import _png


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
    from .. import optim

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

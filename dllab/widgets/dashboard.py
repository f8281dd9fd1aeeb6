"""The live training dashboard: a Trainer callback that draws progress and curves in place."""

from __future__ import annotations

import math
import time

import numpy as np

from ..notebook import in_notebook
from ..train import Callback
from .common import _clock, _png, _show


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
        """The curves so far as a matplotlib Figure (drawn by ``dllab.viz.training_curves``)."""
        from .. import viz

        return viz.training_curves({"": {"steps": self.steps, "epochs": self.epochs}}, metric=self.metric,
                                   title=self.title, last_epoch=max(self.planned_epochs or 1, self.epoch, 1),
                                   size=(9, 3.2))

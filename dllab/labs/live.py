"""Progress bars and learning curves that redraw while a model trains, and tables of runs."""

from __future__ import annotations

import io
import os
import time

import numpy as np

from ..notebook import in_notebook
from ..train import Callback


def _quiet():
    return bool(os.environ.get("CI"))


def progress(iterable=None, total=None, desc=None):
    """A tqdm progress bar (a widget in Jupyter, text in a terminal, off when CI is set)."""
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, disable=_quiet(), leave=False, mininterval=0.2)


class _RunCallback(Callback):
    """The Trainer callback for one named run of a :class:`LiveCurves` figure.

    With ``steps`` (the number of training steps expected) it also shows a progress bar, for
    runs trained with ``verbose=False``.
    """

    def __init__(self, live, name, steps=None):
        self.live, self.name, self.steps = live, name, steps
        self.bar = None

    def on_train_begin(self, trainer):
        self.live.start(self.name)
        if self.steps:
            self.bar = progress(total=self.steps, desc=self.name)

    def on_step_end(self, trainer, epoch, step, logs):
        self.live.step(logs["loss"], epoch, step)
        if self.bar is not None:
            self.bar.update(1)

    def on_epoch_end(self, trainer, epoch, logs):
        self.live.epoch(epoch, **logs)
        if self.bar is not None and "val_accuracy" in logs:
            self.bar.set_postfix_str(f"val_accuracy {logs['val_accuracy']:.4f}", refresh=False)

    def on_train_end(self, trainer, history):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        self.live.draw()


class LiveCurves(_RunCallback):
    """A learning-curve figure that redraws in place while a model trains.

    Left: the training loss of every step (faint), its running mean, and the validation loss
    per epoch (dots). Right: accuracy per epoch, training dashed and validation solid. Several
    runs share one figure::

        live = LiveCurves("sigmoid vs relu")
        trainer_a.fit(..., callbacks=[live.run("sigmoid")])
        trainer_b.fit(..., callbacks=[live.run("relu")])

    Used directly it is a Trainer callback for a run called "train". A hand-written loop feeds
    it with ``start(name)``, ``step(loss, epoch, step)`` and ``epoch(epoch, **values)``.
    Outside Jupyter it records the values and draws nothing; ``figure()`` still gives the figure.
    """

    def __init__(self, title=None, metric="accuracy", every=1.0, smooth=25):
        super().__init__(self, "train")  # used as a callback itself: one run called "train"
        self.title, self.metric, self.every, self.smooth = title, metric, every, smooth
        self.runs = {}
        self.current = None
        self._handle = None
        self._last_draw = 0.0

    def run(self, name, steps=None) -> Callback:
        """A Trainer callback that draws into this figure under ``name`` (and shows a progress
        bar when given the number of ``steps``)."""
        return _RunCallback(self, name, steps)

    # --- feeding it ----------------------------------------------------------------------
    def start(self, name="train"):
        self.current = self.runs.setdefault(name, {"steps": [], "epochs": []})
        return self

    def step(self, loss, epoch=0, step=None):
        if self.current is None:
            self.start()
        steps = self.current["steps"]
        steps.append((int(epoch), len(steps) if step is None else int(step), float(loss)))
        if not _quiet() and time.perf_counter() - self._last_draw > self.every:
            self.draw()

    def epoch(self, epoch, **values):
        if self.current is None:
            self.start()
        self.current["epochs"].append((int(epoch), {k: float(v) for k, v in values.items()
                                                    if isinstance(v, (int, float, np.floating))}))
        if self._handle is None or time.perf_counter() - self._last_draw > self.every:
            self.draw()

    # --- drawing --------------------------------------------------------------------------
    def figure(self):
        """The current curves as a matplotlib Figure (drawn by ``dllab.viz.training_curves``)."""
        from .. import viz

        runs = {name: {"steps": list(zip(*self._step_axis(data))),
                       "epochs": [(e + 1, logs) for e, logs in data["epochs"]]}
                for name, data in self.runs.items()}
        return viz.training_curves(runs, metric=self.metric, smooth=self.smooth, title=self.title)

    @staticmethod
    def _step_axis(data):
        steps = data["steps"]
        if not steps:
            return np.zeros(0), np.zeros(0)
        per_epoch = {}
        for e, s, _ in steps:
            per_epoch[e] = max(per_epoch.get(e, 0), s + 1)
        known = max(per_epoch.values())
        x = np.array([e + (s + 1) / max(per_epoch[e], known) for e, s, _ in steps])
        return x, np.array([loss for _, _, loss in steps])

    def draw(self):
        """Redraw in place (in Jupyter); a no-op elsewhere."""
        self._last_draw = time.perf_counter()
        if not in_notebook():
            return
        from IPython.display import Image, display

        buf = io.BytesIO()
        self.figure().savefig(buf, format="png", dpi=80)
        image = Image(data=buf.getvalue(), format="png")
        if self._handle is None:
            self._handle = display(image, display_id=True)
        else:
            self._handle.update(image)

    def close(self):
        """Final redraw after a hand-written loop."""
        self.draw()


def summary_table(histories):
    """One line per run: final training and validation accuracy, best validation accuracy, final
    validation loss and the number of epochs."""
    w = max([3] + [len(str(name)) for name in histories]) + 2
    lines = [f"{'run':<{w}}{'train acc':>10}{'val acc':>10}{'best val':>10}{'val loss':>10}{'epochs':>8}"]
    for name, h in histories.items():
        val = h.get("val_accuracy", [float("nan")])
        val_loss = h.get("val_loss", [float("nan")])[-1]
        lines.append(f"{name:<{w}}{h['accuracy'][-1]:>10.2%}{val[-1]:>10.2%}{max(val):>10.2%}"
                     f"{val_loss:>10.4f}{h.epochs:>8}")
    return "\n".join(lines)


def seeds_table(runs):
    """One line per setting trained with several seeds: mean (lowest-highest) of the final training
    accuracy, validation accuracy, training - validation gap and validation loss.

    ``runs`` maps a setting's name to the list of its Histories, one per seed.
    """
    def cell(values, fmt):
        values = np.asarray(values, dtype=float)
        return f"{format(values.mean(), fmt)} ({format(values.min(), fmt)}-{format(values.max(), fmt)})"

    w = max([3] + [len(str(name)) for name in runs]) + 2
    seeds = {len(hs) for hs in runs.values()}
    lines = [f"{'run':<{w}}{'train acc':>24}{'val acc':>24}{'gap':>24}{'val loss':>24}"
             f"   ({'/'.join(map(str, sorted(seeds)))} seeds: mean (lowest-highest))"]
    for name, hs in runs.items():
        train = [h["accuracy"][-1] for h in hs]
        val = [h["val_accuracy"][-1] for h in hs]
        lines.append(f"{name:<{w}}{cell(train, '.1%'):>24}{cell(val, '.1%'):>24}"
                     f"{cell(np.subtract(train, val), '.1%'):>24}{cell([h['val_loss'][-1] for h in hs], '.3f'):>24}")
    return "\n".join(lines)

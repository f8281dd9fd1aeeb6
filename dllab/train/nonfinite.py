"""NaN and inf: the guard that stops training at a non-finite loss, and why a result is not finite.

:class:`NaNGuard` (a callback the Trainer always adds) stops training when the loss becomes NaN or
infinite, before the bad update, puts back recent healthy weights and raises
:class:`NonFiniteLossError`. The ``explain_*`` functions say why evaluate's loss or predict's
outputs are NaN/inf. All of them answer the same question (the data, the weights, the learning
rate or an overflow?) by counting non-finite values, so they are kept together.
"""

from __future__ import annotations

import math

import numpy as np

from .. import backend
from .callbacks import Callback


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite."""


class NaNGuard(Callback):
    """Stops training when the loss becomes NaN or infinite, before the bad update is applied.

    It keeps a copy of recent healthy weights (parameters and buffers such as batch-norm's running
    statistics): a copy every ``every`` updates, taken only while the loss is within ``factor`` of
    the smoothed best so far, so that a run that is diverging keeps the weights from before the
    divergence. On a NaN it puts them back, resets the optimizer's state (momentum built up while
    diverging would carry the next run straight back), and raises :class:`NonFiniteLossError`
    saying what went wrong and what to try.
    """

    every = 16
    factor = 10.0

    def on_train_begin(self, trainer):
        self.saved, self.arrays, self.taken_at, self.taken_loss = None, None, None, None
        self.updates = 0
        self.smooth = self.best = math.inf

    # --- the copy ---------------------------------------------------------------------
    def _targets(self, model):
        """Every array the weights consist of: parameters, then buffers (running statistics)."""
        arrays = [p.data for p in model.parameters()]
        for m in model.modules():
            arrays += [getattr(m, name) for name in getattr(m, "_buffers", ()) if getattr(m, name) is not None]
        return arrays

    def snapshot(self, model, value):
        arrays = self._targets(model)
        if self.saved is None or [a.shape for a in arrays] != [s.shape for s in self.saved]:
            self.saved = [backend.array_module(a).empty_like(a) for a in arrays]
        for buf, a in zip(self.saved, arrays):
            buf[...] = a
        self.arrays, self.taken_at, self.taken_loss = arrays, self.updates, value

    def restore(self):
        """Put the saved arrays back; returns the update they come from (None if none was saved)."""
        if self.saved is None:
            return None
        for buf, a in zip(self.saved, self.arrays):
            a[...] = buf
        return self.taken_at

    # --- hooks --------------------------------------------------------------------------
    def on_before_update(self, trainer, value):
        self.smooth = value if self.smooth == math.inf else 0.9 * self.smooth + 0.1 * value
        self.best = min(self.best, self.smooth)
        due = self.taken_at is None or self.updates - self.taken_at >= self.every
        if due and value <= self.factor * self.best:  # healthy: not on its way to a NaN
            self.snapshot(trainer.model, value)
        self.updates += 1

    def on_interrupt(self, trainer):
        """A KeyboardInterrupt inside the optimizer's step left an update half applied.

        SafeInterrupt lets a Ctrl-C's update finish, so this comes only from a KeyboardInterrupt
        raised otherwise (by code inside the step, or when another signal handler is installed).
        The only consistent weights left are the latest healthy copy: put them back, reset the
        optimizer's state, and say so, since the updates after the copy are undone.
        """
        if not trainer.updating:
            return
        restored = self.restore()
        trainer.optimizer.reset_state()
        where = (f"interrupted in epoch {trainer.history.epochs + 1} during update {self.updates} of this run, "
                 "which was left half applied: ")
        if restored is None:
            kept = ("no earlier copy of the weights was kept, so they are inconsistent; build the model again "
                    "(or load a checkpoint) before using it")
        else:
            kept = (f"the model went back to its weights from before update {restored + 1} (the latest healthy "
                    f"copy: updates {restored + 1}-{self.updates} are undone, while history.step_loss keeps the "
                    "losses of those that completed) and the optimizer's state (momentum, averages) was reset")
        trainer.history.stop_reason = where + kept

    def on_loss(self, trainer, value, inputs, targets):
        if math.isfinite(value):
            return
        history = trainer.history
        where = f"the loss became {value} in epoch {history.epochs + 1}, step {len(history.step_loss) + 1}. "
        cause = self.explain(trainer, inputs, targets)
        restored = self.restore()
        trainer.optimizer.reset_state()
        if restored is None:
            kept = "No update was applied."
        else:
            kept = (f"The model keeps its weights from before update {restored + 1} of this run (loss "
                    f"{self.taken_loss:.4g}), batch-norm statistics included, and the optimizer's state "
                    "(momentum, averages) was reset.")
        raise NonFiniteLossError(where + cause + " " + kept)

    def explain(self, trainer, inputs, targets):
        """What most likely made the loss NaN: the data, the starting weights, or the learning rate."""
        x = inputs[0] if isinstance(inputs, tuple) else inputs
        bad_x = count_nonfinite(x.data)
        if bad_x:
            return (f"The batch's inputs hold {bad_x} NaN/inf values: clean the data (e.g. np.nan_to_num, "
                    "or drop those samples) before training.")
        bad_y = count_nonfinite(targets)
        if bad_y:
            return (f"The batch's targets hold {bad_y} NaN/inf values: clean them (or drop those samples) "
                    "before training; the learning rate is not the cause.")
        if self.updates == 0:
            bad_w = nonfinite_weights(trainer.model)
            if bad_w:
                return (f"It happened before any update of this run: the model's weights already hold {bad_w} "
                        "NaN/inf values (left by an earlier run that diverged?); build the model again.")
            return ("It happened before any update of this run, with finite inputs, targets and weights: the "
                    "first forward pass overflowed; check the scale of the inputs (e.g. pixels divided by "
                    "255) and the loss function.")
        lr = trainer.optimizer.lr
        return (f"The learning rate ({lr:g}) is probably too high: lower it, e.g. "
                f"trainer.optimizer.lr = {lr / 10:g}, and fit again.")


def count_nonfinite(a):
    """How many NaN/inf values a floating-point array holds (0 for integer arrays)."""
    if getattr(a, "dtype", None) is None or a.dtype.kind not in "fc":
        return 0
    xp = backend.array_module(a)
    return int((~xp.isfinite(a)).sum())


def nonfinite_rows(a):
    """The indices of the samples (first axis) of ``a`` that hold a NaN or inf."""
    a = np.asarray(a)
    return np.flatnonzero(~np.isfinite(a.reshape(len(a), -1)).all(axis=1))


def nonfinite_weights(model):
    """How many NaN/inf values the model's parameters hold."""
    return sum(count_nonfinite(p.data) for p in model.parameters())


def explain_nonfinite_loss(model, batches, loss):
    """Why evaluate's loss is NaN/inf: the inputs, the targets or the weights, with where."""
    for what, arr in (("inputs", batches.x), ("targets", batches.y)):
        arr = np.asarray(arr)
        bad = count_nonfinite(arr)
        if bad:
            first = int(nonfinite_rows(arr)[0])
            return (f"the {what} hold {bad} NaN/inf value{'s' if bad > 1 else ''} (first in sample {first}), "
                    f"so the loss is {loss}: clean them (np.nan_to_num, or drop those samples) first")
    bad = nonfinite_weights(model)
    if bad:
        return (f"the model's weights hold {bad} NaN/inf values (left by a training run that diverged?), "
                f"so the loss is {loss}; train again from fresh weights")
    return (f"the loss is {loss} although the inputs, targets and weights are finite: the model's outputs "
            "overflowed; check the scale of the inputs")


def explain_nonfinite_outputs(model, x, out):
    """Why some of predict's outputs are NaN/inf: rows of the inputs, the weights, or an overflow."""
    rows = out.reshape(len(out), -1)
    bad_out = int((~np.isfinite(rows)).any(axis=1).sum())
    head = f"predict: {bad_out} of the {len(out)} outputs are NaN or inf"
    x = np.asarray(backend.to_numpy(x))
    if x.dtype.kind in "fc" and len(x):
        bad_rows = nonfinite_rows(x)
        if len(bad_rows):
            which = ", ".join(str(i) for i in bad_rows[:5]) + (", ..." if len(bad_rows) > 5 else "")
            return (f"{head} because the inputs contain NaN or inf: {len(bad_rows)} of the {len(x)} input rows "
                    f"hold NaN/inf values (rows {which}), so their results are NaN/inf too. Clean them first "
                    "(np.nan_to_num, or drop those rows: x[np.isfinite(x).reshape(len(x), -1).all(axis=1)])")
    bad = nonfinite_weights(model)
    if bad:
        return (f"{head} because the model's weights hold {bad} NaN/inf values (left by a training run that "
                "diverged?); train again from fresh weights")
    return (f"{head} although the inputs and the weights are finite: the model's outputs overflowed; check the "
            "scale of the inputs")


__all__ = ["NaNGuard", "NonFiniteLossError", "count_nonfinite", "explain_nonfinite_loss", "explain_nonfinite_outputs"]

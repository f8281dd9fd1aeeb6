"""Callbacks: everything the training loop does besides forward, loss, backward, step and zero grad.

The Trainer calls each callback's hooks in a fixed order (see ``Trainer.fit``):

    on_train_begin(trainer)                   before the first epoch
    on_epoch_begin(trainer, epoch)
    on_loss(trainer, value, inputs, targets)  after the forward pass, before backward (the NaN guard)
    on_before_update(trainer, value)          after backward, before the optimizer's step
    on_step_end(trainer, epoch, step, logs)   after the update, once the step is recorded
    on_epoch_end(trainer, epoch, logs)        after validation; logs hold the epoch's values
    on_interrupt(trainer)                     Ctrl-C ended training
    on_train_end(trainer, history)            after the last epoch (not after an error)
    close()                                   always, last (release the signal handler, the bar)

The safety nets are callbacks the Trainer adds itself. This module holds the base class and the
two that are about the person at the keyboard: :class:`ProgressLog` (the bar and the epoch lines)
and :class:`SafeInterrupt` (Ctrl-C stops at a step boundary). The ones that follow the monitored
value (:class:`BestEpoch`, :class:`EarlyStopping`, :class:`Checkpoint`) are in ``monitor``;
the NaN guard (:class:`NaNGuard`) is in ``nonfinite``.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

HOOKS = ("on_train_begin", "on_epoch_begin", "on_loss", "on_before_update", "on_step_end", "on_epoch_end",
         "on_interrupt", "on_train_end")


class Callback:
    """Hooks the Trainer calls; override any of them. ``logs`` is a dict of current values.

    A callback that shows progress itself (a live dashboard) sets ``shows_progress = True``;
    the Trainer then leaves out its own progress bar and per-epoch lines.
    """

    shows_progress = False

    def on_train_begin(self, trainer):
        pass

    def on_epoch_begin(self, trainer, epoch):
        pass

    def on_loss(self, trainer, value, inputs, targets):
        pass

    def on_before_update(self, trainer, value):
        pass

    def on_step_end(self, trainer, epoch, step, logs):
        pass

    def on_epoch_end(self, trainer, epoch, logs):
        pass

    def on_interrupt(self, trainer):
        pass

    def on_train_end(self, trainer, history):
        pass

    def close(self):
        pass


class SafeInterrupt(Callback):
    """Turns the first Ctrl-C (Jupyter's "interrupt kernel") into a stop at the next step boundary.

    The step in progress completes and is recorded; so does a validation in progress. A second
    Ctrl-C interrupts at once, except inside the optimizer's update: that one finishes first (it
    takes milliseconds), since a half-applied update could only be undone by rolling the model back
    to an older copy, losing updates the history has recorded.
    """

    def __init__(self):
        self.requested = False
        self.trainer = None
        self._previous = None

    def _handler(self, signum, frame):
        if self.requested and not (self.trainer and self.trainer.updating):  # second Ctrl-C: the user insists
            raise KeyboardInterrupt
        self.requested = True  # stop at the end of this step (on_step_end, once it is recorded)

    def on_train_begin(self, trainer):
        self.requested = False
        self.trainer = trainer
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)

    def on_step_end(self, trainer, epoch, step, logs):
        if self.requested:
            raise KeyboardInterrupt

    def on_epoch_end(self, trainer, epoch, logs):  # a Ctrl-C during validation
        if self.requested:
            raise KeyboardInterrupt

    def close(self):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None


class ProgressLog(Callback):
    """A tqdm progress bar over all steps, one line per epoch, and why training stopped.

    Quiet under CI (the ``CI`` environment variable); without the bar the lines are printed.
    """

    def __init__(self, show_bar=True):
        self.show_bar = show_bar and not os.environ.get("CI")
        self.bar = None

    def on_train_begin(self, trainer):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=trainer.fit_epochs * trainer.steps_per_epoch, disable=not self.show_bar,
                        unit="step", leave=True, dynamic_ncols=True, mininterval=0.2)

    def on_epoch_begin(self, trainer, epoch):
        self.bar.set_description(f"epoch {trainer.history.epochs + 1}/{trainer.fit_epochs}", refresh=False)
        self.last_postfix = 0.0  # the step logs' time counts from the epoch's start

    def on_step_end(self, trainer, epoch, step, logs):
        self.bar.update(1)
        if logs["time"] - self.last_postfix > 0.5:
            self.last_postfix = logs["time"]
            self.bar.set_postfix_str(f"loss {logs['loss']:.4f}", refresh=False)

    def on_epoch_end(self, trainer, epoch, logs):
        shown = [f"{k} {v:.4f}" for k, v in logs.items() if k not in ("time", "samples_per_s", "lr")]
        line = (f"epoch {trainer.history.epochs}/{trainer.fit_epochs}  " + "  ".join(shown)
                + f"  ({logs['time']:.1f}s, {logs['samples_per_s']:,.0f} samples/s)")
        if self.bar.disable:
            print(line, flush=True)
        else:
            self.bar.write(line)

    def on_train_end(self, trainer, history):
        self.close()
        if history.stop_reason:
            print(history.stop_reason, file=sys.stderr if history.interrupted else sys.stdout)

    def close(self):
        if self.bar is not None:
            self.bar.close()


__all__ = ["HOOKS", "Callback", "ProgressLog", "SafeInterrupt"]

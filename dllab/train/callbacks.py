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

The safety nets are callbacks the Trainer adds itself: :class:`BestEpoch`, :class:`NaNGuard`,
:class:`EarlyStopping`, :class:`Checkpoint`, :class:`ProgressLog` and :class:`SafeInterrupt`.
"""

from __future__ import annotations

import math
import numbers
import os
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path

from .. import backend
from .._warnings import warn_at_caller
from ..layers.checkpoint import checkpoint_info


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite."""


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


# words of a logged name that go up as the model gets better (besides anything with "acc" in it)
HIGHER_IS_BETTER = ("f1", "auc", "r2", "precision", "recall")
MODES = ("min", "max", "auto")


def higher_is_better(name):
    """mode="auto": whether a higher ``name`` is better. Accuracies, F1, AUC, R², precision and recall
    rise as a model improves (``val_f1``, ``roc_auc``, ``r2_score``); losses, errors and anything
    not known fall. As in Keras and PyTorch Lightning, ``mode=`` says it when the name cannot."""
    words = name.lower().replace("-", "_").split("_")
    return "acc" in name.lower() or any(word in HIGHER_IS_BETTER for word in words)


def check_mode(mode, monitor, where):
    """``mode`` if it is one of MODES, else a ValueError naming the argument and the fix."""
    if not isinstance(mode, str) or mode not in MODES:
        raise ValueError(f"{where}: mode must be 'min', 'max' or 'auto', got {mode!r}; e.g. mode='max' when "
                         f"a higher {monitor} is better, as for accuracy or F1")
    return mode


class BestEpoch(Callback):
    """Tracks the best epoch by ``monitor`` (``history.best_epoch``, 1-based) for the others to read.

    mode: "min" (lower is better), "max" (higher is better) or "auto": max for accuracies, F1,
    AUC, R², precision and recall (:func:`higher_is_better`), min for losses, errors and the rest.
    An epoch is better when it beats the best by more than ``min_delta``.
    """

    def __init__(self, monitor, min_delta=0.0, mode="auto"):
        self.monitor, self.min_delta = monitor, min_delta
        if check_mode(mode, monitor, "BestEpoch") == "auto":
            mode = "max" if higher_is_better(monitor) else "min"
        self.mode = mode  # resolved: "min" or "max"
        self.higher = mode == "max"

    def better(self, value, than, min_delta=0.0):
        """Whether ``value`` beats ``than`` by more than ``min_delta``, in this tracker's mode."""
        return value > than + min_delta if self.higher else value < than - min_delta

    def on_train_begin(self, trainer):
        self.best = None
        self.improved = False

    def on_epoch_end(self, trainer, epoch, logs):
        value = logs.get(self.monitor)
        if value is None:
            raise ValueError(f"fit: cannot monitor {self.monitor!r}; known values: {', '.join(logs)}")
        self.improved = self.best is None or self.better(value, self.best, self.min_delta)
        if self.improved:
            self.best = value
            trainer.history.best_epoch = trainer.history.epochs


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs.

    monitor: "val_loss" (default), "val_accuracy", "loss", ... (a key of the history).
    mode: which way is better, as in Keras and PyTorch Lightning: "min", "max", or "auto"
        (default): max for accuracies, F1, AUC, R², precision and recall, min for losses,
        errors and any other name. Give mode="max" for a score whose name says nothing.
    patience: epochs without improvement before stopping; 0 stops at the first one.
    restore_best: put the best epoch's weights back into the model at the end, whether
        training stopped early or ran all its epochs (not after Ctrl-C: then the model keeps
        the weights reached). The checkpoint of ``fit(checkpoint=...)`` follows the same
        monitor and mode.
    """

    def __init__(self, patience=3, monitor="val_loss", min_delta=0.0, restore_best=True, mode="auto"):
        if isinstance(patience, bool) or not isinstance(patience, numbers.Integral) or patience < 0:
            raise ValueError(f"EarlyStopping: patience must be a whole number of epochs >= 0, got {patience!r}; "
                             "e.g. patience=3 (stop after 3 epochs without improvement)")
        self.patience, self.monitor, self.min_delta, self.restore_best = patience, monitor, min_delta, restore_best
        self.mode = check_mode(mode, monitor, "EarlyStopping")
        self.best = None  # the BestEpoch tracker the Trainer gives it
        self.best_state = None  # also before on_train_begin: a Ctrl-C may come before it runs

    def __repr__(self):
        return f"EarlyStopping(patience={self.patience}, monitor={self.monitor!r}, mode={self.mode!r})"

    def on_train_begin(self, trainer):
        self.best_state = None

    def on_epoch_end(self, trainer, epoch, logs):
        history = trainer.history
        if self.best.improved and self.restore_best:
            self.best_state = trainer.model.state_dict()
        waited = history.epochs - history.best_epoch
        # only an epoch that did not improve can stop training: with patience 0 an improving epoch
        # has waited 0 >= 0 epochs too, and must not end the run
        if not self.best.improved and waited >= self.patience:
            history.stop_reason = (f"early stopping: {self.monitor} did not improve for {waited} "
                                   f"epoch{'s' if waited > 1 else ''} "
                                   f"(best {self.best.best:.4g} at epoch {history.best_epoch})")
            trainer.stop_training = True

    def on_train_end(self, trainer, history):
        if self.best_state is None or history.interrupted or history.best_epoch == history.epochs:
            return
        trainer.model.load_state_dict(self.best_state)
        history.note(f"best weights (epoch {history.best_epoch}) restored")


class Checkpoint(Callback):
    """Saves the model to ``path`` (atomically) after every epoch that improves the monitored value.

    Before training it checks that the file can be written (folder exists, is writable, has room),
    so a mistake fails at once rather than after the first epoch.

    The file records the monitored value, its mode and the best value beside the weights
    (:func:`checkpoint_info`), so that a later fit with the same path saves over it only when it
    does better: a second fit whose first epoch is worse must not replace a better model. A file
    that records no comparable best (written by ``model.save``, or monitoring another value) is
    replaced after the first epoch, with a warning that says so.
    """

    def __init__(self, path, best):
        self.path, self.best = Path(path), best

    def on_train_begin(self, trainer):
        check_checkpoint_path(self.path, trainer.model)
        self.to_beat = self._recorded_best()  # None: nothing to beat, the first epoch is saved

    def _recorded_best(self):
        """The file's best value when it can be compared with this fit's; otherwise None, with a
        warning when that means replacing an existing file."""
        if not self.path.exists():
            return None
        info = checkpoint_info(self.path)
        monitor, mode = self.best.monitor, self.best.mode
        if info is not None and (info["monitor"], info["mode"]) == (monitor, mode):
            return info["best"]
        if info is None:
            recorded = "records no best value (written by model.save, or by an older dllab)"
        else:
            recorded = (f"records the best {info['monitor']} ({info['mode']}) {info['best']:.4g}, while this fit "
                        f"monitors {monitor} ({mode})")
        warn_at_caller(f"fit: checkpoint={str(self.path)!r} already exists but {recorded}, so this fit cannot "
                       "compare with it: it starts a new best and replaces the file after its first epoch. Give "
                       "another path to keep that file.")
        return None

    def on_epoch_end(self, trainer, epoch, logs):
        value = logs[self.best.monitor]
        if not self.best.improved or (self.to_beat is not None and not self.best.better(value, self.to_beat)):
            return
        info = {"monitor": self.best.monitor, "mode": self.best.mode, "best": float(value)}
        try:
            trainer.model.save(self.path, info=info)
        except OSError as exc:
            raise type(exc)(exc.errno, f"fit: could not write checkpoint={str(self.path)!r} after epoch "
                            f"{trainer.history.epochs}: {exc.strerror or exc}. Free some space or give another "
                            "path; the model keeps the weights it has now (trainer.model.save(path) saves them)"
                            ) from exc
        self.to_beat = None  # the file holds this fit's best now: each later improvement replaces it

    def on_train_end(self, trainer, history):
        if self.to_beat is not None and history.epochs:  # no epoch beat the file of an earlier fit
            history.note(f"checkpoint={str(self.path)!r} kept from an earlier fit: its {self.best.monitor} "
                         f"{self.to_beat:.4g} was not beaten (best of this fit {self.best.best:.4g})")


def check_checkpoint_path(path, model=None):
    """Fail before training, not after the first epoch, when the checkpoint cannot be written."""
    path = Path(path)
    named = f"checkpoint={str(path)!r}"
    if path.is_dir():
        raise IsADirectoryError(f"fit: {named} is a folder; give a file name in it, "
                                f"e.g. checkpoint={str(path / 'best.npz')!r}")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"fit: the folder of {named} does not exist; "
                                f"create it first (os.makedirs({str(folder)!r}, exist_ok=True))")
    try:
        fd, probe = tempfile.mkstemp(prefix=".dllab-write-test.", dir=folder)
    except OSError as exc:
        raise type(exc)(exc.errno, f"fit: cannot write {named}: the folder {str(folder)!r} is not writable "
                        f"({exc.strerror}); give a path in a folder you can write to, e.g. "
                        f"checkpoint={path.name!r} (the current folder)") from exc
    os.close(fd)
    os.unlink(probe)
    if model is not None and model.built:
        need = sum(p.data.nbytes for p in model.parameters())
        free = shutil.disk_usage(folder).free
        if free < 2 * need + (1 << 20):
            raise OSError(28, f"fit: not enough free space for {named}: the weights take {need / 1e6:.1f} MB, "
                          f"the folder's disk has {free / 1e6:.1f} MB free; free some space or save elsewhere")


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
            bad_w = sum(count_nonfinite(p.data) for p in trainer.model.parameters())
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


__all__ = ["BestEpoch", "Callback", "Checkpoint", "EarlyStopping", "NaNGuard", "NonFiniteLossError",
           "ProgressLog", "SafeInterrupt", "check_checkpoint_path", "count_nonfinite"]

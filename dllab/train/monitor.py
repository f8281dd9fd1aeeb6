"""The callbacks that follow one monitored value (``val_loss`` by default) from epoch to epoch.

:class:`BestEpoch` tracks the best epoch; :class:`EarlyStopping` stops when it has not improved
for ``patience`` epochs and puts its weights back; :class:`Checkpoint` saves them to a file
(checked for writability before training, see :func:`check_checkpoint_path`). They share one
idea, "better" (lower for a loss, higher for an accuracy: :func:`higher_is_better`), so they
live together, apart from the progress display and the NaN guard.
"""

from __future__ import annotations

import numbers
import os
import shutil
import tempfile
from pathlib import Path

from .._warnings import warn_at_caller
from ..layers.checkpoint import checkpoint_info
from .callbacks import Callback

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


__all__ = ["BestEpoch", "Checkpoint", "EarlyStopping", "check_checkpoint_path", "check_mode", "higher_is_better"]

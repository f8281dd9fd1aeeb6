"""The Trainer: fit, evaluate and predict, with history, early stopping and checkpoints.

    trainer = Trainer(model, loss=cross_entropy, optimizer=SGD(lr=0.1, momentum=0.9))
    history = trainer.fit(train, epochs=5, batch_size=128, validation=test)
    trainer.evaluate(test)          # {'loss': 0.07, 'accuracy': 0.978}

Safety nets, because training goes wrong in workshops:
* a loss that becomes NaN or infinite stops training with :class:`NonFiniteLossError`
  naming the epoch and step; the model keeps the last weights that gave a finite loss;
* Ctrl-C (or Jupyter's "interrupt kernel") stops training at the end of the current step
  and keeps the weights reached so far; a second Ctrl-C interrupts at once;
* checkpoints are written atomically (see ``Module.save``).
"""

from __future__ import annotations

import math
import os
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np

from . import backend
from . import functional as F
from . import metrics as metrics_mod
from . import optim as optim_mod
from .autograd import Tensor, no_grad
from .data.batches import Batches, _as_dataset


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite."""


class History(dict):
    """Per-epoch values: ``history["loss"]``, ``history["val_accuracy"]``, ... (one per epoch).

    Also ``step_loss`` (every step's loss), ``best_epoch`` (1-based, by the monitored
    value), ``stop_reason`` and ``interrupted``.
    """

    def __init__(self):
        super().__init__()
        self.step_loss = []
        self.best_epoch = None
        self.stop_reason = None
        self.interrupted = False

    def append(self, logs: dict):
        for key, value in logs.items():
            self.setdefault(key, []).append(value)

    @property
    def epochs(self) -> int:
        return len(self.get("loss", []))

    def last(self) -> dict:
        return {k: v[-1] for k, v in self.items() if v}

    def __repr__(self):
        body = ", ".join(f"{k}={v[-1]:.4g}" for k, v in self.items() if v)
        return f"History({self.epochs} epochs: {body})"


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

    def on_step_end(self, trainer, epoch, step, logs):
        pass

    def on_epoch_end(self, trainer, epoch, logs):
        pass

    def on_train_end(self, trainer, history):
        pass


class EarlyStopping:
    """Stop when ``monitor`` has not improved for ``patience`` epochs.

    monitor: "val_loss" (default), "val_accuracy", "loss", ...; lower is better for
    losses and errors, higher for accuracies. ``restore_best`` puts the best epoch's
    weights back into the model at the end.
    """

    def __init__(self, patience=3, monitor="val_loss", min_delta=0.0, restore_best=True):
        self.patience, self.monitor, self.min_delta, self.restore_best = patience, monitor, min_delta, restore_best

    def __repr__(self):
        return f"EarlyStopping(patience={self.patience}, monitor={self.monitor!r})"


def _higher_is_better(name):
    return "acc" in name


def _loss_fn(loss):
    if callable(loss):
        return loss
    names = {"cross_entropy": F.cross_entropy, "mse": F.mse, "binary_cross_entropy": F.binary_cross_entropy}
    try:
        return names[loss]
    except KeyError:
        raise ValueError(f"unknown loss {loss!r}: use one of {', '.join(names)} or pass a function") from None


def _model_input(xb):
    """A batch's inputs as the model takes them, and the input array (on the device).

    Plain inputs become a Tensor; padded sequences ``(x, lengths)`` become ``(Tensor, lengths)``
    (lengths stay NumPy: recurrent layers read them on the host to build their step masks).
    """
    if isinstance(xb, tuple):
        x, lengths = xb
        x = backend.to_device(x)
        return (Tensor(x), backend.to_numpy(lengths)), x
    x = backend.to_device(xb)
    return Tensor(x), x


def _on_current_device(model):
    """Move the model to the current device (dl.set_device) if its weights are elsewhere, so that
    set_device("gpu") followed by fit/evaluate/predict just works; batches follow the same device."""
    params = model.parameters()
    if params and backend.array_module(params[0].data) is not backend.xp():
        model.to_device()


def _progress_disabled(verbose):
    return not verbose or bool(os.environ.get("CI"))


class Trainer:
    """Trains ``model`` with ``loss`` and ``optimizer``; tracks ``metrics`` (names or functions).

    loss: a function (scores, targets) -> scalar Tensor, or "cross_entropy" / "mse".
    optimizer: an Optimizer (its parameters default to the model's) or a name ("sgd", "adam").
    """

    def __init__(self, model, loss=F.cross_entropy, optimizer="sgd", metrics=("accuracy",), lr=None):
        self.model = model
        self.loss_fn = _loss_fn(loss)
        if lr is not None and isinstance(optimizer, optim_mod.Optimizer):
            raise ValueError(f"Trainer: lr={lr} was given beside an optimizer object that has its own "
                             f"(lr={optimizer.base_lr:g}); set it in one place: "
                             f"{type(optimizer).__name__}(lr={lr}, ...) or optimizer='sgd', lr={lr}")
        self.optimizer = optim_mod.get(optimizer, **({"lr": lr} if lr is not None else {}))
        self.optimizer.bind(model)
        self.metrics = [metrics_mod.get(m) for m in metrics]
        self._batch_metrics = [metrics_mod.on_device(fn) for _, fn in self.metrics]
        self.history = History()
        self.stop_training = False
        self.epoch = 0
        self.fit_epochs = None       # epochs asked of the fit() running now (callbacks read these)
        self.steps_per_epoch = None  # its batches per epoch

    # --- data --------------------------------------------------------------------
    @staticmethod
    def _batches(data, batch_size, shuffle, seed=0, transform=None, drop_last=False, where="fit"):
        if isinstance(data, Batches):
            return data
        if data is None:
            raise ValueError(f"{where}: no data given")
        return Batches(_as_dataset(data, where), batch_size=batch_size, shuffle=shuffle, seed=seed, transform=transform,
                       drop_last=drop_last)

    def _step_metrics(self, out, yb):
        """Each metric on one batch; built-in ones stay on the device (summed there per epoch)."""
        return [fn(out, yb) for fn in self._batch_metrics]

    # --- training ----------------------------------------------------------------------
    def fit(self, train, epochs=1, batch_size=64, validation=None, shuffle=True, seed=0, transform=None,
            early_stopping=None, checkpoint=None, callbacks=(), verbose=True, eval_batch_size=1000):
        """Train for ``epochs`` passes over ``train``; returns the :class:`History`.

        train: a Dataset, an ``(x, y)`` tuple, ``((x, lengths), y)`` for padded sequences, or a
            :class:`~dllab.data.Batches` source.
        validation: evaluated after every epoch (loss and metrics, prefixed ``val_``).
        early_stopping: an :class:`EarlyStopping` or an int patience.
        checkpoint: a path; the best epoch's weights are saved there (atomically).

        The optimizer's learning-rate schedule counts the epochs of this call: every fit() starts it
        afresh (a second fit() is a new run from the weights reached), while ``trainer.epoch`` keeps
        counting across calls.
        """
        if hasattr(epochs, "shape") and getattr(epochs, "ndim", 0) > 0:
            raise TypeError(f"fit: the second argument is epochs, but it got an array of shape "
                            f"{tuple(epochs.shape)} (labels?): pass inputs and targets together, "
                            "trainer.fit((x, y), epochs=...), or a Dataset")
        if not isinstance(epochs, (int, np.integer)) or isinstance(epochs, bool) or epochs < 1:
            raise ValueError(f"fit: epochs must be a positive integer, got {epochs!r}")
        if checkpoint is not None:
            _check_checkpoint_path(checkpoint)
        _on_current_device(self.model)
        batches = self._batches(train, batch_size, shuffle, seed, transform)
        if isinstance(early_stopping, int):
            early_stopping = EarlyStopping(patience=early_stopping)
        monitor = early_stopping.monitor if early_stopping else ("val_loss" if validation is not None else "loss")
        if monitor.startswith("val_") and validation is None:
            raise ValueError(f"fit: early stopping monitors {monitor!r} but no validation data was given")
        higher = _higher_is_better(monitor)
        best, best_state, waited = None, None, 0
        history = self.history = History()
        self.stop_training = False
        callbacks = list(callbacks)
        for cb in callbacks:
            cb.on_train_begin(self)

        steps_per_epoch = len(batches)
        self.fit_epochs, self.steps_per_epoch = int(epochs), steps_per_epoch
        if any(getattr(cb, "shows_progress", False) for cb in callbacks):
            verbose = False  # the callback's display replaces the bar and the epoch lines
        bar = _progress_bar(epochs * steps_per_epoch, _progress_disabled(verbose))
        guard = _WeightGuard(self.model)
        start_epoch = self.epoch
        stopper = _SafeInterrupt()
        try:
            stopper.install()
            for e in range(start_epoch, start_epoch + epochs):
                self.epoch = e
                self.optimizer.set_epoch(e - start_epoch)
                for cb in callbacks:
                    cb.on_epoch_begin(self, e)
                logs = self._train_epoch(batches, e, guard, bar, epochs, start_epoch, callbacks, stopper)
                if validation is not None:
                    val = self.evaluate(validation, batch_size=eval_batch_size)
                    logs.update({f"val_{k}": v for k, v in val.items()})
                logs["lr"] = self.optimizer.lr
                history.append(logs)
                if verbose:
                    _epoch_line(bar, e - start_epoch + 1, epochs, logs)

                value = logs.get(monitor)
                if value is None:
                    raise ValueError(f"fit: cannot monitor {monitor!r}; known values: {', '.join(logs)}")
                improved = best is None or (value > best + (early_stopping.min_delta if early_stopping else 0)
                                            if higher else
                                            value < best - (early_stopping.min_delta if early_stopping else 0))
                if improved:
                    best, waited = value, 0
                    history.best_epoch = e - start_epoch + 1
                    if early_stopping and early_stopping.restore_best:
                        best_state = self.model.state_dict()
                    if checkpoint:
                        self.model.save(checkpoint)
                else:
                    waited += 1
                for cb in callbacks:
                    cb.on_epoch_end(self, e, logs)
                if early_stopping and waited >= early_stopping.patience:
                    history.stop_reason = (
                        f"early stopping: {monitor} did not improve for {early_stopping.patience} epochs "
                        f"(best {best:.4g} at epoch {history.best_epoch})"
                    )
                    break
                if self.stop_training:
                    history.stop_reason = history.stop_reason or "stopped by a callback"
                    break
            self.epoch += 1
        except KeyboardInterrupt:
            guard.restore_if_mid_step()
            history.interrupted = True
            history.stop_reason = (
                f"interrupted by the user in epoch {self.epoch - start_epoch + 1}; "
                "the model keeps the weights reached so far"
            )
        finally:
            stopper.uninstall()
            bar.close()
        if best_state is not None and early_stopping and early_stopping.restore_best and history.stop_reason \
                and not history.interrupted:
            self.model.load_state_dict(best_state)
            history.stop_reason += "; best weights restored"
        if history.stop_reason and verbose:
            print(history.stop_reason, file=sys.stderr if history.interrupted else sys.stdout)
        for cb in callbacks:
            cb.on_train_end(self, history)
        return history

    def _train_epoch(self, batches, epoch, guard, bar, epochs, start_epoch, callbacks, stopper):
        model, opt, loss_fn = self.model, self.optimizer, self.loss_fn
        model.train()
        n_seen, loss_sum = 0, 0.0
        metric_sums = [0.0] * len(self.metrics)
        t0 = time.perf_counter()
        last_postfix = 0.0
        bar.set_description(f"epoch {epoch - start_epoch + 1}/{epochs}", refresh=False)
        for step, (xb, yb) in enumerate(batches):
            inputs, xb = _model_input(xb)
            yb = backend.to_device(yb)
            out = model(inputs)
            loss = loss_fn(out, yb)
            value = float(loss.data)
            if not math.isfinite(value):
                restored = guard.restore_last_good()
                xp = backend.array_module(xb)
                bad = int((~xp.isfinite(xb)).sum()) if xb.dtype.kind == "f" else 0
                cause = (f"The batch's inputs hold {bad} NaN/inf values: clean the data (e.g. "
                         "np.nan_to_num, or drop those samples) before training. " if bad else
                         f"The learning rate ({opt.lr:g}) is probably too high: try a lower one "
                         f"(e.g. {opt.lr / 10:g}), or check the targets for NaN/inf values. ")
                raise NonFiniteLossError(
                    f"the loss became {value} in epoch {epoch - start_epoch + 1}, step {step + 1}. "
                    + cause
                    + ("The model keeps the last checked weights that gave a finite loss "
                       f"(saved before update {restored + 1} of this run)."
                       if restored is not None else "No update was applied.")
                )
            loss.backward()
            if guard.step % guard.every == 0:
                guard.snapshot()  # these weights just gave a finite loss
            guard.in_step = True
            opt.step()
            guard.in_step = False
            guard.step += 1
            opt.zero_grad()
            if stopper.requested:
                raise KeyboardInterrupt  # at a step boundary: no half-applied update

            n = len(xb)
            n_seen += n
            loss_sum += value * n
            with no_grad():
                for i, m in enumerate(self._step_metrics(out.data, yb)):
                    metric_sums[i] += m * n
            history_steps = self.history.step_loss
            history_steps.append(value)
            bar.update(1)
            now = time.perf_counter()
            if now - last_postfix > 0.5:
                last_postfix = now
                bar.set_postfix_str(f"loss {value:.4f}", refresh=False)
            if callbacks:
                logs = {"loss": value, "samples_per_s": n_seen / max(now - t0, 1e-9)}
                for cb in callbacks:
                    cb.on_step_end(self, epoch, step, logs)
        elapsed = time.perf_counter() - t0
        logs = {"loss": loss_sum / max(n_seen, 1)}
        for (name, _), s in zip(self.metrics, metric_sums):
            logs[name] = float(s) / max(n_seen, 1)  # the epoch's one read of the metric sums
        logs["time"] = elapsed
        logs["samples_per_s"] = n_seen / max(elapsed, 1e-9)
        return logs

    # --- evaluation -------------------------------------------------------------------------
    @no_grad()
    def evaluate(self, data, batch_size=1000) -> dict:
        """Loss and metrics over a whole dataset (evaluation mode: no dropout)."""
        batches = self._batches(data, batch_size, shuffle=False, where="evaluate")
        _on_current_device(self.model)
        was_training = self.model.training
        self.model.eval()
        n_seen, loss_sum = 0, 0.0
        sums = [0.0] * len(self.metrics)
        try:
            for xb, yb in batches:
                inputs, xb = _model_input(xb)
                yb = backend.to_device(yb)
                out = self.model(inputs)
                n = len(xb)
                loss_sum = loss_sum + self.loss_fn(out, yb).data.astype("float64") * n  # summed on the device
                for i, m in enumerate(self._step_metrics(out.data, yb)):
                    sums[i] += m * n
                n_seen += n
        finally:
            self.model.train(was_training)
        result = {"loss": float(loss_sum) / n_seen}
        result.update({name: float(s) / n_seen for (name, _), s in zip(self.metrics, sums)})
        return result

    @no_grad()
    def predict(self, x, batch_size=1000) -> np.ndarray:
        """The model's outputs for ``x`` as a NumPy array.

        x: an array or Tensor of inputs, a Dataset (its inputs; with their lengths for padded
        sequences), or ``(x, lengths)`` for padded sequences.
        """
        lengths = None
        if hasattr(x, "x") and hasattr(x, "y"):  # a Dataset
            x, lengths = x.x, getattr(x, "lengths", None)
        elif isinstance(x, tuple) and len(x) == 2 and np.ndim(x[1]) == 1 and np.ndim(x[0]) == 3:
            x, lengths = x  # (x, lengths): padded sequences
        elif isinstance(x, (tuple, list)):
            raise TypeError("predict: give the inputs x (an array), a Dataset, or (x, lengths) for "
                            f"padded sequences; got a {type(x).__name__} of {len(x)} items (an (x, y) "
                            "pair? pass x alone)")
        x = x.data if isinstance(x, Tensor) else x
        _on_current_device(self.model)
        was_training = self.model.training
        self.model.eval()
        try:
            outs = []
            for i in range(0, len(x), batch_size):
                xb = x[i:i + batch_size]
                inputs, _ = _model_input(xb if lengths is None else (xb, lengths[i:i + batch_size]))
                outs.append(backend.to_numpy(self.model(inputs).data))
        finally:
            self.model.train(was_training)
        if not outs:
            raise ValueError("predict: got no inputs (an empty array)")
        return np.concatenate(outs)


class _WeightGuard:
    """Keeps a copy of recent weights that gave a finite loss, to undo a bad or interrupted step.

    Copying every step would cost several percent of an MLP step, so the copy is refreshed
    every ``every`` steps; a NaN rolls back at most that many steps.
    """

    every = 16

    def __init__(self, model):
        self.model = model
        self.saved = None
        self.params = None
        self.in_step = False
        self.step = 0
        self.taken_at = None

    def snapshot(self):
        params = self.model.parameters()
        if self.saved is None or len(params) != len(self.saved):
            self.params = params
            self.saved = [backend.array_module(p.data).empty_like(p.data) for p in params]
        for buf, p in zip(self.saved, params):
            buf[...] = p.data
        self.taken_at = self.step

    def restore_last_good(self):
        """Put the saved weights back; returns the global step they come from (None if none)."""
        if self.saved is None:
            return None
        for buf, p in zip(self.saved, self.params):
            p.data[...] = buf
        return self.taken_at

    def restore_if_mid_step(self):
        if self.in_step:
            self.restore_last_good()
            self.in_step = False


class _SafeInterrupt:
    """Turns the first Ctrl-C during training into a request honoured at the next step boundary."""

    def __init__(self):
        self.requested = False
        self._previous = None

    def _handler(self, signum, frame):
        if self.requested:  # second Ctrl-C: the user insists
            raise KeyboardInterrupt
        self.requested = True

    def install(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)

    def uninstall(self):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None


def _progress_bar(total, disable):
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=disable, unit="step", leave=True, dynamic_ncols=True,
                mininterval=0.2)


def _epoch_line(bar, epoch, epochs, logs):
    shown = [f"{k} {v:.4f}" for k, v in logs.items() if k not in ("time", "samples_per_s", "lr")]
    line = (f"epoch {epoch}/{epochs}  " + "  ".join(shown)
            + f"  ({logs['time']:.1f}s, {logs['samples_per_s']:,.0f} samples/s)")
    if bar.disable:
        print(line, flush=True)
    else:
        bar.write(line)


def _check_checkpoint_path(path):
    """Fail before training, not after the first epoch, when the checkpoint cannot be written."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"fit: checkpoint={str(path)!r} is a folder; give a file name in it, "
                                f"e.g. checkpoint={str(path / 'best.npz')!r}")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"fit: the folder of checkpoint={str(path)!r} does not exist; "
                                f"create it first (os.makedirs({str(folder)!r}, exist_ok=True))")


def save_checkpoint(model, path):
    """Save the model's weights atomically; returns the path."""
    return model.save(Path(path))

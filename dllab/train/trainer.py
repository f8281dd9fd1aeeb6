"""The Trainer: fit, evaluate and predict, with history, early stopping and checkpoints.

    trainer = Trainer(model, loss=cross_entropy, optimizer=SGD(lr=0.1, momentum=0.9))
    history = trainer.fit(train, epochs=5, batch_size=128, validation=test)
    trainer.evaluate(test)          # {'loss': 0.07, 'accuracy': 0.978}

One training step is five calls (``Trainer.train_step``): forward, loss, backward, step, zero
grad. Everything else is a callback (``dllab.train.callbacks``), called at fixed points:

* the NaN guard: a loss that becomes NaN or infinite stops training with
  :class:`NonFiniteLossError` naming the epoch, the step and the likely cause; the model keeps
  recent healthy weights (buffers included) and the optimizer's state is reset;
* early stopping and checkpoints (written atomically, see ``Module.save``), by the monitored value;
* Ctrl-C (or Jupyter's "interrupt kernel") stops training once the current step (or validation)
  is done and recorded, keeping the weights reached so far; a second Ctrl-C interrupts at once
  (after the optimizer's update, if it comes during one: never half an update);
* the progress bar and the per-epoch lines.

Beside the loop: ``history`` (History, the epoch's sums), ``arguments`` (what fit, evaluate and
predict accept, checked before any work), ``callbacks``, ``monitor`` and ``nonfinite``.
"""

from __future__ import annotations

import math
import time

import numpy as np

from .. import backend, threads
from .. import functional as F
from .. import metrics as metrics_mod
from .._warnings import warn_at_caller
from ..autograd import Tensor, no_grad
from . import arguments
from .callbacks import HOOKS, Callback, ProgressLog, SafeInterrupt
from .history import EpochSums, History
from .monitor import BestEpoch, Checkpoint, check_checkpoint_path
from .nonfinite import NaNGuard, explain_nonfinite_loss, explain_nonfinite_outputs


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


class Trainer:
    """Trains ``model`` with ``loss`` and ``optimizer``; tracks ``metrics`` (names or functions).

    loss: a function (scores, targets) -> scalar Tensor, or "cross_entropy" / "mse".
    optimizer: an Optimizer (its parameters default to the model's) or a name ("sgd", "adam").
    metrics: names or functions; by default accuracy for classification (cross-entropy, or
        integer labels) and none for regression, where the loss itself is the measure.
    """

    def __init__(self, model, loss=F.cross_entropy, optimizer="sgd", metrics=None, lr=None):
        self.model = model
        self.loss_fn = arguments.loss_function(loss)
        self.optimizer = arguments.optimizer_from(optimizer, lr)
        self.optimizer.bind(model)
        self._metric_names = None if metrics is None else tuple(metrics)
        self.metrics = [] if metrics is None else [metrics_mod.get(m) for m in metrics]
        self._batch_metrics = [metrics_mod.on_device(fn) for _, fn in self.metrics]
        self.history = History()
        self.stop_training = False
        self.updating = False        # True while the optimizer changes the weights (Ctrl-C rolls back)
        self.epoch = 0
        self.fit_epochs = None       # epochs asked of the fit() running now (callbacks read these)
        self.steps_per_epoch = None  # its batches per epoch
        self._use_callbacks([])

    # --- metrics and hooks ------------------------------------------------------------
    def _choose_metrics(self, batches):
        """Default metrics from the task: accuracy for classification, none for regression."""
        if self._metric_names is not None:
            return
        classifying = self.loss_fn is F.cross_entropy or np.asarray(batches.y[:1]).dtype.kind in "iu"
        self._metric_names = ("accuracy",) if classifying else ()
        self.metrics = [metrics_mod.get(m) for m in self._metric_names]
        self._batch_metrics = [metrics_mod.on_device(fn) for _, fn in self.metrics]

    def _step_metrics(self, out, yb):
        """Each metric on one batch; built-in ones stay on the device (summed there per epoch)."""
        with no_grad():
            return [fn(out, yb) for fn in self._batch_metrics]

    def _emit(self, hook, *args):
        for fn in self._hooks.get(hook, ()):
            fn(self, *args)

    def _use_callbacks(self, callbacks):
        """Each hook's methods, in the callbacks' order; the base class's empty ones are left out."""
        self.callbacks = callbacks
        self._hooks = {}
        for hook in HOOKS:
            self._hooks[hook] = [getattr(cb, hook) for cb in callbacks
                                 if getattr(type(cb), hook, None) not in (None, getattr(Callback, hook))]

    # --- training ----------------------------------------------------------------------
    def fit(self, train, epochs=1, batch_size=64, validation=None, shuffle=True, seed=0, transform=None,
            early_stopping=None, checkpoint=None, callbacks=(), verbose=True, eval_batch_size=1000):
        """Train for ``epochs`` passes over ``train``; returns the :class:`History`.

        train: a Dataset, an ``(x, y)`` tuple, ``((x, lengths), y)`` for padded sequences, or a
            :class:`~dllab.data.Batches` source.
        validation: evaluated after every epoch (loss and metrics, prefixed ``val_``).
        early_stopping: an :class:`EarlyStopping`, an int patience, or True (patience 3, val_loss).
        checkpoint: a path; the best epoch's weights are saved there (atomically), with the
            monitored value, its mode and the best value. A file left by an earlier fit is replaced
            only by an epoch that beats its recorded best (a warning says when it cannot be compared).

        The optimizer's learning-rate schedule counts the epochs of this call: every fit() starts it
        afresh (a second fit() is a new run from the weights reached), while ``trainer.epoch`` keeps
        counting across calls.
        """
        batches = self._fit_setup(train, epochs, batch_size, shuffle, seed, transform, checkpoint, validation,
                                  eval_batch_size)
        history = self.history = History()
        self._use_callbacks(self._fit_callbacks(validation, early_stopping, checkpoint, callbacks, verbose))
        self.stop_training = False
        self.model.zero_grad()  # the first step starts clean too (a hand-written loop may have left gradients)
        start = self.epoch
        try:
            threads.adapt("fit start")  # BLAS threads for the CPUs free now (dllab/threads.py; overrides win)
            self._emit("on_train_begin")
            for e in range(start, start + epochs):
                self.epoch = e
                if e > start:
                    threads.adapt(f"epoch {e - start + 1}")
                self.optimizer.set_epoch(e - start)
                self._emit("on_epoch_begin", e)
                logs = self.train_epoch(batches, e)
                if validation is not None:
                    val = self.evaluate(validation, batch_size=eval_batch_size)
                    logs.update({f"val_{k}": v for k, v in val.items()})
                logs["lr"] = self.optimizer.lr
                history.append(logs)
                self._emit("on_epoch_end", e, logs)
                if self.stop_training:
                    history.stop_reason = history.stop_reason or "stopped by a callback"
                    break
        except KeyboardInterrupt:
            history.interrupted = True
            history.stop_reason = (f"interrupted by the user in epoch {self.epoch - start + 1}; "
                                   "the model keeps the weights reached so far")
            self._emit("on_interrupt")
        finally:
            self.updating = False
            # the epochs completed and recorded, however the run ended (a Ctrl-C during the last
            # validation included): the next fit() goes on from there
            self.epoch = start + history.epochs
            for cb in self.callbacks:
                if hasattr(cb, "close"):
                    cb.close()
        self._emit("on_train_end", history)
        return history

    def train_epoch(self, batches, epoch):
        """One pass over ``batches``; returns the epoch's logs (mean loss, metrics, time, speed)."""
        self.model.train()
        sums = EpochSums(self.metrics)
        t0 = time.perf_counter()
        for step, (xb, yb) in enumerate(batches):
            inputs, x = _model_input(xb)
            yb = backend.to_device(yb)
            threads.adapt_if_due()  # a look at the load every threads.CHECK_EVERY seconds in long epochs
            out, value = self.train_step(inputs, yb)
            sums.add(len(x), value, self._step_metrics(out.data, yb))
            self.history.step_loss.append(value)
            elapsed = time.perf_counter() - t0
            self._emit("on_step_end", epoch, step,
                       {"loss": value, "time": elapsed, "samples_per_s": sums.n / max(elapsed, 1e-9)})
        logs = sums.logs()  # the epoch's one read of the metric sums
        logs["time"] = time.perf_counter() - t0
        logs["samples_per_s"] = sums.n / max(logs["time"], 1e-9)
        return logs

    def train_step(self, inputs, targets):
        """One update: forward, loss, backward, step, zero grad. Returns (outputs, loss value)."""
        out = self.model(inputs)                        # forward
        loss = self.loss_fn(out, targets)               # loss
        value = float(loss.data)                        # the step's one read back to the host
        self._emit("on_loss", value, inputs, targets)   # the NaN guard stops here, before any harm
        if not loss.requires_grad:                      # not autograd's message from backward()
            raise ValueError(arguments.nothing_to_train(self.model))
        loss.backward()                                 # backward
        self._emit("on_before_update", value)
        self.updating = True
        self.optimizer.step()                           # step
        self.updating = False
        self.zero_grad()                                # zero grad
        return out, value

    def zero_grad(self):
        """Clear the gradient of every parameter backward reached: the optimizer's and the model's.

        The optimizer may update only part of the model (a head fine-tuned with the body frozen),
        but backward still fills the body's ``.grad``; kept, those would pile up step after step and
        the next optimizer over all the parameters would apply them all at once.
        """
        self.optimizer.zero_grad()
        self.model.zero_grad()

    def _fit_setup(self, train, epochs, batch_size, shuffle, seed, transform, checkpoint, validation,
                   eval_batch_size):
        """Check fit()'s arguments before any work; returns the training batches."""
        arguments.check_epochs(epochs)
        if checkpoint is not None:
            check_checkpoint_path(checkpoint, self.model)
        _on_current_device(self.model)
        batches = arguments.batches_for("fit: the training data", train, batch_size, shuffle, seed, transform)
        if validation is not None:  # now, not as a made-up val_loss of 0.0 after the first epoch
            arguments.batches_for("fit: the validation data", validation, eval_batch_size, shuffle=False)
        self._choose_metrics(batches)
        self.fit_epochs, self.steps_per_epoch = int(epochs), len(batches)
        return batches

    def _fit_callbacks(self, validation, early_stopping, checkpoint, callbacks, verbose):
        """The safety nets and the progress display, in the order they run, around the user's own."""
        early_stopping = arguments.as_early_stopping(early_stopping)
        monitor = early_stopping.monitor if early_stopping else ("val_loss" if validation is not None else "loss")
        if monitor.startswith("val_") and validation is None:
            raise ValueError(f"fit: early stopping monitors {monitor!r} but no validation data was given")
        if early_stopping:  # the best epoch and the checkpoint follow early stopping's monitor and mode
            best = BestEpoch(monitor, early_stopping.min_delta, early_stopping.mode)
        else:
            best = BestEpoch(monitor)
        own = [best, NaNGuard()]
        if early_stopping:
            early_stopping.best = best
            own.append(early_stopping)
        if checkpoint is not None:
            own.append(Checkpoint(checkpoint, best))
        callbacks = arguments.check_callbacks(callbacks)
        if verbose and not any(getattr(cb, "shows_progress", False) for cb in callbacks):  # a dashboard replaces it
            own.append(ProgressLog())
        return own + callbacks + [SafeInterrupt()]  # last: the others see the step or epoch first

    # --- evaluation -------------------------------------------------------------------------
    @no_grad()
    def evaluate(self, data, batch_size=1000) -> dict:
        """Loss and metrics over a whole dataset (evaluation mode: no dropout)."""
        batches = arguments.batches_for("evaluate: the data", data, batch_size, shuffle=False, where="evaluate")
        self._choose_metrics(batches)
        _on_current_device(self.model)
        was_training = self.model.training
        self.model.eval()
        sums = EpochSums(self.metrics)
        try:
            for xb, yb in batches:
                inputs, xb = _model_input(xb)
                yb = backend.to_device(yb)
                out = self.model(inputs)
                loss = self.loss_fn(out, yb).data.astype("float64")  # summed on the device
                sums.add(len(xb), loss, self._step_metrics(out.data, yb))
        finally:
            self.model.train(was_training)
        result = sums.logs()
        if not math.isfinite(result["loss"]):
            raise ValueError("evaluate: " + explain_nonfinite_loss(self.model, batches, result["loss"]))
        return result

    @no_grad()
    def predict(self, x, batch_size=1000) -> np.ndarray:
        """The model's outputs for ``x`` as a NumPy array.

        x: an array or Tensor of inputs, a Dataset (its inputs; with their lengths for padded
        sequences), or ``(x, lengths)`` for padded sequences.
        """
        x, lengths = arguments.predict_inputs(x)
        arguments.check_batch_size("predict", batch_size)
        _on_current_device(self.model)
        was_training = self.model.training
        self.model.eval()
        try:
            outs = []
            # NaN inputs: NumPy's "invalid value encountered in matmul" is replaced by the warning below
            with np.errstate(invalid="ignore"):
                for start in range(0, len(x), batch_size):
                    xb = x[start:start + batch_size]
                    inputs, _ = _model_input(xb if lengths is None else (xb, lengths[start:start + batch_size]))
                    outs.append(backend.to_numpy(self.model(inputs).data))
        finally:
            self.model.train(was_training)
        if not outs:
            raise ValueError("predict: got no inputs (an empty array)")
        out = np.concatenate(outs)
        if out.dtype.kind in "fc" and not np.isfinite(out).all():
            warn_at_caller(explain_nonfinite_outputs(self.model, x, out))
        return out


def save_checkpoint(model, path):
    """Save the model's weights atomically; returns the path."""
    return model.save(path)

"""What the Trainer's methods accept, and what they say when an argument will not do.

``Trainer(...)``, ``fit``, ``evaluate`` and ``predict`` take many kinds of arguments (a loss by
name or as a function, data as a Dataset, a tuple or Batches, early stopping as a flag, a
patience or an object, ...). Each is turned into the one form the loop uses here, or refused
with an error that names the argument, what it got and the fix, before any work is done, rather
than as a message from deep inside the loop. Kept apart so that ``trainer.py`` reads as the loop.

    >>> loss_function("mse").__name__
    'mse'
    >>> as_early_stopping(5)
    EarlyStopping(patience=5, monitor='val_loss', mode='auto')
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import functional as F
from .. import optim as optim_mod
from ..autograd import Tensor
from ..data.batches import Batches, _as_dataset
from .callbacks import HOOKS
from .monitor import EarlyStopping

LOSSES = {"cross_entropy": F.cross_entropy, "mse": F.mse, "binary_cross_entropy": F.binary_cross_entropy}


def loss_function(loss):
    """The Trainer's ``loss``: a function, or the name of one in LOSSES."""
    if callable(loss):
        return loss
    try:
        return LOSSES[loss]
    except KeyError:
        raise ValueError(f"unknown loss {loss!r}: use one of {', '.join(LOSSES)} or pass a function") from None


def optimizer_from(optimizer, lr):
    """The Trainer's ``optimizer`` (an object or a name such as "sgd") with its ``lr``, given in one place."""
    if lr is not None and isinstance(optimizer, optim_mod.Optimizer):
        raise ValueError(f"Trainer: lr={lr} was given beside an optimizer object that has its own "
                         f"(lr={optimizer.base_lr:g}); set it in one place: "
                         f"{type(optimizer).__name__}(lr={lr}, ...) or optimizer='sgd', lr={lr}")
    return optim_mod.get(optimizer, **({"lr": lr} if lr is not None else {}))


def as_batches(data, batch_size, shuffle, seed=0, transform=None, drop_last=False, where="fit"):
    """``data`` (a Dataset, an ``(x, y)`` tuple, ``((x, lengths), y)``) as Batches; Batches as they are."""
    if isinstance(data, Batches):
        return data
    if data is None:
        raise ValueError(f"{where}: no data given")
    return Batches(_as_dataset(data, where), batch_size=batch_size, shuffle=shuffle, seed=seed, transform=transform,
                   drop_last=drop_last)


def with_batches(batches, what):
    """``batches``, or a ValueError when they give no batch at all (drop_last with fewer samples than
    batch_size): an average over no sample would read 0.0, a made-up perfect score."""
    if len(batches) == 0:
        raise ValueError(f"{what} gives no batches: {batches.num_samples} samples, batch_size={batches.batch_size}, "
                         f"drop_last={batches.drop_last} (which drops the last, incomplete batch); use a batch_size "
                         f"of at most {batches.num_samples}, or drop_last=False")
    return batches


def batches_for(what, data, batch_size, shuffle, seed=0, transform=None, where="fit"):
    """``data`` as Batches that give at least one batch; ``what`` names the data in the error."""
    return with_batches(as_batches(data, batch_size, shuffle, seed, transform, where=where), what)


def check_epochs(epochs):
    """fit's ``epochs``: a positive int. An array here is the usual slip of fit(x, y)."""
    if hasattr(epochs, "shape") and getattr(epochs, "ndim", 0) > 0:
        raise TypeError(f"fit: the second argument is epochs, but it got an array of shape "
                        f"{tuple(epochs.shape)} (labels?): pass inputs and targets together, "
                        "trainer.fit((x, y), epochs=...), or a Dataset")
    if not isinstance(epochs, (int, np.integer)) or isinstance(epochs, bool) or epochs < 1:
        raise ValueError(f"fit: epochs must be a positive integer, got {epochs!r}")


def check_batch_size(where, batch_size):
    """A batch size must be a positive int; checked up front, so the user reads the argument's name
    rather than ``range() arg 3 must not be zero`` from deep inside the loop."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"{where}: batch_size must be a positive integer, got {batch_size!r}; "
                         "e.g. batch_size=1000 (the default)")


def as_early_stopping(value):
    """fit's ``early_stopping``: an EarlyStopping, a patience (int), True (the defaults) or
    False/None (none). A flag is the first thing people try; anything else is named here rather than
    failing as ``'bool' object has no attribute 'monitor'``."""
    if value is None or value is False:
        return None
    if value is True:
        return EarlyStopping()
    if isinstance(value, numbers.Integral):
        return EarlyStopping(patience=value)
    if not isinstance(value, EarlyStopping):
        raise TypeError("fit: early_stopping must be True (patience 3), a patience such as 5, or "
                        f"dl.EarlyStopping(patience=..., monitor=..., mode=...), got {value!r}")
    return value


def check_callbacks(callbacks):
    """fit's ``callbacks`` as a list, each an object with at least one of the hooks."""
    callbacks = list(callbacks)
    for cb in callbacks:
        if not any(hasattr(cb, hook) for hook in HOOKS):
            raise TypeError(f"fit: callbacks must be objects with hooks such as on_epoch_end (subclasses of "
                            f"dllab.Callback), got {cb!r}")
    return callbacks


def predict_inputs(x):
    """predict's ``x`` as (inputs, lengths): an array or Tensor, a Dataset (its inputs, with their
    lengths for padded sequences) or ``(x, lengths)``; an ``(x, y)`` pair is refused."""
    lengths = None
    if hasattr(x, "x") and hasattr(x, "y"):  # a Dataset
        x, lengths = x.x, getattr(x, "lengths", None)
    elif isinstance(x, tuple) and len(x) == 2 and np.ndim(x[1]) == 1 and np.ndim(x[0]) == 3:
        x, lengths = x  # (x, lengths): padded sequences
    elif isinstance(x, (tuple, list)):
        raise TypeError("predict: give the inputs x (an array), a Dataset, or (x, lengths) for "
                        f"padded sequences; got a {type(x).__name__} of {len(x)} items (an (x, y) "
                        "pair? pass x alone)")
    return (x.data if isinstance(x, Tensor) else x), lengths


def nothing_to_train(model):
    """Why fit's loss has no gradient, in the user's terms (checked after the first forward pass:
    layers create their weights there)."""
    if not model.parameters():
        return (f"fit: this model has no parameters to train: {model!r} has no layer with weights (such as "
                "dl.Dense or dl.Conv2D), so there is nothing for the optimizer to learn. Add one, e.g. "
                "model = dl.Flatten() >> dl.Dense(10); a model without parameters can still be used with "
                "evaluate() and predict()")
    return ("fit: the loss does not depend on the model's parameters, so there is nothing to learn from it: "
            "the loss function (or the model's forward) computed on plain arrays (.data, .numpy(), NumPy "
            "functions) instead of Tensors, or under no_grad()")


__all__ = ["LOSSES", "as_batches", "as_early_stopping", "batches_for", "check_batch_size", "check_callbacks",
           "check_epochs", "loss_function", "nothing_to_train", "optimizer_from", "predict_inputs", "with_batches"]

"""Learning-rate schedules: callables epoch -> factor on the optimizer's base learning rate.

An optimizer's ``schedule`` may be any function of the epoch (``lambda epoch: 0.9 ** epoch``);
these three are the usual ones, each checking its arguments where the mistake is made rather
than at the first epoch (a ZeroDivisionError, a learning rate of 0 or one that flips sign).
They are apart from the optimizers because they know nothing of parameters or gradients.

    >>> [round(StepLR(step_size=2, gamma=0.5)(epoch), 3) for epoch in range(5)]
    [1.0, 1.0, 0.5, 0.5, 0.25]
    >>> [round(CosineLR(epochs=4)(epoch), 3) for epoch in range(5)]
    [1.0, 0.854, 0.5, 0.146, 0.0]
"""

from __future__ import annotations

import math
import numbers

from .._warnings import warn_at_caller


def _check_schedule(where, schedule):
    """An optimizer's ``schedule``: None or a callable epoch -> factor; anything else is named here
    rather than failing as ``'float' object is not callable`` at the first step."""
    if schedule is None or callable(schedule):
        return schedule
    if isinstance(schedule, numbers.Real) and not isinstance(schedule, bool):
        hint = (f"; for a constant learning rate leave schedule out and set lr, for a decay by {schedule!r} "
                f"per epoch write schedule=ExponentialLR({schedule!r})")
    else:
        hint = ""
    raise TypeError(f"{where}: schedule must be a function of the epoch that returns the factor on lr, such as "
                    f"dl.optim.StepLR(10), dl.optim.ExponentialLR(0.95), dl.optim.CosineLR(20) or "
                    f"lambda epoch: 0.9 ** epoch; got the {type(schedule).__name__} {schedule!r}{hint}")


def _positive_epochs(where, name, value, example):
    """A whole number of epochs >= 1, or a ValueError naming the argument (not a ZeroDivisionError,
    or a silent int(2.5) == 2, later)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{where}: {name} must be a positive whole number of epochs, got {value!r}; e.g. {example}")
    return int(value)


def _why_not(gamma):
    if gamma == 0:
        return "the learning rate would be 0 after the first decay, and training would stop"
    if gamma < 0:
        return "the learning rate would turn negative (every other decay), and training would climb the loss"
    return "the learning rate would not be a finite number"


def _decay_factor(where, gamma, example):
    """``gamma``, the factor on the learning rate: a number > 0. Zero makes the learning rate 0 (no more
    training) and a negative one makes it negative (gradient ascent) or flip sign every epoch; both
    silently. Above 1 the learning rate grows every epoch: allowed (a warm-up), with a warning."""
    if isinstance(gamma, bool) or not isinstance(gamma, numbers.Real):
        raise TypeError(f"{where}: gamma must be a number, got the {type(gamma).__name__} {gamma!r}; e.g. {example}")
    if not gamma > 0 or not math.isfinite(gamma):
        raise ValueError(f"{where}: gamma, the factor on the learning rate, must be > 0 (usually below 1, a decay), "
                         f"got gamma={gamma!r}: {_why_not(gamma)}; "
                         f"e.g. {example}")
    if gamma > 1:
        warn_at_caller(f"{where}: gamma={gamma!r} is above 1, so the learning rate grows every time it is applied; "
                       f"a decay needs gamma < 1, e.g. {example}")
    return gamma


class StepLR:
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs."""

    def __init__(self, step_size, gamma=0.1):
        # checked here, where the mistake is made, not as a ZeroDivisionError at the first epoch
        if isinstance(step_size, bool) or not isinstance(step_size, numbers.Integral) or step_size < 1:
            raise ValueError(f"StepLR: step_size must be a positive integer (epochs between two drops of the "
                             f"learning rate), got {step_size!r}; e.g. StepLR(step_size=10, gamma=0.1)")
        self.step_size = int(step_size)
        self.gamma = _decay_factor("StepLR", gamma, "StepLR(step_size=10, gamma=0.1)")

    def __call__(self, epoch):
        return self.gamma ** (epoch // self.step_size)

    def __repr__(self):
        return f"StepLR(step_size={self.step_size}, gamma={self.gamma})"


class ExponentialLR:
    """lr = base_lr * gamma^epoch."""

    def __init__(self, gamma):
        self.gamma = _decay_factor("ExponentialLR", gamma, "ExponentialLR(gamma=0.95) (5 % less each epoch)")

    def __call__(self, epoch):
        return self.gamma**epoch

    def __repr__(self):
        return f"ExponentialLR(gamma={self.gamma})"


class CosineLR:
    """Cosine decay from base_lr to ``min_factor * base_lr`` over ``epochs`` epochs."""

    def __init__(self, epochs, min_factor=0.0):
        self.epochs = _positive_epochs("CosineLR", "epochs", epochs, "CosineLR(epochs=20) (the length of the decay)")
        if isinstance(min_factor, bool) or not isinstance(min_factor, numbers.Real):
            raise TypeError(f"CosineLR: min_factor must be a number, got the {type(min_factor).__name__} "
                            f"{min_factor!r}; e.g. CosineLR(epochs=20, min_factor=0.01)")
        if not 0 <= min_factor <= 1:
            raise ValueError(f"CosineLR: min_factor, the final learning rate as a fraction of lr, must be in [0, 1], "
                             f"got min_factor={min_factor!r}; e.g. CosineLR(epochs=20, min_factor=0.01)")
        self.min_factor = min_factor

    def __call__(self, epoch):
        t = min(epoch, self.epochs) / self.epochs
        return self.min_factor + (1 - self.min_factor) * 0.5 * (1 + math.cos(math.pi * t))

    def __repr__(self):
        return f"CosineLR(epochs={self.epochs}, min_factor={self.min_factor})"


__all__ = ["StepLR", "ExponentialLR", "CosineLR"]

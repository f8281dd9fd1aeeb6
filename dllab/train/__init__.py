"""Training: the Trainer's loop (``trainer``) and the callbacks that keep it safe (``callbacks``)."""

from .callbacks import (
    BestEpoch,
    Callback,
    Checkpoint,
    EarlyStopping,
    NaNGuard,
    NonFiniteLossError,
    ProgressLog,
    SafeInterrupt,
)
from .trainer import History, Trainer, save_checkpoint

__all__ = ["BestEpoch", "Callback", "Checkpoint", "EarlyStopping", "History", "NaNGuard", "NonFiniteLossError",
           "ProgressLog", "SafeInterrupt", "Trainer", "save_checkpoint"]

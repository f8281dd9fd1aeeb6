"""Training: the Trainer's loop and what it relies on (import the names from ``dllab.train`` or ``dllab``).

trainer     Trainer: fit, evaluate, predict; one step is five calls
history     History (what fit returns) and the sums of an epoch
arguments   what fit, evaluate and predict accept, checked before any work
callbacks   Callback (the hooks), ProgressLog, SafeInterrupt (Ctrl-C)
monitor     BestEpoch, EarlyStopping, Checkpoint: the callbacks that follow the monitored value
nonfinite   NaNGuard and NonFiniteLossError; why a loss or an output is NaN/inf
"""

from .callbacks import Callback, ProgressLog, SafeInterrupt
from .history import History
from .monitor import BestEpoch, Checkpoint, EarlyStopping
from .nonfinite import NaNGuard, NonFiniteLossError
from .trainer import Trainer, save_checkpoint

__all__ = ["BestEpoch", "Callback", "Checkpoint", "EarlyStopping", "History", "NaNGuard", "NonFiniteLossError",
           "ProgressLog", "SafeInterrupt", "Trainer", "save_checkpoint"]

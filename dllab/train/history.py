"""What training records: the History that ``fit`` returns, and the sums an epoch's values come from.

A History is a dict of per-epoch lists (``history["val_loss"][-1]``) with a few attributes beside
them (every step's loss, the best epoch, why training stopped); :class:`EpochSums` adds up the
loss and the metrics over one epoch, weighted by batch size. They are apart from the Trainer so
that the loop reads as the loop.

    >>> history = History()
    >>> history.append({"loss": 0.9, "accuracy": 0.7}); history.append({"loss": 0.5, "accuracy": 0.8})
    >>> history.epochs, history["loss"], history.last()
    (2, [0.9, 0.5], {'loss': 0.5, 'accuracy': 0.8})
"""

from __future__ import annotations


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

    def note(self, text):
        """Add ``text`` to ``stop_reason``, the line shown when training ends (restored weights,
        a checkpoint kept), also when all the epochs ran."""
        self.stop_reason = (f"{self.stop_reason}; {text}" if self.stop_reason
                            else f"ran all {self.epochs} epochs; {text}")

    def last(self) -> dict:
        return {k: v[-1] for k, v in self.items() if v}

    def __repr__(self):
        body = ", ".join(f"{k}={v[-1]:.4g}" for k, v in self.items() if v)
        return f"History({self.epochs} epochs: {body})"



class EpochSums:
    """Sums of the loss and the metrics over an epoch, weighted by batch size; read once at the end
    (the metric sums stay on the device until then)."""

    def __init__(self, metrics):
        self.metrics, self.n, self.loss = metrics, 0, 0.0
        self.values = [0.0] * len(metrics)

    def add(self, n, loss, metric_values):
        self.n += n
        self.loss = self.loss + loss * n
        for i, m in enumerate(metric_values):
            self.values[i] += m * n

    def logs(self, prefix=""):
        out = {prefix + "loss": float(self.loss) / max(self.n, 1)}
        out.update({prefix + name: float(v) / max(self.n, 1) for (name, _), v in zip(self.metrics, self.values)})
        return out


__all__ = ["History", "EpochSums"]

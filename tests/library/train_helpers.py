"""The Trainer's tests' shared data: a small three-class blob set, a regression that diverges and a callback that
records every hook call."""

import numpy as np

import dllab as dl


def blobs(n=300, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = np.array([[2.0, 0.0], [-2.0, 1.0], [0.0, -2.5]])
    x = (centres[y] + rng.standard_normal((n, 2)) * 0.5).astype(np.float32)
    return x, y.astype(np.int64)


def _diverging_regression():
    x, _ = blobs()
    return x, x[:, :1] * 3.0


class Recorder(dl.Callback):
    """Every hook call with its epoch and the inputs each step trained on."""

    def __init__(self):
        self.calls, self.inputs, self.step_logs = [], [], []

    def on_epoch_begin(self, trainer, epoch):
        self.calls.append(("begin", epoch, trainer.optimizer.epoch))

    def on_loss(self, trainer, value, inputs, targets):
        self.inputs.append(inputs.data.copy())

    def on_step_end(self, trainer, epoch, step, logs):
        self.step_logs.append(dict(logs))

    def on_epoch_end(self, trainer, epoch, logs):
        self.calls.append(("end", epoch, trainer.optimizer.epoch))

"""Lab 5 (transfer learning): the checks of its visible tests.

``ProbeLayer`` watches how a function runs a model (in batches? under ``dl.no_grad()``? in evaluation
mode?); ``parameters_changed_by_a_step`` tells which parameters one training step moves, which a frozen
layer's must not. Lab 5 has no served answers: its tests compare with the library itself.
"""

from __future__ import annotations

import numpy as np

from ..autograd import is_grad_enabled
from ..layers import Module
from .checking import as_array

__all__ = ["ProbeLayer", "parameters_changed_by_a_step"]  # what the package re-exports: labs.<name> in the notebook


class ProbeLayer(Module):
    """A layer that passes its input through unchanged and records how it was called.

    ``calls`` holds one ``(batch size, gradients enabled, training mode)`` per call. Put it
    in a Sequential to check how a function runs a model (in batches? under no_grad? in
    evaluation mode?).
    """

    def __init__(self):
        super().__init__()
        self.calls = []

    def forward(self, x):
        self.calls.append((int(x.shape[0]), is_grad_enabled(), self.training))
        return x

    @property
    def batch_sizes(self):
        return [n for n, _, _ in self.calls]


def parameters_changed_by_a_step(model, x, y, lr=0.1):
    """{parameter name: whether one SGD step (momentum 0.9, weight decay 5e-4) on the cross-entropy of
    model(x) against the labels y changed it at all}: what a frozen layer must show as False."""
    from .. import Tensor, cross_entropy
    from ..backend import to_device
    from ..optim import SGD

    inputs = Tensor(to_device(np.asarray(x)))
    model(inputs)  # creates the weights of a new layer before the optimizer reads them
    named = list(model.named_parameters())
    before = [np.array(as_array(p), copy=True) for _, p in named]
    optimizer = SGD(model, lr=lr, momentum=0.9, weight_decay=5e-4)
    model.train()
    loss = cross_entropy(model(inputs), np.asarray(y))
    optimizer.zero_grad()
    if loss.requires_grad:  # with every parameter frozen there is nothing to differentiate
        loss.backward()
    optimizer.step()
    return {name: not np.array_equal(old, p.numpy()) for (name, p), old in zip(named, before)}

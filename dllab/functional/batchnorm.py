"""Batch normalisation: normalise each channel with batch statistics while training.

For x of shape (N, C) the statistics are taken over N; for (N, C, H, W) over N, H and W
(one mean and variance per channel C):

    mu = mean(x),  var = mean((x - mu)^2)               (biased, over the M values of a channel)
    x_hat = (x - mu) / sqrt(var + eps)
    y = gamma * x_hat + beta

Training also updates the running statistics in place, as PyTorch does:

    running_mean = (1 - momentum) * running_mean + momentum * mu
    running_var  = (1 - momentum) * running_var  + momentum * var * M / (M - 1)   (unbiased)

Evaluation uses the running statistics instead of the batch's. The backward below uses the
simplified closed form; the chain rule step by step is the reference
``dllab.functional.reference.batch_norm`` (tests/library/test_reference.py compares the two).
"""

from __future__ import annotations

from ..autograd import Function, _raw
from ..backend import array_module


def _axes_and_shape(x, where="batch_norm"):
    if x.ndim == 2:
        return (0,), (1, x.shape[1])
    if x.ndim == 4:
        return (0, 2, 3), (1, x.shape[1], 1, 1)
    raise ValueError(f"{where} expects (N, C) or (N, C, H, W) input, got shape {tuple(x.shape)}")


class BatchNorm(Function):
    """y = gamma * (x - mu) / sqrt(var + eps) + beta, per channel (axis 1).

    x: (N, C) or (N, C, H, W); gamma, beta: (C,) or None (no scale/shift).
    Training (batch statistics, M values per channel, x_hat as above, s = 1/sqrt(var+eps)):
        d/dgamma = sum(g * x_hat),  d/dbeta = sum(g)
        d/dx = gamma * s / M * (M * g - sum(g) - x_hat * sum(g * x_hat))
    Evaluation (fixed running statistics): d/dx = gamma * s * g.
    """

    def forward(self, x, gamma=None, beta=None, running_mean=None, running_var=None,
                training=True, momentum=0.1, eps=1e-5):
        xp = array_module(x)
        axes, shape = _axes_and_shape(x)
        C = x.shape[1]
        for name, p in (("gamma", gamma), ("beta", beta), ("running_mean", running_mean),
                        ("running_var", running_var)):
            if p is not None and tuple(p.shape) != (C,):
                raise ValueError(f"batch_norm: {name} must have shape ({C},), one value per channel of "
                                 f"input shape {tuple(x.shape)}, got {tuple(p.shape)}")
        M = x.size // C
        if training:
            if M < 2:
                raise ValueError(f"batch_norm: training needs more than one value per channel to compute "
                                 f"a variance, got input shape {tuple(x.shape)}; use a batch of 2 or more "
                                 "or call model.eval()")
            mean = x.mean(axis=axes)
            centered = x - mean.reshape(shape)
            var = (centered * centered).mean(axis=axes)
            if running_mean is not None:
                running_mean *= 1 - momentum
                running_mean += momentum * mean
            if running_var is not None:
                running_var *= 1 - momentum
                running_var += (momentum * M / (M - 1)) * var
        else:
            if running_mean is None or running_var is None:
                raise ValueError("batch_norm: evaluation (training=False) needs running_mean and running_var")
            mean, var = running_mean, running_var
            centered = x - mean.reshape(shape)
        inv_std = (1.0 / xp.sqrt(var + eps)).astype(x.dtype)
        x_hat = centered * inv_std.reshape(shape)
        out = x_hat * gamma.reshape(shape) if gamma is not None else x_hat.copy()
        if beta is not None:
            out += beta.reshape(shape)
        self.x_hat, self.inv_std, self.gamma = x_hat, inv_std, gamma
        self.axes, self.shape, self.M, self.training = axes, shape, M, training
        self.has_beta = beta is not None
        return out

    def backward(self, g):
        axes, shape = self.axes, self.shape
        x_hat = self.x_hat
        sum_g = g.sum(axis=axes)
        sum_gx = (g * x_hat).sum(axis=axes)
        scale = self.inv_std if self.gamma is None else self.inv_std * self.gamma
        if self.training:
            gx = g - (sum_g / self.M).reshape(shape) - x_hat * (sum_gx / self.M).reshape(shape)
            gx *= scale.reshape(shape)
        else:
            gx = g * scale.reshape(shape)
        ggamma = sum_gx if self.gamma is not None else None
        gbeta = sum_g if self.has_beta else None
        return gx, ggamma, gbeta


def batch_norm(x, gamma=None, beta=None, running_mean=None, running_var=None, training=True,
               momentum=0.1, eps=1e-5):
    """Batch normalisation over axis 1 (channels) of (N, C) or (N, C, H, W) inputs.

    gamma, beta: (C,) Tensors (learned scale and shift) or None.
    running_mean, running_var: (C,) arrays updated in place while ``training``;
    used instead of the batch statistics when ``training`` is False.
    Returns a Tensor of x's shape.

        >>> import numpy as np
        >>> from dllab import Tensor
        >>> x = Tensor(np.array([[1.0, 10.0], [3.0, 30.0]]))       # 2 samples, 2 channels
        >>> running_mean, running_var = np.zeros(2), np.ones(2)
        >>> batch_norm(x, None, None, running_mean, running_var).data.round(4)
        array([[-1., -1.],
               [ 1.,  1.]])
        >>> running_mean                                           # 0.9 * 0 + 0.1 * the batch mean
        array([0.2, 2. ])
    """
    return BatchNorm.apply(x, gamma, beta, _raw(running_mean), _raw(running_var),
                           training=training, momentum=momentum, eps=eps)


__all__ = ["BatchNorm", "batch_norm"]

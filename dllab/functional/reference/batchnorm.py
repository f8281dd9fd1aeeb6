"""Batch normalisation, read against its formula: forward in small steps, backward through each.

The fast twin, ``dllab.functional.batchnorm.batch_norm``, computes the same gradient from
the simplified closed form dx = gamma / std / M * (M g - sum(g) - x_hat sum(g x_hat)).
"""

from __future__ import annotations

from ...autograd import Function, _raw
from ...backend import array_module


def channel_axes(x):
    """The axes a channel's statistics run over: (0,) for (N, C), (0, 2, 3) for (N, C, H, W)."""
    if x.ndim not in (2, 4):
        raise ValueError(f"batch_norm expects (N, C) or (N, C, H, W) input, got shape {tuple(x.shape)}")
    return (0,) if x.ndim == 2 else (0, 2, 3)


class BatchNormReference(Function):
    """Batch normalisation over axis 1 (channels), the chain rule written out step by step.

    x: (N, C) or (N, C, H, W); gamma, beta: (C,) or None (scale 1, shift 0);
    running_mean, running_var: (C,) arrays -> y: the shape of x.
    Statistics run over the M = x.size / C values of each channel ("sum" below too).

    Training:                                    Backward, from g = dL/dy:
        mu    = sum(x) / M                           dbeta  = sum(g)
        xmu   = x - mu                               dgamma = sum(g * x_hat)
        var   = sum(xmu^2) / M                       dx_hat = g * gamma
        std   = sqrt(var + eps)                      dstd   = -sum(dx_hat * xmu) / std^2
        x_hat = xmu / std                            dvar   = dstd / (2 * std)
        y     = gamma * x_hat + beta                 dxmu   = dx_hat / std + dvar * 2 * xmu / M
                                                     dmu    = -sum(dxmu)
                                                     dx     = dxmu + dmu / M
    and the running statistics, in place:
        running_mean = (1 - momentum) * running_mean + momentum * mu
        running_var  = (1 - momentum) * running_var  + momentum * var * M / (M - 1)

    Evaluation uses the running statistics as constants: mu = running_mean, var = running_var,
    so dx = dx_hat / std.
    """

    def forward(self, x, gamma=None, beta=None, running_mean=None, running_var=None,
                training=True, momentum=0.1, eps=1e-5):
        xp = array_module(x)
        axes = channel_axes(x)
        shape = [1] * x.ndim
        shape[1] = x.shape[1]                                      # (1, C) or (1, C, 1, 1)
        M = x.size // x.shape[1]
        if training:
            mu = x.mean(axis=axes, keepdims=True)
            xmu = x - mu
            var = (xmu**2).mean(axis=axes, keepdims=True)
            if running_mean is not None:
                running_mean[...] = (1 - momentum) * running_mean + momentum * mu.reshape(-1)
            if running_var is not None:
                running_var[...] = (1 - momentum) * running_var + momentum * var.reshape(-1) * M / (M - 1)
        else:
            if running_mean is None or running_var is None:
                raise ValueError("batch_norm: evaluation (training=False) needs running_mean and running_var")
            mu, var = running_mean.reshape(shape), running_var.reshape(shape)
            xmu = x - mu
        std = xp.sqrt(var + eps)
        x_hat = xmu / std
        gamma_ = 1 if gamma is None else gamma.reshape(shape)
        beta_ = 0 if beta is None else beta.reshape(shape)
        y = gamma_ * x_hat + beta_
        self.saved = (xmu, std, x_hat, gamma_, axes, M, training)
        self.has_gamma, self.has_beta = gamma is not None, beta is not None
        return y.astype(x.dtype, copy=False)

    def backward(self, g):
        xmu, std, x_hat, gamma, axes, M, training = self.saved
        dbeta = g.sum(axis=axes)
        dgamma = (g * x_hat).sum(axis=axes)
        dx_hat = g * gamma
        if not training:
            dx = dx_hat / std
        else:
            dstd = -(dx_hat * xmu).sum(axis=axes, keepdims=True) / std**2
            dvar = dstd / (2 * std)
            dxmu = dx_hat / std + dvar * 2 * xmu / M
            dmu = -dxmu.sum(axis=axes, keepdims=True)
            dx = dxmu + dmu / M
        return dx, dgamma if self.has_gamma else None, dbeta if self.has_beta else None


def batch_norm(x, gamma=None, beta=None, running_mean=None, running_var=None, training=True,
               momentum=0.1, eps=1e-5):
    """The reference batch normalisation: same arguments and result as ``dllab.functional.batch_norm``.

        >>> import numpy as np
        >>> from dllab import Tensor
        >>> y = batch_norm(Tensor(np.array([[1.0], [3.0]])))   # one channel: mean 2, std 1
        >>> y.data.round(4).ravel().tolist()
        [-1.0, 1.0]
    """
    return BatchNormReference.apply(x, gamma, beta, _raw(running_mean), _raw(running_var),
                                    training=training, momentum=momentum, eps=eps)


__all__ = ["BatchNormReference", "batch_norm", "channel_axes"]

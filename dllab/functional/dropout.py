"""Dropout: randomly zero activations while training (inverted dropout)."""

from __future__ import annotations

from .. import backend, kernels
from ..autograd import Function


class Dropout(Function):
    """out = x * m / (1 - p), m ~ Bernoulli(1 - p) per element.

    Scaling by 1/(1-p) while training keeps the expected activation the same, so
    evaluation simply skips dropout.  d/dx = g * m / (1 - p).
    """

    def forward(self, x, p=0.5):
        keep = 1.0 - p
        if backend.is_gpu_array(x):  # mask and product in one CUDA kernel (kernels/activations.cu)
            y, self.mask = kernels.dropout_forward(x, keep)
            return y
        self.mask = dropout_mask(x.shape, keep, x.dtype, backend.array_module(x))
        return x * self.mask

    def backward(self, g):
        return g * self.mask


def dropout_mask(shape, keep, dtype, xp):
    """A mask of 0 and 1/keep, drawn from dllab's generator (NumPy) or CuPy's (GPU)."""
    if xp.__name__ == "numpy":
        u = backend.rng().random(shape, dtype=dtype)
    else:
        u = xp.random.random(shape, dtype=dtype)
    return (u < keep).astype(dtype) * dtype.type(1.0 / keep)


def dropout(x, p=0.5, training=True):
    """Inverted dropout with drop probability ``p``; identity when not training or p == 0.

        >>> import numpy as np
        >>> from dllab import Tensor
        >>> x = Tensor(np.ones((4, 250)))
        >>> y = dropout(x, p=0.5).data
        >>> sorted(set(y.ravel().tolist()))     # dropped, or kept and scaled by 1 / (1 - p)
        [0.0, 2.0]
        >>> bool(0.4 < (y == 0).mean() < 0.6)
        True
        >>> dropout(x, p=0.5, training=False) is x
        True
    """
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout: the drop probability p must be in [0, 1), got {p}")
    if not training or p == 0.0:
        return x
    return Dropout.apply(x, p=p)

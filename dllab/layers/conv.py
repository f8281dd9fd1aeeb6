"""Convolutional layers: Conv2D, MaxPool2D, AvgPool2D, GlobalAvgPool and BatchNorm.

Images are NCHW (batch, channels, height, width). Like Dense, these layers learn
their input size on the first call, so a CNN is written without channel counts:

    >>> import numpy as np
    >>> from dllab import Dense, Flatten
    >>> model = Conv2D(20, 5) >> MaxPool2D(2) >> Conv2D(50, 5) >> MaxPool2D(2) >> Flatten() >> Dense(10)
    >>> model(np.zeros((8, 1, 28, 28), np.float32)).shape      # 28 -> 24 -> 12 -> 8 -> 4: 50*4*4 features
    (8, 10)
    >>> model[2].W.shape                                        # (C_out, C_in, kH, kW), C_in from the input
    (50, 20, 5, 5)
    >>> BatchNorm().eval()(np.ones((2, 3, 4, 4), np.float32)).shape
    (2, 3, 4, 4)

Shape mistakes (a kernel larger than the image, the wrong number of channels,
channels-last NHWC images) raise a ShapeError that names the layer, the shapes and a
fix. Windows that do not tile the input are floored as in PyTorch (the last rows that no
window reaches are dropped; see dllab.functional.conv).
"""

from __future__ import annotations

import numpy as np

from .. import backend
from .._warnings import warn_at_caller
from ..autograd import as_tensor
from ..functional import batchnorm as F_bn
from ..functional import conv as F_conv
from ..functional import pool as F_pool
from .init import init_method, init_weight, zeros_parameter
from .module import Module, ShapeError, _activation_name, _describe, check_dtype, resolve_activation


def _check_image_batch(layer, x):
    """A 4-D floating-point NCHW batch, or a ShapeError/TypeError naming ``layer``."""
    if x.ndim != 4:
        if x.ndim == 3:
            hint = "For a batch of grayscale images (N, H, W) add the channel axis: x[:, None]."
        elif x.ndim == 2:
            hint = ("Flat vectors (N, features) cannot be convolved; reshape images first, e.g. "
                    "x.reshape(-1, 1, 28, 28), or put this layer before Flatten().")
        else:
            hint = "Images are (batch, channels, height, width)."
        raise ShapeError(f"{layer!r} expects a 4-D NCHW input (batch, channels, height, width), got "
                         f"{_describe(x)}. {hint}")
    check_dtype(layer, x)


class Conv2D(Module):
    """2-D convolution layer: y = activation(conv2d(x, W) + b).

    x: (N, C_in, H, W) -> (N, filters, H_out, W_out).  W: (filters, C_in, kH, kW), b: (filters,).
    ``in_channels`` is taken from the first input unless given. ``padding`` is an int,
    a pair, "valid" (0) or "same" (keeps H and W; stride 1). ``init`` is "glorot"
    (default) or "he" (default when the activation is relu/leaky_relu); fans are
    C_in*kH*kW and filters*kH*kW.
    """

    def __init__(self, filters, kernel_size, stride=1, padding=0, dilation=1, activation=None, bias=True,
                 init=None, in_channels=None, name=None):
        super().__init__()
        if isinstance(filters, bool) or not isinstance(filters, (int, np.integer)) or filters < 1:
            raise ValueError(f"Conv2D: filters must be a positive integer, got {filters!r}")
        self.filters = int(filters)
        self.kernel_size = F_conv.pair(kernel_size, "kernel_size", "Conv2D")
        self.stride = F_conv.pair(stride, "stride", "Conv2D")
        self.dilation = F_conv.pair(dilation, "dilation", "Conv2D")
        if min(self.kernel_size + self.stride + self.dilation) < 1:
            raise ValueError(f"Conv2D: kernel_size, stride and dilation must be >= 1, got {kernel_size!r}, "
                             f"{stride!r}, {dilation!r}")
        self.padding = F_conv.resolve_padding(padding, self.kernel_size, self.stride, self.dilation, "Conv2D")
        self._padding_arg = padding
        self.activation = resolve_activation(activation, "Conv2D")
        self.init = init_method(init, self.activation, "Conv2D")
        self.use_bias = bias
        self.name = name
        self.in_channels = None
        self._lazy_params = ("W", "b") if bias else ("W",)
        self.W = None
        self.b = None
        if in_channels is not None:
            self._build(in_channels)

    def _build(self, in_channels):
        self.in_channels = int(in_channels)
        kh, kw = self.kernel_size
        shape = (self.filters, self.in_channels, kh, kw)
        self.W = init_weight(shape, self.in_channels * kh * kw, self.filters * kh * kw, self.init)
        if self.use_bias:
            self.b = zeros_parameter((self.filters,))

    def _after_load(self):
        if self.W is not None:
            if tuple(self.W.shape[2:]) != self.kernel_size or self.W.shape[0] != self.filters:
                raise ShapeError(f"{self!r}: loaded weights of shape {tuple(self.W.shape)} do not fit "
                                 f"{self.filters} filters of size {self.kernel_size}")
            self.in_channels = self.W.shape[1]

    def forward(self, x):
        x = as_tensor(x)
        _check_image_batch(self, x)
        if self.W is None:
            _, C, H, W = x.shape
            if W in (1, 3, 4) and C == H and C > 4 * W:
                raise ShapeError(
                    f"{self!r} got {_describe(x)}, which looks like channels-last (NHWC) images with "
                    f"{W} channels; dllab uses NCHW: convert with x.transpose(0, 3, 1, 2) (or pass "
                    f"in_channels={C} if this really is NCHW)"
                )
        where = repr(self)
        F_conv.check_conv_input(where, x.shape, (self.filters, self.in_channels or x.shape[1])
                                + self.kernel_size, error=ShapeError)
        F_conv.check_window(where, x.shape, self.kernel_size, self.stride, self.padding, self.dilation,
                            error=ShapeError)
        if self.W is None:
            self._build(x.shape[1])
        if x.dtype != self.W.dtype:
            check_dtype(self, x, self.W.dtype)
        y = F_conv.conv2d(x, self.W, self.b, self.stride, self.padding, self.dilation)
        return self.activation(y) if self.activation is not None else y

    def extra_repr(self):
        parts = [str(self.filters), f"kernel_size={_short(self.kernel_size)}"]
        if self.stride != (1, 1):
            parts.append(f"stride={_short(self.stride)}")
        if self.padding != (0, 0):
            pad = self._padding_arg if isinstance(self._padding_arg, str) else _short(self.padding)
            parts.append(f"padding={pad!r}" if isinstance(pad, str) else f"padding={pad}")
        if self.dilation != (1, 1):
            parts.append(f"dilation={_short(self.dilation)}")
        if self.activation is not None:
            parts.append(f"activation={_activation_name(self.activation)}")
        if self.in_channels is not None:
            parts.append(f"in_channels={self.in_channels}")
        if self.name:
            parts.append(f"name={self.name!r}")
        return ", ".join(parts)


def _short(p):
    return p[0] if p[0] == p[1] else p


class _Pool(Module):
    _op = "pool"

    def __init__(self, pool_size=2, stride=None, padding=0, name=None):
        super().__init__()
        where = type(self).__name__
        self.pool_size = F_conv.pair(pool_size, "pool_size", where)
        self.stride = self.pool_size if stride is None else F_conv.pair(stride, "stride", where)
        self.padding = F_conv.pair(padding, "padding", where)
        if min(self.pool_size + self.stride) < 1 or min(self.padding) < 0:
            raise ValueError(f"{where}: pool_size and stride must be >= 1 and padding >= 0")
        if self.padding[0] > self.pool_size[0] // 2 or self.padding[1] > self.pool_size[1] // 2:
            raise ValueError(f"{where}: padding {self.padding} must be at most half the pool size "
                             f"{self.pool_size}")
        self.name = name

    def forward(self, x):
        x = as_tensor(x)
        _check_image_batch(self, x)
        F_conv.check_window(repr(self), x.shape, self.pool_size, self.stride, self.padding,
                            error=ShapeError, op="pool window")
        return self._pool(x, self.pool_size, self.stride, self.padding)

    def extra_repr(self):
        parts = [f"pool_size={_short(self.pool_size)}"]
        if self.stride != self.pool_size:
            parts.append(f"stride={_short(self.stride)}")
        if self.padding != (0, 0):
            parts.append(f"padding={_short(self.padding)}")
        if self.name:
            parts.append(f"name={self.name!r}")
        return ", ".join(parts)


class MaxPool2D(_Pool):
    """Max pooling: (N, C, H, W) -> (N, C, H_out, W_out); ``stride`` defaults to ``pool_size``."""

    _pool = staticmethod(F_pool.max_pool2d)


class AvgPool2D(_Pool):
    """Average pooling: (N, C, H, W) -> (N, C, H_out, W_out); ``stride`` defaults to ``pool_size``."""

    _pool = staticmethod(F_pool.avg_pool2d)


class GlobalAvgPool(Module):
    """Mean of each channel over height and width: (N, C, H, W) -> (N, C)."""

    def __init__(self, name=None):
        super().__init__()
        self.name = name

    def forward(self, x):
        x = as_tensor(x)
        _check_image_batch(self, x)
        return F_pool.global_avg_pool(x)


class BatchNorm(Module):
    """Batch normalisation over the channel axis of (N, C) or (N, C, H, W) inputs.

    Training: y = gamma * (x - batch mean) / sqrt(batch var + eps) + beta, and the
    running mean/variance move towards the batch's by ``momentum``. Evaluation
    (``model.eval()``): the running statistics are used instead. gamma, beta: (C,)
    parameters; running_mean, running_var: (C,) buffers saved with the weights.
    The number of channels is taken from the first input unless given.
    """

    _buffers = ("running_mean", "running_var")

    def __init__(self, momentum=0.1, eps=1e-5, num_features=None, name=None):
        super().__init__()
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"BatchNorm: momentum must be in [0, 1], got {momentum}")
        if momentum > 0.5:
            # Keras's momentum (0.99) is the weight of the old running value; ours, as PyTorch's, is the
            # weight of the new batch: 0.99 would make the running statistics those of the last batch
            warn_at_caller(
                f"BatchNorm(momentum={momentum}): in dllab, as in PyTorch, momentum is the weight of the NEW batch "
                f"in the running statistics, running = (1 - momentum) * running + momentum * batch (default 0.1), "
                f"so {momentum} makes them almost those of the last batch alone. {momentum} looks like Keras's "
                f"convention, where momentum is the weight of the old value: Keras's momentum={momentum} is "
                f"dllab's momentum={round(1 - momentum, 6)}")
        if eps <= 0:
            raise ValueError(f"BatchNorm: eps must be > 0, got {eps}")
        self.momentum, self.eps = float(momentum), float(eps)
        self.num_features = None
        self.name = name
        self._lazy_params = ("gamma", "beta")
        self.gamma = None
        self.beta = None
        self.running_mean = None
        self.running_var = None
        if num_features is not None:
            self._build(num_features)

    def _build(self, num_features):
        self.num_features = int(num_features)
        self.gamma = zeros_parameter((self.num_features,), 1.0)
        self.beta = zeros_parameter((self.num_features,))
        dtype = backend.default_dtype()
        self.running_mean = backend.to_device(np.zeros(self.num_features, dtype=dtype))
        self.running_var = backend.to_device(np.ones(self.num_features, dtype=dtype))

    def _after_load(self):
        if self.gamma is not None:
            self.num_features = self.gamma.shape[0]

    def forward(self, x):
        x = as_tensor(x)
        if x.ndim not in (2, 4):
            raise ShapeError(f"{self!r} expects (N, C) features or (N, C, H, W) images, got {_describe(x)}")
        check_dtype(self, x)
        if self.gamma is None:
            self._build(x.shape[1])
        elif x.shape[1] != self.num_features:
            hint = (" The input looks channels-last (NHWC); convert with x.transpose(0, 3, 1, 2)."
                    if x.ndim == 4 and x.shape[3] == self.num_features else "")
            raise ShapeError(f"{self!r} expects {self.num_features} channels on axis 1, got "
                             f"{_describe(x)}.{hint}")
        return F_bn.batch_norm(x, self.gamma, self.beta, self.running_mean, self.running_var,
                               training=self.training, momentum=self.momentum, eps=self.eps)

    def extra_repr(self):
        parts = []
        if self.num_features is not None:
            parts.append(f"num_features={self.num_features}")
        parts.append(f"momentum={self.momentum}")
        if self.eps != 1e-5:
            parts.append(f"eps={self.eps}")
        if self.name:
            parts.append(f"name={self.name!r}")
        return ", ".join(parts)


__all__ = ["AvgPool2D", "BatchNorm", "Conv2D", "GlobalAvgPool", "MaxPool2D"]

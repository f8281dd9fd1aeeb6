"""Loss functions. Each returns a scalar Tensor: the mean over the batch."""

from __future__ import annotations

import numpy as np

from .. import backend, kernels
from .._warnings import warn_at_caller
from ..autograd import Function, Tensor
from ..backend import array_module, is_gpu_array


def _check_logits(logits, where):
    if logits.ndim != 2:
        raise ValueError(
            f"{where}: expected scores of shape (batch, classes), got shape {logits.shape}; "
            "flatten the model output or check the last layer"
        )


def _check_labels(labels, n, classes, where):
    """Integer class labels: right length, right dtype, inside 0..classes-1."""
    if labels.dtype.kind not in "iu":
        raise TypeError(
            f"{where}: integer class labels expected, got dtype {labels.dtype}; "
            "pass labels as int64 (e.g. y.astype(np.int64)) or one-hot rows of shape (batch, classes)"
        )
    if labels.shape != (n,):
        raise ValueError(f"{where}: labels must have shape ({n},) to match the scores, got {labels.shape}")
    # one test, so a GPU is asked once per step (not for a min and a max)
    if n and bool(((labels < 0) | (labels >= classes)).any()):
        labels = backend.to_numpy(labels)
        bad = int(labels.max()) if labels.max() >= classes else int(labels.min())
        where_bad = int((labels == bad).nonzero()[0][0])
        raise ValueError(
            f"{where}: label {bad} at position {where_bad} is out of range for {classes} classes "
            f"(valid labels are 0..{classes - 1}); does the last layer have one output per class?"
        )


class ProbabilitiesAsScoresWarning(UserWarning):
    """cross_entropy got rows that look like probabilities: softmax applied twice."""


def _warn_if_probabilities(logits):
    """A classic slip: softmax in the model, then cross_entropy (which applies softmax again).

    The loss still falls, slowly, and accuracy stalls, with no error anywhere. Checked on the CPU
    only (on a GPU it would cost a synchronisation per step); a few rows suffice.
    """
    rows = logits[:8]
    if rows.shape[1] > 1 and rows.min() >= 0 and rows.max() <= 1 and np.allclose(rows.sum(axis=1), 1, atol=1e-4):
        warn_at_caller(
            "cross_entropy got scores whose rows are probabilities (in [0, 1], summing to 1): it applies "
            "softmax itself, so a softmax at the end of the model is applied twice and training crawls. "
            "Remove the model's last softmax and pass the raw scores (logits).",
            ProbabilitiesAsScoresWarning)


class CrossEntropy(Function):
    """Softmax cross-entropy fused with log-softmax, averaged over the batch.

    logits: (N, C) scores; target: (N,) integer labels or (N, C) probabilities (one-hot).
        loss = -1/N * sum_n sum_c t_nc * log softmax(x_n)_c
        d/dx = (softmax(x) - t) / N
    Fusing the two makes the gradient exact and stable for large scores.
    """

    def forward(self, logits, target):
        _check_logits(logits, "cross_entropy")
        xp = array_module(logits)
        if xp is np:
            _warn_if_probabilities(logits)
        n, c = logits.shape
        self.n = n
        if target.ndim == 1:
            _check_labels(target, n, c, "cross_entropy")
            self.labels, self.target = target, None
            if is_gpu_array(logits):
                # one CUDA block per row: max, exp-sum, probabilities and loss (kernels/softmax_xent.cu)
                loss, self.p = kernels.softmax_xent_forward(logits, target)
                return loss
        shifted = logits - logits.max(axis=1, keepdims=True)
        e = xp.exp(shifted)
        sum_e = e.sum(axis=1, keepdims=True)
        log_p = shifted - xp.log(sum_e)
        self.p = e / sum_e
        if target.ndim == 1:
            return -log_p[xp.arange(n), target].mean()
        if target.shape != logits.shape:
            if target.ndim == 2 and target.shape == (n, 1):
                raise ValueError(
                    f"cross_entropy: targets of shape {target.shape} are class labels in a column; labels must "
                    f"be a flat vector of shape ({n},): pass y.reshape(-1) (one-hot targets would have the "
                    f"scores' shape {logits.shape})")
            raise ValueError(
                f"cross_entropy: one-hot targets must have the scores' shape {logits.shape}, got {target.shape}"
            )
        self.labels, self.target = None, target
        return -(target * log_p).sum() / n

    def backward(self, g):
        if self.labels is not None and is_gpu_array(self.p):
            return kernels.softmax_xent_backward(self.p, self.labels, g), None
        xp = array_module(self.p)
        grad = self.p.copy()
        if self.labels is not None:
            grad[xp.arange(self.n), self.labels] -= 1
        else:
            grad -= self.target
        grad *= g / self.n
        return grad, None


class BinaryCrossEntropy(Function):
    """Binary cross-entropy on probabilities p in (0, 1) and targets t in {0, 1} (or [0, 1]).

        loss = -mean(t log p + (1 - t) log(1 - p)),   d/dp = (p - t) / (p (1 - p)) / size
    p is clipped to [eps, 1 - eps] so log(0) never happens.
    """

    def forward(self, p, t, eps=1e-7):
        if p.shape != t.shape:
            raise ValueError(f"binary_cross_entropy: predictions {p.shape} and targets {t.shape} differ in shape")
        xp = array_module(p)
        self.p, self.t = xp.clip(p, eps, 1 - eps), t
        q = self.p
        return -(t * xp.log(q) + (1 - t) * xp.log(1 - q)).mean()

    def backward(self, g):
        q, t = self.p, self.t
        return g * (q - t) / (q * (1 - q)) / q.size, None


class BinaryCrossEntropyWithLogits(Function):
    """Binary cross-entropy on scores x (before the sigmoid), stable for any x.

        loss = mean(max(x, 0) - x t + log(1 + e^-|x|)),   d/dx = (sigmoid(x) - t) / size
    """

    def forward(self, x, t):
        if x.shape != t.shape:
            raise ValueError(f"binary_cross_entropy: scores {x.shape} and targets {t.shape} differ in shape")
        xp = array_module(x)
        self.x, self.t = x, t
        return (xp.maximum(x, 0) - x * t + xp.log1p(xp.exp(-abs(x)))).mean()

    def backward(self, g):
        xp = array_module(self.x)
        s = (1 + xp.tanh(self.x * 0.5)) * 0.5
        return g * (s - self.t) / self.x.size, None


class MeanSquaredError(Function):
    """loss = mean((y - t)^2).   d/dy = 2 (y - t) / size."""

    def forward(self, y, t):
        if y.shape != t.shape:
            raise ValueError(_mse_shape_message(y.shape, t.shape, t.dtype))
        self.diff = y - t
        return (self.diff * self.diff).mean()

    def backward(self, g):
        return g * 2 * self.diff / self.diff.size, None


def _mse_shape_message(y_shape, t_shape, t_dtype):
    """Why mse's predictions and targets differ in shape, and the fix that fits this case."""
    said = f"mse: predictions {tuple(y_shape)} and targets {tuple(t_shape)} differ in shape; "
    if len(y_shape) == 2 and len(t_shape) == 1 and t_shape[0] == y_shape[0]:
        if y_shape[1] == 1:
            return said + "reshape the targets to a column with t.reshape(-1, 1)"
        k = y_shape[1]
        return said + (f"the targets look like class labels (one per example) for a model with {k} outputs: "
                       f"for classification use loss='cross_entropy' (it takes the labels as they are), or "
                       f"compare with one-hot targets np.eye({k})[t]")
    if len(y_shape) == 1 and len(t_shape) == 2 and t_shape[1] == 1:
        return said + "flatten the targets with t.reshape(-1)"
    return said + "the model needs one output per target value: check the last layer's size"


def _target(t, like):
    """Targets as a raw array of the logits' module; Tensors are unwrapped (no gradient)."""
    if isinstance(t, Tensor):
        t = t.data
    xp = array_module(like.data if isinstance(like, Tensor) else like)
    if not hasattr(t, "dtype"):
        t = np.asarray(t)
    return xp.asarray(t)


def cross_entropy(logits, target):
    """Mean softmax cross-entropy. logits (N, C); target (N,) int labels or (N, C) one-hot.

        >>> import numpy as np
        >>> from dllab import Tensor
        >>> logits = Tensor(np.log([[0.25, 0.75], [0.5, 0.5]]))   # softmax gives back these rows
        >>> loss = cross_entropy(logits, np.array([1, 0]))        # mean of -log 0.75 and -log 0.5
        >>> round(loss.item(), 4), round(float(-(np.log(0.75) + np.log(0.5)) / 2), 4)
        (0.4904, 0.4904)
    """
    return CrossEntropy.apply(logits, _target(target, logits))


def binary_cross_entropy(p, target):
    """Mean binary cross-entropy on probabilities p (after a sigmoid)."""
    t = _target(target, p)
    return BinaryCrossEntropy.apply(p, t.astype(p.dtype, copy=False))


def binary_cross_entropy_with_logits(x, target):
    """Mean binary cross-entropy on raw scores x (the sigmoid is applied inside, stably)."""
    t = _target(target, x)
    return BinaryCrossEntropyWithLogits.apply(x, t.astype(x.dtype, copy=False))


def mse(y, target):
    """Mean squared error: mean over all elements of (y - target)^2.

        >>> from dllab import Tensor
        >>> mse(Tensor([[1.0], [3.0]]), Tensor([[0.0], [0.0]])).item()
        5.0
    """
    t = _target(target, y)
    return MeanSquaredError.apply(y, t.astype(y.dtype, copy=False))

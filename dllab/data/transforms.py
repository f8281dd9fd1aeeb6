"""Batch transforms for data augmentation and preprocessing.

Every transform is a callable ``transform(x, rng) -> x``:

- ``x`` is a batch of images, shape (N, C, H, W) or (N, H, W), float;
- ``rng`` is a ``np.random.Generator`` (``Batches`` passes its own, so the
  augmentation is reproducible); deterministic transforms ignore it;
- the result is a new array: the input is never modified in place, because
  with ``shuffle=False`` the batch is a view of the dataset itself.

Random transforms draw one random choice per image and then work on all images
that share a choice at once, so the Python loop runs over the few distinct
shifts or crop offsets, never over the images.
"""

import numpy as np


def _check_images(x, name):
    x = np.asarray(x)
    if x.ndim < 3:
        raise ValueError(f"{name} needs images of shape (N, C, H, W) or (N, H, W), got shape "
                         f"{x.shape}; flattened images must be reshaped first")
    return x


def invert(x, rng=None):
    """``1 - x``: dark digits on a light background and back. Shape unchanged.

    For images scaled to [0, 1]; works for any shape and keeps the dtype.
    """
    return 1 - x


def _crop_per_image(padded, top, left, height, width):
    """out[i] = padded[i, ..., top[i]:top[i]+height, left[i]:left[i]+width].

    Args:
        padded: (N, ..., Hp, Wp) array.
        top, left: (N,) int offsets.
    Returns:
        (N, ..., height, width) array.
    """
    out = np.empty(padded.shape[:-2] + (height, width), dtype=padded.dtype)
    offsets = np.stack([top, left], axis=1)
    # one vectorised copy per distinct offset instead of one per image
    for dy, dx in np.unique(offsets, axis=0):
        images = np.flatnonzero((top == dy) & (left == dx))
        out[images] = padded[images, ..., dy:dy + height, dx:dx + width]
    return out


def _pad_hw(x, padding):
    """Zero-pad the last two axes by ``padding`` on every side."""
    widths = [(0, 0)] * (x.ndim - 2) + [(padding, padding), (padding, padding)]
    return np.pad(x, widths)


class RandomShift:
    """Translate each image by a random integer offset, filling with zeros.

    Each image gets its own (dy, dx), each drawn uniformly from
    ``-max_shift .. max_shift``; pixels pushed past the border are lost.

    Shapes: (N, C, H, W) -> (N, C, H, W), or (N, H, W) -> (N, H, W).
    """

    def __init__(self, max_shift=2):
        if isinstance(max_shift, bool) or not isinstance(max_shift, (int, np.integer)) \
                or max_shift < 0:
            raise ValueError(f"max_shift must be an int >= 0, got {max_shift!r}")
        self.max_shift = int(max_shift)

    def __call__(self, x, rng):
        x = _check_images(x, "RandomShift")
        s = self.max_shift
        height, width = x.shape[-2:]
        shifts = rng.integers(-s, s + 1, size=(2, len(x)))
        # shifting by +d is cropping the padded image starting at s - d
        return _crop_per_image(_pad_hw(x, s), s - shifts[0], s - shifts[1], height, width)

    def __repr__(self):
        return f"RandomShift(max_shift={self.max_shift})"


class RandomCrop:
    """Zero-pad each image by ``padding`` pixels, then crop a random ``size`` window.

    Args:
        size: int or (height, width) of the output; at most the padded size.
        padding: zeros added on each side before cropping.

    Shapes: (N, C, H, W) -> (N, C, size_h, size_w) (also (N, H, W)).
    """

    def __init__(self, size, padding=0):
        self.size = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
        if len(self.size) != 2 or min(self.size) < 1:
            raise ValueError(f"size must be an int or (height, width) >= 1, got {size!r}")
        if padding < 0:
            raise ValueError(f"padding must be >= 0, got {padding!r}")
        self.padding = int(padding)

    def __call__(self, x, rng):
        x = _check_images(x, "RandomCrop")
        padded = _pad_hw(x, self.padding)
        height, width = self.size
        room_y, room_x = padded.shape[-2] - height, padded.shape[-1] - width
        if room_y < 0 or room_x < 0:
            raise ValueError(f"RandomCrop size {self.size} is larger than the padded images "
                             f"{padded.shape[-2:]}")
        top = rng.integers(0, room_y + 1, size=len(x))
        left = rng.integers(0, room_x + 1, size=len(x))
        return _crop_per_image(padded, top, left, height, width)

    def __repr__(self):
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomInvert:
    """Invert each image (``1 - x``) with probability ``p``, independently.

    Shapes: (N, ...) -> (N, ...), dtype kept.
    """

    def __init__(self, p=0.5):
        if not 0 <= p <= 1:
            raise ValueError(f"p must be a probability in [0, 1], got {p!r}")
        self.p = p

    def __call__(self, x, rng):
        x = np.asarray(x)
        flip = rng.random(len(x)) < self.p
        flip = flip.reshape((len(x),) + (1,) * (x.ndim - 1))  # broadcast over each image
        return np.where(flip, 1 - x, x).astype(x.dtype, copy=False)

    def __repr__(self):
        return f"RandomInvert(p={self.p})"


class SubtractMean:
    """Subtract a fixed mean, e.g. the mean training image (as DIGITS does).

    Build it with ``SubtractMean.fit(train)`` so the mean comes from the
    training data only, then apply the same object to every split.

    Args:
        mean: array broadcastable to one sample, e.g. (C, H, W) for the mean
            image or (C, 1, 1) for a per-channel mean, or a scalar.

    Shapes: (N, ...) -> (N, ...), dtype of x kept.
    """

    def __init__(self, mean):
        self.mean = np.asarray(mean)

    @classmethod
    def fit(cls, data, per="image"):
        """Compute the mean from a Dataset or an (N, ...) array.

        Args:
            data: a Dataset (its ``x`` is used) or an array (N, C, H, W) / (N, D).
            per: ``"image"``: the mean image, shape x.shape[1:];
                ``"channel"``: one mean per channel, shape (C, 1, 1) for
                (N, C, H, W) input; ``"all"``: a single scalar.
        """
        x = np.asarray(getattr(data, "x", data))
        if per == "image":
            mean = x.mean(axis=0)
        elif per == "channel":
            x = _check_images(x, "SubtractMean.fit(per='channel')")
            mean = x.mean(axis=(0,) + tuple(range(2, x.ndim)), keepdims=True)[0]
        elif per == "all":
            mean = x.mean()
        else:
            raise ValueError(f"per must be 'image', 'channel' or 'all', got {per!r}")
        return cls(mean.astype(x.dtype) if np.issubdtype(x.dtype, np.floating) else mean)

    def __call__(self, x, rng=None):
        x = np.asarray(x)
        out = x - self.mean
        # a float64 mean must not silently turn float32 batches into float64
        return out.astype(x.dtype, copy=False) if np.issubdtype(x.dtype, np.floating) else out

    def __repr__(self):
        return f"SubtractMean(mean shape {self.mean.shape})"


class Compose:
    """Apply several transforms in order: ``Compose([a, b])(x, rng) == b(a(x, rng), rng)``."""

    def __init__(self, transforms):
        self.transforms = list(transforms)
        for t in self.transforms:
            if not callable(t):
                raise TypeError(f"Compose got {t!r}, which is not callable")

    def __call__(self, x, rng=None):
        for transform in self.transforms:
            x = transform(x, rng)
        return x

    def __repr__(self):
        return f"Compose({self.transforms!r})"

"""The "real-world" digits of lab 3: synthetic photographs of digits written dark on light paper.

``assets/data/digit-photos/digit_photos.npz`` holds 600 grey-level photos of single digits as a
camera sees them: dark ink on light paper, uneven lighting, blur, a slight rotation and
perspective, paper texture and noise. They are rendered from fonts and degraded by
``make_photos.py`` in that folder (SOURCE.md says how); no model was trained on them.

Unlike MNIST they are raw: each photo has its own size (40-64 pixels a side), grey levels are
0-255 with the paper light, and nothing is cropped or centred. Turning one into an MNIST-like
28x28 input is the lab's exercise.
"""

import numpy as np

from .errors import DataError
from .files import verified_path

PHOTOS_DATASET = "digit-photos"
PHOTOS_FILE = "digit_photos.npz"
_KEYS = ("pixels", "shapes", "labels", "fonts", "font_names")


def _read(path):
    """The arrays of the .npz at path, checked to describe whole photos; DataError otherwise."""
    with np.load(path, allow_pickle=False) as npz:
        missing = [key for key in _KEYS if key not in npz.files]
        if missing:
            raise DataError(f"{path}: not a digit-photos file, it lacks {missing}")
        arrays = {key: npz[key] for key in _KEYS}
    shapes, labels = arrays["shapes"].astype(np.int64), arrays["labels"]
    n = len(labels)
    if (shapes.shape != (n, 2) or len(arrays["fonts"]) != n or shapes.min() < 1
            or int(np.prod(shapes, axis=1).sum()) != arrays["pixels"].size
            or arrays["pixels"].dtype != np.uint8 or labels.max() > 9
            or arrays["fonts"].max() >= len(arrays["font_names"])):
        raise DataError(f"{path}: inconsistent digit-photos file: {n} labels, shapes {shapes.shape}, "
                        f"{arrays['pixels'].size} pixels of dtype {arrays['pixels'].dtype}")
    return arrays


def digit_photos(fonts=False):
    """The shipped photographs of digits on paper, raw, with their labels.

    Args:
        fonts: if True, also return the name of the font each photo was drawn from.

    Returns:
        ``(photos, labels)``, or ``(photos, labels, font_names)`` with ``fonts=True``:

        - ``photos``: a list of 600 uint8 arrays of shape (height, width), 40 to 64 pixels
          each way, grey levels 0 (black) to 255 (white): dark ink on light paper;
        - ``labels``: int64 (600,), the digits 0-9, 60 of each;
        - ``font_names``: (600,) str, the font file of each photo, e.g. 'dkg.ttf'.

        Every call reads the file again and returns new arrays, which the caller owns.

    Raises:
        DataError: the file is missing, fails its SHA-256 check (``dllab.data.verify``) or
            is not a digit-photos file; the message says how to restore it.
    """
    arrays = _read(verified_path(PHOTOS_DATASET, PHOTOS_FILE))
    ends = np.cumsum(np.prod(arrays["shapes"].astype(np.int64), axis=1))
    photos = [arrays["pixels"][end - h * w:end].reshape(h, w)
              for end, (h, w) in zip(ends, arrays["shapes"].astype(np.int64))]
    labels = arrays["labels"].astype(np.int64)
    if fonts:
        return photos, labels, arrays["font_names"][arrays["fonts"]]
    return photos, labels

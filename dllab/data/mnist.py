"""MNIST and Fashion-MNIST, from the shipped IDX files to Datasets.

The path of the data:

1. The four ``.gz`` files in ``data_dir()/<name>/`` are checked against their
   SHA-256 (once per process; it takes a few hundredths of a second).
2. They are decompressed and parsed (``read_idx``, about half a second), or,
   if a cache file exists, the parsed uint8 arrays are read back from
   ``cache_dir()/<name>-<key>.npz``, where ``key`` is derived from the files'
   checksums, so a different version of the files never hits a stale cache.
   A damaged cache file is ignored (with a warning) and rebuilt.
3. The uint8 arrays are kept in memory for the rest of the process.
4. Each call to ``mnist()`` builds fresh float32 arrays from them:
   images (N, 1, 28, 28) in [0, 1], labels (N,) int64.
"""

import hashlib
import os
import tempfile
import warnings

import numpy as np

from .batches import Dataset, concat
from .errors import DataError, DataWarning
from .files import REGISTRY, cache_dir, data_dir, verified_path
from .idx import read_idx
from .transforms import invert as _invert

MNIST_CLASSES = [str(digit) for digit in range(10)]
FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

# split -> (images file, labels file, number of samples)
_SPLITS = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", 60000),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", 10000),
}
IMAGE_SIZE = 28
SMALL_SIZE = 6000  # the DIGITS lab's small set: 10 % of the training images
SMALL_SEED = 0

# (dataset name, data folder) -> dict of read-only uint8 arrays; filled by load_arrays
_MEMO = {}


def clear_memo():
    """Forget the arrays kept in memory, so the next load reads the disk again."""
    _MEMO.clear()


def cache_path(name):
    """The cache file for dataset ``name``: ``cache_dir()/<name>-<16 hex>.npz``."""
    checksums = "".join(REGISTRY[name][f] for f in sorted(REGISTRY[name]))
    key = hashlib.sha256(checksums.encode()).hexdigest()[:16]
    return cache_dir() / f"{name}-{key}.npz"


def _expected_shapes():
    shapes = {}
    for split, (_, _, n) in _SPLITS.items():
        shapes[f"x_{split}"] = (n, IMAGE_SIZE, IMAGE_SIZE)
        shapes[f"y_{split}"] = (n,)
    return shapes


def _valid(arrays):
    """True if ``arrays`` has the four uint8 arrays with the expected shapes."""
    return all(key in arrays and arrays[key].shape == shape and arrays[key].dtype == np.uint8
               for key, shape in _expected_shapes().items())


def _read_cache(path):
    """The cached arrays, or None if there is no cache or it is damaged."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except Exception as err:  # a damaged zip can fail in many ways; all mean "rebuild"
        warnings.warn(f"ignoring damaged cache file {path} ({err!r}); rebuilding it",
                      DataWarning, stacklevel=3)
        return None
    if not _valid(arrays):
        warnings.warn(f"ignoring cache file {path} with unexpected content; rebuilding it",
                      DataWarning, stacklevel=3)
        return None
    return arrays


def _write_cache(path, arrays):
    """Write the arrays atomically: a temp file in the same folder, then os.replace."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        # readers see either the old file or the complete new one, never half a file
        os.replace(tmp, path)
    except OSError as err:  # a read-only home must not stop the lab: just skip the cache
        warnings.warn(f"could not write cache file {path}: {err}", DataWarning, stacklevel=3)
        if tmp is not None and os.path.exists(tmp):
            os.remove(tmp)


def _read_files(name):
    """Parse the four verified IDX files into uint8 arrays; DataError if they are wrong."""
    arrays = {}
    for split, (images_file, labels_file, _) in _SPLITS.items():
        images = read_idx(verified_path(name, images_file))
        labels = read_idx(verified_path(name, labels_file))
        arrays[f"x_{split}"], arrays[f"y_{split}"] = images, labels
    if not _valid(arrays):
        found = {key: (a.shape, str(a.dtype)) for key, a in arrays.items()}
        raise DataError(f"{data_dir() / name}: unexpected array shapes {found}")
    return arrays


def load_arrays(name="mnist"):
    """The raw arrays of ``"mnist"`` or ``"fashion-mnist"``, verified and cached.

    Returns:
        dict with ``x_train`` (60000, 28, 28) uint8, ``y_train`` (60000,) uint8,
        ``x_test`` (10000, 28, 28) uint8, ``y_test`` (10000,) uint8. The arrays
        are read-only because they are shared by every later call.

    Raises:
        DataError: a file is missing, fails its checksum, or is not valid IDX.
    """
    if name not in ("mnist", "fashion-mnist"):
        raise ValueError(f"load_arrays knows 'mnist' and 'fashion-mnist', got {name!r}")
    memo_key = (name, str(data_dir()))
    if memo_key in _MEMO:
        return _MEMO[memo_key]
    for filename in REGISTRY[name]:
        verified_path(name, filename)  # the checksum check, before any cache is trusted
    path = cache_path(name)
    arrays = _read_cache(path)
    if arrays is None:
        arrays = _read_files(name)
        _write_cache(path, arrays)
    for array in arrays.values():
        array.flags.writeable = False
    _MEMO[memo_key] = arrays
    return arrays


def _train_subset(train, subset):
    """Apply mnist()'s ``subset`` argument to the (uint8) training Dataset."""
    if subset is None or subset == "full":
        return train
    if subset == "small":
        small = train.subset(SMALL_SIZE, seed=SMALL_SEED, balanced=True)
        small.name = f"{train.name}-small"
        return small
    if isinstance(subset, (int, np.integer)) and not isinstance(subset, bool) \
            and 1 <= subset <= len(train):
        part = train.subset(int(subset), seed=SMALL_SEED, balanced=True)
        part.name = f"{train.name}-{int(subset)}"
        return part
    raise ValueError(f"subset must be one of: None or 'full' (all {len(train)} training images), "
                     f"'small' ({SMALL_SIZE} images, {SMALL_SIZE // 10} per class), or an int n "
                     f"with 1 <= n <= {len(train)} (n class-balanced images); got {subset!r}")


def _to_float(dataset, invert, flatten):
    """uint8 Dataset -> float32 images in [0, 1] (N, 1, 28, 28) or (N, 784), int64 labels."""
    x = dataset.x.astype(np.float32)
    np.divide(x, 255, out=x)  # in place: no second 188 MB temporary for the training set
    x = x.reshape(len(x), 1, IMAGE_SIZE, IMAGE_SIZE)
    name = dataset.name
    if invert:
        x, name = _invert(x), name + "-inverted"
    if flatten:
        x = x.reshape(len(x), IMAGE_SIZE * IMAGE_SIZE)
    return Dataset(x, dataset.y.astype(np.int64), name, dataset.classes)


def _load(name, classes, subset, invert, flatten):
    arrays = load_arrays(name)
    train = Dataset(arrays["x_train"], arrays["y_train"], f"{name}-train", classes)
    test = Dataset(arrays["x_test"], arrays["y_test"], f"{name}-test", classes)
    train = _train_subset(train, subset)
    return _to_float(train, invert, flatten), _to_float(test, invert, flatten)


def mnist(subset=None, invert=False, flatten=False):
    """The MNIST digits as ``(train, test)`` Datasets.

    Args:
        subset: which training images. None or ``"full"``: all 60000.
            ``"small"``: the DIGITS lab's small set, 6000 images = 600 per
            class, picked with a fixed seed (the same every run). An int n:
            n class-balanced images (same fixed seed). The test set is always
            the full 10000.
        invert: if True, both sets are ``1 - x``: dark digits on a light background.
        flatten: if True, images are (N, 784) instead of (N, 1, 28, 28).

    Returns:
        ``(train, test)``: Datasets with ``x`` float32 in [0, 1] of shape
        (N, 1, 28, 28) (or (N, 784)), ``y`` int64 labels 0-9 of shape (N,),
        ``classes`` = ['0', ..., '9'].

    Raises:
        DataError: a shipped file is missing or damaged (see ``dllab.data.verify``).
        ValueError: a bad ``subset``.
    """
    return _load("mnist", MNIST_CLASSES, subset, invert, flatten)


def fashion_mnist(subset=None, invert=False, flatten=False):
    """Fashion-MNIST as ``(train, test)`` Datasets; same arguments and shapes as ``mnist``.

    ``classes`` holds the ten clothing names: 'T-shirt/top', 'Trouser', ...,
    'Ankle boot'. ``subset="small"`` is 6000 balanced images, as for MNIST.
    """
    return _load("fashion-mnist", FASHION_MNIST_CLASSES, subset, invert, flatten)


def mnist_with_inverted(subset=None, flatten=False):
    """MNIST for the DIGITS lab's augmentation step: originals and inverted copies mixed.

    Args:
        subset, flatten: as for ``mnist``.

    Returns:
        ``(train, test, test_inverted)``:

        - ``train``: the chosen training images followed by the same images
          inverted (2N samples, labels repeated), named 'mnist-train+inverted'
          (or '...-small+inverted'); ``Batches`` shuffles them together;
        - ``test``: the normal 10000 test images;
        - ``test_inverted``: the same test images inverted, to measure how a
          model copes with dark digits on a light background.
    """
    train, test = mnist(subset=subset, flatten=flatten)
    train_inv = train.map(_invert)
    mixed = concat(train, train_inv, name=f"{train.name}+inverted")
    test_inv = test.map(_invert, name=f"{test.name}-inverted")
    return mixed, test, test_inv

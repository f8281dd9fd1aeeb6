"""In-memory datasets and the minibatch source that feeds training.

``Dataset`` is a pair of arrays ``x`` (N, ...) and ``y`` (N, ...) with a name
and optional class names. ``Batches`` turns one or more datasets into
minibatches: each ``for xb, yb in batches`` is one epoch.

Why Batches is written the way it is (it sits in the training hot path):
each epoch draws one permutation, and each batch gathers its samples with one
``np.take`` into a buffer reused from batch to batch. A sample is a whole row
(3 KB for an MNIST image), so the gather reads memory in long runs; and no copy
of the whole dataset is made. (Permuting the whole arrays once per epoch, as an
earlier version did, kept two extra copies of the data set, 376 MB for MNIST,
and the first write into each cost page faults: 0.1 s per 40 MB, a tenth of a
short MLP run.) Without shuffling the batches are views of the data.
"""

import sys

import numpy as np

from ..backend import to_numpy


def _check_xy(x, y, name):
    """Validate a pair of arrays for a dataset; returns them as NumPy arrays."""
    x, y = to_numpy(x), to_numpy(y)  # a CuPy array is copied to the host: datasets live there
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError(f"dataset {name!r}: x and y need a sample axis, got x shape "
                         f"{x.shape} and y shape {y.shape}")
    if len(x) != len(y):
        raise ValueError(f"dataset {name!r}: x has {len(x)} samples but y has {len(y)}; "
                         f"they must have the same length")
    if len(x) == 0:
        raise ValueError(f"dataset {name!r} is empty (0 samples)")
    if not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating)):
        raise ValueError(f"dataset {name!r}: y must hold integer labels or float targets, "
                         f"got dtype {y.dtype}")
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise ValueError(f"dataset {name!r}: x must be numeric, got dtype {x.dtype}")
    return x, y


def _check_lengths(lengths, x, name):
    """Validate the true lengths of padded sequences x (N, T, ...): N integers in 0..T."""
    if lengths is None:
        return None
    lengths = to_numpy(lengths)
    if x.ndim < 2:
        raise ValueError(f"dataset {name!r}: lengths are for padded sequences x (N, T, features), "
                         f"but x has shape {x.shape}")
    if lengths.shape != (len(x),) or lengths.dtype.kind not in "iu":
        raise ValueError(f"dataset {name!r}: lengths must be {len(x)} integers, one per sequence of x, "
                         f"got shape {lengths.shape} dtype {lengths.dtype}")
    if lengths.min() < 0 or lengths.max() > x.shape[1]:
        raise ValueError(f"dataset {name!r}: lengths must lie in 0..{x.shape[1]} (x is padded to "
                         f"{x.shape[1]} steps), got {lengths.min()}..{lengths.max()}")
    return lengths.astype(np.int64, copy=False)


class Dataset:
    """Inputs ``x`` and targets ``y`` held in memory, with a name.

    Attributes:
        x: ``np.ndarray`` of shape (N, ...), e.g. (60000, 1, 28, 28) float32.
        y: ``np.ndarray`` of shape (N,) int64 labels, or (N, ...) float targets.
        name: a short label shown in ``repr``.
        classes: list of class names (index = label), or None.
        lengths: for padded sequences x (N, T, features), the true length of each
            (N,) int64, or None. Batches of such a dataset are ``((x, lengths), y)``,
            which recurrent layers and the Trainer take as they are.

    ``ds[3]`` gives the pair ``(x[3], y[3])``; ``ds[10:20]``, ``ds[index_array]``
    and ``ds[bool_mask]`` give a new Dataset (slices share memory with this one).
    """

    def __init__(self, x, y, name="dataset", classes=None, lengths=None):
        self.x, self.y = _check_xy(x, y, name)
        self.name = name
        self.classes = list(classes) if classes is not None else None
        self.lengths = _check_lengths(lengths, self.x, name)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            return self.x[index], self.y[index]
        return Dataset(self.x[index], self.y[index], self.name, self.classes,
                       None if self.lengths is None else self.lengths[index])

    def __iter__(self):
        # without this, Python would iterate through __getitem__ with ints
        return zip(self.x, self.y)

    @property
    def num_classes(self):
        """Number of classes: len(classes), else max(y) + 1 for integer labels, else None."""
        if self.classes is not None:
            return len(self.classes)
        if np.issubdtype(self.y.dtype, np.integer):
            return int(self.y.max()) + 1
        return None

    def __repr__(self):
        def describe(a):
            return f"{a.shape} {a.dtype}"
        text = f"Dataset({self.name!r}, x={describe(self.x)}, y={describe(self.y)}"
        if self.num_classes is not None:
            text += f", {self.num_classes} classes"
        if self.lengths is not None:
            text += f", lengths {self.lengths.min()}..{self.lengths.max()}"
        return text + ")"

    def subset(self, n, seed=0, balanced=True):
        """A random subset of ``n`` samples, in their original order.

        Args:
            n: how many samples, 1 <= n <= len(self).
            seed: seed of the generator that picks them (same seed, same subset).
            balanced: pick ``n // num_classes`` samples per class (the first
                ``n % num_classes`` classes get one more); needs integer labels.

        Returns:
            A new Dataset of length n.
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= len(self):
            raise ValueError(f"subset size must be an int between 1 and {len(self)}, got {n!r}")
        rng = np.random.default_rng(seed)
        if not balanced:
            chosen = rng.choice(len(self), size=n, replace=False)
        else:
            if not np.issubdtype(self.y.dtype, np.integer) or self.y.ndim != 1:
                raise ValueError("a balanced subset needs integer class labels y of shape (N,); "
                                 "use balanced=False")
            labels = np.arange(self.num_classes)
            per_class = [n // len(labels) + (k < n % len(labels)) for k in range(len(labels))]
            chosen = []
            for label, count in zip(labels, per_class):
                members = np.flatnonzero(self.y == label)
                if count > len(members):
                    raise ValueError(f"dataset {self.name!r} has only {len(members)} samples of "
                                     f"class {label}, a balanced subset of {n} needs {count}")
                chosen.append(rng.permutation(members)[:count])
            chosen = np.concatenate(chosen)
        # sorted: the subset keeps the file's order; Batches shuffles anyway
        return self[np.sort(chosen)]

    def split(self, fraction, seed=0):
        """Split at random into two disjoint datasets.

        Args:
            fraction: share of the samples that go to the first part, 0 < fraction < 1.
            seed: seed of the shuffle.

        Returns:
            ``(first, second)`` with ``round(fraction * N)`` and the rest of the
            samples, each in the original order.
        """
        if not 0 < fraction < 1:
            raise ValueError(f"fraction must be between 0 and 1 (exclusive), got {fraction!r}")
        order = np.random.default_rng(seed).permutation(len(self))
        cut = int(round(fraction * len(self)))
        if cut == 0 or cut == len(self):
            raise ValueError(f"fraction {fraction} of {len(self)} samples leaves one part empty")
        return self[np.sort(order[:cut])], self[np.sort(order[cut:])]

    def map(self, transform, seed=0, name=None):
        """A new Dataset with ``x`` replaced by ``transform(x, rng)``; ``y`` is shared.

        Args:
            transform: a callable ``(x, rng) -> x`` such as those in
                ``dllab.data.transforms``; ``x`` is the whole (N, ...) array.
            seed: seed of the generator ``rng`` passed to random transforms.
            name: name of the result (default: unchanged).
        """
        rng = np.random.default_rng(seed)
        return Dataset(transform(self.x, rng), self.y, name or self.name, self.classes, self.lengths)


def concat(*datasets, name=None):
    """Concatenate datasets along the sample axis (to mix them).

    Args:
        datasets: Datasets (or ``(x, y)`` tuples) whose ``x`` and ``y`` have the
            same shape after the first axis; class lists must agree.
        name: name of the result; default joins the names with ``+``.

    Returns:
        A Dataset with ``sum(len(d))`` samples, in the order given.
    """
    if len(datasets) == 1 and isinstance(datasets[0], (list, tuple)) \
            and not _is_xy_pair(datasets[0]):
        datasets = tuple(datasets[0])  # concat([a, b]) works like concat(a, b)
    if not datasets:
        raise ValueError("concat needs at least one dataset")
    parts = [_as_dataset(d, "concat") for d in datasets]
    for part in parts[1:]:
        if part.x.shape[1:] != parts[0].x.shape[1:] or part.y.shape[1:] != parts[0].y.shape[1:]:
            raise ValueError(f"cannot concatenate {parts[0]!r} and {part!r}: "
                             f"per-sample shapes differ")
        if part.classes is not None and parts[0].classes is not None \
                and part.classes != parts[0].classes:
            raise ValueError(f"cannot concatenate {parts[0].name!r} and {part.name!r}: "
                             f"their class lists differ")
    if len({p.lengths is None for p in parts}) > 1:
        raise ValueError("cannot concatenate padded sequences with lengths and data without: give "
                         "every part its lengths")
    classes = next((p.classes for p in parts if p.classes is not None), None)
    lengths = None if parts[0].lengths is None else np.concatenate([p.lengths for p in parts])
    return Dataset(np.concatenate([p.x for p in parts]),
                   np.concatenate([p.y for p in parts]),
                   name or "+".join(p.name for p in parts), classes, lengths)


def _is_sequence_pair(obj):
    """True for ``((x, lengths), y)``: padded sequences with their true lengths, and targets."""
    return (isinstance(obj, tuple) and len(obj) == 2 and isinstance(obj[0], tuple)
            and len(obj[0]) == 2 and not isinstance(obj[1], (Dataset, tuple, list))
            and not isinstance(obj[0][0], (Dataset, tuple, list)))


def _is_xy_pair(obj):
    """True for an ``(x, y)`` or ``((x, lengths), y)`` tuple (as opposed to a list of datasets)."""
    return (isinstance(obj, tuple) and len(obj) == 2
            and (not isinstance(obj[0], (Dataset, tuple, list)) or _is_sequence_pair(obj)))


_FORMS = ("a Dataset, an (x, y) tuple of arrays, ((x, lengths), y) for padded sequences, "
          "or a list of those")


def _as_dataset(data, where="Batches"):
    """Any accepted form of data -> a Dataset (validated)."""
    if isinstance(data, Dataset):
        return data
    if _is_sequence_pair(data):
        (x, lengths), y = data
        return Dataset(x, y, "((x, lengths), y)", lengths=lengths)
    if _is_xy_pair(data):
        return Dataset(data[0], data[1], "(x, y)")
    if isinstance(data, tuple) and len(data) == 3 and not any(isinstance(d, Dataset) for d in data):
        raise TypeError(f"{where} got a tuple of 3 items; for padded sequences pass ((x, lengths), y), "
                        "else (x, y)")
    if isinstance(data, (list, tuple)):
        if len(data) == 0:
            raise ValueError(f"{where} got an empty list of datasets")
        if not all(isinstance(d, Dataset) or _is_xy_pair(d) for d in data):
            kinds = ", ".join(type(d).__name__ for d in data[:4])
            raise TypeError(f"{where} needs {_FORMS}; got a {type(data).__name__} of {kinds}"
                            + (", ..." if len(data) > 4 else ""))
        return concat(*data)
    raise TypeError(f"{where} needs {_FORMS}; got {type(data).__name__}")


class Batches:
    """Minibatches of a dataset, one epoch per iteration.

    ``for xb, yb in Batches(train, batch_size=64): ...`` runs one epoch; loop
    again for the next one. With ``shuffle=True`` each epoch uses a fresh
    permutation drawn from a generator seeded once with ``seed``, so two
    ``Batches`` built with the same arguments give identical sequences.

    Args:
        data: a Dataset, an ``(x, y)`` tuple of arrays (N, ...) and (N, ...),
            or a list of those, which are concatenated (mixing datasets).
        batch_size: samples per batch (an int >= 1).
        shuffle: permute the samples every epoch. If False the batches are
            views of the original arrays, in order.
        seed: seed of the generator used for permutations and transforms.
        drop_last: skip the final batch when it has fewer than batch_size samples.
        transform: None, a callable ``(xb, rng) -> xb``, or a list of them
            applied in order, to every batch of x (augmentation). It receives
            this object's generator, so augmentation is reproducible too.

    Yields:
        ``(xb, yb)``: ``xb`` of shape (B, ...) and ``yb`` of shape (B, ...),
        NumPy arrays with the dtypes of the data, B = batch_size (the last
        batch may be smaller unless drop_last). For padded sequences with
        lengths, ``xb`` is the pair ``(x (B, T, ...), lengths (B,))``.

    A yielded batch stays valid after the epoch ends: a batch's buffer is only
    reused once nothing refers to the batch (or a view of it) any more.
    """

    def __init__(self, data, batch_size=64, shuffle=True, seed=0, drop_last=False,
                 transform=None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 1:
            raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
        dataset = _as_dataset(data)
        self.x, self.y, self.lengths = dataset.x, dataset.y, dataset.lengths
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.rng = np.random.default_rng(seed)
        if isinstance(transform, (list, tuple)):
            from .transforms import Compose  # local import: transforms is optional here
            transform = Compose(transform)
        self.transform = transform
        self.epoch = 0  # number of epochs started so far
        self._pools = ([], [])  # recycled batch buffers for x and for y

    def __len__(self):
        """Batches per epoch."""
        n = len(self.x)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    @property
    def num_samples(self):
        return len(self.x)

    def __repr__(self):
        return (f"Batches({self.num_samples} samples, batch_size={self.batch_size}, "
                f"{len(self)} batches/epoch, shuffle={self.shuffle}, drop_last={self.drop_last})")

    def _free_buffer(self, pool, shape, dtype):
        """A C-contiguous buffer of this shape that no live batch points into."""
        for entry in pool:
            buffer = entry[0]
            # every live batch (or view of one) holds a reference to its buffer, raising the count
            if buffer.shape == shape and sys.getrefcount(buffer) <= entry[1]:
                return buffer
        entry = [np.empty(shape, dtype), 0]
        buffer = entry[0]
        entry[1] = sys.getrefcount(buffer)  # the count when no batch is alive
        pool.append(entry)
        if len(pool) > 4:  # the running batch, the one before, a short last batch: rarely more
            pool.pop(0)  # forget the oldest; the batches still using it keep it alive
        return buffer

    def _rows(self, a, rows, pool):
        """a[rows]: a view for a slice (no shuffling), else one np.take into a reused buffer."""
        if isinstance(rows, slice):
            return a[rows]
        out = self._free_buffer(self._pools[pool], (len(rows),) + a.shape[1:], a.dtype)
        # mode="clip" lets take() write straight into `out` (mode="raise" buffers)
        return np.take(a, rows, axis=0, out=out, mode="clip")

    def __iter__(self):
        self.epoch += 1
        order = self.rng.permutation(len(self.x)) if self.shuffle else None
        stop = min(len(self) * self.batch_size, len(self.x))
        for start in range(0, stop, self.batch_size):
            rows = slice(start, start + self.batch_size) if order is None else order[start:start + self.batch_size]
            xb, yb = self._rows(self.x, rows, 0), self._rows(self.y, rows, 1)
            if self.transform is not None:
                xb = self.transform(xb, self.rng)
            if self.lengths is not None:
                xb = (xb, self.lengths[rows])
            yield xb, yb

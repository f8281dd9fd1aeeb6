"""Datasets for the labs, their readers, and the minibatch source.

Everything here returns NumPy arrays; moving them to the GPU happens elsewhere.

Files and checks:
    data_dir, cache_dir, verify, DataError, DataWarning, read_idx, write_idx
Image datasets (float32 (N, 1, 28, 28) in [0, 1], int64 labels):
    mnist, fashion_mnist, mnist_with_inverted; load_arrays (raw uint8), clear_memo
    digit_photos: raw uint8 photos of digits on paper (lab 3's "real-world" set), labels
    (the module dllab.data.mnist is hidden by the function: use importlib for it)
Datasets and minibatches:
    Dataset, concat, Batches, transforms (invert, RandomShift, RandomCrop,
    RandomInvert, SubtractMean, Compose)
Time series:
    windows, Normalizer, normalize, iot_solar, read_solar_csv, SolarData

See docs/data.md for what ships, the checksums and the IoT preprocessing.
"""

from . import transforms
from .batches import Batches, Dataset, concat
from .errors import DataError, DataWarning
from .files import REGISTRY, cache_dir, data_dir, verify
from .idx import read_idx, write_idx
from .iot import SolarData, iot_solar, read_solar_csv
from .mnist import clear_memo, fashion_mnist, load_arrays, mnist, mnist_with_inverted
from .photos import digit_photos
from .timeseries import Normalizer, normalize, windows
from .transforms import Compose, RandomCrop, RandomInvert, RandomShift, SubtractMean, invert

__all__ = [
    "REGISTRY", "data_dir", "cache_dir", "verify", "DataError", "DataWarning",
    "read_idx", "write_idx",
    "mnist", "fashion_mnist", "mnist_with_inverted", "load_arrays", "clear_memo", "digit_photos",
    "Dataset", "concat", "Batches",
    "transforms", "invert", "RandomShift", "RandomCrop", "RandomInvert", "SubtractMean",
    "Compose",
    "windows", "Normalizer", "normalize",
    "iot_solar", "read_solar_csv", "SolarData",
]

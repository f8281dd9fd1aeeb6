"""The data tests' shared pieces: the MNIST module, a copy of a shipped data set and MNIST's label counts."""

import importlib
import shutil

from dllab.data.files import DEFAULT_DATA_DIR

# the package exports the function mnist(), which hides the module of the same name
mnist_module = importlib.import_module("dllab.data.mnist")

# Label counts from assets/data/mnist/SOURCE.md
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def copy_dataset(tmp_path, name):
    """Copy the shipped files of one dataset into tmp_path/<name>; returns that folder."""
    target = tmp_path / "data" / name
    shutil.copytree(DEFAULT_DATA_DIR / name, target)
    return target

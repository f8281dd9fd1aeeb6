"""The data tests' shared pieces: the MNIST module, a copy of a shipped data set and MNIST's label counts."""

import importlib
import shutil

import pytest

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


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """An autouse fixture for the files that import it: every test caches into its own folder, never
    into the real ~/.cache/dllab."""
    monkeypatch.setenv("DLLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("DLLAB_DATA", raising=False)


@pytest.fixture
def fresh_memo(monkeypatch):
    """An empty in-process memo for this test only (the shared one is restored after); tests ask for
    it with @pytest.mark.usefixtures("fresh_memo")."""
    monkeypatch.setattr(mnist_module, "_MEMO", {})

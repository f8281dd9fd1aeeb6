"""dllab.data's MNIST and Fashion-MNIST loaders: shapes, dtypes, counts, subsets, inversion, the cache and the in-
process memo."""

import numpy as np
import pytest
from data_helpers import MNIST_TEST_COUNTS, MNIST_TRAIN_COUNTS, copy_dataset, fresh_memo, mnist_module, private_cache  # noqa: F401 - fixtures

import dllab.data as data
from dllab.data import DataError, DataWarning, read_idx


@pytest.fixture(scope="module")
def mnist_sets(tmp_path_factory):
    """(train, test) of the full MNIST, loaded once for the module."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DLLAB_CACHE", str(tmp_path_factory.mktemp("cache")))
        mp.delenv("DLLAB_DATA", raising=False)
        yield data.mnist()


# ---------------------------------------------------------------- MNIST and Fashion-MNIST

def test_mnist_shapes_dtypes_ranges_counts(mnist_sets):
    train, test = mnist_sets
    assert train.x.shape == (60000, 1, 28, 28) and test.x.shape == (10000, 1, 28, 28)
    assert train.x.dtype == np.float32 and train.y.dtype == np.int64
    assert train.x.min() == 0.0 and train.x.max() == 1.0
    np.testing.assert_array_equal(np.bincount(train.y), MNIST_TRAIN_COUNTS)
    np.testing.assert_array_equal(np.bincount(test.y), MNIST_TEST_COUNTS)
    assert train.classes == [str(d) for d in range(10)]
    assert repr(train) == ("Dataset('mnist-train', x=(60000, 1, 28, 28) float32, "
                           "y=(60000,) int64, 10 classes)")
    # pixel values are exactly k/255
    np.testing.assert_array_equal(np.round(test.x[:50] * 255) / 255, test.x[:50])


def test_fashion_mnist():
    train, test = data.fashion_mnist()
    assert train.x.shape == (60000, 1, 28, 28) and test.x.shape == (10000, 1, 28, 28)
    assert (np.bincount(train.y) == 6000).all() and (np.bincount(test.y) == 1000).all()
    assert train.classes[0] == "T-shirt/top" and train.classes[9] == "Ankle boot"
    assert train.name == "fashion-mnist-train"


def test_small_subset_is_balanced_deterministic(mnist_sets):
    small, test = data.mnist(subset="small")
    again, _ = data.mnist(subset="small")
    assert small.x.shape == (6000, 1, 28, 28) and small.name == "mnist-train-small"
    assert (np.bincount(small.y) == 600).all()
    np.testing.assert_array_equal(small.x, again.x)
    np.testing.assert_array_equal(small.y, again.y)
    assert len(test) == 10000
    # the small set really is made of training images
    full = mnist_sets[0]
    sums = set(full.x.reshape(60000, -1).sum(axis=1).round(3).tolist())
    assert set(small.x[:100].reshape(100, -1).sum(axis=1).round(3).tolist()) <= sums


def test_int_subset():
    part, _ = data.mnist(subset=1005)
    assert len(part) == 1005
    np.testing.assert_array_equal(np.bincount(part.y), [101] * 5 + [100] * 5)


@pytest.mark.parametrize("bad", ["tiny", 0, -3, 60001, 2.5, True])
def test_bad_subset_lists_choices(bad):
    with pytest.raises(ValueError) as info:
        data.mnist(subset=bad)
    for choice in ("'small'", "'full'", "None", "int"):
        assert choice in str(info.value)


def test_invert_and_flatten(mnist_sets):
    train, test = data.mnist(subset="small", invert=True, flatten=True)
    normal, normal_test = data.mnist(subset="small")
    assert train.x.shape == (6000, 784) and test.x.shape == (10000, 784)
    np.testing.assert_array_equal(train.x, 1 - normal.x.reshape(6000, 784))
    np.testing.assert_array_equal(test.x, 1 - normal_test.x.reshape(10000, 784))
    assert train.name.endswith("inverted")


def test_mnist_with_inverted():
    train, test, test_inverted = data.mnist_with_inverted(subset=500)
    assert len(train) == 1000 and train.name == "mnist-train-500+inverted"
    np.testing.assert_array_equal(train.x[500:], 1 - train.x[:500])
    np.testing.assert_array_equal(train.y[500:], train.y[:500])
    np.testing.assert_array_equal(test_inverted.x, 1 - test.x)
    assert test_inverted.name == "mnist-test-inverted"


@pytest.mark.usefixtures("fresh_memo")
def test_cache_is_written_used_and_rebuilt_when_corrupt(tmp_path, monkeypatch):
    cache_file = mnist_module.cache_path("mnist")
    assert cache_file.parent == tmp_path / "cache"
    first, _ = data.mnist(subset=100)
    assert cache_file.is_file()
    assert not list(cache_file.parent.glob("*.tmp"))  # the atomic write left no temp file

    # from the cache: the IDX files are not parsed at all
    def no_parsing(path):
        raise AssertionError("the IDX files should not be read when the cache is valid")
    monkeypatch.setattr(mnist_module, "_MEMO", {})
    monkeypatch.setattr(mnist_module, "read_idx", no_parsing)
    cached, _ = data.mnist(subset=100)
    np.testing.assert_array_equal(cached.x, first.x)

    # a damaged cache is ignored with a warning and rewritten
    cache_file.write_bytes(b"PK\x03\x04 this is not a zip file")
    monkeypatch.setattr(mnist_module, "_MEMO", {})
    monkeypatch.setattr(mnist_module, "read_idx", read_idx)
    with pytest.warns(DataWarning, match="damaged cache"):
        rebuilt, _ = data.mnist(subset=100)
    np.testing.assert_array_equal(rebuilt.x, first.x)
    with np.load(cache_file) as npz:
        assert npz["x_train"].shape == (60000, 28, 28)


@pytest.mark.usefixtures("fresh_memo")
def test_a_damaged_file_fails_even_when_a_cache_of_the_good_one_exists(tmp_path, monkeypatch):
    """The checksums are checked before the cache is trusted: a valid cache must not hide a bad file."""
    folder = copy_dataset(tmp_path, "mnist")
    monkeypatch.setenv("DLLAB_DATA", str(tmp_path / "data"))
    data.mnist(subset=10)
    assert mnist_module.cache_path("mnist").is_file()
    damaged = folder / "train-images-idx3-ubyte.gz"
    content = bytearray(damaged.read_bytes())
    content[-10] ^= 0xFF
    damaged.write_bytes(bytes(content))
    monkeypatch.setattr(mnist_module, "_MEMO", {})
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.gz: SHA-256 mismatch"):
        data.mnist(subset=10)
    damaged.unlink()
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.gz: file is missing"):
        data.mnist(subset=10)


def test_memo_returns_read_only_raw_arrays_and_fresh_float_copies():
    raw = mnist_module.load_arrays("mnist")
    assert raw is mnist_module.load_arrays("mnist")
    assert not raw["x_train"].flags.writeable
    a, _ = data.mnist(subset=10)
    a.x[:] = 0  # results are the caller's own arrays
    b, _ = data.mnist(subset=10)
    assert b.x.max() == 1.0

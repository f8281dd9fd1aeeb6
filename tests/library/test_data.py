"""Tests for dllab.data: files and checksums, IDX, MNIST loaders, Dataset, Batches, transforms."""

import gzip
import importlib
import shutil

import numpy as np
import pytest

import dllab.data as data
from dllab.data import (
    Batches,
    DataError,
    Dataset,
    DataWarning,
    concat,
    read_idx,
    transforms,
    write_idx,
)
from dllab.data.files import DEFAULT_DATA_DIR, REGISTRY

# the package exports the function mnist(), which hides the module of the same name
mnist_module = importlib.import_module("dllab.data.mnist")

# Label counts from assets/data/mnist/SOURCE.md
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Every test caches into its own folder, never into the real ~/.cache/dllab."""
    monkeypatch.setenv("DLLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("DLLAB_DATA", raising=False)


@pytest.fixture(scope="module")
def mnist_sets(tmp_path_factory):
    """(train, test) of the full MNIST, loaded once for the module."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DLLAB_CACHE", str(tmp_path_factory.mktemp("cache")))
        mp.delenv("DLLAB_DATA", raising=False)
        yield data.mnist()


@pytest.fixture
def fresh_memo(monkeypatch):
    """An empty in-process memo for this test only (the shared one is restored after)."""
    monkeypatch.setattr(mnist_module, "_MEMO", {})


def copy_dataset(tmp_path, name):
    """Copy the shipped files of one dataset into tmp_path/<name>; returns that folder."""
    target = tmp_path / "data" / name
    shutil.copytree(DEFAULT_DATA_DIR / name, target)
    return target


# ---------------------------------------------------------------- files and checksums

def test_verify_all_shipped_files_pass():
    results = data.verify()
    assert len(results) == sum(len(files) for files in REGISTRY.values()) == 11
    assert all(ok for _, ok, _ in results), [msg for _, ok, msg in results if not ok]


def test_verify_one_dataset_and_unknown_name():
    assert [p.name for p, _, _ in data.verify("iot-solar")] == ["solar.csv"]
    with pytest.raises(ValueError, match="mnist"):
        data.verify("cifar")


def test_data_dir_and_cache_dir_follow_environment(tmp_path, monkeypatch):
    assert data.data_dir() == DEFAULT_DATA_DIR
    assert (DEFAULT_DATA_DIR / "mnist" / "SOURCE.md").is_file()
    monkeypatch.setenv("DLLAB_DATA", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("DLLAB_CACHE", str(tmp_path / "c"))
    assert data.data_dir() == tmp_path / "elsewhere"
    assert data.cache_dir() == tmp_path / "c"
    monkeypatch.delenv("DLLAB_CACHE")
    assert data.cache_dir().parts[-2:] == (".cache", "dllab")


def test_checksum_mismatch_names_file_and_sums(tmp_path, monkeypatch, fresh_memo):
    folder = copy_dataset(tmp_path, "mnist")
    damaged = folder / "t10k-labels-idx1-ubyte.gz"
    content = bytearray(damaged.read_bytes())
    content[100] ^= 0xFF  # flip one byte
    damaged.write_bytes(bytes(content))
    monkeypatch.setenv("DLLAB_DATA", str(tmp_path / "data"))
    expected = REGISTRY["mnist"]["t10k-labels-idx1-ubyte.gz"]
    with pytest.raises(DataError) as info:
        data.mnist()
    message = str(info.value)
    assert str(damaged) in message
    assert expected in message
    assert data.files.sha256_file(damaged) in message
    assert "git checkout -- assets/data/mnist/t10k-labels-idx1-ubyte.gz" in message
    assert "SOURCE.md" in message and "DLLAB_DATA" in message
    verdicts = {p.name: ok for p, ok, _ in data.verify("mnist")}
    assert verdicts == {name: name != damaged.name for name in REGISTRY["mnist"]}


def test_missing_file_is_a_data_error(tmp_path, monkeypatch, fresh_memo):
    (tmp_path / "mnist").mkdir()
    monkeypatch.setenv("DLLAB_DATA", str(tmp_path))
    with pytest.raises(DataError, match="missing") as info:
        data.mnist()
    assert str(tmp_path / "mnist") in str(info.value)
    assert isinstance(info.value, OSError)  # DataError is an OSError, as documented


# ---------------------------------------------------------------- IDX

@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("suffix", [".idx", ".idx.gz"])
def test_idx_round_trip(tmp_path, dtype, suffix):
    array = (np.arange(2 * 3 * 4) - 5).astype(dtype).reshape(2, 3, 4)
    path = tmp_path / f"a{suffix}"
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.shape == (2, 3, 4)
    np.testing.assert_array_equal(back, array)
    assert back.flags.writeable


def test_idx_header_of_shipped_file():
    labels = read_idx(DEFAULT_DATA_DIR / "mnist" / "t10k-labels-idx1-ubyte.gz")
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(labels), MNIST_TEST_COUNTS)


def raw_idx(tmp_path, array):
    path = tmp_path / "raw.idx"
    write_idx(path, array)
    return path, bytearray(path.read_bytes())


@pytest.mark.parametrize("position, value", [(0, 1), (1, 7), (2, 0x42), (3, 0)])
def test_idx_bad_magic(tmp_path, position, value):
    path, content = raw_idx(tmp_path, np.zeros((3, 4), np.uint8))
    content[position] = value
    path.write_bytes(bytes(content))
    with pytest.raises(DataError, match="magic"):
        read_idx(path)


@pytest.mark.parametrize("cut", [1, 5, 20])
def test_idx_truncated_payload_or_header(tmp_path, cut):
    path, content = raw_idx(tmp_path, np.zeros((3, 4), np.uint8))
    path.write_bytes(bytes(content[:-cut]) if cut < 20 else bytes(content[:6]))
    with pytest.raises(DataError, match="truncated"):
        read_idx(path)


def test_idx_extra_bytes(tmp_path):
    path, content = raw_idx(tmp_path, np.zeros((3, 4), np.uint8))
    path.write_bytes(bytes(content) + b"\0")
    with pytest.raises(DataError, match="payload is 13 bytes"):
        read_idx(path)


def test_idx_truncated_and_garbled_gzip(tmp_path):
    packed = gzip.compress(bytes(raw_idx(tmp_path, np.arange(1000, dtype=np.int32))[1]))
    path = tmp_path / "x.gz"
    path.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(DataError, match="gzip"):
        read_idx(path)
    path.write_bytes(packed[:10] + b"\xff" * 50 + packed[60:])
    with pytest.raises(DataError, match="gzip"):
        read_idx(path)
    with pytest.raises(DataError, match="not found"):
        read_idx(tmp_path / "nothing.gz")


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


def test_cache_is_written_used_and_rebuilt_when_corrupt(tmp_path, monkeypatch, fresh_memo):
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


def test_a_damaged_file_fails_even_when_a_cache_of_the_good_one_exists(tmp_path, monkeypatch, fresh_memo):
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


# ---------------------------------------------------------------- Dataset and concat

def toy(n=10, name="toy"):
    return Dataset(np.arange(n * 2, dtype=np.float32).reshape(n, 2), np.arange(n) % 3, name)


def test_dataset_validation_messages():
    with pytest.raises(ValueError, match="x has 5 samples but y has 4"):
        Dataset(np.zeros((5, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="dataset 'nothing' is empty"):
        Dataset(np.zeros((0, 2)), np.zeros(0), name="nothing")
    with pytest.raises(ValueError, match="integer labels or float"):
        Dataset(np.zeros((2, 2)), np.array(["a", "b"]))


def test_dataset_indexing_repr_and_map():
    ds = toy()
    x0, y0 = ds[0]
    assert x0.tolist() == [0, 1] and y0 == 0
    part = ds[2:5]
    assert isinstance(part, Dataset) and len(part) == 3 and part.y.tolist() == [2, 0, 1]
    assert len(ds[ds.y == 0]) == 4
    assert repr(ds) == "Dataset('toy', x=(10, 2) float32, y=(10,) int64, 3 classes)"
    regression = Dataset(np.zeros((4, 3)), np.zeros((4, 1), np.float32), "r")
    assert repr(regression) == "Dataset('r', x=(4, 3) float64, y=(4, 1) float32)"
    doubled = ds.map(lambda x, rng: 2 * x)
    np.testing.assert_array_equal(doubled.x, 2 * ds.x)
    assert doubled.y is ds.y


def test_dataset_subset_and_split():
    ds = toy(30)
    sub = ds.subset(9)
    assert np.bincount(sub.y).tolist() == [3, 3, 3]
    assert (np.diff(sub.x[:, 0]) > 0).all()  # original order kept
    np.testing.assert_array_equal(sub.x, ds.subset(9).x)  # same seed, same subset
    assert len(ds.subset(7, balanced=False)) == 7
    with pytest.raises(ValueError):
        ds.subset(31)
    first, second = ds.split(0.8, seed=1)
    assert (len(first), len(second)) == (24, 6)
    together = np.concatenate([first.x[:, 0], second.x[:, 0]])
    assert sorted(together.tolist()) == ds.x[:, 0].tolist()
    with pytest.raises(ValueError):
        ds.split(1.0)


def test_concat():
    a, b = toy(4, "a"), toy(6, "b")
    both = concat(a, b)
    assert len(both) == 10 and both.name == "a+b"
    np.testing.assert_array_equal(both.x[4:], b.x)
    assert len(concat([a, b])) == 10
    with pytest.raises(ValueError, match="per-sample shapes"):
        concat(a, Dataset(np.zeros((3, 5)), np.zeros(3, int)))
    with pytest.raises(ValueError, match="class lists"):
        concat(Dataset(a.x, a.y, classes=["x", "y", "z"]), Dataset(b.x, b.y, classes="uvw"))


# ---------------------------------------------------------------- Batches

def numbered(n):
    """x[i] = [i, i], y[i] = i: lets a test see which samples a batch holds."""
    return np.repeat(np.arange(n, dtype=np.float32)[:, None], 2, axis=1), np.arange(n)


def test_batches_cover_every_sample_once_per_epoch():
    x, y = numbered(103)
    batches = Batches((x, y), batch_size=10, seed=3)
    assert len(batches) == 11
    epochs = []
    for _ in range(3):
        seen = []
        for xb, yb in batches:
            np.testing.assert_array_equal(xb[:, 0], yb)  # x and y stay paired
            seen.append(yb.copy())
        sizes = [len(s) for s in seen]
        assert sizes == [10] * 10 + [3]
        order = np.concatenate(seen)
        assert sorted(order.tolist()) == list(range(103))
        epochs.append(order)
    assert not np.array_equal(epochs[0], epochs[1])  # a new permutation each epoch
    assert batches.epoch == 3


def test_batches_same_seed_same_sequence():
    x, y = numbered(50)
    first = [yb.copy() for _ in range(2) for _, yb in Batches((x, y), 8, seed=5)]
    a, b = Batches((x, y), 8, seed=5), Batches((x, y), 8, seed=5)
    run_a = [yb.copy() for _ in range(2) for _, yb in a]
    run_b = [yb.copy() for _ in range(2) for _, yb in b]
    assert all(np.array_equal(p, q) for p, q in zip(run_a, run_b))
    other = [yb.copy() for _, yb in Batches((x, y), 8, seed=6)]
    assert not all(np.array_equal(p, q) for p, q in zip(first, other))


def test_shuffled_batches_are_slices_of_one_permutation_per_epoch():
    """Batch k of an epoch holds samples order[k*B:(k+1)*B] of that epoch's permutation, drawn from
    the Batches' generator: the batches are gathered one at a time, but the sequence is that of
    permuting the whole data set."""
    x, y = numbered(23)
    rng = np.random.default_rng(4)
    batches = Batches((x, y), batch_size=5, seed=4)
    for _ in range(2):
        order = rng.permutation(23)
        got = [(xb.copy(), yb.copy()) for xb, yb in batches]
        assert [len(yb) for _, yb in got] == [5, 5, 5, 5, 3]
        for k, (xb, yb) in enumerate(got):
            np.testing.assert_array_equal(yb, order[5 * k:5 * k + 5])
            np.testing.assert_array_equal(xb, x[order[5 * k:5 * k + 5]])


def test_batches_drop_last_and_len():
    x, y = numbered(103)
    batches = Batches((x, y), batch_size=10, drop_last=True)
    assert len(batches) == 10
    assert [len(yb) for _, yb in batches] == [10] * 10
    assert len(Batches((x, y), batch_size=200)) == 1
    assert len(Batches((x, y), batch_size=200, drop_last=True)) == 0
    assert len(Batches((x, y), batch_size=103, drop_last=True)) == 1


def test_batches_without_shuffle_are_views_in_order():
    x, y = numbered(20)
    batches = list(Batches((x, y), batch_size=6, shuffle=False))
    assert [yb.tolist() for _, yb in batches][0] == [0, 1, 2, 3, 4, 5]
    assert all(np.shares_memory(xb, x) for xb, _ in batches)


def test_batches_keep_earlier_batches_intact():
    x, y = numbered(64)
    batches = Batches((x, y), batch_size=16)
    kept = [(xb, yb) for xb, yb in batches]  # hold every batch of epoch 1
    copies = [(xb.copy(), yb.copy()) for xb, yb in kept]
    for _ in range(3):
        for _ in batches:
            pass
    for (xb, yb), (xc, yc) in zip(kept, copies):
        np.testing.assert_array_equal(xb, xc)
        np.testing.assert_array_equal(yb, yc)


def test_batches_reuse_two_batch_buffers():
    x, y = numbered(64)
    batches = Batches((x, y), batch_size=16)
    for _ in range(5):
        for xb, yb in batches:  # noqa: B007 - the loop variable keeps the last batch of an epoch alive
            pass
    assert len(batches._pools[0]) == 2  # one for the running batch, one for the batch before it


def test_batches_transform_gets_the_generator_and_lists_apply_in_order():
    x, y = numbered(12)
    seen = []

    def record(xb, rng):
        seen.append(rng)
        return xb + 100

    def halve(xb, rng):
        return xb / 2

    batches = Batches((x, y), batch_size=4, transform=[record, halve])
    for xb, yb in batches:
        np.testing.assert_array_equal(xb[:, 0], (yb + 100) / 2)
    assert len(seen) == 3 and all(rng is batches.rng for rng in seen)
    np.testing.assert_array_equal(x[:, 0], np.arange(12))  # data untouched

    # random augmentation is reproducible through the shared generator
    shift = transforms.RandomShift(1)
    images = np.random.default_rng(0).random((32, 1, 6, 6)).astype(np.float32)
    runs = [[xb for xb, _ in Batches((images, np.zeros(32)), 8, seed=1, transform=shift)]
            for _ in range(2)]
    assert all(np.array_equal(p, q) for p, q in zip(*runs))


def test_batches_mix_datasets():
    a = Dataset(np.zeros((30, 2), np.float32), np.zeros(30, np.int64), "a")
    b = Dataset(np.ones((10, 2), np.float32), np.ones(10, np.int64), "b")
    batches = Batches([a, b, (np.full((5, 2), 2, np.float32), np.full(5, 2))], batch_size=9)
    labels = np.concatenate([yb for _, yb in batches])
    assert np.bincount(labels).tolist() == [30, 10, 5]
    assert (np.diff(labels) < 0).any()  # shuffled together, not one dataset after the other


@pytest.mark.parametrize("size", [0, -1, 2.5, "64", True])
def test_batches_bad_batch_size(size):
    with pytest.raises(ValueError, match="batch_size"):
        Batches(numbered(10), batch_size=size)


def test_batches_bad_data():
    with pytest.raises(ValueError, match="empty"):
        Batches((np.zeros((0, 3)), np.zeros(0)))
    with pytest.raises(ValueError, match="x has 4 samples but y has 3"):
        Batches((np.zeros((4, 3)), np.zeros(3)))
    with pytest.raises(TypeError):
        Batches(np.zeros((4, 3)))


# ---------------------------------------------------------------- transforms

def bordered_images(n=40, size=12, border=2, seed=0):
    """Random images whose outer `border` pixels are zero: a shift <= border loses nothing."""
    images = np.zeros((n, 1, size, size), np.float32)
    inner = np.random.default_rng(seed).random((n, 1, size - 2 * border, size - 2 * border))
    images[:, :, border:-border, border:-border] = inner
    return images


def test_invert():
    x = np.array([[0.0, 0.25, 1.0]], np.float32)
    out = transforms.invert(x)
    np.testing.assert_array_equal(out, [[1.0, 0.75, 0.0]])
    assert out.dtype == np.float32


def test_random_shift_translates_each_image_with_zero_fill():
    images = bordered_images()
    before = images.copy()
    out = transforms.RandomShift(2)(images, np.random.default_rng(0))
    np.testing.assert_array_equal(images, before)  # input not modified
    assert out.shape == images.shape and out.dtype == np.float32
    np.testing.assert_allclose(out.sum(axis=(1, 2, 3)), images.sum(axis=(1, 2, 3)), rtol=1e-6)
    shifts_found = set()
    for original, shifted in zip(images, out):
        # with a zero border, a shift equals np.roll by the same amount
        matches = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                   if np.array_equal(np.roll(original, (dy, dx), axis=(1, 2)), shifted)]
        assert len(matches) == 1
        shifts_found.add(matches[0])
    assert len(shifts_found) > 5  # each image gets its own shift


def test_random_shift_loses_pixels_past_the_border_and_zero_is_identity():
    images = np.ones((50, 4, 4), np.float32)  # (N, H, W) works too
    out = transforms.RandomShift(1)(images, np.random.default_rng(1))
    assert out.shape == (50, 4, 4)
    assert set(out.sum(axis=(1, 2)).tolist()) <= {16.0, 12.0, 9.0}
    np.testing.assert_array_equal(transforms.RandomShift(0)(images, np.random.default_rng()),
                                  images)
    with pytest.raises(ValueError, match="reshaped"):
        transforms.RandomShift(1)(np.ones((5, 16)), np.random.default_rng())


def test_random_crop():
    images = bordered_images(n=20, size=8, border=1)
    crop = transforms.RandomCrop(8, padding=2)
    out = crop(images, np.random.default_rng(0))
    assert out.shape == (20, 1, 8, 8)
    padded = np.pad(images, ((0, 0), (0, 0), (2, 2), (2, 2)))
    for original, cropped in zip(padded, out):
        windows = [original[:, i:i + 8, j:j + 8] for i in range(5) for j in range(5)]
        assert any(np.array_equal(w, cropped) for w in windows)
    small = transforms.RandomCrop((5, 6))(images, np.random.default_rng(0))
    assert small.shape == (20, 1, 5, 6)
    np.testing.assert_array_equal(transforms.RandomCrop(8)(images, np.random.default_rng()),
                                  images)
    with pytest.raises(ValueError, match="larger"):
        transforms.RandomCrop(9)(images, np.random.default_rng())


def test_random_invert():
    images = bordered_images(n=200)
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(transforms.RandomInvert(0.0)(images, rng), images)
    np.testing.assert_array_equal(transforms.RandomInvert(1.0)(images, rng), 1 - images)
    out = transforms.RandomInvert(0.5)(images, rng)
    flipped = np.array([np.array_equal(o, 1 - i) for o, i in zip(out, images)])
    kept = np.array([np.array_equal(o, i) for o, i in zip(out, images)])
    assert (flipped ^ kept).all() and 60 < flipped.sum() < 140
    assert out.dtype == np.float32


def test_subtract_mean():
    ds = Dataset(bordered_images(n=30), np.zeros(30, np.int64))
    per_image = transforms.SubtractMean.fit(ds)
    assert per_image.mean.shape == (1, 12, 12)
    centred = per_image(ds.x)
    assert centred.dtype == np.float32
    np.testing.assert_allclose(centred.mean(axis=0), 0, atol=1e-6)
    per_channel = transforms.SubtractMean.fit(ds.x, per="channel")
    assert per_channel.mean.shape == (1, 1, 1)
    np.testing.assert_allclose(per_channel(ds.x).mean(), 0, atol=1e-6)
    assert transforms.SubtractMean.fit(ds, per="all").mean.shape == ()


def test_compose_applies_in_order():
    add_one = lambda x, rng: x + 1  # noqa: E731
    double = lambda x, rng: x * 2  # noqa: E731
    x = np.zeros((2, 1, 2, 2), np.float32)
    np.testing.assert_array_equal(transforms.Compose([add_one, double])(x, None), x + 2)
    np.testing.assert_array_equal(transforms.Compose([double, add_one])(x, None), x + 1)
    with pytest.raises(TypeError):
        transforms.Compose([1])


def test_missing_file_names_the_checksum_and_a_wrong_data_folder(tmp_path, monkeypatch, fresh_memo):
    monkeypatch.setenv("DLLAB_DATA", str(tmp_path / "no-such-folder"))
    with pytest.raises(DataError, match=r"missing \(expected sha256 [0-9a-f]{64}\)") as info:
        data.mnist()
    assert "is not a folder: unset it" in str(info.value)


def test_file_messages_word_for_word(tmp_path, monkeypatch):
    """What check_file says, each way a file can be wrong: path, both sums, and how to restore it."""
    from dllab.data.files import check_file, shipped_path

    expected = REGISTRY["iot-solar"]["solar.csv"]
    restore = ("To restore it: run `git checkout -- assets/data/iot-solar/solar.csv` in the repository, or copy "
               "it again from the origin given in assets/data/iot-solar/SOURCE.md")
    path, ok, message = check_file("iot-solar", "solar.csv")  # the shipped file
    assert ok and message == f"{path}: OK (sha256 {expected[:12]}...)"

    monkeypatch.setenv("DLLAB_DATA", str(tmp_path))  # a folder that exists, without the file
    (tmp_path / "iot-solar").mkdir()
    path, ok, message = check_file("iot-solar", "solar.csv")
    assert not ok and path == tmp_path / "iot-solar" / "solar.csv"
    assert message == (f"{path}: file is missing (expected sha256 {expected}). {restore} (DLLAB_DATA is set to "
                       f"{str(tmp_path)!r}; put a good copy there or unset DLLAB_DATA to use the repository's files).")

    (tmp_path / "iot-solar" / "solar.csv").write_text("time,solar.current,solar.total\n")
    actual = data.files.sha256_file(path)
    _, ok, message = check_file("iot-solar", "solar.csv")
    assert not ok and message == (f"{path}: SHA-256 mismatch, the file is damaged or not the shipped one.\n"
                                  f"  expected {expected}\n  actual   {actual}\n{restore} (DLLAB_DATA is set to "
                                  f"{str(tmp_path)!r}; put a good copy there or unset DLLAB_DATA to use the "
                                  "repository's files).")

    monkeypatch.setenv("DLLAB_DATA", str(tmp_path / "absent"))  # not a folder at all
    path, _, message = check_file("iot-solar", "solar.csv")
    assert message == (f"{path}: file is missing (expected sha256 {expected}). DLLAB_DATA="
                       f"{str(tmp_path / 'absent')!r} is not a folder: unset it to use the shipped data, or point it "
                       f"at a folder with one sub-folder per dataset. {restore} (DLLAB_DATA is set to "
                       f"{str(tmp_path / 'absent')!r}; put a good copy there or unset DLLAB_DATA to use the "
                       "repository's files).")

    monkeypatch.delenv("DLLAB_DATA")
    monkeypatch.setattr(data.files, "DEFAULT_DATA_DIR", tmp_path / "shipped")  # no DLLAB_DATA: the hint says so
    path, _, message = check_file("iot-solar", "solar.csv")
    assert message == (f"{path}: file is missing (expected sha256 {expected}). {restore}, or set DLLAB_DATA to a "
                       "folder that holds good copies.")
    with pytest.raises(ValueError) as info:
        shipped_path("iot-solar", "wind.csv")
    assert str(info.value) == "'wind.csv' is not a file of dataset 'iot-solar'; its files are ['solar.csv']"


def test_dataset_with_lengths_slices_concats_and_batches_them():
    x = np.zeros((5, 4, 2), np.float32)
    lengths = np.array([4, 1, 2, 3, 4])
    ds = data.Dataset(x, np.arange(5.0), "seq", lengths=lengths)
    assert ds[1:3].lengths.tolist() == [1, 2]
    both = data.concat(ds, ds)
    assert both.lengths.tolist() == lengths.tolist() * 2
    with pytest.raises(ValueError, match="give every part its lengths"):
        data.concat(ds, data.Dataset(x, np.arange(5.0)))
    with pytest.raises(ValueError, match="lengths must lie in 0..4"):
        data.Dataset(x, np.arange(5.0), lengths=[4, 1, 2, 3, 9])
    with pytest.raises(ValueError, match="lengths must be 5 integers"):
        data.Dataset(x, np.arange(5.0), lengths=np.ones(5))
    seen = []
    for (xb, lb), yb in data.Batches(ds, batch_size=2, shuffle=True, seed=3):
        assert xb.shape[0] == lb.shape[0] == yb.shape[0]
        seen += list(zip(yb.tolist(), lb.tolist()))
    assert sorted(seen) == list(zip(range(5), lengths.tolist()))  # each sample keeps its length
    pairs = data.Batches(((x, lengths), np.arange(5.0)), batch_size=5, shuffle=False)
    (xb, lb), _ = next(iter(pairs))
    assert lb.tolist() == lengths.tolist()
    with pytest.raises(TypeError, match="got a list of int"):
        data.Batches([1, 2, 3])


def test_a_semicolon_separated_solar_csv_is_recognised(tmp_path):
    from dllab.data import read_solar_csv

    rows = ["2013-12-01 07:00:00,6.3,1.69", "2013-12-01 07:30:00,44.25,11.5"]
    comma = tmp_path / "comma.csv"
    comma.write_text("time,solar.current,solar.total\n" + "\n".join(rows) + "\n")
    semi = tmp_path / "semi.csv"  # as a spreadsheet set to a decimal comma saves it
    semi.write_text("time;solar.current;solar.total\n"
                    + "\n".join(r.replace(",", ";").replace(".", ",").replace("solar,", "solar.") for r in rows)
                    + "\n")
    assert "44,25" in semi.read_text()
    a, b = read_solar_csv(comma), read_solar_csv(semi)
    for key in ("time", "current", "total"):
        np.testing.assert_array_equal(a[key], b[key])
    assert b["skipped_rows"] == 0
    other = tmp_path / "other.csv"
    other.write_text("when;power\n2013-12-01 07:00:00;6,3\n")
    with pytest.raises(data.DataError, match=r"header 'when;power' \(fields separated by ';'\) lacks the column"):
        read_solar_csv(other)

"""dllab.data's Dataset, concat and Batches: validation, indexing, subsets and splits, every sample once per epoch,
seeds, buffers, transforms given to batches and padded sequences with their lengths."""

import numpy as np
import pytest
from data_helpers import private_cache  # noqa: F401 - fixtures

import dllab.data as data
from dllab.data import Batches, Dataset, concat, transforms

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

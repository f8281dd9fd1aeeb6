"""dllab.data.transforms: invert, random shifts and crops, random inversion, mean subtraction and Compose."""

import numpy as np
import pytest
from data_helpers import private_cache  # noqa: F401 - fixtures

from dllab.data import Dataset, transforms

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

"""Data augmentation: the shift_flip kernel and its twin against a plain NumPy reference, and
mint.data.augment / Batches(augment=...): shapes kept, a crop is a shift with zeros, a flip is a
mirror, seeded draws repeat, nothing happens (or is drawn) by default, bad input is named."""

import functools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import DTYPES, STRATEGY_NAMES
from mint import functional as F
from mint.data import Batches, augment


def reference_shift_flip(images, shifts, flips):
    """(U1) image by image: crop the zero-padded image at (P + dy, P + dx), then mirror."""
    n, _, height, width = images.shape
    pad = int(np.abs(shifts).max(initial=0))
    out = np.empty_like(images)
    for i in range(n):
        padded = np.pad(images[i], ((0, 0), (pad, pad), (pad, pad)))
        top, left = pad + shifts[i, 0], pad + shifts[i, 1]
        crop = padded[:, top:top + height, left:left + width]
        out[i] = crop[:, :, ::-1] if flips[i] else crop
    return out


@pytest.mark.parametrize("dtype", DTYPES)
@given(n=st.integers(1, 5), channels=st.integers(1, 3), height=st.integers(1, 9),
       width=st.integers(1, 9), reach=st.integers(0, 11), seed=st.integers(0, 2**32 - 1))
def test_shift_flip_matches_the_reference_in_both_strategies(dtype, n, channels, height, width,
                                                             reach, seed):
    # Shifts up to 11 pixels: beyond the image too, where the result is all zeros.
    rng = np.random.default_rng(seed)
    images = rng.standard_normal((n, channels, height, width)).astype(dtype)
    shifts = rng.integers(-reach, reach, size=(n, 2), endpoint=True)
    flips = rng.random(n) < 0.5
    expected = reference_shift_flip(images, shifts, flips)
    for strategy in STRATEGY_NAMES:
        out = F.shift_flip(images, shifts, flips, strategy=strategy)
        assert out.dtype == images.dtype and out.shape == images.shape
        np.testing.assert_array_equal(out, expected, err_msg=strategy)
        # Any memory layout gives the same result (the functional makes it contiguous).
        np.testing.assert_array_equal(
            F.shift_flip(np.asfortranarray(images), shifts.astype(np.int32), flips[::-1][::-1],
                         strategy=strategy), expected, err_msg=f"{strategy}, Fortran order")


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_a_shift_moves_the_image_and_fills_with_zeros_and_a_flip_mirrors(strategy):
    images = np.arange(1, 2 * 3 * 4 + 1, dtype=np.float32).reshape(2, 1, 3, 4)
    shifts = np.array([[1, -2], [0, 0]])
    out = F.shift_flip(images, shifts, np.array([False, True]), strategy=strategy)
    # Image 0: out[y, x] = in[y + 1, x - 2]; the last row and the first two columns are new.
    np.testing.assert_array_equal(out[0, 0, :2, 2:], images[0, 0, 1:, :2])
    assert not out[0, 0, 2].any() and not out[0, 0, :, :2].any()
    # Image 1: not shifted, mirrored.
    np.testing.assert_array_equal(out[1], images[1, :, :, ::-1])


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_augment_keeps_shapes_shifts_by_at_most_the_padding_and_mirrors(strategy):
    rng = np.random.default_rng(0)
    images = np.zeros((64, 2, 9, 9), np.float32)
    images[:, :, 4, 4] = 1  # one lit pixel in the middle: where it lands says the shift
    out = augment(images, rng, crop_padding=2, strategy=strategy)
    assert out.shape == images.shape and out.dtype == images.dtype
    ys, xs = np.nonzero(out[:, 0])[1:]
    assert len(ys) == 64 and out.sum() == images.sum()  # moved, never lost: 2 < 4 pixels away
    assert set(ys - 4) == set(xs - 4) == {-2, -1, 0, 1, 2}  # every shift in [-2, 2] is drawn
    np.testing.assert_array_equal(out[:, 1], out[:, 0])  # one shift per image, all channels

    steps = np.arange(9, dtype=np.float32)
    ramps = np.broadcast_to(steps, (200, 1, 9, 9))
    mirrored = augment(ramps, rng, flip=True, strategy=strategy)
    flipped = mirrored[:, 0, 0, 0] == 8
    np.testing.assert_array_equal(mirrored[flipped], ramps[flipped][..., ::-1])
    np.testing.assert_array_equal(mirrored[~flipped], ramps[~flipped])
    assert 70 < flipped.sum() < 130  # about half


def test_augment_repeats_under_a_seed_and_differs_between_seeds():
    images = np.random.default_rng(1).random((16, 1, 8, 8)).astype(np.float32)

    def draw(seed):
        return augment(images, np.random.default_rng(seed), crop_padding=1, flip=True)
    np.testing.assert_array_equal(draw(3), draw(3))
    assert not np.array_equal(draw(3), draw(4))
    # The strategies draw the same numbers and compute the same batch.
    np.testing.assert_array_equal(
        augment(images, np.random.default_rng(5), 2, True, strategy="loop"),
        augment(images, np.random.default_rng(5), 2, True, strategy="vectorized"))


def test_augment_is_off_by_default_and_then_draws_nothing():
    images = np.ones((4, 1, 5, 5), np.float32)
    rng = np.random.default_rng(2)
    state = rng.bit_generator.state
    assert augment(images, rng) is images
    assert rng.bit_generator.state == state
    # Only the draws asked for: a crop-only run takes no coin flips.
    crop_only, both = np.random.default_rng(2), np.random.default_rng(2)
    augment(images, crop_only, crop_padding=1)
    augment(images, both, crop_padding=1, flip=True)
    assert crop_only.random() != both.random()


def test_batches_augment_each_batch_with_their_generator_and_keep_labels_aligned():
    images = np.zeros((10, 1, 5, 5), np.float32)
    labels = np.arange(10)
    images[:, 0, 2, 2] = labels  # each image carries its label in its middle pixel
    plain = Batches(images, labels, 4, shuffle=True, seed=7)
    assert plain.augment is None
    assert all(np.array_equal(x[:, 0, 2, 2], y) for x, y in plain)

    def batches():
        return list(Batches(images, labels, 4, shuffle=True, seed=7,
                            augment=functools.partial(augment, crop_padding=1)))
    first, second = batches(), batches()
    for (x, y), (x2, y2) in zip(first, second, strict=True):
        np.testing.assert_array_equal(x, x2)
        np.testing.assert_array_equal(y, y2)
        np.testing.assert_array_equal(x.sum(axis=(1, 2, 3)), y)  # the pixel moved, kept
    assert any(not np.array_equal(x[:, 0, 2, 2], y) for x, y in first)  # some were shifted
    with pytest.raises(TypeError, match="Batches: augment must be None or a function"):
        Batches(images, labels, 4, augment="crop")


@pytest.mark.parametrize("call, error, match", [
    (lambda x: augment(x, 0, 1), TypeError, "augment: rng must be a numpy.random.Generator, "
                                            "got int"),
    (lambda x: augment(x, np.random.default_rng(), -1), ValueError,
     "augment: crop_padding must be >= 0, got -1"),
    (lambda x: augment(x, np.random.default_rng(), True), TypeError,
     "augment: crop_padding must be an int"),
    (lambda x: augment(x, np.random.default_rng(), flip=1), TypeError,
     "augment: flip must be a bool"),
    (lambda x: augment(x[0], np.random.default_rng(), 1), ValueError,
     r"augment: images must have 4 dimensions, got shape \(1, 4, 4\)"),
    (lambda x: augment(x.astype(int), np.random.default_rng(), 1), TypeError,
     "augment: images must have dtype float32 or float64"),
    (lambda x: F.shift_flip(x, np.zeros((2, 2), np.int64), np.zeros(3, bool)), ValueError,
     r"shift_flip: shifts must have shape \(3, 2\) for 3 images, got \(2, 2\)"),
    (lambda x: F.shift_flip(x, np.zeros((3, 2)), np.zeros(3, bool)), TypeError,
     "shift_flip: shifts must hold integers, got dtype float64"),
    (lambda x: F.shift_flip(x, np.zeros((3, 2), int), np.zeros(3)), TypeError,
     "shift_flip: flips must hold bools, got dtype float64"),
    (lambda x: F.shift_flip(x, [[0, 0]] * 3, np.zeros(3, bool)), TypeError,
     "shift_flip: shifts must be a numpy.ndarray, got list"),
])
def test_bad_arguments_are_named_before_any_kernel_runs(call, error, match):
    with pytest.raises(error, match=match):
        call(np.zeros((3, 1, 4, 4), np.float32))

import math

import numpy as np
import pytest
import tensorflow as tf
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from tfgan_app.data import shapes

N = 2000


@pytest.fixture(scope="module")
def grey32():
    """(images, labels, factors as numpy arrays) of examples 0..N-1, seed 0, 32 px, grayscale."""
    images, labels = shapes.render_numpy(0, range(N), 32, channels=1)
    draws = tf.data.Dataset.range(N).map(lambda i: shapes.factors(0, i, 32)).batch(N)
    factors = {k: v.numpy() for k, v in next(iter(draws)).items()}
    return images, labels, factors


def _mask_moments(images):
    """Per image, two rotation-, scale- and position-invariant features of the binary mask
    (pixels at least half the image's peak): mean squared distance from the mask's centroid
    and the farthest mask pixel's distance, both in units of sqrt(mask area)."""
    values = images.max(axis=-1).astype(np.float64)
    mask = values * 2 >= values.max(axis=(1, 2), keepdims=True)
    size = images.shape[1]
    rows, cols = np.mgrid[:size, :size] + 0.5
    area = mask.sum(axis=(1, 2))
    cy = (mask * rows).sum(axis=(1, 2)) / area
    cx = (mask * cols).sum(axis=(1, 2)) / area
    r = np.hypot(rows - cy[:, None, None], cols - cx[:, None, None]) / np.sqrt(area)[:, None, None]
    return np.stack([(r ** 2 * mask).sum(axis=(1, 2)) / area, (r * mask).max(axis=(1, 2))], 1)


def test_eager_graph_and_repeat_renders_are_identical():
    indices = [0, 1, 7, 123, 2 ** 40 + 5]
    batch, labels = shapes.render_numpy(3, indices, 32)  # tf.data map: graph mode
    again, labels_again = shapes.render_numpy(3, indices, 32)
    np.testing.assert_array_equal(batch, again)
    np.testing.assert_array_equal(labels, labels_again)
    graph_fn = tf.function(lambda i: shapes.render(3, i, 32), autograph=False)
    for k, index in enumerate(indices):
        image, label = shapes.render(3, tf.constant(index, tf.int64), 32)  # eager
        assert image.dtype == tf.uint8 and label.dtype == tf.int32 and label.shape == ()
        np.testing.assert_array_equal(image.numpy(), batch[k])
        assert int(label) == labels[k]
        np.testing.assert_array_equal(graph_fn(tf.constant(index, tf.int64))[0].numpy(),
                                      batch[k])
    # A Python int index is the same example as the int64 tensor.
    np.testing.assert_array_equal(shapes.render(3, 123, 32)[0].numpy(), batch[3])


def test_labels_cover_all_classes_uniformly(grey32):
    _, labels, factors = grey32
    np.testing.assert_array_equal(labels, factors["label"])
    counts = np.bincount(labels, minlength=len(shapes.SHAPE_CLASSES))
    assert len(counts) == 4 and counts.sum() == N
    # Binomial sd of a class count is sqrt(2000 * 0.25 * 0.75) ~= 19; 80 is 4 sd.
    assert np.all(np.abs(counts - N / 4) < 80), counts


def test_factors_span_their_ranges(grey32):
    _, _, f = grey32
    low, high = shapes.SCALE_RANGE
    assert f["scale"].min() >= low and f["scale"].max() <= high
    assert f["scale"].min() < low + 0.01 and f["scale"].max() > high - 0.01
    assert f["angle"].min() >= 0 and f["angle"].max() < 2 * math.pi
    assert f["angle"].min() < 0.02 and f["angle"].max() > 2 * math.pi - 0.02
    np.testing.assert_allclose(f["radius_px"], f["scale"] * 16, rtol=1e-6)
    for axis in ("centre_x", "centre_y"):
        # The bounding circle plus margin stays inside; positions cover the allowed range.
        assert np.all(f[axis] - f["radius_px"] >= shapes.MARGIN_PX - 1e-4)
        assert np.all(f[axis] + f["radius_px"] <= 32 - shapes.MARGIN_PX + 1e-4)
        assert f[axis].min() < 9 and f[axis].max() > 23
    # Independent draws: scale says nothing about the class or the position.
    assert abs(np.corrcoef(f["scale"], f["label"])[0, 1]) < 0.1
    assert abs(np.corrcoef(f["centre_x"], f["centre_y"])[0, 1]) < 0.1


def test_different_indices_and_seeds_give_different_images(grey32):
    images, _, _ = grey32
    assert len({image.tobytes() for image in images}) == N
    other, _ = shapes.render_numpy(1, range(20), 32, channels=1)
    assert not any(np.array_equal(a, b) for a, b in zip(images[:20], other))


@pytest.mark.parametrize("size", [16, 32, 64, 128])
@pytest.mark.parametrize("channels", [1, 3])
def test_every_size_and_channel_count(size, channels):
    images, labels = shapes.render_numpy(5, range(24), size, channels)
    assert images.shape == (24, size, size, channels) and images.dtype == np.uint8
    assert labels.shape == (24,) and labels.dtype == np.int32
    # The class of an index does not depend on the size it is rendered at.
    f = [shapes.factors(5, i, 32) for i in range(24)]
    np.testing.assert_array_equal(labels, [int(d["label"]) for d in f])
    assert len(set(labels)) == 4
    # Anti-aliasing leaves at most 0.5 px of coverage past the outline, inside the margin.
    border = np.concatenate([images[:, 0], images[:, -1], images[:, :, 0], images[:, :, -1]], 1)
    assert border.max() == 0
    peaks = images.reshape(24, -1, channels).max(axis=1)
    if channels == 3:
        # A saturated full-value colour: a fully covered pixel has one channel at 255.
        assert np.all(peaks.max(axis=1) == 255)
    else:
        hue = np.array([float(d["hue"]) for d in f])
        low, high = shapes.BRIGHTNESS_RANGE
        np.testing.assert_array_equal(peaks[:, 0], np.round(255 * (low + (high - low) * hue)))


def test_every_shape_keeps_clear_of_the_canvas_edge(grey32):
    images, _, _ = grey32
    edges = np.concatenate([images[:, 0], images[:, -1], images[:, :, 0], images[:, :, -1]], 1)
    assert edges.max() == 0
    # ...yet they reach near it: the margin is one pixel, not more.
    assert images[:, 1].max() > 0 and images[:, :, -2].max() > 0


def test_classes_are_separable_by_simple_mask_features(grey32):
    images, labels, _ = grey32
    features = _mask_moments(images)
    model = make_pipeline(StandardScaler(), LogisticRegression())
    model.fit(features[:1500], labels[:1500])
    accuracy = model.score(features[1500:], labels[1500:])
    assert accuracy > 0.9, accuracy  # chance is 0.25


def test_area_follows_the_drawn_scale(grey32):
    images, labels, f = grey32
    low, high = shapes.BRIGHTNESS_RANGE
    brightness = low + (high - low) * f["hue"]
    # Summed coverage: the pixel value is coverage * brightness * 255, then rounded.
    area = images[..., 0].sum(axis=(1, 2)) / (255.0 * brightness)
    expected = shapes.SHAPE_AREA * f["radius_px"] ** 2
    assert np.corrcoef(area, f["scale"])[0, 1] > 0.99
    # Every class has the same area at the same scale (size gives the class away nowhere).
    for c in range(len(shapes.SHAPE_CLASSES)):
        ratio = area[labels == c] / expected[labels == c]
        assert abs(ratio.mean() - 1) < 0.01 and np.abs(ratio - 1).max() < 0.05, (c, ratio)


def test_bad_size_or_channels_are_refused():
    with pytest.raises(ValueError, match="size"):
        shapes.render(0, 0, 8)
    with pytest.raises(ValueError, match="channels"):
        shapes.render(0, 0, 32, channels=4)

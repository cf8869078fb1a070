"""dSprites-style shapes (Matthey et al. 2017) rendered on the fly from (seed, index).

Nothing is stored: every example is a pure function of (seed, index, size, channels), so the
dataset has any size and any count, works offline, and any reader can fetch example `index`
directly. Factors of variation per example, each drawn independently and uniformly:

- shape class: one of SHAPE_CLASSES (the label);
- colour: a fully saturated hue (RGB), or a brightness in [0.4, 1] (grayscale);
- scale: 0.45-0.85 of the half-canvas (the radius of a circle every class fits in);
- rotation: 0-2π;
- position: anywhere the shape stays fully inside the canvas.

The background is black. Edges are anti-aliased from each shape's exact signed distance in
pixels, so 16 px images stay clean. All classes have the same area at the same scale, so size
says nothing about the class and "scale" means the same thing for every class. An index has
the same class, colour, scale, angle and relative position at every image size.

Determinism: the draws are stateless Philox (integer arithmetic) and the pixels come from
additions, multiplications, square roots, comparisons and a polynomial cos/sin only, all
correctly rounded in IEEE float32, so nothing depends on the platform's libm or on eager vs
graph execution.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

SHAPE_CLASSES = ("square", "circle", "triangle", "heart")
# dSprites uses 0.5-1; below ~0.45 a 16 px shape is a 4 px blob whose class is guesswork.
SCALE_RANGE = (0.45, 0.85)
BRIGHTNESS_RANGE = (0.4, 1.0)
# Kept clear of the canvas edge beyond the shape's bounding circle, in pixels: anti-aliasing
# reaches 0.5 px past the outline, so border pixels are always exactly background.
MARGIN_PX = 1.0
# The smallest canvas the largest scale plus margins fits in (14 px), rounded up.
MIN_SIZE = 16

# Factor draws, in order, from one stateless uniform vector per example.
_CLASS, _COLOUR, _SCALE, _ANGLE, _X, _Y = range(6)
_NUM_DRAWS = 6

_SQRT3 = math.sqrt(3.0)
# The heart outline is Inigo Quilez's exact heart distance: tip at the origin, lobes of radius
# √2/4 centred at (±1/4, 3/4). The point on the y axis equally far from the tip and from the
# lobes' far edges is its bounding-circle centre, and that distance its radius.
_HEART_LOBE_RADIUS = math.sqrt(2.0) / 4.0
_HEART_CENTRE = 0.5 / (1.5 - math.sqrt(0.5))
# Areas of each class scaled to a bounding circle of radius 1 (the heart: a unit-diagonal
# square plus two half-discs). The triangle fills its circle least, so it alone touches the
# circle and the others shrink to its area.
_UNIT_AREAS = {"square": 2.0, "circle": math.pi, "triangle": 0.75 * _SQRT3,
               "heart": (0.5 + math.pi / 8.0) / _HEART_CENTRE ** 2}
SHAPE_AREA = min(_UNIT_AREAS.values())  # of every class, in units of (scale * half-canvas)^2
_LINEAR_SIZE = {name: math.sqrt(SHAPE_AREA / area) for name, area in _UNIT_AREAS.items()}


def _check(size: int, channels: int = 1):
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < MIN_SIZE:
        raise ValueError(f"shapes: size must be an int >= {MIN_SIZE}, got {size!r}")
    if channels not in (1, 3):
        raise ValueError(f"shapes: channels must be 1 or 3, got {channels!r}")


def _draws(seed: int, index) -> tf.Tensor:
    # Philox named explicitly: "auto_select" may pick a different generator on other devices.
    key = tf.stack([tf.constant(seed, tf.int64), tf.cast(index, tf.int64)])
    return tf.random.stateless_uniform([_NUM_DRAWS], seed=key, dtype=tf.float32, alg="philox")


def _cos_sin(theta: tf.Tensor):
    """cos and sin of theta in [0, 2π) from additions and multiplications only.

    libm's and Eigen's sin/cos differ in the last bit between platforms; a fixed polynomial
    made of correctly rounded IEEE operations gives the same bits everywhere. (Reciprocals
    are Python constants so that graph rewrites have no division to turn into a multiply.)
    """
    # Half the angle, shifted into [-π/2, π/2), where Taylor series to degree 13 leave only
    # float32 rounding; both series share each Horner step (per-op overhead dominates here).
    h = theta * 0.5 - 0.5 * math.pi
    h2 = h * h
    series = tf.ones([2])
    for k in range(12, 0, -2):  # [1 - h²/(k+1)k (...), 1 - h²/k(k-1) (...)]: sin h / h, cos h
        series = 1.0 - h2 * series * tf.constant([1.0 / ((k + 1) * k), 1.0 / (k * (k - 1))])
    sin_h, cos_h = tf.unstack(series * tf.stack([h, 1.0]))
    # theta = 2h + π: cos theta = -cos 2h, sin theta = -sin 2h.
    return sin_h * sin_h - cos_h * cos_h, -2.0 * sin_h * cos_h


def _hue_to_rgb(hue: tf.Tensor) -> tf.Tensor:
    """Fully saturated, full-value RGB in [0, 1] for hue in [0, 1)."""
    h6 = hue * 6.0
    return tf.clip_by_value(tf.stack([tf.abs(h6 - 3.0) - 1.0,
                                      2.0 - tf.abs(h6 - 2.0),
                                      2.0 - tf.abs(h6 - 4.0)]), 0.0, 1.0)


# Straight-line TensorFlow code: AutoGraph would only spend time (and warn) converting it.
@tf.autograph.experimental.do_not_convert
def factors(seed: int, index, size: int) -> dict:
    """The factors of variation of example `index`.

    Args:
      seed: the dataset seed (a Python int).
      index: the example's index (int64 scalar tensor or Python int).
      size: the square image size in pixels.

    Returns:
      {"label": int32, "hue": hue in [0, 1) (grayscale: brightness fraction), "scale": in
      SCALE_RANGE, "angle": radians in [0, 2π), "centre_x", "centre_y": pixels from the
      top-left corner (pixel centres are at i + 0.5), "radius_px": the bounding-circle radius
      in pixels}, all scalar tensors.
    """
    _check(size)
    u = tf.unstack(_draws(seed, index))
    label = tf.minimum(tf.cast(u[_CLASS] * len(SHAPE_CLASSES), tf.int32), len(SHAPE_CLASSES) - 1)
    scale = SCALE_RANGE[0] + (SCALE_RANGE[1] - SCALE_RANGE[0]) * u[_SCALE]
    half = size / 2.0
    radius = scale * half
    low = radius + MARGIN_PX
    span = size - 2.0 * low
    return {"label": label, "hue": u[_COLOUR], "scale": scale,
            "angle": (2.0 * math.pi) * u[_ANGLE],
            "centre_x": low + span * u[_X], "centre_y": low + span * u[_Y],
            "radius_px": radius}


def _length(x, y):
    return tf.sqrt(x * x + y * y)


def _sdf_square(x, y):
    half_side = _LINEAR_SIZE["square"] / math.sqrt(2.0)
    qx, qy = tf.abs(x) - half_side, tf.abs(y) - half_side
    return _length(tf.maximum(qx, 0.0), tf.maximum(qy, 0.0)) + tf.minimum(tf.maximum(qx, qy), 0.0)


def _sdf_circle(x, y):
    return _length(x, y) - _LINEAR_SIZE["circle"]


def _sdf_triangle(x, y):
    # Equilateral, centred, a vertex up; Quilez's exact distance with half-side r.
    f = _LINEAR_SIZE["triangle"]
    r = f * _SQRT3 / 2.0
    px, py = tf.abs(x) - r, y + r / _SQRT3
    fold = px + _SQRT3 * py > 0.0  # past the slanted edge: reflect across it
    px, py = (tf.where(fold, (px - _SQRT3 * py) * 0.5, px),
              tf.where(fold, (-_SQRT3 * px - py) * 0.5, py))
    px = px - tf.clip_by_value(px, -2.0 * r, 0.0)
    return -_length(px, py) * tf.sign(py)


def _sdf_heart(x, y):
    # Heart units per bounding-circle unit: its bounding circle (radius _HEART_CENTRE around
    # (0, _HEART_CENTRE)) must have radius _LINEAR_SIZE["heart"] here.
    k = _HEART_CENTRE / _LINEAR_SIZE["heart"]
    px = tf.abs(x) * k
    py = y * k + _HEART_CENTRE
    lobe = _length(px - 0.25, py - 0.75) - _HEART_LOBE_RADIUS
    t = 0.5 * tf.maximum(px + py, 0.0)
    body = tf.sqrt(tf.minimum(px * px + (py - 1.0) * (py - 1.0),
                              (px - t) * (px - t) + (py - t) * (py - t))) * tf.sign(px - py)
    return tf.where(px + py > 1.0, lobe, body) * (1.0 / k)


_SDFS = (_sdf_square, _sdf_circle, _sdf_triangle, _sdf_heart)  # in SHAPE_CLASSES order


@tf.autograph.experimental.do_not_convert
def render(seed: int, index, size: int, channels: int = 3):
    """One example, in pure TensorFlow ops (usable in `tf.data.Dataset.map`, graph mode).

    Args:
      seed: the dataset seed (a Python int); different seeds give independent datasets.
      index: the example's index, an int64 scalar tensor (or a Python int).
      size: the square image size in pixels (a Python int, >= MIN_SIZE).
      channels: 3 for colour, 1 for grayscale.

    Returns:
      (image uint8 [size, size, channels], label int32 scalar); the same for the same
      (seed, index, size, channels), in eager and graph mode.
    """
    _check(size, channels)
    f = factors(seed, index, size)
    cos, sin = _cos_sin(f["angle"])
    inv_radius = 1.0 / f["radius_px"]
    coords = tf.range(size, dtype=tf.float32) + 0.5
    dx = tf.reshape(coords - f["centre_x"], [1, size])
    dy = tf.reshape(coords - f["centre_y"], [size, 1])
    # Rotate by -angle into the shape's frame, in bounding-circle units, y pointing up.
    c, s = cos * inv_radius, sin * inv_radius
    x = dx * c - dy * s
    y = -(dx * s) - dy * c
    distance = tf.switch_case(f["label"], [lambda sdf=sdf: sdf(x, y) for sdf in _SDFS])
    # Box-filter coverage of a pixel by a locally straight edge at that signed distance.
    coverage = tf.clip_by_value(0.5 - distance * f["radius_px"], 0.0, 1.0)
    if channels == 3:
        colour = _hue_to_rgb(f["hue"])
    else:
        low, high = BRIGHTNESS_RANGE
        colour = tf.reshape(low + (high - low) * f["hue"], [1])
    image = tf.round(coverage[:, :, None] * (colour * 255.0))
    return tf.cast(image, tf.uint8), f["label"]


def dataset(seed: int, size: int, channels: int = 3, indices=None) -> tf.data.Dataset:
    """(image, label) examples for `indices` (default: 0, 1, 2, ... without end), in order."""
    _check(size, channels)
    if indices is None:
        ds = tf.data.Dataset.range(np.iinfo(np.int64).max)
    else:
        ds = tf.data.Dataset.from_tensor_slices(np.asarray(indices, np.int64).reshape(-1))
    return ds.map(lambda i: render(seed, i, size, channels),
                  num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def render_numpy(seed: int, indices, size: int, channels: int = 3):
    """Render many examples at once (tests, evaluation).

    Args:
      seed: the dataset seed.
      indices: example indices, any integer array-like.
      size, channels: as for `render`.

    Returns:
      (uint8 array [n, size, size, channels], int32 labels [n]), bit-identical to `render`.
    """
    indices = np.asarray(indices, np.int64).reshape(-1)
    images = np.zeros((len(indices), size, size, channels), np.uint8)
    labels = np.zeros(len(indices), np.int32)
    start = 0
    for x, y in dataset(seed, size, channels, indices).batch(256):
        images[start:start + len(x)], labels[start:start + len(x)] = x.numpy(), y.numpy()
        start += len(x)
    return images, labels

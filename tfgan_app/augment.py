"""DiffAugment (Zhao et al. 2020): differentiable random transforms of what D sees.

The same random family is applied to every discriminator input, real and generated, in both
updates, and gradients flow through it to the generator. Three policies, composable in the
order given (`train.diffaugment=color,translation,cutout`), with the paper's parameters on
images in [-1, 1]:

    color        brightness + U[-0.5, 0.5); saturation x U[0, 2) around the pixel's channel
                 mean; contrast x U[0.5, 1.5) around the image mean (one draw per image each)
    translation  an integer shift in [-s, s] per axis, s = int(size / 8 + 0.5), the pixels
                 shifted in set to the fill value
    cutout       a square of half the image size, centred uniformly, set to the fill value
                 (clipped at the border)

The fill value (`train.diffaugment_fill`) is the paper's 0 by default: mid-grey on [-1, 1]
images. -1 (black) is the background of the bundled digits and shapes, so that translation
and cutout there leave images that look like the data's.

Every function takes its randomness as an argument: `diff_augment` gets a [batch, k] tensor
of U[0, 1) numbers (`num_draws(policy)` of them per image), which the model draws with
`GANModel.global_random` so that a step on N replicas transforms exactly as on one device.
Computed in float32 whatever the compute dtype.
"""

from __future__ import annotations

import tensorflow as tf

from tfgan_app.errors import ConfigError

# Policy -> U[0, 1) numbers it takes per image.
DRAWS = {"color": 3, "translation": 2, "cutout": 2}
POLICIES = tuple(DRAWS)
TRANSLATION_RATIO = 0.125  # the largest shift, as a fraction of the image size
CUTOUT_RATIO = 0.5  # the side of the cut square, as a fraction of the image size


def parse_policy(text: str, key: str = "train.diffaugment") -> tuple[str, ...]:
    """`"color,translation"` -> ("color", "translation"); "" -> (). ConfigError naming `key`
    and the bad token for anything else (an unknown or repeated name)."""
    tokens = [token.strip() for token in text.split(",")] if text.strip() else []
    for index, token in enumerate(tokens):
        if token not in DRAWS:
            raise ConfigError(f"config key '{key}': unknown policy {token!r} in {text!r}; "
                              f"use a comma-separated subset of {', '.join(POLICIES)}")
        if token in tokens[:index]:
            raise ConfigError(f"config key '{key}': policy {token!r} is named twice in "
                              f"{text!r}")
    return tuple(tokens)


def num_draws(policy) -> int:
    """U[0, 1) numbers per image that `diff_augment(x, policy, u)` takes."""
    return sum(DRAWS[name] for name in policy)


def _per_image(u):
    """[batch] -> [batch, 1, 1, 1], to scale whole images."""
    return tf.reshape(u, [-1, 1, 1, 1])


def color(x, u):
    """Brightness, saturation then contrast; `u` [batch, 3] in [0, 1)."""
    x = x + _per_image(u[:, 0] - 0.5)
    mean = tf.reduce_mean(x, axis=3, keepdims=True)  # per pixel, over channels
    x = (x - mean) * _per_image(2.0 * u[:, 1]) + mean
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)  # per image
    return (x - mean) * _per_image(u[:, 2] + 0.5) + mean


def translate(x, dy, dx):
    """out[b, i, j] = x[b, i + dy[b], j + dx[b]], 0 outside the image (int shifts [batch]).

    As products with one-hot shift matrices: dense, differentiable in x, and a row or
    column shifted in from outside the image is all zeros.
    """
    height, width = x.shape[1], x.shape[2]
    rows = tf.one_hot(tf.range(height)[None, :] + tf.cast(dy, tf.int32)[:, None], height,
                      dtype=x.dtype)  # [batch, out row, in row]
    cols = tf.one_hot(tf.range(width)[None, :] + tf.cast(dx, tf.int32)[:, None], width,
                      dtype=x.dtype)  # [batch, out column, in column]
    x = tf.einsum("bih,bhwc->biwc", rows, x)
    return tf.einsum("bjw,biwc->bijc", cols, x)


def _uniform_int(u, low, high):
    """U[0, 1) -> integers uniform in [low, high)."""
    value = tf.cast(tf.floor(u * float(high - low)), tf.int32) + low
    return tf.minimum(value, high - 1)  # u rounded up to 1.0 in float32


def translation(x, u, fill: float = 0.0):
    """A random shift of up to 1/8 of the size per axis, `fill` shifted in; `u` [batch, 2]
    in [0, 1)."""
    sy = int(x.shape[1] * TRANSLATION_RATIO + 0.5)
    sx = int(x.shape[2] * TRANSLATION_RATIO + 0.5)
    shifted = translate(x - fill, _uniform_int(u[:, 0], -sy, sy + 1),
                        _uniform_int(u[:, 1], -sx, sx + 1))
    return shifted + fill


def cut(x, cy, cx, height: int, width: int):
    """Zero a `height` x `width` box centred at (cy, cx) per image (rows cy - height // 2
    to cy - height // 2 + height - 1, clipped to the image)."""
    top = tf.cast(cy, tf.int32)[:, None] - height // 2
    left = tf.cast(cx, tf.int32)[:, None] - width // 2
    i = tf.range(x.shape[1])[None, :]
    j = tf.range(x.shape[2])[None, :]
    in_rows = tf.cast((i >= top) & (i < top + height), x.dtype)  # [batch, rows]
    in_cols = tf.cast((j >= left) & (j < left + width), x.dtype)  # [batch, columns]
    keep = 1.0 - in_rows[:, :, None] * in_cols[:, None, :]
    return x * keep[:, :, :, None]


def cutout(x, u, fill: float = 0.0):
    """A square of half the image size set to `fill` at a uniform centre; `u` [batch, 2] in
    [0, 1).

    Centres range over [0, size), plus `size` itself for an even square side, so the
    square overhangs either border equally far (the reference implementation's range).
    """
    height = int(x.shape[1] * CUTOUT_RATIO + 0.5)
    width = int(x.shape[2] * CUTOUT_RATIO + 0.5)
    cy = _uniform_int(u[:, 0], 0, x.shape[1] + (1 - height % 2))
    cx = _uniform_int(u[:, 1], 0, x.shape[2] + (1 - width % 2))
    return cut(x - fill, cy, cx, height, width) + fill


TRANSFORMS = {"color": color, "translation": translation, "cutout": cutout}
FILLED = ("translation", "cutout")  # the transforms that set pixels to the fill value


def diff_augment(x, policy, u, fill: float = 0.0):
    """`x` [batch, H, W, C] transformed by each policy in order, in float32.

    `u`: [batch, num_draws(policy)] numbers in [0, 1), consumed left to right. `fill`: the
    value of the pixels that translation shifts in and cutout covers.
    """
    x = tf.cast(x, tf.float32)
    u = tf.cast(u, tf.float32)
    start = 0
    for name in policy:
        extra = (fill,) if name in FILLED else ()
        x = TRANSFORMS[name](x, u[:, start:start + DRAWS[name]], *extra)
        start += DRAWS[name]
    return x

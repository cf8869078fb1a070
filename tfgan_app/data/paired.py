"""Paired image-to-image data: joining two collections into one dataset, and the built-ins.

A paired example is one image: source (domain A) and target (domain B) concatenated along
channels (`Pairing`, tfgan_app/data/dataset.py). Two collections become one dataset by
`pair_datasets`:

- aligned (pix2pix: A[i] and B[i] correspond): example i = A[i] | B[i];
- unaligned (CycleGAN: two collections of sizes nA, nB, no correspondence): there are
  max(nA, nB) examples and example i = A[i mod nA] | B[perm(i) mod nB], for a permutation
  `perm` of range(max(nA, nB)) fixed by `PAIRING_SEED` (`unaligned_indices`). So every A
  and every B image is used each pass (the smaller collection once or more), the pairing
  is part of the dataset's content like its files, and random access, streaming and
  exact resume work as for any dataset. Streams (TFDS) have no random access: there
  pass p pairs the two collections' pass-p orders position by position, the shorter one
  repeated, which is again a function of (seed, pass) only.

The built-ins (offline, from data bundled with scikit-learn, built in well under 2 s):
`edges2digits` (aligned), `edges2digits_unpaired` (the same collections unaligned; its
`Dataset.aligned()` is `edges2digits`), `photos` (single-image patches of the two sample
photos) and `gray2color` (aligned grayscale -> colour patches of the same photos).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import tensorflow as tf

from tfgan_app.data.dataset import ArrayReader, Dataset, IndexedReader, Pairing, StreamReader
from tfgan_app.errors import DataError

# The unaligned pairing is content, not run state: it never depends on train.seed.
PAIRING_SEED = 0x5EED
# Photos: crops of the right-most strip of each photo are held out for evaluation.
HELD_OUT_WIDTH = 128
PATCHES_PER_PHOTO = 1000  # about this many grid positions per photo, whatever the crop size
PATCH_BYTES_PER_PHOTO = 12 << 20  # fewer grid positions for large crops: memory stays small
# Patches whose luma varies less (std, of 255) are plain sky or background: left out.
MIN_PATCH_STD = 8.0
PHOTOS_SIZE = 64
GRAY2COLOR_SIZE = 32


def pairing_permutation(index, count_a: int, count_b: int):
    """perm(index): the unaligned pairing's permutation of range(max(nA, nB)), fixed by
    PAIRING_SEED and the two counts (int64 tensors, any shape)."""
    key = tf.constant([PAIRING_SEED, count_a * 1_000_003 + count_b], tf.int64)
    return tf.random.experimental.index_shuffle(tf.cast(index, tf.int64), key,
                                                max(count_a, count_b) - 1)


def unaligned_indices(index, count_a: int, count_b: int):
    """(A index, B index) of unaligned example `index`: (index mod nA, perm(index) mod nB)."""
    index = tf.cast(index, tf.int64)
    return index % count_a, pairing_permutation(index, count_a, count_b) % count_b


def pair_datasets(source: Dataset, target: Dataset, *, aligned: bool, name: str,
                  fingerprint: str = "", **extra) -> Dataset:
    """One paired dataset from two single-image datasets of the same height and width.

    Labels are the source's. Aligned: example i = source[i] | target[i] (equal counts).
    Unaligned: the pairing in this module's docstring.
    """
    (height, width, c_source), (_, _, c_target) = source.shape, target.shape
    if source.shape[:2] != target.shape[:2]:
        raise DataError(f"{name}: source images are {source.shape[1]}x{source.shape[0]} "
                        f"but targets {target.shape[1]}x{target.shape[0]}; set "
                        "data.image_size to resize both")
    if aligned and source.num_examples != target.num_examples:
        raise ValueError("aligned pairs need as many targets as sources")
    pairing = Pairing(c_source, c_target, aligned)
    count = max(source.num_examples, target.num_examples)
    n_a, n_b = source.num_examples, target.num_examples

    def indices(index):
        return (index, index) if aligned else unaligned_indices(index, n_a, n_b)

    a, b = source.reader, target.reader
    if isinstance(a, ArrayReader) and isinstance(b, ArrayReader):
        ia, ib = (np.asarray(t) for t in indices(tf.range(count, dtype=tf.int64)))
        reader = ArrayReader(pairing.join(a.x[ia], b.x[ib]), a.y[ia])
    elif a.random_access and b.random_access:
        def read(index):
            ia, ib = indices(index)
            (xa, ya), (xb, _) = a.element(ia), b.element(ib)
            return pairing.join(xa, xb), ya

        labels = None
        if a.labels is not None:
            labels = a.labels[np.asarray(indices(tf.range(count, dtype=tf.int64))[0])]
        reader = IndexedReader(read, labels)
    elif not a.random_access and not b.random_access:
        reader = _zipped_streams(a, b, count, pairing)
    else:
        raise ValueError("pair_datasets joins two random-access or two stream datasets")
    return Dataset(name=name, num_examples=count, shape=(height, width, pairing.channels),
                   num_classes=source.num_classes, reader=reader,
                   class_names=source.class_names, pair=pairing,
                   fingerprint=fingerprint or f"{name}-{source.fingerprint}-"
                                              f"{target.fingerprint}", **extra)


def _zipped_streams(a: StreamReader, b: StreamReader, count: int,
                    pairing: Pairing) -> StreamReader:
    """Pass p pairs position j of A's pass-p order with position j of B's (B shuffled
    from another seed), each repeated to `count` records (the larger collection's size)."""

    def records(seed, pass_index):
        # B's order from another seed: two collections of one size would otherwise be
        # shuffled alike, pairing the same records in every pass.
        return tf.data.Dataset.zip({
            "a": a.pass_records(seed, pass_index).repeat().take(count),
            "b": b.pass_records(seed + PAIRING_SEED, pass_index).repeat().take(count)})

    def decode(record):
        (xa, ya), (xb, _) = a.decode(record["a"]), b.decode(record["b"])
        return pairing.join(xa, xb), ya

    return StreamReader(records, decode)


def map_examples(data: Dataset, fn, **changes) -> Dataset:
    """`data` with every example's x replaced by fn(x) (numpy or tensors, same dtype)."""
    reader = data.reader
    if isinstance(reader, ArrayReader):
        reader = ArrayReader(fn(reader.x), reader.y)
    elif isinstance(reader, IndexedReader):
        read = reader.read

        def mapped(index):
            x, y = read(index)
            return fn(x), y

        reader = IndexedReader(mapped, reader.labels)
    else:
        decode = reader.decode

        def mapped(record):
            x, y = decode(record)
            return fn(x), y

        reader = dataclasses.replace(reader, decode=mapped)
    return dataclasses.replace(data, reader=reader, **changes)


def swapped(data: Dataset) -> Dataset:
    """Paired data with source and target exchanged (`data.pair_direction=b_to_a`); the
    labels stay those of the examples' A halves."""
    pair = data.pair
    flipped = pair.swapped()

    def also(other):
        return None if other is None else swapped(other)

    return map_examples(data, lambda x: flipped.join(*reversed(pair.split(x))), pair=flipped,
                        fingerprint=f"{data.fingerprint}:b_to_a",
                        ground_truth=also(data.ground_truth), held_out=also(data.held_out))


# -- built-ins --------------------------------------------------------------------------
def edge_map(images01: np.ndarray) -> np.ndarray:
    """The outer outline of each digit in [N, H, W, 1] images in [0, 1]: 1 where a pixel
    is off (< 0.5) but touches (3x3) a pixel that is on, else 0 (an external morphological
    gradient of the binarized digit, one pixel wide, like an edge detector's line)."""
    from scipy import ndimage

    on = images01[..., 0] >= 0.5
    grown = ndimage.binary_dilation(on, structure=np.ones((1, 3, 3), bool))
    return (grown & ~on).astype(np.float32)[..., None]


def edges2digits(digits: Dataset, aligned: bool) -> Dataset:
    """Edge maps (source) and the digits they outline (target), from the `digits` dataset.

    Labels are the digit classes of the edge maps (A). Unaligned: the same two collections
    of 1797 images joined by the unaligned pairing, with the aligned dataset as its ground
    truth.
    """
    x = digits.reader.x  # float32 in [-1, 1]
    edges = edge_map((x + 1.0) / 2.0) * 2.0 - 1.0
    source = dataclasses.replace(digits, reader=ArrayReader(edges, digits.reader.y))
    size = x.shape[1]
    paired = pair_datasets(source, digits, aligned=True, name="edges2digits",
                           fingerprint=f"edges2digits-v1-{size}")
    if aligned:
        return paired
    return pair_datasets(source, digits, aligned=False, name="edges2digits_unpaired",
                         fingerprint=f"edges2digits_unpaired-v1-{size}", ground_truth=paired)


def _sample_photos() -> list[np.ndarray]:
    from sklearn.datasets import load_sample_images

    return list(load_sample_images().images)  # china.jpg, flower.jpg: uint8 427x640x3


def _crops(photo: np.ndarray, size: int, width: int, count: int) -> np.ndarray:
    """Crops of size x size on a regular grid over photo[:, :width] (about `count`)."""
    height = photo.shape[0]
    stride = max(1, math.ceil(math.sqrt((height - size) * (width - size) / count)))
    windows = np.lib.stride_tricks.sliding_window_view(photo[:, :width], (size, size),
                                                       axis=(0, 1))
    grid = windows[::stride, ::stride]  # [rows, cols, 3, size, size]
    crops = np.ascontiguousarray(grid.reshape(-1, *grid.shape[2:]).transpose(0, 2, 3, 1))
    textured = grayscale(crops).reshape(len(crops), -1).std(axis=1) >= MIN_PATCH_STD
    return crops[textured]


def photo_patches(size: int) -> tuple[tuple[np.ndarray, np.ndarray],
                                      tuple[np.ndarray, np.ndarray]]:
    """((train patches, photo index), (held-out patches, photo index)) of the sample
    photos (0: china.jpg, 1: flower.jpg).

    Training: a grid of about 1000 crops over each photo's left part and their mirror
    images, less the plain ones (luma std < 8 of 255: sky, dark background); about 3,000
    patches at 64 px. Held out: the same from each photo's right-most 128 columns, which
    no training crop overlaps, unmirrored (about 10 % of the training count).
    """
    if not 8 <= size <= HELD_OUT_WIDTH:
        raise DataError(f"photos and gray2color crop patches of 8 to {HELD_OUT_WIDTH} pixels; "
                        f"got data.image_size={size}")
    count = min(PATCHES_PER_PHOTO, PATCH_BYTES_PER_PHOTO // (size * size * 3))
    train, held, train_y, held_y = [], [], [], []
    for label, photo in enumerate(_sample_photos()):
        split = photo.shape[1] - HELD_OUT_WIDTH
        crops = _crops(photo, size, split, count)
        train += [crops, crops[:, :, ::-1]]
        train_y.append(np.full(2 * len(crops), label, np.int32))
        held_crops = _crops(photo[:, split:], size, HELD_OUT_WIDTH, count // 5)
        held.append(held_crops)
        held_y.append(np.full(len(held_crops), label, np.int32))
    return ((np.concatenate(train), np.concatenate(train_y)),
            (np.concatenate(held), np.concatenate(held_y)))


def _photo_dataset(name: str, x: np.ndarray, fingerprint: str, pair: Pairing | None = None,
                   held_out: Dataset | None = None) -> Dataset:
    """Patches without labels: which photo a patch comes from is no class worth a domain
    classifier (one tells them apart at once)."""
    return Dataset(name=name, num_examples=len(x), shape=x.shape[1:], num_classes=0,
                   reader=ArrayReader(x, np.zeros(len(x), np.int32)),
                   fingerprint=fingerprint, pair=pair, held_out=held_out)


def load_photos(image_size: int) -> Dataset:
    """uint8 RGB patches of the two sample photos, with held-out ones."""
    size = image_size or PHOTOS_SIZE
    (x, _), (hx, _) = photo_patches(size)
    held = _photo_dataset("photos:held_out", hx, f"photos-held-v1-{size}")
    return _photo_dataset("photos", x, f"photos-v1-{size}", held_out=held)


def grayscale(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB [..., 3] -> uint8 luma [..., 1] (ITU-R 601 weights, as
    tf.image.rgb_to_grayscale)."""
    luma = rgb.astype(np.float32) @ np.array([0.2989, 0.5870, 0.1140], np.float32)
    return np.clip(np.round(luma), 0, 255).astype(np.uint8)[..., None]


def load_gray2color(image_size: int) -> Dataset:
    """Aligned patches: grayscale source (1 channel), colour target (3 channels)."""
    size = image_size or GRAY2COLOR_SIZE
    pairing = Pairing(1, 3, aligned=True)
    (x, _), (hx, _) = photo_patches(size)
    held = _photo_dataset("gray2color:held_out", pairing.join(grayscale(hx), hx),
                          f"gray2color-held-v1-{size}", pairing)
    return _photo_dataset("gray2color", pairing.join(grayscale(x), x),
                          f"gray2color-v1-{size}", pairing, held)

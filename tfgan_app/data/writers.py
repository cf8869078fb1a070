"""Write any dataset as a folder of images or as TFRecord shards, to stream it afterwards.

Both layouts are what the `folder:` and `tfrecord:` specs read: a folder has one
sub-directory per class (when the data has labels) of PNG or JPEG files; TFRecord shards
hold tf.train.Examples with `image` (encoded bytes) and `label` (int64), plus an index.json
with each shard's count and the class names, so reading them needs no counting pass.
Examples are written in a seeded random order, so every shard mixes the classes (a stream
reader shuffles only within windows). Files appear under temporary names and are renamed
when whole.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import tensorflow as tf

from tfgan_app import files
from tfgan_app.data.dataset import Dataset
from tfgan_app.errors import UsageError

FORMATS = ("folder", "tfrecord")
IMAGE_FORMATS = ("png", "jpeg")


class Progress:
    """A one-line progress bar on stderr: count, rate and time left."""

    def __init__(self, total: int, what: str, stream=sys.stderr, every: float = 0.5):
        self.total, self.what, self.stream, self.every = total, what, stream, every
        self.start = self.last = time.perf_counter()
        self.done = 0

    def update(self, count: int = 1):
        self.done += count
        now = time.perf_counter()
        if now - self.last >= self.every or self.done == self.total:
            self.last = now
            rate = self.done / max(now - self.start, 1e-9)
            left = (self.total - self.done) / rate if rate else 0.0
            width = 30
            filled = int(width * self.done / max(self.total, 1))
            self.stream.write(f"\r{self.what} [{'#' * filled}{'.' * (width - filled)}] "
                              f"{self.done}/{self.total} {rate:,.0f}/s, {left:.0f}s left ")
            if self.done == self.total:
                self.stream.write("\n")
            self.stream.flush()


def _order(data: Dataset, seed: int) -> np.ndarray:
    """The order examples are written in: a seeded permutation (in-order for streams)."""
    if data.reader.random_access:
        return np.random.default_rng(seed).permutation(data.num_examples)
    return np.arange(data.num_examples)  # a stream's first pass is already shuffled


def _check_images(data: Dataset):
    """Refuse, before anything is written, data that is not single images."""
    if data.kind != "image":
        raise UsageError(f"dataset {data.name} is {data.shape[0]}-D points, not images: only "
                         "image data can be written as a folder or TFRecord")
    if data.pair is not None:
        raise UsageError(f"dataset {data.name} is paired (a source and a target image per "
                         "example): only single images can be written as a folder or TFRecord")


def _encoded_batches(data: Dataset, seed: int, image_format: str, batch: int = 256):
    """(encoded image bytes, label) numpy batches in writing order; images stay uint8."""
    encode = (tf.io.encode_png if image_format == "png"
              else lambda image: tf.io.encode_jpeg(image, quality=95))
    order = _order(data, seed)

    def to_uint8(x, y):
        if x.dtype != tf.uint8:  # in-memory float images in [-1, 1]
            x = tf.cast(tf.clip_by_value(tf.round((x + 1.0) * 127.5), 0, 255), tf.uint8)
        return encode(x), y

    examples = data.examples(order).map(to_uint8, num_parallel_calls=tf.data.AUTOTUNE,
                                        deterministic=True)
    yield from examples.batch(batch).prefetch(2).as_numpy_iterator()


def _class_dir(data: Dataset, label: int) -> str:
    if data.class_names and 0 <= label < len(data.class_names):
        return str(data.class_names[label])
    return f"class_{label}"


def write_folder(data: Dataset, out: Path, *, seed: int = 0, image_format: str = "png",
                 progress: Callable[[int], None] | None = None) -> int:
    """Write `data` as image files under `out` (one sub-directory per class); returns count."""
    _check_images(data)
    out.mkdir(parents=True, exist_ok=True)
    suffix = ".png" if image_format == "png" else ".jpg"
    digits = len(str(data.num_examples))
    count = 0
    for encoded, labels in _encoded_batches(data, seed, image_format):
        for blob, label in zip(encoded, labels):
            folder = out / _class_dir(data, int(label)) if data.num_classes else out
            folder.mkdir(exist_ok=True)
            files.atomic_write(folder / f"{count:0{digits}d}{suffix}",
                               lambda tmp, blob=blob: Path(tmp).write_bytes(blob))
            count += 1
        if progress:
            progress(len(labels))
    return count


def write_tfrecord(data: Dataset, out: Path, *, shards: int = 0, seed: int = 0,
                   image_format: str = "png",
                   progress: Callable[[int], None] | None = None) -> int:
    """Write `data` as TFRecord shards plus index.json under `out`; returns the count.

    `shards`: number of files (0: about 10,000 examples or 256 MiB each, at least one).
    """
    _check_images(data)
    out.mkdir(parents=True, exist_ok=True)
    if not shards:
        per_shard = max(1, min(10_000, (256 << 20) // max(int(np.prod(data.shape)), 1)))
        shards = max(1, -(-data.num_examples // per_shard))
    shards = min(shards, data.num_examples)
    names = [f"data-{i:05d}-of-{shards:05d}.tfrecord" for i in range(shards)]
    bounds = np.linspace(0, data.num_examples, shards + 1).astype(int)
    counts = {name: int(bounds[i + 1] - bounds[i]) for i, name in enumerate(names)}
    tmp_names = [out / f".{name}.tmp{os.getpid()}" for name in names]
    writers = [tf.io.TFRecordWriter(str(path)) for path in tmp_names]
    count = 0
    try:
        for encoded, labels in _encoded_batches(data, seed, image_format):
            for blob, label in zip(encoded, labels):
                shard = int(np.searchsorted(bounds, count, side="right") - 1)
                feature = {"image": tf.train.Feature(bytes_list=tf.train.BytesList(
                    value=[blob])), "label": tf.train.Feature(int64_list=tf.train.Int64List(
                        value=[int(label)]))}
                writers[shard].write(tf.train.Example(features=tf.train.Features(
                    feature=feature)).SerializeToString())
                count += 1
            if progress:
                progress(len(labels))
    finally:
        for writer in writers:
            writer.close()
        if count != data.num_examples:
            for path in tmp_names:
                path.unlink(missing_ok=True)
    for tmp, name in zip(tmp_names, names):
        os.replace(tmp, out / name)
    index = {"shards": counts, "num_classes": data.num_classes,
             "class_names": data.class_names, "shape": list(data.shape),
             "source": data.name, "image_format": image_format,
             "features": {"image": "encoded image bytes", "label": "int64 class label"}}
    files.write_text(out / "index.json", json.dumps(index, indent=2) + "\n")
    return count

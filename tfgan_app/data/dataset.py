"""`Dataset`: what a training set is, and how its examples are read.

A dataset holds no decoded images unless it is small: it holds a reader, which tells the
input pipeline how to produce example i. Three kinds:

- `ArrayReader`: arrays in memory (digits, toy points, npz files, and any source small
  enough to cache). Random access by gather.
- `IndexedReader`: a TensorFlow function index -> example (the files of a folder, the
  procedural `shapes`). Random access; decoding runs in parallel inside tf.data.
- `StreamReader`: records read in order (TFRecord files, TFDS). No random access: the
  pipeline reads a pass in a fixed, seeded order and skips (reads without decoding) to
  where a resumed run starts.

Images are uint8 until a batch is formed (`to_float` then maps them to [-1, 1]); toy points
and in-memory float images are float32 throughout.

Image-to-image data is paired: one example is one image holding the source (domain A, the
input) and the target (domain B, the ground truth) of the same H x W, concatenated along
channels, described by `Dataset.pair` (a `Pairing`). So every reader and the pipeline work
on pairs unchanged: random access, streaming, exact resume, per-worker rows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import tensorflow as tf

from tfgan_app.errors import DataError

# A dataset larger than this many decoded bytes is never materialized whole by `Dataset.x`.
MATERIALIZE_LIMIT = 1 << 30


def to_float(x):
    """uint8 images -> float32 in [-1, 1]; float data unchanged."""
    if x.dtype == tf.uint8:
        return tf.cast(x, tf.float32) / 127.5 - 1.0
    return tf.cast(x, tf.float32)


@dataclasses.dataclass(frozen=True)
class Pairing:
    """How a paired example's channels split into source and target.

    `aligned`: True when the halves of an example correspond (the target is the source's
    ground truth: pix2pix's data); False when the target half is drawn independently of the
    source (unpaired collections: CycleGAN's data). The halves are also the two domains:
    a domain classifier trains on sources labelled 0 and targets labelled 1.
    """

    source_channels: int
    target_channels: int
    aligned: bool

    @property
    def channels(self) -> int:
        return self.source_channels + self.target_channels

    def split(self, x):
        """(source, target) of examples [..., C] (numpy arrays or tensors)."""
        return x[..., :self.source_channels], x[..., self.source_channels:]

    def join(self, source, target):
        """The example [..., C] holding `source` and `target` (numpy arrays or tensors)."""
        if isinstance(source, np.ndarray) and isinstance(target, np.ndarray):
            return np.concatenate([source, target], axis=-1)
        return tf.concat([source, target], axis=-1)

    def swapped(self) -> Pairing:
        """The pairing with source and target exchanged (`data.pair_direction=b_to_a`)."""
        return Pairing(self.target_channels, self.source_channels, self.aligned)


@dataclasses.dataclass
class ArrayReader:
    """Examples held in memory: `x` (uint8 or float32 [-1, 1] images, or points) and `y`."""

    x: np.ndarray
    y: np.ndarray
    random_access = True

    @property
    def labels(self) -> np.ndarray:
        return self.y

    def element(self, index):
        return tf.gather(self.x, index), tf.gather(self.y, index)

    def limit(self, count: int) -> ArrayReader:
        return ArrayReader(self.x[:count], self.y[:count])


@dataclasses.dataclass
class IndexedReader:
    """Examples made by `read(index) -> (x, y)` in TensorFlow ops (files, procedural data).

    `labels`: every example's label when it is known without reading (a folder's class
    sub-directories), else None.
    """

    read: Callable
    labels: np.ndarray | None = None
    random_access = True

    def element(self, index):
        return self.read(index)

    def limit(self, count: int) -> IndexedReader:
        labels = None if self.labels is None else self.labels[:count]
        return IndexedReader(self.read, labels)


@dataclasses.dataclass
class StreamReader:
    """Records read in a fixed order per pass (TFRecord, TFDS): no random access.

    `records(seed, pass_index)` gives one pass's encoded records, in an order fixed by
    (seed, pass); `decode(record) -> (x, y)` turns one into an example.
    """

    records: Callable
    decode: Callable
    count: int | None = None  # read only the first `count` records of each pass
    random_access = False
    labels = None

    def pass_records(self, seed: int, pass_index):
        records = self.records(seed, pass_index)
        return records.take(self.count) if self.count is not None else records

    def limit(self, count: int) -> StreamReader:
        return dataclasses.replace(self, count=count)


@dataclasses.dataclass
class Dataset:
    """A training set: how to read it, plus what the networks and metrics need to know."""

    name: str
    num_examples: int
    shape: tuple  # one example: (H, W, C), or (2,) / (1,) for points
    num_classes: int  # 0 when the data has no labels
    reader: ArrayReader | IndexedReader | StreamReader
    modes: np.ndarray | None = None  # toy data: mode centres [modes, dimension]
    mode_std: float | None = None
    class_names: list | None = None
    fingerprint: str = ""  # identifies the content (for the domain-classifier cache)
    # Paired image-to-image data: how each example splits into source and target; None for
    # single images and points.
    pair: Pairing | None = None
    # An unaligned dataset whose pairs are known (a built-in made from aligned data): the
    # same collections aligned, for evaluation against the ground truth (`aligned()`).
    ground_truth: Dataset | None = dataclasses.field(default=None, repr=False)
    # Examples kept out of training for evaluation, when the source sets some apart
    # (`photos`, `gray2color`: patches from a strip of each photo no training patch
    # overlaps); None: evaluate on the training data as usual.
    held_out: Dataset | None = dataclasses.field(default=None, repr=False)

    @property
    def kind(self) -> str:
        return "points" if len(self.shape) == 1 else "image"

    def aligned(self) -> Dataset | None:
        """The aligned version of paired data: itself when aligned, the ground truth of an
        unaligned built-in (its collections paired as they correspond), or None when the
        pairs are unknown (unpaired user data, TFDS cycle_gan) or the data is not paired.
        """
        if self.pair is None:
            return None
        return self if self.pair.aligned else self.ground_truth

    @property
    def in_memory(self) -> bool:
        return isinstance(self.reader, ArrayReader)

    @property
    def labels(self) -> np.ndarray | None:
        """Every example's label if known without reading the data, else None."""
        return self.reader.labels

    def limit(self, count: int) -> Dataset:
        """The first `count` examples only (`data.max_examples`)."""
        if count >= self.num_examples:
            return self
        # Unaligned example i's source is the ground truth's example i mod nA: keep those.
        truth = None if self.ground_truth is None else self.ground_truth.limit(count)
        return dataclasses.replace(self, num_examples=count, reader=self.reader.limit(count),
                                   fingerprint=f"{self.fingerprint}:first{count}",
                                   ground_truth=truth)

    def with_labels(self, labels: np.ndarray) -> Dataset:
        """The same examples with other labels (e.g. acgan's hidden labels, -1)."""
        if isinstance(self.reader, ArrayReader):
            reader = ArrayReader(self.reader.x, np.asarray(labels, np.int32))
        elif isinstance(self.reader, IndexedReader) and self.reader.labels is not None:
            table = tf.constant(np.asarray(labels, np.int32))
            read = self.reader.read

            def relabel(index):
                x, _ = read(index)
                return x, tf.gather(table, index)

            reader = IndexedReader(relabel, np.asarray(labels, np.int32))
        else:
            raise DataError(f"dataset {self.name}: its labels are only known by reading it, "
                            "so they cannot be replaced up front")
        return dataclasses.replace(self, reader=reader)

    def examples(self, indices) -> tf.data.Dataset:
        """(x, y) examples at `indices` (in that order), decoded in parallel, unbatched.

        Stream sources read their first pass (seed 0) up to the largest index, so for them
        `indices` must be sorted and distinct.
        """
        indices = np.asarray(indices, np.int64)
        reader = self.reader
        if reader.random_access:
            return (tf.data.Dataset.from_tensor_slices(indices)
                    .map(reader.element, num_parallel_calls=tf.data.AUTOTUNE,
                         deterministic=True))
        if len(indices) and np.any(np.diff(indices) <= 0):
            raise ValueError("stream datasets read examples in order: pass sorted indices")
        if not len(indices):
            return reader.pass_records(0, 0).take(0).map(reader.decode)
        mask = np.zeros(int(indices[-1]) + 1, bool)
        mask[indices] = True
        wanted = tf.constant(mask)
        return (reader.pass_records(0, 0).take(len(mask)).enumerate()
                .filter(lambda i, _: tf.gather(wanted, i))
                .map(lambda _, record: reader.decode(record),
                     num_parallel_calls=tf.data.AUTOTUNE, deterministic=True))

    def take(self, indices) -> tuple[np.ndarray, np.ndarray]:
        """(x float32 in [-1, 1] or points, y int32) for `indices`, as numpy arrays."""
        indices = np.asarray(indices, np.int64)
        if isinstance(self.reader, ArrayReader):
            x = self.reader.x[indices]
            x = x.astype(np.float32) / 127.5 - 1.0 if x.dtype == np.uint8 else x
            return np.asarray(x, np.float32), self.reader.y[indices]
        return self._read(indices, as_float=True)

    def _read(self, indices, as_float: bool) -> tuple[np.ndarray, np.ndarray]:
        """Examples at `indices` through the reader: float32 [-1, 1] or as stored (uint8)."""
        batches = self.examples(indices).batch(1024)
        if as_float:
            batches = batches.map(lambda x, y: (to_float(x), y))
        xs, ys = [], []
        for x, y in batches:
            xs.append(x.numpy())
            ys.append(y.numpy())
        if not xs:
            dtype = np.float32 if as_float else np.uint8
            return np.zeros((0, *self.shape), dtype), np.zeros((0,), np.int32)
        return np.concatenate(xs), np.concatenate(ys).astype(np.int32)

    def sample_indices(self, count: int, seed: int) -> np.ndarray:
        """A fixed random subset of `count` example indices (sorted), e.g. for evaluation."""
        count = min(count, self.num_examples)
        order = np.random.default_rng(seed).permutation(self.num_examples)
        return np.sort(order[:count])

    # -- the whole dataset in memory: for small data and tests, never for training ---------
    @property
    def x(self) -> np.ndarray:
        return self._materialized()[0]

    @property
    def y(self) -> np.ndarray:
        return self._materialized()[1]

    def _materialized(self):
        if isinstance(self.reader, ArrayReader):
            return self.take(np.arange(self.num_examples))
        cached = getattr(self, "_cache", None)
        if cached is None:
            size = self.num_examples * int(np.prod(self.shape)) * 4
            if size > MATERIALIZE_LIMIT:
                raise DataError(f"dataset {self.name} is {size / 2**30:.1f} GiB as float32: "
                                "too large to hold in memory (it is streamed for training)")
            cached = self.take(np.arange(self.num_examples))
            object.__setattr__(self, "_cache", cached)
        return cached

    def cached(self) -> Dataset:
        """The same dataset read once into memory as uint8 (`data.cache`)."""
        if isinstance(self.reader, ArrayReader):
            return self
        x, y = self._read(np.arange(self.num_examples), as_float=False)
        return dataclasses.replace(self, reader=ArrayReader(x, y))

    def decoded_bytes(self) -> int:
        """Bytes of the whole dataset decoded as uint8 images (or float32 points)."""
        per = int(np.prod(self.shape)) * (4 if self.kind == "points" else 1)
        return self.num_examples * per

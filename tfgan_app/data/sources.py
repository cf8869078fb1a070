"""Loaders for every dataset spec.

Each returns a `Dataset` (tfgan_app/data/dataset.py). Small sources are held in memory
(`digits`, `ring`, `grid`, `gauss1d`, `npz:`: float32 in [-1, 1] or raw points); the others are
read lazily: `folder:` and `shapes` by index (only file paths, or nothing, are held),
`tfrecord:` and `tfds:` as streams of encoded records. Images are decoded and resized
inside the tf.data pipeline and stay uint8 until batched.
"""

from __future__ import annotations

import glob as globlib
import hashlib
import json
import logging
import os
import socket
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from tfgan_app.data import paired, toy
from tfgan_app.data.dataset import ArrayReader, Dataset, IndexedReader, StreamReader
from tfgan_app.errors import DataError, RunFailure

log = logging.getLogger("tfgan_app")

DATASET_SPECS = {
    "digits": "scikit-learn's bundled 8x8 handwritten digits (1797, 10 classes), offline",
    "ring": "8 Gaussians on the unit circle, std 0.01 (PacGAN protocol)",
    "grid": "25 Gaussians on {-4,-2,0,2,4}^2, std 0.05 (PacGAN protocol)",
    "gauss1d": "1-D points from N(-1, 1), no labels (the GAN tutorials' 1-D demo)",
    "shapes": "dSprites-style shapes rendered on the fly (4 classes; data.shapes_samples "
              "examples at data.image_size, default 64), offline",
    "tfds:NAME[:SPLIT]": "a TensorFlow Datasets image dataset (split defaults to train), "
                         "streamed",
    "folder:PATH": "a directory of images, streamed; one sub-directory per class gives labels",
    "tfrecord:GLOB": "TFRecord files of tf.train.Examples: 'image' (encoded PNG/JPEG bytes) "
                     "and optional 'label' (int64), streamed (python -m tfgan_app.convert "
                     "writes them)",
    "npz:PATH": "a .npz file: images under 'x' or 'images' (NHW or NHWC), or points [N, 2]; "
                "optional labels under 'y' or 'labels'",
    "photos": "64x64 RGB patches of scikit-learn's two sample photos (about 2,800, and a "
              "held-out strip), offline",
}
# Image-to-image data: each example is a source and a target (see data/paired.py).
PAIRED_SPECS = {
    "edges2digits": "aligned pairs: each digit's edge map -> the digit, 16x16 gray (pix2pix's "
                    "default), offline",
    "edges2digits_unpaired": "the same edge maps and digits unaligned (cyclegan's default; "
                             "aligned() gives the ground truth), offline",
    "gray2color": "aligned pairs: grayscale -> colour 32x32 patches of the sample photos, "
                  "offline",
    "pairs:DIR_A,DIR_B": "aligned pairs from two folders, files matched by name, streamed",
    "pairs:DIR": "aligned pairs stored side by side (A|B, width 2 x height), as pix2pix's "
                 "datasets; data.pair_direction picks the source, streamed",
    "unpaired:DIR_A,DIR_B": "unaligned pairs from two folders of any sizes, streamed",
    "tfds:cycle_gan/NAME[:test]": "unaligned pairs from a TFDS cycle_gan dataset's trainA "
                                  "and trainB (or testA and testB) splits, streamed",
}
UNALIGNED_SPECS = ("edges2digits_unpaired", "unpaired:DIR_A,DIR_B", "tfds:cycle_gan/NAME[:test]")
DATASET_SPECS.update(PAIRED_SPECS)
IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
# Decoded by TensorFlow inside tf.data; others (webp) by Pillow through numpy_function.
TF_DECODABLE = {".png", ".jpg", ".jpeg", ".bmp", ".gif"}
DIGITS_SIZE = 16  # 8x8 upsampled so the DCGAN conv pair gets two stride-2 stages
SHAPES_SIZE = 64  # dSprites' size
SHAPES_SEED = 0  # the dataset's content is fixed; the run's seed only orders it
GRAY_MODES = ("L", "1", "I;16", "I", "LA")


def _from_arrays(name, x: np.ndarray, y: np.ndarray | None, num_classes: int,
                 **extra) -> Dataset:
    x = np.ascontiguousarray(x, dtype=np.float32)
    y = np.zeros(len(x), np.int32) if y is None else np.asarray(y, np.int32)
    return Dataset(name=name, num_examples=len(x), shape=tuple(x.shape[1:]),
                   num_classes=num_classes, reader=ArrayReader(x, y), **extra)


def _resize(images01: np.ndarray, size: int) -> np.ndarray:
    """Resize NHWC images in [0, 1] to size x size (bilinear, antialiased)."""
    import tensorflow as tf

    if images01.shape[1:3] == (size, size):
        return images01
    return tf.image.resize(images01, (size, size), antialias=True).numpy().clip(0.0, 1.0)


def resize_uint8(image, size: int):
    """A uint8 image tensor resized to size x size (bilinear, antialiased), still uint8."""
    import tensorflow as tf

    resized = tf.image.resize(tf.cast(image, tf.float32), (size, size), antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(resized), 0.0, 255.0), tf.uint8)


def load_digits(image_size: int) -> Dataset:
    """scikit-learn's 1797 digits, float32 in [-1, 1], resized (default 16x16)."""
    from sklearn.datasets import load_digits as sk_digits

    bunch = sk_digits()
    images = (bunch.images / 16.0).astype(np.float32)[..., None]
    images = _resize(images, image_size or DIGITS_SIZE)
    return _from_arrays("digits", images * 2.0 - 1.0, bunch.target, 10,
                        class_names=[str(i) for i in range(10)])


def load_toy(name: str, num_samples: int, seed: int) -> Dataset:
    """Toy points drawn from `seed`; a mixture's labels are the mode indices, and a single
    Gaussian (gauss1d) has none, so class-conditional variants refuse it."""
    make_modes, std = toy.TOY_DATASETS[name]
    modes = make_modes()
    points, labels = toy.sample_mixture(modes, std, num_samples, seed)
    if len(modes) == 1:
        return _from_arrays(name, points, None, 0, modes=modes, mode_std=std)
    return _from_arrays(name, points, labels, len(modes), modes=modes, mode_std=std)


def load_shapes(num_samples: int, image_size: int, channels: int) -> Dataset:
    from tfgan_app.data import shapes

    size = image_size or SHAPES_SIZE
    if size < shapes.MIN_SIZE:
        raise DataError(f"shapes needs data.image_size >= {shapes.MIN_SIZE}; got {size}")
    channels = channels or 3

    def read(index):
        return shapes.render(SHAPES_SEED, index, size, channels)

    return Dataset(name="shapes", num_examples=num_samples, shape=(size, size, channels),
                   num_classes=len(shapes.SHAPE_CLASSES), reader=IndexedReader(read),
                   class_names=list(shapes.SHAPE_CLASSES),
                   fingerprint=f"shapes-v1-{size}-{channels}-{num_samples}")


def _scale_images(x: np.ndarray, source: str) -> np.ndarray:
    """uint8 or float images -> float32 in [0, 1]; rejects values outside known ranges."""
    if x.dtype == np.uint8:
        return x.astype(np.float32) / 255.0
    if not np.issubdtype(x.dtype, np.floating) and not np.issubdtype(x.dtype, np.integer):
        raise DataError(f"{source}: images must be uint8 or float, got dtype {x.dtype}")
    x = x.astype(np.float32)
    if not np.isfinite(x).all():
        raise DataError(f"{source}: images contain NaN or infinite values")
    lo, hi = float(x.min()), float(x.max())
    if lo >= 0.0 and hi <= 1.0:
        return x
    if lo >= -1.0 and hi <= 1.0:
        return (x + 1.0) / 2.0
    if lo >= 0.0 and hi <= 255.0:
        return x / 255.0
    raise DataError(f"{source}: image values span [{lo:g}, {hi:g}]; expected uint8, "
                    "[0, 1], [-1, 1] or [0, 255]")


def _labels(y, n: int, source: str) -> tuple[np.ndarray, int]:
    y = np.asarray(y)
    if y.shape != (n,) or not np.issubdtype(y.dtype, np.integer) or (n and y.min() < 0):
        raise DataError(f"{source}: labels must be {n} non-negative integers, "
                        f"got shape {y.shape} dtype {y.dtype}")
    return y, int(y.max()) + 1 if n else 0


def load_npz(path: str, image_size: int) -> Dataset:
    p = Path(path)
    if not p.is_file():
        raise DataError(f"npz file not found: {p}")
    try:
        with np.load(p, allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"cannot read npz file {p}: {exc}") from None
    x_key = next((k for k in ("x", "images", "arr_0") if k in arrays), None)
    if x_key is None:
        raise DataError(f"npz file {p} has no 'x', 'images' or 'arr_0' array; "
                        f"it has: {', '.join(arrays) or 'nothing'}")
    x = arrays[x_key]
    y_key = next((k for k in ("y", "labels") if k in arrays), None)
    if len(x) == 0:
        raise DataError(f"npz file {p}: array '{x_key}' is empty")
    y, num_classes = _labels(arrays[y_key], len(x), f"{p}:{y_key}") if y_key else (None, 0)
    if x.ndim == 2:
        if x.shape[1] != 2:
            raise DataError(f"npz file {p}: 2-D array '{x_key}' must be points of shape "
                            f"[N, 2], got {x.shape}")
        x = x.astype(np.float32)
        if not np.isfinite(x).all():
            raise DataError(f"npz file {p}: points contain NaN or infinite values")
        return _from_arrays(f"npz:{p.name}", x, y, num_classes)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3):
        raise DataError(f"npz file {p}: '{x_key}' must be images [N, H, W] or [N, H, W, C] "
                        f"with C in (1, 3), or points [N, 2]; got shape {x.shape}")
    images = _scale_images(x, f"npz file {p}")
    if image_size:
        images = _resize(images, image_size)
    return _from_arrays(f"npz:{p.name}", images * 2.0 - 1.0, y, num_classes)


def _probe(path: Path):
    """((width, height), gray, file bytes) from an image file's header and size, or the
    error that reading it gave."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return im.size, im.mode in GRAY_MODES, path.stat().st_size
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        return exc


def _pil_decode(path, channels: int):
    """Decode with Pillow (formats TensorFlow cannot read, e.g. WebP): uint8 [H, W, C]."""
    from PIL import Image

    with Image.open(path.decode() if isinstance(path, bytes) else path) as im:
        array = np.asarray(im.convert("L" if channels == 1 else "RGB"), np.uint8)
    return array[..., None] if channels == 1 else array


def decode_image(encoded, channels: int, size: int):
    """Encoded PNG/JPEG/GIF/BMP bytes -> uint8 [size, size, channels] (resized if needed)."""
    import tensorflow as tf

    image = tf.io.decode_image(encoded, channels=channels, expand_animations=False)
    image = tf.ensure_shape(image, [None, None, channels])
    shape = tf.shape(image)
    same = tf.logical_and(tf.equal(shape[0], size), tf.equal(shape[1], size))
    image = tf.cond(same, lambda: image, lambda: resize_uint8(image, size))
    return tf.ensure_shape(image, [size, size, channels])


def load_folder(path: str, image_size: int, channels: int) -> Dataset:
    """A folder of images, read lazily by index: only the file list is held in memory.

    Every file's header is checked up front (unreadable files are skipped with a warning),
    which also gives the image sizes and whether the folder is all grayscale.
    """
    import tensorflow as tf

    root = Path(path)
    if not root.is_dir():
        raise DataError(f"image folder not found: {root}")
    subdirs = sorted(d for d in root.iterdir() if d.is_dir())
    class_names = [d.name for d in subdirs] if subdirs else None
    sources = [(d, i) for i, d in enumerate(subdirs)] if subdirs else [(root, 0)]
    files = [(f, label) for d, label in sources for f in sorted(d.rglob("*"))
             if f.suffix.lower() in IMAGE_EXTENSIONS and f.is_file()]
    if not files:
        raise DataError(f"image folder {root} contains no images "
                        f"({', '.join(sorted(IMAGE_EXTENSIONS))})")
    with ThreadPoolExecutor(max_workers=8) as pool:
        probes = list(pool.map(_probe, [f for f, _ in files], chunksize=256))
    kept, sizes, gray = [], set(), True
    for (f, label), probe in zip(files, probes):
        if isinstance(probe, Exception):
            log.warning("skipping unreadable image %s (%s)", f, probe)
            continue
        kept.append((f, label, probe[2]))
        sizes.add(probe[0])
        gray = gray and probe[1]
    if not kept:
        raise DataError(f"image folder {root}: none of its {len(files)} image files "
                        "could be read")
    if len(kept) < len(files):
        log.warning("%s: skipped %d unreadable of %d image files", root,
                    len(files) - len(kept), len(files))
    if not image_size and len(sizes) > 1:
        listed = ", ".join(f"{w}x{h}" for w, h in sorted(sizes)[:4])
        raise DataError(f"images in {root} have different sizes ({listed}); "
                        "set data.image_size to resize them to one square size")
    width, height = next(iter(sizes))
    if not image_size and width != height:
        raise DataError(f"images in {root} are {width}x{height}, not square; set "
                        "data.image_size to resize them to a square size")
    size = image_size or width
    channels = channels or (1 if gray else 3)
    paths = np.array([str(f) for f, _, _ in kept])
    labels = np.array([label for _, label, _ in kept], np.int32)
    native = np.array([f.suffix.lower() in TF_DECODABLE for f, _, _ in kept])
    paths_t, labels_t, native_t = tf.constant(paths), tf.constant(labels), tf.constant(native)

    def read(index):
        file = tf.gather(paths_t, index)

        def with_tf():
            return decode_image(tf.io.read_file(file), channels, size)

        def with_pillow():
            image = tf.numpy_function(lambda p: _pil_decode(p, channels), [file], tf.uint8)
            return resize_uint8(tf.ensure_shape(image, [None, None, channels]), size)

        image = tf.cond(tf.gather(native_t, index), with_tf, with_pillow)
        return tf.ensure_shape(image, [size, size, channels]), tf.gather(labels_t, index)

    digest = hashlib.sha1()
    for f, label, nbytes in kept:  # the file sizes come from the probes: no second stat
        digest.update(f"{f.relative_to(root)}:{label}:{nbytes}\n".encode())
    return Dataset(name=f"folder:{root.name}", num_examples=len(kept),
                   shape=(size, size, channels), num_classes=len(subdirs) if subdirs else 0,
                   reader=IndexedReader(read, labels), class_names=class_names,
                   fingerprint=f"folder-{digest.hexdigest()[:16]}-{size}-{channels}")


def block_shuffle(records, seed: int, pass_index, window: int = 4096):
    """`records` reordered within consecutive windows by a permutation of (seed, pass,
    window): a seeded shuffle that, unlike Dataset.shuffle, depends on nothing else."""
    import tensorflow as tf

    def permute(number, block):
        n = tf.shape(tf.nest.flatten(block)[0], out_type=tf.int64)[0]
        key = tf.stack([tf.constant(seed, tf.int64),
                        tf.cast(pass_index, tf.int64) * 1_000_003 + number])
        order = tf.random.experimental.index_shuffle(tf.range(n), key, n - 1)
        return tf.nest.map_structure(lambda t: tf.gather(t, order), block)

    def unbatch(*block):  # one tensor, or a tuple of them
        return tf.data.Dataset.from_tensor_slices(block[0] if len(block) == 1 else block)

    return records.batch(window).enumerate().map(permute).flat_map(unbatch)


TFRECORD_FEATURES = {"image": "encoded image bytes (PNG or JPEG)",
                     "label": "int64 class label (optional)"}
INDEX_FILE = "index.json"  # beside TFRecord shards: counts and class names (convert writes)


def _record_files(pattern: str) -> list[str]:
    files = sorted(globlib.glob(os.path.expanduser(pattern), recursive=True))
    return [f for f in files if Path(f).is_file()]


def load_tfrecord(pattern: str, image_size: int, channels: int) -> Dataset:
    """TFRecord shards of tf.train.Examples with an encoded 'image' and optional 'label'.

    Streamed: each pass reads the shards in an order fixed by (seed, pass), interleaved, and
    shuffled within windows. The example count and classes come from an index.json beside
    the shards (written by python -m tfgan_app.convert), else from one scan of the labels.
    """
    import tensorflow as tf

    files = _record_files(pattern)
    if not files:
        raise DataError(f"tfrecord:{pattern} matches no files")
    spec = {"image": tf.io.FixedLenFeature([], tf.string),
            "label": tf.io.FixedLenFeature([], tf.int64, default_value=-1)}
    parse = lambda record: tf.io.parse_single_example(record, spec)  # noqa: E731
    index = _read_index(Path(files[0]).parent / INDEX_FILE, files)
    try:
        first = next(iter(tf.data.TFRecordDataset(files[:1]).take(1)))
        first_image = tf.io.decode_image(parse(first)["image"], expand_animations=False)
    except (tf.errors.OpError, StopIteration) as exc:
        raise DataError(f"tfrecord:{pattern}: cannot read an image from {files[0]} "
                        f"(expected features {', '.join(TFRECORD_FEATURES)}): "
                        f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
                        ) from exc
    if index is None:
        log.info("tfrecord:%s has no %s: counting its records once", pattern, INDEX_FILE)
        labels = np.fromiter((int(e["label"]) for e in tf.data.TFRecordDataset(files)
                              .map(parse, num_parallel_calls=tf.data.AUTOTUNE)), np.int64)
        index = {"num_examples": len(labels),
                 "num_classes": int(labels.max()) + 1 if len(labels) and labels.min() >= 0
                 else 0, "class_names": None}
    height, width, own_channels = first_image.shape
    if not image_size and height != width:
        raise DataError(f"tfrecord:{pattern}: images are {width}x{height}, not square; "
                        "set data.image_size")
    size = image_size or int(height)
    channels = channels or int(own_channels if own_channels in (1, 3) else 3)
    num_classes = int(index["num_classes"])
    file_list = tf.constant(files)

    def records(seed, pass_index):
        n = len(files)
        key = tf.stack([tf.constant(seed, tf.int64), tf.cast(pass_index, tf.int64)])
        order = tf.random.experimental.index_shuffle(tf.range(n, dtype=tf.int64), key, n - 1)
        shards = tf.data.Dataset.from_tensor_slices(tf.gather(file_list, order))
        interleaved = shards.interleave(tf.data.TFRecordDataset, cycle_length=min(n, 16),
                                        block_length=1, num_parallel_calls=tf.data.AUTOTUNE,
                                        deterministic=True)
        return block_shuffle(interleaved, seed, pass_index)

    def decode(record):
        example = parse(record)
        label = tf.cast(tf.maximum(example["label"], 0), tf.int32) if num_classes \
            else tf.constant(0, tf.int32)
        return decode_image(example["image"], channels, size), label

    digest = hashlib.sha1("".join(f"{f}:{os.path.getsize(f)}" for f in files).encode())
    return Dataset(name=f"tfrecord:{Path(files[0]).parent.name}",
                   num_examples=int(index["num_examples"]), shape=(size, size, channels),
                   num_classes=num_classes, reader=StreamReader(records, decode),
                   class_names=index.get("class_names"),
                   fingerprint=f"tfrecord-{digest.hexdigest()[:16]}-{size}-{channels}")


def _read_index(path: Path, files: list[str]) -> dict | None:
    """index.json if it describes exactly these shards, else None."""
    if not path.is_file():
        return None
    try:
        index = json.loads(path.read_text())
        shards = index["shards"]
        if sorted(str(path.parent / name) for name in shards) != sorted(files):
            return None
        return {"num_examples": sum(shards.values()), "num_classes": index["num_classes"],
                "class_names": index.get("class_names")}
    except (ValueError, KeyError, TypeError, AttributeError):
        log.warning("ignoring unreadable %s", path)
        return None


def _tfds_download_reachable(timeout: float = 3.0) -> bool:
    """Quick check that the TFDS download host answers, so offline runs fail in seconds."""
    try:
        socket.create_connection(("storage.googleapis.com", 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def load_tfds(name: str, split: str, image_size: int, channels: int) -> Dataset:
    """A TFDS image dataset, streamed: records in the prepared files' order, shuffled within
    windows per pass, images decoded by the pipeline (not by TFDS) so they stay uint8."""
    import tensorflow as tf

    try:
        import tensorflow_datasets as tfds
    except ImportError as exc:
        raise RunFailure(f"tensorflow-datasets cannot be imported ({exc}); "
                         "reinstall with `pip install -e .`") from exc
    spec = f"tfds:{name}:{split}"
    if name not in tfds.list_builders():
        raise DataError(f"{spec}: TFDS has no dataset named '{name}'")
    options = dict(split=split, with_info=True, shuffle_files=False,
                   decoders={"image": tfds.decode.SkipDecoding()})
    try:
        _, info = tfds.load(name, download=False, **options)
    except (AssertionError, tfds.core.registered.DatasetNotFoundError) as exc:
        data_dir = os.environ.get("TFDS_DATA_DIR", "~/tensorflow_datasets")
        if not _tfds_download_reachable():
            raise RunFailure(
                f"{spec}: the dataset is not in the TFDS data dir ({data_dir}) and the "
                "download server cannot be reached (offline?). On a connected machine run "
                f"`tfds build {name}` and copy its data dir here (or set TFDS_DATA_DIR), "
                "or use an offline dataset: digits, ring, grid, gauss1d, shapes, "
                "folder:PATH, tfrecord:GLOB, npz:PATH") from exc
        log.info("downloading %s into %s", name, data_dir)
        try:
            _, info = tfds.load(name, download=True, **options)
        except Exception as exc2:
            raise RunFailure(f"{spec}: download failed: {exc2}") from exc2
    except ValueError as exc:  # e.g. an unknown split
        raise DataError(f"{spec}: {exc}") from None
    features = info.features
    if "image" not in features:
        raise DataError(f"{spec}: no 'image' feature (features: {', '.join(features)})")
    shape = tuple(features["image"].shape)
    if len(shape) != 3 or shape[-1] not in (1, 3) or None in shape[:2]:
        raise DataError(f"{spec}: images must have a fixed size and 1 or 3 channels; "
                        f"got shape {shape}")
    num_classes = features["label"].num_classes if "label" in features else 0
    class_names = list(features["label"].names) if "label" in features else None
    size = image_size or max(shape[:2])
    channels = channels or shape[-1]

    def load():
        return tfds.load(name, download=False, **options)[0]

    try:
        num_examples = info.splits[split].num_examples
    except KeyError:  # e.g. tfds.testing.mock_data, which records no split sizes
        num_examples = int(load().reduce(0, lambda n, _: n + 1))
    if not num_examples:
        raise DataError(f"{spec}: the split is empty")

    def records(seed, pass_index):
        # A dict, not a tuple: tf.data would unpack a tuple into separate arguments.
        return block_shuffle(load().map(lambda ex: {"image": ex["image"],
                                                    "label": ex.get("label", 0)}),
                             seed, pass_index)

    def decode(record):
        label = tf.cast(record["label"], tf.int32) if num_classes else tf.constant(0, tf.int32)
        return decode_image(record["image"], channels, size), label

    return Dataset(name=f"tfds:{name}", num_examples=num_examples,
                   shape=(size, size, channels), num_classes=num_classes,
                   reader=StreamReader(records, decode), class_names=class_names,
                   fingerprint=f"tfds-{name}-{split}-{info.version}-{num_examples}-{size}"
                               f"-{channels}")


def load_dataset(spec: str, *, image_size: int = 0, toy_samples: int = 10000,
                 seed: int = 0, channels: int = 0, shapes_samples: int = 100_000) -> Dataset:
    """Resolve a dataset spec (see DATASET_SPECS) to a `Dataset`.

    Args:
      spec: the dataset spec.
      image_size: square size to resize images to; 0 keeps the source's own.
      toy_samples: points drawn for ring, grid and gauss1d (with `seed`).
      seed: draws the toy points.
      channels: 1 or 3 to convert images to grayscale or RGB; 0 keeps the source's own
        (streamed sources and shapes only; in-memory images keep theirs).
      shapes_samples: examples of the procedural `shapes` dataset.
    """
    kind, _, rest = spec.partition(":")
    if spec == "digits":
        return load_digits(image_size)
    if spec in ("edges2digits", "edges2digits_unpaired"):
        return paired.edges2digits(load_digits(image_size), aligned=spec == "edges2digits")
    if spec == "photos":
        return paired.load_photos(image_size)
    if spec == "gray2color":
        return paired.load_gray2color(image_size)
    if spec in toy.TOY_DATASETS:
        return load_toy(spec, toy_samples, seed)
    if spec == "shapes":
        return load_shapes(shapes_samples, image_size, channels)
    if kind == "tfds" and rest:
        name, _, split = rest.partition(":")
        return load_tfds(name, split or "train", image_size, channels)
    if kind == "folder" and rest:
        return load_folder(rest, image_size, channels)
    if kind == "tfrecord" and rest:
        return load_tfrecord(rest, image_size, channels)
    if kind == "npz" and rest:
        return load_npz(rest, image_size)
    raise DataError(f"unknown dataset spec '{spec}'; valid specs: {', '.join(DATASET_SPECS)}")

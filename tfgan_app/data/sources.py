"""Loaders for every dataset spec. Each returns a `Dataset` held in memory: x float32 in
[-1, 1] (images, NHWC) or raw 2-D points [N, 2], and y int32 labels (0 when unlabeled)."""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import zipfile
from pathlib import Path

import numpy as np

from tfgan_app.data import toy
from tfgan_app.errors import DataError, RunFailure

log = logging.getLogger("tfgan_app")

DATASET_SPECS = {
    "digits": "scikit-learn's bundled 8x8 handwritten digits (1797, 10 classes), offline",
    "ring": "8 Gaussians on the unit circle, std 0.01 (PacGAN protocol)",
    "grid": "25 Gaussians on {-4,-2,0,2,4}^2, std 0.05 (PacGAN protocol)",
    "tfds:NAME[:SPLIT]": "a TensorFlow Datasets image dataset (split defaults to train)",
    "folder:PATH": "a directory of images; one sub-directory per class gives labels",
    "npz:PATH": "a .npz file: images under 'x' or 'images' (NHW or NHWC), or points [N, 2]; "
                "optional labels under 'y' or 'labels'",
}
IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
DIGITS_SIZE = 16  # 8x8 upsampled so the DCGAN conv pair gets two stride-2 stages


@dataclasses.dataclass
class Dataset:
    """A training set in memory plus what the networks need to know of it."""

    name: str
    x: np.ndarray  # float32 images [N, H, W, C] in [-1, 1], or points [N, 2]
    y: np.ndarray  # int32 labels [N]; zeros when the data has none
    num_classes: int  # 0 when the data has no labels
    modes: np.ndarray | None = None  # toy data: mode centres
    mode_std: float | None = None
    class_names: list | None = None

    @property
    def kind(self) -> str:
        return "points" if self.x.ndim == 2 else "image"

    @property
    def shape(self) -> tuple:
        """Shape of one example: (H, W, C) or (2,)."""
        return tuple(self.x.shape[1:])

    @property
    def num_examples(self) -> int:
        return len(self.x)


def _from_arrays(name, x: np.ndarray, y: np.ndarray | None, num_classes: int, **extra):
    x = np.ascontiguousarray(x, dtype=np.float32)
    y = np.zeros(len(x), np.int32) if y is None else np.asarray(y, np.int32)
    return Dataset(name=name, x=x, y=y, num_classes=num_classes, **extra)


def _resize(images01: np.ndarray, size: int) -> np.ndarray:
    """Resize NHWC images in [0, 1] to size x size (bilinear, antialiased)."""
    import tensorflow as tf

    if images01.shape[1:3] == (size, size):
        return images01
    return tf.image.resize(images01, (size, size), antialias=True).numpy().clip(0.0, 1.0)


def load_digits(image_size: int) -> Dataset:
    from sklearn.datasets import load_digits as sk_digits

    bunch = sk_digits()
    images = (bunch.images / 16.0).astype(np.float32)[..., None]
    images = _resize(images, image_size or DIGITS_SIZE)
    return _from_arrays("digits", images * 2.0 - 1.0, bunch.target, 10,
                        class_names=[str(i) for i in range(10)])


def load_toy(name: str, num_samples: int, seed: int) -> Dataset:
    make_modes, std = toy.TOY_DATASETS[name]
    modes = make_modes()
    points, labels = toy.sample_mixture(modes, std, num_samples, seed)
    return _from_arrays(name, points, labels, len(modes), modes=modes, mode_std=std)


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


def load_folder(path: str, image_size: int) -> Dataset:
    from PIL import Image, UnidentifiedImageError

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
    images, labels, skipped = [], [], 0
    for f, label in files:
        try:
            with Image.open(f) as im:
                im.load()
                images.append(im.copy())
            labels.append(label)
        except (UnidentifiedImageError, OSError, ValueError) as exc:
            skipped += 1
            log.warning("skipping unreadable image %s (%s)", f, exc)
    if not images:
        raise DataError(f"image folder {root}: none of its {len(files)} image files "
                        "could be read")
    gray = all(im.mode in ("L", "1", "I;16", "I") for im in images)
    mode = "L" if gray else "RGB"
    sizes = {im.size for im in images}
    if not image_size and len(sizes) > 1:
        raise DataError(f"images in {root} have different sizes ({', '.join(f'{w}x{h}' for w, h in sorted(sizes)[:4])}); "
                        "set data.image_size to resize them to one square size")
    target = (image_size, image_size) if image_size else images[0].size
    arrays = []
    for im in images:
        im = im.convert(mode)
        if im.size != target:
            im = im.resize(target, Image.BILINEAR)
        a = np.asarray(im, dtype=np.float32) / 255.0
        arrays.append(a[..., None] if gray else a)
    x = np.stack(arrays)
    if skipped:
        log.warning("%s: skipped %d unreadable of %d image files", root, skipped, len(files))
    return _from_arrays(f"folder:{root.name}", x * 2.0 - 1.0, np.array(labels),
                        len(subdirs) if subdirs else 0, class_names=class_names)


def _tfds_download_reachable(timeout: float = 3.0) -> bool:
    """Quick check that the TFDS download host answers, so offline runs fail in seconds."""
    try:
        socket.create_connection(("storage.googleapis.com", 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def load_tfds(name: str, split: str, image_size: int) -> Dataset:
    import tensorflow as tf

    try:
        import tensorflow_datasets as tfds
    except ImportError as exc:
        raise RunFailure(f"tensorflow-datasets cannot be imported ({exc}); "
                         "reinstall with `pip install -e .`") from exc
    spec = f"tfds:{name}:{split}"
    if name not in tfds.list_builders():
        raise DataError(f"{spec}: TFDS has no dataset named '{name}'")
    try:
        ds, info = tfds.load(name, split=split, with_info=True, download=False)
    except (AssertionError, tfds.core.registered.DatasetNotFoundError) as missing:
        data_dir = os.environ.get("TFDS_DATA_DIR", "~/tensorflow_datasets")
        if not _tfds_download_reachable():
            raise RunFailure(
                f"{spec}: the dataset is not in the TFDS data dir ({data_dir}) and the "
                "download server cannot be reached (offline?). On a connected machine run "
                f"`tfds build {name}` and copy its data dir here (or set TFDS_DATA_DIR), "
                "or use an offline dataset: digits, ring, grid, folder:PATH, npz:PATH"
            ) from missing
        log.info("downloading %s into %s", name, data_dir)
        try:
            ds, info = tfds.load(name, split=split, with_info=True, download=True)
        except Exception as exc2:  # noqa: BLE001 - any download failure is reported
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
    size = image_size or shape[0]
    if image_size == 0 and shape[0] != shape[1]:
        size = max(shape[:2])

    def convert(example):
        x = tf.cast(example["image"], tf.float32) / 255.0
        if (size, size) != shape[:2]:
            x = tf.clip_by_value(tf.image.resize(x, (size, size), antialias=True), 0.0, 1.0)
        y = tf.cast(example["label"], tf.int32) if num_classes else tf.constant(0, tf.int32)
        return x * 2.0 - 1.0, y

    xs, ys = [], []
    for x, y in tfds.as_numpy(ds.map(convert, num_parallel_calls=tf.data.AUTOTUNE)
                              .batch(1024)):
        xs.append(x)
        ys.append(y)
    if not xs:
        raise DataError(f"{spec}: the split is empty")
    return _from_arrays(f"tfds:{name}", np.concatenate(xs), np.concatenate(ys), num_classes,
                        class_names=class_names)


def load_dataset(spec: str, *, image_size: int = 0, toy_samples: int = 10000,
                 seed: int = 0) -> Dataset:
    """Resolve a dataset spec (see DATASET_SPECS) to a `Dataset`."""
    kind, _, rest = spec.partition(":")
    if spec == "digits":
        return load_digits(image_size)
    if spec in toy.TOY_DATASETS:
        return load_toy(spec, toy_samples, seed)
    if kind == "tfds" and rest:
        name, _, split = rest.partition(":")
        return load_tfds(name, split or "train", image_size)
    if kind == "folder" and rest:
        return load_folder(rest, image_size)
    if kind == "npz" and rest:
        return load_npz(rest, image_size)
    raise DataError(f"unknown dataset spec '{spec}'; valid specs: {', '.join(DATASET_SPECS)}")

"""Loaders for every dataset spec.

Each returns a `Dataset` (tfgan_app/data/dataset.py). Small sources are held in memory
(`digits`, `ring`, `grid`, `gauss1d`, `npz:`: float32 in [-1, 1] or raw points); the others are
read lazily: `folder:` and `shapes` by index (only file paths, or nothing, are held),
`tfrecord:` and `tfds:` as streams of encoded records. Images are decoded and resized
inside the tf.data pipeline and stay uint8 until batched.
"""

from __future__ import annotations

import dataclasses
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
from tfgan_app.data.dataset import ArrayReader, Dataset, IndexedReader, Pairing, StreamReader
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
    "photos": "about 3,100 textured 64x64 RGB patches of scikit-learn's two sample photos, "
              "no labels, with a held-out strip (Dataset.held_out), offline",
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


def fit_image(image, size: int):
    """A uint8 [H, W, C] image tensor as size x size (resized only when it is not)."""
    import tensorflow as tf

    shape = tf.shape(image)
    same = tf.logical_and(tf.equal(shape[0], size), tf.equal(shape[1], size))
    image = tf.cond(same, lambda: image, lambda: resize_uint8(image, size))
    return tf.ensure_shape(image, [size, size, image.shape[-1]])


def decode_image(encoded, channels: int, size: int):
    """Encoded PNG/JPEG/GIF/BMP bytes -> uint8 [size, size, channels] (resized if needed)."""
    import tensorflow as tf

    image = tf.io.decode_image(encoded, channels=channels, expand_animations=False)
    return fit_image(tf.ensure_shape(image, [None, None, channels]), size)


def _image_files(root: Path) -> list[Path]:
    """The image files under `root` (recursively), sorted."""
    return [f for f in sorted(root.rglob("*"))
            if f.suffix.lower() in IMAGE_EXTENSIONS and f.is_file()]


def _no_images(root: Path) -> DataError:
    return DataError(f"image folder {root} contains no images "
                     f"({', '.join(sorted(IMAGE_EXTENSIONS))})")


def _folder_images(root: Path) -> list[Path]:
    """`_image_files(root)`, with an error for a missing folder or one without images."""
    if not root.is_dir():
        raise DataError(f"image folder not found: {root}")
    files = _image_files(root)
    if not files:
        raise _no_images(root)
    return files


def _probe_all(files: list[Path]) -> list:
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(_probe, files, chunksize=256))


def _readable(where, files: list[Path], probes: list) -> list[bool]:
    """Which files could be read: warns about each one that could not, and raises a
    DataError when none could."""
    ok = [not isinstance(probe, Exception) for probe in probes]
    for f, probe, good in zip(files, probes, ok):
        if not good:
            log.warning("skipping unreadable image %s (%s)", f, probe)
    if not any(ok):
        raise DataError(f"image folder {where}: none of its {len(files)} image files "
                        "could be read")
    if not all(ok):
        log.warning("%s: skipped %d unreadable of %d image files", where,
                    ok.count(False), len(files))
    return ok


def _one_size(sizes: set, image_size: int, where) -> int:
    """The square size images of `sizes` ((width, height)s) are read at: data.image_size,
    else their one common size, which must be square."""
    if image_size:
        return image_size
    if len(sizes) > 1:
        listed = ", ".join(f"{w}x{h}" for w, h in sorted(sizes)[:4])
        raise DataError(f"images in {where} have different sizes ({listed}); "
                        "set data.image_size to resize them to one square size")
    width, height = next(iter(sizes))
    if width != height:
        raise DataError(f"images in {where} are {width}x{height}, not square; set "
                        "data.image_size to resize them to a square size")
    return width


def _read_file(file, native, channels: int):
    """uint8 [H, W, channels] of the image file `file` (a string tensor): TensorFlow decodes
    it when `native` (a bool tensor), else Pillow (e.g. WebP)."""
    import tensorflow as tf

    def with_tf():
        image = tf.io.decode_image(tf.io.read_file(file), channels=channels,
                                   expand_animations=False)
        return tf.ensure_shape(image, [None, None, channels])

    def with_pillow():
        image = tf.numpy_function(lambda p: _pil_decode(p, channels), [file], tf.uint8)
        return tf.ensure_shape(image, [None, None, channels])

    return tf.cond(native, with_tf, with_pillow)


def _file_table(files: list[Path], channels: int):
    """(paths, TensorFlow-decodable) string and bool tensors of `files` read as `channels`
    (TensorFlow decodes BMP only to 3 or 4 channels: Pillow converts those to grayscale)."""
    import tensorflow as tf

    native = [f.suffix.lower() in TF_DECODABLE and not (f.suffix.lower() == ".bmp"
                                                        and channels == 1) for f in files]
    return tf.constant(np.array([str(f) for f in files])), tf.constant(np.array(native))


def _files_dataset(name: str, files: list[Path], labels: np.ndarray, size: int,
                   channels: int, num_classes: int = 0, **extra) -> Dataset:
    """The images `files` (with `labels`), read by index at size x size, `channels`."""
    import tensorflow as tf

    paths, native = _file_table(files, channels)
    labels_t = tf.constant(labels)

    def read(index):
        image = _read_file(tf.gather(paths, index), tf.gather(native, index), channels)
        return fit_image(image, size), tf.gather(labels_t, index)

    return Dataset(name=name, num_examples=len(files), shape=(size, size, channels),
                   num_classes=num_classes, reader=IndexedReader(read, labels), **extra)


def _digest(root: Path, entries) -> str:
    """A short content id from (file, label, bytes) entries (the file sizes come from the
    probes: no second stat)."""
    digest = hashlib.sha1()
    for f, label, nbytes in entries:
        digest.update(f"{f.relative_to(root)}:{label}:{nbytes}\n".encode())
    return digest.hexdigest()[:16]


def load_folder(path: str, image_size: int, channels: int) -> Dataset:
    """A folder of images, read lazily by index: only the file list is held in memory.

    Every file's header is checked up front (unreadable files are skipped with a warning),
    which also gives the image sizes and whether the folder is all grayscale.
    """
    root = Path(path)
    if not root.is_dir():
        raise DataError(f"image folder not found: {root}")
    subdirs = sorted(d for d in root.iterdir() if d.is_dir())
    class_names = [d.name for d in subdirs] if subdirs else None
    sources = [(d, i) for i, d in enumerate(subdirs)] if subdirs else [(root, 0)]
    listed = [(f, label) for d, label in sources for f in _image_files(d)]
    if not listed:
        raise _no_images(root)
    files, labels = zip(*listed)
    probes = _probe_all(list(files))
    kept = [(f, label, probe) for f, label, probe, good
            in zip(files, labels, probes, _readable(root, files, probes)) if good]
    size = _one_size({probe[0] for _, _, probe in kept}, image_size, root)
    channels = channels or (1 if all(probe[1] for _, _, probe in kept) else 3)
    digest = _digest(root, [(f, label, probe[2]) for f, label, probe in kept])
    return _files_dataset(f"folder:{root.name}", [f for f, _, _ in kept],
                          np.array([label for _, label, _ in kept], np.int32), size, channels,
                          num_classes=len(subdirs), class_names=class_names,
                          fingerprint=f"folder-{digest}-{size}-{channels}")


def _two_folders(spec: str, rest: str) -> tuple[Path, Path]:
    parts = rest.split(",")
    if len(parts) != 2 or not all(parts):
        raise DataError(f"{spec}: expected two folders separated by one comma, "
                        f"{spec.partition(':')[0]}:DIR_A,DIR_B")
    return Path(parts[0]), Path(parts[1])


def _names(root: Path, files: list[Path]) -> dict[str, Path]:
    """{name: file}: each file's path under `root` without its extension, the key that
    matches a source with its target."""
    names = {}
    for f in files:
        name = f.relative_to(root).with_suffix("").as_posix()
        if name in names:
            raise DataError(f"{root}: {names[name].name} and {f.name} have the same name; "
                            "files pair by name without extension, so keep one")
        names[name] = f
    return names


def _listed(names, limit: int = 3) -> str:
    names = sorted(names)
    return ", ".join(names[:limit]) + (", ..." if len(names) > limit else "")


def load_pair_folders(spec: str, rest: str, image_size: int, channels: int) -> Dataset:
    """`pairs:DIR_A,DIR_B`: aligned pairs, A's file NAME.* with B's NAME.* (any extension,
    same path under each folder); each half keeps its own channels unless data.channels."""
    dir_a, dir_b = _two_folders(spec, rest)
    names_a, names_b = (_names(root, _folder_images(root)) for root in (dir_a, dir_b))
    only_a, only_b = set(names_a) - set(names_b), set(names_b) - set(names_a)
    if only_a or only_b:
        problems = [f"{len(only)} of the {len(mine)} images in {root} have no namesake in "
                    f"{other}" + (f" ({_listed(only)})" if only else "")
                    for only, mine, root, other in ((only_a, names_a, dir_a, dir_b),
                                                    (only_b, names_b, dir_b, dir_a)) if only]
        raise DataError(f"{spec}: {'; '.join(problems)}. Pairs match by file name (without "
                        "extension): rename or remove the unmatched files")
    names = sorted(names_a)
    halves = [[names_a[n] for n in names], [names_b[n] for n in names]]
    probes = [_probe_all(files) for files in halves]
    ok = np.logical_and(*[_readable(root, files, probe) for root, files, probe
                          in zip((dir_a, dir_b), halves, probes)])
    if not ok.all():
        log.warning("%s: left out %d of %d pairs with an unreadable image", spec,
                    int((~ok).sum()), len(ok))
    if not ok.any():
        raise DataError(f"{spec}: none of its {len(ok)} pairs has two readable images")
    keep = np.flatnonzero(ok)
    sizes = {probe[i][0] for probe in probes for i in keep}
    size = _one_size(sizes, image_size, f"{dir_a} and {dir_b}")
    parts = []
    for root, files, probe in zip((dir_a, dir_b), halves, probes):
        own = channels or (1 if all(probe[i][1] for i in keep) else 3)
        digest = _digest(root, [(files[i], 0, probe[i][2]) for i in keep])
        parts.append(_files_dataset(f"folder:{root.name}", [files[i] for i in keep],
                                    np.zeros(len(keep), np.int32), size, own,
                                    fingerprint=f"{digest}-{own}"))
    return paired.pair_datasets(
        *parts, aligned=True, name=f"pairs:{dir_a.name},{dir_b.name}",
        fingerprint=f"pairs-{parts[0].fingerprint}-{parts[1].fingerprint}-{size}")


def load_side_by_side(spec: str, path: str, image_size: int, channels: int) -> Dataset:
    """`pairs:DIR`: each file holds a pair side by side, A on the left and B on the right
    (width = 2 x height: pix2pix's datasets); both halves get the file's channels."""
    import tensorflow as tf

    root = Path(path)
    files = _folder_images(root)
    probes = _probe_all(files)
    kept = [(f, probe) for f, probe, good in zip(files, probes, _readable(root, files, probes))
            if good]
    wrong = [f"{f.name} ({w}x{h})" for f, ((w, h), _, _) in kept if w != 2 * h]
    if wrong:
        raise DataError(f"{spec}: side-by-side pairs must be twice as wide as high (A|B); "
                        f"{len(wrong)} of {len(kept)} images are not: {_listed(wrong)}")
    size = _one_size({(w // 2, h) for _, ((w, h), _, _) in kept}, image_size, root)
    channels = channels or (1 if all(probe[1] for _, probe in kept) else 3)
    paths, native = _file_table([f for f, _ in kept], channels)
    pairing = Pairing(channels, channels, aligned=True)

    def read(index):
        image = _read_file(tf.gather(paths, index), tf.gather(native, index), channels)
        half = tf.shape(image)[1] // 2
        return (pairing.join(fit_image(image[:, :half], size), fit_image(image[:, half:], size)),
                tf.constant(0, tf.int32))

    digest = _digest(root, [(f, 0, probe[2]) for f, probe in kept])
    return Dataset(name=f"pairs:{root.name}", num_examples=len(kept),
                   shape=(size, size, pairing.channels), num_classes=0,
                   reader=IndexedReader(read), pair=pairing,
                   fingerprint=f"pairs-{digest}-{size}-{channels}")


def load_unpaired_folders(spec: str, rest: str, image_size: int, channels: int) -> Dataset:
    """`unpaired:DIR_A,DIR_B`: two folders of any sizes, unaligned (data/paired.py)."""
    dir_a, dir_b = _two_folders(spec, rest)
    a, b = (load_folder(str(d), image_size, channels) for d in (dir_a, dir_b))
    return paired.pair_datasets(a, b, aligned=False, name=f"unpaired:{dir_a.name},{dir_b.name}")


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


def load_tfds(name: str, split: str, image_size: int, channels: int,
              default_size: int = 0) -> Dataset:
    """A TFDS image dataset, streamed: records in the prepared files' order, shuffled within
    windows per pass, images decoded by the pipeline (not by TFDS) so they stay uint8.

    `default_size`: the size to read images of no fixed size at (cycle_gan's are all 256)
    when data.image_size is 0; without one such images need data.image_size.
    """
    import tensorflow as tf

    try:
        import tensorflow_datasets as tfds
    except ImportError as exc:
        raise RunFailure(f"tensorflow-datasets cannot be imported ({exc}); "
                         "reinstall with `pip install -e .`") from exc
    spec = f"tfds:{name}:{split}"
    if name.partition("/")[0] not in tfds.list_builders():
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
                "or use an offline dataset: digits, ring, grid, gauss1d, shapes, photos, "
                "folder:PATH, tfrecord:GLOB, npz:PATH; pairs: edges2digits, "
                "edges2digits_unpaired, gray2color, pairs:DIR_A,DIR_B, pairs:DIR, "
                "unpaired:DIR_A,DIR_B") from exc
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
    if len(shape) != 3 or shape[-1] not in (1, 3):
        raise DataError(f"{spec}: images must have 1 or 3 channels; got shape {shape}")
    if None in shape[:2] and not (image_size or default_size):
        raise DataError(f"{spec}: images have no fixed size (shape {shape}); set "
                        "data.image_size")
    num_classes = features["label"].num_classes if "label" in features else 0
    class_names = list(features["label"].names) if "label" in features else None
    size = image_size or (default_size if None in shape[:2] else max(shape[:2]))
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


CYCLE_GAN_SIZE = 256  # every image of TFDS's cycle_gan datasets is 256x256


def load_cycle_gan(name: str, split: str, image_size: int, channels: int) -> Dataset:
    """`tfds:cycle_gan/NAME[:test]`: unaligned pairs of the trainA and trainB splits (testA
    and testB with :test), both streamed; labels are not kept (the halves are the
    domains)."""
    a, b = (load_tfds(f"cycle_gan/{name}", f"{split}{half}", image_size, channels,
                      CYCLE_GAN_SIZE) for half in "AB")
    data = paired.pair_datasets(a, b, aligned=False, name=f"tfds:cycle_gan/{name}",
                                fingerprint=f"cycle_gan-{a.fingerprint}-{b.fingerprint}")
    return dataclasses.replace(data, num_classes=0, class_names=None)


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
        if name.startswith("cycle_gan/") and split in ("", "train", "test"):
            return load_cycle_gan(name.partition("/")[2], split or "train", image_size,
                                  channels)
        return load_tfds(name, split or "train", image_size, channels)
    if kind == "folder" and rest:
        return load_folder(rest, image_size, channels)
    if kind == "tfrecord" and rest:
        return load_tfrecord(rest, image_size, channels)
    if kind == "npz" and rest:
        return load_npz(rest, image_size)
    if kind == "pairs" and rest:
        if "," in rest:
            return load_pair_folders(spec, rest, image_size, channels)
        return load_side_by_side(spec, rest, image_size, channels)
    if kind == "unpaired" and rest:
        return load_unpaired_folders(spec, rest, image_size, channels)
    raise DataError(f"unknown dataset spec '{spec}'; valid specs: {', '.join(DATASET_SPECS)}")

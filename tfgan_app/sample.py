"""Draw samples from an exported generator (SavedModel or .tflite) into a grid PNG.

    python -m tfgan_app.sample runs/dcgan/export/dcgan/150 --out dcgan.png
    python -m tfgan_app.sample runs/cgan/export/cgan_int8.tflite --out cgan_int8.png
    python -m tfgan_app.sample runs/cgan/export/cgan/150 --label 7 --num 16
    python -m tfgan_app.sample runs/pix2pix/export/pix2pix/60 --images edges/ --out out.png

Runs the exported file itself (tf.saved_model.load or the LiteRT interpreter), not the
Keras model. Latents come from --seed, so a SavedModel and its TFLite files given the same
seed draw the same samples and their grids can be compared side by side. Conditional
generators get one row per class (or every sample of --label); InfoGAN one row per
category. Toy-data generators give a scatter plot (2-D) or a density plot (1-D).
Image-to-image models (pix2pix, ...) translate the images of --images DIR (resized to the
model's input size and channels): one row of input | output per image; inpainting models
fill the centre square their metadata gives (rows of masked input | output | image).
Exit codes: 0 ok, 1 runtime failure, 2 bad usage.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

from tfgan_app import cli


def draw(meta: dict, num: int, seed: int, label: int | None):
    """Inputs for `num` samples and the number of grid rows."""
    from tfgan_app.errors import UsageError
    from tfgan_app.export import draw_inputs

    inputs = draw_inputs(meta["inputs"], num, np.random.default_rng(seed))
    rows = round(math.sqrt(num))
    ints = [(name, info) for name, info in meta["inputs"].items()
            if info["dtype"].startswith("int") and "high" in info]
    if ints:
        name, info = ints[0]
        low, high = info["low"], info["high"]
        if label is not None:
            if not low <= label < high:
                raise UsageError(f"--label {label} is out of range: {name} must be in "
                                 f"[{low}, {high})")
            inputs[name] = np.full(num, label, np.int32)
        else:
            rows = high - low
            inputs[name] = (low + np.arange(num) * rows // num).astype(np.int32)
    elif label is not None:
        raise UsageError("--label given, but this generator takes no label")
    return inputs, max(1, min(rows, num))


def source_input(meta: dict) -> str | None:
    """The name of the input that takes the user's image (role "source"), if any."""
    return next((name for name, info in meta["inputs"].items()
                 if info.get("role") == "source"), None)


def read_images(directory: Path, shape, num: int) -> np.ndarray:
    """Up to `num` images of `directory` (sorted by name) as float32 [n, H, W, C] in
    [-1, 1], resized (bilinear) and converted to the model's channels."""
    from PIL import Image, UnidentifiedImageError

    from tfgan_app.data.sources import IMAGE_EXTENSIONS
    from tfgan_app.errors import UsageError

    if not directory.is_dir():
        raise UsageError(f"--images {directory} is not a directory")
    paths = sorted(p for p in directory.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
    if not paths:
        raise UsageError(f"--images {directory} holds no images "
                         f"({', '.join(sorted(IMAGE_EXTENSIONS))})")
    height, width, channels = shape
    images = []
    for path in paths[:num]:
        try:
            with Image.open(path) as image:
                image = image.convert("L" if channels == 1 else "RGB")
                image = image.resize((width, height), Image.Resampling.BILINEAR)
                array = np.asarray(image, np.float32).reshape(height, width, channels)
        except (OSError, UnidentifiedImageError) as exc:
            raise UsageError(f"cannot read image {path}: {exc}") from None
        images.append(array / 127.5 - 1.0)
    return np.stack(images)


def _shown_like(images: np.ndarray, out: np.ndarray) -> np.ndarray:
    """`images` at the output's channels and size (nearest), to tile beside it."""
    import tensorflow as tf

    shown = tf.constant(images)
    if shown.shape[-1] != out.shape[-1]:  # gray input beside a colour output, or back
        shown = tf.repeat(shown, out.shape[-1], -1) if shown.shape[-1] == 1 else \
            tf.reduce_mean(shown, -1, keepdims=True)
    return tf.image.resize(shown, out.shape[1:3], method="nearest").numpy()


def translation_grid(meta: dict, run, images: np.ndarray, seed: int):
    """(tiles, rows): input | output per image; other inputs drawn from `seed` (or the
    value the metadata gives). With a "mask" input: masked input | output | the image."""
    from tfgan_app.export import draw_inputs

    name = source_input(meta)
    others = {k: v for k, v in meta["inputs"].items() if k != name}
    inputs = {name: images, **draw_inputs(others, len(images), np.random.default_rng(seed))}
    out = np.asarray(run(inputs))
    masks = [inputs[k] for k, info in others.items() if info.get("role") == "mask"]
    columns = [images * (1.0 - masks[0]), out, images] if masks else [images, out]
    tiles = [c if c is out else _shown_like(c, out) for c in columns]
    return np.stack(tiles, 1).reshape(-1, *out.shape[1:]), len(images)


def _density_1d_reference(meta: dict, out) -> dict:
    """The x range of a 1-D generator's plot, and the data's density if it was trained on
    1-D toy data (gauss1d)."""
    from tfgan_app.data import toy
    from tfgan_app.plotting import density_1d_limits

    make_modes, std = toy.TOY_DATASETS.get(meta.get("dataset"), (None, None))
    modes = make_modes() if make_modes else None
    if modes is not None and modes.shape == (1, 1):
        mean = float(modes[0, 0])
        return {"limits": density_1d_limits(mean, std), "gaussian": (mean, std)}
    finite = out[np.isfinite(out)]
    lo, hi = (np.percentile(finite, [0.5, 99.5]) if len(finite) else (-1.0, 1.0))
    pad = max(hi - lo, 1e-3) * 0.1
    return {"limits": (float(lo - pad), float(hi + pad))}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tfgan_app.sample", description=__doc__.splitlines()[0],
        epilog=__doc__.split("\n", 2)[2], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path, help="SavedModel directory or .tflite file")
    parser.add_argument("--num", type=int, default=None,
                        help="samples (default: 8 per class, else 64; 1000 points)")
    parser.add_argument("--seed", type=int, default=0, help="latent seed (default 0)")
    parser.add_argument("--label", type=int, default=None,
                        help="class for every sample (conditional generators)")
    parser.add_argument("--images", type=Path, metavar="DIR",
                        help="image-to-image models: translate the images of DIR (the "
                             "first --num, default 16, by file name)")
    parser.add_argument("--out", type=Path, default=Path("samples.png"), help="PNG to write")
    parser.add_argument("--scale", type=int, default=4, help="pixel upscaling (default 4)")
    return parser


def main(argv=None) -> int:
    from tfgan_app import plotting
    from tfgan_app.errors import UsageError
    from tfgan_app.export import load_exported

    args = build_parser().parse_args(argv)
    meta, run = load_exported(args.model)
    source = source_input(meta)
    if source is not None or args.images is not None:
        return _translate(args, meta, run, source)
    high = [info["high"] - info["low"] for info in meta["inputs"].values()
            if info["dtype"].startswith("int") and "high" in info]
    num = args.num or (1000 if meta.get("kind") == "points" else
                       8 * high[0] if high and args.label is None else 64)
    if num < 1:
        raise UsageError(f"--num must be positive, not {num}")
    inputs, rows = draw(meta, num, args.seed, args.label)

    out = np.asarray(run(inputs))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    title = f"{args.model.name}: {num} samples"
    if out.ndim == 2 and out.shape[1] == 1:
        plotting.save_density_1d(out, args.out, title=title, **_density_1d_reference(meta, out))
    elif out.ndim == 2:
        plotting.save_scatter(out, args.out, title=title)
    else:
        plotting.save_image(plotting.image_grid(out, rows), args.out, scale=args.scale)
    print(f"wrote {args.out} ({num} samples from {args.model})")
    return 0


def _translate(args, meta: dict, run, source: str | None) -> int:
    """`sample` for an image-to-image export: rows of input | output for --images."""
    from tfgan_app import plotting
    from tfgan_app.errors import UsageError

    if source is None:
        raise UsageError(f"--images given, but {args.model} generates from noise (inputs: "
                         f"{', '.join(meta['inputs'])}); leave --images out")
    shape = meta["inputs"][source]["shape"]
    if args.images is None:
        raise UsageError(f"{args.model} translates images ({meta.get('variant')}: input "
                         f"{source} {shape}): pass --images DIR with the images to "
                         "translate")
    if args.label is not None:
        raise UsageError("--label given, but this model takes no label")
    num = 16 if args.num is None else args.num
    if num < 1:
        raise UsageError(f"--num must be positive, not {num}")
    tiles, rows = translation_grid(meta, run, read_images(args.images, shape, num), args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    plotting.save_image(plotting.image_grid(tiles, rows), args.out, scale=args.scale)
    print(f"wrote {args.out} ({rows} images from {args.images} through {args.model})")
    return 0


def console_main():
    """Entry point of the `tfgan-sample` console script."""
    sys.exit(cli.run(main))


if __name__ == "__main__":
    console_main()

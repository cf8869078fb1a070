"""Fill the holes in images with a trained generator (semantic inpainting, Yeh et al. 2017).

    python -m tfgan_app.complete --run-dir runs/dcgan --images digits/ --out completed/
    python -m tfgan_app.complete --model runs/dcgan/export/dcgan/150 --images face.png \\
        --mask random --mask-size 0.4 --out completed/
    python -m tfgan_app.complete --run-dir runs/cgan --label 3 --images three.png \\
        --mask three_mask.png --out completed/

Searches the generator's latent space for the image that best matches the known pixels
(importance-weighted L1) and that its discriminator finds real (perceptual loss, weight
--lam), from --restarts starting points per image, and blends the best into the hole.
A run directory (--run-dir) has the discriminator; an exported SavedModel (--model) has
the generator only, so it gets the contextual loss alone. Images are converted to the
generator's channels and resized (not cropped) to its size. Masks: 1 = missing; a mask
file is white where pixels are missing (one file for every image, or a folder with a mask
of the same name for each). Unconditional image generators; class-conditional ones with
--label. Writes OUT/<name>_completed.png, OUT/grid.png (rows: masked, completed and, for
center/random masks, the original) and OUT/completion.json; prints the contextual loss
before and after and, for center/random masks, the hole's PSNR against the original and
against filling it with the image's mean. Exit codes: 0 ok, 1 runtime failure, 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from tfgan_app import cli

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
GRID_COLUMNS = 16


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tfgan_app.complete", description=__doc__.splitlines()[0],
        epilog=__doc__.split("\n", 2)[2], formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--run-dir", metavar="RUN", type=Path,
                        help="run directory written by python -m tfgan_app.train")
    source.add_argument("--model", metavar="SAVEDMODEL", type=Path,
                        help="exported SavedModel directory (generator only: no perceptual "
                             "loss)")
    parser.add_argument("--checkpoint", type=int, metavar="N",
                        help="with --run-dir: epoch of the checkpoint (default: newest)")
    parser.add_argument("--images", type=Path, required=True, metavar="PATH",
                        help="an image file or a folder of them")
    parser.add_argument("--mask", default="center", metavar="center|random|FILE_OR_DIR",
                        help="center: a centred square; random: seeded random blocks; or a "
                             "mask image (white = missing) or folder of them (default: "
                             "center)")
    parser.add_argument("--mask-size", type=float, default=0.5, metavar="F",
                        help="center: side of the square as a fraction of the image's; "
                             "random: the same missing area (default: 0.5)")
    parser.add_argument("--steps", type=int, default=1000, metavar="N",
                        help="Adam steps on the latents (default: 1000)")
    parser.add_argument("--restarts", type=int, default=8, metavar="K",
                        help="candidates per image; the best is kept (default: 8)")
    parser.add_argument("--lam", type=float, default=0.1,
                        help="weight of the perceptual loss (default: 0.1)")
    parser.add_argument("--lr", type=float, default=0.01,
                        help="Adam learning rate (default: 0.01)")
    parser.add_argument("--z-clip", type=float, default=3.0, metavar="C",
                        help="clip each latent coordinate to [-C, C] (0: never; default 3)")
    parser.add_argument("--label", type=int, default=None,
                        help="class of every image (class-conditional generators)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the starting latents and random masks (default: 0)")
    parser.add_argument("--blend", choices=("poisson", "none"), default="poisson",
                        help="poisson: the hole takes the generated gradients and the "
                             "image's boundary; none: the generated pixels (default: "
                             "poisson)")
    parser.add_argument("--nearest", type=int, default=0, metavar="N",
                        help="with --run-dir and center/random masks: also report the "
                             "baseline that fills each hole from the nearest (on the known "
                             "pixels) of N training images (0: off)")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="directory for the completed images")
    return parser


def image_files(path: Path) -> list[Path]:
    """The image files `--images` names: the file, or the folder's images by name."""
    from tfgan_app.errors import UsageError

    if path.is_file():
        return [path]
    if not path.is_dir():
        raise UsageError(f"--images {path} does not exist")
    found = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")
                   and p.suffix.lower() in IMAGE_SUFFIXES)
    if not found:
        raise UsageError(f"--images {path} holds no image files "
                         f"({', '.join(IMAGE_SUFFIXES)})")
    return found


def read_image(path: Path, mode: str) -> np.ndarray:
    """uint8 [H, W, C] of an image file in PIL mode "L" or "RGB"; UsageError if unreadable."""
    from PIL import Image, UnidentifiedImageError

    from tfgan_app.errors import UsageError

    try:
        with Image.open(path) as im:
            array = np.asarray(im.convert(mode), np.uint8)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise UsageError(f"cannot read image {path}: {exc}") from None
    return array[..., None] if array.ndim == 2 else array


def _resize(array: np.ndarray, size, nearest: bool = False) -> np.ndarray:
    import tensorflow as tf

    if array.shape[:2] == tuple(size):
        return array
    method = "nearest" if nearest else "bilinear"
    return tf.image.resize(array.astype(np.float32), size, method=method,
                           antialias=not nearest).numpy()


def load_images(files: list[Path], shape) -> tuple[np.ndarray, list[tuple]]:
    """Images in [-1, 1] at the generator's (H, W, C), and each file's own (H, W)."""
    mode = "L" if shape[2] == 1 else "RGB"
    images, sizes = [], []
    for path in files:
        array = read_image(path, mode)
        sizes.append(array.shape[:2])
        images.append(np.clip(_resize(array, shape[:2]), 0, 255) / 127.5 - 1.0)
    return np.stack(images).astype(np.float32), sizes


def load_masks(spec: str, files: list[Path], sizes: list[tuple], shape, fraction: float,
               seed: int) -> np.ndarray:
    """Masks [n, H, W] (1 = missing) for the images: synthetic, or read from spec."""
    from tfgan_app import completion
    from tfgan_app.errors import UsageError

    size = tuple(shape[:2])
    if spec == "center":
        return np.stack([completion.center_mask(size, fraction)] * len(files))
    if spec == "random":
        rng = np.random.default_rng([seed, 1])
        return np.stack([completion.random_mask(size, fraction, rng) for _ in files])
    path = Path(spec)
    if not path.exists():
        raise UsageError(f"--mask {spec} is neither center, random nor an existing file or "
                         "folder")
    masks = []
    for image, image_size in zip(files, sizes):
        mask_path = path
        if path.is_dir():
            named = [p for p in path.iterdir() if p.stem == image.stem and p.is_file()]
            if not named:
                raise UsageError(f"--mask folder {path} has no mask for {image.name} (a "
                                 f"file named {image.stem}.*)")
            mask_path = named[0]
        array = read_image(mask_path, "L")[..., 0]
        if array.shape not in (tuple(image_size), size):
            raise UsageError(f"mask {mask_path} is {array.shape[1]}x{array.shape[0]}, but "
                             f"{image.name} is {image_size[1]}x{image_size[0]} (and the "
                             f"generator {size[1]}x{size[0]}): give a mask of either size")
        mask = (_resize(array[..., None], size, nearest=True)[..., 0] >= 128)
        if not mask.any():
            raise UsageError(f"mask {mask_path} marks no pixel as missing (white = "
                             "missing)")
        masks.append(mask.astype(np.float32))
    return np.stack(masks)


def load_source(args):
    """(Generator, perceptual loss or None, a description, the run's data or None) for
    --run-dir or --model."""
    from tfgan_app import completion
    from tfgan_app.errors import UsageError

    if args.checkpoint is not None and args.model:
        raise UsageError("--checkpoint goes with --run-dir, not --model")
    if args.model:
        if not args.model.is_dir():
            raise UsageError(f"--model {args.model} is not a SavedModel directory (TFLite "
                             "files cannot be differentiated: use the SavedModel beside "
                             "them)")
        generator = completion.saved_model_generator(args.model)
        return generator, None, f"{args.model} (SavedModel: generator only, so no " \
                                "perceptual loss; contextual loss alone)", None
    from tfgan_app.training import load_run

    run = load_run(args.run_dir, args.checkpoint)
    if run.data.kind != "image":
        raise UsageError(f"{args.run_dir} trained {run.cfg.variant} on {run.data.name}, "
                         "points, not images: completion fills holes in images")
    generator = completion.keras_generator(run.model)
    perceptual = completion.keras_perceptual(run.model)
    name = f"{args.run_dir} ({run.cfg.variant}, epoch {run.epoch})"
    if perceptual is None:
        name += (": its discriminator judges groups of samples (model.pack or "
                 "minibatch_std), so no perceptual loss; contextual loss alone")
    return generator, perceptual, name, run.data


def _check_args(args):
    from tfgan_app.errors import UsageError

    if not 0 < args.mask_size <= 1:
        raise UsageError(f"--mask-size must be in (0, 1], not {args.mask_size}")
    for name in ("steps", "restarts"):
        if getattr(args, name) < (0 if name == "steps" else 1):
            raise UsageError(f"--{name} must be {'>= 0' if name == 'steps' else '>= 1'}, "
                             f"not {getattr(args, name)}")
    if args.lr <= 0 or args.lam < 0 or args.z_clip < 0 or args.nearest < 0:
        raise UsageError("--lr must be > 0, and --lam, --z-clip and --nearest >= 0")
    if args.nearest and not (args.run_dir and args.mask in ("center", "random")):
        raise UsageError("--nearest needs --run-dir (its training images) and a center or "
                         "random mask (the image is then its own ground truth)")


def grid_rows(masked, completed, original=None) -> np.ndarray:
    """The grid's images in order: blocks of up to GRID_COLUMNS images, each three rows
    (masked, completed, original) or two; short blocks padded white."""
    rows = [masked, completed] + ([original] if original is not None else [])
    blank = np.ones_like(masked[:1])
    out = []
    for start in range(0, len(masked), GRID_COLUMNS):
        for row in rows:
            part = row[start:start + GRID_COLUMNS]
            columns = min(GRID_COLUMNS, len(masked))
            out.append(np.concatenate([part, np.repeat(blank, columns - len(part), 0)]))
    return np.concatenate(out)


def _key(baseline: str) -> str:
    return baseline.split(" of ")[0].replace(" ", "_")


def _versus(baselines: dict, i: int) -> str:
    return ", ".join(f"{name} {values[i]:.2f} dB" for name, values in baselines.items())


def main(argv=None) -> int:
    from tfgan_app import completion, files, plotting
    from tfgan_app.errors import UsageError

    args = build_parser().parse_args(argv)
    _check_args(args)
    paths = image_files(args.images)
    generator, perceptual, name, data = load_source(args)
    classes = [n for n, info in generator.inputs.items() if info.get("role") == "class"]
    if args.label is not None and not classes:
        raise UsageError("--label given, but this generator takes no class label")
    conditions = {n: args.label for n in classes} if args.label is not None else {}
    completion.check_inputs(generator.inputs, conditions)
    images, sizes = load_images(paths, generator.shape)
    masks = load_masks(args.mask, paths, sizes, generator.shape, args.mask_size, args.seed)
    synthetic = args.mask in ("center", "random")
    h, w, c = generator.shape
    print(f"completing {len(paths)} image(s) resized to {w}x{h}x{c} with {name}; "
          f"{args.restarts} restarts x {args.steps} Adam steps, "
          f"{f'lam {args.lam:g}, ' if perceptual is not None else ''}blend {args.blend}")
    result = completion.complete(
        generator, perceptual, images, masks, steps=args.steps, restarts=args.restarts,
        lam=args.lam, lr=args.lr, seed=args.seed, blend_mode=args.blend, z_clip=args.z_clip,
        conditions=conditions)
    masked = np.where(masks[..., None] > 0.5, 0.0, images)  # the hole as mid-grey
    report = {"source": name, "images": [], "steps": args.steps, "restarts": args.restarts,
              "lam": args.lam if perceptual is not None else None, "lr": args.lr,
              "blend": args.blend, "mask": args.mask, "seed": args.seed}
    if synthetic:
        psnr = completion.hole_psnr(result.completed, images, masks)
        mean_psnr = completion.hole_psnr(completion.mean_fill(images, masks), images, masks)
        baselines = {"mean fill": mean_psnr}
        if args.nearest:
            pool = data.take(data.sample_indices(min(args.nearest, data.num_examples),
                                                 args.seed))[0]
            baselines[f"nearest of {len(pool)}"] = completion.hole_psnr(
                completion.nearest_fill(images, masks, pool), images, masks)
    out_dir = args.out
    for i, path in enumerate(paths):
        target = out_dir / f"{path.stem}_completed.png"
        plotting.save_image(plotting.to_uint8(result.completed[i]), target)
        entry = {"image": str(path), "completed": str(target),
                 "missing_fraction": round(float(masks[i].mean()), 4),
                 "context_before": float(result.context_before[i]),
                 "context_after": float(result.context_after[i])}
        line = (f"  {path.name}: contextual loss {entry['context_before']:.3f} -> "
                f"{entry['context_after']:.3f}")
        if synthetic:
            entry["psnr_hole"] = float(psnr[i])
            entry.update({f"psnr_hole_{_key(k)}": float(v[i]) for k, v in baselines.items()})
            line += f"; hole PSNR {psnr[i]:.2f} dB ({_versus(baselines, i)})"
        report["images"].append(entry)
        print(line)
    if synthetic:
        report["mean_psnr_hole"] = float(np.mean(psnr))
        report.update({f"mean_psnr_hole_{_key(k)}": float(np.mean(v))
                       for k, v in baselines.items()})
        means = {k: np.mean(v, keepdims=True) for k, v in baselines.items()}
        print(f"mean hole PSNR {np.mean(psnr):.2f} dB ({_versus(means, 0)}) over "
              f"{len(paths)} image(s)")
    tiles = grid_rows(masked, result.completed, images if synthetic else None)
    rows = len(tiles) // min(GRID_COLUMNS, len(paths))
    plotting.save_image(plotting.image_grid(tiles, rows), out_dir / "grid.png",
                        scale=max(1, 64 // h))
    files.write_text(out_dir / "completion.json", json.dumps(report, indent=2) + "\n")
    print(f"wrote {len(paths)} completed image(s), {out_dir / 'grid.png'} and "
          f"{out_dir / 'completion.json'}")
    return 0


def console_main():
    """Entry point of the `tfgan-complete` console script."""
    sys.exit(cli.run(main))


if __name__ == "__main__":
    console_main()

"""python -m tfgan_app.convert --dataset SPEC --out DIR: write a dataset as files to stream.

Converts any dataset spec (tfds:celeb_a, a folder of mixed-size JPEGs, an npz file, shapes,
...) once into a folder of images or TFRecord shards at the size training will use, so
every later run streams it with no per-run resizing or counting:

    python -m tfgan_app.convert --dataset tfds:celeb_a --image-size 64 --format tfrecord \\
        --out data/celeba64
    python -m tfgan_app.train --variant dcgan --dataset "tfrecord:data/celeba64/*.tfrecord"

Exit codes: 0 ok, 1 runtime failure, 2 bad usage.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tfgan_app import cli


def build_parser() -> argparse.ArgumentParser:
    from tfgan_app.data import spec_list
    from tfgan_app.data.writers import FORMATS, IMAGE_FORMATS

    specs = spec_list()
    parser = argparse.ArgumentParser(
        prog="python -m tfgan_app.convert", epilog=__doc__.split("\n", 2)[2]
        + f"\ndatasets (--dataset):\n{specs}\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Write a dataset as a folder of images or TFRecord shards.")
    parser.add_argument("--dataset", required=True, metavar="SPEC", help="dataset spec")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR",
                        help="output directory (created; must be empty or new)")
    parser.add_argument("--format", choices=FORMATS, default="tfrecord",
                        help="tfrecord (default) or folder")
    parser.add_argument("--image-format", choices=IMAGE_FORMATS, default="png",
                        help="how each image is encoded (default: png, lossless)")
    parser.add_argument("--image-size", type=int, default=0, metavar="N",
                        help="resize to N x N (default: the dataset's own size)")
    parser.add_argument("--channels", type=int, choices=[0, 1, 3], default=0,
                        help="1 grayscale, 3 RGB, 0 as the dataset (default)")
    parser.add_argument("--max-examples", type=int, default=0, metavar="N",
                        help="write only the first N examples (default: all)")
    parser.add_argument("--shapes-samples", type=int, default=100_000, metavar="N",
                        help="examples of the shapes dataset (default: 100000)")
    parser.add_argument("--shards", type=int, default=0, metavar="N",
                        help="TFRecord files (default: ~10,000 examples each)")
    parser.add_argument("--seed", type=int, default=0, metavar="N",
                        help="order the examples are written in (default: 0)")
    return parser


def main(argv=None) -> int:
    from tfgan_app.data import load_dataset
    from tfgan_app.data.writers import Progress, write_folder, write_tfrecord
    from tfgan_app.errors import UsageError

    args = build_parser().parse_args(argv)
    for name in ("image_size", "max_examples", "shards"):
        if getattr(args, name) < 0:
            raise UsageError(f"--{name.replace('_', '-')} must be >= 0")
    if args.out.exists() and (not args.out.is_dir() or any(args.out.iterdir())):
        raise UsageError(f"--out {args.out} exists and is not an empty directory")
    data = load_dataset(args.dataset, image_size=args.image_size, channels=args.channels,
                        shapes_samples=args.shapes_samples)
    if args.max_examples:
        data = data.limit(args.max_examples)
    print(f"writing {data.num_examples} examples of {data.name} "
          f"({'x'.join(map(str, data.shape))}, {data.num_classes} classes) as "
          f"{args.format} to {args.out}", flush=True)
    start = time.perf_counter()
    progress = Progress(data.num_examples, "converting").update
    if args.format == "folder":
        count = write_folder(data, args.out, seed=args.seed, image_format=args.image_format,
                             progress=progress)
        spec = f"folder:{args.out}"
    else:
        count = write_tfrecord(data, args.out, shards=args.shards, seed=args.seed,
                               image_format=args.image_format, progress=progress)
        spec = f"tfrecord:{args.out}/*.tfrecord"
    seconds = time.perf_counter() - start
    print(f"wrote {count} examples in {seconds:.1f}s ({count / max(seconds, 1e-9):,.0f}/s); "
          f"train on them with --dataset \"{spec}\"")
    return 0


def console_main():
    """Entry point of the `tfgan-convert` console script."""
    sys.exit(cli.run(main))


if __name__ == "__main__":
    console_main()

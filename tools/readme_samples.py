"""Copy each run's last sample grid, shrunk, to docs/samples/<variant>.png for the README.

    python tools/readme_samples.py runs/began runs/wgan ... [--out docs/samples] [--width 200]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml
from PIL import Image


def last_grid(run_dir: Path) -> Path | None:
    grids = sorted(p for p in (run_dir / "samples").glob("epoch_*.png")
                   if p.stem.count("_") == 1)  # main grids only, not epoch_N_code0.png
    return grids[-1] if grids else None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run directories")
    parser.add_argument("--out", type=Path, default=Path("docs/samples"))
    parser.add_argument("--width", type=int, default=200, help="width of each PNG in pixels")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for run in args.runs:
        config = run / "config.yaml"
        if not config.is_file():
            print(f"error: {run} is not a run directory (no config.yaml)", file=sys.stderr)
            return 2
        variant = yaml.safe_load(config.read_text())["variant"]
        source = last_grid(run)
        if source is None:
            print(f"error: no sample grids in {run / 'samples'}", file=sys.stderr)
            return 2
        image = Image.open(source)  # grey grids stay 1 channel; colour (gray2color) RGB
        image = image.convert("RGB" if image.mode in ("RGB", "RGBA") else "L")
        height = round(image.height * args.width / image.width)
        target = args.out / f"{variant}.png"
        image.resize((args.width, height), Image.Resampling.LANCZOS).save(target, optimize=True)
        print(f"{source} -> {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

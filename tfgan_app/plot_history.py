"""Plot a run's history.csv (every logged loss against epoch) into a PNG.

    python -m tfgan_app.plot_history runs/dcgan            # writes runs/dcgan/history.png
    python -m tfgan_app.plot_history runs/dcgan -o curves.png

Prints the path of the PNG. Exit codes: 0 ok, 1 runtime failure, 2 bad usage (no
history.csv, or one that cannot be plotted).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tfgan_app import cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tfgan_app.plot_history", description=__doc__.splitlines()[0],
        epilog=__doc__.split("\n", 2)[2], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path, help="a run directory holding history.csv")
    parser.add_argument("-o", "--output", type=Path, help="PNG to write "
                                                          "(default: RUN_DIR/history.png)")
    return parser


def main(argv=None) -> int:
    from tfgan_app.errors import UsageError
    from tfgan_app.plotting import save_history_plot

    args = build_parser().parse_args(argv)
    history = args.run_dir / "history.csv"
    if not history.is_file():
        raise UsageError(f"{history} not found (is {args.run_dir} a run directory?)")
    out = args.output or args.run_dir / "history.png"
    try:
        save_history_plot(history, out, title=args.run_dir.name)
    except (ValueError, KeyError) as exc:
        raise UsageError(f"cannot plot {history}: {exc}") from None
    print(out)
    return 0


def console_main():
    """Entry point of the `tfgan-plot-history` console script."""
    sys.exit(cli.run(main))


if __name__ == "__main__":
    console_main()

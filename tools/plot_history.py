#!/usr/bin/env python
"""Plot a run's history.csv (every logged loss against epoch) into a PNG.

    python tools/plot_history.py runs/dcgan            # writes runs/dcgan/history.png
    python tools/plot_history.py runs/dcgan -o curves.png
"""

import argparse
import sys
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="a run directory holding history.csv")
    parser.add_argument("-o", "--output", type=Path, help="PNG to write "
                                                          "(default: RUN_DIR/history.png)")
    args = parser.parse_args(argv)
    history = args.run_dir / "history.csv"
    if not history.is_file():
        print(f"error: {history} not found (is {args.run_dir} a run directory?)",
              file=sys.stderr)
        return 2
    from tfgan_app.plotting import save_history_plot

    out = args.output or args.run_dir / "history.png"
    try:
        save_history_plot(history, out, title=args.run_dir.name)
    except (ValueError, KeyError) as exc:
        print(f"error: cannot plot {history}: {exc}", file=sys.stderr)
        return 2
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""python -m tfgan_app.train --variant NAME ...: train a GAN variant into a run directory."""

from __future__ import annotations

import argparse
import sys
import textwrap

from tfgan_app import cli


def build_parser() -> argparse.ArgumentParser:
    import tfgan_app.variants  # noqa: F401 (registers every variant for the list below)
    from tfgan_app import registry
    from tfgan_app.data import spec_list

    def listing(family):
        return "\n".join(f"  {name:<10} {summary}"
                         for name, summary in registry.summaries(family).items())

    variants = (f"{listing('noise')}\n\n  image to image (paired or single-image datasets "
                f"below):\n{listing('image')}")
    datasets = spec_list()
    epilog = textwrap.dedent("""
        variants:
        {variants}

        datasets (--dataset):
        {datasets}

        Running the same command again resumes from the last finished epoch. Config keys
        (--set section.key=value) are listed in docs/configuration.md; --print-config shows them all
        with their values. Exit codes: 0 ok, 1 runtime failure, 2 bad usage or config.
        --debug (or TFGAN_APP_DEBUG=1) adds the full traceback to an error message.
        """).format(variants=variants, datasets=datasets)
    parser = argparse.ArgumentParser(
        prog="python -m tfgan_app.train", description="Train a GAN variant.",
        epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
    cli.add_run_arguments(parser, variant_help="variant to train (see the list below)")
    parser.add_argument("--epochs", type=int, metavar="N", help="total epochs")
    parser.add_argument("--output-dir", metavar="DIR",
                        help="run directory (default: runs/<variant>)")
    parser.add_argument("--print-config", action="store_true",
                        help="print the resolved config (every key and value) and exit")
    return parser


def main(argv=None) -> int:
    from tfgan_app.config import resolve_config
    from tfgan_app.training import train

    args = build_parser().parse_args(argv)
    variant = cli.run_variant(args)
    flags = {**cli.run_flags(args), "train.epochs": args.epochs}
    cfg = resolve_config(variant, config_file=args.config, flags=flags, sets=args.sets)
    if args.print_config:
        print(cfg.to_yaml(), end="")
        return 0
    train(cfg, args.output_dir or f"runs/{variant}",
          verbose=1 if sys.stdout.isatty() else 2)
    return 0


def console_main():
    """Entry point of the `tfgan-train` console script."""
    sys.exit(cli.run(main))


if __name__ == "__main__":
    console_main()

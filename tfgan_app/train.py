"""python -m tfgan_app.train --variant NAME ...: train a GAN variant into a run directory."""

from __future__ import annotations

import argparse
import sys
import textwrap

from tfgan_app import cli


def build_parser() -> argparse.ArgumentParser:
    from tfgan_app import registry
    from tfgan_app.data import DATASET_SPECS
    from tfgan_app.distribute import STRATEGY_CHOICES

    variants = "\n".join(f"  {name:<10} {summary}"
                         for name, summary in registry.summaries().items())
    datasets = "\n".join(f"  {spec:<18} {text}" for spec, text in DATASET_SPECS.items())
    epilog = textwrap.dedent("""
        variants:
        {variants}

        datasets (--dataset):
        {datasets}

        Running the same command again resumes from the last finished epoch. Config keys
        (--set section.key=value) are listed in README.md; --print-config shows them all
        with their values. Exit codes: 0 ok, 1 runtime failure, 2 bad usage or config.
        --debug (or TFGAN_APP_DEBUG=1) adds the full traceback to an error message.
        """).format(variants=variants, datasets=datasets)
    parser = argparse.ArgumentParser(
        prog="python -m tfgan_app.train", description="Train a GAN variant.",
        epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variant", help="variant to train (see the list below)")
    parser.add_argument("--config", metavar="FILE", help="YAML file of config overrides")
    parser.add_argument("--dataset", metavar="SPEC", help="dataset spec (default: digits)")
    parser.add_argument("--epochs", type=int, metavar="N", help="total epochs")
    parser.add_argument("--batch-size", type=int, metavar="N", help="global batch size")
    parser.add_argument("--output-dir", metavar="DIR",
                        help="run directory (default: runs/<variant>)")
    parser.add_argument("--strategy", choices=STRATEGY_CHOICES,
                        help="tf.distribute strategy (default: auto)")
    parser.add_argument("--tpu", metavar="ADDRESS",
                        help="with --strategy tpu (or auto): TPU name or grpc://HOST:8470 "
                             "(default: this TPU VM's TPU)")
    parser.add_argument("--mixed-precision", action="store_true",
                        help="mixed precision: bfloat16 compute on CPU/TPU, float16 with "
                             "loss scaling on GPU (train.precision=mixed)")
    parser.add_argument("--jit", action="store_true",
                        help="XLA-compile the train step (train.jit=on; for GPU/TPU: on "
                             "CPUs it is much slower)")
    parser.add_argument("--steps-per-execution", type=int, metavar="N",
                        help="train steps per call into the TF runtime (default: 1)")
    parser.add_argument("--seed", type=int, metavar="N", help="random seed (default: 0)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        dest="sets", help="override one config key, e.g. train.g_lr=1e-4 "
                                          "(repeatable)")
    parser.add_argument("--print-config", action="store_true",
                        help="print the resolved config (every key and value) and exit")
    return parser


def main(argv=None) -> int:
    from tfgan_app.config import load_yaml, resolve_config
    from tfgan_app.errors import UsageError
    from tfgan_app.training import train

    args = build_parser().parse_args(argv)
    variant = args.variant
    if variant is None and args.config:
        loaded = load_yaml(args.config)
        variant = loaded.get("variant") if isinstance(loaded, dict) else None
    if variant is None:
        raise UsageError("--variant is required (python -m tfgan_app.train --help lists them)")
    flags = {"data.dataset": args.dataset, "train.epochs": args.epochs,
             "train.batch_size": args.batch_size, "train.strategy": args.strategy,
             "train.seed": args.seed, "train.tpu": args.tpu,
             "train.precision": "mixed" if args.mixed_precision else None,
             "train.jit": "on" if args.jit else None,
             "train.steps_per_execution": args.steps_per_execution}
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

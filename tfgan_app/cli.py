"""Shared command-line plumbing: quiet TensorFlow start-up and error -> exit code mapping.

Import this before TensorFlow so its C++ start-up chatter stays out of the user's way.
"""

from __future__ import annotations

import logging
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def run(main, argv=None) -> int:
    """Run `main(argv)`; expected failures print one message and return their exit code."""
    from tfgan_app.errors import TfganError

    log = logging.getLogger("tfgan_app")
    if not log.handlers:  # our messages only; TensorFlow's Python logging stays as it is
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    try:
        return main(argv) or 0
    except TfganError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # e.g. an unwritable output directory or a full disk
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume from the last finished "
              "epoch", file=sys.stderr)
        return 130


def add_run_arguments(parser, *, variant_help: str | None, config_file: bool = True):
    """Add the flags that choose and tune a run, shared by train and benchmark.

    Args:
      parser: an argparse.ArgumentParser.
      variant_help: help text of --variant; None leaves --variant out (a fixed variant).
      config_file: also add --config FILE (YAML overrides; it may name the variant).
    """
    from tfgan_app.distribute import STRATEGY_CHOICES

    if variant_help is not None:
        parser.add_argument("--variant", help=variant_help)
    if config_file:
        parser.add_argument("--config", metavar="FILE", help="YAML file of config overrides")
    parser.add_argument("--dataset", metavar="SPEC", help="dataset spec (default: digits)")
    parser.add_argument("--batch-size", type=int, metavar="N", help="global batch size")
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


def run_flags(args) -> dict:
    """The dotted config keys the flags of `add_run_arguments` set (None: not given)."""
    return {"data.dataset": args.dataset, "train.batch_size": args.batch_size,
            "train.strategy": args.strategy, "train.tpu": args.tpu, "train.seed": args.seed,
            "train.precision": "mixed" if args.mixed_precision else None,
            "train.jit": "on" if args.jit else None,
            "train.steps_per_execution": args.steps_per_execution}


def run_variant(args) -> str:
    """--variant, or else the `variant:` of the --config file; UsageError if neither."""
    from tfgan_app.config import load_yaml
    from tfgan_app.errors import UsageError

    variant = args.variant
    if variant is None and getattr(args, "config", None):
        loaded = load_yaml(args.config)
        variant = loaded.get("variant") if isinstance(loaded, dict) else None
    if variant is None:
        raise UsageError("--variant is required (python -m tfgan_app.train --help lists them)")
    return variant

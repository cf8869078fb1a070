"""Shared command-line plumbing: the run flags, and error -> exit code mapping.

TensorFlow's C++ start-up chatter is quieted by the package itself (tfgan_app/__init__.py).
"""

from __future__ import annotations

import logging
import os
import sys
import traceback


def run(main, argv=None) -> int:
    """Run `main(argv)`; expected failures print one message and return their exit code.

    `--debug` anywhere in argv (taken out before `main` parses it) or TFGAN_APP_DEBUG=1
    adds the full traceback, chained causes included, after the message.
    """
    from tfgan_app.errors import TfganError

    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get("TFGAN_APP_DEBUG") == "1"
    argv = [arg for arg in argv if arg != "--debug"]
    log = logging.getLogger("tfgan_app")
    if not log.handlers:  # our messages only; TensorFlow's Python logging stays as it is
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    try:
        return main(argv) or 0
    except TfganError as exc:
        print(f"error: {exc}", file=sys.stderr)
        _explain(exc, debug)
        return exc.exit_code
    except OSError as exc:  # e.g. a full disk (ENOSPC) or a directory made read-only
        print(f"error: {_os_message(exc)}", file=sys.stderr)
        _explain(exc, debug)
        return 1
    except Exception as exc:
        if not _is_tf_op_error(exc):
            raise  # a bug: its traceback is the report
        # TensorFlow's own I/O (summaries, data files) fails this way, e.g. on a full disk.
        print(f"error: {_op_message(exc)}", file=sys.stderr)
        _explain(exc, debug)
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


class _StderrHandler(logging.StreamHandler):
    """Writes to sys.stderr as it is at each message, like the error lines below it.

    A stream fixed at the first run() would go stale when the caller swaps sys.stderr
    (pytest's capture closes it after each test).
    """

    stream = property(lambda self: sys.stderr, lambda self, _: None)


def _os_message(exc: OSError) -> str:
    """`PATH: strerror`, the way the shell reports it, when the error names a path."""
    if exc.filename is None or not exc.strerror:
        return str(exc)
    if exc.filename2 is not None:
        return f"{exc.filename} -> {exc.filename2}: {exc.strerror}"
    return f"{exc.filename}: {exc.strerror}"


def _is_tf_op_error(exc: BaseException) -> bool:
    tf = sys.modules.get("tensorflow")  # never imported here: this module loads before it
    return tf is not None and isinstance(exc, tf.errors.OpError)


def _op_message(exc) -> str:
    """An OpError's first line without the `{{function_node ...}}` prefix of wrapped ops."""
    from tfgan_app.errors import first_line

    return first_line(exc.message) or type(exc).__name__


def _root_cause(exc: BaseException) -> BaseException | None:
    """The innermost exception `exc` was raised from (or during), None if none."""
    cause, seen = None, {id(exc)}
    while True:
        nxt = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
        if nxt is None or id(nxt) in seen:
            return cause
        exc = cause = nxt
        seen.add(id(nxt))


def _explain(exc: BaseException, debug: bool):
    """What follows the message: the traceback with --debug, else a runtime failure's cause.

    A usage error's message says all the user needs, so it gets nothing more.
    """
    from tfgan_app.errors import RunFailure, describe

    if isinstance(exc, RunFailure) and exc.__cause__ is None and exc.__context__ is not None:
        # Keras re-raises what a callback raised inside fit() `from None`, which hides the
        # cause we chained; this app raises no RunFailure `from None` itself.
        exc.__cause__ = exc.__context__
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
        return
    if isinstance(exc, RunFailure):
        cause = _root_cause(exc)
        if cause is not None:
            print(f"caused by: {describe(cause)}", file=sys.stderr)
    if isinstance(exc, (RunFailure, OSError)) or _is_tf_op_error(exc):
        print("(run with --debug for the full traceback)", file=sys.stderr)

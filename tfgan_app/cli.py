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

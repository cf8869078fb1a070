"""Errors the command-line tools turn into a message and an exit code (no traceback)."""

import re


class TfganError(Exception):
    """Base class for expected failures; `exit_code` is what the CLI returns."""

    exit_code = 1


class UsageError(TfganError):
    """Bad command line, config value or input file: exit code 2."""

    exit_code = 2


class ConfigError(UsageError):
    """A config key or value is wrong; the message names the key."""


class DataError(UsageError):
    """A dataset spec, path or file cannot be used; the message names it."""


class RunFailure(TfganError):
    """Training or export failed at run time (e.g. the loss became NaN): exit code 1."""


# The prefix of a wrapped TensorFlow op's error message: noise to the user.
_FUNCTION_NODE = re.compile(r"^\{\{function_node [^}]*\}\}\s*")


def first_line(text) -> str:
    """The first line of an error message, without a wrapped op's `{{function_node ...}}`.

    TensorFlow's messages run over many lines; the first says what failed.
    """
    lines = str(text).strip().splitlines()
    return _FUNCTION_NODE.sub("", lines[0]) if lines else ""


def describe(exc: BaseException) -> str:
    """`Type: first line of its message` (just `Type` when the message is empty)."""
    line = first_line(exc)
    return f"{type(exc).__name__}: {line}" if line else type(exc).__name__

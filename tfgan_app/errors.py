"""Errors the command-line tools turn into a message and an exit code (no traceback)."""


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

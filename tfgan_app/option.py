"""`option()`: a config field with its documentation, bounds and resume rule.

A leaf module: every config section (`data.DataConfig`, `networks.NetworkConfig`,
`plan.TrainConfig`, each variant's `Config`) declares its keys with it, and `config.py`
reads the metadata back to check values, print `--help`-style references and decide what a
resumed run may change.
"""

from __future__ import annotations

import dataclasses


def option(default, help: str, *, min: float | None = None, max: float | None = None,
           resumable: bool = False):
    """A dataclass field with its documentation and optional numeric bounds.

    Args:
      default: the code default.
      help: one or two sentences for the configuration reference.
      min, max: inclusive numeric bounds checked when a value is set.
      resumable: a resumed run may change this key (it changes how training runs, e.g. the
        strategy or the number of epochs, not what is trained).
    """
    return dataclasses.field(default=default, metadata={
        "help": help, "min": min, "max": max, "resumable": resumable})

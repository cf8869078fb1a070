"""Atomic file writes: a crash or kill never leaves a half-written file behind."""

from __future__ import annotations

import os
from pathlib import Path


def atomic_write(path, write):
    """Call `write(tmp_path)` on a temporary sibling of `path`, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text(path, text: str):
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))

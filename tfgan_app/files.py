"""Atomic file writes: a crash or kill never leaves a half-written file behind."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

# Temporary names of writes that were cut short, by writer: atomic_write (.NAME.tmpPID),
# the SavedModel and TFLite exports (.tmp-NAME-PID, .tmp-saved-model-XXXX), the SavedModel
# replacement (.old-NAME-PID) and TensorFlow's checkpoint save (ckpt-N_temp/).
PARTIAL_WRITE = re.compile(r"\..+\.tmp\d+|\.tmp-.+|\.old-.+-\d+|ckpt-\d+_temp")


def atomic_write(path, write):
    """Call `write(tmp_path)` on a temporary sibling of `path`, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        if exc.filename != str(tmp):
            raise
        # Name the file the user knows (e.g. history.csv), not its temporary sibling.
        raise OSError(exc.errno, exc.strerror, str(path)) from exc
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text(path, text: str):
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def remove_partial_writes(root) -> list[Path]:
    """Delete the temporary files and directories that killed writes left under `root`.

    Safe only while no other process writes under `root` (runlock.hold ensures that).

    Returns:
        The paths removed.
    """
    removed = []
    for directory, dirnames, filenames in os.walk(root):
        for name in list(dirnames):
            if PARTIAL_WRITE.fullmatch(name):
                dirnames.remove(name)
                shutil.rmtree(Path(directory, name), ignore_errors=True)
                removed.append(Path(directory, name))
        for name in filenames:
            if PARTIAL_WRITE.fullmatch(name):
                Path(directory, name).unlink(missing_ok=True)
                removed.append(Path(directory, name))
    return sorted(removed)


def marked_block_problem(path, start: str, end: str) -> str | None:
    """Why `path` has no `start ... end` block to rewrite (see `replace_marked_block`), or
    None when it has one."""
    path = Path(path)
    if not path.is_file():
        return f"{path} does not exist"
    text = path.read_text()
    if start not in text or end not in text.split(start, 1)[1]:
        return f"{path} has no {start} ... {end} block"
    return None


def replace_marked_block(path, start: str, end: str, text: str):
    """Rewrite the lines between the markers `start` and `end` of a text file with `text`,
    leaving the rest of the file and the markers as they are (atomically).

    The benchmark tools keep their generated tables in such blocks of docs pages.
    """
    problem = marked_block_problem(path, start, end)
    if problem:
        raise ValueError(problem)
    before, rest = Path(path).read_text().split(start, 1)
    after = rest.split(end, 1)[1]
    body = text if text.endswith("\n") else text + "\n"
    write_text(path, f"{before}{start}\n{body}{end}{after}")

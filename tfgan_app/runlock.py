"""One writer per run directory: an OS-level lock on RUN/.lock for the life of the writer.

Writers are `python -m tfgan_app.train`, `python -m tfgan_app.export --run-dir RUN` and
`python -m tfgan_app.evaluate --run-dir RUN`; each holds `hold(RUN)` while it reads
checkpoints and writes files. Readers of exported files (evaluate --model, serving) take
no lock.

The rules:
- The lock is `fcntl.flock(LOCK_EX | LOCK_NB)` on RUN/.lock, whose content (JSON) names
  the holder: pid, host, command, start time (and job and task under multi-worker).
  A second writer is refused with a UsageError (exit 2) naming the directory and the
  holder; nothing waits.
- The kernel drops a flock when its process ends, however it ends (SIGKILL included).
  A clean release deletes the file, so a lock file whose flock is free was left by a
  holder that died: the next writer takes it over with a warning naming the old holder,
  and (being the only writer) deletes the half-finished temporary files that holder
  left (files.remove_partial_writes).
- Multi-worker: all workers of one job run with the same RUN, and only the chief writes
  the run's files. The chief holds RUN/.lock; every other task holds its own
  RUN/.lock.<type>-<index> (e.g. .lock.worker-1). The job id recorded in each is a hash
  of TF_CONFIG's cluster. So the workers of one job never contend, while a second job (or
  a single-process writer) on the same RUN is refused at its chief and at every task the
  first job also runs; a restarted job takes over each of its tasks' stale locks.
- flock works on local filesystems and on NFS (Linux maps it to NFS byte-range locks,
  so it holds across machines); FUSE mounts (e.g. GCS FUSE) lock within one machine only.
  On a filesystem without locks the writer goes on unprotected, with a warning.

Creating RUN/.lock is also train's up-front check that RUN can be written: a path that
is a file, under a file, or not writable is a UsageError before any work starts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import errno
import fcntl
import hashlib
import json
import logging
import os
import shlex
import socket
import sys
from pathlib import Path

from tfgan_app import files
from tfgan_app.errors import RunFailure, UsageError

log = logging.getLogger(__name__)

LOCK_NAME = ".lock"
# What flock fails with on a filesystem that has no locks (some network and FUSE mounts).
NO_LOCKS = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS, errno.EINVAL}


@dataclasses.dataclass(frozen=True)
class Task:
    """Who writes: a single process (the default), or one task of a multi-worker job."""

    job: str | None = None  # multi-worker job id: a hash of TF_CONFIG's cluster
    name: str | None = None  # the task, e.g. "worker:1"
    chief: bool = True  # writes the run's files, so holds RUN/.lock

    @property
    def lock_name(self) -> str:
        if self.chief:
            return LOCK_NAME
        return f"{LOCK_NAME}.{self.name.replace(':', '-')}"


def task_of(strategy) -> Task:
    """The Task of this process in `strategy` (a single process unless multi-worker)."""
    import tensorflow as tf

    from tfgan_app import distribute

    resolver = getattr(strategy, "cluster_resolver", None)
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) or resolver is None:
        return Task()
    cluster = resolver.cluster_spec().as_dict()
    if not cluster:
        return Task()
    job = hashlib.sha256(json.dumps(cluster, sort_keys=True).encode()).hexdigest()[:12]
    return Task(job, f"{resolver.task_type}:{resolver.task_id}",
                distribute.is_chief(strategy))


def _command() -> str:
    argv = list(getattr(sys, "orig_argv", sys.argv))
    if "-c" in argv[:-1]:  # the program text itself would swamp the message
        argv[argv.index("-c") + 1] = "..."
    if argv:
        argv[0] = os.path.basename(argv[0])
    command = shlex.join(argv)
    return command if len(command) <= 300 else command[:297] + "..."


def describe(holder: dict | None) -> str:
    """E.g. 'pid 41 on host1 since 2025-01-02T03:04:05+00:00 (python -m tfgan_app.train ...)'."""
    if not holder:
        return "a process that has not recorded itself yet (starting or finishing)"
    text = f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}"
    if holder.get("task"):
        text += f", {holder['task']} of multi-worker job {holder.get('job')}"
    return f"{text} since {holder.get('since', '?')} ({holder.get('command', '?')})"


def _read(fd: int) -> dict | None:
    raw = os.pread(fd, 1 << 16, 0).decode("utf-8", "replace").strip()
    if not raw:
        return None
    try:
        holder = json.loads(raw)
    except ValueError:
        holder = None
    return holder if isinstance(holder, dict) else {"command": raw[:200]}


def _prepare(run_dir: Path, create: bool) -> bool:
    """Check (and with `create`, make) the run directory; True if this call created it."""
    if run_dir.exists() and not run_dir.is_dir():
        raise UsageError(f"run directory {run_dir} is an existing file, not a directory; "
                         "pass a directory (a new one starts a new run)" if create else
                         f"run directory {run_dir} is a file, not a run directory")
    if not create:
        if not run_dir.is_dir():
            raise UsageError(f"run directory {run_dir} does not exist")
        return False
    created = not run_dir.exists()
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except (NotADirectoryError, FileExistsError):
        blocker = next((p for p in run_dir.parents if p.exists() and not p.is_dir()),
                       run_dir.parent)
        raise UsageError(f"run directory {run_dir} cannot be created: {blocker} is a file, "
                         "not a directory") from None
    except PermissionError as exc:
        raise UsageError(f"run directory {run_dir} cannot be created: {exc.strerror} "
                         f"({exc.filename})") from None
    return created


def _open(path: Path, run_dir: Path, create: bool) -> int | None:
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise
        if create:
            raise UsageError(f"run directory {run_dir} is not writable ({exc.strerror}); "
                             "pass a directory you can write to") from None
        # Nobody writes through this process's permissions there; reading is still useful.
        log.warning("cannot lock %s (%s): reading it without protection from a "
                    "concurrent writer", run_dir, exc.strerror)
        return None


def _acquire(path: Path, run_dir: Path, task: Task, create: bool) -> int | None:
    while True:
        fd = _open(path, run_dir, create)
        if fd is None:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(fd)
            os.close(fd)
            raise UsageError(
                f"run directory {run_dir} is in use by {describe(holder)}; one train, "
                "export or evaluate writes to a run directory at a time: wait for it to "
                "finish or stop it, or use another directory") from None
        except OSError as exc:
            os.close(fd)
            if exc.errno not in NO_LOCKS:
                raise RunFailure(f"cannot lock {path}: {exc.strerror}") from exc
            # Runs worked on such filesystems before there was a lock; keep them working.
            log.warning("cannot lock %s (%s: the filesystem has no file locks): a second "
                        "writer on %s would not be refused", path, exc.strerror, run_dir)
            return None
        # A releasing holder deletes the file while holding it: if that happened between
        # our open and our flock, we locked a deleted file; open the new one instead.
        try:
            current = os.stat(path)
            mine = os.fstat(fd)
            if (current.st_dev, current.st_ino) == (mine.st_dev, mine.st_ino):
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)


def _record(fd: int, path: Path, task: Task):
    old = _read(fd)
    if old is not None or os.fstat(fd).st_size:
        log.warning("taking over the stale lock %s of %s: that process ended without "
                    "releasing it (killed or crashed)", path, describe(old))
    info = {"pid": os.getpid(), "host": socket.gethostname(), "command": _command(),
            "since": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}
    if task.job:
        info.update(job=task.job, task=task.name)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
        os.fsync(fd)
    except OSError as exc:  # e.g. a full disk: name the file
        raise OSError(exc.errno, exc.strerror, str(path)) from exc


@contextlib.contextmanager
def hold(run_dir, task: Task | None = None, *, create: bool = True):
    """Hold the run directory's lock for the `with` block (see the module docstring).

    Args:
        run_dir: the run directory.
        task: this process's Task (`task_of(strategy)`); default: a single process.
        create: make the directory (train); else it must exist (export, evaluate), and a
            read-only one is read without a lock, with a warning.

    Raises:
        UsageError: the directory is in use, is a file, or cannot be created or written.
    """
    run_dir = Path(run_dir)
    task = task or Task()
    created = _prepare(run_dir, create)
    path = run_dir / task.lock_name
    fd = None
    try:
        fd = _acquire(path, run_dir, task, create)
        if fd is not None:
            _record(fd, path, task)
            if task.chief:
                removed = files.remove_partial_writes(run_dir)
                if removed:
                    log.info("removed %d unfinished file(s) of an interrupted writer: %s",
                             len(removed), ", ".join(str(p.relative_to(run_dir))
                                                     for p in removed))
        yield
    finally:
        if fd is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)  # before unlocking: see _acquire
            os.close(fd)
        if created:
            with contextlib.suppress(OSError):  # only if nothing was written
                run_dir.rmdir()

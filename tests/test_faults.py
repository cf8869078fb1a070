"""Fault injection: kills at the worst moments, a full disk, damaged checkpoints, two
writers, stale locks, unusable run directories, and what the user is told.

Faults come from outside the app: a subprocess runs the train CLI after monkeypatching a
TensorFlow or app function to do part of its work and then SIGKILL itself; the test then
runs the same command again, as a user would. Cheaper faults run in this process.
"""

import errno
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from helpers import ROOT, TINY, python_env, run_cli

from tfgan_app import files, runlock
from tfgan_app.callbacks import Checkpointer
from tfgan_app.config import resolve_config
from tfgan_app.errors import RunFailure, UsageError
from tfgan_app.evaluate import main as evaluate_main
from tfgan_app.export.__main__ import main as export_main
from tfgan_app.train import main as train_main
from tfgan_app.training import load_run, train

QUIET = dict(verbose=0, echo=lambda _: None)
SETS = TINY + ["data.dataset=ring", "train.eval_every=0"]
HOST = socket.gethostname()

PROGRAM = """
import os, signal, sys, time
from pathlib import Path

def die():
    os.kill(os.getpid(), signal.SIGKILL)

PATCH

from tfgan_app import cli, train
sys.exit(cli.run(train.main, sys.argv[1:]))
"""

# Each patch does part of the work, then kills the process.
KILL_MID_CHECKPOINT = """
from tensorflow.python.ops import gen_io_ops
real_merge = gen_io_ops.merge_v2_checkpoints
saves = []
def merge(*args, **kwargs):  # the new checkpoint's shards are written, not yet merged
    saves.append(1)
    if len(saves) == 2:
        die()
    return real_merge(*args, **kwargs)
gen_io_ops.merge_v2_checkpoints = merge
"""
KILL_IN_HISTORY_WRITE = """
from tfgan_app import files
real_write = files.atomic_write
rows = []
def atomic_write(path, write):
    if Path(path).name == "history.csv":
        rows.append(1)
        if len(rows) == 2:  # its temporary file is complete, not yet renamed
            return real_write(path, lambda tmp: (write(tmp), die()))
    return real_write(path, write)
files.atomic_write = atomic_write
"""
KILL_BEFORE_OLD_CHECKPOINTS_GO = """
import tensorflow as tf
def sweep(self):  # the new checkpoint is written and listed, the old ones not yet deleted
    die()
tf.train.CheckpointManager._sweep = sweep
"""
KILL_IN_EXPORT = """
from tfgan_app.export import saved_model
def replace_dir(tmp, final):  # the SavedModel is complete in its temporary directory
    die()
saved_model.replace_dir = replace_dir
"""
WAIT_FOR_GO = """
from tfgan_app import callbacks
real_write = callbacks.HistoryCSV.write
def write(self):  # holds the run directory (and its lock) until the test says go
    marker = Path(os.environ["FAULTS_MARKER"])
    marker.with_suffix(".waiting").touch()
    deadline = time.time() + 240
    while not marker.with_suffix(".go").exists() and time.time() < deadline:
        time.sleep(0.05)
    real_write(self)
callbacks.HistoryCSV.write = write
"""


def start(run, epochs, patch="", sets=(), env=None):
    """The train CLI on `run` in a subprocess, after `patch` (Python source) has run."""
    argv = ["--variant", "gan", "--output-dir", run,
            *sum((["--set", s] for s in SETS + [f"train.epochs={epochs}", *sets]), [])]
    env = python_env(TF_CPP_MIN_LOG_LEVEL="3", **(env or {}))
    return subprocess.Popen([sys.executable, "-c", PROGRAM.replace("PATCH", patch),
                             *map(str, argv)], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(proc, timeout=300):
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def history_epochs(run):
    return [int(line.split(",")[0]) for line in (run / "history.csv").read_text().split()[1:]]


def listed_checkpoints(run):
    state = tf.train.get_checkpoint_state(str(run / "checkpoints"))
    return [Path(p).name for p in state.all_model_checkpoint_paths]


def checkpoint_values(prefix) -> dict:
    """Every value in a checkpoint (model, optimizers, epoch) by its key."""
    reader = tf.train.load_checkpoint(str(prefix))
    return {key: reader.get_tensor(key) for key in reader.get_variable_to_shape_map()
            if key != "_CHECKPOINTABLE_OBJECT_GRAPH"}


def assert_same_checkpoint(a, b):
    values_a, values_b = checkpoint_values(a), checkpoint_values(b)
    assert values_a.keys() == values_b.keys()
    for key in values_a:
        np.testing.assert_array_equal(values_a[key], values_b[key], err_msg=key)


def leftovers(run):
    return sorted(str(p.relative_to(run)) for p in run.rglob("*")
                  if files.PARTIAL_WRITE.fullmatch(p.name) or p.name.startswith(".lock"))


def app_messages(caplog):
    return [r.getMessage() for r in caplog.records if r.name.startswith("tfgan_app")]


def dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def plant_stale_lock(run, pid):
    run.mkdir(parents=True, exist_ok=True)
    (run / ".lock").write_text(json.dumps({
        "pid": pid, "host": HOST, "command": "python -m tfgan_app.train --variant gan",
        "since": "2025-01-02T03:04:05+00:00"}))


def truncate_data(run, epoch, size=100):
    (run / "checkpoints" / f"ckpt-{epoch}.data-00000-of-00001").write_bytes(
        (run / "checkpoints" / f"ckpt-{epoch}.data-00000-of-00001").read_bytes()[:size])


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """A 4-epoch run never interrupted: what every recovered run must equal exactly."""
    run = tmp_path_factory.mktemp("straight")
    train(resolve_config("gan", sets=SETS + ["train.epochs=4"]), run, **QUIET)
    return run



# -- two writers, stale locks, multi-worker, unusable directories -------------------------
@pytest.mark.parametrize("main, argv", [
    (train_main, ["--variant", "gan", "--dataset", "ring", "--output-dir", "{run}"]),
    (export_main, ["--run-dir", "{run}"]),
    (evaluate_main, ["--run-dir", "{run}"]),
])
def test_every_writer_is_refused_on_a_held_run_directory(tmp_path, capsys, main, argv):
    run = tmp_path / "run"
    with runlock.hold(run):
        holder = json.loads((run / ".lock").read_text())
        code, _, err = run_cli(main, capsys, *[a.format(run=run) for a in argv])
        assert [p.name for p in run.iterdir()] == [".lock"]  # the refused one wrote nothing
    assert code == 2 and err == (
        f"error: run directory {run} is in use by pid {os.getpid()} on {HOST} since "
        f"{holder['since']} ({holder['command']}); one train, export or evaluate writes to "
        "a run directory at a time: wait for it to finish or stop it, or use another "
        "directory\n")
    assert not run.exists()  # the directory the holder made, empty again, is removed


def test_a_stale_lock_is_taken_over_with_a_warning(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="tfgan_app")
    run = tmp_path / "run"
    pid = dead_pid()
    plant_stale_lock(run, pid)
    (run / "samples").mkdir()
    (run / "samples" / f".epoch_0003.png.tmp{pid}").write_bytes(b"half a png")
    with runlock.hold(run):
        assert json.loads((run / ".lock").read_text())["pid"] == os.getpid()
    assert app_messages(caplog) == [
        (f"taking over the stale lock {run}/.lock of pid {pid} on {HOST} since "
         "2025-01-02T03:04:05+00:00 (python -m tfgan_app.train --variant gan): that process "
         "ended without releasing it (killed or crashed)"),
        f"removed 1 unfinished file(s) of an interrupted writer: samples/.epoch_0003.png.tmp{pid}"]
    assert sorted(p.name for p in run.rglob("*")) == ["samples"]


def test_the_workers_of_one_job_share_a_run_directory_and_a_second_job_is_refused(tmp_path):
    run = tmp_path / "run"
    job, other_job = "a1b2c3d4e5f6", "ffffffffffff"
    with runlock.hold(run, runlock.Task(job, "worker:0", chief=True)), \
            runlock.hold(run, runlock.Task(job, "worker:1", chief=False)):
        assert sorted(p.name for p in run.iterdir()) == [".lock", ".lock.worker-1"]
        assert json.loads((run / ".lock.worker-1").read_text())["task"] == "worker:1"
        with pytest.raises(UsageError, match=rf"in use by pid {os.getpid()} on {HOST}, "
                                             rf"worker:1 of multi-worker job {job} since"):
            with runlock.hold(run, runlock.Task(other_job, "worker:1", chief=False)):
                pass
        with pytest.raises(UsageError, match=f"worker:0 of multi-worker job {job}"):
            with runlock.hold(run):  # a single-process writer, e.g. export
                pass
    assert not run.exists()


def test_a_run_directory_that_is_a_file_or_cannot_be_written_is_a_usage_error(tmp_path,
                                                                            capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    args = ["--variant", "gan", "--dataset", "ring", "--output-dir"]
    code, _, err = run_cli(train_main, capsys, *args, blocker)
    assert code == 2 and err == (f"error: run directory {blocker} is an existing file, not a "
                                 "directory; pass a directory (a new one starts a new run)\n")
    # chmod 0o500 does not stop root, so take a path under a regular file as unwritable.
    unwritable = tmp_path / "ro"
    unwritable.mkdir(mode=0o500)
    if os.access(unwritable, os.W_OK):
        unwritable = blocker / "run"
        message = f"cannot be created: {blocker} is a file, not a directory"
    else:
        message = "is not writable (Permission denied); pass a directory you can write to"
    code, _, err = run_cli(train_main, capsys, *args, unwritable)
    assert code == 2 and err == f"error: run directory {unwritable} {message}\n"
    code, _, err = run_cli(export_main, capsys, "--run-dir", blocker)
    assert code == 2 and err == f"error: run directory {blocker} is a file, not a run directory\n"


# -- what the user is told ---------------------------------------------------------------------
def test_a_runtime_failure_names_its_root_cause_and_debug_shows_the_traceback(tmp_path,
                                                                              capsys,
                                                                              monkeypatch):
    run = tmp_path / "run"
    train(resolve_config("gan", sets=SETS), run, **QUIET)
    data = run / "checkpoints" / "ckpt-1.data-00000-of-00001"
    flipped = bytearray(data.read_bytes())
    flipped[len(flipped) // 2] ^= 0xFF  # bit rot: the size is right, a checksum is not
    data.write_bytes(bytes(flipped))
    argv = ["--run-dir", run, "--checkpoint", 1]
    code, _, err = run_cli(export_main, capsys, *argv)
    first, cause, hint = err.splitlines()
    assert code == 1 and first.startswith(f"error: cannot restore checkpoint {run}/checkpoints/"
                                          "ckpt-1: OpError: TensorBundle at ")
    assert "Checksum does not match" in first and "Checksum does not match" in cause
    assert cause.startswith(f"caused by: RuntimeError: TensorBundle at {run}/checkpoints/"
                            "ckpt-1 ")
    assert hint == "(run with --debug for the full traceback)"
    for debug_argv, env in ((["--debug"], "0"), ([], "1")):
        monkeypatch.setenv("TFGAN_APP_DEBUG", env)
        code, _, err = run_cli(export_main, capsys, *argv, *debug_argv)
        assert code == 1 and err.startswith(f"error: cannot restore checkpoint {run}/")
        assert "Traceback (most recent call last)" in err
        assert "The above exception was the direct cause of the following exception" in err
        assert err.splitlines()[-1].startswith("tfgan_app.errors.RunFailure: cannot restore")


def test_a_full_disk_names_the_file_and_keeps_the_last_checkpoint(tmp_path, capsys,
                                                                   monkeypatch):
    run = tmp_path / "run"
    real_write = files.atomic_write

    def atomic_write(path, write):
        if (run / "checkpoints" / "checkpoint").is_file():  # the disk fills after epoch 1
            def write(tmp):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp))
        return real_write(path, write)

    monkeypatch.setattr(files, "atomic_write", atomic_write)
    argv = ["--variant", "gan", "--output-dir", run,
            *sum((["--set", s] for s in SETS + ["train.epochs=2"]), [])]
    code, _, err = run_cli(train_main, capsys, *argv)
    assert code == 1
    assert err == (f"error: {run}/history.csv: No space left on device\n"
                   "(run with --debug for the full traceback)\n")
    assert leftovers(run) == []
    monkeypatch.setattr(files, "atomic_write", real_write)
    assert load_run(run).epoch == 1 and history_epochs(run) == [1]


def test_a_full_disk_under_tensorflow_s_own_writes_exits_1_without_a_traceback(tmp_path,
                                                                               capsys,
                                                                               monkeypatch):
    run = tmp_path / "run"
    writer_cls = type(tf.summary.create_file_writer(str(tmp_path / "probe")))
    real_flush = writer_cls.flush
    events = f"{run}/logs/events.out.tfevents.1"

    def flush(self):  # TensorBoard's event file, as a real full tmpfs failed it
        if (run / "checkpoints" / "checkpoint").is_file():
            raise tf.errors.ResourceExhaustedError(
                None, None, "{{function_node __wrapped__FlushSummaryWriter_device_/job:"
                            f"localhost/replica:0/task:0/device:CPU:0}}}} {events}; No space "
                            f"left on device\n\tFailed to flush 2 events to {events}")
        return real_flush(self)

    monkeypatch.setattr(writer_cls, "flush", flush)
    argv = ["--variant", "gan", "--output-dir", run,
            *sum((["--set", s] for s in SETS + ["train.epochs=2"]), [])]
    code, _, err = run_cli(train_main, capsys, *argv)
    assert code == 1 and err == (f"error: {events}; No space left on device\n"
                                 "(run with --debug for the full traceback)\n")
    monkeypatch.setattr(writer_cls, "flush", real_flush)
    assert load_run(run).epoch == 1


def test_a_full_disk_during_a_checkpoint_save_keeps_the_last_checkpoint(tmp_path, capsys,
                                                                         monkeypatch):
    run = tmp_path / "run"
    train(resolve_config("gan", sets=SETS), run, **QUIET)
    real_write = tf.train.Checkpoint._write

    def checkpoint_write(self, prefix, *args, **kwargs):
        # What TensorFlow raises for ENOSPC while writing a checkpoint's shards.
        raise tf.errors.ResourceExhaustedError(
            None, None, f"{prefix}_temp/part-00000-of-00001.data-00000-of-00001.tempstate1; "
                        "No space left on device")

    monkeypatch.setattr(tf.train.Checkpoint, "_write", checkpoint_write)
    argv = ["--variant", "gan", "--output-dir", run,
            *sum((["--set", s] for s in SETS + ["train.epochs=2"]), [])]
    code, _, err = run_cli(train_main, capsys, *argv)
    full = (f"{run}/checkpoints/ckpt-2_temp/part-00000-of-00001.data-00000-of-00001."
            "tempstate1; No space left on device")
    assert code == 1 and err == (
        f"error: cannot save checkpoint {run}/checkpoints/ckpt-2: ResourceExhaustedError: "
        f"{full}; the last saved checkpoint ({run}/checkpoints/ckpt-1) is kept, so fix that "
        "and run the same command again to resume\n"
        f"caused by: ResourceExhaustedError: {full}\n"
        "(run with --debug for the full traceback)\n")
    monkeypatch.setattr(tf.train.Checkpoint, "_write", real_write)
    assert load_run(run).epoch == 1 and listed_checkpoints(run) == ["ckpt-1"]


# -- damaged checkpoints ------------------------------------------------------------------------
def _variables(model):
    """Everything a checkpoint restores into `model`: weights and both optimizers."""
    return [*model.weights, *model.g_optimizer.variables, *model.d_optimizer.variables]


def test_a_truncated_newest_checkpoint_falls_back_to_the_older_one(straight, tmp_path,
                                                                   capsys, caplog):
    run = tmp_path / "run"
    shutil.copytree(straight, run)  # 4 epochs; checkpoints 2, 3 and 4 kept
    model = load_run(run, 3).model
    epoch_3 = [v.numpy() for v in _variables(model)]
    truncate_data(run, 4)

    # Whatever a failed restore may have assigned, the older checkpoint assigns it all again.
    for variable in _variables(model):
        variable.assign(tf.fill(variable.shape, tf.constant(7, variable.dtype)))
    assert Checkpointer(run / "checkpoints", model).restore() == 3
    for variable, want in zip(_variables(model), epoch_3, strict=True):
        np.testing.assert_array_equal(variable.numpy(), want, err_msg=variable.path)
    ckpt = run / "checkpoints"
    assert app_messages(caplog) == [
        (f"checkpoint {ckpt}/ckpt-4 does not restore (IndexError: Read less bytes than "
         "requested); trying the next older one"),
        f"restored the older checkpoint {ckpt}/ckpt-3 (epoch 3) instead"]

    # Resuming: epoch 4's history row is dropped and trained again, exactly as before.
    caplog.clear()
    result = train(resolve_config("gan", sets=SETS + ["train.epochs=4"]), run, **QUIET)
    assert result.initial_epoch == 3 and history_epochs(run) == [1, 2, 3, 4]
    assert f"{ckpt}/ckpt-4 does not restore" in app_messages(caplog)[0]
    assert_same_checkpoint(ckpt / "ckpt-4", straight / "checkpoints" / "ckpt-4")

    # An explicitly requested checkpoint that fails is an error, not a fallback.
    truncate_data(run, 4)
    capsys.readouterr()
    code, _, err = run_cli(export_main, capsys, "--run-dir", run, "--checkpoint", 4)
    assert code == 1 and err == (
        f"error: cannot restore checkpoint {ckpt}/ckpt-4: IndexError: Read less bytes than "
        "requested\ncaused by: IndexError: Read less bytes than requested\n"
        "(run with --debug for the full traceback)\n")

    # None restores: exit 1 listing each, with the root cause; --debug adds the traceback.
    for epoch in (2, 3):
        truncate_data(run, epoch)
    argv = ["--variant", "gan", "--output-dir", run,
            *sum((["--set", s] for s in SETS + ["train.epochs=5"]), [])]
    code, _, err = run_cli(train_main, capsys, *argv)
    reason = "IndexError: Read less bytes than requested"
    assert code == 1 and err == (
        f"WARNING: checkpoint {ckpt}/ckpt-4 does not restore ({reason}); trying the next "
        "older one\n"
        f"WARNING: checkpoint {ckpt}/ckpt-3 does not restore ({reason}); trying the next "
        "older one\n"
        f"WARNING: checkpoint {ckpt}/ckpt-2 does not restore ({reason})\n"
        f"error: no checkpoint in {ckpt} restores (tried {ckpt}/ckpt-4: {reason}; "
        f"{ckpt}/ckpt-3: {reason}; {ckpt}/ckpt-2: {reason}); move the directory away to "
        "start over, or restore its checkpoints from a backup\n"
        f"caused by: {reason}\n(run with --debug for the full traceback)\n")
    code, out, err = run_cli(train_main, capsys, *argv, "--debug")
    assert code == 1 and f"\nerror: no checkpoint in {ckpt} restores" in err
    assert "Traceback (most recent call last)" in err and "IndexError: Read less bytes" in err
    assert "The above exception was the direct cause of the following exception" in err
    assert err.rstrip().splitlines()[-1].startswith("tfgan_app.errors.RunFailure: no checkpoint")
    with pytest.raises(RunFailure, match="no checkpoint in .* restores"):
        load_run(run)

def test_a_listed_checkpoint_whose_files_are_gone_is_skipped(tmp_path, capsys):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    # A state file without timestamps, as older TensorFlow versions wrote it.
    (run / "checkpoints" / "checkpoint").write_text('model_checkpoint_path: "ckpt-1"\n'
                                                    'all_model_checkpoint_paths: "ckpt-1"\n')
    (run / "config.yaml").write_text(resolve_config("gan", sets=SETS).to_yaml())
    code, _, err = run_cli(export_main, capsys, "--run-dir", run)
    ckpt = run / "checkpoints" / "ckpt-1"
    assert code == 1 and err.startswith(f"WARNING: checkpoint {ckpt} does not restore "
                                        "(NotFoundError: ")
    assert f"\nerror: no checkpoint in {run}/checkpoints restores (tried {ckpt}: " \
           "NotFoundError: " in err
    assert ("\ncaused by: RuntimeError: Unsuccessful TensorSliceReader constructor: Failed to "
            f"find any matching files for {ckpt}\n") in err
    assert "Traceback" not in err


# -- in subprocesses: kills at the worst moments, two real writers ------------------------------
def test_sigkill_at_each_write_then_the_same_command_finishes_exactly(straight, tmp_path,
                                                                       capsys):
    run = tmp_path / "run"
    sets = ["train.keep_checkpoints=1", "train.export=true"]  # each save deletes the last
    old = dead_pid()
    plant_stale_lock(run, old)

    # 1. Killed while saving epoch 2's checkpoint: shards written, not merged.
    proc = start(run, 4, KILL_MID_CHECKPOINT, sets)
    code, out, err = finish(proc)
    assert code == -9, err
    assert f"WARNING: taking over the stale lock {run}/.lock of pid {old} on {HOST} since " \
           "2025-01-02T03:04:05+00:00 (python -m tfgan_app.train --variant gan)" in err
    assert (run / "checkpoints" / "ckpt-2_temp").is_dir()
    assert listed_checkpoints(run) == ["ckpt-1"]  # the older one, whole and still listed
    assert json.loads((run / ".lock").read_text())["pid"] == proc.pid

    # 2. Killed between writing epoch 3's history.csv and renaming it into place.
    killed, proc = proc.pid, start(run, 4, KILL_IN_HISTORY_WRITE, sets)
    code, out, err = finish(proc)
    assert code == -9, err
    assert f"taking over the stale lock {run}/.lock of pid {killed} on {HOST}" in err
    assert "removed 1 unfinished file(s) of an interrupted writer: checkpoints/ckpt-2_temp" \
        in err
    assert "resuming after epoch 1 of 4" in out
    assert (run / f".history.csv.tmp{proc.pid}").is_file()
    assert history_epochs(run) == [1, 2] and listed_checkpoints(run) == ["ckpt-2"]

    # 3. Killed after epoch 3's checkpoint is listed, before the older one is deleted.
    killed, proc = proc.pid, start(run, 4, KILL_BEFORE_OLD_CHECKPOINTS_GO, sets)
    code, out, err = finish(proc)
    assert code == -9, err
    assert f"of pid {killed} on {HOST}" in err and "resuming after epoch 2 of 4" in out
    assert f"interrupted writer: .history.csv.tmp{killed}" in err
    assert listed_checkpoints(run) == ["ckpt-2", "ckpt-3"]

    # 4. Killed during the export after the last epoch: the SavedModel is not in place.
    killed, proc = proc.pid, start(run, 4, KILL_IN_EXPORT, sets)
    code, out, err = finish(proc)
    assert code == -9, err
    assert f"of pid {killed} on {HOST}" in err and "resuming after epoch 3 of 4" in out
    assert (run / "export" / "gan" / f".tmp-4-{proc.pid}" / "saved_model.pb").is_file()
    assert not (run / "export" / "gan" / "4").exists()

    # 5. The same command once more: nothing left to train, the export is done.
    killed, proc = proc.pid, start(run, 4, "", sets)
    code, out, err = finish(proc)
    assert code == 0, err
    assert f"of pid {killed} on {HOST}" in err and f"export/gan/.tmp-4-{killed}" in err
    assert "already trained 4 of 4 epochs; nothing to do" in out and "exported SavedModel" in out

    assert history_epochs(run) == [1, 2, 3, 4]
    assert listed_checkpoints(run) == ["ckpt-4"]
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        "checkpoint", "ckpt-4.data-00000-of-00001", "ckpt-4.index"]
    assert leftovers(run) == []  # no temporary file, no lock
    assert_same_checkpoint(run / "checkpoints" / "ckpt-4", straight / "checkpoints" / "ckpt-4")
    export = run / "export"
    for name in ("gan/4/saved_model.pb", "gan/4/variables/variables.index",
                 "gan/4/assets.extra/tfgan_app.json", "gan.tflite", "gan_tflite.json",
                 "models.config"):
        assert (export / name).is_file(), name
    z = np.random.default_rng(0).standard_normal((5, 8)).astype(np.float32)
    served = tf.saved_model.load(str(export / "gan" / "4")).signatures["serving_default"](
        z=tf.constant(z))["points"].numpy()
    np.testing.assert_allclose(served, load_run(straight).model.generate(z), atol=1e-6)

    # Readers of exported files take no lock: they work while a writer holds the run.
    with runlock.hold(run):
        code, out, err = run_cli(evaluate_main, capsys, "--model", export / "gan" / "4",
                                 "--json", tmp_path / "eval.json")
    assert code == 0, err
    assert json.loads((tmp_path / "eval.json").read_text())["version"] == 4


def test_a_second_writer_is_refused_and_other_directories_train_concurrently(tmp_path,
                                                                             capsys):
    run = tmp_path / "run"
    marker = tmp_path / "marker"
    first = start(run, 1, WAIT_FOR_GO, env={"FAULTS_MARKER": str(marker)})
    deadline = time.time() + 240
    while not marker.with_suffix(".waiting").exists():
        assert first.poll() is None and time.time() < deadline, finish(first)
        time.sleep(0.1)
    # `first` holds run/.lock and waits in its first epoch's history write.
    second = start(run, 1)
    other = train(resolve_config("gan", sets=SETS), tmp_path / "other", **QUIET)
    assert other.epochs_done == 1  # a run in another directory is not affected
    code, out, err = finish(second)
    assert code == 2, err
    assert f"error: run directory {run} is in use by pid {first.pid} on {HOST} since " in err
    assert "-c ... --variant gan --output-dir" in err  # the holder's command
    assert "wait for it to finish or stop it, or use another directory" in err
    assert "Traceback" not in err and "resuming" not in out
    marker.with_suffix(".go").touch()
    code, out, err = finish(first)
    assert code == 0, err
    assert history_epochs(run) == [1] and leftovers(run) == []

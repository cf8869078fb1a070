"""Scaling out and speeding up: multi-worker training on loopback, SIGKILL resume,
mixed precision, XLA and steps-per-execution rules, strategy errors."""

import csv
import signal
import time

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import TINY, free_ports, run_cli, start_train, start_workers, wait_all

from tfgan_app import distribute, performance
from tfgan_app.config import resolve_config
from tfgan_app.errors import UsageError
from tfgan_app.train import main as train_main
from tfgan_app.training import load_run, train

QUIET = dict(verbose=0, echo=lambda _: None)


def history_epochs(run_dir):
    with open(run_dir / "history.csv", newline="") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


def generator_weights(run_dir):
    return [v.numpy() for v in load_run(run_dir).model.generator.weights]


# -- multi-worker ----------------------------------------------------------------------------
MULTI = TINY + ["train.epochs=2", "train.export=true"]


def test_two_workers_on_loopback_train_and_only_the_chief_writes(tmp_path):
    run = tmp_path / "run"
    procs = start_workers(run, MULTI, free_ports(2), tmp_path, "a")
    (code0, out0), (code1, out1) = wait_all(procs)
    assert code0 == 0, out0[-3000:]
    assert code1 == 0, out1[-3000:]
    assert "MultiWorkerMirroredStrategy with 2 replicas on 2 workers (this is worker 0" in out0
    assert "exported SavedModel" in out0 and "exported" not in out1
    assert (run / "export" / "gan" / "2" / "saved_model.pb").is_file()
    assert history_epochs(run) == [1, 2]
    assert sorted(p.name for p in (run / "samples").iterdir()) == [
        "epoch_0001.png", "epoch_0002.png"]
    # The other worker's checkpoints went to its temporary directory, deleted at the end.
    for _, _, scratch in procs:
        assert not list(scratch.iterdir())

    # Two workers with one replica each take the same steps as one device on the whole
    # global batch (losses over the global batch, latents drawn for the global batch).
    single = tmp_path / "single"
    train(resolve_config("gan", sets=MULTI + ["data.dataset=ring", "train.export=false"]),
          single, strategy=tf.distribute.get_strategy(), **QUIET)
    for a, b in zip(generator_weights(run), generator_weights(single)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_a_killed_multi_worker_job_resumes_from_the_last_finished_epoch(tmp_path):
    run = tmp_path / "run"
    sets = TINY + ["train.epochs=4", "data.toy_samples=4000", "data.max_examples=0",
                   "train.eval_every=0"]
    procs = start_workers(run, sets, free_ports(2), tmp_path, "a")
    deadline = time.time() + 240
    while not (run / "checkpoints" / "checkpoint").is_file() and time.time() < deadline:
        time.sleep(0.1)
    assert (run / "history.csv").is_file(), "the first epoch never finished"
    for proc, _, _ in procs:  # the whole job is preempted
        proc.send_signal(signal.SIGKILL)
    wait_all(procs)
    done = history_epochs(run)
    assert done and done[-1] < 4

    procs = start_workers(run, sets, free_ports(2), tmp_path, "b")
    (code0, out0), (code1, out1) = wait_all(procs)
    assert code0 == 0 and code1 == 0, out0[-3000:] + out1[-3000:]
    assert "resuming after epoch" in out0
    assert history_epochs(run) == [1, 2, 3, 4]


# -- fault tolerance on one machine ---------------------------------------------------------
def test_sigkill_mid_epoch_then_the_same_command_finishes_the_run_exactly(tmp_path):
    sets = TINY + ["train.epochs=3", "data.dataset=ring", "data.toy_samples=8000",
                   "data.max_examples=0", "train.eval_every=0"]
    args = ["--variant", "gan", "--output-dir", tmp_path / "run",
            *sum((["--set", s] for s in sets), [])]
    proc = start_train(args)
    run = tmp_path / "run"
    deadline = time.time() + 120
    while not (run / "checkpoints" / "checkpoint").is_file() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # into epoch 2 (1000 steps)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert history_epochs(run) == [1]

    proc = start_train(args)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out[-3000:]
    assert "resuming after epoch 1 of 3" in out
    assert history_epochs(run) == [1, 2, 3]  # no epoch repeated, none lost
    assert not list(run.rglob("*.tmp*"))  # no half-written file

    # Same weights as a run that was never interrupted.
    train(resolve_config("gan", sets=sets), tmp_path / "straight", **QUIET)
    for a, b in zip(generator_weights(run), generator_weights(tmp_path / "straight")):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# -- speed settings ---------------------------------------------------------------------------
def test_steps_per_execution_divides_the_epoch_and_changes_nothing(tmp_path):
    assert performance.resolve_steps_per_execution(8, 28) == 7
    assert performance.resolve_steps_per_execution(100, 28) == 28
    assert performance.resolve_steps_per_execution(5, 7) == 1
    base = TINY + ["train.epochs=2", "data.dataset=ring", "data.toy_samples=96",
                   "data.max_examples=96"]  # 12 steps
    train(resolve_config("gan", sets=base), tmp_path / "one", **QUIET)
    messages = []
    train(resolve_config("gan", sets=base + ["train.steps_per_execution=5"]),
          tmp_path / "many", verbose=0, echo=messages.append)
    assert "4 steps per execution (lowered from 5 to divide the 12 steps per epoch)" in \
        messages[0]
    assert history_epochs(tmp_path / "many") == [1, 2]
    for a, b in zip(generator_weights(tmp_path / "one"), generator_weights(tmp_path / "many")):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_auto_never_turns_xla_on_without_an_accelerator():
    assert performance.accelerators() == []
    assert performance.resolve_jit("auto") is False
    assert performance.resolve_jit("auto", distribute.mirrored()) is False
    assert performance.resolve_jit("on") is True and performance.resolve_jit("off") is False


def test_mixed_precision_is_bfloat16_on_cpu_with_float32_outputs_and_export(tmp_path):
    assert performance.resolve_precision("mixed") == "mixed_bfloat16"
    assert performance.resolve_precision("float32") == "float32"
    cfg = resolve_config("dcgan", sets=TINY + ["train.precision=mixed", "train.export=true"])
    messages = []
    result = train(cfg, tmp_path, verbose=0, echo=messages.append)
    assert "mixed_bfloat16" in messages[0]
    assert np.isfinite(result.history["d_loss"]).all()
    # The exported generator is float32 and matches the trained weights run in float32.
    assert result.export.saved_model_max_abs_error < 1e-6
    assert result.export.tflite_max_abs_error < 1e-4
    loaded = load_run(tmp_path)  # rebuilt in float32 from the checkpoint
    assert loaded.model.generator.dtype_policy.name == "float32"
    serve = tf.saved_model.load(str(result.export.saved_model)).signatures["serving_default"]
    z = np.random.default_rng(0).standard_normal((4, 8)).astype(np.float32)
    out = list(serve(z=tf.constant(z)).values())[0]
    assert out.dtype == tf.float32
    np.testing.assert_allclose(out, loaded.model.generate(z), atol=1e-5)
    assert keras.config.dtype_policy().name == "float32"  # restored after training


def test_mixed_precision_steps_stay_close_to_float32(tmp_path):
    """bfloat16 compute changes rounding, not the algorithm: one epoch's losses agree."""
    base = TINY + ["train.epochs=1"]
    a = train(resolve_config("wgan_gp", sets=base), tmp_path / "f32", **QUIET)
    b = train(resolve_config("wgan_gp", sets=base + ["train.precision=mixed"]),
              tmp_path / "bf16", **QUIET)
    for name in ("d_loss", "g_loss", "gradient_penalty"):
        np.testing.assert_allclose(b.history[name], a.history[name], rtol=0.1, atol=0.05)


def test_float16_trains_with_loss_scaling_and_its_checkpoints_restore_anywhere(tmp_path):
    """The GPU path (mixed_float16 + LossScaleOptimizer), run on the CPU."""
    cfg = resolve_config("gan", sets=TINY + ["data.dataset=ring",
                                             "train.precision=mixed_float16"])
    result = train(cfg, tmp_path, **QUIET)
    assert np.isfinite(result.history["g_loss"]).all()
    # The checkpoint holds the plain optimizers: a float32 rebuild restores it.
    loaded = load_run(tmp_path)
    assert loaded.epoch == 1 and int(loaded.model.g_optimizer.iterations) > 0
    resumed = train(resolve_config("gan", sets=TINY + ["data.dataset=ring",
                                                       "train.epochs=2"]), tmp_path, **QUIET)
    assert resumed.initial_epoch == 1 and history_epochs(tmp_path) == [1, 2]


# -- strategy errors ----------------------------------------------------------------------------
def test_multi_worker_without_tf_config_is_a_usage_error(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(UsageError, match="TF_CONFIG"):
        distribute.make_strategy("multi_worker")
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"worker": ["a:1"]}, "task": {"index": 3}}')
    with pytest.raises(UsageError, match="not a valid cluster description"):
        distribute.make_strategy("multi_worker")
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"worker": ["a:1"]}, '
                                    '"task": {"type": "worker", "index": 3}}')
    with pytest.raises(UsageError, match="worker:3 is not in its cluster"):
        distribute.make_strategy("multi_worker")


def test_no_reachable_tpu_is_a_clear_failure(capsys):
    start = time.perf_counter()
    code, _, err = run_cli(train_main, capsys, "--variant", "gan", "--strategy", "tpu")
    assert code == 1
    assert "no TPU reachable on this machine" in err and "--strategy auto" in err
    assert "Traceback" not in err
    assert time.perf_counter() - start < 60


def test_auto_strategy_on_this_machine_is_one_device(monkeypatch, caplog):
    monkeypatch.delenv("TPU_NAME", raising=False)
    assert distribute.auto_strategy_name() == "default"
    assert distribute.auto_strategy_name("grpc://10.0.0.2:8470") == "tpu"
    # A TPU guessed from device files that is not there: auto falls back, with a warning.
    monkeypatch.setattr(distribute, "local_tpu_present", lambda: True)
    assert distribute.auto_strategy_name() == "tpu"
    strategy = distribute.make_strategy("auto")
    assert distribute.strategy_name(strategy) == "default"
    assert "no TPU reachable" in caplog.text

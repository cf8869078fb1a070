import csv

import numpy as np
import pytest
import tensorflow as tf
import yaml
from helpers import run_cli, run_python, tiny_model
from PIL import Image

from tfgan_app import callbacks as cb
from tfgan_app.errors import UsageError
from tfgan_app.training import train
from tfgan_app.variants.dcgan import DCGAN


def read_history(run_dir):
    with open(run_dir / "history.csv", newline="") as f:
        return list(csv.DictReader(f))


def event_tags(log_dir):
    tags = set()
    for path in log_dir.glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            tags.update(v.tag for v in event.summary.value)
    return tags


def generator_weights(run_dir):
    """Weights of the newest checkpoint, restored into a fresh tiny dcgan."""
    model, _ = tiny_model("dcgan")
    cb.Checkpointer(run_dir / "checkpoints", model).restore()
    return [v.numpy() for v in model.generator.weights]


def test_a_run_writes_every_artifact(tiny_config, tmp_path):
    cfg = tiny_config("dcgan", "train.epochs=2")
    result = train(cfg, tmp_path / "run", verbose=0, echo=lambda _: None)
    run = tmp_path / "run"
    assert result.epochs_done == 2 and result.initial_epoch == 0
    assert yaml.safe_load((run / "config.yaml").read_text()) == cfg.to_dict()
    for epoch in (1, 2):
        grid = Image.open(run / "samples" / f"epoch_{epoch:04d}.png")
        # 8 x 8 grid of 16 px digits with 1 px gaps, upscaled to fit 512 px.
        assert grid.size == (137 * 3, 137 * 3) and grid.mode == "L"
    rows = read_history(run)
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert all(np.isfinite(float(r[k])) for r in rows for k in ("d_loss", "g_loss"))
    assert float(rows[0]["seconds"]) > 0
    # The last epoch is evaluated (train.eval_every=10): quality metrics in the same rows.
    assert rows[0]["eval/score"] == ""
    assert 1.0 <= float(rows[1]["eval/score"]) <= 10.0
    assert float(rows[1]["eval/real_score"]) > 5.0
    assert float(rows[1]["eval/frechet"]) > 0
    assert {"d_loss", "g_loss", "samples", "eval/score", "eval/frechet",
            "eval/kid"} <= event_tags(run / "logs")
    assert (run / "checkpoints" / "ckpt-2.index").is_file()
    assert result.history["d_loss"][-1] == pytest.approx(float(rows[-1]["d_loss"]), rel=1e-5)
    # Curves: losses on the left, eval/score (with the real data's line), frechet and kid
    # on the right; 2.2-inch panels.
    assert Image.open(run / "history.png").size == (1100, 660)

    (run / "history.png").unlink()
    code, out, err = run_python("-m", "tfgan_app.plot_history", run)
    assert code == 0, err
    assert out.strip() == str(run / "history.png")
    assert Image.open(run / "history.png").size == (1100, 660)


def test_plot_history_usage_errors(tmp_path, capsys):
    from tfgan_app.plot_history import main

    code, out, err = run_cli(main, capsys, tmp_path)
    assert code == 2 and not out
    assert err == f"error: {tmp_path / 'history.csv'} not found (is {tmp_path} a run " \
                  "directory?)\n"
    (tmp_path / "history.csv").write_text("epoch,d_loss\n")
    code, _, err = run_cli(main, capsys, tmp_path, "-o", tmp_path / "curves.png")
    assert code == 2 and f"error: cannot plot {tmp_path / 'history.csv'}: " in err
    assert "has no rows" in err and not (tmp_path / "curves.png").exists()


def test_resume_continues_exactly_where_it_stopped(tiny_config, tmp_path):
    quiet = dict(verbose=0, echo=lambda _: None)
    straight = tiny_config("dcgan", "train.epochs=3")
    train(straight, tmp_path / "straight", **quiet)

    train(tiny_config("dcgan", "train.epochs=2"), tmp_path / "resumed", **quiet)
    messages = []
    result = train(tiny_config("dcgan", "train.epochs=3"), tmp_path / "resumed",
                   verbose=0, echo=messages.append)
    assert result.initial_epoch == 2 and list(result.history) and \
        len(result.history["d_loss"]) == 1  # only epoch 3 ran
    assert any("resuming after epoch 2 of 3" in m for m in messages)
    assert [r["epoch"] for r in read_history(tmp_path / "resumed")] == ["1", "2", "3"]
    # Same data order, latents and optimizer state: identical weights to the straight run.
    for a, b in zip(generator_weights(tmp_path / "straight"),
                    generator_weights(tmp_path / "resumed")):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)

    messages.clear()
    again = train(tiny_config("dcgan", "train.epochs=3"), tmp_path / "resumed",
                  verbose=0, echo=messages.append)
    assert again.epochs_done == 3 and again.seconds == 0.0
    assert any("nothing to do" in m for m in messages)


def test_resume_with_both_stabilizers_is_exact(tiny_config, tmp_path):
    """The generator's moving average is checkpointed with its warm-up count, and
    DiffAugment's transforms come from (seed, step): 1 epoch + 1 resumed = 2 straight."""
    sets = ["train.g_ema=0.99", "train.diffaugment=color,translation,cutout",
            "train.eval_every=0"]
    quiet = dict(verbose=0, echo=lambda _: None)
    train(tiny_config("dcgan", *sets, "train.epochs=2"), tmp_path / "straight", **quiet)
    train(tiny_config("dcgan", *sets, "train.epochs=1"), tmp_path / "resumed", **quiet)
    result = train(tiny_config("dcgan", *sets, "train.epochs=2"), tmp_path / "resumed",
                   **quiet)
    assert result.initial_epoch == 1
    straight, resumed = [tiny_model("dcgan", *sets)[0] for _ in range(2)]
    cb.Checkpointer(tmp_path / "straight" / "checkpoints", straight).restore()
    cb.Checkpointer(tmp_path / "resumed" / "checkpoints", resumed).restore()
    assert int(resumed.g_optimizer.iterations) == 16  # 64 digits / 8 per batch, twice
    initial = tiny_model("dcgan", *sets)[0].ema_generator.weights
    for a, b, c in zip(straight.ema_generator.weights, resumed.ema_generator.weights, initial):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)
        assert not np.allclose(a.numpy(), c.numpy())  # restored, not left at the start
    for a, b in zip(straight.generator.weights, resumed.generator.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


def test_history_rows_past_the_checkpoint_are_dropped_on_resume(tiny_config, tmp_path):
    run = tmp_path / "run"
    train(tiny_config("dcgan", "train.epochs=1"), run, verbose=0, echo=lambda _: None)
    with open(run / "history.csv", "a") as f:  # a row written just before a crash
        f.write("2,0.5,9.0,9.0\n")
    train(tiny_config("dcgan", "train.epochs=2"), run, verbose=0, echo=lambda _: None)
    rows = read_history(run)
    assert [r["epoch"] for r in rows] == ["1", "2"] and rows[1]["d_loss"] != "9.0"


def test_resuming_with_a_different_config_is_refused(tiny_config, tmp_path):
    train(tiny_config("dcgan"), tmp_path, verbose=0, echo=lambda _: None)
    with pytest.raises(UsageError, match=r"model.latent_dim: 8 -> 12.*--output-dir"):
        train(tiny_config("dcgan", "model.latent_dim=12"), tmp_path, verbose=0,
              echo=lambda _: None)


def test_a_checkpoint_of_another_network_is_refused_clearly(tiny_config, tmp_path):
    """A began run from before model.architecture=began became its default: its config
    says auto, as a new run's does, but its checkpoint holds the DCGAN-shaped networks."""
    from tfgan_app.training import load_run

    train(tiny_config("began", "model.architecture=dcgan"), tmp_path, verbose=0,
          echo=lambda _: None)
    saved = yaml.safe_load((tmp_path / "config.yaml").read_text())
    saved["model"]["architecture"] = "auto"
    del saved["model"]["began_filters"]  # the key did not exist yet
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(saved, sort_keys=False))
    message = "this run was trained with another network .*use a new --output-dir"
    with pytest.raises(UsageError, match=message):  # a missing key means its code default
        # model.architecture=auto: the saved value (the digits' default is now dcgan)
        train(tiny_config("began", "model.architecture=auto", "model.began_filters=64",
                          "train.epochs=2"), tmp_path, verbose=0, echo=lambda _: None)
    with pytest.raises(UsageError, match=message):  # export, evaluate and sample load so
        load_run(tmp_path)
    # The way back for such a run (docs/variants.md): name its network in its config.
    saved["model"]["architecture"] = "dcgan"
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(saved, sort_keys=False))
    result = train(tiny_config("began", "model.architecture=dcgan", "model.began_filters=64",
                               "train.epochs=2"), tmp_path, verbose=0, echo=lambda _: None)
    assert result.initial_epoch == 1 and result.epochs_done == 2


def test_toy_data_gets_a_scatter_plot(tiny_config, tmp_path):
    train(tiny_config("gan", "data.dataset=grid"), tmp_path, verbose=0, echo=lambda _: None)
    plot = Image.open(tmp_path / "samples" / "epoch_0001.png")
    assert plot.size == (500, 500)
    assert len(read_history(tmp_path)) == 1


def test_a_nan_loss_stops_training_with_a_message_and_no_checkpoint(tiny_config, tmp_path):
    cfg = tiny_config("gan", "data.dataset=ring", "train.optimizer=sgd", "train.d_lr=1e30",
                      "train.g_lr=1e30", "train.epochs=2")
    with pytest.raises(cb.NonFiniteLoss, match=r"became (nan|inf) at epoch 1, step \d+"):
        train(cfg, tmp_path, verbose=0, echo=lambda _: None)
    assert not (tmp_path / "checkpoints" / "checkpoint").exists()
    assert not (tmp_path / "history.csv").exists()


def test_nan_guard_names_the_value():
    guard = cb.NaNGuard()
    guard.on_epoch_begin(4)
    guard.on_train_batch_end(0, {"d_loss": 1.0})
    with pytest.raises(cb.NonFiniteLoss, match="g_loss became nan at epoch 5, step 3"):
        guard.on_train_batch_end(2, {"d_loss": 1.0, "g_loss": float("nan")})


def test_model_config_round_trip(tiny_config):
    from tfgan_app.data import load_from_config

    cfg = tiny_config("dcgan", "dcgan.loss=minimax")
    model = DCGAN.from_run_config(cfg, load_from_config(cfg.data, seed=0))
    clone = DCGAN.from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    assert clone.options.loss == "minimax" and clone.latent_dim == 8
    assert clone.generator.output_shape == model.generator.output_shape == (None, 16, 16, 1)
    assert clone.discriminator.count_params() == model.discriminator.count_params()

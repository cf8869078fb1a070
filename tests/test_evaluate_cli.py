"""python -m tfgan_app.evaluate on runs and exports, in-training evaluation, its config."""

import json

import numpy as np
import pytest
import tensorflow as tf
from helpers import run_cli, train_tiny_runs
from PIL import Image

from tfgan_app import cli
from tfgan_app.evaluate import main
from tfgan_app.training import train

CASES = {  # name -> (variant, extra config)
    "conditional": ("cgan", ["train.epochs=2", "train.eval_every=1"]),
    "infogan": ("infogan", []),
    "toy": ("gan", ["data.dataset=ring", "train.eval_every=1", "train.epochs=2"]),
}


def evaluate(capsys, *argv):
    return run_cli(main, capsys, *argv)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return train_tiny_runs(tmp_path_factory, CASES)


def test_in_training_evaluation_every_epoch(runs):
    import csv

    with open(runs["conditional"] / "history.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:  # train.eval_every=1: both epochs
        assert 0.0 <= float(row["eval/label_accuracy"]) <= 1.0
        assert float(row["eval/score"]) >= 1.0 and float(row["eval/seconds"]) > 0
    with open(runs["toy"] / "history.csv", newline="") as f:
        toy_rows = list(csv.DictReader(f))
    assert {"eval/modes", "eval/hq", "eval/kl"} <= set(toy_rows[-1])
    assert 0 <= int(float(toy_rows[-1]["eval/modes"])) <= 8


def test_evaluate_a_conditional_run(runs, capsys):
    run = runs["conditional"]
    code, out, err = evaluate(capsys, "--run-dir", run, "--num-samples", "100")
    assert code == 0, err
    assert "label_accuracy" in out and "per-class label accuracy" in out
    result = json.loads((run / "eval" / "epoch_0002.json").read_text())
    metrics = result["metrics"]
    assert result["variant"] == "cgan" and result["epoch"] == 2
    assert result["num_samples"] == 100 and result["real_samples"] == 64
    assert 0 <= result["classifier_test_accuracy"] <= 1
    assert len(metrics["class_accuracy"]) == 10 and sum(metrics["class_histogram"]) == 100
    assert 1.0 <= metrics["score"] <= 10.0 and metrics["frechet"] > 0
    # The same seed draws the same samples: identical metrics.
    evaluate(capsys, "--run-dir", run, "--num-samples", "100", "--json", run / "again.json")
    assert json.loads((run / "again.json").read_text())["metrics"] == metrics
    assert Image.open(run / "history.png").size[0] == 1100


def test_several_draws_give_each_metric_mean_and_spread(runs, capsys, tmp_path):
    run = runs["conditional"]
    many, single = tmp_path / "draws.json", tmp_path / "seed2.json"
    code, out, err = evaluate(capsys, "--run-dir", run, "--num-samples", "100", "--seed", "1",
                              "--draws", "3", "--json", many)
    assert code == 0, err
    assert "3 draws of 100 samples (seeds 1-3)" in out and "frechet" in out and "+-" in out
    result = json.loads(many.read_text())
    assert [d["seed"] for d in result["draws"]] == [1, 2, 3] and result["seed"] == 1
    # Each draw is what one evaluation with that seed measures.
    evaluate(capsys, "--run-dir", run, "--num-samples", "100", "--seed", "2", "--json", single)
    assert result["draws"][1]["metrics"] == json.loads(single.read_text())["metrics"]
    scores = [d["metrics"]["score"] for d in result["draws"]]
    assert len(set(scores)) == 3  # different latents and labels
    assert result["metrics"]["score"] == pytest.approx(np.mean(scores))
    assert result["metrics_std"]["score"] == pytest.approx(np.std(scores, ddof=1))
    assert result["metrics_std"]["real_score"] == 0.0  # the same real reference each draw
    assert set(result["metrics"]) == set(result["metrics_std"]) >= {
        "score", "frechet", "kid", "label_accuracy"}  # per-class lists stay per draw


def test_evaluate_infogan_reports_code_agreement(runs, capsys):
    code, out, err = evaluate(capsys, "--run-dir", runs["infogan"], "--num-samples", "200")
    assert code == 0, err
    result = json.loads((runs["infogan"] / "eval" / "epoch_0001.json").read_text())
    assert 0.1 <= result["metrics"]["code_agreement"] <= 1.0
    assert sorted(result["metrics"]["code_to_class"]) == list(range(10))
    assert "category code -> class" in out


def test_evaluate_a_toy_run_writes_a_scatter(runs, capsys, tmp_path):
    out_json = tmp_path / "toy.json"
    code, out, err = evaluate(capsys, "--run-dir", runs["toy"], "--json", out_json)
    assert code == 0, err
    result = json.loads(out_json.read_text())
    assert result["num_samples"] == 2500  # the PacGAN protocol
    assert set(result["metrics"]) == {"modes", "hq", "kl"}
    assert Image.open(tmp_path / "toy_scatter.png").size == (500, 500)
    code, out, err = evaluate(capsys, "--run-dir", runs["toy"], "--draws", "2", "--json",
                              tmp_path / "toy2.json")
    assert code == 0, err
    result = json.loads((tmp_path / "toy2.json").read_text())
    assert set(result["metrics_std"]) == {"modes", "hq", "kl"}
    assert result["draws"][0]["metrics"]["hq"] == json.loads(out_json.read_text())[
        "metrics"]["hq"]  # the first draw is the single evaluation's
    assert (tmp_path / "toy2_scatter.png").is_file()


def test_evaluate_exports_in_every_format(runs, capsys, tmp_path):
    from tfgan_app.export.__main__ import main as export_main

    run = runs["conditional"]
    assert cli.run(export_main, ["--run-dir", str(run), "--quantize", "none,int8",
                                 "--output", str(tmp_path)]) == 0
    capsys.readouterr()
    results = {}
    for model in (tmp_path / "cgan" / "2", tmp_path / "cgan.tflite",
                  tmp_path / "cgan_int8.tflite"):
        code, out, err = evaluate(capsys, "--model", model, "--num-samples", "200",
                                  "--json", tmp_path / "model.json")
        assert code == 0, err
        got = json.loads((tmp_path / "model.json").read_text())
        # The export records its dataset by name: the whole of digits is the reference.
        assert got["variant"] == "cgan" and got["dataset"] == "digits"
        assert got["real_samples"] == 200
        results[model.name] = got["metrics"]
    saved_model, float32, int8 = results.values()
    for key in ("score", "frechet", "label_accuracy"):  # the same inputs: the same numbers
        assert float32[key] == pytest.approx(saved_model[key], rel=1e-3, abs=1e-3), key
    assert int8["score"] == pytest.approx(saved_model["score"], rel=0.05)
    assert int8["label_accuracy"] == pytest.approx(saved_model["label_accuracy"], abs=0.05)


@pytest.mark.parametrize("argv, message", [
    (["--run-dir", "/no/such/run"], "run directory /no/such/run does not exist"),
    (["--run-dir", "{run}", "--num-samples", "1"], "--num-samples must be at least 2"),
    (["--run-dir", "{run}", "--draws", "0"], "--draws must be at least 1"),
    (["--run-dir", "{run}", "--dataset", "digits"], "--dataset goes with --model"),
    (["--model", "{run}"], "not a tfgan_app export"),
    (["--model", "{run}/nothing.tflite"], "neither a SavedModel directory nor a .tflite"),
    (["--run-dir", "{run}", "--inception-weights", "/no/weights.h5"],
     "Inception-V3 weights file not found"),
    (["--run-dir", "{toy}", "--inception-weights", "/no/weights.h5"],
     "--inception-weights is for image data"),
])
def test_usage_errors_exit_2(runs, capsys, argv, message):
    argv = [a.format(run=runs["conditional"], toy=runs["toy"]) for a in argv]
    code, out, err = evaluate(capsys, *argv)
    assert code == 2 and err.startswith("error: ") and message in err, err
    assert "Traceback" not in err


def test_run_dir_and_model_are_exclusive(runs, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--run-dir", str(runs["toy"]), "--model", str(runs["toy"])])
    assert exit_info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_unlabeled_images_train_without_metrics(tiny_config, tmp_path, digits_npz):
    """No labels, no classifier: training says so once and logs no eval/ columns."""
    import csv

    bunch = np.load(digits_npz)
    np.savez(tmp_path / "unlabeled.npz", x=bunch["x"])
    messages = []
    train(tiny_config("dcgan", f"data.dataset=npz:{tmp_path / 'unlabeled.npz'}",
                      "data.image_size=16"), tmp_path / "run", verbose=0,
          echo=messages.append)
    assert any("no quality metrics during training" in m for m in messages)
    with open(tmp_path / "run" / "history.csv", newline="") as f:
        assert not any(k.startswith("eval/") for k in next(csv.DictReader(f)))


def test_dataset_config_deltas(tmp_path):
    from tfgan_app.config import resolve_config
    from tfgan_app.errors import ConfigError

    (tmp_path / "datasets").mkdir()
    (tmp_path / "gan.yaml").write_text("train: {epochs: 7, g_lr: 0.5}\n")
    (tmp_path / "datasets" / "ring.yaml").write_text(
        "train: {g_lr: 0.25}\nmodel: {latent_dim: 2}\n"
        "variants:\n  gan: {train: {d_lr: 0.125}}\n  wgan: {train: {d_lr: 9.0}}\n")
    ring = resolve_config("gan", flags={"data.dataset": "ring"}, config_dir=tmp_path)
    assert (ring.train.epochs, ring.train.g_lr, ring.train.d_lr, ring.model.latent_dim) == \
        (7, 0.25, 0.125, 2)
    via_set = resolve_config("gan", sets=["data.dataset=ring", "train.g_lr=1"],
                             config_dir=tmp_path)
    assert (via_set.train.g_lr, via_set.model.latent_dim) == (1.0, 2)  # --set still wins
    digits = resolve_config("gan", config_dir=tmp_path)
    assert (digits.train.g_lr, digits.model.latent_dim) == (0.5, 64)
    (tmp_path / "datasets" / "grid.yaml").write_text("variants:\n  nogan: {}\n")
    with pytest.raises(ConfigError, match="unknown variant"):
        resolve_config("gan", flags={"data.dataset": "grid"}, config_dir=tmp_path)


def test_linear_lr_decay_reaches_zero_at_the_last_epoch(tiny_config, tmp_path):
    from tfgan_app.plan import local_plan
    from tfgan_app.training import build_model, load_data

    cfg = tiny_config("gan", "data.dataset=ring", "train.lr_decay=linear", "train.epochs=4",
                      "train.g_lr=0.01")
    data, _ = load_data(cfg)
    model = build_model(cfg, data, local_plan(cfg.train, data))
    schedule = model.g_optimizer._learning_rate
    steps = 4 * (64 // 8)
    assert float(schedule(0)) == pytest.approx(0.01)
    assert float(schedule(steps // 2)) == pytest.approx(0.005)
    assert float(schedule(steps)) == pytest.approx(0.0)


def test_lr_decay_start_holds_the_rate_then_decays_to_zero(tiny_config):
    from tfgan_app.errors import ConfigError
    from tfgan_app.plan import local_plan, make_plan
    from tfgan_app.training import build_model, load_data

    cfg = tiny_config("gan", "data.dataset=ring", "train.lr_decay=linear", "train.epochs=4",
                      "train.g_lr=0.01", "train.lr_decay_start=0.5")
    data, _ = load_data(cfg)
    model = build_model(cfg, data, local_plan(cfg.train, data))
    schedule = model.g_optimizer._learning_rate
    steps = 4 * (64 // 8)  # constant for the first 16, then linear to 0 over the last 16
    assert [float(schedule(s)) for s in (0, 15, 16, 24, steps)] == pytest.approx(
        [0.01, 0.01, 0.01, 0.005, 0.0])
    with pytest.raises(ConfigError, match="train.lr_decay_start=0.5 delays a linear"):
        make_plan(tiny_config("gan", "train.lr_decay_start=0.5").train, data,
                  strategy=tf.distribute.get_strategy())


def test_step_lr_decay_halves_both_rates_every_lr_step_epochs(tiny_config):
    from tfgan_app.errors import ConfigError
    from tfgan_app.plan import local_plan, make_plan
    from tfgan_app.training import build_model, load_data

    # wgan_gp: 5 critic updates per generator update; both halve every 2 epochs of 8 steps.
    cfg = tiny_config("wgan_gp", "data.dataset=ring", "train.lr_decay=step",
                      "train.lr_step_epochs=2", "train.epochs=6", "train.g_lr=0.01",
                      "train.d_lr=0.02", "wgan_gp.fresh_batches=false")
    data, _ = load_data(cfg)
    model = build_model(cfg, data, local_plan(cfg.train, data))
    g, d = model.g_optimizer._learning_rate, model.d_optimizer._learning_rate
    assert [float(g(s)) for s in (0, 15, 16, 32, 47)] == pytest.approx(
        [0.01, 0.01, 0.005, 0.0025, 0.0025])
    assert [float(d(s)) for s in (0, 79, 80, 160)] == pytest.approx([0.02, 0.02, 0.01, 0.005])
    bad = tiny_config("gan", "train.lr_decay=step")
    with pytest.raises(ConfigError, match="train.lr_decay=step needs train.lr_step_epochs"):
        make_plan(bad.train, data, strategy=tf.distribute.get_strategy())


def test_runs_from_before_new_keys_still_resume(tiny_config, tmp_path):
    """A run whose config.yaml predates a key (e.g. train.lr_decay) resumes."""
    import yaml

    quiet = dict(verbose=0, echo=lambda _: None)
    train(tiny_config("gan"), tmp_path, **quiet)  # the removed keys have their defaults
    saved = yaml.safe_load((tmp_path / "config.yaml").read_text())
    for key in ("lr_decay", "eval_every", "eval_samples"):
        del saved["train"][key]
    del saved["model"]["pack"]
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(saved))
    result = train(tiny_config("gan", "train.epochs=2"), tmp_path, **quiet)
    assert result.initial_epoch == 1 and result.epochs_done == 2


def test_a_gauss1d_run_plots_densities_every_epoch_and_logs_the_1d_metrics(capsys, tmp_path):
    """Through the training command: a density plot per epoch, the 1-D metrics in
    history.csv, and the same metrics from the evaluate command on the last checkpoint."""
    import csv

    from helpers import TINY

    from tfgan_app.train import main as train_main

    run = tmp_path / "run"
    sets = [a for s in TINY + ["train.epochs=2", "train.eval_every=1"] for a in ("--set", s)]
    code, out, err = run_cli(train_main, capsys, "--variant", "gan", "--dataset", "gauss1d",
                             "--output-dir", run, *sets)
    assert code == 0, err
    assert "gan on gauss1d (64 examples, 1)" in out
    for epoch in (1, 2):
        with Image.open(run / "samples" / f"epoch_{epoch:04d}.png") as image:
            assert image.format == "PNG" and image.size == (750, 520)
            image.verify()
    with open(run / "history.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2
    for row in rows:  # train.eval_every=1: both epochs
        values = {k: float(row[f"eval/{k}"]) for k in ("mean", "std", "w1", "ks")}
        assert all(np.isfinite(v) for v in values.values())
        assert values["std"] > 0 and values["w1"] > 0 and 0 < values["ks"] <= 1
    # The evaluate command draws the same 200 samples from the same seed (train.seed 0).
    code, out, err = evaluate(capsys, "--run-dir", run, "--num-samples", "200")
    assert code == 0, err
    metrics = json.loads((run / "eval" / "epoch_0002.json").read_text())["metrics"]
    assert metrics == {k: pytest.approx(float(rows[-1][f"eval/{k}"]), rel=1e-6)
                       for k in ("mean", "std", "w1", "ks")}
    assert "Wasserstein-1 distance" in out
    with Image.open(run / "eval" / "epoch_0002_density.png") as image:
        assert image.format == "PNG"

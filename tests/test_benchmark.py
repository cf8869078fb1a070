"""python -m tfgan_app.benchmark: timing output, the JSON summary; tools/benchmark_baseline.py."""

import json

import pytest
from helpers import load_tool, run_cli

from tfgan_app import networks, registry
from tfgan_app.benchmark import main
from tfgan_app.config import resolve_config
from tfgan_app.errors import ConfigError
from tfgan_app.training import load_data

SMALL = ["--set", "model.g_filters=8", "--set", "model.d_filters=8",
         "--set", "model.latent_dim=8"]


def last_json(out):
    return json.loads(out.strip().splitlines()[-1])


def test_the_last_line_is_a_json_summary_of_real_timings(capsys):
    code, out, err = run_cli(main, capsys, "--variant", "dcgan", "--batch-size", 8,
                             "--steps", 4, "--warmup", 1, *SMALL)
    assert code == 0, err
    summary = last_json(out)
    assert summary["variant"] == "dcgan" and summary["batch_size"] == 8
    assert summary["steps"] == 4 and summary["precision"] == "float32"
    assert summary["jit"] is False and summary["strategy"] == "default"
    assert summary["step_ms"] > 0
    assert summary["images_per_sec"] == pytest.approx(8 / (summary["step_ms"] / 1e3),
                                                      rel=0.01)
    assert summary["flops_per_step"] > 1e6
    assert 0 < summary["peak_fraction"] < 1.5 and summary["peak_gflop_per_sec"] > 1
    assert summary["input_batches_per_sec"] > 0
    assert sum(line.startswith("step ") for line in out.splitlines()) == 4


def test_steps_per_execution_and_mixed_precision_are_reported(capsys):
    code, out, err = run_cli(main, capsys, "--variant", "gan", "--dataset", "ring",
                             "--batch-size", 8, "--steps", 6, "--steps-per-execution", 3,
                             "--mixed-precision", "--set", "model.mlp_units=16")
    assert code == 0, err
    summary = last_json(out)
    assert summary["steps_per_execution"] == 3 and summary["steps"] == 6
    assert summary["precision"] == "mixed_bfloat16" and summary["peak_dtype"] == "bfloat16"


def test_the_kerasio_baseline_and_the_app_count_the_same_work(capsys):
    results = {}
    timing = ["--batch-size", 4, "--steps", 1, "--warmup", 1]
    for name, command, args in [
            ("baseline", load_tool("benchmark_baseline").main, timing),
            ("app", main, ["--variant", "wgan_gp", "--preset", "kerasio", *timing])]:
        code, out, err = run_cli(command, capsys, *args)
        assert code == 0, err
        results[name] = last_json(out)
    baseline, app = results["baseline"], results["app"]
    assert baseline["variant"] == "kerasio_wgan_gp_baseline" and app["variant"] == "wgan_gp"
    assert set(baseline) == set(app)  # the same JSON summary
    assert baseline["image_shape"] == app["image_shape"] == [28, 28, 1]
    # Same networks, 3 critic steps each: the op counts agree to within the bookkeeping.
    assert app["flops_per_step"] == pytest.approx(baseline["flops_per_step"], rel=0.2)


@pytest.mark.parametrize("argv, message", [
    (["--batch-size", "8"], "--variant is required"),
    (["--variant", "dcgan", "--steps", "0"], "--steps must be >= 1"),
    (["--config", "missing.yaml"], "config file not found: missing.yaml"),
])
def test_bad_usage_exits_2(capsys, argv, message):
    code, _, err = run_cli(main, capsys, *argv)
    assert code == 2 and message in err


def test_the_baseline_refuses_several_replicas(capsys):
    code, _, err = run_cli(load_tool("benchmark_baseline").main, capsys, "--strategy",
                           "mirrored", "--batch-size", 4, "--steps", 1)
    assert code == 2 and err.startswith("error: ")
    assert "the baseline runs on one device only" in err and "not 2 replicas" in err


def test_the_baseline_is_no_longer_a_benchmark_flag(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--baseline"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments: --baseline" in capsys.readouterr().err


def test_kerasio_networks_are_the_example_shapes():
    cfg = resolve_config("wgan_gp", sets=["model.architecture=kerasio", "data.image_size=28",
                                          "model.latent_dim=128"])
    data, variant = load_data(cfg)
    model = variant.from_run_config(cfg, data)
    assert model.generator.output_shape == (None, 28, 28, 1)
    assert model.generator.count_params() == 910_660  # the example's model summary
    assert model.discriminator.count_params() == 4_305_408  # its critic, minus a bias
    small = resolve_config("wgan_gp", sets=["model.architecture=kerasio"])
    with pytest.raises(ConfigError, match="needs 28x28 images"):
        networks.build_pair(small.model, load_data(small)[0], 0)


def test_the_quality_benchmark_tabulates_every_registered_variant(tmp_path, capsys):
    quality = load_tool("benchmark_quality")
    metrics = {"score": 6.0, "real_score": 8.0, "frechet": 20.0, "kid": 0.5}
    records = [{"variant": "gan", "dataset": "digits", "seed": 0, "metrics": metrics,
                "train_seconds": 12.0}]
    rows = {line.split("|")[1].strip(" `"): line for line in quality.digits_table(records)
            if line.startswith("| `")}
    assert sorted(rows) == registry.variant_names()
    assert "| `gan` | 1 | 6.00 | 75.0 | 20.0 | 0.50 |" in rows["gan"]
    assert "not run yet" in rows["wgan_gp"]
    with pytest.raises(SystemExit) as exit_info:
        quality.main(["--variants", "gan,stylegan", "--out", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "unknown variants: stylegan" in capsys.readouterr().err

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
    assert model.discriminator.count_params() == 4_305_409  # its critic
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
    assert sorted(rows) == registry.variant_names(family="noise")
    assert "| `gan` | 1 | 6.00 | 75.0 | 20.0 | 0.50 |" in rows["gan"]
    assert "not run yet" in rows["wgan_gp"]
    with pytest.raises(SystemExit) as exit_info:
        quality.main(["--variants", "gan,stylegan", "--out", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "unknown variants: stylegan" in capsys.readouterr().err


def test_stabilizer_arms_apply_where_the_app_accepts_them():
    quality = load_tool("benchmark_quality")
    # The app's own ConfigError decides, as a training run would raise it.
    assert quality.arm_problem("gan", "digits", "hinge") is None
    assert "unknown config key 'wgan.loss'" in quality.arm_problem("wgan", "digits", "hinge")
    assert quality.arm_problem("dcgan", "digits", "r1") is None
    assert "began.r1_weight is not supported by began" in \
        quality.arm_problem("began", "digits", "r1")
    assert "model.spectral_norm is not supported by ebgan" in \
        quality.arm_problem("ebgan", "digits", "sn")
    assert quality.arm_problem("dcgan", "digits", "diffaug") is None
    assert "but ring is 2-D points" in quality.arm_problem("gan", "ring", "diffaug")
    # configs/datasets/ring.yaml gives gan minibatch std, which R1 refuses; the benchmark's
    # own overrides count.
    assert "model.minibatch_std=4 is not supported by gan with its R1 penalty" in \
        quality.arm_problem("gan", "ring", "r1")
    assert quality.arm_problem("gan", "ring", "r1", ["model.minibatch_std=0"]) is None
    assert quality.arm_problem("gan", "ring", "ema", ["train.g_ema=0.999"]) == "same as base"

    jobs, skipped = quality.plan_jobs(["ring"], ["gan", "dcgan", "wgan"],
                                      ["base", "hinge", "diffaug"], {"ring": [0, 1]}, [])
    assert jobs == [("gan", "ring", "base", 0), ("wgan", "ring", "base", 0),
                    ("gan", "ring", "hinge", 0),
                    ("gan", "ring", "base", 1), ("wgan", "ring", "base", 1),
                    ("gan", "ring", "hinge", 1)]  # dcgan is gan on points
    assert [line.split(":")[0] for line in skipped] == [
        "ring wgan hinge", "ring gan diffaug", "ring wgan diffaug"]


def finished_run(run_dir, metrics: dict, epochs: int = 2):
    """A run directory as the training command leaves it: config.yaml and history.csv,
    two epochs of 1 and 3 seconds, `metrics` evaluated at the last (if it is `epochs`)."""
    run_dir.mkdir(parents=True)
    (run_dir / "config.yaml").write_text(f"variant: gan\ntrain:\n  epochs: {epochs}\n")
    names = [f"eval/{k}" for k in metrics]
    (run_dir / "history.csv").write_text(
        "epoch,seconds,d_loss,g_loss," + ",".join(names) + "\n" +
        "1,1.0,1.2,0.7" + "," * len(names) + "\n" +
        "2,3.0,1.1,0.8," + ",".join(str(v) for v in metrics.values()) + "\n")


def test_arm_runs_have_their_own_directories_and_are_found_beside_base_runs(tmp_path):
    quality = load_tool("benchmark_quality")
    out = tmp_path / "out"
    assert quality.run_dir_of(out, "ring", "gan", "base", 0) == out / "ring" / "gan" / "seed_0"
    assert quality.run_dir_of(out, "ring", "gan", "sn", 1) == \
        out / "ring" / "gan" / "sn" / "seed_1"
    command = quality.train_command("gan", "ring", "hinge", 0, out, ["train.epochs=1"])
    assert command[command.index("--output-dir") + 1] == str(out / "ring/gan/hinge/seed_0")
    assert command[-4:] == ["--set", "train.epochs=1", "--set", "gan.loss=hinge"]
    assert quality.train_command("gan", "ring", "sn", 0, out, [])[-4:] == [
        "--set", "model.spectral_norm=true", "--set", "model.d_norm=none"]

    toy = {"modes": 8, "hq": 0.97, "kl": 0.02}
    finished_run(out / "ring/gan/seed_0", toy)
    finished_run(out / "ring/gan/sn/seed_0", toy)
    finished_run(out / "digits/dcgan/diffaug/seed_2", {"score": 8.2, "real_score": 9.9})
    finished_run(out / "ring/gan/ema/seed_0", toy, epochs=5)  # still training
    finished_run(out / "ring/gan/stylegan/seed_0", toy)  # no such arm
    finished_run(out / "ring/gan/base/seed_0", toy)  # base runs are not under base/
    found = [(r["dataset"], r["variant"], r["arm"], r["seed"], r["run_dir"])
             for r in quality.existing_runs(out)]
    assert sorted(found) == [
        ("digits", "dcgan", "diffaug", 2, str(out / "digits/dcgan/diffaug/seed_2")),
        ("ring", "gan", "base", 0, str(out / "ring/gan/seed_0")),
        ("ring", "gan", "sn", 0, str(out / "ring/gan/sn/seed_0"))]


def test_the_stabilizer_tables_show_each_arm_against_its_variants_base(tmp_path, capsys):
    quality = load_tool("benchmark_quality")
    out = tmp_path / "out"
    finished_run(out / "ring/gan/seed_0", {"modes": 8, "hq": 0.97, "kl": 0.02})
    finished_run(out / "ring/gan/seed_1", {"modes": 6, "hq": 0.91, "kl": 0.10})
    finished_run(out / "ring/gan/sn/seed_0", {"modes": 8, "hq": 0.95, "kl": 0.03})
    finished_run(out / "ring/gan/sn/seed_1", {"modes": 8, "hq": 0.93, "kl": 0.01})
    finished_run(out / "ring/lsgan/sn/seed_0", {"modes": 8, "hq": 0.99, "kl": 0.01})
    digits = {"real_score": 9.9, "score": 8.2, "frechet": 7.8, "kid": 1.25}
    finished_run(out / "digits/dcgan/seed_0", digits)
    finished_run(out / "digits/dcgan/hinge/seed_0",
                 {**digits, "score": 8.61, "frechet": 5.2, "kid": 0.91})
    assert quality.main(["--report-only", "--out", str(out), "--no-page"]) == 0
    text = (out / "results.md").read_text()
    assert text in capsys.readouterr().out
    ring_main, ring_arms = text.split("**ring**")[1].split("**ring with stabilizers**")
    # The main tables hold base runs only.
    assert "| `gan` | 2/2 | 7.0 ± 1.4 | 94.0 ± 4.2 | 0.06 ± 0.06 | 6 ± 0 s |" in ring_main
    assert "| `lsgan` | 0 | not run yet | | | |" in ring_main
    assert "| `dcgan` | 1 | 8.20 | 82.8 | 7.8 | 1.25 | - | - | 6 s |" in text
    # Seeds 0 and 1 of sn against seeds 0 and 1 of base: the change of each mean.
    assert ring_arms.split("\n\n")[1].splitlines() == [
        "| variant | arm | seeds | modes | high-quality % | reverse KL | time per run |",
        "|---|---|---|---|---|---|---|",
        "| `gan` | base | 2/2 | 7.0 ± 1.4 | 94.0 ± 4.2 | 0.06 ± 0.06 | 6 ± 0 s |",
        "| `gan` | sn | 2/2 | 8.0 ± 0.0 (+1.0) | 94.0 ± 1.4 (+0.0) | 0.02 ± 0.01 (-0.04) | "
        "6 ± 0 s |",
        "| `lsgan` | base | 0 | not run yet | | | |",  # no base run, so no change shown
        "| `lsgan` | sn | 1/1 | 8.0 | 99.0 | 0.01 | 6 s |"]
    assert "**grid" not in text
    digits_arms = text.split("**digits with stabilizers**")[1].split("\n\n")[1].splitlines()
    assert digits_arms[0] == "| variant | arm | seeds | classifier score | Frechet | KID | " \
        "time per run |"
    assert digits_arms[2:] == ["| `dcgan` | base | 1/1 | 8.20 | 7.8 | 1.25 | 6 s |",
                               "| `dcgan` | hinge | 1/1 | 8.61 (+0.41) | 5.2 (-2.6) | "
                               "0.91 (-0.34) | 6 s |"]
    assert text.rstrip().endswith(
        "Arms (overrides on top of each variant's defaults): `sn`: `model.spectral_norm=true "
        "model.d_norm=none`; `hinge`: `<variant>.loss=hinge`.")
    results = json.loads((out / "results.json").read_text())
    assert sorted({r["arm"] for r in results}) == ["base", "hinge", "sn"]


def test_unknown_arms_are_refused(tmp_path, capsys):
    quality = load_tool("benchmark_quality")
    with pytest.raises(SystemExit) as exit_info:
        quality.main(["--arms", "base,dropout", "--out", str(tmp_path), "--no-page"])
    assert exit_info.value.code == 2
    assert "unknown arms: dropout; choose from base, sn, hinge, r1, ema, diffaug" in \
        capsys.readouterr().err

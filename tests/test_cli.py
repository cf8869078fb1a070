import pytest
import yaml
from helpers import ROOT, TINY, run_cli, run_python

from tfgan_app import cli
from tfgan_app.train import build_parser, main


@pytest.mark.parametrize("argv, message", [
    (["--variant", "stylegan"], "unknown variant 'stylegan'; valid variants: acgan, began, "
         "cgan, cyclegan, dcgan, dragan, ebgan, gan, infogan, inpaint, lsgan, pix2pix, srgan, "
         "wgan, wgan_gp"),
    (["--variant", "gan", "--set", "train.epoch=3"], "unknown config key 'train.epoch'"),
    (["--variant", "gan", "--epochs", "0"], "'train.epochs' must be >= 1; got 0"),
    (["--variant", "gan", "--dataset", "npz:/no/such.npz"], "npz file not found: /no/such.npz"),
    (["--variant", "gan", "--dataset", "mnist"], "unknown dataset spec 'mnist'"),
    (["--variant", "gan", "--config", "missing.yaml"], "config file not found: missing.yaml"),
    ([], "--variant is required"),
])
def test_usage_errors_exit_2_with_one_message(capsys, tmp_path, argv, message):
    code, out, err = run_cli(main, capsys, *argv, "--output-dir", str(tmp_path / "run"))
    assert code == 2
    assert err.startswith("error: ") and message in err
    assert "Traceback" not in err


def test_an_unwritable_output_dir_is_a_usage_error(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    code, _, err = run_cli(main, capsys, "--variant", "gan", "--dataset", "ring",
                                 "--output-dir", str(blocker / "run"), "--set",
                           "train.epochs=1")
    assert code == 2 and err == (f"error: run directory {blocker / 'run'} cannot be created: "
                                 f"{blocker} is a file, not a directory\n")


def test_a_corrupt_saved_config_is_reported(capsys, tmp_path):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "checkpoint").write_text("")
    (run / "config.yaml").write_text("data: [unclosed\n")
    code, _, err = run_cli(main, capsys, "--variant", "gan", "--output-dir", str(run))
    assert code == 2 and "config.yaml is not a valid run config" in err


def test_argparse_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.run(main, ["--variant", "gan", "--strategy", "warp"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'warp'" in capsys.readouterr().err


def test_help_lists_every_variant_and_dataset(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.run(main, ["--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0
    for word in ("dcgan", "gan", "digits", "ring", "grid", "tfds:NAME[:SPLIT]", "folder:PATH",
                 "npz:PATH", "--set KEY=VALUE", "--mixed-precision", "--jit", "--tpu ADDRESS",
                 "--strategy {auto,default,mirrored,multi_worker,tpu}"):
        assert word in out


def test_train_and_benchmark_read_the_run_flags_alike():
    from tfgan_app import benchmark

    argv = ["--variant", "gan", "--config", "c.yaml", "--dataset", "ring", "--batch-size", "16",
            "--strategy", "mirrored", "--tpu", "node-1", "--mixed-precision", "--jit",
            "--steps-per-execution", "4", "--seed", "3", "--set", "gan.d_steps=2"]
    want = {"data.dataset": "ring", "train.batch_size": 16, "train.strategy": "mirrored",
            "train.tpu": "node-1", "train.seed": 3, "train.precision": "mixed",
            "train.jit": "on", "train.steps_per_execution": 4}
    for parser in (build_parser(), benchmark.build_parser()):
        args = parser.parse_args(argv)
        assert cli.run_flags(args) == want
        assert (args.variant, args.config, args.sets) == ("gan", "c.yaml", ["gan.d_steps=2"])
    unset = cli.run_flags(build_parser().parse_args(["--variant", "gan"]))
    assert unset == dict.fromkeys(want)  # config files and defaults decide


def test_print_config_shows_every_resolved_key(capsys, tmp_path):
    code, out, _ = run_cli(main, capsys, "--variant", "dcgan", "--epochs", "7", "--set",
                           "dcgan.loss=minimax", "--print-config")
    cfg = yaml.safe_load(out)
    assert code == 0 and cfg["variant"] == "dcgan"
    assert cfg["train"]["epochs"] == 7 and cfg["train"]["d_lr"] == 2.5e-5  # configs/dcgan.yaml
    assert cfg["dcgan"] == {"d_steps": 1, "fresh_batches": True, "r1_weight": 0.0,
                            "loss": "minimax", "label_smoothing": 0.0,
                            "feature_matching": False}
    assert set(cfg) == {"variant", "data", "model", "train", "dcgan"}


def test_variant_can_come_from_the_config_file(capsys, tmp_path, digits_npz):
    config = tmp_path / "c.yaml"
    config.write_text(f"variant: dcgan\ndata:\n  dataset: npz:{digits_npz}\n  image_size: 16\n")
    sets = [a for s in TINY for a in ("--set", s)]
    code, out, err = run_cli(main, capsys, "--config", str(config), "--output-dir",
                             str(tmp_path / "run"), *sets)
    assert code == 0, err
    assert "dcgan on npz:digits.npz (40 examples, 16x16x1, 10 classes)" in out
    assert (tmp_path / "run" / "samples" / "epoch_0001.png").is_file()


def test_the_entry_point_trains_into_the_default_run_dir(tmp_path):
    sets = [a for s in TINY for a in ("--set", s)]
    code, out, err = run_python("-m", "tfgan_app.train", "--variant", "dcgan", "--epochs", 1,
                                *sets, cwd=tmp_path)
    assert code == 0, err
    run = tmp_path / "runs" / "dcgan"
    for name in ("config.yaml", "history.csv", "samples/epoch_0001.png",
                 "checkpoints/checkpoint"):
        assert (run / name).exists(), name
    assert "trained epochs 1-1" in out


def test_the_entry_point_reports_bad_config_without_a_traceback(tmp_path):
    code, _, err = run_python("-m", "tfgan_app.train", "--variant", "dcgan", "--set",
                              "model.architecture=resnet", cwd=tmp_path)
    assert code == 2
    assert "error: config key 'model.architecture' must be one of auto, mlp, dcgan" in err
    assert "Traceback" not in err
    assert not (tmp_path / "runs").exists()


def test_setup_installs_every_user_command():
    import importlib
    import re

    scripts = dict(re.findall(r'"(tfgan-[\w-]+)=([\w.]+):console_main"',
                              (ROOT / "setup.py").read_text()))
    assert scripts == {
        "tfgan-train": "tfgan_app.train", "tfgan-export": "tfgan_app.export.__main__",
        "tfgan-evaluate": "tfgan_app.evaluate", "tfgan-benchmark": "tfgan_app.benchmark",
        "tfgan-sample": "tfgan_app.sample", "tfgan-serving-request": "tfgan_app.serving_request",
        "tfgan-plot-history": "tfgan_app.plot_history", "tfgan-convert": "tfgan_app.convert",
        "tfgan-complete": "tfgan_app.complete"}
    for module in scripts.values():
        assert callable(importlib.import_module(module).console_main), module

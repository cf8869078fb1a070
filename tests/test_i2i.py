"""Image-to-image (pix2pix on edges2digits): train -> evaluate -> export from the command
line, the grid of input | output | target, the serving contract for images, and the
refusals of data of the other family."""

import json

import numpy as np
import pytest
import tensorflow as tf
from helpers import TINY, run_cli, set_flags, train_with_cli
from PIL import Image

from tfgan_app import evaluate, sample, train
from tfgan_app.export.__main__ import main as export_main

# The whole dataset (evaluate --model reads the export's dataset as it is), 8 steps an epoch.
SETS = [*TINY, "train.eval_every=1", "train.export=true", "train.eval_samples=64",
        "data.max_examples=0", "train.steps_per_epoch=8"]


def sets(*items):
    return set_flags(*SETS, *items)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A tiny pix2pix trained for 2 epochs by the CLI, evaluated and exported in training."""
    return train_with_cli(tmp_path_factory.mktemp("pix2pix"), "pix2pix", *SETS, "train.epochs=2")


def test_the_grid_is_rows_of_input_output_target(run_dir):
    grid = run_dir / "samples" / "epoch_0002.png"
    with Image.open(grid) as image:
        width, height = image.size
    # 8 examples x 3 columns of 16 px tiles with 1 px gaps: 52 x 137, upscaled x3.
    assert (width, height) == (52 * 3, 137 * 3)
    pixels = np.asarray(Image.open(grid))[::3, ::3]
    tile = lambda r, c: pixels[1 + 17 * r:17 + 17 * r, 1 + 17 * c:17 + 17 * c]  # noqa: E731
    # edges (input) differ from the digit (target); both come from the data
    assert not np.array_equal(tile(0, 0), tile(0, 2))
    assert not np.array_equal(tile(0, 2), tile(1, 2))


def test_training_logs_psnr_and_ssim_beside_the_copy_baseline(run_dir):
    import csv

    rows = list(csv.DictReader(open(run_dir / "history.csv")))
    assert len(rows) == 2
    for key in ("eval/psnr", "eval/ssim", "eval/baseline_psnr", "eval/baseline_ssim",
                "l1", "g_gan"):
        assert np.isfinite(float(rows[-1][key])), key
    assert 0 < float(rows[-1]["eval/psnr"]) < 60
    assert -1 <= float(rows[-1]["eval/ssim"]) <= 1
    assert rows[0]["eval/baseline_psnr"] == rows[1]["eval/baseline_psnr"]  # same examples


def test_evaluate_run_dir_and_export_agree(run_dir, capsys):
    code, out, err = run_cli(evaluate.main, capsys, "--run-dir", run_dir, "--num-samples", 64)
    assert code == 0, err
    assert "psnr" in out and "baseline_psnr" in out
    from_run = json.loads((run_dir / "eval" / "epoch_0002.json").read_text())["metrics"]
    model = run_dir / "export" / "pix2pix" / "2"
    out_json = run_dir / "eval_export.json"
    code, out, err = run_cli(evaluate.main, capsys, "--model", model, "--num-samples", 64,
                             "--json", out_json)
    assert code == 0, err
    from_export = json.loads(out_json.read_text())["metrics"]
    for key in ("psnr", "ssim", "baseline_psnr", "baseline_ssim"):
        assert from_export[key] == pytest.approx(from_run[key], abs=1e-3), key
    code, out, err = run_cli(evaluate.main, capsys, "--model",
                             run_dir / "export" / "pix2pix.tflite", "--num-samples", 64,
                             "--json", out_json)
    assert code == 0, err
    assert json.loads(out_json.read_text())["metrics"]["psnr"] == pytest.approx(
        from_run["psnr"], abs=1e-3)


def test_several_draws_measure_other_examples(run_dir, capsys, tmp_path):
    code, out, err = run_cli(evaluate.main, capsys, "--run-dir", run_dir, "--num-samples", 32,
                             "--draws", 2, "--json", tmp_path / "draws.json")
    assert code == 0, err
    draws = json.loads((tmp_path / "draws.json").read_text())["draws"]
    code, out, err = run_cli(evaluate.main, capsys, "--run-dir", run_dir, "--num-samples", 32,
                             "--seed", 1, "--json", tmp_path / "seed1.json")
    assert code == 0, err
    # The second draw's seed chooses its examples, as --seed 1 alone does.
    assert draws[1]["metrics"] == json.loads((tmp_path / "seed1.json").read_text())["metrics"]
    assert draws[0]["metrics"]["baseline_psnr"] != draws[1]["metrics"]["baseline_psnr"]


def test_serving_default_takes_an_image_and_returns_one(run_dir):
    path = run_dir / "export" / "pix2pix" / "2"
    loaded = tf.saved_model.load(str(path))
    assert set(loaded.signatures) == {"serving_default"}  # nothing to sample from noise
    serve = loaded.signatures["serving_default"]
    spec = serve.structured_input_signature[1]
    assert list(spec) == ["image"]
    assert spec["image"].shape.as_list() == [None, 16, 16, 1]
    assert spec["image"].dtype == tf.float32
    x = np.random.default_rng(0).uniform(-1, 1, (3, 16, 16, 1)).astype(np.float32)
    out = serve(image=tf.constant(x))
    assert list(out) == ["images"]
    images = out["images"].numpy()
    assert images.shape == (3, 16, 16, 1) and images.dtype == np.float32
    assert images.min() >= -1 and images.max() <= 1
    meta = json.loads((path / "assets.extra" / "tfgan_app.json").read_text())
    assert meta["variant"] == "pix2pix" and meta["family"] == "image"
    assert meta["output"] == "images" and meta["output_shape"] == [16, 16, 1]
    assert meta["inputs"]["image"]["role"] == "source"
    assert meta["data_shape"] == [16, 16, 2] and meta["dataset"] == "edges2digits"


@pytest.mark.parametrize("shape, value, message", [
    ((2, 8, 8, 1), 0.0, r"image must be float32 \[batch, 16, 16, 1\]"),
    ((2, 16, 16, 3), 0.0, r"image must be float32 \[batch, 16, 16, 1\]"),
    ((2, 16, 16, 1), 1.5, r"image must be in \[-1, 1\]"),
])
def test_the_signature_rejects_a_bad_image_naming_it(run_dir, shape, value, message):
    serve = tf.saved_model.load(str(run_dir / "export" / "pix2pix" / "2")).signatures[
        "serving_default"]
    with pytest.raises((tf.errors.InvalidArgumentError, ValueError, TypeError), match=message):
        serve(image=tf.fill(shape, value))


def test_tflite_matches_the_saved_model_and_quantizes(run_dir, capsys):
    from tfgan_app.export import tflite_runner

    report = json.loads((run_dir / "export" / "pix2pix_tflite.json").read_text())
    assert report["tflite"]["none"]["max_abs_error"] < 1e-4
    code, out, err = run_cli(export_main, capsys, "--run-dir", run_dir, "--quantize", "all",
                             "--format", "tflite", "--output", run_dir / "quantized")
    assert code == 0, err
    for quantize in ("float16", "dynamic", "int8"):
        assert quantize in out
    report = json.loads((run_dir / "quantized" / "pix2pix_tflite.json").read_text())
    assert report["tflite"]["float16"]["max_abs_error"] < 0.01
    assert report["tflite"]["int8"]["psnr_db"] > 20
    x = np.random.default_rng(1).uniform(-1, 1, (4, 16, 16, 1)).astype(np.float32)
    lite = tflite_runner(run_dir / "export" / "pix2pix.tflite")(image=x)["images"]
    serve = tf.saved_model.load(str(run_dir / "export" / "pix2pix" / "2")).signatures[
        "serving_default"]
    np.testing.assert_allclose(lite, serve(image=tf.constant(x))["images"].numpy(), atol=1e-4)


def test_sample_translates_user_images_and_needs_them(run_dir, tmp_path, capsys):
    images = tmp_path / "images"
    images.mkdir()
    for i in range(3):
        Image.fromarray((np.arange(24 * 24).reshape(24, 24) * (i + 1) % 256).astype(
            np.uint8)).save(images / f"{i}.png")
    model = run_dir / "export" / "pix2pix" / "2"
    out = tmp_path / "translated.png"
    code, stdout, err = run_cli(sample.main, capsys, model, "--images", images, "--out", out,
                                "--scale", "1")
    assert code == 0, err
    with Image.open(out) as grid:
        assert grid.size == (2 * 17 + 1, 3 * 17 + 1)  # rows of input | output
    code, _, err = run_cli(sample.main, capsys, model, "--out", out)
    assert code == 2 and "pass --images DIR" in err


@pytest.mark.parametrize("variant, dataset, message", [
    ("pix2pix", "digits", "variant pix2pix trains on aligned paired data, but dataset "
                          "digits has single examples"),
    ("pix2pix", "edges2digits_unpaired", "variant pix2pix trains on aligned paired data, "
                                         "but dataset edges2digits_unpaired has unaligned"),
    ("dcgan", "edges2digits", "dataset edges2digits is paired"),
])
def test_data_of_the_other_family_is_a_usage_error(variant, dataset, message, tmp_path,
                                                   capsys):
    code, _, err = run_cli(train.main, capsys, "--variant", variant, "--dataset", dataset,
                           "--output-dir", tmp_path / "run", *sets())
    assert code == 2 and message in err and "Traceback" not in err


@pytest.mark.parametrize("variant, key", [("pix2pix", "model.spectral_norm=true"),
                                          ("srgan", "model.d_norm=layer"),
                                          ("inpaint", "model.d_dropout=0.3")])
def test_zoo_network_keys_the_family_ignores_are_refused(variant, key, tmp_path, capsys):
    code, _, err = run_cli(train.main, capsys, "--variant", variant, "--output-dir",
                           tmp_path / "run", *sets(), "--set", key)
    name = key.split("=")[0]
    assert code == 2 and f"{name} is not used by {variant}" in err
    assert not (tmp_path / "run" / "checkpoints").exists()

"""inpaint: masks drawn per example, the composite that keeps known pixels, its losses and
metrics by hand, and the CLI run: grid, hole metrics beside the mean-fill baseline, the
serving contract with `image` and `mask`, TFLite, sample and serving_request."""

import csv
import json

import numpy as np
import pytest
import tensorflow as tf
from helpers import TINY, run_cli, set_flags, tiny_model, train_with_cli
from PIL import Image

from tfgan_app import distribute, evaluate, sample, serving_request, train
from tfgan_app.evaluation.translation import region_psnr_ssim
from tfgan_app.export.__main__ import main as export_main
from tfgan_app.variants.inpaint import InpaintConfig, draw_masks, known_mean_fill

SETS = [*TINY, "train.eval_every=1", "train.export=true", "train.eval_samples=64",
        "data.max_examples=0", "train.steps_per_epoch=8"]


def uniform_from(seed):
    return lambda shape: tf.random.stateless_uniform([5, *shape], seed=[seed, 0])


@pytest.mark.parametrize("kind", ["center", "block", "random"])
def test_masks_are_binary_per_example_and_a_function_of_the_draws(kind):
    options = InpaintConfig(mask=kind, mask_size=0.5, rectangles=3)
    masks = draw_masks(options, 5, 16, 12, uniform_from(1)).numpy()
    assert masks.shape == (5, 16, 12, 1) and masks.dtype == np.float32
    assert set(np.unique(masks)) <= {0.0, 1.0}
    np.testing.assert_array_equal(masks, draw_masks(options, 5, 16, 12, uniform_from(1)))
    other = draw_masks(options, 5, 16, 12, uniform_from(2)).numpy()
    area = masks.sum(axis=(1, 2, 3))
    if kind == "center":
        assert np.array_equal(other, masks)
        assert (masks[:, 4:12, 3:9] == 1).all() and area.tolist() == [8 * 6] * 5
    elif kind == "block":
        assert not np.array_equal(other, masks)
        assert area.tolist() == [8 * 6] * 5  # the whole block always fits
        rows = masks[..., 0].any(axis=2)
        assert (rows.sum(axis=1) == 8).all()
        assert len({tuple(r) for r in rows}) > 1  # examples differ
    else:
        assert not np.array_equal(other, masks)
        assert (area >= 1).all() and (area <= 3 * 8 * 6).all()


def test_replicas_draw_the_masks_one_device_draws_for_the_global_batch():
    strategy = distribute.mirrored(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        model, data = tiny_model("inpaint", "inpaint.mask=random")
    x = tf.constant(data.take(range(8))[0])

    def replica_masks():
        replica = tf.distribute.get_replica_context().replica_id_in_sync_group
        return model.make_example(x[4 * replica:4 * replica + 4], stream=0)[0]["mask"]

    per_replica = strategy.run(replica_masks)
    parts = np.concatenate([v.numpy() for v in strategy.experimental_local_results(
        per_replica)])
    whole = model.make_example(x, stream=0)[0]["mask"].numpy()
    np.testing.assert_array_equal(parts, whole)
    assert not np.array_equal(whole[:4], whole[4:])
    assert not np.array_equal(model.make_example(x, stream=1)[0]["mask"].numpy(), whole)


def test_the_composite_keeps_every_known_pixel_and_the_generator_sees_no_hole():
    model, data = tiny_model("inpaint", "inpaint.mask=random")
    inputs, target = model.evaluation_examples(data.take(range(6))[0], model.spec, 3)
    out = model.infer_serving(inputs)
    known = np.broadcast_to(inputs["mask"] == 0, out.shape)
    np.testing.assert_array_equal(out[known], inputs["image"][known])
    assert not np.array_equal(out[~known], inputs["image"][~known])
    # What is under the hole does not reach the output.
    scrambled = dict(inputs, image=np.where(inputs["mask"] == 1, 0.7, inputs["image"]))
    np.testing.assert_allclose(model.infer_serving(scrambled)[~known], out[~known], atol=1e-6)
    # A soft mask blends the generator's output and the image.
    half = dict(inputs, mask=np.full_like(inputs["mask"], 0.5))
    raw = np.asarray(model.generator(model.generator_input(
        {k: tf.constant(v) for k, v in half.items()}), training=False))
    np.testing.assert_allclose(model.infer_serving(half), 0.5 * raw + 0.5 * inputs["image"],
                               atol=1e-6)


def test_the_reconstruction_loss_is_a_mean_over_each_examples_missing_values():
    model, _ = tiny_model("inpaint")
    real = tf.zeros([2, 4, 4, 3])
    fake = tf.fill([2, 4, 4, 3], 2.0)
    mask = np.zeros([2, 4, 4, 1], np.float32)
    mask[0, :1, :1] = 1  # one pixel
    mask[1, :2] = 1  # eight pixels
    np.testing.assert_allclose(model.reconstruction(real, fake, tf.constant(mask)), [4, 4])
    model.options.rec_loss = "l1"
    np.testing.assert_allclose(model.reconstruction(real, fake, tf.constant(mask)), [2, 2])


def test_the_baseline_fills_holes_with_the_known_pixels_mean_per_channel():
    image = np.zeros([1, 2, 2, 2], np.float32)
    image[0, :, :, 0] = [[1.0, -1.0], [0.5, 9.0]]
    image[0, :, :, 1] = [[0.0, 0.3], [0.6, 9.0]]
    mask = np.zeros([1, 2, 2, 1], np.float32)
    mask[0, 1, 1] = 1
    filled = np.asarray(known_mean_fill(tf.constant(image), tf.constant(mask)))
    np.testing.assert_allclose(filled[0, 1, 1], [0.5 / 3, 0.3], atol=1e-6)
    np.testing.assert_array_equal(filled[0, 0], image[0, 0])


def test_hole_psnr_counts_only_the_missing_pixels():
    target = np.full([2, 16, 16, 1], -1.0, np.float32)
    output = target.copy()
    weight = np.zeros([2, 16, 16, 1], np.float32)
    weight[:, 4:12, 4:12] = 1
    output[:, 4:12, 4:12] = -0.8  # error 0.1 on [0, 1] in the hole only: 20 dB
    output[1, 0, 0] = 1.0  # outside the hole: not counted
    psnr, ssim = region_psnr_ssim(output, target, weight)
    assert psnr == pytest.approx(20.0, abs=1e-4)
    assert ssim < 1
    assert region_psnr_ssim(target, target, weight) == (100.0, pytest.approx(1.0))
    assert np.isnan(region_psnr_ssim(output, target, np.zeros_like(weight))[0])


# -- the command line ---------------------------------------------------------------------
def sets(*items):
    return set_flags(*SETS, *items)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A tiny inpaint (random masks) trained for 2 epochs by the CLI, evaluated, exported."""
    return train_with_cli(tmp_path_factory.mktemp("inpaint"), "inpaint", *SETS,
                          "train.epochs=2", "inpaint.mask=random")


def export_dir(run):
    return run / "export" / "inpaint" / "2"


def test_the_grid_is_rows_of_masked_input_output_target(run_dir):
    pixels = np.asarray(Image.open(run_dir / "samples" / "epoch_0002.png"))[::3, ::3]
    assert pixels.shape[:2] == (137, 52)  # 8 rows of 3 tiles of 16 px, 1 px gaps
    tile = lambda r, c: pixels[1 + 17 * r:17 + 17 * r, 1 + 17 * c:17 + 17 * c]  # noqa: E731
    for row in range(8):
        masked, output, target = tile(row, 0), tile(row, 1), tile(row, 2)
        grey = (masked == 127) | (masked == 128)  # 0 in [-1, 1]: the holes (and any grey)
        assert (masked[masked != target] == masked[grey][0]).all()  # only holes differ
        assert (grey & (masked != target)).any()
        np.testing.assert_array_equal(output[~grey], target[~grey])  # the context kept


def test_training_logs_hole_metrics_beside_the_mean_fill_baseline(run_dir):
    rows = list(csv.DictReader(open(run_dir / "history.csv")))
    assert len(rows) == 2
    for key in ("eval/psnr", "eval/hole_psnr", "eval/hole_ssim", "eval/baseline_hole_psnr",
                "eval/baseline_hole_ssim", "eval/baseline_psnr", "rec", "g_adv"):
        assert np.isfinite(float(rows[-1][key])), key
    # The whole image includes the copied context: higher than the hole alone.
    assert float(rows[-1]["eval/psnr"]) > float(rows[-1]["eval/hole_psnr"])
    assert rows[0]["eval/baseline_hole_psnr"] == rows[1]["eval/baseline_hole_psnr"]


def test_evaluate_run_dir_and_the_exports_agree(run_dir, capsys):
    code, out, err = run_cli(evaluate.main, capsys, "--run-dir", run_dir, "--num-samples", 64)
    assert code == 0, err
    assert "hole_psnr" in out and "baseline_hole_psnr" in out
    from_run = json.loads((run_dir / "eval" / "epoch_0002.json").read_text())["metrics"]
    out_json = run_dir / "eval_export.json"
    for model in (export_dir(run_dir), run_dir / "export" / "inpaint.tflite"):
        code, out, err = run_cli(evaluate.main, capsys, "--model", model, "--num-samples",
                                 64, "--json", out_json)
        assert code == 0, err
        got = json.loads(out_json.read_text())["metrics"]
        for key in ("psnr", "hole_psnr", "hole_ssim", "baseline_hole_psnr"):
            assert got[key] == pytest.approx(from_run[key], abs=1e-3), (model, key)


def test_serving_default_takes_image_and_mask_and_keeps_the_context(run_dir):
    path = export_dir(run_dir)
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    spec = serve.structured_input_signature[1]
    assert sorted(spec) == ["image", "mask"]
    assert spec["image"].shape.as_list() == [None, 16, 16, 1]
    assert spec["mask"].shape.as_list() == [None, 16, 16, 1]
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (3, 16, 16, 1)).astype(np.float32)
    mask = (rng.uniform(size=(3, 16, 16, 1)) < 0.3).astype(np.float32)
    out = serve(image=tf.constant(x), mask=tf.constant(mask))["images"].numpy()
    assert out.shape == (3, 16, 16, 1) and out.min() >= -1 and out.max() <= 1
    np.testing.assert_array_equal(out[mask == 0], x[mask == 0])
    meta = json.loads((path / "assets.extra" / "tfgan_app.json").read_text())
    assert meta["variant"] == "inpaint" and meta["family"] == "image"
    assert meta["inputs"]["image"]["role"] == "source"
    info = meta["inputs"]["mask"]
    assert info["role"] == "mask" and (info["low"], info["high"]) == (0, 1)
    assert np.asarray(info["value"]).sum() == 64  # the centre square of mask_size 0.5
    assert meta["options"]["mask"] == "random" and meta["data_shape"] == [16, 16, 1]


@pytest.mark.parametrize("mask_shape, value, message", [
    ((2, 16, 16, 3), 1.0, r"mask must be float32 \[batch, 16, 16, 1\]"),
    ((2, 16, 16), 1.0, r"mask must be float32 \[batch, 16, 16, 1\]"),
    ((2, 16, 16, 1), 1.5, r"mask must be in \[0, 1\]"),
    ((2, 16, 16, 1), -0.1, r"mask must be in \[0, 1\]"),
])
def test_the_signature_rejects_a_bad_mask_naming_it(run_dir, mask_shape, value, message):
    serve = tf.saved_model.load(str(export_dir(run_dir))).signatures["serving_default"]
    with pytest.raises((tf.errors.InvalidArgumentError, ValueError, TypeError), match=message):
        serve(image=tf.zeros([2, 16, 16, 1]), mask=tf.fill(mask_shape, value))


def test_tflite_takes_both_inputs_by_name_and_quantizes(run_dir, capsys):
    from ai_edge_litert.interpreter import Interpreter

    from tfgan_app.export import tflite_runner

    lite_path = run_dir / "export" / "inpaint.tflite"
    report = json.loads((run_dir / "export" / "inpaint_tflite.json").read_text())
    assert report["tflite"]["none"]["max_abs_error"] < 1e-4
    runner_inputs = Interpreter(model_path=str(lite_path)).get_signature_list()[
        "serving_default"]["inputs"]
    assert sorted(runner_inputs) == ["image", "mask"]
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (4, 16, 16, 1)).astype(np.float32)
    mask = (rng.uniform(size=(4, 16, 16, 1)) < 0.4).astype(np.float32)
    lite = tflite_runner(lite_path)(mask=mask, image=x)["images"]
    serve = tf.saved_model.load(str(export_dir(run_dir))).signatures["serving_default"]
    want = serve(image=tf.constant(x), mask=tf.constant(mask))["images"].numpy()
    np.testing.assert_allclose(lite, want, atol=1e-4)
    # Swapped inputs would give another answer: the names, not the order, matched them.
    assert not np.allclose(tflite_runner(lite_path)(mask=(x > 0).astype(np.float32),
                                                    image=mask * 2 - 1)["images"], want)
    code, out, err = run_cli(export_main, capsys, "--run-dir", run_dir, "--quantize", "all",
                             "--format", "tflite", "--output", run_dir / "quantized")
    assert code == 0, err
    report = json.loads((run_dir / "quantized" / "inpaint_tflite.json").read_text())
    assert report["tflite"]["float16"]["max_abs_error"] < 0.01
    assert report["tflite"]["int8"]["psnr_db"] > 20


def test_sample_fills_the_centre_of_user_images(run_dir, tmp_path, capsys):
    images = tmp_path / "images"
    images.mkdir()
    for i in range(2):
        Image.fromarray((np.arange(16 * 16).reshape(16, 16) * (i + 1) % 256).astype(
            np.uint8)).save(images / f"{i}.png")
    out = tmp_path / "filled.png"
    code, _, err = run_cli(sample.main, capsys, export_dir(run_dir), "--images", images,
                           "--out", out, "--scale", "1")
    assert code == 0, err
    pixels = np.asarray(Image.open(out))
    assert pixels.shape[:2] == (2 * 17 + 1, 3 * 17 + 1)  # masked input | output | image
    tile = lambda r, c: pixels[1 + 17 * r:17 + 17 * r, 1 + 17 * c:17 + 17 * c]  # noqa: E731
    assert (tile(0, 0)[4:12, 4:12] == tile(0, 0)[8, 8]).all()  # the grey centre square
    np.testing.assert_array_equal(tile(1, 1)[:4], tile(1, 2)[:4])  # the context kept


def test_serving_request_sends_the_centre_mask_and_checks(run_dir, tmp_path, capsys):
    request = tmp_path / "request.json"
    code, _, err = run_cli(serving_request.main, capsys, "build", export_dir(run_dir),
                           "--num", 2, "--out", request)
    assert code == 0, err
    rows = json.loads(request.read_text())["instances"]
    mask = np.asarray(rows[0]["mask"])
    assert mask.shape == (16, 16, 1) and mask.sum() == 64 and mask[4:12, 4:12].all()
    code, out, err = run_cli(serving_request.main, capsys, "check", export_dir(run_dir),
                             request)
    assert code == 0, err


def test_inpaint_refuses_paired_data(tmp_path, capsys):
    code, _, err = run_cli(train.main, capsys, "--variant", "inpaint", "--dataset",
                           "edges2digits", "--output-dir", tmp_path / "run", *sets())
    assert code == 2 and "dataset edges2digits is paired" in err and "Traceback" not in err

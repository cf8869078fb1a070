"""srgan: inputs made by downscaling, the bicubic baseline, the content losses (VGG from a
weights file), train -> evaluate -> export with the low-resolution serving contract, and
its refusals of bad options."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import TINY, run_cli, set_flags, tiny_model, train_with_cli
from PIL import Image

from tfgan_app import evaluate, train
from tfgan_app.variants.srgan import SRGAN, VGG_RESCALE

NETS = ["data.image_size=16", "srgan.blocks=1", "srgan.dense_units=8"]


def sets(*items):
    return set_flags(*TINY, *NETS, *items)


def test_examples_are_the_bicubic_downscaled_image_and_the_image():
    model, data = tiny_model("srgan", *NETS)
    assert (model.source_shape, model.target_shape) == ((4, 4, 3), (16, 16, 3))
    x = data.take(np.arange(5))[0]
    inputs, target = model.evaluation_examples(x, model.spec, 0)
    np.testing.assert_array_equal(target, x)
    want = np.clip(tf.image.resize(x, (4, 4), "bicubic", antialias=True), -1, 1)
    np.testing.assert_allclose(inputs["image"], want, atol=1e-6)
    assert inputs["image"].shape == (5, 4, 4, 3)
    assert -1 <= inputs["image"].min() and inputs["image"].max() <= 1
    # the baseline: bicubic upscaling of the input back to the target's size
    baseline = SRGAN.baseline(inputs, model.spec)
    assert baseline.shape == target.shape
    np.testing.assert_allclose(
        baseline, np.clip(tf.image.resize(inputs["image"], (16, 16), "bicubic"), -1, 1),
        atol=1e-6)


def test_the_residual_generator_starts_as_bilinear_upscaling():
    model, data = tiny_model("srgan", *NETS, "srgan.residual=true")
    inputs, _ = model.evaluation_examples(data.take(np.arange(3))[0], model.spec, 0)
    want = np.clip(tf.image.resize(inputs["image"], (16, 16), "bilinear"), -1, 1)
    np.testing.assert_allclose(model.infer_serving(inputs), want, atol=1e-6)
    model, _ = tiny_model("srgan", *NETS, "srgan.residual=false")
    assert model.generator.get_layer("sample").activation is keras.activations.tanh


def test_scale_two_on_digits_by_default():
    model, _ = tiny_model("srgan", "data.dataset=digits", "srgan.blocks=1",
                          "srgan.dense_units=8")
    assert (model.source_shape, model.target_shape) == ((8, 8, 1), (16, 16, 1))


@pytest.fixture(scope="module")
def vgg_file(tmp_path_factory):
    """A random notop VGG19's weights (no download), as keras.applications saves them."""
    keras.utils.set_random_seed(1)
    vgg = keras.applications.VGG19(include_top=False, weights=None,
                                   input_shape=(None, None, 3))
    path = tmp_path_factory.mktemp("vgg") / "vgg19.weights.h5"
    vgg.save_weights(path)
    return vgg, path


def test_vgg_content_is_the_rescaled_block5_conv4_distance(vgg_file):
    vgg, path = vgg_file
    model, data = tiny_model("srgan", *NETS, "srgan.content=vgg",
                             f"srgan.vgg_weights={path}")
    real = tf.constant(data.take(np.arange(3))[0])
    fake = tf.constant(np.random.default_rng(0).uniform(-1, 1, real.shape), tf.float32)
    phi = keras.Model(vgg.input, vgg.get_layer("block5_conv4").output)

    def features(x):  # [-1, 1] RGB -> caffe-preprocessed BGR, as Keras' VGG19 expects
        return phi(keras.applications.vgg19.preprocess_input((x.numpy() + 1.0) * 127.5))

    want = np.mean(np.square((features(fake) - features(real)) * VGG_RESCALE), axis=(1, 2, 3))
    np.testing.assert_allclose(model.content_loss(real, fake), want, rtol=1e-4)
    # a training step runs with it, and the extractor is neither trained nor checkpointed
    history = model.fit(tf.data.Dataset.from_tensors((data.x[:8], data.y[:8])), verbose=0)
    assert np.isfinite(history.history["content"][0])
    assert not any("vgg" in v.path for v in model.variables)


def test_pixel_content_losses():
    model, _ = tiny_model("srgan", *NETS, "srgan.content=l1")
    real, fake = tf.zeros([2, 16, 16, 3]), tf.fill([2, 16, 16, 3], 0.5)
    np.testing.assert_allclose(model.content_loss(real, fake), [0.5, 0.5])
    model, _ = tiny_model("srgan", *NETS)
    np.testing.assert_allclose(model.content_loss(real, fake), [0.25, 0.25])


def test_the_warm_up_trains_the_generator_on_content_alone():
    model, data = tiny_model("srgan", *NETS, "srgan.pretrain_steps=1",
                             "srgan.adversarial_weight=1")
    batch = tf.data.Dataset.from_tensors((data.x[:8], data.y[:8]))
    d_before = [w.numpy() for w in model.discriminator.trainable_weights]
    g_before = [w.numpy() for w in model.generator.weights]
    logs = {k: v[0] for k, v in model.fit(batch, verbose=0).history.items()}
    # the update was undone (its BN statistics too, but the generator's update, which
    # runs D in training mode on its output, moves them: they are not D's weights)
    for a, b in zip(d_before, model.discriminator.trainable_weights):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(g_before, model.generator.weights))
    assert logs["g_loss"] == pytest.approx(logs["content"], rel=1e-6)  # no GAN term
    logs = {k: v[0] for k, v in model.fit(batch, verbose=0).history.items()}
    assert any(not np.array_equal(a, b)
               for a, b in zip(d_before, model.discriminator.trainable_weights))
    assert logs["g_loss"] == pytest.approx(logs["content"] + logs["g_gan"], rel=1e-5)


@pytest.mark.parametrize("extra, message", [
    (["srgan.scale=3"], "config key 'srgan.scale' must be a power of 2"),
    (["data.image_size=24", "srgan.scale=16"], "srgan.scale=16 must divide the image size, "
                                               "but dataset photos has 24x24 images"),
    (["srgan.content=vgg"], "srgan.content=vgg needs srgan.vgg_weights=PATH"),
    (["srgan.content=vgg", "srgan.vgg_weights=/nonexistent/vgg19.h5"],
     "srgan.vgg_weights: VGG19 weights file /nonexistent/vgg19.h5 does not exist"),
    (["data.dataset=edges2digits"], "dataset edges2digits is paired"),
])
def test_bad_options_are_usage_errors(extra, message, tmp_path, capsys):
    code, _, err = run_cli(train.main, capsys, "--variant", "srgan", "--output-dir",
                           tmp_path / "run", *sets(*extra))
    assert code == 2 and message in err and "Traceback" not in err, err
    assert not (tmp_path / "run" / "checkpoints").exists()


# -- train -> evaluate -> export ------------------------------------------------------------
@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A tiny srgan (16 px photos, x4) trained 2 epochs by the CLI, evaluated, exported."""
    return train_with_cli(tmp_path_factory.mktemp("srgan"), "srgan", *TINY, *NETS,
                          "train.epochs=2", "train.eval_every=1", "train.export=true",
                          "train.eval_samples=64", "data.max_examples=0",
                          "train.steps_per_epoch=4")


def test_training_logs_content_and_psnr_beside_bicubic(run_dir):
    import csv

    rows = list(csv.DictReader(open(run_dir / "history.csv")))
    for key in ("content", "g_gan", "d_loss", "eval/psnr", "eval/ssim",
                "eval/baseline_psnr", "eval/baseline_ssim"):
        assert np.isfinite(float(rows[-1][key])), key
    # bicubic x4 of 16 px photo patches: a real baseline, far from a copy's infinite PSNR
    assert 10 < float(rows[-1]["eval/baseline_psnr"]) < 40


def test_the_grid_shows_the_input_upscaled_nearest_output_and_target(run_dir):
    pixels = np.asarray(Image.open(run_dir / "samples" / "epoch_0002.png"))[::3, ::3]
    assert pixels.shape[:2] == (8 * 17 + 1, 3 * 17 + 1)
    tile = pixels[1:17, 1:17].astype(int)  # row 0, the input: 4x4 blocks of one colour
    assert (tile == np.repeat(np.repeat(tile[::4, ::4], 4, 0), 4, 1)).all()
    target = pixels[1:17, 35:51]
    assert not (target == np.repeat(np.repeat(target[::4, ::4], 4, 0), 4, 1)).all()


def test_serving_takes_the_low_resolution_image_and_returns_the_large_one(run_dir):
    from tfgan_app.export import tflite_runner

    path = run_dir / "export" / "srgan" / "2"
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    spec = serve.structured_input_signature[1]
    assert list(spec) == ["image"] and spec["image"].shape.as_list() == [None, 4, 4, 3]
    x = np.random.default_rng(0).uniform(-1, 1, (3, 4, 4, 3)).astype(np.float32)
    images = serve(image=tf.constant(x))["images"].numpy()
    assert images.shape == (3, 16, 16, 3) and -1 <= images.min() and images.max() <= 1
    meta = json.loads((path / "assets.extra" / "tfgan_app.json").read_text())
    assert meta["scale"] == 4 and meta["source_shape"] == [4, 4, 3]
    assert meta["output_shape"] == [16, 16, 3] and meta["data_shape"] == [16, 16, 3]
    with pytest.raises((tf.errors.InvalidArgumentError, ValueError),
                       match=r"image must be float32 \[batch, 4, 4, 3\]"):
        serve(image=tf.zeros([1, 16, 16, 3]))
    lite = run_dir / "export" / "srgan.tflite"
    np.testing.assert_allclose(tflite_runner(lite)(image=x)["images"], images, atol=1e-4)
    from ai_edge_litert.interpreter import Interpreter

    ops = {op["op_name"] for op in Interpreter(model_path=str(lite))._get_ops_details()}
    assert {"DEPTH_TO_SPACE", "PRELU", "RESIZE_BILINEAR"} <= ops, ops  # srgan.residual


def test_evaluate_the_run_and_its_export_alike(run_dir, capsys, tmp_path):
    code, out, err = run_cli(evaluate.main, capsys, "--run-dir", run_dir, "--num-samples", 64)
    assert code == 0, err
    from_run = json.loads((run_dir / "eval" / "epoch_0002.json").read_text())["metrics"]
    for model in (run_dir / "export" / "srgan" / "2", run_dir / "export" / "srgan.tflite"):
        out_json = tmp_path / "eval.json"
        code, out, err = run_cli(evaluate.main, capsys, "--model", model, "--num-samples", 64,
                                 "--json", out_json)
        assert code == 0, err
        metrics = json.loads(out_json.read_text())["metrics"]
        for key in ("psnr", "ssim", "baseline_psnr", "baseline_ssim"):
            assert metrics[key] == pytest.approx(from_run[key], abs=1e-3), (model, key)

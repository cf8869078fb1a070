"""The exported generator, checked from outside with plain TensorFlow and LiteRT."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_app import export
from tfgan_app.training import train


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny dcgan trained for one epoch with the end-of-training export."""
    from helpers import TINY

    from tfgan_app.config import resolve_config

    run = tmp_path_factory.mktemp("run")
    cfg = resolve_config("dcgan", sets=TINY + ["train.export=true"])
    result = train(cfg, run, verbose=0, echo=lambda _: None)
    return run, result


def test_training_exports_in_tf_serving_layout(trained):
    run, result = trained
    assert result.export.saved_model == run / "export" / "dcgan" / "1"
    assert (run / "export" / "dcgan" / "1" / "saved_model.pb").is_file()
    assert (run / "export" / "dcgan.tflite").stat().st_size > 1000
    assert result.export.tflite_max_abs_error < 1e-4
    assert not [p for p in (run / "export").rglob("*") if p.name.startswith(".tmp")]


def test_serving_default_contract(trained):
    run, _ = trained
    loaded = tf.saved_model.load(str(run / "export" / "dcgan" / "1"))
    serve = loaded.signatures["serving_default"]
    assert set(serve.structured_input_signature[1]) == {"z"}
    spec = serve.structured_input_signature[1]["z"]
    assert spec.shape.as_list() == [None, 8] and spec.dtype == tf.float32
    out = serve(z=tf.random.normal([3, 8]))
    assert list(out) == ["images"]
    images = out["images"].numpy()
    assert images.shape == (3, 16, 16, 1) and images.dtype == np.float32
    assert images.min() >= -1.0 and images.max() <= 1.0


def test_sample_signature_is_deterministic_uint8(trained):
    run, _ = trained
    sample = tf.saved_model.load(str(run / "export" / "dcgan" / "1")).signatures["sample"]
    a = sample(num_samples=tf.constant(5), seed=tf.constant(7, tf.int64))["images"].numpy()
    b = sample(num_samples=tf.constant(5), seed=tf.constant(7, tf.int64))["images"].numpy()
    c = sample(num_samples=tf.constant(5), seed=tf.constant(8, tf.int64))["images"].numpy()
    assert a.shape == (5, 16, 16, 1) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_tfsm_layer_and_litert_agree_with_the_saved_model(trained):
    run, _ = trained
    path = run / "export" / "dcgan" / "1"
    z = np.random.default_rng(1).standard_normal((4, 8)).astype(np.float32)
    want = tf.saved_model.load(str(path)).signatures["serving_default"](
        z=tf.constant(z))["images"].numpy()
    layer = keras.layers.TFSMLayer(str(path), call_endpoint="serving_default")
    np.testing.assert_allclose(np.asarray(layer(z)["images"]), want, atol=1e-6)
    lite = export.tflite_runner(run / "export" / "dcgan.tflite")(z=z)["images"]
    np.testing.assert_allclose(lite, want, atol=1e-4)


@pytest.mark.parametrize("dataset, dimension", [("ring", 2), ("gauss1d", 1)])
def test_toy_generator_exports_points(tiny_config, tmp_path, dataset, dimension):
    cfg = tiny_config("gan", f"data.dataset={dataset}", "train.export=true")
    result = train(cfg, tmp_path, verbose=0, echo=lambda _: None)
    loaded = tf.saved_model.load(str(result.export.saved_model))
    points = loaded.signatures["serving_default"](z=tf.zeros([6, 8]))["points"]
    assert points.shape == (6, dimension) and points.dtype == tf.float32
    drawn = loaded.signatures["sample"](num_samples=tf.constant(3),
                                        seed=tf.constant(1, tf.int64))["points"]
    assert drawn.shape == (3, dimension) and drawn.dtype == tf.float32
    assert result.export.saved_model_max_abs_error < 1e-4
    assert result.export.tflite_max_abs_error < 1e-4
    meta = export.read_metadata(result.export.saved_model)
    assert (meta["kind"], meta["output_shape"], meta["dataset"]) == (
        "points", [dimension], dataset)
    # python -m tfgan_app.sample: a scatter of 2-D points, a density plot of 1-D ones.
    from PIL import Image

    from tfgan_app import cli, sample

    png = tmp_path / "sample.png"
    assert cli.run(sample.main, [str(result.export.saved_model), "--out", str(png)]) == 0
    with Image.open(png) as image:
        assert image.size == ((500, 500) if dimension == 2 else (750, 520))


def test_export_after_mirrored_training(tiny_config, tmp_path):
    from tfgan_app import distribute

    cfg = tiny_config("dcgan", "train.export=true")
    result = train(cfg, tmp_path, strategy=distribute.mirrored(["/cpu:0", "/cpu:1"]),
                   verbose=0, echo=lambda _: None)
    serve = tf.saved_model.load(str(result.export.saved_model)).signatures["serving_default"]
    assert serve(z=tf.zeros([2, 8]))["images"].shape == (2, 16, 16, 1)
    assert result.export.tflite_max_abs_error < 1e-4


def test_infogan_serves_its_codes(tiny_config, tmp_path):
    cfg = tiny_config("infogan", "train.export=true")
    result = train(cfg, tmp_path, verbose=0, echo=lambda _: None)
    loaded = tf.saved_model.load(str(result.export.saved_model))
    serve = loaded.signatures["serving_default"]
    specs = serve.structured_input_signature[1]
    assert set(specs) == {"z", "category", "code"}
    assert specs["category"].dtype == tf.int32 and specs["code"].shape.as_list() == [None, 2]
    out = serve(z=tf.zeros([2, 8]), category=tf.constant([0, 3]),
                code=tf.constant([[0.0, 0.0], [1.0, -1.0]]))["images"]
    assert out.shape == (2, 16, 16, 1)
    sample = loaded.signatures["sample"]
    assert set(sample.structured_input_signature[1]) == {"num_samples", "seed"}
    a = sample(num_samples=tf.constant(4), seed=tf.constant(3, tf.int64))["images"].numpy()
    b = sample(num_samples=tf.constant(4), seed=tf.constant(3, tf.int64))["images"].numpy()
    np.testing.assert_array_equal(a, b)
    assert result.export.tflite_max_abs_error < 1e-4


@pytest.mark.parametrize("variant", ["acgan", "began"])
def test_zoo_generators_export(tiny_config, tmp_path, variant):
    result = train(tiny_config(variant, "train.export=true"), tmp_path, verbose=0,
                   echo=lambda _: None)
    serve = tf.saved_model.load(str(result.export.saved_model)).signatures["serving_default"]
    inputs = {"z": tf.zeros([2, 8])}
    if variant == "acgan":
        inputs["label"] = tf.constant([1, 2])
    assert set(serve.structured_input_signature[1]) == set(inputs)
    assert serve(**inputs)["images"].shape == (2, 16, 16, 1)
    assert result.export.tflite_max_abs_error < 1e-4

"""The image-to-image networks: shapes, ranges, normalization, TFLite, distribution."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_app import distribute, i2i_networks
from tfgan_app.errors import ConfigError
from tfgan_app.export.tflite import convert_tflite, tflite_runner


def images(shape, batch=4, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (batch, *shape)).astype("float32")


def round_trip(model, tmp_path):
    """The model saved as .keras and loaded back."""
    path = tmp_path / f"{model.name}.keras"
    model.save(path)
    return keras.saving.load_model(path)


def tflite_outputs(model, tmp_path, x):
    """`model(x)` run from a .tflite converted (as the app converts) from a SavedModel."""
    spec = tf.TensorSpec([None, *model.input_shape[1:]], tf.float32, name="image")
    archive = keras.export.ExportArchive()  # as export_saved_model writes the app's
    archive.track(model)
    archive.add_endpoint("serving_default",
                         lambda image: {"images": model(image, training=False)}, [spec])
    saved = tmp_path / f"{model.name}_saved_model"
    archive.write_out(str(saved), verbose=False)
    path = convert_tflite(saved, tmp_path / f"{model.name}.tflite")
    return tflite_runner(path)(image=x)["images"], path


# -- norms ------------------------------------------------------------------------------
def test_norm_layer_kinds():
    assert isinstance(i2i_networks.norm_layer("batch", "n"), keras.layers.BatchNormalization)
    assert i2i_networks.norm_layer("batch", "n").synchronized
    assert isinstance(i2i_networks.norm_layer("instance", "n"), keras.layers.GroupNormalization)
    x = images((4, 4, 3))
    np.testing.assert_array_equal(i2i_networks.norm_layer("none", "n")(x), x)
    with pytest.raises(ValueError, match=r"'batch', 'instance', 'none'.*'layer'"):
        i2i_networks.norm_layer("layer", "n")


def test_instance_norm_normalizes_each_channel_of_each_example():
    rng = np.random.default_rng(0)
    # Channels and examples with very different means and spreads.
    x = (rng.normal(size=(3, 8, 8, 4)) * rng.uniform(0.1, 5, (3, 1, 1, 4))
         + rng.uniform(-10, 10, (3, 1, 1, 4))).astype("float32")
    layer = i2i_networks.norm_layer("instance", "n")
    y = np.asarray(layer(x))
    np.testing.assert_allclose(y.mean(axis=(1, 2)), 0, atol=1e-4)
    np.testing.assert_allclose(y.std(axis=(1, 2)), 1, atol=1e-3)
    # Per example: the first example alone is normalized the same as in the batch.
    np.testing.assert_allclose(layer(x[:1]), y[:1], atol=1e-5)
    layer.gamma.assign(np.full(4, 2.0, "float32"))
    layer.beta.assign(np.full(4, 0.5, "float32"))
    np.testing.assert_allclose(layer(x), 2 * y + 0.5, atol=1e-4)


# -- U-Net and PatchGAN -----------------------------------------------------------------
def levels(model, prefix):
    return sum(isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose))
               and layer.name.startswith(prefix) for layer in model.layers)


@pytest.mark.parametrize("size, depth", [(16, 4), (32, 5)])
def test_unet_shapes_and_range(size, depth):
    model = i2i_networks.unet_generator((size, size, 4), 3, filters=4)
    assert model.input.name == "image"
    assert levels(model, "down_") == depth and levels(model, "up_") == depth - 1
    assert model.get_layer(f"down_{depth - 1}").output.shape[1:3] == (1, 1)
    y = np.asarray(model(images((size, size, 4)), training=True))
    assert y.shape == (4, size, size, 3)
    assert np.abs(y).max() <= 1 and y.std() > 0


def test_unet_depth_rules():
    assert i2i_networks.unet_depth(256, 256) == 8
    assert i2i_networks.unet_depth(1024, 1024) == 8
    assert i2i_networks.unet_depth(24, 16) == 3
    assert i2i_networks.unet_depth(16, 16, 2) == 2
    with pytest.raises(ConfigError, match="15x16"):
        i2i_networks.unet_generator((15, 16, 3), 3, filters=4)
    with pytest.raises(ConfigError, match="divisible by 16; got 24x24"):
        i2i_networks.unet_generator((24, 24, 3), 3, filters=4, depth=4)


def test_unet_dropout_only_in_training():
    model = i2i_networks.unet_generator((16, 16, 3), 3, filters=4, norm="instance")
    x = images((16, 16, 3))
    np.testing.assert_array_equal(model(x, training=False), model(x, training=False))
    assert not np.allclose(model(x, training=True), model(x, training=False))
    assert [layer.name for layer in model.layers if isinstance(layer, keras.layers.Dropout)] \
        == ["up_dropout_0", "up_dropout_1", "up_dropout_2"]


@pytest.mark.parametrize("size, strided, out", [(16, 2, 2), (32, 3, 2), (70, 3, 6)])
def test_patchgan_output_is_per_patch_logits(size, strided, out):
    model = i2i_networks.patchgan_discriminator((size, size, 6), filters=4)
    assert model.input.name == "image"
    assert levels(model, "conv_") == strided + 1
    y = np.asarray(model(images((size, size, 6)) * 3))
    assert y.shape == (4, out, out, 1)
    assert np.abs(y).max() > 0 and model.layers[-1].activation is keras.activations.linear
    with pytest.raises(ConfigError, match="2x2"):
        i2i_networks.patchgan_discriminator((2, 2, 3))


def unsynchronized(model):
    """A copy of `model` whose batch normalization uses per-replica statistics."""
    def clone(layer):
        config = layer.get_config()
        if isinstance(layer, keras.layers.BatchNormalization):
            config["synchronized"] = False
        return layer.__class__.from_config(config)

    copy = keras.models.clone_model(model, clone_function=clone)
    copy.set_weights(model.get_weights())
    return copy


def test_unet_batch_norm_uses_the_global_batch_on_two_replicas():
    """A training-mode forward pass on 2 replicas equals the one-device pass on the batch."""
    keras.utils.set_random_seed(0)
    x = images((16, 16, 3), batch=8)
    # No dropout: its masks are drawn per replica (a training-time noise source).
    one = i2i_networks.unet_generator((16, 16, 3), 3, filters=4, dropout=0.0)
    want = np.asarray(one(x, training=True))
    strategy = distribute.mirrored()
    assert strategy.num_replicas_in_sync == 2
    with strategy.scope():
        mirrored = i2i_networks.unet_generator((16, 16, 3), 3, filters=4, dropout=0.0)
        mirrored.set_weights(one.get_weights())
        per_replica = unsynchronized(mirrored)

    def forward(model):
        batches = strategy.experimental_distribute_dataset(
            tf.data.Dataset.from_tensors(x))
        out = strategy.run(tf.function(lambda b: model(b, training=True)),
                           args=(next(iter(batches)),))
        return np.concatenate([np.asarray(t) for t in strategy.experimental_local_results(out)])

    np.testing.assert_allclose(forward(mirrored), want, rtol=1e-4, atol=1e-5)
    # Per-replica statistics give other outputs: the comparison above can fail.
    assert np.abs(forward(per_replica) - want).max() > 1e-2


def test_unet_converts_to_tflite(tmp_path):
    model = i2i_networks.unet_generator((16, 16, 4), 3, filters=4)
    x = images((16, 16, 4))
    got, _ = tflite_outputs(model, tmp_path, x)
    np.testing.assert_allclose(got, model(x, training=False), atol=1e-4)


@pytest.mark.parametrize("build", [
    lambda: i2i_networks.unet_generator((16, 16, 3), 2, filters=4, norm="instance"),
    lambda: i2i_networks.patchgan_discriminator((16, 16, 6), filters=4),
], ids=["unet", "patchgan"])
def test_round_trip_gives_identical_outputs(build, tmp_path):
    model = build()
    x = images(model.input_shape[1:])
    np.testing.assert_array_equal(round_trip(model, tmp_path)(x, training=False),
                                  model(x, training=False))

"""The image-to-image networks: shapes, ranges, normalization, TFLite, distribution."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_app import distribute, i2i_networks, performance
from tfgan_app.errors import ConfigError, UsageError
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
    return tflite_runner(path)(image=x)["images"], tflite_ops(path)


def tflite_ops(path):
    from ai_edge_litert.interpreter import Interpreter

    return {op["op_name"] for op in Interpreter(model_path=str(path))._get_ops_details()}


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
    assert [layer.name for layer in model.layers
            if isinstance(layer, i2i_networks.GlobalDropout)] \
        == ["up_dropout_0", "up_dropout_1", "up_dropout_2"]


def test_global_dropout_draws_new_masks_each_training_call():
    layer = i2i_networks.GlobalDropout(0.5, seed=3)
    x = np.ones((64, 8), "float32")
    first, second = np.asarray(layer(x, training=True)), np.asarray(layer(x, training=True))
    assert set(np.unique(first)) == {0.0, 2.0} and abs(first.mean() - 1) < 0.1
    assert not np.array_equal(first, second) and int(layer.calls.numpy()) == 2
    np.testing.assert_array_equal(layer(x), x)
    assert int(layer.calls.numpy()) == 2  # inference draws nothing
    again = i2i_networks.GlobalDropout(0.5, seed=3)
    np.testing.assert_array_equal(again(x, training=True), first)
    other = i2i_networks.GlobalDropout(0.5, seed=4)
    assert not np.array_equal(other(x, training=True), first)


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


def test_unet_training_pass_on_two_replicas_equals_one_device():
    """Batch statistics and dropout masks of the global batch: a training-mode forward
    pass on 2 replicas equals the one-device pass on the same batch."""
    x = images((16, 16, 3), batch=8)
    one = i2i_networks.unet_generator((16, 16, 3), 3, filters=4)
    strategy = distribute.mirrored()
    assert strategy.num_replicas_in_sync == 2
    with strategy.scope():
        mirrored = i2i_networks.unet_generator((16, 16, 3), 3, filters=4)
        mirrored.set_weights(one.get_weights())
        per_replica = unsynchronized(mirrored)
    want = np.asarray(one(x, training=True))

    def forward(model):
        batches = strategy.experimental_distribute_dataset(
            tf.data.Dataset.from_tensors(x))
        out = strategy.run(tf.function(lambda b: model(b, training=True)),
                           args=(next(iter(batches)),))
        return np.concatenate([np.asarray(t) for t in strategy.experimental_local_results(out)])

    np.testing.assert_allclose(forward(mirrored), want, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(mirrored.get_layer("up_dropout_0").calls.numpy(), 1)
    # Per-replica batch statistics give other outputs: the comparison above can fail.
    assert np.abs(forward(per_replica) - want).max() > 1e-2


# -- CycleGAN's and SRGAN's networks ----------------------------------------------------
@pytest.mark.parametrize("size", [16, 32])
def test_resnet_generator_shapes_and_range(size):
    model = i2i_networks.resnet_generator((size, size, 1), 3, filters=4, blocks=2)
    assert model.input.name == "image"
    assert model.get_layer("res_1").output.shape[1:] == (size // 4, size // 4, 16)
    assert isinstance(model.get_layer("res_0_a_norm"), keras.layers.GroupNormalization)
    y = np.asarray(model(images((size, size, 1))))
    assert y.shape == (4, size, size, 3) and np.abs(y).max() <= 1 and y.std() > 0


def test_resnet_generator_size_rules():
    with pytest.raises(ConfigError, match="divisible by 4 and at least 8; got 18x18"):
        i2i_networks.resnet_generator((18, 18, 3), 3, filters=4, blocks=1)
    with pytest.raises(ConfigError, match="got 4x4"):  # reflection needs 2 px at 1/4
        i2i_networks.resnet_generator((4, 4, 3), 3, filters=4, blocks=1)
    assert i2i_networks.resnet_generator((4, 4, 3), 3, filters=4, blocks=1,
                                         downsamplings=1).output.shape[1:] == (4, 4, 3)


def test_reflection_pad_mirrors_the_border():
    x = np.arange(9, dtype="float32").reshape(1, 3, 3, 1)
    y = np.asarray(i2i_networks.ReflectionPad2D(1)(x))[0, :, :, 0]
    np.testing.assert_array_equal(y[0], [4, 3, 4, 5, 4])
    np.testing.assert_array_equal(y[1:4, 1:4], x[0, :, :, 0])


@pytest.mark.parametrize("lr, scale", [(8, 4), (16, 2), (4, 8)])
def test_srresnet_upsamples_by_its_scale(lr, scale):
    model = i2i_networks.srresnet_generator((lr, lr, 3), 3, scale=scale, filters=4, blocks=2)
    assert model.input.name == "image"
    assert sum(isinstance(layer, i2i_networks.PixelShuffle) for layer in model.layers) \
        == scale.bit_length() - 1
    y = np.asarray(model(images((lr, lr, 3)), training=True))
    assert y.shape == (4, lr * scale, lr * scale, 3) and np.abs(y).max() <= 1


@pytest.mark.parametrize("scale", [0, 1, 3, 6])
def test_srresnet_refuses_a_scale_not_a_power_of_two(scale):
    with pytest.raises(ConfigError, match=f"power of 2 >= 2.*not {scale}"):
        i2i_networks.srresnet_generator((8, 8, 3), 3, scale=scale, filters=4, blocks=1)


def test_pixel_shuffle_moves_channels_to_space():
    x = np.arange(8, dtype="float32").reshape(1, 1, 2, 4)  # 2 pixels of 4 channels
    y = np.asarray(i2i_networks.PixelShuffle(2)(x))
    np.testing.assert_array_equal(y[0, :, :, 0], [[0, 1, 4, 5], [2, 3, 6, 7]])


@pytest.mark.parametrize("size, features", [(8, 1), (16, 1), (32, 2)])
def test_srgan_discriminator_gives_one_logit(size, features):
    model = i2i_networks.srgan_discriminator((size, size, 3), filters=4, dense_units=8)
    assert model.input.name == "image"
    strides = [layer.strides[0] for layer in model.layers
               if isinstance(layer, keras.layers.Conv2D)]
    assert strides == i2i_networks.srgan_strides(size, size) and len(strides) == 8
    assert model.get_layer("act_7").output.shape[1:] == (features, features, 32)
    y = np.asarray(model(images((size, size, 3)), training=True))
    assert y.shape == (4, 1) and model.layers[-1].activation is keras.activations.linear


# -- TFLite and serialization -----------------------------------------------------------
GENERATORS = {
    "unet": (lambda: i2i_networks.unet_generator((16, 16, 4), 3, filters=4), set()),
    "resnet": (lambda: i2i_networks.resnet_generator((16, 16, 3), 3, filters=4, blocks=2),
               {"MIRROR_PAD"}),
    "srresnet": (lambda: i2i_networks.srresnet_generator((8, 8, 1), 1, filters=4, blocks=2),
                 {"DEPTH_TO_SPACE", "PRELU"}),
}


@pytest.mark.parametrize("name", GENERATORS)
def test_generator_converts_to_tflite(name, tmp_path):
    build, ops = GENERATORS[name]
    model = build()
    x = images(model.input_shape[1:])
    got, used = tflite_outputs(model, tmp_path, x)
    np.testing.assert_allclose(got, model(x, training=False), atol=1e-4)
    assert ops <= used, used


NETWORKS = {
    **{name: build for name, (build, _) in GENERATORS.items()},
    "unet_instance": lambda: i2i_networks.unet_generator((16, 16, 3), 2, filters=4,
                                                         norm="instance"),
    "patchgan": lambda: i2i_networks.patchgan_discriminator((16, 16, 6), filters=4),
    "srgan_discriminator": lambda: i2i_networks.srgan_discriminator(
        (16, 16, 3), filters=4, dense_units=8),
}


@pytest.mark.parametrize("name", NETWORKS)
def test_round_trip_gives_identical_outputs(name, tmp_path):
    model = NETWORKS[name]()
    x = images(model.input_shape[1:])
    np.testing.assert_array_equal(round_trip(model, tmp_path)(x, training=False),
                                  model(x, training=False))


@pytest.mark.parametrize("name", NETWORKS)
def test_networks_train_in_mixed_precision(name):
    """bfloat16 compute (the CPU and TPU mixed precision): every weight gets a gradient."""
    with performance.dtype_policy("mixed_bfloat16"):
        model = NETWORKS[name]()
    x = images(model.input_shape[1:], batch=2)
    with tf.GradientTape() as tape:
        y = model(x, training=True)
        loss = tf.reduce_mean(tf.cast(y, tf.float32))
    assert y.dtype == tf.bfloat16
    grads = tape.gradient(loss, model.trainable_weights)
    assert all(g is not None and np.isfinite(np.asarray(g, np.float32)).all() for g in grads)


# -- VGG19 features ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def vgg19_weights(tmp_path_factory):
    """A random notop VGG19 and its weights, as .weights.h5 and as keras.applications'
    legacy .h5 files are written."""
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    keras.utils.set_random_seed(1)
    vgg = keras.applications.VGG19(include_top=False, weights=None,
                                   input_shape=(None, None, 3))
    folder = tmp_path_factory.mktemp("vgg19")
    vgg.save_weights(folder / "vgg19.weights.h5")
    with h5py.File(folder / i2i_networks.VGG19_WEIGHTS, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, vgg)
    return vgg, folder


@pytest.mark.parametrize("file", ["vgg19.weights.h5", i2i_networks.VGG19_WEIGHTS])
def test_vgg19_features_are_the_weights_features(vgg19_weights, file):
    vgg, folder = vgg19_weights
    model = i2i_networks.vgg19_features(folder / file, (32, 32, 3))
    assert not model.trainable_weights
    x = images((32, 32, 3), batch=2)
    bgr = (x + 1) * 127.5
    bgr = bgr[..., ::-1] - np.array([103.939, 116.779, 123.68], "float32")
    want = keras.Model(vgg.input, vgg.get_layer("block5_conv4").output)(bgr)
    got = np.asarray(model(x))
    assert got.shape == (2, 2, 2, 512)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_vgg19_features_tile_grayscale(vgg19_weights):
    _, folder = vgg19_weights
    path = folder / "vgg19.weights.h5"
    gray = i2i_networks.vgg19_features(path, (16, 16, 1), layer="block3_conv1")
    rgb = i2i_networks.vgg19_features(path, (16, 16, 3), layer="block3_conv1")
    x = images((16, 16, 1), batch=2)
    np.testing.assert_allclose(gray(x), rgb(np.repeat(x, 3, axis=-1)), atol=1e-5)


def test_vgg19_features_round_trip(vgg19_weights, tmp_path):
    model = i2i_networks.vgg19_features(vgg19_weights[1] / "vgg19.weights.h5", (16, 16, 3))
    x = images((16, 16, 3), batch=2)
    np.testing.assert_array_equal(round_trip(model, tmp_path)(x), model(x))


def test_vgg19_features_refuse_bad_files(vgg19_weights, tmp_path):
    good = vgg19_weights[1] / "vgg19.weights.h5"
    junk = tmp_path / "junk.h5"
    junk.write_text("not weights")
    other = tmp_path / "other.weights.h5"
    dense = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    dense.save_weights(other)
    for path in (tmp_path / "missing.h5", junk, other):
        with pytest.raises(UsageError, match=f"{path}.*notop VGG19 weights of "
                                             "keras.applications"):
            i2i_networks.vgg19_features(path, (32, 32, 3))
    with pytest.raises(ConfigError, match="'block6_conv1' is not a VGG19 layer"):
        i2i_networks.vgg19_features(good, (32, 32, 3), layer="block6_conv1")
    with pytest.raises(ConfigError, match="1 or 3 image channels, not 4"):
        i2i_networks.vgg19_features(good, (32, 32, 4))

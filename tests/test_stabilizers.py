"""The stabilizers: spectral normalization (`model.spectral_norm`), the hinge loss
(`<variant>.loss=hinge`) and the R1 penalty (`<variant>.r1_weight`).

Their 2-replica equivalence cases are in tests/test_distribute.py CASES; the loss
functions' values in tests/test_losses.py.
"""

import csv

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import TINY, run_cli, tiny_model
from keras import layers

from tfgan_app import callbacks as cb
from tfgan_app import losses, performance
from tfgan_app.errors import ConfigError
from tfgan_app.networks import SpectralNorm

RNG = np.random.default_rng(0)
X = RNG.normal(size=(5, 6)).astype(np.float32)


def unit(v):
    return v / np.linalg.norm(v)


def converged(layer, x, calls=40):
    """`layer` after enough training calls for its power iteration to converge."""
    for _ in range(calls):
        layer(x, training=True)
    return layer


# -- spectral normalization: the layer ---------------------------------------------------
def test_spectral_norm_divides_the_kernel_by_its_top_singular_value():
    keras.utils.set_random_seed(0)
    dense = converged(SpectralNorm(layers.Dense(4, name="d"), name="d"), X)
    w, b = dense.layer.kernel.numpy(), dense.layer.bias.numpy()
    sigma = np.linalg.norm(w, 2)
    assert sigma > 1.2  # a real division, not a no-op
    assert np.linalg.norm(dense.normalized_kernel().numpy(), 2) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(dense(X).numpy(), X @ w / sigma + b, rtol=1e-5, atol=1e-6)
    # The kernel variable itself stays W (keras.layers.SpectralNormalization overwrites it).
    np.testing.assert_array_equal(dense.layer.kernel.numpy(), w)

    # The gradient flows through sigma: that of W / ||W||_2 (from an SVD) at convergence.
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(dense(X)))
    ours = tape.gradient(loss, dense.layer.kernel)
    wv = tf.Variable(w)
    with tf.GradientTape() as tape:
        top = tf.linalg.svd(wv, compute_uv=False)[0]
        reference = tf.reduce_sum(tf.square(X @ (wv / top) + b))
    np.testing.assert_allclose(ours, tape.gradient(reference, wv), rtol=1e-4, atol=1e-5)

    # A convolution's kernel [kh, kw, in, out] is normalized as a [kh * kw * in, out] matrix.
    images = RNG.normal(size=(2, 8, 8, 2)).astype(np.float32)
    conv = converged(SpectralNorm(layers.Conv2D(3, 4, strides=2, padding="same")), images, 60)
    k = conv.layer.kernel.numpy()
    expected = keras.ops.conv(images, k / np.linalg.norm(k.reshape(-1, 3), 2), strides=2,
                              padding="same").numpy() + conv.layer.bias.numpy()
    np.testing.assert_allclose(conv(images).numpy(), expected, rtol=1e-4, atol=1e-5)


def test_spectral_norm_runs_one_power_iteration_per_training_call():
    keras.utils.set_random_seed(1)
    dense = SpectralNorm(layers.Dense(3))
    dense(X)  # builds; not training: u stays
    w = dense.layer.kernel.numpy()
    u0 = dense.u.numpy()
    dense(X)
    np.testing.assert_array_equal(dense.u.numpy(), u0)
    u = u0
    for _ in range(2):  # every training call (e.g. D on real, then on fake) iterates once
        dense(X, training=True)
        u = unit(w.T @ unit(w @ u))
        np.testing.assert_allclose(dense.u.numpy(), u, rtol=1e-5)


def test_spectral_norm_iterates_in_float32_under_mixed_precision():
    with performance.dtype_policy("mixed_float16"):
        keras.utils.set_random_seed(2)
        dense = SpectralNorm(layers.Dense(4))
        out = dense(X, training=True)
    w = dense.layer.kernel.numpy()
    assert out.dtype == tf.float16
    assert dense.u.dtype == "float32" and w.dtype == np.float32
    # Keras' own wrapper rounds the float32 kernel to float16 on every training call.
    assert not np.array_equal(w, w.astype(np.float16).astype(np.float32))
    with performance.dtype_policy("mixed_float16"):
        dense(X, training=True)
    np.testing.assert_array_equal(dense.layer.kernel.numpy(), w)
    reference = X @ dense.normalized_kernel().numpy() + dense.layer.bias.numpy()
    np.testing.assert_allclose(dense(X).numpy().astype(np.float32), reference, rtol=1e-2,
                               atol=1e-2)


# -- spectral normalization: the discriminators ------------------------------------------
def kernel_layers(model):
    return [layer for layer in model.layers
            if isinstance(layer, (layers.Dense, layers.Conv2D, SpectralNorm))]


@pytest.mark.parametrize("variant, sets", [
    ("gan", ["data.dataset=ring"]),  # mlp
    ("dcgan", []),
    ("wgan_gp", ["model.architecture=kerasio", "data.image_size=28"]),
    ("cgan", []),  # label channels into the first convolution
    ("acgan", []),  # class head
    ("infogan", []),  # Q head with its hidden layer
])
def test_spectral_norm_wraps_every_discriminator_kernel(variant, sets):
    plain, _ = tiny_model(variant, *sets)
    model, _ = tiny_model(variant, *sets, "model.spectral_norm=true")
    found = kernel_layers(model.discriminator)
    assert len(found) == len(kernel_layers(plain.discriminator)) >= 2
    assert all(isinstance(layer, SpectralNorm) for layer in found)
    # The same layers under the same names, just wrapped; the generator is untouched.
    assert [layer.name for layer in found] == [
        layer.name for layer in kernel_layers(plain.discriminator)]
    assert not [layer for layer in model.generator.layers if isinstance(layer, SpectralNorm)]
    def size(weights):
        return sum(int(np.prod(w.shape)) for w in weights)

    assert size(model.discriminator.trainable_weights) == size(
        plain.discriminator.trainable_weights)
    # ... plus one u per wrapped kernel, as long as its output
    assert size(model.discriminator.non_trainable_weights) - size(
        plain.discriminator.non_trainable_weights) == sum(
            layer.layer.kernel.shape[-1] for layer in found)


def test_spectral_norm_state_is_checkpointed_and_serialized(tmp_path):
    model, data = tiny_model("dcgan", "model.spectral_norm=true", "model.d_norm=none")
    first = model.discriminator.get_layer("conv_0")
    u_before = first.u.numpy()
    model.fit(tf.data.Dataset.from_tensors((data.x[:8], data.y[:8])), epochs=1,
              steps_per_epoch=1, verbose=0, shuffle=False)
    u_trained = first.u.numpy()
    assert not np.allclose(u_trained, u_before)  # the training step updated u
    cb.Checkpointer(tmp_path, model).save(1)
    again, _ = tiny_model("dcgan", "model.spectral_norm=true", "model.d_norm=none")
    assert not np.allclose(again.discriminator.get_layer("conv_0").u.numpy(), u_trained)
    assert cb.Checkpointer(tmp_path, again).restore() == 1
    for a, b in zip(model.discriminator.weights, again.discriminator.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    # get_config / from_config (keras serialization) rebuilds the wrapped discriminator.
    rebuilt = type(model).from_config(model.get_config())
    rebuilt.discriminator.set_weights(model.discriminator.get_weights())
    x = data.x[:4]
    np.testing.assert_allclose(rebuilt.discriminate(x, training=False),
                               model.discriminate(x, training=False), rtol=1e-6)


# -- hinge loss in every GANConfig variant --------------------------------------------------
@pytest.mark.parametrize("variant", ["dcgan", "cgan", "acgan", "infogan", "dragan"])
def test_hinge_loss_is_used_by_every_cross_entropy_variant(variant):
    model, data = tiny_model(variant, f"{variant}.loss=hinge", "model.d_norm=none")
    real, labels = tf.constant(data.x[:8]), tf.constant(data.y[:8])
    cond = model.generator_condition(labels, 8, 0)
    fake = model.generate(model.sample_latent(8, 0), cond)
    d_real = model.discriminate(real, labels)
    d_fake = model.discriminate(fake, cond if model.num_classes else None)
    terms = model.discriminator_loss(real, fake, labels, cond, 0)
    extra = {"acgan": lambda: terms["d_class_loss"],
             "infogan": lambda: terms["info_loss"],
             "dragan": lambda: 10.0 * terms["gradient_penalty"]}.get(variant, lambda: 0.0)()
    np.testing.assert_allclose(terms["d_loss"] - extra,
                               tf.nn.relu(1 - d_real)[:, 0] + tf.nn.relu(1 + d_fake)[:, 0],
                               rtol=1e-5, atol=1e-6)
    g_terms = model.generator_loss(real, fake, labels, cond, 0)
    g_extra = {"acgan": lambda: g_terms["g_class_loss"],
               "infogan": lambda: model.information_loss(model.discriminate_all(fake), cond),
               }.get(variant, lambda: 0.0)()
    np.testing.assert_allclose(g_terms["g_loss"] - g_extra, -d_fake[:, 0], rtol=1e-5,
                               atol=1e-6)


# -- R1 --------------------------------------------------------------------------------------
def test_r1_adds_half_gamma_times_the_real_input_gradient_norm():
    # cgan: the gradient is taken w.r.t. the image, with the real labels held fixed.
    model, data = tiny_model("cgan", "cgan.r1_weight=4", "model.d_norm=none")
    assert "r1_penalty" in [m.name for m in model.metrics]
    real, labels = tf.constant(data.x[:8]), tf.constant(data.y[:8])
    with tf.GradientTape() as tape:
        tape.watch(real)
        logits = model.discriminator([real, labels], training=True)["logit"]
    grads = tape.gradient(logits, real).numpy().reshape(8, -1)
    expected = (grads ** 2).sum(axis=1)
    assert expected.min() > 0
    fakes = [model.generate(model.sample_latent(8, s), labels) for s in (0, 1)]
    with_r1 = model._with_r1(model.discriminator_loss)
    for fake in fakes:  # real data only: the penalty ignores the generated batch
        terms = with_r1(real, fake, labels, labels, 0)
        plain = model.discriminator_loss(real, fake, labels, labels, 0)
        np.testing.assert_allclose(terms["r1_penalty"], expected, rtol=1e-4)
        np.testing.assert_allclose(terms["d_loss"], plain["d_loss"] + 2.0 * expected,
                                   rtol=1e-4)
    # What a training step logs: the batch mean of the unweighted squared norm.
    logs = model.fit(tf.data.Dataset.from_tensors((real, labels)), epochs=1,
                     steps_per_epoch=1, verbose=0, shuffle=False).history
    assert logs["r1_penalty"][0] == pytest.approx(expected.mean(), rel=1e-4)
    off, _ = tiny_model("cgan")
    assert "r1_penalty" not in [m.name for m in off.metrics]  # logged only when on


def test_stabilizers_train_under_float16_loss_scaling():
    """The GPU path (mixed_float16 + loss scaling): penalties stay float32 and finite."""
    sets = ["model.spectral_norm=true", "model.d_norm=none", "dcgan.loss=hinge",
            "dcgan.r1_weight=10"]
    with performance.dtype_policy("mixed_float16"):
        model, data = tiny_model("dcgan", *sets, optimizer=lambda: keras.optimizers.
                                 LossScaleOptimizer(keras.optimizers.Adam(1e-3)))
    real = tf.constant(data.x[:8])
    terms = model._with_r1(model.discriminator_loss)(real, model.generate(
        model.sample_latent(8, 0)), None, None, 0)
    assert terms["r1_penalty"].dtype == tf.float32 and terms["d_loss"].dtype == tf.float32
    logs = model.fit(tf.data.Dataset.from_tensors((real, data.y[:8])), epochs=1,
                     steps_per_epoch=1, verbose=0, shuffle=False).history
    assert set(logs) == {"d_loss", "g_loss", "r1_penalty"}
    assert all(np.isfinite(v[0]) for v in logs.values()) and logs["r1_penalty"][0] > 0


def test_dcgan_trains_with_all_three_stabilizers_through_the_cli(capsys, tmp_path):
    from tfgan_app.train import main

    sets = TINY + ["train.epochs=2", "train.eval_every=0", "model.spectral_norm=true",
                   "model.d_norm=none", "dcgan.loss=hinge", "dcgan.r1_weight=10"]
    code, _, err = run_cli(main, capsys, "--variant", "dcgan", "--output-dir", tmp_path,
                           *[a for s in sets for a in ("--set", s)])
    assert code == 0, err
    with open(tmp_path / "history.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    for row in rows:
        values = [float(row[k]) for k in ("d_loss", "g_loss", "r1_penalty")]
        assert np.isfinite(values).all()
        assert values[2] > 0


# -- what does not fit ---------------------------------------------------------------------
@pytest.mark.parametrize("variant", ["began", "ebgan"])
def test_autoencoder_variants_refuse_spectral_norm_and_r1(variant):
    with pytest.raises(ConfigError, match=f"model.spectral_norm is not supported by {variant}"):
        tiny_model(variant, "model.spectral_norm=true")
    with pytest.raises(ConfigError, match=f"{variant}.r1_weight is not supported by "
                                          f"{variant}: .* autoencoder"):
        tiny_model(variant, f"{variant}.r1_weight=1")
    tiny_model(variant, f"{variant}.r1_weight=0")  # off is fine


def test_hinge_loss_refuses_label_smoothing_and_the_semi_supervised_head():
    with pytest.raises(ConfigError, match="dcgan.label_smoothing sets the real target .* "
                                          "dcgan.loss=hinge has margins"):
        tiny_model("dcgan", "dcgan.loss=hinge", "dcgan.label_smoothing=0.1")
    with pytest.raises(ConfigError, match="acgan.loss=hinge does not fit "
                                          "acgan.semi_supervised=true"):
        tiny_model("acgan", "acgan.loss=hinge", "acgan.semi_supervised=true")
    # Feature matching replaces only G's term: with hinge, D's loss is the hinge loss.
    model, _ = tiny_model("dcgan", "dcgan.loss=hinge", "dcgan.feature_matching=true")
    assert model.options.loss == "hinge"


def test_hinge_is_a_loss_choice_only_where_the_cross_entropy_was(tiny_config):
    assert tiny_config("dragan", "dragan.loss=hinge").options.loss == "hinge"
    with pytest.raises(ConfigError, match="lsgan.loss"):
        tiny_config("lsgan", "lsgan.loss=hinge")
    with pytest.raises(ConfigError, match="model.spectral_norm"):
        tiny_config("dcgan", "model.spectral_norm=maybe")
    assert losses.hinge_generator_loss is losses.wasserstein_generator_loss

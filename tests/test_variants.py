"""Every registered variant: one fit step on tiny networks, and a config round trip."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import one_batch, tiny_model
from PIL import Image

from tfgan_app import registry
from tfgan_app.errors import ConfigError
from tfgan_app.training import train
from tfgan_app.variants import ebgan

# Defaults under which a first step leaves weights in place: WGAN's warm-up makes its first
# steps critic-only (test_wgan_warmup_...); srgan's content-only warm-up leaves D alone, and
# its residual generator's zero last convolution gives the layers before it no gradient
# on the first step (tests/test_srgan.py).
FIRST_STEP_SETS = {"wgan": ["wgan.warmup=false"],
                   "srgan": ["srgan.pretrain_steps=0", "srgan.residual=false"]}


@pytest.mark.parametrize("variant", registry.variant_names())
def test_one_fit_step_updates_both_networks(variant):
    model, data = tiny_model(variant, *FIRST_STEP_SETS.get(variant, []))
    g_before = [w.numpy() for w in model.generator.trainable_weights]
    d_before = [w.numpy() for w in model.discriminator.trainable_weights]
    batch = one_batch(model, data.x, data.y)
    logs = model.fit(batch, epochs=1, steps_per_epoch=1, verbose=0, shuffle=False).history
    assert set(logs) == set(type(model).metric_names)
    assert all(np.isfinite(v[0]) for v in logs.values())
    for before, network in ((g_before, model.generator), (d_before, model.discriminator)):
        # A critic's output bias cancels out of D(G(z)) - D(x): it gets a zero gradient
        # and keeps its initial 0 (wgan.py, WGAN.logit says why it is there).
        critic = network is model.discriminator and type(model).logit == "critic"
        stays = {"logit/bias"} if critic else set()
        pairs = list(zip(before, network.trainable_weights))
        assert [(a.tolist(), w.numpy().tolist()) for a, w in pairs if w.path in stays] == \
            [([0.0], [0.0])] * len(stays)  # before and after
        changed = [not np.allclose(a, w.numpy()) for a, w in pairs if w.path not in stays]
        assert all(changed), f"{network.name}: some weights did not move"


# Every image variant at 32 px RGB and 64 px grayscale (shapes, rendered), and the largest
# size, 128 px, for the two networks that grow a stage per size (dcgan: Radford et al.'s
# 64 px pair has 4 stages; began: one scale per doubling).
NOISE = registry.variant_names(family="noise")  # image-to-image: tests/test_i2i.py
SIZES = [(v, 32, 3) for v in NOISE] + \
    [(v, 64, 1) for v in NOISE] + [("dcgan", 128, 3), ("began", 128, 1)]


@pytest.mark.parametrize("variant, size, channels", SIZES)
def test_image_variants_train_at_32_64_and_128_px_rgb_or_gray(variant, size, channels):
    model, data = tiny_model(variant, "data.dataset=shapes", f"data.image_size={size}",
                             f"data.channels={channels}", "data.shapes_samples=8")
    assert data.shape == (size, size, channels)
    x, y = data.take(np.arange(8))
    logs = model.fit(one_batch(model, x, y), epochs=1, steps_per_epoch=1, verbose=0,
                     shuffle=False).history
    assert all(np.isfinite(v[0]) for v in logs.values())
    z = np.random.default_rng(0).standard_normal((2, model.latent_dim)).astype(np.float32)
    out = model.generate(z, model.example_condition(2)).numpy()
    assert out.shape == (2, size, size, channels) and np.abs(out).max() <= 1.0


def test_dcgan_at_64_px_is_radfords_four_stage_pair():
    model, _ = tiny_model("dcgan", "data.dataset=shapes", "data.image_size=64",
                          "data.shapes_samples=8")
    ups = [layer for layer in model.generator.layers if layer.name.startswith("up_")]
    downs = [layer for layer in model.discriminator.layers
             if layer.name.startswith("conv_")]
    assert len(ups) == len(downs) == 4
    assert model.generator.get_layer("project").output.shape[1:] == (4 * 4 * 8 * 8,)


@pytest.mark.parametrize("variant", registry.variant_names())
def test_get_config_round_trip(variant):
    model, _ = tiny_model(variant)
    clone = type(model).from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    assert clone.generator.output_shape == model.generator.output_shape
    assert clone.discriminator.count_params() == model.discriminator.count_params()


def test_cgan_generates_the_requested_class_rows(tiny_config, tmp_path):
    cfg = tiny_config("cgan")
    result = train(cfg, tmp_path, verbose=0, echo=lambda _: None)
    grid = Image.open(result.last_sample)
    # One row per class (10) by 8 columns of 16 px images with 1 px gaps, upscaled x2.
    assert grid.size == ((8 * 17 + 1) * 2, (10 * 17 + 1) * 2)
    model, _ = tiny_model("cgan")
    assert model.num_classes == 10
    z = np.zeros((2, 8), np.float32)
    a = model.generate(z, np.array([0, 1], np.int32)).numpy()
    assert not np.allclose(a[0], a[1]), "the label must change the output"


def test_conditional_variants_need_labels(tiny_config, tmp_path):
    from tfgan_app.errors import UsageError

    path = tmp_path / "nolabels.npz"
    np.savez(path, x=np.zeros((16, 8, 8), np.uint8))
    cfg = tiny_config("cgan", f"data.dataset=npz:{path}", "data.image_size=16")
    with pytest.raises(UsageError, match="cgan needs class labels, but dataset npz"):
        train(cfg, tmp_path / "run", verbose=0, echo=lambda _: None)


def one_step(variant, *sets):
    model, data = tiny_model(variant, *sets)
    logs = model.fit(one_batch(model, data.x, data.y), epochs=1, steps_per_epoch=1,
                     verbose=0, shuffle=False).history
    return model, {k: v[0] for k, v in logs.items()}


def test_began_updates_k_t_and_logs_the_convergence_measure():
    model, logs = one_step("began", "began.lambda_k=0.5", "began.gamma=0.7")
    balance = 0.7 * logs["loss_real"] - logs["g_loss"]  # L(G(z)) is the generator's loss
    assert logs["k_t"] == 0.0  # the value the discriminator step used
    assert float(model.k_t.numpy()) == pytest.approx(np.clip(0.5 * balance, 0, 1), abs=1e-6)
    assert logs["m_global"] == pytest.approx(logs["loss_real"] + abs(balance), rel=1e-5)
    assert "k_t" in [v.name for v in model.non_trainable_variables]  # checkpointed


def test_began_simultaneous_step_takes_both_gradients_before_either_update():
    """began.simultaneous (the default): D moves by the gradient of L(x) - k_t L(G(z)) and
    G by that of L(G(z)), both of one forward pass with the step's latents and the weights
    from before the step, as the reference implementation's single graph does."""
    lr = 0.1
    model, data = tiny_model("began", "began.k_initial=0.5", "train.diffaugment=",
                             optimizer=lambda: keras.optimizers.SGD(lr))
    batch = one_batch(model, data.x, data.y)
    x = tf.constant(data.x[:8], tf.float32)
    z = model.sample_latent(8, stream=0)  # the step's latents (its step counter is 0)
    g_vars, d_vars = model.generator.trainable_variables, model.discriminator.trainable_variables
    with tf.GradientTape(persistent=True) as tape:
        fake = model.generator(z, training=True)
        loss_real = tf.reduce_mean(tf.abs(x - model.discriminator(x)["reconstruction"]))
        loss_fake = tf.reduce_mean(tf.abs(fake - model.discriminator(fake)["reconstruction"]))
        d_loss = loss_real - 0.5 * loss_fake
    expected_g = [w - lr * g for w, g in zip(g_vars, tape.gradient(loss_fake, g_vars))]
    expected_d = [w - lr * g for w, g in zip(d_vars, tape.gradient(d_loss, d_vars))]
    logs = model.fit(batch, epochs=1, steps_per_epoch=1, verbose=0, shuffle=False).history
    assert logs["g_loss"][0] == pytest.approx(float(loss_fake), rel=1e-5)
    assert logs["loss_fake"][0] == logs["g_loss"][0]  # one reconstruction of G(z)
    for expected, variables in ((expected_g, g_vars), (expected_d, d_vars)):
        for want, got in zip(expected, variables):
            np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("dataset", ["ring", "digits"])
def test_ebgan_denoise_reconstructs_real_data_from_noisy_copies(dataset):
    """ebgan.denoise: D's real energy is the squared error of reconstructing x from x + s e,
    e the update's standard normal draw (stream 0 + DENOISE_STREAM, before the step moves
    the counter); generated samples are reconstructed from themselves."""
    model, data = tiny_model("ebgan", f"data.dataset={dataset}", "ebgan.denoise=0.5",
                             "ebgan.pt_weight=0", "train.diffaugment=",
                             optimizer=lambda: keras.optimizers.SGD(0.0))
    x = tf.constant(data.x[:8], tf.float32)
    noise = 0.5 * model.global_random(tf.random.stateless_normal, 8, x.shape[1:],
                                      ebgan.DENOISE_STREAM)
    z = model.sample_latent(8, stream=0)
    fake = model.generator(z, training=True)

    def energy(inputs, target):
        error = tf.square(target - model.discriminator(inputs)["reconstruction"])
        return float(tf.reduce_mean(error))

    denoised, clean = energy(x + noise, x), energy(x, x)
    logs = model.fit(one_batch(model, data.x, data.y), epochs=1, steps_per_epoch=1,
                     verbose=0, shuffle=False).history
    assert logs["energy_real"][0] == pytest.approx(denoised, rel=1e-5)
    assert abs(denoised - clean) > 1e-3 * clean  # the noise reached the autoencoder
    assert logs["energy_fake"][0] == pytest.approx(energy(fake, fake), rel=1e-5)


def test_began_sequential_step_updates_g_against_the_updated_d():
    """began.simultaneous=false: the other variants' order; G's update then differs from the
    simultaneous one (another latent draw, D already moved), D's first update does not."""
    steps = {}
    for simultaneous in ("true", "false"):
        keras.utils.set_random_seed(0)
        model, data = tiny_model("began", f"began.simultaneous={simultaneous}",
                                 optimizer=lambda: keras.optimizers.SGD(0.1))
        model.fit(one_batch(model, data.x, data.y), epochs=1, steps_per_epoch=1, verbose=0,
                  shuffle=False)
        steps[simultaneous] = model
    same, other = steps["true"], steps["false"]
    for a, b in zip(same.discriminator.weights, other.discriminator.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-7)
    assert not all(np.allclose(a.numpy(), b.numpy())
                   for a, b in zip(same.generator.weights, other.generator.weights))
    with pytest.raises(ConfigError, match="began.d_steps=2 needs began.simultaneous=false"):
        tiny_model("began", "began.d_steps=2")


@pytest.mark.parametrize("size, channels", [(16, 1), (32, 3), (64, 1)])
def test_began_network_is_the_papers(size, channels):
    """Berthelot et al. 2017, 3.5: ELU, no normalization, two 3x3 convs per scale from 8x8,
    stride-2 down-sampling, nearest-neighbour up-sampling, a linear embedding h."""
    from types import SimpleNamespace

    from tfgan_app import networks

    cfg = networks.NetworkConfig(latent_dim=8, architecture="began", began_filters=4)
    data = SimpleNamespace(kind="image", shape=(size, size, channels))
    generator, discriminator = networks.autoencoder_pair(cfg, data, 5, "began")
    scales = {16: 2, 32: 3, 64: 4}[size]
    z = np.random.default_rng(0).normal(size=(3, 8)).astype(np.float32)
    fake = generator(z).numpy()
    assert fake.shape == (3, size, size, channels)
    assert np.abs(fake).max() <= 1.0  # tanh: the export contract's range
    out = discriminator(fake)
    assert out["reconstruction"].shape == (3, size, size, channels)
    assert out["embedding"].shape == (3, 5)

    everything = generator.layers + discriminator.layers
    assert not [layer for layer in everything if "Normalization" in type(layer).__name__]
    convs = {net.name: [layer for layer in net.layers if isinstance(layer, keras.layers.Conv2D)]
             for net in (generator, discriminator)}
    for layer in convs["generator"][:-1] + convs["discriminator"][:-1]:
        assert layer.kernel_size == (3, 3) and layer.activation is keras.activations.elu
    assert convs["generator"][-1].activation is keras.activations.linear
    assert generator.get_layer("sample").activation is keras.activations.tanh
    assert convs["discriminator"][-1].name == "reconstruction"
    assert convs["discriminator"][-1].activation is keras.activations.linear
    assert discriminator.get_layer("embedding").activation is keras.activations.linear

    # Encoder: n, then per scale two convs of n * (scale + 1) and a stride-2 conv between
    # scales; decoder and generator: two convs of n per scale, then the output conv.
    n = 4
    encoder = [(n, 1)]
    for i in range(scales):
        encoder += [(n * (i + 1), 1)] * 2 + ([(n * (i + 1), 2)] if i < scales - 1 else [])
    decoder = [(n, 1)] * (2 * scales) + [(channels, 1)]
    assert [(c.filters, c.strides[0]) for c in convs["discriminator"]] == encoder + decoder
    assert [(c.filters, c.strides[0]) for c in convs["generator"]] == decoder
    for net, prefix in ((generator, ""), (discriminator, "dec_")):
        assert net.get_layer(f"{prefix}project").output.shape == (None, 8 * 8 * n)
        ups = [layer for layer in net.layers if isinstance(layer, keras.layers.UpSampling2D)]
        assert len(ups) == scales - 1 and all(u.interpolation == "nearest" for u in ups)
    assert discriminator.get_layer(f"enc_{scales - 1}_1").output.shape == (None, 8, 8,
                                                                            n * scales)


@pytest.mark.parametrize("skip", [False, True])
def test_began_skip_connections_carry_h0_to_every_upsampled_stage(skip):
    """model.began_skip (3.5): after each up-sampling, h0 (the 8x8 projection) up-sampled
    to the same size is concatenated to the stage's input, in generator and decoder."""
    from types import SimpleNamespace

    from tfgan_app import networks

    n = 4
    cfg = networks.NetworkConfig(latent_dim=8, architecture="began", began_filters=n,
                                 began_skip=skip)
    data = SimpleNamespace(kind="image", shape=(32, 32, 1))  # 3 scales: 8, 16, 32
    generator, discriminator = networks.autoencoder_pair(cfg, data, 5, "began")
    for net, prefix in ((generator, ""), (discriminator, "dec_")):
        names = [layer.name for layer in net.layers]
        assert [name for name in names if f"{prefix}skip_" in name and "up" not in name] == (
            [f"{prefix}skip_1", f"{prefix}skip_2"] if skip else [])
        for i, size in ((1, 16), (2, 32)):
            conv = net.get_layer(f"{prefix}conv_{i}_0")
            assert conv.kernel.shape == (3, 3, 2 * n if skip else n, n)
            if skip:
                carried = net.get_layer(f"{prefix}skip_up_{i}")
                assert carried.input is net.get_layer(f"{prefix}conv_0_0").input  # h0
                assert carried.output.shape == (None, size, size, n)
    z = np.random.default_rng(0).normal(size=(2, 8)).astype(np.float32)
    assert discriminator(generator(z))["reconstruction"].shape == (2, 32, 32, 1)


def test_began_trains_on_its_own_network_by_default():
    # model.architecture=auto: the code default (configs/datasets/digits.yaml picks dcgan)
    model, logs = one_step("began", "model.architecture=auto")
    assert model.discriminator.get_layer("enc_in").filters == 8  # TINY's model.began_filters
    assert not [layer for layer in model.generator.layers
                if isinstance(layer, keras.layers.BatchNormalization)]
    assert all(np.isfinite(v) for v in logs.values())


def test_began_architecture_needs_an_autoencoder_variant_and_its_image_sizes():
    from tfgan_app.errors import ConfigError

    model, _ = tiny_model("ebgan", "model.architecture=began")  # an autoencoder variant too
    assert model.discriminator.get_layer("enc_in").filters == 8
    for variant in ("dcgan", "acgan", "infogan"):
        with pytest.raises(ConfigError, match="only the autoencoder variants .began, ebgan."):
            tiny_model(variant, "model.architecture=began")
    with pytest.raises(ConfigError, match=r"8 x 2\^k pixels \(16, 32, 64, 128\); got 28x28"):
        tiny_model("began", "data.image_size=28", "model.architecture=auto")
    with pytest.raises(ConfigError, match="model.architecture=began needs image data"):
        tiny_model("began", "data.dataset=ring", "model.architecture=began")
    model, _ = tiny_model("began", "model.architecture=dcgan")  # the former network stays
    assert [layer.name for layer in model.discriminator.layers if "enc" in layer.name] == [
        "enc_0", "enc_1"]


def test_wgan_clips_every_critic_weight():
    model, _ = one_step("wgan", "wgan.clip=0.02")
    for w in model.discriminator.trainable_weights:
        assert np.abs(w.numpy()).max() <= 0.02 + 1e-7, w.path
    # The output bias has a zero gradient (it cancels out of the loss): it stays 0.
    assert model.discriminator.get_layer("logit").bias.numpy().tolist() == [0.0]


def test_wgan_warmup_runs_100_critic_updates_per_generator_update_at_first():
    # d_steps 34: a warm-up generator update waits for ceil(100 / 34) = 3 steps.
    model, data = tiny_model("wgan", "data.dataset=ring", "wgan.d_steps=34")
    batch = one_batch(model, data.x, data.y)
    moved = []
    for _ in range(6):
        before = [w.numpy() for w in model.generator.trainable_weights]
        model.fit(batch, epochs=1, steps_per_epoch=1, verbose=0, shuffle=False)
        moved.append(any(not np.array_equal(a, w.numpy())
                         for a, w in zip(before, model.generator.trainable_weights)))
    assert moved == [False, False, True] * 2
    assert int(model.generator_updates.numpy()) == 2 and int(model.critic_rounds.numpy()) == 0
    assert int(model.d_optimizer.iterations.numpy()) == 6 * 34
    # Past the warm-up (25 updates) a step is one generator update, except every 500th.
    model.generator_updates.assign(25)
    before = [w.numpy() for w in model.generator.trainable_weights]
    model.fit(batch, epochs=1, steps_per_epoch=1, verbose=0, shuffle=False)
    assert int(model.generator_updates.numpy()) == 26
    assert not np.array_equal(before[0], model.generator.trainable_weights[0].numpy())
    model.generator_updates.assign(500)
    model.fit(batch, epochs=1, steps_per_epoch=1, verbose=0, shuffle=False)
    assert int(model.generator_updates.numpy()) == 500
    # The generator's moving average is undone with the update it follows.
    model, _ = tiny_model("wgan", "data.dataset=ring", "wgan.d_steps=34", "train.g_ema=0.5")
    initial = [w.numpy() for w in model.ema_generator.weights]
    for moves in (False, False, True):
        model.fit(batch, epochs=1, steps_per_epoch=1, verbose=0, shuffle=False)
        same = all(np.array_equal(a, w.numpy())
                   for a, w in zip(initial, model.ema_generator.weights))
        assert same != moves


def test_fresh_batches_give_each_critic_update_its_own_rows():
    from tfgan_app.data.pipeline import steps_per_epoch, training_batches

    model, data = tiny_model("wgan_gp", "data.dataset=ring", "wgan_gp.d_steps=3")
    assert model.real_batches_per_step(model.options) == 3
    x, y = next(iter(training_batches(data, batch_size=8, seed=0, first_step=0,
                                      last_step=1, group=3)))
    assert x.shape == (8, 3, 2) and y.shape == (8, 3)
    flat, _ = next(iter(training_batches(data, batch_size=24, seed=0, first_step=0,
                                         last_step=1)))
    # Update i reads rows i, i + 3, ... of the step's 24-row batch: all distinct rows.
    np.testing.assert_array_equal(x.numpy().reshape(24, 2), flat.numpy())
    # An epoch stays one pass of batch_size steps (64 toy points / 8), not / 24.
    assert steps_per_epoch(data, 8, 0, real_batches=3) == 8
    shared, _ = tiny_model("wgan_gp", "data.dataset=ring", "wgan_gp.fresh_batches=false")
    assert shared.real_batches_per_step(shared.options) == 1


def test_acgan_semi_supervised_hides_labels_per_class(tiny_config):
    from tfgan_app.data import load_from_config
    from tfgan_app.variants.acgan import ACGAN

    sets = ["acgan.semi_supervised=true", "acgan.labeled_fraction=0.25", "data.max_examples=0"]
    cfg = tiny_config("acgan", *sets)
    data = load_from_config(cfg.data, seed=0)
    seen = ACGAN.prepare_data(data, cfg.options, seed=0)
    assert np.array_equal(seen.x, data.x)
    known = seen.y >= 0
    assert np.array_equal(seen.y[known], data.y[known])
    for c in range(10):
        assert known[data.y == c].sum() == round(0.25 * (data.y == c).sum())
    again = ACGAN.prepare_data(data, cfg.options, seed=0)
    assert np.array_equal(again.y, seen.y)  # the seed fixes which labels are seen
    model, _ = tiny_model("acgan", *sets)
    assert "logit" not in model.discriminator.output  # the logit is logsumexp(classes)


def test_acgan_labeled_fraction_needs_semi_supervised():
    from tfgan_app.errors import ConfigError

    with pytest.raises(ConfigError, match="labeled_fraction < 1 needs acgan.semi_supervised"):
        tiny_model("acgan", "acgan.labeled_fraction=0.5")


def test_infogan_grids_vary_one_code_at_a_time(tiny_config, tmp_path):
    result = train(tiny_config("infogan"), tmp_path, verbose=0, echo=lambda _: None)
    names = sorted(p.name for p in (tmp_path / "samples").iterdir())
    assert names == ["epoch_0001.png", "epoch_0001_code0.png", "epoch_0001_code1.png"]
    assert Image.open(result.last_sample).size == ((8 * 17 + 1) * 2, (10 * 17 + 1) * 2)
    model, _ = tiny_model("infogan")
    grids = model.sample_grids(np.random.default_rng(0))
    sweep = grids[1]
    assert np.allclose(sweep.cond["code"][:8, 0], np.linspace(-2, 2, 8))
    assert np.all(sweep.cond["code"][:, 1] == 0)
    assert np.all(sweep.z[:8] == sweep.z[0])  # one latent per row: only the code changes
    out = model.generate(sweep.z[:2], {k: v[:2] for k, v in sweep.cond.items()}).numpy()
    assert not np.allclose(out[0], out[1]), "the continuous code must change the output"


def assert_only_the_first_group_moves(model, x, changed, group, keys):
    """`changed` is `x` with another sample of the first `group` samples changed: the
    discriminator's outputs `keys` (one per sample) move for sample 0, and stay for the
    samples of the later groups."""
    before, after = model.discriminator(x), model.discriminator(changed)
    for key in keys:
        a, b = np.asarray(before[key]), np.asarray(after[key])
        assert not np.allclose(a[0], b[0]), key
        np.testing.assert_allclose(a[group:], b[group:], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("variant, sets", [
    ("began", ["data.dataset=ring", "model.pack=1"]),  # the MLP autoencoder of points
    ("ebgan", ["data.dataset=ring"]),
    ("began", []),  # the paper's conv autoencoder
    ("ebgan", ["model.architecture=dcgan"]),  # the DCGAN-shaped one
])
def test_autoencoder_bottleneck_sees_its_group_spread(variant, sets):
    """model.minibatch_std in an autoencoder: each sample's reconstruction and embedding
    depend on the other samples of its group (contiguous runs of 4), not on other groups."""
    model, data = tiny_model(variant, "model.minibatch_std=4", *sets)
    assert model.judges_groups()
    x, _ = data.take(np.arange(8))
    changed = np.asarray(x, np.float32).copy()
    changed[1] = -changed[1] + 0.5  # another sample of sample 0's group
    assert_only_the_first_group_moves(model, x, changed, 4, ("reconstruction", "embedding"))


@pytest.mark.parametrize("variant", ["wgan_gp", "dragan"])
def test_minibatch_std_is_rejected_with_a_per_example_gradient_penalty(variant):
    from tfgan_app.errors import ConfigError

    with pytest.raises(ConfigError, match=rf"model.minibatch_std=4 is not supported by "
                                          rf"{variant} with its gradient penalty: .*pack"):
        tiny_model(variant, "model.minibatch_std=4")
    tiny_model(variant, "model.pack=2")  # packing keeps per-pack norms
    with pytest.raises(ConfigError, match="not supported by dcgan with its R1 penalty"):
        tiny_model("dcgan", "model.minibatch_std=4", "dcgan.r1_weight=10")


def test_pack_layer_concatenates_contiguous_samples():
    from tfgan_app.networks import Pack

    points = np.arange(12, dtype=np.float32).reshape(6, 2)
    np.testing.assert_array_equal(Pack(3)(points), points.reshape(2, 6))
    images = np.random.default_rng(0).normal(size=(4, 5, 5, 2)).astype(np.float32)
    packed = np.asarray(Pack(2)(images))
    assert packed.shape == (2, 5, 5, 4)  # channels of samples 0 and 1, then 2 and 3
    np.testing.assert_array_equal(packed[1, ..., :2], images[2])
    np.testing.assert_array_equal(packed[1, ..., 2:], images[3])
    with pytest.raises(tf.errors.InvalidArgumentError, match="multiple of the pack size"):
        Pack(4)(points)


def test_unpack_layer_inverts_pack():
    from tfgan_app.networks import Pack, Unpack

    points = np.arange(12, dtype=np.float32).reshape(6, 2)
    np.testing.assert_array_equal(Unpack(3)(Pack(3)(points)), points)
    images = np.random.default_rng(0).normal(size=(4, 5, 5, 3)).astype(np.float32)
    np.testing.assert_array_equal(Unpack(2)(Pack(2)(images)), images)
    assert Unpack(2).compute_output_shape((None, 5, 5, 6)) == (None, 5, 5, 3)


def test_packed_discriminator_judges_groups():
    from tfgan_app.errors import ConfigError

    model, _ = tiny_model("gan", "data.dataset=ring", "model.pack=4")
    assert model.discriminate(np.zeros((8, 2), np.float32)).shape == (2, 1)
    model, _ = tiny_model("dcgan", "model.pack=2")
    assert model.discriminate(np.zeros((8, 16, 16, 1), np.float32)).shape == (4, 1)
    for variant in ("cgan", "acgan", "infogan"):
        with pytest.raises(ConfigError, match=f"model.pack=2 is not supported by {variant}"):
            tiny_model(variant, "model.pack=2")


@pytest.mark.parametrize("variant,sets", [
    ("began", ["data.dataset=ring"]), ("ebgan", ["data.dataset=ring"]),
    ("began", []), ("ebgan", []), ("ebgan", ["model.architecture=began"])])
def test_packed_autoencoder_reconstructs_each_pack_as_one(variant, sets):
    """model.pack for began and ebgan: one embedding per pack, one reconstruction per
    sample, and a sample's reconstruction depends on its pack-mates (and only on them)."""
    model, _ = tiny_model(variant, *sets, "model.pack=2")
    assert model.judges_groups() and model.discriminator_curve(np.zeros((4, 2))) is None
    shape = (2,) if "data.dataset=ring" in sets else (16, 16, 1)
    x = np.random.default_rng(0).normal(size=(6, *shape)).astype(np.float32)
    out = model.discriminator(x)
    assert out["reconstruction"].shape == x.shape and out["embedding"].shape[0] == 3
    changed = x.copy()
    changed[1] += 1.0  # sample 1: the second of pack 0
    assert_only_the_first_group_moves(model, x, changed, 2, ("reconstruction",))


@pytest.mark.parametrize("variant", ["gan", "ebgan"])
def test_point_scale_runs_the_networks_at_unit_scale(variant):
    """model.point_scale=s with the weights of s=1: the generator's points are s times as
    far out, and the discriminator reads s*x exactly as before it read x (an autoencoder
    reconstructs s*x as s times its former reconstruction)."""
    # both explicit: configs/datasets/grid.yaml gives some variants (ebgan) a point scale
    plain, _ = tiny_model(variant, "data.dataset=grid", "model.point_scale=1")
    scaled, _ = tiny_model(variant, "data.dataset=grid", "model.point_scale=4")
    scaled.generator.set_weights(plain.generator.get_weights())
    scaled.discriminator.set_weights(plain.discriminator.get_weights())
    rng = np.random.default_rng(0)
    z = rng.normal(size=(4, plain.generator.inputs[0].shape[-1])).astype(np.float32)
    np.testing.assert_allclose(scaled.generator(z), 4 * plain.generator(z).numpy(),
                               rtol=1e-5, atol=1e-5)
    x = rng.normal(size=(4, 2)).astype(np.float32)
    before, after = plain.discriminator(x), scaled.discriminator(4 * x)
    assert before.keys() == after.keys()
    for key in before:  # the logit, or the embedding and the reconstruction (in data units)
        factor = 4 if key == "reconstruction" else 1
        np.testing.assert_allclose(after[key], factor * before[key].numpy(), rtol=1e-5,
                                   atol=1e-5, err_msg=key)


def test_pack_must_divide_the_replica_batch(tiny_config, tmp_path):
    from tfgan_app.errors import UsageError

    with pytest.raises(UsageError, match=r"model.pack=3 must divide the per-replica batch"):
        train(tiny_config("gan", "data.dataset=ring", "model.pack=3"), tmp_path,
              verbose=0, echo=lambda _: None)


@pytest.mark.parametrize("variant", ["began", "ebgan", "infogan", "wgan_gp", "cgan"])
def test_variants_train_on_toy_points(tiny_config, variant, tmp_path):
    result = train(tiny_config(variant, "data.dataset=ring"), tmp_path, verbose=0,
                   echo=lambda _: None)
    assert all(np.isfinite(v[-1]) for v in result.history.values())
    assert result.last_sample.is_file()


UNCONDITIONAL = [v for v in NOISE if not registry.get_variant(v).conditional]
# What each discriminator's output over x means in the 1-D density plot.
PROBABILITY = {"gan", "dcgan", "dragan", "infogan"}  # sigmoid of a real/fake logit


@pytest.mark.parametrize("variant", UNCONDITIONAL)
def test_every_unconditional_variant_has_a_verdict_on_1d_points(variant):
    model, data = tiny_model(variant, "data.dataset=gauss1d")
    assert data.shape == (1,) and model.generator.output_shape == (None, 1)
    x = np.linspace(-5, 3, 41, dtype=np.float32)[:, None]
    curve = model.discriminator_curve(x)
    assert curve.values.shape == (41,) and np.isfinite(curve.values).all()
    assert curve.probability == (variant in PROBABILITY) and curve.label
    if curve.probability:
        logits = model.discriminate(x, training=False).numpy()[:, 0]
        np.testing.assert_allclose(curve.values, 1 / (1 + np.exp(-logits)), rtol=1e-5)
    elif variant in ("wgan", "wgan_gp", "lsgan"):  # the raw output
        np.testing.assert_allclose(curve.values,
                                   model.discriminate(x, training=False).numpy()[:, 0])
    else:  # began, ebgan: reconstruction errors, >= 0
        reconstruction = model.discriminate_all(x, training=False)["reconstruction"].numpy()
        error = np.abs(x - reconstruction) if variant == "began" else (x - reconstruction) ** 2
        np.testing.assert_allclose(curve.values, error[:, 0], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("variant", ["cgan", "acgan"])
def test_conditional_variants_refuse_unlabelled_gauss1d(tiny_config, variant, tmp_path):
    from tfgan_app.errors import UsageError

    with pytest.raises(UsageError, match=f"variant {variant} needs class labels, but "
                                         "dataset gauss1d has none"):
        train(tiny_config(variant, "data.dataset=gauss1d"), tmp_path, verbose=0,
              echo=lambda _: None)


def test_a_discriminator_of_groups_draws_no_curve_and_says_why(tmp_path):
    from tfgan_app import plotting

    for sets in (["model.pack=2"], ["model.minibatch_std=4"]):
        model, data = tiny_model("gan", "data.dataset=gauss1d", *sets)
        assert model.discriminator_curve(np.zeros((5, 1), np.float32)) is None
    samples = np.asarray(model.generate(np.zeros((10, 8), np.float32)))
    plotting.save_model_density_1d(model, data, samples, tmp_path / "d.png", title="t")
    with Image.open(tmp_path / "d.png") as image:
        assert image.format == "PNG" and image.size == (750, 520)


def test_image_architectures_refuse_1d_points():
    from tfgan_app.errors import ConfigError

    for variant, architecture in (("dcgan", "dcgan"), ("wgan_gp", "kerasio"),
                                  ("began", "began")):
        with pytest.raises(ConfigError, match=f"model.architecture={architecture} needs "
                                              "image data, but this dataset is points"):
            tiny_model(variant, "data.dataset=gauss1d", f"model.architecture={architecture}")


def test_one_hot_layer_matches_tf_one_hot():
    """networks.OneHot (a GATHER, for int8 TFLite) encodes labels exactly like tf.one_hot."""
    from tfgan_app.networks import OneHot

    labels = np.array([0, 3, 9, 2], np.int32)
    want = tf.one_hot(labels, 10).numpy()
    np.testing.assert_array_equal(np.asarray(OneHot(10)(labels)), want)
    np.testing.assert_array_equal(np.asarray(OneHot(10)(labels[:, None])), want)

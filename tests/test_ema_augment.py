"""The two stabilizers every variant can use: DiffAugment (train.diffaugment) and the moving
average of the generator (train.g_ema). Their 2-replica cases are in test_distribute.py, the
resume check in test_training.py."""

import json
import threading

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import run_cli, tiny_model

from tfgan_app import augment, distribute, performance
from tfgan_app.errors import ConfigError

RNG = np.random.default_rng(0)


def images(batch=4, size=16, channels=3):
    return RNG.uniform(-1, 1, (batch, size, size, channels)).astype(np.float32)


# -- the policy string ----------------------------------------------------------------------
def test_policy_parsing():
    assert augment.parse_policy("") == ()
    assert augment.parse_policy("color, translation,cutout") == (
        "color", "translation", "cutout")
    assert augment.parse_policy("cutout,color") == ("cutout", "color")  # applied in order
    assert augment.num_draws(("color", "cutout")) == 5
    with pytest.raises(ConfigError, match=r"'train.diffaugment': unknown policy 'flip' in "
                                          r"'color,flip'; use .*color, translation, cutout"):
        augment.parse_policy("color,flip")
    with pytest.raises(ConfigError, match="unknown policy ''"):
        augment.parse_policy("color,")
    with pytest.raises(ConfigError, match="'cutout' is named twice"):
        augment.parse_policy("cutout,cutout")


def test_bad_settings_are_config_errors():
    with pytest.raises(ConfigError, match="unknown policy 'zoom'"):
        tiny_model("dcgan", "train.diffaugment=translation,zoom")
    with pytest.raises(ConfigError, match=r"train.diffaugment=color transforms images, but "
                                          r"ring is 2-D points"):
        tiny_model("gan", "data.dataset=ring", "train.diffaugment=color")
    with pytest.raises(ConfigError, match=r"'train.g_ema' must be < 1"):
        tiny_model("dcgan", "train.g_ema=1")
    with pytest.raises(ConfigError, match=r"'train.g_ema' must be >= 0"):
        tiny_model("dcgan", "train.g_ema=-0.5")


# -- the transforms -----------------------------------------------------------------------
def test_brightness_saturation_contrast_values():
    x = images()
    half = np.full((4, 1), 0.5, np.float32)
    # saturation x1 and contrast x1: brightness alone, u - 0.5 in [-0.5, 0.5)
    u = np.concatenate([np.array([[0.0], [0.25], [0.75], [0.999]], np.float32), half, half], 1)
    out = augment.color(x, u).numpy()
    np.testing.assert_allclose(out - x, np.broadcast_to(
        (u[:, 0] - 0.5)[:, None, None, None], x.shape), atol=1e-6)
    # saturation 0: every pixel becomes its channel mean (grey)
    out = augment.color(x, np.array([[0.5, 0.0, 0.5]] * 4, np.float32)).numpy()
    np.testing.assert_allclose(out, np.broadcast_to(x.mean(axis=3, keepdims=True), x.shape),
                               atol=1e-6)
    # saturation x2 around the channel mean; contrast x0.5 around the image mean
    out = augment.color(x, np.array([[0.5, 1.0, 0.5]] * 4, np.float32)).numpy()
    mean = x.mean(axis=3, keepdims=True)
    np.testing.assert_allclose(out, 2 * (x - mean) + mean, atol=1e-5)
    out = augment.color(x, np.array([[0.5, 0.5, 0.0]] * 4, np.float32)).numpy()
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    np.testing.assert_allclose(out, 0.5 * (x - mean) + mean, atol=1e-6)
    # random draws: saturation and contrast keep each image's mean, brightness moves it
    u = RNG.uniform(size=(4, 3)).astype(np.float32)
    out = augment.color(x, u).numpy()
    assert out.shape == x.shape and out.dtype == np.float32
    np.testing.assert_allclose(out.mean(axis=(1, 2, 3)), x.mean(axis=(1, 2, 3)) + u[:, 0] - 0.5,
                               atol=1e-5)
    assert not np.allclose(out - out.mean(axis=(1, 2, 3), keepdims=True),
                           x - x.mean(axis=(1, 2, 3), keepdims=True))


def test_translation_by_a_known_offset_moves_pixels():
    x = images(batch=2, size=8, channels=2)
    out = augment.translate(x, tf.constant([1, -2]), tf.constant([0, 3])).numpy()
    want = np.zeros_like(x)
    want[0, :7] = x[0, 1:]  # out[i, j] = x[i + 1, j]: content moves up one row
    want[1, 2:, :5] = x[1, :6, 3:]  # out[i, j] = x[i - 2, j + 3]: down 2, left 3
    np.testing.assert_array_equal(out, want)


def test_translation_shifts_up_to_an_eighth_of_the_size():
    x = np.zeros((5, 16, 16, 1), np.float32)
    x[:, 8, 8] = 1.0  # one lit pixel
    u = np.array([[0.0, 0.5], [0.9999, 0.5], [0.5, 0.0], [0.5, 0.9999], [0.5, 0.5]],
                 np.float32)  # s = int(16 / 8 + 0.5) = 2: shifts -2 .. 2
    out = augment.translation(x, u).numpy()
    lit = [tuple(np.argwhere(o[..., 0] == 1)[0]) for o in out]
    assert lit == [(10, 8), (6, 8), (8, 10), (8, 6), (8, 8)]
    assert out.sum() == 5  # nothing lost or duplicated
    shifts = augment._uniform_int(tf.constant(RNG.uniform(size=2000), tf.float32), -2, 3)
    assert sorted(np.unique(shifts.numpy())) == [-2, -1, 0, 1, 2]


def test_cutout_zeroes_a_quarter_of_the_image_inside_it():
    x = np.ones((3, 16, 16, 2), np.float32)
    out = augment.cut(x, tf.constant([8, 0, 15]), tf.constant([8, 0, 4]), 8, 8).numpy()
    zero = out[..., 0] == 0
    np.testing.assert_array_equal(zero[0], np.pad(np.ones((8, 8), bool), 4))  # rows 4-11
    assert zero[0].mean() == 0.25  # a half-size square: a quarter of the area
    assert zero[1].sum() == 4 * 4  # clipped at the corner: rows and columns 0-3
    assert zero[2].sum() == 5 * 8  # rows 11-15, columns 0-7
    assert (out[..., 0] == out[..., 1]).all()  # every channel
    # random centres: between the corner's 1/16 and the full 1/4
    out = augment.cutout(np.ones((200, 16, 16, 1), np.float32),
                         RNG.uniform(size=(200, 2)).astype(np.float32)).numpy()
    fraction = (out == 0).mean(axis=(1, 2, 3))
    assert fraction.min() >= 1 / 16 and fraction.max() == 0.25
    # rows (and columns) cut for each of the 17 centres 0..16, drawn independently
    rows = [min(16, c + 4) - max(0, c - 4) for c in range(17)]
    assert fraction.mean() == pytest.approx((np.mean(rows) / 16) ** 2, abs=0.02)


def test_fill_is_what_translation_shifts_in_and_cutout_covers():
    x = np.full((2, 16, 16, 1), 0.5, np.float32)
    u = np.array([[0.0, 0.999], [0.5, 0.5]], np.float32)  # shifts (-2, +2) and (0, 0)
    for fill in (0.0, -1.0):
        out = augment.translation(x, u, fill).numpy()[..., 0]
        np.testing.assert_array_equal(out[0, :2], fill)  # shifted in from above
        np.testing.assert_array_equal(out[0, :, -2:], fill)  # and from the right
        np.testing.assert_array_equal(out[0, 2:, :-2], 0.5)  # the image itself, unchanged
        np.testing.assert_array_equal(out[1], 0.5)  # no shift
        out = augment.cutout(x, u, fill).numpy()[..., 0]
        assert (out[1] == fill).sum() == 8 * 8 and set(np.unique(out[1])) == {fill, 0.5}
    # with the default fill (the paper's 0) the policy is the zero-filled one, to the bit
    policy, draws = ("translation", "cutout"), RNG.uniform(size=(2, 4)).astype(np.float32)
    x = images(batch=2, channels=1)
    np.testing.assert_array_equal(
        augment.diff_augment(x, policy, draws),
        augment.cutout(augment.translation(x, draws[:, :2]), draws[:, 2:]))
    model, _ = tiny_model("dcgan", "train.diffaugment=cutout", "train.diffaugment_fill=-1")
    with model.augmenting(0):
        out = model.augment(tf.constant(x)).numpy()
    assert ((out == -1).sum(axis=(1, 2, 3)) >= 4 * 4).all()  # at least a corner's square
    assert model.get_config()["diffaugment_fill"] == -1.0


def test_gradients_flow_through_every_transform():
    x = tf.constant(images(batch=2, size=8))
    weights = tf.constant(RNG.standard_normal((2, 8, 8, 3)).astype(np.float32))
    u = tf.constant([[0.3, 0.7, 0.2, 0.9, 0.1, 0.5, 0.5]] * 2, tf.float32)
    policy = ("color", "translation", "cutout")
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(augment.diff_augment(x, policy, u) * weights)
    grad = tape.gradient(total, x).numpy()
    assert np.isfinite(grad).all() and np.abs(grad).sum() > 0
    # translation and cutout alone: the gradient is the weights moved back, 0 where cut
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = augment.cut(augment.translate(x, tf.constant([1, 0]), tf.constant([0, -1])),
                          tf.constant([2, 6]), tf.constant([2, 6]), 4, 4)
        total = tf.reduce_sum(out * weights)
    grad = tape.gradient(total, x).numpy()
    kept = weights.numpy() * (out.numpy() != 0)
    np.testing.assert_allclose(grad[0, 1:], kept[0, :7], atol=1e-6)
    np.testing.assert_allclose(grad[1, :, :7], kept[1, :, 1:], atol=1e-6)
    assert (grad[0, 0] == 0).all() and (grad[1, :, 7] == 0).all()


# -- inside the model ----------------------------------------------------------------------
def test_each_discriminator_call_draws_its_own_reproducible_transform():
    model, _ = tiny_model("dcgan", "train.diffaugment=color,translation,cutout")
    x = tf.constant(images(batch=8, channels=1))
    np.testing.assert_array_equal(model.discriminate_all(x)["input"], x)  # not in an update
    with model.augmenting(0):
        first = model.discriminate_all(x)["input"].numpy()
        second = model.discriminate_all(x)["input"].numpy()
    assert not np.allclose(first, second)  # real and generated get different transforms
    assert not np.allclose(first, x.numpy())
    with model.augmenting(0):
        np.testing.assert_array_equal(model.augment(x).numpy(), first)  # same seed and call
    with model.augmenting(1):
        assert not np.allclose(model.augment(x).numpy(), first)  # the next critic update
    model.g_optimizer.iterations.assign(1)
    with model.augmenting(0):
        assert not np.allclose(model.augment(x).numpy(), first)  # the next step
    np.testing.assert_array_equal(model.discriminate_all(x)["input"], x)


def test_replica_threads_count_their_calls_apart():
    """MirroredStrategy traces each replica in its own thread, switching between them at
    every cross-replica call: each must count its own discriminator calls."""
    model, _ = tiny_model("dcgan", "train.diffaugment=cutout")
    x = tf.constant(images(batch=4, channels=1))
    with model.augmenting(0):
        want = [model.augment(x).numpy() for _ in range(3)]
    got = {}

    def replica(name, meanwhile=None):
        with model.augmenting(0):
            got[name] = [model.augment(x).numpy()]
            if meanwhile:
                meanwhile()
            got[name] += [model.augment(x).numpy() for _ in range(2)]

    def other_replica():
        thread = threading.Thread(target=replica, args=("b",))
        thread.start()
        thread.join()

    replica("a", meanwhile=other_replica)
    for name in "ab":
        for a, b in zip(got[name], want):
            np.testing.assert_array_equal(a, b)


def test_autoencoder_discriminators_reconstruct_what_they_saw():
    # fill 0, not the digits' -1 (their background): the cut square shows as zeros
    model, data = tiny_model("began", "train.diffaugment=cutout", "train.diffaugment_fill=0")
    x = tf.constant(data.x[:4].astype(np.float32))
    plain = model.discriminate_all(x)
    np.testing.assert_array_equal(plain["input"].numpy(), x.numpy())  # outside an update
    with model.augmenting(0):
        seen = model.discriminate_all(x)
    assert (seen["input"].numpy() == 0).mean() > (x.numpy() == 0).mean()  # a cut square
    recon = model.discriminator(seen["input"], training=True)["reconstruction"]
    np.testing.assert_allclose(seen["reconstruction"], recon, atol=1e-6)


def test_augmentation_stays_float32_under_mixed_precision():
    with performance.dtype_policy("mixed_bfloat16"):
        model, data = tiny_model("dcgan", "train.diffaugment=color,translation,cutout",
                                 "train.g_ema=0.9")
        batch = tf.data.Dataset.from_tensors((data.x[:8], data.y[:8]))
        with model.augmenting(0):
            assert model.augment(tf.constant(data.x[:4], tf.float32)).dtype == tf.float32
        logs = model.fit(batch, epochs=1, steps_per_epoch=1, verbose=0, shuffle=False).history
    assert np.isfinite(logs["d_loss"][0]) and np.isfinite(logs["g_loss"][0])
    assert model.ema_generator.weights[0].dtype == "float32"


# -- the moving average of the generator --------------------------------------------------
def _fit_steps(model, data, steps):
    batch = tf.data.Dataset.from_tensors((data.x[:8], data.y[:8])).repeat()
    model.fit(batch, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False)


@pytest.mark.parametrize("decay, betas", [(0.9, [2 / 11, 3 / 12]), (0.1, [0.1, 0.1])])
def test_ema_update_after_each_generator_update(decay, betas):
    model, data = tiny_model("dcgan", f"train.g_ema={decay}")
    generator, ema = model.generator, model.ema_generator
    trainable = {id(v) for v in generator.trainable_weights}
    assert len(generator.non_trainable_weights) > 0  # batch norm moving statistics
    previous = [v.numpy() for v in ema.weights]
    # the average starts at the generator's initial weights
    for a, b in zip(previous, generator.weights):
        np.testing.assert_array_equal(a, b.numpy())
    for beta in betas:  # warm-up: min(decay, (1 + t) / (10 + t)) after t updates
        _fit_steps(model, data, 1)
        now = [v.numpy() for v in ema.weights]
        for weight, old, new in zip(generator.weights, previous, now):
            if id(weight) in trainable:
                np.testing.assert_allclose(new, beta * old + (1 - beta) * weight.numpy(),
                                           rtol=1e-5, atol=1e-7)
            else:  # copied
                np.testing.assert_array_equal(new, weight.numpy())
        previous = now
    assert all(not np.allclose(weight.numpy(), average) for weight, average
               in zip(generator.weights, previous) if id(weight) in trainable)  # not a copy
    assert ema.trainable_weights == [] and len(model.trainable_weights) == len(
        generator.trainable_weights) + len(model.discriminator.trainable_weights)


def test_inference_goes_through_the_ema_generator():
    model, data = tiny_model("cgan", "train.g_ema=0.999")
    _fit_steps(model, data, 2)
    assert model.inference_generator is model.ema_generator
    z = RNG.standard_normal((4, 8)).astype(np.float32)
    labels = np.arange(4, dtype=np.int32)
    want = model.ema_generator([z, labels], training=False).numpy()
    np.testing.assert_array_equal(model.infer(z, labels).numpy(), want)
    np.testing.assert_array_equal(model([z, labels]).numpy(), want)
    assert not np.allclose(model.generate(z, labels).numpy(), want)
    plain, _ = tiny_model("cgan")
    assert plain.ema_generator is None and plain.inference_generator is plain.generator
    assert len(model.variables) == len(plain.variables) + len(model.ema_generator.variables)


def test_ema_copies_are_identical_on_every_replica():
    strategy = distribute.mirrored(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        model, data = tiny_model("dcgan", "train.g_ema=0.5",
                                 optimizer=lambda: keras.optimizers.SGD(0.5))
    _fit_steps(model, data, 2)
    for variable in model.ema_generator.weights:
        first, second = strategy.experimental_local_results(variable.value)
        np.testing.assert_array_equal(first.numpy(), second.numpy())
    assert not np.allclose(model.ema_generator.weights[0].numpy(),
                           model.generator.weights[0].numpy())


def test_a_run_samples_evaluates_and_exports_the_ema_generator(tiny_config, tmp_path,
                                                               capsys):
    """Both stabilizers in a tiny run: grids, in-training evaluation, the end-of-training
    export, then evaluate --run-dir, export --run-dir and sample on what it wrote."""
    from tfgan_app import evaluate, evaluation, export, sample
    from tfgan_app.export.__main__ import main as export_main
    from tfgan_app.training import load_run, train

    run = tmp_path / "run"
    cfg = tiny_config("dcgan", "train.g_ema=0.9", "train.diffaugment=color,translation,cutout",
                      "train.export=true")
    result = train(cfg, run, verbose=0, echo=lambda _: None)
    assert (run / "samples" / "epoch_0001.png").is_file()
    assert result.export is not None and result.export.saved_model_max_abs_error < 1e-5
    history = (run / "history.csv").read_text().splitlines()
    score = dict(zip(history[0].split(","), history[1].split(",")))["eval/score"]
    assert 1.0 <= float(score) <= 10.0
    loaded = load_run(run)
    z = RNG.standard_normal((6, 8)).astype(np.float32)
    want = loaded.model.ema_generator(z, training=False).numpy()
    assert not np.allclose(loaded.model.generator(z, training=False).numpy(), want, atol=1e-3)
    serve = tf.saved_model.load(str(run / "export" / "dcgan" / "1"))
    got = serve.signatures["serving_default"](z=tf.constant(z))["images"].numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)  # the exported generator is the EMA
    _, lite = export.load_exported(run / "export" / "dcgan.tflite")
    np.testing.assert_allclose(lite({"z": z}), want, atol=1e-4)

    code, out, err = run_cli(export_main, capsys, "--run-dir", run, "--format", "saved_model",
                             "--output", tmp_path / "again")
    assert code == 0, err
    serve = tf.saved_model.load(str(tmp_path / "again" / "dcgan" / "1"))
    np.testing.assert_allclose(
        serve.signatures["serving_default"](z=tf.constant(z))["images"].numpy(), want,
        atol=1e-5)

    code, out, err = run_cli(evaluate.main, capsys, "--run-dir", run, "--num-samples", "200")
    assert code == 0, err
    report = json.loads((run / "eval" / "epoch_0001.json").read_text())
    assert 1.0 <= report["metrics"]["score"] <= 10.0
    drawn = evaluation.draw_from_model(loaded.model, 3, seed=0).x  # what evaluate measures
    grid = loaded.model.point_cloud(np.random.default_rng([0, 11]), 3)
    np.testing.assert_allclose(drawn, loaded.model.ema_generator(grid.z, training=False),
                               atol=1e-6)

    code, out, err = run_cli(sample.main, capsys, run / "export" / "dcgan" / "1", "--out",
                             tmp_path / "grid.png", "--num", "4")
    assert code == 0 and (tmp_path / "grid.png").is_file(), err

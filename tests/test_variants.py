"""Every registered variant: one fit step on tiny networks, and a config round trip."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tfgan_app import registry
from tfgan_app.data import load_from_config
from tfgan_app.training import train


def build(cfg):
    data = load_from_config(cfg.data, seed=0)
    model = registry.get_variant(cfg.variant).from_run_config(cfg, data)
    model.compile(g_optimizer=keras.optimizers.Adam(1e-3),
                  d_optimizer=keras.optimizers.Adam(1e-3))
    model.build_optimizers()
    return model, data


@pytest.mark.parametrize("variant", registry.variant_names())
def test_one_fit_step_updates_both_networks(tiny_config, variant):
    model, data = build(tiny_config(variant))
    g_before = [w.numpy() for w in model.generator.trainable_weights]
    d_before = [w.numpy() for w in model.discriminator.trainable_weights]
    batch = tf.data.Dataset.from_tensors((data.x[:8], data.y[:8]))
    logs = model.fit(batch, epochs=1, steps_per_epoch=1, verbose=0, shuffle=False).history
    assert set(logs) == set(type(model).metric_names)
    assert all(np.isfinite(v[0]) for v in logs.values())
    for before, network in ((g_before, model.generator), (d_before, model.discriminator)):
        changed = [not np.allclose(a, b.numpy()) for a, b in zip(before,
                                                                 network.trainable_weights)]
        assert all(changed), f"{network.name}: some weights did not move"


@pytest.mark.parametrize("variant", registry.variant_names())
def test_get_config_round_trip(tiny_config, variant):
    model, _ = build(tiny_config(variant))
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
    model, _ = build(cfg)
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

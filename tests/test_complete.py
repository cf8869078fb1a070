"""Semantic inpainting: importance weights, Poisson blending, the latent search, the CLI."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import run_cli, tiny_model, train_tiny_runs
from PIL import Image

from tfgan_app import completion
from tfgan_app.complete import main

CASES = {  # name -> (variant, extra config)
    "dcgan": ("dcgan", ["train.eval_every=0"]),
    "cgan": ("cgan", ["train.eval_every=0"]),
    "ring": ("gan", ["data.dataset=ring", "train.eval_every=0"]),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return train_tiny_runs(tmp_path_factory, CASES)


def mlp_generator(latent_dim=4, size=8, seed=0):
    """A random MLP generator of size x size x 1 images: smooth, so z can be searched."""
    keras.utils.set_random_seed(seed)
    net = keras.Sequential([keras.Input((latent_dim,)), keras.layers.Dense(32, "tanh"),
                            keras.layers.Dense(size * size, "tanh"),
                            keras.layers.Reshape((size, size, 1))])
    inputs = {"z": {"dtype": "float32", "shape": [latent_dim], "distribution": "normal",
                    "role": "latent"}}
    return completion.Generator(inputs, lambda v: net(v["z"]), (size, size, 1))


def test_importance_weights_by_hand():
    mask = np.zeros((1, 4, 4), np.float32)
    mask[0, 1, 1] = 1.0
    w = completion.importance_weights(mask, window=3)[0]
    # Each known pixel: missing pixels / in-image pixels of its 3x3 window.
    assert w[0, 0] == pytest.approx(1 / 4)  # corner: 4 in-image pixels, one missing
    assert w[0, 1] == pytest.approx(1 / 6)  # edge: 6
    assert w[2, 2] == pytest.approx(1 / 9)  # inside: 9
    assert w[1, 1] == 0.0  # the missing pixel itself
    assert w[3, 3] == 0.0 and w[0, 3] == 0.0  # too far from the hole
    assert np.count_nonzero(w) == 8


def test_masks():
    center = completion.center_mask((16, 16), 0.5)
    assert center.sum() == 64 and center[4:12, 4:12].all()
    rng = np.random.default_rng(0)
    random = completion.random_mask((16, 16), 0.5, rng)
    assert random.mean() >= 0.25 and set(np.unique(random)) == {0.0, 1.0}


def test_poisson_blend_recovers_an_offset_image():
    rng = np.random.default_rng(0)
    image = rng.uniform(-0.5, 0.5, (8, 8, 2)).astype(np.float32)
    mask = completion.center_mask((8, 8), 0.5)
    # Same gradients as the image, wrong level: the blend's boundary fixes the level.
    out = completion.poisson_blend(image, image + 0.3, mask)
    np.testing.assert_allclose(out, image, atol=1e-5)
    # A hole touching no known pixel keeps the generated pixels.
    full = completion.poisson_blend(image, image + 0.3, np.ones((8, 8)))
    np.testing.assert_allclose(full, np.clip(image + 0.3, -1, 1), atol=1e-4)


def test_search_lowers_the_loss_keeps_known_pixels_and_recovers_the_hole():
    gen = mlp_generator()
    truth = gen.generate({"z": tf.constant(np.random.default_rng(5).standard_normal(
        (3, 4)), tf.float32)}).numpy()  # images the generator makes exactly
    masks = np.stack([completion.center_mask((8, 8), 0.5)] * 3)
    result = completion.complete(gen, None, truth, masks, steps=300, restarts=4, lr=0.05)
    assert np.all(result.context_after < 0.2 * result.context_before)
    known = masks[..., None] == 0
    np.testing.assert_array_equal(np.where(known, result.completed, 0),
                                  np.where(known, truth, 0))
    psnr = completion.hole_psnr(result.completed, truth, masks)
    mean = completion.hole_psnr(completion.mean_fill(truth, masks), truth, masks)
    assert np.all(psnr > mean + 10), (psnr, mean)
    plain = completion.blend(truth, result.generated, masks, "none")
    np.testing.assert_array_equal(plain[known[..., 0]], truth[known[..., 0]])
    np.testing.assert_array_equal(plain[~known[..., 0]], result.generated[~known[..., 0]])


def test_perceptual_term_is_used_and_seeded():
    gen = mlp_generator()
    images = np.zeros((2, 8, 8, 1), np.float32)
    masks = np.stack([completion.center_mask((8, 8), 0.5)] * 2)

    def bright(inputs, x):  # "real" = bright: pulls the hole up
        return -tf.reduce_mean(x, axis=[1, 2, 3])

    kwargs = dict(steps=50, restarts=2, lr=0.05, blend_mode="none")
    without = completion.complete(gen, None, images, masks, **kwargs)
    with_term = completion.complete(gen, bright, images, masks, lam=50.0, **kwargs)
    assert with_term.generated.mean() > without.generated.mean() + 0.03
    assert with_term.perceptual is not None and without.perceptual is None
    again = completion.complete(gen, None, images, masks, **kwargs)
    np.testing.assert_array_equal(again.completed, without.completed)


@pytest.mark.parametrize("variant", ["dcgan", "wgan_gp", "lsgan", "began", "ebgan",
                                     "infogan", "acgan"])
def test_every_variant_has_a_perceptual_loss(variant):
    model, _ = tiny_model(variant)
    x = model.infer(tf.random.normal([3, model.latent_dim]), _condition(model, 3))
    loss = completion.keras_perceptual(model)(_values(model, 3), x)
    assert loss.shape == (3,) and np.all(np.isfinite(loss))


def test_groups_judging_discriminator_has_no_perceptual_loss():
    model, _ = tiny_model("dcgan", "model.pack=2")
    assert completion.keras_perceptual(model) is None


def test_infogan_codes_are_searched_and_categories_cycled():
    model, _ = tiny_model("infogan")
    gen = completion.keras_generator(model)
    images = np.zeros((1, *gen.shape), np.float32)
    masks = completion.center_mask(gen.shape[:2], 0.5)[None]
    result = completion.complete(gen, completion.keras_perceptual(model), images, masks,
                                 steps=3, restarts=10)
    categories = model.options.categories
    assert 0 <= result.inputs["category"][0] < categories
    assert np.all(np.abs(result.inputs["code"]) <= 1.0)


def _condition(model, n):
    return {k: tf.constant(v) for k, v in (model.example_condition(n) or {}).items()} or None


def _values(model, n):
    return {"z": tf.zeros([n, model.latent_dim]), **(_condition(model, n) or {})}


# -- the command line ------------------------------------------------------------------
def write_images(folder, images):
    folder.mkdir(parents=True, exist_ok=True)
    for i, x in enumerate(images):
        Image.fromarray(((x[..., 0] + 1) * 127.5).astype(np.uint8)).save(folder / f"d{i}.png")
    return folder


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    from tfgan_app.data import load_dataset

    x = load_dataset("digits").take(range(100, 103))[0]
    return write_images(tmp_path_factory.mktemp("digits"), x)


def complete_cli(capsys, *argv):
    return run_cli(main, capsys, *argv)


FAST = ("--steps", "5", "--restarts", "2")


def test_cli_completes_a_run(runs, digits, tmp_path, capsys):
    out = tmp_path / "out"
    code, stdout, err = complete_cli(capsys, "--run-dir", runs["dcgan"], "--images", digits,
                                     "--out", out, "--nearest", "20", *FAST)
    assert code == 0, err
    for i in range(3):
        assert Image.open(out / f"d{i}_completed.png").size == (16, 16)
    grid = Image.open(out / "grid.png")
    assert grid.size == (4 * (3 * 17 + 1), 4 * (3 * 17 + 1))  # 3 columns, 3 rows, x4
    report = json.loads((out / "completion.json").read_text())
    assert len(report["images"]) == 3 and report["lam"] == 0.1
    first = report["images"][0]
    assert first["context_after"] <= first["context_before"]
    assert np.isfinite(first["psnr_hole"]) and "psnr_hole_nearest" in first
    assert "contextual loss" in stdout and "mean fill" in stdout and "nearest of 20" in stdout
    # Known pixels are the input's.
    done = np.asarray(Image.open(out / "d0_completed.png"), np.int32)
    given = np.asarray(Image.open(digits / "d0.png"), np.int32)
    hole = completion.center_mask((16, 16), 0.5) > 0
    np.testing.assert_array_equal(done[~hole], given[~hole])


def test_cli_completes_an_export_with_a_mask_file(runs, digits, tmp_path, capsys):
    from tfgan_app.export import export_saved_model
    from tfgan_app.training import load_run

    run = load_run(runs["dcgan"])
    saved = export_saved_model(run.model, tmp_path / "export" / "dcgan" / "1", kind="image",
                               shape=run.data.shape, version=1)
    mask = np.zeros((16, 16), np.uint8)
    mask[:, 8:] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    code, stdout, err = complete_cli(capsys, "--model", saved, "--images", digits / "d1.png",
                                     "--mask", tmp_path / "mask.png", "--blend", "none",
                                     "--out", tmp_path / "out", *FAST)
    assert code == 0, err
    assert "no perceptual loss" in stdout and "PSNR" not in stdout
    entry = json.loads((tmp_path / "out" / "completion.json").read_text())["images"][0]
    assert entry["context_after"] < entry["context_before"]  # gradients through the export
    assert (tmp_path / "out" / "d1_completed.png").is_file()
    grid = Image.open(tmp_path / "out" / "grid.png")
    assert grid.size == (4 * 18, 4 * (2 * 17 + 1))  # one image: masked, completed


def test_cli_conditional_run_needs_a_label(runs, digits, tmp_path, capsys):
    code, _, err = complete_cli(capsys, "--run-dir", runs["cgan"], "--images", digits,
                                "--out", tmp_path / "no", *FAST)
    assert code == 2 and "--label" in err and not (tmp_path / "no").exists()
    code, _, err = complete_cli(capsys, "--run-dir", runs["cgan"], "--images", digits,
                                "--label", "3", "--out", tmp_path / "yes", *FAST)
    assert code == 0, err
    assert (tmp_path / "yes" / "grid.png").is_file()


@pytest.mark.parametrize("case", ["no_images", "unreadable", "mask_size", "no_checkpoint",
                                  "points", "label", "mask_fraction", "tflite"])
def test_cli_refuses_bad_input(case, runs, digits, tmp_path, capsys):
    run, images, extra = runs["dcgan"], digits, []
    if case == "no_images":
        images = tmp_path / "empty"
        images.mkdir()
    elif case == "unreadable":
        images = tmp_path / "bad"
        images.mkdir()
        (images / "x.png").write_text("not a png")
    elif case == "mask_size":
        Image.fromarray(np.full((5, 7), 255, np.uint8)).save(tmp_path / "m.png")
        extra = ["--mask", tmp_path / "m.png"]
    elif case == "no_checkpoint":
        run = tmp_path / "run"
        run.mkdir()
        (run / "config.yaml").write_text((runs["dcgan"] / "config.yaml").read_text())
    elif case == "points":
        run = runs["ring"]
    elif case == "label":
        extra = ["--label", "1"]
    elif case == "mask_fraction":
        extra = ["--mask-size", "1.5"]
    source = ["--run-dir", run]
    if case == "tflite":
        source = ["--model", tmp_path / "dcgan.tflite"]
    out = tmp_path / "out"
    code, _, err = complete_cli(capsys, *source, "--images", images, "--out", out, *extra,
                                *FAST)
    assert code == 2, err
    assert err.startswith("error: ") and "Traceback" not in err
    assert not out.exists()
    expected = {"no_images": "no image files", "unreadable": "cannot read image",
                "mask_size": "5", "no_checkpoint": "no checkpoint", "points": "points",
                "label": "takes no class label", "mask_fraction": "--mask-size",
                "tflite": "not a SavedModel directory"}[case]
    assert expected in err

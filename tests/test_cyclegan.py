"""CycleGAN: the image pool's rule, the refusals, and train -> evaluate -> export on the
unaligned digits (grids both ways, cycle and domain metrics, the `inverse` signature)."""

import json

import numpy as np
import pytest
import tensorflow as tf
from helpers import TINY, run_cli, set_flags, train_with_cli
from PIL import Image

from tfgan_app import evaluate, train
from tfgan_app.variants.cyclegan import pool_step

NETS = ["cyclegan.blocks=1", "cyclegan.downsamplings=1", "cyclegan.d_layers=1",
        "cyclegan.pool_size=4"]
SETS = [*TINY, *NETS, "train.eval_every=1", "train.export=true", "train.eval_samples=64",
        "data.max_examples=0", "train.steps_per_epoch=4"]


def sets(*items):
    return set_flags(*SETS, *items)


def images(values):
    """One 1x1 single-channel image per value: the pool's content is readable as numbers."""
    return tf.constant(np.asarray(values, np.float32).reshape(-1, 1, 1, 1))


def test_the_pool_stores_and_returns_new_images_until_full():
    pool, count = tf.zeros([3, 1, 1, 1]), tf.constant(0)
    out, pool, count = pool_step(pool, count, images([1, 2]), tf.constant([0.9, 0.9]),
                                 tf.constant([0.0, 0.0]))
    # not full: every coin is ignored, the images are kept in order and returned as they are
    np.testing.assert_array_equal(out.numpy().ravel(), [1, 2])
    np.testing.assert_array_equal(pool.numpy().ravel(), [1, 2, 0])
    assert int(count) == 2
    # the third fills the pool (returned itself); the fourth meets a full pool
    out, pool, count = pool_step(pool, count, images([3, 4, 5]),
                                 tf.constant([0.9, 0.9, 0.1]), tf.constant([0.0, 0.5, 0.9]))
    # 4: coin > 0.5 swaps with slot floor(0.5 * 3) = 1 (holding 2), which it returns;
    # 5: coin <= 0.5 returns the new image and leaves the pool as it is
    np.testing.assert_array_equal(out.numpy().ravel(), [3, 2, 5])
    np.testing.assert_array_equal(pool.numpy().ravel(), [1, 4, 3])
    assert int(count) == 3


def test_a_full_pool_swaps_about_half_of_the_images():
    rng = np.random.default_rng(0)
    pool = images(np.arange(50) + 100)
    new = images(np.arange(2000))
    out, after, count = pool_step(pool, tf.constant(50), new,
                                  tf.constant(rng.uniform(size=2000), tf.float32),
                                  tf.constant(rng.uniform(size=2000), tf.float32))
    out = out.numpy().ravel()
    swapped = out != np.arange(2000)
    assert 0.45 < swapped.mean() < 0.55 and int(count) == 50
    # what comes back was stored: an image from before, or a new one stored earlier
    assert np.all(out[swapped] < np.flatnonzero(swapped) + 100 + 50)
    returned_old = np.intersect1d(out[swapped], np.arange(100, 150))
    assert len(returned_old) > 40  # nearly every original image gets swapped out
    assert set(after.numpy().ravel()) <= set(range(2000)) | set(range(100, 150))


def test_a_zero_pool_judges_the_newest():
    from tfgan_app.variants.cyclegan import ImagePool

    pool = ImagePool(0, (1, 1, 1))
    pool.build()
    new = images([7, 8])
    assert pool.query(new, tf.zeros([2, 2])) is new


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A tiny cyclegan trained for 2 epochs by the CLI, evaluated and exported."""
    return train_with_cli(tmp_path_factory.mktemp("cyclegan"), "cyclegan", *SETS, "train.epochs=2")


def test_grids_show_both_directions_against_the_ground_truth(run_dir):
    for name in ("epoch_0002.png", "epoch_0002_inverse.png"):
        with Image.open(run_dir / "samples" / name) as image:
            assert image.size == (52 * 3, 137 * 3)  # 8 rows of input | output | target
    forward, inverse = (np.asarray(Image.open(run_dir / "samples" / name))[::3, ::3]
                        for name in ("epoch_0002.png", "epoch_0002_inverse.png"))

    def tile(grid, r, c):
        return grid[1 + 17 * r:17 + 17 * r, 1 + 17 * c:17 + 17 * c]

    for r in range(8):
        # A -> B shows a | G(a) | the true b; B -> A shows that b | F(b) | a
        np.testing.assert_array_equal(tile(inverse, r, 0), tile(forward, r, 2))
        np.testing.assert_array_equal(tile(inverse, r, 2), tile(forward, r, 0))
    assert not np.array_equal(tile(forward, 0, 0), tile(forward, 0, 2))


def test_training_logs_cycle_and_domain_metrics(run_dir):
    import csv

    rows = list(csv.DictReader(open(run_dir / "history.csv")))
    assert len(rows) == 2
    for key in ("d_a", "d_b", "g_gan", "cycle", "identity", "eval/psnr", "eval/cycle_a",
                "eval/cycle_b", "eval/domain_a", "eval/domain_b", "eval/baseline_domain_b"):
        assert np.isfinite(float(rows[-1][key])), key
    assert 0 <= float(rows[-1]["eval/domain_b"]) <= 1
    # edge maps copied are not digits: the classifier of real A vs real B says so
    assert float(rows[-1]["eval/baseline_domain_b"]) < 0.05
    assert float(rows[-1]["eval/baseline_domain_a"]) < 0.05


def test_evaluate_the_run_and_its_export_alike(run_dir, capsys):
    code, out, err = run_cli(evaluate.main, capsys, "--run-dir", run_dir, "--num-samples", 64)
    assert code == 0, err
    assert "cycle_a" in out and "domain_b" in out and "classifier test accuracy" in out
    from_run = json.loads((run_dir / "eval" / "epoch_0002.json").read_text())
    assert from_run["classifier_test_accuracy"] > 0.95
    from_run = from_run["metrics"]
    out_json = run_dir / "eval_export.json"
    code, out, err = run_cli(evaluate.main, capsys, "--model",
                             run_dir / "export" / "cyclegan" / "2", "--num-samples", 64,
                             "--json", out_json)
    assert code == 0, err
    from_export = json.loads(out_json.read_text())["metrics"]
    assert set(from_export) == set(from_run)
    for key, value in from_run.items():
        assert from_export[key] == pytest.approx(value, abs=1e-3), key
    # a .tflite file holds A -> B only: its metrics leave out what needs the inverse
    code, out, err = run_cli(evaluate.main, capsys, "--model",
                             run_dir / "export" / "cyclegan.tflite", "--num-samples", 64,
                             "--json", out_json)
    assert code == 0, err
    lite = json.loads(out_json.read_text())["metrics"]
    assert "cycle_a" not in lite and lite["domain_b"] == pytest.approx(from_run["domain_b"])
    assert lite["psnr"] == pytest.approx(from_run["psnr"], abs=1e-3)


def test_the_export_serves_both_directions(run_dir):
    from tfgan_app.export import tflite_runner

    path = run_dir / "export" / "cyclegan" / "2"
    loaded = tf.saved_model.load(str(path))
    assert set(loaded.signatures) == {"serving_default", "inverse"}
    x = np.random.default_rng(0).uniform(-1, 1, (3, 16, 16, 1)).astype(np.float32)
    outputs = {}
    for name, signature in loaded.signatures.items():
        spec = signature.structured_input_signature[1]
        assert list(spec) == ["image"] and spec["image"].shape.as_list() == [None, 16, 16, 1]
        out = signature(image=tf.constant(x))
        assert list(out) == ["images"]
        outputs[name] = out["images"].numpy()
        assert outputs[name].shape == (3, 16, 16, 1)
        assert outputs[name].min() >= -1 and outputs[name].max() <= 1
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"image must be in"):
            signature(image=tf.fill([1, 16, 16, 1], 2.0))
    assert not np.allclose(outputs["serving_default"], outputs["inverse"])  # two networks
    meta = json.loads((path / "assets.extra" / "tfgan_app.json").read_text())
    assert meta["variant"] == "cyclegan" and meta["dataset"] == "edges2digits_unpaired"
    assert meta["signatures"]["serving_default"]["direction"] == "A -> B"
    assert meta["signatures"]["inverse"]["direction"] == "B -> A"
    assert meta["signatures"]["inverse"]["inputs"]["image"]["shape"] == [16, 16, 1]
    report = json.loads((run_dir / "export" / "cyclegan_tflite.json").read_text())
    assert report["tflite"]["none"]["max_abs_error"] < 1e-4
    lite = tflite_runner(run_dir / "export" / "cyclegan.tflite")(image=x)["images"]
    np.testing.assert_allclose(lite, outputs["serving_default"], atol=1e-4)


def test_resume_restores_the_pools(run_dir):
    from tfgan_app.training import load_run

    run = load_run(run_dir)
    # 2 epochs x 4 steps x (batch 8) fakes per direction passed through pools of 4
    for pool in (run.model.pool_a, run.model.pool_b):
        assert int(pool.count.numpy()) == 4
        assert np.abs(pool.images.numpy()).max() > 0


@pytest.mark.parametrize("dataset, extra, message", [
    ("digits", [], "variant cyclegan trains on paired data, but dataset digits has single"),
    ("gray2color", [], "cyclegan.identity_weight=0.5 needs domains with the same channels"),
    ("edges2digits", ["train.g_ema=0.9"], "train.g_ema is not supported by cyclegan"),
    ("edges2digits", ["cyclegan.r1_weight=1"], "cyclegan.r1_weight is not supported"),
])
def test_what_cyclegan_cannot_train_is_a_usage_error(dataset, extra, message, tmp_path,
                                                     capsys):
    code, _, err = run_cli(train.main, capsys, "--variant", "cyclegan", "--dataset", dataset,
                           "--output-dir", tmp_path / "run", *sets(*extra))
    assert code == 2 and message in err and "Traceback" not in err


@pytest.mark.parametrize("dataset", ["edges2digits", "gray2color"])
def test_aligned_pairs_and_other_channels_train(dataset, tmp_path, capsys):
    code, out, err = run_cli(train.main, capsys, "--variant", "cyclegan", "--dataset", dataset,
                             "--output-dir", tmp_path / "run",
                             *sets("train.export=false", "train.eval_every=0",
                                   "data.max_examples=32", "data.image_size=16",
                                   *(["cyclegan.identity_weight=0"]
                                     if dataset == "gray2color" else [])))
    assert code == 0, err

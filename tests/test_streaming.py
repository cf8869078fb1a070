"""Streaming sources (folder, TFRecord, TFDS, shapes): lazy reading, the batch stream's
order, exact resume with and without train.steps_per_epoch, per-worker rows, conversion."""

import json
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from helpers import ROOT, TINY, python_env, run_cli
from PIL import Image

from tfgan_app.config import resolve_config
from tfgan_app.data import load_dataset, load_from_config
from tfgan_app.data.pipeline import batch_indices, training_batches
from tfgan_app.data.writers import write_folder, write_tfrecord
from tfgan_app.training import load_run, train

QUIET = dict(verbose=0, echo=lambda _: None)
# Streamed (no cache), tiny DCGAN on 16 px images: 96 examples, 12 batches of 8 per pass.
STREAM = TINY + ["data.cache=off", "data.image_size=16", "data.max_examples=0",
                 "train.eval_every=0", "train.sample_every=1"]


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    """96 real 8x8 digits of classes 0 and 1 as PNG files in two class folders."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    root = tmp_path_factory.mktemp("folder")
    chosen = np.flatnonzero(bunch.target < 2)[:96]
    for i in chosen:
        folder = root / f"digit{bunch.target[i]}"
        folder.mkdir(exist_ok=True)
        Image.fromarray((bunch.images[i] * 255 / 16).astype(np.uint8)).save(folder / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def records(image_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("records")
    data = load_dataset(f"folder:{image_folder}", image_size=16)
    write_tfrecord(data, out, shards=3, seed=5)
    return f"tfrecord:{out}/*.tfrecord"


def labels_of(batches):
    return [y.numpy().tolist() for _, y in batches]


def test_a_folder_is_read_lazily_and_decodes_like_pillow(image_folder):
    data = load_dataset(f"folder:{image_folder}")
    assert not data.in_memory and data.num_examples == 96 and data.shape == (8, 8, 1)
    assert data.num_classes == 2 and data.class_names == ["digit0", "digit1"]
    assert sorted(set(data.labels.tolist())) == [0, 1]  # known from the folders, unread
    first = sorted(p for p in (image_folder / "digit0").iterdir())[0]
    pillow = np.asarray(Image.open(first), np.float32) / 127.5 - 1.0
    x, y = data.take([0])
    np.testing.assert_allclose(x[0, ..., 0], pillow, atol=1e-6)
    assert y[0] == 0
    cached = load_from_config(resolve_config("dcgan", sets=[
        f"data.dataset=folder:{image_folder}", "data.cache=on"]).data, seed=0)
    assert cached.in_memory
    np.testing.assert_array_equal(cached.x, data.x)


def test_tfrecord_shards_hold_the_folder_with_an_index(image_folder, records):
    data = load_dataset(records)
    assert data.num_examples == 96 and data.shape == (16, 16, 1) and data.num_classes == 2
    assert data.class_names == ["digit0", "digit1"]
    folder = load_dataset(f"folder:{image_folder}", image_size=16)
    # The same multiset of images, written in a seeded order.
    key = lambda x: sorted(map(bytes, (x * 127.5 + 127.5).round().astype(np.uint8)))  # noqa
    assert key(data.x) == key(folder.x)
    assert sorted(data.y.tolist()) == sorted(folder.y.tolist())


def test_tfrecord_without_an_index_is_counted(records, tmp_path):
    import shutil

    pattern = records.partition(":")[2]
    for path in sorted(tf.io.gfile.glob(pattern)):
        shutil.copy(path, tmp_path)
    data = load_dataset(f"tfrecord:{tmp_path}/*.tfrecord")
    assert data.num_examples == 96 and data.num_classes == 2 and data.class_names is None


@pytest.mark.parametrize("source", ["folder", "tfrecord", "shapes"])
def test_any_stretch_of_the_batch_stream_is_the_same_batches(source, image_folder, records):
    spec = {"folder": f"folder:{image_folder}", "tfrecord": records, "shapes": "shapes"}[source]
    data = load_dataset(spec, image_size=16, shapes_samples=40)
    per_pass = data.num_examples // 8
    whole = labels_of(training_batches(data, batch_size=8, seed=3, first_step=0,
                                       last_step=2 * per_pass + 3))
    assert len(whole) == 2 * per_pass + 3
    later = labels_of(training_batches(data, batch_size=8, seed=3, first_step=per_pass - 2,
                                       last_step=2 * per_pass + 3))
    assert later == whole[per_pass - 2:]
    passes = [sorted(sum(whole[p * per_pass:(p + 1) * per_pass], [])) for p in range(2)]
    assert passes[0] == passes[1]  # every pass reads the same examples...
    assert whole[:per_pass] != whole[per_pass:2 * per_pass]  # ...in another order
    other_seed = labels_of(training_batches(data, batch_size=8, seed=4, first_step=0,
                                            last_step=per_pass))
    assert other_seed != whole[:per_pass]


class FakeContext:
    """What distribute_datasets_from_function passes each worker's input function."""

    def __init__(self, pipelines, pipeline_id, replicas):
        self.num_input_pipelines = pipelines
        self.input_pipeline_id = pipeline_id
        self.num_replicas_in_sync = replicas


@pytest.mark.parametrize("source, group", [("folder", 1), ("tfrecord", 1), ("digits", 1),
                                           ("folder", 3), ("tfrecord", 3), ("digits", 3)])
def test_each_worker_reads_only_its_rows_of_every_global_batch(source, group, image_folder,
                                                               records):
    # group 3: fresh critic batches, [batch, 3, ...] per step; the split is over the batch.
    spec = {"folder": f"folder:{image_folder}", "tfrecord": records, "digits": "digits"}[source]
    data = load_dataset(spec, image_size=16)
    kwargs = dict(batch_size=8, seed=1, first_step=3, last_step=9, group=group)
    whole = [(x.numpy(), y.numpy()) for x, y in training_batches(data, **kwargs)]
    # 2 workers with 2 replicas each: every worker yields 2 per-replica batches of 2 a step.
    parts = [[(x.numpy(), y.numpy()) for x, y in training_batches(
        data, input_context=FakeContext(2, w, 4), **kwargs)] for w in range(2)]
    assert all(len(p) == 2 * len(whole) for p in parts)
    for step, (x, y) in enumerate(whole):
        replicas = [parts[w][2 * step + r] for w in range(2) for r in range(2)]
        np.testing.assert_array_equal(np.concatenate([r[0] for r in replicas]), x)
        np.testing.assert_array_equal(np.concatenate([r[1] for r in replicas]), y)


def test_a_worker_of_two_touches_half_the_files(image_folder):
    data = load_dataset(f"folder:{image_folder}")
    per_pass = data.num_examples // 8
    read = [set(), set()]
    for step in range(per_pass):
        indices = batch_indices(step, data.num_examples, 8, seed=0).numpy()
        for worker in range(2):
            read[worker].update(indices[worker * 4:(worker + 1) * 4].tolist())
    assert len(read[0]) == len(read[1]) == data.num_examples // 2
    assert not read[0] & read[1]


def _weights(run):
    model = load_run(run).model
    return [w.numpy() for w in model.generator.weights + model.discriminator.weights]


def _assert_resume_is_exact(tmp_path, sets, epochs, stop_after, context=None,
                            variant="dcgan"):
    """`epochs` straight == `stop_after` epochs, then the same command up to `epochs`:
    the same weights to the last bit, and the same last sample grid."""
    import contextlib

    context = context or contextlib.nullcontext
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    with context():
        train(resolve_config(variant, sets=sets + [f"train.epochs={epochs}"]), straight,
              **QUIET)
        train(resolve_config(variant, sets=sets + [f"train.epochs={stop_after}"]), resumed,
              **QUIET)
        result = train(resolve_config(variant, sets=sets + [f"train.epochs={epochs}"]),
                       resumed, **QUIET)
        assert result.initial_epoch == stop_after
        for a, b in zip(_weights(straight), _weights(resumed)):
            np.testing.assert_array_equal(a, b)
    last = f"epoch_{epochs:04d}.png"
    assert (straight / "samples" / last).read_bytes() == (resumed / "samples" / last).read_bytes()


@pytest.mark.parametrize("steps_per_epoch", [0, 5])
def test_resume_on_a_folder_is_exact(tmp_path, image_folder, steps_per_epoch):
    sets = STREAM + [f"data.dataset=folder:{image_folder}",
                     f"train.steps_per_epoch={steps_per_epoch}"]
    # With 5 steps per epoch epoch 3 crosses the end of the first pass (12 steps).
    _assert_resume_is_exact(tmp_path, sets, epochs=2 if not steps_per_epoch else 3,
                            stop_after=1 if not steps_per_epoch else 2)


@pytest.mark.parametrize("steps_per_epoch", [0, 5])
def test_resume_on_tfrecord_is_exact(tmp_path, records, steps_per_epoch):
    sets = STREAM + [f"data.dataset={records}", f"train.steps_per_epoch={steps_per_epoch}"]
    _assert_resume_is_exact(tmp_path, sets, epochs=2 if not steps_per_epoch else 3,
                            stop_after=1 if not steps_per_epoch else 2)


@pytest.mark.parametrize("source", ["folder", "tfrecord"])
def test_resume_with_fresh_critic_batches_and_warmup_is_exact(tmp_path, image_folder,
                                                              records, source):
    # wgan: 3 fresh batches of 8 per step (24 of the 96 images; an epoch stays 5 steps), so
    # a warm-up generator update (100 critic updates) waits 34 steps: the run is in its
    # critic-only warm-up across the resume (tests/test_variants.py checks the schedule).
    dataset = f"folder:{image_folder}" if source == "folder" else records
    sets = STREAM + [f"data.dataset={dataset}", "wgan.d_steps=3", "train.steps_per_epoch=5"]
    # Exact to the bit over 45 critic updates: with a bias-free critic output the runs
    # differed by thread timing (tfgan_app/variants/wgan.py, WGAN.logit).
    _assert_resume_is_exact(tmp_path, sets, epochs=3, stop_after=2, variant="wgan")
    model = load_run(tmp_path / "resumed").model
    # The bias cancels out of D(G(z)) - D(x): its gradient is exactly 0, so it stays 0.
    assert model.discriminator.get_layer("logit").bias.numpy().tolist() == [0.0]
    assert int(model.d_optimizer.iterations.numpy()) == 15 * 3
    assert int(model.critic_rounds.numpy()) == 15 and int(model.generator_updates.numpy()) == 0


def test_resume_on_tfds_is_exact(tmp_path):
    import tensorflow_datasets as tfds

    sets = STREAM + ["data.dataset=tfds:mnist", "train.steps_per_epoch=5"]
    _assert_resume_is_exact(tmp_path, sets, epochs=3, stop_after=2,
                            context=lambda: tfds.testing.mock_data(num_examples=64))


def test_steps_per_epoch_sets_the_epoch_length(tmp_path, image_folder):
    cfg = resolve_config("dcgan", sets=STREAM + [f"data.dataset=folder:{image_folder}",
                                                 "train.steps_per_epoch=3",
                                                 "train.epochs=2"])
    result = train(cfg, tmp_path, **QUIET)
    assert len(result.history["g_loss"]) == 2
    assert result.run_dir.joinpath("samples", "epoch_0002.png").is_file()


def test_shapes_are_streamed_with_labels(tmp_path):
    cfg = resolve_config("cgan", sets=TINY + ["data.dataset=shapes", "data.image_size=16",
                                              "data.shapes_samples=64", "data.cache=off",
                                              "train.eval_every=0"])
    data = load_from_config(cfg.data, seed=0)
    assert not data.in_memory and data.shape == (16, 16, 3) and data.num_classes == 4
    assert data.class_names == ["square", "circle", "triangle", "heart"]
    result = train(cfg, tmp_path, **QUIET)
    assert result.epochs_done == 1 and np.isfinite(result.history["g_loss"][0])


def test_convert_writes_a_folder_and_tfrecords_that_train(tmp_path, capsys):
    from tfgan_app.convert import main

    code, out, err = run_cli(main, capsys, "--dataset", "digits", "--max-examples", "40",
                             "--format", "folder", "--out", tmp_path / "digits")
    assert code == 0, err
    assert "wrote 40 examples" in out and 'folder:' in out
    assert sorted(p.name for p in (tmp_path / "digits").iterdir()) == [str(i) for i in
                                                                       range(10)]
    assert sum(1 for _ in (tmp_path / "digits").rglob("*.png")) == 40
    code, out, err = run_cli(main, capsys, "--dataset", f"folder:{tmp_path / 'digits'}",
                             "--out", tmp_path / "tfr", "--shards", "2")
    assert code == 0, err
    data = load_dataset(f"tfrecord:{tmp_path / 'tfr'}/*.tfrecord")
    assert data.num_examples == 40 and data.shape == (16, 16, 1) and data.num_classes == 10
    folder = load_dataset(f"folder:{tmp_path / 'digits'}")
    np.testing.assert_array_equal(np.sort(data.x.reshape(40, -1), axis=0),
                                  np.sort(folder.x.reshape(40, -1), axis=0))
    code, _, err = run_cli(main, capsys, "--dataset", "digits", "--out", tmp_path / "tfr")
    assert code == 2 and "exists and is not an empty directory" in err
    code, _, err = run_cli(main, capsys, "--dataset", "ring", "--out", tmp_path / "pts")
    assert code == 2 and "2-D points, not images" in err


def test_convert_is_an_installed_command_with_a_progress_bar(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "tfgan_app.convert", "--dataset", "shapes",
                           "--shapes-samples", "30", "--image-size", "16", "--out",
                           str(tmp_path / "s")], capture_output=True, text=True, cwd=ROOT,
                          env=python_env(TF_CPP_MIN_LOG_LEVEL="3"), timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "converting [" in proc.stderr and "30/30" in proc.stderr
    assert json.loads((tmp_path / "s" / "index.json").read_text())["shards"] == {
        "data-00000-of-00001.tfrecord": 30}


def test_bad_tfrecord_specs_name_the_problem(tmp_path):
    from tfgan_app.errors import DataError

    with pytest.raises(DataError, match="matches no files"):
        load_dataset(f"tfrecord:{tmp_path}/*.tfrecord")
    (tmp_path / "junk.tfrecord").write_bytes(b"not a record")
    with pytest.raises(DataError, match="cannot read an image from .*junk.tfrecord"):
        load_dataset(f"tfrecord:{tmp_path}/*.tfrecord")


def test_write_folder_round_trips_uint8_exactly(tmp_path):
    data = load_dataset("shapes", image_size=16, shapes_samples=12)
    assert write_folder(data, tmp_path / "f", seed=0) == 12
    back = load_dataset(f"folder:{tmp_path / 'f'}")
    key = lambda d: sorted(map(bytes, (d.x * 127.5 + 127.5).round().astype(np.uint8)))  # noqa
    assert key(back) == key(data)


# Each worker process logs every file its input pipeline opens (tf.io.read_file wrapped).
LOG_READS = """
import tensorflow as tf
_read_file = tf.io.read_file
_log = open({log!r} + "_{{index}}.txt", "a")


def _note(path):
    _log.write(path.numpy().decode() + "\\n")
    _log.flush()
    return path


def read_file(filename, name=None):
    return _read_file(tf.py_function(_note, [filename], tf.string), name=name)


tf.io.read_file = read_file
"""


def test_two_workers_on_loopback_each_read_half_a_folder(tmp_path, image_folder):
    from helpers import free_ports, start_workers, wait_all

    sets = TINY + ["data.cache=off", "data.image_size=16", "data.max_examples=0",
                   "model.g_norm=none", "train.epochs=1", "train.eval_every=0"]
    run = tmp_path / "run"
    prelude = LOG_READS.format(log=str(tmp_path / "reads"))
    procs = start_workers(run, sets, free_ports(2), tmp_path, "f",
                          dataset=f"folder:{image_folder}", prelude=prelude)
    (code0, out0), (code1, out1) = wait_all(procs)
    assert code0 == 0 and code1 == 0, out0[-3000:] + out1[-3000:]
    reads = [[f for f in (tmp_path / f"reads_{w}.txt").read_text().split()
              if f.startswith(str(image_folder))]  # not the chief's sample grid PNG
             for w in range(2)]
    # One pass of 12 batches of 8: each worker opened its 4 rows of every batch, 48 files.
    assert [len(r) for r in reads] == [48, 48]
    assert not set(reads[0]) & set(reads[1]) and len(set(reads[0]) | set(reads[1])) == 96
    # The same steps as one device on the whole global batch.
    single = tmp_path / "single"
    cfg = resolve_config("gan", sets=sets + [f"data.dataset=folder:{image_folder}"])
    train(cfg, single, strategy=tf.distribute.get_strategy(), **QUIET)
    for a, b in zip(_weights(run), _weights(single)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)

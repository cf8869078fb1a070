import logging

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tfgan_app.data import load_dataset, sources, toy
from tfgan_app.data.pipeline import steps_per_epoch, training_batches
from tfgan_app.errors import DataError, RunFailure


def test_digits_are_real_labelled_images_in_range():
    data = load_dataset("digits")
    assert data.x.shape == (1797, 16, 16, 1) and data.x.dtype == np.float32
    assert data.x.min() >= -1.0 and data.x.max() <= 1.0
    assert data.x.min() == pytest.approx(-1.0) and data.x.max() > 0.9
    assert data.num_classes == 10 and set(np.unique(data.y)) == set(range(10))
    assert data.kind == "image"
    assert load_dataset("digits", image_size=32).shape == (32, 32, 1)


@pytest.mark.parametrize("name, n_modes, std, radius", [("ring", 8, 0.01, 1.0),
                                                        ("grid", 25, 0.05, 4 * 2 ** 0.5)])
def test_toy_data_follows_the_pacgan_protocol(name, n_modes, std, radius):
    data = load_dataset(name, toy_samples=5000, seed=1)
    assert data.kind == "points" and data.shape == (2,) and data.num_classes == n_modes
    assert len(data.modes) == n_modes
    assert np.abs(data.modes).max() * (2 ** 0.5 if name == "grid" else 1) == \
        pytest.approx(radius, rel=1e-5)
    offsets = data.x - data.modes[data.y]
    assert offsets.std() == pytest.approx(std, rel=0.05)
    assert np.bincount(data.y, minlength=n_modes).min() > 5000 / n_modes * 0.7
    assert np.array_equal(load_dataset(name, toy_samples=5000, seed=1).x, data.x)


def test_gauss1d_is_seeded_unlabelled_1d_normal_points():
    data = load_dataset("gauss1d", toy_samples=20000, seed=3)
    assert data.kind == "points" and data.shape == (1,) and data.x.shape == (20000, 1)
    assert data.x.dtype == np.float32 and data.num_classes == 0
    assert data.x.mean() == pytest.approx(-1.0, abs=0.03)
    assert data.x.std() == pytest.approx(1.0, rel=0.02)
    np.testing.assert_array_equal(data.modes, [[-1.0]])
    assert data.mode_std == 1.0
    assert np.array_equal(load_dataset("gauss1d", toy_samples=20000, seed=3).x, data.x)
    assert not np.array_equal(load_dataset("gauss1d", toy_samples=20000, seed=4).x, data.x)


def test_gauss1d_points_come_from_the_run_seed_and_toy_samples():
    from tfgan_app.config import resolve_config
    from tfgan_app.training import load_data

    cfg = resolve_config("gan", sets=["data.dataset=gauss1d", "data.toy_samples=300",
                                      "train.seed=7"])
    data, _ = load_data(cfg)
    assert data.num_examples == 300
    np.testing.assert_array_equal(data.x, load_dataset("gauss1d", toy_samples=300, seed=7).x)


def test_ring_modes_are_on_the_unit_circle():
    modes = toy.ring_modes()
    np.testing.assert_allclose(modes[2], [0.0, 1.0], atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(modes, axis=1), 1.0, rtol=1e-6)


def test_npz_uint8_images_and_labels(digits_npz):
    data = load_dataset(f"npz:{digits_npz}")
    assert data.shape == (8, 8, 1) and data.num_examples == 40 and data.num_classes == 10
    assert data.x.min() == pytest.approx(-1.0) and data.x.max() <= 1.0
    assert load_dataset(f"npz:{digits_npz}", image_size=16).shape == (16, 16, 1)


def test_npz_float_images_points_and_no_labels(tmp_path):
    path = tmp_path / "f.npz"
    np.savez(path, images=np.full((4, 8, 8, 3), 0.5, np.float32))
    data = load_dataset(f"npz:{path}")
    assert data.shape == (8, 8, 3) and data.num_classes == 0
    np.testing.assert_allclose(data.x, 0.0, atol=1e-6)  # 0.5 in [0, 1] -> 0 in [-1, 1]
    np.savez(path, x=np.ones((10, 2), np.float32) * 3)
    points = load_dataset(f"npz:{path}")
    assert points.kind == "points" and np.all(points.x == 3.0)


@pytest.mark.parametrize("arrays, message", [
    ({"z": np.zeros((3, 8, 8))}, "has no 'x', 'images' or 'arr_0' array; it has: z"),
    ({"x": np.zeros((3, 8, 8, 2))}, "must be images [N, H, W] or [N, H, W, C]"),
    ({"x": np.zeros((3, 5))}, "must be points of shape [N, 2]"),
    ({"x": np.full((3, 8, 8), 300.0)}, "image values span [300, 300]"),
    ({"x": np.zeros((3, 8, 8)), "y": np.array([0, 1])}, "labels must be 3 non-negative"),
    ({"x": np.zeros((0, 8, 8))}, "is empty"),
])
def test_npz_errors_name_the_file_and_problem(tmp_path, arrays, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataError) as err:
        load_dataset(f"npz:{path}")
    assert message in str(err.value) and "bad.npz" in str(err.value)


def test_npz_missing_and_corrupt_files(tmp_path):
    with pytest.raises(DataError, match="npz file not found: .*missing.npz"):
        load_dataset(f"npz:{tmp_path / 'missing.npz'}")
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"this is not a zip archive")
    with pytest.raises(DataError, match="cannot read npz file .*corrupt.npz"):
        load_dataset(f"npz:{corrupt}")


def _png(path, value, size=(8, 8), mode="L"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, value).save(path)


def test_folder_with_class_subdirectories_and_a_corrupt_file(tmp_path, caplog):
    for i in range(3):
        _png(tmp_path / "cats" / f"{i}.png", 0)
        _png(tmp_path / "dogs" / f"{i}.png", 255)
    (tmp_path / "dogs" / "broken.png").write_bytes(b"not a png")
    with caplog.at_level(logging.WARNING, logger="tfgan_app"):
        data = load_dataset(f"folder:{tmp_path}")
    assert "skipping unreadable image" in caplog.text and "broken.png" in caplog.text
    assert data.num_examples == 6 and data.shape == (8, 8, 1)
    assert data.num_classes == 2 and data.class_names == ["cats", "dogs"]
    np.testing.assert_allclose(data.x[data.y == 0], -1.0)
    np.testing.assert_allclose(data.x[data.y == 1], 1.0)


def test_folder_flat_rgb_and_resizing(tmp_path):
    _png(tmp_path / "a.png", (255, 0, 0), size=(10, 10), mode="RGB")
    _png(tmp_path / "b.jpg", 128, size=(12, 12))
    with pytest.raises(DataError, match="different sizes .*set data.image_size"):
        load_dataset(f"folder:{tmp_path}")
    data = load_dataset(f"folder:{tmp_path}", image_size=16)
    assert data.shape == (16, 16, 3) and data.num_classes == 0


def test_folder_errors(tmp_path):
    with pytest.raises(DataError, match="image folder not found"):
        load_dataset(f"folder:{tmp_path / 'nowhere'}")
    with pytest.raises(DataError, match="contains no images"):
        load_dataset(f"folder:{tmp_path}")
    (tmp_path / "x.png").write_bytes(b"garbage")
    with pytest.raises(DataError, match="none of its 1 image files could be read"):
        load_dataset(f"folder:{tmp_path}")


def test_tfds_through_mock_data():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=24):  # streamed: read inside the mock
        data = load_dataset("tfds:mnist:train")
        assert data.name == "tfds:mnist" and data.shape == (28, 28, 1)
        assert data.num_examples == 24 and data.num_classes == 10
        assert data.x.min() >= -1.0 and data.x.max() <= 1.0 and data.x.shape[0] == 24
    with tfds.testing.mock_data(num_examples=8):
        cifar = load_dataset("tfds:cifar10", image_size=16)
        assert cifar.shape == (16, 16, 3) and cifar.num_examples == 8
        assert cifar.x.shape == (8, 16, 16, 3)


def test_tfds_offline_and_unknown_names_fail_fast(tmp_path, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(sources, "_tfds_download_reachable", lambda: False)
    with pytest.raises(RunFailure) as err:
        load_dataset("tfds:mnist")
    assert "not in the TFDS data dir" in str(err.value) and "tfds build mnist" in str(err.value)
    with pytest.raises(DataError, match="TFDS has no dataset named 'nosuchset'"):
        load_dataset("tfds:nosuchset")


@pytest.mark.parametrize("spec", ["mnist", "tfds:", "folder:", "npz", "digits:train"])
def test_unknown_specs_list_the_valid_ones(spec):
    with pytest.raises(DataError, match=f"unknown dataset spec '{spec}'; valid specs: digits"):
        load_dataset(spec)


def _epochs(data, first, last, seed=0, batch_size=8):
    steps = data.num_examples // batch_size
    batches = training_batches(data, batch_size=batch_size, seed=seed,
                               first_step=first * steps, last_step=last * steps)
    return [y.numpy() for _, y in batches]


def test_pipeline_is_a_seeded_permutation_per_epoch():
    data = sources._from_arrays("ids", np.arange(20, dtype=np.float32)[:, None].repeat(2, 1),
                                np.arange(20), 20)
    batches = _epochs(data, 0, 3)
    assert steps_per_epoch(data, 8) == 2 and len(batches) == 6  # remainder of 4 dropped
    assert all(b.shape == (8,) for b in batches)
    first, second = np.concatenate(batches[:2]), np.concatenate(batches[2:4])
    assert len(set(first)) == 16 and not np.array_equal(first, second)
    assert [b.tolist() for b in _epochs(data, 0, 3)] == [b.tolist() for b in batches]
    # A run resumed at epoch 1 sees exactly the batches of the uninterrupted run.
    assert [b.tolist() for b in _epochs(data, 1, 3)] == [b.tolist() for b in batches[2:]]
    assert _epochs(data, 0, 1, seed=1)[0].tolist() != batches[0].tolist()
    x, y = next(iter(training_batches(data, batch_size=8, seed=0, first_step=0,
                                      last_step=1)))
    np.testing.assert_array_equal(x.numpy()[:, 0], y.numpy())  # images stay with labels
    assert x.dtype == tf.float32 and y.dtype == tf.int32


def test_dataset_smaller_than_a_batch():
    data = load_dataset("ring", toy_samples=5)
    with pytest.raises(DataError, match="5 examples, fewer than one batch"):
        steps_per_epoch(data, 8)

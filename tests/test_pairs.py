"""Paired and unpaired image-to-image data: the built-ins, folders of pairs, the unaligned
pairing, TFDS cycle_gan, and how the pipeline and the CLI treat them."""

import logging

import numpy as np
import pytest
import tensorflow as tf
from helpers import run_cli
from PIL import Image
from test_streaming import FakeContext

from tfgan_app.config import resolve_config
from tfgan_app.data import Pairing, load_dataset, load_from_config, paired
from tfgan_app.data.pipeline import training_batches
from tfgan_app.errors import DataError


def _png(path, value, size=(8, 8), mode="L"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, value).save(path)


def _values(x):
    """Each example's per-channel value of an image of constant channels, as uint8."""
    return np.round((x[:, 0, 0, :] + 1.0) * 127.5).astype(int)


@pytest.fixture(scope="module")
def pair_folders(tmp_path_factory):
    """12 pairs: A/NAME.png gray value 10 i, B/NAME.jpg or .png colour (i, 100, 200 - i)."""
    root = tmp_path_factory.mktemp("pairs")
    for i in range(12):
        _png(root / "A" / f"im{i:02d}.png", 10 * i)
        suffix = "png" if i % 2 else "bmp"
        _png(root / "B" / f"im{i:02d}.{suffix}", (i, 100, 200 - i), mode="RGB")
    return root / "A", root / "B"


def test_pairing_splits_and_joins_arrays_and_tensors():
    pairing = Pairing(1, 3, aligned=True)
    x = np.arange(2 * 2 * 2 * 4).reshape(2, 2, 2, 4)
    source, target = pairing.split(x)
    assert source.shape == (2, 2, 2, 1) and target.shape == (2, 2, 2, 3)
    np.testing.assert_array_equal(pairing.join(source, target), x)
    s, t = pairing.split(tf.constant(x))
    assert isinstance(s, tf.Tensor) and s.shape == (2, 2, 2, 1)
    np.testing.assert_array_equal(pairing.join(s, t).numpy(), x)
    assert pairing.channels == 4 and pairing.swapped() == Pairing(3, 1, aligned=True)


def test_edges2digits_outlines_each_digit():
    data = load_dataset("edges2digits")
    digits = load_dataset("digits")
    assert data.shape == (16, 16, 2) and data.num_examples == 1797
    assert data.pair == Pairing(1, 1, aligned=True) and data.aligned() is data
    assert data.num_classes == 10 and np.array_equal(data.y, digits.y)
    edges, target = data.pair.split(data.x)
    np.testing.assert_array_equal(target, digits.x)  # the ground truth is the digit itself
    assert set(np.unique(edges)) == {-1.0, 1.0}
    on = digits.x[..., 0] >= 0.0  # the digit's pixels (>= 0.5 in [0, 1])
    edge = edges[..., 0] > 0
    assert not np.any(edge & on)  # the outline lies just outside the strokes...
    grown = tf.nn.max_pool2d(on[..., None].astype(np.float32), 3, 1, "SAME").numpy()[..., 0]
    np.testing.assert_array_equal(edge, (grown > 0) & ~on)  # ...touching them
    assert 0.1 < edge.mean() < 0.35
    assert load_dataset("edges2digits", image_size=32).shape == (32, 32, 2)


def test_a_noise_to_image_variant_refuses_paired_data(tmp_path, capsys):
    from tfgan_app.train import main

    code, _, err = run_cli(main, capsys, "--variant", "dcgan", "--dataset", "edges2digits",
                           "--output-dir", tmp_path / "run")
    assert code == 2 and "Traceback" not in err
    assert "dataset edges2digits is paired" in err and "variant dcgan trains on single" in err
    assert "variants that take paired data:" in err
    assert not (tmp_path / "run" / "checkpoints").exists()


@pytest.mark.parametrize("takes, spec, message", [
    ("aligned", "digits", "has single examples; paired datasets: edges2digits, gray2color"),
    ("aligned", "edges2digits_unpaired", "has unaligned pairs (no ground truth)"),
    ("any", "photos", "has single examples; paired datasets: edges2digits, "
                      "edges2digits_unpaired"),
])
def test_an_image_to_image_variant_refuses_data_it_cannot_train_on(takes, spec, message):
    from tfgan_app.errors import UsageError
    from tfgan_app.training import check_pairing
    from tfgan_app.variants.base import GANModel

    class Translator(GANModel):
        takes_pairs = takes
        variant_name = "translator"

    with pytest.raises(UsageError, match="variant translator trains on") as err:
        check_pairing(Translator, load_dataset(spec))
    assert message in str(err.value)
    check_pairing(Translator, load_dataset("edges2digits"))  # aligned pairs suit both
    if takes == "any":
        check_pairing(Translator, load_dataset("edges2digits_unpaired"))


def test_two_folders_pair_by_name_each_half_with_its_channels(pair_folders):
    a, b = pair_folders
    data = load_dataset(f"pairs:{a},{b}")
    assert not data.in_memory and data.num_examples == 12 and data.shape == (8, 8, 4)
    assert data.pair == Pairing(1, 3, aligned=True) and data.aligned() is data
    source, target = data.pair.split(data.x)
    np.testing.assert_array_equal(_values(source)[:, 0], 10 * np.arange(12))
    np.testing.assert_array_equal(_values(target),
                                  [(i, 100, 200 - i) for i in range(12)])
    both = load_dataset(f"pairs:{a},{b}", image_size=16, channels=3)
    assert both.shape == (16, 16, 6) and both.pair == Pairing(3, 3, aligned=True)
    gray = load_from_config(resolve_config("dcgan", sets=[
        f"data.dataset=pairs:{a},{b}", "data.channels=1", "data.pair_direction=b_to_a"]).data,
        seed=0)
    assert gray.pair == Pairing(1, 1, aligned=True)
    source, target = gray.pair.split(gray.x)  # b_to_a: B's (now gray) images are the source
    np.testing.assert_array_equal(_values(target)[:, 0], 10 * np.arange(12))
    luma = 0.2989 * np.arange(12) + 0.587 * 100 + 0.114 * (200 - np.arange(12))
    np.testing.assert_allclose(_values(source)[:, 0], luma, atol=1)


def test_unmatched_duplicate_and_unreadable_pair_files(tmp_path, caplog):
    for name in ("x1", "x2", "x3", "only_a"):
        _png(tmp_path / "A" / f"{name}.png", 0)
    for name in ("x1", "x2", "x3", "only_b1", "only_b2"):
        _png(tmp_path / "B" / f"{name}.png", 0)
    spec = f"pairs:{tmp_path / 'A'},{tmp_path / 'B'}"
    with pytest.raises(DataError) as err:
        load_dataset(spec)
    message = str(err.value)
    assert "1 of the 4 images in" in message and "(only_a)" in message
    assert "2 of the 5 images in" in message and "(only_b1, only_b2)" in message
    assert "match by file name" in message
    (tmp_path / "A" / "only_a.png").unlink()
    for name in ("only_b1", "only_b2"):
        (tmp_path / "B" / f"{name}.png").unlink()
    (tmp_path / "B" / "x3.png").write_bytes(b"not a png")
    with caplog.at_level(logging.WARNING, logger="tfgan_app"):
        data = load_dataset(spec)
    assert data.num_examples == 2 and "skipping unreadable image" in caplog.text
    assert "left out 1 of 3 pairs" in caplog.text
    _png(tmp_path / "B" / "x1.jpg", 0)
    with pytest.raises(DataError, match="x1.jpg and x1.png have the same name|x1.png and "
                                        "x1.jpg have the same name"):
        load_dataset(spec)


@pytest.mark.parametrize("spec, message", [
    ("pairs:{t}/A,{t}/missing", "image folder not found: .*missing"),
    ("pairs:{t}/A,{t}/empty", "image folder .*empty contains no images"),
    ("pairs:{t}/A,{t}/broken", "none of its 1 image files could be read"),
    ("pairs:{t}/A,{t}/B,{t}/C", "expected two folders separated by one comma"),
    ("unpaired:{t}/A", "expected two folders separated by one comma"),
    ("pairs:{t}/missing", "image folder not found"),
    ("pairs:{t}/empty", "contains no images"),
])
def test_pair_spec_errors(tmp_path, spec, message):
    _png(tmp_path / "A" / "x.png", 0)
    (tmp_path / "empty").mkdir()
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "x.png").write_bytes(b"garbage")
    with pytest.raises(DataError, match=message):
        load_dataset(spec.format(t=tmp_path))


def test_side_by_side_pairs_split_and_direction(tmp_path):
    (tmp_path / "ab").mkdir()
    for i in range(4):
        image = Image.new("RGB", (16, 8), (10 * i, 0, 0))
        image.paste((0, 200, 10 * i), (8, 0, 16, 8))  # the right half: B
        image.save(tmp_path / "ab" / f"{i}.png")
    spec = f"pairs:{tmp_path / 'ab'}"
    data = load_dataset(spec)
    assert data.shape == (8, 8, 6) and data.pair == Pairing(3, 3, aligned=True)
    source, target = data.pair.split(data.x)
    np.testing.assert_array_equal(_values(source), [(10 * i, 0, 0) for i in range(4)])
    np.testing.assert_array_equal(_values(target), [(0, 200, 10 * i) for i in range(4)])
    assert load_dataset(spec, image_size=4).shape == (4, 4, 6)
    flipped = load_from_config(resolve_config("dcgan", sets=[
        f"data.dataset={spec}", "data.pair_direction=b_to_a"]).data, seed=0)
    np.testing.assert_array_equal(flipped.x, np.concatenate([target, source], axis=-1))
    Image.new("L", (15, 8)).save(tmp_path / "ab" / "odd.png")
    with pytest.raises(DataError, match=r"twice as wide as high .*1 of 5 .*odd.png \(15x8\)"):
        load_dataset(spec)


def test_unaligned_pairing_follows_its_formula_and_never_changes():
    index = tf.range(7, dtype=tf.int64)
    a, b = (t.numpy() for t in paired.unaligned_indices(index, 7, 3))
    np.testing.assert_array_equal(a, np.arange(7))
    perm = paired.pairing_permutation(index, 7, 3).numpy()
    assert sorted(perm.tolist()) == list(range(7)) and perm.tolist() != list(range(7))
    np.testing.assert_array_equal(b, perm % 3)  # b = perm(i) mod nB, one permutation
    again = paired.unaligned_indices(index, 7, 3)[1].numpy()
    np.testing.assert_array_equal(again, b)
    # The larger collection (B here) is read exactly once per pass.
    a, b = (t.numpy() for t in paired.unaligned_indices(tf.range(9, dtype=tf.int64), 4, 9))
    np.testing.assert_array_equal(a, np.arange(9) % 4)
    assert sorted(b.tolist()) == list(range(9))


def test_unpaired_folders_pair_by_the_formula(tmp_path):
    for i in range(5):
        _png(tmp_path / "A" / f"a{i}.png", 10 * i)
    for i in range(3):
        _png(tmp_path / "B" / f"b{i}.png", (200 + i, 0, 0), mode="RGB")
    data = load_dataset(f"unpaired:{tmp_path / 'A'},{tmp_path / 'B'}")
    assert data.num_examples == 5 and data.shape == (8, 8, 4) and not data.in_memory
    assert data.pair == Pairing(1, 3, aligned=False) and data.aligned() is None
    _, b = paired.unaligned_indices(tf.range(5, dtype=tf.int64), 5, 3)
    source, target = data.pair.split(data.x)
    np.testing.assert_array_equal(_values(source)[:, 0], 10 * np.arange(5))
    np.testing.assert_array_equal(_values(target)[:, 0], 200 + b.numpy())
    assert set(_values(target)[:, 0]) == {200, 201, 202}  # every B image is used


def _batches(data, first, last, **kwargs):
    return [x.numpy() for x, _ in training_batches(data, batch_size=4, seed=2,
                                                    first_step=first, last_step=last,
                                                    **kwargs)]


@pytest.mark.parametrize("spec", ["pairs", "unpaired", "edges2digits_unpaired"])
def test_a_paired_stream_resumes_exactly_and_splits_over_workers(spec, pair_folders):
    a, b = pair_folders
    data = load_dataset({"pairs": f"pairs:{a},{b}", "unpaired": f"unpaired:{a},{b}"}.get(
        spec, spec))
    data = data.limit(24)
    whole = _batches(data, 0, 8)  # 2 passes (and more for 12 examples) of 4-row batches
    assert len(whole) == 8 and whole[0].shape[-1] == data.shape[-1]
    for k in (1, 5):
        later = _batches(data, k, 8)
        assert all(np.array_equal(x, y) for x, y in zip(later, whole[k:]))
    # Two workers with one replica each: each reads its 2 rows of every global batch.
    parts = [_batches(data, 0, 8, input_context=FakeContext(2, w, 2)) for w in range(2)]
    for step, x in enumerate(whole):
        np.testing.assert_array_equal(np.concatenate([parts[0][step], parts[1][step]]), x)


def test_tfds_cycle_gan_pairs_the_a_and_b_splits():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=8):
        data = load_dataset("tfds:cycle_gan/horse2zebra", image_size=16)
        assert data.name == "tfds:cycle_gan/horse2zebra" and not data.in_memory
        assert data.num_examples == 8 and data.shape == (16, 16, 6)
        assert data.pair == Pairing(3, 3, aligned=False) and data.aligned() is None
        assert data.num_classes == 0
        x = data.x
        assert x.min() >= -1.0 and x.max() <= 1.0
        source, target = data.pair.split(x)
        assert not np.array_equal(source, target)
        whole = _batches(data, 0, 6)
        later = _batches(data, 3, 6)
        assert all(np.array_equal(p, q) for p, q in zip(later, whole[3:]))
        assert load_dataset("tfds:cycle_gan/horse2zebra:test").shape == (256, 256, 6)


def test_edges2digits_unpaired_keeps_its_ground_truth():
    data = load_dataset("edges2digits_unpaired")
    truth = data.aligned()
    assert data.pair == Pairing(1, 1, aligned=False) and truth.pair.aligned
    assert truth.name == "edges2digits" and data.num_examples == truth.num_examples == 1797
    _, b = paired.unaligned_indices(tf.range(1797, dtype=tf.int64), 1797, 1797)
    source, target = data.pair.split(data.x)
    true_source, true_target = truth.pair.split(truth.x)
    np.testing.assert_array_equal(source, true_source)  # A[i] with B[perm(i)]
    np.testing.assert_array_equal(target, true_target[b.numpy()])
    np.testing.assert_array_equal(data.y, truth.y)  # the source's digit
    assert np.mean(b.numpy() == np.arange(1797)) < 0.01
    flipped = load_from_config(resolve_config("dcgan", sets=[
        "data.dataset=edges2digits_unpaired", "data.pair_direction=b_to_a",
        "data.max_examples=64"]).data, seed=0)
    assert flipped.num_examples == flipped.aligned().num_examples == 64
    np.testing.assert_array_equal(flipped.aligned().x[..., 0], true_target[:64, ..., 0])
    np.testing.assert_array_equal(flipped.x[..., 1], source[:64, ..., 0])


def test_photos_are_textured_patches_with_a_disjoint_held_out_strip():
    data = load_dataset("photos")
    assert data.in_memory and data.pair is None and data.shape == (64, 64, 3)
    assert 2500 <= data.num_examples <= 4000 and data.reader.x.dtype == np.uint8
    assert data.num_classes == 0 and not data.y.any()
    (_, photo), _ = paired.photo_patches(64)
    assert np.bincount(photo).min() > 1000  # both photos give patches
    held = data.held_out
    assert held.shape == (64, 64, 3) and 100 <= held.num_examples <= 400
    train, test = data.reader.x, held.reader.x
    assert min(paired.grayscale(train).reshape(len(train), -1).std(1)) >= 8.0
    # Distinct patches, none of them held out (their columns never overlap).
    seen = {bytes(p) for p in train}
    assert len(seen) == len(train) and not seen & {bytes(p) for p in test}
    np.testing.assert_array_equal(load_dataset("photos").reader.x, train)  # deterministic
    with pytest.raises(DataError, match="8 to 128 pixels"):
        load_dataset("photos", image_size=256)


def test_gray2color_sources_are_the_targets_luma():
    data = load_dataset("gray2color")
    assert data.shape == (32, 32, 4) and data.pair == Pairing(1, 3, aligned=True)
    assert data.aligned() is data and data.held_out.pair == data.pair
    x = data.reader.x
    gray, colour = data.pair.split(x)
    luma = tf.image.rgb_to_grayscale(tf.cast(colour, tf.float32)).numpy()
    np.testing.assert_allclose(gray, luma, atol=0.51)
    assert np.abs(colour.astype(int) - gray.astype(int)).max() > 50  # really coloured
    assert data.num_examples > 1500


def test_paired_data_errors_on_the_command_line(tmp_path, capsys):
    from tfgan_app.train import main

    code, _, err = run_cli(main, capsys, "--variant", "dcgan", "--dataset",
                           f"pairs:{tmp_path / 'no'},{tmp_path / 'where'}",
                           "--output-dir", tmp_path / "run")
    assert code == 2 and "image folder not found" in err and "Traceback" not in err
    code, _, err = run_cli(main, capsys, "--variant", "dcgan", "--set",
                           "data.pair_direction=b_to_a", "--output-dir", tmp_path / "run")
    assert code == 2 and "data.pair_direction=b_to_a needs paired data" in err
    code, _, err = run_cli(main, capsys, "--variant", "dcgan", "--set",
                           "data.pair_direction=up", "--output-dir", tmp_path / "run")
    assert code == 2 and "a_to_b" in err and "b_to_a" in err
    with pytest.raises(SystemExit):
        run_cli(main, capsys, "--help")
    out = capsys.readouterr().out
    for spec in ("edges2digits", "photos", "gray2color", "pairs:DIR_A,DIR_B", "pairs:DIR",
                 "unpaired:DIR_A,DIR_B", "tfds:cycle_gan/NAME[:test]"):
        assert spec in out


def test_convert_refuses_paired_data(tmp_path, capsys):
    from tfgan_app.convert import main

    code, _, err = run_cli(main, capsys, "--dataset", "edges2digits", "--out", tmp_path / "o")
    assert code == 2 and "is paired" in err and not (tmp_path / "o").exists()

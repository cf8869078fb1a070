"""Paired and unpaired image-to-image data: the built-ins, folders of pairs, the unaligned
pairing, TFDS cycle_gan, and how the pipeline and the CLI treat them."""

import numpy as np
import pytest
import tensorflow as tf
from helpers import run_cli

from tfgan_app.data import Pairing, load_dataset


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

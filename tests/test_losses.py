import math
import sys

import numpy as np
import pytest
import tensorflow as tf

from tfgan_app import distribute, losses
from tfgan_app.tfgan_compat import tfgan


def softplus(x):
    return math.log1p(math.exp(x))


REAL = [[2.0], [-1.0]]  # discriminator logits, shape [batch, 1]
FAKE = [[0.5], [-3.0]]


def test_minimax_discriminator_loss_by_hand():
    expected = [softplus(-2.0) + softplus(0.5), softplus(1.0) + softplus(-3.0)]
    got = losses.minimax_discriminator_loss(tf.constant(REAL), tf.constant(FAKE))
    assert got.shape == (2,)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(got.numpy(), [1.101005, 1.361849], rtol=1e-5)


def test_one_sided_label_smoothing_only_moves_the_real_target():
    # Real target 0.9: -(0.9 log s(x) + 0.1 log(1 - s(x))) = 0.9 softplus(-x) + 0.1 softplus(x)
    expected = [0.9 * softplus(-2.0) + 0.1 * softplus(2.0) + softplus(0.5),
                0.9 * softplus(1.0) + 0.1 * softplus(-1.0) + softplus(-3.0)]
    got = losses.minimax_discriminator_loss(tf.constant(REAL), tf.constant(FAKE),
                                            label_smoothing=0.1)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6)


def test_generator_losses_by_hand():
    np.testing.assert_allclose(losses.modified_generator_loss(tf.constant(FAKE)).numpy(),
                               [softplus(-0.5), softplus(3.0)], rtol=1e-6)
    np.testing.assert_allclose(losses.minimax_generator_loss(tf.constant(FAKE)).numpy(),
                               [-softplus(0.5), -softplus(-3.0)], rtol=1e-6)


def test_discriminator_loss_matches_tensorflow_gan():
    ours = losses.minimax_discriminator_loss(tf.constant(REAL), tf.constant(FAKE))
    theirs = tfgan().losses.wargs.minimax_discriminator_loss(
        tf.constant(REAL), tf.constant(FAKE), label_smoothing=0.0,
        reduction=tf.compat.v1.losses.Reduction.NONE)
    np.testing.assert_allclose(ours.numpy(), tf.reshape(theirs, [-1]).numpy(), rtol=1e-6)


def test_per_example_collapses_all_but_the_batch_axis():
    values = tf.reshape(tf.range(8, dtype=tf.float32), [2, 2, 2])
    np.testing.assert_allclose(losses.per_example(values).numpy(), [1.5, 5.5])


def test_reduce_loss_divides_by_the_global_batch():
    assert float(losses.reduce_loss(tf.constant([1.0, 2.0, 3.0, 4.0]))) == pytest.approx(2.5)
    strategy = distribute.mirrored(["/cpu:0", "/cpu:1"])
    per_replica = strategy.experimental_distribute_values_from_function(
        lambda ctx: tf.constant([[1.0, 2.0], [3.0, 4.0]][ctx.replica_id_in_sync_group]))
    scaled = strategy.run(losses.reduce_loss, args=(per_replica,))
    # Each replica divides its sum by the global batch (4): 3/4 and 7/4, summing to the mean.
    assert [float(v) for v in strategy.experimental_local_results(scaled)] == [0.75, 1.75]
    assert strategy.run(losses.num_replicas) == 2
    assert losses.num_replicas() == 1


def test_tfgan_shim_leaves_no_stub_on_tensorflow():
    module = tfgan()
    assert hasattr(module.losses.wargs, "wasserstein_gradient_penalty")
    assert hasattr(module.eval, "frechet_classifier_distance_from_activations")
    assert not hasattr(tf, "estimator")
    assert "tensorflow_gan" in sys.modules and tfgan() is module

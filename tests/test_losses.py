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


def test_least_squares_losses_by_hand():
    real, fake = tf.constant(REAL), tf.constant(FAKE)
    d = losses.least_squares_discriminator_loss(real, fake, real_label=1.0, fake_label=-1.0)
    np.testing.assert_allclose(d, [0.5 * (1 + 1.5 ** 2), 0.5 * (4 + 4)], rtol=1e-6)
    g = losses.least_squares_generator_loss(fake, real_label=0.0)
    np.testing.assert_allclose(g, [0.5 * 0.25, 0.5 * 9], rtol=1e-6)


def test_wasserstein_losses_by_hand():
    np.testing.assert_allclose(
        losses.wasserstein_discriminator_loss(tf.constant(REAL), tf.constant(FAKE)),
        [0.5 - 2.0, -3.0 + 1.0])
    np.testing.assert_allclose(losses.wasserstein_generator_loss(tf.constant(FAKE)),
                               [-0.5, 3.0])


def test_gradient_penalty_of_a_linear_critic_is_exact():
    w = tf.constant([[3.0], [4.0]])  # ||grad|| = 5 everywhere
    points = tf.constant([[1.0, 2.0], [-1.0, 0.5]])
    penalty = losses.gradient_penalty(lambda x: tf.matmul(x, w), points)
    np.testing.assert_allclose(penalty, [16.0, 16.0], rtol=1e-6)
    # The penalty is differentiable in the critic's weights: d/dw (||w|| - 1)^2.
    wv = tf.Variable(w)
    with tf.GradientTape() as tape:
        p = losses.gradient_penalty(lambda x: tf.matmul(x, wv), points)[0]
    np.testing.assert_allclose(tape.gradient(p, wv), 2 * 4 * w / 5, rtol=1e-5)


def test_hinge_losses_by_hand():
    # D: max(0, 1 - D(x)) + max(0, 1 + D(G(z))); G: -D(G(z))
    d = losses.hinge_discriminator_loss(tf.constant(REAL), tf.constant(FAKE))
    assert d.shape == (2,)
    np.testing.assert_allclose(d, [0.0 + 1.5, 2.0 + 0.0])
    np.testing.assert_allclose(losses.hinge_generator_loss(tf.constant(FAKE)), [-0.5, 3.0])
    # Past the margins (D(x) >= 1, D(G(z)) <= -1) the discriminator gets no gradient.
    real, fake = tf.constant([[1.5], [0.5]]), tf.constant([[-2.0], [-0.5]])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([real, fake])
        d = tf.reduce_sum(losses.hinge_discriminator_loss(real, fake))
    np.testing.assert_allclose(tape.gradient(d, real), [[0.0], [-1.0]])
    np.testing.assert_allclose(tape.gradient(d, fake), [[0.0], [1.0]])


def test_r1_penalty_is_the_squared_input_gradient_norm():
    points = tf.constant([[1.0, 2.0], [-1.0, 0.5]])
    w = tf.Variable([[3.0], [4.0]])
    # Linear D: grad = w everywhere, so ||w||^2 = 25 per example; its weight gradient 2 w.
    with tf.GradientTape() as tape:
        penalty = losses.r1_penalty(lambda x: tf.matmul(x, w), points)
        total = penalty[0]
    np.testing.assert_allclose(penalty, [25.0, 25.0], rtol=1e-6)
    np.testing.assert_allclose(tape.gradient(total, w), 2 * w.numpy(), rtol=1e-6)
    # D(x) = ||x||^2 / 2: grad = x, so the penalty is ||x||^2, one per example.
    quadratic = losses.r1_penalty(
        lambda x: 0.5 * tf.reduce_sum(tf.square(x), axis=1, keepdims=True), points)
    np.testing.assert_allclose(quadratic, [5.0, 1.25], rtol=1e-6)


def pulling_away_by_hand(s):
    unit = s / np.linalg.norm(s, axis=1, keepdims=True)
    cos2 = (unit @ unit.T) ** 2
    n = len(s)
    return (cos2.sum() - n) / (n * (n - 1))


def test_pulling_away_term_value_and_gradient():
    s = tf.constant(np.random.default_rng(0).standard_normal((5, 3)), tf.float32)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(s)
        per = losses.pulling_away_term(s)
        pt = tf.reduce_mean(per)
        # the batch objective written directly, for the reference gradient
        unit = tf.math.l2_normalize(s, axis=1)
        direct = (tf.reduce_sum(tf.square(unit @ tf.transpose(unit))) - 5.0) / 20.0
    assert float(pt) == pytest.approx(pulling_away_by_hand(s.numpy()), rel=1e-5)
    np.testing.assert_allclose(tape.gradient(pt, s), tape.gradient(direct, s), atol=1e-6)


def test_feature_matching_value_and_gradient():
    rng = np.random.default_rng(1)
    real = tf.constant(rng.standard_normal((4, 3)), tf.float32)
    fake = tf.constant(rng.standard_normal((4, 3)), tf.float32)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(fake)
        fm = tf.reduce_mean(losses.feature_matching_loss(real, fake))
        direct = tf.reduce_sum(tf.square(tf.reduce_mean(real, 0) - tf.reduce_mean(fake, 0)))
    assert float(fm) == pytest.approx(float(direct), rel=1e-6)
    np.testing.assert_allclose(tape.gradient(fm, fake), tape.gradient(direct, fake),
                               atol=1e-6)


def relativistic_by_hand(real, fake, real_target, fake_target):
    """ESRGAN's batch-level loss, the batch means differentiated directly."""
    def bce(x, t):
        return tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.fill(tf.shape(x), t),
                                                       logits=x)
    return (tf.reduce_mean(bce(real - tf.reduce_mean(fake, 0), real_target))
            + tf.reduce_mean(bce(fake - tf.reduce_mean(real, 0), fake_target)))


@pytest.mark.parametrize("loss, targets", [
    (losses.relativistic_discriminator_loss, (1.0, 0.0)),
    (losses.relativistic_generator_loss, (0.0, 1.0)),
])
def test_relativistic_losses_value_and_gradient_through_the_means(loss, targets):
    rng = np.random.default_rng(2)
    real = tf.constant(rng.standard_normal((5, 1)), tf.float32)
    fake = tf.constant(rng.standard_normal((5, 1)), tf.float32)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([real, fake])
        per = loss(real, fake)
        value = losses.reduce_loss(per)
        direct = relativistic_by_hand(real, fake, *targets)
    assert per.shape == (5,)
    # one example by hand: D_Ra(x_r, x_f) = sigmoid(C(x_r) - E C(x_f))
    r, f = real.numpy()[:, 0], fake.numpy()[:, 0]
    real_rel, fake_rel = r[0] - f.mean(), f[0] - r.mean()
    sign = 1.0 if targets[0] else -1.0  # bce(x, 1) = softplus(-x), bce(x, 0) = softplus(x)
    assert float(per[0]) == pytest.approx(softplus(-sign * real_rel) + softplus(sign * fake_rel),
                                          rel=1e-5)
    assert float(value) == pytest.approx(float(direct), rel=1e-6)
    for x in (real, fake):
        np.testing.assert_allclose(tape.gradient(value, x), tape.gradient(direct, x),
                                   atol=1e-6)


def test_global_helpers_on_one_device_and_two_replicas():
    x = np.arange(8, dtype=np.float32).reshape(8, 1)
    assert float(losses.global_std(x)) == pytest.approx(np.std(x), rel=1e-6)
    strategy = distribute.mirrored(["/cpu:0", "/cpu:1"])
    parts = [x[:4], x[4:]]
    values = strategy.experimental_distribute_values_from_function(
        lambda ctx: tf.constant(parts[ctx.replica_id_in_sync_group]))
    stds = strategy.run(losses.global_std, (values,))
    gathered = strategy.run(losses.global_batch, (values,))
    for std, whole in zip(strategy.experimental_local_results(stds),
                          strategy.experimental_local_results(gathered)):
        assert float(std) == pytest.approx(np.std(x), rel=1e-6)
        np.testing.assert_array_equal(whole.numpy(), x)


def test_minibatch_std_uses_contiguous_groups():
    from tfgan_app.networks import MinibatchStdDev

    x = np.array([[0.0], [2.0], [1.0], [1.0]], np.float32)  # groups {0, 2} and {1, 1}
    out = MinibatchStdDev(2)(x).numpy()
    np.testing.assert_allclose(out[:, 1], [1.0, 1.0, 0.0, 0.0], atol=1e-3)
    np.testing.assert_array_equal(out[:, 0], x[:, 0])

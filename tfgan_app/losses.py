"""GAN losses with TF-GAN naming: `<name>_generator_loss` / `<name>_discriminator_loss`.

Every loss takes the discriminator's outputs under TF-GAN's argument names and returns a
*per-example* loss of shape [batch]. Turn it into the value to differentiate with
`reduce_loss`, which divides by the global batch: that is what makes a step on N replicas
equal a step on one device (gradients are summed across replicas).
"""

from __future__ import annotations

import tensorflow as tf

from tfgan_app.tfgan_compat import tfgan

_NONE = tf.compat.v1.losses.Reduction.NONE


def per_example(values) -> tf.Tensor:
    """Collapse every axis but the first by its mean: [batch, ...] -> [batch]."""
    values = tf.convert_to_tensor(values)
    if values.shape.rank == 1:
        return values
    return tf.reduce_mean(tf.reshape(values, [tf.shape(values)[0], -1]), axis=1)


def reduce_loss(per_example_loss) -> tf.Tensor:
    """Sum of per-example losses divided by the *global* batch size.

    Inside a replica of a `tf.distribute` strategy the global batch is the local batch times
    the number of replicas; on one device this is the plain mean.
    """
    return tf.nn.compute_average_loss(per_example(per_example_loss))


def num_replicas() -> int:
    ctx = tf.distribute.get_replica_context()
    return ctx.num_replicas_in_sync if ctx is not None else 1


def _bce(logits, target: float):
    logits = tf.convert_to_tensor(logits)
    return tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.fill(tf.shape(logits), tf.cast(target, logits.dtype)), logits=logits)


def minimax_discriminator_loss(discriminator_real_outputs, discriminator_gen_outputs,
                               label_smoothing: float = 0.0):
    """-log D(x) - log(1 - D(G(z))) per example (Goodfellow et al. 2014).

    Args:
      label_smoothing: one-sided label smoothing (Salimans et al. 2016): the target for real
        data is 1 - label_smoothing; the target for generated data stays 0.
    """
    return per_example(_bce(discriminator_real_outputs, 1.0 - label_smoothing)) + \
        per_example(_bce(discriminator_gen_outputs, 0.0))


# The non-saturating game changes only the generator's loss.
modified_discriminator_loss = minimax_discriminator_loss


def minimax_generator_loss(discriminator_gen_outputs):
    """log(1 - D(G(z))) per example: the original, saturating minimax generator loss."""
    return -per_example(_bce(discriminator_gen_outputs, 0.0))


def modified_generator_loss(discriminator_gen_outputs):
    """-log D(G(z)) per example: the non-saturating generator loss (TF-GAN's)."""
    return per_example(tfgan().losses.wargs.modified_generator_loss(
        discriminator_gen_outputs, reduction=_NONE))


# -- the rest of the zoo -------------------------------------------------------------------
def least_squares_generator_loss(discriminator_gen_outputs, real_label: float = 1.0):
    """0.5 (D(G(z)) - c)^2 per example (Mao et al. 2017; c = `real_label`)."""
    return per_example(tfgan().losses.wargs.least_squares_generator_loss(
        discriminator_gen_outputs, real_label=real_label, reduction=_NONE))


def least_squares_discriminator_loss(discriminator_real_outputs, discriminator_gen_outputs,
                                     real_label: float = 1.0, fake_label: float = 0.0):
    """0.5 (D(x) - b)^2 + 0.5 (D(G(z)) - a)^2 per example (b = real, a = fake label)."""
    return per_example(tfgan().losses.wargs.least_squares_discriminator_loss(
        discriminator_real_outputs, discriminator_gen_outputs, real_label=real_label,
        fake_label=fake_label, reduction=_NONE))


def wasserstein_generator_loss(discriminator_gen_outputs):
    """-D(G(z)) per example (Arjovsky et al. 2017)."""
    return per_example(tfgan().losses.wargs.wasserstein_generator_loss(
        discriminator_gen_outputs, reduction=_NONE))


def wasserstein_discriminator_loss(discriminator_real_outputs, discriminator_gen_outputs):
    """D(G(z)) - D(x) per example: the critic's estimate of minus the W1 distance."""
    return per_example(tfgan().losses.wargs.wasserstein_discriminator_loss(
        discriminator_real_outputs, discriminator_gen_outputs, reduction=_NONE))


def hinge_discriminator_loss(discriminator_real_outputs, discriminator_gen_outputs):
    """max(0, 1 - D(x)) + max(0, 1 + D(G(z))) per example on logits (Lim & Ye 2017;
    Miyato et al. 2018): D stops pushing a logit once it is past its margin."""
    real = tf.convert_to_tensor(discriminator_real_outputs)
    gen = tf.convert_to_tensor(discriminator_gen_outputs)
    return per_example(tf.nn.relu(1.0 - real)) + per_example(tf.nn.relu(1.0 + gen))


# The hinge game's generator loss is the Wasserstein one: -D(G(z)), no margin.
hinge_generator_loss = wasserstein_generator_loss


def _input_gradient_sq_norms(critic, points):
    """||d critic / d points||^2 per critic output, differentiable in the critic.

    One squared norm per output row: per example, or per pack of contiguous examples when
    the critic packs its inputs (PacGAN), whose gradient spans the whole pack.
    """
    with tf.GradientTape() as tape:
        tape.watch(points)
        outputs = critic(points)
    grads = tape.gradient(outputs, points)
    return tf.reduce_sum(tf.reshape(tf.square(grads), [tf.shape(outputs)[0], -1]), axis=1)


def gradient_penalty(critic, points, target: float = 1.0, epsilon: float = 1e-10):
    """(||d critic / d points||_2 - target)^2 per example, differentiable in the critic.

    `critic` maps points to [batch, 1] outputs. The epsilon sits inside the square root, so
    the norm's gradient stays finite where the input gradient is zero (as in TF-GAN).
    """
    norms = tf.sqrt(_input_gradient_sq_norms(critic, points) + epsilon)
    return tf.square(norms - target)


def r1_penalty(discriminator, real):
    """||d D(x) / d x||^2 per example at real data x: the R1 regularizer (Mescheder et al.
    2018), which the discriminator's loss adds times gamma / 2.

    `discriminator` maps `real` to [batch, 1] logits (one per pack of contiguous examples
    when it packs its inputs); the penalty is differentiable in it. Unlike
    `gradient_penalty` it takes no square root, so it needs no epsilon.
    """
    return _input_gradient_sq_norms(discriminator, real)


def global_batch(values) -> tf.Tensor:
    """Every replica's rows of `values`, in replica order, without gradient.

    An all-gather built on an all-reduce sum (which every strategy supports): on one device
    it is `values` itself.
    """
    values = tf.stop_gradient(tf.convert_to_tensor(values))
    ctx = tf.distribute.get_replica_context()
    if ctx is None or ctx.num_replicas_in_sync == 1:
        return values
    n = ctx.num_replicas_in_sync
    onehot = tf.one_hot(ctx.replica_id_in_sync_group, n, dtype=values.dtype)
    slots = tf.reshape(onehot, [n] + [1] * values.shape.rank) * values[None]
    gathered = ctx.all_reduce(tf.distribute.ReduceOp.SUM, slots)
    return tf.reshape(gathered, tf.concat([[-1], tf.shape(values)[1:]], 0))


def global_mean(values) -> tf.Tensor:
    """Mean over the global batch (axis 0), without gradient."""
    return tf.reduce_mean(global_batch(values), axis=0)


def feature_matching_loss(real_features, gen_features):
    """||E f(x) - E f(G(z))||^2 over the global batch, as a per-example loss.

    Salimans et al. 2016. Every example's value is the whole squared distance; its gradient
    is that of the batch-level objective (2 (m_gen - m_real) / N per generated example), so
    reducing over the global batch gives both the right value and the right gradient.
    """
    diff = global_mean(gen_features) - global_mean(real_features)
    value = tf.reduce_sum(tf.square(diff))
    flat = tf.reshape(gen_features, [tf.shape(gen_features)[0], -1])
    linear = 2.0 * tf.reduce_sum(flat * tf.reshape(diff, [1, -1]), axis=1)
    return value + linear - tf.stop_gradient(linear)


def pulling_away_term(embeddings):
    """EBGAN's pulling-away term (Zhao et al. 2017) over the global batch, per example.

    PT = 1/(N(N-1)) sum_{i != j} cos^2(s_i, s_j). Example i's value is
    1/(N-1) sum_{j != i} cos^2(s_i, s_j); as every pair appears twice, its gradient is
    doubled against the (gradient-free) other rows, which gives exactly d PT.
    """
    flat = tf.reshape(embeddings, [tf.shape(embeddings)[0], -1])
    unit = tf.math.l2_normalize(flat, axis=1)
    others = global_batch(unit)
    n = tf.cast(tf.shape(others)[0], unit.dtype)
    self_sim = tf.square(tf.reduce_sum(unit * tf.stop_gradient(unit), axis=1))
    per = (tf.reduce_sum(tf.square(tf.matmul(unit, others, transpose_b=True)), axis=1)
           - self_sim) / tf.maximum(n - 1.0, 1.0)
    return 2.0 * per - tf.stop_gradient(per)


def _relativistic_average(real, gen, real_target: float, gen_target: float):
    """Cross-entropy of D_Ra on both batches: bce(C(x_r) - E C(x_f), real_target) +
    bce(C(x_f) - E C(x_r), gen_target), per example, E over the global batch.

    The means come from `global_mean` (no gradient), so each example's value also carries
    a term of value 0 whose gradient is the loss's gradient through the means: with
    s_r = E[sigmoid(C(x_r) - E C(x_f)) - real_target] (the mean slope of the real terms),
    every generated logit gets -s_r / N, and the real logits -s_f / N alike. Reduced over
    the global batch this is the exact gradient of the batch-level loss, on any number of
    replicas. Works per position for patch logits (means over the batch at each position).
    """
    real, gen = tf.convert_to_tensor(real), tf.convert_to_tensor(gen)
    real_rel, gen_rel = real - global_mean(gen), gen - global_mean(real)
    # d bce(x, t) / dx = sigmoid(x) - t
    slope_real = global_mean(tf.sigmoid(real_rel) - real_target)
    slope_gen = global_mean(tf.sigmoid(gen_rel) - gen_target)
    through_means = (slope_real * (gen - tf.stop_gradient(gen))
                     + slope_gen * (real - tf.stop_gradient(real)))
    return (per_example(_bce(real_rel, real_target)) + per_example(_bce(gen_rel, gen_target))
            - per_example(through_means))


def relativistic_discriminator_loss(discriminator_real_outputs, discriminator_gen_outputs):
    """-log D_Ra(x_r, x_f) - log(1 - D_Ra(x_f, x_r)) per example, with
    D_Ra(a, b) = sigmoid(C(a) - E[C(b)]) and E over the global batch (the relativistic
    average discriminator, Jolicoeur-Martineau 2018, as ESRGAN uses it: Wang et al. 2018,
    eq. 1-2). The outputs are the raw logits C."""
    return _relativistic_average(discriminator_real_outputs, discriminator_gen_outputs,
                                 1.0, 0.0)


def relativistic_generator_loss(discriminator_real_outputs, discriminator_gen_outputs):
    """-log(1 - D_Ra(x_r, x_f)) - log D_Ra(x_f, x_r) per example (ESRGAN, eq. 3): the
    generator gains from the real data looking less real as well as from its own looking
    more real, so it gets gradient from both batches."""
    return _relativistic_average(discriminator_real_outputs, discriminator_gen_outputs,
                                 0.0, 1.0)


def global_std(values) -> tf.Tensor:
    """Standard deviation of all elements of the global batch, without gradient."""
    values = tf.stop_gradient(tf.convert_to_tensor(values))
    ctx = tf.distribute.get_replica_context()
    stats = tf.stack([tf.reduce_sum(values), tf.reduce_sum(tf.square(values)),
                      tf.cast(tf.size(values), values.dtype)])
    if ctx is not None and ctx.num_replicas_in_sync > 1:
        stats = ctx.all_reduce(tf.distribute.ReduceOp.SUM, stats)
    mean = stats[0] / stats[2]
    return tf.sqrt(tf.maximum(stats[1] / stats[2] - tf.square(mean), 0.0))

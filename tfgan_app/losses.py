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

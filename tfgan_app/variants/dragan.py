"""DRAGAN: a gradient penalty around the real data."""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from tfgan_app import losses
from tfgan_app.option import option
from tfgan_app.registry import register_variant
from tfgan_app.variants.base import PENALTY_STREAM
from tfgan_app.variants.gan import GAN, GANConfig


@dataclasses.dataclass
class DRAGANConfig(GANConfig):
    """GAN options plus the penalty (`dragan.*` keys)."""

    gp_weight: float = option(10.0, "gradient penalty weight lambda", min=0.0)
    perturb: float = option(0.5, "perturbation scale C: noise up to C * std(real batch)",
                            min=0.0)


@register_variant("dragan")
class DRAGAN(GAN):
    """GAN losses plus a gradient penalty at perturbed real data (Kodali et al. 2017).

    x_p = x + C std(x) u with u ~ U[0, 1), x_hat = x + a (x_p - x) with a ~ U[0, 1] per
    example, penalty lambda (||grad D(x_hat)|| - 1)^2; C = 0.5, lambda = 10.
    """

    default_architecture = "dcgan"
    Config = DRAGANConfig
    metric_names = ("d_loss", "g_loss", "gradient_penalty")
    per_example_gradients = True

    def penalty_points(self, real, stream: int):
        batch = tf.shape(real)[0]
        noise = self.global_random(tf.random.stateless_uniform, batch, real.shape[1:],
                                   stream + PENALTY_STREAM)
        alpha = self.global_random(tf.random.stateless_uniform, batch,
                                   [1] * (real.shape.rank - 1), stream + PENALTY_STREAM + 1)
        # The std is over the *global* batch, so N replicas perturb exactly like one device.
        return real + alpha * self.options.perturb * losses.global_std(real) * noise

    def discriminator_loss(self, real, fake, labels, cond, stream):
        terms = super().discriminator_loss(real, fake, labels, cond, stream)
        penalty = losses.gradient_penalty(lambda x: self.discriminate(x, labels),
                                          self.penalty_points(real, stream))
        terms["d_loss"] += self.options.gp_weight * penalty
        terms["gradient_penalty"] = penalty
        return terms

"""Wasserstein GAN with gradient penalty."""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from tfgan_app import losses
from tfgan_app.option import option
from tfgan_app.registry import register_variant
from tfgan_app.variants.base import PENALTY_STREAM, GANModel, VariantConfig


@dataclasses.dataclass
class WGANGPConfig(VariantConfig):
    """Critic schedule and penalty (`wgan_gp.*` keys)."""

    d_steps: int = option(5, "critic updates per generator update (n_critic)", min=1)
    gp_weight: float = option(10.0, "gradient penalty weight lambda", min=0.0)
    gp_epsilon: float = option(1e-10, "added to the squared gradient norm inside the square "
                                      "root (keeps the penalty's gradient finite)", min=0.0)


@register_variant("wgan_gp")
class WGANGP(GANModel):
    """WGAN whose critic is kept 1-Lipschitz by a gradient penalty (Gulrajani et al. 2017).

    Penalty lambda (||grad D(x_hat)|| - 1)^2 at x_hat = e x + (1 - e) G(z), e ~ U[0, 1] per
    example; lambda = 10, n_critic = 5, Adam(1e-4, 0, 0.9), layer norm in the critic.
    """

    logit = "critic"  # with a bias that stays 0: see WGAN.logit
    Config = WGANGPConfig
    metric_names = ("d_loss", "g_loss", "wasserstein", "gradient_penalty")
    per_example_gradients = True

    def penalty_points(self, real, fake, stream: int):
        """Where the gradient norm is pushed to 1: uniform interpolates of real and fake."""
        shape = [1] * (real.shape.rank - 1)
        eps = self.global_random(tf.random.stateless_uniform, tf.shape(real)[0], shape,
                                 stream + PENALTY_STREAM)
        return eps * real + (1.0 - eps) * fake

    def discriminator_loss(self, real, fake, labels, cond, stream):
        critic_loss = losses.wasserstein_discriminator_loss(self.discriminate(real),
                                                            self.discriminate(fake))
        points = self.penalty_points(real, fake, stream)
        penalty = losses.gradient_penalty(self.discriminate, points,
                                          epsilon=self.options.gp_epsilon)
        return {"d_loss": critic_loss + self.options.gp_weight * penalty,
                "wasserstein": -critic_loss, "gradient_penalty": penalty}

    def generator_loss(self, real, fake, labels, cond, stream):
        return {"g_loss": losses.wasserstein_generator_loss(self.discriminate(fake))}

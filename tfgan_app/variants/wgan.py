"""Wasserstein GAN with weight clipping."""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from tfgan_app import losses
from tfgan_app.option import option
from tfgan_app.registry import register_variant
from tfgan_app.variants.base import GANModel, VariantConfig


@dataclasses.dataclass
class WGANConfig(VariantConfig):
    """Critic schedule and weight clipping (`wgan.*` keys)."""

    d_steps: int = option(5, "critic updates per generator update (n_critic)", min=1)
    clip: float = option(0.01, "clip every critic weight to [-clip, clip] after each "
                               "critic update", min=0.0)


@register_variant("wgan")
class WGAN(GANModel):
    """Linear critic estimating the Wasserstein-1 distance (Arjovsky et al. 2017).

    Critic loss D(G(z)) - D(x), generator loss -D(G(z)); every critic weight is clipped to
    [-0.01, 0.01] after each of the n_critic = 5 updates; RMSprop(5e-5) as in the paper.
    """

    logit = "no_bias"  # a bias cancels out of the critic's loss
    Config = WGANConfig
    metric_names = ("d_loss", "g_loss", "wasserstein")

    def discriminator_loss(self, real, fake, labels, cond, stream):
        d_loss = losses.wasserstein_discriminator_loss(self.discriminate(real),
                                                       self.discriminate(fake))
        return {"d_loss": d_loss, "wasserstein": -d_loss}

    def generator_loss(self, real, fake, labels, cond, stream):
        return {"g_loss": losses.wasserstein_generator_loss(self.discriminate(fake))}

    def after_discriminator_update(self):
        # Every replica holds the same updated weights, so each clips them identically.
        clip = self.options.clip
        for variable in self.discriminator.trainable_variables:
            variable.assign(tf.clip_by_value(variable, -clip, clip))

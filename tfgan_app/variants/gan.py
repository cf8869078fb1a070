"""The original GAN."""

from __future__ import annotations

import dataclasses
from typing import Literal

from tfgan_app import losses
from tfgan_app.option import option
from tfgan_app.registry import register_variant
from tfgan_app.variants.base import GANModel, VariantConfig


@dataclasses.dataclass
class GANConfig(VariantConfig):
    """Options of `gan` and the variants built on its losses (dcgan, cgan, acgan, infogan,
    dragan)."""

    loss: Literal["non_saturating", "minimax"] = option(
        "non_saturating", "generator loss: -log D(G(z)) (non_saturating) or "
                          "log(1 - D(G(z))) (minimax, the game as first written)")
    label_smoothing: float = option(
        0.0, "one-sided label smoothing: real target is 1 - this (Salimans et al. 2016)",
        min=0.0, max=0.5)
    feature_matching: bool = option(
        False, "generator matches the mean discriminator features of real data instead of "
               "fooling its output (Salimans et al. 2016)")


@register_variant("gan")
class GAN(GANModel):
    """Minimax GAN with a sigmoid cross-entropy discriminator (Goodfellow et al. 2014).

    The generator maximizes log D(G(z)) (non-saturating, the paper's practical choice) or
    minimizes log(1 - D(G(z))) (minimax); default networks are MLPs.
    """

    Config = GANConfig
    default_architecture = "mlp"

    def discriminator_loss(self, real, fake, labels, cond, stream):
        return {"d_loss": losses.minimax_discriminator_loss(
            self.discriminate(real, labels), self.discriminate(fake, cond),
            label_smoothing=self.options.label_smoothing)}

    def generator_loss(self, real, fake, labels, cond, stream):
        return {"g_loss": self.adversarial_generator_loss(
            real, self.discriminate_all(fake, cond), labels)}

    def adversarial_generator_loss(self, real, fake_outputs, labels):
        """The generator's GAN term from the discriminator's outputs on generated data:
        non-saturating, minimax, or feature matching (which also looks at `real`)."""
        if self.options.feature_matching:
            real_features = self.discriminate_all(real, labels)["features"]
            return losses.feature_matching_loss(real_features, fake_outputs["features"])
        if self.options.loss == "minimax":
            return losses.minimax_generator_loss(fake_outputs["logit"])
        return losses.modified_generator_loss(fake_outputs["logit"])

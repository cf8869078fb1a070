"""The original GAN."""

from __future__ import annotations

import dataclasses
from typing import Literal

from tfgan_app import losses
from tfgan_app.errors import ConfigError
from tfgan_app.option import option
from tfgan_app.registry import register_variant
from tfgan_app.variants.base import GANModel, VariantConfig


@dataclasses.dataclass
class GANConfig(VariantConfig):
    """Options of `gan` and the variants built on its losses (dcgan, cgan, acgan, infogan,
    dragan)."""

    loss: Literal["non_saturating", "minimax", "hinge"] = option(
        "non_saturating", "the GAN loss. non_saturating: D's cross-entropy, G -log D(G(z)); "
                          "minimax: D's cross-entropy, G log(1 - D(G(z))) (the game as "
                          "first written); hinge: D max(0, 1 - D(x)) + max(0, 1 + D(G(z))) "
                          "on logits, G -D(G(z)) (Lim & Ye 2017; Miyato et al. 2018)")
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
    minimizes log(1 - D(G(z))) (minimax); `loss=hinge` trades both cross-entropies for the
    hinge loss. Default networks are MLPs.
    """

    Config = GANConfig
    default_architecture = "mlp"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.options.loss == "hinge" and self.options.label_smoothing:
            name = self.variant_name
            raise ConfigError(f"{name}.label_smoothing sets the real target of the "
                              f"cross-entropy; {name}.loss=hinge has margins, not targets: "
                              f"set {name}.label_smoothing=0 or another {name}.loss")

    def discriminator_loss(self, real, fake, labels, cond, stream):
        return {"d_loss": self.adversarial_discriminator_loss(
            self.discriminate(real, labels), self.discriminate(fake, cond))}

    def adversarial_discriminator_loss(self, real_logit, fake_logit):
        """D's GAN term from its logits on real and generated data: the hinge loss, or the
        cross-entropy (with the one-sided smoothed real target)."""
        if self.options.loss == "hinge":
            return losses.hinge_discriminator_loss(real_logit, fake_logit)
        return losses.minimax_discriminator_loss(
            real_logit, fake_logit, label_smoothing=self.options.label_smoothing)

    def generator_loss(self, real, fake, labels, cond, stream):
        return {"g_loss": self.adversarial_generator_loss(
            real, self.discriminate_all(fake, cond), labels)}

    def adversarial_generator_loss(self, real, fake_outputs, labels):
        """The generator's GAN term from the discriminator's outputs on generated data:
        non-saturating, minimax, hinge, or feature matching (which also looks at `real`,
        and replaces the loss's generator term whatever `loss` is)."""
        if self.options.feature_matching:
            real_features = self.discriminate_all(real, labels)["features"]
            return losses.feature_matching_loss(real_features, fake_outputs["features"])
        return self.logit_generator_loss(fake_outputs["logit"])

    def logit_generator_loss(self, logit):
        """The generator's GAN term from D's logits on generated data: non-saturating,
        minimax (log(1 - D), the perceptual loss as Yeh et al. 2017 write it) or hinge."""
        if self.options.loss == "hinge":
            return losses.hinge_generator_loss(logit)
        if self.options.loss == "minimax":
            return losses.minimax_generator_loss(logit)
        return losses.modified_generator_loss(logit)

    def perceptual_loss(self, x, labels=None):
        """The `loss` term of the generator (feature matching needs a real batch, so its
        runs get the `loss` term too)."""
        return self.logit_generator_loss(self.discriminate(x, labels, training=False))

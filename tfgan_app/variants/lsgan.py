"""Least-squares GAN."""

from __future__ import annotations

import dataclasses

from tfgan_app import losses
from tfgan_app.option import option
from tfgan_app.registry import register_variant
from tfgan_app.variants.base import DiscriminatorCurve, GANModel, VariantConfig


@dataclasses.dataclass
class LSGANConfig(VariantConfig):
    """Targets of the least-squares losses; the defaults are the paper's b = c = 1, a = 0."""

    a: float = option(0.0, "discriminator target for generated data")
    b: float = option(1.0, "discriminator target for real data")
    c: float = option(1.0, "the value the generator wants the discriminator to output")


@register_variant("lsgan")
class LSGAN(GANModel):
    """Least-squares losses instead of cross-entropy (Mao et al. 2017, "Least Squares GANs").

    D minimizes (D(x)-b)^2/2 + (D(G(z))-a)^2/2, G minimizes (D(G(z))-c)^2/2 on a linear
    output; a=0, b=c=1 by default (the paper's other choice: a=-1, b=1, c=0).
    """

    Config = LSGANConfig

    def describe_output(self, out):
        o = self.options
        return DiscriminatorCurve(
            out, f"D(x), least squares (real target {o.b:g}, generated {o.a:g})", False)

    def perceptual_loss(self, x, labels=None):
        """0.5 (D(x) - c)^2: the generator's loss."""
        return losses.least_squares_generator_loss(self.discriminate(x, training=False),
                                                   real_label=self.options.c)

    def discriminator_loss(self, real, fake, labels, cond, stream):
        return {"d_loss": losses.least_squares_discriminator_loss(
            self.discriminate(real), self.discriminate(fake),
            real_label=self.options.b, fake_label=self.options.a)}

    def generator_loss(self, real, fake, labels, cond, stream):
        return {"g_loss": losses.least_squares_generator_loss(
            self.discriminate(fake), real_label=self.options.c)}

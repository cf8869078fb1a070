"""Conditional GAN."""

from tfgan_app.registry import register_variant
from tfgan_app.variants.gan import GAN


@register_variant("cgan")
class CGAN(GAN):
    """GAN whose generator and discriminator both see the class label (Mirza & Osindero 2014).

    The label is one-hot concatenated to z and to the discriminator's input (as constant
    channels for images); generated batches reuse the real batch's labels.
    """

    conditional = True
    packable = False
    default_architecture = "dcgan"

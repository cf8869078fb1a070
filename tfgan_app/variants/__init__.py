"""GAN variants: one module each, registered by name on import."""

from tfgan_app.variants import (acgan, began, cgan, dcgan, dragan, ebgan, gan,  # noqa: F401
                                infogan, lsgan, wgan, wgan_gp)
from tfgan_app.variants.base import GANModel, VariantConfig

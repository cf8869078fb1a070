"""GAN variants: one module each, registered by name on import."""

from tfgan_app.variants import cgan, dcgan, gan  # noqa: F401
from tfgan_app.variants.base import GANModel, VariantConfig

__all__ = ["GANModel", "VariantConfig"]

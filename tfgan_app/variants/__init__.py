"""GAN variants: one module each, registered by name on import.

Importing this package imports every built-in variant module, and each registers itself
with `registry.register_variant` (tfgan_app/config.py imports the package for that).
"""

from tfgan_app.variants import (  # noqa: F401 (imported to register)
    acgan,
    began,
    cgan,
    cyclegan,
    dcgan,
    dragan,
    ebgan,
    gan,
    infogan,
    inpaint,
    lsgan,
    pix2pix,
    srgan,
    wgan,
    wgan_gp,
)
from tfgan_app.variants.base import GANModel, VariantConfig
from tfgan_app.variants.image_to_image import ImageToImageModel

__all__ = ["GANModel", "ImageToImageModel", "VariantConfig"]

"""Deep convolutional GAN."""

from tfgan_app.registry import register_variant
from tfgan_app.variants.gan import GAN


@register_variant("dcgan")
class DCGAN(GAN):
    """GAN losses with the all-convolutional DCGAN pair (Radford et al. 2016).

    Strided (transposed) convolutions, batch norm, ReLU/LeakyReLU, tanh output and
    Adam(2e-4, beta_1=0.5); on 2-D toy data, where convolutions do not apply, the MLP pair.
    """

    default_architecture = "dcgan"

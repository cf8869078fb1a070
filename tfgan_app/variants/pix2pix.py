"""pix2pix: paired image-to-image translation with a conditional GAN."""

from __future__ import annotations

import dataclasses
from typing import Literal

import tensorflow as tf

from tfgan_app import losses
from tfgan_app.i2i_networks import patchgan_discriminator, unet_generator
from tfgan_app.option import option
from tfgan_app.registry import register_variant
from tfgan_app.variants.base import VariantConfig
from tfgan_app.variants.image_to_image import ImageToImageModel


@dataclasses.dataclass
class UNetPatchGANConfig(VariantConfig):
    """Options of pix2pix's networks, a U-Net G and a PatchGAN D, for every variant that
    builds them (`unet_patchgan`); model.g_filters and model.d_filters set the width of the
    U-Net's first stage and of PatchGAN's first layer."""

    depth: int = option(
        0, "U-Net levels (each halves the resolution, with a skip connection); 0: as many "
           "as halve the size exactly, at most 8 (256 px: 8, the paper's; 16 px: 4)", min=0)
    max_filters: int = option(512, "U-Net: the channels stop doubling at this many", min=1)
    dropout: float = option(
        0.0, "U-Net: dropout in the innermost decoder levels (the paper's 0.5 noise; masks "
             "drawn for the global batch from train.seed, so exact under distribution); "
             "inference runs without it", min=0.0, max=0.9)
    norm: Literal["batch", "instance", "none"] = option(
        "batch", "normalization of both networks (batch: synchronized across replicas, "
                 "pix2pix's; instance: per example)")
    d_layers: int = option(
        3, "PatchGAN: stride-2 convolutions (3: the paper's 70x70 receptive field at 256 "
           "px; fewer for small images: each patch logit sees more of a small image)", min=1)


def unet_patchgan(cfg, generator_in, out_channels: int, discriminator_in):
    """(U-Net generator, PatchGAN discriminator) for shapes `generator_in` ->
    `out_channels` and `discriminator_in`, from a `UNetPatchGANConfig` run config."""
    o = cfg.options
    generator = unet_generator(generator_in, out_channels, filters=cfg.model.g_filters,
                               max_filters=o.max_filters, depth=o.depth, dropout=o.dropout,
                               norm=o.norm, seed=cfg.train.seed)
    discriminator = patchgan_discriminator(discriminator_in, filters=cfg.model.d_filters,
                                           layers=o.d_layers, norm=o.norm)
    return generator, discriminator


@dataclasses.dataclass
class Pix2PixConfig(UNetPatchGANConfig):
    """Options of `pix2pix` (`pix2pix.*` keys), besides its networks'."""

    l1_weight: float = option(
        100.0, "lambda: the generator's loss adds lambda |target - G(x)|_1 (mean over pixels) "
               "to its GAN term (Isola et al. 2017, eq. 4: lambda = 100)", min=0.0)
    d_weight: float = option(
        0.5, "D's loss is this times its cross-entropy on real and generated pairs (the "
             "paper halves it, slowing D relative to G)", min=0.0)


@register_variant("pix2pix")
class Pix2Pix(ImageToImageModel):
    """Paired translation: U-Net G, PatchGAN D on (source, image), L1 (Isola et al. 2017).

    D judges each patch of the source concatenated with the real or generated target
    (cross-entropy on patch logits, halved); G minimizes the non-saturating GAN term plus
    lambda (pix2pix.l1_weight, 100) times the L1 distance to the target.
    """

    Config = Pix2PixConfig
    metric_names = ("d_loss", "g_loss", "g_gan", "l1")

    @classmethod
    def build_translation_networks(cls, cfg, source_shape, target_shape):
        d_shape = (*target_shape[:2], source_shape[-1] + target_shape[-1])
        return unet_patchgan(cfg, source_shape, target_shape[-1], d_shape)

    def discriminator_inputs(self, x, inputs):
        """D's input: the source image and the real or generated target, as channels."""
        return tf.concat([tf.cast(inputs["image"], x.dtype), x], axis=-1)

    def discriminator_loss(self, real, fake, labels, cond, stream):
        bce = losses.minimax_discriminator_loss(self.discriminate(real, labels),
                                                self.discriminate(fake, cond))
        return {"d_loss": self.options.d_weight * bce}

    def generator_loss(self, real, fake, labels, cond, stream):
        gan = losses.modified_generator_loss(self.discriminate(fake, cond))
        l1 = losses.per_example(tf.abs(real - fake))
        return {"g_loss": gan + self.options.l1_weight * l1, "g_gan": gan, "l1": l1}

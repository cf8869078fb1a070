"""Energy-based GAN."""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from tfgan_app import losses, networks
from tfgan_app.option import option
from tfgan_app.registry import register_variant
from tfgan_app.variants.base import DiscriminatorCurve, GANModel, VariantConfig

DENOISE_STREAM = 400  # offset of an update's stream for ebgan.denoise's draws


@dataclasses.dataclass
class EBGANConfig(VariantConfig):
    """Energy margin and repelling regularizer (`ebgan.*` keys)."""

    margin: float = option(1.0, "margin m: D stops pushing up energies above it (energies "
                                "are per-pixel mean squared errors of images in [-1, 1])",
                           min=0.0)
    pt_weight: float = option(0.1, "weight of the pulling-away term in G's loss (0: off)",
                              min=0.0)
    embedding_dim: int = option(64, "autoencoder bottleneck size", min=1)
    denoise: float = option(
        0.0, "std of the Gaussian noise added to the real samples of D's term D(x), in data "
             "units: D then learns to reconstruct x from x + noise (a denoising autoencoder, "
             "Vincent et al. 2008), which cannot be the identity, so energies rise away "
             "from the data even where the autoencoder could reconstruct every input (2-D "
             "points); energy_real logs that denoising error. 0: off (the paper's D)",
        min=0.0)


@register_variant("ebgan")
class EBGAN(GANModel):
    """Autoencoder discriminator whose reconstruction error is an energy (Zhao et al. 2017).

    D: D(x) + max(0, m - D(G(z))); G: D(G(z)) + lambda_PT PT, where the pulling-away term PT
    is the mean squared cosine similarity between encodings of generated samples. With
    `ebgan.denoise`, D(x) in D's loss reconstructs x from a noisy copy.
    """

    Config = EBGANConfig
    logit = False  # an autoencoder: no real/fake score (so no r1_weight)
    metric_names = ("d_loss", "g_loss", "energy_real", "energy_fake", "pulling_away")

    @classmethod
    def build_networks(cls, cfg, data, num_classes: int):
        return networks.autoencoder_pair(cfg.model, data, cfg.options.embedding_dim,
                                         cls.variant_name, cls.default_architecture)

    def energy(self, x, training=True, noise=None):
        """(per-example mean squared reconstruction error, embedding); with `noise`, the
        error of reconstructing x from x + noise."""
        # "input": x as D saw it (transformed by DiffAugment inside an update), without noise
        out = self.discriminate_all(x, training=training, noise=noise)
        return (losses.per_example(tf.square(out["input"] - out["reconstruction"])),
                out["embedding"])

    def point_verdict(self, x):
        energy, _ = self.energy(tf.constant(x, tf.float32), training=False)
        return DiscriminatorCurve(energy.numpy(), "energy D(x) (lower: more real)", False)

    def perceptual_loss(self, x, labels=None):
        """The energy D(x), the generator's loss without the pulling-away term (a term of
        the batch, whose rows here are different images and candidates)."""
        return self.energy(x, training=False)[0]

    def denoising_noise(self, real, stream: int):
        """The noise of `ebgan.denoise` for this update's real batch (None when off), drawn
        for the global batch like every random draw of an update."""
        if not self.options.denoise:
            return None
        return self.options.denoise * self.global_random(
            tf.random.stateless_normal, tf.shape(real)[0], real.shape[1:],
            stream + DENOISE_STREAM)

    def discriminator_loss(self, real, fake, labels, cond, stream):
        energy_real, _ = self.energy(real, noise=self.denoising_noise(real, stream))
        energy_fake, _ = self.energy(fake)
        hinge = tf.nn.relu(self.options.margin - energy_fake)
        return {"d_loss": energy_real + hinge, "energy_real": energy_real,
                "energy_fake": energy_fake}

    def generator_loss(self, real, fake, labels, cond, stream):
        energy_fake, embedding = self.energy(fake)
        pt = losses.pulling_away_term(embedding)
        # With model.pack there is one embedding per pack: each sample gets its pack's term
        # (so the batch mean stays the mean over packs).
        pt = tf.repeat(pt, tf.shape(energy_fake)[0] // tf.shape(pt)[0])
        return {"g_loss": energy_fake + self.options.pt_weight * pt, "pulling_away": pt}

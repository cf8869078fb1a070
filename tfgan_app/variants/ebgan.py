"""Energy-based GAN."""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from tfgan_app import losses, networks
from tfgan_app.option import option
from tfgan_app.registry import register_variant
from tfgan_app.variants.base import DiscriminatorCurve, GANModel, VariantConfig


@dataclasses.dataclass
class EBGANConfig(VariantConfig):
    """Energy margin and repelling regularizer (`ebgan.*` keys)."""

    margin: float = option(1.0, "margin m: D stops pushing up energies above it (energies "
                                "are per-pixel mean squared errors of images in [-1, 1])",
                           min=0.0)
    pt_weight: float = option(0.1, "weight of the pulling-away term in G's loss (0: off)",
                              min=0.0)
    embedding_dim: int = option(64, "autoencoder bottleneck size", min=1)


@register_variant("ebgan")
class EBGAN(GANModel):
    """Autoencoder discriminator whose reconstruction error is an energy (Zhao et al. 2017).

    D: D(x) + max(0, m - D(G(z))); G: D(G(z)) + lambda_PT PT, where the pulling-away term PT
    is the mean squared cosine similarity between encodings of generated samples.
    """

    Config = EBGANConfig
    logit = False  # an autoencoder: no real/fake score (so no r1_weight)
    metric_names = ("d_loss", "g_loss", "energy_real", "energy_fake", "pulling_away")

    @classmethod
    def build_networks(cls, cfg, data, num_classes: int):
        return networks.autoencoder_pair(cfg.model, data, cfg.options.embedding_dim,
                                         cls.variant_name, cls.default_architecture)

    def energy(self, x, training=True):
        """(per-example mean squared reconstruction error, embedding)."""
        # "input": x as D saw it (transformed by DiffAugment inside an update)
        out = self.discriminate_all(x, training=training)
        return (losses.per_example(tf.square(out["input"] - out["reconstruction"])),
                out["embedding"])

    def point_verdict(self, x):
        energy, _ = self.energy(tf.constant(x, tf.float32), training=False)
        return DiscriminatorCurve(energy.numpy(), "energy D(x) (lower: more real)", False)

    def perceptual_loss(self, x, labels=None):
        """The energy D(x), the generator's loss without the pulling-away term (a term of
        the batch, whose rows here are different images and candidates)."""
        return self.energy(x, training=False)[0]

    def discriminator_loss(self, real, fake, labels, cond, stream):
        (energy_real, _), (energy_fake, _) = self.energy(real), self.energy(fake)
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

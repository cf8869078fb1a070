"""Auxiliary-classifier GAN, with an optional semi-supervised discriminator."""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from tfgan_app import networks
from tfgan_app.errors import ConfigError
from tfgan_app.option import option
from tfgan_app.registry import register_variant
from tfgan_app.variants.gan import GAN, GANConfig


@dataclasses.dataclass
class ACGANConfig(GANConfig):
    """GAN options plus the class head (`acgan.*` keys)."""

    class_weight: float = option(1.0, "weight of the class (auxiliary classifier) loss",
                                 min=0.0)
    semi_supervised: bool = option(
        False, "K+1-class discriminator (Salimans et al. 2016): K class logits whose "
               "log-sum-exp is the real/fake logit; trained on labeled_fraction of labels")
    labeled_fraction: float = option(
        1.0, "semi_supervised only: fraction of each class whose labels the discriminator "
             "may see (the rest are trained as unlabeled real data)", min=0.0, max=1.0)


def _class_loss(logits, labels):
    """Sparse softmax cross-entropy per example; 0 where the label is hidden (-1)."""
    known = labels >= 0
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.maximum(labels, 0), logits=logits)
    return tf.where(known, ce, tf.zeros_like(ce))


@register_variant("acgan")
class ACGAN(GAN):
    """Class-conditional G; D also classifies real and generated images (Odena et al. 2017).

    D: source loss + class cross-entropy on real (true labels) and generated (sampled labels);
    G: non-saturating loss + class loss. Option: semi-supervised K+1-class D (Salimans 2016).
    """

    default_architecture = "dcgan"
    Config = ACGANConfig
    conditional = True
    packable = False
    metric_names = ("d_loss", "g_loss", "d_class_loss", "g_class_loss")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.options.labeled_fraction < 1 and not self.options.semi_supervised:
            raise ConfigError("acgan.labeled_fraction < 1 needs acgan.semi_supervised=true")
        if self.options.semi_supervised and self.options.loss == "hinge":
            raise ConfigError("acgan.loss=hinge does not fit acgan.semi_supervised=true: its "
                              "real/fake logit is the log-sum-exp of the K class logits of a "
                              "K+1-class softmax, trained by cross-entropy (Salimans et al. "
                              "2016); use acgan.loss=non_saturating or minimax")

    @classmethod
    def build_networks(cls, cfg, data, num_classes: int):
        # The semi-supervised D is unconditional: it must classify real images, whose labels
        # it may not see. The plain AC-GAN D is unconditional too (the paper's design).
        return (networks.generator_for(cfg.model, data, num_classes, cls.default_architecture),
                networks.build_pair(cfg.model, data, 0, cls.default_architecture,
                                    heads={"classes": num_classes},
                                    logit=not cfg.options.semi_supervised)[1])

    @classmethod
    def prepare_data(cls, data, options, seed: int):
        """Hide all but `labeled_fraction` of each class's labels (label -1), by seed."""
        if not options.semi_supervised or options.labeled_fraction >= 1:
            return data
        labels = data.labels
        if labels is None:
            raise ConfigError(f"acgan.labeled_fraction < 1 needs a dataset whose labels are "
                              f"known without reading it (digits, npz, folder); "
                              f"{data.name} is not one")
        rng = np.random.default_rng([seed, 11])
        y = np.full_like(labels, -1)
        for c in range(data.num_classes):
            idx = np.flatnonzero(labels == c)
            keep = rng.permutation(idx)[:max(1, round(options.labeled_fraction * len(idx)))]
            y[keep] = c
        return data.with_labels(y)

    def discriminator_inputs(self, x, labels):
        return x  # the discriminator must tell the class itself

    def generator_condition(self, labels, batch_size, stream: int):
        return self.sample_labels(batch_size, stream)

    def _outputs(self, x, training=True):
        out = self.discriminate_all(x, training=training)
        if self.options.semi_supervised:  # D(x) = Z / (Z + 1), Z = sum_k exp(l_k)
            out = {**out, "logit": tf.reduce_logsumexp(out["classes"], axis=1, keepdims=True)}
        return out

    def discriminate(self, x, labels=None, training=True):
        return self._outputs(x, training)["logit"]

    def discriminator_loss(self, real, fake, labels, cond, stream):
        real_out, fake_out = self._outputs(real), self._outputs(fake)
        source = self.adversarial_discriminator_loss(real_out["logit"], fake_out["logit"])
        class_loss = _class_loss(real_out["classes"], labels)
        if not self.options.semi_supervised:  # generated images are class K+1 otherwise
            class_loss += _class_loss(fake_out["classes"], cond)
        return {"d_loss": source + self.options.class_weight * class_loss,
                "d_class_loss": class_loss}

    def generator_loss(self, real, fake, labels, cond, stream):
        fake_out = self._outputs(fake)
        class_loss = _class_loss(fake_out["classes"], cond)
        adversarial = self.adversarial_generator_loss(real, fake_out, labels)
        return {"g_loss": adversarial + self.options.class_weight * class_loss,
                "g_class_loss": class_loss}

"""Boundary equilibrium GAN."""

from __future__ import annotations

import dataclasses

import keras
import tensorflow as tf

from tfgan_app import losses, networks
from tfgan_app.option import option
from tfgan_app.registry import register_variant
from tfgan_app.variants.base import DiscriminatorCurve, GANModel, VariantConfig


@dataclasses.dataclass
class BEGANConfig(VariantConfig):
    """Equilibrium control (`began.*` keys)."""

    gamma: float = option(0.5, "diversity ratio: the target of L(G(z)) / L(x)", min=0.0,
                          max=1.0)
    lambda_k: float = option(0.001, "learning rate of the balance k_t", min=0.0)
    k_initial: float = option(0.0, "k_0", min=0.0, max=1.0)
    embedding_dim: int = option(64, "autoencoder bottleneck size h", min=1)


def reconstruction_loss(x, reconstruction):
    """L(v) = mean |v - D(v)| per example (the paper's L1, eta = 1)."""
    return losses.per_example(tf.abs(x - reconstruction))


@register_variant("began")
class BEGAN(GANModel):
    """Autoencoder D whose reconstruction losses G and D balance (Berthelot et al. 2017).

    D: L(x) - k_t L(G(z)); G: L(G(z)); k_{t+1} = clip(k_t + lambda_k (gamma L(x) -
    L(G(z))), 0, 1); convergence measure M_global = L(x) + |gamma L(x) - L(G(z))|.
    """

    Config = BEGANConfig
    default_architecture = "began"  # the paper's network (networks.began_autoencoder)
    logit = False  # an autoencoder: no real/fake score (so no r1_weight)
    metric_names = ("d_loss", "g_loss", "loss_real", "loss_fake", "k_t", "m_global")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Each replica computes the same global update, so any replica's copy is right.
        self.k_t = keras.Variable(self.options.k_initial, trainable=False, name="k_t",
                                  aggregation="only_first_replica")

    @classmethod
    def build_networks(cls, cfg, data, num_classes: int):
        return networks.autoencoder_pair(cfg.model, data, cfg.options.embedding_dim,
                                         cls.variant_name, cls.default_architecture)

    def reconstruction(self, x, training=True):
        # "input": x as D saw it (transformed by DiffAugment inside an update)
        out = self.discriminate_all(x, training=training)
        return reconstruction_loss(out["input"], out["reconstruction"])

    def point_verdict(self, x):
        loss = self.reconstruction(tf.constant(x, tf.float32), training=False)
        return DiscriminatorCurve(loss.numpy(), "autoencoder loss L(x) (lower: more real)",
                                  False)

    def perceptual_loss(self, x, labels=None):
        """L(x), the autoencoder's reconstruction loss: the generator's loss."""
        return self.reconstruction(x, training=False)

    def discriminator_loss(self, real, fake, labels, cond, stream):
        loss_real, loss_fake = self.reconstruction(real), self.reconstruction(fake)
        k = tf.convert_to_tensor(self.k_t)
        return {"d_loss": loss_real - k * loss_fake, "loss_real": loss_real,
                "loss_fake": loss_fake, "k_t": k}

    def generator_loss(self, real, fake, labels, cond, stream):
        return {"g_loss": self.reconstruction(fake)}

    def after_generator_update(self, logs):
        """k_t and M_global from the *global* batch means of L(x) and L(G(z))."""
        ctx = tf.distribute.get_replica_context()
        loss_real, loss_fake = logs["loss_real"], logs["g_loss"]  # this replica's means
        if ctx is not None and ctx.num_replicas_in_sync > 1:  # equal shares: mean of means
            loss_real, loss_fake = ctx.all_reduce(tf.distribute.ReduceOp.MEAN,
                                                  [loss_real, loss_fake])
        balance = self.options.gamma * loss_real - loss_fake
        self.k_t.assign(tf.clip_by_value(self.k_t + self.options.lambda_k * balance, 0.0, 1.0))
        return {"m_global": loss_real + tf.abs(balance)}

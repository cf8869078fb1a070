"""Boundary equilibrium GAN."""

from __future__ import annotations

import dataclasses

import keras
import tensorflow as tf

from tfgan_app import losses, networks
from tfgan_app.errors import ConfigError
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
    simultaneous: bool = option(
        True, "both networks' gradients from one forward pass before either moves (the "
              "same z and reconstructions for L_D and L_G), as BEGAN's simultaneous "
              "objectives and reference implementation; false: D's update, then G's with "
              "fresh latents against the updated D (the other variants' order, with twice "
              "the generator and fake-batch passes)")


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
        if self.options.simultaneous and self.options.d_steps > 1:
            raise ConfigError(f"began.d_steps={self.options.d_steps} needs "
                              "began.simultaneous=false: a simultaneous step updates D and "
                              "G once each from one forward pass")

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

    def updates(self, real, labels) -> dict:
        """With `began.simultaneous`: L(x) and L(G(z)) from one pass give D the gradient of
        L(x) - k_t L(G(z)) and G that of L(G(z)), both taken before either network moves;
        then k_t's update from the same losses."""
        if not self.options.simultaneous:
            return super().updates(real, labels)
        real, labels, feed, cond = self.training_example(real, labels, stream=0)
        d_vars, g_vars = self.discriminator_variables, self.generator_variables
        with tf.GradientTape(persistent=True) as tape:
            fake = self.training_fake(feed)
            with self.augmenting(0):
                terms = self.discriminator_loss(real, fake, labels, cond, 0)
            d_loss = self.d_optimizer.scale_loss(losses.reduce_loss(terms["d_loss"]))
            g_loss = self.g_optimizer.scale_loss(losses.reduce_loss(terms["loss_fake"]))
        d_grads, g_grads = tape.gradient(d_loss, d_vars), tape.gradient(g_loss, g_vars)
        del tape
        self.d_optimizer.apply_gradients(zip(d_grads, d_vars))
        self.after_discriminator_update()
        self.g_optimizer.apply_gradients(zip(g_grads, g_vars))
        self.update_ema()
        logs = self._loggable({**terms, "g_loss": terms["loss_fake"]})
        logs.update(self.after_generator_update(logs) or {})
        return logs

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

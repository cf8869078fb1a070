"""Wasserstein GAN with weight clipping."""

from __future__ import annotations

import dataclasses

import keras
import tensorflow as tf

from tfgan_app import losses
from tfgan_app.option import option
from tfgan_app.registry import register_variant
from tfgan_app.variants.base import GANModel, VariantConfig


@dataclasses.dataclass
class WGANConfig(VariantConfig):
    """Critic schedule and weight clipping (`wgan.*` keys)."""

    d_steps: int = option(5, "critic updates per generator update (n_critic)", min=1)
    clip: float = option(0.01, "clip every critic weight to [-clip, clip] after each "
                               "critic update", min=0.0)
    warmup: bool = option(
        True, "the reference code's critic schedule: 100 critic updates (each on a fresh "
              "batch) before each of the first 25 generator updates and before every "
              "500th, so the critic is near optimal when the generator follows it; "
              "otherwise d_steps")


# The reference code's schedule (Arjovsky et al. 2017, main.py): Diters = 100 while
# gen_iterations < 25 or gen_iterations % 500 == 0.
WARMUP_CRITIC_UPDATES, WARMUP_GENERATOR_UPDATES, WARMUP_EVERY = 100, 25, 500


@register_variant("wgan")
class WGAN(GANModel):
    """Linear critic estimating the Wasserstein-1 distance (Arjovsky et al. 2017).

    Critic loss D(G(z)) - D(x), generator loss -D(G(z)); every critic weight is clipped to
    [-0.01, 0.01] after each of the n_critic = 5 updates, each on a fresh real batch;
    RMSprop(5e-5) as in the paper; 100 critic updates per generator update for the first
    25 and every 500th (`warmup`, the reference code's schedule).
    """

    # The critic's output unit keeps its bias although the bias cancels out of
    # D(G(z)) - D(x) (its gradient is 0, so it stays at its initial 0): without it, runs
    # of the same command differed after a few updates on multi-threaded CPUs
    # (docs/benchmarks.md), with it they repeat exactly (tests/test_streaming.py).
    logit = "critic"
    Config = WGANConfig
    metric_names = ("d_loss", "g_loss", "wasserstein")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Warm-up state, in checkpoints: generator updates made, and the training steps
        # (each d_steps critic updates) run since the last one. Every replica computes the
        # same values, so any replica's copy is right.
        counter = dict(dtype="int64", trainable=False, aggregation="only_first_replica")
        self.generator_updates = keras.Variable(0, name="generator_updates", **counter)
        self.critic_rounds = keras.Variable(0, name="critic_rounds", **counter)

    def generator_update_due(self):
        """With warm-up, a generator update that needs 100 critic updates waits for
        ceil(100 / d_steps) training steps; the steps before it update the critic only."""
        if not self.options.warmup:
            return None
        done = tf.convert_to_tensor(self.generator_updates)
        warm = (done < WARMUP_GENERATOR_UPDATES) | (done % WARMUP_EVERY == 0)
        steps = -(-WARMUP_CRITIC_UPDATES // self.options.d_steps)
        needed = tf.where(warm, tf.constant(steps, tf.int64), tf.constant(1, tf.int64))
        rounds = tf.convert_to_tensor(self.critic_rounds) + 1
        due = rounds >= needed
        self.critic_rounds.assign(tf.where(due, tf.zeros_like(rounds), rounds))
        self.generator_updates.assign_add(tf.cast(due, tf.int64))
        return due

    def discriminator_loss(self, real, fake, labels, cond, stream):
        d_loss = losses.wasserstein_discriminator_loss(self.discriminate(real),
                                                       self.discriminate(fake))
        return {"d_loss": d_loss, "wasserstein": -d_loss}

    def generator_loss(self, real, fake, labels, cond, stream):
        return {"g_loss": losses.wasserstein_generator_loss(self.discriminate(fake))}

    def after_discriminator_update(self):
        # Every replica holds the same updated weights, so each clips them identically.
        clip = self.options.clip
        for variable in self.discriminator.trainable_variables:
            variable.assign(tf.clip_by_value(variable, -clip, clip))

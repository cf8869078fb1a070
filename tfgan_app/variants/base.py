"""The base model every variant subclasses.

`GANModel` owns the generator and discriminator, their optimizers, the metric trackers and a
seeded latent sampler, and runs one training step as `d_steps` discriminator updates then one
generator update. A variant overrides only what differs, usually just the two loss hooks:

    discriminator_loss(real, fake, labels) -> {"d_loss": per-example, ...more terms}
    generator_loss(real, fake, labels)     -> {"g_loss": per-example, ...more terms}

Rank-1 terms are per-example losses: the objective (`d_loss`/`g_loss`) is reduced over the
global batch with `losses.reduce_loss`, and every term is logged as its unscaled mean. Rank-0
terms (e.g. a balance coefficient) are logged as they are. Variants with state updates
override `after_discriminator_update` / `after_generator_update`, or a whole step.
"""

from __future__ import annotations

import dataclasses

import keras
import tensorflow as tf

from tfgan_app import losses, networks
from tfgan_app.config import option


@dataclasses.dataclass
class VariantConfig:
    """Options every variant has (`<variant>.*` keys)."""

    d_steps: int = option(1, "discriminator updates per generator update", min=1)


class GANModel(keras.Model):
    """Base class: generator + discriminator trained with a custom `train_step`."""

    Config = VariantConfig
    conditional = False  # True: networks take a class label, grids have one row per class
    default_architecture = "dcgan"  # what model.architecture=auto means for images
    metric_names: tuple = ("d_loss", "g_loss")
    variant_name = None  # set by `registry.register_variant`

    def __init__(self, generator, discriminator, *, latent_dim: int, num_classes: int = 0,
                 seed: int = 0, options=None, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(latent_dim)
        self.num_classes = int(num_classes)
        self.seed = int(seed)
        self.options = self.Config(**(options or {}))
        self.trackers = {name: keras.metrics.Mean(name=name) for name in self.metric_names}
        self.g_optimizer = None
        self.d_optimizer = None
        # Both networks are built functional models; without this, fit() would try to build
        # the model by calling it on a training batch (images, not latents).
        self.built = True

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def build_networks(cls, net_cfg, data, num_classes: int):
        """(generator, discriminator) for `data`; variants with other networks override."""
        return networks.build_pair(net_cfg, data, num_classes, cls.default_architecture)

    @classmethod
    def from_run_config(cls, cfg, data):
        """Build the model for a resolved `RunConfig` and a loaded `Dataset`."""
        num_classes = data.num_classes if cls.conditional else 0
        generator, discriminator = cls.build_networks(cfg.model, data, num_classes)
        return cls(generator, discriminator, latent_dim=cfg.model.latent_dim,
                   num_classes=num_classes, seed=cfg.train.seed,
                   options=dataclasses.asdict(cfg.options), name=cls.variant_name)

    def compile(self, g_optimizer, d_optimizer, **kwargs):
        super().compile(**kwargs)
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer

    def build_optimizers(self):
        """Create optimizer slots now; call inside `strategy.scope()` before `fit`."""
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)

    def get_config(self):
        return {
            "name": self.name,
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "latent_dim": self.latent_dim,
            "num_classes": self.num_classes,
            "seed": self.seed,
            "options": dataclasses.asdict(self.options),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        generator = keras.saving.deserialize_keras_object(config.pop("generator"))
        discriminator = keras.saving.deserialize_keras_object(config.pop("discriminator"))
        return cls(generator, discriminator, **config)

    # -- inference -------------------------------------------------------------------------
    @property
    def metrics(self):
        return list(self.trackers.values())

    def generator_inputs(self, z, labels):
        return [z, labels] if self.num_classes else z

    def discriminator_inputs(self, x, labels):
        return [x, labels] if self.num_classes else x

    def call(self, inputs, training=False):
        """Generate: `inputs` is z, or [z, labels] for conditional variants."""
        return self.generator(inputs, training=training)

    def generate(self, z, labels=None, training=False):
        return self.generator(self.generator_inputs(z, labels), training=training)

    def discriminate(self, x, labels=None, training=True):
        return self.discriminator(self.discriminator_inputs(x, labels), training=training)

    # -- training --------------------------------------------------------------------------
    def sample_latent(self, batch_size, stream: int):
        """Standard-normal latents for this replica's share of the global batch.

        Drawn statelessly from (seed, generator step, stream) for the *global* batch, then
        sliced to this replica's rows, so replicas get distinct noise and one step on N
        replicas sees exactly the latents of the same step on one device.
        """
        ctx = tf.distribute.get_replica_context()
        replicas = ctx.num_replicas_in_sync if ctx is not None else 1
        replica = ctx.replica_id_in_sync_group if ctx is not None else 0
        step = tf.cast(self.g_optimizer.iterations, tf.int64)
        seed = tf.stack([tf.constant(self.seed, tf.int64), step * 1024 + stream])
        z = tf.random.stateless_normal([batch_size * replicas, self.latent_dim], seed)
        start = tf.cast(replica, tf.int32) * batch_size
        return z[start:start + batch_size]

    def train_step(self, data):
        real, labels = data if isinstance(data, (tuple, list)) else (data, None)
        logs = {}
        for i in range(self.options.d_steps):
            logs.update(self.discriminator_step(real, labels, stream=i))
            self.after_discriminator_update()
        logs.update(self.generator_step(real, labels, stream=1000))
        logs.update(self.after_generator_update(logs) or {})
        for name, value in logs.items():
            self.trackers[name].update_state(value)
        return {m.name: m.result() for m in self.metrics}

    def _step(self, loss_fn, objective, network, optimizer, real, labels, stream,
              generator_in_tape):
        z = self.sample_latent(tf.shape(real)[0], stream)
        with tf.GradientTape() as tape:
            if generator_in_tape:
                fake = self.generate(z, labels, training=True)
            else:
                fake = tf.stop_gradient(self.generate(z, labels, training=True))
            terms = loss_fn(real, fake, labels)
            loss = losses.reduce_loss(terms[objective])
        variables = network.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return self._loggable(terms)

    def discriminator_step(self, real, labels, stream: int):
        """One discriminator update; returns the values to log."""
        return self._step(self.discriminator_loss, "d_loss", self.discriminator,
                          self.d_optimizer, real, labels, stream, generator_in_tape=False)

    def generator_step(self, real, labels, stream: int):
        """One generator update; returns the values to log."""
        return self._step(self.generator_loss, "g_loss", self.generator, self.g_optimizer,
                          real, labels, stream, generator_in_tape=True)

    @staticmethod
    def _loggable(terms):
        """Per-example terms -> their unscaled mean on this replica; scalars as they are."""
        out = {}
        for name, value in terms.items():
            if value.shape.rank == 0:
                out[name] = value
            else:
                out[name] = losses.reduce_loss(value) * losses.num_replicas()
        return out

    def after_discriminator_update(self):
        """Hook run after every discriminator update (e.g. weight clipping)."""

    def after_generator_update(self, logs):
        """Hook run after the generator update; may return extra values to log."""

    def discriminator_loss(self, real, fake, labels):
        raise NotImplementedError(f"{type(self).__name__} must define discriminator_loss")

    def generator_loss(self, real, fake, labels):
        raise NotImplementedError(f"{type(self).__name__} must define generator_loss")

"""InfoGAN: interpretable latent codes through a mutual-information term."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from tfgan_app import networks
from tfgan_app.option import option
from tfgan_app.registry import register_variant
from tfgan_app.variants.base import Grid
from tfgan_app.variants.gan import GAN, GANConfig


@dataclasses.dataclass
class InfoGANConfig(GANConfig):
    """GAN options plus the codes (`infogan.*` keys)."""

    categories: int = option(10, "values of the categorical code", min=2)
    continuous: int = option(2, "continuous codes, each uniform on [-1, 1]", min=0)
    info_weight: float = option(1.0, "weight lambda of the mutual-information term",
                                min=0.0)
    q_units: int = option(128, "hidden units of the Q head", min=1)


@register_variant("infogan")
class InfoGAN(GAN):
    """Latent codes that a Q head must recover from G's output (Chen et al. 2016, InfoGAN).

    G gets noise z plus categorical and continuous codes; Q, on D's trunk, predicts them,
    maximizing a lower bound on their mutual information with the samples.

    Serving inputs: `z` [batch, latent_dim], `category` int32 [batch] in [0, categories),
    `code` float32 [batch, continuous] in [-1, 1]. Q's continuous outputs are Gaussian means
    with unit variance (the information term is then cross-entropy + squared error / 2).
    """

    default_architecture = "dcgan"
    Config = InfoGANConfig
    packable = False
    metric_names = ("d_loss", "g_loss", "info_loss")

    @classmethod
    def build_networks(cls, cfg, data, num_classes: int):
        o = cfg.options
        z = keras.Input((cfg.model.latent_dim,), name="z")
        category = keras.Input((), dtype="int32", name="category")
        code = keras.Input((o.continuous,), name="code")
        onehot = networks.OneHot(o.categories, name="category_onehot")(
            layers.Reshape((1,))(category))  # the Reshape keeps older checkpoints loadable
        vector = layers.Concatenate(name="z_codes")([z, onehot, code])
        inputs = {"z": z, "category": category, "code": code}
        generator = networks.generator_for(cfg.model, data, 0, cls.default_architecture,
                                           inputs=(inputs, vector))
        heads = {"q_category": (o.q_units, o.categories)}
        if o.continuous:
            heads["q_code"] = (o.q_units, o.continuous)
        _, discriminator = networks.build_pair(cfg.model, data, 0, cls.default_architecture,
                                               heads=heads)
        return generator, discriminator

    # -- codes -----------------------------------------------------------------------------
    def generator_condition(self, labels, batch_size, stream: int):
        o = self.options
        category = self.global_random(tf.random.stateless_uniform, batch_size, [], stream,
                                      minval=0, maxval=o.categories, dtype=tf.int32)
        code = self.global_random(tf.random.stateless_uniform, batch_size, [o.continuous],
                                  stream + 1, minval=-1.0, maxval=1.0)
        return {"category": category, "code": code}

    def condition_specs(self):
        return {"category": tf.TensorSpec([None], tf.int32, name="category"),
                "code": tf.TensorSpec([None, self.options.continuous], tf.float32,
                                      name="code")}

    def serving_inputs(self):
        o = self.options
        return {"z": {"dtype": "float32", "shape": [self.latent_dim], "distribution": "normal",
                      "role": "latent"},
                "category": {"dtype": "int32", "shape": [], "distribution": "uniform",
                             "low": 0, "high": o.categories, "role": "category_code"},
                "code": {"dtype": "float32", "shape": [o.continuous], "distribution": "uniform",
                         "low": -1.0, "high": 1.0, "role": "continuous_code"}}

    def random_condition(self, num_samples, seed):
        o = self.options
        category = tf.random.stateless_uniform(
            [num_samples], tf.stack([seed, tf.constant(1, tf.int64)]), minval=0,
            maxval=o.categories, dtype=tf.int32)
        code = tf.random.stateless_uniform(
            [num_samples, o.continuous], tf.stack([seed, tf.constant(2, tf.int64)]),
            minval=-1.0, maxval=1.0)
        return {"category": category, "code": code}

    def example_condition(self, batch: int):
        o = self.options
        return {"category": (np.arange(batch) % o.categories).astype(np.int32),
                "code": np.linspace(-1, 1, batch * o.continuous, dtype=np.float32).reshape(
                    batch, o.continuous)}

    def point_cloud(self, rng, count: int = 1000):
        o = self.options
        z = rng.standard_normal((count, self.latent_dim)).astype(np.float32)
        cond = {"category": rng.integers(0, o.categories, count).astype(np.int32),
                "code": rng.uniform(-1, 1, (count, o.continuous)).astype(np.float32)}
        return Grid("", z, cond, 1)

    def sample_grids(self, rng, columns: int = 8):
        """One row per category; then per continuous code, columns sweep it over [-2, 2]."""
        o = self.options
        rows = o.categories
        category = np.repeat(np.arange(rows), columns).astype(np.int32)
        z = rng.standard_normal((rows * columns, self.latent_dim)).astype(np.float32)
        code = np.zeros((rows * columns, o.continuous), np.float32)
        grids = [Grid("", z, {"category": category, "code": code}, rows)]
        row_z = np.repeat(rng.standard_normal((rows, self.latent_dim)), columns, axis=0)
        for k in range(o.continuous):
            swept = np.zeros_like(code)
            swept[:, k] = np.tile(np.linspace(-2, 2, columns), rows)
            grids.append(Grid(f"code{k}", row_z.astype(np.float32),
                              {"category": category, "code": swept}, rows))
        return grids

    # -- losses ----------------------------------------------------------------------------
    def information_loss(self, outputs, cond):
        """-log Q(c | G(z, c)) up to a constant, per example."""
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=cond["category"], logits=outputs["q_category"])
        if self.options.continuous:
            loss += 0.5 * tf.reduce_sum(tf.square(outputs["q_code"] - cond["code"]), axis=1)
        return loss

    def discriminator_loss(self, real, fake, labels, cond, stream):
        fake_out = self.discriminate_all(fake)
        source = self.adversarial_discriminator_loss(self.discriminate(real), fake_out["logit"])
        info = self.information_loss(fake_out, cond)
        return {"d_loss": source + self.options.info_weight * info, "info_loss": info}

    def generator_loss(self, real, fake, labels, cond, stream):
        fake_out = self.discriminate_all(fake)
        info = self.information_loss(fake_out, cond)
        adversarial = self.adversarial_generator_loss(real, fake_out, None)
        return {"g_loss": adversarial + self.options.info_weight * info}

    def discriminator_inputs(self, x, labels):
        return x  # codes are not labels: the discriminator never sees them

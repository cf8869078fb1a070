"""CycleGAN: unpaired image-to-image translation with cycle consistency (Zhu et al. 2017)."""

from __future__ import annotations

import dataclasses
from typing import Literal

import keras
import tensorflow as tf

from tfgan_app import losses
from tfgan_app.errors import ConfigError
from tfgan_app.i2i_networks import patchgan_discriminator, resnet_generator
from tfgan_app.option import option
from tfgan_app.registry import register_variant
from tfgan_app.variants.base import Grid, VariantConfig, _float32
from tfgan_app.variants.image_to_image import ImageToImageModel

POOL_STREAM = 500  # offset of an update's stream for the image pools' draws
INVERSE = "inverse"  # the export's B -> A signature


@dataclasses.dataclass
class CycleGANConfig(VariantConfig):
    """Options of `cyclegan` (`cyclegan.*` keys); model.g_filters and model.d_filters set
    the width of the ResNet generators' first convolution and of PatchGAN's first layer."""

    cycle_weight: float = option(
        10.0, "lambda: G's loss adds lambda (|F(G(a)) - a|_1 + |G(F(b)) - b|_1), means over "
              "pixels (Zhu et al. 2017, eq. 3 and 7.1: lambda = 10)", min=0.0)
    identity_weight: float = option(
        0.5, "identity loss as a fraction of cycle_weight: G's loss adds identity_weight x "
             "lambda (|G(b) - b|_1 + |F(a) - a|_1) (the paper's 0.5 lambda, section 5.2); "
             "needs domains with the same channels; 0: off", min=0.0)
    pool_size: int = option(
        50, "generated images each discriminator's update draws from: a history of this "
            "many per direction (Shrivastava et al. 2017; the paper's 50), kept for the "
            "global batch so it is exact under distribution; 0: judge only the newest",
        min=0)
    blocks: int = option(9, "ResNet generators: residual blocks (the paper: 9 at 256 px, "
                            "6 at 128 px)", min=0)
    downsamplings: int = option(2, "ResNet generators: stride-2 convolutions down (and "
                                   "transposed convolutions back up)", min=0)
    norm: Literal["instance", "batch", "none"] = option(
        "instance", "normalization of all four networks (instance: the paper's, per "
                    "example; batch: synchronized across replicas)")
    d_layers: int = option(
        3, "PatchGAN: stride-2 convolutions (3: the paper's 70x70 patches at 256 px; small "
           "images get as many as fit)", min=1)
    d_weight: float = option(
        0.5, "each discriminator's loss is this times (D(real) - 1)^2 + D(fake)^2 (the paper "
             "halves it, slowing D relative to G)", min=0.0)


def pool_step(images, count, new, decide, slots):
    """One query of an image pool (Shrivastava et al. 2017), image by image in order.

    While the pool holds fewer than its size, an image is stored and returned; once full,
    with probability 0.5 (`decide` > 0.5) a uniformly chosen stored image is returned
    and the new one takes its place, else the new one is returned.

    Args:
      images: float32 [size, H, W, C], the stored images (rows >= count unused).
      count: int32 scalar, how many are stored.
      new: float32 [n, H, W, C], the images of the query, in order.
      decide: float32 [n] in [0, 1): the coin of each image.
      slots: float32 [n] in [0, 1): which stored image each would swap with.

    Returns:
      (returned [n, H, W, C], images, count) after the query.
    """
    size = tf.shape(images)[0]
    n = tf.shape(new)[0]

    def body(i, images, count, out):
        image = new[i]
        slot = tf.minimum(tf.cast(slots[i] * tf.cast(size, tf.float32), tf.int32), size - 1)
        full = count >= size
        swap = tf.logical_and(full, decide[i] > 0.5)
        where = tf.where(full, slot, count)
        returned = tf.where(swap, images[where], image)
        store = tf.logical_or(swap, tf.logical_not(full))
        stored = tf.where(store, image, images[where])
        images = tf.tensor_scatter_nd_update(images, [[where]], stored[None])
        return i + 1, images, count + tf.cast(tf.logical_not(full), tf.int32), out.write(
            i, returned)

    out = tf.TensorArray(new.dtype, size=n, element_shape=new.shape[1:])
    _, images, count, out = tf.while_loop(lambda i, *_: i < n, body,
                                          (tf.constant(0), images, count, out))
    return out.stack(), images, count


@keras.saving.register_keras_serializable(package="tfgan_app")
class ImagePool(keras.layers.Layer):
    """A history of generated images for one discriminator, the same on every replica.

    A query gathers the global batch of new images (and its draws) from all replicas,
    runs `pool_step` on it, and returns this replica's rows of the pooled batch: every
    replica applies the same update to its copy of the state, so one step on N replicas
    equals one on one device. The stored images and their count are non-trainable
    weights of the model, saved with checkpoints, so a resumed run queries the same pool.
    """

    def __init__(self, size: int, image_shape, **kwargs):
        super().__init__(**kwargs)
        self.size = int(size)
        self.image_shape = tuple(int(d) for d in image_shape)

    def build(self, input_shape=None):
        # "only_first_replica": every replica computes the same value; one is kept.
        self.images = self.add_weight(shape=(max(self.size, 1), *self.image_shape),
                                      dtype="float32", initializer="zeros", trainable=False,
                                      aggregation="only_first_replica", name="images")
        self.count = self.add_weight(shape=(), dtype="int32", initializer="zeros",
                                     trainable=False, aggregation="only_first_replica",
                                     name="count")
        self.built = True

    def query(self, new, draws):
        """This replica's rows of the pooled batch for its `new` images [b, H, W, C] and
        `draws` [b, 2] (uniform in [0, 1), drawn for the global batch and sliced)."""
        if not self.size:
            return new
        ctx = tf.distribute.get_replica_context()
        replica = ctx.replica_id_in_sync_group if ctx is not None else 0
        everyone = losses.global_batch(new)
        draws = losses.global_batch(draws)
        returned, images, count = pool_step(tf.convert_to_tensor(self.images),
                                            tf.convert_to_tensor(self.count), everyone,
                                            draws[:, 0], draws[:, 1])
        self.images.assign(images)
        self.count.assign(count)
        batch = tf.shape(new)[0]
        start = tf.cast(replica, tf.int32) * batch
        return returned[start:start + batch]

    def get_config(self):
        return {**super().get_config(), "size": self.size,
                "image_shape": list(self.image_shape)}


@register_variant("cyclegan")
class CycleGAN(ImageToImageModel):
    """Unpaired translation: two ResNet generators, two PatchGANs, cycle loss (Zhu et al.).

    G maps domain A (the pair's source) to B (its target), F maps B back to A; D_B judges
    B images, D_A judges A images (the image alone: no source). Least-squares losses:
    each D minimizes d_weight ((D(real) - 1)^2 + D(fake)^2) on fakes drawn from its image
    pool; G and F together minimize (D_B(G(a)) - 1)^2 + (D_A(F(b)) - 1)^2 plus lambda
    times the cycle errors and identity_weight x lambda times the identity errors. One
    optimizer trains both generators, one both discriminators.
    """

    Config = CycleGANConfig
    takes_pairs = "any"
    inverse_signature = INVERSE
    metric_names = ("d_loss", "g_loss", "d_a", "d_b", "g_gan", "cycle", "identity")

    def __init__(self, generator, discriminator, *, inverse, discriminator_a, **kwargs):
        super().__init__(generator, discriminator, **kwargs)
        self.inverse = inverse
        self.discriminator_a = discriminator_a
        size = self.options.pool_size
        self.pool_b = ImagePool(size, self.target_shape, name="pool_b")  # fakes G(a)
        self.pool_a = ImagePool(size, self.source_shape, name="pool_a")  # fakes F(b)
        self.pool_b.build()
        self.pool_a.build()

    # The second generator and discriminator, serialized beside the base's two.
    EXTRA_NETWORKS = ("inverse", "discriminator_a")

    def get_config(self):
        return {**super().get_config(),
                **{name: keras.saving.serialize_keras_object(getattr(self, name))
                   for name in self.EXTRA_NETWORKS}}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for name in cls.EXTRA_NETWORKS:
            config[name] = keras.saving.deserialize_keras_object(config[name])
        return super().from_config(config)

    @classmethod
    def from_run_config(cls, cfg, data):
        name = cls.variant_name
        if cfg.train.g_ema:
            raise ConfigError(f"train.g_ema is not supported by {name}: a moving average "
                              "would cover G but not its inverse F, and the export serves "
                              "both; set train.g_ema=0")
        if cfg.options.r1_weight:
            raise ConfigError(f"{name}.r1_weight is not supported by {name}: it has two "
                              "discriminators and the R1 penalty covers one; set it to 0")
        return super().from_run_config(cfg, data)

    @classmethod
    def build_translation_networks(cls, cfg, source_shape, target_shape):
        o = cfg.options
        if o.identity_weight and source_shape[-1] != target_shape[-1]:
            raise ConfigError(
                f"cyclegan.identity_weight={o.identity_weight} needs domains with the same "
                f"channels (the identity loss feeds B images to G, which takes A images), "
                f"but A has {source_shape[-1]} and B {target_shape[-1]}; set "
                "cyclegan.identity_weight=0")

        def generator(in_shape, out_channels, name):
            return resnet_generator(in_shape, out_channels, filters=cfg.model.g_filters,
                                    blocks=o.blocks, downsamplings=o.downsamplings,
                                    norm=o.norm, name=name)

        def discriminator(shape, name):
            return patchgan_discriminator(shape, filters=cfg.model.d_filters,
                                          layers=o.d_layers, norm=o.norm, name=name)

        return {"generator": generator(source_shape, target_shape[-1], "generator"),
                "inverse": generator(target_shape, source_shape[-1], "inverse_generator"),
                "discriminator": discriminator(target_shape, "discriminator"),
                "discriminator_a": discriminator(source_shape, "discriminator_a")}

    # -- training --------------------------------------------------------------------------
    @property
    def generator_variables(self) -> list:
        return self.generator.trainable_variables + self.inverse.trainable_variables

    @property
    def discriminator_variables(self) -> list:
        return (self.discriminator.trainable_variables
                + self.discriminator_a.trainable_variables)

    def training_example(self, real, labels, stream: int):
        """real = the B half (target), cond = {"image": the A half}; the feed holds both,
        as both generators translate in every update."""
        inputs, target = self.make_example(real, stream)
        return target, inputs, {**inputs, "target": target}, inputs

    def training_fake(self, feed):
        return {"b": self.translate(feed, training=True),
                "a": self.translate({"image": feed["target"]}, training=True,
                                    network=self.inverse)}

    def pooled(self, fake, stream: int):
        """The fakes each discriminator judges in update `stream`: drawn from the pools."""
        batch = tf.shape(fake["b"])[0]
        draws = self.global_random(tf.random.stateless_uniform, batch, [2, 2],
                                   stream + POOL_STREAM)
        return (self.pool_b.query(fake["b"], draws[:, 0]),
                self.pool_a.query(fake["a"], draws[:, 1]))

    def discriminator_loss(self, real, fake, labels, cond, stream):
        fake_b, fake_a = self.pooled(fake, stream)
        weight = 2.0 * self.options.d_weight  # least_squares_* halves each term itself
        d_b = weight * losses.least_squares_discriminator_loss(
            _float32(self.discriminator(real, training=True)),
            _float32(self.discriminator(fake_b, training=True)))
        d_a = weight * losses.least_squares_discriminator_loss(
            _float32(self.discriminator_a(cond["image"], training=True)),
            _float32(self.discriminator_a(fake_a, training=True)))
        return {"d_loss": d_a + d_b, "d_a": d_a, "d_b": d_b}

    def generator_loss(self, real, fake, labels, cond, stream):
        a, b = cond["image"], real
        o = self.options
        judged_b = _float32(self.discriminator(fake["b"], training=True))
        judged_a = _float32(self.discriminator_a(fake["a"], training=True))
        gan = (losses.per_example(tf.square(judged_b - 1.0))
               + losses.per_example(tf.square(judged_a - 1.0)))
        back_a = self.translate({"image": fake["b"]}, training=True, network=self.inverse)
        back_b = self.translate({"image": fake["a"]}, training=True)
        cycle = losses.per_example(tf.abs(back_a - a)) + losses.per_example(tf.abs(back_b - b))
        g_loss = gan + o.cycle_weight * cycle
        terms = {"g_gan": gan, "cycle": cycle}
        if o.identity_weight:
            same_b = self.translate({"image": b}, training=True)
            same_a = self.translate({"image": a}, training=True, network=self.inverse)
            identity = (losses.per_example(tf.abs(same_b - b))
                        + losses.per_example(tf.abs(same_a - a)))
            g_loss += o.identity_weight * o.cycle_weight * identity
        else:
            identity = tf.zeros_like(cycle)
        return {"g_loss": g_loss, **terms, "identity": identity}

    # -- inference, grids, export ----------------------------------------------------------
    def signature_network(self, signature: str):
        return self.inverse if signature == INVERSE else super().signature_network(signature)

    def grids_for(self, data, rng) -> list:
        """Two grids: A -> B (rows a | G(a) | true b) and B -> A ("inverse":
        b | F(b) | true a), on the same fixed examples."""
        (main,) = super().grids_for(data, rng)
        inputs, target = main.cond["inputs"], main.cond["target"]
        back = {"inputs": {"image": target}, "target": inputs["image"],
                "signature": INVERSE}
        return [main, Grid(INVERSE, None, back, main.rows)]

    def exported_networks(self) -> list:
        return [self.inference_generator, self.inverse]

    def extra_signatures(self, output: str, specs: dict) -> list:
        inputs = self.inverse_inputs()
        inverse_specs = {"image": tf.TensorSpec([None, *self.target_shape], tf.float32,
                                                name="image")}

        def serve_inverse(values):
            checked = self.checked_inputs(values, inputs)
            return {output: self.translate(checked, network=self.inverse)}

        return [(INVERSE, serve_inverse, [inverse_specs])]

    def inverse_inputs(self) -> dict:
        """The `inverse` signature's input: `image`, a B image in [-1, 1]."""
        return {"image": {"dtype": "float32", "shape": list(self.target_shape),
                          "distribution": "uniform", "low": -1.0, "high": 1.0,
                          "role": "target"}}

    def export_metadata(self) -> dict:
        return {**super().export_metadata(), "signatures": {
            "serving_default": {"direction": "A -> B", "inputs": self.serving_inputs(),
                                "output_shape": list(self.target_shape)},
            INVERSE: {"direction": "B -> A", "inputs": self.inverse_inputs(),
                      "output_shape": list(self.source_shape)}}}

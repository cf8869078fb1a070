"""srgan: single-image super-resolution with a GAN (Ledig et al. 2017), ESRGAN's options."""

from __future__ import annotations

import dataclasses
from typing import Literal

import keras
import tensorflow as tf
from keras import layers, ops

from tfgan_app import losses
from tfgan_app.errors import ConfigError, UsageError
from tfgan_app.i2i_networks import srgan_discriminator, srresnet_generator, vgg19_features
from tfgan_app.option import option
from tfgan_app.registry import register_variant
from tfgan_app.variants.base import VariantConfig
from tfgan_app.variants.image_to_image import ImageToImageModel

# Ledig et al. 2017, 3.4: VGG feature maps rescaled by 1/12.75, "equivalent to multiplying
# Equation 5 with a rescaling factor of about 0.006", so the VGG loss has the MSE's scale.
VGG_RESCALE = 1.0 / 12.75
VGG_LAYER = "block5_conv4"  # phi_5,4: the 4th convolution (after ReLU) before the 5th pool


@dataclasses.dataclass
class SRGANConfig(VariantConfig):
    """Options of `srgan` (`srgan.*` keys); model.g_filters sets the SRResNet's width,
    model.d_filters the discriminator's first convolutions."""

    scale: int = option(
        4, "upscaling factor, a power of 2: the input is the image downscaled by it "
           "(bicubic, antialiased), made inside the model, so H and W must be divisible by "
           "it (photos 64 px: 16 px inputs; digits: 2, see configs/datasets/digits.yaml)",
        min=2, max=16)
    content: Literal["mse", "l1", "vgg"] = option(
        "mse", "content loss: mse (pixel MSE on [-1, 1], the paper's SRGAN-MSE), l1 "
               "(ESRGAN's pixel loss) or vgg (the paper's VGG54: MSE of VGG19 block5_conv4 "
               "features rescaled by 1/12.75; needs srgan.vgg_weights)")
    vgg_weights: str = option(
        "", "content=vgg: path of keras.applications' notop VGG19 weights "
            "(vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5, or a .weights.h5 saved "
            "from keras.applications.VGG19(include_top=False)); never downloaded")
    adversarial_weight: float = option(
        1e-3, "the generator's loss is content + this x its GAN term (Ledig et al. 2017, "
              "eq. 3: 1e-3; 0: SRResNet, content alone, though D still trains)", min=0.0)
    relativistic: bool = option(
        False, "ESRGAN's relativistic average GAN (Wang et al. 2018): D_Ra(x_r, x_f) = "
               "sigmoid(C(x_r) - E[C(x_f)]) for both losses, E over the global batch; "
               "false: the paper's cross-entropy D and non-saturating G term")
    residual: bool = option(
        False, "the generator adds the SRResNet's output (tanh, in [-1, 1]) to the bilinear "
               "upscaling of its input and clips to [-1, 1], so it learns only the detail "
               "(a global residual as in VDSR, Kim et al. 2016; not the paper's). Bilinear, "
               "not bicubic: TFLite has no bicubic resize. Converges much faster")
    pretrain_steps: int = option(
        0, "the first N generator updates minimize the content loss alone and the "
           "discriminator is not updated (the paper starts SRGAN from an MSE-trained "
           "SRResNet): counted by the generator optimizer's checkpointed step, so a resumed "
           "run continues exactly; D's update is still computed, then undone", min=0)
    blocks: int = option(16, "SRResNet residual blocks (the paper's 16)", min=0)
    dense_units: int = option(1024, "units of the discriminator's hidden dense layer "
                                    "(the paper's 1024)", min=1)


@keras.saving.register_keras_serializable(package="tfgan_app")
class ClipImage(layers.Layer):
    """Values clipped to [-1, 1], the image range (TFLite: MINIMUM and MAXIMUM)."""

    def call(self, x):
        return ops.clip(x, -1.0, 1.0)


def residual_generator(body, scale: int) -> keras.Model:
    """clip(bilinear upscaling of the input + body(input)): `body` learns the detail, its
    last convolution zero-initialized.

    Args:
      body: a generator image [b, h, w, C] -> [b, scale h, scale w, C] (the SRResNet).
      scale: its upscaling factor.
    """
    # The detail starts at 0 (tanh(0)): the first output is the bilinear upscaling, a
    # good answer to improve on, not the noise of a random network added to it.
    last = body.get_layer("out")
    last.kernel.assign(tf.zeros_like(last.kernel))
    image = keras.Input(body.input_shape[1:], name="image")
    h, w = body.input_shape[1:3]
    up = layers.Resizing(h * scale, w * scale, interpolation="bilinear", name="bilinear")(image)
    out = layers.Add(name="add_detail")([up, body(image)])
    return keras.Model(image, ClipImage(name="sample")(out), name="generator")


class _Frozen:
    """Holds a network out of Keras' and tf.train's tracking: the VGG19 extractor is
    rebuilt from its weights file, never checkpointed or exported."""

    def __init__(self, network):
        self.network = network


@register_variant("srgan")
class SRGAN(ImageToImageModel):
    """Super-resolution: SRResNet G, SRGAN's D, content + 1e-3 GAN loss (Ledig et al. 2017).

    Trains on single images: each is downscaled by srgan.scale (bicubic) to make the
    generator's input, the image itself is the target. G minimizes a content loss (pixel
    MSE by default; L1 or the VGG54 feature loss) plus 1e-3 times the non-saturating GAN
    term; D is trained with cross-entropy. srgan.relativistic uses ESRGAN's relativistic
    average losses instead.
    """

    Config = SRGANConfig
    takes_pairs = None  # single images: the low-resolution input is made from each
    metric_names = ("d_loss", "g_loss", "g_gan", "content")

    def __init__(self, generator, discriminator, **kwargs):
        super().__init__(generator, discriminator, **kwargs)
        self._features = None
        if self.options.content == "vgg":
            self._features = _Frozen(self.content_network(self.options, self.target_shape))

    # -- construction ----------------------------------------------------------------------
    @staticmethod
    def content_network(options, target_shape):
        """The frozen VGG19 feature extractor of content=vgg, from srgan.vgg_weights."""
        if not options.vgg_weights:
            raise ConfigError("srgan.content=vgg needs srgan.vgg_weights=PATH, the notop "
                              "VGG19 weights of keras.applications (nothing is downloaded)")
        try:
            return vgg19_features(options.vgg_weights, target_shape, layer=VGG_LAYER)
        except UsageError as exc:
            raise UsageError(f"srgan.vgg_weights: {exc}") from None

    @classmethod
    def io_shapes(cls, data, options):
        """(low-resolution input, image) shapes: the image's sides divided by the scale."""
        h, w, c = data.shape
        s = options.scale
        if s & (s - 1):
            raise ConfigError(f"config key 'srgan.scale' must be a power of 2 (2, 4, 8, 16): "
                              f"the generator upsamples by 2 per stage; got {s}")
        if h % s or w % s:
            raise ConfigError(
                f"srgan.scale={s} must divide the image size, but dataset {data.name} has "
                f"{h}x{w} images; set data.image_size to a multiple of {s} or choose "
                f"another srgan.scale")
        return (h // s, w // s, c), (h, w, c)

    @classmethod
    def build_translation_networks(cls, cfg, source_shape, target_shape):
        o = cfg.options
        generator = srresnet_generator(source_shape, target_shape[-1], scale=o.scale,
                                       filters=cfg.model.g_filters, blocks=o.blocks,
                                       name="srresnet" if o.residual else "generator")
        if o.residual:
            generator = residual_generator(generator, o.scale)
        discriminator = srgan_discriminator(target_shape, filters=cfg.model.d_filters,
                                            dense_units=o.dense_units)
        return generator, discriminator

    # -- examples: an image -> (its downscaled copy, itself) --------------------------------
    @classmethod
    def example(cls, x, spec, uniform):
        """({"image": x downscaled by the scale, bicubic with antialiasing}, x).

        Bicubic can overshoot at edges: the input is clipped to [-1, 1], the range the
        serving signature accepts.
        """
        h, w = spec.target_shape[:2]
        s = spec.options.scale
        low = tf.image.resize(tf.cast(x, tf.float32), (h // s, w // s), method="bicubic",
                              antialias=True)
        return {"image": tf.clip_by_value(low, -1.0, 1.0)}, x

    # -- losses ----------------------------------------------------------------------------
    def content_loss(self, real, fake):
        """Per-example content loss of the generated images `fake` against `real`."""
        kind = self.options.content
        if kind == "mse":
            return losses.per_example(tf.square(real - fake))
        if kind == "l1":
            return losses.per_example(tf.abs(real - fake))
        features = self._features.network
        diff = (tf.cast(features(fake), tf.float32)
                - tf.cast(features(real), tf.float32)) * VGG_RESCALE
        return losses.per_example(tf.square(diff))

    def pretrained(self):
        """True (a tensor) once the content-only warm-up (srgan.pretrain_steps) is over."""
        return self.g_optimizer.iterations >= self.options.pretrain_steps

    def discriminator_step(self, real, labels, stream: int):
        """D's update, undone during the warm-up (no tf.cond: an optimizer step inside a
        cond branch cannot synchronize replicas; see GANModel._undo_unless)."""
        if not self.options.pretrain_steps:
            return super().discriminator_step(real, labels, stream)
        # Its step counter too: D then starts after the warm-up as a fresh optimizer (Adam's
        # bias correction at step 1, its schedule from the start). Random streams key on
        # the generator's counter, so nothing else depends on it.
        state = list(self.discriminator.weights) + list(self.d_optimizer.variables)
        update = super().discriminator_step
        return self._undo_unless(self.pretrained(), state, lambda: update(real, labels, stream))

    def discriminator_loss(self, real, fake, labels, cond, stream):
        real_logits, fake_logits = self.discriminate(real, labels), self.discriminate(fake, cond)
        if self.options.relativistic:
            return {"d_loss": losses.relativistic_discriminator_loss(real_logits, fake_logits)}
        return {"d_loss": losses.minimax_discriminator_loss(real_logits, fake_logits)}

    def generator_loss(self, real, fake, labels, cond, stream):
        fake_logits = self.discriminate(fake, cond)
        if self.options.relativistic:
            gan = losses.relativistic_generator_loss(self.discriminate(real, labels),
                                                     fake_logits)
        else:
            gan = losses.modified_generator_loss(fake_logits)
        content = self.content_loss(real, fake)
        weight = tf.constant(self.options.adversarial_weight, tf.float32)
        if self.options.pretrain_steps:
            weight = tf.where(self.pretrained(), weight, 0.0)
        return {"g_loss": content + weight * gan, "g_gan": gan,
                "content": content}

    # -- export ----------------------------------------------------------------------------
    def export_metadata(self) -> dict:
        """The base's, plus `scale`: the output is `scale` times the input's size."""
        return {**super().export_metadata(), "scale": int(self.options.scale)}

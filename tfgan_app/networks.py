"""Generator and discriminator networks: an MLP pair, a DCGAN conv pair, autoencoders.

Both pairs take an optional class label (one-hot concatenated to the latent vector, and to
the discriminator input as extra features or channels) so conditional variants reuse them.
A discriminator returns a dict: `logit` [batch, 1], `features` (its last hidden layer, for
feature matching) and one entry per extra head a variant asks for (ACGAN's class logits,
InfoGAN's Q outputs). Autoencoder discriminators (BEGAN, EBGAN) return `reconstruction`
and `embedding`; `model.architecture=began` builds the BEGAN paper's own autoencoder pair.

Batch normalization is synchronized across replicas, and minibatch standard deviation works
on contiguous groups inside a replica's batch: with per-replica batch statistics a step on
N replicas would not equal a step on one device.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

import keras
import tensorflow as tf
from keras import layers, ops

from tfgan_app.errors import ConfigError
from tfgan_app.option import option


@dataclasses.dataclass
class NetworkConfig:
    """Generator and discriminator shapes (`model.*` keys)."""

    latent_dim: int = option(64, "size of the generator's latent vector z", min=1)
    architecture: Literal["auto", "mlp", "dcgan", "kerasio", "began"] = option(
        "auto", "network pair; auto: the variant's own choice for images (began for began, "
                "else dcgan), mlp for points; kerasio: the keras.io WGAN-GP example's "
                "networks (28x28 images; latent_dim and the filter keys do not apply); "
                "began: the BEGAN paper's ELU autoencoder pair, for the autoencoder variants "
                "began and ebgan (16, 32, 64, 128 px; model.began_filters sets its width, the "
                "DCGAN filter, norm and upsample keys do not apply)")
    g_filters: int = option(64, "DCGAN: channels of the generator's last hidden stage "
                                "(doubled at each lower resolution)", min=1)
    d_filters: int = option(64, "DCGAN: channels of the discriminator's first stage "
                                "(doubled at each stride-2 stage)", min=1)
    upsample: Literal["transpose", "resize"] = option(
        "transpose", "DCGAN generator upsampling: stride-2 transposed conv, or bilinear "
                     "resize + conv")
    g_norm: Literal["batch", "none"] = option("batch", "generator normalization")
    d_norm: Literal["batch", "layer", "none"] = option(
        "batch", "discriminator normalization (not on its first layer)")
    spectral_norm: bool = option(
        False, "spectral normalization (Miyato et al. 2018) of every discriminator kernel "
               "(convolutions, dense layers, heads), one power iteration per training pass; "
               "model.d_norm still applies (none: the paper's setup). Not for the "
               "autoencoder discriminators (began, ebgan)")
    d_dropout: float = option(0.0, "dropout rate after each discriminator hidden layer; "
                                   "curbs memorization of small datasets", min=0.0, max=0.9)
    minibatch_std: int = option(
        0, "minibatch standard deviation group size (0: off); the discriminator sees the "
           "feature spread of each group of this many samples, which discourages mode "
           "collapse (Salimans et al. 2016; Karras et al. 2018); an autoencoder "
           "discriminator (began, ebgan) feeds it to its bottleneck", min=0)
    pack: int = option(
        1, "PacGAN packing (Lin et al. 2018): the discriminator judges each group of this "
           "many samples, all real or all generated, concatenated (features for points, "
           "channels for images); an autoencoder discriminator (began, ebgan) "
           "reconstructs each group whole; 1: off", min=1)
    began_filters: int = option(
        64, "BEGAN network: filters n of every generator and decoder convolution; the "
            "encoder's grow n, 2n, 3n, ... per scale", min=1)
    began_skip: bool = option(
        False, "BEGAN network: the paper's skip connections (section 3.5), in the generator "
               "and the decoder: after each up-sampling, the 8x8 projection h0, "
               "up-sampled to the same size, is concatenated to the stage's input")
    point_scale: float = option(
        1.0, "MLP on points: the discriminator divides its input by this and the generator "
             "multiplies its output by it, so both networks work at unit scale whatever the "
             "data's (grid's modes lie up to 4 from the origin, ring's at 1); 1: off",
        min=1e-6)
    mlp_units: int = option(256, "MLP: units per hidden layer", min=1)
    mlp_layers: int = option(3, "MLP: hidden layers", min=1)


# Architectures whose discriminator is an autoencoder; the classifier-style builders
# (build_pair, generator_for for gan ... infogan) refuse them.
AUTOENCODER_ARCHITECTURES = ("began",)


def resolve_architecture(cfg: NetworkConfig, kind: str, default: str = "dcgan",
                         autoencoder: bool = False) -> str:
    """`auto` -> `default` for images, mlp for points; conv pairs on points are an error.

    `autoencoder`: the caller builds an autoencoder discriminator (began, ebgan). The began
    architecture is only accepted then: its discriminator has no real/fake logit, feature
    or class heads, and a BEGAN generator beside another variant's DCGAN discriminator
    would be a pairing nobody has tuned, so it is refused rather than guessed.
    """
    arch = cfg.architecture
    if arch == "auto":
        arch = default if kind == "image" else "mlp"
    elif arch in ("dcgan", "kerasio", "began") and kind != "image":
        raise ConfigError(f"model.architecture={arch} needs image data, but this "
                          "dataset is points; use model.architecture=mlp or auto")
    if arch in AUTOENCODER_ARCHITECTURES and not autoencoder:
        raise ConfigError(f"model.architecture={arch} is BEGAN's autoencoder pair; only the "
                          "autoencoder variants (began, ebgan) can use it: use "
                          "model.architecture=dcgan, mlp or auto")
    return arch


def dcgan_stages(size: int) -> tuple[int, int]:
    """Number of stride-2 stages and the starting resolution for a square image size.

    Halve while the size stays even and at least 4: 16 -> (2, 4), 28 -> (2, 7), 32 -> (3, 4).
    """
    stages, start = 0, size
    while start % 2 == 0 and start // 2 >= 4:
        start //= 2
        stages += 1
    if stages == 0:
        raise ConfigError(f"DCGAN networks need an image size that halves to >= 4 (e.g. 16, "
                          f"28, 32, 64); got {size}. Set data.image_size")
    return stages, start


def _norm(kind: str, name: str):
    if kind == "batch":
        return layers.BatchNormalization(synchronized=True, name=name)
    if kind == "layer":
        return layers.LayerNormalization(name=name)
    return None


def _apply(x, layer):
    return layer(x) if layer is not None else x


def _dropout(x, rate: float, name: str):
    return layers.Dropout(rate, name=name)(x) if rate else x


@keras.saving.register_keras_serializable(package="tfgan_app")
class SpectralNorm(layers.Wrapper):
    """A Dense or Conv2D whose kernel W acts as W / sigma(W) (Miyato et al. 2018).

    sigma(W), the largest singular value of W reshaped to [fan_in, units], is estimated by
    one power iteration per call from a persistent vector `u`: v = W u / ||W u||,
    u' = W^T v / ||W^T v||, sigma = v^T W u'. u and v are constants to the gradient, which
    flows through sigma to W (the paper's reparametrization). Training calls store u', so
    the estimate sharpens as training goes; other calls leave u alone.

    Not keras.layers.SpectralNormalization, which overwrites the kernel with W / sigma on
    every training call: there the gradient skips sigma, each call divides again, and
    under mixed precision the float32 kernel is rounded to float16 on each call (measured).
    Here the kernel stays W; the power iteration runs in float32 (the layer does not
    autocast) and only the normalized kernel is cast to the compute dtype. Every replica
    computes the same u' from the same W and u, so u is aggregated "only_first_replica".
    """

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, (layers.Dense, layers.Conv2D)):
            raise TypeError(f"SpectralNorm wraps a Dense or Conv2D, not {type(layer).__name__}")
        super().__init__(layer, **{**kwargs, "autocast": False})

    def build(self, input_shape):
        super().build(input_shape)
        self.u = self.add_weight(shape=(self.layer.kernel.shape[-1],),
                                 initializer=keras.initializers.RandomNormal(),
                                 trainable=False, aggregation="only_first_replica", name="u")

    def normalized_kernel(self, training=False):
        """W / sigma(W) in float32; a training call also stores the new u."""
        kernel = ops.convert_to_tensor(self.layer.kernel)
        w = ops.reshape(kernel, (-1, kernel.shape[-1]))
        v = _unit(ops.matmul(w, ops.expand_dims(self.u, 1)))
        u = _unit(ops.matmul(ops.transpose(w), v))
        v, u = ops.stop_gradient(v), ops.stop_gradient(u)
        sigma = ops.sum(v * ops.matmul(w, u))
        if training:
            self.u.assign(ops.squeeze(u, 1))
        return kernel / sigma

    def call(self, inputs, training=False):
        kernel = ops.cast(self.normalized_kernel(training), self.compute_dtype)
        x = ops.cast(inputs, self.compute_dtype)
        layer = self.layer
        if isinstance(layer, layers.Conv2D):
            x = layer.convolution_op(x, kernel)
        else:
            x = ops.matmul(x, kernel)
        if layer.use_bias:  # channels last
            x = x + ops.cast(layer.bias, self.compute_dtype)
        return layer.activation(x) if layer.activation is not None else x

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)


def _unit(x):
    return x / (ops.sqrt(ops.sum(ops.square(x))) + 1e-12)


def _sn(cfg, layer):
    """A discriminator's Dense or Conv2D, spectrally normalized with `model.spectral_norm`.

    The wrapper takes the layer's name (the wrapped layer keeps it inside), so the model's
    layer names stay those of the plain network.
    """
    return SpectralNorm(layer, name=layer.name) if cfg.spectral_norm else layer


@keras.saving.register_keras_serializable(package="tfgan_app")
class OneHot(layers.Layer):
    """Integer labels [batch] (or [batch, 1]) -> float one-hot [batch, num_classes].

    Rows of an identity matrix (TFLite GATHER), not `tf.one_hot` (nor CategoryEncoding,
    which uses it): full-int8 TFLite gives ONE_HOT the quantization scale of the tensor it
    is concatenated with but writes raw 0/127 values, so a one-hot 1 became ~3.9 and the
    int8 cgan fell to 11 dB PSNR (measured). The converter also folds EQUAL + CAST back
    into ONE_HOT; GATHER quantizes correctly. Serving signatures reject out-of-range labels.
    """

    def __init__(self, num_classes: int, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes

    def call(self, labels):
        labels = ops.reshape(ops.cast(labels, "int32"), (-1,))
        return ops.take(ops.eye(self.num_classes, dtype=self.compute_dtype), labels, axis=0)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_classes)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


def _label_input(num_classes: int):
    """An int32 class-label input and its one-hot encoding."""
    label = keras.Input((), dtype="int32", name="label")
    # The Reshape keeps the layer list (and so checkpoints) as it was with CategoryEncoding.
    return label, OneHot(num_classes, name="label_onehot")(layers.Reshape((1,))(label))


def _inputs(latent_dim: int, num_classes: int):
    z = keras.Input((latent_dim,), name="z")
    if not num_classes:
        return [z], z
    label, onehot = _label_input(num_classes)
    return [z, label], layers.Concatenate(name="z_label")([z, onehot])


def _point_scale(cfg: NetworkConfig, shape) -> float:
    """`model.point_scale` for data of `shape`: points only (images ignore it)."""
    return cfg.point_scale if len(shape) == 1 else 1.0


def _disc_inputs(shape, num_classes: int, pack: int = 1, scale: float = 1.0):
    """The discriminator's inputs and what its first layer reads: x (divided by `scale`,
    `model.point_scale`), packed or joined with the label's one-hot encoding."""
    x = keras.Input(shape, name="x")
    h = layers.Rescaling(1.0 / scale, name="point_scale")(x) if scale != 1 else x
    if not num_classes:
        return [x], Pack(pack, name="pack")(h) if pack > 1 else h
    if pack > 1:
        raise ConfigError("model.pack does not support class-conditional discriminators")
    label, onehot = _label_input(num_classes)
    if len(shape) == 3:  # one constant channel per class
        maps = layers.Reshape((1, 1, num_classes))(onehot)
        maps = layers.UpSampling2D(size=shape[:2], name="label_maps")(maps)
        return [x, label], layers.Concatenate(name="x_label")([h, maps])
    return [x, label], layers.Concatenate(name="x_label")([layers.Flatten()(h), onehot])


@keras.saving.register_keras_serializable(package="tfgan_app")
class Pack(layers.Layer):
    """PacGAN: concatenate each contiguous group of `size` samples into one.

    [B, d] -> [B/size, size*d]; [B, H, W, C] -> [B/size, H, W, size*C]. Groups are
    contiguous, so on N replicas each replica packs exactly its rows of the one-device packs.
    """

    def __init__(self, size: int, **kwargs):
        super().__init__(**kwargs)
        self.size = int(size)

    def call(self, x):
        batch = tf.shape(x)[0]
        tf.debugging.assert_equal(batch % self.size, 0, message=(
            "model.pack: the per-replica batch must be a multiple of the pack size"))
        if len(x.shape) == 2:
            return tf.reshape(x, [batch // self.size, self.size * x.shape[-1]])
        h, w, c = x.shape[1:]
        grouped = tf.reshape(x, [batch // self.size, self.size, h, w, c])
        return tf.reshape(tf.transpose(grouped, [0, 2, 3, 1, 4]),
                          [batch // self.size, h, w, self.size * c])

    def compute_output_shape(self, input_shape):
        batch = None if input_shape[0] is None else input_shape[0] // self.size
        return (batch, *input_shape[1:-1], input_shape[-1] * self.size)

    def get_config(self):
        return {**super().get_config(), "size": self.size}


@keras.saving.register_keras_serializable(package="tfgan_app")
class Unpack(layers.Layer):
    """The inverse of `Pack`: [B/size, size*d] -> [B, d]; [B/size, H, W, size*C] ->
    [B, H, W, C], each pack's samples back in their contiguous order.

    An autoencoder discriminator with packing reconstructs whole packs and unpacks the
    reconstruction, so its losses stay per sample (each sample's error still depends on
    its pack-mates, through the shared encoding).
    """

    def __init__(self, size: int, **kwargs):
        super().__init__(**kwargs)
        self.size = int(size)

    def call(self, x):
        packs = tf.shape(x)[0]
        if len(x.shape) == 2:
            return tf.reshape(x, [packs * self.size, x.shape[-1] // self.size])
        h, w, c = x.shape[1], x.shape[2], x.shape[3] // self.size
        grouped = tf.reshape(x, [packs, h, w, self.size, c])
        return tf.reshape(tf.transpose(grouped, [0, 3, 1, 2, 4]),
                          [packs * self.size, h, w, c])

    def compute_output_shape(self, input_shape):
        batch = None if input_shape[0] is None else input_shape[0] * self.size
        return (batch, *input_shape[1:-1], input_shape[-1] // self.size)

    def get_config(self):
        return {**super().get_config(), "size": self.size}


def _model(inputs, outputs, name):
    return keras.Model(inputs if len(inputs) > 1 else inputs[0], outputs, name=name)


@keras.saving.register_keras_serializable(package="tfgan_app")
class MinibatchStdDev(layers.Layer):
    """Append the mean feature standard deviation of each sample's group as one feature.

    Groups are contiguous runs of `group_size` samples (the whole batch if smaller), so on
    N replicas each replica's groups are exactly the one-device groups of its rows.
    """

    def __init__(self, group_size: int, **kwargs):
        super().__init__(**kwargs)
        self.group_size = int(group_size)

    def call(self, x):
        batch = tf.shape(x)[0]
        group = tf.minimum(self.group_size, batch)
        tf.debugging.assert_equal(batch % group, 0, message=(
            "minibatch_std: the per-replica batch must be a multiple of the group size"))
        grouped = tf.reshape(x, tf.concat([[batch // group, group], tf.shape(x)[1:]], 0))
        mean, var = tf.nn.moments(grouped, axes=[1], keepdims=True)
        std = tf.sqrt(var + 1e-8)  # [groups, 1, ...features]
        spread = tf.reduce_mean(tf.reshape(std, [batch // group, -1]), axis=1)  # [groups]
        per_sample = tf.repeat(spread, group)  # [batch]
        shape = tf.concat([tf.shape(x)[:-1], [1]], 0)
        extra = tf.ones(shape, x.dtype) * tf.reshape(
            per_sample, [-1] + [1] * (len(x.shape) - 1))
        return tf.concat([x, extra], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)

    def get_config(self):
        return {**super().get_config(), "group_size": self.group_size}


def _heads(inputs, features, cfg: NetworkConfig, heads: dict | None, logit):
    """The discriminator's output dict: logit, features and the extra heads.

    `logit`: whether there is a real/fake output unit (False: the K-class semi-supervised
    head instead).
    """
    outputs = {"features": features}
    if logit:
        outputs["logit"] = _sn(cfg, layers.Dense(1, name="logit"))(features)
    for name, units in (heads or {}).items():
        if isinstance(units, tuple):  # (hidden units, outputs): a small MLP head
            hidden, units = units
            h = layers.LeakyReLU(0.2)(_sn(cfg, layers.Dense(hidden, name=f"{name}_hidden"))(
                features))
        else:
            h = features
        outputs[name] = _sn(cfg, layers.Dense(units, name=name))(h)
    return _model(inputs, outputs, "discriminator")


def mlp_generator(cfg: NetworkConfig, out_shape, num_classes=0, image=False, inputs=None):
    inputs, h = inputs or _inputs(cfg.latent_dim, num_classes)
    for i in range(cfg.mlp_layers):
        h = layers.Dense(cfg.mlp_units, name=f"dense_{i}")(h)
        h = _apply(h, _norm(cfg.g_norm, f"norm_{i}") if image else None)
        h = layers.ReLU()(h)
    h = layers.Dense(math.prod(out_shape), activation="tanh" if image else None, name="out")(h)
    if _point_scale(cfg, out_shape) != 1:
        h = layers.Rescaling(cfg.point_scale, name="point_scale")(h)
    return _model(inputs, layers.Reshape(out_shape, name="sample")(h), "generator")


def mlp_discriminator(cfg: NetworkConfig, in_shape, num_classes=0, heads=None, logit=True):
    inputs, h = _disc_inputs(in_shape, num_classes, cfg.pack, _point_scale(cfg, in_shape))
    h = layers.Flatten()(h)
    for i in range(cfg.mlp_layers):
        if cfg.minibatch_std and i == cfg.mlp_layers - 1:
            h = MinibatchStdDev(cfg.minibatch_std, name="minibatch_std")(h)
        h = _sn(cfg, layers.Dense(cfg.mlp_units, name=f"dense_{i}"))(h)
        h = _dropout(layers.LeakyReLU(0.2)(h), cfg.d_dropout, f"dropout_{i}")
    return _heads(inputs, h, cfg, heads, logit)


def dcgan_generator(cfg: NetworkConfig, out_shape, num_classes=0, inputs=None):
    """Radford et al. 2016: project, then stride-2 stages with BN + ReLU, tanh output.

    `inputs`: (keras inputs, the vector they make) to replace z [+ label] (InfoGAN codes).
    """
    size, _, channels = out_shape
    stages, start = dcgan_stages(size)
    filters = cfg.g_filters * 2 ** (stages - 1)
    inputs, h = inputs or _inputs(cfg.latent_dim, num_classes)
    h = layers.Dense(start * start * filters, use_bias=cfg.g_norm == "none", name="project")(h)
    h = layers.ReLU()(_apply(h, _norm(cfg.g_norm, "project_norm")))
    h = layers.Reshape((start, start, filters))(h)
    for i in range(stages):
        last = i == stages - 1
        out = channels if last else filters // 2 ** (i + 1)
        if cfg.upsample == "transpose":
            h = layers.Conv2DTranspose(out, 4, strides=2, padding="same",
                                       use_bias=last or cfg.g_norm == "none",
                                       name=f"up_{i}")(h)
        else:
            h = layers.UpSampling2D(2, interpolation="bilinear", name=f"resize_{i}")(h)
            h = layers.Conv2D(out, 3, padding="same", use_bias=last or cfg.g_norm == "none",
                              name=f"up_{i}")(h)
        if not last:
            h = layers.ReLU()(_apply(h, _norm(cfg.g_norm, f"norm_{i}")))
    h = layers.Activation("tanh", name="sample")(h)
    return _model(inputs, h, "generator")


def dcgan_discriminator(cfg: NetworkConfig, in_shape, num_classes=0, heads=None, logit=True):
    """Stride-2 convs with LeakyReLU(0.2), normalization after the first, a linear logit."""
    stages, _ = dcgan_stages(in_shape[0])
    inputs, h = _disc_inputs(in_shape, num_classes, cfg.pack)
    for i in range(stages):
        if cfg.minibatch_std and i == stages - 1:
            h = MinibatchStdDev(cfg.minibatch_std, name="minibatch_std")(h)
        h = _sn(cfg, layers.Conv2D(cfg.d_filters * 2 ** i, 4, strides=2, padding="same",
                                   name=f"conv_{i}"))(h)
        if i > 0:
            h = _apply(h, _norm(cfg.d_norm, f"norm_{i}"))
        h = _dropout(layers.LeakyReLU(0.2)(h), cfg.d_dropout, f"dropout_{i}")
    h = layers.Flatten(name="features")(h)
    return _heads(inputs, h, cfg, heads, logit)


KERASIO_SIZE = 28


def _kerasio_check(shape):
    if tuple(shape[:2]) != (KERASIO_SIZE, KERASIO_SIZE):
        raise ConfigError(f"model.architecture=kerasio needs 28x28 images (Fashion-MNIST "
                          f"shaped); this dataset has {shape[0]}x{shape[1]}: set "
                          "data.image_size=28 or use model.architecture=dcgan")


def kerasio_generator(cfg: NetworkConfig, out_shape, num_classes=0, inputs=None):
    """The generator of the keras.io WGAN-GP example (Fashion-MNIST, 28x28).

    Dense to 4x4x256 (BN, LeakyReLU), three stages of nearest-neighbour x2 upsampling, a
    3x3 conv (128, 64, then the image channels) and BN, with LeakyReLU(0.2) after the first
    two and tanh after the last, then a 2-pixel crop from 32x32 to 28x28 (910,660 weights
    for latent 128, as in the example). Unconditional there; a label input is concatenated
    to z here for conditional variants.
    """
    _kerasio_check(out_shape)
    inputs, h = inputs or _inputs(cfg.latent_dim, num_classes)
    h = layers.Dense(4 * 4 * 256, use_bias=False, name="project")(h)
    h = layers.LeakyReLU(0.2)(_norm("batch", "project_norm")(h))
    h = layers.Reshape((4, 4, 256))(h)
    for i, filters in enumerate((128, 64, out_shape[-1])):
        h = layers.UpSampling2D(2, name=f"resize_{i}")(h)
        h = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"up_{i}")(h)
        h = _norm("batch", f"norm_{i}")(h)  # synchronized across replicas
        h = layers.LeakyReLU(0.2)(h) if i < 2 else layers.Activation("tanh")(h)
    h = layers.Cropping2D(2, name="sample")(h)
    return _model(inputs, h, "generator")


def kerasio_discriminator(cfg: NetworkConfig, in_shape, num_classes=0, heads=None,
                          logit=True):
    """The critic of the keras.io WGAN-GP example: pad 28 -> 32, four 5x5 stride-2 convs
    (64, 128, 256, 512) with LeakyReLU(0.2), dropout 0.3 after the 2nd and 3rd, flatten,
    dropout 0.2, one linear output. No normalization (the penalty is per example).
    """
    _kerasio_check(in_shape)
    inputs, h = _disc_inputs(in_shape, num_classes, cfg.pack)
    h = layers.ZeroPadding2D(2)(h)
    for i, filters in enumerate((64, 128, 256, 512)):
        if cfg.minibatch_std and i == 3:
            h = MinibatchStdDev(cfg.minibatch_std, name="minibatch_std")(h)
        h = _sn(cfg, layers.Conv2D(filters, 5, strides=2, padding="same", name=f"conv_{i}"))(h)
        h = layers.LeakyReLU(0.2)(h)
        if i in (1, 2):
            h = layers.Dropout(0.3, name=f"dropout_{i}")(h)
    h = layers.Flatten()(h)
    h = layers.Dropout(0.2, name="features")(h)
    return _heads(inputs, h, cfg, heads, logit)


BEGAN_BASE = 8  # BEGAN's decoder and generator start at 8x8 (Berthelot et al. 2017, 3.5)


def began_scales(shape) -> int:
    """Resolutions of BEGAN's networks, 8x8 up to the image size: 16 -> 2, 64 -> 4."""
    size, scales = BEGAN_BASE, 1
    while size < shape[0]:
        size, scales = size * 2, scales + 1
    if size != shape[0] or shape[0] != shape[1] or scales < 2:
        raise ConfigError(f"model.architecture=began needs square images of 8 x 2^k pixels "
                          f"(16, 32, 64, 128); got {shape[0]}x{shape[1]}. Set "
                          "data.image_size")
    return scales


def _began_convs(h, filters: int, name: str):
    """One scale: two 3x3 convolutions with ELU (BEGAN has no normalization anywhere)."""
    for j in range(2):
        h = layers.Conv2D(filters, 3, padding="same", activation="elu",
                          name=f"{name}_{j}")(h)
    return h


def _began_decoder(h, n: int, scales: int, prefix: str = "", skip: bool = False):
    """Dense projection h0 to 8x8xn, then per scale two convs, nearest-neighbour x2 between.

    `skip`: after each up-sampling, h0 up-sampled to the same size is concatenated to the
    stage's input (the paper's skip connections from the hidden state to every up-sampled
    stage, "to help gradient propagation"). The projection is linear, like the embedding
    (the paper puts ELU on convolutions); the caller adds the 3x3 output convolution.
    """
    h = layers.Dense(BEGAN_BASE * BEGAN_BASE * n, name=f"{prefix}project")(h)
    h0 = h = layers.Reshape((BEGAN_BASE, BEGAN_BASE, n))(h)
    for i in range(scales):
        if i:
            h = layers.UpSampling2D(2, interpolation="nearest", name=f"{prefix}up_{i}")(h)
            if skip:
                carried = layers.UpSampling2D(2 ** i, interpolation="nearest",
                                              name=f"{prefix}skip_up_{i}")(h0)
                h = layers.Concatenate(name=f"{prefix}skip_{i}")([h, carried])
        h = _began_convs(h, n, f"{prefix}conv_{i}")
    return h


def began_generator(cfg: NetworkConfig, out_shape, num_classes=0, inputs=None):
    """BEGAN's generator (Berthelot et al. 2017, section 3.5): the decoder's shape.

    z -> dense 8x8xn -> [two 3x3 convs n, ELU; nearest x2] per scale -> 3x3 conv -> tanh,
    with the paper's skip connections from the 8x8 projection when `model.began_skip`.
    The paper's output (and carpedm20/BEGAN-tensorflow's) is linear; the tanh keeps samples
    in [-1, 1], the range the app's exports promise and the uint8 grids and `sample`
    signature assume. A linear generator would rely on clipping, whose zero gradient
    outside the range would hide from G how far off such pixels are; tanh is what the DCGAN
    generators end with too.
    """
    inputs, h = inputs or _inputs(cfg.latent_dim, num_classes)
    h = _began_decoder(h, cfg.began_filters, began_scales(out_shape), skip=cfg.began_skip)
    h = layers.Conv2D(out_shape[-1], 3, padding="same", name="out")(h)
    h = layers.Activation("tanh", name="sample")(h)
    return _model(inputs, h, "generator")


def began_autoencoder(cfg: NetworkConfig, in_shape, embedding_dim: int):
    """BEGAN's discriminator: x -> {"reconstruction", "embedding" h}.

    Encoder: a 3x3 conv (n), then per scale two 3x3 convs with n, 2n, 3n, ... filters (the
    linear growth of carpedm20/BEGAN-tensorflow) and, between scales, a stride-2 3x3 conv
    down-sampling; the 8x8 map goes through a dense layer to h with no activation. Decoder:
    the generator's shape from h, with a linear output (a reconstruction of x; the L1 loss
    measures it). ELU after every convolution but that output, no normalization.
    """
    n, scales = cfg.began_filters, began_scales(in_shape)
    [x], h = _disc_inputs(in_shape, 0, cfg.pack)
    h = layers.Conv2D(n, 3, padding="same", activation="elu", name="enc_in")(h)
    for i in range(scales):
        filters = n * (i + 1)
        h = _began_convs(h, filters, f"enc_{i}")
        if i < scales - 1:
            h = layers.Conv2D(filters, 3, strides=2, padding="same", activation="elu",
                              name=f"down_{i}")(h)
    embedding = _embedding(cfg, h, embedding_dim)
    h = _began_decoder(embedding, n, scales, prefix="dec_", skip=cfg.began_skip)
    out = layers.Conv2D(in_shape[-1] * cfg.pack, 3, padding="same",
                        name=_reconstruction_name(cfg.pack))(h)
    return _autoencoder(x, out, embedding, cfg.pack)


def _embedding(cfg: NetworkConfig, h, embedding_dim: int):
    """The autoencoder's bottleneck: a dense layer, with no activation, from the encoder's
    flattened features, and with `model.minibatch_std` from the spread of the sample's group
    as well (appended as one more feature), so that the reconstruction can depend on it."""
    h = layers.Flatten()(h)
    if cfg.minibatch_std:
        h = MinibatchStdDev(cfg.minibatch_std, name="minibatch_std")(h)
    return layers.Dense(embedding_dim, name="embedding")(h)


def _reconstruction_name(pack: int) -> str:
    # Unpacked, the output keeps the name "reconstruction" (and older checkpoints load).
    return "reconstruction" if pack == 1 else "reconstruction_packed"


def _autoencoder(x, out, embedding, pack: int):
    """The autoencoder model: one reconstruction per sample (packs unpacked) and the
    embedding (one per pack)."""
    if pack > 1:
        out = Unpack(pack, name="reconstruction")(out)
    return keras.Model(x, {"reconstruction": out, "embedding": embedding},
                       name="discriminator")


GENERATORS = {"dcgan": dcgan_generator, "kerasio": kerasio_generator,
              "began": began_generator}
DISCRIMINATORS = {"dcgan": dcgan_discriminator, "kerasio": kerasio_discriminator}


def generator_for(cfg: NetworkConfig, data, num_classes: int = 0, default: str = "dcgan",
                  inputs=None, autoencoder: bool = False):
    """The generator of the pair `build_pair` (or `autoencoder_pair`) would build."""
    arch = resolve_architecture(cfg, data.kind, default, autoencoder)
    if arch in GENERATORS:
        return GENERATORS[arch](cfg, data.shape, num_classes, inputs=inputs)
    return mlp_generator(cfg, data.shape, num_classes, image=data.kind == "image",
                         inputs=inputs)


def build_pair(cfg: NetworkConfig, data, num_classes: int = 0, default: str = "dcgan",
               heads: dict | None = None, logit: bool = True):
    """Generator and discriminator for `data` (a `tfgan_app.data.Dataset`).

    `default` is the architecture `auto` means for images (the variant's choice); `heads`
    maps extra discriminator outputs to their units (or (hidden, units) for an MLP head);
    `logit=False` leaves out the real/fake logit (the K-class semi-supervised head).
    """
    arch = resolve_architecture(cfg, data.kind, default)
    generator = generator_for(cfg, data, num_classes, default)
    if arch in DISCRIMINATORS:
        return generator, DISCRIMINATORS[arch](cfg, data.shape, num_classes, heads, logit)
    return generator, mlp_discriminator(cfg, data.shape, num_classes, heads, logit)


def autoencoder_discriminator(cfg: NetworkConfig, data, embedding_dim: int,
                              default: str = "dcgan"):
    """An autoencoder: x -> {"reconstruction": like x, "embedding": [batch, embedding_dim]}.

    Images: began (`began_autoencoder`, the paper's network), or dcgan: the DCGAN
    discriminator's stride-2 conv stages as encoder, a dense embedding, the DCGAN
    generator's transposed-conv stages as decoder, ELU and no normalization, a linear
    output. Points (mlp): dense encoder and decoder. With `model.pack` > 1 (PacGAN) it
    encodes and reconstructs each pack of contiguous samples as one, and unpacks the
    reconstruction: a collapsed generator's packs (near-copies of one sample) are then
    unlike any pack of independent real samples, which the autoencoder can learn.
    """
    arch = resolve_architecture(cfg, data.kind, default, autoencoder=True)
    if arch == "kerasio":
        raise ConfigError("model.architecture=kerasio has no autoencoder discriminator "
                          "(began, ebgan); use model.architecture=began, dcgan or mlp")
    if arch == "began":
        return began_autoencoder(cfg, data.shape, embedding_dim)
    pack, scale = cfg.pack, _point_scale(cfg, data.shape)
    # points: encoder and decoder at unit scale, the reconstruction in data units
    [x], h = _disc_inputs(data.shape, 0, pack, scale)
    if arch == "dcgan":
        stages, start = dcgan_stages(data.shape[0])
        for i in range(stages):
            h = layers.Conv2D(cfg.d_filters * 2 ** i, 4, strides=2, padding="same",
                              activation="elu", name=f"enc_{i}")(h)
        embedding = _embedding(cfg, h, embedding_dim)
        filters = cfg.d_filters * 2 ** (stages - 1)
        h = layers.Dense(start * start * filters, activation="elu", name="dec_project")(
            embedding)
        h = layers.Reshape((start, start, filters))(h)
        for i in range(stages):
            last = i == stages - 1
            h = layers.Conv2DTranspose(data.shape[-1] * pack if last else
                                       filters // 2 ** (i + 1), 4, strides=2, padding="same",
                                       activation=None if last else "elu",
                                       name=_reconstruction_name(pack) if last else
                                       f"dec_{i}")(h)
        out = h
    else:
        h = layers.Flatten()(h)
        for i in range(cfg.mlp_layers):
            h = layers.Dense(cfg.mlp_units, activation="elu", name=f"enc_{i}")(h)
        embedding = _embedding(cfg, h, embedding_dim)
        h = embedding
        for i in range(cfg.mlp_layers):
            h = layers.Dense(cfg.mlp_units, activation="elu", name=f"dec_{i}")(h)
        h = layers.Dense(math.prod(data.shape) * pack, name="dec_out")(h)
        if scale != 1:
            h = layers.Rescaling(scale, name="point_unscale")(h)
        shape = (*data.shape[:-1], data.shape[-1] * pack)
        out = layers.Reshape(shape, name=_reconstruction_name(pack))(h)
    return _autoencoder(x, out, embedding, pack)


def autoencoder_pair(cfg: NetworkConfig, data, embedding_dim: int, variant: str,
                     default: str = "dcgan"):
    """An unconditional generator and an autoencoder discriminator (BEGAN, EBGAN).

    With `model.pack` the autoencoder reconstructs packs of samples (`_autoencoder`).
    """
    if cfg.spectral_norm:
        raise ConfigError(f"model.spectral_norm is not supported by {variant}: its "
                          "discriminator is an autoencoder scored by its reconstruction "
                          "error, not a real/fake logit whose Lipschitz constant spectral "
                          "normalization bounds; set it to false")
    return (generator_for(cfg, data, 0, default, autoencoder=True),
            autoencoder_discriminator(cfg, data, embedding_dim, default))

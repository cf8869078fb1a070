"""Generator and discriminator networks: an MLP pair and a DCGAN conv pair.

Both take an optional class label (one-hot concatenated to the latent vector, and to the
discriminator input as extra features or channels) so conditional variants reuse them.
Batch normalization is synchronized across replicas: with per-replica statistics a step on
N replicas would not equal a step on one device.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

import keras
from keras import layers

from tfgan_app.config import option
from tfgan_app.errors import ConfigError


@dataclasses.dataclass
class NetworkConfig:
    """Generator and discriminator shapes (`model.*` keys)."""

    latent_dim: int = option(64, "size of the generator's latent vector z", min=1)
    architecture: Literal["auto", "mlp", "dcgan"] = option(
        "auto", "network pair; auto: the variant's own choice for images, mlp for points")
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
    d_dropout: float = option(0.0, "dropout rate after each discriminator hidden layer; "
                                   "curbs memorization of small datasets", min=0.0, max=0.9)
    mlp_units: int = option(256, "MLP: units per hidden layer", min=1)
    mlp_layers: int = option(3, "MLP: hidden layers", min=1)


def resolve_architecture(cfg: NetworkConfig, kind: str, default: str = "dcgan") -> str:
    """`auto` -> `default` for images, mlp for points; dcgan on points is an error."""
    if cfg.architecture == "auto":
        return default if kind == "image" else "mlp"
    if cfg.architecture == "dcgan" and kind != "image":
        raise ConfigError("model.architecture=dcgan needs image data, but this dataset is "
                          "2-D points; use model.architecture=mlp or auto")
    return cfg.architecture


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


def _label_input(num_classes: int):
    """An int32 class-label input and its one-hot encoding."""
    label = keras.Input((), dtype="int32", name="label")
    onehot = layers.CategoryEncoding(num_classes, output_mode="one_hot", name="label_onehot")(
        layers.Reshape((1,))(label))
    return label, onehot


def _inputs(latent_dim: int, num_classes: int):
    z = keras.Input((latent_dim,), name="z")
    if not num_classes:
        return [z], z
    label, onehot = _label_input(num_classes)
    return [z, label], layers.Concatenate(name="z_label")([z, onehot])


def _disc_inputs(shape, num_classes: int):
    x = keras.Input(shape, name="x")
    if not num_classes:
        return [x], x
    label, onehot = _label_input(num_classes)
    if len(shape) == 3:  # one constant channel per class
        maps = layers.Reshape((1, 1, num_classes))(onehot)
        maps = layers.UpSampling2D(size=shape[:2], name="label_maps")(maps)
        return [x, label], layers.Concatenate(name="x_label")([x, maps])
    return [x, label], layers.Concatenate(name="x_label")([layers.Flatten()(x), onehot])


def _model(inputs, outputs, name):
    return keras.Model(inputs if len(inputs) > 1 else inputs[0], outputs, name=name)


def mlp_generator(cfg: NetworkConfig, out_shape, num_classes=0, image=False):
    inputs, h = _inputs(cfg.latent_dim, num_classes)
    for i in range(cfg.mlp_layers):
        h = layers.Dense(cfg.mlp_units, name=f"dense_{i}")(h)
        h = _apply(h, _norm(cfg.g_norm, f"norm_{i}") if image else None)
        h = layers.ReLU()(h)
    h = layers.Dense(math.prod(out_shape), activation="tanh" if image else None, name="out")(h)
    return _model(inputs, layers.Reshape(out_shape, name="sample")(h), "generator")


def mlp_discriminator(cfg: NetworkConfig, in_shape, num_classes=0):
    inputs, h = _disc_inputs(in_shape, num_classes)
    h = layers.Flatten()(h)
    for i in range(cfg.mlp_layers):
        h = layers.Dense(cfg.mlp_units, name=f"dense_{i}")(h)
        h = _dropout(layers.LeakyReLU(0.2)(h), cfg.d_dropout, f"dropout_{i}")
    return _model(inputs, layers.Dense(1, name="logit")(h), "discriminator")


def dcgan_generator(cfg: NetworkConfig, out_shape, num_classes=0):
    """Radford et al. 2016: project, then stride-2 stages with BN + ReLU, tanh output."""
    size, _, channels = out_shape
    stages, start = dcgan_stages(size)
    filters = cfg.g_filters * 2 ** (stages - 1)
    inputs, h = _inputs(cfg.latent_dim, num_classes)
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


def dcgan_discriminator(cfg: NetworkConfig, in_shape, num_classes=0):
    """Stride-2 convs with LeakyReLU(0.2), normalization after the first, a linear logit."""
    stages, _ = dcgan_stages(in_shape[0])
    inputs, h = _disc_inputs(in_shape, num_classes)
    for i in range(stages):
        h = layers.Conv2D(cfg.d_filters * 2 ** i, 4, strides=2, padding="same",
                          name=f"conv_{i}")(h)
        if i > 0:
            h = _apply(h, _norm(cfg.d_norm, f"norm_{i}"))
        h = _dropout(layers.LeakyReLU(0.2)(h), cfg.d_dropout, f"dropout_{i}")
    h = layers.Flatten()(h)
    return _model(inputs, layers.Dense(1, name="logit")(h), "discriminator")


def build_pair(cfg: NetworkConfig, data, num_classes: int = 0, default: str = "dcgan"):
    """Generator and discriminator for `data` (a `tfgan_app.data.Dataset`).

    `default` is the architecture `auto` means for images (the variant's choice).
    """
    arch = resolve_architecture(cfg, data.kind, default)
    image = data.kind == "image"
    if arch == "dcgan":
        return (dcgan_generator(cfg, data.shape, num_classes),
                dcgan_discriminator(cfg, data.shape, num_classes))
    return (mlp_generator(cfg, data.shape, num_classes, image=image),
            mlp_discriminator(cfg, data.shape, num_classes))

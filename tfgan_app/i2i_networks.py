"""Image-to-image networks: pix2pix's U-Net and PatchGAN, CycleGAN's ResNet, SRGAN's pair.

Every network takes one input named `image` ([batch, H, W, C], values in [-1, 1]); the
generators end in tanh, so their outputs are in [-1, 1] too, the range the app's exports
promise. Discriminators return raw logits (no sigmoid): the losses take logits.

Batch normalization is synchronized across replicas (as in networks.py): with per-replica
batch statistics a step on N replicas would not equal a step on one device. Instance
normalization needs no synchronization: its statistics are per example.
"""

from __future__ import annotations

import keras
from keras import layers

from tfgan_app.errors import ConfigError

NORMS = ("batch", "instance", "none")
UNET_MAX_DEPTH = 8  # 256 px -> 1x1, the paper's U-Net (Isola et al. 2017, 6.1.1)
SRGAN_STRIDED = 4  # stride-2 layers of SRGAN's discriminator (Ledig et al. 2017, fig. 4)


def norm_layer(kind: str, name: str):
    """A normalization layer: "batch" (synchronized), "instance" or "none" (identity).

    Instance normalization is GroupNormalization with one group per channel
    (`groups=-1`), which normalizes each channel of each example over its H x W pixels,
    then applies a per-channel scale and offset. epsilon 1e-5 is the reference
    implementations' (PyTorch's InstanceNorm2d) instead of Keras' 1e-3, which on
    near-constant channels (flat image regions) would damp the normalized values.
    """
    if kind == "batch":
        return layers.BatchNormalization(synchronized=True, name=name)
    if kind == "instance":
        return layers.GroupNormalization(groups=-1, epsilon=1e-5, name=name)
    if kind == "none":
        return layers.Identity(name=name)
    raise ValueError(f"norm must be one of {NORMS}, not {kind!r}")


def _init():
    # Both papers: weights from N(0, 0.02). A new instance per layer: one shared unseeded
    # initializer would give every layer the same values.
    return keras.initializers.RandomNormal(stddev=0.02)


def _image_input(in_shape):
    return keras.Input(tuple(in_shape), name="image")


def unet_depth(height: int, width: int, depth: int = 0) -> int:
    """The U-Net's stride-2 levels: `depth`, or with 0 as many as halve H and W exactly.

    Auto: halve while both sides are even, at most 8 times: 16 -> 4 (1x1 bottleneck),
    256 -> 8, 24 -> 3 (3x3). An explicit depth needs H and W divisible by 2^depth.
    """
    if depth < 0:
        raise ConfigError(f"U-Net depth must be >= 0 (0: automatic), not {depth}")
    if depth == 0:
        while (depth < UNET_MAX_DEPTH and height % 2 ** (depth + 1) == 0
               and width % 2 ** (depth + 1) == 0):
            depth += 1
        if depth == 0:
            raise ConfigError(f"the U-Net generator needs an even image size (it halves "
                              f"it at least once); got {height}x{width}")
        return depth
    if height % 2 ** depth or width % 2 ** depth:
        raise ConfigError(f"a U-Net of depth {depth} needs H and W divisible by "
                          f"{2 ** depth}; got {height}x{width}")
    return depth


def unet_generator(in_shape, out_channels: int, *, filters: int = 64, max_filters: int = 512,
                   depth: int = 0, dropout: float = 0.5, norm: str = "batch",
                   name: str = "generator") -> keras.Model:
    """pix2pix's U-Net generator (Isola et al. 2017, appendix 6.1.1).

    Encoder: 4x4 stride-2 convolutions with filters*2^i channels (at most max_filters),
    normalization and LeakyReLU(0.2): C64-C128-C256-C512-C512... Decoder: 4x4 stride-2
    transposed convolutions mirroring it, normalization, dropout on the first 3 blocks and
    ReLU, each concatenated with the encoder output of its resolution; a last transposed
    convolution to `out_channels` and tanh.

    The first encoder layer has no normalization (the paper's exception), and neither
    has the innermost one (as in the authors' code): at a 1x1 bottleneck with batch 1,
    batch normalization would replace the whole code by its offset.

    Dropout is the generator's only noise source (pix2pix has no z: the paper found the
    net learned to ignore it). Here it is active in training only, so an exported
    generator is deterministic; the paper also kept it at test time.

    Args:
      in_shape: (H, W, C) of the input; C is anything (e.g. image + mask channels).
      out_channels: channels of the output image.
      filters: channels of the first encoder layer.
      max_filters: cap on the channels of any layer.
      depth: stride-2 levels; 0: as many as halve H and W exactly, at most 8.
      dropout: rate in the first 3 decoder blocks (0: none).
      norm: "batch", "instance" or "none".
      name: the model's name.

    Returns:
      A keras.Model image [b, H, W, C] -> [b, H, W, out_channels] in [-1, 1].
    """
    norm_layer(norm, "check")  # refuse an unknown norm before building anything
    depth = unet_depth(in_shape[0], in_shape[1], depth)
    widths = [min(filters * 2 ** i, max_filters) for i in range(depth)]
    image = _image_input(in_shape)
    h, skips = image, []
    for i, width in enumerate(widths):
        normed = 0 < i < depth - 1
        h = layers.Conv2D(width, 4, strides=2, padding="same", kernel_initializer=_init(),
                          use_bias=not normed or norm == "none", name=f"down_{i}")(h)
        if normed:
            h = norm_layer(norm, f"down_norm_{i}")(h)
        h = layers.LeakyReLU(0.2, name=f"down_act_{i}")(h)
        skips.append(h)
    for j, i in enumerate(range(depth - 2, -1, -1)):  # back up to the first level
        h = layers.Conv2DTranspose(widths[i], 4, strides=2, padding="same",
                                   kernel_initializer=_init(), use_bias=norm == "none",
                                   name=f"up_{j}")(h)
        h = norm_layer(norm, f"up_norm_{j}")(h)
        if dropout and j < 3:
            h = layers.Dropout(dropout, name=f"up_dropout_{j}")(h)
        h = layers.ReLU(name=f"up_act_{j}")(h)
        h = layers.Concatenate(name=f"skip_{j}")([h, skips[i]])
    h = layers.Conv2DTranspose(out_channels, 4, strides=2, padding="same",
                               kernel_initializer=_init(), name="out")(h)
    return keras.Model(image, layers.Activation("tanh", name="sample")(h), name=name)


def _patchgan_out(size: int, strided: int) -> int:
    """Output side of the PatchGAN for an input side: each layer pads 1, then a valid 4x4."""
    for stride in [2] * strided + [1, 1]:
        size = (size + 2 - 4) // stride + 1
    return size


def patchgan_discriminator(in_shape, *, filters: int = 64, layers: int = 3,
                           norm: str = "batch", name: str = "discriminator") -> keras.Model:
    """pix2pix's 70x70 PatchGAN (Isola et al. 2017, 6.1.2): one logit per image patch.

    `layers` 4x4 stride-2 convolutions (C64-C128-C256 for 3), a 4x4 stride-1 one (C512),
    then a 4x4 stride-1 convolution to one channel; LeakyReLU(0.2), normalization on all
    but the first and the last. Each convolution pads 1 and is then valid (the authors'
    code), so 256 px gives 30x30 logits, each seeing a 70x70 patch.

    Images too small for `layers` stride-2 layers get fewer, as many as leave at least a
    1x1 output (16 and 32 px: 2 and 3, each giving 2x2 logits); each one fewer shrinks
    the patch a logit sees (34x34 for 2 layers).

    Args:
      in_shape: (H, W, C); a conditional discriminator (pix2pix) is given the source and
        the image concatenated on channels.
      filters: channels of the first layer (doubled per layer, at most 8x).
      layers: stride-2 layers (3: the 70x70 PatchGAN).
      norm: "batch", "instance" or "none".
      name: the model's name.

    Returns:
      A keras.Model image [b, H, W, C] -> logits [b, h', w', 1].
    """
    norm_layer(norm, "check")
    if layers < 0:
        raise ConfigError(f"the PatchGAN needs layers >= 0 stride-2 layers, not {layers}")
    smallest = min(in_shape[0], in_shape[1])
    strided = next((k for k in range(layers, -1, -1) if _patchgan_out(smallest, k) >= 1),
                   None)
    if strided is None:
        raise ConfigError(f"the PatchGAN discriminator needs images of at least 3x3 "
                          f"pixels; got {in_shape[0]}x{in_shape[1]}")
    kl = keras.layers  # `layers` is the argument here
    image = _image_input(in_shape)
    h = image
    for i in range(strided + 1):
        normed = i > 0
        h = kl.ZeroPadding2D(1, name=f"pad_{i}")(h)
        h = kl.Conv2D(filters * min(2 ** i, 8), 4, strides=2 if i < strided else 1,
                      kernel_initializer=_init(), use_bias=not normed or norm == "none",
                      name=f"conv_{i}")(h)
        if normed:
            h = norm_layer(norm, f"norm_{i}")(h)
        h = kl.LeakyReLU(0.2, name=f"act_{i}")(h)
    h = kl.ZeroPadding2D(1, name="pad_logits")(h)
    logits = kl.Conv2D(1, 4, kernel_initializer=_init(), name="logits")(h)
    return keras.Model(image, logits, name=name)

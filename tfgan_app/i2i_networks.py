"""Image-to-image networks: pix2pix's U-Net and PatchGAN, CycleGAN's ResNet, SRGAN's pair.

Every network takes one input named `image` ([batch, H, W, C], values in [-1, 1]); the
generators end in tanh, so their outputs are in [-1, 1] too, the range the app's exports
promise. Discriminators return raw logits (no sigmoid): the losses take logits.

Batch normalization is synchronized across replicas (as in networks.py): with per-replica
batch statistics a step on N replicas would not equal a step on one device. Instance
normalization needs no synchronization: its statistics are per example. The U-Net's
dropout draws its masks for the global batch (`GlobalDropout`) for the same reason.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import keras
import tensorflow as tf
from keras import layers, ops

from tfgan_app.errors import ConfigError, UsageError, first_line

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
    _check_norm(kind)
    return layers.Identity(name=name)


def _check_norm(kind: str):
    if kind not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, not {kind!r}")


def _init():
    # Both papers: weights from N(0, 0.02). A new instance per layer: one shared unseeded
    # initializer would give every layer the same values.
    return keras.initializers.RandomNormal(stddev=0.02)


def _image_input(in_shape):
    return keras.Input(tuple(in_shape), name="image")


@keras.saving.register_keras_serializable(package="tfgan_app")
class GlobalDropout(layers.Layer):
    """Dropout whose masks are drawn for the global batch: the same on N replicas as on one.

    keras.layers.Dropout draws each replica's mask from its own seed generator, so a
    training step on N replicas would differ from the step on one device. Here a training
    call draws the mask of the whole global batch statelessly from (seed, stream, calls)
    and keeps this replica's rows (as `GANModel.global_random` does), then counts the call
    in a non-trainable weight (saved with checkpoints, so a resumed run goes on with new
    masks). Every replica counts the same calls, so the counter is aggregated
    "only_first_replica". Other calls pass the input through.
    """

    def __init__(self, rate: float, seed: int = 0, stream: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.rate = float(rate)
        self.seed = int(seed)
        self.stream = int(stream)

    def build(self, input_shape):
        self.calls = self.add_weight(shape=(), dtype="int64", initializer="zeros",
                                     trainable=False, aggregation="only_first_replica",
                                     name="calls")

    def call(self, x, training=False):
        if not training or not self.rate:
            return x
        ctx = tf.distribute.get_replica_context()
        replicas = ctx.num_replicas_in_sync if ctx is not None else 1
        replica = ctx.replica_id_in_sync_group if ctx is not None else 0
        batch = tf.shape(x)[0]
        seed = tf.random.experimental.stateless_fold_in(
            tf.constant([self.seed, self.stream], tf.int64), ops.convert_to_tensor(self.calls))
        keep = tf.random.stateless_uniform(
            tf.concat([[batch * replicas], tf.shape(x)[1:]], 0), seed) >= self.rate
        start = tf.cast(replica, tf.int32) * batch
        self.calls.assign_add(1)
        scaled = x / ops.cast(1.0 - self.rate, x.dtype)
        return tf.where(keep[start:start + batch], scaled, tf.zeros_like(x))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed,
                "stream": self.stream}


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
                   seed: int = 0, name: str = "generator") -> keras.Model:
    """pix2pix's U-Net generator (Isola et al. 2017, appendix 6.1.1).

    Encoder: 4x4 stride-2 convolutions with filters*2^i channels (at most max_filters),
    normalization and LeakyReLU(0.2): C64-C128-C256-C512-C512... Decoder: 4x4 stride-2
    transposed convolutions mirroring it, normalization, dropout on the first 3 blocks and
    ReLU, each concatenated with the encoder output of its resolution; a last transposed
    convolution to `out_channels` and tanh.

    The first encoder layer has no normalization (the paper's exception), and neither
    has the innermost one (as in the authors' code): at a 1x1 bottleneck, instance
    normalization (and batch normalization with batch 1, the paper's) would replace the
    whole code by its offset.

    Dropout is the generator's only noise source (pix2pix has no z: the paper found the
    net learned to ignore it). Here it is active in training only, so an exported
    generator is deterministic; the paper also kept it at test time. Its masks are drawn
    for the global batch (`GlobalDropout`), so a step on N replicas equals one on one
    device.

    Args:
      in_shape: (H, W, C) of the input; C is anything (e.g. image + mask channels).
      out_channels: channels of the output image.
      filters: channels of the first encoder layer.
      max_filters: cap on the channels of any layer.
      depth: stride-2 levels; 0: as many as halve H and W exactly, at most 8.
      dropout: rate in the first 3 decoder blocks (0: none).
      norm: "batch", "instance" or "none".
      seed: seed of the dropout masks (e.g. the run's seed).
      name: the model's name.

    Returns:
      A keras.Model image [b, H, W, C] -> [b, H, W, out_channels] in [-1, 1].
    """
    _check_norm(norm)
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
            h = GlobalDropout(dropout, seed, stream=j, name=f"up_dropout_{j}")(h)
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
    _check_norm(norm)
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


def _side(n, *, times: int = 1, add: int = 0):
    """An image side after a layer: n * times + add, unknown (None) staying unknown."""
    return None if n is None else n * times + add


@keras.saving.register_keras_serializable(package="tfgan_app")
class ReflectionPad2D(layers.Layer):
    """Pad H and W by mirroring the border (tf.pad REFLECT; TFLite MIRROR_PAD).

    CycleGAN pads its 7x7 and residual convolutions this way "to reduce artifacts" (Zhu
    et al. 2017, 7.2): zero padding puts a dark frame around every feature map, which
    the generator has to learn around and which shows at the borders of its images.
    """

    def __init__(self, padding: int, **kwargs):
        super().__init__(**kwargs)
        self.padding = int(padding)

    def call(self, x):
        p = self.padding
        return ops.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        return (b, _side(h, add=2 * self.padding), _side(w, add=2 * self.padding), c)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


def _reflect_conv(h, filters: int, kernel: int, norm: str, name: str, relu: bool = True):
    """Reflection padding, a stride-1 convolution, normalization and ReLU (c7s1-k, Rk)."""
    h = ReflectionPad2D(kernel // 2, name=f"{name}_pad")(h)
    h = layers.Conv2D(filters, kernel, kernel_initializer=_init(), use_bias=norm == "none",
                      name=name)(h)
    h = norm_layer(norm, f"{name}_norm")(h)
    return layers.ReLU(name=f"{name}_act")(h) if relu else h


def resnet_generator(in_shape, out_channels: int, *, filters: int = 64, blocks: int = 9,
                     downsamplings: int = 2, norm: str = "instance",
                     name: str = "generator") -> keras.Model:
    """CycleGAN's ResNet generator (Zhu et al. 2017, appendix 7.2; Johnson et al. 2016).

    c7s1-64, d128, d256, R256 x blocks, u128, u64, c7s1-out: a 7x7 convolution, stride-2
    3x3 convolutions doubling the channels, residual blocks of two 3x3 convolutions
    (x + norm(conv(relu(norm(conv(x)))))), 3x3 stride-2 transposed convolutions back up,
    and a 7x7 convolution to `out_channels` with tanh. The 7x7 and residual convolutions
    pad by reflection; normalization and ReLU follow every convolution but the last.
    The paper uses 9 blocks at 256 px and 6 at 128 px.

    Args:
      in_shape: (H, W, C); H and W divisible by 2^downsamplings, and at least 4 (the 7x7
        reflection) and 2 * 2^downsamplings (the residual blocks' reflection).
      out_channels: channels of the output image.
      filters: channels of the first convolution (doubled per downsampling).
      blocks: residual blocks.
      downsamplings: stride-2 convolutions (and transposed convolutions back).
      norm: "instance" (the paper's), "batch" or "none".
      name: the model's name.

    Returns:
      A keras.Model image [b, H, W, C] -> [b, H, W, out_channels] in [-1, 1].
    """
    _check_norm(norm)
    height, width = in_shape[0], in_shape[1]
    factor = 2 ** downsamplings
    if downsamplings < 0 or blocks < 0:
        raise ConfigError(f"the ResNet generator needs downsamplings >= 0 and blocks >= 0, "
                          f"not {downsamplings} and {blocks}")
    if height % factor or width % factor or min(height, width) < max(4, 2 * factor):
        raise ConfigError(f"the ResNet generator with {downsamplings} downsamplings needs H "
                          f"and W divisible by {factor} and at least {max(4, 2 * factor)}; "
                          f"got {height}x{width}")
    image = _image_input(in_shape)
    h = _reflect_conv(image, filters, 7, norm, "in")
    for i in range(downsamplings):
        h = layers.Conv2D(filters * 2 ** (i + 1), 3, strides=2, padding="same",
                          kernel_initializer=_init(), use_bias=norm == "none",
                          name=f"down_{i}")(h)
        h = layers.ReLU(name=f"down_act_{i}")(norm_layer(norm, f"down_norm_{i}")(h))
    channels = filters * factor
    for i in range(blocks):
        r = _reflect_conv(h, channels, 3, norm, f"res_{i}_a")
        r = _reflect_conv(r, channels, 3, norm, f"res_{i}_b", relu=False)
        h = layers.Add(name=f"res_{i}")([h, r])
    for i in range(downsamplings):
        h = layers.Conv2DTranspose(channels // 2 ** (i + 1), 3, strides=2, padding="same",
                                   kernel_initializer=_init(), use_bias=norm == "none",
                                   name=f"up_{i}")(h)
        h = layers.ReLU(name=f"up_act_{i}")(norm_layer(norm, f"up_norm_{i}")(h))
    h = ReflectionPad2D(3, name="out_pad")(h)
    h = layers.Conv2D(out_channels, 7, kernel_initializer=_init(), name="out")(h)
    return keras.Model(image, layers.Activation("tanh", name="sample")(h), name=name)


@keras.saving.register_keras_serializable(package="tfgan_app")
class PixelShuffle(layers.Layer):
    """Sub-pixel upsampling (Shi et al. 2016): [b, h, w, s*s*c] -> [b, s*h, s*w, c].

    tf.nn.depth_to_space (TFLite DEPTH_TO_SPACE).
    """

    def __init__(self, scale: int, **kwargs):
        super().__init__(**kwargs)
        self.scale = int(scale)

    def call(self, x):
        return tf.nn.depth_to_space(x, self.scale)

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        return (b, _side(h, times=self.scale), _side(w, times=self.scale),
                c // self.scale ** 2)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


def _prelu(name: str):
    # One slope per channel, shared over the image; 0.25 is He et al.'s (2015) initial
    # slope (Keras starts PReLU at 0, a plain ReLU).
    return layers.PReLU(alpha_initializer=keras.initializers.Constant(0.25),
                        shared_axes=[1, 2], name=name)


def srresnet_generator(lr_shape, out_channels: int, *, scale: int = 4, filters: int = 64,
                       blocks: int = 16, name: str = "generator") -> keras.Model:
    """SRGAN's SRResNet generator (Ledig et al. 2017, figure 4).

    A 9x9 convolution and PReLU; `blocks` residual blocks (3x3 conv, BN, PReLU, 3x3 conv,
    BN, + input); a 3x3 conv and BN added to the first PReLU's output (the long skip);
    log2(scale) upsampling blocks (3x3 conv to 4x filters, pixel shuffle x2, PReLU); a
    9x9 convolution to `out_channels`. Batch normalization is synchronized.

    Args:
      lr_shape: (h, w, C) of the low-resolution input.
      out_channels: channels of the output image.
      scale: upsampling factor, a power of 2 >= 2; the output is (scale*h, scale*w).
      filters: channels of every convolution before the upsampling.
      blocks: residual blocks (16 in the paper).
      name: the model's name.

    Returns:
      A keras.Model image [b, h, w, C] -> [b, scale*h, scale*w, out_channels] in [-1, 1].
    """
    if scale < 2 or scale & (scale - 1):
        raise ConfigError(f"the SRResNet scale must be a power of 2 >= 2 (2, 4, 8), not "
                          f"{scale}")
    image = _image_input(lr_shape)
    h = layers.Conv2D(filters, 9, padding="same", name="in")(image)
    skip = h = _prelu("in_act")(h)
    for i in range(blocks):
        r = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"res_{i}_a")(h)
        r = _prelu(f"res_{i}_act")(norm_layer("batch", f"res_{i}_a_norm")(r))
        r = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"res_{i}_b")(r)
        h = layers.Add(name=f"res_{i}")([h, norm_layer("batch", f"res_{i}_b_norm")(r)])
    h = layers.Conv2D(filters, 3, padding="same", use_bias=False, name="trunk")(h)
    h = layers.Add(name="long_skip")([skip, norm_layer("batch", "trunk_norm")(h)])
    for i in range(scale.bit_length() - 1):
        h = layers.Conv2D(filters * 4, 3, padding="same", name=f"up_{i}")(h)
        h = _prelu(f"up_act_{i}")(PixelShuffle(2, name=f"shuffle_{i}")(h))
    h = layers.Conv2D(out_channels, 9, padding="same", name="out")(h)
    # The paper's output is linear. tanh keeps samples in [-1, 1], the range the app's
    # exports promise and its uint8 conversion assumes; clipping a linear output instead
    # would give zero gradient to the pixels outside it.
    return keras.Model(image, layers.Activation("tanh", name="sample")(h), name=name)


def srgan_strides(height: int, width: int) -> list[int]:
    """Strides of the SRGAN discriminator's 8 convolutions for an image size.

    (1, 2) x 4 for 16 px and up (96 px, the paper's crops: 6x6 features); smaller images
    keep stride 2 only while the map is at least 2 pixels, so the features stay >= 1x1
    (8 px: 3 stride-2 layers, the last pair strided 1).
    """
    smallest, strided = min(height, width), 0
    while strided < SRGAN_STRIDED and smallest >= 2:
        smallest, strided = (smallest + 1) // 2, strided + 1
    return [1, 2] * strided + [1, 1] * (SRGAN_STRIDED - strided)


def srgan_discriminator(hr_shape, *, filters: int = 64, dense_units: int = 1024,
                        name: str = "discriminator") -> keras.Model:
    """SRGAN's discriminator (Ledig et al. 2017, figure 4): one logit per image.

    8 3x3 convolutions (64, 64 s2, 128, 128 s2, 256, 256 s2, 512, 512 s2 for filters 64),
    LeakyReLU(0.2), batch normalization (synchronized) after all but the first; then
    dense `dense_units`, LeakyReLU, dense 1. Images under 16 px get fewer stride-2
    layers (`srgan_strides`). The first dense layer's weights grow with the image area
    (6x6x512x1024 at 96 px).

    Args:
      hr_shape: (H, W, C) of the high-resolution images.
      filters: channels of the first two convolutions (doubled per pair).
      dense_units: units of the hidden dense layer.
      name: the model's name.

    Returns:
      A keras.Model image [b, H, W, C] -> logits [b, 1].
    """
    image = _image_input(hr_shape)
    h = image
    for i, stride in enumerate(srgan_strides(hr_shape[0], hr_shape[1])):
        h = layers.Conv2D(filters * 2 ** (i // 2), 3, strides=stride, padding="same",
                          use_bias=i == 0, name=f"conv_{i}")(h)
        if i:
            h = norm_layer("batch", f"norm_{i}")(h)
        h = layers.LeakyReLU(0.2, name=f"act_{i}")(h)
    h = layers.Flatten(name="features")(h)
    h = layers.LeakyReLU(0.2, name="dense_act")(layers.Dense(dense_units, name="dense")(h))
    return keras.Model(image, layers.Dense(1, name="logits")(h), name=name)


@keras.saving.register_keras_serializable(package="tfgan_app")
class VGGPreprocess(layers.Layer):
    """Images in [-1, 1] -> VGG19's input: [0, 255] RGB, then Keras' caffe preprocessing.

    keras.applications.vgg19.preprocess_input (RGB -> BGR, ImageNet mean subtracted), the
    preprocessing the keras.applications weights were trained with. Grayscale images are
    tiled to 3 channels first.
    """

    def call(self, x):
        if x.shape[-1] == 1:
            x = ops.tile(x, [1, 1, 1, 3])
        return keras.applications.vgg19.preprocess_input((x + 1.0) * 127.5)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 3)


VGG19_WEIGHTS = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"


def vgg19_features(weights_path, in_shape, *, layer: str = "block5_conv4",
                   name: str = "vgg19_features") -> keras.Model:
    """A frozen VGG19 feature extractor for SRGAN's VGG loss, from a user's weights file.

    SRGAN's VGG54 loss compares features of the 4th convolution (after its ReLU) before
    the 5th pooling: `block5_conv4`. The weights are never downloaded: the file must be
    the notop VGG19 weights of keras.applications (`VGG19_WEIGHTS`, or a `.weights.h5`
    saved from keras.applications.VGG19(include_top=False)).

    Args:
      weights_path: the weights file.
      in_shape: (H, W, C) of the images, C 1 (tiled to RGB) or 3 (RGB).
      layer: the VGG19 layer whose output is returned.
      name: the model's name.

    Returns:
      A non-trainable keras.Model image [b, H, W, C] in [-1, 1] -> the layer's features.

    Raises:
      UsageError: the file is missing or is not VGG19 notop weights.
      ConfigError: the channels are not 1 or 3, or `layer` is not a VGG19 layer.
    """
    path = Path(weights_path)
    expected = (f"the notop VGG19 weights of keras.applications ({VGG19_WEIGHTS}, or a "
                ".weights.h5 saved from keras.applications.VGG19(include_top=False))")
    if not path.is_file():
        raise UsageError(f"VGG19 weights file {path} does not exist; it must be {expected}")
    if in_shape[-1] not in (1, 3):
        raise ConfigError(f"the VGG19 feature extractor needs 1 or 3 image channels, not "
                          f"{in_shape[-1]}")
    vgg = keras.applications.VGG19(include_top=False, weights=None,
                                   input_shape=(None, None, 3))
    names = [item.name for item in vgg.layers[1:]]
    if layer not in names:
        raise ConfigError(f"{layer!r} is not a VGG19 layer; choose one of {names}")
    # A wrong file makes Keras warn once per layer before it fails: the error says it
    # all, so the warnings are shown only when the weights load.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            vgg.load_weights(str(path))
        except Exception as exc:
            raise UsageError(f"cannot load VGG19 weights from {path} ({first_line(exc)}); "
                             f"it must be {expected}") from exc
    for item in caught:
        warnings.warn(item.message, item.category, stacklevel=2)
    features = keras.Model(vgg.input, vgg.get_layer(layer).output, name="vgg19")
    image = _image_input(in_shape)
    model = keras.Model(image, features(VGGPreprocess(name="preprocess")(image)), name=name)
    model.trainable = False
    return model

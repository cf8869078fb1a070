"""inpaint: mask-conditioned image completion (a context encoder with a U-Net and PatchGAN).

The context encoder (Pathak et al. 2016) fills the missing region of an image from its
context, trained with a reconstruction loss on the missing pixels and an adversarial loss,
joined as lambda_rec L_rec + lambda_adv L_adv with 0.999 and 0.001. Here the generator is
pix2pix's U-Net instead of the paper's AlexNet-style encoder-decoder, and it is told where
the hole is: it takes the masked image (missing pixels at 0) and the mask as channels
(C + 1 in, C out). Its output is composited with the known pixels,

    result = mask * G(image * (1 - mask), mask) + (1 - mask) * image,

so with a binary mask every known pixel of the result is the input's, exactly.

The model draws its training masks itself (`InpaintModel.example`, from the per-example
uniform draws `global_random` gives it: exact under distribution); 1 marks a missing pixel.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np
import tensorflow as tf

from tfgan_app import losses
from tfgan_app.option import option
from tfgan_app.registry import register_variant
from tfgan_app.variants.image_to_image import ImageToImageModel, TranslationSpec
from tfgan_app.variants.pix2pix import UNetPatchGANConfig, unet_patchgan

MASKS = ("center", "block", "random")


@dataclasses.dataclass
class InpaintConfig(UNetPatchGANConfig):
    """Options of `inpaint` (`inpaint.*` keys); model.g_filters and model.d_filters set the
    width of the U-Net's first stage and of PatchGAN's first layer."""

    mask: Literal[MASKS] = option(
        "center", "training and evaluation masks: center (a square of mask_size x the side, "
                  "centred: the paper's central region), block (that square at a random "
                  "position), random (`rectangles` rectangles, each side drawn from 1 px to "
                  "mask_size x the side, at random positions: the paper's random blocks)")
    mask_size: float = option(
        0.5, "side of the missing square as a fraction of the image side (center and "
             "block; random: the largest rectangle side). 0.5: a quarter of the image, as "
             "the paper's 64x64 hole in 128x128", min=0.05, max=0.95)
    rectangles: int = option(4, "mask=random: rectangles per mask (they may overlap)", min=1,
                             max=64)
    rec_loss: Literal["l2", "l1"] = option(
        "l2", "reconstruction loss on the missing pixels: l2 (squared error, the paper's) or "
              "l1 (absolute error); either is a mean over the missing values of each "
              "example (weighted by the mask), so a small hole counts as much as a large one")
    rec_weight: float = option(0.999, "lambda_rec: weight of the reconstruction loss in the "
                                      "generator's loss (the paper's 0.999)", min=0.0)
    adv_weight: float = option(0.001, "lambda_adv: weight of the adversarial loss in the "
                                      "generator's loss (the paper's 0.001)", min=0.0)
    d_mask: bool = option(
        True, "the discriminator also sees the mask as a channel, so it knows which pixels "
              "were filled (real and completed images get the same mask); false: it judges "
              "the completed image alone, as in the paper")


def mask_side(size: int, fraction: float) -> int:
    """The side in pixels of a hole that is `fraction` of an image side, at least 1 px."""
    return max(1, min(size, int(round(fraction * size))))


def center_mask(height: int, width: int, fraction: float) -> np.ndarray:
    """float32 [H, W, 1]: 1 in the centred square of `fraction` x each side, else 0."""
    h, w = mask_side(height, fraction), mask_side(width, fraction)
    top, left = (height - h) // 2, (width - w) // 2
    mask = np.zeros((height, width, 1), np.float32)
    mask[top:top + h, left:left + w] = 1.0
    return mask


def _boxes(height: int, width: int, top, left, box_h, box_w):
    """[b, k, H, W] float32: 1 inside each of k boxes per example, given as [b, k] ints."""
    rows = tf.range(height, dtype=tf.int32)[None, None, :, None]
    cols = tf.range(width, dtype=tf.int32)[None, None, None, :]
    top, left, box_h, box_w = (t[:, :, None, None] for t in (top, left, box_h, box_w))
    inside = ((rows >= top) & (rows < top + box_h) & (cols >= left) & (cols < left + box_w))
    return tf.cast(inside, tf.float32)


def _place(u, room: int):
    """A position in [0, room) from uniform draws u in [0, 1) (int32)."""
    return tf.cast(tf.floor(u * tf.cast(room, tf.float32)), tf.int32)


def draw_masks(options, batch, height: int, width: int, uniform):
    """Masks [batch, H, W, 1] (1 = missing) of the kind `options.mask` names.

    Args:
      options: an `InpaintConfig` (mask, mask_size, rectangles).
      batch: the number of masks (a scalar tensor).
      height, width: the image size.
      uniform: `uniform(shape)` -> float32 [batch, *shape] in [0, 1), drawn per example.
    """
    h, w = mask_side(height, options.mask_size), mask_side(width, options.mask_size)
    if options.mask == "center":
        square = center_mask(height, width, options.mask_size)[None]
        return tf.tile(tf.constant(square), [batch, 1, 1, 1])
    if options.mask == "block":
        u = uniform([1, 2])
        box_h = tf.fill(tf.shape(u[..., 0]), h)
        box_w = tf.fill(tf.shape(u[..., 0]), w)
    elif options.mask == "random":
        u = uniform([options.rectangles, 4])
        box_h = 1 + _place(u[..., 2], h)  # 1 .. h pixels
        box_w = 1 + _place(u[..., 3], w)
    else:
        raise ValueError(f"inpaint.mask must be one of {MASKS}, not {options.mask!r}")
    top = _place(u[..., 0], height - box_h + 1)
    left = _place(u[..., 1], width - box_w + 1)
    return tf.reduce_max(_boxes(height, width, top, left, box_h, box_w), axis=1)[..., None]


def composite(output, image, mask):
    """mask * output + (1 - mask) * image: the generator's pixels where the mask is 1,
    the image's where it is 0 (a blend in between)."""
    return mask * output + (1.0 - mask) * image


def known_mean_fill(image, mask):
    """Each example's missing pixels set to the mean of its known pixels, per channel."""
    known = 1.0 - mask
    count = tf.reduce_sum(known, axis=[1, 2], keepdims=True)
    mean = tf.reduce_sum(known * image, axis=[1, 2], keepdims=True) / tf.maximum(count, 1e-6)
    return composite(tf.broadcast_to(mean, tf.shape(image)), image, mask)


@register_variant("inpaint")
class InpaintModel(ImageToImageModel):
    """Inpainting: U-Net on (masked image, mask), composited; L2 + PatchGAN (Pathak 2016).

    G fills the missing region (mask 1) from the context; its output replaces only the
    missing pixels. D (PatchGAN, optionally told the mask) judges real images against
    completed ones; G minimizes rec_weight times the reconstruction error on the missing
    pixels plus adv_weight times the non-saturating GAN term.
    """

    Config = InpaintConfig
    takes_pairs = None  # single images: the model makes its own inputs from each
    metric_names = ("d_loss", "g_loss", "g_adv", "rec")

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def io_shapes(cls, data, options) -> tuple[tuple, tuple]:
        """The image in and the completed image out: both the data's shape."""
        shape = tuple(int(d) for d in data.shape)
        return shape, shape

    @classmethod
    def build_translation_networks(cls, cfg, source_shape, target_shape):
        h, w, c = source_shape
        return unet_patchgan(cfg, (h, w, c + 1), c, (h, w, c + int(cfg.options.d_mask)))

    # -- examples --------------------------------------------------------------------------
    @classmethod
    def example(cls, x, spec: TranslationSpec, uniform):
        """({"image": x, "mask": drawn masks}, x) for a batch of single images `x`."""
        x = tf.convert_to_tensor(x, tf.float32)
        height, width = spec.target_shape[:2]
        mask = draw_masks(spec.options, tf.shape(x)[0], height, width, uniform)
        return {"image": x, "mask": mask}, x

    @classmethod
    def baseline(cls, inputs: dict, spec: TranslationSpec) -> np.ndarray:
        """The holes filled with the mean of each example's known pixels, per channel."""
        return np.asarray(known_mean_fill(tf.constant(inputs["image"]),
                                          tf.constant(inputs["mask"])))

    @classmethod
    def metric_regions(cls, inputs: dict) -> dict:
        """The missing pixels ("hole"), measured apart from the whole image."""
        return {"hole": inputs["mask"]}

    # -- the generator ---------------------------------------------------------------------
    def generator_input(self, inputs: dict):
        """The masked image (missing pixels at 0) and the mask, as channels."""
        image, mask = inputs["image"], tf.cast(inputs["mask"], inputs["image"].dtype)
        return tf.concat([image * (1.0 - mask), mask], axis=-1)

    def translate(self, inputs: dict, training: bool = False, network=None):
        """The generator's output in the missing pixels, the image's in the known ones."""
        filled = super().translate(inputs, training, network)
        return composite(filled, tf.cast(inputs["image"], tf.float32),
                         tf.cast(inputs["mask"], tf.float32))

    def show_input(self, inputs: dict, shape=None) -> np.ndarray:
        """What the generator sees: the image with its missing pixels at 0 (mid-grey); the
        image is already the output's size and channels, so `shape` changes nothing."""
        return np.asarray(inputs["image"] * (1.0 - inputs["mask"]))

    # -- losses ----------------------------------------------------------------------------
    def discriminator_inputs(self, x, inputs):
        """D's input: the image, with the mask as a channel when inpaint.d_mask is on."""
        if not self.options.d_mask:
            return x
        return tf.concat([x, tf.cast(inputs["mask"], x.dtype)], axis=-1)

    def reconstruction(self, real, fake, mask):
        """Per example: the mean error (l2 or l1) over the missing values, mask-weighted."""
        diff = fake - real
        error = tf.square(diff) if self.options.rec_loss == "l2" else tf.abs(diff)
        weight = tf.broadcast_to(mask, tf.shape(error))
        total = tf.reduce_sum(weight * error, axis=[1, 2, 3])
        return total / tf.maximum(tf.reduce_sum(weight, axis=[1, 2, 3]), 1e-6)

    def discriminator_loss(self, real, fake, labels, cond, stream):
        bce = losses.minimax_discriminator_loss(self.discriminate(real, labels),
                                                self.discriminate(fake, cond))
        return {"d_loss": bce}

    def generator_loss(self, real, fake, labels, cond, stream):
        adv = losses.modified_generator_loss(self.discriminate(fake, cond))
        rec = self.reconstruction(real, fake, cond["mask"])
        o = self.options
        return {"g_loss": o.rec_weight * rec + o.adv_weight * adv, "g_adv": adv, "rec": rec}

    # -- serving ---------------------------------------------------------------------------
    def serving_inputs(self) -> dict:
        """`image` as the base's, and `mask` float32 [H, W, 1] in [0, 1] (1 = missing).

        Tools that make requests without data (sample, serving_request) use the value the
        metadata gives: the centre square of inpaint.mask_size.
        """
        h, w, _ = self.target_shape
        center = center_mask(h, w, self.options.mask_size)
        return {**super().serving_inputs(),
                "mask": {"dtype": "float32", "shape": [h, w, 1], "distribution": "constant",
                         "value": center.tolist(), "low": 0.0, "high": 1.0,
                         "role": "mask"}}

"""The base of the image-to-image variants (pix2pix, cyclegan, srgan, inpaint).

`ImageToImageModel` is a `GANModel` whose generator maps an image to an image. The template
`train_step` (d_steps discriminator updates, then one generator update), the optimizers,
the moving average (`train.g_ema`), checkpoints and the distribution rules are GANModel's;
what changes is where an update's inputs come from:

    example(x, spec, uniform) -> (inputs, target)   a training batch -> generator inputs
                                                    (name -> image: "image", maybe "mask")
                                                    and what the output should be
    generator_input(inputs)   -> the generator network's input tensor
    baseline(inputs, spec)    -> the trivial answer the metrics compare with
    metric_regions(inputs)    -> regions measured apart (inpaint's hole), may be empty

The loss hooks keep GANModel's signature, with the generator's inputs in place of the
condition: `discriminator_loss(target, fake, inputs, inputs, stream)` and
`generator_loss(target, fake, inputs, inputs, stream)` (real = the target batch, fake = the
generator's output, labels = cond = the inputs dict). So `discriminate(x, inputs)` (and the
R1 penalty, which holds the inputs fixed) works for a discriminator that also sees the
source (pix2pix's `discriminator_inputs`).

`example` is a classmethod of the variant with everything it needs in `spec`
(`TranslationSpec`: the data's pairing, the options, input and output shapes): training
calls it with uniform draws from `global_random` (per example, exact under distribution),
evaluation with draws from a fixed seed, and `python -m tfgan_app.evaluate --model` rebuilds
`spec` from the export's metadata, so the same examples are made with or without a Keras
model. A variant with more networks (cyclegan's inverse generator and second
discriminator) lists them in `generator_variables` / `discriminator_variables` (one
optimizer each over all of them), `exported_networks` and `extra_signatures`.

Serving (docs/DESIGN.md, the serving contract): `serving_default` takes the inputs of
`serving_inputs` (`image` float32 [batch, H, W, C] in [-1, 1], inpaint also `mask`) and
returns one image batch in [-1, 1]; a wrong shape or a value out of range fails with a
message naming the input (graph ops, so the checks travel with the SavedModel). There is
no `sample` signature: nothing is drawn from noise.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from tfgan_app.errors import ConfigError, UsageError
from tfgan_app.variants.base import GANModel, Grid, _float32

EXAMPLE_STREAM = 400  # offset of an update's stream for the randomness of its examples
GRID_EXAMPLES = 8  # rows of the training sample grid


class TranslationSpec(NamedTuple):
    """Everything `example` and `baseline` need, with or without a Keras model."""

    pairing: dict | None  # the data's Pairing as a dict; None for single images
    options: object  # the variant's Config
    source_shape: tuple  # the generator's image input (H, W, C)
    target_shape: tuple  # its output (H, W, C)


def pairing_dict(pair) -> dict | None:
    """A dataset's `Pairing` as JSON-able data (None for single images)."""
    if pair is None:
        return None
    return {"source_channels": int(pair.source_channels),
            "target_channels": int(pair.target_channels), "aligned": bool(pair.aligned)}


def split_pair(x, pairing: dict):
    """(source, target) halves of paired images [..., source + target channels]."""
    from tfgan_app.data import Pairing

    return Pairing(**pairing).split(x)


def match_channels(x, channels: int):
    """Images with `channels` channels: gray repeated to RGB, RGB averaged to gray."""
    have = x.shape[-1]
    if have == channels:
        return x
    if have == 1:
        return tf.repeat(x, channels, axis=-1)
    return tf.reduce_mean(x, axis=-1, keepdims=True) if channels == 1 else x[..., :channels]


class ImageToImageModel(GANModel):
    """Base class: a generator from images to images, trained against a discriminator."""

    family = "image"
    takes_pairs = "aligned"  # GANModel.takes_pairs: srgan and inpaint None, cyclegan "any"
    # The export's signature translating targets back to sources (B -> A), if any: its
    # metrics then include cycle errors and both directions' domain accuracy.
    inverse_signature: str | None = None
    metric_names = ("d_loss", "g_loss")
    packable = False
    # model.* keys that change what the zoo's networks do, which this family's networks
    # (tfgan_app/i2i_networks.py) do not read: set away from their defaults, they are refused
    # by `from_run_config` rather than silently ignored. (Widths of other architectures,
    # e.g. model.mlp_units, are ignored as every variant ignores those it does not build.)
    unused_model_keys = ("architecture", "upsample", "g_norm", "d_norm", "spectral_norm",
                         "d_dropout")

    def __init__(self, generator, discriminator, *, source_shape, target_shape,
                 pairing: dict | None = None, latent_dim: int = 0, **kwargs):
        super().__init__(generator, discriminator, latent_dim=latent_dim, **kwargs)
        self.source_shape = tuple(int(d) for d in source_shape)
        self.target_shape = tuple(int(d) for d in target_shape)
        self.pairing = dict(pairing) if pairing else None

    @property
    def spec(self) -> TranslationSpec:
        return TranslationSpec(self.pairing, self.options, self.source_shape,
                               self.target_shape)

    def get_config(self):
        return {**super().get_config(), "source_shape": list(self.source_shape),
                "target_shape": list(self.target_shape), "pairing": self.pairing}

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def check_data(cls, data):
        """Refuse points (UsageError); the pairing is checked by training.check_pairing
        against `takes_pairs`."""
        if data.kind != "image":
            raise UsageError(f"variant {cls.variant_name} translates images, but dataset "
                             f"{data.name} is {data.shape[0]}-D points")

    @classmethod
    def io_shapes(cls, data, options) -> tuple[tuple, tuple]:
        """(source_shape, target_shape) of one example: the pair's two halves."""
        h, w, _ = data.shape
        return (h, w, data.pair.source_channels), (h, w, data.pair.target_channels)

    @classmethod
    def build_translation_networks(cls, cfg, source_shape, target_shape):
        """(generator, discriminator) for the run config, or a dict of the constructor's
        network arguments by name (more than two networks); each variant defines it."""
        raise NotImplementedError(f"{cls.__name__} must define build_translation_networks")

    @classmethod
    def from_run_config(cls, cfg, data):
        cls.check_data(data)
        name = cls.variant_name
        refused = {"model.pack": cfg.model.pack > 1,
                   "model.minibatch_std": cfg.model.minibatch_std > 0,
                   "train.diffaugment": bool(cfg.train.diffaugment.strip())}
        for key, bad in refused.items():
            if bad:
                raise ConfigError(
                    f"{key} is not supported by {name}: image-to-image discriminators judge "
                    "single examples against their own source, which packing, minibatch "
                    "statistics or transforms of the image alone would break; unset it")
        defaults = type(cfg.model)()
        ignored = [key for key in cls.unused_model_keys
                   if getattr(cfg.model, key) != getattr(defaults, key)]
        if ignored:
            raise ConfigError(
                f"model.{ignored[0]} is not used by {name}: of the model.* keys its networks "
                f"take only model.g_filters and model.d_filters (the rest of their settings "
                f"are {name}.* keys); unset it")
        if cfg.train.g_ema >= 1:
            raise ConfigError(f"config key 'train.g_ema' must be < 1 (the decay of the "
                              f"generator's moving average; 0: off); got {cfg.train.g_ema}")
        options = cls.Config(**dataclasses.asdict(cfg.options))
        source_shape, target_shape = cls.io_shapes(data, options)
        nets = cls.build_translation_networks(cfg, source_shape, target_shape)
        if not isinstance(nets, dict):
            nets = dict(zip(("generator", "discriminator"), nets))
        return cls(**nets, source_shape=source_shape,
                   target_shape=target_shape, pairing=pairing_dict(data.pair),
                   seed=cfg.train.seed, options=dataclasses.asdict(cfg.options),
                   g_ema=cfg.train.g_ema, name=name)

    # -- examples: a batch of data -> (generator inputs, target) ----------------------------
    @classmethod
    def example(cls, x, spec: TranslationSpec, uniform):
        """(inputs, target) for a batch `x` of data in [-1, 1]: the source half as "image",
        the target half as target.

        Args:
          x: float32 [batch, H, W, C] in [-1, 1] (paired data: source + target channels).
          spec: the variant's `TranslationSpec`.
          uniform: `uniform(shape)` -> float32 [batch, *shape] in [0, 1), the randomness a
            variant's examples may use (inpaint's masks); drawn per example, statelessly.
        """
        source, target = split_pair(x, spec.pairing)
        return {"image": source}, target

    def make_example(self, batch, stream: int):
        """`example` for a training batch, its randomness from the update's stream."""
        def uniform(shape):
            return self.global_random(tf.random.stateless_uniform, tf.shape(batch)[0],
                                      list(shape), stream + EXAMPLE_STREAM)
        return self.example(batch, self.spec, uniform)

    @classmethod
    def evaluation_examples(cls, x, spec: TranslationSpec, seed: int):
        """(inputs, target) as numpy arrays for data `x`, any randomness from `seed`."""
        x = tf.constant(np.asarray(x, np.float32))

        def uniform(shape):
            return tf.random.stateless_uniform([tf.shape(x)[0], *shape],
                                               seed=tf.constant([seed, 4], tf.int64))
        inputs, target = cls.example(x, spec, uniform)
        return {k: np.asarray(v, np.float32) for k, v in inputs.items()}, np.asarray(target)

    @classmethod
    def baseline(cls, inputs: dict, spec: TranslationSpec) -> np.ndarray:
        """The trivial translation the metrics compare with: the input image itself,
        channel-matched and resized (bicubic) to the target's size."""
        x = match_channels(tf.constant(inputs["image"]), spec.target_shape[-1])
        if tuple(x.shape[1:3]) != tuple(spec.target_shape[:2]):
            x = tf.clip_by_value(tf.image.resize(x, spec.target_shape[:2], method="bicubic",
                                                 antialias=True), -1.0, 1.0)
        return np.asarray(x, np.float32)

    @classmethod
    def metric_regions(cls, inputs: dict) -> dict:
        """Regions measured apart from the whole image: name -> per-pixel weights
        [b, H, W, 1] in [0, 1] (numpy) for the evaluation inputs; none by default."""
        return {}

    @staticmethod
    def evaluation_data(data):
        """The data the metrics and grids use: the examples held out of training when the
        source keeps some apart (`Dataset.held_out`), with ground truth for every example
        (unaligned pairs: their aligned version). UsageError when there is none."""
        data = data.held_out or data
        if data.pair is None or data.pair.aligned:
            return data
        aligned = data.aligned()
        if aligned is None:
            raise UsageError(f"dataset {data.name} pairs its collections at random and has "
                             "no ground truth to measure or show translations against")
        return aligned

    # -- the generator ---------------------------------------------------------------------
    def generator_input(self, inputs: dict):
        """The generator network's input for serving inputs `inputs` (TensorFlow ops)."""
        return inputs["image"]

    def translate(self, inputs: dict, training: bool = False, network=None):
        """`network`'s (default: the trained generator's) output for `inputs`, float32."""
        network = network or self.generator
        return _float32(network(self.generator_input(inputs), training=training))

    def training_example(self, real, labels, stream: int):
        inputs, target = self.make_example(real, stream)
        return target, inputs, inputs, inputs

    def training_fake(self, feed):
        return self.translate(feed, training=True)

    def call(self, inputs, training=False):
        """Translate `inputs` (a dict of serving inputs, or the image alone)."""
        inputs = inputs if isinstance(inputs, dict) else {"image": inputs}
        network = self.generator if training else self.inference_generator
        return self.translate(inputs, training=training, network=network)

    def signature_network(self, signature: str):
        """The network behind export signature `signature` (`serving_default`: the
        inference generator; a variant with more signatures maps them too)."""
        if signature != "serving_default":
            raise ValueError(f"{self.variant_name} has no signature {signature!r}")
        return self.inference_generator

    def infer_serving(self, inputs: dict, batch_size: int = 256,
                      signature: str = "serving_default") -> np.ndarray:
        """What `signature` returns for numpy serving inputs, computed in batches."""
        network = self.signature_network(signature)
        count = len(next(iter(inputs.values())))
        parts = [np.asarray(self.translate({k: tf.constant(v[i:i + batch_size])
                                            for k, v in inputs.items()}, network=network))
                 for i in range(0, count, batch_size)]
        return np.concatenate(parts) if parts else np.zeros(
            (0, *network.output_shape[1:]), np.float32)

    def discriminate(self, x, labels=None, training=True):
        """The discriminator's logits (per patch for PatchGAN) on `x` given `labels`, the
        generator's inputs."""
        outputs = self.discriminate_all(x, labels, training)
        return outputs["logit"] if isinstance(outputs, dict) else outputs

    # -- grids, export ---------------------------------------------------------------------
    def grids_for(self, data, rng: np.random.Generator) -> list:
        """One grid: GRID_EXAMPLES fixed examples of the data, rows of input | output |
        target."""
        data = self.evaluation_data(data)
        count = min(GRID_EXAMPLES, data.num_examples)
        indices = np.sort(rng.choice(data.num_examples, count, replace=False))
        inputs, target = self.evaluation_examples(data.take(indices)[0], self.spec,
                                                  int(rng.integers(1 << 30)))
        return [Grid("", None, {"inputs": inputs, "target": target}, len(target))]

    def show_input(self, inputs: dict, shape=None) -> np.ndarray:
        """What the grid shows of the inputs, at the size and channels of `shape` (default:
        the output's): nearest upscaling, so the grid shows the pixels the generator got."""
        shape = tuple(shape or self.target_shape)
        x = match_channels(tf.constant(inputs["image"]), shape[-1])
        if tuple(x.shape[1:3]) != shape[:2]:
            x = tf.image.resize(x, shape[:2], method="nearest")
        return np.asarray(x)

    def grid_images(self, grid: Grid) -> np.ndarray:
        """Rows of input | output | target; `grid.cond["signature"]` (default
        serving_default) names the translation shown."""
        inputs, target = grid.cond["inputs"], grid.cond["target"]
        output = self.infer_serving(inputs, signature=grid.cond.get("signature",
                                                                    "serving_default"))
        triples = np.stack([self.show_input(inputs, output.shape[1:]), output, target], 1)
        return triples.reshape(-1, *output.shape[1:])

    def sample_grids(self, rng, columns: int = 8):
        raise UsageError(f"{self.variant_name} translates images: its grids come from "
                         "data (grids_for), not from latents")

    def exported_shape(self, data_shape) -> tuple:
        return self.target_shape

    def serving_examples(self, data, count: int, seed: int) -> dict:
        """Serving inputs made from `count` training examples (the data's fixed random
        subset for `seed`): what int8 calibration and the export checks run on."""
        x = data.take(data.sample_indices(count, seed))[0]
        return self.evaluation_examples(x, self.spec, seed)[0]

    def export_metadata(self) -> dict:
        return {"family": self.family, "pairing": self.pairing,
                "options": dataclasses.asdict(self.options),
                "source_shape": list(self.source_shape)}

    @classmethod
    def spec_from_metadata(cls, meta: dict) -> TranslationSpec:
        """The `TranslationSpec` of an export, from its metadata (`export_metadata`)."""
        return TranslationSpec(meta.get("pairing"), cls.Config(**meta.get("options", {})),
                               tuple(meta["source_shape"]), tuple(meta["output_shape"]))

    def serving_inputs(self) -> dict:
        """`image`: float32 [H, W, C] in [-1, 1], role "source" (what is translated)."""
        return {"image": {"dtype": "float32", "shape": list(self.source_shape),
                          "distribution": "uniform", "low": -1.0, "high": 1.0,
                          "role": "source"}}

    def condition_specs(self) -> dict:
        return {}

    def example_condition(self, batch: int):
        return None

    def checked_inputs(self, values: dict, inputs: dict | None = None) -> dict:
        """`values` passed on only after in-graph checks of each input's shape and range
        as `inputs` (default: `serving_inputs()`) describes them, with messages naming the
        input (a loaded signature does not check shapes itself)."""
        out = {}
        for name, info in (inputs or self.serving_inputs()).items():
            x = values[name]
            shape = info["shape"]
            text = f"{name} must be float32 [batch, {', '.join(map(str, shape))}]"
            # One condition for rank and sizes: comparing shapes of another rank would fail
            # first, with a message naming no input.
            sizes = tf.pad(tf.shape(x)[1:], [[0, len(shape)]])[:len(shape)]
            ok = tf.logical_and(tf.equal(tf.rank(x), len(shape) + 1),
                                tf.reduce_all(tf.equal(sizes, tf.constant(shape))))
            shape_check = tf.debugging.Assert(ok, [text, tf.shape(x)])
            bounds = f"{name} must be in [{info['low']:g}, {info['high']:g}]"
            # After the shape check: the range checks reduce over the traced rank, and
            # would otherwise fail first on an input of another rank, naming nothing.
            with tf.control_dependencies([shape_check]):
                checks = [tf.debugging.assert_greater_equal(x, info["low"], message=bounds),
                          tf.debugging.assert_less_equal(x, info["high"], message=bounds)]
            with tf.control_dependencies(checks):
                out[name] = tf.identity(x)
        return out

    def serving_signatures(self, output: str):
        specs = {name: tf.TensorSpec([None, *info["shape"]], tf.float32, name=name)
                 for name, info in self.serving_inputs().items()}

        def serve(values):  # one dict argument: TFSMLayer passes a dict of inputs
            inputs = self.checked_inputs(values)
            return {output: self.translate(inputs, network=self.inference_generator)}

        return [("serving_default", serve, [specs]), *self.extra_signatures(output, specs)]

    def extra_signatures(self, output: str, specs: dict) -> list:
        """Endpoints besides `serving_default` (cyclegan: `inverse`, B to A)."""
        return []

"""The base model every variant subclasses.

`GANModel` owns the generator and discriminator, their optimizers, the metric trackers and a
seeded latent sampler, and runs one training step as `d_steps` discriminator updates then one
generator update. A variant overrides only what differs, usually just the two loss hooks:

    discriminator_loss(real, fake, labels, cond, stream) -> {"d_loss": per-example, ...}
    generator_loss(real, fake, labels, cond, stream)     -> {"g_loss": per-example, ...}

`labels` are the real batch's labels (None without labels); `cond` is what the generator was
given besides z: None, the labels (CGAN), sampled labels (ACGAN) or a dict of codes
(InfoGAN), from `generator_condition`. `stream` identifies the update: a hook that needs
more randomness (e.g. penalty interpolation) draws it with
`global_random(..., stream + PENALTY_STREAM)`.

Rank-1 terms are per-example losses: the objective (`d_loss`/`g_loss`) is reduced over the
global batch with `losses.reduce_loss`, and every term is logged as its unscaled mean. Rank-0
terms (e.g. a balance coefficient) are logged as they are. Variants with state updates
override `after_discriminator_update` / `after_generator_update`, or a whole step.

All randomness in a step (latents, sampled labels, interpolation weights, DiffAugment's
transforms) is drawn statelessly for the *global* batch from (seed, step, stream) and sliced
to this replica's rows, so a step on N replicas sees exactly the numbers of the same step on
one device.

Two stabilizers work for every variant: `train.diffaugment` transforms every discriminator
input inside an update (`discriminate_all`), and `train.g_ema` keeps an exponential moving
average of the generator (`ema_generator`), updated after every generator update. Samples,
evaluation and export use `inference_generator` (through `infer`): the EMA copy when there is
one; training uses `generator` (through `generate`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import threading
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

from tfgan_app import augment, losses, networks, registry
from tfgan_app.errors import ConfigError
from tfgan_app.option import option

# Offsets added to an update's stream for its other random draws (all streams < 4096).
CONDITION_STREAM = 100
PENALTY_STREAM = 200
AUGMENT_STREAM = 300  # DiffAugment; each discriminator call folds in its index in the update


def _float32(x):
    return tf.cast(x, tf.float32) if x.dtype != tf.float32 else x


class Grid(NamedTuple):
    """One sample grid: `rows` rows of generator outputs for latents `z` and `cond`."""

    name: str  # "" for the main grid, else a suffix of its file name
    z: np.ndarray
    cond: object  # None, labels or a dict of code arrays
    rows: int


class DiscriminatorCurve(NamedTuple):
    """What the discriminator says about some points, for plots over the data space."""

    values: np.ndarray  # one value per point
    label: str  # what the values are, for the plot's axis
    probability: bool  # values are P(real) in [0, 1] (else a raw score on its own scale)


@dataclasses.dataclass
class VariantConfig:
    """Options every variant has (`<variant>.*` keys)."""

    d_steps: int = option(1, "discriminator updates per generator update", min=1)
    fresh_batches: bool = option(
        True, "with d_steps > 1, each discriminator update reads its own real batch, as in "
              "Algorithm 1 of WGAN and WGAN-GP (a step then reads d_steps batches; an "
              "epoch stays train.steps_per_epoch generator updates); false: every update "
              "of a step reuses its one batch")
    r1_weight: float = option(
        0.0, "R1 penalty weight gamma (Mescheder et al. 2018): D's loss adds "
             "gamma/2 ||grad_x D(x)||^2 at real data, logged as r1_penalty; 0: off. Not "
             "for the autoencoder variants (began, ebgan)", min=0.0)


class GANModel(keras.Model):
    """Base class: generator + discriminator trained with a custom `train_step`."""

    Config = VariantConfig
    # What the generator maps from: "noise" (latents, maybe a label or codes) or "image"
    # (image-to-image: variants/image_to_image.py). Tools that draw from latents, and
    # datasets of pairs, are for one family only (registry.variant_names(family=...)).
    family = "noise"
    conditional = False  # True: networks take a class label, grids have one row per class
    default_architecture = "dcgan"  # what model.architecture=auto means for images
    # The discriminator's real/fake output: True (a logit), "critic" (a Wasserstein critic's
    # value, meaningful up to a constant) or False for none (autoencoders, whose output is a
    # reconstruction).
    logit = True
    metric_names: tuple = ("d_loss", "g_loss")
    packable = True  # model.pack works: the discriminator's outputs are per sample only
    # The loss takes each example's gradient of D (a gradient penalty): model.minibatch_std,
    # which makes each output depend on the other samples of its group, would mix them.
    per_example_gradients = False
    # The paired data (`Dataset.pair`) the variant trains on: None (single images or points;
    # paired datasets are refused), "aligned" (halves that correspond, with ground truth),
    # "any" (aligned or unaligned pairs). Single-image data is refused unless None.
    takes_pairs: str | None = None
    variant_name = None  # set by `registry.register_variant`

    def __init__(self, generator, discriminator, *, latent_dim: int, num_classes: int = 0,
                 seed: int = 0, options=None, g_ema: float = 0.0, diffaugment: str = "",
                 diffaugment_fill: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(latent_dim)
        self.num_classes = int(num_classes)
        self.seed = int(seed)
        self.options = self.Config(**(options or {}))
        self.g_ema = float(g_ema)
        self.diffaugment = augment.parse_policy(diffaugment)
        self.diffaugment_fill = float(diffaugment_fill)
        self.ema_generator = self._ema_copy(generator) if self.g_ema else None
        # Inside an update: its DiffAugment stream and discriminator call count. Per thread:
        # MirroredStrategy traces each replica's step in a thread of its own.
        self._augment_state = threading.local()
        names = self.metric_names + (("r1_penalty",) if self.options.r1_weight else ())
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}
        self.g_optimizer = None
        self.d_optimizer = None
        # Both networks are built functional models; without this, fit() would try to build
        # the model by calling it on a training batch (images, not latents).
        self.built = True

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def build_networks(cls, cfg, data, num_classes: int):
        """(generator, discriminator) for a `RunConfig` and `data`; variants override."""
        return networks.build_pair(cfg.model, data, num_classes, cls.default_architecture,
                                   logit=bool(cls.logit))

    @staticmethod
    def real_batches_per_step(options) -> int:
        """Real batches one training step reads: one per discriminator update when
        `fresh_batches` is on (the pipeline then yields [batch, d_steps, ...])."""
        return options.d_steps if options.fresh_batches else 1

    @classmethod
    def prepare_data(cls, data, options, seed: int):
        """The training data as this variant sees it (e.g. with labels hidden)."""
        return data

    @classmethod
    def from_run_config(cls, cfg, data):
        """Build the model for a resolved `RunConfig` and a loaded `Dataset`."""
        num_classes = data.num_classes if cls.conditional else 0
        if cfg.model.pack > 1 and not cls.packable:
            able = [n for n in registry.variant_names() if registry.get_variant(n).packable]
            raise ConfigError(f"model.pack={cfg.model.pack} is not supported by "
                              f"{cls.variant_name}: its discriminator judges single samples "
                              f"(labels, class or code heads, or reconstructions); "
                              f"variants with packing: {', '.join(able)}")
        per_example = cls.per_example_gradients or cfg.options.r1_weight
        if cfg.model.minibatch_std and per_example:
            penalty = "R1 penalty" if not cls.per_example_gradients else "gradient penalty"
            raise ConfigError(
                f"model.minibatch_std={cfg.model.minibatch_std} is not supported by "
                f"{cls.variant_name} with its {penalty}: the penalty takes each example's "
                f"gradient norm, and minibatch std makes each discriminator output depend "
                f"on the other samples of its group, so the norms would mix examples; use "
                f"model.pack for a batch-level defence against collapse (its penalty is "
                f"per pack)")
        if cfg.options.r1_weight and not cls.logit:
            raise ConfigError(f"{cls.variant_name}.r1_weight is not supported by "
                              f"{cls.variant_name}: the R1 penalty is the gradient of a "
                              "real/fake score, and its discriminator is an autoencoder "
                              "(its output is a reconstruction); set it to 0")
        if cfg.train.g_ema >= 1:
            raise ConfigError(f"config key 'train.g_ema' must be < 1 (the decay of the "
                              f"generator's moving average; 0: off); got {cfg.train.g_ema}")
        if augment.parse_policy(cfg.train.diffaugment) and data.kind != "image":
            raise ConfigError(f"train.diffaugment={cfg.train.diffaugment} transforms images, "
                              f"but {data.name} is {data.shape[0]}-D points; set "
                              f"train.diffaugment=\"\"")
        generator, discriminator = cls.build_networks(cfg, data, num_classes)
        return cls(generator, discriminator, latent_dim=cfg.model.latent_dim,
                   num_classes=num_classes, seed=cfg.train.seed,
                   options=dataclasses.asdict(cfg.options), g_ema=cfg.train.g_ema,
                   diffaugment=cfg.train.diffaugment,
                   diffaugment_fill=cfg.train.diffaugment_fill, name=cls.variant_name)

    def compile(self, g_optimizer, d_optimizer, **kwargs):
        # Loss scaling is the caller's: wrap g/d optimizers (training.build_model does for
        # mixed_float16); Keras' own wrapping would only touch its unused `optimizer`.
        super().compile(auto_scale_loss=False, **kwargs)
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Keras 3 (TF backend) builds a model under a strategy at the start of fit() from one
        # input batch averaged with strategy.reduce, which raises under
        # MultiWorkerMirroredStrategy (it cannot convert the PerReplica batch). Both
        # networks and optimizers are built before fit, and the model has no compiled loss
        # or metrics, so there is nothing to build.
        if self.g_optimizer is not None and self.g_optimizer.built and self.d_optimizer.built:
            return
        super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    @staticmethod
    def _ema_copy(generator):
        """A second generator network with `generator`'s architecture and weights (the
        moving average starts at the initial weights), which no optimizer trains."""
        ema = keras.models.clone_model(generator)
        ema.set_weights(generator.get_weights())
        ema.trainable = False
        return ema

    def build_optimizers(self):
        """Create optimizer slots now; call inside `strategy.scope()` before `fit`."""
        self.g_optimizer.build(self.generator_variables)
        self.d_optimizer.build(self.discriminator_variables)

    def get_config(self):
        return {
            "name": self.name,
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "latent_dim": self.latent_dim,
            "num_classes": self.num_classes,
            "seed": self.seed,
            "options": dataclasses.asdict(self.options),
            "g_ema": self.g_ema,
            "diffaugment": ",".join(self.diffaugment),
            "diffaugment_fill": self.diffaugment_fill,
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

    def generator_inputs(self, z, cond):
        """What the generator network takes: z alone, [z, labels], or inputs by name."""
        if cond is None:
            return z
        if isinstance(cond, dict):
            return {"z": z, **cond}
        return [z, cond]

    def discriminator_inputs(self, x, labels):
        return [x, labels] if self.num_classes else x

    def call(self, inputs, training=False):
        """Generate: `inputs` is z, or [z, labels] for conditional variants."""
        network = self.generator if training else self.inference_generator
        return network(inputs, training=training)

    def generate(self, z, cond=None, training=False):
        """The trained generator's output for latents `z` and `cond` (labels or a dict of
        codes), float32 also under mixed precision. Training uses it; samples use `infer`."""
        return _float32(self.generator(self.generator_inputs(z, cond), training=training))

    @property
    def inference_generator(self):
        """The generator that samples, evaluation and export use: the moving average of the
        trained one when train.g_ema > 0, else the trained one itself."""
        return self.generator if self.ema_generator is None else self.ema_generator

    def infer(self, z, cond=None):
        """`inference_generator`'s output (inference mode) for `z` and `cond`, in float32."""
        return _float32(self.inference_generator(self.generator_inputs(z, cond),
                                                 training=False))

    def discriminate(self, x, labels=None, training=True):
        """The discriminator's real/fake logits [batch, 1]."""
        return self.discriminate_all(x, labels, training)["logit"]

    def discriminate_all(self, x, labels=None, training=True, noise=None):
        """Every discriminator output (logit, features, extra heads) as a dict, in float32
        (mixed precision computes the network in 16 bits; losses are taken in 32).

        Inside an update with train.diffaugment, `x` (not the labels) is first transformed
        with fresh randomness for each call; a dict of outputs then also holds the
        transformed `x` as "input" (what an autoencoder discriminator reconstructs).
        `noise` (shaped like `x`) is added to what the network sees after that transform,
        while "input" stays the clean `x`: a denoising autoencoder's target.
        """
        if self.diffaugment and getattr(self._augment_state, "calls", None) is not None:
            x = self.augment(x)
        seen = x if noise is None else x + tf.cast(noise, x.dtype)
        outputs = self.discriminator(self.discriminator_inputs(seen, labels), training=training)
        if isinstance(outputs, dict):
            return {"input": _float32(x),
                    **{name: _float32(value) for name, value in outputs.items()}}
        return _float32(outputs)

    def augment(self, x):
        """DiffAugment of `x` for the next discriminator call of this update.

        Drawn from the update's stream + AUGMENT_STREAM with the call's index folded into
        the seed, so each call (real, generated, penalty points) gets its own transforms,
        identical on one device and on N replicas and reproducible from the seed.
        """
        state = self._augment_state
        call = next(state.calls)

        def uniform(shape, seed):
            return tf.random.stateless_uniform(
                shape, tf.random.experimental.stateless_fold_in(seed, call))

        u = self.global_random(uniform, tf.shape(x)[0], [augment.num_draws(self.diffaugment)],
                               state.stream)
        return augment.diff_augment(x, self.diffaugment, u, self.diffaugment_fill)

    @contextlib.contextmanager
    def augmenting(self, stream: int):
        """Discriminator calls within are those of update `stream`: with train.diffaugment,
        each gets the next index (counted while the step is traced, so every call site
        keeps its index). Outside, inputs are not transformed."""
        state = self._augment_state
        state.calls, state.stream = itertools.count(), stream + AUGMENT_STREAM
        try:
            yield
        finally:
            state.calls = None

    # -- what the generator takes besides z: signatures, grids, examples --------------------
    def condition_specs(self) -> dict:
        """Serving inputs besides `z`: name -> TensorSpec with a None batch dimension."""
        if self.num_classes:
            return {"label": tf.TensorSpec([None], tf.int32, name="label")}
        return {}

    def serving_inputs(self) -> dict:
        """Every `serving_default` input and how to draw valid values for it.

        name -> {"dtype", "shape" (one example's), "distribution": "normal" | "uniform" |
        "constant" (every example gets "value"), "low", "high" (uniform; exclusive high for
        integers), "role"}. The role says what the input means to evaluation: "latent",
        "class" (generated images should be classified as it), "category_code" (InfoGAN:
        should match classes one to one), "source" (the image translated) or "mask" (the
        pixels to fill: 1 = missing).
        Written beside exports so clients and tools need no Keras model; int ranges are
        checked by the signature.
        """
        inputs = {"z": {"dtype": "float32", "shape": [self.latent_dim],
                        "distribution": "normal", "role": "latent"}}
        if self.num_classes:
            inputs["label"] = {"dtype": "int32", "shape": [], "distribution": "uniform",
                               "low": 0, "high": self.num_classes, "role": "class"}
        return inputs

    def random_condition(self, num_samples, seed):
        """Inputs besides z for the exported `sample` signature, drawn from `seed`.

        None: the signature takes them as inputs instead (the label of conditional models).
        """
        return None

    def example_condition(self, batch: int):
        """Inputs besides z for checking an export: a dict name -> array, or None."""
        if self.num_classes:
            return {"label": (np.arange(batch) % self.num_classes).astype(np.int32)}
        return None

    def sample_grids(self, rng: np.random.Generator, columns: int = 8) -> list:
        """The sample grids saved during training (fixed for a run: drawn from `rng`)."""
        if self.num_classes:
            z = rng.standard_normal((self.num_classes * columns, self.latent_dim))
            labels = np.repeat(np.arange(self.num_classes), columns).astype(np.int32)
            return [Grid("", z.astype(np.float32), labels, self.num_classes)]
        z = rng.standard_normal((columns * columns, self.latent_dim)).astype(np.float32)
        return [Grid("", z, None, columns)]

    def grids_for(self, data, rng: np.random.Generator) -> list:
        """The image grids of a run on `data`, fixed for the run (drawn from `rng`): the
        latent `sample_grids`; image-to-image variants pick examples of `data` instead."""
        return self.sample_grids(rng)

    def grid_images(self, grid: Grid) -> np.ndarray:
        """The images [n, H, W, C] in [-1, 1] to tile for `grid`, `grid.rows` rows."""
        return np.asarray(self.infer(grid.z, grid.cond))

    def infer_serving(self, inputs: dict) -> np.ndarray:
        """What `serving_default` returns for `inputs` (name -> array, as `serving_inputs`
        describes them), computed by the Keras model: the reference exports are checked
        against."""
        cond = {name: value for name, value in inputs.items() if name != "z"}
        return np.asarray(self.infer(inputs["z"], cond or None))

    def serving_signatures(self, output: str):
        """The export's endpoints as (name, function, input_signature), or None for the
        latent ones (`serving_default` and `sample`) that export/saved_model.py builds
        from `serving_inputs` and `condition_specs`."""
        return None

    def exported_networks(self) -> list:
        """The networks an export holds (the inference generator; cyclegan adds its
        inverse)."""
        return [self.inference_generator]

    def exported_shape(self, data_shape) -> tuple:
        """One output example's shape (data's example shape for noise-to-image)."""
        return tuple(data_shape)

    def serving_examples(self, data, count: int, seed: int) -> dict | None:
        """`count` serving inputs made from `data` (name -> array), for calibrating and
        checking exports; None: drawn from the distributions of `serving_inputs` (latents
        have no data to come from)."""
        return None

    def export_metadata(self) -> dict:
        """What tools need besides `serving_inputs` to use an export without this model
        (merged into assets.extra/tfgan_app.json)."""
        return {}

    def point_cloud(self, rng: np.random.Generator, count: int = 1000) -> Grid:
        """Samples for the scatter plot of 2-D toy data (labels cycle over the classes)."""
        z = rng.standard_normal((count, self.latent_dim)).astype(np.float32)
        cond = self.example_condition(count)
        return Grid("", z, cond, 1)

    def judges_groups(self) -> bool:
        """The discriminator looks at groups of samples (model.pack, model.minibatch_std),
        so it has no verdict on a single point."""
        return any(isinstance(layer, (networks.Pack, networks.MinibatchStdDev))
                   for layer in self.discriminator.layers)

    def discriminator_curve(self, x) -> DiscriminatorCurve | None:
        """The discriminator's verdict on each point of `x` [n, ...] (the 1-D density plot),
        or None when it judges groups of samples (`judges_groups`).

        Cross-entropy discriminators: D(x) = sigmoid(logit), the probability that x is real
        (1/2 everywhere at the game's equilibrium); Wasserstein critics (`logit` "critic"):
        the raw critic value, meaningful only up to a constant. Variants whose output means
        something else override `point_verdict` (began, ebgan) or `describe_output` (lsgan).
        Unconditional only: a conditional discriminator's verdict depends on the label too.
        """
        return None if self.judges_groups() else self.point_verdict(x)

    def point_verdict(self, x) -> DiscriminatorCurve:
        """`discriminator_curve` of a discriminator that judges single samples."""
        return self.describe_output(
            self.discriminate(tf.constant(x, tf.float32), training=False)[:, 0].numpy())

    def describe_output(self, out: np.ndarray) -> DiscriminatorCurve:
        """`discriminator_curve` from the raw outputs [n] of `discriminate` on the points."""
        if self.logit == "critic":
            return DiscriminatorCurve(out, "critic D(x), raw (higher: more real)", False)
        return DiscriminatorCurve(tf.sigmoid(out).numpy(), "D(x) = P(real)", True)

    def perceptual_loss(self, x, labels=None):
        """Per-example loss [n] of images `x` that is low where the discriminator finds them
        real: the generator's adversarial loss on them, for semantic inpainting
        (tfgan_app/completion.py). Inference mode; not defined when `judges_groups()`.

        Here -log D(x) for cross-entropy discriminators (the non-saturating generator
        loss) and -D(x) for critics; variants whose output means something else override
        it.
        """
        logit = self.discriminate(x, labels, training=False)
        if self.logit == "critic":
            return losses.wasserstein_generator_loss(logit)
        return losses.modified_generator_loss(logit)

    # -- training --------------------------------------------------------------------------
    def global_random(self, sampler, batch_size, shape, stream: int, **kwargs):
        """`sampler(shape=[global batch, *shape], seed)` sliced to this replica's rows.

        Drawn statelessly from (seed, generator step, stream) for the *global* batch, so
        replicas get distinct draws and one step on N replicas sees exactly the numbers of
        the same step on one device.
        """
        ctx = tf.distribute.get_replica_context()
        replicas = ctx.num_replicas_in_sync if ctx is not None else 1
        replica = ctx.replica_id_in_sync_group if ctx is not None else 0
        step = tf.cast(self.g_optimizer.iterations, tf.int64)
        seed = tf.stack([tf.constant(self.seed, tf.int64), step * 4096 + stream])
        values = sampler(shape=[batch_size * replicas, *shape], seed=seed, **kwargs)
        start = tf.cast(replica, tf.int32) * batch_size
        return values[start:start + batch_size]

    def sample_latent(self, batch_size, stream: int):
        """Standard-normal latents for this replica's share of the global batch."""
        return self.global_random(tf.random.stateless_normal, batch_size,
                                  [self.latent_dim], stream)

    def sample_labels(self, batch_size, stream: int):
        """Uniform class labels for this replica's share of the global batch."""
        return self.global_random(tf.random.stateless_uniform, batch_size, [], stream,
                                  minval=0, maxval=self.num_classes, dtype=tf.int32)

    def generator_condition(self, labels, batch_size, stream: int):
        """What the generator gets besides z in training: the real labels if conditional."""
        return labels if self.num_classes else None

    def real_batch(self, real, labels, update: int):
        """The real batch (and labels) of discriminator update `update` of this step: its
        own slice of a [batch, d_steps, ...] step batch with fresh batches, else the batch."""
        if self.real_batches_per_step(self.options) == 1:
            return real, labels
        return real[:, update], (None if labels is None else labels[:, update])

    def train_step(self, data):
        real, labels = data if isinstance(data, (tuple, list)) else (data, None)
        logs = self.updates(real, labels)
        for name, value in logs.items():
            self.trackers[name].update_state(value)
        results = {m.name: m.result() for m in self.metrics}
        if isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
            # Keras averages the logs over workers with strategy.reduce(..., axis=0), which
            # needs an axis to reduce: give each value one.
            results = {name: tf.reshape(value, [1]) for name, value in results.items()}
        return results

    def updates(self, real, labels) -> dict:
        """One training step's updates (`d_steps` discriminator updates, then one of the
        generator and its hooks) on the step's real batch; returns the values to log."""
        logs = {}
        for i in range(self.options.d_steps):
            logs.update(self.discriminator_step(*self.real_batch(real, labels, i), stream=i))
            self.after_discriminator_update()
        # The generator's losses that look at real data (feature matching) see the last.
        real, labels = self.real_batch(real, labels, self.options.d_steps - 1)
        due = self.generator_update_due()
        if due is None:
            logs.update(self.generator_step(real, labels, stream=1000))
        else:
            logs.update(self._undo_unless(due, self.generator_update_state(),
                                          lambda: self.generator_step(real, labels, 1000)))
        logs.update(self.after_generator_update(logs) or {})
        return logs

    def generator_update_due(self):
        """None: every step updates the generator (the default). Else a boolean tensor: this
        step's generator update happens only when it is true (a critic schedule with more
        critic updates per generator update than one step holds, e.g. WGAN's warm-up)."""
        return None

    def generator_update_state(self) -> list:
        """Every variable a generator update (`generator_step`) changes except the
        optimizer's step counters: the generator's weights, its optimizer's slots and the
        moving average's weights."""
        state = self.generator_variables + self.optimizer_state(self.g_optimizer)
        return state + (list(self.ema_generator.weights) if self.ema_generator else [])

    @staticmethod
    def optimizer_state(optimizer) -> list:
        """An optimizer's variables except its step counters (its slots, a loss scale)."""
        counters = {id(optimizer.iterations)}
        inner = getattr(optimizer, "inner_optimizer", None)  # a loss-scale wrapper
        if inner is not None:
            counters.add(id(inner.iterations))
        return [v for v in optimizer.variables if id(v) not in counters]

    @staticmethod
    def _undo_unless(keep, state, update):
        """Run `update()`, then put the `state` variables back unless `keep`.

        A conditional update without tf.cond: an optimizer step inside a cond branch cannot
        synchronize replicas. Left out of `state`, the optimizer's step counter still
        advances, so random streams stay distinct and learning-rate schedules count steps.
        """
        before = [tf.identity(v) for v in state]
        with tf.control_dependencies(before):
            logs = update()
        with tf.control_dependencies(list(logs.values())):
            for variable, old in zip(state, before):
                variable.assign(tf.where(keep, variable, old))
        return logs

    def training_example(self, real, labels, stream: int):
        """(real, labels, feed, cond) of one update: what the loss hooks compare the fakes
        with, and what `training_fake(feed)` generates them from.

        Noise-to-image: the batch as it is, and latents with the generator's condition
        drawn for it (feed = (z, cond)). Image-to-image variants make both halves from
        the batch (`ImageToImageModel.make_example`).
        """
        batch = tf.shape(real)[0]
        z = self.sample_latent(batch, stream)
        cond = self.generator_condition(labels, batch, stream + CONDITION_STREAM)
        return real, labels, (z, cond), cond

    def training_fake(self, feed):
        """The trained generator's output for a `training_example` feed."""
        z, cond = feed
        return self.generate(z, cond, training=True)

    @property
    def generator_variables(self) -> list:
        """What the generator optimizer trains (a variant with two generators: both)."""
        return self.generator.trainable_variables

    @property
    def discriminator_variables(self) -> list:
        """What the discriminator optimizer trains."""
        return self.discriminator.trainable_variables

    def _step(self, loss_fn, objective, variables, optimizer, real, labels, stream,
              generator_in_tape):
        real, labels, feed, cond = self.training_example(real, labels, stream)
        with tf.GradientTape() as tape:
            fake = self.training_fake(feed)
            if not generator_in_tape:
                fake = tf.nest.map_structure(tf.stop_gradient, fake)
            with self.augmenting(stream):
                terms = loss_fn(real, fake, labels, cond, stream)
            loss = losses.reduce_loss(terms[objective])
            loss = optimizer.scale_loss(loss)  # float16 loss scaling; else unchanged
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return self._loggable(terms)

    def discriminator_step(self, real, labels, stream: int):
        """One discriminator update; returns the values to log."""
        return self._step(self._with_r1(self.discriminator_loss), "d_loss",
                          self.discriminator_variables, self.d_optimizer, real, labels, stream,
                          generator_in_tape=False)

    def _with_r1(self, loss_fn):
        """`loss_fn` plus the R1 penalty (r1_weight / 2) ||grad_x D(x)||^2 at the real batch
        (Mescheder et al. 2018), whatever the variant's loss; `loss_fn` itself when off.

        The gradient is taken of the real/fake logit (`discriminate`, float32) with respect to
        the image only: conditional discriminators get the real labels, held fixed. One extra
        discriminator pass over the real batch.
        """
        weight = self.options.r1_weight
        if not weight:
            return loss_fn

        def with_r1(real, fake, labels, cond, stream):
            terms = loss_fn(real, fake, labels, cond, stream)
            penalty = losses.r1_penalty(lambda x: self.discriminate(x, labels), real)
            return {**terms, "d_loss": terms["d_loss"] + 0.5 * weight * penalty,
                    "r1_penalty": penalty}

        return with_r1

    def generator_step(self, real, labels, stream: int):
        """One generator update (and the EMA generator's); returns the values to log."""
        logs = self._step(self.generator_loss, "g_loss", self.generator_variables,
                          self.g_optimizer, real, labels, stream, generator_in_tape=True)
        self.update_ema()
        return logs

    def update_ema(self):
        """After a generator update: ema = b ema + (1 - b) w for every trainable weight,
        non-trainable ones (batch-norm statistics) copied.

        b = min(train.g_ema, (1 + t) / (10 + t)) after t generator updates (t >= 1): the
        warm-up of tf.train.ExponentialMovingAverage's num_updates, so the initial weights
        fade out within a few dozen updates instead of ~1 / (1 - g_ema). t is the
        checkpointed optimizer's step count, so a resumed run continues exactly. Every
        replica holds the same generator weights and applies the same update to its own
        copy (aggregation "none" assigns per replica), so the copies stay identical.
        """
        if self.ema_generator is None:
            return
        t = tf.cast(self.g_optimizer.iterations, tf.float32)
        beta = tf.minimum(tf.constant(self.g_ema, tf.float32), (1.0 + t) / (10.0 + t))
        for ema, weight in zip(self.ema_generator.weights, self.generator.weights):
            ema.assign(beta * ema + (1.0 - beta) * weight if weight.trainable else weight)

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

    def discriminator_loss(self, real, fake, labels, cond, stream):
        raise NotImplementedError(f"{type(self).__name__} must define discriminator_loss")

    def generator_loss(self, real, fake, labels, cond, stream):
        raise NotImplementedError(f"{type(self).__name__} must define generator_loss")

"""Image-to-image metrics: PSNR and SSIM against the ground truth, beside a trivial baseline.

- `psnr`: peak signal-to-noise ratio in dB of the output against the target, both mapped
  from [-1, 1] to [0, 1] (`tf.image.psnr` with max_val 1), averaged over examples.
- `ssim`: structural similarity (`tf.image.ssim`, max_val 1, its default 11x11 Gaussian
  window, shrunk for images under 11 px), averaged over examples; 1 is identical.
- `baseline_psnr`, `baseline_ssim`: the same for the variant's trivial answer
  (`ImageToImageModel.baseline`: the input copied, channel-matched; bicubic upscaling where
  the sizes differ; inpaint: the holes filled with the known pixels' mean), so a model's
  figures say how much it adds.
- `<region>_psnr`, `<region>_ssim` (and their `baseline_` ones): the same over a region the
  variant names (`metric_regions`: inpaint's `hole`, the missing pixels), where a whole-
  image figure would be dominated by pixels the model copies.

Variants with an inverse translation (`inverse_signature`: cyclegan's B -> A) also get:

- `cycle_a`, `cycle_b`: the mean absolute error (on [-1, 1]) of F(G(a)) against a and of
  G(F(b)) against b, the cycle reconstructions;
- `domain_b`, `domain_a`: the fraction of translations G(a) a domain classifier assigns to
  B, and of F(b) to A, beside `baseline_domain_b` / `baseline_domain_a` for the inputs
  copied (a classified as B, b as A). The classifier is the app's cached domain
  classifier (evaluation/classifier.py) trained on real A images (class 0) against real B
  images (class 1) of the run's data (up to DOMAIN_EXAMPLES of each; the domain with fewer
  channels repeated to the other's), so it needs no ground truth.

The examples are a fixed random subset of the data (with ground truth: an unaligned
dataset's aligned version), made by the variant's own `evaluation_examples` from a fixed
seed, so every epoch, the Keras model and its export are measured on the same inputs.
"""

from __future__ import annotations

import copy

import numpy as np

from tfgan_app.errors import UsageError

EXAMPLES = 1000
BATCH = 256
DOMAIN_EXAMPLES = 2000
DOMAIN_SEED = 1234


def _to01(x):
    import tensorflow as tf

    return (tf.constant(np.asarray(x, np.float32)) + 1.0) / 2.0


def psnr_ssim(output, target) -> tuple[np.ndarray, np.ndarray]:
    """Per-example PSNR (dB) and SSIM of images in [-1, 1], computed on [0, 1]."""
    import tensorflow as tf

    a, b = _to01(np.clip(output, -1.0, 1.0)), _to01(target)
    size = min(int(a.shape[1]), int(a.shape[2]), 11)
    psnr = tf.image.psnr(a, b, max_val=1.0).numpy()
    ssim = tf.image.ssim(a, b, max_val=1.0, filter_size=size).numpy()
    return psnr, ssim


def summarize(output, target) -> tuple[float, float]:
    """(mean PSNR, mean SSIM); identical images (infinite PSNR) count as 100 dB."""
    psnr, ssim = psnr_ssim(output, target)
    return float(np.mean(np.minimum(psnr, 100.0))), float(np.mean(ssim))


def domain_data(data):
    """Real A images (label 0) against real B images (label 1) of paired `data`, as one
    in-memory labeled dataset with the channels of the wider domain."""
    from tfgan_app.data.dataset import ArrayReader, Dataset

    pair = data.pair
    x = data.take(data.sample_indices(DOMAIN_EXAMPLES, DOMAIN_SEED))[0]
    source, target = pair.split(x)
    channels = max(pair.source_channels, pair.target_channels)
    images = np.concatenate([widen(source, channels), widen(target, channels)])
    labels = np.repeat(np.arange(2, dtype=np.int32), len(x))
    return Dataset(name=f"{data.name}:domains", num_examples=len(images),
                   shape=images.shape[1:], num_classes=2, reader=ArrayReader(images, labels),
                   class_names=["A", "B"], fingerprint=f"{data.fingerprint}:domains")


def widen(images, channels: int) -> np.ndarray:
    """Images with `channels` channels: one channel repeated (the domain classifier sees
    both domains with the wider one's channels)."""
    images = np.asarray(images, np.float32)
    if images.shape[-1] == channels:
        return images
    return np.repeat(images, channels, axis=-1)


def region_psnr_ssim(output, target, weight) -> tuple[float, float]:
    """(mean PSNR, mean SSIM) of a region given by per-pixel weights [b, H, W, 1] in [0, 1].

    PSNR: from each example's weighted mean squared error over the region's values;
    SSIM: the mean of the SSIM map over the windows centred in the region, weighted by
    the centre pixel's weight. Examples with no weight (or no window centred in the
    region) are left out; identical regions count as 100 dB; nan when none is left.
    """
    import tensorflow as tf

    a, b = _to01(np.clip(output, -1.0, 1.0)), _to01(target)
    weight = np.asarray(weight, np.float64)[..., 0]
    size = min(int(a.shape[1]), int(a.shape[2]), 11)
    squared = np.mean(np.square(np.asarray(a, np.float64) - np.asarray(b, np.float64)), -1)
    area = weight.sum(axis=(1, 2))
    has = area > 0
    mse = (weight * squared).sum(axis=(1, 2))[has] / area[has]
    psnr = np.minimum(10 * np.log10(1.0 / np.maximum(mse, 1e-10)), 100.0)
    ssim_map = tf.image.ssim(a, b, max_val=1.0, filter_size=size,
                             return_index_map=True).numpy()  # [b, H - size + 1, ...]
    start = size // 2
    centres = weight[:, start:start + ssim_map.shape[1], start:start + ssim_map.shape[2]]
    windows = centres.sum(axis=(1, 2))
    ssim = (centres * ssim_map).sum(axis=(1, 2))[windows > 0] / windows[windows > 0]
    return (float(np.mean(psnr)) if len(psnr) else float("nan"),
            float(np.mean(ssim)) if len(ssim) else float("nan"))


class TranslationEvaluator:
    """PSNR/SSIM of a translation model (Keras or exported) on fixed examples of `data`.

    Args:
      data: the run's dataset (or the one an export was trained on).
      variant_cls: the `ImageToImageModel` subclass: it makes the examples and baseline.
      spec: its `TranslationSpec` (`model.spec`, or `spec_from_metadata` of an export).
      num_samples: examples measured (default EXAMPLES, at most the data's size).
      seed: chooses the subset and any randomness of the examples (inpaint's masks).
      cache_dir, echo: the domain classifier's cache and progress messages (variants with
        an inverse translation; others need no classifier).
    """

    available = True  # ground truth is always there (evaluation_data refuses data without)
    reason = ""

    def __init__(self, data, variant_cls, spec, *, num_samples: int | None = None,
                 seed: int = 0, cache_dir=None, echo=None):
        self._variant_cls, self._spec = variant_cls, spec
        self.inverse = variant_cls.inverse_signature
        self.classifier = None
        if self.inverse:
            from tfgan_app.evaluation.classifier import get_classifier

            self.classifier = get_classifier(domain_data(data), cache_dir=cache_dir,
                                             echo=echo)
        self.data = variant_cls.evaluation_data(data)
        self.num_samples = min(num_samples or EXAMPLES, self.data.num_examples)
        self._draw_examples(seed)
        made = {"image": tuple(self.inputs["image"].shape[1:]),
                "target": tuple(self.target.shape[1:])}
        want = {"image": tuple(spec.source_shape), "target": tuple(spec.target_shape)}
        if made != want:
            raise UsageError(f"dataset {data.name} makes inputs {list(made['image'])} and "
                             f"targets {list(made['target'])}, but the model translates "
                             f"{list(want['image'])} to {list(want['target'])}")
        self._measure_baselines()

    def _draw_examples(self, seed: int):
        """The examples (and any randomness in them, inpaint's masks) `seed` chooses."""
        self.seed = seed
        x = self.data.take(self.data.sample_indices(self.num_samples, seed))[0]
        self.inputs, self.target = self._variant_cls.evaluation_examples(x, self._spec, seed)
        self.real_images = self.target  # what Inception FID compares with

    def _measure_baselines(self):
        """The metric regions and the trivial baseline's figures on the current examples."""
        self.regions = self._variant_cls.metric_regions(self.inputs)
        baseline = self._variant_cls.baseline(self.inputs, self._spec)
        self.baseline = {f"baseline_{k}": v for k, v in self.measure(baseline).items()}
        if self.classifier is not None:
            self.baseline_domains = (self.domain_rate(self.inputs["image"], 1),
                                     self.domain_rate(self.target, 0))

    def sample_model(self, model):
        """The Keras model's outputs (its inference generator) for the fixed inputs."""

        return self.translations(lambda inputs, signature: model.infer_serving(
            inputs, BATCH, signature=signature), self.inverse)

    def sample_export(self, run, meta: dict):
        """An export's outputs: `run(inputs dict, signature) -> array`, in batches. The
        cycle metrics need the inverse signature, which a .tflite file does not hold."""
        def batched(inputs, signature):
            count = len(next(iter(inputs.values())))
            return np.concatenate([np.asarray(run({k: v[i:i + BATCH]
                                                   for k, v in inputs.items()}, signature))
                                   for i in range(0, count, BATCH)])

        inverse = self.inverse if self.inverse in getattr(run, "signatures", ()) else None
        return self.translations(batched, inverse)

    def translations(self, translate, inverse):
        """Samples of G on the inputs; with an `inverse` signature also F(b), F(G(a)) and
        G(F(b)) (b: the targets) in `extra`."""
        from tfgan_app.evaluation import Samples

        x = translate(self.inputs, "serving_default")
        if not inverse:
            return Samples(x)
        back = translate({"image": self.target}, inverse)
        return Samples(x, extra={"inverse": back,
                                 "cycle_a": translate({"image": x}, inverse),
                                 "cycle_b": translate({"image": back}, "serving_default")})

    def domain_rate(self, images, domain: int) -> float:
        """The fraction of `images` the domain classifier assigns to `domain` (0: A)."""
        logits, _ = self.classifier.predict(widen(images, self.classifier.network.input_shape[-1]))
        return float(np.mean(logits.argmax(1) == domain))

    def measure(self, output) -> dict:
        """psnr and ssim of `output`, and <region>_psnr, <region>_ssim of each region."""
        psnr, ssim = summarize(output, self.target)
        out = {"psnr": psnr, "ssim": ssim}
        for name, weight in self.regions.items():
            out[f"{name}_psnr"], out[f"{name}_ssim"] = region_psnr_ssim(output, self.target,
                                                                        weight)
        return out

    def evaluate(self, samples) -> dict:
        metrics = {**self.measure(samples.x), **self.baseline}
        if self.classifier is not None:
            metrics.update({"domain_b": self.domain_rate(samples.x, 1),
                            "baseline_domain_b": self.baseline_domains[0]})
            extra = samples.extra or {}
            if "inverse" in extra:
                metrics.update({
                    "domain_a": self.domain_rate(extra["inverse"], 0),
                    "baseline_domain_a": self.baseline_domains[1],
                    "cycle_a": float(np.mean(np.abs(extra["cycle_a"] - self.inputs["image"]))),
                    "cycle_b": float(np.mean(np.abs(extra["cycle_b"] - self.target)))})
        return metrics

    def evaluate_model(self, model) -> dict:
        return self.evaluate(self.sample_model(model))

    def reseeded(self, seed: int) -> TranslationEvaluator:
        """This evaluator on the examples (and masks) `seed` chooses; the domain classifier
        and the evaluation data are shared, not loaded again."""
        other = copy.copy(self)
        other._draw_examples(seed)
        other._measure_baselines()
        return other

    def info(self) -> dict:
        out = {"dataset": self.data.name, "num_samples": self.num_samples, "seed": self.seed}
        if self.classifier is not None:
            out.update(self.classifier.summary())
        return out

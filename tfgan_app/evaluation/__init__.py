"""Sample-quality metrics for a generator, its training run or its export.

    toy data (ring, grid):  modes, hq, kl            (evaluation.toy, the PacGAN protocol)
    1-D toy data (gauss1d): mean, std, w1, ks        (evaluation.toy, against the true CDF)
    labeled images:         score, real_score, frechet, kid, plus label_accuracy
                            (class-conditional) or code_agreement (InfoGAN)
                            (evaluation.images, on a cached domain classifier)
    any images, on demand:  fid_inception with user-supplied Inception-V3 weights
    image-to-image:         psnr, ssim and the baseline's (evaluation.translation)

`Evaluator` holds what stays fixed over a run (the real data's classifier outputs and the
seed of the evaluation latents), so metrics from different epochs are comparable.
"""

from __future__ import annotations

import copy
import dataclasses
import numbers

import numpy as np

from tfgan_app.evaluation import images as image_metrics_module
from tfgan_app.evaluation.toy import PROTOCOL_SAMPLES, gaussian_1d_metrics, toy_metrics

IMAGE_SAMPLES = 2000
REAL_SUBSET_SEED = 99
# The scalar metrics that go to history.csv and TensorBoard, with one-line explanations.
SCALARS = {
    "modes": "modes covered by high-quality samples",
    "hq": "fraction of samples within 3 std of their nearest mode",
    "kl": "reverse KL of the mode histogram from uniform (0 is best)",
    "mean": "mean of the 1-D samples (gauss1d's data: -1)",
    "std": "standard deviation of the 1-D samples (gauss1d's data: 1)",
    "w1": "Wasserstein-1 distance of the 1-D samples to the data distribution (0 is best)",
    "ks": "Kolmogorov-Smirnov statistic of the 1-D samples vs the data CDF (0 is best)",
    "score": "classifier score of generated images (real data: real_score)",
    "real_score": "classifier score of the real images",
    "frechet": "Frechet distance of classifier features, real vs generated (0 is best)",
    "kid": "kernel distance of classifier features (0 is best)",
    "label_accuracy": "generated images classified as their conditioning label",
    "code_agreement": "InfoGAN category code vs predicted class, best matching",
    "psnr": "PSNR in dB of the output vs the ground truth (images in [0, 1])",
    "ssim": "SSIM of the output vs the ground truth (1 is identical)",
    "baseline_psnr": "PSNR of the trivial baseline (the input, channel-matched/upscaled; "
                     "inpainting: the holes filled with the known pixels' mean)",
    "baseline_ssim": "SSIM of the trivial baseline",
    "cycle_a": "mean |F(G(a)) - a| on [-1, 1], the A -> B -> A reconstruction (0 is best)",
    "cycle_b": "mean |G(F(b)) - b| on [-1, 1], the B -> A -> B reconstruction (0 is best)",
    "domain_b": "translations G(a) a domain classifier (real A vs real B) calls B",
    "baseline_domain_b": "inputs a, copied, that the domain classifier calls B",
    "domain_a": "translations F(b) the domain classifier calls A",
    "baseline_domain_a": "targets b, copied, that the domain classifier calls A",
    "hole_psnr": "PSNR of the missing pixels alone (inpainting)",
    "hole_ssim": "SSIM of the windows centred on missing pixels (inpainting)",
    "baseline_hole_psnr": "PSNR of the baseline's missing pixels (mean fill)",
    "baseline_hole_ssim": "SSIM of the baseline around the missing pixels",
}


@dataclasses.dataclass
class Samples:
    """Generated samples and the inputs that matter for the metrics."""

    x: np.ndarray  # images in [-1, 1] or points [N, 2] / [N, 1]
    labels: np.ndarray | None = None  # conditioning labels (cgan, acgan)
    codes: np.ndarray | None = None  # InfoGAN categorical codes
    num_codes: int = 0
    extra: dict | None = None  # other outputs the metrics need (an inverse translation's)


def draw_from_model(model, num: int, seed: int, batch_size: int = 500) -> Samples:
    """`num` samples of a Keras GAN model from latents and conditions drawn from `seed`."""
    grid = model.point_cloud(np.random.default_rng([seed, 11]), num)
    cond = grid.cond
    outputs = []
    for start in range(0, num, batch_size):
        part = None
        if isinstance(cond, dict):
            part = {k: v[start:start + batch_size] for k, v in cond.items()}
        outputs.append(np.asarray(model.infer(grid.z[start:start + batch_size], part)))
    return _with_conditions(np.concatenate(outputs), cond, model.serving_inputs())


def draw_from_signature(run, inputs_meta: dict, num: int, seed: int,
                        batch_size: int = 500) -> Samples:
    """`num` samples of an exported generator: `run(inputs) -> outputs`, inputs drawn as
    the export's serving_inputs metadata describes."""
    from tfgan_app.export.tflite import draw_inputs

    inputs = draw_inputs(inputs_meta, num, np.random.default_rng([seed, 11]))
    outputs = [np.asarray(run({k: v[start:start + batch_size] for k, v in inputs.items()}))
               for start in range(0, num, batch_size)]
    return _with_conditions(np.concatenate(outputs), inputs, inputs_meta)


def _with_conditions(x, cond, inputs_meta: dict) -> Samples:
    """Samples with the conditions the metrics check, found by the inputs' declared roles
    (`GANModel.serving_inputs`): a class label, or a categorical code to match."""
    cond = cond if isinstance(cond, dict) else {}
    samples = Samples(x)
    for name, meta in inputs_meta.items():
        if name not in cond:
            continue
        if meta.get("role") == "class":
            samples.labels = cond[name]
        elif meta.get("role") == "category_code":
            samples.codes, samples.num_codes = cond[name], int(meta["high"])
    return samples


class Evaluator:
    """Metrics of generated samples against one dataset.

    For labeled image data this trains (or loads from the cache) the dataset's domain
    classifier; call it outside any distribution strategy scope. Image data without
    labels gets no classifier metrics (`available` says why).
    """

    def __init__(self, data, *, num_samples: int | None = None, seed: int = 0,
                 cache_dir=None, echo=None):
        self.data = data
        self.seed = seed
        self.classifier = None
        self.reason = ""
        if data.kind == "points":
            self.num_samples = num_samples or PROTOCOL_SAMPLES
            if data.modes is None:
                self.reason = f"dataset {data.name} has no known modes"
            elif data.shape == (1,) and len(data.modes) != 1:
                self.reason = (f"dataset {data.name}: 1-D metrics need a single Gaussian, "
                               f"not a mixture of {len(data.modes)}")
        else:
            self.num_samples = num_samples or IMAGE_SAMPLES
            # The real reference: a fixed random subset, as files are often ordered (by
            # class or writer). Also what Inception FID compares with.
            subset = data.sample_indices(self.num_samples, REAL_SUBSET_SEED)
            self.real_images = data.take(subset)[0]
            if not data.num_classes:
                self.reason = (f"dataset {data.name} has no labels, so there is no domain "
                               "classifier (use --inception-weights for FID)")
            else:
                from tfgan_app.evaluation.classifier import get_classifier

                self.classifier = get_classifier(data, cache_dir=cache_dir, echo=echo)
                self.real = self.classifier.predict(self.real_images)

    @property
    def available(self) -> bool:
        return not self.reason

    def sample_model(self, model) -> Samples:
        """Samples of a Keras GAN model, from latents and conditions drawn from the seed."""
        return draw_from_model(model, self.num_samples, self.seed)

    def sample_export(self, run, meta: dict) -> Samples:
        """Samples of an export (`run(inputs) -> outputs`), inputs drawn from the seed."""
        return draw_from_signature(run, meta["inputs"], self.num_samples, self.seed)

    def evaluate(self, samples: Samples) -> dict:
        """Metrics of `samples`: scalars named as in SCALARS, plus per-class lists."""
        if not self.available:
            return {}
        if self.data.kind == "points" and self.data.shape == (1,):
            return gaussian_1d_metrics(samples.x, float(self.data.modes[0, 0]),
                                       self.data.mode_std)
        if self.data.kind == "points":
            return toy_metrics(samples.x, self.data.modes, self.data.mode_std)
        return image_metrics_module.image_metrics(
            self.classifier, None, samples.x, labels=samples.labels, codes=samples.codes,
            num_codes=samples.num_codes, real_logits_features=self.real)

    def evaluate_model(self, model) -> dict:
        return self.evaluate(self.sample_model(model))

    def reseeded(self, seed: int) -> Evaluator:
        """This evaluator with latents and conditions drawn from `seed` instead; the real
        reference (its classifier outputs) is shared, not recomputed."""
        other = copy.copy(self)
        other.seed = seed
        return other

    def info(self) -> dict:
        """What the metrics were computed with (classifier accuracy, sample counts)."""
        out = {"dataset": self.data.name, "num_samples": self.num_samples, "seed": self.seed}
        if self.classifier is not None:
            out.update(self.classifier.summary())
            out["real_samples"] = len(self.real_images)
        if self.reason:
            out["unavailable"] = self.reason
        return out


def scalars(metrics: dict) -> dict:
    """The scalar metrics only (for history.csv and TensorBoard)."""
    return {k: float(v) for k, v in metrics.items() if k in SCALARS}


def summarize_draws(draws: list[dict]) -> tuple[dict, dict]:
    """(mean, sample standard deviation) of each numeric metric (the scalars and
    fid_inception; not per-class lists) over the metrics of several draws of samples; the
    deviation is 0 for a single draw."""
    mean, std = {}, {}
    for key, value in draws[0].items():
        if isinstance(value, bool) or not isinstance(value, numbers.Real):  # numpy's too
            continue
        column = np.array([float(d[key]) for d in draws], np.float64)
        mean[key] = float(column.mean())
        std[key] = float(column.std(ddof=1)) if len(column) > 1 else 0.0
    return mean, std


def for_model(model, data, **kwargs):
    """The evaluator of a Keras model on `data`: PSNR/SSIM against the ground truth for
    image-to-image models, sample metrics for generators from noise. `kwargs`: those of
    `Evaluator` (num_samples, seed, cache_dir, echo)."""
    if model.family == "image":
        from tfgan_app.evaluation.translation import TranslationEvaluator

        return TranslationEvaluator(data, type(model), model.spec, **kwargs)
    return Evaluator(data, **kwargs)


def for_export(meta: dict, data, **kwargs):
    """The evaluator of an export described by `meta` (its tfgan_app.json), as `for_model`."""
    if meta.get("family") == "image":
        import tfgan_app.variants  # noqa: F401 (registers the variant that makes the examples)
        from tfgan_app import registry
        from tfgan_app.evaluation.translation import TranslationEvaluator

        variant_cls = registry.get_variant(meta["variant"])
        return TranslationEvaluator(data, variant_cls, variant_cls.spec_from_metadata(meta),
                                    **kwargs)
    return Evaluator(data, **kwargs)

"""Image-to-image metrics: PSNR and SSIM against the ground truth, beside a trivial baseline.

- `psnr`: peak signal-to-noise ratio in dB of the output against the target, both mapped
  from [-1, 1] to [0, 1] (`tf.image.psnr` with max_val 1), averaged over examples.
- `ssim`: structural similarity (`tf.image.ssim`, max_val 1, its default 11x11 Gaussian
  window, shrunk for images under 11 px), averaged over examples; 1 is identical.
- `baseline_psnr`, `baseline_ssim`: the same for the variant's trivial answer
  (`ImageToImageModel.baseline`: the input copied, channel-matched; bicubic upscaling where
  the sizes differ), so a model's figures say how much it adds.

The examples are a fixed random subset of the data (with ground truth: an unaligned
dataset's aligned version), made by the variant's own `evaluation_examples` from a fixed
seed, so every epoch, the Keras model and its export are measured on the same inputs.
"""

from __future__ import annotations

import numpy as np

from tfgan_app.errors import UsageError

EXAMPLES = 1000
BATCH = 256


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


class TranslationEvaluator:
    """PSNR/SSIM of a translation model (Keras or exported) on fixed examples of `data`.

    Args:
      data: the run's dataset (or the one an export was trained on).
      variant_cls: the `ImageToImageModel` subclass: it makes the examples and baseline.
      spec: its `TranslationSpec` (`model.spec`, or `spec_from_metadata` of an export).
      num_samples: examples measured (default EXAMPLES, at most the data's size).
      seed: chooses the subset and any randomness of the examples (inpaint's masks).
      cache_dir, echo: accepted as `Evaluator` takes them; no classifier is needed here.
    """

    available = True  # ground truth is always there (evaluation_data refuses data without)
    reason = ""

    def __init__(self, data, variant_cls, spec, *, num_samples: int | None = None,
                 seed: int = 0, cache_dir=None, echo=None):
        self.data = variant_cls.evaluation_data(data)
        self.seed = seed
        self.num_samples = min(num_samples or EXAMPLES, self.data.num_examples)
        x = self.data.take(self.data.sample_indices(self.num_samples, seed))[0]
        self.inputs, self.target = variant_cls.evaluation_examples(x, spec, seed)
        made = {"image": tuple(self.inputs["image"].shape[1:]),
                "target": tuple(self.target.shape[1:])}
        want = {"image": tuple(spec.source_shape), "target": tuple(spec.target_shape)}
        if made != want:
            raise UsageError(f"dataset {data.name} makes inputs {list(made['image'])} and "
                             f"targets {list(made['target'])}, but the model translates "
                             f"{list(want['image'])} to {list(want['target'])}")
        self.real_images = self.target  # what Inception FID compares with
        self.baseline = summarize(variant_cls.baseline(self.inputs, spec), self.target)

    def sample_model(self, model):
        """The Keras model's outputs (its inference generator) for the fixed inputs."""
        from tfgan_app.evaluation import Samples

        return Samples(model.infer_serving(self.inputs, BATCH))

    def sample_export(self, run, meta: dict):
        """An export's outputs: `run(inputs dict) -> array`, in batches."""
        from tfgan_app.evaluation import Samples

        count = len(self.target)
        parts = [np.asarray(run({k: v[i:i + BATCH] for k, v in self.inputs.items()}))
                 for i in range(0, count, BATCH)]
        return Samples(np.concatenate(parts))

    def evaluate(self, samples) -> dict:
        psnr, ssim = summarize(samples.x, self.target)
        return {"psnr": psnr, "ssim": ssim, "baseline_psnr": self.baseline[0],
                "baseline_ssim": self.baseline[1]}

    def evaluate_model(self, model) -> dict:
        return self.evaluate(self.sample_model(model))

    def info(self) -> dict:
        return {"dataset": self.data.name, "num_samples": self.num_samples, "seed": self.seed}

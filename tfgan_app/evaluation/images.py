"""Image metrics on a domain classifier's outputs, computed with tensorflow-gan's eval functions.

- `score`: classifier score exp(E[KL(p(y|x) || p(y))]) of the generated images (the
  Inception score with the domain classifier); `real_score` is the same on real images.
  Between 1 (one class, or no confident class) and the number of classes.
- `frechet`: Frechet distance between the classifier features of real and generated images.
- `kid`: kernel (KID) distance on the same features (unbiased, so near 0 may be negative).
- `label_accuracy` (class-conditional variants): how often the classifier predicts the
  label the generator was given; `class_accuracy` per class.
- `code_agreement` (InfoGAN): agreement of the categorical code with the predicted class
  under the best one-to-one matching of code values to classes (Hungarian algorithm).
"""

from __future__ import annotations

import numpy as np

# Rows per KID block: 4096 rows of 128 features make kernel matrices of 64 MB each.
KID_BLOCK = 4096


def _tf_constant(x):
    import tensorflow as tf

    return tf.constant(np.asarray(x, np.float32))


def classifier_score(logits) -> float:
    from tfgan_app.tfgan_compat import tfgan

    return float(tfgan().eval.classifier_score_from_logits(_tf_constant(logits)))


def frechet_distance(real_features, fake_features) -> float:
    from tfgan_app.tfgan_compat import tfgan

    return float(tfgan().eval.frechet_classifier_distance_from_activations(
        _tf_constant(real_features), _tf_constant(fake_features)))


def kernel_distance(real_features, fake_features) -> float:
    """tensorflow-gan's KID estimate over blocks of up to KID_BLOCK rows of each set, the
    rows in a fixed random order.

    The estimator averages the unbiased MMD of blocks of consecutive rows, so rows must
    come in random order. Data files are often grouped, and a block of one group is far
    from any set of generated rows: the bundled digits' two halves, in file order, are
    17.2 apart in Frechet distance, and two random halves 5.2. In file order
    and tensorflow-gan's default blocks of 1024, one generator's KID rose from 0.96 at 2000
    samples to 2.76 at 10000; shuffled, with blocks of KID_BLOCK, it is 0.71 and 0.55.
    Blocks as large as KID_BLOCK also make the default 2000 samples one block: the
    estimate over all pairs of rows, whatever their order (blocks of 1024 rows in
    different random orders gave 0.66 to 1.04 there).
    """
    import logging

    from tfgan_app.tfgan_compat import tfgan

    tf_log = logging.getLogger("tensorflow")
    level = tf_log.level
    tf_log.setLevel(logging.ERROR)  # tensorflow-gan's map_fn(back_prop=False) deprecation
    try:
        rng = np.random.default_rng(0)
        real, fake = (np.asarray(a)[rng.permutation(len(a))]
                      for a in (real_features, fake_features))
        return float(tfgan().eval.kernel_classifier_distance_from_activations(
            _tf_constant(real), _tf_constant(fake), max_block_size=KID_BLOCK))
    finally:
        tf_log.setLevel(level)


def label_accuracy(predicted, labels, num_classes: int) -> tuple[float, list]:
    """(overall accuracy, per-class accuracy list; NaN for a class never asked for)."""
    predicted, labels = np.asarray(predicted), np.asarray(labels)
    per_class = []
    for k in range(num_classes):
        mask = labels == k
        per_class.append(float(np.mean(predicted[mask] == k)) if mask.any() else float("nan"))
    return float(np.mean(predicted == labels)), per_class


def code_agreement(codes, predicted, num_codes: int, num_classes: int) -> tuple[float, list]:
    """(fraction agreeing under the best code -> class matching, that matching).

    With more codes than classes (or fewer), unmatched codes count as disagreeing.
    """
    from scipy.optimize import linear_sum_assignment

    codes, predicted = np.asarray(codes), np.asarray(predicted)
    counts = np.zeros((num_codes, num_classes), np.int64)
    np.add.at(counts, (codes, predicted), 1)
    rows, cols = linear_sum_assignment(-counts)
    mapping = [-1] * num_codes
    for r, c in zip(rows, cols):
        mapping[int(r)] = int(c)
    return float(counts[rows, cols].sum() / max(len(codes), 1)), mapping


def image_metrics(classifier, real_images, fake_images, *, labels=None, codes=None,
                  num_codes: int = 0, real_logits_features=None) -> dict:
    """Every metric above for `fake_images` against `real_images` (both in [-1, 1]).

    `labels`: the conditioning labels of the fake images (conditional variants);
    `codes`: InfoGAN's categorical codes with `num_codes` values.
    `real_logits_features`: the classifier's (logits, features) of the real images, to
    avoid recomputing them.
    """
    real_logits, real_features = real_logits_features or classifier.predict(real_images)
    fake_logits, fake_features = classifier.predict(fake_images)
    predicted = fake_logits.argmax(1)
    out = {
        "score": classifier_score(fake_logits),
        "real_score": classifier_score(real_logits),
        "frechet": frechet_distance(real_features, fake_features),
        "kid": kernel_distance(real_features, fake_features),
        "class_histogram": np.bincount(predicted, minlength=classifier.num_classes).tolist(),
    }
    if labels is not None:
        out["label_accuracy"], out["class_accuracy"] = label_accuracy(
            predicted, labels, classifier.num_classes)
    if codes is not None:
        out["code_agreement"], out["code_to_class"] = code_agreement(
            codes, predicted, num_codes, classifier.num_classes)
    return out

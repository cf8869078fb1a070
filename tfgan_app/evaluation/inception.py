"""Frechet Inception Distance with Inception-V3 weights the user supplies.

Nothing can be downloaded at run time, so the weights come from a file: Keras's
`inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5` (or the full model's file), or
any `.weights.h5` saved from `keras.applications.InceptionV3`. Images in [-1, 1] (the
range Inception-V3 expects) are resized to 299x299 (bilinear) and grey images are repeated
to 3 channels; the 2048-d average-pooled features of real and generated images give the
Frechet distance (tensorflow-gan's `frechet_classifier_distance_from_activations`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tfgan_app.errors import UsageError

SIZE = 299


class InceptionFID:
    def __init__(self, weights_path):
        import keras

        path = Path(weights_path)
        if not path.is_file():
            raise UsageError(f"Inception-V3 weights file not found: {path}")
        if not path.name.endswith(".h5"):
            raise UsageError(f"Inception-V3 weights must be an .h5 file (e.g. Keras's "
                             f"inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5); "
                             f"got {path.name}")
        self.network = keras.applications.InceptionV3(
            include_top=False, weights=None, pooling="avg", input_shape=(SIZE, SIZE, 3))
        try:
            self.network.load_weights(str(path), skip_mismatch=False)
        except Exception as exc:  # a wrong file: keras raises ValueError or h5py errors
            try:  # the full (include_top) file holds the same layers plus the classifier
                self.network.load_weights(str(path), skip_mismatch=True)
            except Exception:
                raise UsageError(f"{path} does not hold Inception-V3 weights: {exc}") from None
        self.path = path

    def features(self, images, batch_size: int = 32) -> np.ndarray:
        import tensorflow as tf

        images = np.asarray(images, np.float32)
        out = []
        for start in range(0, len(images), batch_size):
            batch = tf.image.resize(images[start:start + batch_size], (SIZE, SIZE))
            if batch.shape[-1] == 1:
                batch = tf.repeat(batch, 3, axis=-1)
            out.append(np.asarray(self.network(batch, training=False)))
        return np.concatenate(out) if out else np.zeros((0, 2048), np.float32)

    def distance(self, real_images, fake_images) -> float:
        from tfgan_app.evaluation.images import frechet_distance

        return frechet_distance(self.features(real_images), self.features(fake_images))

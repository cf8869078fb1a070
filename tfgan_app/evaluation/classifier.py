"""A domain classifier for a labeled image dataset, trained by the app and cached.

No pretrained Inception weights can be downloaded offline, so image metrics use a small CNN
trained on the run's own real data (the TF-GAN `mnist_score` / `mnist_frechet_distance`
approach). Its logits give the classifier score and the predicted classes; its last hidden
layer gives the features for Frechet and kernel distances.

The classifier is trained once per dataset content (a hash of images and labels) and cached
under `$TFGAN_APP_CACHE` (default `~/.cache/tfgan_app`) as weights plus a JSON record with
its held-out test accuracy. Training is seeded with its own seeds and touches no global
random state, so evaluating never changes how a GAN run trains.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

from tfgan_app.errors import UsageError

RECIPE = 2  # bump when the architecture or training recipe changes: old caches are ignored
FEATURES = 128
TEST_FRACTION = 0.2
EPOCHS = 30  # at most; large datasets get fewer (see `epochs_for`)
BATCH = 64
SEED = 1234
# Large (streamed) datasets train the classifier on a fixed random subset of this many.
MAX_EXAMPLES = 20_000


def cache_root() -> Path:
    return Path(os.environ.get("TFGAN_APP_CACHE") or Path.home() / ".cache" / "tfgan_app")


def dataset_key(data) -> str:
    """Directory name for `data`'s classifier: name, shape and a hash of the content (of
    the arrays for in-memory data, else of the source's fingerprint)."""
    digest = hashlib.sha1()
    if data.in_memory:
        digest.update(np.ascontiguousarray(data.x, np.float32).tobytes())
        digest.update(np.ascontiguousarray(data.y, np.int32).tobytes())
    else:
        digest.update(f"{data.fingerprint}:subset{MAX_EXAMPLES}".encode())
    digest.update(f"recipe{RECIPE}".encode())
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in data.name)
    shape = "x".join(map(str, data.shape))
    return f"{name}-{shape}-{digest.hexdigest()[:12]}"


def conv_filters(size: int) -> tuple[int, ...]:
    """Channels of the stride-2 convs: two, and one more per doubling past 32 px, so the
    last map is at most 8x8 (at 64 px two convs left a 16x16 map, and a classifier of the
    shapes that scored 40 % held-out accuracy after its 4 epochs)."""
    filters = [32, 64]
    while size / 2 ** len(filters) > 8:
        filters.append(128)
    return tuple(filters)


def build_network(shape, num_classes: int):
    """Stride-2 convs (`conv_filters`), a 128-unit feature layer, class logits; seeded."""
    import keras
    from keras import layers

    def init(i):
        return keras.initializers.GlorotUniform(seed=SEED + i)

    inputs = keras.Input(shape, name="images")
    h = inputs
    for i, filters in enumerate(conv_filters(shape[0])):
        h = layers.Conv2D(filters, 3, strides=2, padding="same", kernel_initializer=init(i),
                          name=f"conv{i}")(h)
        h = layers.LeakyReLU(0.2)(h)
    h = layers.Flatten()(h)
    features = layers.Dense(FEATURES, activation="relu", kernel_initializer=init(5),
                            name="features")(h)
    dropped = layers.Dropout(0.3, seed=SEED)(features)
    logits = layers.Dense(num_classes, kernel_initializer=init(6), name="logits")(dropped)
    return keras.Model(inputs, {"logits": logits, "features": features},
                       name="domain_classifier")


def split(labels: np.ndarray, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """Stratified train/test index split, TEST_FRACTION of each class held out."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == label))
        n_test = int(round(len(idx) * TEST_FRACTION)) if len(idx) > 1 else 0
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


@dataclasses.dataclass
class DomainClassifier:
    """A trained classifier with its record (`test_accuracy`, `path`, ...)."""

    network: object  # keras.Model: images in [-1, 1] -> {"logits", "features"}
    num_classes: int
    test_accuracy: float
    info: dict
    path: Path | None = None

    def summary(self) -> dict:
        """What an evaluation report says of the classifier: its test accuracy and file."""
        return {"classifier_test_accuracy": self.test_accuracy,
                "classifier": str(self.path) if self.path else None}

    def predict(self, images, batch_size: int = 500) -> tuple[np.ndarray, np.ndarray]:
        """(logits [N, K], features [N, 128]) for images in [-1, 1]."""
        images = np.asarray(images, np.float32)
        logits, features = [], []
        for start in range(0, len(images), batch_size):
            out = self.network(images[start:start + batch_size], training=False)
            logits.append(np.asarray(out["logits"]))
            features.append(np.asarray(out["features"]))
        if not logits:
            return (np.zeros((0, self.num_classes), np.float32),
                    np.zeros((0, FEATURES), np.float32))
        return np.concatenate(logits), np.concatenate(features)


def epochs_for(train_examples: int) -> int:
    """About 50,000 examples seen: EPOCHS on small data (the digits), at least 3."""
    return int(min(EPOCHS, max(3, -(-50_000 // max(train_examples, 1)))))


def training_arrays(data) -> tuple[np.ndarray, np.ndarray]:
    """(images, labels) the classifier learns from: all of in-memory data, else a fixed
    random subset of MAX_EXAMPLES read from the stream."""
    if data.in_memory and data.num_examples <= MAX_EXAMPLES:
        return data.x, data.y
    return data.take(data.sample_indices(MAX_EXAMPLES, SEED))


def train_classifier(data, epochs: int | None = None, echo=None) -> DomainClassifier:
    """Train a fresh classifier on `data` (held-out split for the test accuracy)."""
    import keras
    import tensorflow as tf

    if not data.num_classes:
        raise UsageError(f"dataset {data.name} has no labels, so no domain classifier can "
                         "be trained for the image metrics")
    x, y = training_arrays(data)
    train_idx, test_idx = split(y)
    epochs = epochs or epochs_for(len(train_idx))
    start = time.perf_counter()
    # Call this outside any strategy scope: the classifier is small and trained once.
    network = build_network(data.shape, data.num_classes)
    trainer = keras.Model(network.inputs, network.get_layer("logits").output)  # shares the weights
    trainer.compile(optimizer=keras.optimizers.Adam(1e-3),
                    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    batches = (tf.data.Dataset.from_tensor_slices((x[train_idx], y[train_idx]))
               .shuffle(len(train_idx), seed=SEED, reshuffle_each_iteration=True)
               .batch(BATCH))
    trainer.fit(batches, epochs=epochs, verbose=0, shuffle=False)
    classifier = DomainClassifier(network, data.num_classes, float("nan"), {})
    if len(test_idx):
        logits, _ = classifier.predict(x[test_idx])
        accuracy = float(np.mean(logits.argmax(1) == y[test_idx]))
    else:
        accuracy = float("nan")
    classifier.test_accuracy = accuracy
    classifier.info = {
        "dataset": data.name, "shape": list(data.shape), "num_classes": data.num_classes,
        "train_examples": int(len(train_idx)), "test_examples": int(len(test_idx)),
        "test_accuracy": accuracy, "epochs": epochs, "recipe": RECIPE,
        "seconds": round(time.perf_counter() - start, 1),
    }
    if echo:
        echo(f"trained a domain classifier for {data.name} in {classifier.info['seconds']}s: "
             f"test accuracy {accuracy:.4f} on {len(test_idx)} held-out examples")
    return classifier


def get_classifier(data, cache_dir=None, echo=None) -> DomainClassifier:
    """The cached classifier for `data`, training (and caching) it on first use."""
    directory = Path(cache_dir or cache_root()) / "classifiers" / dataset_key(data)
    weights, record = directory / "classifier.weights.h5", directory / "classifier.json"
    if weights.is_file() and record.is_file():
        info = json.loads(record.read_text())
        network = build_network(data.shape, data.num_classes)
        network.load_weights(weights)
        return DomainClassifier(network, data.num_classes, info["test_accuracy"], info,
                                directory)
    classifier = train_classifier(data, echo=echo)
    tmp = directory.with_name(f".{directory.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        classifier.network.save_weights(tmp / weights.name)
        (tmp / record.name).write_text(json.dumps(classifier.info, indent=2) + "\n")
        try:
            os.replace(tmp, directory)  # another process may have won the race
        except OSError:
            pass
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    classifier.path = directory
    return classifier

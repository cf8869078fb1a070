"""The tf.data input pipeline.

Each epoch visits the examples in a fresh permutation drawn statelessly from (seed, epoch),
so data order is fixed by the seed and a resumed run sees exactly the batches an
uninterrupted run would.
"""

from __future__ import annotations

import tensorflow as tf

from tfgan_app.data.sources import Dataset
from tfgan_app.errors import DataError


def steps_per_epoch(data: Dataset, batch_size: int) -> int:
    steps = data.num_examples // batch_size
    if steps == 0:
        raise DataError(f"dataset {data.name} has {data.num_examples} examples, fewer than "
                        f"one batch (train.batch_size={batch_size})")
    return steps


def epoch_order(num_examples: int, seed: int, epoch) -> tf.Tensor:
    """The permutation of example indices used in `epoch`."""
    seed_pair = tf.stack([tf.constant(seed, tf.int64), tf.cast(epoch, tf.int64)])
    return tf.random.experimental.index_shuffle(
        tf.range(num_examples, dtype=tf.int64), seed_pair, num_examples - 1)


def training_batches(data: Dataset, *, batch_size: int, seed: int, first_epoch: int,
                     last_epoch: int) -> tf.data.Dataset:
    """(x, y) batches for epochs [first_epoch, last_epoch), `steps_per_epoch` each.

    Full batches only (drop_remainder), so the global batch always splits evenly across
    replicas.
    """
    steps = steps_per_epoch(data, batch_size)
    x, y = tf.constant(data.x), tf.constant(data.y)

    def one_epoch(epoch):
        order = epoch_order(data.num_examples, seed, epoch)[:steps * batch_size]
        return tf.data.Dataset.from_tensor_slices(tf.reshape(order, [steps, batch_size]))

    return (tf.data.Dataset.range(first_epoch, last_epoch)
            .flat_map(one_epoch)
            .map(lambda idx: (tf.gather(x, idx), tf.gather(y, idx)),
                 num_parallel_calls=tf.data.AUTOTUNE)
            .prefetch(tf.data.AUTOTUNE))

"""The tf.data input pipeline: one builder for every source, strategy and resume point.

A run's training data is one stream of global batches. Pass p over the data (p = 0, 1, ...)
contributes `num_examples // batch_size` full batches, in an order that is a function of
(seed, p) only; the batches of one pass are numbered on from the previous pass's. Training
epoch e is batches [e * S, (e + 1) * S) of that stream, with S = train.steps_per_epoch, or
one pass when it is 0. So a run that stops after any epoch and is resumed reads exactly the
batches an uninterrupted run would:

- random-access sources (in-memory arrays, folders, shapes) compute the example indices of
  batch k directly: a stateless permutation of (seed, pass) (`index_shuffle`), no reading
  of what comes before;
- stream sources (TFRecord, TFDS) have no random access: they read pass p in its fixed
  order and skip, without decoding, the records before the resume point (at most one pass).

Under a strategy each input pipeline (one per worker) reads only its rows of every global
batch, in replica order, so step s uses the same global batch as on one device.
"""

from __future__ import annotations

import tensorflow as tf

from tfgan_app.data.dataset import ArrayReader, Dataset, to_float
from tfgan_app.errors import DataError


def steps_per_pass(data: Dataset, batch_size: int) -> int:
    """Full global batches in one pass over the data."""
    steps = data.num_examples // batch_size
    if steps == 0:
        raise DataError(f"dataset {data.name} has {data.num_examples} examples, fewer than "
                        f"one batch (train.batch_size={batch_size})")
    return steps


def steps_per_epoch(data: Dataset, batch_size: int, requested: int = 0,
                    real_batches: int = 1) -> int:
    """Steps of one training epoch: `requested` (train.steps_per_epoch), or one pass.

    A pass is counted in batches of `batch_size` whatever `real_batches` (the real batches
    each step reads, see `training_batches`) is, so an epoch is the same number of
    generator updates for every variant; a critic with fresh batches reads `real_batches`
    passes of real data per epoch.
    """
    per_pass = steps_per_pass(data, batch_size)
    if real_batches > 1 and data.num_examples < batch_size * real_batches:
        raise DataError(f"dataset {data.name} has {data.num_examples} examples, fewer than "
                        f"one step's {real_batches} fresh real batches of {batch_size} (the "
                        f"discriminator's updates per step x train.batch_size); lower the "
                        f"batch size, or set <variant>.fresh_batches=false")
    return requested or per_pass


def pass_positions(positions, num_examples: int, seed: int, pass_index) -> tf.Tensor:
    """Example indices at `positions` of pass `pass_index`'s permutation."""
    seed_pair = tf.stack([tf.constant(seed, tf.int64), tf.cast(pass_index, tf.int64)])
    return tf.random.experimental.index_shuffle(tf.cast(positions, tf.int64), seed_pair,
                                                num_examples - 1)


def batch_indices(step, num_examples: int, batch_size: int, seed: int) -> tf.Tensor:
    """The example indices [batch_size] of global batch `step` of the run's stream."""
    per_pass = num_examples // batch_size
    step = tf.cast(step, tf.int64)
    slot = step % per_pass
    positions = slot * batch_size + tf.range(batch_size, dtype=tf.int64)
    return pass_positions(positions, num_examples, seed, step // per_pass)


def _rows(batch_size: int, input_context) -> tuple[int, int, int]:
    """(first row, rows, per-replica batch) of each global batch this pipeline reads."""
    if input_context is None:
        return 0, batch_size, batch_size
    replicas = input_context.num_replicas_in_sync
    pipelines = input_context.num_input_pipelines
    if batch_size % replicas or replicas % pipelines:
        raise DataError(f"train.batch_size={batch_size} must split evenly over {replicas} "
                        f"replicas on {pipelines} workers")
    per_replica = batch_size // replicas
    rows = per_replica * (replicas // pipelines)
    return input_context.input_pipeline_id * rows, rows, per_replica


def training_batches(data: Dataset, *, batch_size: int, seed: int, first_step: int,
                     last_step: int, input_context=None, group: int = 1) -> tf.data.Dataset:
    """(x float32, y int32) batches for global steps [first_step, last_step) of the stream.

    Args:
      data: the training set.
      batch_size: the global batch size.
      group: real batches per step (a critic with fresh batches: its updates per step).
        Step k then reads global batch k of a stream of `batch_size * group`-row batches,
        shaped [batch, group, ...]: row b of update i is row b * group + i of that batch.
        Splitting the leading axis over replicas gives each replica the same rows of every
        update's batch as on one device.
      seed: fixes the order of every pass.
      first_step, last_step: the global batches to produce (e.g. epoch e of S steps:
        e * S to (e + 1) * S; a resumed run starts at its first unfinished epoch).
      input_context: a `tf.distribute.InputContext` (from
        `strategy.distribute_datasets_from_function`): the pipeline then yields this
        worker's per-replica batches, replica by replica, for every step; None: whole
        global batches.
    """
    start, rows, per_replica = (group * n for n in _rows(batch_size, input_context))
    batch_size *= group
    reader = data.reader
    n = data.num_examples
    steps = tf.data.Dataset.range(first_step, last_step)
    if isinstance(reader, ArrayReader):  # gather a whole batch at once: toy data is fast
        x, y = tf.constant(reader.x), tf.constant(reader.y)

        def gather(k):
            indices = batch_indices(k, n, batch_size, seed)[start:start + rows]
            return tf.gather(x, indices), tf.gather(y, indices)

        batches = steps.map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        if per_replica != rows:
            batches = batches.rebatch(per_replica)
    else:
        if reader.random_access:
            examples = (steps.map(lambda k: batch_indices(k, n, batch_size, seed)
                                  [start:start + rows])
                        .unbatch()
                        .map(reader.element, num_parallel_calls=tf.data.AUTOTUNE,
                             deterministic=True))
        else:
            examples = _stream_examples(data, batch_size, seed, first_step, last_step,
                                        start, rows)
        batches = examples.batch(per_replica, drop_remainder=True)
    def finish(x, y):
        x = to_float(x)
        if group > 1:
            x = tf.reshape(x, [per_replica // group, group, *x.shape[1:]])
            y = tf.reshape(y, [per_replica // group, group])
        return x, y

    return (batches.map(finish, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
            .prefetch(tf.data.AUTOTUNE))


def _stream_examples(data, batch_size, seed, first_step, last_step, start, rows):
    """A stream source's examples for steps [first_step, last_step), this pipeline's rows."""
    reader = data.reader
    per_pass = steps_per_pass(data, batch_size)
    first_pass = first_step // per_pass
    last_pass = -(-last_step // per_pass)

    def one_pass(pass_index):
        records = reader.pass_records(seed, pass_index).take(per_pass * batch_size)
        return (records.enumerate()
                .filter(lambda i, _: tf.logical_and(i % batch_size >= start,
                                                    i % batch_size < start + rows))
                .map(lambda _, record: record))

    records = (tf.data.Dataset.range(first_pass, last_pass).flat_map(one_pass)
               .skip((first_step - first_pass * per_pass) * rows)
               .take((last_step - first_step) * rows))
    return records.map(reader.decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def distributed_batches(strategy, data: Dataset, **kwargs):
    """`training_batches` for `strategy`: a plain dataset of global batches on one replica,
    else one pipeline per worker reading only its rows (`distribute_datasets_from_function`).
    """
    if strategy.num_replicas_in_sync == 1:
        return training_batches(data, **kwargs)
    return strategy.distribute_datasets_from_function(
        lambda context: training_batches(data, input_context=context, **kwargs))

"""Training callbacks: sample grids, evaluation, history CSV, TensorBoard, checkpoints,
NaN guard.

Each reads what it needs from `self.model` and writes its files atomically (temp file, then
rename), so a run killed at any moment leaves only whole files behind.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tfgan_app import files, plotting
from tfgan_app.errors import RunFailure, UsageError, describe

log = logging.getLogger(__name__)


class NonFiniteLoss(RunFailure):
    """A logged loss became NaN or infinite."""


class NaNGuard(keras.callbacks.Callback):
    """Stop at the first non-finite logged value, before anything is saved for that epoch."""

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        for name, value in (logs or {}).items():
            value = float(value)
            if not math.isfinite(value):
                raise NonFiniteLoss(
                    f"{name} became {value} at epoch {self._epoch + 1}, step {batch + 1}; "
                    "training stopped and the last good checkpoint is kept. Try a lower "
                    "learning rate (train.g_lr / train.d_lr) or another seed")


class SampleGrid(keras.callbacks.Callback):
    """Every `every` epochs (and after the last), draw samples from fixed latents.

    Images: `samples/epoch_NNNN.png`, the model's main grid (one row per class for
    conditional models; image-to-image: one row of input | output | target per fixed
    example of the data), plus `epoch_NNNN_<name>.png` for any further grids it defines
    (InfoGAN's code sweeps). 2-D points: the same name, a scatter plot over the mode
    centres. 1-D points: the same name, the densities of the data and the samples with the
    discriminator's output over x (`plotting.save_model_density_1d`).
    """

    def __init__(self, directory, data, *, seed: int, every: int = 1, writer=None,
                 num_points: int = 1000):
        super().__init__()
        self.directory = Path(directory)
        self.data = data
        self.every = every
        self.writer = writer
        self.seed = seed
        self.num_points = num_points
        self.grids = None
        self.density_1d = data.shape == (1,) and data.modes is not None
        if data.kind == "points" and data.modes is not None:
            self.limit = float(np.abs(data.modes).max()) * 1.5 + 3 * (data.mode_std or 0)
        else:
            self.limit = None
        self.last_path = None

    def _grids(self):
        if self.grids is None:  # fixed for the whole run, apart from training randomness
            rng = np.random.default_rng([self.seed, 7])
            if self.data.kind == "points":
                self.grids = [self.model.point_cloud(rng, self.num_points)]
            else:
                self.grids = self.model.grids_for(self.data, rng)
        return self.grids

    def samples(self, grid=None) -> np.ndarray:
        grid = grid or self._grids()[0]
        if self.data.kind == "points":
            return np.asarray(self.model.infer(grid.z, grid.cond))
        return self.model.grid_images(grid)

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        if done % self.every and done != self.params.get("epochs"):
            return
        for grid in self._grids():
            suffix = f"_{grid.name}" if grid.name else ""
            path = self.directory / f"epoch_{done:04d}{suffix}.png"
            samples = self.samples(grid)
            title = f"{self.model.name} on {self.data.name}, epoch {done}"
            if self.density_1d:
                plotting.save_model_density_1d(self.model, self.data, samples, path,
                                               title=title)
            elif self.data.kind == "points":
                plotting.save_scatter(
                    samples, path, modes=self.data.modes, std=self.data.mode_std,
                    limit=self.limit, title=title)
            else:
                image = plotting.image_grid(samples, grid.rows)
                plotting.save_image(image, path, scale=max(1, 512 // max(image.shape[:2])))
            if not grid.name:
                self.last_path = path
            if self.writer is not None:
                image = tf.io.decode_png(tf.io.read_file(str(path)))
                with self.writer.as_default():
                    tf.summary.image(f"samples{suffix}", image[None], step=done)
                self.writer.flush()


class Evaluate(keras.callbacks.Callback):
    """Every `every` epochs (and after the last), add quality metrics to the epoch's logs.

    The metrics (`evaluation.SCALARS`, named `eval/<metric>`) then reach history.csv and
    TensorBoard through the callbacks after this one. The evaluator draws the same latents
    each time, so the values of different epochs are comparable.
    """

    PREFIX = "eval/"

    def __init__(self, evaluator, every: int):
        super().__init__()
        self.evaluator = evaluator
        self.every = every

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        if logs is None or (done % self.every and done != self.params.get("epochs")):
            return
        from tfgan_app import evaluation

        start = time.perf_counter()
        metrics = self.evaluator.evaluate_model(self.model)
        logs.update({self.PREFIX + k: v for k, v in evaluation.scalars(metrics).items()})
        logs[self.PREFIX + "seconds"] = round(time.perf_counter() - start, 3)


class HistoryCSV(keras.callbacks.Callback):
    """One row per finished epoch in `history.csv` (epoch, seconds, every logged value),
    and its curves in `history.png` every `plot_every` epochs and after the last.

    On resume, rows past the restored epoch (written before a crash, never checkpointed)
    are dropped, so the file never holds a duplicate epoch.
    """

    def __init__(self, path, initial_epoch: int = 0, plot_every: int = 0):
        super().__init__()
        self.path = Path(path)
        self.plot_every = plot_every  # also redraw history.png every N epochs and at the end
        self.rows = []
        if self.path.is_file():
            with open(self.path, newline="") as f:
                self.rows = [r for r in csv.DictReader(f) if int(r["epoch"]) <= initial_epoch]

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch + 1, "seconds": round(time.perf_counter() - self._start, 3)}
        row.update({k: float(v) for k, v in (logs or {}).items()})
        self.rows.append(row)
        self.write()
        done = epoch + 1
        if self.plot_every and (done % self.plot_every == 0 or done == self.params.get("epochs")):
            plotting.save_history_plot(self.path, self.path.with_name("history.png"),
                                       title=f"{self.model.name}: history")

    def write(self):
        columns = ["epoch", "seconds"]
        for row in self.rows:
            columns += [k for k in row if k not in columns]
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        files.write_text(self.path, buf.getvalue())


class TensorBoardScalars(keras.callbacks.Callback):
    """Every logged value as a TensorBoard scalar, stepped by epoch."""

    def __init__(self, writer):
        super().__init__()
        self.writer = writer

    def on_epoch_end(self, epoch, logs=None):
        with self.writer.as_default():
            for name, value in (logs or {}).items():
                tf.summary.scalar(name, float(value), step=epoch + 1)
        self.writer.flush()


def _unscaled(optimizer):
    return getattr(optimizer, "inner_optimizer", optimizer)


class Checkpointer:
    """Model, both optimizers and the finished-epoch count in one tf.train.Checkpoint.

    Restores from `directory`; saves there too, or to `save_dir` if given (a multi-worker
    non-chief: it must take part in every save but its copy is thrown away).
    """

    def __init__(self, directory, model, keep: int = 3, save_dir=None):
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        # The optimizers inside any float16 loss-scale wrapper: checkpoints then restore
        # with or without mixed precision (the loss scale re-adapts within a few steps).
        self.checkpoint = tf.train.Checkpoint(
            model=model, g_optimizer=_unscaled(model.g_optimizer),
            d_optimizer=_unscaled(model.d_optimizer), epoch=self.epoch)
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(directory),
                                                  max_to_keep=keep)
        self.save_manager = self.manager if save_dir is None else tf.train.CheckpointManager(
            self.checkpoint, str(save_dir), max_to_keep=1)

    def available(self) -> list[int]:
        """Epoch numbers of the checkpoints on disk, oldest first."""
        return [int(path.rsplit("-", 1)[1]) for path in self.manager.checkpoints]

    def restore(self, number: int | None = None) -> int:
        """Restore a checkpoint and return its epochs (0 if there is none yet).

        Args:
            number: the epoch of the checkpoint to restore; failing to restore it is a
                RunFailure. Default: the newest that restores. A checkpoint that fails
                (truncated or corrupt file: a full disk, a copy cut short) is skipped with
                a warning naming it, then the next older one is tried; RunFailure listing
                every failure if none restores.
        """
        directory = self.manager.directory
        if number is not None:
            if number not in self.available():
                have = ", ".join(map(str, self.available())) or "none"
                raise UsageError(f"no checkpoint {number} in {directory} "
                                 f"(available: {have})")
            path = f"{directory}/ckpt-{number}"
            try:
                return self._restore(path)
            except Exception as exc:
                if _other_network(exc):
                    raise _other_network_error(path, exc) from exc
                raise RunFailure(f"cannot restore checkpoint {path}: {describe(exc)}") from exc
        failures = []
        # The state file lists the kept checkpoints; TensorFlow leaves out of that list the
        # ones without a timestamp, never the newest (model_checkpoint_path).
        listed = self.manager.checkpoints
        latest = self.manager.latest_checkpoint
        newest_first = (listed + ([latest] if latest and latest not in listed else []))[::-1]
        for index, path in enumerate(newest_first):
            try:
                epoch = self._restore(path)
            except Exception as exc:
                failures.append((path, exc))
                log.warning("checkpoint %s does not restore (%s)%s", path, describe(exc),
                            "; trying the next older one" if index + 1 < len(newest_first)
                            else "")
                continue
            if failures:
                log.warning("restored the older checkpoint %s (epoch %d) instead", path, epoch)
            return epoch
        if failures and all(_other_network(exc) for _, exc in failures):
            raise _other_network_error(*failures[0]) from failures[0][1]
        if failures:
            tried = "; ".join(f"{path}: {describe(exc)}" for path, exc in failures)
            raise RunFailure(f"no checkpoint in {directory} restores (tried {tried}); move "
                             "the directory away to start over, or restore its checkpoints "
                             "from a backup") from failures[0][1]
        return 0

    def _restore(self, path: str) -> int:
        # A damaged file fails in many ways: IndexError ("Read less bytes than requested")
        # and ValueError from the reader, OpError (DataLoss, NotFound) from RestoreV2,
        # AssertionError when objects do not match. Restoring a complete checkpoint after
        # a failed one assigns every variable again (assert_existing_objects_matched:
        # none keeps a value from the failed attempt).
        self.checkpoint.restore(path).assert_existing_objects_matched()
        return int(self.epoch.numpy())

    def save(self, epochs_done: int) -> str:
        """Save the checkpoint of `epochs_done` epochs.

        CheckpointManager.save writes the new checkpoint completely (into ckpt-N_temp/,
        then merged and renamed), then lists it in the `checkpoint` state file, and only
        then deletes the ones past `keep`: a kill or a full disk at any moment leaves the
        previous checkpoint listed and whole.
        """
        self.epoch.assign(epochs_done)
        try:
            return self.save_manager.save(checkpoint_number=epochs_done)
        except (tf.errors.OpError, OSError) as exc:
            kept = self.save_manager.latest_checkpoint
            kept = (f"the last saved checkpoint ({kept}) is kept" if kept else
                    "no checkpoint was saved before it")
            raise RunFailure(
                f"cannot save checkpoint {self.save_manager.directory}/ckpt-{epochs_done}: "
                f"{describe(exc)}; {kept}, so fix that and run the same command again to "
                "resume") from exc


def _other_network(exc: BaseException) -> bool:
    """A whole checkpoint of other variables: a variable of another shape (ValueError) or
    one the checkpoint lacks (AssertionError), not a damaged file."""
    return isinstance(exc, AssertionError) or (
        isinstance(exc, ValueError) and "shape" in str(exc))


def _other_network_error(path: str, exc: BaseException) -> UsageError:
    # The saved config.yaml cannot always show it: "model.architecture: auto" means what
    # the variant chooses now (began runs before its own network became its default were
    # dcgan-shaped).
    return UsageError(
        f"cannot restore checkpoint {path}: this run was trained with another network than "
        "this configuration builds (e.g. a began run from before model.architecture=began "
        "became its default, or a wgan or wgan_gp run from before their critics' output "
        f"got its bias); use a new --output-dir. Details: {describe(exc)}")




class EpochCheckpoint(keras.callbacks.Callback):
    """Save a checkpoint after every epoch; the run resumes from the last one."""

    def __init__(self, checkpointer: Checkpointer):
        super().__init__()
        self.checkpointer = checkpointer

    def on_epoch_end(self, epoch, logs=None):
        self.checkpointer.save(epoch + 1)

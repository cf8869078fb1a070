"""How a run trains: the `train.*` keys, and the `RunPlan` they resolve to on this machine.

`TrainConfig` is what the user asks for (epochs, batch, optimizer, strategy name, precision
name, ...). `RunPlan` is what this process then does, resolved once at start-up: the
`tf.distribute` strategy, whether this process is the chief, the Keras dtype policy, XLA,
steps per epoch and steps per execution. Model building, fitting, checkpointing and
exporting all read the plan instead of re-deriving any of it.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import tensorflow as tf

from tfgan_app import distribute, performance
from tfgan_app.data.pipeline import steps_per_epoch
from tfgan_app.errors import ConfigError, UsageError
from tfgan_app.option import option


@dataclasses.dataclass
class TrainConfig:
    """How training runs (`train.*` keys)."""

    epochs: int = option(20, "total epochs; a resumed run continues up to this", min=1,
                         resumable=True)
    batch_size: int = option(64, "global batch size, split across replicas", min=1)
    steps_per_epoch: int = option(
        0, "training steps per epoch (0: one pass over the data); gives large datasets "
           "fixed-length epochs, so checkpoints, grids and evaluation come at a useful "
           "cadence", min=0)
    seed: int = option(0, "fixes initialization, data order, toy data and latents", min=0)
    optimizer: Literal["adam", "rmsprop", "sgd"] = option("adam", "optimizer for both nets")
    g_lr: float = option(2e-4, "generator learning rate", min=0.0)
    d_lr: float = option(2e-4, "discriminator learning rate", min=0.0)
    beta_1: float = option(0.5, "Adam beta_1", min=0.0, max=1.0)
    beta_2: float = option(0.999, "Adam beta_2", min=0.0, max=1.0)
    lr_decay: Literal["none", "linear", "cosine", "step"] = option(
        "none", "learning-rate schedule over train.epochs: constant, linear to 0 (as in "
                "the WGAN-GP code), cosine to 0, or step: halved every "
                "train.lr_step_epochs epochs (BEGAN's schedule)")
    lr_step_epochs: int = option(
        0, "lr_decay=step: epochs between halvings of both learning rates", min=0)
    lr_decay_start: float = option(
        0.0, "lr_decay=linear or cosine: the fraction of train.epochs at the constant "
             "rate before the decay to 0 begins (CycleGAN: 0.5, 100 epochs constant then "
             "100 decaying)", min=0.0, max=0.99)
    g_ema: float = option(
        0.0, "decay (below 1) of an exponential moving average of the generator's weights "
             "(Karras et al. 2018), warmed up over the first updates; the average then draws "
             "the samples, evaluations and exports; e.g. 0.999; 0: off", min=0.0)
    diffaugment: str = option(
        "", "DiffAugment (Zhao et al. 2020) policy for images: comma-separated subset of "
            "color, translation, cutout, applied to every discriminator input; \"\": off")
    diffaugment_fill: float = option(
        0.0, "train.diffaugment: the value of the pixels that translation shifts in and "
             "cutout covers; 0: the paper's (mid-grey in [-1, 1]); -1: black, the "
             "background of the digits and shapes", min=-1.0, max=1.0)
    strategy: Literal[distribute.STRATEGY_CHOICES] = option(
        "auto", "tf.distribute strategy; auto: tpu when a TPU is configured, mirrored on "
                "several GPUs, else default (one device)", resumable=True)
    tpu: str = option("", "--strategy tpu: TPU name or grpc:// address for the cluster "
                          "resolver; empty: the TPU of this TPU VM (or $TPU_NAME)",
                      resumable=True)
    precision: Literal[performance.PRECISIONS] = option(
        "float32", "compute dtype; mixed: bfloat16 on CPU and TPU, float16 with loss scaling "
                   "on GPU (variables, losses and outputs stay float32)", resumable=True)
    jit: Literal["auto", "on", "off"] = option(
        "auto", "XLA-compile the train step; auto: on with one GPU (and always on TPU), "
                "never on a CPU-only machine, where XLA's convolutions ran ~22x slower",
        resumable=True)
    steps_per_execution: int = option(
        1, "train steps per call into the TF runtime (less Python overhead for small "
           "models); lowered to a divisor of the steps per epoch", min=1, resumable=True)
    sample_every: int = option(1, "epochs between sample grids (the last is always drawn)",
                               min=1, resumable=True)
    keep_checkpoints: int = option(3, "checkpoints kept in checkpoints/", min=1,
                                   resumable=True)
    eval_every: int = option(10, "epochs between quality evaluations (metrics into "
                                 "history.csv and TensorBoard; the last epoch is always "
                                 "evaluated); 0: off", min=0, resumable=True)
    eval_samples: int = option(0, "samples per evaluation; 0: 2500 for toy data (the "
                                  "PacGAN protocol), 2000 for images, 1000 examples for "
                                  "image-to-image (at most the data's)", min=0,
                               resumable=True)
    export: bool = option(True, "after training, export the generator to export/ "
                                "(SavedModel and TFLite)", resumable=True)


@dataclasses.dataclass(frozen=True)
class RunPlan:
    """What this process does for a run, resolved once (see `make_plan`)."""

    strategy: tf.distribute.Strategy
    chief: bool  # writes the run's files (only multi-worker runs have non-chiefs)
    precision: str  # a Keras dtype policy: float32, mixed_bfloat16 or mixed_float16
    jit: bool  # XLA-compile the train step
    steps_per_epoch: int
    steps_per_execution: int  # a divisor of steps_per_epoch
    requested_steps_per_execution: int = 1  # train.steps_per_execution as given
    real_batches: int = 1  # real batches each step reads (the variant's critic updates)

    @property
    def replicas(self) -> int:
        return self.strategy.num_replicas_in_sync

    def describe(self) -> str:
        """E.g. 'default strategy (1 device); float32, 28 steps per execution'."""
        speed = [self.precision] + (["XLA"] if self.jit else [])
        if self.requested_steps_per_execution > 1:
            lowered = self.steps_per_execution != self.requested_steps_per_execution
            speed.append(f"{self.steps_per_execution} steps per execution" + (
                f" (lowered from {self.requested_steps_per_execution} to divide the "
                f"{self.steps_per_epoch} steps per epoch)" if lowered else ""))
        return f"{distribute.describe(self.strategy)}; {', '.join(speed)}"


def make_plan(tc: TrainConfig, data, *, strategy=None, pack: int = 1,
              real_batches: int = 1) -> RunPlan:
    """Resolve `tc` on this machine into a `RunPlan`.

    Args:
      tc: the run's `train.*` keys.
      data: the training `Dataset` (its size sets the steps per epoch).
      strategy: an existing strategy; None creates the one `tc.strategy` names. Create it
        before TensorFlow runs any op when it is multi-worker (`distribute.multi_worker`).
      pack: `model.pack`, which must divide the per-replica batch.
      real_batches: real batches of `tc.batch_size` each step reads (a critic with fresh
        batches: its updates per step); the steps per epoch do not change with it.
    """
    strategy = strategy or distribute.make_strategy(tc.strategy, tpu=tc.tpu)
    replicas = strategy.num_replicas_in_sync
    if tc.batch_size % replicas:
        raise UsageError(f"train.batch_size={tc.batch_size} must be divisible by the "
                         f"{replicas} replicas")
    if tc.lr_decay == "step" and not tc.lr_step_epochs:
        raise ConfigError("train.lr_decay=step needs train.lr_step_epochs > 0 (the epochs "
                          "between halvings of the learning rates)")
    if tc.lr_decay_start and tc.lr_decay not in ("linear", "cosine"):
        raise ConfigError(f"train.lr_decay_start={tc.lr_decay_start} delays a linear or "
                          f"cosine decay, but train.lr_decay={tc.lr_decay}")
    per_replica = tc.batch_size // replicas
    if per_replica % pack:
        raise UsageError(f"model.pack={pack} must divide the per-replica batch "
                         f"({per_replica} = train.batch_size {tc.batch_size} / "
                         f"{replicas} replicas)")
    steps = steps_per_epoch(data, tc.batch_size, tc.steps_per_epoch, real_batches)
    return RunPlan(
        strategy=strategy, chief=distribute.is_chief(strategy),
        precision=performance.resolve_precision(tc.precision, strategy),
        jit=performance.resolve_jit(tc.jit, strategy), steps_per_epoch=steps,
        steps_per_execution=performance.resolve_steps_per_execution(
            tc.steps_per_execution, steps),
        requested_steps_per_execution=tc.steps_per_execution, real_batches=real_batches)


def local_plan(tc: TrainConfig, data, real_batches: int = 1) -> RunPlan:
    """One device, float32, no XLA: for rebuilding a run's model to export or evaluate."""
    steps = steps_per_epoch(data, tc.batch_size, tc.steps_per_epoch, real_batches)
    return RunPlan(strategy=tf.distribute.get_strategy(), chief=True, precision="float32",
                   jit=False, steps_per_epoch=steps, steps_per_execution=1,
                   real_batches=real_batches)

"""Train a variant into a run directory, resuming from its last checkpoint.

Run directory layout:
    config.yaml             the resolved configuration
    samples/epoch_NNNN.png  sample grid (or scatter plot) from fixed latents
    checkpoints/            tf.train checkpoints, one per finished epoch (newest kept)
    logs/                   TensorBoard scalars and sample images
    history.csv             one row per finished epoch (losses, eval/ quality metrics)
    history.png             its curves
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable, Literal

import keras
import tensorflow as tf
import yaml

from tfgan_app import callbacks as cb
from tfgan_app import distribute, files, performance, registry, runlock
from tfgan_app.config import RunConfig, load_yaml, option, resolve_config
from tfgan_app.data import load_from_config
from tfgan_app.data.pipeline import steps_per_epoch, training_batches
from tfgan_app.errors import UsageError
from tfgan_app.export import ExportResult, export_generator


@dataclasses.dataclass
class TrainConfig:
    """How training runs (`train.*` keys)."""

    epochs: int = option(20, "total epochs; a resumed run continues up to this", min=1)
    batch_size: int = option(64, "global batch size, split across replicas", min=1)
    seed: int = option(0, "fixes initialization, data order, toy data and latents", min=0)
    optimizer: Literal["adam", "rmsprop", "sgd"] = option("adam", "optimizer for both nets")
    g_lr: float = option(2e-4, "generator learning rate", min=0.0)
    d_lr: float = option(2e-4, "discriminator learning rate", min=0.0)
    beta_1: float = option(0.5, "Adam beta_1", min=0.0, max=1.0)
    beta_2: float = option(0.999, "Adam beta_2", min=0.0, max=1.0)
    lr_decay: Literal["none", "linear", "cosine"] = option(
        "none", "learning-rate schedule over train.epochs: constant, linear to 0 (as in "
                "the WGAN-GP code) or cosine to 0")
    strategy: Literal[distribute.STRATEGY_CHOICES] = option(
        "auto", "tf.distribute strategy; auto: tpu when a TPU is configured, mirrored on "
                "several GPUs, else default (one device)")
    tpu: str = option("", "--strategy tpu: TPU name or grpc:// address for the cluster "
                          "resolver; empty: the TPU of this TPU VM (or $TPU_NAME)")
    precision: Literal[performance.PRECISIONS] = option(
        "float32", "compute dtype; mixed: bfloat16 on CPU and TPU, float16 with loss scaling "
                   "on GPU (variables, losses and outputs stay float32)")
    jit: Literal["auto", "on", "off"] = option(
        "auto", "XLA-compile the train step; auto: on with one GPU (and always on TPU), "
                "never on a CPU-only machine, where XLA's convolutions ran ~22x slower")
    steps_per_execution: int = option(
        1, "train steps per call into the TF runtime (less Python overhead for small "
           "models); lowered to a divisor of the steps per epoch", min=1)
    sample_every: int = option(1, "epochs between sample grids (the last is always drawn)",
                               min=1)
    keep_checkpoints: int = option(3, "checkpoints kept in checkpoints/", min=1)
    eval_every: int = option(10, "epochs between quality evaluations (metrics into "
                                 "history.csv and TensorBoard; the last epoch is always "
                                 "evaluated); 0: off", min=0)
    eval_samples: int = option(0, "samples per evaluation; 0: 2500 for toy data (the "
                                  "PacGAN protocol), 2000 for images", min=0)
    export: bool = option(True, "after training, export the generator to export/ "
                                "(SavedModel and TFLite)")


# Keys a resumed run may change; any other difference would not continue the same run.
RESUMABLE_KEYS = {"train.epochs", "train.strategy", "train.tpu", "train.sample_every",
                  "train.keep_checkpoints", "train.export", "train.eval_every",
                  "train.eval_samples", "train.precision", "train.jit",
                  "train.steps_per_execution"}


@dataclasses.dataclass
class TrainResult:
    run_dir: Path
    initial_epoch: int  # epochs already done when this call started
    epochs_done: int
    seconds: float
    last_sample: Path | None
    history: dict  # metric -> per-epoch values of this call
    export: ExportResult | None = None


def make_optimizer(cfg: TrainConfig, learning_rate: float, total_updates: int = 0):
    """The optimizer of one network; `total_updates` (over train.epochs) sets the decay."""
    if cfg.lr_decay != "none" and total_updates > 0:
        if cfg.lr_decay == "linear":
            learning_rate = keras.optimizers.schedules.PolynomialDecay(
                learning_rate, total_updates, end_learning_rate=0.0, power=1.0)
        else:
            learning_rate = keras.optimizers.schedules.CosineDecay(learning_rate,
                                                                   total_updates)
    if cfg.optimizer == "adam":
        return keras.optimizers.Adam(learning_rate, beta_1=cfg.beta_1, beta_2=cfg.beta_2)
    if cfg.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate)
    return keras.optimizers.SGD(learning_rate)


def _flatten(tree: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def check_resumable(run_dir: Path, cfg: RunConfig):
    """Refuse to continue a run whose saved config differs in a key that matters."""
    saved_path = run_dir / "config.yaml"
    if not saved_path.is_file() or not (run_dir / "checkpoints" / "checkpoint").is_file():
        return
    try:
        saved = _flatten(yaml.safe_load(saved_path.read_text()) or {})
    except (yaml.YAMLError, AttributeError) as exc:
        raise UsageError(f"{saved_path} is not a valid run config ({exc}); use a new "
                         "--output-dir or restore that file") from None
    new = _flatten(cfg.to_dict())
    # A key added to the app after the run started ran with its code default.
    defaults = _flatten(RunConfig(cfg.variant, *(type(getattr(cfg, name))() for name in
                                                 ("data", "model", "train", "options"))
                                  ).to_dict())
    changed = sorted(k for k in set(saved) | set(new)
                     if k not in RESUMABLE_KEYS and saved.get(k, defaults.get(k)) != new.get(k))
    if changed:
        details = ", ".join(f"{k}: {saved.get(k)!r} -> {new.get(k)!r}" for k in changed[:6])
        raise UsageError(
            f"{run_dir} holds a run with a different configuration ({details}); resume it "
            "with the same settings, or pass a new --output-dir to start another run")


def load_data(cfg: RunConfig):
    """The dataset as `cfg.variant` trains on it, and the variant class."""
    data = load_from_config(cfg.data, seed=cfg.train.seed)
    variant_cls = registry.get_variant(cfg.variant)
    if variant_cls.conditional and not data.num_classes:
        raise UsageError(f"variant {cfg.variant} needs class labels, but dataset "
                         f"{data.name} has none")
    return variant_cls.prepare_data(data, cfg.options, cfg.train.seed), variant_cls


def build_model(cfg: RunConfig, data, variant_cls, run_dir: Path,
                checkpoint: int | None = None, *, precision: str = "float32",
                jit_compile: bool = False, steps_per_execution: int = 1,
                save_dir: Path | None = None):
    """Model, optimizers and checkpoint manager, built in the current strategy's scope
    and the current Keras dtype policy (`precision`, resolved). Checkpoints are restored
    from `run_dir`/checkpoints and saved there, or to `save_dir` (multi-worker non-chiefs).

    Returns (model, checkpointer, epochs done by the restored checkpoint; 0 if none).
    """
    tc = cfg.train
    model = variant_cls.from_run_config(cfg, data)
    g_updates = tc.epochs * steps_per_epoch(data, tc.batch_size)
    d_updates = g_updates * getattr(cfg.options, "d_steps", 1)
    model.compile(
        g_optimizer=performance.wrap_optimizer(make_optimizer(tc, tc.g_lr, g_updates),
                                               precision),
        d_optimizer=performance.wrap_optimizer(make_optimizer(tc, tc.d_lr, d_updates),
                                               precision),
        jit_compile=jit_compile, steps_per_execution=steps_per_execution)
    model.build_optimizers()
    checkpointer = cb.Checkpointer(run_dir / "checkpoints", model, tc.keep_checkpoints,
                                   save_dir=save_dir)
    return model, checkpointer, checkpointer.restore(checkpoint)


@dataclasses.dataclass
class LoadedRun:
    cfg: RunConfig
    data: object  # data.Dataset
    model: keras.Model
    epoch: int  # epochs finished by the restored checkpoint


def load_run(run_dir, checkpoint: int | None = None) -> LoadedRun:
    """Rebuild a run's model from its config.yaml and restore a checkpoint (default: newest).

    Expected problems (no such run, no config, no checkpoint yet) raise UsageError.
    """
    run_dir = Path(run_dir)
    config_path = run_dir / "config.yaml"
    if not run_dir.is_dir():
        raise UsageError(f"run directory {run_dir} does not exist")
    if not config_path.is_file():
        raise UsageError(f"{run_dir} has no config.yaml: not a run directory made by "
                         "python -m tfgan_app.train")
    saved = load_yaml(config_path)
    variant = saved.get("variant") if isinstance(saved, dict) else None
    if not isinstance(variant, str):
        raise UsageError(f"{config_path} names no variant (expected a 'variant:' key)")
    cfg = resolve_config(variant, config_file=config_path)
    if not (run_dir / "checkpoints" / "checkpoint").is_file():
        raise UsageError(f"{run_dir} has no checkpoint yet: train at least one epoch first "
                         f"(python -m tfgan_app.train --variant {variant} "
                         f"--output-dir {run_dir})")
    keras.utils.set_random_seed(cfg.train.seed)
    data, variant_cls = load_data(cfg)
    model, _, epoch = build_model(cfg, data, variant_cls, run_dir, checkpoint)
    return LoadedRun(cfg, data, model, epoch)


def train(cfg: RunConfig, run_dir, *, strategy: tf.distribute.Strategy | None = None,
          verbose: int | str = "auto", echo: Callable[[str], None] = print) -> TrainResult:
    """Train `cfg.variant` into `run_dir`, resuming if it holds a checkpoint.

    Under multi-worker training every worker runs this with the same `run_dir` (a shared
    filesystem): all restore the chief's newest checkpoint, only the chief writes the run's
    files, and the others save their (identical) checkpoints to a temporary directory, as
    the collective save requires, and delete it at the end. A run directory that another
    process writes is refused with a UsageError (runlock.py).
    """
    run_dir = Path(run_dir)
    tc = cfg.train
    # First: multi-worker strategies must exist before TensorFlow runs any op.
    strategy = strategy or distribute.make_strategy(tc.strategy, tpu=tc.tpu)
    with runlock.hold(run_dir, runlock.task_of(strategy)):  # one writer per run directory
        return _train_locked(cfg, run_dir, strategy, verbose, echo)


def _train_locked(cfg, run_dir, strategy, verbose, echo) -> TrainResult:
    tc = cfg.train
    chief = distribute.is_chief(strategy)
    check_resumable(run_dir, cfg)
    keras.utils.set_random_seed(tc.seed)
    data, variant_cls = load_data(cfg)
    steps = steps_per_epoch(data, tc.batch_size)
    if tc.batch_size % strategy.num_replicas_in_sync:
        raise UsageError(f"train.batch_size={tc.batch_size} must be divisible by the "
                         f"{strategy.num_replicas_in_sync} replicas")
    per_replica = tc.batch_size // strategy.num_replicas_in_sync
    if per_replica % cfg.model.pack:
        raise UsageError(f"model.pack={cfg.model.pack} must divide the per-replica batch "
                         f"({per_replica} = train.batch_size {tc.batch_size} / "
                         f"{strategy.num_replicas_in_sync} replicas)")
    precision = performance.resolve_precision(tc.precision, strategy)
    jit_compile = performance.resolve_jit(tc.jit, strategy)
    per_execution = performance.resolve_steps_per_execution(tc.steps_per_execution, steps)
    scratch = None if chief else Path(tempfile.mkdtemp(prefix="tfgan_worker_"))
    try:
        with performance.dtype_policy(precision), strategy.scope():
            model, checkpointer, initial_epoch = build_model(
                cfg, data, variant_cls, run_dir, precision=precision,
                jit_compile=jit_compile, steps_per_execution=per_execution,
                save_dir=scratch and scratch / "checkpoints")
        if chief:
            files.write_text(run_dir / "config.yaml", cfg.to_yaml())
        else:
            echo = lambda _: None  # noqa: E731 (the chief reports)
            verbose = 0
        return _fit(cfg, run_dir, model, checkpointer, initial_epoch, data, steps, chief,
                    strategy, precision, jit_compile, per_execution, verbose, echo)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def _fit(cfg, run_dir, model, checkpointer, initial_epoch, data, steps, chief, strategy,
         precision, jit_compile, per_execution, verbose, echo) -> TrainResult:
    tc = cfg.train
    shape = "x".join(map(str, data.shape))
    classes = f", {data.num_classes} classes" if data.num_classes else ""
    speed = [precision] + (["XLA"] if jit_compile else [])
    if tc.steps_per_execution > 1:
        speed.append(f"{per_execution} steps per execution" + (
            f" (lowered from {tc.steps_per_execution} to divide the {steps} steps per epoch)"
            if per_execution != tc.steps_per_execution else ""))
    echo(f"{cfg.variant} on {data.name} ({data.num_examples} examples, {shape}{classes}); "
         f"{distribute.describe(strategy)}; {', '.join(speed)}; run dir {run_dir}")
    if initial_epoch >= tc.epochs:
        echo(f"already trained {initial_epoch} of {tc.epochs} epochs; nothing to do "
             "(raise --epochs to continue)")
        result = TrainResult(run_dir, initial_epoch, initial_epoch, 0.0, None, {})
        if (chief and tc.export
                and not (run_dir / "export" / cfg.variant / str(initial_epoch)).is_dir()):
            result.export = _export(model, cfg, data, run_dir, initial_epoch, echo)
        return result
    if initial_epoch:
        echo(f"resuming after epoch {initial_epoch} of {tc.epochs}")

    callbacks = [cb.NaNGuard()]  # first: a non-finite epoch must not be saved
    writer = samples = None
    if chief:
        evaluator = make_evaluator(cfg, data, echo)
        writer = tf.summary.create_file_writer(str(run_dir / "logs"))
        samples = cb.SampleGrid(run_dir / "samples", data, seed=tc.seed,
                                every=tc.sample_every, writer=writer)
        callbacks += [
            samples,
            *([cb.Evaluate(evaluator, tc.eval_every)] if evaluator else []),  # adds to logs
            cb.TensorBoardScalars(writer),
            cb.HistoryCSV(run_dir / "history.csv", initial_epoch,  # before the checkpoint
                          plot_every=tc.eval_every or tc.sample_every),
        ]
    callbacks.append(cb.EpochCheckpoint(checkpointer))
    batches = training_batches(data, batch_size=tc.batch_size, seed=tc.seed,
                               first_epoch=initial_epoch, last_epoch=tc.epochs)
    start = time.perf_counter()
    try:
        history = model.fit(batches, epochs=tc.epochs, initial_epoch=initial_epoch,
                            steps_per_epoch=steps, callbacks=callbacks, verbose=verbose,
                            shuffle=False)  # the pipeline already permutes each epoch
    finally:
        if writer is not None:
            writer.close()
    seconds = time.perf_counter() - start
    done = tc.epochs
    last = samples.last_path if samples else None
    echo(f"trained epochs {initial_epoch + 1}-{done} in {seconds:.1f}s "
         f"({(done - initial_epoch) * steps / seconds:.1f} steps/s); last samples: {last}")
    result = TrainResult(run_dir, initial_epoch, done, seconds, last, history.history)
    if chief and tc.export:
        result.export = _export(model, cfg, data, run_dir, done, echo)
    return result


def make_evaluator(cfg: RunConfig, data, echo):
    """The run's evaluator, or None when evaluation is off or impossible for this data.

    Call it outside the strategy scope (it may train the dataset's domain classifier).
    """
    if not cfg.train.eval_every:
        return None
    from tfgan_app.evaluation import Evaluator

    evaluator = Evaluator(data, num_samples=cfg.train.eval_samples or None,
                          seed=cfg.train.seed, echo=echo)
    if not evaluator.available:
        echo(f"no quality metrics during training: {evaluator.reason}")
        return None
    return evaluator


def _export(model, cfg: RunConfig, data, run_dir: Path, version: int, echo) -> ExportResult:
    # Export a plain float32 copy: no distributed variables (a multi-worker or TPU save
    # would need every worker), and under mixed precision the float32 network its float32
    # variables belong to (TFLite converts it as such).
    with performance.dtype_policy("float32"):
        plain = registry.get_variant(cfg.variant).from_run_config(cfg, data)
    plain.generator.set_weights(model.generator.get_weights())
    model = plain
    exported = export_generator(model, run_dir / "export", kind=data.kind, shape=data.shape,
                                version=version, dataset=data.name, epoch=version)
    echo(f"exported SavedModel {exported.saved_model} and TFLite "
         f"{exported.tflite['none'].path} (max abs error vs Keras: SavedModel "
         f"{exported.saved_model_max_abs_error:.1e}, LiteRT "
         f"{exported.tflite_max_abs_error:.1e}) in {exported.seconds:.1f}s; quantized "
         f"TFLite: python -m tfgan_app.export --run-dir {run_dir} --quantize all")
    return exported

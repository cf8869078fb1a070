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
from collections.abc import Callable
from pathlib import Path

import keras
import tensorflow as tf
import yaml

from tfgan_app import callbacks as cb
from tfgan_app import distribute, files, performance, registry, runlock
from tfgan_app.config import RunConfig, load_yaml, resolve_config
from tfgan_app.data import PAIRED_SPECS, UNALIGNED_SPECS, load_from_config
from tfgan_app.data.pipeline import distributed_batches
from tfgan_app.errors import UsageError
from tfgan_app.export import ExportResult, export_generator
from tfgan_app.plan import RunPlan, TrainConfig, local_plan, make_plan

# Examples of the data an export is calibrated (int8) and checked on, for the variants
# whose inputs come from data (image-to-image).
EXPORT_EXAMPLES = 256


@dataclasses.dataclass
class TrainResult:
    run_dir: Path
    initial_epoch: int  # epochs already done when this call started
    epochs_done: int
    seconds: float
    last_sample: Path | None
    history: dict  # metric -> per-epoch values of this call
    export: ExportResult | None = None


@keras.saving.register_keras_serializable(package="tfgan_app")
class DelayedDecay(keras.optimizers.schedules.LearningRateSchedule):
    """`decay` (a schedule starting at the initial rate) begun after `hold` steps at the
    initial rate (train.lr_decay_start)."""

    def __init__(self, decay, hold: int):
        self.decay = decay
        self.hold = int(hold)

    def __call__(self, step):
        return self.decay(keras.ops.maximum(step - self.hold, 0))

    def get_config(self):
        return {"decay": keras.saving.serialize_keras_object(self.decay), "hold": self.hold}

    @classmethod
    def from_config(cls, config):
        return cls(keras.saving.deserialize_keras_object(config["decay"]), config["hold"])


def make_optimizer(cfg: TrainConfig, learning_rate: float, total_updates: int = 0):
    """The optimizer of one network; `total_updates` (over train.epochs) sets the decay."""
    if cfg.lr_decay != "none" and total_updates > 0:
        hold = int(total_updates * cfg.lr_decay_start)
        if cfg.lr_decay == "step":
            per_epoch = total_updates // cfg.epochs  # this network's updates per epoch
            learning_rate = keras.optimizers.schedules.ExponentialDecay(
                learning_rate, per_epoch * cfg.lr_step_epochs, 0.5, staircase=True)
        elif cfg.lr_decay == "linear":
            learning_rate = keras.optimizers.schedules.PolynomialDecay(
                learning_rate, total_updates - hold, end_learning_rate=0.0, power=1.0)
        else:
            learning_rate = keras.optimizers.schedules.CosineDecay(learning_rate,
                                                                   total_updates - hold)
        if hold and cfg.lr_decay != "step":
            learning_rate = DelayedDecay(learning_rate, hold)
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
    old = {**_flatten(RunConfig.defaults(cfg.variant).to_dict()), **saved}
    resumable = cfg.resumable_keys()
    changed = sorted(k for k in set(old) | set(new)
                     if k not in resumable and old.get(k) != new.get(k))
    if changed:
        details = ", ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in changed[:6])
        raise UsageError(
            f"{run_dir} holds a run with a different configuration ({details}); resume it "
            "with the same settings, or pass a new --output-dir to start another run")


def check_pairing(variant_cls, data):
    """Refuse data whose pairing (`Dataset.pair`) the variant does not train on
    (`GANModel.takes_pairs`), naming the variants or datasets that fit."""
    wants, pair, name = variant_cls.takes_pairs, data.pair, variant_cls.variant_name
    if wants is None and pair is None or (wants == "any" and pair is not None) or (
            wants == "aligned" and pair is not None and pair.aligned):
        return
    if wants is None:
        takers = [n for n in registry.variant_names() if registry.get_variant(n).takes_pairs]
        raise UsageError(
            f"dataset {data.name} is paired (each example a source and a target image, "
            f"{pair.source_channels}+{pair.target_channels} channels) and variant {name} "
            f"trains on single images; variants that take paired data: "
            f"{', '.join(takers) or 'none registered'}")
    specs = [s for s in PAIRED_SPECS if wants == "any" or s not in UNALIGNED_SPECS]
    what = "single examples" if pair is None else "unaligned pairs (no ground truth)"
    raise UsageError(f"variant {name} trains on {'aligned ' if wants == 'aligned' else ''}"
                     f"paired data, but dataset {data.name} has {what}; paired datasets: "
                     f"{', '.join(specs)}")


def load_data(cfg: RunConfig):
    """The dataset as `cfg.variant` trains on it, and the variant class."""
    data = load_from_config(cfg.data, seed=cfg.train.seed)
    variant_cls = registry.get_variant(cfg.variant)
    if variant_cls.conditional and not data.num_classes:
        raise UsageError(f"variant {cfg.variant} needs class labels, but dataset "
                         f"{data.name} has none")
    check_pairing(variant_cls, data)
    return variant_cls.prepare_data(data, cfg.options, cfg.train.seed), variant_cls


def build_model(cfg: RunConfig, data, plan: RunPlan):
    """The variant's model with compiled, built optimizers, under the plan's strategy scope
    and Keras dtype policy (mixed precision wraps float16 optimizers in loss scaling)."""
    tc = cfg.train
    g_updates = tc.epochs * plan.steps_per_epoch
    d_updates = g_updates * getattr(cfg.options, "d_steps", 1)
    with performance.dtype_policy(plan.precision), plan.strategy.scope():
        model = registry.get_variant(cfg.variant).from_run_config(cfg, data)
        model.compile(
            g_optimizer=performance.wrap_optimizer(make_optimizer(tc, tc.g_lr, g_updates),
                                                   plan.precision),
            d_optimizer=performance.wrap_optimizer(make_optimizer(tc, tc.d_lr, d_updates),
                                                   plan.precision),
            jit_compile=plan.jit, steps_per_execution=plan.steps_per_execution)
        model.build_optimizers()
    return model


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
    plan = local_plan(cfg.train, data, variant_cls.real_batches_per_step(cfg.options))
    model = build_model(cfg, data, plan)
    epoch = cb.Checkpointer(run_dir / "checkpoints", model).restore(checkpoint)
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
        check_resumable(run_dir, cfg)
        keras.utils.set_random_seed(tc.seed)
        data, variant_cls = load_data(cfg)
        plan = make_plan(tc, data, strategy=strategy, pack=cfg.model.pack,
                         real_batches=variant_cls.real_batches_per_step(cfg.options))
        return _Run(cfg, data, plan, run_dir, echo).train(verbose)


@dataclasses.dataclass
class _Run:
    """What one call of `train` fits: config, data, plan, run directory and reporter."""

    cfg: RunConfig
    data: object  # data.Dataset
    plan: RunPlan
    run_dir: Path
    echo: Callable[[str], None]

    def train(self, verbose) -> TrainResult:
        """Build the model, restore the newest checkpoint, fit, export."""
        tc = self.cfg.train
        scratch = None if self.plan.chief else Path(tempfile.mkdtemp(prefix="tfgan_worker_"))
        try:
            model = build_model(self.cfg, self.data, self.plan)
            with self.plan.strategy.scope():
                checkpointer = cb.Checkpointer(self.run_dir / "checkpoints", model,
                                               tc.keep_checkpoints,
                                               save_dir=scratch and scratch / "checkpoints")
                initial_epoch = checkpointer.restore()
            if self.plan.chief:
                files.write_text(self.run_dir / "config.yaml", self.cfg.to_yaml())
            else:
                self.echo = lambda _: None  # the chief reports
                verbose = 0
            return self.fit(model, checkpointer, initial_epoch, verbose)
        finally:
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)

    def fit(self, model, checkpointer, initial_epoch: int, verbose) -> TrainResult:
        tc = self.cfg.train
        self.report_start()
        if initial_epoch >= tc.epochs:
            return self.nothing_to_do(model, initial_epoch)
        if initial_epoch:
            self.echo(f"resuming after epoch {initial_epoch} of {tc.epochs}")
        writer = tf.summary.create_file_writer(str(self.run_dir / "logs")) \
            if self.plan.chief else None
        callbacks, samples = self.callbacks(model, writer, checkpointer, initial_epoch)
        steps = self.plan.steps_per_epoch
        batches = distributed_batches(self.plan.strategy, self.data, batch_size=tc.batch_size,
                                      seed=tc.seed, first_step=initial_epoch * steps,
                                      last_step=tc.epochs * steps,
                                      group=self.plan.real_batches)
        start = time.perf_counter()
        try:
            history = model.fit(batches, epochs=tc.epochs, initial_epoch=initial_epoch,
                                steps_per_epoch=self.plan.steps_per_epoch,
                                callbacks=callbacks, verbose=verbose,
                                shuffle=False)  # the pipeline already permutes each epoch
        finally:
            if writer is not None:
                writer.close()
        seconds = time.perf_counter() - start
        last = samples.last_path if samples else None
        steps = (tc.epochs - initial_epoch) * self.plan.steps_per_epoch
        self.echo(f"trained epochs {initial_epoch + 1}-{tc.epochs} in {seconds:.1f}s "
                  f"({steps / seconds:.1f} steps/s); last samples: {last}")
        result = TrainResult(self.run_dir, initial_epoch, tc.epochs, seconds, last,
                             history.history)
        if self.plan.chief and tc.export:
            result.export = self.export(model, tc.epochs)
        return result

    def report_start(self):
        data = self.data
        shape = "x".join(map(str, data.shape))
        classes = f", {data.num_classes} classes" if data.num_classes else ""
        self.echo(f"{self.cfg.variant} on {data.name} ({data.num_examples} examples, "
                  f"{shape}{classes}); {self.plan.describe()}; run dir {self.run_dir}")

    def nothing_to_do(self, model, epoch: int) -> TrainResult:
        """A run already trained to train.epochs: export it if that has not happened yet."""
        tc = self.cfg.train
        self.echo(f"already trained {epoch} of {tc.epochs} epochs; nothing to do "
                  "(raise --epochs to continue)")
        result = TrainResult(self.run_dir, epoch, epoch, 0.0, None, {})
        exported = (self.run_dir / "export" / self.cfg.variant / str(epoch)).is_dir()
        if self.plan.chief and tc.export and not exported:
            result.export = self.export(model, epoch)
        return result

    def callbacks(self, model, writer, checkpointer, initial_epoch: int):
        """(the fit callbacks in order, the SampleGrid or None on non-chief workers)."""
        tc = self.cfg.train
        callbacks = [cb.NaNGuard()]  # first: a non-finite epoch must not be saved
        samples = None
        if self.plan.chief:
            evaluator = make_evaluator(self.cfg, self.data, model, self.echo)
            samples = cb.SampleGrid(self.run_dir / "samples", self.data, seed=tc.seed,
                                    every=tc.sample_every, writer=writer)
            callbacks += [
                samples,
                *([cb.Evaluate(evaluator, tc.eval_every)] if evaluator else []),  # adds logs
                cb.TensorBoardScalars(writer),
                cb.HistoryCSV(self.run_dir / "history.csv", initial_epoch,  # before the ckpt
                              plot_every=tc.eval_every or tc.sample_every),
            ]
        callbacks.append(cb.EpochCheckpoint(checkpointer))
        return callbacks, samples

    def export(self, model, version: int) -> ExportResult:
        """Export the generator into the run's export/ and report the errors measured."""
        # Export a plain float32 copy: no distributed variables (a multi-worker or TPU save
        # would need every worker), and under mixed precision the float32 network its
        # float32 variables belong to (TFLite converts it as such).
        with performance.dtype_policy("float32"):
            plain = registry.get_variant(self.cfg.variant).from_run_config(self.cfg, self.data)
        # The generator samples come from (the moving average under train.g_ema), and any
        # other network the export holds.
        for copy, trained in zip(plain.exported_networks(), model.exported_networks()):
            copy.set_weights(trained.get_weights())
        data = self.data
        exported = export_generator(
            plain, self.run_dir / "export", kind=data.kind,
            shape=plain.exported_shape(data.shape), version=version, dataset=data.name,
            epoch=version, data_shape=list(data.shape), seed=self.cfg.train.seed,
            examples=plain.serving_examples(data, EXPORT_EXAMPLES, self.cfg.train.seed))
        self.echo(f"exported SavedModel {exported.saved_model} and TFLite "
                  f"{exported.tflite['none'].path} (max abs error vs Keras: SavedModel "
                  f"{exported.saved_model_max_abs_error:.1e}, LiteRT "
                  f"{exported.tflite_max_abs_error:.1e}) in {exported.seconds:.1f}s; "
                  f"quantized TFLite: python -m tfgan_app.export --run-dir {self.run_dir} "
                  "--quantize all")
        return exported


def make_evaluator(cfg: RunConfig, data, model, echo):
    """The run's evaluator for `model`, or None when evaluation is off or impossible for
    this data.

    Call it outside the strategy scope (it may train the dataset's domain classifier).
    """
    if not cfg.train.eval_every:
        return None
    from tfgan_app import evaluation

    evaluator = evaluation.for_model(model, data, num_samples=cfg.train.eval_samples or None,
                                     seed=cfg.train.seed, echo=echo)
    if not evaluator.available:
        echo(f"no quality metrics during training: {evaluator.reason}")
        return None
    return evaluator

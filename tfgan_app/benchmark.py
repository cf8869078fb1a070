"""python -m tfgan_app.benchmark --variant V: training throughput on this machine.

Times `--steps` training steps (one step: the variant's discriminator updates and one
generator update on one global batch) after `--warmup` untimed ones, through `model.fit`
with the same model, precision, XLA setting, strategy and input pipeline as
`python -m tfgan_app.train`. Prints one line per timed step and, last, one JSON object:
images_per_sec, step_ms (mean; also the median), flops_per_step (TensorFlow's op-level
count of the traced step), the achieved GFLOP/s, this machine's matmul peak measured in the
same process for the compute dtype, and their ratio, plus how fast the input pipeline alone
delivers batches.

`--preset kerasio` trains the keras.io WGAN-GP example's setting (its 28x28 networks,
latent 128, Adam(2e-4, 0.5, 0.9), 3 critic steps). The maintainers' script
tools/benchmark_baseline.py times that example's own `train_step` on the same networks,
data and batch through `run_benchmark`: the reference the app's `wgan_gp` is compared with.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import keras
import tensorflow as tf

from tfgan_app import cli

EPILOG = """\
examples:
  python -m tfgan_app.benchmark --variant dcgan --batch-size 64 --steps 50
  python -m tfgan_app.benchmark --variant dcgan --batch-size 64 --steps 50 --mixed-precision
  python -m tfgan_app.benchmark --variant wgan_gp --preset kerasio --batch-size 512 --steps 5 \\
      --mixed-precision
  python -m tfgan_app.benchmark --variant gan --dataset ring --steps-per-execution 12

The last line is one JSON object (images_per_sec, step_ms, flops_per_step, peak_fraction,
...). Exit codes: 0 ok, 1 runtime failure, 2 bad usage.
"""


def kerasio_sets(variant: str) -> list[str]:
    """Config of the keras.io WGAN-GP example (Fashion-MNIST shaped input)."""
    return ["model.architecture=kerasio", "data.image_size=28", "model.latent_dim=128",
            "train.g_lr=2e-4", "train.d_lr=2e-4", "train.beta_1=0.5", "train.beta_2=0.9",
            f"{variant}.d_steps=3"]


def add_timing_arguments(parser):
    """Add --steps and --warmup (also used by tools/benchmark_baseline.py)."""
    parser.add_argument("--steps", type=int, default=20, metavar="N",
                        help="timed steps (default: 20)")
    parser.add_argument("--warmup", type=int, default=3, metavar="N",
                        help="untimed steps first (tracing, allocation; default: 3)")


def check_timing(args):
    """UsageError unless --steps and --warmup make a measurement."""
    from tfgan_app.errors import UsageError

    if args.steps < 1 or args.warmup < 0:
        raise UsageError("--steps must be >= 1 and --warmup >= 0")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tfgan_app.benchmark", epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Measure training throughput (images/s, ms/step, FLOP/s).")
    cli.add_run_arguments(parser, variant_help="variant to time (required; python -m "
                                               "tfgan_app.train --help lists them)")
    add_timing_arguments(parser)
    parser.add_argument("--preset", choices=["kerasio"],
                        help="kerasio: the keras.io WGAN-GP example's networks and settings")
    return parser


def measure_peak(dtype: str = "float32", size: int = 2048, seconds: float = 1.0) -> float:
    """This machine's dense matmul GFLOP/s in `dtype` (a practical peak for the step)."""
    a = tf.cast(tf.random.stateless_normal([size, size], seed=[1, 2]), dtype)
    b = tf.cast(tf.random.stateless_normal([size, size], seed=[3, 4]), dtype)
    matmul = tf.function(tf.matmul)
    matmul(a, b).numpy()  # trace and warm up
    runs, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or runs < 3:
        matmul(a, b).numpy()
        runs += 1
    return 2 * size ** 3 * runs / (time.perf_counter() - start) / 1e9


def step_flops(model, batch) -> float:
    """Floating-point operations of one train step, as TensorFlow's op registry counts them.

    `model` must be built outside any distribution strategy; `batch` is one global batch.
    """
    from tensorflow.python.profiler import model_analyzer, option_builder

    @tf.autograph.experimental.do_not_convert
    def step(x, y):
        return model.train_step((x, y))

    graph = tf.function(step).get_concrete_function(*batch).graph
    options = option_builder.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")  # the TF1-era profiler announces its own deprecation
    try:
        return float(model_analyzer.profile(graph, options=options).total_float_ops)
    finally:
        logger.setLevel(level)


def app_model(cfg, data, variant_cls, *, precision: str, jit: bool, steps_per_execution: int):
    """The model `python -m tfgan_app.train` builds for `cfg` (fresh, nothing restored)."""
    from tfgan_app import training
    from tfgan_app.data.pipeline import steps_per_epoch
    from tfgan_app.plan import RunPlan

    # The strategy whose scope the caller entered; no run directory, no checkpoints.
    plan = RunPlan(strategy=tf.distribute.get_strategy(), chief=True, precision=precision,
                   jit=jit, steps_per_epoch=steps_per_epoch(data, cfg.train.batch_size),
                   steps_per_execution=steps_per_execution,
                   real_batches=variant_cls.real_batches_per_step(cfg.options))
    return training.build_model(cfg, data, plan)


def run_benchmark(cfg, *, steps: int, warmup: int, make_model=app_model, name: str = "",
                  echo=print) -> dict:
    """Time `steps` train steps of `cfg`; return the summary (also the CLI's JSON line).

    Args:
      cfg: the resolved run config (data, batch, strategy, precision, XLA, seed).
      steps, warmup: timed and untimed train steps, rounded up to whole executions.
      make_model: builds the compiled model, called like `app_model` in the strategy scope.
      name: what is timed, for the summary's "variant" (default: cfg.variant).
    """
    from tfgan_app import distribute, performance, training
    from tfgan_app.data.pipeline import training_batches
    from tfgan_app.errors import UsageError

    tc = cfg.train
    strategy = distribute.make_strategy(tc.strategy, tpu=tc.tpu)  # first (multi-worker)
    keras.utils.set_random_seed(tc.seed)
    data, variant_cls = training.load_data(cfg)
    replicas = strategy.num_replicas_in_sync
    if tc.batch_size % replicas:
        raise UsageError(f"--batch-size {tc.batch_size} must be divisible by the "
                         f"{replicas} replicas")
    precision = performance.resolve_precision(tc.precision, strategy)
    jit = performance.resolve_jit(tc.jit, strategy)
    per_execution = max(1, tc.steps_per_execution)
    steps = -(-steps // per_execution) * per_execution  # whole executions
    warmup = -(-max(warmup, 1) // per_execution) * per_execution

    with performance.dtype_policy(precision), strategy.scope():
        model = make_model(cfg, data, variant_cls, precision=precision, jit=jit,
                           steps_per_execution=per_execution)
    # Real batches per step: the app's critics with fresh batches read d_steps (a
    # make_model of another kind, like the keras.io baseline, reads one).
    group = model.real_batches_per_step(model.options) \
        if hasattr(model, "real_batches_per_step") else 1
    batches = training_batches(data, batch_size=tc.batch_size, seed=tc.seed, first_step=0,
                               last_step=10 ** 9, group=group)

    name = name or cfg.variant
    echo(f"{name} on {data.name} ({'x'.join(map(str, data.shape))}), batch {tc.batch_size}; "
         f"{distribute.describe(strategy)}; {precision}; XLA {'on' if jit else 'off'}; "
         f"{per_execution} step(s) per execution; {warmup} warm-up + {steps} timed steps")

    timer = _StepTimer()
    model.fit(batches, epochs=1, steps_per_epoch=warmup, verbose=0, callbacks=[timer],
              shuffle=False)
    warm_seconds = sum(timer.seconds)
    timer.seconds.clear()
    model.fit(batches, epochs=1, steps_per_epoch=steps, verbose=0, callbacks=[timer],
              shuffle=False)
    per_step = [s / per_execution for s in timer.seconds for _ in range(per_execution)]
    for i, seconds in enumerate(per_step[:: per_execution]):
        echo(f"step {i * per_execution + 1:>4}{'+' if per_execution > 1 else ''}: "
             f"{seconds * 1e3:8.1f} ms/step")
    total = sum(timer.seconds)

    # Op count of one step, traced on a float32 copy outside the strategy.
    with performance.dtype_policy("float32"):
        flop_model = make_model(cfg, data, variant_cls, precision="float32", jit=False,
                                steps_per_execution=1)
    x, y = next(iter(training_batches(data, batch_size=tc.batch_size, seed=tc.seed,
                                      first_step=0, last_step=1, group=group)))
    flops = step_flops(flop_model, (x, y))
    compute_dtype = {"mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}.get(
        precision, "float32")
    peak = measure_peak(compute_dtype)
    input_rate = _input_rate(batches, count=max(20, 2 * steps))

    step_s = total / steps
    achieved = flops / step_s / 1e9
    summary = {
        "variant": name,
        "dataset": data.name, "image_shape": list(data.shape), "batch_size": tc.batch_size,
        "strategy": distribute.strategy_name(strategy), "replicas": replicas,
        "precision": precision,
        "jit": jit, "steps_per_execution": per_execution, "steps": steps,
        "warmup_seconds": round(warm_seconds, 3),
        "step_ms": round(step_s * 1e3, 2),
        "step_ms_median": round(statistics.median(per_step) * 1e3, 2),
        "images_per_sec": round(tc.batch_size / step_s, 2),
        "flops_per_step": flops, "gflop_per_sec": round(achieved, 1),
        "peak_gflop_per_sec": round(peak, 1), "peak_dtype": compute_dtype,
        "peak_fraction": round(achieved / peak, 3),
        "input_batches_per_sec": round(input_rate, 1),
        "input_bound": input_rate < 1.0 / step_s,
    }
    echo(f"{summary['images_per_sec']:.1f} images/s, {summary['step_ms']:.1f} ms/step "
         f"(median {summary['step_ms_median']:.1f}); {flops / 1e9:.1f} GFLOP/step -> "
         f"{achieved:.0f} GFLOP/s = {summary['peak_fraction']:.0%} of the measured "
         f"{compute_dtype} matmul peak ({peak:.0f} GFLOP/s); input pipeline "
         f"{input_rate:.0f} batches/s vs {1 / step_s:.1f} steps/s")
    return summary


def _input_rate(batches, count: int) -> float:
    """Batches per second the input pipeline delivers on its own."""
    iterator = iter(batches)
    next(iterator)
    start = time.perf_counter()
    for _ in range(count):
        next(iterator)
    return count / (time.perf_counter() - start)


class _StepTimer(keras.callbacks.Callback):
    """Wall time of each execution (`steps_per_execution` steps), synchronized on its logs."""

    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_train_batch_begin(self, batch, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        for value in (logs or {}).values():
            float(value)  # wait for the step's results
        self.seconds.append(time.perf_counter() - self._start)


def main(argv=None) -> int:
    from tfgan_app.config import resolve_config

    args = build_parser().parse_args(argv)
    variant = cli.run_variant(args)
    check_timing(args)
    sets = kerasio_sets(variant) if args.preset == "kerasio" else []
    cfg = resolve_config(variant, config_file=args.config, flags=cli.run_flags(args),
                         sets=sets + args.sets)
    summary = run_benchmark(cfg, steps=args.steps, warmup=args.warmup)
    print(json.dumps(summary), flush=True)
    return 0


def console_main():
    """Entry point of the `tfgan-benchmark` console script."""
    sys.exit(cli.run(main))


if __name__ == "__main__":
    console_main()

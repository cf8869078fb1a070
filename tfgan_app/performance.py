"""How fast a training step runs: mixed precision, XLA and steps per execution.

These change how a step is computed, never what is trained, so a resumed run may change
them. The rules, measured on the 2-core CPU this project is developed on (docs/DESIGN.md):
- mixed precision: bfloat16 compute with float32 variables on CPUs and TPUs (no loss
  scaling needed: bfloat16 has float32's exponent range); float16 with dynamic loss scaling
  on GPUs. Losses, penalties and network outputs stay float32.
- XLA (`jit_compile`) helps on GPUs and TPUs but ran about 22x slower on this CPU (its
  convolutions), so `auto` never turns it on when TensorFlow sees no accelerator.
- steps_per_execution runs several steps per call into the TF runtime; it must divide the
  steps of an epoch, or Keras would run past the epoch's end into the next one's batches.
"""

from __future__ import annotations

import contextlib

import keras
import tensorflow as tf

from tfgan_app.errors import UsageError

PRECISIONS = ("float32", "mixed", "mixed_bfloat16", "mixed_float16")


def accelerators() -> list[str]:
    """Device types TensorFlow sees besides the CPU (e.g. ['GPU'] or ['TPU'])."""
    return sorted({d.device_type for d in tf.config.list_logical_devices()} - {"CPU"})


def resolve_precision(precision: str, strategy: tf.distribute.Strategy | None = None) -> str:
    """`mixed` -> mixed_float16 when the strategy runs on GPUs, else mixed_bfloat16."""
    if precision not in PRECISIONS:
        raise UsageError(f"unknown precision '{precision}'; valid: {', '.join(PRECISIONS)}")
    if precision != "mixed":
        return precision
    devices = []
    if strategy is not None:
        try:
            devices = list(strategy.extended.worker_devices)
        except RuntimeError:  # the default strategy has no device list
            devices = []
    if not devices:
        devices = [d.name for d in tf.config.list_logical_devices()
                   if d.device_type != "CPU"][:1] or ["CPU"]
    on_gpu = any("GPU" in d.upper() for d in devices)
    return "mixed_float16" if on_gpu else "mixed_bfloat16"


@contextlib.contextmanager
def dtype_policy(name: str):
    """Build layers under the Keras dtype policy `name`, then restore the previous one."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def wrap_optimizer(optimizer, precision: str):
    """Dynamic loss scaling for float16 (gradients would underflow without it)."""
    if precision == "mixed_float16":
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def resolve_jit(jit: str, strategy: tf.distribute.Strategy | None = None) -> bool:
    """on/off as given; auto: XLA only with an accelerator (never on a CPU-only machine)."""
    if jit == "on":
        return True
    if jit == "off":
        return False
    if jit != "auto":
        raise UsageError(f"unknown jit setting '{jit}'; valid: auto, on, off")
    if isinstance(strategy, tf.distribute.TPUStrategy):
        return True  # TPU steps are compiled by XLA in any case
    return "GPU" in accelerators() and (strategy is None or
                                        strategy.num_replicas_in_sync == 1)


def resolve_steps_per_execution(requested: int, steps_per_epoch: int) -> int:
    """The largest divisor of `steps_per_epoch` not above `requested`."""
    requested = max(1, min(int(requested), steps_per_epoch))
    return next(n for n in range(requested, 0, -1) if steps_per_epoch % n == 0)

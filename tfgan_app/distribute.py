"""`--strategy` names -> `tf.distribute` strategies.

Add a strategy by adding one factory to `STRATEGIES`; `auto` picks among them by hardware.
"""

from __future__ import annotations

import tensorflow as tf

from tfgan_app.errors import UsageError


def _default():
    return tf.distribute.get_strategy()


def mirrored(devices=None) -> tf.distribute.MirroredStrategy:
    """MirroredStrategy over `devices`: by default every local GPU, else every CPU device.

    Without GPUs the all-reduce goes through one device instead of collective ops: with
    collectives, synchronized batch norm and the gradient all-reduce were launched in a
    different order on different replicas ("Shape mismatch in the collective instance").
    """
    gpus = [d.name for d in tf.config.list_logical_devices("GPU")]
    if devices is None:
        devices = gpus or [d.name for d in tf.config.list_logical_devices("CPU")]
    on_gpus = bool(gpus) and all("GPU" in d.upper() for d in devices)
    cross_device_ops = None if on_gpus else tf.distribute.ReductionToOneDevice()
    return tf.distribute.MirroredStrategy(devices, cross_device_ops=cross_device_ops)


STRATEGIES = {
    "default": _default,
    "mirrored": mirrored,
}
STRATEGY_CHOICES = ("auto",) + tuple(STRATEGIES)


def auto_strategy_name() -> str:
    """Mirrored over several GPUs when present, otherwise the default (one device)."""
    return "mirrored" if len(tf.config.list_logical_devices("GPU")) > 1 else "default"


def make_strategy(name: str) -> tf.distribute.Strategy:
    if name == "auto":
        name = auto_strategy_name()
    try:
        factory = STRATEGIES[name]
    except KeyError:
        raise UsageError(f"unknown strategy '{name}'; valid strategies: "
                         f"{', '.join(STRATEGY_CHOICES)}") from None
    return factory()


def describe(strategy: tf.distribute.Strategy) -> str:
    """E.g. 'MirroredStrategy with 2 replicas (device:CPU:0, device:CPU:1)'."""
    n = strategy.num_replicas_in_sync
    try:
        devices = ", ".join(d.split("/")[-1] for d in strategy.extended.worker_devices)
    except RuntimeError:  # the default strategy has no device list
        return "default strategy (1 device)"
    return f"{type(strategy).__name__} with {n} replica{'s' if n != 1 else ''} ({devices})"

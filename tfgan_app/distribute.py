"""`--strategy` names -> `tf.distribute` strategies.

Add a strategy by adding one factory to `STRATEGIES`; `auto` picks among them by hardware.
"""

from __future__ import annotations

import glob
import json
import logging
import os

import tensorflow as tf

from tfgan_app.errors import RunFailure, UsageError

log = logging.getLogger(__name__)


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


def cluster_spec_from_env() -> dict:
    """The parsed TF_CONFIG, checked enough to give a clear message instead of a hang."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise UsageError(
            "--strategy multi_worker reads the cluster from the TF_CONFIG environment "
            "variable, which is not set; e.g. TF_CONFIG='{\"cluster\": {\"worker\": "
            "[\"host1:12345\", \"host2:12345\"]}, \"task\": {\"type\": \"worker\", "
            "\"index\": 0}}' on the first machine (docs/scaling.md)")
    try:
        config = json.loads(raw)
        workers = config["cluster"].get("worker", []) + config["cluster"].get("chief", [])
        task = config["task"]
        kind, index = task["type"], int(task["index"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UsageError(f"TF_CONFIG is not a valid cluster description ({exc!r}); it needs "
                         "'cluster' (a 'worker' list of host:port) and 'task' ('type', "
                         "'index')") from None
    members = config["cluster"].get(kind)
    if not workers or not isinstance(members, list) or not 0 <= index < len(members):
        raise UsageError(f"TF_CONFIG task {kind}:{index} is not in its cluster "
                         f"{config['cluster']}")
    return config


def multi_worker() -> tf.distribute.MultiWorkerMirroredStrategy:
    """Synchronous data parallelism over the machines listed in TF_CONFIG.

    Must be created before TensorFlow runs any op in this process (it configures the
    collective runtime); `training.train` does so first.
    """
    cluster_spec_from_env()
    return tf.distribute.MultiWorkerMirroredStrategy()


def local_tpu_present() -> bool:
    """A TPU VM's accelerator device files, or a TPU named in the environment."""
    return bool(os.environ.get("TPU_NAME") or glob.glob("/dev/accel*")
                or glob.glob("/dev/vfio/[0-9]*"))


def tpu(address: str = "") -> tf.distribute.TPUStrategy:
    """TPUStrategy on the TPU at `address` (name or grpc://host:port; '' = this TPU VM's)."""
    where = f" at '{address}'" if address else (
        f" named '{os.environ['TPU_NAME']}' (TPU_NAME)" if os.environ.get("TPU_NAME")
        else " on this machine")
    try:
        target = address or os.environ.get("TPU_NAME") or "local"
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=target)
        if target != "local":  # a TPU node elsewhere; a TPU VM's own TPU needs no connect
            tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RunFailure(f"no TPU reachable{where}: {first}. On a TPU VM run without "
                         "--tpu; for a remote TPU pass --tpu NAME or "
                         "grpc://HOST:8470; without a TPU use --strategy auto") from exc


STRATEGIES = {
    "default": _default,
    "mirrored": mirrored,
    "multi_worker": multi_worker,
    "tpu": tpu,
}
STRATEGY_CHOICES = ("auto",) + tuple(STRATEGIES)


def auto_strategy_name(tpu_address: str = "") -> str:
    """tpu when one is configured, mirrored over several GPUs, else default (one device).

    multi_worker is never automatic: TF_CONFIG alone does not say the user wants it.
    """
    if tpu_address or local_tpu_present():
        return "tpu"
    return _local_strategy_name()


def _local_strategy_name() -> str:
    """mirrored over several local GPUs, else default (one device)."""
    return "mirrored" if len(tf.config.list_logical_devices("GPU")) > 1 else "default"


def make_strategy(name: str, tpu: str = "") -> tf.distribute.Strategy:
    if name == "auto":
        name = auto_strategy_name(tpu)
        if name == "tpu" and not tpu:
            # Guessed from the environment (device files, $TPU_NAME): fall back quietly
            # to the local devices if there is no TPU after all.
            try:
                return STRATEGIES["tpu"]()
            except RunFailure as exc:
                log.warning("auto strategy: %s; using the local devices", exc)
                name = _local_strategy_name()
    try:
        factory = STRATEGIES[name]
    except KeyError:
        raise UsageError(f"unknown strategy '{name}'; valid strategies: "
                         f"{', '.join(STRATEGY_CHOICES)}") from None
    return factory(tpu) if name == "tpu" else factory()


def strategy_name(strategy: tf.distribute.Strategy) -> str:
    """The `--strategy` name of a strategy object."""
    for name, cls in (("tpu", tf.distribute.TPUStrategy),
                      ("multi_worker", tf.distribute.MultiWorkerMirroredStrategy),
                      ("mirrored", tf.distribute.MirroredStrategy)):
        if isinstance(strategy, cls):
            return name
    return "default"


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the run's files (samples, logs, history, exports).

    Only multi-worker runs have other processes: the chief is task `chief`, or worker 0
    when the cluster has no chief.
    """
    resolver = getattr(strategy, "cluster_resolver", None)
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) or resolver is None:
        return True
    kind, index = resolver.task_type, resolver.task_id
    if kind is None or kind == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return kind == "worker" and index == 0 and not has_chief


def describe(strategy: tf.distribute.Strategy) -> str:
    """E.g. 'MirroredStrategy with 2 replicas (device:CPU:0, device:CPU:1)'."""
    n = strategy.num_replicas_in_sync
    try:
        devices = ", ".join(d.split("/")[-1] for d in strategy.extended.worker_devices)
    except RuntimeError:  # the default strategy has no device list
        return "default strategy (1 device)"
    replicas = f"{n} replica{'s' if n != 1 else ''}"
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        resolver = strategy.cluster_resolver
        cluster = resolver.cluster_spec().as_dict()
        workers = len(cluster.get("worker", [])) + len(cluster.get("chief", []))
        return (f"MultiWorkerMirroredStrategy with {replicas} on {workers} workers (this "
                f"is {resolver.task_type} {resolver.task_id}: {devices})")
    return f"{type(strategy).__name__} with {replicas} ({devices})"

"""What tests share besides fixtures: tiny configs and models, and ways to run commands.

Tests import it as `from helpers import ...` (pytest puts tests/ on sys.path for conftest).
"""

import functools
import importlib.util
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Small enough that a training epoch takes well under a second on 2 cores.
TINY = [
    "model.latent_dim=8", "model.g_filters=8", "model.d_filters=8", "model.began_filters=8",
    "model.mlp_units=16", "model.mlp_layers=1",
    "train.batch_size=8", "train.epochs=1", "data.toy_samples=64", "data.max_examples=64",
    "train.export=false",  # tests/test_export.py covers exporting
    "train.eval_samples=200",  # the last epoch is evaluated; tests/test_evaluation.py checks
]


def run_cli(main, capsys, *argv):
    """(exit code, stdout, stderr) of a command's main() run as its console script runs it."""
    from tfgan_app import cli

    code = cli.run(main, [str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def set_flags(*items) -> list:
    """`--set ITEM` flags for each config override."""
    return sum((["--set", item] for item in items), [])


def train_with_cli(run_dir, variant, *items):
    """Train `variant` into `run_dir` through the train command's own error handling, its
    output discarded (for module-scoped fixtures, which cannot take capsys); the run must
    succeed. Returns `run_dir`."""
    import contextlib
    import io

    from tfgan_app import cli, train

    with contextlib.redirect_stdout(io.StringIO()):
        code = cli.run(train.main, ["--variant", variant, "--output-dir", str(run_dir),
                                    *set_flags(*items)])
    assert code == 0
    return run_dir


def python_env(**extra) -> dict:
    """Environment for a Python subprocess: quiet TensorFlow, this checkout's tfgan_app.

    The checkout goes first on PYTHONPATH because an installed tfgan_app (or an editable
    install of another checkout) would otherwise be imported from any other directory.
    """
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": path, **extra}


def run_python(*argv, cwd=ROOT, timeout=300):
    """(exit code, stdout, stderr) of `python ARGV` in its own process.

    For what only a separate process shows: a `python -m` entry point, a fresh working
    directory, no traceback on stderr. Everything else runs faster through `run_cli`.
    """
    proc = subprocess.run([sys.executable, *map(str, argv)], cwd=cwd, env=python_env(),
                          capture_output=True, text=True, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


@functools.cache
def load_tool(name: str):
    """The maintainers' script tools/<name>.py as a module (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"tools.{name}", ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiny_model(variant, *sets, optimizer=None, model_cls=None):
    """A `variant` model for TINY + `sets`, compiled, with its optimizers built.

    Built in the current strategy scope, on the data the config loads with seed 0 (without
    the variant's training-time data preparation).

    Args:
      variant: a registered variant name.
      *sets: extra `section.key=value` overrides.
      optimizer: makes each network's optimizer (default: Adam(1e-3)).
      model_cls: a class to build instead of the registered one (e.g. a broken subclass).

    Returns:
      (model, data).
    """
    import keras

    from tfgan_app import registry
    from tfgan_app.config import resolve_config
    from tfgan_app.data import load_from_config

    cfg = resolve_config(variant, sets=TINY + list(sets))
    data = load_from_config(cfg.data, seed=0)
    model = (model_cls or registry.get_variant(variant)).from_run_config(cfg, data)
    make = optimizer or (lambda: keras.optimizers.Adam(1e-3))
    model.compile(g_optimizer=make(), d_optimizer=make())
    model.build_optimizers()
    return model, data


def one_batch(model, x, y, batch: int = 8):
    """A dataset of one training step's input for `model`: `batch` rows of (x, y), shaped
    [batch, g, ...] when its discriminator reads g fresh real batches per step (rows are
    taken in order, cyclically when x has fewer than batch * g)."""
    import numpy as np
    import tensorflow as tf

    group = model.real_batches_per_step(model.options)
    rows = np.arange(batch * group) % len(x)
    x, y = np.asarray(x)[rows], np.asarray(y)[rows]
    if group > 1:
        x, y = x.reshape(batch, group, *x.shape[1:]), y.reshape(batch, group)
    return tf.data.Dataset.from_tensors((x, y))


def train_tiny_runs(tmp_path_factory, cases: dict) -> dict:
    """{case: run dir} for cases {name: (variant, extra --set items, ...)}, tiny and trained."""
    from tfgan_app.config import resolve_config
    from tfgan_app.training import train

    runs = {}
    for case, (variant, sets, *_) in cases.items():
        run = tmp_path_factory.mktemp(case)
        train(resolve_config(variant, sets=TINY + sets), run, verbose=0, echo=lambda _: None)
        runs[case] = run
    return runs


# -- training processes (multi-worker jobs on loopback, kills) -------------------------
def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def start_train(args, env_extra=None, log=None, prelude: str = ""):
    """`python -m tfgan_app.train ARGS` as its own process (one CPU device, quiet TF).

    `prelude`: Python run first in that process (e.g. to observe what it reads).
    """
    env = python_env(TF_CPP_MIN_LOG_LEVEL="3", **(env_extra or {}))
    command = ["-m", "tfgan_app.train"] if not prelude else [
        "-c", prelude + "\nimport runpy\nrunpy.run_module('tfgan_app.train', "
                        "run_name='__main__')"]
    return subprocess.Popen([sys.executable, *command, *map(str, args)],
                            cwd=ROOT, env=env, stdout=log or subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def start_workers(run_dir, sets, ports, tmp_path, tag, dataset="ring", prelude=""):
    cluster = {"worker": [f"localhost:{port}" for port in ports]}
    procs = []
    for index in range(len(ports)):
        config = {"cluster": cluster, "task": {"type": "worker", "index": index}}
        scratch = tmp_path / f"tmp_{tag}_{index}"
        scratch.mkdir()
        log = open(tmp_path / f"worker_{tag}_{index}.log", "w")
        procs.append((start_train(
            ["--variant", "gan", "--dataset", dataset, "--strategy", "multi_worker",
             "--output-dir", run_dir, *sum((["--set", s] for s in sets), [])],
            {"TF_CONFIG": json.dumps(config), "TMPDIR": str(scratch)}, log,
            prelude.replace("{index}", str(index))), log, scratch))
    return procs


def wait_all(procs, timeout=300):
    outputs = []
    for proc, log, _ in procs:
        proc.wait(timeout=timeout)
        log.close()
        outputs.append((proc.returncode, Path(log.name).read_text()))
    return outputs

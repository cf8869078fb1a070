"""Test setup: two logical CPU devices (for 2-replica tests) and tiny-network configs."""

import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Domain classifiers trained by tests are cached for this session only (subprocesses too).
os.environ["TFGAN_APP_CACHE"] = tempfile.mkdtemp(prefix="tfgan_app_test_cache_")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

# Must happen before TensorFlow initializes its devices, i.e. before any test runs.
_cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    _cpus[0], [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])

# Small enough that a training epoch takes well under a second on 2 cores.
TINY = [
    "model.latent_dim=8", "model.g_filters=8", "model.d_filters=8",
    "model.mlp_units=16", "model.mlp_layers=1",
    "train.batch_size=8", "train.epochs=1", "data.toy_samples=64", "data.max_examples=64",
    "train.export=false",  # tests/test_export.py covers exporting
    "train.eval_samples=200",  # the last epoch is evaluated; tests/test_evaluation.py checks
]


@pytest.fixture
def tiny_config():
    """tiny_config(variant, *extra_sets) -> RunConfig with tiny networks and data."""
    from tfgan_app.config import resolve_config

    def make(variant, *sets, **kwargs):
        return resolve_config(variant, sets=TINY + list(sets), **kwargs)

    return make


@pytest.fixture
def digits_npz(tmp_path):
    """40 real 8x8 digits as uint8 images with labels, saved as .npz."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    path = tmp_path / "digits.npz"
    np.savez(path, x=(bunch.images[:40] * 255 / 16).astype(np.uint8), y=bunch.target[:40])
    return path


def run_cli(main, capsys, *argv):
    """(exit code, stdout, stderr) of a command's main() run as its console script runs it."""
    from tfgan_app import cli

    code = cli.run(main, [str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


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

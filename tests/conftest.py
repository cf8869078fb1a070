"""Test setup: two logical CPU devices (for 2-replica tests) and fixtures.

Shared helpers that are not fixtures live in helpers.py.
"""

import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Domain classifiers trained by tests are cached for this session only (subprocesses too).
os.environ["TFGAN_APP_CACHE"] = tempfile.mkdtemp(prefix="tfgan_app_test_cache_")

import numpy as np
import pytest

# TensorFlow's C++ start-up lines (oneDNN, no CUDA) go to file descriptor 2 before its log
# level applies; pytest captures them in its own process, but its -n workers import this
# file before their capture starts, so they are silenced here. Python errors still show.
_stderr, _devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
os.dup2(_devnull, 2)
try:
    import tensorflow as tf

    # Must happen before TensorFlow initializes its devices, i.e. before any test runs.
    _cpus = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(
        _cpus[0],
        [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])
finally:
    os.dup2(_stderr, 2)
    os.close(_stderr)
    os.close(_devnull)

from helpers import TINY  # noqa: E402


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

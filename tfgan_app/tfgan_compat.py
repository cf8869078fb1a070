"""Import tensorflow-gan 2.1.0 on TensorFlow >= 2.16.

tensorflow-gan's last release imports `tf.estimator` (removed in TF 2.16) from its estimator
subpackage and from `RunTrainOpsHook` (tensorflow/gan#55, #59). We register an empty module
for the estimator subpackage (this app uses none of it) and put a stand-in
`tf.estimator.SessionRunHook` on `tf` only for the duration of the import.
"""

from __future__ import annotations

import functools
import sys
import types
import warnings


@functools.cache
def tfgan():
    """Return the `tensorflow_gan` module, importing it once with the shim."""
    import tensorflow as tf

    estimator_module = "tensorflow_gan.python.estimator"
    added_module = estimator_module not in sys.modules
    if added_module:
        stub = types.ModuleType(estimator_module)
        stub.__doc__ = "Not available on TF >= 2.16 (tf.estimator was removed)."
        sys.modules[estimator_module] = stub
    added_attr = not hasattr(tf, "estimator")
    if added_attr:
        tf.estimator = types.SimpleNamespace(SessionRunHook=type("SessionRunHook", (), {}))
    try:
        with warnings.catch_warnings():
            # tensorflow_hub (imported by tensorflow_gan) uses the deprecated pkg_resources,
            # and tensorflow_gan / tensorflow_probability check versions with distutils.
            warnings.filterwarnings("ignore", message=".*pkg_resources", category=UserWarning)
            warnings.filterwarnings("ignore", message=".*distutils", category=DeprecationWarning)
            import tensorflow_gan
    except Exception:
        if added_module:
            sys.modules.pop(estimator_module, None)
        raise
    finally:
        if added_attr:
            del tf.estimator
    return tensorflow_gan

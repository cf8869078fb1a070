"""Export a trained generator: SavedModel for TF Serving, TFLite for phones.

SavedModel signatures (the serving contract in DESIGN.md):
  serving_default(z float32 [batch, latent_dim] [, label int32 [batch]]
                  | InfoGAN: z, category int32 [batch], code float32 [batch, continuous])
      -> {"images": float32 [batch, H, W, C] in [-1, 1]} or {"points": float32 [batch, 2]}
  sample(num_samples int32 [], seed int64 [] [, label int32 [num_samples]])
      (InfoGAN draws its codes from the seed)
      -> {"images": uint8 [num_samples, H, W, C]} or {"points": float32 [num_samples, 2]}
         deterministic for a given seed.

Everything is written to a temporary sibling first and renamed into place, so a failed
export leaves nothing half-written.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tfgan_app.errors import RunFailure

log = logging.getLogger("tfgan_app")
# Float32 TFLite differs from Keras by float rounding only (measured ~5e-7 on dcgan).
TFLITE_FLOAT_TOLERANCE = 1e-4


@dataclasses.dataclass
class ExportResult:
    saved_model: Path
    tflite: Path | None = None
    tflite_max_abs_error: float | None = None  # LiteRT vs SavedModel on a latent batch
    seconds: float = 0.0


def output_name(kind: str) -> str:
    return "points" if kind == "points" else "images"


def _signatures(model, kind: str):
    """(name, function, input_signature) for each endpoint.

    Inputs besides z come from `model.condition_specs()` (the label, InfoGAN's codes). The
    `sample` endpoint takes the label where conditional; codes it draws from the seed.
    """
    key = output_name(kind)
    z_spec = tf.TensorSpec([None, model.latent_dim], tf.float32, name="z")
    cond_specs = model.condition_specs()
    names = list(cond_specs)
    count_spec = tf.TensorSpec([], tf.int32, name="num_samples")
    seed_spec = tf.TensorSpec([], tf.int64, name="seed")

    def run(z, cond):
        return model.generator(model.generator_inputs(z, cond or None), training=False)

    def serve(z, *conds):
        return {key: run(z, dict(zip(names, conds)))}

    def to_output(x):
        if kind != "points":
            x = tf.cast(tf.clip_by_value(tf.round((x + 1.0) * 127.5), 0.0, 255.0), tf.uint8)
        return {key: x}

    def latents(num_samples, seed):
        return tf.random.stateless_normal([num_samples, model.latent_dim],
                                          seed=tf.stack([seed, tf.constant(0, tf.int64)]))

    def sample_given(num_samples, seed, *conds):
        for name, value in zip(names, conds):
            tf.debugging.assert_equal(tf.shape(value)[0], num_samples,
                                      message=f"{name} must have num_samples entries")
        return to_output(run(latents(num_samples, seed), dict(zip(names, conds))))

    def sample_drawn(num_samples, seed):
        return to_output(run(latents(num_samples, seed),
                             model.random_condition(num_samples, seed)))

    serving = ("serving_default", serve, [z_spec, *cond_specs.values()])
    if names and model.random_condition(tf.constant(1), tf.constant(0, tf.int64)) is not None:
        return [serving, ("sample", sample_drawn, [count_spec, seed_spec])]
    return [serving, ("sample", sample_given, [count_spec, seed_spec, *cond_specs.values()])]


def _replace_dir(tmp: Path, final: Path):
    if final.exists():
        old = final.with_name(f".old-{final.name}-{os.getpid()}")
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old)
    else:
        os.replace(tmp, final)


def export_saved_model(model, directory, *, kind: str) -> Path:
    """Write the generator of `model` (a GANModel) as a SavedModel at `directory`."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = directory.with_name(f".tmp-{directory.name}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        archive = keras.export.ExportArchive()
        archive.track(model.generator)
        for name, fn, spec in _signatures(model, kind):
            archive.add_endpoint(name, fn, input_signature=spec)
        archive.write_out(str(tmp), verbose=False)
        _replace_dir(tmp, directory)
    except Exception as exc:  # noqa: BLE001 - report any failure, leave nothing behind
        shutil.rmtree(tmp, ignore_errors=True)
        raise RunFailure(f"SavedModel export to {directory} failed: {exc}") from None
    return directory


def convert_tflite(saved_model_dir, path) -> Path:
    """Convert the SavedModel's serving_default signature to a float32 .tflite file."""
    path = Path(path)
    tmp = path.with_name(f".tmp-{path.name}-{os.getpid()}")
    try:
        converter = tf.lite.TFLiteConverter.from_saved_model(
            str(saved_model_dir), signature_keys=["serving_default"])
        tmp.write_bytes(converter.convert())
        os.replace(tmp, path)
    except Exception as exc:  # noqa: BLE001
        tmp.unlink(missing_ok=True)
        raise RunFailure(f"TFLite conversion of {saved_model_dir} failed: {exc}") from None
    return path


def tflite_runner(path):
    """A callable running the .tflite serving signature in the LiteRT interpreter."""
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter(model_path=str(path)).get_signature_runner("serving_default")


def verify_tflite(model, tflite_path, kind: str, *, batch: int = 4, seed: int = 0) -> float:
    """Max abs difference between LiteRT and the Keras generator on random latents."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((batch, model.latent_dim)).astype(np.float32)
    cond = model.example_condition(batch)
    got = tflite_runner(tflite_path)(z=z, **(cond or {}))[output_name(kind)]
    want = np.asarray(model.generate(z, cond, training=False))
    return float(np.abs(got - want).max())


def export_run(model, run_dir, *, kind: str, version: int, tflite: bool = True) -> ExportResult:
    """Export at the end of training: `export/<variant>/<version>/` and `<variant>.tflite`."""
    start = time.perf_counter()
    root = Path(run_dir) / "export"
    name = model.variant_name or model.name
    result = ExportResult(export_saved_model(model, root / name / str(version), kind=kind))
    if tflite:
        result.tflite = convert_tflite(result.saved_model, root / f"{name}.tflite")
        result.tflite_max_abs_error = verify_tflite(model, result.tflite, kind)
        if result.tflite_max_abs_error > TFLITE_FLOAT_TOLERANCE:
            log.warning("%s differs from the Keras generator by up to %.2e in LiteRT "
                        "(expected < %.0e)", result.tflite, result.tflite_max_abs_error,
                        TFLITE_FLOAT_TOLERANCE)
    result.seconds = time.perf_counter() - start
    return result

"""TFLite conversion of an exported SavedModel, checked in the LiteRT interpreter.

Options (`--quantize`), measured on the digits dcgan in docs/tflite.md:
  none     float32 weights and activations; matches the SavedModel to float rounding.
  float16  float16 weights (half the size), computed in float32.
  dynamic  int8 weights, activations quantized on the fly.
  int8     int8 weights and activations, calibrated on inputs drawn from the documented
           input distributions (latents ~ N(0, 1), uniform labels and codes); the model's
           inputs and outputs stay float32 (int32 for labels) so callers do not change.
"""

from __future__ import annotations

import dataclasses
import os
import time
import warnings
from pathlib import Path

import numpy as np
import tensorflow as tf

from tfgan_app.errors import RunFailure

QUANTIZATIONS = ("none", "float16", "dynamic", "int8")
CALIBRATION_EXAMPLES = 256


def tflite_name(variant: str, quantize: str) -> str:
    return f"{variant}.tflite" if quantize == "none" else f"{variant}_{quantize}.tflite"


def draw_inputs(inputs: dict, count: int, rng: np.random.Generator,
                examples: dict | None = None) -> dict:
    """`count` valid serving inputs drawn as `inputs` (serving_inputs metadata) describes,
    or the first `count` of `examples` (inputs made from the training data), cycled."""
    if examples is not None:
        rows = np.arange(count) % len(next(iter(examples.values())))
        return {name: np.asarray(value)[rows] for name, value in examples.items()}
    out = {}
    for name, info in inputs.items():
        shape = (count, *info["shape"])
        if info["distribution"] == "constant":  # every example the same (a mask)
            value = np.broadcast_to(np.asarray(info["value"]), shape)
        elif info["distribution"] == "normal":
            value = rng.standard_normal(shape)
        elif info["dtype"].startswith("int"):
            value = rng.integers(info["low"], info["high"], shape)
        else:
            value = rng.uniform(info["low"], info["high"], shape)
        out[name] = value.astype(info["dtype"])
    return out


def convert_tflite(saved_model_dir, path, quantize: str = "none", *, inputs: dict | None = None,
                   seed: int = 0, examples: dict | None = None) -> Path:
    """Convert the SavedModel's serving_default signature to a .tflite file at `path`.

    `inputs` (serving_inputs metadata) is needed for int8: calibration draws from it, or
    takes `examples` (inputs made from the training data) when given.
    """
    if quantize not in QUANTIZATIONS:
        raise ValueError(f"quantize must be one of {QUANTIZATIONS}, not {quantize!r}")
    path = Path(path)
    tmp = path.with_name(f".tmp-{path.name}-{os.getpid()}")
    try:
        converter = tf.lite.TFLiteConverter.from_saved_model(
            str(saved_model_dir), signature_keys=["serving_default"])
        if quantize != "none":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantize == "float16":
            converter.target_spec.supported_types = [tf.float16]
        elif quantize == "int8":
            calibration = draw_inputs(inputs, CALIBRATION_EXAMPLES,
                                      np.random.default_rng(seed), examples)

            def representative():
                for i in range(CALIBRATION_EXAMPLES):
                    yield {name: value[i:i + 1] for name, value in calibration.items()}

            converter.representative_dataset = representative
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        with warnings.catch_warnings():  # calibration uses the deprecated tf.lite.Interpreter
            warnings.simplefilter("ignore", UserWarning)
            tmp.write_bytes(converter.convert())
        os.replace(tmp, path)
    except Exception as exc:
        tmp.unlink(missing_ok=True)
        raise RunFailure(f"TFLite ({quantize}) conversion of {saved_model_dir} failed: "
                         f"{exc}") from exc
    return path


def tflite_runner(path):
    """A callable running the .tflite serving signature in the LiteRT interpreter."""
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter(model_path=str(path)).get_signature_runner("serving_default")


def seconds_per_call(fn, repeats: int = 50, warmup: int = 5) -> float:
    """Median wall time of `fn()` after a warm-up."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


@dataclasses.dataclass
class TfliteReport:
    """One converted file, compared with the Keras generator on the same inputs."""

    quantize: str
    path: Path
    bytes: int
    max_abs_error: float
    psnr_db: float | None  # images only: peak-to-peak range 2 ([-1, 1])
    ms_per_sample: float | None = None  # LiteRT, batch 1, median

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out["path"] = self.path.name
        return out


def compare(tflite_path, quantize: str, reference, inputs: dict, output: str, *,
            count: int = 64, seed: int = 1, latency: bool = False,
            examples: dict | None = None) -> TfliteReport:
    """Run `count` inputs through LiteRT and `reference` (inputs dict -> array): drawn, or
    taken from `examples` when given (see `draw_inputs`)."""
    tflite_path = Path(tflite_path)
    examples = draw_inputs(inputs, count, np.random.default_rng(seed), examples)
    runner = tflite_runner(tflite_path)
    got = np.asarray(runner(**examples)[output], np.float64)
    want = np.asarray(reference(examples), np.float64)
    mse = float(np.mean((got - want) ** 2))
    psnr = None
    if output == "images":
        psnr = float("inf") if mse == 0 else float(10 * np.log10(4.0 / mse))
    ms = None
    if latency:
        one = {name: value[:1] for name, value in examples.items()}
        runner(**one)  # resize the interpreter to batch 1 before timing
        ms = 1e3 * seconds_per_call(lambda: runner(**one))
    return TfliteReport(quantize, tflite_path, tflite_path.stat().st_size,
                        float(np.abs(got - want).max()), psnr, ms)

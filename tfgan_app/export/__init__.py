"""Export a trained generator: SavedModel for TF Serving, TFLite for phones.

Layout under the export root (a run's `export/`, or any `--output DIR`):
    <variant>/<version>/          SavedModel in TF Serving's layout (saved_model.py)
    <variant>.tflite              float32 TFLite; <variant>_<float16|dynamic|int8>.tflite
    <variant>_tflite.json         size, error and latency of each TFLite file
    models.config                 TF Serving config serving every <variant>/ in the root

Each file is written to a temporary sibling and renamed into place. Everything written is
loaded back and compared with the Keras generator: the SavedModel with
`tf.saved_model.load`, TFLite with the LiteRT interpreter.
`python -m tfgan_app.export --run-dir RUN` exports from a run's checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from tfgan_app import files
from tfgan_app.export.saved_model import METADATA, export_saved_model, output_name, read_metadata
from tfgan_app.export.saved_model import metadata as metadata_for
from tfgan_app.export.tflite import (
    QUANTIZATIONS,
    TfliteReport,
    compare,
    convert_tflite,
    draw_inputs,
    seconds_per_call,
    tflite_name,
    tflite_runner,
)

__all__ = ["FORMATS", "QUANTIZATIONS", "METADATA", "ExportResult", "TfliteReport",
           "compare", "convert_tflite", "draw_inputs", "export_generator",
           "export_saved_model", "load_exported", "output_name", "read_metadata",
           "tflite_name", "tflite_runner", "write_models_config"]

log = logging.getLogger("tfgan_app")
FORMATS = ("saved_model", "tflite")
# Float32 TFLite and the reloaded SavedModel differ from Keras by float rounding only
# (measured below 1e-6 on every variant).
FLOAT_TOLERANCE = 1e-4


@dataclasses.dataclass
class ExportResult:
    saved_model: Path | None = None
    saved_model_max_abs_error: float | None = None  # reloaded SavedModel vs Keras
    saved_model_ms_per_sample: float | None = None  # serving_default, batch 1, median
    tflite: dict = dataclasses.field(default_factory=dict)  # quantize -> TfliteReport
    seconds: float = 0.0

    @property
    def tflite_max_abs_error(self) -> float | None:
        report = self.tflite.get("none")
        return report.max_abs_error if report else None


def load_exported(path):
    """(metadata, run) for a SavedModel directory or a .tflite file written by this app.

    `run(inputs, signature="serving_default")` maps a dict of serving inputs (numpy
    arrays) to the output array of that signature (`run.signatures` lists them: a .tflite
    file holds serving_default only); the metadata (assets.extra/tfgan_app.json, or the
    `<variant>_tflite.json` report beside a .tflite file) describes the inputs, the output
    and the training data.
    """
    from tfgan_app.errors import UsageError

    path = Path(path)
    if path.is_dir():
        meta = read_metadata(path)
        signatures = tf.saved_model.load(str(path)).signatures

        def run_saved(inputs, signature="serving_default"):
            serve = signatures[signature]
            return serve(**{k: tf.constant(v) for k, v in inputs.items()})[
                meta["output"]].numpy()

        run_saved.signatures = tuple(signatures.keys())
        return meta, run_saved
    if path.suffix != ".tflite" or not path.is_file():
        raise UsageError(f"{path} is neither a SavedModel directory nor a .tflite file")
    variant = path.stem
    if variant.endswith(tuple(f"_{q}" for q in QUANTIZATIONS)):
        variant = variant.rsplit("_", 1)[0]
    report = path.with_name(f"{variant}_tflite.json")
    if not report.is_file():
        raise UsageError(f"{report} not found: it describes {path.name}'s inputs and is "
                         "written beside it by python -m tfgan_app.export")
    meta = json.loads(report.read_text())
    runner = tflite_runner(path)

    def run_tflite(inputs, signature="serving_default"):
        if signature != "serving_default":
            raise UsageError(f"{path.name} holds serving_default only, not {signature}")
        return runner(**inputs)[meta["output"]]

    run_tflite.signatures = ("serving_default",)
    return meta, run_tflite


def write_models_config(root) -> Path | None:
    """(Re)write `root/models.config` serving every `<name>/<version>/` SavedModel in root.

    Paths assume `root` is mounted at /models in the tensorflow/serving container.
    """
    root = Path(root)
    names = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")
                   and any((v / "saved_model.pb").is_file() for v in d.iterdir()
                           if v.name.isdigit()))
    if not names:
        return None
    entries = "".join(f'  config {{\n    name: "{name}"\n    base_path: "/models/{name}"\n'
                      f'    model_platform: "tensorflow"\n  }}\n' for name in names)
    text = ("# TF Serving model config written by python -m tfgan_app.export: one entry per\n"
            "# exported variant; mount this directory at /models (see docs/serving.md).\n"
            f"model_config_list {{\n{entries}}}\n")
    files.write_text(root / "models.config", text)
    return root / "models.config"


def _report(root: Path, name: str, version: int, result: ExportResult, info: dict):
    """Merge this export's TFLite figures into `<variant>_tflite.json`."""
    path = root / f"{name}_tflite.json"
    report = {}
    if path.is_file():
        try:
            report = json.loads(path.read_text())
        except ValueError:
            report = {}
    report.update({**info, "saved_model_ms_per_sample": result.saved_model_ms_per_sample})
    files_report = report.setdefault("tflite", {})
    for quantize, item in result.tflite.items():
        files_report[quantize] = {**item.to_dict(), "version": version}
    files.write_text(path, json.dumps(report, indent=2) + "\n")


def export_generator(model, root, *, kind: str, shape, version: int,
                     formats=FORMATS, quantize=("none",), seed: int = 0,
                     examples: dict | None = None, **metadata) -> ExportResult:
    """Export `model`'s generator under `root` and check every file against Keras.

    Args:
      model: a GANModel; its `inference_generator` is exported.
      kind, shape: the output's kind ("image" or "points") and one example's shape.
      formats: "saved_model" writes `<variant>/<version>/`; "tflite" alone converts from a
        temporary SavedModel.
      quantize: TFLite options (QUANTIZATIONS).
      examples: serving inputs made from the training data (name -> array, from
        `model.serving_examples`): int8 calibration and the error checks use them; None
        draws inputs from the distributions `model.serving_inputs()` declares.
      metadata: recorded in assets.extra/tfgan_app.json (e.g. dataset, epoch).
    """
    start = time.perf_counter()
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    name = model.variant_name or model.name
    result = ExportResult()
    inputs = model.serving_inputs()
    reference = model.infer_serving
    key = output_name(kind)
    scratch = None
    try:
        if "saved_model" in formats:
            source = result.saved_model = export_saved_model(
                model, root / name / str(version), kind=kind, shape=shape, version=version,
                **metadata)
            write_models_config(root)
        else:
            scratch = Path(tempfile.mkdtemp(prefix=".tmp-saved-model-", dir=root))
            source = export_saved_model(model, scratch / "model", kind=kind, shape=shape,
                                        version=version, **metadata)
        check = draw_inputs(inputs, 16, np.random.default_rng(seed + 1), examples)
        serve = tf.saved_model.load(str(source)).signatures["serving_default"]
        got = serve(**{k: tf.constant(v) for k, v in check.items()})[key].numpy()
        result.saved_model_max_abs_error = float(np.abs(got - reference(check)).max())
        one = {k: tf.constant(v[:1]) for k, v in check.items()}
        result.saved_model_ms_per_sample = 1e3 * seconds_per_call(lambda: serve(**one))
        if "tflite" in formats:
            for option in quantize:
                path = convert_tflite(source, root / tflite_name(name, option), option,
                                      inputs=inputs, seed=seed, examples=examples)
                result.tflite[option] = compare(path, option, reference, inputs, key,
                                                seed=seed + 1, latency=True,
                                                examples=examples)
            _report(root, name, version, result,
                    metadata_for(model, kind, shape, **metadata))
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    for label, error in [("SavedModel", result.saved_model_max_abs_error),
                         ("float32 TFLite", result.tflite_max_abs_error)]:
        if error is not None and error > FLOAT_TOLERANCE:
            log.warning("%s of %s differs from the Keras generator by up to %.2e "
                        "(expected < %.0e)", label, name, error, FLOAT_TOLERANCE)
    result.seconds = time.perf_counter() - start
    return result

"""The generator as a SavedModel for TF Serving (the serving contract in docs/DESIGN.md).

Signatures:
  serving_default(z float32 [batch, latent_dim] [, label int32 [batch]]
                  | InfoGAN: z, category int32 [batch], code float32 [batch, continuous])
      -> {"images": float32 [batch, H, W, C] in [-1, 1]} or {"points": float32 [batch, D]}
         (D = 2 for ring and grid, 1 for gauss1d)
  sample(num_samples int32 [], seed int64 [] [, label int32 [num_samples]])
      (InfoGAN draws its codes from the seed)
      -> {"images": uint8 [num_samples, H, W, C]} or {"points": float32 [num_samples, D]}
         deterministic for a given seed.
Image-to-image models define their own (`ImageToImageModel.serving_signatures`):
  serving_default(image float32 [batch, H, W, C] in [-1, 1] [, mask]) -> {"images": ...}
  and no `sample` (nothing is drawn from noise); cyclegan adds `inverse`.
Integer inputs out of range (a label >= num_classes), and images of the wrong shape or out
of [-1, 1], fail with a message naming the input.

`assets.extra/tfgan_app.json` describes the model for clients and tools (variant, output,
every input with the distribution its valid values come from); TF Serving ignores it.
The SavedModel is written to a temporary sibling and renamed into place, so a failed export
leaves nothing half-written.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import keras
import tensorflow as tf

from tfgan_app.errors import RunFailure, UsageError

METADATA = Path("assets.extra") / "tfgan_app.json"


def output_name(kind: str) -> str:
    return "points" if kind == "points" else "images"


def metadata(model, kind: str, shape, **extra) -> dict:
    """What a client needs to call the exported generator, as JSON-able data."""
    return {"variant": model.variant_name or model.name, "kind": kind,
            "output": output_name(kind), "output_shape": list(shape),
            "inputs": model.serving_inputs(), **model.export_metadata(), **extra}


def read_metadata(saved_model_dir) -> dict:
    path = Path(saved_model_dir) / METADATA
    if not path.is_file():
        raise UsageError(f"{saved_model_dir} has no {METADATA}: not a tfgan_app export")
    return json.loads(path.read_text())


def _checked(inputs: dict, z, cond: dict):
    """z and cond, passed on only after in-graph checks of z's width and integer ranges.

    Loaded signatures still run when a caller's z has the wrong width (binding falls back to
    the flat call), and an out-of-range label would otherwise fail inside GATHER with a
    message naming no input; the control dependencies make these messages come first.
    """
    width = inputs["z"]["shape"][0]
    checks = [tf.debugging.assert_equal(tf.shape(z)[1], width,
                                        message=f"z must have shape [batch, {width}]")]
    for name, value in cond.items():
        info = inputs[name]
        if info["dtype"].startswith("int") and "high" in info:
            message = f"{name} must be in [{info['low']}, {info['high']})"
            checks += [tf.debugging.assert_greater_equal(
                value, tf.cast(info["low"], value.dtype), message=message),
                tf.debugging.assert_less(value, tf.cast(info["high"], value.dtype),
                                         message=message)]
    with tf.control_dependencies(checks):
        return tf.identity(z), {name: tf.identity(value) for name, value in cond.items()}


def _signatures(model, kind: str):
    """(name, function, input_signature) for each endpoint: the model's own
    (`serving_signatures`: image-to-image variants), else the latent ones below.

    Inputs besides z come from `model.condition_specs()` (the label, InfoGAN's codes); then
    serving_default takes one dict (what keras.layers.TFSMLayer passes). The `sample`
    endpoint takes the label where conditional; codes it draws from the seed.
    """
    key = output_name(kind)
    own = model.serving_signatures(key)
    if own is not None:
        return own
    z_spec = tf.TensorSpec([None, model.latent_dim], tf.float32, name="z")
    cond_specs = model.condition_specs()
    names = list(cond_specs)
    inputs = model.serving_inputs()
    count_spec = tf.TensorSpec([], tf.int32, name="num_samples")
    seed_spec = tf.TensorSpec([], tf.int64, name="seed")

    def run(z, cond):
        z, cond = _checked(inputs, z, cond or {})
        return model.inference_generator(model.generator_inputs(z, cond or None),
                                         training=False)

    def serve(z):
        return {key: run(z, {})}

    def serve_conditional(values):  # one dict argument: TFSMLayer takes a dict of inputs
        return {key: run(values["z"], {name: values[name] for name in names})}

    def to_output(x):
        if kind != "points":
            x = tf.cast(tf.clip_by_value(tf.round((x + 1.0) * 127.5), 0.0, 255.0), tf.uint8)
        return {key: x}

    def latents(num_samples, seed):
        tf.debugging.assert_non_negative(num_samples, message="num_samples must be >= 0")
        return tf.random.stateless_normal([num_samples, model.latent_dim],
                                          seed=tf.stack([seed, tf.constant(0, tf.int64)]))

    def sample_given(num_samples, seed, conds):
        for name, value in conds.items():
            tf.debugging.assert_equal(tf.shape(value)[0], num_samples,
                                      message=f"{name} must have num_samples entries")
        return to_output(run(latents(num_samples, seed), dict(conds)))

    def sample_drawn(num_samples, seed):
        return to_output(run(latents(num_samples, seed),
                             model.random_condition(num_samples, seed)))

    if not names:
        return [("serving_default", serve, [z_spec]),
                ("sample", sample_drawn, [count_spec, seed_spec])]
    serving = ("serving_default", serve_conditional, [{"z": z_spec, **cond_specs}])
    if model.random_condition(tf.constant(1), tf.constant(0, tf.int64)) is not None:
        return [serving, ("sample", sample_drawn, [count_spec, seed_spec])]
    return [serving, ("sample", sample_given, [count_spec, seed_spec, dict(cond_specs)])]


def replace_dir(tmp: Path, final: Path):
    """Move the finished directory `tmp` to `final`, replacing what is there."""
    if final.exists():
        old = final.with_name(f".old-{final.name}-{os.getpid()}")
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old)
    else:
        os.replace(tmp, final)


def export_saved_model(model, directory, *, kind: str, shape, **extra_metadata) -> Path:
    """Write `model.inference_generator` (a GANModel's generator, or its moving average
    under train.g_ema) as a SavedModel at `directory`.

    `shape` is one generated example's shape; `extra_metadata` (e.g. epoch, dataset) goes
    into assets.extra/tfgan_app.json.
    """
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = directory.with_name(f".tmp-{directory.name}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        archive = keras.export.ExportArchive()
        for network in model.exported_networks():
            archive.track(network)
        for name, fn, spec in _signatures(model, kind):
            archive.add_endpoint(name, fn, input_signature=spec)
        archive.write_out(str(tmp), verbose=False)
        info = metadata(model, kind, shape, **extra_metadata)
        (tmp / METADATA).parent.mkdir(exist_ok=True)
        (tmp / METADATA).write_text(json.dumps(info, indent=2) + "\n")
        replace_dir(tmp, directory)
    except Exception as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise RunFailure(f"SavedModel export to {directory} failed: {exc}") from exc
    return directory

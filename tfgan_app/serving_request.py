"""Build a TF Serving REST request for an exported generator and check it with saved_model_cli.

    python -m tfgan_app.serving_request build runs/cgan/export/cgan/150 --num 2 --label 7 \
        --out request.json
    python -m tfgan_app.serving_request build runs/cgan/export/cgan/150 --signature sample \
        --num 4 --seed 1 --out sample_request.json
    python -m tfgan_app.serving_request check runs/cgan/export/cgan/150 request.json \
        --response response.json

`build` writes the JSON body to POST to http://HOST:8501/v1/models/<variant>:predict:
serving_default in TF Serving's row format ({"instances": [{"z": [...], "label": 7}, ...]}),
`sample` (scalar inputs) in its columnar format ({"inputs": {"num_samples": 4, ...}}).
`check` validates a request against the SavedModel's signature (input names, dtypes, shapes,
label ranges), runs it with `saved_model_cli run` (the same SavedModel loader TF Serving
uses, out of process), compares with tf.saved_model.load, and writes the response TF Serving
would return ({"predictions": [...]} for rows, {"outputs": ...} for columns). TF Serving
itself is not needed. Exit codes: 0 ok, 1 if saved_model_cli fails, 2 for a bad request or
arguments.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from tfgan_app import cli
from tfgan_app.errors import RunFailure, UsageError


def _signature(model: Path, name: str):
    import tensorflow as tf

    from tfgan_app.export import read_metadata

    meta = read_metadata(model)
    signatures = tf.saved_model.load(str(model)).signatures
    if name not in signatures:
        raise UsageError(f"{model} has no signature {name!r} (it has: {', '.join(signatures)})")
    return meta, signatures[name]


def build(model: Path, signature: str, num: int, seed: int, label: int | None) -> dict:
    from tfgan_app.export import draw_inputs

    meta, fn = _signature(model, signature)
    specs = fn.structured_input_signature[1]
    ranges = {n: i for n, i in meta["inputs"].items() if "high" in i and
              i["dtype"].startswith("int")}
    if label is not None:
        if not ranges:
            raise UsageError("--label given, but this generator takes no label")
        name, info = next(iter(ranges.items()))
        if not info["low"] <= label < info["high"]:
            raise UsageError(f"--label {label} is out of range: {name} must be in "
                        f"[{info['low']}, {info['high']})")
    if signature == "sample":
        inputs = {"num_samples": num, "seed": seed}
        for name, info in ranges.items():
            if name in specs:
                inputs[name] = [label if label is not None else
                                info["low"] + i % (info["high"] - info["low"])
                                for i in range(num)]
        return {"signature_name": "sample", "inputs": inputs}
    values = draw_inputs(meta["inputs"], num, np.random.default_rng(seed))
    if label is not None:
        values[next(iter(ranges))] = np.full(num, label, np.int32)
    columns = {name: np.round(values[name].astype(np.float64), 5)
               if values[name].dtype.kind == "f" else values[name] for name in specs}
    rows = [{name: column[i].tolist() for name, column in columns.items()}
            for i in range(num)]
    return {"signature_name": "serving_default", "instances": rows}


def parse(request: dict, meta: dict, fn) -> tuple[dict, bool]:
    """Request JSON -> (numpy inputs checked against the signature, row format?)."""
    import tensorflow as tf

    specs = fn.structured_input_signature[1]
    if "instances" in request:
        rows = request["instances"]
        if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
            raise UsageError('"instances" must be a non-empty list of objects, one per sample')
        raw = {name: [row.get(name) for row in rows] for name in {k for r in rows for k in r}}
        rowwise = True
    elif isinstance(request.get("inputs"), dict):
        raw, rowwise = request["inputs"], False
    else:
        raise UsageError('a request needs "instances" (row format) or "inputs" (columnar format)')
    unknown = sorted(set(raw) - set(specs))
    missing = sorted(set(specs) - set(raw))
    if unknown or missing:
        raise UsageError(f"inputs do not match the signature: unknown {unknown}, missing "
                    f"{missing}; it takes {sorted(specs)}")
    out = {}
    for name, spec in specs.items():
        value = raw[name]
        if rowwise and any(v is None for v in value):
            raise UsageError(f"every instance needs {name!r}")
        try:
            array = np.asarray(value)
        except ValueError:
            raise UsageError(f"{name}: rows of different lengths") from None
        integer = spec.dtype.is_integer
        if array.dtype == object or not (np.issubdtype(array.dtype, np.integer) or
                                         (not integer and np.issubdtype(array.dtype,
                                                                        np.floating))):
            kind = "integers" if integer else "numbers"
            raise UsageError(f"{name} must hold {kind} ({spec.dtype.name}), got {array.dtype}")
        if not tf.TensorShape(array.shape).is_compatible_with(spec.shape):
            raise UsageError(f"{name} has shape {list(array.shape)}; the signature expects "
                        f"{spec.shape.as_list()} (None: any batch size)")
        info = meta["inputs"].get(name, {})
        if integer and "high" in info and array.size and (
                array.min() < info["low"] or array.max() >= info["high"]):
            raise UsageError(f"{name} values must be in [{info['low']}, {info['high']})")
        out[name] = array.astype(spec.dtype.as_numpy_dtype)
    return out, rowwise


def check(model: Path, request: dict, saved_model_cli: str) -> tuple[dict, float]:
    """Run `request` with saved_model_cli; (TF Serving's response, max diff vs in-process)."""
    import tensorflow as tf

    signature = request.get("signature_name", "serving_default")
    meta, fn = _signature(model, signature)
    inputs, rowwise = parse(request, meta, fn)
    work = Path(tempfile.mkdtemp(prefix="serving-check-"))
    try:
        np.savez(work / "inputs.npz", **inputs)
        feeds = ";".join(f"{name}={work / 'inputs.npz'}[{name}]" for name in inputs)
        proc = subprocess.run(
            [saved_model_cli, "run", "--dir", str(model), "--tag_set", "serve",
             "--signature_def", signature, "--inputs", feeds, "--outdir", str(work / "out")],
            capture_output=True, text=True)
        outputs = sorted((work / "out").glob("*.npy")) if (work / "out").is_dir() else []
        if proc.returncode or len(outputs) != 1:
            tail = "\n".join(proc.stderr.strip().splitlines()[-3:])
            raise RunFailure(f"saved_model_cli run failed (exit {proc.returncode}):\n{tail}")
        result = np.load(outputs[0])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    direct = fn(**{k: tf.constant(v) for k, v in inputs.items()})[outputs[0].stem].numpy()
    diff = float(np.abs(result.astype(np.float64) - direct.astype(np.float64)).max()) \
        if result.size else 0.0
    values = (np.round(result.astype(np.float64), 5).tolist() if result.dtype.kind == "f"
              else result.tolist())
    return ({"predictions": values} if rowwise else {"outputs": values}), diff


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tfgan_app.serving_request", description=__doc__.splitlines()[0],
        epilog=__doc__.split("\n", 2)[2], formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="write a request JSON for a SavedModel")
    b.add_argument("model", type=Path, help="SavedModel directory (export/<variant>/<version>)")
    b.add_argument("--signature", choices=["serving_default", "sample"],
                   default="serving_default")
    b.add_argument("--num", type=int, default=2, help="samples in the request (default 2)")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--label", type=int, help="class of every sample (conditional models)")
    b.add_argument("--out", type=Path, help="file to write (default: print)")
    c = sub.add_parser("check", help="validate and run a request with saved_model_cli")
    c.add_argument("model", type=Path)
    c.add_argument("request", type=Path, help="request JSON file")
    c.add_argument("--response", type=Path, help="write the expected response JSON here")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if not (args.model / "saved_model.pb").is_file():
        raise UsageError(f"{args.model} is not a SavedModel directory (no saved_model.pb)")
    if args.command == "build":
        if args.num < 1:
            raise UsageError(f"--num must be positive, not {args.num}")
        text = json.dumps(build(args.model, args.signature, args.num, args.seed,
                                args.label)) + "\n"
        if args.out:
            args.out.write_text(text)
            print(f"wrote {args.out}")
        else:
            print(text, end="")
        return 0
    try:
        request = json.loads(args.request.read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read request {args.request}: {exc}") from None
    if not isinstance(request, dict):
        raise UsageError(f"{args.request} must hold a JSON object")
    saved_model_cli = shutil.which("saved_model_cli") or str(
        Path(sys.executable).with_name("saved_model_cli"))
    response, diff = check(args.model, request, saved_model_cli)
    body = next(iter(response.values()))
    shape = list(np.shape(body))
    print(f"ok: saved_model_cli ran {request.get('signature_name', 'serving_default')} on "
          f"{args.model}; response {next(iter(response))} shape {shape}, max difference "
          f"from tf.saved_model.load {diff:.1e}")
    if args.response:
        args.response.write_text(json.dumps(response) + "\n")
        print(f"wrote {args.response}")
    return 0


def console_main():
    """Entry point of the `tfgan-serving-request` console script."""
    sys.exit(cli.run(main))


if __name__ == "__main__":
    console_main()

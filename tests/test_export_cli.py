"""python -m tfgan_app.export and the deployment commands (tfgan_app.sample and
tfgan_app.serving_request), checked from outside.

Each exported file is loaded by the runtimes users deploy with: tf.saved_model.load and
keras.layers.TFSMLayer (TF Serving's loader), saved_model_cli, and the LiteRT interpreter.
"""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import ROOT, run_cli, run_python, train_tiny_runs

from tfgan_app import cli, export, sample, serving_request
from tfgan_app.export.__main__ import main

# Full-int8 error of the tiny test generators against Keras, measured with these seeds:
# max abs 0.009 (dcgan), 0.011 (cgan), 0.021 (gan on ring); PSNR 58 dB. The bounds leave
# 2.5x room. (The digits dcgan and cgan in docs/tflite.md: max abs ~0.09, ~44 dB.)
INT8_MAX_ABS_ERROR = 0.05
INT8_MIN_PSNR_DB = 50.0

CASES = {  # name -> (variant, extra config, inputs besides z)
    "unconditional": ("dcgan", ["train.epochs=2"], {}),
    "conditional": ("cgan", [], {"label": np.array([0, 3, 9, 1], np.int32)}),
    "toy": ("gan", ["data.dataset=ring"], {}),
}


def export_cli(capsys, *argv):
    return run_cli(main, capsys, *argv)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One tiny trained run per case (no end-of-training export)."""
    return train_tiny_runs(tmp_path_factory, CASES)


@pytest.fixture(scope="module")
def exported(runs, tmp_path_factory):
    """Every case exported by the CLI with all four TFLite options into one root."""
    root = tmp_path_factory.mktemp("export")
    outputs = {}
    for case, run in runs.items():
        code = cli.run(main, ["--run-dir", str(run), "--quantize", "all", "--output",
                              str(root)])
        assert code == 0
        outputs[case] = run
    return root


def _inputs(case, batch=4):
    z = np.random.default_rng(5).standard_normal((batch, 8)).astype(np.float32)
    return {"z": z, **CASES[case][2]}


@pytest.mark.parametrize("case", list(CASES))
def test_round_trip_through_every_runtime(exported, case):
    variant = CASES[case][0]
    version = "2" if case == "unconditional" else "1"
    path = exported / variant / version
    key = "points" if case == "toy" else "images"
    inputs = _inputs(case)
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    want = serve(**{k: tf.constant(v) for k, v in inputs.items()})[key].numpy()
    assert want.shape == ((4, 2) if case == "toy" else (4, 16, 16, 1))

    layer = keras.layers.TFSMLayer(str(path), call_endpoint="serving_default")
    got = layer(inputs if len(inputs) > 1 else inputs["z"])[key]  # a dict when conditional
    np.testing.assert_allclose(np.asarray(got), want, atol=1e-6)

    lite = export.tflite_runner(exported / f"{variant}.tflite")(**inputs)[key]
    np.testing.assert_allclose(lite, want, atol=1e-4)  # float32 TFLite vs SavedModel

    int8 = export.tflite_runner(exported / f"{variant}_int8.tflite")(**inputs)[key]
    assert np.abs(int8 - want).max() < INT8_MAX_ABS_ERROR


@pytest.mark.parametrize("case", list(CASES))
def test_report_measures_every_tflite_option(exported, case):
    variant = CASES[case][0]
    report = json.loads((exported / f"{variant}_tflite.json").read_text())
    assert report["variant"] == variant and set(report["inputs"]) >= {"z"}
    files = report["tflite"]
    assert list(files) == ["none", "float16", "dynamic", "int8"]
    assert files["none"]["max_abs_error"] < 1e-4
    assert files["float16"]["max_abs_error"] < 1e-2
    assert files["int8"]["max_abs_error"] < INT8_MAX_ABS_ERROR
    sizes = {q: (exported / item["path"]).stat().st_size for q, item in files.items()}
    assert sizes == {q: item["bytes"] for q, item in files.items()}
    if case != "toy":  # a 2 KiB MLP is mostly file overhead; docs/tflite.md has digits sizes
        assert sizes["float16"] < 0.75 * sizes["none"] and sizes["int8"] < 0.8 * sizes["none"]
    assert all(item["ms_per_sample"] > 0 for item in files.values())
    if case == "toy":
        assert files["int8"]["psnr_db"] is None
    else:
        assert files["none"]["psnr_db"] > 100 and files["int8"]["psnr_db"] > INT8_MIN_PSNR_DB


def test_models_config_serves_every_exported_variant(exported):
    text = (exported / "models.config").read_text()
    for variant in ("cgan", "dcgan", "gan"):
        assert (f'name: "{variant}"\n    base_path: "/models/{variant}"\n'
                f'    model_platform: "tensorflow"') in text
    assert text.count("config {") == 3
    assert not [p for p in exported.rglob("*") if p.name.startswith(".")]


def test_repo_models_config_example_has_the_writers_form():
    """export/models.config in the repo: one entry per variant, as the CLI writes them."""
    import re

    from tfgan_app import registry

    text = (ROOT / "export" / "models.config").read_text()
    entries = re.findall(r'config \{\n    name: "(\w+)"\n    base_path: "/models/(\w+)"\n'
                         r'    model_platform: "tensorflow"\n  \}', text)
    assert len(entries) >= 2 and text.count("config {") == len(entries)
    assert all(name == base and name in registry.variant_names() for name, base in entries)


def test_signature_rejects_out_of_range_labels(exported):
    serve = tf.saved_model.load(str(exported / "cgan" / "1")).signatures["serving_default"]
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"label must be in \[0, 10\)"):
        serve(z=tf.zeros([2, 8]), label=tf.constant([1, 10]))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"z must have shape \[batch, 8\]"):
        serve(z=tf.zeros([2, 5]), label=tf.constant([1, 2]))
    sample = tf.saved_model.load(str(exported / "cgan" / "1")).signatures["sample"]
    with pytest.raises(tf.errors.InvalidArgumentError, match="label must have num_samples"):
        sample(num_samples=tf.constant(3), seed=tf.constant(0, tf.int64),
               label=tf.constant([1, 2]))


def test_cli_prints_the_measurement_table(runs, tmp_path, capsys):
    code, out, err = export_cli(capsys, "--run-dir", runs["conditional"], "--quantize",
                                "int8,none", "--output", tmp_path)
    assert code == 0, err
    assert "SavedModel" in out and "max abs error vs Keras" in out
    lines = [line.split() for line in out.splitlines()]
    rows = {row[0]: row for row in lines if row and row[0] in ("none", "int8")}
    assert rows["none"][1] == "cgan.tflite" and rows["int8"][1] == "cgan_int8.tflite"
    assert float(rows["none"][4]) < 1e-4  # max abs error column


def test_tflite_only_and_chosen_checkpoint(runs, tmp_path, capsys):
    run = runs["unconditional"]  # 2 epochs: checkpoints 1 and 2
    code, _, err = export_cli(capsys, "--run-dir", run, "--format", "tflite",
                              "--checkpoint", 1, "--output", tmp_path / "one")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == \
        ["dcgan.tflite", "dcgan_tflite.json"]
    code, _, err = export_cli(capsys, "--run-dir", run, "--format", "saved_model",
                              "--checkpoint", 1, "--version", 7, "--output", tmp_path / "sm")
    assert code == 0, err
    meta = export.read_metadata(tmp_path / "sm" / "dcgan" / "7")
    assert meta["epoch"] == 1 and meta["version"] == 7 and meta["inputs"]["z"]["shape"] == [8]
    z = np.ones((1, 8), np.float32)
    lite = export.tflite_runner(tmp_path / "one" / "dcgan.tflite")(z=z)["images"]
    served = tf.saved_model.load(str(tmp_path / "sm" / "dcgan" / "7")).signatures[
        "serving_default"](z=tf.constant(z))["images"].numpy()
    np.testing.assert_allclose(lite, served, atol=1e-4)  # both from checkpoint 1
    code, _, err = export_cli(capsys, "--run-dir", run, "--format", "saved_model",
                              "--output", tmp_path / "sm")  # newest: epoch 2, version 2
    assert code == 0, err
    newer = tf.saved_model.load(str(tmp_path / "sm" / "dcgan" / "2")).signatures[
        "serving_default"](z=tf.constant(z))["images"].numpy()
    assert np.abs(newer - served).max() > 1e-3  # a different checkpoint, other weights


@pytest.mark.parametrize("argv, message", [
    (["--run-dir", "/no/such/run"], "run directory /no/such/run does not exist"),
    (["--run-dir", "{empty}"], "has no config.yaml"),
    (["--run-dir", "{fresh}"], "has no checkpoint yet: train at least one epoch first"),
    (["--run-dir", "{run}", "--checkpoint", "9"], "no checkpoint 9 in"),
    (["--run-dir", "{run}", "--version", "0"], "--version must be a positive integer"),
])
def test_usage_errors_exit_2(runs, tmp_path, capsys, argv, message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "fresh").mkdir()
    (tmp_path / "fresh" / "config.yaml").write_text("variant: dcgan\n")
    argv = [a.format(empty=tmp_path / "empty", fresh=tmp_path / "fresh",
                     run=runs["unconditional"]) for a in argv]
    code, out, err = export_cli(capsys, *argv, "--output", tmp_path / "out")
    assert code == 2 and err.startswith("error: ") and message in err, err
    assert "Traceback" not in err and not (tmp_path / "out").exists()


@pytest.mark.parametrize("argv, message", [
    (["--quantize", "int4"], "unsupported quantization int4; choose from none, float16, "
                             "dynamic, int8 or all"),
    (["--format", "onnx"], "unsupported format onnx"),
])
def test_unsupported_options_exit_2(runs, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["--run-dir", str(runs["toy"]), *argv])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_sample_draws_the_same_grid_from_saved_model_and_tflite(exported, tmp_path, capsys):
    from PIL import Image

    paths = {}
    for name, model in [("sm", exported / "cgan" / "1"), ("lite", exported / "cgan.tflite"),
                        ("int8", exported / "cgan_int8.tflite")]:
        paths[name] = tmp_path / f"{name}.png"
        code, out, err = run_cli(sample.main, capsys, model, "--seed", 3, "--scale", 1,
                                 "--out", paths[name])
        assert code == 0, err
    grids = {k: np.asarray(Image.open(p), np.int16) for k, p in paths.items()}
    assert grids["sm"].shape[:2] == (10 * 17 + 1, 8 * 17 + 1)  # a row per class, 8 columns
    assert np.abs(grids["sm"] - grids["lite"]).max() <= 1  # uint8 rounding only
    assert np.abs(grids["sm"] - grids["int8"]).max() <= 255 * INT8_MAX_ABS_ERROR / 2
    code, _, err = run_cli(sample.main, capsys, exported / "cgan" / "1", "--label", 10)
    assert code == 2 and "--label 10 is out of range: label must be in [0, 10)" in err


def test_sample_module_entry_point_reports_usage_errors(tmp_path):
    code, out, err = run_python("-m", "tfgan_app.sample", tmp_path / "missing.tflite")
    # The last line: TensorFlow's C++ start-up may log to stderr first.
    assert code == 2 and err.splitlines()[-1] == f"error: {tmp_path / 'missing.tflite'} is " \
        "neither a SavedModel directory nor a .tflite file", err
    assert "Traceback" not in err and not out


def test_toy_sample_writes_a_scatter(exported, tmp_path, capsys):
    code, _, err = run_cli(sample.main, capsys, exported / "gan_int8.tflite", "--out",
                           tmp_path / "ring.png")
    assert code == 0, err
    assert (tmp_path / "ring.png").stat().st_size > 5000


def test_serving_request_round_trip_with_saved_model_cli(exported, tmp_path):
    model = exported / "cgan" / "1"
    request = tmp_path / "request.json"
    code, _, err = run_python("-m", "tfgan_app.serving_request", "build", model, "--num", 3,
                              "--label", 7, "--out", request)
    assert code == 0, err
    body = json.loads(request.read_text())
    assert body["signature_name"] == "serving_default" and len(body["instances"]) == 3
    assert body["instances"][0]["label"] == 7 and len(body["instances"][0]["z"]) == 8
    response = tmp_path / "response.json"
    code, out, err = run_python("-m", "tfgan_app.serving_request", "check", model, request,
                                "--response", response)
    assert code == 0, err
    assert "max difference from tf.saved_model.load 0.0e+00" in out
    predictions = np.asarray(json.loads(response.read_text())["predictions"])
    z = np.asarray([row["z"] for row in body["instances"]], np.float32)
    want = tf.saved_model.load(str(model)).signatures["serving_default"](
        z=tf.constant(z), label=tf.constant([7, 7, 7]))["images"].numpy()
    np.testing.assert_allclose(predictions, want, atol=1e-5)


def test_serving_request_sample_signature_is_columnar_and_deterministic(exported, tmp_path,
                                                                       capsys):
    model = exported / "cgan" / "1"
    request = tmp_path / "sample.json"
    assert run_cli(serving_request.main, capsys, "build", model, "--signature", "sample",
                   "--num", 4, "--seed", 2, "--out", request)[0] == 0
    assert json.loads(request.read_text()) == {
        "signature_name": "sample", "inputs": {"num_samples": 4, "seed": 2,
                                               "label": [0, 1, 2, 3]}}
    outputs = []
    for i in range(2):
        response = tmp_path / f"r{i}.json"
        code, _, err = run_cli(serving_request.main, capsys, "check", model, request,
                               "--response", response)
        assert code == 0, err
        outputs.append(np.asarray(json.loads(response.read_text())["outputs"]))
    assert outputs[0].shape == (4, 16, 16, 1) and outputs[0].max() <= 255
    np.testing.assert_array_equal(outputs[0], outputs[1])


@pytest.mark.parametrize("body, message", [
    ({"instances": [{"z": [0.1] * 5, "label": 1}]},
     "z has shape [1, 5]; the signature expects [None, 8]"),
    ({"instances": [{"z": [0.1] * 8, "label": 1.5}]}, "label must hold integers (int32)"),
    ({"instances": [{"z": [0.1] * 8, "label": 12}]}, "label values must be in [0, 10)"),
    ({"instances": [{"z": [0.1] * 8}]}, "missing ['label']"),
    ({"instances": [{"z": ["a"] * 8, "label": 1}]}, "z must hold numbers (float32)"),
    ({"inputs": [1, 2]}, 'a request needs "instances" (row format) or "inputs"'),
])
def test_serving_request_check_rejects_bad_inputs(exported, tmp_path, capsys, body, message):
    request = tmp_path / "bad.json"
    request.write_text(json.dumps(body))
    code, _, err = run_cli(serving_request.main, capsys, "check", exported / "cgan" / "1",
                           request)
    assert code == 2 and err.startswith("error: ") and message in err, err


@pytest.mark.parametrize("argv, message", [
    (["build", "{run}", "--num", "2"], "is not a SavedModel directory (no saved_model.pb)"),
    (["build", "{model}", "--num", "0"], "--num must be positive, not 0"),
    (["build", "{model}", "--label", "10"], "--label 10 is out of range: label must be in"),
    (["check", "{model}", "{missing}"], "cannot read request"),
])
def test_serving_request_usage_errors(exported, runs, tmp_path, capsys, argv, message):
    argv = [a.format(run=runs["conditional"], model=exported / "cgan" / "1",
                     missing=tmp_path / "none.json") for a in argv]
    code, out, err = run_cli(serving_request.main, capsys, *argv)
    assert code == 2 and err.startswith("error: ") and message in err, err
    assert not out


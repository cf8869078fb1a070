"""python -m tfgan_app.export --run-dir RUN ...: export a run's generator from a checkpoint."""

from __future__ import annotations

import argparse
import sys

from tfgan_app import cli

EPILOG = """\
examples:
  python -m tfgan_app.export --run-dir runs/dcgan --quantize all
  python -m tfgan_app.export --run-dir runs/cgan --format saved_model --output export

Writes <output>/<variant>/<version>/ (SavedModel, TF Serving layout), <output>/models.config,
<output>/<variant>[_QUANT].tflite and <output>/<variant>_tflite.json. Each file is loaded
back (tf.saved_model.load, LiteRT) and compared with the Keras generator; the table printed
at the end gives size, max abs error, PSNR and latency per sample. Exit codes: 0 ok,
1 export failure, 2 bad usage (no run, no checkpoint, bad option).
--debug (or TFGAN_APP_DEBUG=1) adds the full traceback to an error message.
"""


def _choices(value: str, allowed, what: str, all_value=None) -> list[str]:
    items = [item.strip() for item in value.split(",") if item.strip()]
    if all_value and items == ["all"]:
        return list(all_value)
    bad = [item for item in items if item not in allowed]
    if bad or not items:
        raise argparse.ArgumentTypeError(
            f"unsupported {what} {','.join(bad) or repr(value)}; choose from "
            f"{', '.join(allowed)}{' or all' if all_value else ''} (comma-separated)")
    return list(dict.fromkeys(items))


def build_parser() -> argparse.ArgumentParser:
    from tfgan_app.export import FORMATS, QUANTIZATIONS

    parser = argparse.ArgumentParser(
        prog="python -m tfgan_app.export", epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Export a trained generator as a SavedModel (TF Serving) and TFLite.")
    parser.add_argument("--run-dir", required=True, metavar="RUN",
                        help="run directory written by python -m tfgan_app.train")
    parser.add_argument("--format", default=",".join(FORMATS), metavar="LIST",
                        type=lambda v: _choices(v, FORMATS, "format"),
                        help="saved_model, tflite or both (default: both)")
    parser.add_argument("--quantize", default="none", metavar="LIST",
                        type=lambda v: _choices(v, QUANTIZATIONS, "quantization",
                                                all_value=QUANTIZATIONS),
                        help="TFLite options: none (float32), float16, dynamic, int8, "
                             "comma-separated, or all (default: none)")
    parser.add_argument("--checkpoint", type=int, metavar="N",
                        help="epoch of the checkpoint to export (default: the newest)")
    parser.add_argument("--version", type=int, metavar="N",
                        help="SavedModel version directory (default: the checkpoint's epoch)")
    parser.add_argument("--output", metavar="DIR",
                        help="export root (default: RUN/export)")
    return parser


def _size(num_bytes: int) -> str:
    return f"{num_bytes / 1024:.0f} KiB" if num_bytes < 1 << 20 else \
        f"{num_bytes / (1 << 20):.2f} MiB"


def format_table(result) -> str:
    lines = []
    if result.saved_model is not None:
        lines.append(f"SavedModel {result.saved_model}: max abs error vs Keras "
                     f"{result.saved_model_max_abs_error:.1e}, "
                     f"{result.saved_model_ms_per_sample:.3f} ms/sample (batch 1)")
    if result.tflite:
        lines.append(f"{'tflite':<9}{'file':<26}{'size':>10}{'max abs err':>13}"
                     f"{'PSNR dB':>9}{'ms/sample':>11}")
        for quantize, report in result.tflite.items():
            psnr = "-" if report.psnr_db is None else f"{report.psnr_db:.1f}"
            lines.append(f"{quantize:<9}{report.path.name:<26}{_size(report.bytes):>10}"
                         f"{report.max_abs_error:>13.2e}{psnr:>9}"
                         f"{report.ms_per_sample:>11.3f}")
        lines.append("(errors against the Keras generator on 64 inputs, drawn or, for "
                     "image-to-image, made from the training data; latency in "
                     "LiteRT at batch 1, median of 50)")
    return "\n".join(lines)


def main(argv=None) -> int:
    from tfgan_app import runlock

    args = build_parser().parse_args(argv)
    with runlock.hold(args.run_dir, create=False):  # one writer per run directory
        return _export(args)


def _export(args) -> int:
    from pathlib import Path

    from tfgan_app.errors import UsageError
    from tfgan_app.export import export_generator
    from tfgan_app.training import load_run

    if args.version is not None and args.version < 1:
        raise UsageError(f"--version must be a positive integer, not {args.version}")
    run = load_run(args.run_dir, args.checkpoint)
    if run.epoch == 0:
        raise UsageError(f"{args.run_dir} has no finished epoch to export")
    output = Path(args.output) if args.output else Path(args.run_dir) / "export"
    version = args.version or run.epoch
    print(f"exporting {run.cfg.variant} from {args.run_dir} (checkpoint of epoch {run.epoch}) "
          f"to {output}", flush=True)
    from tfgan_app.training import EXPORT_EXAMPLES

    seed = run.cfg.train.seed
    result = export_generator(
        run.model, output, kind=run.data.kind, shape=run.model.exported_shape(run.data.shape),
        version=version, formats=args.format, quantize=args.quantize, seed=seed,
        examples=run.model.serving_examples(run.data, EXPORT_EXAMPLES, seed),
        dataset=run.data.name, data_shape=list(run.data.shape), epoch=run.epoch)
    print(format_table(result))
    print(f"done in {result.seconds:.1f}s")
    return 0


def console_main():
    sys.exit(cli.run(main))


if __name__ == "__main__":
    console_main()

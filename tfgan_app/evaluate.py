"""python -m tfgan_app.evaluate --run-dir RUN | --model EXPORT: measure sample quality."""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

from tfgan_app import cli

EPILOG = """\
examples:
  python -m tfgan_app.evaluate --run-dir runs/dcgan
  python -m tfgan_app.evaluate --run-dir runs/gan_ring --num-samples 2500 --seed 3
  python -m tfgan_app.evaluate --model runs/cgan/export/cgan/150
  python -m tfgan_app.evaluate --model runs/cgan/export/cgan_int8.tflite
  python -m tfgan_app.evaluate --run-dir runs/dcgan --inception-weights inception_v3_notop.h5
  python -m tfgan_app.evaluate --run-dir runs/began --draws 10

Metrics: toy data (ring, grid) gets modes covered, % high-quality samples and the reverse
KL of the mode histogram (the PacGAN protocol, 2500 samples); 1-D data (gauss1d) the
samples' mean and std and their Wasserstein-1 and Kolmogorov-Smirnov distances to the
data. Labeled images get the classifier score, Frechet and kernel distances on a domain
classifier trained on the real data (cached in $TFGAN_APP_CACHE, default
~/.cache/tfgan_app), per-class label accuracy for cgan/acgan and code/class agreement for
infogan; --inception-weights adds Inception-V3 FID. Image-to-image models (pix2pix, ...)
get PSNR and SSIM against the ground truth of 1000 fixed examples, beside the trivial
baseline's (the input copied, channel-matched; bicubic upscaling where sizes differ).
--draws N repeats the measurement on N draws of latents (seeds --seed, --seed + 1, ...)
and reports each metric's mean and standard deviation over them: from one draw of 2000
samples to the next, the digits' Frechet distance moves by 0.4-0.9 (standard deviation;
docs/benchmarks.md), so compare runs over several draws.
Writes JSON (default RUN/eval/epoch_NNNN.json, or eval_<variant>_<version>.json for
--model), plus for a run history.png and, for toy data, a scatter of the evaluated samples
(1-D: their density with the data's and the discriminator's output).
Exit codes: 0 ok, 1 runtime failure, 2 bad usage.
--debug (or TFGAN_APP_DEBUG=1) adds the full traceback to an error message.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tfgan_app.evaluate", epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Measure the sample quality of a trained or exported generator.")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--run-dir", metavar="RUN", type=Path,
                        help="run directory written by python -m tfgan_app.train")
    source.add_argument("--model", metavar="PATH", type=Path,
                        help="exported SavedModel directory or .tflite file")
    parser.add_argument("--checkpoint", type=int, metavar="N",
                        help="with --run-dir: epoch of the checkpoint (default: newest)")
    parser.add_argument("--dataset", metavar="SPEC",
                        help="with --model: the real data to compare with (default: the "
                             "dataset recorded in the export)")
    parser.add_argument("--num-samples", type=int, metavar="N",
                        help="generated samples (default: 2500 for toy data, 2000 images)")
    parser.add_argument("--seed", type=int, default=0, metavar="N",
                        help="seed of the latents and conditions (default: 0)")
    parser.add_argument("--draws", type=int, default=1, metavar="N",
                        help="measure N draws of latents (seeds --seed to --seed + N - 1) "
                             "and report each metric's mean and standard deviation "
                             "(default: 1)")
    parser.add_argument("--inception-weights", type=Path, metavar="FILE",
                        help="Inception-V3 weights (.h5) for FID on images")
    parser.add_argument("--json", type=Path, metavar="FILE", help="where to write the JSON")
    return parser


def _format(value) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return f"{value:.4f}" if abs(value) < 1000 else f"{value:.1f}"
    return str(value)


def format_table(metrics: dict, info: dict, std: dict | None = None) -> str:
    """The metrics as an aligned two-column table with one-line explanations; with `std`
    (several draws) each value reads mean +- standard deviation."""
    from tfgan_app.evaluation import SCALARS

    names = {**SCALARS, "fid_inception": "Frechet Inception Distance (user-supplied weights)"}
    lines = []
    width = max([16] + [len(name) for name in names if name in metrics])
    for name, text in names.items():
        if name in metrics:
            value = _format(metrics[name])
            if std is not None:
                value += f" +- {_format(std[name])}"
            lines.append(f"  {name:<{width}} {value:>{20 if std is not None else 10}}   {text}")
    if "class_accuracy" in metrics:
        per_class = " ".join(f"{k}:{_format(v)}" for k, v in enumerate(metrics["class_accuracy"]))
        lines.append(f"  per-class label accuracy: {per_class}")
    if "code_to_class" in metrics:
        pairs = " ".join(f"{k}->{v}" for k, v in enumerate(metrics["code_to_class"]))
        lines.append(f"  category code -> class: {pairs}")
    if "classifier_test_accuracy" in info:
        lines.append(f"  (domain classifier test accuracy "
                     f"{info['classifier_test_accuracy']:.4f})")
    return "\n".join(lines)


def _dataset_for_export(meta: dict, spec: str | None):
    from tfgan_app.data import load_dataset
    from tfgan_app.errors import UsageError

    spec = spec or meta.get("dataset")
    if not spec:
        raise UsageError("the export records no dataset: pass --dataset SPEC")
    if spec.partition(":")[0] in ("npz", "folder") and not Path(spec.partition(":")[2]).exists():
        raise UsageError(f"the export was trained on {spec}, which is not a path here: pass "
                         "--dataset npz:PATH or folder:PATH")
    # The training data's example shape (a pair's channels for image-to-image), recorded
    # by exports since image-to-image; before, the output's.
    shape = meta.get("data_shape") or meta.get("output_shape") or []
    data = load_dataset(spec, image_size=shape[0] if len(shape) == 3 else 0)
    if meta.get("kind") == "image" and list(data.shape) != list(shape):
        raise UsageError(f"dataset {spec} has shape {list(data.shape)}, but the model was "
                         f"trained on {list(shape)}")
    return data


def main(argv=None) -> int:
    from tfgan_app import runlock

    args = build_parser().parse_args(argv)
    if args.run_dir is None:  # an exported model: a reader, no lock
        return _evaluate(args)
    with runlock.hold(args.run_dir, create=False):  # one writer per run directory
        return _evaluate(args)


def _evaluate(args) -> int:
    from tfgan_app import evaluation, files, plotting
    from tfgan_app.errors import UsageError

    if args.num_samples is not None and args.num_samples < 2:
        raise UsageError(f"--num-samples must be at least 2, not {args.num_samples}")
    if args.draws < 1:
        raise UsageError(f"--draws must be at least 1, not {args.draws}")
    if args.checkpoint is not None and args.model:
        raise UsageError("--checkpoint goes with --run-dir, not --model")
    if args.dataset and args.run_dir:
        raise UsageError("--dataset goes with --model; a run evaluates on its own data")
    start = time.perf_counter()
    if args.run_dir:
        from tfgan_app.training import load_run

        run = load_run(args.run_dir, args.checkpoint)
        data, name = run.data, f"{args.run_dir} (epoch {run.epoch})"
        evaluator = evaluation.for_model(run.model, data, num_samples=args.num_samples,
                                         seed=args.seed, echo=print)
        def draw(ev):
            return ev.sample_model(run.model)
        default_json = args.run_dir / "eval" / f"epoch_{run.epoch:04d}.json"
        source = {"run_dir": str(args.run_dir), "variant": run.cfg.variant,
                  "epoch": run.epoch}
    else:
        from tfgan_app.export import load_exported

        meta, generate = load_exported(args.model)
        data = _dataset_for_export(meta, args.dataset)
        name = str(args.model)
        evaluator = evaluation.for_export(meta, data, num_samples=args.num_samples,
                                          seed=args.seed, echo=print)
        def draw(ev):
            return ev.sample_export(generate, meta)
        stem = args.model.name if args.model.is_dir() else args.model.stem
        default_json = Path(f"eval_{meta.get('variant', 'model')}_{stem}.json")
        source = {"model": str(args.model), "variant": meta.get("variant"),
                  "version": meta.get("version")}
    if not evaluator.available and not args.inception_weights:
        raise UsageError(f"no metrics for {name}: {evaluator.reason}")
    fid = None
    if args.inception_weights:
        if data.kind != "image":
            raise UsageError("--inception-weights is for image data; this is points")
        from tfgan_app.evaluation.inception import InceptionFID

        fid = InceptionFID(args.inception_weights)
    draws = []
    for seed in range(args.seed, args.seed + args.draws):
        ev = evaluator if seed == args.seed else evaluator.reseeded(seed)
        drawn = draw(ev)
        metrics = ev.evaluate(drawn)
        if fid is not None:
            metrics["fid_inception"] = fid.distance(ev.real_images, drawn.x)
        draws.append({"seed": seed, "metrics": metrics})
        if seed == args.seed:
            samples = drawn  # the first draw's samples go to the plots
    info = evaluator.info()
    std = None
    if args.draws == 1:
        metrics = draws[0]["metrics"]
        result = {**source, **info, "metrics": metrics}
    else:
        metrics, std = evaluation.summarize_draws([d["metrics"] for d in draws])
        seeds = f"seeds {args.seed}-{args.seed + args.draws - 1}"
        result = {**source, **info, "draws": draws, "metrics": metrics, "metrics_std": std}
    result["seconds"] = round(time.perf_counter() - start, 2)
    out = args.json or default_json
    files.write_text(out, json.dumps(result, indent=2) + "\n")
    if std is None:
        print(f"{name}: {evaluator.num_samples} samples, seed {args.seed}, on {data.name}")
    else:
        print(f"{name}: {args.draws} draws of {evaluator.num_samples} samples ({seeds}), "
              f"on {data.name}; mean +- standard deviation, each draw in {out}")
    print(format_table(metrics, info, std))
    print(f"wrote {out}")
    first = draws[0]["metrics"]  # the plotted samples' own figures
    if args.run_dir:
        history = args.run_dir / "history.csv"
        if history.is_file():
            plotting.save_history_plot(history, args.run_dir / "history.png",
                                       title=f"{run.cfg.variant}: history")
            print(f"wrote {args.run_dir / 'history.png'}")
        if data.shape == (1,) and data.modes is not None:
            density = out.with_name(out.stem + "_density.png")
            plotting.save_model_density_1d(
                run.model, data, samples.x, density,
                title=f"{run.cfg.variant} on {data.name}, epoch {run.epoch}: W1 "
                      f"{first['w1']:.3f}, KS {first['ks']:.3f}")
            print(f"wrote {density}")
        elif data.kind == "points" and data.modes is not None:
            scatter = out.with_name(out.stem + "_scatter.png")
            plotting.save_scatter(
                samples.x, scatter, modes=data.modes, std=data.mode_std,
                title=f"{run.cfg.variant} on {data.name}, epoch {run.epoch}: "
                      f"{first['modes']}/{len(data.modes)} modes, "
                      f"{100 * first['hq']:.1f}% high quality")
            print(f"wrote {scatter}")
    return 0


def console_main():
    """Entry point of the `tfgan-evaluate` console script."""
    sys.exit(cli.run(main))


if __name__ == "__main__":
    console_main()

"""Run a set of throughput benchmarks and write the speed table of docs/benchmarks.md.

    python tools/benchmark_speed.py --json speed.json           # every case, resumable
    python tools/benchmark_speed.py --cases dcgan --no-page     # cases whose name has this

Each case is one `python -m tfgan_app.benchmark ...` process, or for the keras.io WGAN-GP
baseline one `python tools/benchmark_baseline.py ...` (nothing else should run on the
machine meanwhile); the table shows images/s, ms/step, the fraction of the measured matmul
peak and the speed-up over the case's reference row. It replaces the text between
`<!-- speed:start -->` and `<!-- speed:end -->` in docs/benchmarks.md (`--page`), with
only the cases that have results: use `--no-page` for a partial run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from tfgan_app import files

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "benchmarks.md"
MARK_START, MARK_END = "<!-- speed:start -->", "<!-- speed:end -->"
BASELINE = "tools/benchmark_baseline.py"  # the keras.io example's plain train_step

DCGAN = ["--variant", "dcgan", "--batch-size", "64", "--steps", "56"]
DCGAN32 = ["--variant", "dcgan", "--batch-size", "128", "--steps", "20",
           "--set", "data.image_size=32"]
KERASIO = ["--batch-size", "512", "--steps", "5", "--warmup", "2"]
# The keras.io example's own train_step: a case whose arguments start with this runs it.
BASELINE = "tools/benchmark_baseline.py"
RING = ["--variant", "gan", "--dataset", "ring", "--batch-size", "128", "--steps", "156"]

# (name, reference case name or None, benchmark arguments)
CASES = [
    ("keras.io WGAN-GP baseline, float32", None, [BASELINE, *KERASIO]),
    ("keras.io WGAN-GP baseline, mixed_bfloat16", "keras.io WGAN-GP baseline, float32",
     [BASELINE, *KERASIO, "--mixed-precision"]),
    ("wgan_gp (kerasio nets), float32", "keras.io WGAN-GP baseline, float32",
     ["--variant", "wgan_gp", "--preset", "kerasio", *KERASIO]),
    ("wgan_gp (kerasio nets), mixed_bfloat16", "keras.io WGAN-GP baseline, float32",
     ["--variant", "wgan_gp", "--preset", "kerasio", *KERASIO, "--mixed-precision"]),
    ("wgan_gp (kerasio nets) b64, float32", None,
     ["--variant", "wgan_gp", "--preset", "kerasio", "--batch-size", "64", "--steps", "2",
      "--warmup", "1"]),
    ("wgan_gp (kerasio nets) b64, XLA (--jit)", "wgan_gp (kerasio nets) b64, float32",
     ["--variant", "wgan_gp", "--preset", "kerasio", "--batch-size", "64", "--steps", "2",
      "--warmup", "1", "--jit"]),
    ("dcgan 32x32, float32", None, DCGAN32),
    ("dcgan 32x32, mixed_bfloat16", "dcgan 32x32, float32", [*DCGAN32, "--mixed-precision"]),
    ("dcgan digits 16x16, float32", None, DCGAN),
    ("dcgan digits 16x16, mixed_bfloat16", "dcgan digits 16x16, float32",
     [*DCGAN, "--mixed-precision"]),
    ("dcgan digits 16x16, XLA (--jit)", "dcgan digits 16x16, float32", [*DCGAN, "--jit"]),
    ("dcgan digits 16x16, 28 steps/execution", "dcgan digits 16x16, float32",
     [*DCGAN, "--steps-per-execution", "28"]),
    ("dcgan digits 16x16, 28 steps/execution + mixed", "dcgan digits 16x16, float32",
     [*DCGAN, "--steps-per-execution", "28", "--mixed-precision"]),
    ("gan ring (MLP), float32", None, RING),
    ("gan ring (MLP), 78 steps/execution", "gan ring (MLP), float32",
     [*RING, "--steps-per-execution", "78"]),
]


def command(args: list[str]) -> list[str]:
    """The case's command line after `python`."""
    return list(args) if args[0] == BASELINE else ["-m", "tfgan_app.benchmark", *args]


def run_case(args: list[str]) -> dict:
    # PYTHONPATH: the baseline script imports this checkout's tfgan_app, as -m does from ROOT.
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, *command(args)], cwd=ROOT,
                          capture_output=True, text=True,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": path})
    lines = proc.stdout.strip().splitlines()
    if proc.returncode or not lines:
        raise SystemExit(f"benchmark {' '.join(command(args))} failed ({proc.returncode}):\n"
                         f"{proc.stderr[-2000:]}")
    return json.loads(lines[-1])


def table(results: dict) -> str:
    lines = ["| case | images/s | ms/step | GFLOP/step | % of peak (dtype) | speed-up |",
             "|---|---|---|---|---|---|"]
    for name, reference, _ in CASES:
        if name not in results:
            continue
        r = results[name]
        ref = results.get(reference)
        speedup = f"{r['images_per_sec'] / ref['images_per_sec']:.2f}x vs {reference}" \
            if ref else "reference"
        lines.append(f"| {name} (batch {r['batch_size']}) | {r['images_per_sec']:.0f} | "
                     f"{r['step_ms']:.1f} | {r['flops_per_step'] / 1e9:.1f} | "
                     f"{r['peak_fraction']:.0%} of {r['peak_gflop_per_sec']:.0f} GFLOP/s "
                     f"({r['peak_dtype']}) | {speedup} |")
    commands = [f"- {name}: `python {' '.join(command(args))}`"
                for name, _, args in CASES if name in results]
    return "\n".join(lines + ["", "Commands:", ""] + commands)


def page_problem(page: Path) -> str | None:
    """Why `page` cannot take the generated block, or None."""
    return files.marked_block_problem(page, MARK_START, MARK_END)


def update_page(page: Path, text: str):
    """Replace the text between the markers of `page` with `text`."""
    try:
        files.replace_marked_block(page, MARK_START, MARK_END, text)
    except ValueError as exc:  # no such page, or no marked block in it
        raise SystemExit(f"error: {exc}") from None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="", help="run only cases containing this text")
    parser.add_argument("--json", type=Path, help="read/write results here (resumable)")
    parser.add_argument("--page", type=Path, default=PAGE,
                        help="rewrite the speed block of this page (default: "
                             "docs/benchmarks.md)")
    parser.add_argument("--no-page", action="store_true",
                        help="print the table, but rewrite no page")
    args = parser.parse_args(argv)
    # Checked before hours of benchmarking, not after.
    problem = None if args.no_page else page_problem(args.page)
    if problem:
        parser.error(problem)
    results = json.loads(args.json.read_text()) if args.json and args.json.is_file() else {}
    for name, _, case_args in CASES:
        if args.cases not in name or name in results:
            continue
        print(f"running {name} ...", flush=True)
        results[name] = run_case(case_args)
        print(f"  {results[name]['images_per_sec']:.1f} images/s", flush=True)
        if args.json:
            args.json.write_text(json.dumps(results, indent=1))
    text = table(results)
    print(text)
    if not args.no_page:
        update_page(args.page, text)
        print(f"updated {args.page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

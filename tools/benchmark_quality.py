#!/usr/bin/env python
"""Train every variant on ring, grid and digits with the project's defaults and tabulate
the quality metrics beside the published toy-data rows (VEEGAN and PacGAN, Table 1).

    python tools/benchmark_quality.py                       # everything, 2 jobs at a time
    python tools/benchmark_quality.py --datasets ring --variants gan,wgan_gp --seeds 0,1,2
    python tools/benchmark_quality.py --set train.epochs=1 --out /tmp/bench --no-page  # smoke
    python tools/benchmark_quality.py --report-only         # tables only, from finished runs
    python tools/benchmark_quality.py --datasets digits,ring --variants dcgan,gan,wgan_gp \
        --arms base,sn,hinge,r1,ema,diffaug --seeds 0     # the stabilizer study

Each run is `python -m tfgan_app.train --variant V --dataset D --seed S` into
OUT/D/V/seed_S; its last epoch is evaluated by the training run itself (eval/ columns of
history.csv), so the numbers are exactly what a user's run reports. Finished runs are not
trained again (the same command resumes or returns at once), so an interrupted benchmark
continues where it stopped. Writes OUT/results.json and OUT/results.md, and rewrites the
tables between the benchmark markers of docs/benchmarks.md (`--page`; `--no-page` to leave
it alone, e.g. for partial or smoke runs).

`--arms` adds stabilizer arms (ARMS): each is a set of `--set` overrides on top of a
variant's defaults, trained into OUT/D/V/ARM/seed_S (the `base` arm, no overrides, keeps
OUT/D/V/seed_S) and tabulated per dataset against the same variant's `base` runs. An arm that
a (variant, dataset) refuses (the app's ConfigError when the config is resolved and the
model built, e.g. no `loss` key in wgan, no R1 for an autoencoder discriminator, DiffAugment
on points) or that changes nothing is skipped, with the reason printed.
The variants are those tfgan_app registers (it must be importable: installed, or
PYTHONPATH=.).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import json
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from tfgan_app import files

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "benchmarks.md"
MARK_START, MARK_END = "<!-- benchmark:start -->", "<!-- benchmark:end -->"
# (method, modes, high-quality %, reverse KL) as the papers print them ("" = not given).
PUBLISHED = {
    "ring": [("GAN (VEEGAN Table 1)", "1", "99.3", ""),
             ("Unrolled GAN (VEEGAN Table 1)", "7.6", "35.6", ""),
             ("VEEGAN (VEEGAN Table 1)", "8.0", "52.9", ""),
             ("GAN (PacGAN Table 1)", "6.3 ± 0.5", "98.2 ± 0.2", "0.45 ± 0.09"),
             ("PacGAN4 (PacGAN Table 1)", "7.8 ± 0.1", "95.9 ± 0.8", "0.07 ± 0.02")],
    "grid": [("GAN (VEEGAN Table 1)", "3.3", "0.5", ""),
             ("Unrolled GAN (VEEGAN Table 1)", "23.6", "16.0", ""),
             ("VEEGAN (VEEGAN Table 1)", "24.6", "40.0", ""),
             ("GAN (PacGAN Table 1)", "17.3 ± 0.8", "94.8 ± 0.7", "0.70 ± 0.07"),
             ("PacGAN4 (PacGAN Table 1)", "24.8 ± 0.2", "93.6 ± 0.6", "0.04 ± 0.01")],
}
MODES = {"ring": 8, "grid": 25}
# Stabilizer arms: name -> `--set` overrides over a variant's defaults ("{variant}" is the
# variant's own config section). Stabilizers: docs/variants.md.
ARMS = {
    "base": [],
    "sn": ["model.spectral_norm=true", "model.d_norm=none"],
    "hinge": ["{variant}.loss=hinge"],
    "r1": ["{variant}.r1_weight=10"],
    "ema": ["train.g_ema=0.999"],
    "diffaug": ["train.diffaugment=color,translation,cutout"],
}
# (column, eval/ metric, scale, digits) of the stabilizer tables.
ARM_METRICS = {
    "toy": [("modes", "modes", 1, 1), ("high-quality %", "hq", 100, 1),
            ("reverse KL", "kl", 1, 2)],
    "digits": [("classifier score", "score", 1, 2), ("Frechet", "frechet", 1, 1),
               ("KID", "kid", 1, 2)],
}


def variant_names() -> list[str]:
    """Every generator from noise the app registers: a new one gets benchmarked and
    tabulated too. Image-to-image variants (family "image") are measured against ground
    truth instead (PSNR/SSIM, python -m tfgan_app.evaluate), not on these tables."""
    import tfgan_app.variants  # noqa: F401 (importing the package registers them)
    from tfgan_app import registry

    return registry.variant_names(family="noise")


def arm_sets(arm: str, variant: str) -> list[str]:
    """The `--set` overrides of `arm` for `variant`."""
    return [item.format(variant=variant) for item in ARMS[arm]]


def arm_problem(variant: str, dataset: str, arm: str, sets=()) -> str | None:
    """Why `arm` does not apply to `variant` on `dataset` (with the benchmark's own `sets`
    under it), or None: the ConfigError the app raises when it resolves the config and builds
    the model, exactly as a training run would (ConfigError, or the UsageError of a variant
    that needs labels the dataset lacks), or "same as base" if it changes nothing."""
    from tfgan_app.config import resolve_config
    from tfgan_app.errors import UsageError
    from tfgan_app.training import load_data

    flags = {"data.dataset": dataset}
    try:
        cfg = resolve_config(variant, flags=flags, sets=[*sets, *arm_sets(arm, variant)])
        if arm != "base" and cfg == resolve_config(variant, flags=flags, sets=list(sets)):
            return "same as base"
        data, variant_cls = load_data(cfg)
        variant_cls.from_run_config(cfg, data)
    except UsageError as exc:  # ConfigError is one
        return str(exc)
    return None


def run_dir_of(out: Path, dataset: str, variant: str, arm: str, seed: int) -> Path:
    """OUT/<dataset>/<variant>/seed_<S> for the base arm, .../<variant>/<arm>/seed_<S> else."""
    parent = out / dataset / variant
    return (parent if arm == "base" else parent / arm) / f"seed_{seed}"


def read_run(record: dict, run_dir: Path) -> dict:
    """Add a finished run's epochs, training time and last eval/ metrics to `record`."""
    history = run_dir / "history.csv"
    if record.get("returncode", 0) == 0 and history.is_file():
        with open(history, newline="") as f:
            rows = list(csv.DictReader(f))
        if rows:
            record["epochs"] = int(rows[-1]["epoch"])
            # Epochs x the median epoch time: robust to a run paused or starved for a while
            # (evaluation epochs, a few percent longer, are not counted apart).
            seconds = sorted(float(r["seconds"]) for r in rows)
            record["train_seconds"] = round(seconds[len(seconds) // 2] * len(rows), 1)
            record["metrics"] = {k[5:]: float(v) for k, v in rows[-1].items()
                                 if k.startswith("eval/") and v not in ("", None)}
    return record


def existing_runs(out: Path) -> list[dict]:
    """Records of every finished run under OUT/<dataset>/<variant>/seed_<S>/ (base arm) and
    OUT/<dataset>/<variant>/<arm>/seed_<S>/."""
    records = []
    histories = [(h, "base") for h in out.glob("*/*/seed_*/history.csv")]
    histories += [(h, h.parent.parent.name) for h in out.glob("*/*/*/seed_*/history.csv")
                  if h.parent.parent.name in ARMS and h.parent.parent.name != "base"]
    for history, arm in sorted(histories):
        run_dir = history.parent
        variant_dir = run_dir.parent if arm == "base" else run_dir.parent.parent
        dataset, variant = variant_dir.parent.name, variant_dir.name
        if variant in variant_names() and dataset in ("ring", "grid", "digits"):
            record = read_run({"variant": variant, "dataset": dataset, "arm": arm,
                               "seed": int(run_dir.name[5:]), "run_dir": str(run_dir),
                               "returncode": 0}, run_dir)
            config = (run_dir / "config.yaml").read_text()
            epochs = re.search(r"^  epochs: (\d+)$", config, re.M)
            if epochs and record.get("epochs") == int(epochs.group(1)):  # finished
                records.append(record)
    return records


def train_command(variant: str, dataset: str, arm: str, seed: int, out: Path,
                  sets: list[str]) -> list[str]:
    """The training command of one run: the benchmark's `sets`, then the arm's overrides."""
    command = [sys.executable, "-m", "tfgan_app.train", "--variant", variant,
               "--dataset", dataset, "--seed", str(seed), "--output-dir",
               str(run_dir_of(out, dataset, variant, arm, seed)), "--set", "train.export=false"]
    for item in [*sets, *arm_sets(arm, variant)]:
        command += ["--set", item]
    return command


def run_one(variant: str, dataset: str, arm: str, seed: int, out: Path,
            sets: list[str]) -> dict:
    run_dir = run_dir_of(out, dataset, variant, arm, seed)
    run_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with open(run_dir / "benchmark.log", "a") as log:
        proc = subprocess.run(train_command(variant, dataset, arm, seed, out, sets), cwd=ROOT,
                              stdout=log, stderr=subprocess.STDOUT,
                              env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    record = {"variant": variant, "dataset": dataset, "arm": arm, "seed": seed,
              "run_dir": str(run_dir), "returncode": proc.returncode,
              "wall_seconds": round(time.perf_counter() - start, 1)}
    return read_run(record, run_dir)


def mean_std(values) -> tuple[float, float]:
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return float("nan"), float("nan")
    mean = sum(values) / len(values)
    if len(values) == 1:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def cell(values, scale=1.0, digits=1) -> str:
    mean, std = mean_std([v * scale for v in values if v is not None])
    if math.isnan(mean):
        return "failed"
    if len(values) == 1:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def toy_table(dataset: str, records: list[dict]) -> list[str]:
    lines = [f"**{dataset}** ({MODES[dataset]} modes; 2500 samples; mean ± std over seeds)",
             "",
             "| method | seeds | modes | high-quality % | reverse KL | time per run |",
             "|---|---|---|---|---|---|"]
    for variant in variant_names():
        runs = [r for r in records if r["variant"] == variant and r["dataset"] == dataset]
        if not runs:
            if variant != "dcgan":  # on points dcgan is gan
                lines.append(f"| `{variant}` | 0 | not run yet | | | |")
            continue
        ok = [r for r in runs if "metrics" in r]
        m = [r["metrics"] for r in ok]
        lines.append(
            f"| `{variant}` | {len(ok)}/{len(runs)} | {cell([x.get('modes') for x in m])} | "
            f"{cell([x.get('hq') for x in m], 100)} | "
            f"{cell([x.get('kl') for x in m], digits=2)} | "
            f"{cell([r['train_seconds'] for r in ok], digits=0)} s |")
    for method, modes, hq, kl in PUBLISHED[dataset]:
        lines.append(f"| {method} | | {modes} | {hq} | {kl or '-'} | |")
    return lines


def digits_table(records: list[dict]) -> list[str]:
    runs = [r for r in records if r["dataset"] == "digits" and "metrics" in r]
    real = [r["metrics"].get("real_score") for r in runs]
    real_mean = mean_std(real)[0]
    lines = [f"**digits** (2000 samples; domain classifier score of the real digits "
             f"{real_mean:.2f}; two random halves of the real digits: Frechet 4.4, KID "
             f"-0.06)", "",
             "| variant | seeds | classifier score | % of real | Frechet | KID | "
             "label accuracy | code agreement | time per run |",
             "|---|---|---|---|---|---|---|---|---|"]
    for variant in variant_names():
        ok = [r for r in runs if r["variant"] == variant]
        if not ok:
            lines.append(f"| `{variant}` | 0 | not run yet | | | | | | |")
            continue
        m = [r["metrics"] for r in ok]
        score = [x.get("score") for x in m]
        ratio = [s / x["real_score"] for s, x in zip(score, m)]
        label = [x.get("label_accuracy") for x in m if "label_accuracy" in x]
        code = [x.get("code_agreement") for x in m if "code_agreement" in x]
        lines.append(
            f"| `{variant}` | {len(ok)} | {cell(score, digits=2)} | {cell(ratio, 100)} | "
            f"{cell([x.get('frechet') for x in m], digits=1)} | "
            f"{cell([x.get('kid') for x in m], digits=2)} | "
            f"{cell(label, 100) + ' %' if label else '-'} | "
            f"{cell(code, 100) + ' %' if code else '-'} | "
            f"{cell([r['train_seconds'] for r in ok], digits=0)} s |")
    return lines


def arm_of(record: dict) -> str:
    return record.get("arm", "base")  # results.json written before arms has none


def change(values, base_values, scale=1.0, digits=1) -> str:
    """" (+0.41)": the arm's mean minus the base arm's mean, or "" without both."""
    mean = mean_std([v * scale for v in values if v is not None])[0]
    base = mean_std([v * scale for v in base_values if v is not None])[0]
    if math.isnan(mean) or math.isnan(base):
        return ""
    return f" ({round(mean - base, digits) + 0.0:+.{digits}f})"  # + 0.0: no "-0.0"


def stabilizer_table(dataset: str, records: list[dict]) -> list[str]:
    """Every arm of each variant that has a non-base arm run on `dataset`, against its base."""
    runs = [r for r in records if r["dataset"] == dataset]
    variants = [v for v in variant_names()
                if any(r["variant"] == v and arm_of(r) != "base" for r in runs)]
    if not variants:
        return []
    metrics = ARM_METRICS["digits" if dataset == "digits" else "toy"]
    lines = [f"**{dataset} with stabilizers** (mean ± std over seeds; in parentheses the change "
             f"of the mean against the variant's `base` row)", "",
             "| variant | arm | seeds | " + " | ".join(c for c, *_ in metrics) +
             " | time per run |",
             "|---" * (len(metrics) + 4) + "|"]
    for variant in variants:
        by_arm = {arm: [r for r in runs if r["variant"] == variant and arm_of(r) == arm]
                  for arm in ARMS}
        base = [r["metrics"] for r in by_arm["base"] if "metrics" in r]
        for arm, arm_runs in by_arm.items():
            if not arm_runs:
                if arm == "base":
                    lines.append(f"| `{variant}` | base | 0 | not run yet |" +
                                 " |" * len(metrics))
                continue
            ok = [r for r in arm_runs if "metrics" in r]
            cells = []
            for _, key, scale, digits in metrics:
                values = [r["metrics"].get(key) for r in ok]
                cells.append(cell(values, scale, digits) + ("" if arm == "base" else change(
                    values, [x.get(key) for x in base], scale, digits)))
            lines.append(f"| `{variant}` | {arm} | {len(ok)}/{len(arm_runs)} | " +
                         " | ".join(cells) +
                         f" | {cell([r['train_seconds'] for r in ok], digits=0)} s |")
    return lines


def markdown(records: list[dict], sets: list[str]) -> str:
    parts = []
    base = [r for r in records if arm_of(r) == "base"]
    for dataset in ("ring", "grid"):
        if any(r["dataset"] == dataset for r in base):
            parts += toy_table(dataset, base) + [""]
    if any(r["dataset"] == "digits" for r in base):
        parts += digits_table(base) + [""]
    for dataset in ("ring", "grid", "digits"):
        table = stabilizer_table(dataset, records)
        parts += table + [""] if table else []
    arms = [a for a in ARMS if a != "base" and any(arm_of(r) == a for r in records)]
    if arms:
        parts.append("Arms (overrides on top of each variant's defaults): " + "; ".join(
            f"`{arm}`: `{' '.join(arm_sets(arm, '<variant>'))}`" for arm in arms) + ".")
    if sets:
        parts.append(f"(with overrides: {' '.join(sets)})")
    return "\n".join(parts).rstrip() + "\n"


def page_problem(page: Path) -> str | None:
    """Why `page` cannot take the generated block, or None."""
    return files.marked_block_problem(page, MARK_START, MARK_END)


def update_page(page: Path, table: str):
    """Replace the text between the markers of `page` with `table`."""
    try:
        files.replace_marked_block(page, MARK_START, MARK_END, table)
    except ValueError as exc:  # no such page, or no marked block in it
        raise SystemExit(f"error: {exc}") from None


def plan_jobs(datasets: list[str], variants: list[str], arms: list[str], seeds: dict,
              sets: list[str]) -> tuple[list[tuple], list[str]]:
    """The (variant, dataset, arm, seed) runs to train, and why each arm left out is.

    `seeds` maps each dataset to its seeds. Every variant's first seed before any second
    one, and every variant's arm before the next arm: a stopped benchmark has rows for all
    variants. On points dcgan is gan (the same MLP pair and losses).
    """
    jobs, skipped = [], []
    for dataset in datasets:
        pairs = []
        for arm in arms:
            for variant in variants:
                if variant == "dcgan" and dataset != "digits":
                    continue
                problem = None if arm == "base" else arm_problem(variant, dataset, arm, sets)
                if problem:
                    skipped.append(f"{dataset} {variant} {arm}: {problem}")
                else:
                    pairs.append((variant, arm))
        jobs += [(v, dataset, arm, s) for s in seeds[dataset] for v, arm in pairs]
    return jobs, skipped


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="ring,grid,digits")
    parser.add_argument("--variants", default=",".join(variant_names()))
    parser.add_argument("--seeds", default="0,1,2", help="seeds for ring and grid")
    parser.add_argument("--digits-seeds", default="0", help="seeds for digits")
    parser.add_argument("--arms", default="base",
                        help=f"stabilizer arms, from {','.join(ARMS)} (default: base, the "
                             f"variants' defaults)")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time (default 2)")
    parser.add_argument("--out", type=Path, default=Path("runs/benchmark"))
    parser.add_argument("--set", action="append", default=[], dest="sets",
                        metavar="KEY=VALUE", help="config override for every run")
    parser.add_argument("--page", type=Path, default=PAGE,
                        help="rewrite the benchmark block of this page (default: "
                             "docs/benchmarks.md)")
    parser.add_argument("--no-page", action="store_true",
                        help="print and save the tables, but rewrite no page")
    parser.add_argument("--report-only", action="store_true",
                        help="train nothing: tabulate every finished run under --out")
    args = parser.parse_args(argv)
    # Checked before hours of benchmarking, not after.
    problem = None if args.no_page else page_problem(args.page)
    if problem:
        parser.error(problem)
    if args.report_only:
        records = existing_runs(args.out)
        if not records:
            parser.error(f"no finished runs under {args.out}")
        table = markdown(records, args.sets)
        (args.out / "results.json").write_text(json.dumps(records, indent=1) + "\n")
        (args.out / "results.md").write_text(table)
        print(table)
        if not args.no_page:
            update_page(args.page, table)
            print(f"updated {args.page}")
        return 0
    variants = [v for v in args.variants.split(",") if v]
    unknown = sorted(set(variants) - set(variant_names()))
    if unknown:
        parser.error(f"unknown variants: {', '.join(unknown)}")
    arms = [a for a in args.arms.split(",") if a]
    unknown = [a for a in arms if a not in ARMS]
    if unknown:
        parser.error(f"unknown arms: {', '.join(unknown)}; choose from {', '.join(ARMS)}")
    datasets = [d for d in args.datasets.split(",") if d]
    for dataset in datasets:
        if dataset not in ("ring", "grid", "digits"):
            parser.error(f"unknown dataset {dataset}: choose from ring, grid, digits")
    seeds = {d: [int(s) for s in (args.digits_seeds if d == "digits" else args.seeds)
                 .split(",") if s] for d in datasets}
    jobs, skipped = plan_jobs(datasets, variants, arms, seeds, args.sets)
    for line in skipped:
        print(f"skipped {line}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    results_path = args.out / "results.json"
    previous = json.loads(results_path.read_text()) if results_path.is_file() else []
    records = {(r["variant"], r["dataset"], arm_of(r), r["seed"]): r for r in previous}
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
        futures = {pool.submit(run_one, *job, args.out, args.sets): job for job in jobs}
        for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
            record = future.result()
            records[futures[future]] = record
            metrics = record.get("metrics", {})
            shown = " ".join(f"{k}={v:.3g}" for k, v in metrics.items() if k != "seconds")
            print(f"[{done}/{len(jobs)}] {record['dataset']} {record['variant']} "
                  f"{record['arm']} seed "
                  f"{record['seed']}: {'ok' if record['returncode'] == 0 else 'FAILED'} "
                  f"{record['wall_seconds']:.0f}s {shown}", flush=True)
            results_path.write_text(json.dumps(list(records.values()), indent=1) + "\n")
    table = markdown(list(records.values()), args.sets)
    (args.out / "results.md").write_text(table)
    print(table)
    print(f"{len(jobs)} runs in {time.perf_counter() - start:.0f}s; wrote {results_path} "
          f"and {args.out / 'results.md'}")
    if not args.no_page:
        update_page(args.page, table)
        print(f"updated {args.page}")
    failed = [r for r in records.values() if r["returncode"] != 0]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""Write docs/configuration.md from the option metadata of the config dataclasses.

    python tools/make_docs.py           # rewrite docs/configuration.md
    python tools/make_docs.py --check   # exit 1 if docs/configuration.md is out of date

Every key's type, default, bounds and help come from the code (the `option(...)` fields of
each section), so the page cannot drift from what `--set` accepts; tests/test_docs.py fails
when the committed page differs from `render()`. Only `resolve_config` and the registry are
used to find the sections, so config classes may move between modules freely.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import inspect
import os
import sys
import typing
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "configuration.md"
CONFIGS = ROOT / "configs"

SECTIONS = [
    ("data", "Which examples are trained on, and at what size."),
    ("model", "The generator and discriminator networks."),
    ("train", "Optimization, distribution, speed, and what the run writes."),
]

# What each precedence source means; keyed by the source's text in tfgan_app/config.py's
# docstring, which is what the list itself is read from.
SOURCE_NOTES = {
    "code defaults": "the defaults in the tables below",
    "configs/<variant>.yaml": "what a variant changes ([per-variant files](#per-variant-files))",
    "configs/datasets/<dataset>.yaml": "what suits a dataset, for every variant and under "
                                       "`variants.<name>` for single ones "
                                       "([per-dataset files](#per-dataset-files))",
    "--config FILE": "your YAML file, shaped like the `config.yaml` a run writes",
    "CLI flags": "the training command's own flags (`--dataset`, `--epochs`, `--batch-size`, "
                 "...; see `python -m tfgan_app.train --help`)",
    "--set key=value": "`--set section.key=value`, repeatable; the last one wins",
}


def _load():
    """(resolve_config, registry) with every variant registered."""
    import tfgan_app.variants  # noqa: F401  (fills the registry)
    from tfgan_app import registry
    from tfgan_app.config import resolve_config

    return resolve_config, registry


def value_text(value) -> str:
    """A value as a user writes it in YAML or after `--set key=`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value == "":
        return '""'
    return str(value) if not isinstance(value, float) else repr(value)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _values(hint, meta) -> str:
    """What a key accepts: its choices, or its type and bounds."""
    if typing.get_origin(hint) is typing.Literal:
        return ", ".join(f"`{value_text(a)}`" for a in typing.get_args(hint))
    if hint is bool:
        return "`true`, `false`"
    name = getattr(hint, "__name__", str(hint))
    lo, hi = meta.get("min"), meta.get("max")
    if lo is not None and hi is not None:
        return f"{name} in [{lo!r}, {hi!r}]"
    if lo is not None:
        return f"{name} ≥ {lo!r}"
    if hi is not None:
        return f"{name} ≤ {hi!r}"
    return name


def _default(field: dataclasses.Field):
    if field.default is not dataclasses.MISSING:
        return field.default
    return field.default_factory()  # type: ignore[misc]


def options_of(obj) -> list[dict]:
    """One dict per field of dataclass instance `obj`: name, default, values, help."""
    hints = typing.get_type_hints(type(obj))
    return [{"name": f.name, "default": value_text(_default(f)),
             "values": _values(hints[f.name], f.metadata),
             "help": f.metadata.get("help", "")}
            for f in dataclasses.fields(obj)]


def _table(rows: list[dict], prefix: str) -> list[str]:
    lines = ["| key | default | values | meaning |", "|---|---|---|---|"]
    for r in rows:
        lines.append(f"| `{prefix}.{r['name']}` | `{_cell(r['default'])}` | "
                     f"{_cell(r['values'])} | {_cell(r['help'])} |")
    return lines


def precedence(resolve_config) -> list[str]:
    """The config sources in precedence order, read from the config module's docstring."""
    doc = inspect.getmodule(resolve_config).__doc__ or ""
    lines, found = [], False
    for line in doc.splitlines():
        text = line.strip()
        if text.startswith("code defaults <") or (found and text.startswith("< ")):
            found = True
            lines.append(text)
        elif found:
            break
    if not lines:
        raise RuntimeError("the config module's docstring no longer lists its sources as "
                           "'code defaults < ... < ...'; update tools/make_docs.py")
    # " < " with its spaces: the sources themselves contain "<" (configs/<variant>.yaml).
    return [part.strip() for part in " ".join(lines).split(" < ") if part.strip()]


def _flatten(mapping, prefix: str = "") -> list[str]:
    out = []
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out += _flatten(value, name + ".")
        else:
            out.append(f"`{name}: {value_text(value)}`")
    return out


def _variant_sections(cfgs: dict, summaries: dict) -> list[str]:
    per_variant = {v: options_of(cfg.options) for v, cfg in cfgs.items()}
    names = [set(r["name"] for r in rows) for rows in per_variant.values()]
    shared_names = set.intersection(*names) if names else set()
    first = next(iter(per_variant.values()), [])
    shared = []
    for name in [r["name"] for r in first if r["name"] in shared_names]:
        # The most common (default, values, help) is the shared entry; variants that
        # differ (e.g. wgan's n_critic = 5) list the key in their own table.
        versions = collections.Counter(
            tuple(sorted(r.items())) for rows in per_variant.values() for r in rows
            if r["name"] == name)
        shared.append(dict(versions.most_common(1)[0][0]))
    lines = ["## Variant options", "",
             "Keys under the variant's own name: `--set gan.loss=minimax`, or a `gan:` "
             "section in a config file. A run accepts only its own variant's keys.", ""]
    if shared:
        lines += ["### Every variant", "",
                  "Every variant has these keys, under its own name:", ""]
        lines += _table(shared, "<variant>") + [""]
    for variant, rows in per_variant.items():
        own = [r for r in rows if r["name"] not in shared_names or
               dict(r) not in shared]
        lines += [f"### {variant}", "", summaries.get(variant, ""), ""]
        if own:
            lines += _table(own, variant) + [""]
        else:
            lines += ["No keys besides the shared ones.", ""]
    return lines


def _delta_sections(variants: list[str]) -> list[str]:
    lines = ["## Per-variant files", "",
             "What each `configs/<variant>.yaml` changes over the code defaults (each file's "
             "comments say why):", "",
             "| variant | file | sets |", "|---|---|---|"]
    for variant in variants:
        path = CONFIGS / f"{variant}.yaml"
        if path.is_file():
            data = yaml.safe_load(path.read_text()) or {}
            lines.append(f"| `{variant}` | [configs/{variant}.yaml](../configs/{variant}.yaml)"
                         f" | {', '.join(_flatten(data)) or 'nothing'} |")
        else:
            lines.append(f"| `{variant}` | none | nothing |")
    lines += ["", "## Per-dataset files", "",
              "What `configs/datasets/<dataset>.yaml` changes when `--dataset` names that "
              "dataset (over the variant's file; under `variants`, for single variants):", "",
              "| dataset | file | every variant | single variants |", "|---|---|---|---|"]
    for path in sorted((CONFIGS / "datasets").glob("*.yaml")):
        data = dict(yaml.safe_load(path.read_text()) or {})
        single = data.pop("variants", None) or {}
        per = "; ".join(f"{name}: {', '.join(_flatten(delta))}"
                        for name, delta in single.items())
        lines.append(f"| `{path.stem}` | [configs/datasets/{path.name}]"
                     f"(../configs/datasets/{path.name}) | {', '.join(_flatten(data))} | "
                     f"{per or '-'} |")
    return lines


def render() -> str:
    """The whole text of docs/configuration.md."""
    resolve_config, registry = _load()
    variants = registry.variant_names()
    cfgs = {v: resolve_config(v) for v in variants}
    any_cfg = cfgs[variants[0]]
    lines = [
        "# Configuration reference", "",
        "Every configuration key with its default, accepted values and meaning, generated "
        "from the code's option metadata by `python tools/make_docs.py` (do not edit by hand).",
        "",
        "Set a key with `--set section.key=value` or in a YAML file passed with `--config`. "
        "`python -m tfgan_app.train --variant NAME --print-config` prints every key with the "
        "value a run would use, as a valid `--config` file; the run directory keeps it as "
        "`config.yaml`. Unknown keys, wrong types and out-of-range values are refused with a "
        "message naming the key (exit code 2).", "",
        "## Where values come from", "",
        "Later sources win:", ""]
    for i, source in enumerate(precedence(resolve_config), 1):
        note = SOURCE_NOTES.get(source)
        shown = f"`{source}`" if source.startswith("-") or "/" in source else source
        lines.append(f"{i}. {shown}" + (f": {note}" if note else ""))
    lines.append("")
    for section, intro in SECTIONS:
        lines += [f"## {section}", "", intro, ""]
        lines += _table(options_of(getattr(any_cfg, section)), section) + [""]
    lines += _variant_sections(cfgs, registry.summaries())
    lines += _delta_sections(variants)
    return "\n".join(lines).rstrip() + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help=f"exit 1 if {PAGE.relative_to(ROOT)} differs from the code")
    args = parser.parse_args(argv)
    text = render()
    current = PAGE.read_text() if PAGE.is_file() else None
    if args.check:
        if current != text:
            print(f"{PAGE.relative_to(ROOT)} is out of date: run python tools/make_docs.py",
                  file=sys.stderr)
            return 1
        print(f"{PAGE.relative_to(ROOT)} is up to date")
        return 0
    if current == text:
        print(f"{PAGE.relative_to(ROOT)} is up to date")
    else:
        PAGE.write_text(text)
        print(f"wrote {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    # Document this checkout's code, not whichever tfgan_app happens to be installed.
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's start-up chatter
    sys.exit(main())

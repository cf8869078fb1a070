"""Typed, validated run configuration.

A run's configuration is a tree of small dataclasses. Each section's defaults live beside the
code that uses them (`data.DataConfig`, `networks.NetworkConfig`, `plan.TrainConfig`, and
each variant's `Config`), declared with `option.option`; this module only knows how to
build, check, override and print them. Sources apply in this order, later ones winning:

    code defaults < configs/<variant>.yaml < configs/datasets/<dataset>.yaml
                  < --config FILE < CLI flags < --set key=value

A dataset file holds what suits that data for every variant (e.g. the toy data's MLP
settings), and under `variants.<name>` what suits one variant on it.

Any unknown key, wrong type or out-of-range value raises `ConfigError` naming the key.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml

# Importing the variants package registers every built-in variant.
import tfgan_app.variants  # noqa: F401
from tfgan_app import registry
from tfgan_app.data import DataConfig
from tfgan_app.errors import ConfigError
from tfgan_app.networks import NetworkConfig
from tfgan_app.plan import TrainConfig
from tfgan_app.variants.base import VariantConfig

# configs/ sits beside the package in the source tree (installed with `pip install -e .`).
CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
SECTIONS = ("data", "model", "train")


@dataclasses.dataclass
class RunConfig:
    """The whole resolved configuration of one run."""

    variant: str
    data: DataConfig
    model: NetworkConfig
    train: TrainConfig
    options: VariantConfig  # the variant's own Config; written under the variant's name

    @classmethod
    def defaults(cls, variant: str) -> RunConfig:
        """Every section at its code defaults (no config file applied)."""
        return cls(variant=variant, data=DataConfig(), model=NetworkConfig(),
                   train=TrainConfig(), options=registry.get_variant(variant).Config())

    def sections(self) -> dict:
        """Section name as written in config files -> its dataclass instance."""
        return {"data": self.data, "model": self.model, "train": self.train,
                self.variant: self.options}

    def resumable_keys(self) -> set[str]:
        """Dotted keys a resumed run may change (declared with `option(resumable=True)`)."""
        return {f"{name}.{field.name}" for name, section in self.sections().items()
                for field in dataclasses.fields(section) if field.metadata.get("resumable")}

    def to_dict(self) -> dict:
        return {"variant": self.variant, **{name: dataclasses.asdict(section)
                                            for name, section in self.sections().items()}}

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


def _type_name(hint) -> str:
    if typing.get_origin(hint) is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(hint))
    return getattr(hint, "__name__", str(hint))


def _coerce(key: str, value, hint, meta: Mapping, from_string: bool):
    """Return `value` converted to `hint`, or raise ConfigError naming `key`."""
    if typing.get_origin(hint) is Literal:
        allowed = typing.get_args(hint)
        if value not in allowed:
            raise ConfigError(
                f"config key '{key}' must be one of {', '.join(map(str, allowed))}; "
                f"got {value!r}")
        return value
    try:
        if hint is bool:
            if isinstance(value, bool):
                return value
            if from_string and str(value).lower() in ("true", "yes", "1", "false", "no", "0"):
                return str(value).lower() in ("true", "yes", "1")
            raise ValueError
        if hint is int:
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, int):
                out = value
            elif isinstance(value, str) and from_string:
                out = int(value)
            else:
                raise ValueError
        elif hint is float:
            # YAML 1.1 reads "1e-4" as a string, so numeric strings are accepted here.
            if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                raise ValueError
            out = float(value)
            if not math.isfinite(out):
                raise ValueError
        elif hint is str:
            if not isinstance(value, str):
                raise ValueError
            return value
        else:  # pragma: no cover - a programming error in a section definition
            raise TypeError(f"unsupported config type {hint} for {key}")
    except (ValueError, TypeError):
        raise ConfigError(
            f"config key '{key}' must be {_type_name(hint)}; got {value!r}") from None
    lo, hi = meta.get("min"), meta.get("max")
    if lo is not None and out < lo:
        raise ConfigError(f"config key '{key}' must be >= {lo}; got {out!r}")
    if hi is not None and out > hi:
        raise ConfigError(f"config key '{key}' must be <= {hi}; got {out!r}")
    return out


def _unknown(key: str, valid: list[str]) -> ConfigError:
    close = difflib.get_close_matches(key, valid, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return ConfigError(f"unknown config key '{key}'{hint}; valid keys: {', '.join(valid)}")


def _fields(cls) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls)}


def _update(obj, section: str, values, *, from_string: bool = False):
    """Return a copy of dataclass `obj` with `values` (a mapping) checked and applied."""
    if not isinstance(values, Mapping):
        raise ConfigError(f"config section '{section}' must be a mapping of keys to values; "
                          f"got {values!r}")
    fields = _fields(type(obj))
    hints = typing.get_type_hints(type(obj))
    changes = {}
    for name, value in values.items():
        if name not in fields:
            raise _unknown(f"{section}.{name}", [f"{section}.{n}" for n in fields])
        changes[name] = _coerce(f"{section}.{name}", value, hints[name],
                                fields[name].metadata, from_string)
    return dataclasses.replace(obj, **changes)


def _apply_mapping(cfg: RunConfig, mapping: Mapping, source: str) -> RunConfig:
    if not isinstance(mapping, Mapping):
        raise ConfigError(f"{source}: expected a mapping of sections "
                          f"({', '.join(SECTIONS + (cfg.variant,))}); got {type(mapping).__name__}")
    for section, values in mapping.items():
        if section == "variant":
            if values != cfg.variant:
                raise ConfigError(f"{source}: it is a config for variant '{values}', "
                                  f"but the run's variant is '{cfg.variant}'")
            continue
        if section in SECTIONS:
            setattr(cfg, section, _update(getattr(cfg, section), section, values))
        elif section == cfg.variant:
            cfg.options = _update(cfg.options, section, values)
        else:
            valid = list(SECTIONS) + [cfg.variant]
            close = difflib.get_close_matches(str(section), valid, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(f"{source}: unknown config section '{section}'{hint}; "
                              f"valid sections: {', '.join(valid)}")
    return cfg


def load_yaml(path: str | os.PathLike) -> Mapping:
    """Read a YAML config file; an empty file is an empty mapping."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
    return {} if data is None else data


def parse_set(items: list[str]) -> list[tuple[str, str]]:
    """Split `--set key=value` items, rejecting malformed ones."""
    pairs = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or "." not in key:
            raise ConfigError(f"--set expects section.key=value (e.g. train.epochs=5); "
                              f"got {item!r}")
        pairs.append((key.strip(), value.strip()))
    return pairs


def _dataset_choice(cfg: RunConfig, user, flags: Mapping, sets: list[str]) -> str:
    """The dataset spec the run will use, looking at the sources in precedence order."""
    dataset = cfg.data.dataset
    if isinstance(user, Mapping) and isinstance(user.get("data"), Mapping):
        dataset = user["data"].get("dataset", dataset)
    if flags.get("data.dataset") is not None:
        dataset = flags["data.dataset"]
    for key, value in parse_set(sets):
        if key == "data.dataset":
            dataset = value
    return str(dataset)


def _apply_dataset_delta(cfg: RunConfig, mapping, source: str) -> RunConfig:
    """configs/datasets/<name>.yaml: sections for every variant, then `variants.<variant>`."""
    if not isinstance(mapping, Mapping):
        raise ConfigError(f"{source}: expected a mapping of sections")
    mapping = dict(mapping)
    per_variant = mapping.pop("variants", {}) or {}
    if not isinstance(per_variant, Mapping):
        raise ConfigError(f"{source}: 'variants' must map variant names to config sections")
    unknown = sorted(set(per_variant) - set(registry.variant_names()))
    if unknown:
        raise ConfigError(f"{source}: unknown variant(s) under 'variants': "
                          f"{', '.join(map(str, unknown))}")
    cfg = _apply_mapping(cfg, mapping, source)
    if cfg.variant in per_variant:
        cfg = _apply_mapping(cfg, per_variant[cfg.variant], f"{source} (variants.{cfg.variant})")
    return cfg


def resolve_config(variant: str, *, config_file=None, flags: Mapping[str, Any] | None = None,
                   sets: list[str] | None = None, config_dir: Path = CONFIG_DIR) -> RunConfig:
    """Build the run config for `variant` from every source, in precedence order.

    Args:
      variant: a registered variant name.
      config_file: optional user YAML file (same shape as `configs/<variant>.yaml`).
      flags: dotted keys set by dedicated CLI flags, e.g. {"train.epochs": 5}; None values
        are ignored.
      sets: raw `--set section.key=value` strings.
      config_dir: where per-variant delta files (and datasets/ deltas) live.
    """
    cfg = RunConfig.defaults(variant)
    delta = Path(config_dir) / f"{variant}.yaml"
    if delta.is_file():
        cfg = _apply_mapping(cfg, load_yaml(delta), str(delta))
    user = load_yaml(config_file) if config_file else {}
    dataset = _dataset_choice(cfg, user, flags or {}, sets or [])
    dataset_delta = Path(config_dir) / "datasets" / f"{dataset}.yaml"
    if ":" not in dataset and dataset_delta.is_file():
        cfg = _apply_dataset_delta(cfg, load_yaml(dataset_delta), str(dataset_delta))
    if config_file:
        cfg = _apply_mapping(cfg, user, str(config_file))
    for key, value in (flags or {}).items():
        if value is not None:
            section, name = key.split(".")
            cfg = _apply_mapping(cfg, {section: {name: value}}, f"flag for {key}")
    for key, value in parse_set(sets or []):
        section, _, name = key.partition(".")
        if section not in SECTIONS and section != variant:
            valid = list(SECTIONS) + [variant]
            raise ConfigError(f"--set {key}: unknown config section '{section}'; "
                              f"valid sections: {', '.join(valid)}")
        target = "options" if section == variant else section
        setattr(cfg, target, _update(getattr(cfg, target), section, {name: value},
                                     from_string=True))
    return cfg

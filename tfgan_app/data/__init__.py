"""Datasets: specs, readers and the training input pipeline."""

import dataclasses
from typing import Literal

from tfgan_app.data import paired
from tfgan_app.data.dataset import Dataset, Pairing
from tfgan_app.data.sources import DATASET_SPECS, PAIRED_SPECS, UNALIGNED_SPECS, load_dataset
from tfgan_app.option import option

__all__ = ["DATASET_SPECS", "PAIRED_SPECS", "UNALIGNED_SPECS", "DataConfig", "Dataset", "Pairing",
           "load_dataset", "load_from_config", "spec_list"]

# data.cache=auto reads a streamed dataset into memory when it decodes to at most this.
CACHE_AUTO_BYTES = 512 << 20


@dataclasses.dataclass
class DataConfig:
    """Where the training data comes from (`data.*` keys)."""

    dataset: str = option("digits", "dataset spec: " + ", ".join(DATASET_SPECS))
    image_size: int = option(0, "resize images (both halves of paired data) to this square "
                                "size; 0 keeps the dataset's own (digits, edges2digits: 16, "
                                "shapes: 64); photos (default 64) and gray2color (32) crop "
                                "their patches at it", min=0)
    channels: int = option(0, "convert images (both halves of paired data) to 1 (grayscale) "
                              "or 3 (RGB) channels; 0 keeps the dataset's own, per half "
                              "(streamed sources and shapes; in-memory data keeps its own)",
                           min=0, max=3)
    toy_samples: int = option(10000, "points drawn for ring, grid and gauss1d",
                                   min=1)
    shapes_samples: int = option(100_000, "examples of the procedural shapes dataset "
                                          "(rendered on the fly, never stored)", min=1)
    max_examples: int = option(0, "use only the first N examples (0: all); for quick runs",
                               min=0)
    pair_direction: Literal["a_to_b", "b_to_a"] = option(
        "a_to_b", "paired data: a_to_b translates A (the first folder, the left half of a "
                  "side-by-side image, a built-in's source) into B; b_to_a the other way")
    cache: Literal["auto", "on", "off"] = option(
        "auto", "hold a streamed dataset (folder, tfrecord, tfds, shapes) in memory as uint8 "
                "after one read; auto: when it decodes to at most 512 MiB")


def spec_list() -> str:
    """Every dataset spec with its description, one aligned line each (for --help)."""
    width = max(map(len, DATASET_SPECS))
    return "\n".join(f"  {spec:<{width}} {text}" for spec, text in DATASET_SPECS.items())


def load_from_config(cfg: DataConfig, seed: int) -> Dataset:
    if cfg.channels == 2:
        from tfgan_app.errors import ConfigError

        raise ConfigError("config key 'data.channels' must be 0, 1 or 3; got 2")
    data = load_dataset(cfg.dataset, image_size=cfg.image_size, toy_samples=cfg.toy_samples,
                        seed=seed, channels=cfg.channels, shapes_samples=cfg.shapes_samples)
    if cfg.pair_direction == "b_to_a":
        if data.pair is None:
            from tfgan_app.errors import ConfigError

            raise ConfigError(f"data.pair_direction=b_to_a needs paired data; dataset "
                              f"{data.name} has single examples")
        data = paired.swapped(data)
    if cfg.max_examples:
        data = data.limit(cfg.max_examples)
    if not data.in_memory and (cfg.cache == "on" or (
            cfg.cache == "auto" and data.decoded_bytes() <= CACHE_AUTO_BYTES)):
        data = data.cached()
    return data

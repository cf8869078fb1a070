"""Datasets: specs, loaders and the training input pipeline."""

import dataclasses

from tfgan_app.option import option
from tfgan_app.data.sources import DATASET_SPECS, Dataset, load_dataset

__all__ = ["DATASET_SPECS", "DataConfig", "Dataset", "load_dataset", "load_from_config"]


@dataclasses.dataclass
class DataConfig:
    """Where the training data comes from (`data.*` keys)."""

    dataset: str = option("digits", "dataset spec: " + ", ".join(DATASET_SPECS))
    image_size: int = option(0, "resize images to this square size; 0 keeps the dataset's "
                                "own size (digits: 16)", min=0)
    toy_samples: int = option(10000, "points drawn for ring and grid", min=1)
    max_examples: int = option(0, "use only the first N examples (0: all); for quick runs",
                               min=0)


def load_from_config(cfg: DataConfig, seed: int) -> Dataset:
    data = load_dataset(cfg.dataset, image_size=cfg.image_size, toy_samples=cfg.toy_samples,
                        seed=seed)
    if cfg.max_examples and cfg.max_examples < data.num_examples:
        data = dataclasses.replace(data, x=data.x[:cfg.max_examples],
                                   y=data.y[:cfg.max_examples])
    return data

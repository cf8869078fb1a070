"""Toy data: 2-D Gaussian mixtures with the PacGAN / VEEGAN protocol, and the 1-D Gaussian
of the GAN tutorials.

`ring` and `grid` are equal-weight mixtures of isotropic 2-D Gaussians; `gauss1d` is the one
Gaussian N(-1, 1) of the 1-D demo in Goodfellow's NIPS 2016 GAN tutorial (its figure of
the data density, the generator's density and the discriminator's output over x).
"""

from __future__ import annotations

import numpy as np

# name -> (mode centres, standard deviation); the published benchmark settings.
RING_STD = 0.01
GRID_STD = 0.05
GAUSS1D_MEAN = -1.0
GAUSS1D_STD = 1.0


def ring_modes(n: int = 8, radius: float = 1.0) -> np.ndarray:
    """`n` centres evenly spaced on a circle: (cos 2πk/n, sin 2πk/n)."""
    angles = 2 * np.pi * np.arange(n) / n
    return (radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)).astype(np.float32)


def grid_modes() -> np.ndarray:
    """The 25 centres {-4, -2, 0, 2, 4}^2."""
    axis = np.arange(-4, 5, 2, dtype=np.float32)
    return np.array([(x, y) for x in axis for y in axis], dtype=np.float32)


def gauss1d_modes() -> np.ndarray:
    """The one centre of the 1-D Gaussian: [[-1]]."""
    return np.array([[GAUSS1D_MEAN]], np.float32)


TOY_DATASETS = {
    "ring": (ring_modes, RING_STD),
    "grid": (grid_modes, GRID_STD),
    "gauss1d": (gauss1d_modes, GAUSS1D_STD),
}


def sample_mixture(modes: np.ndarray, std: float, n: int, seed: int):
    """Draw `n` points from the equal-weight mixture; returns (points, mode index).

    Points have the modes' dimension (2 for ring and grid, 1 for gauss1d).
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(modes), size=n)
    points = modes[labels] + rng.normal(0.0, std, size=(n, modes.shape[1]))
    return points.astype(np.float32), labels.astype(np.int32)

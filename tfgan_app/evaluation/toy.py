"""Mode coverage of 2-D toy data, with the VEEGAN / PacGAN protocol.

Draw 2500 samples. A sample is *high quality* if it lies within 3 standard deviations of its
nearest mode centre; a mode is *covered* if it is the nearest mode of at least one
high-quality sample. PacGAN also reports the reverse KL divergence KL(P_gen || P_true) of
the mode histogram (every sample counted at its nearest mode) against the true, uniform
mode distribution: 0 when the modes are hit equally often, log(#modes) for one mode.
"""

from __future__ import annotations

import numpy as np

PROTOCOL_SAMPLES = 2500
HQ_STDS = 3.0


def nearest_modes(points, modes):
    """(index of each point's nearest mode, its distance)."""
    points = np.asarray(points, np.float64)
    modes = np.asarray(modes, np.float64)
    distances = np.linalg.norm(points[:, None, :] - modes[None, :, :], axis=-1)
    nearest = distances.argmin(axis=1)
    return nearest, distances[np.arange(len(points)), nearest]


def reverse_kl(counts) -> float:
    """KL(P_gen || uniform) of a mode histogram; empty modes contribute nothing."""
    counts = np.asarray(counts, np.float64)
    p = counts / counts.sum()
    nonzero = p > 0
    return float(np.sum(p[nonzero] * np.log(p[nonzero] * len(p))))


def toy_metrics(points, modes, std: float) -> dict:
    """`modes` (covered, of len(modes)), `hq` (fraction of high-quality samples, 0-1), `kl`.

    Non-finite samples count as low quality and hit no mode.
    """
    points = np.asarray(points, np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"toy metrics need 2-D points [N, 2]; got shape {points.shape}")
    finite = np.isfinite(points).all(axis=1)
    nearest, distance = nearest_modes(np.where(finite[:, None], points, 0.0), modes)
    high_quality = finite & (distance <= HQ_STDS * std)
    covered = np.unique(nearest[high_quality])
    counts = np.bincount(nearest[finite], minlength=len(modes))
    return {
        "modes": int(len(covered)),
        "hq": float(high_quality.mean()) if len(points) else 0.0,
        "kl": reverse_kl(counts) if counts.sum() else float("nan"),
    }

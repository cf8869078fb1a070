"""Metrics of toy data: mode coverage of 2-D mixtures, distances of 1-D samples.

2-D (ring, grid), the VEEGAN / PacGAN protocol: draw 2500 samples. A sample is *high
quality* if it lies within 3 standard deviations of its nearest mode centre; a mode is
*covered* if it is the nearest mode of at least one high-quality sample. PacGAN also reports
the reverse KL divergence KL(P_gen || P_true) of the mode histogram (every sample counted at
its nearest mode) against the true, uniform mode distribution: 0 when the modes are hit
equally often, log(#modes) for one mode.

1-D (gauss1d): the samples' mean and standard deviation, and two distances between their
empirical distribution and the true Gaussian, both computed exactly against its CDF (no
reference sample): the Wasserstein-1 distance and the Kolmogorov-Smirnov statistic.
"""

from __future__ import annotations

import numpy as np
from scipy import special

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


def gaussian_1d_metrics(samples, mean: float, std: float) -> dict:
    """`mean`, `std` of 1-D `samples` [N] or [N, 1], and their distances to N(mean, std^2):

    `w1`: the Wasserstein-1 distance int_0^1 |F_n^-1(u) - F^-1(u)| du between the samples'
    empirical distribution F_n and the Gaussian F, exactly: on each step ((i-1)/n, i/n] of
    F_n^-1 the integral of the Gaussian quantile has a closed form. A single sample at the
    mean gives std * sqrt(2 / pi); n samples of the Gaussian itself about 0.8 std / sqrt(n).
    `ks`: the Kolmogorov-Smirnov statistic sup_x |F_n(x) - F(x)|.

    Non-finite samples make every metric NaN.
    """
    x = np.asarray(samples, np.float64)
    if x.ndim == 2 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 1:
        raise ValueError(f"1-D metrics need samples of shape [N] or [N, 1]; got {x.shape}")
    if not len(x) or not np.isfinite(x).all():
        return {name: float("nan") for name in ("mean", "std", "w1", "ks")}
    x = np.sort(x)
    n = len(x)
    lower, upper = np.arange(n) / n, np.arange(1, n + 1) / n
    cdf = special.ndtr((x - mean) / std)

    def quantile_integral(a, b):  # int_a^b (mean + std * ndtri(u)) du
        return mean * (b - a) + std * (_normal_pdf(special.ndtri(a))
                                       - _normal_pdf(special.ndtri(b)))

    split = np.clip(cdf, lower, upper)  # where the quantile crosses x_i inside the step
    w1 = np.sum(x * (split - lower) - quantile_integral(lower, split)
                + quantile_integral(split, upper) - x * (upper - split))
    ks = max(np.max(upper - cdf), np.max(cdf - lower))
    return {"mean": float(x.mean()), "std": float(x.std()), "w1": float(w1), "ks": float(ks)}


def _normal_pdf(z):
    """The standard normal density; 0 at +-inf."""
    return np.exp(-0.5 * np.square(z)) / np.sqrt(2 * np.pi)

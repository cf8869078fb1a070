"""Pictures of samples: image grids (PIL), 2-D scatter plots and 1-D density plots
(matplotlib)."""

from __future__ import annotations

import numpy as np

from tfgan_app.files import atomic_write


def to_uint8(images) -> np.ndarray:
    """Images in [-1, 1] -> uint8 in [0, 255]."""
    images = np.asarray(images, dtype=np.float32)
    return np.clip(np.round((images + 1.0) * 127.5), 0, 255).astype(np.uint8)


def image_grid(images, rows: int, pad: int = 1) -> np.ndarray:
    """Tile NHWC images in [-1, 1] into one uint8 HxWxC picture, `rows` rows, filled by row."""
    images = to_uint8(images)
    n, h, w, c = images.shape
    cols = -(-n // rows)
    grid = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, c), 255, np.uint8)
    for i in range(n):
        r, col = divmod(i, cols)
        top, left = pad + r * (h + pad), pad + col * (w + pad)
        grid[top:top + h, left:left + w] = images[i]
    return grid


def save_image(array: np.ndarray, path, scale: int = 1):
    """Save a uint8 HxWxC (C = 1 or 3) array as PNG, nearest-upscaled by `scale`."""
    from PIL import Image

    img = Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array)
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    atomic_write(path, lambda tmp: img.save(tmp, format="PNG"))


def save_scatter(points, path, *, modes=None, title: str = "", limit=None, std=None):
    """Scatter 2-D samples (and mode centres, if given) into a square PNG.

    With `modes` and `std`, samples within 3 std of their nearest mode (high quality, the
    PacGAN protocol) are blue and the others orange.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    points = np.asarray(points)
    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
    if modes is not None and std is not None:
        from tfgan_app.evaluation.toy import HQ_STDS, nearest_modes

        _, distance = nearest_modes(points, modes)
        good = distance <= HQ_STDS * std
        ax.scatter(points[good, 0], points[good, 1], s=4, alpha=0.5, color="tab:blue",
                   label=f"high quality ({good.sum()})")
        ax.scatter(points[~good, 0], points[~good, 1], s=4, alpha=0.5, color="tab:orange",
                   label=f"other ({(~good).sum()})")
    else:
        ax.scatter(points[:, 0], points[:, 1], s=4, alpha=0.5, color="tab:blue",
                   label="generated")
    if modes is not None:
        ax.scatter(modes[:, 0], modes[:, 1], s=40, marker="x", color="tab:red", label="modes")
    if limit is not None:
        ax.set_xlim(-limit, limit)
        ax.set_ylim(-limit, limit)
    ax.set_aspect("equal")
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
    plt.close(fig)


# The 1-D density plot spans the data's mean +- this many standard deviations.
DENSITY_1D_STDS = 4.0


def density_1d_limits(mean: float, std: float) -> tuple[float, float]:
    """The x range of the density plot of N(mean, std^2) data: mean +- 4 std."""
    return mean - DENSITY_1D_STDS * std, mean + DENSITY_1D_STDS * std


def save_density_1d(samples, path, *, limits, title: str = "", real=None, gaussian=None,
                    discriminator=None, note: str = "", bins: int = 64):
    """The picture of a GAN on 1-D data (Goodfellow's NIPS 2016 tutorial figure) as a PNG.

    Over x in `limits`: the generated `samples` [N] or [N, 1] as a histogram and a Gaussian
    kernel density estimate; `real` training samples as a grey histogram; `gaussian`
    (mean, std) as the data's density; `discriminator` (x, values, label, probability) on
    the right-hand axis, fixed to [0, 1] with a line at 1/2 when the values are P(real).
    Histograms are normalised over all samples, so samples outside `limits` (counted in
    the legend) lower them. `note`: a line of text under the legend.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    lo, hi = limits
    edges = np.linspace(lo, hi, bins + 1)
    xs = np.linspace(lo, hi, 401)
    fig, ax = plt.subplots(figsize=(7.5, 5.2), dpi=100)

    def histogram(values, total, **style):  # density over `total` samples; one polygon
        ax.hist(values, edges, weights=np.full(len(values), 1 / (total * (hi - lo) / bins)),
                histtype="stepfilled", **style)

    peaks, data_peak = [], None
    if real is not None:
        real = np.asarray(real, np.float64).reshape(-1)
        histogram(real, len(real), color="0.8", label=f"training samples ({len(real)})")
    if gaussian is not None:
        mean, std = gaussian
        pdf = np.exp(-0.5 * ((xs - mean) / std) ** 2) / (std * np.sqrt(2 * np.pi))
        ax.plot(xs, pdf, color="black", linewidth=2,
                label=f"data density N({mean:g}, {std:g}²)")
        data_peak = pdf.max()
    samples = np.asarray(samples, np.float64).reshape(-1)
    finite = samples[np.isfinite(samples)]
    outside = len(samples) - int(np.sum((finite >= lo) & (finite <= hi)))
    label = f"generated ({len(samples)})"
    if len(finite):
        label += f": mean {finite.mean():.2f}, std {finite.std():.2f}"
    if outside:
        label += f"; {outside} outside the plot"
    histogram(finite, len(samples), color="tab:green", alpha=0.35, label=label)
    if len(finite) > 1 and finite.std() > 0:
        # Silverman's rule of thumb for the kernel width.
        width = 1.06 * finite.std() * len(finite) ** -0.2
        kde = np.exp(-0.5 * ((xs[:, None] - finite[None, :]) / width) ** 2).sum(axis=1) / (
            len(samples) * width * np.sqrt(2 * np.pi))
        ax.plot(xs, kde, color="tab:green", linewidth=2, label="generated density (KDE)")
        peaks.append(kde.max())
    if data_peak is not None:  # a collapsed generator's spike is cut at 3x the data's peak
        ax.set_ylim(0, min(max(peaks + [data_peak]), 3 * data_peak) * 1.15)
    ax.set_xlim(lo, hi)
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    handles, labels = ax.get_legend_handles_labels()
    if discriminator is not None:
        x_d, values, d_label, probability = discriminator
        right = ax.twinx()
        right.plot(x_d, values, color="tab:blue", linestyle="--", linewidth=2, label=d_label)
        if probability:
            right.axhline(0.5, color="tab:blue", linestyle=":", linewidth=1, alpha=0.6,
                          label="D(x) = 1/2: the equilibrium")
            right.set_ylim(0, 1.05)
        right.set_ylabel(d_label, color="tab:blue")
        right.tick_params(axis="y", colors="tab:blue")
        more_handles, more_labels = right.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    ax.set_title(title)
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=8, frameon=False,
               bbox_to_anchor=(0.5, 0.04 if note else 0.0))
    if note:
        fig.text(0.5, 0.01, note, ha="center", va="bottom", fontsize=8, style="italic")
    # Fixed margins: tight_layout took half of the plot's 0.5 s, drawn every epoch.
    fig.subplots_adjust(left=0.09, right=0.9, top=0.93, bottom=0.29 if note else 0.25)
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
    plt.close(fig)


def save_model_density_1d(model, data, samples, path, *, title: str = ""):
    """`save_density_1d` for a model trained on 1-D toy `data` (one Gaussian): its training
    samples, the data density and the model's `discriminator_curve` over mean +- 4 std
    (x in [-5, 3] for gauss1d)."""
    mean, std = float(data.modes[0, 0]), float(data.mode_std)
    limits = density_1d_limits(mean, std)
    xs = np.linspace(*limits, 401, dtype=np.float32)
    curve = model.discriminator_curve(xs[:, None])
    if curve is None:
        discriminator = None
        note = ("D(x) not drawn: this discriminator judges groups of samples "
                "(model.pack or model.minibatch_std), not single points")
    else:
        discriminator, note = (xs, curve.values, curve.label, curve.probability), ""
    save_density_1d(samples, path, limits=limits, title=title, real=data.x[:, 0],
                    gaussian=(mean, std), discriminator=discriminator, note=note)


def save_history_plot(history_csv, path, *, title: str = ""):
    """Plot a run's history.csv against epoch: training losses in the left column, the
    evaluation metrics (`eval/...`, logged every few epochs) in the right one."""
    import csv

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    with open(history_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"{history_csv} has no rows")
    # eval/real_score is drawn as a reference line on the eval/score panel.
    names = [k for k in rows[0]
             if k not in ("epoch", "seconds", "eval/seconds", "eval/real_score")]
    columns = [[n for n in names if not n.startswith("eval/")],
               [n for n in names if n.startswith("eval/")]]
    columns = [c for c in columns if c]
    height = max(len(c) for c in columns)
    epochs = np.array([int(r["epoch"]) for r in rows])
    fig, axes = plt.subplots(height, len(columns), figsize=(5.5 * len(columns), 2.2 * height),
                             dpi=100, sharex=True, squeeze=False)
    for col, column in enumerate(columns):
        for row in range(height):
            ax = axes[row, col]
            if row >= len(column):
                ax.set_visible(False)
                continue
            name = column[row]
            values = np.array([float(r[name]) if r.get(name) not in (None, "") else np.nan
                               for r in rows])
            keep = np.isfinite(values)
            sparse = name.startswith("eval/") or keep.sum() < 50
            ax.plot(epochs[keep], values[keep], marker="." if sparse else None,
                    color="tab:green" if name.startswith("eval/") else "tab:blue")
            if name == "eval/score" and "eval/real_score" in rows[0]:
                reference = [float(r["eval/real_score"]) for r in rows
                             if r.get("eval/real_score") not in (None, "")]
                if reference:
                    ax.axhline(reference[-1], color="gray", linestyle="--", linewidth=1,
                               label=f"real data {reference[-1]:.2f}")
                    ax.legend(loc="lower right", fontsize=8)
            ax.set_ylabel(name)
            ax.grid(alpha=0.3)
            ax.tick_params(labelbottom=True)
        last = min(len(column), height) - 1
        axes[last, col].set_xlabel("epoch")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
    plt.close(fig)

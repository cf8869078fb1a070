"""Pictures of samples: image grids (PIL) and 2-D scatter plots (matplotlib)."""

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

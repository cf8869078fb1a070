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


def save_scatter(points, path, *, modes=None, title: str = "", limit=None):
    """Scatter 2-D samples (and mode centres, if given) into a square PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    points = np.asarray(points)
    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
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
    """Plot every logged value in a run's history.csv against epoch, one panel each."""
    import csv

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    with open(history_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"{history_csv} has no rows")
    names = [k for k in rows[0] if k not in ("epoch", "seconds")]
    epochs = [int(r["epoch"]) for r in rows]
    fig, axes = plt.subplots(len(names), 1, figsize=(6, 2.2 * len(names)), dpi=100,
                             sharex=True, squeeze=False)
    for ax, name in zip(axes[:, 0], names):
        values = [float(r[name]) if r.get(name) not in (None, "") else np.nan for r in rows]
        ax.plot(epochs, values, marker="." if len(rows) < 50 else None)
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("epoch")
    if title:
        axes[0, 0].set_title(title)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
    plt.close(fig)

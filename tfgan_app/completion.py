"""Semantic image inpainting with a trained generator (Yeh et al. 2017, CVPR).

The holes of an image y (mask M, 1 = missing) are filled with G(z*), where

    z* = argmin_z  L_contextual(z) + lambda L_perceptual(z)
    L_contextual(z) = || W * (G(z) - y) ||_1 over the known pixels,
    W_i = the fraction of missing pixels in the window (7 x 7) around known pixel i,

so the known pixels next to the hole matter most and those far from it not at all (the
paper's eq. 3). L_perceptual is the discriminator's verdict on G(z), as the generator's
loss for that variant (`GANModel.perceptual_loss`); without a discriminator (an exported
generator) it is left out. Each image gets `restarts` candidates optimised with Adam at
once; the one with the lowest objective wins, and its output is blended into the image:
Poisson blending (the paper: the hole takes G(z*)'s gradients and the image's boundary
values) or none (the hole is G(z*)'s pixels). Either way the known pixels stay as given.

What the generator takes besides z comes from its serving inputs (`serving_inputs()` of a
model, the metadata of an export): normal latents are optimised from N(0, 1) draws and
clipped to [-z_clip, z_clip] after each step (the paper clips its uniform z to [-1, 1],
the prior's support; a normal prior has none, so its far tails, where the generator was
never trained, are cut instead); uniform continuous codes (InfoGAN) are optimised and
clipped to their range as in the paper; categorical codes cannot take gradients, so the
restarts cycle through the categories; class labels are fixed by the caller.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import tensorflow as tf

from tfgan_app.errors import UsageError

BLENDS = ("poisson", "none")
ROLES = ("latent", "continuous_code", "category_code", "class")


@dataclasses.dataclass
class Generator:
    """A differentiable generator: serving inputs (name -> {dtype, shape, distribution,
    low, high, role}, as `GANModel.serving_inputs`) to images [n, H, W, C] in [-1, 1]."""

    inputs: dict
    generate: Callable[[dict], tf.Tensor]
    shape: tuple  # one image: (H, W, C)


# `inputs, images -> per-example loss`, lower where the discriminator finds images real.
Perceptual = Callable[[dict, tf.Tensor], tf.Tensor]


@dataclasses.dataclass
class Completion:
    """What `complete` found for each of n images."""

    completed: np.ndarray  # [n, H, W, C] in [-1, 1]: blended, known pixels as given
    generated: np.ndarray  # [n, H, W, C]: G(z*) of the chosen candidate
    context_before: np.ndarray  # [n]: its contextual loss at its start
    context_after: np.ndarray  # [n]: and after the last step
    perceptual: np.ndarray | None  # [n]: its final perceptual loss (None: not used)
    inputs: dict  # name -> [n, ...]: the chosen candidate's generator inputs


def importance_weights(masks, window: int = 7) -> np.ndarray:
    """W for masks [n, H, W] (1 = missing): each known pixel's fraction of missing pixels
    among the pixels of its window that lie in the image; 0 on missing pixels."""
    m = np.asarray(masks, np.float32)[..., None]
    kernel = tf.ones([window, window, 1, 1], tf.float32)
    count = tf.nn.conv2d(tf.ones_like(m), kernel, 1, "SAME")  # zero padding: in-image only
    missing = tf.nn.conv2d(m, kernel, 1, "SAME")
    return ((1.0 - m) * (missing / count)).numpy()[..., 0]


def center_mask(size, fraction: float) -> np.ndarray:
    """[H, W] mask missing a centred rectangle of `fraction` of each side (at least 1 px)."""
    h, w = size
    mh, mw = max(1, round(h * fraction)), max(1, round(w * fraction))
    mask = np.zeros((h, w), np.float32)
    top, left = (h - mh) // 2, (w - mw) // 2
    mask[top:top + mh, left:left + mw] = 1.0
    return mask


def random_mask(size, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """[H, W] mask of square blocks (a quarter of the shorter side) at random places, added
    until at least fraction^2 of the pixels are missing (the centre mask's area)."""
    h, w = size
    side = max(1, min(h, w) // 4)
    mask = np.zeros((h, w), np.float32)
    while mask.mean() < min(fraction ** 2, 1.0) - 1e-9:
        top, left = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
        mask[top:top + side, left:left + side] = 1.0
    return mask


def poisson_blend(image, generated, mask) -> np.ndarray:
    """`image` [H, W, C] with its hole (mask [H, W], 1 = missing) solved from the Poisson
    equation: the hole's Laplacian is `generated`'s, its boundary the image's known pixels.

    Each hole pixel p: sum over its in-image 4-neighbours q of (x_p - x_q) = sum of
    (g_p - g_q), with x_q = image_q for known q. A tiny pull of x towards g keeps the
    system solvable where a hole touches no known pixel (then x = g there).
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.linalg import spsolve

    image = np.asarray(image, np.float64)
    g = np.asarray(generated, np.float64)
    hole = np.asarray(mask) > 0.5
    h, w, c = image.shape
    ys, xs = np.nonzero(hole)
    count = len(ys)
    if not count:
        return image.astype(np.float32)
    index = np.full((h, w), -1)
    index[ys, xs] = np.arange(count)
    eps = 1e-6
    diagonal = np.full(count, eps)
    rhs = eps * g[ys, xs]
    rows, cols = [], []
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        qy, qx = ys + dy, xs + dx
        inside = (qy >= 0) & (qy < h) & (qx >= 0) & (qx < w)
        p, qy, qx = np.nonzero(inside)[0], qy[inside], qx[inside]
        diagonal[p] += 1.0
        rhs[p] += g[ys[p], xs[p]] - g[qy, qx]
        in_hole = hole[qy, qx]
        rows.append(p[in_hole])
        cols.append(index[qy[in_hole], qx[in_hole]])
        rhs[p[~in_hole]] += image[qy[~in_hole], qx[~in_hole]]
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    matrix = coo_matrix((np.concatenate([diagonal, -np.ones(len(rows))]),
                         (np.concatenate([np.arange(count), rows]),
                          np.concatenate([np.arange(count), cols]))), shape=(count, count))
    solved = spsolve(matrix.tocsc(), rhs).reshape(count, c)
    out = image.copy()
    out[ys, xs] = np.clip(solved, -1.0, 1.0)
    return out.astype(np.float32)


def blend(images, generated, masks, how: str) -> np.ndarray:
    """The completed images: known pixels from `images`, the hole from `generated`, copied
    (`none`) or Poisson-blended (`poisson`)."""
    if how not in BLENDS:
        raise UsageError(f"blend must be one of {', '.join(BLENDS)}, not {how!r}")
    known = 1.0 - np.asarray(masks, np.float32)[..., None]
    if how == "none":
        return (known * images + (1.0 - known) * generated).astype(np.float32)
    out = np.stack([poisson_blend(y, g, m) for y, g, m in zip(images, generated, masks)])
    return np.where(known > 0.5, images, out).astype(np.float32)  # exact, not re-solved


def hole_psnr(completed, original, masks) -> np.ndarray:
    """PSNR (dB, pixels scaled to [0, 1]) of each image's missing pixels; inf if exact."""
    missing = np.broadcast_to(np.asarray(masks, bool)[..., None], np.shape(original))
    out = []
    for x, y, m in zip(np.asarray(completed), np.asarray(original), missing):
        mse = float(np.mean(np.square((x[m] - y[m]) / 2.0))) if m.any() else 0.0
        out.append(np.inf if mse == 0 else 10.0 * np.log10(1.0 / mse))
    return np.array(out)


def mean_fill(images, masks) -> np.ndarray:
    """The baseline: each image's hole filled with the mean of its known pixels (per
    channel; 0, mid-grey, when nothing is known)."""
    known = 1.0 - np.asarray(masks, np.float32)[..., None]
    total = np.sum(known * images, axis=(1, 2), keepdims=True)
    mean = total / np.maximum(np.sum(known, axis=(1, 2), keepdims=True), 1.0)
    return (known * images + (1.0 - known) * mean).astype(np.float32)


def nearest_fill(images, masks, pool) -> np.ndarray:
    """The baseline: each image's hole filled from the image of `pool` [m, H, W, C]
    closest to it on the known pixels (L2)."""
    known = 1.0 - np.asarray(masks, np.float32)[..., None]
    pool = np.asarray(pool, np.float32)
    out = []
    for y, k in zip(images, known):
        distance = np.sum(np.square(k * (pool - y)), axis=(1, 2, 3))
        out.append(k * y + (1.0 - k) * pool[int(np.argmin(distance))])
    return np.stack(out).astype(np.float32)


def check_inputs(inputs: dict, conditions: dict | None = None):
    """UsageError unless `complete` can drive a generator with these serving inputs: one
    latent, codes, and a value in `conditions` for every class input."""
    conditions = conditions or {}
    if not any(info.get("role") == "latent" for info in inputs.values()):
        raise UsageError("this generator takes no latent vector z (inputs: "
                         f"{', '.join(inputs)}), so there is nothing to optimise: "
                         "completion needs a noise-to-image generator")
    for name, info in inputs.items():
        role = info.get("role")
        if role not in ROLES:
            raise UsageError(f"the generator's input {name!r} ({role}) is not a latent, a "
                             "code or a class label: completion cannot drive it")
        if role == "class" and name not in conditions:
            raise UsageError(f"this generator is class-conditional: pass --label (its "
                             f"{name!r} must be in [{info['low']}, {info['high']}))")
        if role == "class" and not info["low"] <= conditions[name] < info["high"]:
            raise UsageError(f"--label {conditions[name]} is out of range: {name} must be "
                             f"in [{info['low']}, {info['high']})")
    unknown = set(conditions) - {n for n, i in inputs.items() if i.get("role") == "class"}
    if unknown:
        raise UsageError("--label given, but this generator takes no class label")


def _initial_inputs(inputs: dict, conditions: dict, count: int, restarts: int,
                    rng: np.random.Generator):
    """(optimised name -> initial values, fixed name -> values, name -> (low, high) clip)
    for `count` images x `restarts` candidates, candidate-major within each image."""
    rows = count * restarts
    optimised, fixed = {}, {}
    for name, info in inputs.items():
        shape = (rows, *info["shape"])
        role = info["role"]
        if role == "class":
            fixed[name] = np.full(shape, conditions[name], info["dtype"])
        elif role == "category_code":
            cycle = info["low"] + np.arange(restarts) % (info["high"] - info["low"])
            fixed[name] = np.tile(cycle, count).reshape(shape).astype(info["dtype"])
        elif info["distribution"] == "normal":
            optimised[name] = rng.standard_normal(shape).astype(np.float32)
        else:
            optimised[name] = rng.uniform(info["low"], info["high"], shape).astype(np.float32)
    return optimised, fixed


def _bounds(info: dict, z_clip: float):
    if info["distribution"] == "normal":
        return (-z_clip, z_clip) if z_clip else None
    return info["low"], info["high"]


def complete(generator: Generator, perceptual: Perceptual | None, images, masks, *,
             steps: int = 1000, restarts: int = 8, lam: float = 0.1, lr: float = 0.01,
             seed: int = 0, blend_mode: str = "poisson", window: int = 7,
             z_clip: float = 3.0, conditions: dict | None = None,
             batch: int = 256) -> Completion:
    """Fill the holes of `images` [n, H, W, C] in [-1, 1] (masks [n, H, W], 1 = missing).

    Args:
      generator: the generator and its inputs.
      perceptual: per-example perceptual loss of generated images, or None (contextual
        loss only).
      steps, lr: Adam steps and learning rate on the inputs (beta 0.9, 0.999).
      restarts: candidates per image (categorical codes cycle over them).
      lam: weight of the perceptual loss.
      seed: of the candidates' initial inputs.
      blend_mode: "poisson" or "none".
      window: side of W's window.
      z_clip: normal latents are clipped to [-z_clip, z_clip] (0: never).
      conditions: class input name -> the class for every image.
      batch: at most this many candidates are optimised at once.
    """
    conditions = dict(conditions or {})
    check_inputs(generator.inputs, conditions)
    images = np.asarray(images, np.float32)
    masks = np.asarray(masks, np.float32)
    if images.shape[1:] != tuple(generator.shape) or masks.shape != images.shape[:3]:
        raise UsageError(f"images {images.shape[1:]} and masks {masks.shape[1:]} do not "
                         f"match the generator's {tuple(generator.shape)}")
    if steps < 0 or restarts < 1:
        raise UsageError(f"steps must be >= 0 and restarts >= 1, not {steps}, {restarts}")
    weights = importance_weights(masks, window)[..., None]
    rng = np.random.default_rng(seed)
    per = max(1, batch // restarts)
    parts = [_complete_some(generator, perceptual, images[i:i + per], weights[i:i + per],
                            steps=steps, restarts=restarts, lam=lam, lr=lr, rng=rng,
                            z_clip=z_clip, conditions=conditions)
             for i in range(0, len(images), per)]
    generated = np.concatenate([p["generated"] for p in parts])
    chosen = {name: np.concatenate([p["inputs"][name] for p in parts])
              for name in generator.inputs}
    return Completion(
        completed=blend(images, generated, masks, blend_mode), generated=generated,
        context_before=np.concatenate([p["before"] for p in parts]),
        context_after=np.concatenate([p["after"] for p in parts]),
        perceptual=None if perceptual is None else np.concatenate(
            [p["perceptual"] for p in parts]),
        inputs=chosen)


def _complete_some(generator, perceptual, images, weights, *, steps, restarts, lam, lr, rng,
                   z_clip, conditions) -> dict:
    """`complete` for a few images whose candidates fit in one batch."""
    count = len(images)
    start, fixed = _initial_inputs(generator.inputs, conditions, count, restarts, rng)
    variables = {name: tf.Variable(value) for name, value in start.items()}
    moments = {name: (tf.Variable(tf.zeros_like(v)), tf.Variable(tf.zeros_like(v)))
               for name, v in variables.items()}
    bounds = {name: _bounds(generator.inputs[name], z_clip) for name in variables}
    fixed = {name: tf.constant(value) for name, value in fixed.items()}
    y = tf.constant(np.repeat(images, restarts, axis=0))
    w = tf.constant(np.repeat(weights, restarts, axis=0))
    names = list(variables)

    def losses():
        inputs = {**fixed, **{name: tf.convert_to_tensor(v) for name, v in variables.items()}}
        x = tf.cast(generator.generate(inputs), tf.float32)
        context = tf.reduce_sum(tf.abs(w * (x - y)), axis=[1, 2, 3])
        prior = (tf.zeros_like(context) if perceptual is None
                 else tf.reshape(tf.cast(perceptual(inputs, x), tf.float32), [-1]))
        return x, context, prior, context + lam * prior

    @tf.function
    def step(t):
        # Each candidate's objective depends on its own inputs only (inference-mode
        # networks), so the gradient of the sum is every candidate's own gradient, and
        # Adam, per coordinate, optimises each as if it were alone.
        with tf.GradientTape() as tape:
            _, context, _, total = losses()
            objective = tf.reduce_sum(total)
        grads = tape.gradient(objective, [variables[n] for n in names])
        for name, grad in zip(names, grads):
            m, v = moments[name]
            m.assign(0.9 * m + 0.1 * grad)
            v.assign(0.999 * v + 0.001 * tf.square(grad))
            m_hat, v_hat = m / (1.0 - 0.9 ** t), v / (1.0 - 0.999 ** t)
            value = variables[name] - lr * m_hat / (tf.sqrt(v_hat) + 1e-8)
            if bounds[name] is not None:
                value = tf.clip_by_value(value, *bounds[name])
            variables[name].assign(value)
        return context

    before = losses()[1].numpy()
    for t in range(1, steps + 1):
        step(tf.constant(float(t)))
    x, context, prior, total = (value.numpy() for value in losses())
    best = np.argmin(total.reshape(count, restarts), axis=1)
    rows = np.arange(count) * restarts + best
    inputs = {**{n: v.numpy() for n, v in variables.items()},
              **{n: v.numpy() for n, v in fixed.items()}}
    return {"generated": x[rows], "before": before[rows], "after": context[rows],
            "perceptual": prior[rows], "inputs": {n: v[rows] for n, v in inputs.items()}}


def keras_generator(model) -> Generator:
    """The generator of a trained model (`inference_generator`: the moving average under
    train.g_ema, as samples and exports use)."""
    inputs = model.serving_inputs()

    def generate(values):
        cond = {name: value for name, value in values.items() if name != "z"}
        return model.infer(values["z"], cond or None)

    return Generator(inputs, generate, tuple(model.inference_generator.output_shape[1:]))


def keras_perceptual(model) -> Perceptual | None:
    """The model's perceptual loss (`GANModel.perceptual_loss`) given the generator's
    inputs (its class label, if any, goes to the discriminator), or None when its
    discriminator has no verdict on single images."""
    if model.judges_groups():
        return None
    label = [n for n, info in model.serving_inputs().items() if info.get("role") == "class"]

    def loss(values, images):
        return model.perceptual_loss(images, values[label[0]] if label else None)

    return loss


def saved_model_generator(path) -> Generator:
    """An exported SavedModel's `serving_default` signature, differentiated through."""
    from tfgan_app.export import read_metadata

    meta = read_metadata(path)
    if meta.get("kind") != "image":
        raise UsageError(f"{path} generates {meta.get('kind')}, not images: completion "
                         "fills holes in images")
    loaded = tf.saved_model.load(str(path))
    output = meta["output"]

    def generate(values):
        # Through `loaded`: the signature alone does not keep the variables alive.
        return loaded.signatures["serving_default"](**values)[output]

    return Generator(meta["inputs"], generate, tuple(meta["output_shape"]))

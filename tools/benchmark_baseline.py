"""Time the keras.io WGAN-GP example's own train_step: the app's speed reference.

    python tools/benchmark_baseline.py --batch-size 512 --steps 5
    python tools/benchmark_baseline.py --batch-size 512 --steps 5 --mixed-precision

Same measurement, output and last JSON line as `python -m tfgan_app.benchmark` (through its
`run_benchmark`), with the example's straightforward `train_step` (`KerasIOWGANGP` below) in
place of the app's model, on the networks, data, batch and optimizer settings of
`python -m tfgan_app.benchmark --variant wgan_gp --preset kerasio`, which it is compared
with (tools/benchmark_speed.py runs both). The JSON's "variant" is
"kerasio_wgan_gp_baseline". Needs tfgan_app importable (installed, or PYTHONPATH=.).
Exit codes: 0 ok, 1 runtime failure, 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys

import keras
import tensorflow as tf

from tfgan_app import cli

NAME = "kerasio_wgan_gp_baseline"


class KerasIOWGANGP(keras.Model):
    """The keras.io WGAN-GP example's `train_step`, as a user would write it: the baseline.

    `tf.random` draws and `reduce_mean` losses: right on one device only (under a strategy
    the means would be per replica), which is all it is timed on. Under a mixed policy the
    networks' outputs are cast to float32, as the Keras mixed precision guide advises.
    """

    def __init__(self, generator, critic, latent_dim: int, d_steps: int = 3,
                 gp_weight: float = 10.0):
        super().__init__(name="kerasio_wgan_gp")
        self.generator, self.critic = generator, critic
        self.latent_dim, self.d_steps, self.gp_weight = latent_dim, d_steps, gp_weight
        self.built = True

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer

    def call(self, z, training=False):
        return self.generator(z, training=training)

    def penalty(self, real, fake):
        alpha = tf.random.uniform([tf.shape(real)[0], 1, 1, 1], 0.0, 1.0)
        interpolated = real + alpha * (fake - real)
        with tf.GradientTape() as tape:
            tape.watch(interpolated)
            pred = tf.cast(self.critic(interpolated, training=True)["logit"], tf.float32)
        grads = tape.gradient(pred, interpolated)
        norm = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]) + 1e-10)
        return tf.reduce_mean((norm - 1.0) ** 2)

    def train_step(self, data):
        real = data[0] if isinstance(data, tuple) else data
        batch = tf.shape(real)[0]
        for _ in range(self.d_steps):
            z = tf.random.normal([batch, self.latent_dim])
            with tf.GradientTape() as tape:
                fake = tf.cast(self.generator(z, training=True), tf.float32)
                fake_logits = tf.cast(self.critic(fake, training=True)["logit"], tf.float32)
                real_logits = tf.cast(self.critic(real, training=True)["logit"], tf.float32)
                d_cost = tf.reduce_mean(fake_logits) - tf.reduce_mean(real_logits)
                d_loss = d_cost + self.gp_weight * self.penalty(real, fake)
            grads = tape.gradient(d_loss, self.critic.trainable_variables)
            self.d_optimizer.apply_gradients(
                zip(grads, self.critic.trainable_variables))
        z = tf.random.normal([batch, self.latent_dim])
        with tf.GradientTape() as tape:
            fake = self.generator(z, training=True)
            g_loss = -tf.reduce_mean(tf.cast(self.critic(fake, training=True)["logit"],
                                             tf.float32))
        grads = tape.gradient(g_loss, self.generator.trainable_variables)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_variables))
        return {"d_loss": d_loss, "g_loss": g_loss}


def baseline_model(cfg, data, variant_cls, *, precision: str, jit: bool,
                   steps_per_execution: int):
    """A compiled `KerasIOWGANGP` on the kerasio networks of `cfg` (the benchmark's factory)."""
    from tfgan_app import networks, performance
    from tfgan_app.errors import UsageError

    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    if replicas > 1:
        raise UsageError(f"the baseline runs on one device only (its losses are per-replica "
                         f"means), not {replicas} replicas; drop --strategy")
    generator = networks.kerasio_generator(cfg.model, data.shape)
    critic = networks.kerasio_discriminator(cfg.model, data.shape)
    model = KerasIOWGANGP(generator, critic, cfg.model.latent_dim,
                          d_steps=cfg.options.d_steps, gp_weight=cfg.options.gp_weight)

    def adam():
        return performance.wrap_optimizer(keras.optimizers.Adam(
            cfg.train.d_lr, beta_1=cfg.train.beta_1, beta_2=cfg.train.beta_2), precision)

    model.compile(d_optimizer=adam(), g_optimizer=adam(), jit_compile=jit,
                  steps_per_execution=steps_per_execution)
    return model


def build_parser() -> argparse.ArgumentParser:
    from tfgan_app import benchmark

    parser = argparse.ArgumentParser(
        prog="python tools/benchmark_baseline.py",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=__doc__.splitlines()[0], epilog=__doc__.split("\n", 2)[2])
    cli.add_run_arguments(parser, variant_help=None, config_file=False)
    benchmark.add_timing_arguments(parser)
    return parser


def main(argv=None) -> int:
    from tfgan_app import benchmark
    from tfgan_app.config import resolve_config

    args = build_parser().parse_args(argv)
    benchmark.check_timing(args)
    cfg = resolve_config("wgan_gp", flags=cli.run_flags(args),
                         sets=benchmark.kerasio_sets("wgan_gp") + args.sets)
    summary = benchmark.run_benchmark(cfg, steps=args.steps, warmup=args.warmup,
                                      make_model=baseline_model, name=NAME)
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(cli.run(main))

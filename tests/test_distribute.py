"""One training step on 2 replicas must equal one step on 1 device (docs/DESIGN.md)."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import one_batch, tiny_model

from tfgan_app import distribute, registry
from tfgan_app.variants.gan import GAN


def one_step(variant, sets, strategy, model_cls=None, steps=1, lr=0.5):
    """Weights and logs after `steps` fit steps on one fixed global batch of 8."""
    with strategy.scope():
        keras.utils.set_random_seed(0)
        # SGD: an update proportional to the gradient, so a wrong loss scale shows up.
        model, data = tiny_model(variant, *sets, optimizer=lambda: keras.optimizers.SGD(lr),
                                 model_cls=model_cls)
    batch = one_batch(model, data.x, data.y)  # [8, g, ...] with fresh critic batches
    before = [v.numpy() for v in model.variables]
    history = model.fit(batch.repeat(steps), epochs=1, steps_per_epoch=steps, verbose=0,
                        shuffle=False)
    after = [v.numpy() for v in model.variables]
    return before, after, {k: v[0] for k, v in history.history.items()}


def assert_same_step(variant, sets, model_cls=None, steps=1, lr=0.5):
    before, single, logs1 = one_step(variant, sets, tf.distribute.OneDeviceStrategy("/cpu:0"),
                                     model_cls, steps, lr)
    _, mirrored, logs2 = one_step(variant, sets, distribute.mirrored(["/cpu:0", "/cpu:1"]),
                                  model_cls, steps, lr)
    moved = sum(not np.allclose(a, b) for a, b in zip(before, single))
    assert moved >= 4, "the step should change the weights"
    for a, b in zip(single, mirrored):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert logs1.keys() == logs2.keys()
    for key in logs1:
        # the same tolerances as the weights: a log near 0 (a critic loss) differs at 1e-6
        assert logs1[key] == pytest.approx(logs2[key], rel=1e-4, abs=1e-5), key


# Small ResNets and PatchGANs, pools of 3 (< the batch of 8: stored images are returned
# and replaced within a step). No normalization: with instance norm these 16 px networks
# amplify the float rounding that differs between one device's and each replica's
# kernels past the tolerance within two steps (measured: 5000x the tolerance, while the
# pools and the logs agreed); pix2pix's case covers instance norm.
CYCLEGAN_TINY = ["cyclegan.pool_size=3", "cyclegan.blocks=1", "cyclegan.downsamplings=1",
                 "cyclegan.d_layers=1", "cyclegan.norm=none"]
CASES = [  # (variant, extra config): every registered variant at least once
    ("gan", ["data.dataset=ring", "gan.d_steps=2"]),
    ("gan", ["data.dataset=digits", "gan.loss=minimax", "gan.label_smoothing=0.2"]),
    ("dcgan", ["data.dataset=digits"]),  # conv + synchronized batch norm
    ("cgan", ["data.dataset=digits"]),  # labels into both networks
    # improved techniques: feature matching and minibatch std use global-batch statistics
    ("dcgan", ["dcgan.feature_matching=true", "dcgan.label_smoothing=0.1",
               "model.minibatch_std=4"]),
    ("acgan", []),  # sampled fake labels, class head
    ("acgan", ["acgan.semi_supervised=true", "acgan.labeled_fraction=0.5",
               "acgan.feature_matching=true"]),
    ("infogan", []),  # sampled codes, Q head
    # n_critic=5 clipped critic updates on fresh batches; a warm-up step, whose generator
    # update is undone (WGAN.generator_update_due)
    ("wgan", ["wgan.clip=0.05"]),
    ("wgan", ["wgan.clip=0.05", "wgan.warmup=false", "wgan.d_steps=2"]),  # G updated
    # per-example interpolation + penalty; 2 critic updates, not 5: at SGD(0.5) five penalty
    # updates once amplified thread-order rounding past the tolerance (CI under load)
    ("wgan_gp", ["model.d_norm=layer", "wgan_gp.d_steps=2"]),
    # PacGAN packing: packs of contiguous samples never straddle replicas; the penalty's
    # norm is per pack
    ("wgan_gp", ["model.d_norm=layer", "model.pack=2", "wgan_gp.d_steps=2"]),
    ("dragan", ["data.dataset=ring", "model.pack=2"]),
    ("dcgan", ["model.pack=2"]),
    ("dragan", ["model.d_norm=layer"]),  # global-batch std perturbation + penalty
    ("lsgan", []),
    ("began", ["began.lambda_k=0.5"]),  # k_t from global means; large lambda_k moves it
    ("ebgan", ["ebgan.margin=2.0", "ebgan.pt_weight=1.0"]),  # pulling-away over all replicas
    # autoencoders reconstruct packs whole; k_t and the pulling-away term stay global
    ("began", ["data.dataset=ring", "began.lambda_k=0.5", "model.pack=2"]),
    ("ebgan", ["data.dataset=ring", "ebgan.pt_weight=1.0", "model.pack=2"]),
    # minibatch std in the autoencoder's bottleneck: groups never straddle replicas
    ("began", ["data.dataset=ring", "began.lambda_k=0.5", "model.pack=1",
               "model.minibatch_std=4"]),
    ("ebgan", ["ebgan.pt_weight=1.0", "model.minibatch_std=4"]),
    # the denoising autoencoder's noise is drawn for the global batch
    ("ebgan", ["data.dataset=ring", "ebgan.denoise=0.5"]),
    # stabilizers: spectral norm's u is updated identically on each replica (here beside
    # synchronized batch norm); the hinge loss; R1's input gradient through synchronized
    # batch norm; all three on a conditional D (the label held fixed for R1) and its heads
    ("dcgan", ["model.spectral_norm=true"]),
    ("gan", ["data.dataset=ring", "gan.loss=hinge"]),
    ("dcgan", ["dcgan.r1_weight=10"]),
    ("cgan", ["model.spectral_norm=true", "model.d_norm=none", "cgan.loss=hinge",
              "cgan.r1_weight=1"]),
    ("acgan", ["model.spectral_norm=true", "acgan.loss=hinge", "acgan.r1_weight=1"]),
    # stabilizers: the generator's moving average is updated alike on every replica;
    # DiffAugment draws each discriminator call's transforms for the global batch
    ("dcgan", ["train.g_ema=0.9"]),
    ("dcgan", ["train.diffaugment=color,translation,cutout"]),
    ("wgan_gp", ["model.d_norm=layer", "wgan_gp.d_steps=2", "train.diffaugment=translation"]),
    ("cgan", ["train.diffaugment=color,cutout"]),  # the image is transformed, not the label
    # the autoencoder reconstructs its transformed input; both stabilizers at once
    ("began", ["began.lambda_k=0.5", "train.diffaugment=translation,cutout",
               "train.g_ema=0.5"]),
    # image-to-image: examples split from paired data, a D on (source, image) with per-patch
    # logits, L1 beside the GAN term; synchronized batch norm in the U-Net and PatchGAN
    ("pix2pix", ["pix2pix.l1_weight=10"]),
    # instance norm (per example), R1 with the source held fixed, the generator's average
    ("pix2pix", ["pix2pix.norm=instance", "pix2pix.r1_weight=1", "train.g_ema=0.5"]),
    # the U-Net's dropout: masks drawn for the global batch (GlobalDropout)
    ("pix2pix", ["pix2pix.dropout=0.5"]),
    # two generators and two discriminators under one optimizer each; the image pools are
    # updated from the global batch of fakes
    ("cyclegan", CYCLEGAN_TINY),
    # masks drawn per example for the global batch (random rectangles), the composite, the
    # reconstruction on the missing pixels and a D told the mask; the adversarial weight
    # raised so the GAN term moves G visibly at SGD(0.5)
    ("inpaint", ["inpaint.mask=random", "inpaint.adv_weight=0.5"]),
    ("inpaint", ["inpaint.mask=block", "inpaint.rec_loss=l1", "inpaint.d_mask=false",
                 "inpaint.norm=instance", "inpaint.r1_weight=1"]),
    # super-resolution: inputs downscaled inside the step, SRResNet's and D's synchronized
    # batch norm; ESRGAN's relativistic losses take their means over the global batch (with
    # the paper's SRResNet alone: no bicubic skip)
    ("srgan", ["data.image_size=16", "srgan.blocks=1", "srgan.dense_units=8",
               "srgan.residual=false", "srgan.relativistic=true", "srgan.content=l1",
               "srgan.adversarial_weight=1"]),
    # the content-only warm-up: D's update computed and undone, G's without its GAN term
    ("srgan", ["data.image_size=16", "srgan.blocks=1", "srgan.dense_units=8",
               "srgan.pretrain_steps=1"]),
]


@pytest.mark.parametrize("variant, sets", CASES)
def test_two_replicas_equal_one_device(variant, sets):
    # wgan_gp at SGD(0.1): its penalty updates at SGD(0.5) amplified thread-order rounding
    # to 8e-3 once (2 critic updates, under load); a wrong loss scale still moves the
    # weights by ~0.1 x the gradient, far past the 1e-5 tolerance
    assert_same_step(variant, sets, lr=0.1 if variant == "wgan_gp" else 0.5)


def test_cyclegan_pools_stay_exact_over_two_steps():
    """Later updates read and rewrite the pools the first one filled: the stored images
    and their count, like the weights, match one device's. SGD(0.05): four networks at
    SGD(0.5) diverge within two steps (weights of 1e9)."""
    assert_same_step("cyclegan", [*CYCLEGAN_TINY, "cyclegan.d_steps=2"], steps=2, lr=0.05)


def test_every_registered_variant_has_a_two_replica_case():
    assert sorted({variant for variant, _ in CASES}) == registry.variant_names()


class MeanReducedGAN(GAN):
    """The keras.io mistake: tf.reduce_mean over the replica batch."""

    def _step(self, loss_fn, objective, *args, **kwargs):
        original = loss_fn

        def mean_reduced(real, fake, labels, cond, stream):
            terms = original(real, fake, labels, cond, stream)
            n = tf.distribute.get_replica_context().num_replicas_in_sync
            # reduce_loss divides by the global batch; this term makes the result a
            # per-replica reduce_mean, i.e. n times too large in total.
            terms[objective] = terms[objective] * tf.cast(n, tf.float32)
            return terms

        return super()._step(mean_reduced, objective, *args, **kwargs)


def test_the_equivalence_check_catches_a_per_replica_mean():
    with pytest.raises(AssertionError):
        assert_same_step("gan", ["data.dataset=ring"], MeanReducedGAN)


def test_replicas_draw_distinct_latents_that_tile_the_global_batch():
    strategy = distribute.mirrored(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        model, _ = tiny_model("gan", "data.dataset=ring", optimizer=keras.optimizers.SGD)
    per_replica = strategy.run(lambda: model.sample_latent(4, stream=0))
    parts = [v.numpy() for v in strategy.experimental_local_results(per_replica)]
    assert not np.allclose(parts[0], parts[1])
    whole = model.sample_latent(8, stream=0).numpy()  # one device, same step and stream
    np.testing.assert_allclose(np.concatenate(parts), whole, rtol=1e-6)
    assert not np.allclose(model.sample_latent(8, stream=1).numpy(), whole)

"""Quality metrics on inputs with known answers, the domain classifier and Inception FID."""

import math

import numpy as np
import pytest

from tfgan_app.data import toy
from tfgan_app.evaluation import images
from tfgan_app.evaluation import toy as toy_metrics_module
from tfgan_app.evaluation.toy import gaussian_1d_metrics, toy_metrics

RING = toy.ring_modes()
GRID = toy.grid_modes()
# P(|x - mode| <= 3 std) for an isotropic 2-D Gaussian: 1 - exp(-9/2).
WITHIN_3_STD = 1 - math.exp(-4.5)


@pytest.mark.parametrize("modes,std", [(RING, toy.RING_STD), (GRID, toy.GRID_STD)])
def test_real_toy_data_covers_every_mode(modes, std):
    points, _ = toy.sample_mixture(modes, std, 2500, seed=0)
    m = toy_metrics(points, modes, std)
    assert m["modes"] == len(modes)
    assert m["hq"] == pytest.approx(WITHIN_3_STD, abs=0.006)
    assert 0 <= m["kl"] < 0.02  # sampling noise of a uniform histogram


def test_one_collapsed_mode():
    points, _ = toy.sample_mixture(RING[2:3], toy.RING_STD, 2500, seed=1)
    m = toy_metrics(points, RING, toy.RING_STD)
    assert m["modes"] == 1
    assert m["hq"] == pytest.approx(WITHIN_3_STD, abs=0.01)
    assert m["kl"] == pytest.approx(math.log(8))


def test_half_the_modes_exactly():
    points = np.repeat(GRID[::2], 10, axis=0)  # 13 of 25 centres, hit equally often
    m = toy_metrics(points, GRID, toy.GRID_STD)
    assert m == {"modes": 13, "hq": 1.0, "kl": pytest.approx(math.log(25 / 13))}


def test_points_between_modes_are_low_quality_and_cover_nothing():
    between = (RING + np.roll(RING, 1, axis=0)) / 2  # midpoints of neighbouring modes
    m = toy_metrics(between, RING, toy.RING_STD)
    assert m["modes"] == 0 and m["hq"] == 0.0


def test_boundary_and_non_finite_points():
    std = toy.RING_STD
    inside = RING[0] + [3 * std * 0.999, 0]
    outside = RING[0] + [3 * std * 1.001, 0]
    m = toy_metrics(np.array([inside, outside, [np.nan, 0.0], [np.inf, 1.0]]), RING, std)
    assert m["modes"] == 1 and m["hq"] == 0.25
    with pytest.raises(ValueError, match="2-D points"):
        toy_metrics(np.zeros((4, 3)), RING, std)


def test_1d_metrics_of_real_gauss1d_samples_are_near_zero_distance():
    points, _ = toy.sample_mixture(toy.gauss1d_modes(), toy.GAUSS1D_STD, 2500, seed=0)
    m = gaussian_1d_metrics(points, -1.0, 1.0)
    assert m["mean"] == pytest.approx(-1.0, abs=0.05)
    assert m["std"] == pytest.approx(1.0, abs=0.05)
    # The floor of 2500 samples: about 0.8 / sqrt(2500) = 0.016 for w1, 0.017 for ks.
    assert 0 < m["w1"] < 0.05 and 0 < m["ks"] < 0.04


def test_1d_metrics_known_values():
    from scipy import special, stats

    # One sample at the mean: W1 = E|X - mean| = std sqrt(2 / pi); KS = 1/2.
    one = gaussian_1d_metrics(np.array([[-1.0]]), -1.0, 2.0)
    assert one == {"mean": -1.0, "std": 0.0, "w1": pytest.approx(2 * math.sqrt(2 / math.pi)),
                   "ks": pytest.approx(0.5)}
    # N(0, 1) quantiles against N(-1, 1): a shift by 1 (W1 = 1, KS = 2 Phi(1/2) - 1).
    n = 20000
    shifted = special.ndtri((np.arange(n) + 0.5) / n)
    m = gaussian_1d_metrics(shifted, -1.0, 1.0)
    assert m["w1"] == pytest.approx(1.0, abs=1e-3)
    assert m["ks"] == pytest.approx(2 * special.ndtr(0.5) - 1, abs=1e-3)
    # Twice the spread: W1 = (2 - 1) E|Z| = sqrt(2 / pi).
    wide = -1.0 + 2.0 * special.ndtri((np.arange(n) + 0.5) / n)
    assert gaussian_1d_metrics(wide, -1.0, 1.0)["w1"] == pytest.approx(
        math.sqrt(2 / math.pi), abs=2e-3)
    # Any sample: the same as scipy's KS test, and as W1 to a fine quantile grid of the
    # Gaussian (which converges to the exact value).
    x = np.random.default_rng(1).normal(0.3, 0.5, 700)
    m = gaussian_1d_metrics(x, -1.0, 1.0)
    assert m["ks"] == pytest.approx(stats.kstest(x, "norm", args=(-1.0, 1.0)).statistic)
    grid = -1.0 + special.ndtri((np.arange(10 ** 6) + 0.5) / 10 ** 6)
    assert m["w1"] == pytest.approx(stats.wasserstein_distance(x, grid), abs=1e-4)


def test_1d_metrics_refuse_2d_points_and_report_non_finite_samples():
    m = gaussian_1d_metrics(np.array([0.0, np.nan, 1.0]), -1.0, 1.0)
    assert set(m) == {"mean", "std", "w1", "ks"} and all(math.isnan(v) for v in m.values())
    with pytest.raises(ValueError, match=r"samples of shape \[N\] or \[N, 1\]"):
        gaussian_1d_metrics(np.zeros((4, 2)), -1.0, 1.0)


def test_evaluator_scores_gauss1d_with_the_1d_metrics():
    from tfgan_app.data import load_dataset
    from tfgan_app.evaluation import Evaluator, Samples, scalars

    data = load_dataset("gauss1d", toy_samples=2500, seed=0)
    evaluator = Evaluator(data)
    assert evaluator.available and evaluator.num_samples == 2500
    metrics = scalars(evaluator.evaluate(Samples(data.x)))
    assert metrics == gaussian_1d_metrics(data.x, -1.0, 1.0)


def test_reverse_kl_known_values():
    assert toy_metrics_module.reverse_kl([5, 5, 5, 5]) == pytest.approx(0.0)
    assert toy_metrics_module.reverse_kl([10, 0, 0, 0]) == pytest.approx(math.log(4))
    # p = (3/4, 1/4) against uniform on 2: 3/4 log 1.5 + 1/4 log 0.5
    assert toy_metrics_module.reverse_kl([3, 1]) == pytest.approx(
        0.75 * math.log(1.5) + 0.25 * math.log(0.5))


def test_classifier_score_known_values():
    confident = np.eye(10, dtype=np.float32)[np.arange(1000) % 10] * 50.0
    assert images.classifier_score(confident) == pytest.approx(10.0, rel=1e-4)
    one_class = np.tile(confident[:1], (1000, 1))
    assert images.classifier_score(one_class) == pytest.approx(1.0, rel=1e-4)
    undecided = np.zeros((1000, 10), np.float32)
    assert images.classifier_score(undecided) == pytest.approx(1.0, rel=1e-4)


def test_frechet_and_kernel_distances_known_values():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((1000, 8)).astype(np.float32)
    shift = np.array([3.0, 4.0] + [0.0] * 6, np.float32)  # |shift|^2 = 25
    assert images.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-3)
    assert images.frechet_distance(a, a + shift) == pytest.approx(25.0, rel=1e-3)
    # KID is unbiased, so a set against itself is slightly negative (-O(1/n)), and two
    # samples of one distribution land near 0 either side.
    assert -0.05 < images.kernel_distance(a, a) <= 0
    b = rng.standard_normal((1000, 8)).astype(np.float32)
    assert abs(images.kernel_distance(a, b)) < 0.05
    assert images.kernel_distance(a, a + shift) > 1.0


def test_kernel_distance_does_not_depend_on_the_order_of_rows():
    """tensorflow-gan's KID averages blocks of consecutive rows: real rows grouped (as
    files group by class or writer) must not look unlike a sample of the same mix."""
    rng = np.random.default_rng(0)
    centres = np.zeros((2, 8), np.float32)
    centres[:, 0] = -2.0, 2.0

    def mixture(n):
        return (rng.standard_normal((n, 8)) + centres[rng.integers(0, 2, n)]).astype(np.float32)

    n = 9000
    assert 2 * images.KID_BLOCK < n <= 3 * images.KID_BLOCK  # three blocks of 3000
    real, fake = mixture(n), mixture(n)
    grouped = real[np.argsort(real[:, 0])]  # three blocks: left, both, right
    assert abs(images.kernel_distance(grouped, fake)) < 0.05
    assert images.kernel_distance(grouped, fake) == pytest.approx(
        images.kernel_distance(real, fake), abs=0.05)


def test_label_accuracy_and_code_agreement():
    labels = np.array([0, 0, 1, 1, 2, 2])
    overall, per_class = images.label_accuracy(np.array([0, 1, 1, 1, 2, 0]), labels, 4)
    assert overall == pytest.approx(4 / 6)
    assert per_class[:3] == [0.5, 1.0, 0.5] and math.isnan(per_class[3])
    # Codes that are a permutation of the classes agree fully under the best matching.
    codes = np.arange(300) % 3
    permutation = np.array([2, 0, 1])
    agreement, mapping = images.code_agreement(codes, permutation[codes], 3, 3)
    assert agreement == 1.0 and mapping == permutation.tolist()
    # Codes unrelated to the class: agreement near 1 / #classes.
    rng = np.random.default_rng(0)
    agreement, _ = images.code_agreement(rng.integers(0, 10, 5000),
                                         rng.integers(0, 10, 5000), 10, 10)
    assert 0.1 <= agreement < 0.13


@pytest.fixture(scope="module")
def digits_classifier(tmp_path_factory):
    from tfgan_app.data import DataConfig, load_from_config
    from tfgan_app.evaluation.classifier import get_classifier

    data = load_from_config(DataConfig(), seed=0)
    cache = tmp_path_factory.mktemp("cache")
    return data, cache, get_classifier(data, cache_dir=cache)


def test_domain_classifier_is_accurate_and_cached(digits_classifier):
    from tfgan_app.evaluation.classifier import get_classifier

    data, cache, classifier = digits_classifier
    assert classifier.test_accuracy > 0.95
    assert classifier.info["test_examples"] == 359
    assert (classifier.path / "classifier.json").is_file()
    again = get_classifier(data, cache_dir=cache)  # loaded, not trained
    assert again.test_accuracy == classifier.test_accuracy
    np.testing.assert_allclose(again.predict(data.x[:50])[0],
                               classifier.predict(data.x[:50])[0], atol=1e-5)


def test_image_metrics_real_against_itself_and_one_collapsed_class(digits_classifier):
    from tfgan_app.evaluation import Evaluator, Samples

    data, cache, _ = digits_classifier
    evaluator = Evaluator(data, cache_dir=cache)
    real = evaluator.evaluate(Samples(data.x, labels=data.y))
    assert real["score"] == real["real_score"] > 9.0
    assert real["frechet"] == pytest.approx(0.0, abs=1e-2)
    assert real["label_accuracy"] > 0.98
    # KID needs independent samples: two random halves of the real data.
    order = np.random.default_rng(0).permutation(len(data.x))
    half, other = data.x[order[:898]], data.x[order[898:]]
    other_half = images.image_metrics(evaluator.classifier, half, other)
    assert abs(other_half["kid"]) < 0.1  # the digits generators here score 0.3-0.7
    assert other_half["frechet"] < 8.0  # the finite-sample floor (measured 4.4)
    sevens = data.x[data.y == 7]
    collapsed = evaluator.evaluate(Samples(sevens, labels=np.zeros(len(sevens), int)))
    assert collapsed["score"] < 1.3
    assert collapsed["frechet"] > 10 * max(other_half["frechet"], 1.0)
    assert collapsed["kid"] > 1.0
    assert collapsed["label_accuracy"] < 0.05
    assert collapsed["class_histogram"][7] > 0.95 * len(sevens)


def test_inception_fid_with_random_weights(tmp_path):
    import keras

    from tfgan_app.errors import UsageError
    from tfgan_app.evaluation.inception import InceptionFID

    keras.utils.set_random_seed(0)
    network = keras.applications.InceptionV3(include_top=False, weights=None,
                                             pooling="avg", input_shape=(299, 299, 3))
    weights = tmp_path / "inception.weights.h5"
    network.save_weights(weights)
    fid = InceptionFID(weights)
    rng = np.random.default_rng(0)
    noise = rng.uniform(-1, 1, (6, 16, 16, 1)).astype(np.float32)
    flat = (np.full((6, 16, 16, 1), -0.5) + rng.normal(0, 0.01, (6, 16, 16, 1))).astype(
        np.float32)
    features = fid.features(noise)
    assert features.shape == (6, 2048)
    # Random weights give tiny features (so tiny distances), but the pipeline is exact:
    # a set against itself is 0, and the distance is that of the pooled 2048-d features.
    same = fid.distance(noise, noise)
    different = fid.distance(noise, flat)
    assert different > 0 and abs(same) < 0.1 * different  # sqrtm rounding
    assert different == pytest.approx(
        images.frechet_distance(features, fid.features(flat)), rel=1e-3)
    with pytest.raises(UsageError, match="not found"):
        InceptionFID(tmp_path / "missing.h5")
    bad = tmp_path / "bad.h5"
    bad.write_text("not weights")
    with pytest.raises(UsageError, match="Inception-V3"):
        InceptionFID(bad)


def test_the_domain_classifier_grows_a_stage_per_doubling_past_32_px():
    from tfgan_app.evaluation.classifier import build_network, conv_filters

    assert conv_filters(16) == conv_filters(32) == (32, 64)  # the digits' network as before
    assert conv_filters(64) == (32, 64, 128) and conv_filters(128) == (32, 64, 128, 128)
    network = build_network((64, 64, 3), 4)
    assert network.get_layer("conv2").output.shape[1:3] == (8, 8)


def test_summarize_draws_averages_every_number_and_leaves_lists_to_the_draws():
    from tfgan_app.evaluation import summarize_draws

    draws = [{"modes": np.int64(3), "hq": np.float32(0.5), "class_histogram": [1, 2]},
             {"modes": 5, "hq": 0.75, "class_histogram": [2, 1]}]
    mean, std = summarize_draws(draws)
    assert mean == pytest.approx({"modes": 4.0, "hq": 0.625})
    assert std == pytest.approx({"modes": np.sqrt(2), "hq": np.std([0.5, 0.75], ddof=1)})
    assert summarize_draws(draws[:1])[1] == {"modes": 0.0, "hq": 0.0}

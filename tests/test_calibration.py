"""Scoring rules and calibration: the Brier score, the focal loss, reliability curves, ECE and temperature.

References are independent: mpmath at 60 digits for the formulas, scikit-learn's
calibration_curve for the bins, SciPy's scalar minimiser for the temperature.
"""

import mpmath
import numpy as np
import pytest
import scipy.optimize
from reference import DPS, scaled_error
from sklearn.calibration import calibration_curve

import ce_lib

BOUND = 4.0  # ULP after division by the condition number, as tests/test_accuracy.py


def mp_sigmoid(z):
    return 1 / (1 + mpmath.exp(-z))


def mp_focal(z, y, alpha, gamma):
    """torchvision.ops.sigmoid_focal_loss, written out at 60 digits."""
    with mpmath.workdps(DPS):
        z, y = mpmath.mpf(float(z)), mpmath.mpf(float(y))
        ce = y * mpmath.log1p(mpmath.exp(-z)) + (1 - y) * mpmath.log1p(mpmath.exp(z))  # BCE from the logit
        p = mp_sigmoid(z)
        miss = y * (1 - p) + (1 - y) * p  # 1 - p_t
        loss = ce * miss**gamma
        if alpha >= 0:
            loss *= alpha * y + (1 - alpha) * (1 - y)
        return loss


LOGITS = np.array([-800.0, -40.0, -5.0, -1.0, -1e-8, 0.0, 1e-8, 0.5, 3.0, 40.0, 800.0])


@pytest.mark.parametrize("alpha, gamma", [(0.25, 2.0), (-1.0, 2.0), (0.5, 0.0), (0.9, 0.5), (-1.0, 0.0)])
@pytest.mark.parametrize("y", [0.0, 1.0, 0.3])
def test_focal_loss_matches_the_formula_at_60_digits(alpha, gamma, y):
    got = ce_lib.sigmoid_focal_loss(LOGITS, np.full_like(LOGITS, y), alpha=alpha, gamma=gamma)
    for z, value in zip(LOGITS, got):
        exact = mp_focal(z, y, alpha, gamma)
        if exact == 0:
            assert value == 0
            continue
        # condition number of the loss in z: |z l'(z) / l(z)|, at most a few times |z| here
        assert scaled_error(value, exact, 4 * (1 + abs(z))) <= BOUND, (z, y, value, exact)


def test_focal_loss_without_focusing_is_the_binary_cross_entropy(rng):
    z, y = rng.normal(0, 5, 50), rng.uniform(0, 1, 50)
    np.testing.assert_array_equal(
        ce_lib.sigmoid_focal_loss(z, y, alpha=-1, gamma=0), ce_lib.binary_cross_entropy_with_logits(z, y, reduction="none")
    )


def test_focal_loss_reductions_and_errors(rng):
    z, y = rng.normal(size=(4, 3)), (rng.uniform(size=(4, 3)) > 0.5).astype(float)
    per = ce_lib.sigmoid_focal_loss(z, y)
    assert per.shape == (4, 3)
    assert ce_lib.sigmoid_focal_loss(z, y, reduction="sum") == pytest.approx(per.sum(), rel=1e-15)
    assert ce_lib.sigmoid_focal_loss(z, y, reduction="mean") == pytest.approx(per.mean(), rel=1e-15)
    for kwargs, word in (({"gamma": -1.0}, "gamma"), ({"alpha": 1.5}, "alpha"), ({"reduction": "avg"}, "reduction")):
        with pytest.raises(ValueError, match=word):
            ce_lib.sigmoid_focal_loss(z, y, **kwargs)
    with pytest.raises(ValueError, match="target"):
        ce_lib.sigmoid_focal_loss(z, y + 1)
    with pytest.raises(ValueError, match="same shape"):
        ce_lib.sigmoid_focal_loss(z, y[:, :2])


def mp_brier(q, t):
    with mpmath.workdps(DPS):
        return sum((mpmath.mpf(float(a)) - mpmath.mpf(float(b))) ** 2 for a, b in zip(q, t))


def test_brier_score_matches_mpmath(rng):
    probs = ce_lib.softmax(rng.normal(0, 3, (200, 5)))
    labels = rng.integers(0, 5, 200)
    got = ce_lib.brier_score(probs, labels, reduction="none")
    for q, y, value in zip(probs, labels, got):
        exact = mp_brier(q, np.eye(5)[y])
        # each term is a square of a difference of O(1) numbers: condition number about 2 * sum|q - t| / B
        kappa = 2 * np.sum(np.abs(q - np.eye(5)[y])) ** 2 / float(exact)
        assert scaled_error(value, exact, kappa) <= BOUND


def test_brier_score_shapes_targets_and_reductions(rng):
    q = ce_lib.softmax(rng.normal(size=(3, 4, 2)), axis=1)  # (N, C, d1)
    y = rng.integers(0, 4, (3, 2))
    per = ce_lib.brier_score(q, y, reduction="none")
    assert per.shape == (3, 2)
    one_hot = np.moveaxis(np.eye(4)[y], -1, 1)
    np.testing.assert_allclose(per, ce_lib.brier_score(q, one_hot, reduction="none"), rtol=1e-15)
    np.testing.assert_allclose(per, np.sum((q - one_hot) ** 2, axis=1), rtol=1e-15)
    assert ce_lib.brier_score(q, y) == pytest.approx(per.mean(), rel=1e-15)
    assert ce_lib.brier_score(q, y, reduction="sum") == pytest.approx(per.sum(), rel=1e-15)
    assert ce_lib.brier_score(np.array([0.25, 0.75]), np.array(1)) == pytest.approx(0.125, rel=1e-15)


@pytest.mark.parametrize(
    "probs, target, word",
    [
        ([[0.5, 0.6]], [0], "sum to 1"),
        ([[-0.5, 1.5]], [0], "negative"),
        ([[0.5, 0.5]], [2], "class index"),
        ([[0.5, 0.5]], [-100], "ignore_index"),
        ([[0.5, 0.5]], [[0.5, 0.6]], "target"),
    ],
)
def test_brier_score_rejects_bad_input(probs, target, word):
    with pytest.raises(ValueError, match=word):
        ce_lib.brier_score(np.array(probs), np.array(target))


def test_brier_score_and_log_loss_are_strictly_proper_and_the_focal_loss_is_not(rng):
    """Expected score under p: smallest exactly at q = p for Brier and log loss; not for focal."""
    for _ in range(200):
        p = rng.dirichlet(np.ones(4))
        other = rng.dirichlet(np.ones(4))
        expected = lambda score, q: sum(p[k] * score(q, k) for k in range(4))
        brier = lambda q, k: float(ce_lib.brier_score(q, np.array(k)))
        log_loss = lambda q, k: float(-np.log(q[k]))
        for score in (brier, log_loss):
            assert expected(score, other) > expected(score, p)
    # two classes, gamma = 2, no alpha: the expected focal loss under p = 0.8 is smallest below 0.8
    grid = np.linspace(0.5, 0.99, 4901)
    expected_focal = [
        0.8 * ce_lib.sigmoid_focal_loss(ce_lib.logit(g), 1.0, alpha=-1)
        + 0.2 * ce_lib.sigmoid_focal_loss(ce_lib.logit(g), 0.0, alpha=-1)
        for g in grid
    ]
    assert grid[np.argmin(expected_focal)] < 0.78


def top_class(probs, labels):
    return probs.max(axis=1), (probs.argmax(axis=1) == labels).astype(float)


@pytest.mark.parametrize("n_bins", [1, 5, 10, 15])
def test_reliability_curve_agrees_with_scikit_learn(n_bins, rng):
    probs = ce_lib.softmax(rng.normal(0, 2, (2000, 4)))
    labels = np.array([rng.choice(4, p=row) for row in ce_lib.softmax(rng.normal(0, 2, (2000, 4)) * 0.5 + np.log(probs))])
    curve = ce_lib.reliability_curve(probs, labels, n_bins=n_bins)
    confidence, correct = top_class(probs, labels)
    accuracy, mean_confidence = calibration_curve(correct, confidence, n_bins=n_bins, strategy="uniform")
    kept = curve.counts > 0
    np.testing.assert_allclose(curve.accuracy[kept], accuracy, rtol=1e-12)
    np.testing.assert_allclose(curve.confidence[kept], mean_confidence, rtol=1e-12)
    assert curve.counts.sum() == 2000 and np.all(np.isnan(curve.accuracy[~kept]))


def test_reliability_bins_are_closed_on_the_right_and_the_first_at_zero():
    probs = np.array([0.0, 0.2, 0.2 + 1e-12, 0.6, 1.0])  # binary: P(class 1); confidences 1, 0.8, 0.8, 0.6, 1
    labels = np.array([0, 0, 0, 1, 1])
    curve = ce_lib.reliability_curve(probs, labels, n_bins=5)
    assert curve.counts.tolist() == [0, 0, 1, 2, 2]  # 0.6 in (0.4, 0.6]; 0.8 and 0.8 - 1e-12 in (0.6, 0.8]
    edge = ce_lib.reliability_curve(np.array([[1.0, 0.0], [0.5, 0.5]]), np.array([0, 0]), n_bins=2)
    assert edge.counts.tolist() == [1, 1]  # 0.5 in [0, 0.5], 1.0 in (0.5, 1]


def test_expected_calibration_error_by_hand_and_its_bias(rng):
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7]])
    labels = np.array([0, 1, 1])
    # bins of width 0.2: {0.8, 0.7} with accuracy 1/2 and {0.9} with accuracy 1
    assert ce_lib.expected_calibration_error(probs, labels, n_bins=5) == pytest.approx(2 / 3 * 0.25 + 1 / 3 * 0.1, rel=1e-15)
    # a calibrated model (labels drawn from its own probabilities) scores near 0 on a large sample, higher on a small one
    q = ce_lib.softmax(rng.normal(0, 2, (40000, 3)))
    y = (rng.uniform(size=(40000, 1)) > np.cumsum(q, axis=1)).sum(axis=1)
    assert ce_lib.expected_calibration_error(q, y) < 0.01
    small = np.mean([ce_lib.expected_calibration_error(q[i : i + 100], y[i : i + 100]) for i in range(0, 40000, 100)])
    assert small > 3 * ce_lib.expected_calibration_error(q, y)


@pytest.mark.parametrize(
    "probs, labels, n_bins, word",
    [
        ([[0.5, 0.6]], [0], 5, "sum to 1"),
        ([1.2], [0], 5, "probs"),
        ([[0.5, 0.5]], [3], 5, "labels"),
        ([[0.5, 0.5]], [0, 1], 5, "labels"),
        ([[0.5, 0.5]], [0], 0, "n_bins"),
        ([[0.5, 0.5]], [0], 2.5, "n_bins"),
        (np.zeros((0, 2)), np.zeros(0, int), 5, "probs"),
    ],
)
def test_calibration_functions_reject_bad_input(probs, labels, n_bins, word):
    for function in (ce_lib.reliability_curve, ce_lib.expected_calibration_error):
        with pytest.raises(ValueError, match=word):
            function(np.array(probs), np.array(labels), n_bins=n_bins)


def mean_nll(logits, labels, temperature):
    return float(ce_lib.softmax_cross_entropy(logits / temperature, labels))


def overconfident(rng, n=3000, classes=5, scale=4.0):
    """Scores whose softmax is too sharp: labels come from softmax(z), the model reports scale * z."""
    z = rng.normal(0, 1.0, (n, classes))
    labels = (rng.uniform(size=(n, 1)) > np.cumsum(ce_lib.softmax(z), axis=1)).sum(axis=1)
    return scale * z, labels


def test_fit_temperature_minimises_the_nll_and_keeps_the_argmax(rng):
    logits, labels = overconfident(rng)
    T = ce_lib.fit_temperature(logits, labels)
    reference = scipy.optimize.minimize_scalar(
        lambda t: mean_nll(logits, labels, t), bounds=(0.05, 50), method="bounded", options=dict(xatol=1e-10)
    )
    assert T == pytest.approx(reference.x, rel=1e-5)
    assert T == pytest.approx(4.0, rel=0.1)  # the scale the scores were sharpened by
    beta = 1 / T  # the derivative in beta vanishes there
    slope = np.mean(np.sum(ce_lib.softmax(beta * logits) * logits, axis=1) - logits[np.arange(len(labels)), labels])
    assert abs(slope) < 1e-7 * np.abs(logits).mean()
    np.testing.assert_array_equal(ce_lib.softmax(logits / T).argmax(axis=1), logits.argmax(axis=1))


def test_fit_temperature_is_deterministic_and_refuses_when_there_is_no_minimum(rng):
    logits, labels = overconfident(rng, n=500)
    assert ce_lib.fit_temperature(logits, labels) == ce_lib.fit_temperature(logits.copy(), labels.copy())
    separable = np.array([[3.0, 0.0], [0.0, 2.0]])
    with pytest.raises(ValueError, match="largest logit"):
        ce_lib.fit_temperature(separable, np.array([0, 1]))
    with pytest.raises(ValueError, match="no information"):
        ce_lib.fit_temperature(separable, np.array([1, 0]))
    for bad, word in (
        ((np.ones(3), [0, 0, 0]), "logits"),
        ((np.ones((2, 2)), [0, 2]), "labels"),
        ((np.array([[np.inf, 0.0]]), [0]), "finite"),
    ):
        with pytest.raises(ValueError, match=word):
            ce_lib.fit_temperature(*bad)

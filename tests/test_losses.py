"""ce_lib.losses: closed forms, PyTorch's reduction semantics written out independently, and errors."""

import numpy as np
import pytest
import scipy.special as sc

import ce_lib

EPS = np.finfo(np.float64).eps
LOGITS = np.random.default_rng(3).normal(0, 2, (6, 4))
TARGET = np.array([0, 3, 1, -100, 2, 3])
WEIGHT = np.array([0.5, 2.0, 1.0, 3.0])


def reference_index_loss(x, y, weight=None, ignore_index=-100, reduction="mean", eps=0.0):
    """The documented formula, evaluated with SciPy's log_softmax, term by term."""
    logq = sc.log_softmax(x, axis=1)
    w = np.ones(x.shape[1]) if weight is None else weight
    kept = y != ignore_index
    per, denom = np.zeros(len(y)), 0.0
    for n in range(len(y)):
        if kept[n]:
            nll = -w[y[n]] * logq[n, y[n]]
            smooth = -np.sum(w * logq[n])
            per[n] = (1 - eps) * nll + eps / x.shape[1] * smooth
            denom += w[y[n]]
    return {"none": per, "sum": per.sum(), "mean": per.sum() / denom}[reduction]


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("weight", [None, WEIGHT])
@pytest.mark.parametrize("eps", [0.0, 0.1, 1.0])
def test_index_targets_follow_the_documented_formula(reduction, weight, eps):
    got = ce_lib.softmax_cross_entropy(LOGITS, TARGET, weight=weight, reduction=reduction, label_smoothing=eps)
    expected = reference_index_loss(LOGITS, TARGET, weight, reduction=reduction, eps=eps)
    np.testing.assert_allclose(got, expected, rtol=64 * EPS, atol=64 * EPS)


def test_nll_loss_of_log_softmax_is_cross_entropy():
    logq = ce_lib.log_softmax(LOGITS, axis=1)
    for reduction in ("none", "sum", "mean"):
        np.testing.assert_allclose(
            ce_lib.nll_loss(logq, TARGET, weight=WEIGHT, reduction=reduction),
            ce_lib.softmax_cross_entropy(LOGITS, TARGET, weight=WEIGHT, reduction=reduction),
            rtol=16 * EPS,
            atol=16 * EPS,
        )


def test_probability_target_mean_divides_by_number_of_distributions_not_weights(rng):
    t = sc.softmax(rng.normal(size=(6, 4)), axis=1)
    logq = sc.log_softmax(LOGITS, axis=1)
    per = -np.sum(WEIGHT * t * logq, axis=1)
    got = ce_lib.softmax_cross_entropy(LOGITS, t, weight=WEIGHT)
    assert got == pytest.approx(per.sum() / 6, rel=32 * EPS)


def test_probability_target_with_smoothing():
    t = np.eye(4)[[0, 3, 1, 1, 2, 3]]
    eps = 0.2
    smoothed = (1 - eps) * t + eps / 4
    expected = -np.mean(np.sum(smoothed * sc.log_softmax(LOGITS, axis=1), axis=1))
    assert ce_lib.softmax_cross_entropy(LOGITS, t, label_smoothing=eps) == pytest.approx(expected, rel=32 * EPS)


def test_one_hot_probabilities_equal_index_targets():
    y = np.array([0, 3, 1, 1, 2, 3])
    assert ce_lib.softmax_cross_entropy(LOGITS, np.eye(4)[y]) == pytest.approx(
        ce_lib.softmax_cross_entropy(LOGITS, y), rel=16 * EPS
    )


def test_extra_dimensions_follow_torch_layout(rng):
    x = rng.normal(size=(2, 3, 4, 5))  # (N, C, d1, d2)
    y = rng.integers(0, 3, (2, 4, 5))
    flat_x = np.moveaxis(x, 1, -1).reshape(-1, 3)
    np.testing.assert_allclose(
        ce_lib.softmax_cross_entropy(x, y, reduction="none").ravel(),
        ce_lib.softmax_cross_entropy(flat_x, y.ravel(), reduction="none"),
        rtol=0,
        atol=0,
    )


def test_single_sample_without_batch_dimension():
    assert ce_lib.softmax_cross_entropy(np.array([2.3, -1.2, 0.7]), np.array(0)) == pytest.approx(
        -sc.log_softmax([2.3, -1.2, 0.7])[0], rel=4 * EPS
    )


def test_all_targets_ignored_gives_nan_as_pytorch():
    assert np.isnan(ce_lib.softmax_cross_entropy(LOGITS[:2], np.array([-100, -100])))
    assert ce_lib.softmax_cross_entropy(LOGITS[:2], np.array([-100, -100]), reduction="sum") == 0.0


def test_binary_cross_entropy_closed_form_and_clamp():
    p, y = np.array([0.8, 0.9, 0.01, 0.0, 1.0]), np.array([1.0, 1.0, 0.0, 1.0, 1.0])
    expected = np.array([-np.log(0.8), -np.log(0.9), -np.log(0.99), 100.0, 0.0])
    np.testing.assert_allclose(ce_lib.binary_cross_entropy(p, y, reduction="none"), expected, rtol=4 * EPS)


def test_bce_with_logits_equals_bce_of_sigmoid_and_the_common_stable_form():
    z = np.linspace(-20, 20, 41)
    y = np.linspace(0, 1, 41)
    common = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
    np.testing.assert_allclose(
        ce_lib.binary_cross_entropy_with_logits(z, y, reduction="none"), common, rtol=64 * EPS, atol=64 * EPS
    )
    # On probabilities, rounding sigmoid(z) costs ~eps / min(sigmoid(z), 1 - sigmoid(z)) relative
    # accuracy; on |z| <= 5 that is at most eps / sigmoid(-5) ~ 150 eps: compare there, at 4x that.
    mid = np.abs(z) <= 5
    np.testing.assert_allclose(
        ce_lib.binary_cross_entropy_with_logits(z[mid], y[mid], reduction="none"),
        ce_lib.binary_cross_entropy(sc.expit(z[mid]), y[mid], reduction="none"),
        rtol=4 * EPS / sc.expit(-5.0),
    )


def test_bce_with_logits_stays_finite_for_huge_logits():
    z = np.array([-1e300, 1e300, -1000.0, 1000.0])
    y = np.array([1.0, 0.0, 0.0, 1.0])
    np.testing.assert_array_equal(ce_lib.binary_cross_entropy_with_logits(z, y, reduction="none"), [1e300, 1e300, 0.0, 0.0])


def test_pos_weight_scales_the_positive_term(rng):
    z = rng.normal(size=(5, 3))
    y = (rng.uniform(size=(5, 3)) > 0.5).astype(float)
    pw = np.array([1.0, 2.0, 5.0])
    expected = -(pw * y * np.log(sc.expit(z)) + (1 - y) * np.log(1 - sc.expit(z)))
    np.testing.assert_allclose(
        ce_lib.binary_cross_entropy_with_logits(z, y, pos_weight=pw, reduction="none"), expected, rtol=1e-12
    )


def test_float32_in_float32_out():
    x32 = LOGITS.astype(np.float32)
    assert ce_lib.softmax_cross_entropy(x32, TARGET).dtype == np.float32
    assert ce_lib.softmax_cross_entropy(x32, TARGET, weight=WEIGHT, label_smoothing=0.1).dtype == np.float32
    assert ce_lib.binary_cross_entropy_with_logits(x32, np.ones_like(x32)).dtype == np.float32


def test_nan_propagates():
    x = LOGITS.copy()
    x[0, 1] = np.nan
    per = ce_lib.softmax_cross_entropy(x, np.array([0, 3, 1, 1, 2, 3]), reduction="none")
    assert np.isnan(per[0]) and np.all(np.isfinite(per[1:]))
    assert np.isnan(ce_lib.binary_cross_entropy_with_logits(np.array([np.nan]), np.array([1.0])))
    assert np.isnan(ce_lib.binary_cross_entropy_with_logits(np.array([1.0]), np.array([np.nan])))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: ce_lib.softmax_cross_entropy(LOGITS, np.array([0, 1, 2, 4, 0, 0])), "class index 4, outside \\[0, 4\\)"),
        (lambda: ce_lib.softmax_cross_entropy(LOGITS, np.array([0, 1, 2, -1, 0, 0])), "class index -1"),
        (
            lambda: ce_lib.softmax_cross_entropy(LOGITS, np.array([0.0, 1, 2, 3, 0, 0])),
            "floating-point values where integer class indices",
        ),
        (lambda: ce_lib.softmax_cross_entropy(LOGITS, np.array([0, 1])), "target of class indices must have shape \\(6,\\)"),
        (lambda: ce_lib.softmax_cross_entropy(LOGITS, TARGET, weight=np.ones(3)), "weight must have shape \\(C,\\) = \\(4,\\)"),
        (lambda: ce_lib.softmax_cross_entropy(LOGITS, TARGET, label_smoothing=1.5), "label_smoothing must lie in \\[0, 1\\]"),
        (lambda: ce_lib.softmax_cross_entropy(LOGITS, TARGET, label_smoothing=-0.1), "label_smoothing"),
        (lambda: ce_lib.softmax_cross_entropy(LOGITS, TARGET, reduction="avg"), "reduction must be one of"),
        (lambda: ce_lib.softmax_cross_entropy(np.float64(1.0), np.array(0)), "logits must have a class dimension"),
        (lambda: ce_lib.nll_loss(LOGITS, TARGET, reduction="total"), "reduction must be one of"),
        (lambda: ce_lib.binary_cross_entropy(np.array([1.2]), np.array([1.0])), "probs must lie in \\[0, 1\\]"),
        (lambda: ce_lib.binary_cross_entropy(np.array([0.5]), np.array([2.0])), "target must lie in \\[0, 1\\]"),
        (lambda: ce_lib.binary_cross_entropy(np.array([0.5, 0.5]), np.array([1.0])), "same shape"),
        (
            lambda: ce_lib.binary_cross_entropy(np.array([0.5, 0.5]), np.array([1.0, 0.0]), weight=np.ones(3)),
            "weight of shape \\(3,\\) does not broadcast",
        ),
        (
            lambda: ce_lib.binary_cross_entropy_with_logits(np.zeros((2, 3)), np.zeros((2, 3)), pos_weight=np.ones(2)),
            "pos_weight must have one entry per label",
        ),
        (
            lambda: ce_lib.binary_cross_entropy_with_logits(np.array(["a"]), np.array([1.0])),
            "logits must be a real numeric array",
        ),
    ],
)
def test_bad_input_raises_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_losses_and_gradients_never_modify_their_inputs():
    x, y, w = LOGITS.copy(), TARGET.copy(), WEIGHT.copy()
    p = ce_lib.softmax(LOGITS)
    for call in (
        lambda: ce_lib.softmax_cross_entropy(x, y, weight=w, label_smoothing=0.1),
        lambda: ce_lib.softmax_cross_entropy(x, p, weight=w, label_smoothing=0.1),
        lambda: ce_lib.softmax_cross_entropy_grad(x, y, weight=w, label_smoothing=0.1),
        lambda: ce_lib.softmax_cross_entropy_grad(x, p, weight=w),
        lambda: ce_lib.nll_loss(x, y, weight=w),
        lambda: ce_lib.binary_cross_entropy_with_logits(x, p, pos_weight=w),
        lambda: ce_lib.binary_cross_entropy_with_logits_grad(x, p, pos_weight=w),
        lambda: ce_lib.binary_cross_entropy(p, p),
        lambda: ce_lib.softmax_jacobian(x),
    ):
        call()
        np.testing.assert_array_equal(x, LOGITS)
        np.testing.assert_array_equal(y, TARGET)
        np.testing.assert_array_equal(w, WEIGHT)
        np.testing.assert_array_equal(p, ce_lib.softmax(LOGITS))

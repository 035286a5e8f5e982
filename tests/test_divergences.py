"""ce_lib.divergences (gaussian_kl, mvn_kl, kl_estimate) against mpmath at 50 digits, closed forms and each other.

The mpmath references compute each formula as written, from the float inputs, with 50 digits,
where no cancellation matters; errors are in units in the last place (ULP) of the exact value.
Measured when these tests were written (seeded inputs as below): gaussian_kl at most 3.7 ULP
over 5 266 random, near-equal, branch-point and extreme-ratio cases (the tests assert 4);
kl_estimate's k3 at most 1.7 ULP over 3 000 cases with |delta| from 1e-17 to 316 (assert 2.5);
mvn_kl at most 6 ULP on 300 random well-conditioned pairs, n <= 5 (assert 16).
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from reference import ulps

import ce_lib

DPS = 50  # mpmath's digits for the references (mpmath.workdps: the global precision is left alone)
EPS = np.finfo(np.float64).eps


@mpmath.workdps(DPS)
# ----- gaussian_kl -----------------------------------------------------------------------------------------------


@mpmath.workdps(DPS)
def exact_gaussian_kl(mp, vp, mq, vq) -> mpmath.mpf:
    total = mpmath.mpf(0)
    for a, b, c, d in zip(*(np.broadcast_arrays(mp, vp, mq, vq)), strict=True):
        a, b, c, d = (mpmath.mpf(float(v)) for v in (a, b, c, d))
        total += (b / d - 1 - mpmath.log(b / d) + (a - c) ** 2 / d) / 2
    return total


def gaussian_cases(rng):
    cases = []
    for _ in range(120):  # random: variances over 17 decades, means of either sign
        d = rng.integers(1, 5)
        cases.append((rng.normal(0, 3, d), np.exp(rng.uniform(-20, 20, d)), rng.normal(0, 3, d), np.exp(rng.uniform(-20, 20, d))))
    for _ in range(120):  # near-equal variances (relative difference 1e-16 to 1), equal means: the variance term alone
        d = rng.integers(1, 4)
        vq = np.exp(rng.uniform(-5, 5, d))
        vp = vq * (1 + 10.0 ** rng.uniform(-16, 0, d) * rng.choice([-1, 1], d))
        mean = rng.normal(0, 1, d)
        cases.append((mean, vp, mean.copy(), vq))
    for _ in range(60):  # log-ratios around the branch points (log 2, 1) and beyond
        vq = np.exp(rng.uniform(-3, 3, 1))
        cases.append((np.zeros(1), vq * np.exp(rng.choice([-1, 1]) * rng.uniform(0.3, 3, 1)), np.zeros(1), vq))
    for _ in range(30):  # ratios beyond the float range
        cases.append((np.zeros(1), np.exp(rng.uniform(-700, 700, 1)), np.zeros(1), np.exp(rng.uniform(-700, 700, 1))))
    return cases


def test_gaussian_kl_is_within_4_ulp_of_mpmath(rng):
    worst = 0.0
    for mp, vp, mq, vq in gaussian_cases(rng):
        exact = exact_gaussian_kl(mp, vp, mq, vq)
        if exact == 0 or not np.isfinite(float(exact)):
            continue
        worst = max(worst, ulps(float(ce_lib.gaussian_kl(mp, vp, mq, vq)), exact))
    assert worst <= 4, worst


@pytest.mark.parametrize("relative_difference", [1e-15, 1e-12, 1e-9, 1e-6, 1e-3])
def test_gaussian_kl_keeps_its_digits_near_equal_variances(relative_difference):
    vq = np.array([0.3, 7.0])
    vp = vq * (1 + relative_difference)
    exact = exact_gaussian_kl(np.zeros(2), vp, np.zeros(2), vq)
    assert ulps(float(ce_lib.gaussian_kl(np.zeros(2), vp, np.zeros(2), vq)), exact) <= 4


def test_gaussian_kl_closed_forms():
    assert ce_lib.gaussian_kl([0.0], [1.0], [0.0], [1.0]) == 0.0
    assert ce_lib.gaussian_kl([0.0, 0.0], [1.0, 1.0], [3.0, -4.0], [1.0, 1.0]) == 12.5  # |mu_p - mu_q|^2 / 2
    assert ce_lib.gaussian_kl([0.0], [4.0], [0.0], [1.0]) == pytest.approx((3 - np.log(4)) / 2, rel=EPS, abs=0)
    assert ce_lib.gaussian_kl([0.0], [1.0], [0.0], [4.0]) == pytest.approx((0.25 - 1 + np.log(4)) / 2, rel=2 * EPS, abs=0)


def test_gaussian_kl_broadcasts_the_leading_axes(rng):
    mp, vp = rng.normal(size=(4, 1, 3)), rng.uniform(0.5, 2, (1, 5, 3))
    mq, vq = rng.normal(size=3), rng.uniform(0.5, 2, (5, 3))
    out = ce_lib.gaussian_kl(mp, vp, mq, vq)
    assert out.shape == (4, 5)
    for i in range(4):
        for j in range(5):
            assert out[i, j] == ce_lib.gaussian_kl(mp[i, 0], vp[0, j], mq, vq[j])


@given(
    hnp.arrays(np.float64, st.integers(1, 6), elements=st.floats(-1e3, 1e3)),
    hnp.arrays(np.float64, st.integers(1, 6), elements=st.floats(1e-6, 1e6)),
)
def test_gaussian_kl_is_non_negative_and_zero_only_at_equality(mean, var):
    d = min(mean.size, var.size)
    mean, var = mean[:d], var[:d]
    assert ce_lib.gaussian_kl(mean, var, mean, var) == 0
    assert ce_lib.gaussian_kl(mean, var, mean + 1, var) > 0
    assert ce_lib.gaussian_kl(mean, var, mean[::-1], var[::-1]) >= 0


@pytest.mark.parametrize(
    "args, message",
    [
        (([0.0], [0.0], [0.0], [1.0]), "^var_p must hold positive finite variances"),
        (([0.0], [-1.0], [0.0], [1.0]), "^var_p"),
        (([0.0], [1.0], [0.0], [np.inf]), "^var_q"),
        (([0.0], [1.0], [0.0], [np.nan]), "^var_q"),
        (([0.0, 0.0], [1.0, 1.0, 1.0], [0.0], [1.0]), "must broadcast together"),
        ((0.0, 1.0, 0.0, 1.0), "all 0-d"),
        ((["a"], [1.0], [0.0], [1.0]), "^mean_p must be a real numeric array"),
    ],
)
def test_gaussian_kl_bad_input_raises(args, message):
    with pytest.raises(ValueError, match=message):
        ce_lib.gaussian_kl(*args)


def test_gaussian_kl_nan_mean_propagates_and_float16_in_float16_out():
    assert np.isnan(ce_lib.gaussian_kl([np.nan, 0.0], [1.0, 1.0], [0.0, 0.0], [1.0, 1.0]))
    half = ce_lib.gaussian_kl(np.array([0.0, 1.0], np.float16), [1.0, 2.0], [0.5, 0.0], [1.0, 1.0])
    single = ce_lib.gaussian_kl(np.array([0.0, 1.0], np.float32), [1.0, 2.0], [0.5, 0.0], [1.0, 1.0])
    assert half.dtype == np.float16 and half == np.float16(single)


# ----- mvn_kl ----------------------------------------------------------------------------------------------------


def spd(rng, n):
    a = rng.normal(size=(n, n))
    return a @ a.T + 0.5 * n * np.eye(n)


@mpmath.workdps(DPS)
def exact_mvn_kl(mp, cp, mq, cq) -> mpmath.mpf:
    """The definition with mpmath matrices: trace, Mahalanobis term and the determinants' ratio."""
    sp, sq = mpmath.matrix(cp.tolist()), mpmath.matrix(cq.tolist())
    inverse = sq**-1
    m = mpmath.matrix((mq - mp).tolist())
    n = cp.shape[0]
    trace = sum((inverse * sp)[i, i] for i in range(n))
    return (trace + (m.T * inverse * m)[0, 0] - n + mpmath.log(mpmath.det(sq) / mpmath.det(sp))) / 2


def test_mvn_kl_against_mpmath(rng):
    worst = 0.0
    for _ in range(60):
        n = rng.integers(1, 6)
        mp, mq, cp, cq = rng.normal(size=n), rng.normal(size=n), spd(rng, n), spd(rng, n)
        worst = max(worst, ulps(float(ce_lib.mvn_kl(mp, cp, mq, cq)), exact_mvn_kl(mp, cp, mq, cq)))
    assert worst <= 16, worst


def test_mvn_kl_of_diagonal_covariances_is_gaussian_kl(rng):
    mp, mq = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    vp, vq = np.exp(rng.uniform(-3, 3, (6, 4))), np.exp(rng.uniform(-3, 3, (6, 4)))
    cp, cq = vp[..., None] * np.eye(4), vq[..., None] * np.eye(4)
    np.testing.assert_allclose(ce_lib.mvn_kl(mp, cp, mq, cq), ce_lib.gaussian_kl(mp, vp, mq, vq), rtol=1e-14)


def test_mvn_kl_is_zero_for_equal_gaussians_and_broadcasts(rng):
    cp = np.stack([spd(rng, 3) for _ in range(4)])
    mean = rng.normal(size=(4, 3))
    assert np.all(ce_lib.mvn_kl(mean, cp, mean, cp) == 0)
    mq, cq = rng.normal(size=(2, 1, 3)), spd(rng, 3)  # batch (2, 1) against (4,): (2, 4)
    out = ce_lib.mvn_kl(mean, cp, mq, cq)
    assert out.shape == (2, 4)
    for i in range(2):
        for j in range(4):
            assert out[i, j] == pytest.approx(float(exact_mvn_kl(mean[j], cp[j], mq[i, 0], cq)), rel=1e-14, abs=0)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda a: a.update(cov_p=np.array([[1.0, 0.5], [0.0, 1.0]])), "^cov_p must be symmetric"),
        (lambda a: a.update(cov_q=np.array([[1.0, 2.0], [2.0, 1.0]])), "^cov_q must be symmetric positive definite"),
        (lambda a: a.update(cov_q=np.zeros((2, 2))), "^cov_q must be symmetric positive definite"),
        (lambda a: a.update(cov_p=np.array([[np.nan, 0.0], [0.0, 1.0]])), "^cov_p must be finite"),
        (lambda a: a.update(cov_p=np.ones((2, 3))), r"^cov_p must have shape \(\.\.\., n, n\)"),
        (lambda a: a.update(cov_q=np.eye(3)), "^cov_q must be 2 x 2"),
        (lambda a: a.update(mean_q=np.zeros(3)), r"^mean_q must have shape \(\.\.\., 2\)"),
        (lambda a: a.update(mean_p=np.zeros((3, 2)), mean_q=np.zeros((4, 2))), "batch shapes .* must broadcast"),
    ],
)
def test_mvn_kl_bad_input_raises_value_error_not_linalg_error(change, message):
    args = {"mean_p": np.zeros(2), "cov_p": np.eye(2), "mean_q": np.zeros(2), "cov_q": np.eye(2)}
    change(args)
    with pytest.raises(ValueError, match=message) as raised:
        ce_lib.mvn_kl(**args)
    assert not isinstance(raised.value, np.linalg.LinAlgError)  # LinAlgError is a ValueError: check it is ours


def test_mvn_kl_float16_in_float16_out(rng):
    c = spd(rng, 3)
    half = ce_lib.mvn_kl(np.zeros(3, np.float16), c, np.ones(3), 2 * c)
    assert half.dtype == np.float16
    assert half == np.float16(ce_lib.mvn_kl(np.zeros(3, np.float32), c.astype(np.float32), np.ones(3), 2 * c))


# ----- kl_estimate -----------------------------------------------------------------------------------------------


@mpmath.workdps(DPS)
def exact_estimates(lq: float, lp: float) -> dict[str, mpmath.mpf]:
    delta = mpmath.mpf(lp) - mpmath.mpf(lq)
    return {"k1": -delta, "k2": delta**2 / 2, "k3": mpmath.expm1(delta) - delta}


def test_kl_estimates_against_mpmath(rng):
    worst = dict.fromkeys(("k1", "k2", "k3"), 0.0)
    for _ in range(400):
        lq = rng.normal(-5, 5)
        lp = lq + rng.choice([-1, 1]) * 10.0 ** rng.uniform(-17, 2.5)  # near p = q, and far: |delta| up to 316
        for kind, exact in exact_estimates(lq, lp).items():
            if exact != 0:
                worst[kind] = max(worst[kind], ulps(float(ce_lib.kl_estimate([lq], [lp], kind=kind, reduction="sum")), exact))
    assert worst["k1"] <= 0.5 and worst["k2"] <= 1.5 and worst["k3"] <= 2.5, worst


def test_kl_estimate_reductions_and_argument_order():
    log_q, log_p = np.log([0.5, 0.25, 0.25]), np.log([0.25, 0.25, 0.5])  # r = 1/2, 1, 2
    per = ce_lib.kl_estimate(log_q, log_p, reduction="none")
    expected = [0.5 - 1 + np.log(2), 0.0, 2 - 1 - np.log(2)]
    np.testing.assert_allclose(per, expected, rtol=2 * EPS, atol=0)
    assert ce_lib.kl_estimate(log_q, log_p, reduction="sum") == pytest.approx(sum(expected), rel=4 * EPS, abs=0)
    assert ce_lib.kl_estimate(log_q, log_p) == pytest.approx(sum(expected) / 3, rel=4 * EPS, abs=0)
    np.testing.assert_allclose(ce_lib.kl_estimate(log_q, log_p, kind="k1", reduction="none"), -(log_p - log_q), rtol=0)
    np.testing.assert_allclose(ce_lib.kl_estimate(log_q, log_p, kind="k2", reduction="none"), (log_p - log_q) ** 2 / 2, rtol=0)


def test_kl_estimates_are_unbiased_for_the_kl_divergence_of_two_gaussians():
    """x ~ q = N(0, 1), p = N(1/2, 1): KL(q || p) = 1/8; k1 and k3 are unbiased, k2 biased by a third-order term."""
    x = np.random.default_rng(0).normal(size=40_000)
    log_q, log_p = -(x**2) / 2, -((x - 0.5) ** 2) / 2  # the normalising constants cancel in log p - log q
    for kind in ("k1", "k3"):
        per = ce_lib.kl_estimate(log_q, log_p, kind=kind, reduction="none")
        assert abs(per.mean() - 0.125) < 4 * per.std() / np.sqrt(per.size), kind
    assert ce_lib.kl_estimate(log_q, log_p, kind="k2") == pytest.approx(0.125, abs=0.01)


@given(hnp.arrays(np.float64, st.integers(1, 8), elements=st.floats(-1e4, 1e4)), st.floats(-50, 50))
def test_k3_is_non_negative_and_zero_only_at_p_equal_q(log_q, shift):
    per = ce_lib.kl_estimate(log_q, log_q + shift, reduction="none")
    delta = log_q + shift - log_q
    assert np.all(per >= 0)
    assert np.all(per[delta == 0] == 0) and np.all(per[np.abs(delta) > 1e-150] > 0)  # below, delta^2 / 2 underflows


def test_kl_estimate_infinities_and_nan():
    log_q = np.array([-1.0, -1.0, np.inf, np.nan, -1.0])
    log_p = np.array([-np.inf, np.inf, -1.0, -1.0, np.nan])
    np.testing.assert_array_equal(
        ce_lib.kl_estimate(log_q, log_p, kind="k1", reduction="none"), [np.inf, -np.inf, np.inf, np.nan, np.nan]
    )
    for kind in ("k2", "k3"):
        np.testing.assert_array_equal(
            ce_lib.kl_estimate(log_q, log_p, kind=kind, reduction="none"), [np.inf, np.inf, np.inf, np.nan, np.nan]
        )
    assert np.isnan(ce_lib.kl_estimate([np.inf], [np.inf], reduction="none")[0])
    with pytest.raises(ValueError, match=r"^log_q holds -inf"):
        ce_lib.kl_estimate([-np.inf, 0.0], [0.0, 0.0])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"kind": "k4"}, "^kind must be one of"),
        ({"reduction": "batchmean"}, "^reduction must be one of"),
    ],
)
def test_kl_estimate_bad_keywords_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ce_lib.kl_estimate([0.0], [0.0], **kwargs)


def test_kl_estimate_shapes_and_float16():
    with pytest.raises(ValueError, match="log_q and log_p must have the same shape"):
        ce_lib.kl_estimate([0.0, 0.0], [0.0])
    half = ce_lib.kl_estimate(np.array([-1.0, -2.0], np.float16), [-1.5, -1.0])
    assert half.dtype == np.float16
    assert half == np.float16(ce_lib.kl_estimate(np.array([-1.0, -2.0], np.float32), [-1.5, -1.0]))
    assert np.isnan(ce_lib.kl_estimate(np.zeros(0), np.zeros(0)))  # the mean of nothing, as PyTorch's losses

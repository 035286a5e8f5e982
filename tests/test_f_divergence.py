"""ce_lib.f_divergence against mpmath at 50 digits, SciPy, closed forms, and kl_divergence / js_divergence where they overlap."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import scipy.special as sc
from hypothesis import given
from scipy.spatial.distance import jensenshannon
from strategies import distribution_pairs

import ce_lib

DPS = 50
EPS = np.finfo(np.float64).eps
KINDS = ("kl", "reverse_kl", "js", "chi2", "hellinger", "tv")


@mpmath.workdps(DPS)
def exact(p, q, kind: str) -> float:
    """Each divergence as defined, term by term, with SciPy's zero conventions, at 50 digits."""
    ps, qs = [mpmath.mpf(float(v)) for v in p], [mpmath.mpf(float(v)) for v in q]

    def kl(a, b):
        total = mpmath.mpf(0)
        for x, y in zip(a, b, strict=True):
            if x > 0:
                total += mpmath.inf if y == 0 else x * mpmath.log(x / y)
        return total

    if kind == "kl":
        value = kl(ps, qs)
    elif kind == "reverse_kl":
        value = kl(qs, ps)
    elif kind == "js":
        m = [(x + y) / 2 for x, y in zip(ps, qs, strict=True)]
        value = (kl(ps, m) + kl(qs, m)) / 2
    elif kind == "chi2":
        value = sum(
            (mpmath.inf if y == 0 else (x - y) ** 2 / y) if x != y else mpmath.mpf(0) for x, y in zip(ps, qs, strict=True)
        )
    elif kind == "hellinger":
        value = sum((mpmath.sqrt(x) - mpmath.sqrt(y)) ** 2 for x, y in zip(ps, qs, strict=True)) / 2
    else:
        value = sum(abs(x - y) for x, y in zip(ps, qs, strict=True)) / 2
    return float(value)


@pytest.mark.parametrize("kind", KINDS)
@given(pq=distribution_pairs())
def test_f_divergences_against_mpmath(kind, pq):
    p, q = pq
    expected = exact(p, q, kind)
    # sums of at most 8 non-negative terms, each within a few ULP: 16 eps relative; KL-type terms of either sign in
    # their sum (p log p/q) are accurate to about eps absolute per term (see kl_divergence's Notes)
    tolerance = 64 * EPS if kind in ("kl", "reverse_kl", "js") else 0.0  # chi2, hellinger, tv: relative only
    assert ce_lib.f_divergence(p, q, kind) == pytest.approx(expected, rel=16 * EPS, abs=tolerance)


@pytest.mark.parametrize("kind", KINDS)
@given(pq=distribution_pairs())
def test_kl_and_js_kinds_are_kl_divergence_and_js_divergence_bit_for_bit(kind, pq):
    p, q = pq
    if kind in ("kl", "reverse_kl", "js"):
        reference = {
            "kl": ce_lib.kl_divergence(p, q),
            "reverse_kl": ce_lib.kl_divergence(q, p),
            "js": ce_lib.js_divergence(p, q),
        }[kind]
        assert ce_lib.f_divergence(p, q, kind) == reference


@given(distribution_pairs())
def test_against_scipy(pq):
    p, q = pq
    assert ce_lib.f_divergence(p, q, "kl") == pytest.approx(np.sum(sc.rel_entr(p, q)), rel=64 * EPS, abs=64 * EPS)
    assert ce_lib.f_divergence(p, q, "kl") == pytest.approx(np.sum(sc.kl_div(p, q)), rel=64 * EPS, abs=64 * EPS)
    assert ce_lib.f_divergence(q, p, "reverse_kl") == pytest.approx(np.sum(sc.rel_entr(p, q)), rel=64 * EPS, abs=64 * EPS)
    with np.errstate(invalid="ignore"):  # SciPy takes the square root of its sum, which rounds below 0 at p = q: NaN
        distance = jensenshannon(p, q)
    scipys = 0.0 if np.isnan(distance) else distance**2
    assert ce_lib.f_divergence(p, q, "js") == pytest.approx(scipys, rel=1e-12, abs=64 * EPS)


def test_zeros_follow_scipys_conventions():
    p, q = [1.0, 0.0], [0.0, 1.0]  # disjoint supports
    values = {kind: float(ce_lib.f_divergence(p, q, kind)) for kind in KINDS}
    assert values == {
        "kl": np.inf,
        "reverse_kl": np.inf,
        "js": pytest.approx(np.log(2), rel=EPS, abs=0),
        "chi2": np.inf,
        "hellinger": 1.0,
        "tv": 1.0,
    }
    assert np.sum(sc.rel_entr(p, q)) == np.inf
    r, s = [0.5, 0.5, 0.0], [0.25, 0.75, 0.0]  # a shared zero contributes nothing
    for kind in KINDS:
        assert ce_lib.f_divergence(r, s, kind) == pytest.approx(ce_lib.f_divergence(r[:2], s[:2], kind), rel=EPS, abs=0)
        assert ce_lib.f_divergence(r, r, kind) == 0
    assert ce_lib.f_divergence([0.5, 0.5], [1.0, 0.0], "chi2") == np.inf  # q = 0 < p
    assert ce_lib.f_divergence([1.0, 0.0], [0.5, 0.5], "chi2") == pytest.approx(1.0, rel=EPS, abs=0)  # p = 0 < q: finite


@pytest.mark.parametrize("relative_difference", [1e-12, 1e-8, 1e-4])
def test_hellinger_keeps_its_digits_when_p_is_close_to_q(relative_difference):
    p = np.array([0.3, 0.7])
    q = np.array([0.3 * (1 + relative_difference), 0.0])
    q[1] = 1 - q[0]
    with mpmath.workdps(DPS):
        value = sum((mpmath.sqrt(mpmath.mpf(a)) - mpmath.sqrt(mpmath.mpf(b))) ** 2 for a, b in zip(p, q, strict=True)) / 2
    assert ce_lib.f_divergence(p, q, "hellinger") == pytest.approx(float(value), rel=8 * EPS, abs=0)
    naive = np.sum((np.sqrt(p) - np.sqrt(q)) ** 2) / 2  # the cancellation the docstring's form avoids
    if relative_difference == 1e-12:
        assert abs(naive / float(value) - 1) > 1e-6


def test_axis_nan_and_float16():
    p = np.array([[0.2, 0.5], [0.8, 0.5]])  # distributions down the columns
    q = np.array([[0.5, 0.1], [0.5, 0.9]])
    for kind in KINDS:
        np.testing.assert_array_equal(ce_lib.f_divergence(p, q, kind, axis=0), ce_lib.f_divergence(p.T, q.T, kind))
        assert np.isnan(ce_lib.f_divergence([np.nan, 0.5], [0.5, 0.5], kind))
        half = ce_lib.f_divergence(np.array([0.25, 0.75], np.float16), np.array([0.5, 0.5], np.float16), kind)
        assert half.dtype == np.float16
        assert half == np.float16(ce_lib.f_divergence(np.array([0.25, 0.75], np.float32), np.array([0.5, 0.5], np.float32), kind))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: ce_lib.f_divergence([0.5, 0.5], [0.5, 0.5], "alpha"), "^kind must be one of"),
        (lambda: ce_lib.f_divergence([0.5, 0.5], [0.5, 0.5, 0.0], "chi2"), "^p and q must have the same shape"),
        (lambda: ce_lib.f_divergence([0.5, 0.5], [0.5, 0.5, 0.0], "reverse_kl"), "^p and q must have the same shape"),
        (lambda: ce_lib.f_divergence([0.5, 0.6], [0.5, 0.5], "reverse_kl"), "^p must sum to 1"),
        (lambda: ce_lib.f_divergence([0.5, 0.5], [-0.5, 1.5], "tv"), "^q has negative entries"),
        (lambda: ce_lib.f_divergence([0.5, 0.5], [0.5, 0.5], "tv", axis=1), "^axis=1 is out of range"),
    ],
)
def test_bad_input_raises(call, message):
    with pytest.raises(ValueError, match=message):
        call()

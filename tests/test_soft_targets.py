"""kl_div, distillation, InfoNCE, the Jensen-Shannon divergence and mutual information.

References: mpmath at 60 digits, SciPy's jensenshannon, scikit-learn's mutual_info_score,
central differences for the gradient (PyTorch parity is in test_torch_parity.py).
"""

import mpmath
import numpy as np
import pytest
from reference import DPS, scaled_error
from scipy.spatial.distance import jensenshannon
from sklearn.metrics import mutual_info_score

import ce_lib
from ce_lib.verify import central_difference

BOUND = 4.0


def mp_kl_terms(x, y, log_target):
    with mpmath.workdps(DPS):
        out = []
        for xi, yi in zip(x.ravel(), y.ravel()):
            xi, yi = mpmath.mpf(float(xi)), mpmath.mpf(float(yi))
            if log_target:
                out.append(mpmath.exp(yi) * (yi - xi))
            else:
                out.append(yi * (mpmath.log(yi) - xi) if yi > 0 else mpmath.mpf(0))
        return out


@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_pointwise_matches_mpmath(log_target, rng):
    x = ce_lib.log_softmax(rng.normal(0, 3, (6, 5)), axis=1)
    y = ce_lib.softmax(rng.normal(0, 3, (6, 5)), axis=1)
    y[0, :2] = [0.0, 1.0 - y[0, 2:].sum()] if not log_target else y[0, :2]
    target = np.log(y) if log_target else y
    got = ce_lib.kl_div(x, target, reduction="none", log_target=log_target)
    for value, exact, xi, yi in zip(got.ravel(), mp_kl_terms(x, target, log_target), x.ravel(), target.ravel()):
        if exact == 0:
            assert value == 0
            continue
        # y log y - y x: a difference of two terms, condition number (|y log y| + |y x|) / |result|
        size = abs(float(yi) * float(xi)) + (abs(float(yi) * np.log(float(yi))) if not log_target and yi > 0 else 0)
        kappa = (size if not log_target else abs(np.exp(float(yi)) * (abs(float(yi)) + abs(float(xi))))) / abs(float(exact))
        assert scaled_error(value, exact, kappa) <= BOUND


def test_kl_div_reductions_and_batchmean_is_the_kl_divergence(rng):
    p = ce_lib.softmax(rng.normal(size=(7, 4)), axis=1)
    q = ce_lib.softmax(rng.normal(size=(7, 4)), axis=1)
    per = ce_lib.kl_div(np.log(q), p, reduction="none")
    assert per.shape == (7, 4)
    assert ce_lib.kl_div(np.log(q), p, reduction="sum") == pytest.approx(per.sum(), rel=1e-15)
    assert ce_lib.kl_div(np.log(q), p) == pytest.approx(per.sum() / 28, rel=1e-15)
    assert ce_lib.kl_div(np.log(q), p, reduction="batchmean") == pytest.approx(np.mean(ce_lib.kl_divergence(p, q)), rel=1e-13)
    assert ce_lib.kl_div(np.log(q), np.log(p), reduction="batchmean", log_target=True) == pytest.approx(
        np.mean(ce_lib.kl_divergence(p, q)), rel=1e-13
    )


def test_kl_div_rejects_bad_input():
    x = np.log(np.full((2, 2), 0.5))
    with pytest.raises(ValueError, match="negative"):
        ce_lib.kl_div(x, np.array([[1.5, -0.5], [0.5, 0.5]]))
    with pytest.raises(ValueError, match="reduction"):
        ce_lib.kl_div(x, np.full((2, 2), 0.5), reduction="average")
    with pytest.raises(ValueError, match="same shape"):
        ce_lib.kl_div(x, np.full((2, 3), 1 / 3))


def test_distillation_loss_is_t_squared_kl_and_its_gradient_matches_central_differences(rng):
    student, teacher = rng.normal(0, 3, (5, 6)), rng.normal(0, 3, (5, 6))
    for T in (0.5, 1.0, 4.0, 20.0):
        p_T, q_T = ce_lib.softmax(teacher / T, axis=1), ce_lib.softmax(student / T, axis=1)
        assert ce_lib.distillation_loss(student, teacher, T) == pytest.approx(
            T**2 * np.mean(ce_lib.kl_divergence(p_T, q_T)), rel=1e-12
        )
        for reduction in ("batchmean", "mean", "sum"):
            numeric = central_difference(lambda z: float(ce_lib.distillation_loss(z, teacher, T, reduction=reduction)), student)
            np.testing.assert_allclose(
                ce_lib.distillation_loss_grad(student, teacher, T, reduction=reduction),
                numeric,
                rtol=1e-6,
                atol=1e-8 * max(1.0, T),
            )
    assert ce_lib.distillation_loss(teacher, teacher, 3.0) == 0
    per = ce_lib.distillation_loss(rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3, 4)), 2.0, reduction="none")
    assert per.shape == (2, 4)  # classes on axis 1


def test_distillation_loss_rejects_bad_input(rng):
    z = rng.normal(size=(2, 3))
    for T in (0.0, -1.0, np.inf):
        with pytest.raises(ValueError, match="temperature"):
            ce_lib.distillation_loss(z, z, T)
    with pytest.raises(ValueError, match="same shape"):
        ce_lib.distillation_loss(z, z[:, :2], 1.0)
    with pytest.raises(ValueError, match="reduction"):
        ce_lib.distillation_loss_grad(z, z, 1.0, reduction="avg")


def test_info_nce_is_softmax_cross_entropy_on_the_similarity_logits(rng):
    q, pos = rng.normal(size=(8, 4)), rng.normal(size=(8, 4))
    negatives = rng.normal(size=(8, 5, 4))
    logits = np.column_stack([np.sum(q * pos, axis=1), np.einsum("nd,nkd->nk", q, negatives)]) / 0.2
    np.testing.assert_allclose(
        ce_lib.info_nce(q, pos, negatives, temperature=0.2, reduction="none"),
        ce_lib.softmax_cross_entropy(logits, np.zeros(8, int), reduction="none"),
        rtol=1e-14,
    )
    shared = rng.normal(size=(5, 4))
    np.testing.assert_allclose(
        ce_lib.info_nce(q, pos, shared, reduction="none"),
        ce_lib.info_nce(q, pos, np.broadcast_to(shared, (8, 5, 4)), reduction="none"),
        rtol=1e-14,
    )
    # K = 0 negatives: the positive is the only candidate, the loss is 0
    assert ce_lib.info_nce(q, pos, np.zeros((0, 4))) == 0


def test_info_nce_rejects_bad_input(rng):
    q = rng.normal(size=(3, 4))
    with pytest.raises(ValueError, match="negatives"):
        ce_lib.info_nce(q, q, rng.normal(size=(2, 5, 4)))
    with pytest.raises(ValueError, match="negatives"):
        ce_lib.info_nce(q, q, rng.normal(size=(5, 3)))
    with pytest.raises(ValueError, match="temperature"):
        ce_lib.info_nce(q, q, rng.normal(size=(5, 4)), temperature=0)
    with pytest.raises(ValueError, match="query"):
        ce_lib.info_nce(q[0], q[0], rng.normal(size=(5, 4)))


def test_js_divergence_is_scipys_distance_squared_and_bounded_by_log_2(rng):
    p, q = rng.dirichlet(np.ones(6), 100), rng.dirichlet(np.ones(6), 100)
    js = ce_lib.js_divergence(p, q)
    np.testing.assert_allclose(js, jensenshannon(p, q, axis=1) ** 2, rtol=1e-9)  # SciPy's is the square root
    np.testing.assert_allclose(ce_lib.js_divergence(p, q, base=2), jensenshannon(p, q, axis=1, base=2) ** 2, rtol=1e-9)
    assert np.all(js <= np.log(2)) and np.all(js >= 0)
    np.testing.assert_array_equal(js, ce_lib.js_divergence(q, p))
    assert ce_lib.js_divergence([0.3, 0.7, 0.0, 0.0], [0.0, 0.0, 0.4, 0.6]) == pytest.approx(np.log(2), rel=1e-15)


def test_js_divergence_matches_mpmath(rng):
    for _ in range(30):
        p, q = rng.dirichlet(np.full(5, 0.5)), rng.dirichlet(np.full(5, 0.5))
        with mpmath.workdps(DPS):
            P, Q = [mpmath.mpf(float(v)) for v in p], [mpmath.mpf(float(v)) for v in q]
            M = [(a + b) / 2 for a, b in zip(P, Q)]
            exact = (
                sum((a * mpmath.log(a / m) if a > 0 else 0) + (b * mpmath.log(b / m) if b > 0 else 0) for a, b, m in zip(P, Q, M))
                / 2
            )
            size = sum(abs(a * mpmath.log(a / m)) + abs(b * mpmath.log(b / m)) for a, b, m in zip(P, Q, M)) / 2
        assert scaled_error(ce_lib.js_divergence(p, q), exact, float(size / exact)) <= BOUND


def test_mutual_information_matches_scikit_learn_and_the_entropy_identity(rng):
    counts = rng.integers(0, 50, (4, 3)).astype(float)
    joint = counts / counts.sum()
    assert ce_lib.mutual_information(joint) == pytest.approx(mutual_info_score(None, None, contingency=counts), rel=1e-12)
    h_y = ce_lib.entropy(joint.sum(axis=0))
    h_y_given_x = np.sum(joint.sum(axis=1) * ce_lib.entropy(joint / joint.sum(axis=1, keepdims=True), axis=1))
    assert ce_lib.mutual_information(joint) == pytest.approx(h_y - h_y_given_x, rel=1e-12)
    assert ce_lib.mutual_information(np.outer([0.2, 0.8], [0.5, 0.3, 0.2])) == pytest.approx(0, abs=1e-16)
    assert ce_lib.mutual_information(np.eye(3) / 3, base=2) == pytest.approx(np.log2(3), rel=1e-15)
    with pytest.raises(ValueError, match="2-d"):
        ce_lib.mutual_information(np.full(4, 0.25))
    with pytest.raises(ValueError, match="sum to 1"):
        ce_lib.mutual_information(np.full((2, 2), 0.3))

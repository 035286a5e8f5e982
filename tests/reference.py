"""Independent references: the functions in mpmath at high precision, with their condition numbers.

The accuracy criterion (issue: "every float64 result within 4 ULP once divided by the
problem's relative condition number where that exceeds 1"):

    ulp_error(result) / max(1, kappa) <= 4

where ``ulp_error = |result - exact| / spacing(exact)`` and ``kappa`` is the relative
componentwise condition number ``sum_j |df/dx_j| |x_j| / |f|`` evaluated in mpmath.
A backward-stable algorithm meets it however ill-conditioned the input; a tiny loss
returned as 0 misses it by about 1e15.
"""

from __future__ import annotations

import mpmath
import numpy as np

DPS = 60


def mp(x):
    return mpmath.mpf(float(x))


def _shifted_lse(x):
    """(a, L) with lse(x) = a + L, a = max(x): exact-enough differences x_i - a even for |x| ~ 1e300."""
    a = mp(max(x))
    return a, mpmath.log(mpmath.fsum(mpmath.exp(mp(v) - a) for v in x))


def lse(x):
    with mpmath.workdps(DPS):
        a, rest = _shifted_lse(x)
        return a + rest


def log_probs(x):
    with mpmath.workdps(DPS):
        a, rest = _shifted_lse(x)
        return [(mp(v) - a) - rest for v in x]


def softmax_probs(x):
    with mpmath.workdps(DPS):
        return [mpmath.exp(v) for v in log_probs(x)]


def cases_logsumexp(x):
    """(exact, kappa) for logsumexp of a 1-d float64 vector."""
    with mpmath.workdps(DPS):
        f = lse(x)
        q = softmax_probs(x)
        kappa = mpmath.fsum(abs(mp(v)) * qi for v, qi in zip(x, q)) / abs(f) if f != 0 else mpmath.inf
        return f, kappa


def cases_log_softmax(x, k):
    """(exact, kappa) for log_softmax(x)[k]; the loss of class k is its negative, same kappa."""
    with mpmath.workdps(DPS):
        q = softmax_probs(x)
        f = log_probs(x)[k]
        sens = mpmath.fsum(abs((1 if j == k else 0) - q[j]) * abs(mp(x[j])) for j in range(len(x)))
        return f, (sens / abs(f) if f != 0 else mpmath.inf)


def cases_softmax(x, k):
    """(exact, kappa) for softmax(x)[k]."""
    with mpmath.workdps(DPS):
        q = softmax_probs(x)
        sens = mpmath.fsum(abs((1 if j == k else 0) - q[j]) * abs(mp(x[j])) for j in range(len(x)))
        return q[k], sens


def sigmoid(x):
    with mpmath.workdps(DPS):
        return 1 / (1 + mpmath.exp(-mp(x)))


def scalar_cases(name, x):
    """(exact, kappa) for the elementwise functions."""
    with mpmath.workdps(DPS):
        v = mp(x)
        s, sm = sigmoid(x), sigmoid(-x)
        if name == "sigmoid":
            return s, abs(v) * sm
        if name == "log_sigmoid":
            f = -mpmath.log1p(mpmath.exp(-v))  # not log(s): s rounds to 1 for huge v even at 60 digits
            return f, abs(v) * sm / abs(f)
        if name == "softplus":
            f = mpmath.log1p(mpmath.exp(v))
            return f, abs(v) * s / abs(f)
        if name == "sigmoid_grad":
            f = s * sm
            return f, abs(v) * abs(sm - s)
        if name == "logit":
            f = mpmath.log(v / (1 - v))
            return f, (1 / ((1 - v) * abs(f)) if f != 0 else mpmath.inf)
    raise KeyError(name)


def ulp_error(result: float, exact) -> float:
    """Error of a float64 result in units of the last place of the exact value."""
    exact_f = float(exact)
    if np.isinf(exact_f):
        return 0.0 if result == exact_f else np.inf
    with mpmath.workdps(DPS):
        err = abs(mp(result) - exact) if np.isfinite(result) else mpmath.inf
        return float(err / mpmath.mpf(np.spacing(abs(exact_f))))


def scaled_error(result: float, exact, kappa) -> float:
    return ulp_error(result, exact) / max(1.0, float(kappa))


def hard_vectors() -> list[np.ndarray]:
    """Score vectors that break naive formulas: dominance, near-ties, huge and tiny magnitudes."""
    rng = np.random.default_rng(7)
    fixed = [
        [40.0, 0.0],
        [0.0, 40.0],
        [36.7, 0.0],
        [100.0, 0.0, -5.0],
        [50.0, 10.0, 10.0, 10.0],
        [1000.0, 1.0],
        [745.0, 0.0],
        [-745.0, 0.0],
        [709.0, 709.0],
        [800.0, 799.0, -800.0],
        [1.0, 1.0 + 1e-12],
        [0.0, 1e-15, -1e-15],
        [5.0, 5.0, 5.0, 5.0],
        [1e-300, -1e-300],
        [1e-20, 0.0],
        [1e300, -1e300],
        [1e300, 1e300],
        [-1e300, -1e300],
        [1e15, 1e15 + 1.0],
        [-3.0, -1e5, -1e5],
        [2.3, -1.2, 0.7],
        [0.0, -36.0, -37.0, -38.0],
        [1e-8, 2e-8, 3e-8],
    ]
    vectors = [np.array(v, dtype=np.float64) for v in fixed]
    for scale in (1.0, 30.0, 1e3, 1e6):
        for size in (2, 3, 10):
            vectors.append(rng.normal(0.0, scale, size))
    dominant = rng.normal(0.0, 1.0, 6)
    dominant[2] += 60.0
    vectors.append(dominant)
    return vectors


SCALAR_POINTS = np.array(
    [
        -1e10,
        -745.0,
        -710.0,
        -700.0,
        -100.0,
        -40.0,
        -36.7,
        -20.0,
        -1.0,
        -1e-10,
        -1e-300,
        0.0,
        1e-300,
        1e-10,
        0.5,
        1.0,
        5.0,
        20.0,
        36.7,
        40.0,
        100.0,
        710.0,
        1e10,
    ]
)
LOGIT_POINTS = np.array(
    [1e-300, 1e-20, 1e-10, 0.001, 0.1, 0.25, 0.3, 0.49, 0.5 - 1e-12, 0.5, 0.51, 0.75, 0.9, 0.999, 1 - 1e-10, 1 - 2**-52]
)

r"""How accurate is a floating-point result? Exact values from mpmath, and the error measure.

The accuracy criterion of ``ce_lib`` (and of the book's numerics report card): a float64
result is within 4 ULP of the exact value once divided by the problem's relative
condition number where that exceeds 1,

.. math:: \frac{\text{ulp error}}{\max(1, \kappa)} \le 4, \qquad
          \text{ulp error} = \frac{|\hat f - f|}{\operatorname{spacing}(f)}, \qquad
          \kappa = \frac{\sum_j |\partial f / \partial x_j|\, |x_j|}{|f|}

with :math:`f` and :math:`\kappa` evaluated in mpmath at :data:`DPS` digits. A
backward-stable algorithm meets it however ill-conditioned the input; a tiny loss returned
as 0 misses it by about :math:`10^{14}` (see the example).

The exact values come from mpmath, not from ``ce_lib``: this module is the referee, used by
the tests, ``make bench`` and the report card. mpmath (a SymPy dependency) is needed here;
``import ce_lib`` does not import this module.

Examples
--------
>>> from ce_lib import accuracy
>>> exact, kappa = accuracy.exact_log_softmax([40.0, 0.0], 0)
>>> float(exact)
-4.248354255291589e-18
>>> float(f"{accuracy.scaled_error(0.0, exact, kappa):.2g}")  # the naive answer, 0
140000000000000.0
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import mpmath
import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "DPS",
    "FUNCTIONS",
    "ce_lib_functions",
    "LOGIT_POINTS",
    "SCALAR_POINTS",
    "exact_log_softmax",
    "exact_logsumexp",
    "exact_scalar",
    "exact_softmax",
    "hard_vectors",
    "scaled_error",
    "ulp_error",
    "worst_scaled_errors",
]

#: Working precision of the exact values, in decimal digits.
DPS = 60


def _mp(x: Any) -> Any:
    return mpmath.mpf(float(x))


def _shifted_lse(x: Sequence[float]) -> tuple[Any, Any]:
    """(a, L) with lse(x) = a + L, a = max(x): exact differences x_i - a even for |x| ~ 1e300."""
    a = _mp(max(x))
    return a, mpmath.log(mpmath.fsum(mpmath.exp(_mp(v) - a) for v in x))


def _log_probs(x: Sequence[float]) -> list[Any]:
    a, rest = _shifted_lse(x)
    return [(_mp(v) - a) - rest for v in x]


def exact_logsumexp(x: ArrayLike) -> tuple[Any, Any]:
    """``(exact, kappa)`` for the log-sum-exp of a 1-d vector, as mpmath numbers."""
    v = [float(t) for t in np.ravel(x)]
    with mpmath.workdps(DPS):
        a, rest = _shifted_lse(v)
        f = a + rest
        q = [mpmath.exp(t) for t in _log_probs(v)]
        kappa = mpmath.fsum(abs(_mp(t)) * qi for t, qi in zip(v, q)) / abs(f) if f != 0 else mpmath.inf
        return f, kappa


def _softmax_sensitivity(v: list[float], k: int) -> tuple[Any, list[Any]]:
    logq = _log_probs(v)
    q = [mpmath.exp(t) for t in logq]
    sens = mpmath.fsum(abs((1 if j == k else 0) - q[j]) * abs(_mp(v[j])) for j in range(len(v)))
    return sens, logq


def exact_log_softmax(x: ArrayLike, k: int) -> tuple[Any, Any]:
    """``(exact, kappa)`` for ``log_softmax(x)[k]``; the cross-entropy of class ``k`` is its negative, same kappa."""
    v = [float(t) for t in np.ravel(x)]
    with mpmath.workdps(DPS):
        sens, logq = _softmax_sensitivity(v, k)
        return logq[k], (sens / abs(logq[k]) if logq[k] != 0 else mpmath.inf)


def exact_softmax(x: ArrayLike, k: int) -> tuple[Any, Any]:
    """``(exact, kappa)`` for ``softmax(x)[k]``."""
    v = [float(t) for t in np.ravel(x)]
    with mpmath.workdps(DPS):
        sens, logq = _softmax_sensitivity(v, k)
        return mpmath.exp(logq[k]), sens


def exact_scalar(name: str, x: float) -> tuple[Any, Any]:
    """``(exact, kappa)`` for ``sigmoid``, ``log_sigmoid``, ``softplus``, ``sigmoid_grad`` or ``logit`` at ``x``."""
    with mpmath.workdps(DPS):
        v = _mp(x)
        s, sm = 1 / (1 + mpmath.exp(-v)), 1 / (1 + mpmath.exp(v))
        if name == "sigmoid":
            return s, abs(v) * sm
        if name == "log_sigmoid":
            f = -mpmath.log1p(mpmath.exp(-v))  # not log(s): s rounds to 1 for huge v even at 60 digits
            return f, abs(v) * sm / abs(f)
        if name == "softplus":
            f = mpmath.log1p(mpmath.exp(v))
            return f, abs(v) * s / abs(f)
        if name == "sigmoid_grad":
            return s * sm, abs(v) * abs(sm - s)
        if name == "logit":
            f = mpmath.log(v / (1 - v))
            return f, (1 / ((1 - v) * abs(f)) if f != 0 else mpmath.inf)
    raise ValueError(f"name must be one of sigmoid, log_sigmoid, softplus, sigmoid_grad, logit; got {name!r}")


def ulp_error(result: float, exact: Any) -> float:
    """Error of a float64 ``result`` in units of the last place of the ``exact`` value."""
    exact_f = float(exact)
    if np.isinf(exact_f):
        return 0.0 if result == exact_f else float("inf")
    with mpmath.workdps(DPS):
        err = abs(_mp(result) - exact) if np.isfinite(result) else mpmath.inf
        return float(err / mpmath.mpf(np.spacing(abs(exact_f))))


def scaled_error(result: float, exact: Any, kappa: Any) -> float:
    """:func:`ulp_error` divided by ``max(1, kappa)``: at most 4 is the criterion."""
    return ulp_error(result, exact) / max(1.0, float(kappa))


def hard_vectors() -> list[np.ndarray]:
    """Score vectors that break naive formulas: dominance, near-ties, huge and tiny magnitudes (float64)."""
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


#: Points where the elementwise functions are hard: huge, tiny, near the overflow thresholds.
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
#: Probabilities where the logit is hard: near 0, 1/2 and 1.
LOGIT_POINTS = np.array(
    [1e-300, 1e-20, 1e-10, 0.001, 0.1, 0.25, 0.3, 0.49, 0.5 - 1e-12, 0.5, 0.51, 0.75, 0.9, 0.999, 1 - 1e-10, 1 - 2**-52]
)


#: What :func:`worst_scaled_errors` measures, and how each library's function is called.
FUNCTIONS = ("logsumexp", "log_softmax", "softmax", "cross_entropy")


def ce_lib_functions() -> dict[str, Callable[..., Any]]:
    """``ce_lib``'s own functions under the names of :data:`FUNCTIONS`, as :func:`worst_scaled_errors` takes them.

    Examples
    --------
    >>> from ce_lib import accuracy
    >>> max(accuracy.worst_scaled_errors(accuracy.ce_lib_functions()).values()) <= 4
    True
    """
    from .activations import log_softmax, logsumexp, softmax
    from .losses import softmax_cross_entropy

    return {
        "logsumexp": logsumexp,
        "log_softmax": log_softmax,
        "softmax": softmax,
        "cross_entropy": lambda v, k: softmax_cross_entropy(v, np.array(k)),
    }


def worst_scaled_errors(
    functions: dict[str, Callable[..., Any]], vectors: Sequence[np.ndarray] | None = None
) -> dict[str, float]:
    """The worst :func:`scaled_error` of each function over ``vectors`` (default :func:`hard_vectors`).

    ``functions`` maps names from :data:`FUNCTIONS` to callables: ``logsumexp(v)`` returns a
    scalar, ``log_softmax(v)`` and ``softmax(v)`` a vector, ``cross_entropy(v, k)`` the loss
    of class ``k``. Entries whose exact value is infinite (a log-probability of ``-inf``) are
    skipped. Floating-point warnings are silenced: naive formulas raise many.
    """
    unknown = set(functions) - set(FUNCTIONS)
    if unknown:
        raise ValueError(f"functions has unknown names {sorted(unknown)}; known: {FUNCTIONS}")
    worst = dict.fromkeys(functions, 0.0)
    with np.errstate(all="ignore"):
        for v in hard_vectors() if vectors is None else vectors:
            if "logsumexp" in functions:
                exact, kappa = exact_logsumexp(v)
                worst["logsumexp"] = max(worst["logsumexp"], scaled_error(float(functions["logsumexp"](v)), exact, kappa))
            vectors_out = {name: np.asarray(functions[name](v)) for name in ("log_softmax", "softmax") if name in functions}
            for k in range(v.size):
                exact, kappa = exact_log_softmax(v, k)
                if not np.isfinite(float(exact)):
                    continue
                if "log_softmax" in functions:
                    worst["log_softmax"] = max(
                        worst["log_softmax"], scaled_error(float(vectors_out["log_softmax"][k]), exact, kappa)
                    )
                if "cross_entropy" in functions:
                    loss = float(functions["cross_entropy"](v, k))
                    worst["cross_entropy"] = max(worst["cross_entropy"], scaled_error(loss, -exact, kappa))
                if "softmax" in functions:
                    exact_q, kappa_q = exact_softmax(v, k)
                    worst["softmax"] = max(worst["softmax"], scaled_error(float(vectors_out["softmax"][k]), exact_q, kappa_q))
    return worst

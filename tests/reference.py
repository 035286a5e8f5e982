"""Independent references for the tests: mpmath at high precision (see :mod:`ce_lib.accuracy`).

The criterion, ``ulp_error / max(1, kappa) <= 4``, and the exact values live in
``ce_lib.accuracy`` so that the tests, ``make bench`` and the book's numerics report card
judge by one rule. The values come from mpmath, not from ce_lib's NumPy code.
"""

from __future__ import annotations

import mpmath
import numpy as np

from ce_lib.accuracy import (  # noqa: F401  (re-exported for the tests)
    DPS,
    LOGIT_POINTS,
    SCALAR_POINTS,
    hard_vectors,
    scaled_error,
    ulp_error,
)
from ce_lib.accuracy import exact_log_softmax as cases_log_softmax  # noqa: F401
from ce_lib.accuracy import exact_logsumexp as cases_logsumexp  # noqa: F401
from ce_lib.accuracy import exact_scalar as scalar_cases  # noqa: F401
from ce_lib.accuracy import exact_softmax as cases_softmax  # noqa: F401


def ulps(value: float, exact: mpmath.mpf) -> float:
    """The error of ``value`` in ULP of the float64 nearest ``exact``."""
    return float(abs(mpmath.mpf(value) - exact) / mpmath.mpf(np.spacing(abs(float(exact)))))

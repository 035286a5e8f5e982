"""Hypothesis strategies shared by the ce_lib tests: score matrices and probability distributions."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


def logits(min_classes: int = 1, max_classes: int = 8, bound: float = 50.0, max_rows: int = 5):
    """Finite float64 score matrices of shape (rows, C)."""
    return hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, max_rows), st.integers(min_classes, max_classes)),
        elements=st.floats(-bound, bound, allow_nan=False, allow_infinity=False),
    )


@st.composite
def distributions(draw, min_size: int = 1, max_size: int = 8, zeros: bool = True):
    """A probability vector (float64), possibly with zero entries, summing to 1 within a few eps."""
    size = draw(st.integers(min_size, max_size))
    low = 0.0 if zeros else 1e-3
    raw = draw(hnp.arrays(np.float64, size, elements=st.floats(low, 1.0)))
    if raw.sum() == 0:
        raw[0] = 1.0
    return raw / raw.sum()


@st.composite
def distribution_pairs(draw, max_size: int = 8):
    """(p, q) of one size, q strictly positive so that every divergence is finite."""
    p = draw(distributions(max_size=max_size))
    raw = draw(hnp.arrays(np.float64, p.size, elements=st.floats(1e-3, 1.0)))
    return p, raw / raw.sum()

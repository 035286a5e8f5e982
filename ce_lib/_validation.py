"""Input checks shared by every public function.

Each check raises :class:`ValueError` whose message names the argument and the
problem, so that a wrong call never turns into a silently wrong number.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import DTypeLike

REDUCTIONS = ("none", "mean", "sum")


def as_float_array(x: Any, name: str) -> np.ndarray:
    """Return ``x`` as a floating array (float32 stays float32, integers become float64).

    Raises ``ValueError`` for arrays that are not real numbers (strings, objects, complex).
    """
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged nested lists and the like
        raise ValueError(f"{name} must be a numeric array: {exc}") from None
    if arr.dtype.kind in "biu":
        return arr.astype(np.float64)
    if arr.dtype.kind != "f":
        raise ValueError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    if arr.dtype == np.float16:
        return arr.astype(np.float32)
    return arr


def as_index_array(x: Any, name: str) -> np.ndarray:
    """Return ``x`` as an integer array of class indices."""
    arr = np.asarray(x)
    if arr.dtype.kind == "f":
        raise ValueError(
            f"{name} holds floating-point values where integer class indices are expected; "
            f"cast it with .astype(int), or pass a probability target of the input's shape"
        )
    if arr.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integer class indices, got dtype {arr.dtype}")
    return arr.astype(np.int64, copy=False)


def check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def check_axis(x: np.ndarray, axis: int, name: str) -> int:
    if x.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension to take axis={axis}")
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"axis={axis} is out of range for {name} with {x.ndim} dimension(s)")
    return axis % x.ndim


def check_same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{name_a} and {name_b} must have the same shape, got {a.shape} and {b.shape}")


def check_unit_interval(x: np.ndarray, name: str) -> None:
    """Entries must lie in [0, 1]; NaN is let through so that it propagates."""
    if np.any(x < 0) or np.any(x > 1):
        raise ValueError(f"{name} must lie in [0, 1]; found values outside it")


def distribution_tolerance(dtype: DTypeLike) -> float:
    """How far ``sum(p)`` may be from 1: the square root of the dtype's machine epsilon."""
    return float(np.sqrt(np.finfo(dtype).eps))


def check_distribution(p: np.ndarray, name: str, axis: int) -> None:
    """Entries non-negative and summing to 1 along ``axis`` within :func:`distribution_tolerance`.

    NaN entries are let through (comparisons with NaN are false) so that NaN propagates.
    """
    if np.any(p < 0):
        raise ValueError(f"{name} has negative entries; a probability distribution cannot")
    total = np.sum(p, axis=axis)
    tol = distribution_tolerance(p.dtype)
    if np.any(np.abs(total - 1) > tol):
        worst = float(np.nanmax(np.abs(total - 1)))
        raise ValueError(f"{name} must sum to 1 along axis {axis} (within {tol:.1e}); the largest deviation is {worst:.3e}")


def log_of_base(base: Any) -> float | None:
    """``log(base)`` for a valid logarithm base, ``None`` for natural units (nats)."""
    if base is None:
        return None
    try:
        b = float(base)
    except (TypeError, ValueError):
        raise ValueError(f"base must be a positive number other than 1, got {base!r}") from None
    if not np.isfinite(b) or b <= 0 or b == 1:
        raise ValueError(f"base must be a positive finite number other than 1, got {base!r}")
    return float(np.log(b))

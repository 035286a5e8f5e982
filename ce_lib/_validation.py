"""Input checks shared by every public function.

Each check raises :class:`ValueError` whose message names the argument and the
problem, so that a wrong call never turns into a silently wrong number.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, cast

import numpy as np
from numpy.typing import DTypeLike

P = ParamSpec("P")
R = TypeVar("R")

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


def is_half(x: Any) -> bool:
    """Whether ``x`` is a float16 array or NumPy scalar (a list of them is not: it has no dtype of its own)."""
    return isinstance(x, np.ndarray | np.generic) and x.dtype == np.float16


def half_in_half_out(fn: Callable[P, R]) -> Callable[P, R]:
    """Return float16 when the function's first argument is float16: computed in float32, rounded once at the end.

    As PyTorch, whose CPU kernels take float16 in and give float16 out (accumulating in
    float32). :func:`as_float_array` turns float16 into float32, so the body computes in
    float32; this wrapper rounds the result to float16 once, which is the correctly rounded
    float16 of the float32 result.
    """

    first_name = next(iter(inspect.signature(fn).parameters))

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        first = args[0] if args else kwargs.get(first_name)
        result = fn(*args, **kwargs)
        if is_half(first) and isinstance(result, np.ndarray | np.generic) and result.dtype.kind == "f":
            with np.errstate(over="ignore"):  # beyond float16's 65504 the correctly rounded value is +-inf
                return cast(R, np.asarray(result).astype(np.float16)[()])
        return result

    return wrapper


def logit_bounds(p: Any, computed: np.ndarray, eps: float) -> tuple[np.floating[Any], np.floating[Any]]:
    """``torch.logit``'s clamp bounds :math:`\\varepsilon` and :math:`1 - \\varepsilon`, rounded in ``p``'s own dtype.

    ``p`` is the argument as given (float16 stays float16 here, though the computation runs in
    float32: ``computed``), so that a float16 input is clamped where PyTorch clamps it.
    """
    e = float(eps)
    if not 0.0 <= e <= 0.5:
        raise ValueError(f"eps must lie in [0, 0.5], got {eps!r}")
    own = np.float16 if is_half(p) else computed.dtype.type
    low = own(e)
    return computed.dtype.type(low), computed.dtype.type(own(1) - low)


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
    if arr.dtype.kind == "u" and arr.size and arr.max() > np.iinfo(np.int64).max:
        raise ValueError(f"{name} holds class index {int(arr.max())}, beyond the int64 range of class indices")
    return arr.astype(np.int64, copy=False)


def check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def check_scalar_axis(axis: Any, name: str) -> None:
    """A 0-d array has one implicit axis of length 1, named 0 or -1 (as PyTorch)."""
    if axis not in (0, -1):
        raise ValueError(f"axis={axis} is out of range for 0-d {name}: only 0 and -1 name its single element")


def check_axes(x: np.ndarray, axis: int | tuple[int, ...] | None, name: str) -> tuple[int, ...]:
    """Normalise ``axis`` (an int, a tuple of ints, or None for every axis) to sorted non-negative axes."""
    if axis is None:
        return tuple(range(x.ndim))
    axes = (axis,) if isinstance(axis, int | np.integer) else tuple(axis) if isinstance(axis, tuple | list) else (axis,)
    if not all(isinstance(a, int | np.integer) and not isinstance(a, bool) for a in axes):
        raise ValueError(f"axis must be an int, a tuple of ints or None, got {axis!r}")
    if x.ndim == 0:
        for a in axes:
            check_scalar_axis(a, name)
        return ()
    for a in axes:
        if not -x.ndim <= a < x.ndim:
            raise ValueError(f"axis={a} is out of range for {name} with {x.ndim} dimension(s)")
    normal = tuple(sorted(int(a) % x.ndim for a in axes))
    if len(set(normal)) != len(normal):
        raise ValueError(f"axis={axis!r} names an axis of {name} twice")
    return normal


def check_axis(x: np.ndarray, axis: int, name: str) -> int:
    if not isinstance(axis, int | np.integer) or isinstance(axis, bool):
        raise ValueError(f"axis must be an int, got {axis!r}")
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

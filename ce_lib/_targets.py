"""Targets, weights, label smoothing and reductions: one place for the rules the losses and their gradients share.

Private: :mod:`ce_lib.losses` and :mod:`ce_lib.gradients` call these after naming
their arguments, so that a loss and its gradient can never disagree on what a
target, a weight or ``reduction="mean"`` means. Every check raises ``ValueError``
naming the argument.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ._validation import as_float_array, as_index_array, check_reduction, check_same_shape, check_unit_interval


def classes_last(x: np.ndarray, name: str) -> np.ndarray:
    """Move the class axis (0 for 1-d input, 1 otherwise, as PyTorch) to the end."""
    if x.ndim == 0:
        raise ValueError(f"{name} must have a class dimension: shape (C), (N, C) or (N, C, d1, ...)")
    return x if x.ndim <= 2 else np.moveaxis(x, 1, -1)


def classes_back(g: np.ndarray) -> np.ndarray:
    """Undo :func:`classes_last`."""
    return g if g.ndim <= 2 else np.moveaxis(g, -1, 1)


def label_smoothing_value(label_smoothing: float) -> float:
    eps = float(label_smoothing)
    if not 0.0 <= eps <= 1.0:
        raise ValueError(f"label_smoothing must lie in [0, 1], got {label_smoothing!r}")
    return eps


def is_probability_target(target: ArrayLike, scores: np.ndarray) -> bool:
    """A floating target of the input's shape holds probabilities; anything else holds class indices."""
    t = np.asarray(target)
    return scores.ndim >= 1 and t.dtype.kind == "f" and t.shape == scores.shape


def class_weight(weight: ArrayLike | None, num_classes: int, dtype: np.dtype) -> np.ndarray | None:
    if weight is None:
        return None
    w = as_float_array(weight, "weight")
    if w.shape != (num_classes,):
        raise ValueError(f"weight must have shape (C,) = ({num_classes},), got {w.shape}")
    return w.astype(dtype, copy=False)


class IndexTarget(NamedTuple):
    """A validated class-index target, classes moved to the last axis of ``scores``."""

    scores: np.ndarray  #: the input, shape (..., C)
    label: np.ndarray  #: class indices, shape (...), 0 where ignored
    kept: np.ndarray  #: False where the target equals ignore_index
    class_weight: np.ndarray | None  #: w, shape (C,), or None
    sample_weight: np.ndarray  #: w_y (1 without weights), 0 where ignored: the mean divides by its sum


def check_ignore_index(ignore_index: object) -> int:
    """``ignore_index`` as an ``int``; a bool, a float or anything else raises ``ValueError`` (PyTorch: ``TypeError``)."""
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, int | np.integer):
        raise ValueError(f"ignore_index must be an int, got {ignore_index!r}")
    return int(ignore_index)


def index_target(
    scores: ArrayLike, target: ArrayLike, weight: ArrayLike | None, ignore_index: int, reduction: str, name: str
) -> IndexTarget:
    """Validate an input of shape (C), (N, C) or (N, C, d1, ...) and its class-index target."""
    check_reduction(reduction)
    ignore_index = check_ignore_index(ignore_index)
    x = as_float_array(scores, name)
    xl = classes_last(x, name)
    num_classes = xl.shape[-1]
    if num_classes == 0:
        raise ValueError(f"{name} has no classes: its class axis has length 0")
    y = as_index_array(target, "target")
    expected = x.shape[:1] + x.shape[2:] if x.ndim > 1 else ()
    if y.shape != expected:
        raise ValueError(f"target of class indices must have shape {expected} for {name} of shape {x.shape}, got {y.shape}")
    kept = y != ignore_index
    bad = kept & ((y < 0) | (y >= num_classes))
    if bad.any():
        raise ValueError(
            f"target holds class index {int(y[bad].flat[0])}, outside [0, {num_classes}) and not ignore_index={ignore_index}"
        )
    y = np.where(kept, y, 0)
    w = class_weight(weight, num_classes, x.dtype)
    w_y = np.ones(y.shape, dtype=x.dtype) if w is None else w[y]
    return IndexTarget(xl, y, kept, w, np.where(kept, w_y, 0).astype(x.dtype, copy=False))


class ProbabilityTarget(NamedTuple):
    """A validated probability target, classes moved to the last axis, label smoothing applied."""

    scores: np.ndarray  #: the input, shape (..., C)
    target: np.ndarray  #: t' = (1 - eps) t + eps / C, shape (..., C)
    class_weight: np.ndarray | None  #: w, shape (C,), or None


def probability_target(
    scores: np.ndarray,
    target: ArrayLike,
    weight: ArrayLike | None,
    reduction: str,
    label_smoothing: float,
    ignore_index: int = -100,
) -> ProbabilityTarget:
    """Validate a probability target of the input's shape; ``ignore_index`` must be negative (PyTorch's rule)."""
    check_reduction(reduction)
    if check_ignore_index(ignore_index) >= 0:
        raise ValueError(
            f"ignore_index must be negative with probability targets, got {ignore_index}: a probability target has "
            "no class to ignore (as PyTorch, a negative ignore_index is accepted and has no effect)"
        )
    t = as_float_array(target, "target")
    check_unit_interval(t, "target")
    xl, tl = classes_last(scores, "logits"), classes_last(t, "target")
    num_classes = xl.shape[-1]
    if num_classes == 0:
        raise ValueError("logits has no classes: its class axis has length 0")
    if label_smoothing > 0:
        tl = (1 - label_smoothing) * tl + label_smoothing / num_classes
    return ProbabilityTarget(xl, tl, class_weight(weight, num_classes, scores.dtype))


class BinaryTarget(NamedTuple):
    """A validated elementwise input and its target in [0, 1], of one shape."""

    input: np.ndarray
    target: np.ndarray


def binary_target(values: ArrayLike, target: ArrayLike, reduction: str, name: str) -> BinaryTarget:
    check_reduction(reduction)
    v = as_float_array(values, name)
    y = as_float_array(target, "target")
    check_same_shape(v, y, name, "target")
    check_unit_interval(y, "target")
    return BinaryTarget(v, y)


def elementwise_weight(per: np.ndarray, weight: ArrayLike | None) -> np.ndarray:
    """``per * weight``, where ``weight`` must broadcast to ``per``'s shape (not the other way round)."""
    if weight is None:
        return per
    w = as_float_array(weight, "weight")
    try:
        shape = np.broadcast_shapes(w.shape, per.shape)
    except ValueError:
        shape = None
    if shape != per.shape:
        raise ValueError(f"weight of shape {w.shape} does not broadcast to the input's shape {per.shape}")
    return per * w.astype(per.dtype, copy=False)


def positive_weight(pos_weight: ArrayLike | None, logits: np.ndarray) -> np.ndarray | None:
    """``pos_weight``: one entry per label of the last axis."""
    if pos_weight is None:
        return None
    pw = as_float_array(pos_weight, "pos_weight")
    if logits.ndim == 0:
        raise ValueError("pos_weight needs logits with a last axis of labels, shape (..., L); got 0-d logits")
    if pw.shape != (logits.shape[-1],):
        raise ValueError(
            f"pos_weight must have one entry per label of the logits' last axis, shape ({logits.shape[-1]},), "
            f"got {pw.shape}; for logits of shape (N,) with one label, reshape them to (N, 1)"
        )
    return pw.astype(logits.dtype, copy=False)


def reduce(per_element: np.ndarray, reduction: str, denominator: float) -> np.ndarray:
    """``none``: the array; ``sum``: its sum; ``mean``: the sum over ``denominator`` (0/0 is NaN, as PyTorch)."""
    if reduction == "none":
        return per_element[()]
    total = np.sum(per_element)
    if reduction == "sum":
        return total
    with np.errstate(invalid="ignore", divide="ignore"):  # every target ignored: 0/0 = NaN, as PyTorch
        return (total / per_element.dtype.type(denominator))[()]


def mean_scale(grad: np.ndarray, reduction: str, denominator: float) -> np.ndarray:
    """A gradient of the summed loss, divided by the mean's denominator when ``reduction="mean"``."""
    if reduction != "mean":
        return grad
    with np.errstate(invalid="ignore", divide="ignore"):  # every target ignored: NaN, as the loss
        return grad / grad.dtype.type(denominator)

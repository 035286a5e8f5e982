r"""Cross-entropy over a huge vocabulary without its logits: a linear layer and the loss, chunk by chunk.

A language model's last layer maps each hidden state :math:`h_n \in \mathbb{R}^d` to the
logits :math:`z_n = W h_n + b \in \mathbb{R}^V` of a vocabulary of :math:`V` tokens, and the
loss is the cross-entropy of those logits. Formed at once, the logits of :math:`N` tokens
take :math:`N V` numbers (N = 8192, V = 32768 in float32: 1 GiB), and the softmax and the
gradient with respect to them as much again each. :func:`linear_cross_entropy` and
:func:`linear_cross_entropy_grad` compute the same loss and its gradients with respect to
:math:`h`, :math:`W` and :math:`b` from blocks of rows (tokens) of the batch, holding one
block's logits at a time:

.. math:: L = \sum_{\text{blocks } B} \sum_{n \in B} \ell(W h_n + b,\, y_n), \qquad
          \frac{\partial L}{\partial W} = \sum_{\text{blocks } B} G_B^\top H_B

where :math:`G_B` is the gradient of the loss with respect to block :math:`B`'s logits
(:func:`ce_lib.softmax_cross_entropy_grad` of them) and :math:`H_B` its rows of the input.
Each block's loss and gradient are those of :func:`ce_lib.softmax_cross_entropy` and
:func:`ce_lib.softmax_cross_entropy_grad`, called on the block; only the mean's denominator
is global (the sum of the weights of all the non-ignored targets, never one block's).

Why the batch and not the vocabulary: a block of rows holds whole rows of logits, so each
block is one call of the library's own cross-entropy, and the gradient needs the three
matrix products of the direct computation (:math:`Z = H W^\top`, :math:`G W`,
:math:`G^\top H`). Chunking the vocabulary instead needs a streaming log-sum-exp over the
blocks of each row and then a second pass over :math:`W` for the gradient (four products).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from typing import Any, NamedTuple, ParamSpec

import numpy as np
from numpy.typing import ArrayLike

from . import _targets
from ._validation import as_float_array, check_reduction, half_in_half_out, is_half
from .gradients import softmax_cross_entropy_grad
from .losses import softmax_cross_entropy

__all__ = ["DEFAULT_CHUNK_BYTES", "linear_cross_entropy", "linear_cross_entropy_grad"]

P = ParamSpec("P")

#: The default chunk holds at most this many bytes of logits: 8 MiB (see ``default_chunk_size``).
DEFAULT_CHUNK_BYTES = 8 * 2**20
#: ... and at most this fraction of the batch's rows (so at most this fraction of the full logits).
DEFAULT_CHUNK_FRACTION = 1 / 32

#: The name the error messages give the logits that are never formed.
LOGITS = "input @ linear_weight.T"

Gradients = tuple[np.ndarray, np.ndarray, np.ndarray | None]


def default_chunk_size(num_rows: int, num_classes: int, itemsize: int) -> int:
    r"""The number of rows of one chunk when ``chunk_size`` is None.

    .. math:: c = \max\Big(1,\ \min\big(\lfloor B / (V s) \rfloor,\ \lceil N / 32 \rceil\big)\Big)

    with :math:`B` = ``DEFAULT_CHUNK_BYTES`` (8 MiB), :math:`s` the bytes of one
    number. The byte budget bounds the memory in absolute terms: the cross-entropy of a
    chunk and its gradient hold a few arrays of the chunk's logits' size at once (the
    logits, the softmax, its complement, the gradient: about five, about nine with label
    smoothing), so about 40 MiB (75 MiB with smoothing), whatever N. The 32nd of the batch keeps
    the chunk's logits near 1/32 of the full logits' size (so those five arrays near 1/6 of
    it) on smaller problems too, where 8 MiB could be all of them. Both limits are rounded up
    to whole rows, at least one, so a very small batch or a vocabulary beyond 2 million
    float32 tokens can exceed them by up to a row. Below about 32 rows a
    chunk's matrix products get slow (``G_B^T H_B`` then re-reads all of ``W``'s gradient
    for few rows), which the budget reaches only for vocabularies beyond 65 536 tokens in
    float32.

    Examples
    --------
    >>> from ce_lib.vocabulary import default_chunk_size
    >>> default_chunk_size(8192, 32768, 4)  # 64 rows x 32768 x 4 bytes = 8 MiB
    64
    >>> default_chunk_size(100, 10, 8)  # a small problem: 1/32 of the batch, rounded up
    4
    """
    by_bytes = DEFAULT_CHUNK_BYTES // max(1, num_classes * itemsize)
    by_fraction = -(-num_rows // round(1 / DEFAULT_CHUNK_FRACTION))
    return max(1, min(by_bytes, by_fraction))


class _Problem(NamedTuple):
    """A validated call: the rows, the weights, the target, and how to reduce."""

    x: np.ndarray  #: the input as rows, shape (N, d) (a 1-d input is one row)
    w: np.ndarray  #: the linear weight, shape (V, d)
    b: np.ndarray | None  #: the linear bias, shape (V,), or None
    target: np.ndarray  #: class indices (N,) or probabilities (N, V)
    kept: np.ndarray | None  #: index targets: False where ignored; None for probability targets
    weight: np.ndarray | None  #: class weights, shape (V,), or None
    ignore_index: int
    reduction: str
    label_smoothing: float
    denominator: float  #: the mean's denominator: sum of w_y over kept index targets, or N for probabilities
    unbatched: bool  #: the input was 1-d
    chunk: int  #: rows per chunk

    def chunks(self) -> list[slice]:
        n = self.x.shape[0]
        return [slice(s, min(s + self.chunk, n)) for s in range(0, n, self.chunk)]

    def logits(self, rows: slice) -> np.ndarray:
        """One chunk's logits, ``x[rows] @ w.T + b``: the only (rows, V) array formed here."""
        z = self.x[rows] @ self.w.T
        if self.b is not None:
            z += self.b
        return z


def _chunk_size(chunk_size: Any, num_rows: int, num_classes: int, itemsize: int) -> int:
    if chunk_size is None:
        return default_chunk_size(num_rows, num_classes, itemsize)
    if isinstance(chunk_size, bool | np.bool_):
        raise ValueError(f"chunk_size must be a positive integer or None, got {chunk_size!r}")
    try:
        c = operator.index(chunk_size)
    except TypeError:
        raise ValueError(f"chunk_size must be a positive integer or None, got {chunk_size!r}") from None
    if c < 1:
        raise ValueError(f"chunk_size must be a positive integer or None, got {chunk_size!r}")
    return c


def _problem(
    input: ArrayLike,
    linear_weight: ArrayLike,
    target: ArrayLike,
    linear_bias: ArrayLike | None,
    weight: ArrayLike | None,
    reduction: str,
    ignore_index: int | None,
    label_smoothing: float,
    chunk_size: int | None,
) -> _Problem:
    """Validate the arguments, as PyTorch 2.13's checks, each ``ValueError`` naming the argument."""
    check_reduction(reduction)
    eps = _targets.label_smoothing_value(label_smoothing)
    x = as_float_array(input, "input")
    if x.ndim not in (1, 2):
        raise ValueError(f"input must have shape (in_features,) or (N, in_features), got shape {x.shape}")
    w = as_float_array(linear_weight, "linear_weight")
    if w.ndim != 2:
        raise ValueError(
            f"linear_weight must have shape (V, in_features), got shape {w.shape}: ce_lib has no K-dimensional "
            "linear_weight (V, d1, ..., dK, in_features), which PyTorch accepts"
        )
    if w.shape[1] != x.shape[-1]:
        raise ValueError(
            f"input and linear_weight must have the same last dimension (in_features), got {x.shape[-1]} and {w.shape[1]}"
        )
    num_classes = w.shape[0]
    b = None if linear_bias is None else as_float_array(linear_bias, "linear_bias")
    if b is not None and b.shape != (num_classes,):
        raise ValueError(f"linear_bias must have shape (V,) = ({num_classes},), got {b.shape}")
    dtype = np.result_type(x, w, *([] if b is None else [b]))
    x, w = x.astype(dtype, copy=False), w.astype(dtype, copy=False)
    b = None if b is None else b.astype(dtype, copy=False)
    unbatched = x.ndim == 1
    logits_shape = (num_classes,) if unbatched else (x.shape[0], num_classes)
    # The logits are never formed: a broadcast zero of their shape (no memory) stands in for them in the checks.
    stand_in = np.broadcast_to(np.zeros((), dtype), logits_shape)
    t = np.asarray(target)
    if ignore_index is not None:
        ignore_index = _targets.check_ignore_index(ignore_index)
    if t.shape == logits_shape and ignore_index is not None:  # PyTorch's rule: any value, even negative
        raise ValueError(
            f"ignore_index must be None when target holds probabilities (a target of the logits' shape {logits_shape}), "
            f"got {ignore_index!r}, as PyTorch's linear_cross_entropy"
        )
    ignore = -100 if ignore_index is None else ignore_index
    class_weight = _targets.class_weight(weight, num_classes, dtype)
    if _targets.is_probability_target(t, stand_in):
        kept = None
        denominator = float(1 if unbatched else x.shape[0])
        target_rows = t.reshape(1, num_classes) if unbatched else t
    else:
        it = _targets.index_target(stand_in, t, class_weight, ignore, reduction, LOGITS)
        kept = it.kept.reshape(-1)
        denominator = np.sum(it.sample_weight)  # as softmax_cross_entropy's mean: in the logits' dtype
        target_rows = np.asarray(target).reshape(-1)
    rows = x.reshape(1, -1) if unbatched else x
    chunk = _chunk_size(chunk_size, rows.shape[0], num_classes, dtype.itemsize)
    return _Problem(rows, w, b, target_rows, kept, class_weight, ignore, reduction, eps, denominator, unbatched, chunk)


def _half_gradients(fn: Callable[P, Gradients]) -> Callable[P, Gradients]:
    """The gradients in float16 when the input is float16 (computed in float32), as :func:`half_in_half_out`."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Gradients:
        gx, gw, gb = fn(*args, **kwargs)
        if not is_half(args[0] if args else kwargs.get("input")):
            return gx, gw, gb
        with np.errstate(over="ignore"):  # beyond float16's 65504 the correctly rounded value is +-inf
            return gx.astype(np.float16), gw.astype(np.float16), None if gb is None else gb.astype(np.float16)

    return wrapper


@half_in_half_out
def linear_cross_entropy(
    input: ArrayLike,
    linear_weight: ArrayLike,
    target: ArrayLike,
    *,
    linear_bias: ArrayLike | None = None,
    weight: ArrayLike | None = None,
    reduction: str = "mean",
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    chunk_size: int | None = None,
) -> np.ndarray:
    r"""Cross-entropy of the logits of a linear layer, computed chunk by chunk without forming the logits.

    .. math:: \ell_n = \operatorname{CE}\big(z_n,\, y_n\big), \qquad z_n = W h_n + b, \qquad
              n = 1, \dots, N

    with :math:`\operatorname{CE}` the per-sample loss of :func:`ce_lib.softmax_cross_entropy`
    (class weights, ``ignore_index``, label smoothing and probability targets included), and
    the reductions of that function: ``"mean"`` divides the sum by
    :math:`\sum_n w_{y_n}` over all the non-ignored targets of the batch (by :math:`N` for
    probability targets), never by one chunk's. The values of PyTorch 2.13's
    ``torch.nn.functional.linear_cross_entropy``, which is
    ``F.cross_entropy(F.linear(input, linear_weight, linear_bias), target, ...)``.

    The rows of the batch are processed ``chunk_size`` at a time: only one chunk's logits,
    shape ``(chunk_size, V)``, exist at once, with the temporaries of that chunk's
    :func:`ce_lib.softmax_cross_entropy`.

    Parameters
    ----------
    input : array_like, shape (d,) or (N, d)
        The hidden states :math:`h_n`, one row per token (``in_features`` = d).
    linear_weight : array_like, shape (V, d)
        The output layer's weight :math:`W`, one row per class (token of the vocabulary).
    target : array_like
        Class indices of shape () (for a 1-d input) or (N,), integers in ``[0, V)`` or
        ``ignore_index``; or floating probabilities of the logits' shape, (V,) or (N, V).
    linear_bias : array_like, shape (V,), optional
        The output layer's bias :math:`b`. Default None (no bias).
    weight : array_like, shape (V,), optional
        A weight for each class, as :func:`ce_lib.softmax_cross_entropy`'s.
    reduction : {"mean", "sum", "none"}, optional
        ``"none"``: one loss per row, shape () or (N,), 0 at ignored targets. ``"sum"``:
        their sum. ``"mean"``: the sum divided by :math:`\sum_n w_{y_n}` over the non-ignored
        targets (their count without ``weight``; NaN when every target is ignored), or by
        :math:`N` (1 for a 1-d input) for probability targets. Default ``"mean"``.
    ignore_index : int or None, optional
        Index targets equal to it contribute nothing, not even to the mean's denominator.
        None (the default) means -100 for index targets. With probability targets it must
        be None: any value raises ``ValueError``, as PyTorch's ``linear_cross_entropy``
        (whose ``cross_entropy`` accepts a negative one).
    label_smoothing : float in [0, 1], optional
        Mix the target with the uniform distribution over the V classes. Default 0.
    chunk_size : int, optional
        Rows per chunk, at least 1. Default None: ``ce_lib.vocabulary.default_chunk_size``,
        about 8 MiB of logits and about 1/32 of the batch's rows per chunk (each rounded to
        whole rows, at least one). The result
        does not depend on it, except for the rounding of the matrix products.

    Returns
    -------
    ndarray
        A scalar, or shape () or (N,) for ``reduction="none"``; in the promoted dtype of
        ``input``, ``linear_weight`` and ``linear_bias``, except that a float16 ``input``
        gives float16 (computed in the promoted dtype, at least float32).

    Shape
    -----
    - ``input``: (d) or (N, d); ``linear_weight``: (V, d); ``linear_bias``, ``weight``: (V).
    - ``target``: () or (N) (indices), or (V) or (N, V) (probabilities).
    - output: a scalar, or () or (N) for ``reduction="none"``.

    Notes
    -----
    Memory: the direct computation forms the (N, V) logits, and its gradient two or three
    more arrays of that size; here one chunk's are formed, so the extra memory is a few
    times ``chunk_size * V`` numbers plus O(N) for the per-row losses. Time: the same matrix
    product (:math:`N V d` multiply-adds) and the same exponentials as the direct computation.

    Differences from PyTorch: ``linear_weight`` must be 2-d (PyTorch also takes a
    K-dimensional one, (V, d1, ..., dK, d), for a K-dimensional loss); ``chunk_size`` takes the
    place of PyTorch's ``options`` (``LinearCrossEntropyOptions``, whose chunked path is used
    only without label smoothing and with int64 index targets; here every call is chunked);
    arrays of different float dtypes are promoted as NumPy does (PyTorch raises); a 1-d
    ``input`` takes a target of shape () only (PyTorch also accepts shape (1,)); and every
    difference of :func:`ce_lib.softmax_cross_entropy` (accurate tiny losses, ``ValueError``
    for bad input, naming the argument).

    Examples
    --------
    >>> import numpy as np
    >>> from ce_lib import linear_cross_entropy, softmax_cross_entropy
    >>> rng = np.random.default_rng(0)
    >>> h, W, b = rng.normal(size=(5, 3)), rng.normal(size=(7, 3)), rng.normal(size=7)
    >>> y = np.array([0, 6, 2, -100, 5])
    >>> loss = linear_cross_entropy(h, W, y, linear_bias=b, chunk_size=2)  # chunks of 2, 2 and 1 rows
    >>> bool(np.isclose(loss, softmax_cross_entropy(h @ W.T + b, y)))  # the mean over the 4 kept rows
    True
    """
    p = _problem(input, linear_weight, target, linear_bias, weight, reduction, ignore_index, label_smoothing, chunk_size)
    per = np.empty(p.x.shape[0], dtype=p.x.dtype)
    for rows in p.chunks():
        per[rows] = softmax_cross_entropy(p.logits(rows), p.target[rows], p.weight, p.ignore_index, "none", p.label_smoothing)
    return _targets.reduce(per.reshape(()) if p.unbatched else per, p.reduction, p.denominator)


@_half_gradients
def linear_cross_entropy_grad(
    input: ArrayLike,
    linear_weight: ArrayLike,
    target: ArrayLike,
    *,
    linear_bias: ArrayLike | None = None,
    weight: ArrayLike | None = None,
    reduction: str = "mean",
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    chunk_size: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    r"""Gradients of :func:`linear_cross_entropy` with respect to the input, the weight and the bias, chunk by chunk.

    With :math:`G` the gradient of the loss with respect to the logits :math:`Z = H W^\top + b`
    (:func:`ce_lib.softmax_cross_entropy_grad`, row by row):

    .. math:: \frac{\partial L}{\partial H} = G W, \qquad
              \frac{\partial L}{\partial W} = G^\top H = \sum_{B} G_B^\top H_B, \qquad
              \frac{\partial L}{\partial b} = G^\top \mathbf{1} = \sum_{B} G_B^\top \mathbf{1}

    where :math:`B` runs over the chunks of rows: :math:`G_B` is computed from chunk
    :math:`B`'s logits alone, gives chunk :math:`B`'s rows of :math:`\partial L / \partial H`,
    and is added into the two sums.

    Parameters
    ----------
    input, linear_weight, target, linear_bias, weight, reduction, ignore_index, label_smoothing, chunk_size
        As :func:`linear_cross_entropy`. ``reduction`` says which loss is differentiated:
        ``"none"`` and ``"sum"``: the sum of the per-row losses; ``"mean"``: that sum divided
        by the mean's (global) denominator, as :func:`ce_lib.softmax_cross_entropy_grad`.

    Returns
    -------
    grad_input : ndarray, shape (d,) or (N, d)
        :math:`\partial L / \partial H`, the input's shape; rows of ignored targets are 0.
    grad_linear_weight : ndarray, shape (V, d)
        :math:`\partial L / \partial W`.
    grad_linear_bias : ndarray, shape (V,), or None
        :math:`\partial L / \partial b`; None when ``linear_bias`` is None.

    All three in the promoted dtype of the arrays, except that a float16 ``input`` gives
    float16 (computed in the promoted dtype, at least float32). When ``reduction="mean"`` and the denominator is 0 (every target ignored, or
    every kept target of weight 0), the rows of :math:`G` of kept targets are NaN, as
    :func:`ce_lib.softmax_cross_entropy_grad` and PyTorch's autograd.

    Shape
    -----
    - inputs: as :func:`linear_cross_entropy`.
    - outputs: (d) or (N, d); (V, d); (V) or None.

    Notes
    -----
    Extra memory: one chunk's logits and the temporaries of its gradient (a few times
    ``chunk_size * V`` numbers), and one (V, d) product :math:`G_B^\top H_B` before it is
    added, besides the returned gradients. Time: each chunk's logits are formed again here
    (:math:`N V d` multiply-adds), then multiplied back for the two gradients (:math:`2 N V d`),
    so a loss and its gradients cost :math:`4 N V d` where the direct computation, which keeps
    its logits, costs :math:`3 N V d`.

    Examples
    --------
    >>> import numpy as np
    >>> from ce_lib import linear_cross_entropy_grad, softmax_cross_entropy_grad
    >>> rng = np.random.default_rng(0)
    >>> h, W, y = rng.normal(size=(5, 3)), rng.normal(size=(7, 3)), np.array([0, 6, 2, 2, 5])
    >>> g_h, g_W, g_b = linear_cross_entropy_grad(h, W, y, chunk_size=2)
    >>> G = softmax_cross_entropy_grad(h @ W.T, y)  # the logits' gradient, formed at once
    >>> bool(np.allclose(g_h, G @ W) and np.allclose(g_W, G.T @ h)), g_b is None
    (True, True)
    """
    p = _problem(input, linear_weight, target, linear_bias, weight, reduction, ignore_index, label_smoothing, chunk_size)
    n, d = p.x.shape
    dtype = p.x.dtype
    grad_x = np.empty((n, d), dtype=dtype)
    grad_w = np.zeros(p.w.shape, dtype=dtype)
    grad_b = None if p.b is None else np.zeros(p.b.shape, dtype=dtype)
    product = np.empty(p.w.shape, dtype=dtype)  # G_B^T H_B, reused by every chunk
    for rows in p.chunks():
        g = softmax_cross_entropy_grad(p.logits(rows), p.target[rows], p.weight, p.ignore_index, "sum", p.label_smoothing)
        _mean_scale(g, p, rows)
        np.matmul(g, p.w, out=grad_x[rows])
        grad_w += np.matmul(g.T, p.x[rows], out=product)
        if grad_b is not None:
            grad_b += g.sum(axis=0)
    return (grad_x.reshape(d) if p.unbatched else grad_x), grad_w, grad_b


def _mean_scale(g: np.ndarray, p: _Problem, rows: slice) -> None:
    """For ``"mean"``, divide one chunk's logits' gradient by the global denominator, in place.

    As :func:`ce_lib.softmax_cross_entropy_grad`: rows of ignored targets stay 0 (they are 0
    in the summed loss's gradient); when the denominator is 0 the kept rows are NaN.
    """
    if p.reduction != "mean":
        return
    total = g.dtype.type(p.denominator)
    if total != 0 or p.kept is None:
        with np.errstate(invalid="ignore", divide="ignore"):
            g /= total
    else:
        g[p.kept[rows]] = np.nan

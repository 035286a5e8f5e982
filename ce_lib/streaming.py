r"""Log-sum-exp in one streaming pass: a row seen a chunk at a time, chunks merged in any order.

A row :math:`s_1, s_2, \dots` too long to hold (or arriving block by block, as the keys of
an attention row) is summarised by a small state: the running maximum :math:`\nu` and the
running sum :math:`\zeta` of the exponentials of the other entries, from which

.. math:: \operatorname{lse}(s) = \nu + \operatorname{log1p}\big(\zeta\, e^{a - \nu}\big),
          \qquad \nu = s_m = \max_i s_i, \qquad \zeta = \sum_{i \ne m} e^{s_i - a},

the log1p form of :func:`ce_lib.logsumexp` ([BHH21]_) with :math:`r = \zeta e^{a - \nu}`.
Two states, of two disjoint parts of a row, merge into the state of their union: the larger
maximum wins, the loser's maximum joins the sum, and each sum is brought to the common shift
(the merge rule, associative and commutative in exact arithmetic):

.. math:: \nu = \max(\nu_1, \nu_2), \qquad
          \zeta = \zeta_1 e^{a_1 - a} + \zeta_2 e^{a_2 - a} + e^{\min(\nu_1, \nu_2) - a}.

**Why the shift is not the running maximum.** Milakov and Gimelshein's online softmax [MG18]_
takes :math:`a = \nu`, so each new maximum multiplies the sum so far by the rounded factor
:math:`e^{\nu_{\text{old}} - \nu_{\text{new}}}`. On a slowly rising row every entry is a new
maximum, and the rounding errors of 20 000 such products add up: fed one entry at a time,
that accumulator is 183 condition-scaled ULP from the exact value on
``np.linspace(0, 1, 20000)`` (``tests/test_streaming.py`` measures it). Here the shift is
the running maximum rounded toward zero to a multiple of 64,

.. math:: a = 64 \operatorname{trunc}(\nu / 64),

exact, with :math:`|a| \le |\nu|` and :math:`|\nu - a| < 64`; it changes only when the
maximum crosses a multiple of 64. Every term :math:`e^{s_i - a}` is computed once, from
:math:`s_i` itself (each term is at most :math:`e^{64}`, so nothing overflows), and a term is
rescaled at most twice while it can still matter: after three moves of the shift it is below
:math:`e^{-64}` times the largest term. The terms are added with compensated (TwoSum)
summation, pairwise within a chunk and carried as a pair of floats between chunks, so the
sum's error does not grow with the length of the row either. What is left is a few roundings,
as in :func:`ce_lib.logsumexp`. The criterion is the book's (:mod:`ce_lib.accuracy`): within
4 ULP of the exact value once divided by the condition number, for any chunking and any order
of merges; ``tests/test_streaming.py`` checks it against mpmath on random chunkings and merge
trees of adversarial rows (at most 0.75 was measured over 20 of each per row), 0.40 on the
rising row one entry at a time, and 0.11 on a flat row of 2000 entries where plain summation
gives 7.3.

Non-finite entries follow :func:`ce_lib.logsumexp` (and SciPy): ``-inf`` entries contribute
nothing, a row of only ``-inf`` (or no entries at all) gives ``-inf``, a ``+inf`` entry gives
``+inf``, and NaN gives NaN.

References
----------
.. [BHH21] P. Blanchard, D. J. Higham and N. J. Higham, "Accurately computing the
   log-sum-exp and softmax functions", IMA Journal of Numerical Analysis 41(4),
   2311-2330, 2021. doi:10.1093/imanum/draa038
.. [MG18] M. Milakov and N. Gimelshein, "Online normalizer calculation for softmax",
   arXiv:1805.02867, 2018.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from ._validation import as_float_array

__all__ = ["OnlineLogSumExp", "streaming_logsumexp"]

#: The shift :math:`a` is the running maximum rounded toward zero to a multiple of this (a power of 2, so exact).
SHIFT_STEP = 64.0

_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))


def _two_sum(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Knuth's TwoSum: ``s = fl(x + y)`` and the exact error ``e``, ``x + y = s + e`` (finite inputs)."""
    s = x + y
    yv = s - x
    return s, (x - (s - yv)) + (y - yv)


def _compensated_sum(terms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sum of ``terms`` (non-negative, finite) over the last axis as a pair ``(hi, lo)``, ``hi + lo`` accurate.

    Pairwise TwoSum: each level adds neighbours and keeps every rounding error; the errors,
    each at most ``u`` times a partial sum, are added plainly (their own rounding is of order
    ``u**2``). A level is a few vector operations, and there are ``log2(n)`` levels.
    """
    lo = np.zeros(terms.shape[:-1], dtype=terms.dtype)
    t = terms
    while t.shape[-1] > 1:
        half = t.shape[-1] // 2
        s, e = _two_sum(t[..., :half], t[..., half : 2 * half])
        lo += np.add.reduce(e, axis=-1)
        t = s if t.shape[-1] % 2 == 0 else np.concatenate([s, t[..., -1:]], axis=-1)
    return t[..., 0].copy(), lo


def _shift(nu: np.ndarray) -> np.ndarray:
    """``a = 64 trunc(nu / 64)`` where ``nu`` is finite, 0 elsewhere: exact, ``|a| <= |nu|``, ``|nu - a| < 64``."""
    return np.where(np.isfinite(nu), np.trunc(nu / SHIFT_STEP) * SHIFT_STEP, 0).astype(nu.dtype, copy=False)


class _State(NamedTuple):
    """The state of a batch of rows: arrays of the batch shape."""

    nu: np.ndarray  #: the running maximum
    a: np.ndarray  #: the shift, _shift(nu)
    hi: np.ndarray  #: zeta = hi + lo, the sum of e^(s_i - a) over the entries other than the maximum
    lo: np.ndarray


def _empty(shape: tuple[int, ...], dtype: np.dtype[Any]) -> _State:
    zeros = np.zeros(shape, dtype=dtype)
    return _State(np.full(shape, -np.inf, dtype=dtype), zeros, zeros, zeros)


class OnlineLogSumExp:
    r"""Accumulator of the log-sum-exp of rows seen a chunk at a time, whose states merge in any order.

    The state of each row is its running maximum :math:`\nu`, and the running sum
    :math:`\zeta = \sum_{i \ne m} e^{s_i - a}` of its other entries, relative to the shift
    :math:`a = 64 \operatorname{trunc}(\nu / 64)`, kept as an unevaluated pair of floats
    (compensated summation); the value is

    .. math:: \operatorname{lse}(s) = \nu + \operatorname{log1p}\big(\zeta\, e^{a - \nu}\big).

    The module's docstring derives the merge rule and explains why this keeps the result
    within 4 condition-scaled ULP of the exact value for any chunking, where the textbook
    online accumulator (:math:`a = \nu`) does not.

    Parameters
    ----------
    shape : tuple of ints, optional
        The batch shape: how many rows are accumulated at once (``()``, the default when
        the first chunk is 1-d, is one row). None (default): taken from the first chunk.
    dtype : {float64, float32, float16} or None, optional
        The dtype of the value. float16 is accumulated in float32 and rounded once, as the
        rest of ``ce_lib``. None (default): the first chunk's floating dtype (float64 for
        integers); later chunks are converted to it.

    Attributes
    ----------
    count : int
        How many entries each row has seen. :attr:`value` is the log-sum-exp of them, shape
        ``shape`` (``-inf`` before any entry).

    Raises
    ------
    ValueError
        If ``shape`` is not a tuple of non-negative ints, or ``dtype`` is not a floating dtype
        of NumPy of at most 64 bits.

    See Also
    --------
    streaming_logsumexp : the log-sum-exp of an iterable of chunks.
    ce_lib.logsumexp : the same value, from the whole row at once.

    Notes
    -----
    :meth:`update` folds a chunk into the accumulator, in place; :meth:`merge` returns the
    state of the union of two accumulators' rows, leaving both unchanged, so that chunks
    summarised separately (in parallel, or on several machines) can be combined in any order
    or tree.

    Examples
    --------
    >>> import numpy as np
    >>> from ce_lib import OnlineLogSumExp, logsumexp
    >>> x = np.array([1000.0, 999.0, -5.0, 1001.0, 0.5])
    >>> acc = OnlineLogSumExp()
    >>> for chunk in (x[:2], x[2:4], x[4:]):
    ...     _ = acc.update(chunk)
    >>> float(acc.value), float(logsumexp(x))
    (1001.4076059644444, 1001.4076059644444)
    >>> left, right = OnlineLogSumExp().update(x[:3]), OnlineLogSumExp().update(x[3:])
    >>> float(right.merge(left).value)
    1001.4076059644444
    >>> rows = OnlineLogSumExp().update(np.zeros((2, 3)))  # two rows at once
    >>> rows.value
    array([1.09861229, 1.09861229])
    """

    def __init__(self, shape: tuple[int, ...] | None = None, dtype: DTypeLike | None = None) -> None:
        self._shape: tuple[int, ...] | None = None if shape is None else _check_shape(shape)
        self._dtype: np.dtype[Any] | None = None if dtype is None else _check_dtype(dtype)
        self._state: _State | None = None  # None until the first chunk
        self.count = 0

    @property
    def shape(self) -> tuple[int, ...] | None:
        """The batch shape, or None until the first chunk fixes it."""
        return self._shape

    @property
    def dtype(self) -> np.dtype[Any] | None:
        """The dtype of :attr:`value`, or None until the first chunk fixes it."""
        return self._dtype

    def _work_dtype(self) -> np.dtype[Any]:
        dtype = np.dtype(np.float64) if self._dtype is None else self._dtype
        return np.dtype(np.float32) if dtype == np.float16 else dtype

    def _ensure_state(self) -> _State:
        if self._state is None:
            self._state = _empty(self._shape or (), self._work_dtype())
        return self._state

    def update(self, chunk: ArrayLike) -> OnlineLogSumExp:
        """Fold ``chunk`` into the accumulator, in place, and return the accumulator.

        Parameters
        ----------
        chunk : array_like, shape ``shape + (n,)`` or ``shape``
            The next ``n`` entries of each row, along the last axis (``n = 0`` is allowed and
            changes nothing); an array of shape ``shape`` itself is one entry per row.

        Returns
        -------
        OnlineLogSumExp
            ``self``, so that calls chain.

        Raises
        ------
        ValueError
            If ``chunk`` is not a real numeric array, or its shape does not fit ``shape``.
        """
        x = as_float_array(chunk, "chunk")
        # the first chunk fixes the dtype and the shape, but only once it has passed the check
        dtype = self._dtype
        if dtype is None:
            dtype = np.dtype(np.float16) if np.asarray(chunk).dtype == np.float16 else x.dtype
        shape = self._shape
        if shape is None:
            shape = x.shape[:-1] if x.ndim else ()
        if x.shape == shape:
            x = x[..., None]
        if x.shape[:-1] != shape or x.ndim != len(shape) + 1:
            raise ValueError(f"chunk must have shape {shape} + (n,) or {shape}, got {x.shape}")
        self._dtype, self._shape = dtype, shape
        state = _chunk_state(x.astype(self._work_dtype(), copy=False))
        self._state = state if self._state is None else _merge(self._state, state)
        self.count += x.shape[-1]
        return self

    def merge(self, other: OnlineLogSumExp) -> OnlineLogSumExp:
        r"""The accumulator of both accumulators' entries together; ``self`` and ``other`` are unchanged.

        .. math:: \nu = \max(\nu_1, \nu_2), \qquad
                  \zeta = \zeta_1 e^{a_1 - a} + \zeta_2 e^{a_2 - a} + e^{\min(\nu_1, \nu_2) - a}

        Parameters
        ----------
        other : OnlineLogSumExp
            Another accumulator of the same ``shape`` and ``dtype`` (or one that has seen nothing).

        Returns
        -------
        OnlineLogSumExp
            A new accumulator: its :attr:`value` is the log-sum-exp of the union of the rows.

        Raises
        ------
        ValueError
            If ``other`` is not an :class:`OnlineLogSumExp`, or its shape or dtype differs.
        """
        if not isinstance(other, OnlineLogSumExp):
            raise ValueError(f"other must be an OnlineLogSumExp, got {type(other).__name__}")
        for mine, theirs, what in ((self._shape, other._shape, "shape"), (self._dtype, other._dtype, "dtype")):
            if mine is not None and theirs is not None and mine != theirs:
                raise ValueError(f"other has {what} {theirs}, this accumulator {mine}: they cannot be merged")
        out = OnlineLogSumExp(self._shape or other._shape, self._dtype or other._dtype)
        out.count = self.count + other.count
        if self._state is None or other._state is None:
            out._state = other._state if self._state is None else self._state  # states are never modified in place
        else:
            out._state = _merge(self._state, other._state)
        return out

    @property
    def value(self) -> np.ndarray:
        r"""The log-sum-exp of every entry seen, :math:`\nu + \operatorname{log1p}(\zeta e^{a - \nu})`, shape ``shape``."""
        nu, a, hi, lo = self._ensure_state()
        finite = np.isfinite(nu)
        with np.errstate(invalid="ignore"):  # rows whose maximum is not finite (a - nu is NaN there): nu itself, below
            lse = nu + np.log1p((hi + lo) * np.exp(a - nu))
        lse = np.where(finite, lse, nu)  # -inf (nothing, or only -inf), +inf, NaN: as ce_lib.logsumexp
        dtype = self._dtype if self._dtype is not None else lse.dtype
        with np.errstate(over="ignore"):  # beyond float16's range the correctly rounded value is inf
            return lse.astype(dtype)[()]

    def __repr__(self) -> str:
        return f"OnlineLogSumExp(shape={self._shape}, dtype={self._dtype}, count={self.count})"


def _check_shape(shape: Any) -> tuple[int, ...]:
    if not isinstance(shape, tuple) or not all(isinstance(n, int | np.integer) and n >= 0 for n in shape):
        raise ValueError(f"shape must be a tuple of non-negative ints, got {shape!r}")
    return tuple(int(n) for n in shape)


def _check_dtype(dtype: DTypeLike) -> np.dtype[Any]:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise ValueError(f"dtype must be float16, float32 or float64, got {dtype!r}") from None
    if dt not in _DTYPES:
        raise ValueError(f"dtype must be float16, float32 or float64, got {dtype!r}")
    return dt


def _chunk_state(x: np.ndarray) -> _State:
    """The state of each row of ``x`` (rows along the last axis): the largest entry left out of the sum."""
    n, batch = x.shape[-1], x.shape[:-1]
    if n == 0:
        return _empty(batch, x.dtype)
    if n == 1:  # the entry is the maximum, and the sum is empty
        zeros = np.zeros(batch, dtype=x.dtype)
        nu = x[..., 0].copy()
        return _State(nu, _shift(nu), zeros, zeros)
    x2 = x.reshape(-1, n)
    at = np.arange(0, x2.size, n) + np.argmax(x2, axis=1)  # flat index of a largest entry; NaN wins
    nu = x2.reshape(-1)[at]
    a = _shift(nu)
    finite = np.isfinite(nu)
    if finite.all():  # the usual case: every exponent is at most 64; a difference beyond the range is -inf, e^-inf = 0
        with np.errstate(over="ignore"):
            terms = np.exp(x2 - a[:, None])
    else:  # rows of -inf only, or holding +inf or NaN: their sums are not used
        with np.errstate(invalid="ignore", over="ignore"):
            terms = np.where(finite[:, None], np.exp(x2 - a[:, None]), 0)
    terms.reshape(-1)[at] = 0  # the maximum is nu itself, not a term of the sum
    hi, lo = _compensated_sum(terms)
    return _State(*(v.reshape(batch) for v in (nu, a, hi, lo)))


def _merge(s1: _State, s2: _State) -> _State:
    """The state of the union of two states' rows: the merge rule, a sum rescaled only where its shift moved.

    The shift grows with the maximum, so each factor ``e^(a_k - a)`` is at most 1 (exactly 1
    where the shift did not move); a state that has seen nothing has ``nu = -inf``, shift 0
    and sum 0, and its factor is clipped to 1 so that it never gives ``0 * inf``.
    """
    nu = np.maximum(s1.nu, s2.nu)  # NaN wins
    a = _shift(nu)
    with np.errstate(invalid="ignore", over="ignore"):  # rows whose maximum is not finite: zeroed below
        f1, f2 = np.exp(np.minimum(s1.a - a, 0)), np.exp(np.minimum(s2.a - a, 0))
        hi, err = _two_sum(s1.hi * f1, s2.hi * f2)
        lo = s1.lo * f1 + s2.lo * f2 + err
        hi, err = _two_sum(hi, np.exp(np.minimum(s1.nu, s2.nu) - a))  # the loser's maximum joins the sum (0 if -inf)
        hi, lo = _two_sum(hi, lo + err)  # renormalise: |lo| stays below an ulp of hi
    finite = np.isfinite(nu)
    if finite.all():
        return _State(nu, a, hi, lo)
    return _State(nu, a, np.where(finite, hi, 0).astype(nu.dtype), np.where(finite, lo, 0).astype(nu.dtype))


def streaming_logsumexp(chunks: Iterable[ArrayLike], dtype: DTypeLike | None = None) -> np.ndarray:
    r"""The log-sum-exp of a row given as an iterable of chunks, in one pass (:class:`OnlineLogSumExp`).

    .. math:: \operatorname{lse}(s) = \log \sum_i e^{s_i} = \nu + \operatorname{log1p}\Big(\sum_{i \ne m} e^{s_i - \nu}\Big),
              \qquad \nu = s_m = \max_i s_i

    Only one chunk is held at a time, so the row may be longer than memory, or be generated.

    Parameters
    ----------
    chunks : iterable of array_like
        Consecutive pieces of the rows, each of shape ``(..., n)`` (the same batch shape
        ``...`` for all; ``n`` may differ and may be 0), or of shape ``(...)`` for one entry per row.
    dtype : {float64, float32, float16} or None, optional
        As :class:`OnlineLogSumExp`: None (default) takes the first chunk's.

    Returns
    -------
    ndarray
        The log-sum-exp of each row, shape ``(...)``; ``-inf`` if there are no chunks.
        Within 4 condition-scaled ULP of the exact value however the row is cut.

    Raises
    ------
    ValueError
        If a chunk is not a real numeric array, or its batch shape differs from the first's.

    Examples
    --------
    >>> import numpy as np
    >>> from ce_lib import logsumexp, streaming_logsumexp
    >>> x = np.linspace(0.0, 1.0, 20_000)
    >>> float(streaming_logsumexp(x[i : i + 7] for i in range(0, x.size, 7)))
    10.444816506184333
    >>> float(logsumexp(x))
    10.444816506184333
    >>> float(streaming_logsumexp([[-np.inf], [], [-np.inf]]))  # nothing but -inf: log 0
    -inf
    """
    acc = OnlineLogSumExp(dtype=dtype)
    for chunk in chunks:
        acc.update(chunk)
    return acc.value

r"""The cross-entropy of a language model: perplexity, the exponential of the token-mean loss.

A language model gives the token :math:`y_n` that occurred at a position the probability
:math:`q_n(y_n) = \operatorname{softmax}(s_n)_{y_n}`, from the scores :math:`s_n` of the
:math:`V` tokens of its vocabulary computed from the tokens before it. Over the :math:`N`
tokens counted (every position of every sequence, padding left out), its loss is the
token-mean negative log-likelihood :math:`\mathcal L = -\frac1N \sum_n \log q_n(y_n)` and its
perplexity :math:`e^{\mathcal L} = 2^{H_2}`, :math:`H_2 = \mathcal L / \log 2` being the loss in
bits per token: an effective branching factor, :math:`V` for a model uniform over the vocabulary.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ._validation import as_float_array, as_index_array, half_in_half_out
from .losses import softmax_cross_entropy

__all__ = ["perplexity"]


@half_in_half_out
def perplexity(logits: ArrayLike, target: ArrayLike, *, ignore_index: int | None = None) -> np.ndarray:
    r"""Perplexity of a language model: the exponential of its mean loss per token.

    .. math:: \operatorname{PPL} = \exp\Big(-\frac{1}{N} \sum_{n=1}^{N} \log \operatorname{softmax}(s_n)_{y_n}\Big) = 2^{H_2},

    where :math:`n` runs over the :math:`N` positions counted (those whose target is not
    ``ignore_index``, in every sequence of the batch: the mean is over tokens, not over
    sequences), :math:`s_n` are the :math:`V` logits there, :math:`y_n` the target, and
    :math:`H_2` the same mean in bits. A model uniform over :math:`V` tokens has perplexity
    :math:`V`; a model that always gives the right token probability 1, perplexity 1.

    Parameters
    ----------
    logits : array_like, shape (batch, seq, vocab)
        Unnormalised scores of the next token at each position (do not apply a softmax first).
    target : array_like of ints, shape (batch, seq)
        The token that occurred at each position, in ``[0, vocab)`` or equal to ``ignore_index``.
    ignore_index : int, optional
        Positions whose target equals it (padding) count neither in the sum nor in the mean's
        denominator. Default None: every position counts, and every target must be a token.

    Returns
    -------
    ndarray
        A scalar, in the floating dtype of ``logits`` (float16 in, float16 out, computed in
        float32); NaN when no position counts (0/0), as torchmetrics.

    Raises
    ------
    ValueError
        If ``logits`` is not 3-d or not real, ``target`` does not hold integers of shape
        (batch, seq) in ``[0, vocab)`` (or equal to ``ignore_index``), or ``ignore_index`` is
        not an int.

    See Also
    --------
    ce_lib.softmax_cross_entropy : the token losses, :math:`(a - s_y) + \operatorname{log1p}(r)`.

    Notes
    -----
    Each token's loss is computed by :func:`ce_lib.softmax_cross_entropy` as
    :math:`(a - s_y) + \operatorname{log1p}(r)` (Blanchard, Higham and Higham, 2021), a sum of
    two non-negative terms: finite and accurate however small the token's probability. The
    exponential is taken once, of the mean.

    Differences from torchmetrics (``torchmetrics.functional.text.perplexity``, 1.9.0), which
    computes the softmax, then the log of the target's probability: where a target's
    probability underflows (a logit more than about 104 below the largest in float32, 745 in
    float64) its log is :math:`-\infty` and torchmetrics returns ``inf``, where this function
    returns the finite value (``perplexity([[[0.0, 120.0], [0.0, 0.0]]], [[0, 0]])`` is
    :math:`e^{60.35} = 1.6 \times 10^{26}` in float32); probabilities in the subnormal range
    keep only a few digits there, and the perplexity with them (the two tokens
    ``[[[0.0, 100.0], [0.0, 0.0]]]`` with targets ``[[0, 0]]`` in float32: torchmetrics is
    0.8 % off, this function 8e-7). With ``ignore_index=None`` a
    negative target raises ``ValueError`` here, where torchmetrics silently counts
    ``target = -1`` as the last token of the vocabulary (negative indexing); targets may
    have any integer dtype (torchmetrics requires int64 and raises ``TypeError``), and
    every bad input raises ``ValueError``.
    Elsewhere the two agree to rounding (``tests/test_language.py``).

    Examples
    --------
    >>> import numpy as np
    >>> from ce_lib import perplexity
    >>> perplexity(np.zeros((2, 5, 50)), np.zeros((2, 5), dtype=int))  # uniform over 50 tokens
    np.float64(49.99999999999997)
    >>> logits = np.array([[[2.0, 0.0, -1.0], [0.5, 0.5, 0.0], [0.0, 0.0, 0.0]]])
    >>> float(perplexity(logits, [[0, 1, -100]], ignore_index=-100))  # the padding is not counted
    1.7575715476098843
    >>> float(perplexity(np.float32([[[0.0, 120.0], [0.0, 0.0]]]), [[0, 0]]))  # torchmetrics: inf
    1.6150412205740262e+26
    """
    x = as_float_array(logits, "logits")
    if x.ndim != 3:
        raise ValueError(f"logits must have shape (batch, seq, vocab), got {x.ndim}-d shape {x.shape}")
    y = as_index_array(target, "target")
    if y.shape != x.shape[:2]:
        raise ValueError(f"target must have shape (batch, seq) = {x.shape[:2]} for logits of shape {x.shape}, got {y.shape}")
    if ignore_index is None:
        outside = (y < 0) | (y >= x.shape[2])
        if outside.any():
            raise ValueError(
                f"target holds token {int(y[outside].flat[0])}, outside [0, {x.shape[2]}); pass ignore_index for padding"
            )
        ignore = -1  # matches no target left
    elif isinstance(ignore_index, bool) or not isinstance(ignore_index, int | np.integer):
        raise ValueError(f"ignore_index must be an int or None, got {ignore_index!r}")
    else:
        ignore = int(ignore_index)
    mean_loss = softmax_cross_entropy(x.reshape(-1, x.shape[2]), y.reshape(-1), ignore_index=ignore)
    with np.errstate(over="ignore"):  # a mean loss above log(max float) is a perplexity beyond the range: inf
        return np.exp(mean_loss)[()]

r"""The likelihood of a sample of class labels, and why it is a cross-entropy.

For samples :math:`x_1, \dots, x_N \in \{0, \dots, C-1\}` drawn independently from
a model distribution :math:`q`, with counts :math:`n_i` and empirical distribution
:math:`p_i = n_i / N`,

.. math:: \prod_{k=1}^{N} q_{x_k} = \prod_{i} q_i^{n_i} = \prod_i q_i^{N p_i},
          \qquad \frac{1}{N}\log\prod_{k=1}^{N} q_{x_k} = \sum_i p_i \log q_i = -H(p, q).

So ``log_likelihood(x, q) == -len(x) * cross_entropy(empirical_distribution(x, C), q)``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ._validation import as_float_array, as_index_array, check_distribution

__all__ = ["empirical_distribution", "log_likelihood"]


def _samples(samples: ArrayLike, num_classes: int) -> np.ndarray:
    if np.size(samples) == 0:
        raise ValueError("samples is empty; a likelihood needs at least one sample")
    x = as_index_array(samples, "samples")
    if x.ndim != 1:
        raise ValueError(f"samples must be one-dimensional, got shape {x.shape}")
    if np.any((x < 0) | (x >= num_classes)):
        raise ValueError(f"samples must lie in [0, {num_classes}); found {x.min()} .. {x.max()}")
    return x


def empirical_distribution(samples: ArrayLike, num_classes: int) -> np.ndarray:
    r"""Relative frequencies of the classes in a sample.

    .. math:: p_i = \frac{n_i}{N}, \qquad n_i = \#\{k : x_k = i\}

    Parameters
    ----------
    samples : array_like of int, shape (N,)
        Class labels in ``[0, num_classes)``.
    num_classes : int
        The number of classes ``C``; classes that never occur get :math:`p_i = 0`.

    Returns
    -------
    ndarray, shape (C,)
        The empirical distribution, float64, summing to 1.

    Examples
    --------
    >>> from ce_lib import empirical_distribution
    >>> empirical_distribution([2, 2, 1], num_classes=3)
    array([0.        , 0.33333333, 0.66666667])
    """
    if not isinstance(num_classes, (int, np.integer)) or isinstance(num_classes, bool) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
    x = _samples(samples, int(num_classes))
    return np.bincount(x, minlength=int(num_classes)) / x.size


def log_likelihood(samples: ArrayLike, q: ArrayLike) -> np.floating:
    r"""Log-likelihood of independent class labels under a model distribution.

    .. math:: \log L = \sum_{k=1}^{N} \log q_{x_k}

    With one distribution ``q`` of shape ``(C,)`` for every sample this is the
    unconditional model :math:`x_k \sim q`; with ``q`` of shape ``(N, C)`` it is a
    classifier's conditional likelihood :math:`\sum_k \log q_k(x_k)`, the
    distribution of row ``k`` being the model's prediction for sample ``k``.

    Parameters
    ----------
    samples : array_like of int, shape (N,)
        Class labels in ``[0, C)``.
    q : array_like, shape (C,) or (N, C)
        Model distribution(s), each row non-negative and summing to 1.

    Returns
    -------
    float
        :math:`\log L \le 0`; ``-inf`` if some observed class has probability 0.

    Examples
    --------
    >>> import numpy as np
    >>> from ce_lib import log_likelihood
    >>> q = np.array([0.2, 0.3, 0.5])
    >>> float(log_likelihood([2, 2, 1], q)) == float(2 * np.log(0.5) + np.log(0.3))
    True
    """
    q = as_float_array(q, "q")
    if q.ndim not in (1, 2):
        raise ValueError(f"q must have shape (C,) or (N, C), got {q.shape}")
    check_distribution(q, "q", axis=-1)
    x = _samples(samples, q.shape[-1])
    if q.ndim == 2 and q.shape[0] != x.size:
        raise ValueError(f"q has {q.shape[0]} rows but samples has {x.size} entries")
    picked = q[x] if q.ndim == 1 else q[np.arange(x.size), x]
    with np.errstate(divide="ignore"):  # an observed class of probability 0: log L = -inf
        return np.sum(np.log(picked))

r"""The book's symbols in SymPy, defined once for every chapter and test.

The names follow the notation page: :math:`s_k` scores, :math:`C` classes,
:math:`Z = \sum_{m=1}^{C} e^{s_m}` the normaliser, :math:`q_k = e^{s_k}/Z` the
softmax and :math:`\sigma` the sigmoid. SymPy is imported inside the functions,
so ``import ce_lib`` keeps NumPy as its only dependency.

Examples
--------
>>> import sympy as sp
>>> from ce_lib import symbolic
>>> z = sp.symbols("z", real=True)
>>> symbolic.sigmoid(z)
1/(1 + exp(-z))
>>> soft = symbolic.general_softmax()
>>> soft.q(soft.k)
exp(s[k])/Sum(exp(s[m]), (m, 1, C))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["GeneralSoftmax", "general_softmax", "sigmoid"]


def sigmoid(z: Any) -> Any:
    r"""The logistic sigmoid :math:`\sigma(z) = 1/(1 + e^{-z})` as a SymPy expression."""
    import sympy as sp

    return 1 / (1 + sp.exp(-sp.sympify(z)))


@dataclass(frozen=True)
class GeneralSoftmax:
    r"""Symbols for a softmax over a general number of classes :math:`C`.

    Attributes
    ----------
    C : sympy.Symbol
        The number of classes, a positive integer.
    s : sympy.IndexedBase
        The real scores :math:`s_1, \dots, s_C`.
    i, j, k, m : sympy.Symbol
        Positive integer indices; ``m`` is the summation index of :math:`Z`.
    Z : sympy.Sum
        The normaliser :math:`\sum_{m=1}^{C} e^{s_m}`.
    """

    C: Any
    s: Any
    i: Any
    j: Any
    k: Any
    m: Any
    Z: Any

    def q(self, index: Any) -> Any:
        r"""The softmax probability :math:`q_{\text{index}} = e^{s_{\text{index}}} / Z`."""
        import sympy as sp

        return sp.exp(self.s[index]) / self.Z


def general_softmax() -> GeneralSoftmax:
    """The scores, indices and normaliser of a softmax over ``C`` classes (see :class:`GeneralSoftmax`)."""
    import sympy as sp

    C = sp.symbols("C", integer=True, positive=True)
    i, j, k, m = sp.symbols("i j k m", integer=True, positive=True)
    s = sp.IndexedBase("s", real=True)
    return GeneralSoftmax(C=C, s=s, i=i, j=j, k=k, m=m, Z=sp.Sum(sp.exp(s[m]), (m, 1, C)))

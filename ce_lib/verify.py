r"""Machine checks for the book's labelled equations.

Each function checks one claim and either prints one line starting with
``✔ (label)``, or raises :class:`AssertionError` saying what failed, so a wrong
step fails the notebook that makes it. The book's coverage test reads those
lines from the executed notebooks: every labelled equation must have one.

SymPy and mpmath are imported inside the functions, so ``import ce_lib`` keeps
NumPy as its only dependency.

Examples
--------
>>> import sympy as sp
>>> from ce_lib import verify
>>> s = sp.symbols("s", real=True)
>>> verify.identity("demo", 1 - 1 / (1 + sp.exp(-s)), 1 / (1 + sp.exp(s)))
✔ (demo) holds symbolically
"""

from __future__ import annotations

from typing import Callable, Iterable, Sequence

import numpy as np

__all__ = ["identity", "identities", "limit", "numerically", "on_grid", "close", "within_range", "central_difference", "MARK"]

MARK = "✔"


def _report(label: str, message: str) -> None:
    print(f"{MARK} ({label}) {message}")


def _is_zero(expr) -> bool:
    """True only if SymPy can show ``expr`` is identically zero."""
    import sympy as sp

    if isinstance(expr, sp.MatrixBase):
        return all(_is_zero(e) for e in expr)
    candidates = (
        lambda e: e,
        sp.simplify,
        lambda e: sp.simplify(sp.expand(sp.together(e))),
        lambda e: sp.simplify(e.rewrite(sp.exp)),
        lambda e: sp.simplify(sp.expand_log(e, force=True)),
        lambda e: sp.simplify(sp.powsimp(sp.expand(e), force=True)),
    )
    for transform in candidates:
        if transform(expr) == 0:
            return True
    return False


def identity(label: str, lhs, rhs) -> None:
    """Assert that two SymPy expressions (or matrices) are identically equal.

    Parameters
    ----------
    label : str
        The label of the equation being checked, as written in the chapter.
    lhs, rhs : sympy.Expr or sympy.Matrix
        The two sides.

    Raises
    ------
    AssertionError
        If SymPy cannot reduce ``lhs - rhs`` to 0.
    """
    import sympy as sp

    lhs, rhs = sp.sympify(lhs), sp.sympify(rhs)
    if not _is_zero(lhs - rhs):
        raise AssertionError(f"({label}) not shown: lhs - rhs = {sp.simplify(lhs - rhs)}")
    _report(label, "holds symbolically")


def limit(label: str, expr, var, point, expected, direction: str = "+-") -> None:
    """Assert ``lim_{var -> point} expr == expected`` with :func:`sympy.limit`."""
    import sympy as sp

    got = sp.limit(expr, var, point, dir=direction)
    expected = sp.sympify(expected)
    if got != expected and not (got.is_finite and sp.simplify(got - expected) == 0):
        raise AssertionError(f"({label}) limit is {got}, not {expected}")
    _report(label, f"limit as {var} -> {point} is {expected}")


def numerically(
    label: str,
    expr,
    symbols: Sequence,
    func: Callable[[np.ndarray], np.ndarray],
    points: np.ndarray,
    *,
    rtol: float = 16 * np.finfo(np.float64).eps,
    atol: float = 0.0,
    digits: int = 50,
    name: str | None = None,
) -> None:
    r"""Compare a SymPy result, evaluated with mpmath, against a ``ce_lib`` function in float64.

    Parameters
    ----------
    label : str
        The equation's label.
    expr : sympy.Expr or sympy.Matrix
        The symbolic result, in ``symbols``.
    symbols : sequence of sympy.Symbol
        The free variables, in the order of the columns of ``points``.
    func : callable
        Maps ``points`` (float64, shape ``(M, len(symbols))``) to the ``ce_lib``
        values, shape ``(M,)`` for a scalar ``expr`` or ``(M, k)`` for a matrix
        with ``k`` entries (row-major).
    points : ndarray, shape (M, len(symbols))
        Where to compare; include extreme magnitudes where naive formulas overflow.
    rtol, atol : float
        Pass if ``|ce_lib - reference| <= atol + rtol * |reference|`` everywhere.
        The default ``rtol`` is 16 machine epsilons of float64.
    digits : int
        mpmath working precision, in decimal digits.
    name : str, optional
        How to name ``func`` in the report; defaults to its ``__name__``.

    Raises
    ------
    AssertionError
        At the first point past the tolerance, naming it.
    """
    import mpmath
    import sympy as sp

    points = np.asarray(points, dtype=np.float64)
    if points.ndim == 1:
        points = points[:, None]
    f = sp.lambdify(list(symbols), expr, modules="mpmath")
    reference = []
    with mpmath.workdps(digits):
        for row in points:
            value = f(*[mpmath.mpf(float(v)) for v in row])
            entries = list(value) if isinstance(value, (mpmath.matrix, list, tuple)) else [value]
            reference.append([float(v.real if isinstance(v, mpmath.mpc) else v) for v in entries])
    ref = np.array(reference, dtype=np.float64)
    got = np.asarray(func(points), dtype=np.float64).reshape(ref.shape)
    with np.errstate(invalid="ignore"):
        err = np.abs(got - ref)
        ok = (err <= atol + rtol * np.abs(ref)) | (got == ref)
    if not ok.all():
        i = int(np.argwhere(~ok.all(axis=1))[0, 0])
        raise AssertionError(
            f"({label}) {name or func.__name__} differs from the SymPy reference at {points[i].tolist()}: "
            f"{got[i].tolist()} vs {ref[i].tolist()}"
        )
    tol = f"{rtol / np.finfo(np.float64).eps:.0f} eps relative" + (f" + {atol:g} absolute" if atol else "")
    _report(label, f"{name or func.__name__} matches the SymPy result at {len(points)} points (mpmath, {digits} digits), within {tol}")


def on_grid(label: str, holds: Callable[[np.ndarray], np.ndarray], points: np.ndarray, claim: str) -> None:
    """Assert that a claim (an inequality, say) holds at every point of a seeded grid.

    ``holds`` maps ``points`` to a boolean array, one entry per point (row).
    """
    points = np.asarray(points)
    result = np.asarray(holds(points), dtype=bool)
    if result.shape != points.shape[:1]:
        raise AssertionError(f"({label}) holds() must give one boolean per point, got shape {result.shape}")
    if not result.all():
        i = int(np.argmin(result))
        raise AssertionError(f"({label}) fails at {np.asarray(points[i]).tolist()}: {claim}")
    _report(label, f"{claim}: holds at all {len(points)} grid points")


def close(label: str, got, expected, *, rtol: float = 16 * np.finfo(np.float64).eps, atol: float = 0.0, what: str = "") -> None:
    """Assert that two float arrays agree elementwise within ``atol + rtol * |expected|``."""
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if got.shape != expected.shape:
        raise AssertionError(f"({label}) shapes differ: {got.shape} vs {expected.shape}")
    if not np.all((np.abs(got - expected) <= atol + rtol * np.abs(expected)) | (got == expected)):
        raise AssertionError(f"({label}) values differ: {got} vs {expected}")
    _report(label, what or "agrees numerically")


def within_range(expr):
    """Drop the ``Piecewise`` branches SymPy keeps for an index outside ``1..C``.

    Differentiating a sum :math:`\\sum_{m=1}^{C}` by an indexed symbol :math:`s_j` gives
    ``Piecewise((d, C >= j), (0, True))``: the derivative ``d`` when :math:`j \\le C`.
    For an index known to lie in ``1..C`` the first branch is the answer; this
    helper selects it, after checking that the condition is exactly of that form.
    """
    import sympy as sp

    def first_branch(pw):
        (value, condition) = pw.args[0]
        if not (isinstance(condition, sp.GreaterThan) and condition.lhs.is_Symbol and condition.rhs.is_Symbol):
            raise AssertionError(f"unexpected Piecewise condition {condition}; refusing to drop it")
        return value

    return expr.replace(lambda e: isinstance(e, sp.Piecewise), first_branch)


def identities(pairs: Iterable[tuple[str, object, object]]) -> None:
    """Apply :func:`identity` to several ``(label, lhs, rhs)`` triples."""
    for label, lhs, rhs in pairs:
        identity(label, lhs, rhs)


def central_difference(f: Callable[[np.ndarray], float], x: np.ndarray, h: float | None = None) -> np.ndarray:
    r"""Central differences of a scalar function of an array, one entry at a time.

    .. math:: \frac{\partial f}{\partial x_i} \approx \frac{f(x + h e_i) - f(x - h e_i)}{2h}

    The error is :math:`O(h^2)` from truncation plus :math:`O(\varepsilon / h)` from
    rounding; the default :math:`h = \varepsilon^{1/3}` (about 6e-6 in float64) balances
    them, leaving about 1e-10 relative to the scale of ``f``.

    Parameters
    ----------
    f : callable
        Maps an array of ``x``'s shape to a scalar.
    x : ndarray
        Where to differentiate (float64).
    h : float, optional
        The step; default :math:`\varepsilon^{1/3}` of float64.

    Returns
    -------
    ndarray
        The estimated gradient, ``x``'s shape.

    Examples
    --------
    >>> import numpy as np
    >>> from ce_lib.verify import central_difference
    >>> g = central_difference(lambda v: float(np.sum(v ** 3)), np.array([1.0, -2.0]))
    >>> bool(np.allclose(g, [3.0, 12.0], rtol=1e-9))
    True
    """
    x = np.asarray(x, dtype=np.float64)
    h = float(np.finfo(np.float64).eps ** (1 / 3)) if h is None else h
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[idx] = h
        grad[idx] = (f(x + step) - f(x - step)) / (2 * h)
    return grad

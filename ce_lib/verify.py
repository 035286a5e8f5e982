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

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "LEDGER_KINDS",
    "MARK",
    "central_difference",
    "cited",
    "classify",
    "close",
    "definition",
    "hand_proof",
    "identities",
    "identity",
    "limit",
    "numeric_counterexample",
    "numerically",
    "on_grid",
    "stated",
    "within_range",
]

MARK = "✔"


def _report(label: str, message: str) -> None:
    print(f"{MARK} ({label}) {message}")


def _is_zero(expr: Any) -> bool:
    """True only if SymPy can show ``expr`` is identically zero, by transformations valid under
    the symbols' declared assumptions (never ``force=True``, which ignores branch cuts)."""
    import sympy as sp

    if isinstance(expr, sp.MatrixBase):
        return all(_is_zero(e) for e in expr)
    candidates = (
        lambda e: e,
        lambda e: sp.simplify(_canonical_sums(e)) if e.has(sp.Sum) else e,
        sp.simplify,
        lambda e: sp.simplify(sp.expand(sp.together(e))),
        lambda e: sp.simplify(e.rewrite(sp.exp)),
        lambda e: sp.simplify(sp.expand_log(e)),
        lambda e: sp.simplify(sp.powsimp(sp.expand(e))),
    )
    for transform in candidates:
        if transform(expr) == 0:
            return True
    return False


def _canonical_sums(expr: Any) -> Any:
    """Rewrite finite sums into one canonical form, by two steps valid for any finite sum.

    A factor that does not depend on an inner sum's index moves inside it
    (``a_i * Sum(b_ik, k) -> Sum(a_i b_ik, k)``), nested sums become one sum over
    several indices, and when no bound depends on another index of the same sum the
    indices are put in a fixed order (exchanging finite sums). Nothing is done where
    an index would be captured or a bound depends on another index.
    """
    import sympy as sp

    def flatten(total: Any) -> Any:
        function, limits = total.function, list(total.limits)
        outer = {lim[0] for lim in limits}
        inner = [f for f in sp.Mul.make_args(function) if isinstance(f, sp.Sum)]
        if len(inner) == 1:
            rest = sp.Mul(*[f for f in sp.Mul.make_args(function) if f is not inner[0]])
            dummies = {lim[0] for lim in inner[0].limits}
            if not (rest.free_symbols & dummies) and not (dummies & outer):
                function, limits = rest * inner[0].function, list(inner[0].limits) + limits
        indices = {lim[0] for lim in limits}
        if not any((lim[1].free_symbols | lim[2].free_symbols) & indices for lim in limits):
            limits.sort(key=lambda lim: str(lim[0]))
        return sp.Sum(function, *limits)

    return expr.replace(lambda e: isinstance(e, sp.Sum), flatten)


# Sizes tried for the upper limit of a symbolic sum, and points drawn in all.
CHECK_SIZES = (1, 2, 3, 5)
CHECK_POINTS = 24
CHECK_DIGITS = 30


def _draw(sym: Any, rng: np.random.Generator, size: int | None) -> Any:
    """A random value that respects ``sym``'s declared assumptions (complex when none are declared)."""
    import sympy as sp

    top = size or 5
    if sym.is_integer:
        low = 1 if sym.is_positive else 0 if sym.is_nonnegative else -top
        high = -1 if sym.is_negative else 0 if sym.is_nonpositive else top
        return sp.Integer(int(rng.integers(low, high + 1)))
    magnitude = sp.Float(float(np.exp(rng.normal(0.0, 1.0))), CHECK_DIGITS)
    if sym.is_positive or sym.is_nonnegative:
        return magnitude
    if sym.is_negative or sym.is_nonpositive:
        return -magnitude
    if sym.is_real:
        return sp.Float(float(rng.normal(0.0, 2.0)), CHECK_DIGITS)
    # complex: imaginary parts well past +-pi, so branch cuts of log and powers are crossed
    return sp.Float(float(rng.normal(0.0, 2.0)), CHECK_DIGITS) + sp.I * sp.Float(float(rng.normal(0.0, 3.0)), CHECK_DIGITS)


def _sum_bounds(expr: Any) -> set[Any]:
    import sympy as sp

    return {upper for total in expr.atoms(sp.Sum, sp.Product) for (_, _, upper) in total.limits if isinstance(upper, sp.Symbol)}


def _evaluate_at(entries: Any, rng: np.random.Generator, size: int | None) -> tuple[np.ndarray | None, dict[Any, Any]]:
    """The SymPy matrix ``entries`` at one random point: (complex array, point), or (None, point) if undefined there."""
    import sympy as sp

    point: dict[Any, Any] = {}
    labels = {ind.base.label for ind in entries.atoms(sp.Indexed)}
    for sym in sorted(entries.free_symbols - labels, key=str):
        if isinstance(sym, sp.Symbol):
            point[sym] = _draw(sym, rng, size)
    concrete = entries.xreplace(point)
    while concrete.atoms(sp.Indexed):  # s[k] became s[2]: one value per entry, innermost first (Q[a[1], 2] after a[1])
        ready = [ind for ind in concrete.atoms(sp.Indexed) if not any(arg.atoms(sp.Indexed) for arg in ind.indices)]
        for ind in sorted(ready, key=str):
            if ind not in point:  # Q[a[1], 2] may have become a Q[2, 2] already drawn
                point[ind] = _draw(ind, rng, size)
        concrete = concrete.xreplace(point)
    value = sp.N(concrete.doit(), CHECK_DIGITS)
    if value.free_symbols:
        raise AssertionError(f"cannot evaluate numerically: {sorted(map(str, value.free_symbols))} left")
    if value.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        return None, point
    return np.array([complex(v) for v in value], dtype=complex).reshape(value.shape), point


def numeric_counterexample(lhs: Any, rhs: Any, *, seed: int = 0) -> dict[str, Any] | None:
    """A point where ``lhs`` and ``rhs`` differ numerically (mpmath, 30 digits), or ``None``.

    Points are drawn to respect each symbol's assumptions (complex where none are
    declared); a sum to a symbolic bound ``C`` is expanded at each size in
    ``CHECK_SIZES`` (1, 2, 3, 5), with integer indices drawn in ``1..C``. "Differ" means
    ``|lhs - rhs| > 1e-20 max(1, |lhs|, |rhs|)``. Points where a side is undefined are
    skipped; ``CHECK_POINTS`` (24) usable points are required in all.
    """
    import sympy as sp

    lhs, rhs = sp.sympify(lhs), sp.sympify(rhs)
    if isinstance(lhs, sp.MatrixBase) or isinstance(rhs, sp.MatrixBase):
        lhs, rhs = sp.Matrix(lhs), sp.Matrix(rhs)
        if lhs.shape != rhs.shape:
            return {"shapes": (lhs.shape, rhs.shape)}
        lhs, rhs = list(lhs), list(rhs)
    else:
        lhs, rhs = [lhs], [rhs]
    entries = sp.Matrix([[a - b, a, b] for a, b in zip(lhs, rhs)])
    rng = np.random.default_rng(seed)
    bounds = _sum_bounds(entries)
    sizes = CHECK_SIZES if bounds else (None,)
    per_size = -(-CHECK_POINTS // len(sizes))
    for size in sizes:
        at_size = entries.xreplace({b: size for b in bounds}).doit() if bounds else entries
        usable = 0
        for _ in range(20 * per_size):
            values, point = _evaluate_at(at_size, rng, size)
            if values is None:
                continue
            scale = np.maximum(1.0, np.maximum(np.abs(values[:, 1]), np.abs(values[:, 2])))
            if np.any(np.abs(values[:, 0]) > 1e-20 * scale):
                return {**({"C": size} if bounds else {}), **{str(k): v for k, v in point.items()}}
            usable += 1
            if usable == per_size:
                break
        if usable < per_size:
            raise AssertionError(f"only {usable} of {per_size} random points were usable (size {size})")
    return None


def _numbered_stems(expr: Any) -> dict[str, int]:
    """How many distinct numbered symbols (``s_1``, ``s_2``, ...) share each stem."""
    import re

    found: dict[str, set[str]] = {}
    for sym in expr.free_symbols:
        match = re.fullmatch(r"(.+?)_\{?(\d+)\}?", str(sym))
        if match:
            found.setdefault(match.group(1), set()).add(match.group(2))
    return {stem: len(numbers) for stem, numbers in found.items()}


def _check_identity(label: str, lhs: Any, rhs: Any) -> tuple[Any, Any]:
    """Raise unless SymPy shows ``lhs == rhs`` and mpmath finds no counterexample; return both sides."""
    import sympy as sp

    lhs, rhs = sp.sympify(lhs), sp.sympify(rhs)
    if not _is_zero(lhs - rhs):
        raise AssertionError(f"({label}) not shown: lhs - rhs = {sp.simplify(lhs - rhs)}")
    point = numeric_counterexample(lhs, rhs)
    if point is not None:
        raise AssertionError(f"({label}) SymPy reduced lhs - rhs to 0, but the sides differ at {point}")
    return lhs, rhs


def identity(label: str, lhs: Any, rhs: Any, *, size: str | None = None) -> None:
    """Assert that two SymPy expressions (or matrices) are identically equal.

    SymPy must reduce ``lhs - rhs`` to 0 by transformations valid under the symbols'
    declared assumptions; a numeric agreement alone never passes. Every symbolic
    yes is then cross-checked with mpmath at random points that respect those
    assumptions (:func:`numeric_counterexample`), which also catches SymPy bugs.

    The printed line says how general the check is, for the book's verification
    ledger: "for general C" when a side sums to a symbolic bound ``C``; "for"
    ``size`` when the author checks a fixed-size instance (three numbered symbols
    of one stem, such as ``s_1, s_2, s_3``, require ``size``, so that an instance is
    never reported as a general derivation); otherwise no size is involved.

    Parameters
    ----------
    label : str
        The label of the equation being checked, as written in the chapter.
    lhs, rhs : sympy.Expr or sympy.Matrix
        The two sides.
    size : str, optional
        The fixed size this instance is checked at, as the reader should read it,
        for example ``"C = 3"``.

    Raises
    ------
    AssertionError
        If SymPy cannot reduce ``lhs - rhs`` to 0, or if it does but the two sides
        differ numerically at some point (named in the message).
    ValueError
        If the sides look like a fixed-size instance and ``size`` is not given.
    """
    import sympy as sp

    lhs, rhs = _check_identity(label, lhs, rhs)
    both = sp.Matrix([lhs, rhs]) if not isinstance(lhs, sp.MatrixBase) else sp.Matrix.hstack(sp.Matrix(lhs), sp.Matrix(rhs))
    instance = {stem: n for stem, n in _numbered_stems(both).items() if n >= 3}
    if size is None and instance:
        raise ValueError(f"({label}) the sides use {instance} numbered symbols: a fixed-size instance; say which with size=...")
    general = sorted(map(str, _sum_bounds(both)))
    if size is not None:
        _report(label, f"holds symbolically for {size}")
    elif general:
        _report(label, f"holds symbolically for general {', '.join(general)}")
    else:
        _report(label, "holds symbolically")


def hand_proof(label: str, steps: Iterable[tuple[object, object]], claim: str) -> None:
    """Check every algebraic step of a proof that is written out by hand in the text.

    Used where the result (an inequality, say) is beyond SymPy but each equality the
    proof relies on is not: each ``(lhs, rhs)`` pair must pass the same test as
    :func:`identity`. What connects the steps (an inequality between terms, say) is
    the hand proof's and is not machine-checked; the printed line says so.
    """
    steps = list(steps)
    if not steps:
        raise ValueError("steps must list at least one (lhs, rhs) pair")
    for number, (lhs, rhs) in enumerate(steps, 1):
        _check_identity(f"{label}, step {number}", lhs, rhs)
    checked = "its algebraic step holds" if len(steps) == 1 else f"its {len(steps)} algebraic steps hold"
    _report(label, f"{claim}: hand proof in the text; {checked} symbolically")


def cited(label: str, source: str) -> None:
    """Declare that a labelled equation is a published result stated without derivation.

    The verification ledger lists it as *cited result, checked numerically*; the
    coverage test accepts that only when the chapter also checks it numerically.
    """
    if not source.strip():
        raise ValueError("source must name where the result is proved")
    _report(label, f"cited: {source}; not derived here")


def definition(label: str, what: str) -> None:
    """Declare that a labelled equation is a definition or a stated convention, so it is not derived.

    The verification ledger lists it as such; the coverage test accepts it only as
    that, never as a derivation. Use it for definitions and conventions only.
    """
    if not what.strip():
        raise ValueError("what must say what is defined or which convention is stated")
    _report(label, f"definition: {what}")


LEDGER_KINDS = (
    "derived in general",
    "hand proof, each step checked",
    "derived for a fixed size",
    "checked against mpmath",
    "checked numerically",
    "definition / convention",
    "cited result, checked numerically",
)
"""The kinds of check a verification line can report, strongest first."""


def classify(line: str) -> tuple[str, str, str] | None:
    """``(label, kind, detail)`` for one line a check printed, or ``None`` if it is not one.

    ``kind`` is one of :data:`LEDGER_KINDS`; ``detail`` is the rest of the line.

    Examples
    --------
    >>> from ce_lib import verify
    >>> verify.classify("✔ (eq-a) holds symbolically for C = 3")
    ('eq-a', 'derived for a fixed size', 'C = 3')
    >>> verify.classify("✔ (eq-b) ce_lib.f matches the SymPy result at 9 points (mpmath, 50 digits)")[1]
    'checked against mpmath'
    """
    import re

    match = re.fullmatch(rf"{MARK} \(([A-Za-z0-9_\-:.]+)\) (.*)", line.strip())
    if not match:
        return None
    label, message = match.groups()
    if message == "holds symbolically" or message.startswith("limit as "):
        return label, LEDGER_KINDS[0], message
    if message.startswith("holds symbolically for general "):
        return label, LEDGER_KINDS[0], message.removeprefix("holds symbolically ")
    if message.startswith("holds symbolically for "):
        return label, LEDGER_KINDS[2], message.removeprefix("holds symbolically for ")
    if "hand proof in the text" in message:
        return label, LEDGER_KINDS[1], message
    if "matches the SymPy result at" in message:
        return label, LEDGER_KINDS[3], message
    if message.startswith("definition: "):
        return label, LEDGER_KINDS[5], message.removeprefix("definition: ")
    if message.startswith("cited: "):
        return label, LEDGER_KINDS[6], message.removeprefix("cited: ")
    return label, LEDGER_KINDS[4], message


def limit(label: str, expr: Any, var: Any, point: Any, expected: Any, direction: str = "+-") -> None:
    """Assert ``lim_{var -> point} expr == expected`` with ``sympy.limit``."""
    import sympy as sp

    got = sp.limit(expr, var, point, dir=direction)
    expected = sp.sympify(expected)
    if got != expected and not (got.is_finite and sp.simplify(got - expected) == 0):
        raise AssertionError(f"({label}) limit is {got}, not {expected}")
    _report(label, f"limit as {var} -> {point} is {expected}")


def numerically(
    label: str,
    expr: Any,
    symbols: Sequence[Any],
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
    _report(
        label, f"{name or func.__name__} matches the SymPy result at {len(points)} points (mpmath, {digits} digits), within {tol}"
    )


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


def close(
    label: str, got: Any, expected: Any, *, rtol: float = 16 * np.finfo(np.float64).eps, atol: float = 0.0, what: str = ""
) -> None:
    """Assert that two float arrays agree elementwise within ``atol + rtol * |expected|``."""
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if got.shape != expected.shape:
        raise AssertionError(f"({label}) shapes differ: {got.shape} vs {expected.shape}")
    if not np.all((np.abs(got - expected) <= atol + rtol * np.abs(expected)) | (got == expected)):
        raise AssertionError(f"({label}) values differ: {got} vs {expected}")
    _report(label, what or "agrees numerically")


def within_range(expr: Any, bounds: dict[Any, Any]) -> Any:
    """Select the branch of each ``Piecewise`` that holds for indices declared to lie in ``1..upper``.

    Differentiating a sum :math:`\\sum_{m=1}^{C}` by an indexed symbol :math:`s_j` gives
    ``Piecewise((d, C >= j), (0, True))``: the derivative ``d`` when :math:`j \\le C`.
    ``bounds`` declares the range of each index, e.g. ``{j: C}`` for :math:`1 \\le j \\le C`;
    the first branch is taken only when its condition is exactly ``upper >= index`` for a
    declared pair and the index is declared a positive integer (so :math:`j \\ge 1`).
    Any other ``Piecewise`` is refused.

    Raises
    ------
    AssertionError
        For a condition that the declared bounds do not imply, or an index not
        declared a positive integer.
    """
    import sympy as sp

    for index in bounds:
        if not (index.is_integer and index.is_positive):
            raise AssertionError(f"index {index} must be declared a positive integer")
    allowed = {sp.Ge(upper, index) for index, upper in bounds.items()} | {sp.Le(index, upper) for index, upper in bounds.items()}

    def first_branch(pw: Any) -> Any:
        (value, condition) = pw.args[0]
        if condition not in allowed or len(pw.args) != 2 or pw.args[1][1] != sp.true:
            raise AssertionError(
                f"Piecewise condition {condition} does not follow from the declared bounds {bounds}; refusing to drop it"
            )
        return value

    return expr.replace(lambda e: isinstance(e, sp.Piecewise), first_branch)


def stated(value: Any, text: str) -> None:
    """Assert that ``value`` rounds to the number a sentence states, written as ``text``.

    The prose says "about 0.551 nats" or "about 4.2e-18": ``text`` is that number as
    written, and ``value`` must round to it at the precision it is written with (three
    decimals for ``"0.551"``, two significant digits for ``"4.2e-18"``, the units for
    ``"22"``). Silent when it holds, so a chapter's stored outputs do not change.

    Examples
    --------
    >>> import math
    >>> from ce_lib import verify
    >>> verify.stated(math.log(99), "4.595")
    >>> verify.stated(math.log(99), "4.594")
    Traceback (most recent call last):
    ...
    AssertionError: the text states 4.594, but the value 4.59511985013459 rounds to 4.595
    """
    value = float(value)
    mantissa, _, exponent = text.lower().partition("e")
    digits = len(mantissa.partition(".")[2])
    if not mantissa.lstrip("-").replace(".", "", 1).isdigit() or (exponent and not exponent.lstrip("+-").isdigit()):
        raise ValueError(f"text must be a plain decimal number such as '0.551' or '4.2e-18', got {text!r}")
    shown = f"{value:.{digits}e}" if exponent else f"{value:.{digits}f}"
    if float(shown) != float(text) or not np.isfinite(value):
        raise AssertionError(f"the text states {text}, but the value {value!r} rounds to {shown}")


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

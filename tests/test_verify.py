"""ce_lib.verify is sound: every check rejects false claims and passes the true ones the book relies on.

A checker that can say yes to a false step is worse than none, so most of this file
is false claims: branch cuts, sign errors, swapped arguments, off-by-one sums, a
transposed Jacobian, wrong limits. Each must be rejected.
"""

import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

import ce_lib
from ce_lib import symbolic, verify
from ce_lib.symbolic import sigmoid as sigma

x, y, a, b = sp.symbols("x y a b", real=True)
z, w = sp.symbols("z w")  # no assumptions: complex
p, q = sp.symbols("p q", positive=True)
pc, qc = sp.symbols("pbar qbar", positive=True)  # 1 - p and 1 - q
t = sp.symbols("t", real=True)
i, C = sp.symbols("i C", integer=True, positive=True)
s = sp.IndexedBase("s", real=True)
softplus = sp.log(1 + sp.exp(x))


J_, K_ = sp.symbols("j k", integer=True, positive=True)
N_ = sp.symbols("N", integer=True, positive=True)
X_ = sp.IndexedBase("x", integer=True, positive=True)  # class (or input) of sample k
Qv, Qm = sp.IndexedBase("q", positive=True), sp.IndexedBase("Q", positive=True)


def kl_bernoulli(u, v):
    return u * sp.log(u / v) + (1 - u) * sp.log((1 - u) / (1 - v))


def _jacobian_and_transpose():
    f = sp.Matrix([x * y, x + y**2, sp.exp(x)])
    jac = f.jacobian([x, y])
    return jac[:2, :], jac[:2, :].T


JAC, JAC_T = _jacobian_and_transpose()
A = sp.Matrix([[1, 2], [0, 3]])  # not symmetric
v = sp.Matrix([x, y])

FALSE_IDENTITIES = {
    # branch cuts: valid only for positive (or principal-branch) arguments
    "log of a real product": (sp.log(x * y), sp.log(x) + sp.log(y)),
    "log of a complex product": (sp.log(z * w), sp.log(z) + sp.log(w)),
    "log of a real quotient": (sp.log(x / y), sp.log(x) - sp.log(y)),
    "log of a real square": (sp.log(x**2), 2 * sp.log(x)),
    "log of a complex cube": (sp.log(z**3), 3 * sp.log(z)),
    "power of a real power": ((a**2) ** b, a ** (2 * b)),
    "power of a complex power": ((z**2) ** w, z ** (2 * w)),
    "square root of a real square": (sp.sqrt(x**2), x),
    "square root of a complex square": (sp.sqrt(z**2), z),
    "square root of a real product": (sp.sqrt(x * y), sp.sqrt(x) * sp.sqrt(y)),
    "log of exp, complex": (sp.log(sp.exp(z)), z),
    "real power of exp, complex": (sp.exp(z) ** a, sp.exp(a * z)),
    # sign errors
    "sigmoid derivative sign": (sp.diff(sigma(x), x), sigma(x) * (sigma(x) - 1)),
    "log-sigmoid derivative": (sp.diff(sp.log(sigma(x)), x), sigma(x)),
    "softplus derivative": (sp.diff(softplus, x), sigma(-x)),
    "sigmoid symmetry sign": (sigma(-x), sigma(x) - 1),
    "BCE gradient sign": (sp.diff(-(t * sp.log(sigma(x)) + (1 - t) * sp.log(1 - sigma(x))), x), t - sigma(x)),
    # swapped arguments
    "symmetric KL": (kl_bernoulli(p, q), kl_bernoulli(q, p)),
    "KL split into logs, p not declared below 1": (
        kl_bernoulli(p, q),
        -(p * sp.log(q) + (1 - p) * sp.log(1 - q)) + (p * sp.log(p) + (1 - p) * sp.log(1 - p)),
    ),
    "symmetric cross-entropy": (-(p * sp.log(q) + (1 - p) * sp.log(1 - q)), -(q * sp.log(p) + (1 - q) * sp.log(1 - p))),
    # off-by-one indices
    "sum missing its last term": (sp.Sum(s[i], (i, 1, C)), sp.Sum(s[i], (i, 1, C - 1)) + s[1]),
    "sum of 1..C": (sp.Sum(i, (i, 1, C)), C * (C - 1) / 2),
    "sum from 0": (sp.Sum(sp.exp(s[i]), (i, 0, C)), sp.Sum(sp.exp(s[i]), (i, 1, C))),
    "softmax over one class too many": (
        sp.exp(s[1]) / sp.Sum(sp.exp(s[i]), (i, 1, C + 1)),
        sp.exp(s[1]) / sp.Sum(sp.exp(s[i]), (i, 1, C)),
    ),
    # exchanging sums: with a bound that depends on the other index, or with the bounds swapped
    "triangular sums exchanged with wrong bounds": (sp.Sum(J_, (J_, 1, i), (i, 1, C)), sp.Sum(J_, (i, 1, J_), (J_, 1, C))),
    "counts with samples and classes swapped": (
        sp.Sum(sp.KroneckerDelta(X_[K_], i) * sp.log(Qv[i]), (i, 1, C), (K_, 1, N_)),
        sp.Sum(sp.Sum(sp.KroneckerDelta(X_[K_], i), (K_, 1, C)) * sp.log(Qv[i]), (i, 1, N_)),
    ),
    "a factor that depends on the inner index moved out": (
        sp.Sum(sp.Sum(s[K_] * s[i], (K_, 1, N_)), (i, 1, C)),
        sp.Sum(s[i] * s[i] * N_, (i, 1, C)),
    ),
    "nested index: wrong conditional entry": (sp.log(Qm[X_[K_], X_[i]]), sp.log(Qm[X_[i], X_[K_]])),
    # a transposed Jacobian, a non-symmetric quadratic form's gradient
    "transposed Jacobian": (JAC, JAC_T),
    "gradient of v^T A v": (sp.Matrix([sp.diff((v.T * A * v)[0], u) for u in v]), 2 * A * v),
}


@pytest.mark.parametrize("name", FALSE_IDENTITIES)
def test_identity_rejects_a_false_claim(name):
    lhs, rhs = FALSE_IDENTITIES[name]
    with pytest.raises(AssertionError):
        verify.identity(name, lhs, rhs)


BRANCH_CUT_CLAIMS = [k for k in FALSE_IDENTITIES if k.startswith(("log", "power", "square root", "real power"))]


@pytest.mark.parametrize("name", [*BRANCH_CUT_CLAIMS, "sum missing its last term", "sum from 0", "symmetric KL"])
def test_the_numeric_cross_check_alone_finds_a_counterexample(name):
    """Were SymPy ever to say yes to one of these (a SymPy bug, or force=True), the numbers say no."""
    lhs, rhs = FALSE_IDENTITIES[name]
    assert verify.numeric_counterexample(lhs, rhs) is not None


def test_the_numeric_cross_check_names_the_size_of_a_sum():
    lhs, rhs = FALSE_IDENTITIES["sum missing its last term"]
    point = verify.numeric_counterexample(lhs, rhs)
    assert point["C"] >= 2  # with C = 1 both sides are s_1


def test_identity_raises_when_sympy_says_zero_but_the_numbers_disagree(monkeypatch):
    monkeypatch.setattr(verify, "_is_zero", lambda expr: True)  # a SymPy that wrongly says yes
    with pytest.raises(AssertionError, match="differ at"):
        verify.identity("eq-bug", sp.log(x * y), sp.log(x) + sp.log(y))


general = symbolic.general_softmax()
k, j, m, Z, S = general.k, general.j, general.m, general.Z, general.s
TRUE_IDENTITIES = {
    "sigmoid symmetry": (sigma(-x), 1 - sigma(x)),
    "sigmoid derivative": (sp.diff(sigma(x), x), sigma(x) * sigma(-x)),
    "logit inverts the sigmoid": (sp.log(sigma(x) / (1 - sigma(x))), x),
    "log of a positive product": (sp.log(p * q), sp.log(p) + sp.log(q)),
    "two-class softmax is a sigmoid": (sp.exp(x) / (sp.exp(x) + sp.exp(y)), sigma(x - y)),
    "BCE gradient": (sp.diff(-(t * sp.log(sigma(x)) + (1 - t) * sp.log(1 - sigma(x))), x), sigma(x) - t),
    "softmax sums to one, general C": (sp.factor_terms(sp.Sum(general.q(k), (k, 1, general.C))).xreplace({m: k}), 1),
    "softmax shift invariance, general C": (
        sp.factor_terms(sp.expand_power_exp(sp.exp(S[k] + x) / sp.Sum(sp.exp(S[m] + x), (m, 1, general.C)))),
        general.q(k),
    ),
    "softmax Jacobian, general C": (
        verify.within_range(sp.diff(general.q(k), S[j]).doit(), {j: general.C}),
        general.q(k) * (sp.KroneckerDelta(k, j) - general.q(j)),
    ),
    "cross-entropy gradient, general C": (
        verify.within_range(sp.diff(-S[j] + sp.log(Z), S[k]).doit(), {k: general.C}),
        general.q(k) - sp.KroneckerDelta(k, j),
    ),
    # with p, q only declared positive, 1 - p may be negative: state the complements as positive symbols
    "KL as cross-entropy minus entropy": (
        p * sp.log(p / q) + pc * sp.log(pc / qc),
        -(p * sp.log(q) + pc * sp.log(qc)) + (p * sp.log(p) + pc * sp.log(pc)),
    ),
    "gradient of v^T A v": (sp.Matrix([sp.diff((v.T * A * v)[0], u) for u in v]), (A + A.T) * v),
    "samples grouped by class, general C and N": (
        sp.Sum(sp.KroneckerDelta(X_[K_], i) * sp.log(Qv[i]), (i, 1, C), (K_, 1, N_)),
        sp.Sum(sp.Sum(sp.KroneckerDelta(X_[K_], i), (K_, 1, N_)) * sp.log(Qv[i]), (i, 1, C)),
    ),
    "finite sums exchanged, general C and N": (
        sp.Sum(s[i] * s[K_], (i, 1, C), (K_, 1, N_)),
        sp.Sum(s[i] * s[K_], (K_, 1, N_), (i, 1, C)),
    ),
}


@pytest.mark.parametrize("name", TRUE_IDENTITIES)
def test_identity_passes_a_true_claim(name, capsys):
    lhs, rhs = TRUE_IDENTITIES[name]
    verify.identity(name, lhs, rhs)
    sums = sp.Matrix([lhs, rhs]).atoms(sp.Sum) if not isinstance(lhs, sp.MatrixBase) else lhs.atoms(sp.Sum) | rhs.atoms(sp.Sum)
    bounds = sorted({str(lim[2]) for total in sums for lim in total.limits if lim[2].is_Symbol})
    expected = f"holds symbolically for general {', '.join(bounds)}" if sums else "holds symbolically"
    assert capsys.readouterr().out == f"✔ ({name}) {expected}\n"


def test_identity_names_a_fixed_size_and_refuses_to_call_an_instance_general(capsys):
    s1, s2, s3 = sp.symbols("s_1 s_2 s_3", real=True)
    lse3 = sp.log(sp.exp(s1) + sp.exp(s2) + sp.exp(s3))
    with pytest.raises(ValueError, match="size"):
        verify.identity("eq-x", sp.diff(lse3, s1), sp.exp(s1) / sp.exp(lse3))
    verify.identity("eq-x", sp.diff(lse3, s1), sp.exp(s1) / sp.exp(lse3), size="C = 3")
    assert capsys.readouterr().out == "✔ (eq-x) holds symbolically for C = 3\n"
    with pytest.raises(AssertionError):  # a size does not make a false claim pass
        verify.identity("eq-x", sp.diff(lse3, s1), sp.exp(s2) / sp.exp(lse3), size="C = 3")


def test_hand_proof_checks_every_step(capsys):
    good = [(sp.log(p * q), sp.log(p) + sp.log(q)), (sp.exp(sp.log(p)), p)]
    verify.hand_proof("eq-y", good, "a claim")
    assert "its 2 algebraic steps hold symbolically" in capsys.readouterr().out
    verify.hand_proof("eq-y", good[:1], "a claim")
    assert capsys.readouterr().out.endswith("hand proof in the text; its algebraic step holds symbolically\n")
    for wrong in ((sp.log(x * y), sp.log(x) + sp.log(y)), (sigma(x).diff(x), sigma(x) * (sigma(x) - 1))):
        with pytest.raises(AssertionError, match="step 3"):
            verify.hand_proof("eq-y", [*good, wrong], "a claim")
    with pytest.raises(ValueError):
        verify.hand_proof("eq-y", [], "nothing")


def test_definition_and_citation_need_a_description():
    with pytest.raises(ValueError):
        verify.definition("eq-z", "  ")
    with pytest.raises(ValueError):
        verify.cited("eq-z", "")


@pytest.mark.parametrize(
    "line, kind",
    [
        ("✔ (eq-a) holds symbolically", "derived in general"),
        ("✔ (eq-a) holds symbolically for general C", "derived in general"),
        ("✔ (eq-a) limit as T -> 0 is 0", "derived in general"),
        ("✔ (eq-a) holds symbolically for C = 3", "derived for a fixed size"),
        ("✔ (eq-a) bounds: hand proof in the text; its 3 algebraic steps hold symbolically", "hand proof, each step checked"),
        ("✔ (eq-a) ce_lib.f matches the SymPy result at 9 points (mpmath, 50 digits)", "checked against mpmath"),
        ("✔ (eq-a) a claim: holds at all 9 grid points", "checked numerically"),
        ("✔ (eq-a) agrees numerically", "checked numerically"),
        ("✔ (eq-a) definition: the softmax", "definition / convention"),
        ("✔ (eq-a) cited: Poole et al. 2019; not derived here", "cited result, checked numerically"),
    ],
)
def test_classify_reads_each_kind_of_line(line, kind):
    assert verify.classify(line)[:2] == ("eq-a", kind)


def test_classify_ignores_other_output():
    assert verify.classify("holds symbolically") is None and verify.classify("✔ no label") is None


def test_within_range_needs_declared_bounds():
    derivative = sp.diff(Z, S[j]).doit()
    assert verify.within_range(derivative, {j: general.C}) == sp.exp(S[j])
    with pytest.raises(AssertionError, match="declared"):
        verify.within_range(derivative, {k: general.C})  # the bound of another index
    with pytest.raises(AssertionError, match="positive integer"):
        verify.within_range(derivative, {sp.Symbol("j", integer=True): general.C})  # j >= 1 not declared


@pytest.mark.parametrize(
    "expr, point, expected",
    [(sigma(x), sp.oo, 0), (x * sp.log(x), 0, 1), (softplus, -sp.oo, -sp.oo), (sp.sin(x) / x, 0, 0)],
    ids=["sigmoid at +inf", "x log x at 0", "softplus at -inf", "sinc at 0"],
)
def test_limit_rejects_a_wrong_limit(expr, point, expected):
    with pytest.raises(AssertionError):
        verify.limit("eq-wrong", expr, x, point, expected, direction="+" if point == 0 else "+-")


def test_limit_passes_a_right_limit(capsys):
    verify.limit("eq-e", sigma(x), x, sp.oo, 1)
    verify.limit("eq-f", x * sp.log(x), x, 0, 0, direction="+")
    assert capsys.readouterr().out.count("✔") == 2


def test_numerically_passes_and_fails():
    pts = np.linspace(-800, 800, 81)
    verify.numerically("eq-a", sigma(x), [x], lambda P: ce_lib.sigmoid(P[:, 0]), pts)
    with pytest.raises(AssertionError, match="eq-b"):  # off by 1e-12: far past 16 eps
        verify.numerically("eq-b", sigma(x), [x], lambda P: 1 / (1 + np.exp(-P[:, 0]) + 1e-12), pts[30:50])
    with pytest.raises(AssertionError, match="eq-c"):  # the sign error of the sigmoid's symmetry
        verify.numerically("eq-c", sigma(-x), [x], lambda P: ce_lib.sigmoid(P[:, 0]) - 1, pts[30:50])


def test_on_grid_passes_and_fails():
    verify.on_grid(
        "eq-c", lambda P: ce_lib.logsumexp(P) >= P.max(axis=1), np.random.default_rng(0).normal(size=(50, 3)), "lse >= max"
    )
    with pytest.raises(AssertionError, match="eq-d"):
        verify.on_grid("eq-d", lambda P: P[:, 0] > 0, np.array([[1.0], [-1.0]]), "positive")
    with pytest.raises(AssertionError, match="eq-d2"):  # lse <= max is false everywhere but ties
        verify.on_grid(
            "eq-d2", lambda P: ce_lib.logsumexp(P) <= P.max(axis=1), np.random.default_rng(1).normal(size=(5, 3)), "lse <= max"
        )


def test_close_passes_and_fails():
    verify.close("eq-g", ce_lib.softmax([0.0, 0.0]), [0.5, 0.5])
    with pytest.raises(AssertionError, match="eq-h"):
        verify.close("eq-h", ce_lib.softmax([1.0, 0.0]), [0.5, 0.5])
    with pytest.raises(AssertionError, match="shapes"):
        verify.close("eq-i", [1.0, 2.0], [1.0, 2.0, 3.0])


def test_central_difference_matches_and_catches_a_wrong_gradient():
    z0 = np.array([0.3, -1.2, 2.0])
    numeric = verify.central_difference(lambda u: float(np.sum(ce_lib.softplus(u))), z0)
    np.testing.assert_allclose(numeric, ce_lib.sigmoid(z0), rtol=1e-8)
    assert not np.allclose(numeric, ce_lib.sigmoid(-z0), rtol=1e-3)  # the sign error of FALSE_IDENTITIES


def test_importing_ce_lib_does_not_import_sympy():
    code = "import sys, ce_lib; ce_lib.softmax([1.0, 2.0]); print('sympy' in sys.modules, 'mpmath' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False False"


@pytest.mark.parametrize(
    "value, text",
    [
        (np.log(99), "4.595"),
        (4.248354255291589e-18, "4.2e-18"),
        (21.93, "22"),
        (-4.54e-05, "-4.5e-5"),
        (0.25, "0.25"),
        (1.9999, "2.000"),
    ],
)
def test_stated_accepts_a_number_rounded_as_written(value, text):
    verify.stated(value, text)


@pytest.mark.parametrize(
    "value, text",
    [
        (np.log(99), "4.594"),  # last digit wrong
        (np.log(99), "4.6e1"),  # wrong exponent
        (3976.0, "1000"),  # "about 1 000 times" when it is about 3 976
        (4.248e-18, "4.3e-18"),  # wrong rounding
        (-0.105, "0.105"),  # sign error
        (0.5514, "0.552"),  # rounds to 0.551
        (float("nan"), "0.0"),
        (float("inf"), "1e308"),
    ],
)
def test_stated_rejects_a_number_the_value_does_not_round_to(value, text):
    with pytest.raises(AssertionError):
        verify.stated(value, text)


@pytest.mark.parametrize("text", ["about 3", "1/2", "", "4.2x10^-18"])
def test_stated_needs_a_plain_number(text):
    with pytest.raises(ValueError, match="text"):
        verify.stated(1.0, text)

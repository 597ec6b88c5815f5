"""The scorecheck Python package: closed forms, callables against expressions, every error
path, to_dict against the command line's JSON, figures."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import scorecheck

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / "target" / "release" / "scorecheck"


def within(q, ref):
    """The reported error covers the distance to the closed form."""
    assert q.status == "ok", q
    assert abs(q.value - ref) <= q.error, (q.value, ref, q.error)


# --- closed forms ---------------------------------------------------------------------------


def test_half_normal_boundary():
    # p ∝ e^{-x²/2} on (0, ∞), s = −(x − 1). Normalised p(0) = √(2/π); the boundary term at
    # the lower end is −p(0)s(0) = −√(2/π)·1. The integral of s p′ = E[x(x−1)] = 1 − √(2/π)
    # (E x = √(2/π), E x² = 1), and −∫p s′ = 1, so lhs = boundary + rhs.
    r = scorecheck.check(log_density="-x^2/2", field=["-(x-1)"], domain=[(0, math.inf)])
    within(r.cross.boundary, -math.sqrt(2 / math.pi))
    within(r.cross.lhs, 1 - math.sqrt(2 / math.pi))
    within(r.cross.rhs, 1.0)
    assert r.verdict.ibp == "holds"
    assert r.verdict.boundary == "nonzero"
    assert r.outcome == "violated" and r.exit_code == 1


def test_gauss_mismatch_objectives():
    # p = N(0, 1), s = −(x − μ)/σ²: esm = E½(s + x)² with s + x = x(1 − 1/σ²) + μ/σ², so
    # esm = ½[(1 − 1/σ²)² + μ²/σ⁴]; ism = E[½s² + s′] = ½(1 + μ²)/σ⁴ − 1/σ²; const = ½E x² = ½.
    mu, sg = 0.3, 1.4
    r = scorecheck.check(log_density="-x^2/2", field=["-(x-mu)/s^2"], params={"mu": mu, "s": sg})
    s2 = sg * sg
    within(r.objective.esm, 0.5 * ((1 - 1 / s2) ** 2 + mu * mu / s2**2))
    within(r.objective.ism, 0.5 * (1 + mu * mu) / s2**2 - 1 / s2)
    within(r.objective.const, 0.5)
    assert r.verdict.boundary == "vanishes" and r.outcome == "holds"
    assert r.params.to_dict() == {"mu": mu, "s": sg}


def test_pdf_and_log_model():
    # Exponential(1) on (0, ∞) with its own score s = −1: Z = 1, p(0)s(0) = −1, so the
    # boundary term −p(0)s(0) = 1; const = ½.
    r = scorecheck.check(pdf="exp(-x)", log_model="-x", domain=(0, math.inf))
    within(r.normalizer, 1.0)
    within(r.cross.boundary, 1.0)
    within(r.objective.const, 0.5)


def test_weighted_and_attribute_access():
    # Uniform on (0, 1), s = 1, weight h = x(1 − x) vanishes at both ends: the weighted
    # boundary term ∮ h p s = 0 while the plain one is p(1)s(1) − p(0)s(0) = 0 as well.
    r = scorecheck.check(log_density="0*x", field=["1"], domain=[(0, 1)], weight="x*(1-x)")
    assert r.weighted.weight == "x*(1-x)"
    assert r["objective"]["const"].value == r.objective.const.value
    assert "objective" in dir(r)
    with pytest.raises(AttributeError, match="no field 'nope'"):
        r.nope


# --- to_dict against the command line -------------------------------------------------------


def cli(*args):
    if not BIN.exists():
        pytest.skip(f"{BIN} is not built (cargo build --release builds it; .ci/run does)")
    return subprocess.run([str(BIN), *args], capture_output=True, text=True)


def test_to_dict_equals_cli_json_flags():
    r = scorecheck.check(log_density="-x^2/2", field=["-(x-1)"], domain=[(0, math.inf)], name="half")
    p = cli("check", "--log-density", "-x^2/2", "--score", "-(x-1)", "--domain", "0:inf", "--name", "half", "--json")
    assert p.returncode == r.exit_code == 1
    assert r.to_dict() == json.loads(p.stdout)


def test_to_dict_equals_cli_json_file_2d(tmp_path):
    f = tmp_path / "g2.toml"
    f.write_text(
        'params = { mu = 0.2 }\n[density]\nlog = "-(x^2 + y^2)/2"\n[score]\nfield = ["-(x-mu)", "-y"]\n'
    )
    r = scorecheck.check(f, params={"mu": 0.5})
    p = cli("check", str(f), "--param", "mu=0.5", "--json")
    assert p.returncode == r.exit_code
    assert r.to_dict() == json.loads(p.stdout)
    case = scorecheck.load(f)
    assert case.params == {"mu": 0.2}
    assert case.check(params={"mu": 0.5}).to_dict() == r.to_dict()


def test_score_explain_estimate_sweep_match_cli(tmp_path):
    f = tmp_path / "well.toml"
    f.write_text('[density]\nlog = "-(x^2-1)^2/4"\n[score]\nlog_model = "-(x^2-1)^2/4"\nfield = ["-(x^2-1)"]\n')
    s = scorecheck.score(f)
    p = cli("score", str(f), "--json")
    assert s.outcome == "disagrees" and p.returncode == 1
    assert s.to_dict() == json.loads(p.stdout)
    e = scorecheck.explain(f)
    p = cli("explain", str(f), "--json")
    assert e.to_dict() == json.loads(p.stdout)
    assert e._repr_markdown_() == cli("explain", str(f), "--markdown").stdout
    est = scorecheck.estimate(f, n=2000, seed=3)
    p = cli("estimate", str(f), "--n", "2000", "--seed", "3", "--json")
    assert est.to_dict() == json.loads(p.stdout)
    g = tmp_path / "m.toml"
    g.write_text('params = { mu = 0 }\n[density]\nlog = "-x^2/2"\n[score]\nfield = ["-(x-mu)"]\n')
    sw = scorecheck.sweep(g, params={"mu": np.linspace(-1, 1, 5)})
    p = cli("sweep", str(g), "--param", "mu=-1:1:5", "--json")
    assert sw.to_dict() == json.loads(p.stdout)


def test_sweep_columns_are_numpy():
    # p = N(0,1), s = −(x − μ): esm = ½E μ² = μ²/2, const = ½.
    mu = np.linspace(-1, 2, 7)
    sw = scorecheck.sweep(log_density="-x^2/2", field=["-(x-mu)"], params={"mu": mu})
    assert isinstance(sw.column("esm"), np.ndarray)
    np.testing.assert_array_equal(sw.column("mu"), mu)
    assert np.all(np.abs(sw.column("esm") - mu**2 / 2) <= sw.column("esm.error"))
    assert list(sw.column("verdict.ibp")) == ["holds"] * 7
    assert "<table>" in sw._repr_html_()


# --- renderings and figures -----------------------------------------------------------------


def test_html_and_figure(tmp_path):
    r = scorecheck.check(log_density="-x^2/2", field=["-x"])
    h = r._repr_html_()
    assert "<table>" in h and "esm" in h and "holds" in h
    fig = scorecheck.plot(log_density="-x^2/2", field=["-(x-1)"], domain=[(0, math.inf)], kind="identity")
    svg = fig._repr_svg_()
    assert svg.lstrip().startswith("<svg") or "<svg" in svg[:200]
    fig.save(tmp_path / "x.png")
    assert (tmp_path / "x.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    fig.save(tmp_path / "x.svg")
    assert "<svg" in (tmp_path / "x.svg").read_text()[:300]
    with pytest.raises(scorecheck.BadInput, match=r"\.svg or \.png"):
        fig.save(tmp_path / "x.jpg")
    b = scorecheck.plot(log_density="-(x^2+y^2)/2", field=["-x", "-y"], kind="boundary")
    assert "<svg" in b.svg()[:300]


# --- errors ---------------------------------------------------------------------------------


def test_bad_expression_has_cli_message_and_caret():
    with pytest.raises(scorecheck.BadInput) as e:
        scorecheck.check(log_density="-x^2/2 +* 3", field=["-x"])
    assert isinstance(e.value, ValueError)
    msg = str(e.value)
    assert msg.startswith("log_density: missing operand")
    assert msg.splitlines()[1].strip() == "-x^2/2 +* 3" and msg.splitlines()[2].strip() == "^"
    p = cli("check", "--log-density", "-x^2/2 +* 3", "--score", "-x")
    assert p.returncode == 2
    # The same message after the origin (the CLI names the flag, Python the argument).
    assert p.stderr.split(": ", 1)[1].split(":", 1)[1].strip() == msg.split(":", 1)[1].strip()


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(field=["-x"]), "give the density"),
        (dict(log_density="-x^2", pdf="exp(-x^2)", field=["-x"]), "not both"),
        (dict(log_density="-x^2"), "give the score"),
        (dict(log_density="-(x^2+y^2)", field=["-x"]), "the field has 1 component"),
        (dict(log_density="-x^2", field=["-x"], domain=[(1, 0)]), "is empty"),
        (dict(log_density="-x^2", field=["-x"], domain=[(0, "foo")]), "not a parameter"),
        (dict(log_density="-x^2", field=["-x"], params={"pi": 1.0}), "shadow the constant"),
        (dict(log_density="-x^2", field=["-x"], tol=-1), "tol must be a positive number"),
        (dict(log_density="-x^2", field=["-x"], max_evals=0), "max_evals must be at least 1"),
        (dict(log_density="0*x", field=["-x"]), "not integrable"),
        (dict(pdf="0*x", field=["-x"]), "zero or undefined everywhere"),
        (dict(log_density="-x^2", field=["-x"], vars=["pi"]), "shadow the constant"),
        (dict(log_density="-x^2", field=["-x"], breaks=[[0.0], [1.0]]), "`breaks` has 2 lists"),
    ],
)
def test_bad_input(kw, match):
    with pytest.raises(scorecheck.BadInput, match=match):
        scorecheck.check(**kw)


def test_bad_case_file_and_overrides(tmp_path):
    with pytest.raises(scorecheck.BadInput, match="no such file"):
        scorecheck.load(tmp_path / "missing.toml")
    f = tmp_path / "c.toml"
    f.write_text('[density]\nlog = "-x^2"\n[score]\nfield = ["-x"]\nfoo = 1\n')
    with pytest.raises(scorecheck.BadInput, match=r"c\.toml:5.*unknown field `foo`"):
        scorecheck.load(f)
    g = tmp_path / "g.toml"
    g.write_text('[density]\nlog = "-x^2"\n[score]\nfield = ["-x"]\n')
    with pytest.raises(scorecheck.BadInput, match="unknown parameter `mu`"):
        scorecheck.check(g, params={"mu": 1.0})
    with pytest.raises(scorecheck.BadInput, match="cannot be combined with a case file"):
        scorecheck.check(g, field=["-x"])
    with pytest.raises(scorecheck.BadInput, match="kind must be"):
        scorecheck.plot(g, kind="nope")
    with pytest.raises(scorecheck.BadInput, match="sampler must be"):
        scorecheck.estimate(g, sampler="nope")
    with pytest.raises(TypeError, match="unexpected keyword"):
        scorecheck.check(g, tolerance=1)


# --- Python functions as the model ----------------------------------------------------------

R = 0.5  # correlation of the 2-D Gaussian below
C = 1 / (1 - R * R)
LD2 = "-(x^2 - 2*0.5*x*y + y^2)/(2*(1-0.25))"


def lp2(X):
    x, y = X[:, 0], X[:, 1]
    return -(x * x - 2 * R * x * y + y * y) * C / 2


def grad2(X):
    x, y = X[:, 0], X[:, 1]
    return np.stack([-(x - R * y) * C, -(y - R * x) * C], axis=1)


def assert_same_report(a, b, rel=1e-12):
    """Same points (evals), same verdicts, values equal to rounding."""

    def walk(u, v, path):
        if isinstance(u, dict):
            assert u.keys() == v.keys(), path
            for k in u:
                walk(u[k], v[k], f"{path}.{k}")
        elif isinstance(u, list):
            assert len(u) == len(v), path
            for i, (x, y) in enumerate(zip(u, v)):
                walk(x, y, f"{path}[{i}]")
        elif isinstance(u, float) and isinstance(v, float):
            # Values to rounding: the same points, and sums of the same products, differ by
            # ulps (1e-12 relative, or 1e-15 for values that are differences near 0). An
            # error estimate is itself a difference of two rules' values of size ~1, so its
            # rounding is ~1e-16 absolute, ~1e-8 relative to an error of 1e-8.
            r = 1e-6 if path.endswith(".error") else rel
            assert abs(u - v) <= r * max(abs(u), abs(v)) + 1e-15, (path, u, v)
        else:
            assert u == v, (path, u, v)

    da, db = a.to_dict(), b.to_dict()
    for k in ("notes", "explanations", "flux", "modes"):
        da.pop(k, None), db.pop(k, None)
    walk(da, db, "report")


def test_callables_match_expressions_1d():
    kw = dict(domain=[(0, math.inf)])
    a = scorecheck.check(log_density="-x^2/2", field=["-(x-1)"], **kw)
    b = scorecheck.check(
        log_density=lambda X: -X[:, 0] ** 2 / 2,
        grad_log_density=lambda X: -X,
        field=lambda X: -(X - 1),
        divergence=lambda X: -np.ones(len(X)),
        **kw,
    )
    assert_same_report(a, b)
    within(b.cross.boundary, -math.sqrt(2 / math.pi))


def test_callables_match_expressions_2d_and_batches():
    # A correlated Gaussian with the field −x (not its score): lhs_i = E[s_i ∂_i log p] =
    # E[x_i (Σ⁻¹x)_i] = 1 for each i, rhs_i = −E ∂_i s_i = 1.
    a = scorecheck.check(log_density=LD2, field=["-x", "-y"])
    sizes = []

    def field(X):
        sizes.append(len(X))
        return -X

    b = scorecheck.check(
        log_density=lp2, grad_log_density=grad2, field=field, divergence=lambda X: -np.ones_like(X), vars=["x", "y"]
    )
    assert_same_report(a, b)
    within(b.components[0].lhs, 1.0)
    within(b.components[1].rhs, 1.0)
    # The cubature's batches reach the functions whole.
    assert max(sizes) >= 1024
    big = [n for n in sizes if n >= 1024]
    assert sum(big) >= 0.5 * sum(sizes)
    assert scorecheck.calls_of(b).points >= sum(sizes)


def test_a_divergence_of_one_value_per_point_checks_the_summed_identity():
    # ∇·s as (n,) in 2-D (what torch.func/jax give as the trace of the Jacobian): the
    # per-variable terms are unknown, so the identity is checked for their sum, one component
    # "x+y". The same correlated Gaussian and field −x: lhs = Σ_i E[x_i (Σ⁻¹x)_i] = 2 and
    # rhs = −E ∇·s = 2, the boundary 0. With Σ = [[1, ½], [½, 1]] (Σ⁻¹ = [[1, −½], [−½, 1]]/¾):
    # ism = E[½|x|² − 2] = ½ tr Σ − 2 = −1 and esm = ½E|(Σ⁻¹ − I)x|² = ½ tr(Σ⁻¹ − 2I + Σ) = 1/3.
    b = scorecheck.check(
        log_density=lp2, grad_log_density=grad2, field=lambda X: -X, divergence=lambda X: -2 * np.ones(len(X)),
        vars=["x", "y"],
    )
    assert [c.var for c in b.components] == ["x+y"]
    within(b.components[0].lhs, 2.0)
    within(b.components[0].rhs, 2.0)
    within(b.cross.rhs, 2.0)
    within(b.objective.ism, -1.0)
    within(b.objective.esm, 1 / 3)
    assert b.verdict.ibp == "holds" and b.verdict.boundary == "vanishes"
    assert any("∇·s only" in n for n in b.notes)
    # A wrong divergence (−1 instead of −2) is caught on the sum: rhs = 1 against lhs = 2.
    bad = scorecheck.check(
        log_density=lp2, grad_log_density=grad2, field=lambda X: -X, divergence=lambda X: -np.ones(len(X)),
        vars=["x", "y"],
    )
    assert bad.verdict.ibp == "violated"
    within(bad.components[0].rhs, 1.0)


# A 2-D Gaussian mixture (unit covariances, means M), in numpy: log p, its score and the
# Jacobian's diagonal ∂_i s_i = Σ_k w_k (m_ki − x_i)² − s_i² − 1 (w the responsibilities).
M = np.array([[-1.0, 0.0], [1.5, 0.5]])
LSE = "logsumexp(-((x+1)^2 + y^2)/2, -((x-1.5)^2 + (y-0.5)^2)/2)"


def mix_logp(X):
    a = -0.5 * ((X[:, None, :] - M[None]) ** 2).sum(axis=2)
    top = a.max(axis=1)
    return top + np.log(np.exp(a - top[:, None]).sum(axis=1))


def mix_score(X):
    a = -0.5 * ((X[:, None, :] - M[None]) ** 2).sum(axis=2)
    w = np.exp(a - a.max(axis=1, keepdims=True))
    w /= w.sum(axis=1, keepdims=True)
    return (w[:, :, None] * (M[None] - X[:, None, :])).sum(axis=1)


def mix_jac_diag(X):
    a = -0.5 * ((X[:, None, :] - M[None]) ** 2).sum(axis=2)
    w = np.exp(a - a.max(axis=1, keepdims=True))
    w /= w.sum(axis=1, keepdims=True)
    d = M[None] - X[:, None, :]
    s = (w[:, :, None] * d).sum(axis=1)
    return (w[:, :, None] * d**2).sum(axis=1) - s**2 - 1


def test_callables_2d_mixture_few_calls():
    # The target: a 2-D check makes at most a few hundred Python calls. Locating the
    # modes evaluates all its searches together (before: ~1500 calls of one point each, and
    # 2116 calls in all for this check); measured 474 calls.
    a = scorecheck.check(log_density=LSE, log_model=LSE)
    sizes = []

    def counted(f):
        def g(X):
            sizes.append(len(X))
            return f(X)

        return g

    b = scorecheck.check(
        log_density=counted(mix_logp),
        grad_log_density=counted(mix_score),
        field=counted(mix_score),
        divergence=counted(mix_jac_diag),
        vars=["x", "y"],
    )
    assert_same_report(a, b)
    assert b.verdict.ibp == "holds"
    calls = scorecheck.calls_of(b)
    assert calls.calls == len(sizes)
    assert calls.calls <= 500, calls
    # No search of the modes one point at a time (the last rounds of a lockstep search may
    # have one or two searches left: measured 14 calls of fewer than 8 points).
    assert sum(1 for n in sizes if n < 8) <= 30, sorted(sizes)[:40]


def test_mixed_expression_density_callable_field():
    a = scorecheck.check(log_density=LD2, field=["-x", "-y"])
    b = scorecheck.check(log_density=LD2, field=lambda X: -X, divergence=lambda X: -np.ones_like(X), vars=["x", "y"])
    assert_same_report(a, b)


def test_weighted_callables_match_expressions():
    # Uniform p on (0, 1) with s = x and the weight h = x(1 − x): the same report either way.
    kw = dict(domain=[(0, 1)], weight="x*(1-x)")
    a = scorecheck.check(log_density="0*x", field=["x"], **kw)
    b = scorecheck.check(
        log_density=lambda X: np.zeros(len(X)),
        grad_log_density=lambda X: np.zeros_like(X),
        field=lambda X: X.copy(),
        divergence=lambda X: np.ones(len(X)),
        vars=["x"],
        **kw,
    )
    assert_same_report(a, b)
    # Plain boundary term p(1)s(1) − p(0)s(0) = 1; the weighted one vanishes (h = 0 at both ends).
    within(b.cross.boundary, 1.0)
    within(b.weighted.cross.boundary, 0.0)


def test_explain_with_callables():
    e = scorecheck.explain(log_density="-x^2/2", field=lambda X: -X, divergence=lambda X: -np.ones(len(X)), vars=["x"])
    assert e.outcome == "holds" and "derivation" in e._repr_markdown_()


def test_callable_exception_propagates_with_traceback():
    def field(X):
        raise KeyError("planted")

    with pytest.raises(KeyError, match="planted") as e:
        scorecheck.check(log_density="-x^2/2", field=field, divergence=lambda X: -np.ones(len(X)), vars=["x"])
    assert any(t.name == "field" for t in e.traceback)


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(field=lambda X: -X[:, 0], divergence=lambda X: -np.ones(len(X))), r"field returned .*shape \(\d+,\).*must return shape \(\d+, 2\)"),
        (
            dict(field=lambda X: -X, divergence=lambda X: -2 * np.ones(len(X)) if len(X) == 2 else -np.ones_like(X)),
            r"divergence returned .*shape \(\d+, 2\).*gave ∇·s as one value per point before",
        ),
        (dict(field=lambda X: -X, divergence=lambda X: "no"), r"divergence must return a float array"),
        (dict(field=lambda X: -X), r"give divergence="),
    ],
)
def test_callable_shape_errors_name_the_function(kw, match):
    with pytest.raises(scorecheck.BadInput, match=match):
        scorecheck.check(log_density=LD2, vars=["x", "y"], **kw)


def test_callable_log_density_errors():
    with pytest.raises(scorecheck.BadInput, match="grad_log_density"):
        scorecheck.check(log_density=lp2, field=["-x", "-y"], vars=["x", "y"])
    with pytest.raises(scorecheck.BadInput, match=r"log_density returned .*shape"):
        scorecheck.check(log_density=lambda X: X, grad_log_density=grad2, field=["-x", "-y"], vars=["x", "y"])
    with pytest.raises(scorecheck.BadInput, match="number of variables"):
        scorecheck.check(log_density=lp2, grad_log_density=grad2, field=["-x", "-y"])
    with pytest.raises(scorecheck.BadInput, match="expressions only"):
        scorecheck.score(log_density=lp2, grad_log_density=grad2, field=["-x", "-y"], vars=["x", "y"])


def test_callable_nan_where_p_has_mass_is_named():
    # s = 1/x is NaN/inf at x = 0 only, but log(x) in the field is NaN for x < 0, where the
    # standard normal has half its mass.
    with pytest.raises(scorecheck.BadInput, match=r"field \(a Python function\) returned NaN"):
        scorecheck.check(
            log_density="-x^2/2",
            field=lambda X: np.log(X),
            divergence=lambda X: 1 / X,
            vars=["x"],
        )
    with pytest.raises(scorecheck.BadInput, match=r"log_density .*NaN"):
        scorecheck.check(
            log_density=lambda X: np.where(X[:, 0] > 1, np.nan, -X[:, 0] ** 2 / 2),
            grad_log_density=lambda X: -X,
            field=["-x"],
            vars=["x"],
        )


def test_example_script_catches_the_planted_bug():
    p = subprocess.run([sys.executable, str(ROOT / "python" / "examples" / "check_a_score.py")], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "correct score: holds" in p.stdout
    assert "planted bug caught" in p.stdout


def test_expression_check_releases_the_gil():
    # While a 2-D expression check runs in another thread, this thread keeps running Python:
    # with the GIL held for the whole check, it would stall for the check's whole duration T.
    import threading
    import time

    lse = "logsumexp(-((x+1)^2 + y^2)/2, -((x-1.5)^2 + (y-0.5)^2)/2)"
    run = lambda: scorecheck.check(log_density=lse, log_model=lse, tol=1e-10)  # noqa: E731
    t0 = time.perf_counter()
    run()
    T = time.perf_counter() - t0
    done = threading.Event()
    th = threading.Thread(target=lambda: (run(), done.set()))
    stamps = [time.perf_counter()]
    th.start()
    while not done.is_set():
        stamps.append(time.perf_counter())
    th.join()
    gap = max(b - a for a, b in zip(stamps, stamps[1:]))
    assert gap < 0.5 * T, (gap, T)

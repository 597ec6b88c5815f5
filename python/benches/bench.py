"""Timings of the Python package against the in-process Rust engine (issue 16).

1. A 1-D expression check through Python against the same check in Rust (the binary's
   in-process time printed by `cargo run --release --example time_check`, the median of
   repeated library calls): the target is within 2x.
2. A 2-D check with numpy functions against the same case from expressions (both through
   Python): the target is within 3x. The mixture is written twice in numpy, for k components
   with broadcasts and for its two components by hand; most of the difference is the time
   inside the numpy functions themselves (printed last).

Run (after `pip install ./python`):  python python/benches/bench.py
"""

import math
import statistics
import time

import numpy as np

import scorecheck


def best(f, reps):
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return min(ts), statistics.median(ts)


def one_d():
    kw = dict(log_density="-x^2/2", field=["-(x-1)"], domain=[(0, math.inf)])
    case = scorecheck.case(**kw)
    return best(lambda: scorecheck.check(case), 50)


M = np.array([[-1.0, 0.0], [1.5, 0.5]])
LSE = "logsumexp(-((x+1)^2 + y^2)/2, -((x-1.5)^2 + (y-0.5)^2)/2)"


def log_p(X):
    a = -0.5 * ((X[:, None, :] - M[None]) ** 2).sum(axis=2)
    top = a.max(axis=1)
    return top + np.log(np.exp(a - top[:, None]).sum(axis=1))


def resp(X):
    a = -0.5 * ((X[:, None, :] - M[None]) ** 2).sum(axis=2)
    w = np.exp(a - a.max(axis=1, keepdims=True))
    return w / w.sum(axis=1, keepdims=True)


def score(X):
    return (resp(X)[:, :, None] * (M[None] - X[:, None, :])).sum(axis=1)


def jac_diag(X):
    w = resp(X)
    a = M[None] - X[:, None, :]
    s = (w[:, :, None] * a).sum(axis=1)
    return (w[:, :, None] * a**2).sum(axis=1) - s**2 - 1


# The same mixture written for its two components (no (n, k, d) broadcasts): what a user who
# writes this one law by hand would write. ∂_i s_i = Σ_k w_k (m_ki − x_i)² − s_i² − 1.
M0, M1 = M[0], M[1]


def _halves(X):
    d0, d1 = M0[None] - X, M1[None] - X
    a0, a1 = -0.5 * (d0 * d0).sum(axis=1), -0.5 * (d1 * d1).sum(axis=1)
    return d0, d1, a0, a1


def log_p2(X):
    _, _, a0, a1 = _halves(X)
    return np.logaddexp(a0, a1)


def score2(X):
    d0, d1, a0, a1 = _halves(X)
    w1 = (1.0 / (1.0 + np.exp(a0 - a1)))[:, None]
    return d0 + w1 * (d1 - d0)


def jac_diag2(X):
    d0, d1, a0, a1 = _halves(X)
    w1 = (1.0 / (1.0 + np.exp(a0 - a1)))[:, None]
    s = d0 + w1 * (d1 - d0)
    return d0 * d0 + w1 * (d1 * d1 - d0 * d0) - s * s - 1


def two_d(reps=5):
    expr = lambda: scorecheck.check(log_density=LSE, log_model=LSE)  # noqa: E731
    fns = lambda: scorecheck.check(  # noqa: E731
        log_density=log_p, grad_log_density=score, field=score, divergence=jac_diag, vars=["x", "y"]
    )
    lean = lambda: scorecheck.check(  # noqa: E731
        log_density=log_p2, grad_log_density=score2, field=score2, divergence=jac_diag2, vars=["x", "y"]
    )
    a, b, c = expr(), fns(), lean()
    assert abs(c.objective.esm.value - a.objective.esm.value) <= a.objective.esm.error + c.objective.esm.error
    return best(expr, reps), best(fns, reps), best(lean, reps), scorecheck.calls_of(b), a, b


def inside_functions():
    """Seconds spent inside the user's four functions during one 2-D check."""
    spent = [0.0]

    def timed(f):
        def g(X):
            t = time.perf_counter()
            try:
                return f(X)
            finally:
                spent[0] += time.perf_counter() - t

        return g

    t = time.perf_counter()
    scorecheck.check(
        log_density=timed(log_p),
        grad_log_density=timed(score),
        field=timed(score),
        divergence=timed(jac_diag),
        vars=["x", "y"],
    )
    return time.perf_counter() - t, spent[0]


if __name__ == "__main__":
    (m1, med1) = one_d()
    print(f"1-D expression check through Python: min {m1 * 1e3:.3f} ms, median {med1 * 1e3:.3f} ms")
    (ea, eam), (fa, fam), (la, lam), calls, a, b = two_d()
    print(f"2-D mixture from expressions: min {ea * 1e3:.1f} ms, median {eam * 1e3:.1f} ms")
    print(f"2-D mixture from numpy functions (k components broadcast): min {fa * 1e3:.1f} ms, median {fam * 1e3:.1f} ms ({calls})")
    print(f"2-D mixture from numpy functions (two components by hand): min {la * 1e3:.1f} ms, median {lam * 1e3:.1f} ms")
    print(f"ratio functions/expressions (min): broadcast {fa / ea:.2f}, by hand {la / ea:.2f}")
    total, inside = min((inside_functions() for _ in range(3)), key=lambda p: p[0])
    print(f"of one check with functions ({total * 1e3:.1f} ms), {inside * 1e3:.1f} ms inside the numpy functions, {(total - inside) * 1e3:.1f} ms in the package and engine")
    print(f"evals expr {a.cross.lhs.evals} / functions {b.cross.lhs.evals}; esm {a.objective.esm.value:.3e} / {b.objective.esm.value:.3e}")

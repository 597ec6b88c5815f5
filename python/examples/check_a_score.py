"""Check a hand-written numpy score of a 2-D Gaussian mixture, and catch a planted bug.

    p = ½ N(m₁, I) + ½ N(m₂, I),   s(x) = Σ_k w_k(x) (m_k − x)   with responsibilities w_k.

The score's Jacobian diagonal, by hand: ∂_i w_k = w_k (a_ki − s_i) with a_k = m_k − x, so
∂_i s_i = Σ_k w_k a_ki² − s_i² − 1. The planted bug drops the responsibilities' derivative
(∂_i s_i = −1, as for one Gaussian): the two sides of the integration by parts then differ,
and scorecheck says "violated".

Run: python python/examples/check_a_score.py
"""

import numpy as np

import scorecheck

M = np.array([[-1.0, 0.0], [1.5, 0.5]])


def log_p(X):
    a = -0.5 * ((X[:, None, :] - M[None]) ** 2).sum(axis=2)  # (n, 2 components)
    top = a.max(axis=1)
    return top + np.log(np.exp(a - top[:, None]).sum(axis=1))


def responsibilities(X):
    a = -0.5 * ((X[:, None, :] - M[None]) ** 2).sum(axis=2)
    w = np.exp(a - a.max(axis=1, keepdims=True))
    return w / w.sum(axis=1, keepdims=True)


def score(X):
    w = responsibilities(X)
    return (w[:, :, None] * (M[None] - X[:, None, :])).sum(axis=1)


def jac_diag(X):
    w = responsibilities(X)
    a = M[None] - X[:, None, :]  # (n, k, d)
    s = (w[:, :, None] * a).sum(axis=1)
    return (w[:, :, None] * a**2).sum(axis=1) - s**2 - 1


def jac_diag_buggy(X):
    return -np.ones_like(X)


common = dict(log_density=log_p, grad_log_density=score, field=score, vars=["x", "y"])
good = scorecheck.check(divergence=jac_diag, **common)
print(f"correct score: {good.verdict.ibp}; esm = {good.objective.esm.value:.3e} ± {good.objective.esm.error:.1e}")
bad = scorecheck.check(divergence=jac_diag_buggy, **common)
print(f"buggy divergence: {bad.verdict.ibp}")
for c in bad.components:
    print(f"  {c.var}: lhs = {c.lhs.value:.6f}, boundary + rhs = {c.boundary.value + c.rhs.value:.6f}")
ok = good.verdict.ibp == "holds" and good.outcome == "holds" and bad.verdict.ibp == "violated"
print("planted bug caught" if ok else "NOT caught")
raise SystemExit(0 if ok else 1)

"""Mass of one box of the steep rotated banana with one Gaussian coordinate: the reference of
quad::cubature's test a_convex_flank_rising_to_the_edge_is_a_hidden_peak, independent of
scorecheck.

The law (unnormalised): p̃ = exp(−u1²/2 − r²/(2v) − z²/2) with u1 = c·dx + s·dy,
u2 = −s·dx + c·dy, r = u2 − b·u1², (dx, dy) = (x − x0, y − y0). The map (x, y) → (u1, r) has
Jacobian 1, and for fixed u1, x and y are linear in r:
    x = x0 + c·u1 − s·(r + b·u1²),   y = y0 + s·u1 + c·(r + b·u1²),
so the box x ∈ [xa, xb], y ∈ [ya, yb] is an interval of r, whose mass under exp(−r²/(2v)) is
√(2πv)·(Φ(hi/√v) − Φ(lo/√v)). The integral over u1 of that times exp(−u1²/2) is a composite
8-point Gauss–Legendre sum on [−12, 12] in 30,000 panels (the integrand has kinks where the
interval's ends switch, so the panels are many); the z factor is an erf difference.
Needs numpy. Printed: 5.6150e-07 (the same rule over the whole plane gives 2π√v to a
relative 1.1e-13).
"""
import math

import numpy as np

c, s = -9.432442914791157e-1, -3.3209969375484394e-1
x0, y0 = -2.504949680703243, 1.2763723168441248
b, v = 1.1979953864378023, 1.149331234304062e-1
xa, xb, ya, yb, za, zb = 0.4365, 6.3193, -13.3765, -12.8555, 0.0, 1.3333

g, wg = np.polynomial.legendre.leggauss(8)
L, P = 12.0, 30000
edges = np.linspace(-L, L, P + 1)
h = (edges[1] - edges[0]) / 2
u1 = ((edges[:-1] + h)[:, None] + h * g[None, :]).ravel()
w1 = np.tile(wg * h, P)
q = b * u1**2
lo = np.full_like(u1, -np.inf)
hi = np.full_like(u1, np.inf)
for a_, b_, coef, off in [(xa, xb, -s, x0 + c * u1), (ya, yb, c, y0 + s * u1)]:
    t1 = (a_ - off) / coef - q
    t2 = (b_ - off) / coef - q
    lo = np.maximum(lo, np.minimum(t1, t2))
    hi = np.minimum(hi, np.maximum(t1, t2))
erf = np.vectorize(math.erf)
sv = math.sqrt(2 * v)
inner = np.where(hi > lo, math.sqrt(2 * math.pi * v) * 0.5 * (erf(hi / sv) - erf(lo / sv)), 0.0)
ixy = float((np.exp(-u1**2 / 2) * w1 * inner).sum())
iz = math.sqrt(math.pi / 2) * (math.erf(zb / math.sqrt(2)) - math.erf(za / math.sqrt(2)))
print(f"{ixy * iz:.4e}")

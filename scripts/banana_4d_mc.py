"""Monte Carlo cross-check of esm = E½|s − ∇log p|² for the 4-D banana of
tests/data/banana_4d_steep.toml (the test steep_rotated_banana_in_3d_and_4d_covers_after_its_budget),
independent of scorecheck and of the closed form in tests/it/honesty.rs.

The law: u1 ~ N(0, 1), u2 = b·u1² + N(0, v), (x, y) = m + Rᵀ(u1, u2) with R = [[c, s], [−s, c]];
z and w standard normal with s = −z, −w there (their terms of esm vanish). Needs numpy.
Printed (seed 1, 20 × 2e6 draws): 36.688576421891 ± 0.010474699515158, against the closed
form's 36.6816272671202.
"""
import numpy as np

rng = np.random.default_rng(1)
c, s = -9.432442914791157e-1, -3.3209969375484394e-1
m = np.array([-2.504949680703243, 1.2763723168441248])
b, v = 1.1979953864378023, 1.149331234304062e-1
A = np.array([[-1.7527133173481044, 3.3725022504829466e-1],
              [-3.781007115249719e-2, -1.6063661455527112]])
cc = np.array([-9.431542737012972e-1, -7.027540518356963e-1])
means = []
for _ in range(20):
    n = 2_000_000
    u1 = rng.standard_normal(n)
    r = np.sqrt(v) * rng.standard_normal(n)
    u2 = b * u1**2 + r
    x = m[0] + c * u1 - s * u2
    y = m[1] + s * u1 + c * u2
    # ∇log p in (u1, u2), then in (x, y) through u = R (x − m).
    g1 = -u1 + 2 * b * u1 * r / v
    g2 = -r / v
    gx, gy = c * g1 - s * g2, s * g1 + c * g2
    sx = A[0, 0] * x + A[0, 1] * y + cc[0]
    sy = A[1, 0] * x + A[1, 1] * y + cc[1]
    means.append((0.5 * ((sx - gx) ** 2 + (sy - gy) ** 2)).mean())
means = np.array(means)
print(means.mean(), "±", means.std() / np.sqrt(len(means)))

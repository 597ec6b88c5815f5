#!/usr/bin/env python3
"""Independent values (mpmath quadrature at 30 digits) for tests/it/stable_densities.rs, where a
quantity has no closed form. Prints NAME = VALUE lines.

    /tmp/venv/bin/python scripts/e2e_values.py
"""
import mpmath as mp

mp.mp.dps = 30
inf = mp.inf

# Skew-normal p ∝ φ(x)Φ(a x), a = 4, field s = -x: const = ½E[(∂ log p)²] with
# ∂ log p = -x + a φ(a x)/Φ(a x).
a = 4
p = lambda x: mp.npdf(x) * mp.ncdf(a * x)
Z = mp.quad(p, [-inf, 0, inf])
g = lambda x: -x + a * mp.npdf(a * x) / mp.ncdf(a * x)
print("skew_const =", mp.nstr(mp.quad(lambda x: p(x) * g(x) ** 2, [-inf, 0, inf]) / Z / 2, 20))

# Mixture ¼N(2,1) + ¾N(-2,1): const = ½E[(∂ log p)²].
q = lambda x: 0.25 * mp.npdf(x - 2) + 0.75 * mp.npdf(x + 2)
dq = lambda x: -0.25 * (x - 2) * mp.npdf(x - 2) - 0.75 * (x + 2) * mp.npdf(x + 2)
Zq = mp.quad(q, [-inf, -2, 0, 2, inf])
print("mix_const =", mp.nstr(mp.quad(lambda x: dq(x) ** 2 / q(x), [-inf, -2, 0, 2, inf]) / Zq / 2, 20))

# Continuous Poisson p ∝ 3^x/Γ(x+1) on [0, ∞), s = ln 3 - ψ(x+1) (= ∂ log p):
# Z, boundary = -p(0)s(0) = -(ln 3 + γ)/Z, const = ½E s², rhs = -E[s'] = E[ψ'(x+1)].
r = lambda x: mp.power(3, x) / mp.gamma(x + 1)
Zr = mp.quad(r, [0, 3, 10, inf])
s = lambda x: mp.log(3) - mp.digamma(x + 1)
print("poisson_Z =", mp.nstr(Zr, 20))
print("poisson_boundary =", mp.nstr(-(mp.log(3) + mp.euler) / Zr, 20))
print("poisson_const =", mp.nstr(mp.quad(lambda x: r(x) * s(x) ** 2, [0, 3, 10, inf]) / Zr / 2, 20))
print("poisson_rhs =", mp.nstr(mp.quad(lambda x: r(x) * mp.psi(1, x + 1), [0, 3, 10, inf]) / Zr, 20))

# von Mises k = 2 on [-π, π], s = -k sin x: E cos x = I1(k)/I0(k);
# lhs = rhs = k I1/I0, const = k I1/(2 I0), ism = -const.
k = 2
print("vm_lhs =", mp.nstr(k * mp.besseli(1, k) / mp.besseli(0, k), 20))

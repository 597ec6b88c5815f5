#!/usr/bin/env python3
"""Reference values of the expression language's special functions, at 50 significant digits
with mpmath (an independent implementation), for tests/it/functions.rs.

Prints one line per (function, point): name, x, f(x), f'(x), f''(x), f'''(x), each rounded to
17 significant digits. Derivatives are mpmath's numerical differentiation (mp.diff) at 60 digits
of working precision, not the closed forms the Rust code uses.

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install mpmath
    /tmp/venv/bin/python scripts/special_values.py > tests/data/special_values.tsv
"""
import mpmath as mp

mp.mp.dps = 60

def cbrt(x):
    return mp.sign(x) * mp.cbrt(abs(x))

def normcdf(x):
    return mp.ncdf(x)

def lognormcdf(x):
    # log1p(-Φ(-x)) above 0: Φ(30) = 1 - 5e-198 would round to 1 at 60 digits.
    return mp.log(mp.ncdf(x)) if x <= 0 else mp.log1p(-mp.ncdf(-x))

FUNCS = {
    "log1p": (mp.log1p, ["-0.5", "1e-10", "0.3", "5", "1e10"]),
    "expm1": (mp.expm1, ["-30", "-1e-8", "1e-10", "0.5", "20"]),
    "log2": (lambda x: mp.log(x, 2), ["0.1", "3", "1e5"]),
    "log10": (mp.log10, ["0.1", "3", "1e5"]),
    "cbrt": (cbrt, ["-27", "0.5", "10"]),
    "erf": (mp.erf, ["-6", "-2", "-0.3", "0", "0.7", "3", "6"]),
    "erfc": (mp.erfc, ["-3", "0", "0.5", "5", "10", "26"]),
    "normcdf": (normcdf, ["-38", "-10", "-3", "0", "1.5", "8"]),
    "lognormcdf": (lognormcdf, ["-1e4", "-300", "-40", "-38", "-30.5", "-29.5", "-12.5", "-10.5", "-9.5", "-6", "-3",
                                "-0.5", "0", "2", "8", "30"]),
    "lgamma": (lambda x: mp.log(abs(mp.gamma(x))),
               ["-2.5", "-0.5", "0.1", "1", "1.4616", "2.5", "7.3", "10", "12.5", "150", "1e5"]),
    "gamma": (mp.gamma, ["-2.5", "0.1", "0.5", "4.2", "30", "150"]),
    "softplus": (lambda x: mp.log1p(mp.exp(x)), ["-800", "-30", "-1", "0", "2", "40", "800"]),
    "sigmoid": (lambda x: 1 / (1 + mp.exp(-x)), ["-800", "-40", "-2", "0", "3", "40", "800"]),
    "logsigmoid": (lambda x: -mp.log1p(mp.exp(-x)), ["-800", "-40", "-2", "0", "3", "40", "800"]),
}

for name, (f, points) in FUNCS.items():
    for p in points:
        x = mp.mpf(p)
        vals = [f(x)] + [mp.diff(f, x, n) for n in (1, 2, 3)]
        print("\t".join([name, p] + [mp.nstr(v, 17) for v in vals]))

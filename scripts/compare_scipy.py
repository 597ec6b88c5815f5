#!/usr/bin/env python3
"""Compare scorecheck with what users do today: sympy to differentiate, scipy.integrate
(quad in 1-D, nquad in 2-D and up) to integrate, on the benchmark cases in benches/cases/.

Run through scripts/compare-scipy.sh, which makes the Python environment and builds scorecheck.
Direct use (inside that environment):

    python scripts/compare_scipy.py --bin target/release/scorecheck [--time-limit 180]

For each case it prints both tools' wall time, evaluation count and largest error against the
closed forms below, as a Markdown table on stdout, and writes the same table to
target/compare-scipy.md (--out to change).

The scipy side is written the way a user would write it: parse the case's expressions with sympy,
differentiate with sympy, lambdify to plain Python `math` functions, and run one quad/nquad per
quantity (Z, lhs_i, rhs_i, esm, ism, const), each at epsabs = epsrel = the tolerance of its
dimension, everything else at scipy's defaults. Each case runs in its own subprocess with a
wall-time limit, so a case that does not finish is reported as such and the others still run.
"""

import argparse
import json
import math
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import tomllib

# ---------------------------------------------------------------------------------------------
# Closed forms. Each was derived by hand and checked symbolically with sympy (Gaussian cases) or
# with 30-digit mpmath quadrature (Laplace, mixture); see the comments.
# Keys: Z (the normalizer of the unnormalized density as written in the case file), lhs and rhs
# (one per variable), esm, ism, const. `None` for a quantity means no reference.
# ---------------------------------------------------------------------------------------------
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
E_M_HALF = math.exp(-0.5)

CLOSED_FORMS = {
    # p ∝ exp(-x²/2), s = -x = ∂ log p. Z = √(2π); lhs = E[x²] = 1 = rhs = -E[-1];
    # esm = 0 (s is the score); ism = E[x²/2 - 1] = -1/2; const = E[x²]/2 = 1/2.
    "1d-gauss": dict(Z=math.sqrt(2 * math.pi), lhs=[1.0], rhs=[1.0], esm=0.0, ism=-0.5, const=0.5),
    # Half-normal on [0, ∞): p ∝ exp(-x²/2), s = -(x-1). Z = √(π/2), E x = √(2/π), E x² = 1.
    # lhs = E[s ∂log p] = E[x(x-1)] = 1 - √(2/π); rhs = -E[∂s] = 1 (boundary -p(0)s(0) = -√(2/π));
    # esm = ½E[(-(x-1) + x)²] = ½; ism = E[½(x-1)² - 1] = -√(2/π); const = ½E[x²] = ½.
    "1d-half-line": dict(
        Z=math.sqrt(math.pi / 2),
        lhs=[1 - SQRT_2_OVER_PI],
        rhs=[1.0],
        esm=0.5,
        ism=-SQRT_2_OVER_PI,
        const=0.5,
    ),
    # Laplace p ∝ exp(-|x|), s = -x, ∂log p = -sign x. Z = 2, E|x| = 1, E x² = 2.
    # lhs = E[x sign x] = E|x| = 1; rhs = 1; esm = ½E[(|x| - 1)²] = ½(2 - 2 + 1) = ½;
    # ism = E[x²/2 - 1] = 0; const = ½E[sign² x] = ½.
    "1d-kink": dict(Z=2.0, lhs=[1.0], rhs=[1.0], esm=0.5, ism=0.0, const=0.5),
    # p = (N(-4,1) + N(4,1))/2 from p̃ = exp(-(x-4)²/2) + exp(-(x+4)²/2): Z = 2√(2π), Var p = 17.
    # s = -x/5: rhs = 1/5; lhs = 1/5 too (no boundary); ism = E[x²/50] - 1/5 = 0.14.
    # const = ½E[(-x + 4 tanh 4x)²] has no closed form: the value below is 30-digit mpmath
    # quadrature (split at -4, 0, 4), and esm = ism + const since the boundary term vanishes.
    "1d-mixture": dict(
        Z=2 * math.sqrt(2 * math.pi),
        lhs=[0.2],
        rhs=[0.2],
        esm=0.14 + 0.499214250527854411860058080045,
        ism=0.14,
        const=0.499214250527854411860058080045,
    ),
    # Correlated Gaussian, unit variances, ρ = 0.6: Z = 2π√(1-ρ²) = 8π/5. s = (-x, -y), whose
    # divergence is -2. lhs_i = rhs_i = 1; ism = E[(x²+y²)/2] - 2 = -1;
    # const = ½E|Σ⁻¹v|² = ½ tr Σ⁻¹ = 1/(1-ρ²) = 25/16; esm = 1/(1-ρ²) - 1 = 9/16.
    "2d-corr": dict(
        Z=2 * math.pi * math.sqrt(1 - 0.36),
        lhs=[1.0, 1.0],
        rhs=[1.0, 1.0],
        esm=9 / 16,
        ism=-1.0,
        const=25 / 16,
    ),
    # N(0, I₃), s = (-x³, sin y, -z + xy). lhs = rhs = (E 3x², -E cos y, 1) = (3, -e^{-1/2}, 1);
    # esm = 25/4 - e^{-2}/4 + e^{-1/2}; ism = 19/4 - e^{-2}/4 + e^{-1/2}; const = 3/2.
    "3d-nonlinear": dict(
        Z=(2 * math.pi) ** 1.5,
        lhs=[3.0, -E_M_HALF, 1.0],
        rhs=[3.0, -E_M_HALF, 1.0],
        esm=25 / 4 - math.exp(-2) / 4 + E_M_HALF,
        ism=19 / 4 - math.exp(-2) / 4 + E_M_HALF,
        const=1.5,
    ),
    # N(0, I₄), s = (-a³, sin b, -c + ad, cos d). lhs = rhs = (3, -e^{-1/2}, 1, 0);
    # esm = 7 + e^{-1/2}; ism = 5 + e^{-1/2}; const = 2.
    "4d-nonlinear": dict(
        Z=(2 * math.pi) ** 2,
        lhs=[3.0, -E_M_HALF, 1.0, 0.0],
        rhs=[3.0, -E_M_HALF, 1.0, 0.0],
        esm=7 + E_M_HALF,
        ism=5 + E_M_HALF,
        const=2.0,
    ),
}

# Default scipy tolerances (epsabs = epsrel) per dimension; scorecheck gets the same `--tol`.
# The issue asks for quad / nquad at 1e-10. In 3-D, nquad at 1e-10 took 226 s (239M evaluations)
# on the 2-core development machine, past the default 180 s limit, so 3-D uses 1e-8 (about 100 s);
# in 4-D even 1e-6 (scorecheck's default there) does not finish within the limit.
DEFAULT_TOL = {1: 1e-10, 2: 1e-10, 3: 1e-8, 4: 1e-6}


# A deviation from a closed form is flagged when it exceeds the tool's reported error by more
# than rounding (this much relative to max(1, |closed form|)).
ROUNDING = 1e-14


def quantity_names(d):
    names = ["Z"]
    names += [f"lhs{i}" for i in range(d)]
    names += [f"rhs{i}" for i in range(d)]
    return names + ["esm", "ism", "const"]


def reference(case, name):
    cf = CLOSED_FORMS.get(case)
    if cf is None:
        return None
    if name.startswith("lhs") or name.startswith("rhs"):
        return cf[name[:3]][int(name[3:])]
    return cf[name]


def deviation(name, value, ref):
    """|value - ref|, relative for Z (its scale is arbitrary), absolute for the rest."""
    if name == "Z":
        return abs(value - ref) / abs(ref)
    return abs(value - ref)


# ---------------------------------------------------------------------------------------------
# Worker: one case, the scipy way. Prints one JSON object per line, flushed, so that a parent
# that kills it at the time limit still sees what finished.
# ---------------------------------------------------------------------------------------------
FUNCTION_NAMES = {
    "sqrt", "exp", "ln", "abs", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh",
    "tanh", "asinh", "acosh", "atanh", "floor", "ceil", "round", "signum", "atan2", "max", "min",
    "pi", "e",
}


def natural_key(name):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def worker(path, tol):
    t0 = time.perf_counter()
    import warnings

    import numpy  # noqa: F401  (imported as a user's session would; lambdify may use it)
    import scipy.integrate as si
    import sympy as sp

    t_import = time.perf_counter() - t0
    emit({"kind": "import", "t": t_import})

    t1 = time.perf_counter()
    with open(path, "rb") as f:
        case = tomllib.load(f)
    params = case.get("params", {})
    dens = case["density"]
    density_src = dens.get("log", dens.get("pdf"))
    fields_src = case["score"]["field"]

    def to_sympy_syntax(src):
        return src.replace("^", "**")

    # Variables: as given, else the free identifiers in natural order.
    if "vars" in case:
        var_names = list(case["vars"])
    else:
        idents = set()
        for src in [density_src, *fields_src]:
            idents |= set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", src))
        var_names = sorted(idents - FUNCTION_NAMES - set(params), key=natural_key)
    syms = [sp.Symbol(v, real=True) for v in var_names]
    local = {
        "ln": sp.log, "abs": sp.Abs, "signum": sp.sign, "max": sp.Max, "min": sp.Min,
        "ceil": sp.ceiling, "floor": sp.floor, "atan2": sp.atan2, "e": sp.E, "pi": sp.pi,
    }
    local.update({n: s for n, s in zip(var_names, syms)})
    local.update({k: sp.Float(v) for k, v in params.items()})

    def parse(src):
        return sp.sympify(to_sympy_syntax(src), locals=local)

    d = len(syms)
    if "log" in dens:
        log_p = parse(dens["log"])
        p = sp.exp(log_p)
    else:
        p = parse(dens["pdf"])
        log_p = sp.log(p)
    s = [parse(src) for src in fields_src]
    grad_log_p = [sp.diff(log_p, x) for x in syms]
    div_s = [sp.diff(si_, x) for si_, x in zip(s, syms)]

    integrands = {"Z": p}
    for i, x in enumerate(syms):
        integrands[f"lhs{i}"] = s[i] * sp.diff(p, x)
    for i in range(d):
        integrands[f"rhs{i}"] = -p * div_s[i]
    integrands["esm"] = p * sum((s[i] - grad_log_p[i]) ** 2 for i in range(d)) / 2
    integrands["ism"] = p * (sum(si_**2 for si_ in s) / 2 + sum(div_s))
    integrands["const"] = p * sum(g**2 for g in grad_log_p) / 2

    p_fn = sp.lambdify(syms, p, modules="math")
    funcs = {k: sp.lambdify(syms, v, modules="math") for k, v in integrands.items()}

    domain = case.get("domain", [[-math.inf, math.inf]] * d)
    ranges = [(float(lo), float(hi)) for lo, hi in domain]
    t_setup = time.perf_counter() - t1
    emit({"kind": "setup", "t": t_setup, "vars": var_names, "dim": d})

    # At the time limit the parent sends SIGTERM: report the integral in progress, then stop.
    current = {}

    def on_term(signum, frame):
        if current:
            emit({"kind": "partial", "name": current["name"], "evals": current["count"][0],
                  "t": time.perf_counter() - current["t0"]})
        os._exit(0)

    signal.signal(signal.SIGTERM, on_term)

    for name in quantity_names(d):
        g = funcs[name]
        count = [0]

        # The guard a user adds after the first NaN: where p̃ underflows to 0, ∇log p̃ = ∇p̃/p̃
        # is 0/0 (pdf densities); the integrand p̃·(...) is 0 there. Overflow of a polynomial
        # factor far out (math raises instead of returning inf) is handled the same way.
        def f(*xs, g=g, count=count):
            count[0] += 1
            try:
                v = g(*xs)
            except (OverflowError, ZeroDivisionError, ValueError):
                return 0.0 if p_fn(*xs) == 0.0 else math.nan
            if v != v and p_fn(*xs) == 0.0:
                return 0.0
            return v

        caught = []
        t2 = time.perf_counter()
        current.update(name=name, count=count, t0=t2)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            if d == 1:
                value, err = si.quad(f, *ranges[0], epsabs=tol, epsrel=tol)[:2]
            else:
                value, err = si.nquad(f, ranges, opts={"epsabs": tol, "epsrel": tol})[:2]
            caught = [str(x.message).splitlines()[0] for x in w]
        emit({
            "kind": "q", "name": name, "raw": value, "raw_err": err, "evals": count[0],
            "t": time.perf_counter() - t2, "warnings": caught,
        })
    emit({"kind": "done"})


# ---------------------------------------------------------------------------------------------
# Parent: run scorecheck and the workers, build the table.
# ---------------------------------------------------------------------------------------------
def run_scorecheck(binary, path, runs, tol):
    times = []
    out = None
    cmd = [binary, "check", path, "--json"] + (["--tol", repr(tol)] if tol is not None else [])
    for _ in range(runs):
        t0 = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if r.returncode not in (0, 1):
            raise RuntimeError(f"scorecheck exited {r.returncode} on {path}: {r.stderr.strip()}")
        out = r.stdout
    rep = json.loads(out)
    vals = {"Z": rep["normalizer"]}
    for i, c in enumerate(rep["components"]):
        vals[f"lhs{i}"] = c["lhs"]
        vals[f"rhs{i}"] = c["rhs"]
    for k in ("esm", "ism", "const"):
        vals[k] = rep["objective"][k]
    # Every quantity shares one set of points (the normalizer's count); the boundary terms are
    # separate one-dimension-lower integrals.
    evals = rep["normalizer"]["evals"] + sum(c["boundary"]["evals"] for c in rep["components"])
    return {
        "time": statistics.median(times),
        "times": times,
        "evals": evals,
        "values": {k: (v["value"], v["error"]) for k, v in vals.items()},
        "tolerance": rep["tolerance"],
    }


def run_worker(script, path, tol, limit):
    cmd = [sys.executable, script, "--worker", path, "--tol", repr(tol)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    timed_out = False
    try:
        out, err = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.kill(proc.pid, signal.SIGTERM)  # the worker started above reports and exits
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # its own process group (start_new_session)
            out, err = proc.communicate()
    wall = time.perf_counter() - t0
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    res = {"wall": wall, "timed_out": timed_out, "quantities": {}, "import": None, "setup": None,
           "partial": None}
    for obj in lines:
        if obj["kind"] == "import":
            res["import"] = obj["t"]
        elif obj["kind"] == "setup":
            res["setup"] = obj["t"]
        elif obj["kind"] == "q":
            res["quantities"][obj["name"]] = obj
        elif obj["kind"] == "partial":
            res["partial"] = obj
    res["done"] = any(o["kind"] == "done" for o in lines)
    if not res["done"] and not timed_out:
        raise RuntimeError(f"scipy worker failed on {path}:\n{err}")
    return res


def normalized(res):
    """Turn the raw integrals into Z and I/Z with a first-order error: e_I/Z + |I/Z|·e_Z/Z."""
    q = res["quantities"]
    if "Z" not in q:
        return {}
    z, ez = q["Z"]["raw"], q["Z"]["raw_err"]
    out = {"Z": (z, ez)}
    for name, obj in q.items():
        if name != "Z":
            v = obj["raw"] / z
            out[name] = (v, obj["raw_err"] / z + abs(v) * ez / z)
    return out


def fmt_t(t):
    return f"{t * 1000:.0f} ms" if t < 1 else f"{t:.2f} s" if t < 100 else f"{t:.0f} s"


def fmt_e(e):
    return f"{e:.1e}"


def fmt_n(n):
    return f"{n:,}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--tol", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--bin", default=os.environ.get("SCORECHECK_BIN", "target/release/scorecheck"))
    ap.add_argument("--cases", default="benches/cases", help="directory of case files")
    ap.add_argument("--only", nargs="*", help="case names to run (default: all)")
    ap.add_argument("--time-limit", type=float, default=180.0,
                    help="wall-time limit per case for the scipy side, seconds (default 180)")
    ap.add_argument("--runs", type=int, default=5, help="scorecheck runs per case (median)")
    ap.add_argument("--out", default="target/compare-scipy.md")
    for d in (1, 2, 3, 4):
        ap.add_argument(f"--tol-{d}d", type=float, default=DEFAULT_TOL[d],
                        help=f"scipy epsabs = epsrel in {d}-D (default {DEFAULT_TOL[d]:g})")
    ap.add_argument("--scorecheck-default-tol", action="store_true",
                    help="run scorecheck at its default tolerance instead of scipy's")
    a = ap.parse_args()

    if a.worker:
        worker(a.worker, a.tol)
        return

    script = os.path.abspath(__file__)
    files = sorted(f for f in os.listdir(a.cases) if f.endswith(".toml"))
    if a.only:
        files = [f for f in files if f[:-5] in a.only]
    t_start = time.perf_counter()
    rows, notes, details = [], [], []
    first_import = None
    for n, fname in enumerate(files):
        name = fname[:-5]
        path = os.path.join(a.cases, fname)
        with open(path, "rb") as f:
            dim = len(tomllib.load(f)["score"]["field"])
        tol = getattr(a, f"tol_{dim}d")
        print(f"[{name}] scorecheck ...", file=sys.stderr, flush=True)
        sc = run_scorecheck(a.bin, path, a.runs, None if a.scorecheck_default_tol else tol)
        print(f"[{name}] scipy (tol {tol:g}, limit {a.time_limit:g} s) ...", file=sys.stderr,
              flush=True)
        sp_res = run_worker(script, path, tol, a.time_limit)

        # scorecheck errors against the closed forms
        sc_dev, sc_rep, sc_worst = 0.0, 0.0, None
        for qn, (v, e) in sc["values"].items():
            ref = reference(name, qn)
            if ref is None:
                continue
            dev = deviation(qn, v, ref)
            rep_e = e / abs(ref) if qn == "Z" else e
            sc_dev, sc_rep = max(sc_dev, dev), max(sc_rep, rep_e)
            if sc_worst is None or dev > sc_worst[1]:
                sc_worst = (qn, dev)
            if abs(v - ref) > e + ROUNDING * max(1.0, abs(ref)):
                notes.append(
                    f"**{name}: scorecheck's {qn} = {v!r} is off the closed form {ref!r} by "
                    f"{abs(v - ref):.2e}, more than its reported error {e:.2e}.**"
                )

        # scipy side
        if first_import is None:
            first_import = sp_res["import"]
        vals = normalized(sp_res)
        q = sp_res["quantities"]
        sp_evals = sum(o["evals"] for o in q.values())
        sp_time = (sp_res["setup"] or 0.0) + sum(o["t"] for o in q.values())
        if n == 0 and sp_res["import"] is not None:
            sp_time += sp_res["import"]
        sp_dev, sp_rep, sp_worst = 0.0, 0.0, None
        for qn, (v, e) in vals.items():
            ref = reference(name, qn)
            if ref is None:
                continue
            dev = deviation(qn, v, ref)
            rep_e = e / abs(ref) if qn == "Z" else e
            sp_dev, sp_rep = max(sp_dev, dev), max(sp_rep, rep_e)
            if sp_worst is None or dev > sp_worst[1]:
                sp_worst = (qn, dev)
            if abs(v - ref) > e + ROUNDING * max(1.0, abs(ref)):
                notes.append(
                    f"{name}: scipy's {qn} = {v!r} is off the closed form {ref!r} by "
                    f"{abs(v - ref):.2e}, more than its own estimate {e:.2e}."
                )
        warn = sorted({w for o in q.values() for w in o["warnings"]})
        for w in warn:
            notes.append(f"{name}: scipy warned: {w}")

        done = sp_res["done"]
        if done:
            sp_time_s = fmt_t(sp_time) + (" †" if n == 0 else "")
            sp_evals_s = fmt_n(sp_evals)
            sp_err_s = f"{fmt_e(sp_dev)} ({fmt_e(sp_rep)})" if sp_worst else "no closed form"
            speed = f"{sp_time / sc['time']:,.0f}×"
        else:
            finished = [k for k in quantity_names(dim) if k in q]
            part = sp_res["partial"]
            if part:
                sp_evals += part["evals"]
            sp_time_s = f"did not finish in {a.time_limit:g} s"
            sp_evals_s = f"> {fmt_n(sp_evals)}"
            sp_err_s = "—"
            speed = f"> {a.time_limit / sc['time']:,.0f}×"
            notes.append(
                f"{name}: scipy finished {len(finished)} of {len(quantity_names(dim))} integrals "
                f"({', '.join(finished) or 'none'}) before the {a.time_limit:g} s limit"
                + (f"; it was {part['t']:.0f} s and {fmt_n(part['evals'])} evaluations into "
                   f"{part['name']}" if part else "")
                + "; evaluations counted up to there."
            )
        rows.append([
            name, str(dim), f"{sc['tolerance']:g}", fmt_t(sc["time"]), fmt_n(sc["evals"]),
            f"{fmt_e(sc_dev)} ({fmt_e(sc_rep)})" if sc_worst else "no closed form", f"{tol:g}", sp_time_s, sp_evals_s, sp_err_s,
            speed,
        ])
        details.append({
            "case": name, "dim": dim, "scorecheck": sc, "scipy": sp_res, "scipy_values": vals,
            "scorecheck_worst": sc_worst, "scipy_worst": sp_worst,
        })
        print(f"[{name}] scorecheck {fmt_t(sc['time'])}, scipy "
              f"{sp_time_s} ({'worst ' + sp_worst[0] if sp_worst else 'n/a'})",
              file=sys.stderr, flush=True)

    total = time.perf_counter() - t_start
    head = [
        "case", "dim", "scorecheck tol", "scorecheck time", "scorecheck evals",
        "scorecheck max error (reported)", "scipy tol", "scipy time", "scipy evals",
        "scipy max error (reported)", "speed-up",
    ]
    md = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    md += ["| " + " | ".join(r) + " |" for r in rows]
    md.append("")
    md.append(
        f"† includes importing sympy + scipy + numpy, {first_import:.2f} s, as a user's first "
        f"case in a fresh session would; the other scipy times exclude it."
        if first_import is not None else ""
    )
    md.append(
        "Times are wall times: scorecheck's the whole process (`check CASE --json`, median of "
        f"{a.runs} runs), scipy's sympy parsing + differentiation + lambdify + one quad/nquad per "
        "quantity. Errors are the largest deviation from the closed form over Z (relative), "
        "lhs_i, rhs_i, esm, ism and const (absolute); in parentheses the largest error each tool "
        "reported for those quantities (scipy: quad/nquad's estimate, propagated through I/Z). "
        "scorecheck evals are points (all integrands are evaluated at each point, shared by every "
        "quantity; boundary-face points added); scipy evals are calls of a scalar integrand, "
        "summed over the quantities. Tolerances: scorecheck's `--tol` and scipy's epsabs = epsrel, "
        "the same per case unless --scorecheck-default-tol (scorecheck's defaults: 1e-10 in 1-D, "
        "1e-8 in 2-D, 1e-6 in 3-D/4-D). scipy's tolerance applies to each nested quad of nquad, "
        "so its estimate is not a bound on the whole integral. A note flags every quantity whose "
        "deviation from its closed form exceeds the error its tool reported (plus 1e-14 for "
        "rounding)."
    )
    if notes:
        md.append("")
        md.append("Notes:")
        md += [f"- {x}" for x in dict.fromkeys(notes)]
    md.append("")
    md.append(f"Whole comparison: {total:.0f} s.")
    text = "\n".join(md) + "\n"
    sys.stdout.write(text)
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    with open(a.out, "w") as f:
        f.write(text)
    with open(os.path.splitext(a.out)[0] + ".json", "w") as f:
        json.dump(details, f, indent=1, default=str)


if __name__ == "__main__":
    main()

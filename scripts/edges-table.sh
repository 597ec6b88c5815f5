#!/usr/bin/env bash
# The table of issue 12's edge cases: for each case, the quantity with a closed form (derived
# in tests/it/edges.rs), its value, reported error, real error, the verdicts, the exit code and
# the wall time of `scorecheck check --json`.
#
# Run from the repository root: scripts/edges-table.sh   (builds the release binary first)
set -euo pipefail
cargo build --release --quiet
B=target/release/scorecheck
python3 - "$B" <<'PY'
import json, math, subprocess, sys, time
B = sys.argv[1]
pi = math.pi
Q1, PHI1 = 0.15865525393145705, 0.24197072451914337
cases = [
 ("Gamma(2), θ=1.5, true score", ["--log-density","ln(x) - x/t","--score","1/x - 1/t","--param","t=1.5","--domain","0:inf"], "boundary", -1/2.25),
 ("p = x on [0,1], s = 1/x + 1", ["--pdf","x","--score","1/x + 1","--domain","0:1"], "boundary", 2.0),
 ("Beta(2,2), true score", ["--log-density","ln(x) + ln(1-x)","--score","1/x - 1/(1-x)","--domain","0:1"], "boundary", -12.0),
 ("χ²₁, s = −x/2: Z", ["--log-density","-0.5*ln(x) - x/2","--score","-x/2","--domain","0:inf"], "Z", math.sqrt(2*pi)),
 ("χ²₁, s = −x/2: ism", ["--log-density","-0.5*ln(x) - x/2","--score","-x/2","--domain","0:inf"], "ism", -0.125),
 ("Beta(1/2,3), s = x: lhs", ["--log-density","-0.5*ln(x) + 2*ln(1-x)","--score","x","--domain","0:1"], "lhs", -1.0),
 ("Gamma(1) as (k-1)ln x, s = −1", ["--log-density","(k-1)*ln(x) - x","--score","-1","--param","k=1","--domain","0:inf"], "boundary", 1.0),
 ("log-normal −ln x − ln²x/2: Z", ["--log-density","-ln(x) - ln(x)^2/2","--score","-1/x - ln(x)/x","--domain","0:inf"], "Z", math.sqrt(2*pi)),
 ("ReLU field on N(0,1): rhs", ["--log-density","-x^2/2","--score","-x + 0.5*max(0, x - 1)"], "rhs", 1 - 0.5*Q1),
 ("ReLU field on N(0,1): esm", ["--log-density","-x^2/2","--score","-x + 0.5*max(0, x - 1)"], "esm", (2*Q1 - PHI1)/8),
 ("exp-power |x|^1.5: const", ["--log-density","-abs(x)^1.5","--score","-1.5*abs(x)^0.5*signum(x)"], "const", 1.125*0.8929795115692492/1.3541179394264005),
 ("exp-power |x−1|^1.5/2^1.5: const", ["--log-density","-abs(x-1)^1.5/2^1.5","--score","-1.5*abs(x-1)^0.5*signum(x-1)/2^1.5"], "const", 1.125*0.8929795115692492/1.3541179394264005/4),
 ("Gamma(200), true score: lhs", ["--log-density","199*ln(x) - x","--score","199/x - 1","--domain","0:inf"], "lhs", 1/198),
 ("Gamma(200): log Z", ["--log-density","199*ln(x) - x","--score","199/x - 1","--domain","0:inf"], "logZ", 857.9336698258574),
 ("−x²/2 + 800: log Z", ["--log-density","-x^2/2 + 800","--score","-x"], "logZ", 0.5*math.log(2*pi) + 800),
 ("−x²/2 − 800: log Z", ["--log-density","-x^2/2 - 800","--score","-x"], "logZ", 0.5*math.log(2*pi) - 800),
 ("von Mises κ=2 on ±3.14159…: rhs", ["--log-density","k*cos(x)","--score","-k*sin(x)","--param","k=2","--domain=-3.141592653589793:3.141592653589793"], "rhs", 2*1.5906368546373291/2.2795853023360673),
 ("N(1000, 0.01²): lhs", ["--log-density","-(x-1000)^2/(2*0.01^2)","--score","-(x-1000)/0.01^2"], "lhs", 1e4),
]
def pick(r, what):
    c = r["components"][0]
    if what == "Z": return r["normalizer"]
    if what == "logZ":
        return {"value": r["log_normalizer"], "error": r["log_normalizer_error"], "status": "ok"}
    if what in ("lhs", "rhs", "boundary"): return c[what]
    return r["objective"][what]
print(f"| case | quantity | exact | value | reported error | real error | ibp / boundary / objective | exit | time |")
print(f"|---|---|---|---|---|---|---|---|---|")
for name, args, what, exact in cases:
    t0 = time.time()
    p = subprocess.run([B, "check", *args, "--json"], capture_output=True, text=True)
    dt = time.time() - t0
    r = json.loads(p.stdout)
    q = pick(r, what)
    v, e = q["value"], q["error"]
    real = abs(v - exact) if v is not None else float("nan")
    err = f"{e:.1e}" if e is not None else "—"
    vd = r["verdict"]
    print(f"| {name} | {what} | {exact:.15g} | {v!r} | {err} | {real:.1e} | {vd['ibp']} / {vd['boundary']} / {vd['objective']} | {p.returncode} | {dt*1000:.0f} ms |")
PY

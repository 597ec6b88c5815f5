#!/usr/bin/env bash
# Compare scorecheck with sympy + scipy.integrate (quad / nquad) on benches/cases/.
#
#   scripts/compare-scipy.sh [--time-limit SECONDS] [--runs N] [--only CASE ...] [--tol-3d T] ...
#
# Makes its own Python environment in target/compare-venv (pinned sympy, scipy, numpy), builds
# scorecheck in release mode (skipped when SCORECHECK_BIN names a binary to use instead), and runs
# scripts/compare_scipy.py, which prints a Markdown table and writes it to
# target/compare-scipy.md. Every option is passed through to compare_scipy.py (--help lists
# them); --time-limit (default 180 s) bounds the scipy side of each case.
# Not part of the default test command: the whole run takes several minutes.
#
# PYTHON selects the interpreter for the environment (default python3.11, else python3); the pins
# below install from PyPI on CPython 3.11.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

venv="$root/target/compare-venv"
requirements="numpy==2.4.6 scipy==1.17.1 sympy==1.14.0 mpmath==1.3.0"

if [[ -z "${PYTHON:-}" ]]; then
    if command -v python3.11 >/dev/null 2>&1; then PYTHON=python3.11; else PYTHON=python3; fi
fi

stamp="$venv/.requirements"
if [[ ! -x "$venv/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$requirements" ]]; then
    echo "compare-scipy: making $venv with $("$PYTHON" --version 2>&1)" >&2
    rm -rf "$venv"
    mkdir -p "$root/target"
    "$PYTHON" -m venv "$venv"
    # shellcheck disable=SC2086  # the list is meant to split
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check $requirements
    echo "$requirements" >"$stamp"
fi

if [[ -n "${SCORECHECK_BIN:-}" ]]; then
    bin="$SCORECHECK_BIN"
else
    echo "compare-scipy: cargo build --release" >&2
    cargo build --release --quiet
    bin="$root/target/release/scorecheck"
fi

exec "$venv/bin/python" "$root/scripts/compare_scipy.py" --bin "$bin" "$@"

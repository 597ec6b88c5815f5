#!/usr/bin/env bash
# Regenerate every figure in figures/ from the case files in examples/cases/.
# Usage (from anywhere):  scripts/figures.sh
# Needs only cargo: the text is drawn with DejaVu Sans embedded in the binary, so no system
# fonts or C libraries are involved.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
sc=target/release/scorecheck
c=examples/cases
out=figures

# `plot` exits 0 once the figure is written; `sweep` exits with its checks' verdict
# (1 on the half-line, where the boundary term does not vanish), so that one may be 1;
# `estimate` exits with its comparisons' verdict, 0 on this seed.
$sc plot $c/gauss-mismatch.toml --out $out/gauss-mismatch.svg
$sc plot $c/mixture.toml --out $out/mixture.svg
$sc plot $c/laplace.toml --out $out/kink.svg
$sc plot $c/half-line.toml --out $out/half-line.svg
$sc plot $c/jump.toml --out $out/jump.svg
$sc plot $c/curl2d.toml --out $out/field-2d.svg
$sc plot $c/student3.toml --kind boundary --out $out/boundary-flux.svg
$sc plot $c/cauchy-cubic.toml --kind boundary --out $out/boundary-flux-grows.svg
$sc plot $c/curl2d.toml --kind convergence --tol 1e-11 --out $out/convergence.svg
$sc sweep $c/gauss-mismatch.toml --param mu=-1:2:61 --plot $out/sweep-gauss.svg > /dev/null
$sc sweep $c/half-line.toml --param mu=-1:2:61 --plot $out/sweep-half-line.svg > /dev/null || [ $? -eq 1 ]
$sc estimate $c/mixture.toml --n 30000 --seed 7 --plot $out/estimate.svg > /dev/null
echo "figures written to $out/"

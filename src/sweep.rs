//! Sweeps: `check` over a grid of parameter values, in parallel, with the objectives per point.
//!
//! A grid is `name=lo:hi:n` (n points, both ends included); several grids give their product
//! grid, first grid outermost; `name=value` fixes a parameter for every point. Each point is
//! an independent, deterministic `check`, and the results are collected in grid order, so a
//! sweep gives the same numbers on any number of threads — the numbers `scorecheck check`
//! gives at the same parameters.
//!
//! The JSON of `scorecheck sweep --json` is [`Sweep`] serialized:
//!
//! ```text
//! { "case": str, "grid": [{"name": str, "values": [f64]}], "fixed": {str: f64},
//!   "points": [ {"params": {str: f64},                         (the grid parameters here)
//!                "objective": {"esm", "ism", "const", "gap"},  (quantities as in `check`)
//!                "cross": {"lhs", "rhs", "boundary"},
//!                "verdict": {"ibp", "boundary", "objective"},
//!                "exit_code": 0|1|3} ],                        (what `check` exits with here)
//!   "argmin": {"param", "esm", "ism", "ism_plus_const"},       (one grid parameter only)
//!   "exit_code": 0|1|3 }
//! ```
//!
//! ```
//! use scorecheck::{ParamArg, parse_param_arg};
//!
//! let ParamArg::Grid(g) = parse_param_arg("mu=-1:2:4").unwrap() else { panic!() };
//! assert_eq!(g.values, [-1.0, 0.0, 1.0, 2.0]);
//! ```
//!
//! Bounds (issue 17): at most [`MAX_POINTS`] grid points (more is bad input), each one
//! `check` with its own bounds (see [`crate::check`]).

use crate::Outcome;
use crate::case::{CaseError, CaseSpec, parse_number, parse_param};
use crate::check::CheckOptions;
use crate::numbers::{fmt_num, linspace};
use crate::option_error::{Opt, OptionError};
use crate::report::{Cross, Objective, Report, Status, Verdict};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The most points a sweep may have.
pub const MAX_POINTS: usize = 100_000;

/// Why a sweep cannot run: bad input, in the grids or at a grid point.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SweepError {
    /// The grids or fixed values are unusable; the message names their field (`params`).
    #[error(transparent)]
    Option(#[from] OptionError),
    /// A fixed value, or the case at the first point, is bad input.
    #[error(transparent)]
    Case(#[from] CaseError),
    /// The case cannot be checked at a grid point.
    #[error("at {at}: {source}")]
    At {
        /// The grid point, `name = value, …`.
        at: String,
        #[source]
        source: PointError,
    },
    /// The figure needs exactly one grid.
    #[error(
        "the sweep figure draws the objectives against one parameter; give exactly one grid (fix the others at single values)"
    )]
    FigureNeedsOneGrid,
}

/// Why the case cannot be checked at one grid point.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum PointError {
    /// It does not compile there.
    #[error(transparent)]
    Case(#[from] CaseError),
    /// `check` cannot run there.
    #[error(transparent)]
    Check(#[from] crate::check::CheckError),
}

/// The `exit_code` of the JSON: what `scorecheck check` exits with ([`Outcome::exit_code`]).
fn serialize_exit_code<S: serde::Serializer>(o: &Outcome, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u8(o.exit_code())
}

/// One parameter's values.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Grid {
    pub name: String,
    pub values: Vec<f64>,
}

/// A `--param` of `sweep`: a grid or a fixed value.
#[derive(Clone, Debug, PartialEq)]
pub enum ParamArg {
    Grid(Grid),
    Fixed(String, f64),
}

/// Parse `name=lo:hi:n` (a grid) or `name=value` (fixed).
pub fn parse_param_arg(s: &str) -> Result<ParamArg, SweepError> {
    let Some((k, v)) = s.split_once('=') else {
        return Err(OptionError::new(Opt::Params)
            .text(format!(
                ": expected NAME=LO:HI:N (a grid) or NAME=VALUE, got `{s}`"
            ))
            .into());
    };
    if !v.contains(':') {
        let (k, v) = parse_param(s)?;
        return Ok(ParamArg::Fixed(k, v));
    }
    let k = k.trim().to_string();
    let parts: Vec<&str> = v.split(':').map(str::trim).collect();
    let bad =
        |why: String| SweepError::from(OptionError::new(Opt::Params).text(format!(" {s}: {why}")));
    if parts.len() != 3 {
        return Err(bad(
            "a grid is NAME=LO:HI:N, for example mu=-1:2:61 (61 points from -1 to 2)".into(),
        ));
    }
    let num = |t: &str| {
        parse_number(t)
            .filter(|x| x.is_finite())
            .ok_or_else(|| bad(format!("`{t}` is not a finite number")))
    };
    let (lo, hi) = (num(parts[0])?, num(parts[1])?);
    let n: usize = parts[2].parse().map_err(|_| {
        bad(format!(
            "the number of points `{}` is not a whole number",
            parts[2]
        ))
    })?;
    if n == 0 || n > MAX_POINTS {
        return Err(bad(format!(
            "the number of points must be 1 to {MAX_POINTS}, got {n}"
        )));
    }
    if n == 1 && lo != hi {
        return Err(bad(
            "one point needs LO = HI (or give NAME=VALUE); use N >= 2 for a range".into(),
        ));
    }
    if hi < lo {
        return Err(bad(format!("LO must not exceed HI ({lo} > {hi})")));
    }
    let values = linspace(lo, hi, n);
    Ok(ParamArg::Grid(Grid { name: k, values }))
}

/// The result at one grid point.
#[derive(Clone, Debug, Serialize)]
pub struct SweepPoint {
    /// The grid parameters' values at this point.
    pub params: BTreeMap<String, f64>,
    pub objective: Objective,
    pub cross: Cross,
    pub verdict: Verdict,
    /// What `check` finds here; the JSON writes it as `exit_code`, what `scorecheck check`
    /// would exit with here.
    #[serde(rename = "exit_code", serialize_with = "serialize_exit_code")]
    pub outcome: Outcome,
}

/// A sweep's results, in grid order.
#[derive(Clone, Debug, Serialize)]
pub struct Sweep {
    pub case: String,
    pub grid: Vec<Grid>,
    pub fixed: BTreeMap<String, f64>,
    pub points: Vec<SweepPoint>,
    /// With one grid parameter: the minimisers of esm and of ism (= of ism + const when const
    /// does not depend on it), refined by a parabola through the smallest grid value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub argmin: Option<Argmin>,
    /// The JSON's `exit_code` of the worst point ([`Sweep::outcome`] as a number).
    pub exit_code: u8,
    /// With a weight `h`, its expression: every quantity of the sweep is then the weighted
    /// identity's (`esm = E½h|s − ∇log p|²`, …), as in `check`'s `weighted` section.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<String>,
}

impl Sweep {
    /// The worst point: violated when `check` is violated at some point, else undecided when
    /// it is undecided at some point.
    pub fn outcome(&self) -> Outcome {
        Outcome::all(self.points.iter().map(|p| p.outcome))
    }
}

/// Minimisers over a one-parameter grid.
#[derive(Clone, Debug, Serialize)]
pub struct Argmin {
    pub param: String,
    pub esm: Option<f64>,
    pub ism: Option<f64>,
    pub ism_plus_const: Option<f64>,
}

/// The points of the product grid, first grid outermost.
pub fn product(grids: &[Grid]) -> Result<Vec<Vec<f64>>, SweepError> {
    let total = grids
        .iter()
        .try_fold(1usize, |acc, g| acc.checked_mul(g.values.len()))
        .filter(|&t| t <= MAX_POINTS)
        .ok_or_else(|| {
            SweepError::from(OptionError::text_first(format!(
                "the grid has more than {MAX_POINTS} points; use fewer points per parameter"
            )))
        })?;
    let mut out = Vec::with_capacity(total);
    // Bound: total ≤ MAX_POINTS (checked above).
    for k in 0..total {
        let mut rem = k;
        let mut pt = vec![0.0; grids.len()];
        for (j, g) in grids.iter().enumerate().rev() {
            pt[j] = g.values[rem % g.values.len()];
            rem /= g.values.len();
        }
        out.push(pt);
    }
    Ok(out)
}

/// Check `spec` at every point of the grid, in parallel; `done` is called once per finished
/// point (from any thread). Inputs are validated before the work: unknown or repeated
/// parameters fail at once.
pub fn run(
    spec: &CaseSpec,
    grids: &[Grid],
    fixed: &[(String, f64)],
    opts: &CheckOptions,
    done: &(dyn Fn() + Sync),
) -> Result<Sweep, SweepError> {
    if grids.is_empty() {
        return Err(OptionError::text_first("give at least one grid, ")
            .opt(Opt::Params)
            .text(" NAME=LO:HI:N (for example ")
            .opt(Opt::Params)
            .text(" mu=-1:2:61)")
            .into());
    }
    let mut seen = std::collections::BTreeSet::new();
    for n in grids
        .iter()
        .map(|g| &g.name)
        .chain(fixed.iter().map(|f| &f.0))
    {
        if !seen.insert(n.clone()) {
            return Err(OptionError::new(Opt::Params)
                .text(format!(": `{n}` is given more than once"))
                .into());
        }
    }
    let points = product(grids)?;
    let overrides = |pt: &[f64]| -> Vec<(String, f64)> {
        fixed
            .iter()
            .cloned()
            .chain(grids.iter().zip(pt).map(|(g, v)| (g.name.clone(), *v)))
            .collect()
    };
    // Compile at the first point now, so a bad name fails before any work.
    spec.compile(&overrides(&points[0]), false)?;
    let results: Vec<Result<SweepPoint, SweepError>> = points
        .par_iter()
        .map(|pt| {
            let ov = overrides(pt);
            let r = spec
                .compile(&ov, false)
                .map_err(PointError::from)
                .and_then(|case| crate::check_case(&case, opts).map_err(PointError::from));
            done();
            let params: BTreeMap<String, f64> = grids
                .iter()
                .zip(pt)
                .map(|(g, v)| (g.name.clone(), *v))
                .collect();
            match r {
                Ok(rep) => Ok(point_of(params, rep)),
                Err(source) => Err(SweepError::At {
                    at: params
                        .iter()
                        .map(|(k, v)| format!("{k} = {v}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    source,
                }),
            }
        })
        .collect();
    let points: Vec<SweepPoint> = results.into_iter().collect::<Result<_, _>>()?;
    let exit_code = Outcome::all(points.iter().map(|p| p.outcome)).exit_code();
    let argmin = (grids.len() == 1).then(|| {
        let th = &grids[0].values;
        let get = |f: &dyn Fn(&SweepPoint) -> Option<f64>| -> Vec<Option<f64>> {
            points.iter().map(f).collect()
        };
        Argmin {
            param: grids[0].name.clone(),
            esm: argmin_of(th, &get(&|p| p.objective.esm.value)),
            ism: argmin_of(th, &get(&|p| p.objective.ism.value)),
            ism_plus_const: argmin_of(th, &get(&|p| ism_const(p))),
        }
    });
    Ok(Sweep {
        case: spec.name.clone(),
        grid: grids.to_vec(),
        fixed: fixed.iter().cloned().collect(),
        points,
        argmin,
        exit_code,
        weight: spec.weight.as_ref().map(|w| w.text.clone()),
    })
}

/// The point's quantities: with a weight, those of the weighted identity, which decide
/// `check`'s exit code.
fn point_of(params: BTreeMap<String, f64>, rep: Report) -> SweepPoint {
    let outcome = rep.outcome();
    let (objective, cross, verdict) = match rep.weighted {
        Some(w) => (w.objective, w.cross, w.verdict),
        None => (rep.objective, rep.cross, rep.verdict),
    };
    SweepPoint {
        params,
        objective,
        cross,
        verdict,
        outcome,
    }
}

pub(crate) fn ism_const(p: &SweepPoint) -> Option<f64> {
    Some(p.objective.ism.value? + p.objective.constant.value?)
}

/// The minimiser of `f` over the grid `t`: the smallest value, refined by the vertex of the
/// parabola through it and its two neighbours when it is inside the grid.
pub fn argmin_of(t: &[f64], f: &[Option<f64>]) -> Option<f64> {
    let (k, _) = f
        .iter()
        .enumerate()
        .filter_map(|(k, v)| v.filter(|x| x.is_finite()).map(|x| (k, x)))
        .min_by(|a, b| a.1.total_cmp(&b.1))?;
    if k == 0 || k + 1 == t.len() {
        return Some(t[k]);
    }
    let (Some(a), Some(b), Some(c)) = (f[k - 1], f[k], f[k + 1]) else {
        return Some(t[k]);
    };
    let (x0, x1, x2) = (t[k - 1], t[k], t[k + 1]);
    // Vertex of the parabola through (x0, a), (x1, b), (x2, c).
    let num = (x1 - x0).powi(2) * (b - c) - (x1 - x2).powi(2) * (b - a);
    let den = (x1 - x0) * (b - c) - (x1 - x2) * (b - a);
    if den == 0.0 || !den.is_finite() {
        return Some(x1);
    }
    let v = x1 - 0.5 * num / den;
    Some(if v.is_finite() && v >= x0 && v <= x2 {
        v
    } else {
        x1
    })
}

impl Sweep {
    /// The JSON of the sweep.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a sweep always serializes")
    }

    /// A text table, one line per point.
    pub fn to_text(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "sweep of case {} over {} points",
            self.case,
            self.points.len()
        );
        if let Some(w) = &self.weight {
            let _ = writeln!(
                o,
                "weighted identity, h = {w}: esm, ism, const and the boundary term are the weighted ones"
            );
        }
        if !self.fixed.is_empty() {
            let f: Vec<String> = self
                .fixed
                .iter()
                .map(|(k, v)| format!("{k} = {v}"))
                .collect();
            let _ = writeln!(o, "fixed: {}", f.join(", "));
        }
        let _ = writeln!(o);
        // Each value with its error, in the digits the error supports (as `check` prints).
        let q = crate::report::fmt_q;
        let mut rows: Vec<Vec<String>> = vec![];
        let mut head: Vec<String> = self.grid.iter().map(|g| g.name.clone()).collect();
        head.extend(
            ["esm", "ism", "const", "ism+const", "boundary", "exit"]
                .iter()
                .map(|s| s.to_string()),
        );
        rows.push(head);
        for p in &self.points {
            let mut r: Vec<String> = self
                .grid
                .iter()
                .map(|g| fmt_num(p.params[&g.name]))
                .collect();
            r.push(q(&p.objective.esm));
            r.push(q(&p.objective.ism));
            r.push(q(&p.objective.constant));
            let (i, c) = (&p.objective.ism, &p.objective.constant);
            r.push(match (ism_const(p), i.error, c.error) {
                (Some(v), Some(ei), Some(ec)) => {
                    let s = crate::report::fmt_value(v, ei + ec);
                    if i.status == Status::Ok && c.status == Status::Ok {
                        s
                    } else {
                        format!("{s} (not converged)")
                    }
                }
                _ => "-".into(),
            });
            r.push(q(&p.cross.boundary));
            r.push(p.outcome.exit_code().to_string());
            rows.push(r);
        }
        let widths: Vec<usize> = (0..rows[0].len())
            .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
            .collect();
        for r in &rows {
            let cells: Vec<String> = r
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:>w$}"))
                .collect();
            let _ = writeln!(o, "{}", cells.join("  ").trim_end());
        }
        if let Some(a) = &self.argmin {
            let f = |v: Option<f64>| v.map_or("-".into(), fmt_num);
            let _ = writeln!(o);
            let _ = writeln!(
                o,
                "argmin over {}: esm {}, ism {}, ism+const {}",
                a.param,
                f(a.esm),
                f(a.ism),
                f(a.ism_plus_const)
            );
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_parse() {
        let ParamArg::Grid(g) = parse_param_arg("mu=-1:2:61").unwrap() else {
            panic!()
        };
        assert_eq!(g.values.len(), 61);
        assert_eq!(g.values[0], -1.0);
        assert_eq!(g.values[60], 2.0);
        assert_eq!(g.values[20], 0.0);
        assert_eq!(
            parse_param_arg("s=1.5").unwrap(),
            ParamArg::Fixed("s".into(), 1.5)
        );
        for bad in [
            "mu=1:0:3",
            "mu=0:1:0",
            "mu=0:1",
            "mu=0:1:x",
            "mu=0:inf:3",
            "mu=0:1:2.5",
        ] {
            assert!(parse_param_arg(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn product_order() {
        let g = |n: &str, v: &[f64]| Grid {
            name: n.into(),
            values: v.to_vec(),
        };
        let p = product(&[g("a", &[1.0, 2.0]), g("b", &[10.0, 20.0, 30.0])]).unwrap();
        assert_eq!(p.len(), 6);
        assert_eq!(p[0], [1.0, 10.0]);
        assert_eq!(p[1], [1.0, 20.0]);
        assert_eq!(p[3], [2.0, 10.0]);
    }

    #[test]
    fn parabola_vertex() {
        // f = (t − 0.3)² sampled at 0, 0.5, 1: the parabola through them is f itself.
        let t = [0.0, 0.5, 1.0, 1.5];
        let f: Vec<Option<f64>> = t.iter().map(|x| Some((x - 0.3f64).powi(2))).collect();
        let v = argmin_of(&t, &f).unwrap();
        assert!((v - 0.3).abs() < 1e-12, "{v}");
    }
}

//! The convergence figure: |estimate − final| against evaluations, both sides of the cross term.

use super::err;
use super::style::BLUE_;
use super::style::RED_;

use super::PlotError;
use super::format::fmt_q;
use super::format::pow10;
use super::numerics::Eval;
use super::numerics::logspace;
use super::style::FONT;
use super::style::Mark;
use super::style::axis;
use super::style::side_panel;
use super::style::side_width;
use super::style::title;
use crate::case::Case;
use crate::check::CheckOptions;
use crate::report::Quantity;
use crate::report::Report;
use plotters::coord::Shift;

use super::style::DrawResult;
use plotters::prelude::*;

// Convergence of the cross term's two sides.

/// The convergence figure's data: per run, evaluations used and |estimate − final| for lhs
/// and rhs.
#[derive(Clone, Debug)]
pub struct Convergence {
    pub case: String,
    pub method: String,
    pub lhs: Vec<(f64, f64)>,
    pub rhs: Vec<(f64, f64)>,
    pub final_lhs: Quantity,
    pub final_rhs: Quantity,
    /// The final run's target error.
    pub tol: f64,
    /// The runs are `check` capped at growing budgets (2-D and up); those that reach the
    /// final run's evaluations are left out.
    pub capped: bool,
}

/// Runs at growing effort: in 1-D, the tanh-sinh rule `check` uses, at steps 1, 1/2, …, 1/64
/// (its own) over the check's pieces; in 2-D and up, `check` itself with budgets
/// of evaluations growing to the final run's. "Final" is the report of `check` at `opts`.
pub fn convergence(
    case: &Case,
    report: &Report,
    opts: &CheckOptions,
) -> Result<Convergence, PlotError> {
    let d = case.vars.len();
    let (fl, fr) = (&report.cross.lhs, &report.cross.rhs);
    let (Some(lf), Some(rf)) = (fl.value, fr.value) else {
        return Err(err(
            "the cross term has no finite value in this case (see `scorecheck check`), so there is nothing to converge to",
        ));
    };
    let mut out = Convergence {
        case: case.name.clone(),
        method: String::new(),
        lhs: vec![],
        rhs: vec![],
        final_lhs: fl.clone(),
        final_rhs: fr.clone(),
        tol: report.tolerance,
        capped: d > 1,
    };
    if d == 1 {
        out.method = "check's tanh-sinh rule at steps 1, 1/2, …, 1/64 on the check's pieces".into();
        let ev = Eval::new(case, report)?;
        for level in 0..=crate::quad::TANH_SINH_LEVELS {
            let mut l = 0.0;
            let mut r = 0.0;
            let mut evals = [0u64; 2];
            for piece in &ev.loc.pieces[0] {
                let (ua, ub) = piece.u_range();
                let g = |u: f64, side: usize| {
                    let (x, j) = piece.map(u);
                    if !x.is_finite() {
                        return 0.0;
                    }
                    let a = ev.at(&[x]);
                    if a.p == 0.0 {
                        return 0.0;
                    }
                    // With a weight h, the weighted identity's integrands h·s·p′ and
                    // −p·(h s)′ (h = 1, h′ = 0 without), as the report's final values are.
                    let v = if side == 0 {
                        a.h * a.s[0] * a.p * a.dlogp[0]
                    } else {
                        -a.p * (a.h * a.ds[0] + a.dh[0] * a.s[0])
                    };
                    v * j
                };
                let (ol, nl) = crate::quad::tanh_sinh_at_level(&|u| g(u, 0), ua, ub, level);
                let (or, nr) = crate::quad::tanh_sinh_at_level(&|u| g(u, 1), ua, ub, level);
                l += ol;
                r += or;
                evals[0] += nl;
                evals[1] += nr;
            }
            out.lhs.push((evals[0] as f64, (l - lf).abs()));
            out.rhs.push((evals[1] as f64, (r - rf).abs()));
        }
    } else {
        out.method =
            "scorecheck check with a cap on evaluations (--max-evals) growing to the final run's"
                .into();
        let full = fl.evals.max(1000);
        let budgets = logspace(500.0, full as f64, 14);
        for b in budgets {
            let o = CheckOptions {
                tol: opts.tol,
                max_evals: b.round() as u64,
                ..opts.clone()
            };
            // The identity that decides (the weighted one with a weight), as the final values.
            let rep = crate::check_case(case, &o)?.deciding();
            // A run that used as many evaluations as the final one is the final run (check is
            // deterministic): its difference from itself is 0 by construction, and drawing it
            // made the curve drop to "exact" at the end, convergence that did not happen.
            if let (Some(l), Some(r)) = (rep.cross.lhs.value, rep.cross.rhs.value) {
                if rep.cross.lhs.evals < fl.evals {
                    out.lhs.push((rep.cross.lhs.evals as f64, (l - lf).abs()));
                }
                if rep.cross.rhs.evals < fr.evals {
                    out.rhs.push((rep.cross.rhs.evals as f64, (r - rf).abs()));
                }
            }
        }
    }
    Ok(out)
}

impl Convergence {
    pub(super) fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let body = title(
            root,
            &format!(
                "{}: convergence of the cross term, ∫ s·∇p and −∫ p ∇·s",
                self.case
            ),
        )?;
        let (w, _) = body.dim_in_pixel();
        let (plot, side) = body.split_horizontally(w as i32 - side_width(w));
        // Both axes are log10 values on linear scales, labelled as powers of ten.
        let floor = 1e-17;
        // Capped at 1e300: an infinite error (an integral that did not converge) made the
        // axis end at +∞, and plotters looked for tick marks on it forever.
        let l10 = |v: f64| v.max(floor).min(1e300).log10();
        let pts: Vec<(f64, f64)> = self.lhs.iter().chain(&self.rhs).cloned().collect();
        // The final run is on the axis too (its reported error is marked there), so the axis
        // is finite when no capped run is left to draw.
        let final_evals = [
            self.final_lhs.evals.max(1) as f64,
            self.final_rhs.evals.max(1) as f64,
        ];
        let xs: Vec<f64> = pts.iter().map(|p| p.0).chain(final_evals).collect();
        let xmin = xs
            .iter()
            .cloned()
            .fold(f64::INFINITY, f64::min)
            .max(1.0)
            .log10()
            - 0.15;
        let xmax = xs.iter().cloned().fold(1.0, f64::max).log10() + 0.15;
        let errs = [
            self.final_lhs.error.unwrap_or(floor),
            self.final_rhs.error.unwrap_or(floor),
        ];
        let ys: Vec<f64> = pts
            .iter()
            .map(|p| l10(p.1))
            .chain(errs.iter().map(|e| l10(*e)))
            .collect();
        let ymax = ys.iter().cloned().fold(f64::NEG_INFINITY, f64::max).ceil() + 0.3;
        let ymin = ys
            .iter()
            .cloned()
            .fold(f64::INFINITY, f64::min)
            .floor()
            .min(ymax - 3.0)
            - 0.3;
        let mut chart = ChartBuilder::on(&plot)
            .margin(14)
            .x_label_area_size(50)
            .y_label_area_size(90)
            .build_cartesian_2d(axis(xmin, xmax), axis(ymin, ymax))?;
        chart
            .configure_mesh()
            .x_desc("integrand evaluations (log scale)")
            .y_desc("|estimate − final| (log scale)")
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 17))
            .y_label_formatter(&|v| pow10(*v))
            .x_label_formatter(&|v| pow10(*v))
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        for (data, col, err, fe) in [
            (&self.lhs, BLUE_, errs[0], final_evals[0]),
            (&self.rhs, RED_, errs[1], final_evals[1]),
        ] {
            if self.capped {
                // The final run: its reported error (not a difference), at its evaluations.
                chart.draw_series(std::iter::once(Cross::new(
                    (fe.log10(), l10(err)),
                    7,
                    col.stroke_width(3),
                )))?;
            }
            chart.draw_series(DashedLineSeries::new(
                vec![(xmin, l10(err)), (xmax, l10(err))],
                8,
                6,
                col.mix(0.7).stroke_width(2),
            ))?;
            let shown: Vec<(f64, f64)> = data.iter().map(|&(e, v)| (e.log10(), l10(v))).collect();
            chart.draw_series(LineSeries::new(shown.clone(), col.stroke_width(2)))?;
            chart.draw_series(shown.iter().zip(data.iter()).map(|(&p, &(_, v))| {
                if v < floor {
                    Circle::new(p, 6, col.stroke_width(2))
                } else {
                    Circle::new(p, 5, col.filled())
                }
            }))?;
        }
        let zeros = self
            .lhs
            .iter()
            .chain(&self.rhs)
            .filter(|p| p.1 < floor)
            .count();
        let mut notes = vec![
            format!(
                "final = scorecheck check at tolerance {:.0e}: lhs = {}, rhs = {}",
                self.tol,
                fmt_q(&self.final_lhs),
                fmt_q(&self.final_rhs)
            ),
            format!("runs: {}", self.method),
            "Below the dashed line of its reported error, a difference from the final value means nothing.".into(),
        ];
        if self.capped {
            notes.push(
                "Runs capped at or above the final run's evaluations are the final run itself (0 by construction) and are not drawn; × marks the final run's reported error at its evaluations.".into(),
            );
        }
        if zeros > 0 {
            notes.push(format!(
                "{zeros} runs agreed with the final value exactly; they are drawn as open circles at 1e−17."
            ));
        }
        side_panel(
            &side,
            30,
            &[
                ("lhs = ∫ s·∇p".into(), BLUE_, Mark::Line),
                ("rhs = −∫ p ∇·s".into(), RED_, Mark::Line),
                ("final lhs's reported error".into(), BLUE_, Mark::Dashed),
                ("final rhs's reported error".into(), RED_, Mark::Dashed),
            ],
            &notes,
        )?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------

//! The boundary figure: the flux ∮ p s·n through the faces of [−R, R]^d against R.

use super::err;
use super::style::BLUE_;
use super::style::RED_;

use super::PlotError;
use super::format::fmt_q;
use super::format::pow10;
use super::numerics::Eval;
use super::numerics::inside;
use super::style::FONT;
use super::style::GREY_;
use super::style::Mark;
use super::style::axis;
use super::style::side_panel;
use super::style::side_width;
use super::style::title;
use crate::case::Case;
use crate::locate::Located;
use crate::numbers::fmt_num;
use crate::quad::Piece;
use crate::quad::integrate_1d;
use crate::report::Quantity;
use crate::report::Report;
use plotters::coord::Shift;

use super::style::DrawResult;
use plotters::prelude::*;

// The flux through the faces of [−R, R]^d.

/// The boundary-flux figure's data: per R, the flux through the faces that move with R (at
/// infinite ends) and through those on the domain's finite edges, and their sum.
#[derive(Clone, Debug)]
pub struct BoundaryFlux {
    pub case: String,
    pub dim: usize,
    pub r: Vec<f64>,
    pub moving: Vec<f64>,
    pub fixed: Vec<f64>,
    pub total: Vec<f64>,
    pub has_fixed: bool,
    pub boundary: Quantity,
    /// The flux is the weighted identity's h·p·s (the case has a weight).
    pub weighted: bool,
}

/// `∫ f` over `[lo, hi]` of axis `j`, cut at the located pieces.
pub(super) fn face_integral(
    f: &(dyn Fn(f64) -> f64 + Sync),
    loc: &Located,
    j: usize,
    lo: f64,
    hi: f64,
) -> f64 {
    let mut pieces = vec![];
    for p in &loc.pieces[j] {
        let (a, b) = p.x_range();
        let (a, b) = (a.max(lo), b.min(hi));
        if b > a {
            pieces.push(Piece::Finite { lo: a, hi: b });
        }
    }
    if pieces.is_empty() {
        return 0.0;
    }
    integrate_1d(f, &pieces).0.value
}

/// The flux of p·s through the faces of `[−R, R]^d ∩ D` for R on a log grid (1-D and 2-D;
/// the domain needs an infinite end).
pub fn boundary_flux(case: &Case, report: &Report) -> Result<BoundaryFlux, PlotError> {
    let d = case.vars.len();
    if d > 2 {
        return Err(err(format!(
            "the boundary figure is drawn for 1-D and 2-D cases; this case has {d} variables"
        )));
    }
    if case
        .domain
        .iter()
        .all(|&(a, b)| a.is_finite() && b.is_finite())
    {
        return Err(err(
            "the boundary figure follows the faces of [−R, R]^d out to an infinite end, and this case's domain is bounded; its boundary term is in `scorecheck check`",
        ));
    }
    let ev = Eval::new(case, report)?;
    let scale = ev
        .loc
        .modes
        .iter()
        .flat_map(|m| m.scale.iter().cloned())
        .fold(f64::INFINITY, f64::min)
        .clamp(1e-6, 1e6);
    // The smallest R whose box meets the domain.
    let mut r0 = 0.05 * scale;
    for &(a, b) in &case.domain {
        if a > 0.0 {
            r0 = r0.max(a + 0.05 * scale);
        }
        if b < 0.0 {
            r0 = r0.max(-b + 0.05 * scale);
        }
    }
    let reach = ev
        .loc
        .modes
        .iter()
        .flat_map(|m| m.x.iter().map(|v| v.abs()))
        .fold(0.0, f64::max)
        + scale;
    let flux_at = |r: f64| -> (f64, f64) {
        let mut moving = 0.0;
        let mut fixed = 0.0;
        for i in 0..d {
            let (a, b) = case.domain[i];
            for upper in [false, true] {
                let (end, is_fixed) = if upper {
                    if b <= r { (b, true) } else { (r, false) }
                } else if a >= -r {
                    (a, true)
                } else {
                    (-r, false)
                };
                let sign = if upper { 1.0 } else { -1.0 };
                let v = if d == 1 {
                    let at = ev.at(&[end]);
                    if at.p == 0.0 {
                        0.0
                    } else {
                        // With a weight h, the weighted identity's flux h·p·s (h = 1 without).
                        sign * at.h * at.p * at.s[0]
                    }
                } else {
                    let j = 1 - i;
                    let (ca, cb) = case.domain[j];
                    let (lo, hi) = (ca.max(-r), cb.min(r));
                    let f = |t: f64| {
                        let mut x = [0.0; 2];
                        x[i] = end;
                        x[j] = t;
                        let at = ev.at(&x);
                        if at.p == 0.0 {
                            0.0
                        } else {
                            at.h * at.p * at.s[i]
                        }
                    };
                    sign * face_integral(&f, &ev.loc, j, lo, hi)
                };
                if is_fixed {
                    fixed += v;
                } else {
                    moving += v;
                }
            }
        }
        (moving, fixed)
    };
    let mut f = BoundaryFlux {
        case: case.name.clone(),
        dim: d,
        r: vec![],
        moving: vec![],
        fixed: vec![],
        total: vec![],
        has_fixed: case
            .domain
            .iter()
            .any(|&(a, b)| a.is_finite() || b.is_finite()),
        boundary: report.cross.boundary.clone(),
        weighted: case.weight.is_some(),
    };
    // Out by decades (25 points each) until a decade after the moving flux underflows, at
    // least to 100 widths beyond the mass and at most to 1e8 widths.
    let mut r_hi = (reach * 100.0).max(r0 * 10.0);
    let mut zero_since: Option<f64> = None;
    let mut r = r0;
    let step = 10f64.powf(1.0 / 25.0);
    while r <= r_hi * 1.0000001 {
        let (m, x) = flux_at(r);
        f.r.push(r);
        f.moving.push(m);
        f.fixed.push(x);
        f.total.push(m + x);
        if m == 0.0 || m.abs() < 1e-300 {
            if zero_since.is_none() {
                zero_since = Some(r);
                r_hi = r_hi.min(r * 10.0).max(r0 * 10.0);
            }
        } else {
            zero_since = None;
            if r * 10.0 > r_hi && r_hi < 1e8 * reach {
                r_hi = (r * 10.0).min(1e8 * reach);
            }
        }
        r *= step;
    }
    Ok(f)
}

impl BoundaryFlux {
    pub(super) fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let body = title(
            root,
            &format!(
                "{}: flux of {}p·s through the faces of [−R, R]{} ∩ D",
                self.case,
                if self.weighted { "h·" } else { "" },
                if self.dim == 2 { "²" } else { "" }
            ),
        )?;
        let (w, _) = body.dim_in_pixel();
        let (plot, side) = body.split_horizontally(w as i32 - side_width(w));
        let tiny = 1e-300;
        let pos = |v: &[f64]| -> Vec<f64> { v.iter().map(|x| x.abs()).collect() };
        let (m, x, t) = (pos(&self.moving), pos(&self.fixed), pos(&self.total));
        let vals: Vec<f64> = m
            .iter()
            .chain(&x)
            .chain(&t)
            .cloned()
            .filter(|v| v.is_finite() && *v > tiny)
            .collect();
        // The y axis is log10|flux| on a linear scale, labelled as powers of ten (plotters'
        // log axis labels few ticks over hundreds of decades).
        let top = vals.iter().cloned().fold(tiny, f64::max).log10().ceil() + 0.5;
        let bottom = vals
            .iter()
            .cloned()
            .fold(f64::INFINITY, f64::min)
            .log10()
            .floor()
            .min(top - 3.0)
            - 0.5;
        let (r0, r1) = (self.r[0], *self.r.last().unwrap());
        let mut chart = ChartBuilder::on(&plot)
            .margin(14)
            .x_label_area_size(50)
            .y_label_area_size(90)
            .build_cartesian_2d(axis(r0, r1).log_scale(), axis(bottom, top))?;
        chart
            .configure_mesh()
            .x_desc("R (log scale)")
            .y_desc("|flux| (log scale)")
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 17))
            .y_label_formatter(&|v| pow10(*v))
            .x_label_formatter(&|v| {
                if (1e-3..1e5).contains(v) {
                    fmt_num(*v)
                } else {
                    format!("{v:.0e}")
                }
            })
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        let logs = |v: &[f64]| -> Vec<f64> {
            v.iter()
                .map(|x| if *x > tiny { x.log10() } else { f64::NAN })
                .collect()
        };
        let series = |v: &[f64]| -> Vec<Vec<(f64, f64)>> { inside(&self.r, &logs(v), bottom, top) };
        for seg in series(&m) {
            chart.draw_series(LineSeries::new(seg, BLUE_.stroke_width(3)))?;
        }
        if self.has_fixed {
            for seg in series(&x) {
                chart.draw_series(DashedLineSeries::new(seg, 10, 6, RED_.stroke_width(3)))?;
            }
            for seg in series(&t) {
                chart.draw_series(LineSeries::new(seg, BLACK.stroke_width(2)))?;
            }
        }
        let (ymin, ymax) = (bottom, top);
        // Where the moving flux underflows to 0 nothing is drawn; say where that starts.
        let gone = self
            .r
            .iter()
            .zip(&m)
            .position(|(_, v)| v.is_nan() || *v <= tiny)
            .filter(|&k| m[k..].iter().all(|v| v.is_nan() || *v <= tiny));
        let mut notes = vec![];
        if let Some(k) = gone {
            let rk = self.r[k];
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(rk, ymin), (rk, ymax)],
                GREY_.stroke_width(1),
            )))?;
            chart.draw_series(std::iter::once(Text::new(
                " p·s underflows: not drawn →",
                (rk, 0.5 * (ymin + ymax)),
                (FONT, 15).into_font().color(&GREY_),
            )))?;
            notes.push(format!(
                "Beyond R = {} p·s is below the smallest f64 (it underflows to 0); nothing is drawn there, which is not a measured value.",
                fmt_num(rk)
            ));
        }
        let mut items = vec![(
            "|flux through the faces at ±R| (moving with R)".to_string(),
            BLUE_,
            Mark::Thick,
        )];
        if self.has_fixed {
            items.push((
                "|flux through the domain's finite edges|".into(),
                RED_,
                Mark::Dashed,
            ));
            items.push(("|total ∮ p s·n over the box|".into(), BLACK, Mark::Line));
        }
        notes.push(format!(
            "boundary term from scorecheck check (R → ∞): {}",
            fmt_q(&self.boundary)
        ));
        notes.push(
            "The flux through the moving faces must decay to 0 for the boundary term to be the finite edges' alone."
                .into(),
        );
        let peak = m
            .iter()
            .cloned()
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max);
        let last = m.last().cloned().unwrap_or(0.0);
        let r_last = fmt_num(*self.r.last().unwrap());
        notes.push(if last.is_finite() && last <= 1e-3 * peak {
            format!("Here it decays: at R = {r_last} it is {last:.1e}, against {peak:.1e} at most.")
        } else {
            format!("Here it does not decay: at R = {r_last} it is still {last:.1e}.")
        });
        side_panel(&side, 30, &items, &notes)?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------

//! The 1-D identity figure: p, s, ∇log p; the integrands s·p′ and −p·s′ with their
//! running integrals.

use super::style::BLUE_;
use super::style::GREEN_;
use super::style::RED_;

use super::PlotError;
use super::format::domain_text;
use super::format::fmt_q;
use super::format::tick;
use super::numerics::Eval;
use super::numerics::inside;
use super::numerics::running;
use super::numerics::y_range;
use super::style::AreaLike;
use super::style::FONT;
use super::style::LIGHT_;
use super::style::Mark;
use super::style::axis;
use super::style::side_panel;
use super::style::side_width;
use super::style::title;
use crate::case::Case;
use crate::numbers::fmt_num;
use crate::numbers::linspace;
use crate::report::Ibp;
use crate::report::Quantity;
use crate::report::Report;
use plotters::coord::Shift;
use plotters::style::text_anchor::HPos;
use plotters::style::text_anchor::Pos;
use plotters::style::text_anchor::VPos;

use super::style::{DrawResult, Rgb};
use plotters::prelude::*;

// 1-D: the integrands and their running integrals.

/// The 1-D identity figure's data.
#[derive(Clone, Debug)]
pub struct Identity1d {
    pub case: String,
    /// With a weight h, its expression: the integrands drawn are then h·s·p′ and
    /// −p·(h s)′, the weighted identity's.
    pub weight: Option<String>,
    pub var: String,
    pub domain: String,
    pub x: Vec<f64>,
    pub p: Vec<f64>,
    pub s: Vec<f64>,
    pub dlogp: Vec<f64>,
    /// s·p′ at each x.
    pub lhs_integrand: Vec<f64>,
    /// −p·s′ at each x.
    pub rhs_integrand: Vec<f64>,
    /// ∫ from the left edge of the drawn range (trapezoid rule on the grid; for drawing).
    pub lhs_running: Vec<f64>,
    pub rhs_running: Vec<f64>,
    /// The report's values.
    pub lhs: Quantity,
    pub rhs: Quantity,
    pub boundary: Quantity,
    /// `check`'s verdict on lhs = boundary + rhs.
    pub ibp: Ibp,
    pub verdict: String,
}

/// The 1-D identity figure: p, s, ∇log p and the two integrands with running integrals.
pub fn identity_1d(case: &Case, report: &Report) -> Result<Identity1d, PlotError> {
    let ev = Eval::new(case, report)?;
    let (lo, hi) = ev.range(0, 11.0);
    // Nudge finite domain ends inwards by a hair: derivatives there may be one-sided or ∞.
    let x = linspace(lo, hi, 4001);
    let mut f = Identity1d {
        case: case.name.clone(),
        weight: case.weight.as_ref().map(|w| w.source().to_string()),
        var: case.vars[0].clone(),
        domain: domain_text(case),
        x: vec![],
        p: vec![],
        s: vec![],
        dlogp: vec![],
        lhs_integrand: vec![],
        rhs_integrand: vec![],
        lhs_running: vec![],
        rhs_running: vec![],
        lhs: report.cross.lhs.clone(),
        rhs: report.cross.rhs.clone(),
        boundary: report.cross.boundary.clone(),
        ibp: report.verdict.ibp,
        verdict: format!(
            "ibp {:?}, boundary {:?}",
            report.verdict.ibp, report.verdict.boundary
        )
        .to_lowercase(),
    };
    for &t in &x {
        let a = ev.at(&[t]);
        f.p.push(a.p);
        f.s.push(a.s[0]);
        f.dlogp.push(a.dlogp[0]);
        // s·p′ = s·p·∂log p; where p = 0 both integrands are 0.
        // With a weight h: h·s·p′ and −p·(h s)′ = −p(h s′ + h′ s).
        f.lhs_integrand.push(if a.p == 0.0 {
            0.0
        } else {
            a.h * a.s[0] * a.p * a.dlogp[0]
        });
        f.rhs_integrand.push(if a.p == 0.0 {
            0.0
        } else {
            -a.p * (a.h * a.ds[0] + a.dh[0] * a.s[0])
        });
    }
    f.lhs_running = running(&x, &f.lhs_integrand);
    f.rhs_running = running(&x, &f.rhs_integrand);
    f.x = x;
    // Integrated on the fine grid; every 4th point (and the last) is enough to draw.
    let keep = |v: &mut Vec<f64>| {
        *v = v.iter().step_by(4).cloned().collect();
    };
    for v in [
        &mut f.x,
        &mut f.p,
        &mut f.s,
        &mut f.dlogp,
        &mut f.lhs_integrand,
        &mut f.rhs_integrand,
        &mut f.lhs_running,
        &mut f.rhs_running,
    ] {
        keep(v);
    }
    Ok(f)
}

impl Identity1d {
    pub(super) fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let (hs, ph, hb) = if self.weight.is_some() {
            ("h s", "(h s)", "h s p")
        } else {
            ("s", "s", "s p")
        };
        let body = title(
            root,
            &match &self.weight {
                Some(w) => format!(
                    "{}: the weighted cross term ∫ h s p′ d{v} = −∫ p (h s)′ d{v} + [h s p], h = {w}",
                    self.case,
                    v = self.var
                ),
                None => format!(
                    "{}: the cross term ∫ s p′ d{v} = −∫ p s′ d{v} + [s p]",
                    self.case,
                    v = self.var
                ),
            },
        )?;
        let (w, _) = body.dim_in_pixel();
        let (left, right) = body.split_horizontally(w as i32 - side_width(w));
        let (_, lh) = left.dim_in_pixel();
        let (top, bottom) = left.split_vertically(lh as i32 * 45 / 100);
        let (rtop, rbottom) = right.split_vertically(lh as i32 * 45 / 100);
        let v = &self.var;
        let (x0, x1) = (self.x[0], *self.x.last().unwrap());
        let pmax = self
            .p
            .iter()
            .cloned()
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max);
        // The score axis covers s and ∇log p where p > 0.1% of its maximum (a score singular
        // at an end of the domain would otherwise flatten everything else).
        let keep: Vec<bool> = self.p.iter().map(|&p| p >= 1e-3 * pmax).collect();

        // Top: s and ∇log p on the left axis, p on the right one.
        let (ylo, yhi) = y_range(&[&self.s, &self.dlogp], &keep);
        let mut chart = ChartBuilder::on(&top)
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .right_y_label_area_size(70)
            .build_cartesian_2d(axis(x0, x1), axis(ylo, yhi))?
            .set_secondary_coord(axis(x0, x1), axis(0.0, pmax * 1.08));
        chart
            .configure_mesh()
            .x_desc(v.as_str())
            .y_desc("score s, ∇log p")
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 17))
            .light_line_style(WHITE.mix(0.0))
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .draw()?;
        chart
            .configure_secondary_axes()
            .y_desc("density p")
            .y_label_formatter(&tick)
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 17))
            .draw()?;
        chart.draw_secondary_series(AreaLike::new(&self.x, &self.p, LIGHT_))?;
        chart.draw_secondary_series(LineSeries::new(
            self.x.iter().cloned().zip(self.p.iter().cloned()),
            BLACK.stroke_width(2),
        ))?;
        for seg in inside(&self.x, &self.dlogp, ylo, yhi) {
            chart.draw_series(LineSeries::new(seg, RED_.stroke_width(3)))?;
        }
        for seg in inside(&self.x, &self.s, ylo, yhi) {
            chart.draw_series(DashedLineSeries::new(seg, 10, 6, BLUE_.stroke_width(3)))?;
        }
        side_panel(
            &rtop,
            20,
            &[
                ("density p (right axis)".into(), BLACK, Mark::Line),
                ("∇log p, the true score".into(), RED_, Mark::Thick),
                ("s, the field checked".into(), BLUE_, Mark::Dashed),
            ],
            &[format!("domain: {}", self.domain)],
        )?;

        // Bottom: the integrands and their running integrals.
        let lhs = self.lhs.value;
        let rhs = self.rhs.value;
        let mut ys: Vec<&[f64]> = vec![
            &self.lhs_integrand,
            &self.rhs_integrand,
            &self.lhs_running,
            &self.rhs_running,
        ];
        let ends = [lhs.unwrap_or(0.0), rhs.unwrap_or(0.0)];
        ys.push(&ends);
        let all = vec![true; self.x.len().max(2)];
        let (blo, bhi) = y_range(&ys, &all);
        let mut chart = ChartBuilder::on(&bottom)
            .margin(12)
            .margin_right(82)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(axis(x0, x1), axis(blo, bhi))?;
        chart
            .configure_mesh()
            .x_desc(v.as_str())
            .y_desc("integrand, running integral")
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 17))
            .light_line_style(WHITE.mix(0.0))
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .draw()?;
        chart.draw_series(LineSeries::new(
            vec![(x0, 0.0), (x1, 0.0)],
            LIGHT_.stroke_width(1),
        ))?;
        chart.draw_series(LineSeries::new(
            self.x
                .iter()
                .cloned()
                .zip(self.lhs_integrand.iter().cloned()),
            BLUE_.mix(0.6).stroke_width(1),
        ))?;
        chart.draw_series(LineSeries::new(
            self.x
                .iter()
                .cloned()
                .zip(self.rhs_integrand.iter().cloned()),
            RED_.mix(0.6).stroke_width(1),
        ))?;
        chart.draw_series(LineSeries::new(
            self.x.iter().cloned().zip(self.lhs_running.iter().cloned()),
            BLUE_.stroke_width(4),
        ))?;
        chart.draw_series(DashedLineSeries::new(
            self.x.iter().cloned().zip(self.rhs_running.iter().cloned()),
            10,
            6,
            RED_.stroke_width(3),
        ))?;
        // The report's end values at the right edge, and the gap between them.
        let dx = (x1 - x0) * 0.012;
        if let Some(l) = lhs {
            // A ring, so the rhs dot inside it stays visible when the two ends agree.
            chart.draw_series(std::iter::once(Circle::new(
                (x1 - dx, l),
                9,
                BLUE_.stroke_width(3),
            )))?;
        }
        if let Some(r) = rhs {
            chart.draw_series(std::iter::once(Circle::new((x1 - dx, r), 6, RED_.filled())))?;
        }
        let mut notes = vec![
            format!("lhs = ∫ {hs} p′ d{v} = {}", fmt_q(&self.lhs)),
            format!("rhs = −∫ p {ph}′ d{v} = {}", fmt_q(&self.rhs)),
            format!("boundary [{hb}] = {}", fmt_q(&self.boundary)),
        ];
        if let (Some(l), Some(r)) = (lhs, rhs) {
            let gap = l - r;
            let b = self.boundary.value.unwrap_or(0.0);
            let scale = (bhi - blo).abs();
            if gap.abs() > 0.01 * scale {
                let xb = x1 - 4.0 * dx;
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![(xb, l), (xb, r)],
                    GREEN_.stroke_width(3),
                )))?;
                for y in [l, r] {
                    chart.draw_series(std::iter::once(PathElement::new(
                        vec![(xb - dx, y), (xb + dx, y)],
                        GREEN_.stroke_width(3),
                    )))?;
                }
                // "=" exactly when `check` found lhs = boundary + rhs within the errors.
                let ok = self.ibp == Ibp::Holds;
                let label = if ok {
                    format!("lhs − rhs = {} = boundary term", fmt_num(gap))
                } else {
                    format!("lhs − rhs = {} ≠ boundary", fmt_num(gap))
                };
                chart.draw_series(std::iter::once(Text::new(
                    label,
                    (xb - 1.5 * dx, 0.5 * (l + r)),
                    (FONT, 16)
                        .into_font()
                        .color(&GREEN_)
                        .pos(Pos::new(HPos::Right, VPos::Center)),
                )))?;
                notes.push(if ok {
                    "The running integrals end apart by the boundary term.".into()
                } else {
                    format!("The running integrals end {} apart, but the boundary term is {}: the identity fails (a jump in s, say, puts a delta in s′ that pointwise derivatives miss).", fmt_num(gap), fmt_num(b))
                });
            } else {
                notes.push(
                    "The two running integrals end at the same value: the boundary term vanishes."
                        .into(),
                );
            }
        }
        if lhs.is_none() || rhs.is_none() {
            notes.push(
                "A side without a finite value has no end to mark: its running integral does not settle."
                    .into(),
            );
        }
        notes.push(format!("verdict: {}", self.verdict));
        notes.push("End values (dots) and ± errors are from scorecheck check; the curves are a trapezoid rule on the drawn range.".into());
        side_panel(
            &rbottom,
            20,
            &[
                (
                    format!("{hs}·p′ (integrand of lhs)"),
                    BLUE_.mix(0.6).to_rgba().on_white(),
                    Mark::Line,
                ),
                (
                    format!("−p·{ph}′ (integrand of rhs)"),
                    RED_.mix(0.6).to_rgba().on_white(),
                    Mark::Line,
                ),
                (format!("running ∫ {hs}·p′"), BLUE_, Mark::Thick),
                (format!("running ∫ −p·{ph}′"), RED_, Mark::Dashed),
            ],
            &notes,
        )?;
        Ok(())
    }
}

//! The sweep figure: the objectives against the swept parameter.

use super::style::BLUE_;
use super::style::RED_;

use super::format::tick;
use super::numerics::inside;
use super::numerics::y_range;
use super::style::FONT;
use super::style::GREY_;
use super::style::Mark;
use super::style::axis;
use super::style::side_panel;
use super::style::side_width;
use super::style::title;
use crate::numbers::fmt_num;
use plotters::coord::Shift;
use plotters::style::text_anchor::HPos;
use plotters::style::text_anchor::Pos;
use plotters::style::text_anchor::VPos;

use super::style::{DrawResult, Rgb};
use plotters::prelude::*;

use crate::report::Boundary;
use crate::sweep::{Sweep, SweepError, ism_const};

// The sweep's objectives against the parameter.

/// The sweep figure's data: esm(θ), ism(θ) and ism(θ) + const(θ) over one parameter.
#[derive(Clone, Debug)]
pub struct SweepFigure {
    pub case: String,
    pub param: String,
    pub theta: Vec<f64>,
    pub esm: Vec<Option<f64>>,
    pub ism: Vec<Option<f64>>,
    pub ism_const: Vec<Option<f64>>,
    pub argmin_esm: Option<f64>,
    pub argmin_ism: Option<f64>,
    /// The largest |boundary term| over the grid.
    pub max_boundary: f64,
    /// Whether `check` found the boundary term vanishing at every grid point.
    pub boundary_vanishes: bool,
    pub domain: String,
}

impl SweepFigure {
    pub(super) fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let th = &self.param;
        let body = title(root, &format!("{}: the objectives against {th}", self.case))?;
        let (w, _) = body.dim_in_pixel();
        let (plot, side) = body.split_horizontally(w as i32 - side_width(w));
        let (t0, t1) = (self.theta[0], *self.theta.last().unwrap());
        let flat =
            |v: &[Option<f64>]| -> Vec<f64> { v.iter().map(|x| x.unwrap_or(f64::NAN)).collect() };
        let (e, i, ic) = (flat(&self.esm), flat(&self.ism), flat(&self.ism_const));
        let all = vec![true; e.len()];
        let (ylo, yhi) = y_range(&[&e, &i, &ic], &all);
        let mut chart = ChartBuilder::on(&plot)
            .margin(14)
            .x_label_area_size(50)
            .y_label_area_size(80)
            .build_cartesian_2d(axis(t0, t1), axis(ylo, yhi))?;
        chart
            .configure_mesh()
            .x_desc(format!("parameter {th}"))
            .y_desc("objective")
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 17))
            .light_line_style(WHITE.mix(0.0))
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .draw()?;
        for seg in inside(&self.theta, &i, ylo, yhi) {
            chart.draw_series(LineSeries::new(seg, GREY_.stroke_width(2)))?;
        }
        for seg in inside(&self.theta, &e, ylo, yhi) {
            chart.draw_series(LineSeries::new(seg, BLUE_.mix(0.8).stroke_width(6)))?;
        }
        for seg in inside(&self.theta, &ic, ylo, yhi) {
            chart.draw_series(DashedLineSeries::new(seg, 10, 7, RED_.stroke_width(3)))?;
        }
        let mut notes = vec![];
        // A minimiser within 1e-9 of the grid's span from 0 is shown as 0.
        let snap = |v: Option<f64>| v.map(|v| if v.abs() <= 1e-9 * (t1 - t0) { 0.0 } else { v });
        let (argmin_esm, argmin_ism) = (snap(self.argmin_esm), snap(self.argmin_ism));
        let same = match (argmin_esm, argmin_ism) {
            (Some(a), Some(b)) => (a - b).abs() <= 1e-3 * (t1 - t0),
            _ => false,
        };
        let mut mark = |t: f64, col: RGBColor, label: String, up: bool| -> DrawResult {
            chart.draw_series(DashedLineSeries::new(
                vec![(t, ylo), (t, yhi)],
                6,
                5,
                col.stroke_width(2),
            ))?;
            let y = if up {
                yhi - 0.05 * (yhi - ylo)
            } else {
                yhi - 0.12 * (yhi - ylo)
            };
            let left = t > 0.5 * (t0 + t1);
            chart.draw_series(std::iter::once(Text::new(
                label,
                (t + if left { -0.01 } else { 0.01 } * (t1 - t0), y),
                (FONT, 16).into_font().color(&col).pos(Pos::new(
                    if left { HPos::Right } else { HPos::Left },
                    VPos::Center,
                )),
            )))?;
            Ok(())
        };
        if same {
            let a = argmin_esm.unwrap();
            mark(
                a,
                BLACK,
                format!("same minimiser {th}* = {}", fmt_num(a)),
                true,
            )?;
            notes.push(if self.boundary_vanishes {
                format!(
                    "esm and ism + const coincide: the boundary term vanishes at every grid point (largest |boundary|: {}), and ism, shifted by const, has the same minimiser.",
                    fmt_num(self.max_boundary)
                )
            } else {
                format!(
                    "The minimisers agree to the grid's resolution, but the boundary term does not vanish at every grid point (largest |boundary|: {}).",
                    fmt_num(self.max_boundary)
                )
            });
        } else {
            if let Some(a) = argmin_esm {
                mark(a, BLUE_, format!("argmin esm = {}", fmt_num(a)), true)?;
            }
            if let Some(b) = argmin_ism {
                mark(b, RED_, format!("argmin ism = {}", fmt_num(b)), false)?;
            }
            if let (Some(a), Some(b)) = (argmin_esm, argmin_ism) {
                notes.push(format!(
                    "The curves separate by the boundary term (up to {} over the grid): minimising ism gives {th} = {}, not the {} that esm picks.",
                    fmt_num(self.max_boundary),
                    fmt_num(b),
                    fmt_num(a)
                ));
            }
        }
        notes.push(format!("domain: {}", self.domain));
        notes.push("Minimisers: the grid's smallest value, refined by a parabola through it and its neighbours.".into());
        side_panel(
            &side,
            30,
            &[
                (
                    format!("esm({th}) = E ½|s − ∇log p|²"),
                    BLUE_.mix(0.8).to_rgba().on_white(),
                    Mark::Thick,
                ),
                (format!("ism({th}) + const({th})"), RED_, Mark::Dashed),
                (format!("ism({th}) = E[½|s|² + ∇·s]"), GREY_, Mark::Line),
            ],
            &notes,
        )?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------

// The figure is built here, from the sweep's report, so that `sweep` (a compute module)
// does not depend on the drawing code.
impl Sweep {
    /// The figure of esm, ism and ism + const against the one grid parameter.
    pub fn figure(&self, domain: String) -> Result<SweepFigure, SweepError> {
        let [g] = self.grid.as_slice() else {
            return Err(SweepError(
                "--plot draws the objectives against one parameter; give exactly one grid (fix the others with --param NAME=VALUE)".into(),
            ));
        };
        let a = self.argmin.as_ref();
        Ok(SweepFigure {
            case: match &self.weight {
                Some(w) => format!("{} (weighted, h = {w})", self.case),
                None => self.case.clone(),
            },
            param: g.name.clone(),
            theta: g.values.clone(),
            esm: self.points.iter().map(|p| p.objective.esm.value).collect(),
            ism: self.points.iter().map(|p| p.objective.ism.value).collect(),
            ism_const: self.points.iter().map(ism_const).collect(),
            argmin_esm: a.and_then(|a| a.esm),
            argmin_ism: a.and_then(|a| a.ism),
            max_boundary: self
                .points
                .iter()
                .filter_map(|p| p.cross.boundary.value)
                .fold(0.0, |m, v| m.max(v.abs())),
            boundary_vanishes: self
                .points
                .iter()
                .all(|p| p.verdict.boundary == Boundary::Vanishes),
            domain,
        })
    }
}

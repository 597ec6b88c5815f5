//! The estimate figure: the sampling estimators of ism against the number of draws.

use super::err;
use super::style::BLUE_;
use super::style::GREEN_;
use super::style::RED_;

use super::PlotError;
use super::format::count_tick;
use super::format::fmt_q;
use super::format::tick;
use super::numerics::y_range;
use super::style::FONT;
use super::style::GREY_;
use super::style::LIGHT_;
use super::style::Mark;
use super::style::PURPLE_;
use super::style::axis;
use super::style::side_panel;
use super::style::side_width;
use super::style::title;
use crate::estimate::EstimateReport;
use crate::estimate::SeriesPoint;
use crate::report::Quantity;
use crate::sample::Method;
use crate::stats::Agreement;
use plotters::coord::Shift;

use super::style::DrawResult;
use plotters::prelude::*;

// The sampling estimators of ism against the number of draws.

/// One estimator's series in the estimate figure.
#[derive(Clone, Debug)]
pub struct EstimateSeries {
    /// `exact trace`, `sliced-vr (rademacher)`, …
    pub label: String,
    /// Mean and standard error on the first n draws, n = 100, 300, 1000, …, all.
    pub points: Vec<SeriesPoint>,
    /// `(mean − quadrature)/se` on all draws.
    pub z: Option<f64>,
    pub agreement: Agreement,
}

/// The estimate figure's data, taken from an [`EstimateReport`] as it is: each estimator's
/// mean ± 2 se against n, and the quadrature value of ism.
#[derive(Clone, Debug)]
pub struct EstimateFigure {
    pub case: String,
    /// The sampler in a few words, e.g. `inverse CDF` or `MALA, 4 chains`.
    pub sampler: String,
    pub seed: u64,
    pub n: usize,
    pub probes_per_draw: usize,
    /// The case's number of variables.
    pub dim: usize,
    /// ism by quadrature.
    pub ism: Quantity,
    pub series: Vec<EstimateSeries>,
    pub verdict: Agreement,
}

pub(super) fn agreement_word(a: Agreement) -> &'static str {
    match a {
        Agreement::Agrees => "agrees",
        Agreement::Disagrees => "DISAGREES",
        Agreement::Undecided => "undecided",
    }
}

/// The figure of `scorecheck estimate --plot`, from its report (nothing is recomputed).
pub fn estimate_figure(r: &EstimateReport) -> Result<EstimateFigure, PlotError> {
    let series: Vec<EstimateSeries> = r
        .estimators
        .iter()
        .map(|e| {
            let form = e.form.replace('_', " ").replace("sliced vr", "sliced-vr");
            EstimateSeries {
                label: match e.probe {
                    Some(p) => format!("{form} ({})", p.name()),
                    None => form,
                },
                points: e
                    .series
                    .iter()
                    .filter(|s| s.mean.is_finite() && s.se.is_finite() && s.n > 0)
                    .copied()
                    .collect(),
                z: e.z,
                agreement: e.agreement,
            }
        })
        .collect();
    if series.iter().all(|s| s.points.is_empty()) {
        return Err(err(
            "the estimate has no finite mean to draw (see the report for why)",
        ));
    }
    let sampler = match &r.sampler {
        Method::InverseCdf { .. } => "inverse CDF".to_string(),
        Method::Product { .. } => "product of 1-D inverse CDFs".to_string(),
        Method::Mala { chains, .. } => format!("MALA, {chains} chains"),
    };
    Ok(EstimateFigure {
        case: r.case.clone(),
        sampler,
        seed: r.seed,
        n: r.n,
        probes_per_draw: r.probes_per_draw,
        dim: r.vars.len(),
        ism: r.ism.clone(),
        series,
        verdict: r.verdict,
    })
}

/// An axis of log10 n with its ticks at the given values (the series' sizes).
pub(super) struct LogCounts {
    pub(super) inner: plotters::coord::types::RangedCoordf64,
    pub(super) keys: Vec<f64>,
}

impl plotters::coord::ranged1d::Ranged for LogCounts {
    type FormatOption = plotters::coord::ranged1d::DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: plotters::coord::ranged1d::KeyPointHint>(&self, _: Hint) -> Vec<f64> {
        self.keys.clone()
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
}

pub(super) const ORANGE_: RGBColor = RGBColor(225, 130, 20);

impl EstimateFigure {
    pub(super) fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let body = title(
            root,
            &format!(
                "{}: estimates of ism ± 2 se against n ({}, seed {})",
                self.case, self.sampler, self.seed
            ),
        )?;
        let (w, _) = body.dim_in_pixel();
        let (plot, side) = body.split_horizontally(w as i32 - side_width(w));
        let colors = [BLUE_, RED_, GREEN_, PURPLE_, ORANGE_, GREY_];
        // x is log10 n on a linear scale, with ticks at the series' sizes.
        let mut sizes: Vec<usize> = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.n))
            .collect();
        sizes.sort_unstable();
        sizes.dedup();
        let k = self.series.len();
        // Each estimator's points sit a little to the side of n, so the bars do not overlap.
        let step = 0.025;
        let shift = |i: usize| (i as f64 - (k as f64 - 1.0) / 2.0) * step;
        let l0 = (sizes[0] as f64).log10();
        let l1 = (*sizes.last().unwrap() as f64).log10();
        let pad = 0.08 * (l1 - l0).max(1.0) + shift(k.saturating_sub(1)).abs();
        let (xmin, xmax) = (l0 - pad, l1 + pad);
        // Ticks at the sizes; one within 0.2 decades of the last (n = 3000 and all 4000
        // draws, say) would run into its label, and is left unlabelled.
        let mut keys: Vec<f64> = sizes.iter().map(|&n| (n as f64).log10()).collect();
        if keys.len() > 1 && l1 - keys[keys.len() - 2] < 0.2 {
            keys.remove(keys.len() - 2);
        }
        let mut lo = f64::INFINITY;
        let mut hi = f64::NEG_INFINITY;
        for p in self.series.iter().flat_map(|s| &s.points) {
            lo = lo.min(p.mean - 2.0 * p.se);
            hi = hi.max(p.mean + 2.0 * p.se);
        }
        let quad = self.ism.value.filter(|v| v.is_finite());
        let qerr = self.ism.error.filter(|e| e.is_finite()).unwrap_or(0.0);
        if let Some(q) = quad {
            lo = lo.min(q - qerr);
            hi = hi.max(q + qerr);
        }
        let (ylo, yhi) = y_range(&[&[lo, hi]], &[true, true]);
        let mut chart = ChartBuilder::on(&plot)
            .margin(14)
            .x_label_area_size(50)
            .y_label_area_size(90)
            .build_cartesian_2d(
                LogCounts {
                    inner: axis(xmin, xmax).into(),
                    keys,
                },
                axis(ylo, yhi),
            )?;
        chart
            .configure_mesh()
            .x_desc("draws used, n (log scale)")
            .y_desc("estimate of ism = E[½|s|² + ∇·s]")
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 17))
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(LIGHT_.mix(0.4))
            .x_label_formatter(&count_tick)
            .y_label_formatter(&tick)
            .draw()?;
        let mut items = vec![];
        if let Some(q) = quad {
            if qerr > 0.0 {
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(xmin, q - qerr), (xmax, q + qerr)],
                    BLACK.mix(0.12).filled(),
                )))?;
            }
            chart.draw_series(LineSeries::new(
                vec![(xmin, q), (xmax, q)],
                BLACK.stroke_width(2),
            ))?;
            items.push((
                format!("quadrature ism = {}", fmt_q(&self.ism)),
                BLACK,
                Mark::Line,
            ));
        }
        let cap = 0.3 * step;
        for (i, s) in self.series.iter().enumerate() {
            let col = colors[i % colors.len()];
            let pts: Vec<(f64, f64)> = s
                .points
                .iter()
                .map(|p| ((p.n as f64).log10() + shift(i), p.mean))
                .collect();
            chart.draw_series(LineSeries::new(pts.clone(), col.mix(0.5).stroke_width(1)))?;
            for (p, &(x, y)) in s.points.iter().zip(&pts) {
                let (a, b) = (y - 2.0 * p.se, y + 2.0 * p.se);
                chart.draw_series(
                    [
                        vec![(x, a), (x, b)],
                        vec![(x - cap, a), (x + cap, a)],
                        vec![(x - cap, b), (x + cap, b)],
                    ]
                    .into_iter()
                    .map(|l| PathElement::new(l, col.stroke_width(2))),
                )?;
            }
            chart.draw_series(pts.iter().map(|&p| Circle::new(p, 4, col.filled())))?;
            let z =
                s.z.filter(|z| z.is_finite())
                    .map_or("—".to_string(), |z| format!("{z:+.2}"));
            items.push((
                format!("{}: z = {z}, {}", s.label, agreement_word(s.agreement)),
                col,
                Mark::Point,
            ));
        }
        let sliced = self.series.iter().any(|s| s.label.starts_with("sliced"));
        let mut notes = vec![format!(
            "Points: the mean of the first n of {} draws{}; bars: ± 2 se{}. The estimators are shifted a little along n so the bars do not overlap.",
            self.n,
            if sliced {
                format!(
                    ", {} probe{} per draw",
                    self.probes_per_draw,
                    if self.probes_per_draw == 1 { "" } else { "s" }
                )
            } else {
                String::new()
            },
            if self.sampler.starts_with("MALA") {
                " (se from the chains' effective sample size)"
            } else {
                ""
            }
        )];
        if quad.is_none() {
            notes.push(format!(
                "No quadrature value of ism to compare with ({}).",
                fmt_q(&self.ism)
            ));
        } else if qerr >= 0.003 * (yhi - ylo) {
            notes.push("The grey band is the quadrature's reported error.".into());
        }
        // Estimators that give the same numbers at every n are drawn over each other: say so.
        let mut seen = vec![false; k];
        for i in 0..k {
            if seen[i] || self.series[i].points.is_empty() {
                continue;
            }
            let same: Vec<usize> = (i..k)
                .filter(|&j| self.series[j].points == self.series[i].points)
                .collect();
            if same.len() > 1 {
                let names: Vec<&str> = same
                    .iter()
                    .map(|&j| self.series[j].label.as_str())
                    .collect();
                let why = if self.dim == 1 && names.iter().any(|n| n.contains("rademacher")) {
                    " (in 1-D a ±1 probe gives vᵀJv = tr J)"
                } else {
                    ""
                };
                notes.push(format!(
                    "{}: the same numbers at every n{why}.",
                    names.join(", ")
                ));
                for j in same {
                    seen[j] = true;
                }
            }
        }
        notes.push(format!(
            "z = (mean − quadrature)/se on all draws. Verdict: {}.",
            agreement_word(self.verdict)
        ));
        side_panel(&side, 30, &items, &notes)?;
        Ok(())
    }
}

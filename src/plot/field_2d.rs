//! The 2-D identity figure: contours of p, arrows of s and ∇log p, and a panel of s − ∇log p.

use super::style::BLUE_;
use super::style::RED_;

use super::PlotError;
use super::format::fmt_q;
use super::format::tick;
use super::numerics::Eval;
use super::style::FONT;
use super::style::GREY_;
use super::style::Mark;
use super::style::PURPLE_;
use super::style::axis;
use super::style::side_panel;
use super::style::side_width;
use super::style::title;
use crate::case::Case;
use crate::numbers::fmt_num;
use crate::numbers::linspace;
use crate::report::Quantity;
use crate::report::Report;
use plotters::coord::Shift;

use super::style::DrawResult;
use plotters::prelude::*;

// 2-D: fields as arrows over contours of p.

/// A line segment in data coordinates.
pub type Segment = [(f64, f64); 2];

/// A polyline in data coordinates.
pub type Polyline = Vec<(f64, f64)>;

/// One grid point of the 2-D figure: where, s, ∇log p, and log(p/p_max).
#[derive(Clone, Copy, Debug)]
pub struct Arrow {
    pub at: [f64; 2],
    pub s: [f64; 2],
    pub dlogp: [f64; 2],
    pub rel: f64,
}

/// The 2-D identity figure's data.
#[derive(Clone, Debug)]
pub struct Field2d {
    pub case: String,
    pub vars: [String; 2],
    pub domain: Vec<(f64, f64)>,
    pub x: (f64, f64),
    pub y: (f64, f64),
    /// Contour segments of p, per level (fraction of p_max, segments).
    pub contours: Vec<(f64, Vec<Polyline>)>,
    /// Arrow grid: point, s, ∇log p.
    pub arrows: Vec<Arrow>,
    pub esm: Quantity,
    pub boundary: Quantity,
    pub verdict: String,
    /// esm and the boundary term are the weighted identity's (the case has a weight).
    pub weighted: bool,
}

/// Contour levels, as fractions of p_max.
pub(super) const LEVELS: [f64; 6] = [0.01, 0.05, 0.2, 0.4, 0.6, 0.8];

/// Marching squares: segments where `v − level` changes sign on a grid `v[j][i]` over `xs × ys`.
pub(super) fn contour(xs: &[f64], ys: &[f64], v: &[Vec<f64>], level: f64) -> Vec<Segment> {
    let mut segs = vec![];
    for j in 0..ys.len() - 1 {
        for i in 0..xs.len() - 1 {
            let c = [
                (xs[i], ys[j], v[j][i] - level),
                (xs[i + 1], ys[j], v[j][i + 1] - level),
                (xs[i + 1], ys[j + 1], v[j + 1][i + 1] - level),
                (xs[i], ys[j + 1], v[j + 1][i] - level),
            ];
            if c.iter().any(|p| !p.2.is_finite()) {
                continue;
            }
            let mut pts = vec![];
            for k in 0..4 {
                let (a, b) = (c[k], c[(k + 1) % 4]);
                // Interpolate from the lower-left end, so the two cells sharing an edge put
                // its crossing at the same bits (and `chain` can join them).
                let (a, b) = if (a.0, a.1) <= (b.0, b.1) {
                    (a, b)
                } else {
                    (b, a)
                };
                if (a.2 < 0.0) != (b.2 < 0.0) {
                    let t = a.2 / (a.2 - b.2);
                    pts.push((a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1)));
                }
            }
            match pts.len() {
                // A level through a corner gives a crossing of length 0 there: nothing to draw.
                2 if pts[0] == pts[1] => {}
                2 => segs.push([pts[0], pts[1]]),
                4 => {
                    // A saddle: pair the crossings by the centre's side.
                    let centre = c.iter().map(|p| p.2).sum::<f64>() / 4.0;
                    if (centre < 0.0) == (c[0].2 < 0.0) {
                        segs.push([pts[0], pts[3]]);
                        segs.push([pts[1], pts[2]]);
                    } else {
                        segs.push([pts[0], pts[1]]);
                        segs.push([pts[2], pts[3]]);
                    }
                }
                _ => {}
            }
        }
    }
    segs
}

/// Join segments that share end points into polylines (marching squares puts a crossing on
/// an edge at the same coordinates for both cells that share the edge).
pub(super) fn chain(segs: Vec<Segment>) -> Vec<Polyline> {
    use std::collections::HashMap;
    let key = |p: (f64, f64)| (p.0.to_bits(), p.1.to_bits());
    let mut at: HashMap<(u64, u64), Vec<usize>> = HashMap::new();
    for (k, s) in segs.iter().enumerate() {
        at.entry(key(s[0])).or_default().push(k);
        at.entry(key(s[1])).or_default().push(k);
    }
    let mut used = vec![false; segs.len()];
    let mut lines = vec![];
    for start in 0..segs.len() {
        if used[start] {
            continue;
        }
        used[start] = true;
        let mut line: std::collections::VecDeque<(f64, f64)> =
            [segs[start][0], segs[start][1]].into_iter().collect();
        // Grow at the back, then at the front.
        for back in [true, false] {
            loop {
                let end = if back {
                    *line.back().unwrap()
                } else {
                    *line.front().unwrap()
                };
                let next = at
                    .get(&key(end))
                    .and_then(|ks| ks.iter().find(|&&k| !used[k]).copied());
                let Some(k) = next else { break };
                used[k] = true;
                let s = segs[k];
                let other = if key(s[0]) == key(end) { s[1] } else { s[0] };
                if back {
                    line.push_back(other);
                } else {
                    line.push_front(other);
                }
            }
        }
        lines.push(line.into_iter().collect());
    }
    lines
}

/// Below this `log(p/p_max)` on every side of the frame (the drop `Eval::range` walks to), the
/// lowest contour (1%) is closed inside it.
const FRAME_DROP: f64 = 7.0;

/// Grow the frame `xr × yr` until p/p_max < e^−[`FRAME_DROP`] all along each side that is
/// not a finite edge of the domain, so that every contour is closed inside it (or ends on a
/// drawn edge). The per-axis ranges walk out from the modes along the axes only; a density
/// whose mass curves away from them (a banana, p ∝ exp(−x²/2 − (y − x²)²/(2·0.25))) has
/// its 1% contour far outside those (at y = 2 ln 100 ≈ 9.2 on the ridge y = x²).
fn holding_frame(
    ev: &Eval,
    mut xr: (f64, f64),
    mut yr: (f64, f64),
    case: &Case,
) -> ((f64, f64), (f64, f64)) {
    let (dx, dy) = (case.domain[0], case.domain[1]);
    let k = 241;
    // Whether side `side` (0: x = lo, 1: x = hi, 2: y = lo, 3: y = hi) still carries mass.
    let heavy = |xr: (f64, f64), yr: (f64, f64), side: usize| -> bool {
        let (edge, along) = match side {
            0 => (xr.0, yr),
            1 => (xr.1, yr),
            2 => (yr.0, xr),
            _ => (yr.1, xr),
        };
        linspace(along.0, along.1, k).iter().any(|&t| {
            let x = if side < 2 { [edge, t] } else { [t, edge] };
            ev.at(&x).rel >= -FRAME_DROP
        })
    };
    // At most 40 growths by half the width: a frame 1e7 times the first one.
    for _ in 0..40 {
        let mut grew = false;
        for side in 0..4 {
            let at_edge = match side {
                0 => xr.0 <= dx.0,
                1 => xr.1 >= dx.1,
                2 => yr.0 <= dy.0,
                _ => yr.1 >= dy.1,
            };
            if at_edge || !heavy(xr, yr, side) {
                continue;
            }
            grew = true;
            let (wx, wy) = (xr.1 - xr.0, yr.1 - yr.0);
            match side {
                0 => xr.0 = (xr.0 - 0.5 * wx).max(dx.0),
                1 => xr.1 = (xr.1 + 0.5 * wx).min(dx.1),
                2 => yr.0 = (yr.0 - 0.5 * wy).max(dy.0),
                _ => yr.1 = (yr.1 + 0.5 * wy).min(dy.1),
            }
        }
        if !grew {
            break;
        }
    }
    (xr, yr)
}

/// The 2-D identity figure: contours of p, arrows of s and ∇log p, and of s − ∇log p.
pub fn field_2d(case: &Case, report: &Report) -> Result<Field2d, PlotError> {
    let ev = Eval::new(case, report)?;
    let (xr, yr) = holding_frame(&ev, ev.range(0, 7.0), ev.range(1, 7.0), case);
    // A hair inside finite edges, where one-sided derivatives are still defined.
    let inset = |(a, b): (f64, f64)| {
        let h = 1e-9 * (b - a);
        (a + h, b - h)
    };
    let (xa, xb) = inset(xr);
    let (ya, yb) = inset(yr);
    let n = 121;
    let xs = linspace(xa, xb, n);
    let ys = linspace(ya, yb, n);
    let grid: Vec<Vec<f64>> = ys
        .iter()
        .map(|&y| xs.iter().map(|&x| ev.at(&[x, y]).rel.exp()).collect())
        .collect();
    let contours = LEVELS
        .iter()
        .map(|&l| (l, chain(contour(&xs, &ys, &grid, l))))
        .collect();
    let m = 17;
    let mut arrows = vec![];
    for &y in &linspace(ya, yb, m + 2)[1..=m] {
        for &x in &linspace(xa, xb, m + 2)[1..=m] {
            let a = ev.at(&[x, y]);
            // Arrows where p/p_max > 1e-3 (the figure's region reaches p/p_max ~ 1e-3 too).
            if a.rel >= -7.0 {
                arrows.push(Arrow {
                    at: [x, y],
                    s: a.s,
                    dlogp: a.dlogp,
                    rel: a.rel,
                });
            }
        }
    }
    Ok(Field2d {
        case: case.name.clone(),
        vars: [case.vars[0].clone(), case.vars[1].clone()],
        domain: case.domain.clone(),
        x: xr,
        y: yr,
        contours,
        arrows,
        esm: report.objective.esm.clone(),
        boundary: report.cross.boundary.clone(),
        verdict: format!(
            "ibp {:?}, boundary {:?}",
            report.verdict.ibp, report.verdict.boundary
        )
        .to_lowercase(),
        weighted: case.weight.is_some(),
    })
}

impl Field2d {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        caption: &str,
        fields: &[(Vec<[f64; 2]>, RGBColor)],
        scale: f64,
    ) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let (x0, x1) = self.x;
        let (y0, y1) = self.y;
        let mut chart = ChartBuilder::on(area)
            .caption(caption, (FONT, 19))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(axis(x0, x1), axis(y0, y1))?;
        chart
            .configure_mesh()
            .x_desc(self.vars[0].as_str())
            .y_desc(self.vars[1].as_str())
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 17))
            .light_line_style(WHITE.mix(0.0))
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .draw()?;
        for (level, segs) in &self.contours {
            let shade = (200.0 - 150.0 * level) as u8;
            let col = RGBColor(shade, shade, shade);
            chart.draw_series(
                segs.iter()
                    .map(|s| PathElement::new(s.clone(), col.stroke_width(1))),
            )?;
        }
        // Finite edges of the domain.
        for (i, &(a, b)) in self.domain.iter().enumerate() {
            for e in [a, b] {
                if !e.is_finite() {
                    continue;
                }
                let line = if i == 0 {
                    vec![(e, y0), (e, y1)]
                } else {
                    vec![(x0, e), (x1, e)]
                };
                chart.draw_series(std::iter::once(PathElement::new(
                    line,
                    BLACK.stroke_width(4),
                )))?;
            }
        }
        // Arrows: lengths in units of the grid spacing, directions as drawn on the axes.
        let cell = (x1 - x0).min(y1 - y0) / 18.0;
        let (wx, wy) = (x1 - x0, y1 - y0);
        let w = wx.max(wy);
        for (vecs, col) in fields {
            for (k, arrow) in self.arrows.iter().enumerate() {
                let pt = arrow.at;
                let v = vecs[k];
                let len = (v[0] * v[0] + v[1] * v[1]).sqrt();
                if len.is_nan() || len <= 0.0 || len.is_infinite() {
                    continue;
                }
                let l = (len / scale).min(1.4) * 0.9 * cell;
                // Direction in axis-normalised units, so the arrow points where the data does.
                let (ux, uy) = (v[0] / wx * w, v[1] / wy * w);
                let un = (ux * ux + uy * uy).sqrt();
                let (ux, uy) = (ux / un, uy / un);
                let tip = (pt[0] + ux * l * wx / w, pt[1] + uy * l * wy / w);
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![(pt[0], pt[1]), tip],
                    col.stroke_width(2),
                )))?;
                let h = 0.35 * l;
                let head = |ang: f64| {
                    let (c, s) = (ang.cos(), ang.sin());
                    let (hx, hy) = (-(ux * c - uy * s), -(ux * s + uy * c));
                    (tip.0 + hx * h * wx / w, tip.1 + hy * h * wy / w)
                };
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![head(0.45), tip, head(-0.45)],
                    col.stroke_width(2),
                )))?;
            }
        }
        Ok(())
    }

    pub(super) fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let body = title(
            root,
            &format!("{}: the field s against the score ∇log p", self.case),
        )?;
        let (w, _) = body.dim_in_pixel();
        let (plots, side) = body.split_horizontally(w as i32 - side_width(w));
        let (pw, _) = plots.dim_in_pixel();
        let (left, right) = plots.split_horizontally(pw as i32 / 2);
        let s: Vec<[f64; 2]> = self.arrows.iter().map(|a| a.s).collect();
        let g: Vec<[f64; 2]> = self.arrows.iter().map(|a| a.dlogp).collect();
        let diff: Vec<[f64; 2]> = self
            .arrows
            .iter()
            .map(|a| [a.s[0] - a.dlogp[0], a.s[1] - a.dlogp[1]])
            .collect();
        let norm = |v: &[f64; 2]| (v[0] * v[0] + v[1] * v[1]).sqrt();
        let top = |vs: &[[f64; 2]]| {
            // The 90th percentile of the arrows where p/p_max > 5% sets the scale; longer
            // arrows are capped at 1.4× it.
            let mut n: Vec<f64> = vs
                .iter()
                .zip(&self.arrows)
                .filter(|(_, a)| a.rel >= -3.0)
                .map(|(v, _)| norm(v))
                .filter(|v| v.is_finite())
                .collect();
            n.sort_by(f64::total_cmp);
            // A 90th percentile of 0 (most arrows vanish) gives no scale: the largest
            // arrow drawn sets it then; `None` when every arrow is 0 (nothing is drawn).
            let p90 = n.get(n.len() * 9 / 10).cloned().unwrap_or(0.0);
            let largest = vs
                .iter()
                .map(norm)
                .filter(|v| v.is_finite())
                .fold(0.0, f64::max);
            [p90, largest].into_iter().find(|&v| v > 0.0)
        };
        let cell_text = |v: Option<f64>| match v {
            Some(v) => fmt_num(v),
            None => "— (every arrow is 0)".to_string(),
        };
        let t1 = match (top(&s), top(&g)) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let t2 = top(&diff);
        // Any positive scale draws arrows of length 0 as nothing.
        let s1 = t1.unwrap_or(1.0);
        self.panel(
            &left,
            "p (contours), s and ∇log p (arrows)",
            &[(g, RED_), (s, BLUE_)],
            s1,
        )?;
        let s2 = t2.unwrap_or(1.0);
        self.panel(
            &right,
            "s − ∇log p (arrows), p (contours)",
            &[(diff.clone(), PURPLE_)],
            s2,
        )?;
        let dmax = diff.iter().map(norm).fold(0.0, f64::max);
        let finite_edges = self
            .domain
            .iter()
            .any(|&(a, b)| a.is_finite() || b.is_finite());
        let mut items = vec![
            ("∇log p, the true score".to_string(), RED_, Mark::Arrow),
            ("s, the field checked".to_string(), BLUE_, Mark::Arrow),
            ("s − ∇log p".to_string(), PURPLE_, Mark::Arrow),
            (
                format!(
                    "contours of p at {} of its maximum",
                    LEVELS
                        .iter()
                        .map(|l| format!("{}%", l * 100.0))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                GREY_,
                Mark::Line,
            ),
        ];
        if finite_edges {
            items.push(("edges of the domain".into(), BLACK, Mark::Thick));
        }
        side_panel(
            &side,
            30,
            &items,
            &[
                format!(
                    "Arrow length ∝ magnitude: one grid cell is {} (left) and {} (right), the 90th percentile where p > 5% of its maximum (the largest arrow where that is 0); longer arrows are capped at 1.4 cells.",
                    cell_text(t1),
                    cell_text(t2)
                ),
                format!("largest |s − ∇log p| drawn: {}", fmt_num(dmax)),
                if self.weighted {
                    format!("esm = E ½h|s − ∇log p|² = {}", fmt_q(&self.esm))
                } else {
                    format!("esm = E ½|s − ∇log p|² = {}", fmt_q(&self.esm))
                },
                if self.weighted {
                    format!("boundary term ∮ h p s·n = {}", fmt_q(&self.boundary))
                } else {
                    format!("boundary term ∮ p s·n = {}", fmt_q(&self.boundary))
                },
                format!("verdict: {}", self.verdict),
            ],
        )?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------

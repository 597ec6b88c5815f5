//! Figures: what the identity looks like for a case, drawn with plotters as SVG or PNG.
//!
//! Each figure is computed first, as plain data from the case and its `check` report
//! ([`identity_1d`], [`field_2d`], [`boundary_flux`], [`convergence`], and the sweep's
//! [`SweepFigure`]), then drawn by [`render`] on a backend chosen by the file extension
//! ([`Format::of_path`]). The drawing code is generic over plotters' `DrawingBackend`.
//!
//! * **identity** (1-D): p, s and ∇log p; below, the integrands s·p′ and −p·s′ with their
//!   running integrals, which end at the cross term's two sides `lhs` and `rhs` — apart by
//!   the boundary term when it does not vanish. The end values are the report's.
//! * **identity** (2-D): contours of p with s and ∇log p as arrows, and a panel of s − ∇log p;
//!   the domain's finite edges are drawn.
//! * **boundary**: the flux `∮ p s·n` through the faces of the box `[−R, R]^d ∩ D` against R
//!   on log axes (1-D and 2-D, domains with an infinite end).
//! * **convergence**: |estimate − final| against evaluations for both sides of the cross term.
//! * **estimate** ([`EstimateFigure`]): the sampling estimators of ism, mean ± 2 se against
//!   the number of draws, with the quadrature value as a line.
//!
//! Text is drawn with DejaVu Sans, which the `dejavu` crate embeds, so PNGs render on a
//! machine without system fonts ([`register_fonts`]). SVGs name the family `sans-serif` and
//! leave rendering to the viewer.

use crate::case::Case;
use crate::check::CheckOptions;
use crate::estimate::{Agreement, EstimateReport, SeriesPoint};
use crate::locate::{Located, locate};
use crate::model::{ExprField, eval_point};
use crate::quad::{Piece, integrate_1d};
use crate::report::{Ibp, Quantity, Report, Status};
use crate::sample::Method;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// Why a figure cannot be made: bad input (extension, dimension, case without the needed
/// feature) or a drawing failure.
#[derive(Clone, Debug, PartialEq)]
pub struct PlotError(pub String);

impl std::fmt::Display for PlotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::error::Error for PlotError {}

fn err(msg: impl Into<String>) -> PlotError {
    PlotError(msg.into())
}

/// The image format, from the output file's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Svg,
    Png,
}

impl Format {
    /// `.svg` or `.png` (any case); anything else is refused with a message naming the file.
    pub fn of_path(path: &Path) -> Result<Format, PlotError> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match ext.as_deref() {
            Some("svg") => Ok(Format::Svg),
            Some("png") => Ok(Format::Png),
            _ => Err(err(format!(
                "cannot write {}: the file name must end in .svg or .png (the format follows the extension)",
                path.display()
            ))),
        }
    }
}

/// Which figure `scorecheck plot` draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The figure for the case's dimension (1-D: integrands and running integrals; 2-D: fields).
    Identity,
    /// The flux through the faces of [−R, R]^d against R.
    Boundary,
    /// |estimate − final| against evaluations for both sides of the cross term.
    Convergence,
}

/// Register DejaVu Sans (regular and bold) as the `sans-serif` family. Idempotent.
pub fn register_fonts() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // The bytes are the crate's own, so registration cannot fail on bad data; if it did,
        // text would be missing and `render` reports the drawing error.
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            dejavu::sans::regular(),
        );
        let _ = plotters::style::register_font("sans-serif", FontStyle::Bold, dejavu::sans::bold());
    });
}

const FONT: &str = "sans-serif";
const BLUE_: RGBColor = RGBColor(31, 100, 180);
const RED_: RGBColor = RGBColor(205, 45, 40);
const GREEN_: RGBColor = RGBColor(30, 140, 70);
const PURPLE_: RGBColor = RGBColor(120, 60, 160);
const GREY_: RGBColor = RGBColor(110, 110, 110);
const LIGHT_: RGBColor = RGBColor(190, 190, 190);

type DrawResult = Result<(), Box<dyn std::error::Error>>;

/// A figure ready to draw.
#[derive(Clone, Debug)]
pub enum Figure {
    Identity1d(Identity1d),
    Field2d(Field2d),
    Boundary(BoundaryFlux),
    Convergence(Convergence),
    Sweep(SweepFigure),
    Estimate(EstimateFigure),
}

impl Figure {
    /// The default size in pixels.
    pub fn size(&self) -> (u32, u32) {
        match self {
            Figure::Identity1d(_) => (1200, 900),
            Figure::Field2d(_) => (1500, 700),
            Figure::Boundary(_) | Figure::Convergence(_) | Figure::Sweep(_) => (1200, 650),
            Figure::Estimate(_) => (1200, 700),
        }
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        match self {
            Figure::Identity1d(f) => f.draw(root),
            Figure::Field2d(f) => f.draw(root),
            Figure::Boundary(f) => f.draw(root),
            Figure::Convergence(f) => f.draw(root),
            Figure::Sweep(f) => f.draw(root),
            Figure::Estimate(f) => f.draw(root),
        }
    }
}

/// Draw `fig` at `size` (or its default size) and return the file's bytes.
pub fn render(
    fig: &Figure,
    format: Format,
    size: Option<(u32, u32)>,
) -> Result<Vec<u8>, PlotError> {
    register_fonts();
    let (w, h) = size.unwrap_or_else(|| fig.size());
    if !(200..=8000).contains(&w) || !(150..=8000).contains(&h) {
        return Err(err(format!(
            "a figure of {w}x{h} pixels is outside 200x150 .. 8000x8000"
        )));
    }
    let fail = |e: Box<dyn std::error::Error>| err(format!("drawing the figure failed: {e}"));
    match format {
        Format::Svg => {
            let mut s = String::new();
            {
                let root = SVGBackend::with_string(&mut s, (w, h)).into_drawing_area();
                fig.draw(&root).map_err(fail)?;
                root.present().map_err(|e| fail(Box::new(e)))?;
            }
            Ok(s.into_bytes())
        }
        Format::Png => {
            let mut buf = vec![0u8; w as usize * h as usize * 3];
            {
                let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
                fig.draw(&root).map_err(fail)?;
                root.present().map_err(|e| fail(Box::new(e)))?;
            }
            let mut out = Vec::new();
            {
                let mut enc = png::Encoder::new(&mut out, w, h);
                enc.set_color(png::ColorType::Rgb);
                enc.set_depth(png::BitDepth::Eight);
                let mut wr = enc
                    .write_header()
                    .map_err(|e| err(format!("encoding the PNG failed: {e}")))?;
                wr.write_image_data(&buf)
                    .map_err(|e| err(format!("encoding the PNG failed: {e}")))?;
            }
            Ok(out)
        }
    }
}

/// Build the figure of `kind` for a case and its report.
pub fn figure_for(
    case: &Case,
    report: &Report,
    kind: Kind,
    opts: &CheckOptions,
) -> Result<Figure, PlotError> {
    let d = case.vars.len();
    // With a weight, the weighted identity decides check's exit code: draw its numbers.
    let view = report.deciding();
    let report = &view;
    match kind {
        Kind::Identity => match d {
            1 => identity_1d(case, report).map(Figure::Identity1d),
            2 => field_2d(case, report).map(Figure::Field2d),
            _ => Err(err(format!(
                "the identity figure is drawn for 1-D and 2-D cases; this case has {d} variables (try --kind convergence)"
            ))),
        },
        Kind::Boundary => boundary_flux(case, report).map(Figure::Boundary),
        Kind::Convergence => convergence(case, report, opts).map(Figure::Convergence),
    }
}

// ---------------------------------------------------------------------------------------
// Evaluating the normalised density and the field.

/// p, ∇log p, s and ∂_i s_i at points, with p normalised by the report's Z.
struct Eval<'a> {
    case: &'a Case,
    field: ExprField,
    loc: Located,
    /// Z of `p̃·e^(−log_max)`.
    z_scaled: f64,
}

#[derive(Clone, Copy, Debug, Default)]
struct At {
    p: f64,
    dlogp: [f64; 2],
    s: [f64; 2],
    ds: [f64; 2],
    /// log(p/p_max).
    rel: f64,
    /// The weight h (1 without one) and its gradient.
    h: f64,
    dh: [f64; 2],
}

impl<'a> Eval<'a> {
    fn new(case: &'a Case, report: &Report) -> Result<Eval<'a>, PlotError> {
        let loc = locate(&case.density, &case.domain)
            .map_err(|_| err("the density is zero or undefined everywhere it was evaluated"))?;
        // Z of p̃·e^(−log_max), from log Z (Z itself may be outside f64 range).
        let z_scaled = (report.log_normalizer - loc.log_max).exp();
        if !(z_scaled.is_finite() && z_scaled > 0.0) {
            return Err(err("the normalizer Z has no finite value"));
        }
        Ok(Eval {
            case,
            field: case.check_field(),
            loc,
            z_scaled,
        })
    }

    fn at(&self, x: &[f64]) -> At {
        let pt = eval_point(&self.case.density, &self.field, x);
        let rel = pt.logp - self.loc.log_max;
        let mut a = At {
            p: rel.exp() / self.z_scaled,
            rel,
            ..Default::default()
        };
        for i in 0..x.len().min(2) {
            a.dlogp[i] = pt.dlogp[i];
            a.s[i] = pt.s[i];
            a.ds[i] = pt.ds[i];
        }
        a.h = 1.0;
        if let Some(w) = &self.case.weight {
            let (h, g) = crate::model::value_gradient(w, x);
            a.h = h;
            a.dh[..x.len().min(2)].copy_from_slice(&g[..x.len().min(2)]);
        }
        a
    }

    /// A range of axis `i` that shows where p has its mass: out from each mode along the axis
    /// until p/p_max < e^−drop (at most 60 widths), with finite domain ends close by included.
    fn range(&self, i: usize, drop: f64) -> (f64, f64) {
        let (a, b) = self.case.domain[i];
        let mut lo = f64::INFINITY;
        let mut hi = f64::NEG_INFINITY;
        for m in &self.loc.modes {
            let w = m.scale[i].max(1e-12);
            for sgn in [-1.0, 1.0] {
                let mut x = m.x.clone();
                let mut far = m.x[i];
                for k in 1..=480 {
                    let t = (m.x[i] + sgn * w * k as f64 / 8.0).clamp(a, b);
                    x[i] = t;
                    let r = eval_point(&self.case.density, &self.field, &x).logp - self.loc.log_max;
                    far = t;
                    if r.is_nan() || r < -drop || t == a || t == b {
                        break;
                    }
                }
                lo = lo.min(far);
                hi = hi.max(far);
            }
        }
        if hi.is_nan() || lo.is_nan() || hi <= lo {
            let c = self.loc.modes[0].x[i];
            lo = (c - 1.0).max(a);
            hi = (c + 1.0).min(b);
        }
        let w = hi - lo;
        if a.is_finite() && lo - a <= 0.3 * w {
            lo = a;
        } else {
            lo -= 0.04 * w;
        }
        if b.is_finite() && b - hi <= 0.3 * w {
            hi = b;
        } else {
            hi += 0.04 * w;
        }
        (lo, hi)
    }
}

/// `n` evenly spaced values from `a` to `b`, both included exactly (`a` alone when `n` is 1).
pub(crate) fn linspace(a: f64, b: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|k| {
            if k == 0 {
                a
            } else if k + 1 == n {
                b
            } else {
                a + (b - a) * k as f64 / (n - 1) as f64
            }
        })
        .collect()
}

fn logspace(a: f64, b: f64, n: usize) -> Vec<f64> {
    linspace(a.ln(), b.ln(), n)
        .into_iter()
        .map(f64::exp)
        .collect()
}

/// An axis tick: the value to 10 significant digits, without a trailing `.0` or a `-0`.
fn tick(v: &f64) -> String {
    // Ticks are multiples of a round step, so a tiny one is 0 up to rounding.
    if v.abs() < 1e-12 {
        return "0".into();
    }
    let p = 10f64.powi(9 - v.abs().log10().floor() as i32);
    let r = (v * p).round() / p;
    if r.abs() >= 1e5 || r.abs() < 1e-4 {
        format!("{r:.1e}")
    } else {
        format!("{r}")
    }
}

/// A tick of a log10 axis: `1e-8` at whole powers, the value itself between them.
fn pow10(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("1e{}", v.round())
    } else {
        format!("{:.1e}", 10f64.powf(v))
    }
}

/// `v ± e` for a quantity in at most 6 significant digits, and never more digits than its
/// error supports ([`crate::report::fmt_value`]); or its status.
pub fn fmt_q(q: &Quantity) -> String {
    match (q.value, q.error) {
        (Some(v), Some(e)) => {
            let earned = if e > 0.0 && v != 0.0 && e.is_finite() {
                (v.abs().log10().floor() - e.log10().floor()) as i32 + 1
            } else {
                i32::MAX
            };
            let s = if earned < 6 {
                crate::report::fmt_value(v, e)
            } else {
                format!("{} ± {:.1e}", fmt_num(v), e)
            };
            if q.status == Status::NotConverged {
                format!("{s} (not converged)")
            } else {
                s
            }
        }
        (Some(v), None) => fmt_num(v),
        _ => format!("{:?}", q.status).to_lowercase(),
    }
}

/// A number with 6 significant digits, plain where that reads well.
pub fn fmt_num(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if (1e-3..1e5).contains(&v.abs()) {
        let digits = (5 - v.abs().log10().floor() as i32).max(0) as usize;
        let s = format!("{v:.digits$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    } else {
        format!("{v:.4e}")
    }
}

/// The domain as text, e.g. `x ∈ [0, ∞)`-style intervals per variable.
pub fn domain_text(case: &Case) -> String {
    let parts: Vec<String> = case
        .vars
        .iter()
        .zip(&case.domain)
        .map(|(v, &(a, b))| {
            let e = |x: f64| {
                if x == f64::INFINITY {
                    "∞".to_string()
                } else if x == f64::NEG_INFINITY {
                    "−∞".to_string()
                } else {
                    fmt_num(x)
                }
            };
            let open = |x: f64, c: char, o: char| if x.is_finite() { c } else { o };
            format!(
                "{v} ∈ {}{}, {}{}",
                open(a, '[', '('),
                e(a),
                e(b),
                open(b, ']', ')')
            )
        })
        .collect();
    parts.join(", ")
}

// ---------------------------------------------------------------------------------------
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

fn running(x: &[f64], f: &[f64]) -> Vec<f64> {
    let mut out = Vec::with_capacity(x.len());
    let mut acc = 0.0;
    out.push(0.0);
    for k in 1..x.len() {
        let (a, b) = (f[k - 1], f[k]);
        // A non-finite value (a pole at a finite end) adds nothing here; the report has it.
        if a.is_finite() && b.is_finite() {
            acc += 0.5 * (a + b) * (x[k] - x[k - 1]);
        }
        out.push(acc);
    }
    out
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

/// Pieces of a polyline inside `[ylo, yhi]`, broken where a value is outside or not finite.
fn inside(xs: &[f64], ys: &[f64], ylo: f64, yhi: f64) -> Vec<Vec<(f64, f64)>> {
    let mut out = vec![];
    let mut cur: Vec<(f64, f64)> = vec![];
    for (&x, &y) in xs.iter().zip(ys) {
        if y.is_finite() && y >= ylo && y <= yhi {
            cur.push((x, y));
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A y-range covering the finite values of the given series where `weight` (p/p_max) is
/// not negligible, padded.
/// An axis range plotters can label: both ends finite and within ±1e300, the upper above
/// the lower. (An end at ±∞, or a span that overflows, made plotters look for tick marks
/// forever; found by the end-to-end fuzz.)
fn axis(lo: f64, hi: f64) -> std::ops::Range<f64> {
    let clamp = |v: f64, or: f64| {
        if v.is_nan() {
            or
        } else {
            v.clamp(-1e300, 1e300)
        }
    };
    let lo = clamp(lo, -1.0);
    let mut hi = clamp(hi, 1.0);
    if hi <= lo {
        hi = lo + lo.abs().max(1.0);
    }
    lo..hi
}

fn y_range(series: &[&[f64]], keep: &[bool]) -> (f64, f64) {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for s in series {
        for (v, k) in s.iter().zip(keep) {
            if *k && v.is_finite() {
                lo = lo.min(*v);
                hi = hi.max(*v);
            }
        }
    }
    if !lo.is_finite() || !hi.is_finite() {
        return (-1.0, 1.0);
    }
    if hi - lo < 1e-12 * (1.0 + hi.abs()) {
        let c = 0.5 * (hi + lo);
        let w = 0.5 + 0.1 * c.abs();
        return (c - w, c + w);
    }
    let pad = 0.08 * (hi - lo);
    (lo - pad, hi + pad)
}

#[derive(Clone, Copy)]
enum Mark {
    Line,
    Dashed,
    Thick,
    Arrow,
    /// A dot on a short line (a series of points).
    Point,
}

/// A legend and notes in their own column, so they never cover data.
fn side_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    top: i32,
    items: &[(String, RGBColor, Mark)],
    notes: &[String],
) -> Result<i32, Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    let (w, _) = area.dim_in_pixel();
    let font = (FONT, 16).into_font();
    let mut y = top;
    for (label, color, mark) in items {
        let yy = y + 9;
        match mark {
            Mark::Line => area.draw(&PathElement::new(
                vec![(8, yy), (48, yy)],
                color.stroke_width(2),
            ))?,
            Mark::Thick => area.draw(&PathElement::new(
                vec![(8, yy), (48, yy)],
                color.stroke_width(4),
            ))?,
            Mark::Dashed => {
                for k in 0..4 {
                    let x0 = 8 + k * 11;
                    area.draw(&PathElement::new(
                        vec![(x0, yy), (x0 + 6, yy)],
                        color.stroke_width(2),
                    ))?;
                }
            }
            Mark::Point => {
                area.draw(&PathElement::new(
                    vec![(8, yy), (48, yy)],
                    color.mix(0.5).stroke_width(1),
                ))?;
                area.draw(&PathElement::new(
                    vec![(28, yy - 9), (28, yy + 9)],
                    color.stroke_width(2),
                ))?;
                area.draw(&Circle::new((28, yy), 4, color.filled()))?;
            }
            Mark::Arrow => {
                area.draw(&PathElement::new(
                    vec![(8, yy), (48, yy)],
                    color.stroke_width(2),
                ))?;
                area.draw(&PathElement::new(
                    vec![(40, yy - 5), (48, yy), (40, yy + 5)],
                    color.stroke_width(2),
                ))?;
            }
        }
        let lines = wrap(label, ((w as i32 - 60) / 9).max(10) as usize);
        for (k, l) in lines.iter().enumerate() {
            area.draw(&Text::new(l.clone(), (58, y + k as i32 * 20), font.clone()))?;
        }
        y += 20 * lines.len() as i32 + 10;
    }
    y += 10;
    let small = (FONT, 15).into_font().color(&BLACK);
    for n in notes {
        for l in wrap(n, ((w as i32 - 16) / 8).max(10) as usize) {
            area.draw(&Text::new(l, (8, y), small.clone()))?;
            y += 19;
        }
        y += 8;
    }
    Ok(y)
}

/// The width of the legend column of a figure `w` pixels wide.
fn side_width(w: u32) -> i32 {
    (w as i32 * 28 / 100).clamp(200, 340)
}

/// Break `s` into lines of at most `n` characters at spaces.
fn wrap(s: &str, n: usize) -> Vec<String> {
    let mut out = vec![];
    let mut cur = String::new();
    for word in s.split(' ') {
        if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > n {
            out.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn title<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    text: &str,
) -> Result<DrawingArea<DB, Shift>, Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    // The style goes into the constructor: `FontDesc::style` keeps the font data it had.
    Ok(root.titled(text, (FONT, 24, FontStyle::Bold).into_font())?)
}

impl Identity1d {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
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

/// A filled area under a curve on the secondary axis (a polygon to y = 0).
struct AreaLike;

impl AreaLike {
    #[allow(clippy::new_ret_no_self)]
    fn new(x: &[f64], y: &[f64], color: RGBColor) -> std::iter::Once<Polygon<(f64, f64)>> {
        let mut pts: Vec<(f64, f64)> = x
            .iter()
            .cloned()
            .zip(y.iter().map(|v| if v.is_finite() { *v } else { 0.0 }))
            .collect();
        pts.push((*x.last().unwrap(), 0.0));
        pts.push((x[0], 0.0));
        std::iter::once(Polygon::new(pts, color.mix(0.35).filled()))
    }
}

trait Rgb {
    fn on_white(&self) -> RGBColor;
}

impl Rgb for RGBAColor {
    fn on_white(&self) -> RGBColor {
        // Blend with white, for legend marks of translucent lines.
        let a = self.3;
        let f = |c: u8| (c as f64 * a + 255.0 * (1.0 - a)).round() as u8;
        RGBColor(f(self.0), f(self.1), f(self.2))
    }
}

// ---------------------------------------------------------------------------------------
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
const LEVELS: [f64; 6] = [0.01, 0.05, 0.2, 0.4, 0.6, 0.8];

/// Marching squares: segments where `v − level` changes sign on a grid `v[j][i]` over `xs × ys`.
fn contour(xs: &[f64], ys: &[f64], v: &[Vec<f64>], level: f64) -> Vec<Segment> {
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
fn chain(segs: Vec<Segment>) -> Vec<Polyline> {
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

/// The 2-D identity figure: contours of p, arrows of s and ∇log p, and of s − ∇log p.
pub fn field_2d(case: &Case, report: &Report) -> Result<Field2d, PlotError> {
    let ev = Eval::new(case, report)?;
    let xr = ev.range(0, 7.0);
    let yr = ev.range(1, 7.0);
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
    fn panel<DB: DrawingBackend>(
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

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
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
            n.get(n.len() * 9 / 10).cloned().unwrap_or(1.0).max(1e-300)
        };
        let s1 = top(&s).max(top(&g));
        self.panel(
            &left,
            "p (contours), s and ∇log p (arrows)",
            &[(g, RED_), (s, BLUE_)],
            s1,
        )?;
        let s2 = top(&diff);
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
                    "Arrow length ∝ magnitude: one grid cell is {} (left) and {} (right), the 90th percentile where p > 5% of its maximum; longer arrows are capped at 1.4 cells.",
                    fmt_num(s1),
                    fmt_num(s2)
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
fn face_integral(
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
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
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
            let rep = crate::check_case(case, &o)
                .map_err(|e| err(e.to_string()))?
                .deciding();
            if let (Some(l), Some(r)) = (rep.cross.lhs.value, rep.cross.rhs.value) {
                out.lhs.push((rep.cross.lhs.evals as f64, (l - lf).abs()));
                out.rhs.push((rep.cross.rhs.evals as f64, (r - rf).abs()));
            }
        }
    }
    Ok(out)
}

impl Convergence {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
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
        let xmin = pts
            .iter()
            .map(|p| p.0)
            .fold(f64::INFINITY, f64::min)
            .max(1.0)
            .log10()
            - 0.15;
        let xmax = pts.iter().map(|p| p.0).fold(1.0, f64::max).log10() + 0.15;
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
        for (data, col, err) in [(&self.lhs, BLUE_, errs[0]), (&self.rhs, RED_, errs[1])] {
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
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
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

fn agreement_word(a: Agreement) -> &'static str {
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

/// A count as a tick: `100`, `3000`, `1e5`-style above 10⁵.
fn count_tick(v: &f64) -> String {
    let n = 10f64.powf(*v).round();
    if n < 1e5 {
        format!("{n}")
    } else {
        let e = n.log10().floor();
        let m = n / 10f64.powf(e);
        if (m - m.round()).abs() < 0.05 {
            format!("{}e{e}", m.round())
        } else {
            format!("{m:.1}e{e}")
        }
    }
}

/// An axis of log10 n with its ticks at the given values (the series' sizes).
struct LogCounts {
    inner: plotters::coord::types::RangedCoordf64,
    keys: Vec<f64>,
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

const ORANGE_: RGBColor = RGBColor(225, 130, 20);

impl EstimateFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_by_extension() {
        assert_eq!(Format::of_path(Path::new("a/b.svg")), Ok(Format::Svg));
        assert_eq!(Format::of_path(Path::new("b.PNG")), Ok(Format::Png));
        for bad in ["b.jpg", "b", "svg", "b.svg.txt"] {
            let e = Format::of_path(Path::new(bad)).unwrap_err();
            assert!(e.0.contains(".svg or .png"), "{bad}: {e}");
        }
    }

    #[test]
    fn contour_of_a_cone_is_a_closed_ring() {
        // v = −(x² + y²) on [−1, 1]²; the level −0.25 is the circle of radius ½, which passes
        // through four grid points exactly (the corner case of marching squares).
        let xs = linspace(-1.0, 1.0, 41);
        let ys = xs.clone();
        let v: Vec<Vec<f64>> = ys
            .iter()
            .map(|y| xs.iter().map(|x| -(x * x + y * y)).collect())
            .collect();
        let segs = contour(&xs, &ys, &v, -0.25);
        for s in &segs {
            for p in s {
                let r = (p.0 * p.0 + p.1 * p.1).sqrt();
                // Linear interpolation of a quadratic across a cell of width 0.05.
                assert!((r - 0.5).abs() < 2e-3, "r = {r}");
            }
        }
        let lines = chain(segs.clone());
        assert_eq!(lines.len(), 1, "one polyline");
        let l = &lines[0];
        assert_eq!(l.len(), segs.len() + 1);
        assert_eq!(l.first(), l.last(), "closed");
    }

    #[test]
    fn running_integral_of_a_line() {
        // ∫_0^x 2t dt = x², exact for the trapezoid rule on a linear integrand.
        let x = linspace(0.0, 1.0, 11);
        let f: Vec<f64> = x.iter().map(|t| 2.0 * t).collect();
        let r = running(&x, &f);
        for (xi, ri) in x.iter().zip(&r) {
            assert!((ri - xi * xi).abs() < 1e-15);
        }
    }

    #[test]
    fn text_helpers() {
        assert_eq!(wrap("a bb ccc dddd", 6), ["a bb", "ccc", "dddd"]);
        assert_eq!(tick(&-5.551115123125783e-17), "0");
        assert_eq!(tick(&0.30000000000000004), "0.3");
        assert_eq!(pow10(-8.0), "1e-8");
        assert_eq!(fmt_num(-0.7978845608), "-0.797885");
        assert_eq!(fmt_num(2.0), "2");
    }

    #[test]
    fn segments_inside_a_band() {
        let x = [0.0, 1.0, 2.0, 3.0, 4.0];
        let y = [0.0, 5.0, 0.5, f64::NAN, 0.2];
        let s = inside(&x, &y, -1.0, 1.0);
        assert_eq!(
            s,
            vec![vec![(0.0, 0.0)], vec![(2.0, 0.5)], vec![(4.0, 0.2)]]
        );
    }
}

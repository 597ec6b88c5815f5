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
//!
//! # Where things are
//!
//! One file per figure (`identity_1d`, `field_2d`, `boundary`, `convergence`, `sweep`,
//! `estimate`), each with its data, the function that computes it and its drawing; `numerics`
//! holds what they share (p, s and derivatives at points, grids, running integrals), `style`
//! the fonts, colours and layout pieces, `format` how numbers are printed.

mod boundary;
mod convergence;
mod estimate;
mod field_2d;
mod format;
mod identity_1d;
mod numerics;
mod style;
mod sweep;
#[cfg(test)]
mod tests;

pub use boundary::{BoundaryFlux, boundary_flux};
pub use convergence::{Convergence, convergence};
pub use estimate::{EstimateFigure, EstimateSeries, estimate_figure};
pub use field_2d::{Arrow, Field2d, Polyline, Segment, field_2d};
pub use format::{domain_text, fmt_q};
pub use identity_1d::{Identity1d, identity_1d};
pub use sweep::SweepFigure;

use crate::case::Case;
use crate::check::CheckOptions;
use crate::report::Report;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use style::DrawResult;

/// Why a figure cannot be made. A figure that shows a failed or undecided check is not an
/// error; these are bad requests (a format, a size, a figure the case has no use for) and
/// failures to draw.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// The file name's extension names no format.
    #[error(
        "cannot write {}: the file name must end in .svg or .png (the format follows the extension)",
        .0.display()
    )]
    Extension(std::path::PathBuf),
    /// The size asked for is outside 200x150 .. 8000x8000 pixels.
    #[error("a figure of {width}x{height} pixels is outside 200x150 .. 8000x8000")]
    Size { width: u32, height: u32 },
    /// The figure does not apply to this case (its dimension, its domain, no finite value).
    #[error("{0}")]
    NotApplicable(String),
    /// `locate` found no point where the density is positive and finite.
    #[error("the density is zero or undefined everywhere it was evaluated")]
    NoMass(#[source] crate::locate::LocateError),
    /// The report's normalizer has no finite value to scale p by.
    #[error("the normalizer Z has no finite value")]
    NoNormalizer,
    /// A capped `check` run of the convergence figure failed.
    #[error(transparent)]
    Check(#[from] crate::check::CheckError),
    /// The drawing backend failed.
    #[error("drawing the figure failed: {0}")]
    Draw(String),
    /// The PNG encoder failed.
    #[error("encoding the PNG failed: {0}")]
    Png(#[source] png::EncodingError),
}

/// A figure that does not apply to the case, with the reason.
fn err(msg: impl Into<String>) -> PlotError {
    PlotError::NotApplicable(msg.into())
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
            _ => Err(PlotError::Extension(path.to_path_buf())),
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
        return Err(PlotError::Size {
            width: w,
            height: h,
        });
    }
    let fail = |e: Box<dyn std::error::Error>| PlotError::Draw(e.to_string());
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
                let mut wr = enc.write_header().map_err(PlotError::Png)?;
                wr.write_image_data(&buf).map_err(PlotError::Png)?;
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

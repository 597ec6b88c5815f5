//! Fonts, colours and the shared pieces of a figure's layout: the side panel, titles,
//! filled areas, axis ranges.

use plotters::coord::Shift;

use plotters::prelude::*;

pub(super) const FONT: &str = "sans-serif";
pub(super) const BLUE_: RGBColor = RGBColor(31, 100, 180);
pub(super) const RED_: RGBColor = RGBColor(205, 45, 40);
pub(super) const GREEN_: RGBColor = RGBColor(30, 140, 70);
pub(super) const PURPLE_: RGBColor = RGBColor(120, 60, 160);
pub(super) const GREY_: RGBColor = RGBColor(110, 110, 110);
pub(super) const LIGHT_: RGBColor = RGBColor(190, 190, 190);

pub(super) type DrawResult = Result<(), Box<dyn std::error::Error>>;

/// An axis range plotters can label: both ends finite and within ±1e300, the upper above
/// the lower. (An end at ±∞, or a span that overflows, made plotters look for tick marks
/// forever; found by the end-to-end fuzz.)
pub(super) fn axis(lo: f64, hi: f64) -> std::ops::Range<f64> {
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

#[derive(Clone, Copy)]
pub(super) enum Mark {
    Line,
    Dashed,
    Thick,
    Arrow,
    /// A dot on a short line (a series of points).
    Point,
}

/// A legend and notes in their own column, so they never cover data.
pub(super) fn side_panel<DB: DrawingBackend>(
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
pub(super) fn side_width(w: u32) -> i32 {
    (w as i32 * 28 / 100).clamp(200, 340)
}

/// Break `s` into lines of at most `n` characters at spaces.
pub(super) fn wrap(s: &str, n: usize) -> Vec<String> {
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

pub(super) fn title<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    text: &str,
) -> Result<DrawingArea<DB, Shift>, Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    // The style goes into the constructor: `FontDesc::style` keeps the font data it had.
    Ok(root.titled(text, (FONT, 24, FontStyle::Bold).into_font())?)
}

/// A filled area under a curve on the secondary axis (a polygon to y = 0).
pub(super) struct AreaLike;

impl AreaLike {
    #[allow(clippy::new_ret_no_self)]
    pub(super) fn new(
        x: &[f64],
        y: &[f64],
        color: RGBColor,
    ) -> std::iter::Once<Polygon<(f64, f64)>> {
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

pub(super) trait Rgb {
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

use super::Format;
use super::field_2d::chain;
use super::field_2d::contour;
use super::format::pow10;
use super::format::tick;
use super::numerics::inside;
use super::numerics::running;
use super::style::wrap;
use crate::numbers::linspace;
use crate::report::format::fmt_num;
use std::path::Path;
#[test]
fn format_by_extension() {
    assert_eq!(
        Format::of_path(Path::new("a/b.svg")).ok(),
        Some(Format::Svg)
    );
    assert_eq!(Format::of_path(Path::new("b.PNG")).ok(), Some(Format::Png));
    for bad in ["b.jpg", "b", "svg", "b.svg.txt"] {
        let e = Format::of_path(Path::new(bad)).unwrap_err();
        assert!(e.to_string().contains(".svg or .png"), "{bad}: {e}");
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
    assert_eq!(fmt_num(-0.7978845608, 6), "-0.797885");
    assert_eq!(fmt_num(2.0, 6), "2");
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

#[test]
fn figures_draw_from_the_mass_check_located() {
    // The report carries check's Located (before its breakpoints), so the figures need not
    // locate again; it must be what locating the case's density afresh gives, mode for mode
    // and piece for piece (a two-mode 2-D case and a 1-D case with a finite end).
    use crate::locate::locate;
    for (text, stem) in [
        (
            "vars = [\"x\", \"y\"]\n[density]\nlog = \"ln(exp(-((x-2)^2 + y^2)/2) + exp(-((x+1)^2 + (y-1)^2)/0.5))\"\n[score]\nfield = [\"-x\", \"-y\"]\n",
            "two_modes",
        ),
        (
            "domain = [[0, inf]]\n[density]\nlog = \"2*ln(x) - x\"\n[score]\nfield = [\"2/x - 1\"]\n",
            "gamma3",
        ),
    ] {
        let case = crate::case::parse_case(text, stem, stem)
            .unwrap()
            .compile(&[], false)
            .unwrap();
        let report = crate::check_case(&case, &Default::default()).unwrap();
        let kept = report
            .located
            .0
            .as_ref()
            .expect("check keeps what it located");
        let fresh = locate(&case.density, &case.domain).unwrap();
        assert_eq!(format!("{kept:?}"), format!("{fresh:?}"), "{stem}");
        // JSON carries no such field, and reading it back gives a report without it.
        let json = serde_json::to_string(&report).unwrap();
        assert!(!json.contains("located"), "{stem}");
        let back: crate::Report = serde_json::from_str(&json).unwrap();
        assert!(back.located.0.is_none(), "{stem}");
    }
}

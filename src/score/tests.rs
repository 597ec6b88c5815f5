use super::compare::*;
use super::points::point_set;
use super::points::radical_inverse;
use super::points::truncated_logistic;
use super::text::fmt_num;
use super::*;
use crate::locate::locate;
use crate::model::Density;
use num_dual::DualNum;

#[test]
fn van_der_corput() {
    let v: Vec<f64> = (1..=4).map(|k| radical_inverse(k, 2)).collect();
    assert_eq!(v, [0.5, 0.25, 0.75, 0.125]);
    // 5 = 12 in base 3, mirrored: 0.21 = 2/3 + 1/9.
    assert!((radical_inverse(5, 3) - 7.0 / 9.0).abs() < 1e-15);
}

#[test]
fn logistic_stays_in_its_interval() {
    for k in 1..200 {
        let u = radical_inverse(k, 2);
        let t = truncated_logistic(u, 0.0, f64::INFINITY);
        assert!(t >= 0.0 && t.is_finite(), "{u} -> {t}");
        let t = truncated_logistic(u, -2.0, 0.5);
        assert!((-2.0..=0.5).contains(&t));
    }
    // The median of the untruncated map is the centre.
    assert_eq!(
        truncated_logistic(0.5, f64::NEG_INFINITY, f64::INFINITY),
        0.0
    );
}

struct HalfLine;
impl Density for HalfLine {
    fn dim(&self) -> usize {
        2
    }
    fn log_density<D: DualNum<Primitive = f64> + Copy>(&self, x: &[D]) -> D {
        -(x[0] - 1.0).powi(2) * 0.5 - x[1] * x[1] * 0.5
    }
}

#[test]
fn points_stay_in_the_domain() {
    let domain = [(0.0, f64::INFINITY), (-1.0, 100.0)];
    let loc = locate(&HalfLine, &domain).unwrap();
    let vars = ["x".to_string(), "y".to_string()];
    let pts = point_set(&loc, &domain, 500, &vars);
    let bulk = pts.iter().filter(|p| p.kind == PointKind::Bulk).count();
    assert_eq!(bulk, 500);
    for p in &pts {
        for (v, (a, b)) in p.x.iter().zip(domain) {
            assert!(*v >= a && *v <= b, "{:?} {}", p.x, p.label);
        }
    }
    // Mode (1, 0), widths 1: tails at x = 1 + 5, 1 + 10 (1 − 5 < 0 is outside) and
    // y = 5, 10 (−5, −10 are outside); edges x = 0, y = −1, y = 100.
    let tails: Vec<&str> = pts
        .iter()
        .filter(|p| p.kind != PointKind::Bulk && p.kind != PointKind::Mode)
        .map(|p| p.label.as_str())
        .collect();
    assert_eq!(
        tails,
        [
            "mode 1 + 5σ along x",
            "mode 1 + 10σ along x",
            "mode 1 at x = 0",
            "mode 1 + 5σ along y",
            "mode 1 + 10σ along y",
            "mode 1 at y = -1",
            "mode 1 at y = 100"
        ]
    );
    // About a quarter of the bulk points spread uniformly over the finite axis y, so about
    // 0.25·0.8·500 = 100 land above y = 20; the logistic map around the mode (scale 1.5)
    // puts one there with probability e^−13.
    let far = pts
        .iter()
        .filter(|p| p.kind == PointKind::Bulk && p.x[1] > 20.0)
        .count();
    assert!((60..140).contains(&far), "{far}");
}

#[test]
fn comparisons() {
    let t = Tolerance {
        rtol: 1e-8,
        atol: 1e-10,
    };
    assert_eq!(compare(1.0, 1.0 + 1e-9, t).2, Some(true));
    assert_eq!(compare(1.0, 1.0 + 1e-7, t).2, Some(false));
    assert_eq!(compare(0.0, 1e-11, t).2, Some(true));
    assert_eq!(
        compare(f64::INFINITY, f64::INFINITY, t),
        (0.0, 0.0, Some(true))
    );
    assert_eq!(compare(f64::NAN, 1.0, t).2, Some(false));
    assert_eq!(compare(f64::NAN, f64::NAN, t).2, None);
    assert_eq!(compare(f64::INFINITY, 1.0, t).0, f64::INFINITY);
}

#[test]
fn json_keeps_non_finite_numbers() {
    let s = Sample {
        at: vec![0.0],
        kind: PointKind::Mode,
        log_p: f64::NEG_INFINITY,
        a: f64::NAN,
        b: f64::INFINITY,
        abs: f64::INFINITY,
        rel: 0.5,
        weighted: 0.0,
    };
    let j = serde_json::to_string(&s).unwrap();
    assert!(
        j.contains("\"a\":\"NaN\"") && j.contains("\"log_p\":\"-inf\""),
        "{j}"
    );
    let back: Sample = serde_json::from_str(&j).unwrap();
    assert!(back.a.is_nan() && back.b == f64::INFINITY && back.rel == 0.5);
}

#[test]
fn number_format() {
    assert_eq!(fmt_num(0.5), "0.5");
    assert_eq!(fmt_num(-1.25), "-1.25");
    assert_eq!(fmt_num(1.0 / 3.0), "0.33333333");
    assert_eq!(fmt_num(123.0), "123");
    assert_eq!(fmt_num(1e-9), "1.0000000e-9");
}

//! Small helpers on numbers shared by computing and drawing modules: evenly spaced grids
//! (a sweep's parameter values, a figure's sample points) and short number formatting
//! (a sweep's table, figure labels).

/// `n` evenly spaced values from `a` to `b`, both included exactly (`a` alone when `n` is 1).
pub fn linspace(a: f64, b: f64, n: usize) -> Vec<f64> {
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

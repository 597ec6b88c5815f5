//! The text rendering of a [`ScoreReport`].

use super::NEGLIGIBLE_LOG;
use super::report::Agreement;
use super::report::Discrepancy;
use super::report::FiniteDifferences;
use super::report::GradientVerdict;
use super::report::PointKind;
use super::report::Sample;
use super::report::ScoreReport;
use super::report::TailPoint;
use crate::report::fmt_point;

use std::fmt::Write as _;

// Rendering
// ---------------------------------------------------------------------------------------------

/// A number with up to 8 significant digits, in exponent form when very large or small.
pub(super) fn fmt_num(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if (1e-4..1e7).contains(&a) {
        let mag = a.log10().floor() as i32;
        let decimals = (7 - mag).clamp(0, 11) as usize;
        let s = format!("{v:.decimals$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    } else {
        format!("{v:.7e}")
    }
}

/// `x = 0.5` or `(x, y) = (0.5, 1)`.
pub(super) fn fmt_at(vars: &[String], x: &[f64]) -> String {
    if vars.len() == 1 {
        format!("{} = {}", vars[0], fmt_point(x))
    } else {
        format!("({}) = {}", vars.join(", "), fmt_point(x))
    }
}

/// A label without its parenthesised remark: `s_x (hand-written)` → `s_x`.
pub(super) fn short(label: &str) -> &str {
    label.split(" (").next().unwrap_or(label)
}

pub(super) fn kind_name(k: PointKind) -> &'static str {
    match k {
        PointKind::Bulk => "bulk point",
        PointKind::Mode => "mode",
        PointKind::Tail => "tail point",
        PointKind::Edge => "edge point",
    }
}

pub(super) fn verdict_word(v: Agreement) -> &'static str {
    match v {
        Agreement::Agrees => "agree",
        Agreement::Disagrees => "DISAGREE",
        Agreement::Undecided => "undecided",
    }
}

impl ScoreReport {
    /// The process exit code: 0 every check agrees, 1 one disagrees (or the field is not a
    /// gradient), 3 one is undecided.
    pub fn exit_code(&self) -> u8 {
        let v = &self.verdict;
        let agreements = [v.field, v.divergence];
        if agreements.contains(&Some(Agreement::Disagrees))
            || v.gradient == Some(GradientVerdict::NotGradient)
        {
            1
        } else if agreements.contains(&Some(Agreement::Undecided))
            || v.gradient == Some(GradientVerdict::Undecided)
        {
            3
        } else {
            0
        }
    }

    /// The JSON report.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a score report always serializes")
    }

    /// One line per counterexample: `s_y at (x, y) = (…): s_y (hand-written) = … but ∂_y
    /// log_model (exact) = …`.
    pub fn counterexample_lines(&self) -> Vec<String> {
        self.counterexamples
            .iter()
            .map(|c| {
                let s = &c.sample;
                format!(
                    "{} at {}: {} = {} but {} = {}",
                    c.check,
                    fmt_at(&self.vars, &s.at),
                    c.a,
                    fmt_num(s.a),
                    c.b,
                    fmt_num(s.b)
                )
            })
            .collect()
    }

    /// Why the report is undecided (the explanations of the undecided verdicts).
    pub fn undecided_reasons(&self) -> Vec<String> {
        self.explanations
            .iter()
            .filter(|e| e.contains("undecided"))
            .cloned()
            .collect()
    }

    /// The text report.
    pub fn to_text(&self) -> String {
        let mut o = String::new();
        crate::report::header(
            &mut o,
            &format!("score check {}", self.case),
            &self.vars,
            &self.domain,
            &self.params,
        );
        let c = &self.points;
        let _ = writeln!(
            o,
            "points: {} in the bulk of p, {} mode{}, {} tail and {} edge points; {} where p has mass, {} negligible (log p/p_max < {NEGLIGIBLE_LOG})",
            c.bulk,
            c.modes,
            if c.modes == 1 { "" } else { "s" },
            c.tails,
            c.edges,
            c.used,
            c.negligible
        );
        let _ = writeln!(
            o,
            "tolerance: |a − b| ≤ {:e} + {:e}·max(|a|, |b|); derivatives exact (dual numbers)",
            self.tolerance.atol, self.tolerance.rtol
        );
        let sections: [(&str, Vec<&Discrepancy>); 3] = [
            (
                "hand-written field against the exact gradient of log_model:",
                self.field.iter().collect(),
            ),
            (
                "hand-written divergence against the exact divergence:",
                self.divergence.iter().collect(),
            ),
            (
                "is s a gradient field? (a score's Jacobian is symmetric):",
                self.gradient.iter().collect(),
            ),
        ];
        for (title, rows) in sections {
            if rows.is_empty() {
                continue;
            }
            let _ = writeln!(o, "\n{title}");
            for r in rows {
                self.render_discrepancy(&mut o, r);
            }
        }
        if let Some(fd) = &self.finite_differences {
            self.render_fd(&mut o, fd);
        }
        let used: Vec<&TailPoint> = self.tails.iter().filter(|t| t.used).collect();
        if !self.tails.is_empty() {
            let lowest = used.iter().map(|t| t.log_p).fold(f64::INFINITY, f64::min);
            let _ = writeln!(
                o,
                "\ntails: {} of {} tail and edge points carry mass and are checked{}",
                used.len(),
                self.tails.len(),
                if used.is_empty() {
                    String::new()
                } else {
                    format!(" (down to log p/p_max = {})", fmt_num(lowest))
                }
            );
        }
        let _ = writeln!(o);
        for e in &self.explanations {
            let _ = writeln!(o, "{e}");
        }
        if !self.counterexamples.is_empty() {
            let _ = writeln!(o, "counterexamples:");
            for (line, c) in self
                .counterexample_lines()
                .iter()
                .zip(&self.counterexamples)
            {
                let _ = writeln!(
                    o,
                    "  {line}  ({}, log p/p_max = {})",
                    kind_name(c.sample.kind),
                    fmt_num(c.sample.log_p)
                );
            }
        }
        for n in &self.notes {
            let _ = writeln!(o, "note: {n}");
        }
        let verdict = match self.exit_code() {
            0 => "verdict: agree",
            1 => "verdict: DISAGREE",
            _ => "verdict: undecided",
        };
        let _ = writeln!(o, "{verdict}");
        o
    }

    pub(super) fn render_discrepancy(&self, o: &mut String, r: &Discrepancy) {
        let head = match r.verdict {
            Agreement::Disagrees => format!(
                "{} at {} of {} points",
                verdict_word(r.verdict),
                r.disagreeing,
                r.compared
            ),
            _ => format!("{} at all {} points", verdict_word(r.verdict), r.compared),
        };
        let _ = writeln!(o, "  {} vs {}: {head}", r.a, r.b);
        if r.verdict != Agreement::Disagrees {
            // Where they agree, the sizes of the differences are enough.
            if let (Some(a), Some(b)) = (&r.max_abs, &r.max_rel) {
                let _ = writeln!(
                    o,
                    "      max |a − b| = {}, max relative = {}",
                    fmt_num(a.abs),
                    fmt_num(b.rel)
                );
            }
            return;
        }
        let (sa, sb) = (short(&r.a), short(&r.b));
        let line = |o: &mut String, what: &str, v: f64, s: &Sample| {
            let _ = writeln!(
                o,
                "      {what:<20} {:<14} at {}  ({sa} = {}, {sb} = {})",
                fmt_num(v),
                fmt_at(&self.vars, &s.at),
                fmt_num(s.a),
                fmt_num(s.b)
            );
        };
        if let Some(s) = &r.max_abs {
            line(o, "max |a − b|", s.abs, s);
        }
        if let Some(s) = &r.max_rel {
            line(o, "max relative", s.rel, s);
        }
        if let Some(s) = &r.max_weighted {
            line(o, "max p/p_max·|a − b|", s.weighted, s);
        }
        if let Some(s) = &r.worst {
            let _ = writeln!(
                o,
                "      counterexample: at {} ({}, log p/p_max = {}): {} = {} but {} = {}",
                fmt_at(&self.vars, &s.at),
                kind_name(s.kind),
                fmt_num(s.log_p),
                r.a,
                fmt_num(s.a),
                r.b,
                fmt_num(s.b)
            );
        }
    }

    pub(super) fn render_fd(&self, o: &mut String, fd: &FiniteDifferences) {
        let Some(first) = fd.rows.first() else {
            return;
        };
        let _ = writeln!(
            o,
            "\nexact derivatives against central differences (f(x+h) − f(x−h))/2h at {} ({}):",
            fmt_at(&self.vars, &fd.at),
            fd.why
        );
        let _ = write!(o, "  {:<18} {:>16}", "derivative", "exact");
        for s in &first.steps {
            let _ = write!(o, " {:>9}", format!("h={:.0e}", s.h));
        }
        let _ = writeln!(o, "   (error |fd − exact|)");
        for r in &fd.rows {
            let _ = write!(o, "  {:<18} {:>16}", r.derivative, fmt_num(r.exact));
            for s in &r.steps {
                let cell = if !s.inside {
                    "outside".to_string()
                } else if s.error == 0.0 {
                    "0".to_string()
                } else {
                    format!("{:.1e}", s.error)
                };
                let _ = write!(o, " {cell:>9}");
            }
            let _ = writeln!(o);
        }
        let _ = writeln!(
            o,
            "  large h: truncation error ~h²·f'''/6; small h: rounding ~ε·|f|/h — the error curve is U-shaped and its best point is not known in advance; dual numbers give the derivative exactly, with no step"
        );
    }
}

// ---------------------------------------------------------------------------------------------

//! The text rendering of a check report: the header, the per-variable table, the objective
//! block and the verdict lines.

use super::format::fmt_q;
use super::{Component, Cross, Explanations, Objective, Report, Verdict};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

impl Report {
    /// The text table.
    pub fn to_text(&self) -> String {
        let mut o = String::new();
        header(
            &mut o,
            &format!("case {}", self.case),
            &self.vars,
            &self.domain,
            &self.params,
        );
        if self.normalizer.value.is_some()
            || !self.normalizer.status.has_value()
            || !self.log_normalizer.is_finite()
        {
            let _ = writeln!(o, "normalizer Z = {}", fmt_q(&self.normalizer));
        } else {
            let _ = writeln!(
                o,
                "normalizer Z = e^{:.12} (outside the range of a double)",
                self.log_normalizer
            );
        }
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "cross term ∫⟨s, ∇p⟩ = boundary − ∫p ∇·s, per variable (tolerance {:.0e}):",
            self.tolerance
        );
        let names = [
            "lhs ∫ s_i ∂_i p",
            "rhs −∫ p ∂_i s_i",
            "boundary [s_i p]",
            "esm   E½|s − ∇log p|²",
            "ism   E[½|s|² + ∇·s]",
            "const ½E|∇log p|²",
        ];
        section(
            &mut o,
            &self.components,
            &self.cross,
            &self.objective,
            names,
        );
        verdict_lines(&mut o, &self.verdict, &self.explanations);
        if let Some(w) = &self.weighted {
            let _ = writeln!(o);
            let _ = writeln!(o, "weighted identity, h(x) = {}:", w.weight);
            let names = [
                "lhs ∫ h s_i ∂_i p",
                "rhs −∫ p ∂_i(h s_i)",
                "boundary [h s_i p]",
                "esm   E½h|s − ∇log p|²",
                "ism   E[h(½|s|²+∇·s)+∇h·s]",
                "const ½E h|∇log p|²",
            ];
            section(&mut o, &w.components, &w.cross, &w.objective, names);
            verdict_lines(&mut o, &w.verdict, &w.explanations);
        }
        for n in &self.notes {
            let _ = writeln!(o, "note: {n}");
        }
        o
    }
}

/// The per-variable table and the objective block.
fn section(
    o: &mut String,
    components: &[Component],
    cross: &Cross,
    ob: &Objective,
    names: [&str; 6],
) {
    let _ = writeln!(
        o,
        "  {:<6} {:>30} {:>30} {:>30} {:>12}",
        "var", names[0], names[1], names[2], "residual"
    );
    let rows = components
        .iter()
        .map(|c| (c.var.as_str(), &c.lhs, &c.rhs, &c.boundary))
        .chain(std::iter::once((
            "total",
            &cross.lhs,
            &cross.rhs,
            &cross.boundary,
        )));
    for (name, l, r, b) in rows {
        let res = match (l.value, r.value, b.value) {
            (Some(l), Some(r), Some(b)) => format!("{:.2e}", l - b - r),
            _ => "—".to_string(),
        };
        let _ = writeln!(
            o,
            "  {:<6} {:>30} {:>30} {:>30} {:>12}",
            name,
            fmt_q(l),
            fmt_q(r),
            fmt_q(b),
            res
        );
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "objective:");
    for (name, q) in [
        (names[3], &ob.esm),
        (names[4], &ob.ism),
        (names[5], &ob.constant),
        ("gap   esm − ism − const", &ob.gap),
    ] {
        let _ = writeln!(o, "  {:<28} {}", name, fmt_q(q));
    }
    let _ = writeln!(o);
}

fn verdict_lines(o: &mut String, v: &Verdict, e: &Explanations) {
    for (l, e) in [
        (format!("ibp:       {}", ser(&v.ibp)), &e.ibp),
        (format!("boundary:  {}", ser(&v.boundary)), &e.boundary),
        (format!("objective: {}", ser(&v.objective)), &e.objective),
    ] {
        let _ = writeln!(o, "{l:<20} {e}");
    }
}

/// The first lines of a text report: `title: x ∈ [a, b], …` and the parameters.
pub(crate) fn header(
    o: &mut String,
    title: &str,
    vars: &[String],
    domain: &[[Option<f64>; 2]],
    params: &BTreeMap<String, f64>,
) {
    let dom: Vec<String> = vars
        .iter()
        .zip(domain)
        .map(|(v, [a, b])| format!("{v} ∈ [{}, {}]", end(*a, "-inf"), end(*b, "inf")))
        .collect();
    let _ = writeln!(o, "{title}: {}", dom.join(", "));
    if !params.is_empty() {
        let ps: Vec<String> = params.iter().map(|(k, v)| format!("{k} = {v}")).collect();
        let _ = writeln!(o, "params: {}", ps.join(", "));
    }
}

fn ser<T: Serialize>(t: &T) -> String {
    serde_json::to_value(t)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

fn end(v: Option<f64>, inf: &str) -> String {
    match v {
        Some(x) => format!("{x}"),
        None => inf.to_string(),
    }
}

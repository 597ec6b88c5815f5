//! Executable proofs: the claims written in `proofs/*.md` checked on every case of a gallery.
//!
//! A claim is a fenced block with the info string `claim` holding TOML:
//!
//! ````text
//! ```claim
//! step = "ibp"                       # which step of the derivation (see `STEPS`)
//! tolerance = 1e-8                   # optional: the target error of the integrals
//! expect_fail = ["half-normal"]      # cases where the step must fail
//! expect_undecided = ["cauchy"]      # cases where it cannot be decided (infinite terms)
//! ```
//! ````
//!
//! `scorecheck prove FILE.md` runs `check` on each case of the gallery (`proofs/cases/*.toml`
//! by default), takes the claimed step from [`crate::explain`], and prints a step × case
//! table. The run fails on any outcome other than the expected one: an unexpected pass is as
//! wrong as an unexpected failure.

use crate::case::{Case, CaseError, load_case_file};
use crate::check::{CheckError, CheckOptions};
use crate::explain::{Explanation, explain_plain};
use crate::report::{Boundary, Ibp, ObjectiveVerdict, Report};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The steps a claim can name, with what each asserts.
/// Step 3 (the density cancels) is algebra, the same integral on both sides, so it is not a
/// claim: no outcome of it could fail.
pub const STEPS: [(&str, &str); 6] = [
    (
        "objective-finite",
        "step 1: esm = E½|s − ∇log p|² is finite",
    ),
    ("expand", "step 2: esm = E½|s|² − E⟨s, ∇log p⟩ + const"),
    (
        "ibp",
        "step 4: ∫ s_i ∂_i p = [s_i p] − ∫ p ∂_i s_i for every i",
    ),
    (
        "boundary-vanishes",
        "step 4: the boundary term Σ_i ∫[s_i p] is 0",
    ),
    ("tractable", "step 5: esm = ism + const"),
    (
        "weighted",
        "weighted identity: IBP holds, ∮ h p s·n = 0 and esm^h = ism^h + const^h",
    ),
];

/// One claim from a proof file.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    pub step: String,
    #[serde(default)]
    pub tolerance: Option<f64>,
    #[serde(default)]
    pub expect_fail: Vec<String>,
    #[serde(default)]
    pub expect_undecided: Vec<String>,
    /// Line of the block in the file.
    #[serde(skip)]
    pub line: usize,
}

/// What a claim gave on a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail,
    Undecided,
    /// The claim does not apply (a weighted claim on a case without a weight).
    NotApplicable,
}

/// One cell of the table.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    pub outcome: Outcome,
    pub expected: Outcome,
    /// One line: the step's reason from `explain`.
    pub why: String,
}

impl Cell {
    /// Whether the outcome is the expected one.
    pub fn as_expected(&self) -> bool {
        self.outcome == self.expected || self.outcome == Outcome::NotApplicable
    }
    fn mark(&self) -> &'static str {
        match (self.outcome, self.as_expected()) {
            (Outcome::NotApplicable, _) => "·",
            (Outcome::Pass, true) => "✓",
            (Outcome::Fail, true) => "✗ (expected)",
            (Outcome::Undecided, true) => "? (expected)",
            (Outcome::Pass, false) => "✓ UNEXPECTED",
            (Outcome::Fail, false) => "✗ UNEXPECTED",
            (Outcome::Undecided, false) => "? UNEXPECTED",
        }
    }
}

/// The result of a proof run.
#[derive(Clone, Debug)]
pub struct ProofRun {
    pub file: String,
    pub cases: Vec<String>,
    pub claims: Vec<Claim>,
    /// `cells[claim][case]`.
    pub cells: Vec<Vec<Cell>>,
}

/// Bad input to `prove`.
#[derive(Debug)]
pub enum ProveError {
    Io(String),
    Claim(String),
    Case(CaseError),
    Check(String, CheckError),
}

impl std::fmt::Display for ProveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProveError::Io(m) | ProveError::Claim(m) => write!(f, "{m}"),
            ProveError::Case(e) => write!(f, "{e}"),
            ProveError::Check(case, e) => write!(f, "case {case}: {e}"),
        }
    }
}

impl std::error::Error for ProveError {}

/// Read the claims of a Markdown proof.
pub fn parse_claims(text: &str, shown: &str) -> Result<Vec<Claim>, ProveError> {
    let mut claims = vec![];
    let mut lines = text.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        let t = line.trim_start();
        if !(t.starts_with("```claim") && t["```claim".len()..].trim().is_empty()) {
            continue;
        }
        let mut body = String::new();
        let mut closed = false;
        for (_, l) in lines.by_ref() {
            if l.trim_start().starts_with("```") {
                closed = true;
                break;
            }
            body.push_str(l);
            body.push('\n');
        }
        if !closed {
            return Err(ProveError::Claim(format!(
                "{shown}:{}: the claim block is not closed with ```",
                n + 1
            )));
        }
        let mut c: Claim = toml::from_str(&body).map_err(|e| {
            ProveError::Claim(format!("{shown}:{}: claim: {}", n + 1, e.message().trim()))
        })?;
        c.line = n + 1;
        if !STEPS.iter().any(|(s, _)| *s == c.step) {
            let known: Vec<&str> = STEPS.iter().map(|(s, _)| *s).collect();
            return Err(ProveError::Claim(format!(
                "{shown}:{}: unknown step `{}`; steps: {}",
                n + 1,
                c.step,
                known.join(", ")
            )));
        }
        if let Some(t) = c.tolerance
            && !(t > 0.0 && t.is_finite())
        {
            return Err(ProveError::Claim(format!(
                "{shown}:{}: tolerance must be a positive number",
                n + 1
            )));
        }
        claims.push(c);
    }
    if claims.is_empty() {
        return Err(ProveError::Claim(format!(
            "{shown}: no claims found (a claim is a fenced block opened with ```claim)"
        )));
    }
    Ok(claims)
}

/// Load every `*.toml` case in `dir`, sorted by file name.
pub fn load_gallery(dir: &Path) -> Result<Vec<(String, Case)>, ProveError> {
    let rd = std::fs::read_dir(dir).map_err(|e| {
        ProveError::Io(format!(
            "{}: cannot read the case gallery: {e}",
            dir.display()
        ))
    })?;
    let mut paths: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(ProveError::Io(format!(
            "{}: no *.toml cases in the gallery",
            dir.display()
        )));
    }
    let mut out = vec![];
    for p in paths {
        let spec = load_case_file(&p).map_err(ProveError::Case)?;
        let stem = p
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        let case = spec.compile(&[], false).map_err(ProveError::Case)?;
        out.push((stem, case));
    }
    Ok(out)
}

fn outcome_of(holds: Option<bool>) -> Outcome {
    match holds {
        Some(true) => Outcome::Pass,
        Some(false) => Outcome::Fail,
        None => Outcome::Undecided,
    }
}

/// The claimed step's outcome on one case, with its reason.
fn judge(step: &str, r: &Report, ex: &Explanation) -> (Outcome, String) {
    let pick = |name: &str| {
        ex.steps
            .iter()
            .filter(|s| s.name.starts_with(name))
            .collect::<Vec<_>>()
    };
    let all = |name: &str| {
        let steps = pick(name);
        let worst = steps
            .iter()
            .find(|s| s.holds == Some(false))
            .or_else(|| steps.iter().find(|s| s.holds.is_none()))
            .or(steps.first())
            .copied();
        match worst {
            Some(s) => (outcome_of(s.holds), s.why.clone()),
            None => (Outcome::NotApplicable, String::new()),
        }
    };
    match step {
        "objective-finite" => all("explicit objective"),
        "expand" => all("expand the square"),
        "ibp" => all("integration by parts"),
        "boundary-vanishes" => all("the boundary term vanishes"),
        "tractable" => all("tractable objective"),
        "weighted" => match &r.weighted {
            None => (Outcome::NotApplicable, "the case has no weight".into()),
            Some(w) => {
                let v = &w.verdict;
                let outcome = if v.ibp == Ibp::Violated
                    || v.boundary == Boundary::Nonzero
                    || v.objective == ObjectiveVerdict::Infinite
                {
                    Outcome::Fail
                } else if v.ibp == Ibp::Holds
                    && v.boundary == Boundary::Vanishes
                    && v.objective == ObjectiveVerdict::Finite
                {
                    Outcome::Pass
                } else {
                    Outcome::Undecided
                };
                (outcome, w.explanations.join("; "))
            }
        },
        _ => unreachable!("steps are validated when parsed"),
    }
}

/// Check every claim of `proof` on every case of `gallery`.
pub fn prove(proof: &Path, gallery: &Path, max_evals: u64) -> Result<ProofRun, ProveError> {
    let shown = proof.display().to_string();
    let text = std::fs::read_to_string(proof)
        .map_err(|e| ProveError::Io(format!("{shown}: cannot read the proof: {e}")))?;
    let claims = parse_claims(&text, &shown)?;
    let cases = load_gallery(gallery)?;
    let names: Vec<String> = cases.iter().map(|(n, _)| n.clone()).collect();
    for c in &claims {
        for n in c.expect_fail.iter().chain(&c.expect_undecided) {
            if !names.contains(n) {
                return Err(ProveError::Claim(format!(
                    "{shown}:{}: unknown case `{n}`; the gallery {} has: {}",
                    c.line,
                    gallery.display(),
                    names.join(", ")
                )));
            }
        }
    }
    // One check per case and tolerance.
    let mut cache: BTreeMap<(String, u64), (Report, Explanation)> = BTreeMap::new();
    let mut cells = vec![];
    for c in &claims {
        let mut row = vec![];
        for (name, case) in &cases {
            let key = (name.clone(), c.tolerance.map_or(0, f64::to_bits));
            if !cache.contains_key(&key) {
                let opts = CheckOptions {
                    tol: c.tolerance,
                    max_evals,
                    ..Default::default()
                };
                let r = crate::check_case(case, &opts)
                    .map_err(|e| ProveError::Check(name.clone(), e))?;
                // The derivation's claims are about the plain identity; the weighted one has
                // its own claim (`weighted`).
                let ex = explain_plain(&r);
                cache.insert(key.clone(), (r, ex));
            }
            let (r, ex) = &cache[&key];
            let (outcome, why) = judge(&c.step, r, ex);
            let expected = if c.expect_fail.contains(name) {
                Outcome::Fail
            } else if c.expect_undecided.contains(name) {
                Outcome::Undecided
            } else {
                Outcome::Pass
            };
            row.push(Cell {
                outcome,
                expected,
                why,
            });
        }
        cells.push(row);
    }
    Ok(ProofRun {
        file: shown,
        cases: names,
        claims,
        cells,
    })
}

impl ProofRun {
    /// 0 when every outcome is the expected one, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        if self.cells.iter().flatten().all(Cell::as_expected) {
            0
        } else {
            1
        }
    }

    /// The step × case table, then the unexpected outcomes with their reasons.
    pub fn to_text(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(o, "claims of {} on {} cases:", self.file, self.cases.len());
        let w = self
            .cases
            .iter()
            .map(|c| c.len())
            .max()
            .unwrap_or(4)
            .max(14);
        let _ = write!(o, "{:<20}", "step \\ case");
        for c in &self.cases {
            let _ = write!(o, " {c:<w$}");
        }
        let _ = writeln!(o);
        for (claim, row) in self.claims.iter().zip(&self.cells) {
            let _ = write!(o, "{:<20}", claim.step);
            for cell in row {
                let _ = write!(o, " {:<w$}", cell.mark());
            }
            let _ = writeln!(o);
        }
        let mut bad = 0;
        for (claim, row) in self.claims.iter().zip(&self.cells) {
            for (case, cell) in self.cases.iter().zip(row) {
                if !cell.as_expected() {
                    bad += 1;
                    let _ = writeln!(
                        o,
                        "unexpected: `{}` (line {}) on {case}: {:?} where {:?} was expected — {}",
                        claim.step, claim.line, cell.outcome, cell.expected, cell.why
                    );
                }
            }
        }
        let total = self
            .cells
            .iter()
            .flatten()
            .filter(|c| c.outcome != Outcome::NotApplicable)
            .count();
        let _ = writeln!(o, "{} of {total} outcomes as expected", total - bad);
        o
    }
}

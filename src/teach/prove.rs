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
//! `scorecheck prove FILE.md` runs `check` on each case of the gallery (the one the proof
//! names in a ```` ```proof ```` block, `gallery = "DIR"`, else `proofs/cases`),
//! takes the claimed step from [`crate::teach::explain`], and prints a step × case
//! table. The run fails on any outcome other than the expected one: an unexpected pass is as
//! wrong as an unexpected failure.

use crate::case::{Case, CaseError, load_case_file};
use crate::check::{CheckError, CheckOptions};
use crate::outcome::Outcome;
use crate::report::{Boundary, Ibp, ObjectiveVerdict, Report};
use crate::teach::explain::{Explanation, explain_plain};
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
pub enum ClaimResult {
    Pass,
    Fail,
    Undecided,
    /// The claim does not apply (a weighted claim on a case without a weight).
    NotApplicable,
}

/// One cell of the table.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    pub outcome: ClaimResult,
    pub expected: ClaimResult,
    /// One line: the step's reason from `explain`.
    pub why: String,
}

impl Cell {
    /// Whether the outcome is the expected one.
    pub fn as_expected(&self) -> bool {
        self.outcome == self.expected || self.outcome == ClaimResult::NotApplicable
    }
    fn mark(&self) -> &'static str {
        match (self.outcome, self.as_expected()) {
            (ClaimResult::NotApplicable, _) => "·",
            (ClaimResult::Pass, true) => "✓",
            (ClaimResult::Fail, true) => "✗ (expected)",
            (ClaimResult::Undecided, true) => "? (expected)",
            (ClaimResult::Pass, false) => "✓ UNEXPECTED",
            (ClaimResult::Fail, false) => "✗ UNEXPECTED",
            (ClaimResult::Undecided, false) => "? UNEXPECTED",
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
#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    /// The proof or the gallery cannot be read.
    #[error("{0}")]
    Io(String),
    /// A claim (or the proof's header block) is malformed.
    #[error("{0}")]
    Claim(String),
    /// A case of the gallery is bad input.
    #[error(transparent)]
    Case(#[from] CaseError),
    /// A case of the gallery cannot be checked.
    #[error("case {0}: {1}")]
    Check(String, #[source] CheckError),
}

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

fn outcome_of(holds: Option<bool>) -> ClaimResult {
    match holds {
        Some(true) => ClaimResult::Pass,
        Some(false) => ClaimResult::Fail,
        None => ClaimResult::Undecided,
    }
}

/// The claimed step's outcome on one case, with its reason.
fn judge(step: &str, r: &Report, ex: &Explanation) -> (ClaimResult, String) {
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
            None => (ClaimResult::NotApplicable, String::new()),
        }
    };
    match step {
        "objective-finite" => all("explicit objective"),
        "expand" => all("expand the square"),
        "ibp" => all("integration by parts"),
        "boundary-vanishes" => all("the boundary term vanishes"),
        "tractable" => all("tractable objective"),
        "weighted" => match &r.weighted {
            None => (ClaimResult::NotApplicable, "the case has no weight".into()),
            Some(w) => {
                let v = &w.verdict;
                let outcome = if v.ibp == Ibp::Violated
                    || v.boundary == Boundary::Nonzero
                    || v.objective == ObjectiveVerdict::Infinite
                {
                    ClaimResult::Fail
                } else if v.ibp == Ibp::Holds
                    && v.boundary == Boundary::Vanishes
                    && v.objective == ObjectiveVerdict::Finite
                {
                    ClaimResult::Pass
                } else {
                    ClaimResult::Undecided
                };
                let e = &w.explanations;
                let why = [&e.ibp, &e.boundary, &e.objective]
                    .into_iter()
                    .filter(|e| !e.is_empty())
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ");
                (outcome, why)
            }
        },
        _ => unreachable!("steps are validated when parsed"),
    }
}

/// The gallery a proof names in a fenced ```` ```proof ```` block (`gallery = "DIR"`, relative
/// to the proof's folder); without one, [`DEFAULT_GALLERY`].
pub fn named_gallery(text: &str, proof: &Path, shown: &str) -> Result<PathBuf, ProveError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Header {
        gallery: String,
    }
    let dir = proof.parent().unwrap_or(Path::new(""));
    let mut lines = text.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        let t = line.trim_start();
        if !(t.starts_with("```proof") && t["```proof".len()..].trim().is_empty()) {
            continue;
        }
        let body: String = lines
            .by_ref()
            .map(|(_, l)| l)
            .take_while(|l| !l.trim_start().starts_with("```"))
            .map(|l| format!("{l}\n"))
            .collect();
        let h: Header = toml::from_str(&body).map_err(|e| {
            ProveError::Claim(format!("{shown}:{}: proof: {}", n + 1, e.message().trim()))
        })?;
        return Ok(dir.join(h.gallery));
    }
    Ok(PathBuf::from(DEFAULT_GALLERY))
}

/// The gallery of a proof that names none (relative to the working directory, the
/// repository's root when run as documented).
pub const DEFAULT_GALLERY: &str = "proofs/cases";

/// Check every claim of `proof` on every case of `gallery`, or, when `None`, of the gallery
/// the proof names in a fenced ```` ```proof ```` block (`gallery = "DIR"`, relative to the
/// proof's folder; `proofs/cases` without one).
pub fn prove(proof: &Path, gallery: Option<&Path>, max_evals: u64) -> Result<ProofRun, ProveError> {
    let shown = proof.display().to_string();
    let text = std::fs::read_to_string(proof)
        .map_err(|e| ProveError::Io(format!("{shown}: cannot read the proof: {e}")))?;
    let claims = parse_claims(&text, &shown)?;
    let gallery = match gallery {
        Some(g) => g.to_path_buf(),
        None => named_gallery(&text, proof, &shown)?,
    };
    let gallery = gallery.as_path();
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
                ClaimResult::Fail
            } else if c.expect_undecided.contains(name) {
                ClaimResult::Undecided
            } else {
                ClaimResult::Pass
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
    /// Holds when every outcome is the expected one, violated otherwise (an unexpected
    /// pass is as wrong as an unexpected failure).
    pub fn outcome(&self) -> Outcome {
        if self.cells.iter().flatten().all(Cell::as_expected) {
            Outcome::Holds
        } else {
            Outcome::Violated
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
            .filter(|c| c.outcome != ClaimResult::NotApplicable)
            .count();
        let _ = writeln!(o, "{} of {total} outcomes as expected", total - bad);
        o
    }
}

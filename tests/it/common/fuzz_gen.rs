//! A generator of random cases for the end-to-end fuzz (`tests/fuzz_e2e.rs`) and the
//! cargo-fuzz target `check` (`fuzz/fuzz_targets/check.rs`, which includes this file with
//! `#[path]`). It writes what a user could write: expressions using every function and
//! operator of the language with constants from 1e-300 to 1e300, domains with finite and
//! infinite ends, parameters, fields, log-models, divergences and weights.
//!
//! The functions and their arities are found from the language itself: every name in
//! `scorecheck::FUNCTIONS` is tried with 1 to 4 arguments and kept with the counts
//! that compile, so new functions are fuzzed as soon as the language has them. Spellings that
//! are not in that list (aliases, prefixes, operators) are candidates in the tables below;
//! each is kept only if the language accepts it today.
#![allow(dead_code)] // the fuzz target uses a subset

use scorecheck::Program;

/// Names tried as functions besides `scorecheck::FUNCTIONS` (aliases and functions
/// that other branches add); kept only when they compile. Extend freely.
pub const EXTRA_FUNCTIONS: &[&str] = &[
    "log",
    "log1p",
    "expm1",
    "log2",
    "log10",
    "cbrt",
    "pow",
    "hypot",
    "sign",
    "erf",
    "erfc",
    "normcdf",
    "lognormcdf",
    "gamma",
    "lgamma",
    "logsumexp",
    "logaddexp",
    "softplus",
    "sigmoid",
    "logsigmoid",
];

/// Binary operators tried; kept only when `x OP y` compiles.
pub const OPERATORS: &[&str] = &["+", "-", "*", "/", "^", "%", "**"];

/// Prefixes tried before function names (`np.exp(x)`); kept only when they compile.
pub const PREFIXES: &[&str] = &["np.", "numpy.", "math.", "torch.", "jnp."];

/// The names of the language's functions (one place to adapt if `expr::FUNCTIONS` changes
/// shape, e.g. to (name, arity) pairs).
fn language_function_names() -> Vec<String> {
    scorecheck::FUNCTIONS
        .iter()
        .map(|(name, _)| name.to_string())
        .collect()
}

fn compiles(src: &str) -> bool {
    let vars = ["x".to_string(), "y".to_string()];
    Program::compile(src, &vars, &[]).is_ok()
}

/// What the language accepts, probed once.
#[derive(Clone, Debug)]
pub struct Language {
    /// (name, accepted argument counts among 1..=4)
    pub functions: Vec<(String, Vec<usize>)>,
    pub operators: Vec<&'static str>,
    pub prefixes: Vec<&'static str>,
}

impl Language {
    pub fn probe() -> Language {
        let mut names = language_function_names();
        for e in EXTRA_FUNCTIONS {
            if !names.iter().any(|n| n == e) {
                names.push(e.to_string());
            }
        }
        let mut functions = vec![];
        for n in names {
            let arities: Vec<usize> = (1..=4)
                .filter(|&k| {
                    let args = vec!["x"; k].join(", ");
                    compiles(&format!("{n}({args})"))
                })
                .collect();
            if !arities.is_empty() {
                functions.push((n, arities));
            }
        }
        let operators = OPERATORS
            .iter()
            .copied()
            .filter(|op| compiles(&format!("x {op} y")))
            .collect();
        let prefixes = PREFIXES
            .iter()
            .copied()
            .filter(|p| compiles(&format!("{p}exp(x)")))
            .collect();
        Language {
            functions,
            operators,
            prefixes,
        }
    }
}

/// A small portable generator (SplitMix64), or a reader of fuzzer bytes.
pub struct Rng {
    state: u64,
    bytes: Option<(Vec<u8>, usize)>,
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng {
            state: seed,
            bytes: None,
        }
    }
    /// Draws taken from `data` (8 bytes each; zeros once it is used up).
    pub fn from_bytes(data: &[u8]) -> Rng {
        Rng {
            state: 0,
            bytes: Some((data.to_vec(), 0)),
        }
    }
    pub fn next_u64(&mut self) -> u64 {
        if let Some((b, pos)) = &mut self.bytes {
            let mut v = [0u8; 8];
            for slot in v.iter_mut() {
                if *pos < b.len() {
                    *slot = b[*pos];
                    *pos += 1;
                }
            }
            return u64::from_le_bytes(v);
        }
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in 0..n (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
}

/// The seed of case `index` of a run with `seed` (so any case can be rerun alone).
pub fn case_seed(seed: u64, index: u64) -> u64 {
    let mut r = Rng::new(seed ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03));
    r.next_u64()
}

/// A constant as a user writes it: small integers and decimals, pi and e, and magnitudes
/// from 1e-300 to 1e300 (log-uniform), either sign.
pub fn constant(r: &mut Rng) -> String {
    match r.below(6) {
        0 => format!("{}", r.below(6)),
        1 => format!("{:.2}", 4.0 * r.unit()),
        2 => r.pick(&["pi", "e", "0.5", "2", "1e-3"]).to_string(),
        3 => format!("{:.1e}", 10f64.powf(12.0 * r.unit() - 6.0)),
        _ => {
            let mag = 10f64.powf(600.0 * r.unit() - 300.0);
            let v = if r.chance(0.3) { -mag } else { mag };
            let s = format!("{v:.3e}");
            if v < 0.0 { format!("({s})") } else { s }
        }
    }
}

/// A random expression over `vars` and `params`, at most `depth` levels deep.
pub fn expr(
    r: &mut Rng,
    lang: &Language,
    vars: &[String],
    params: &[String],
    depth: u32,
) -> String {
    if depth == 0 || r.chance(0.3) {
        let roll = r.unit();
        return if roll < 0.55 {
            r.pick(vars).clone()
        } else if roll < 0.7 && !params.is_empty() {
            r.pick(params).clone()
        } else {
            constant(r)
        };
    }
    match r.below(10) {
        0 => format!("-{}", expr(r, lang, vars, params, depth - 1)),
        1..=4 if !lang.operators.is_empty() => {
            let op = *r.pick(&lang.operators);
            let a = expr(r, lang, vars, params, depth - 1);
            let b = expr(r, lang, vars, params, depth - 1);
            format!("({a} {op} {b})")
        }
        _ if !lang.functions.is_empty() => {
            let (name, arities) = r.pick(&lang.functions).clone();
            let k = *r.pick(&arities);
            let args: Vec<String> = (0..k)
                .map(|_| expr(r, lang, vars, params, depth - 1))
                .collect();
            let prefix = if !lang.prefixes.is_empty() && r.chance(0.1) {
                *r.pick(&lang.prefixes)
            } else {
                ""
            };
            format!("{prefix}{name}({})", args.join(", "))
        }
        _ => r.pick(vars).clone(),
    }
}

/// A log-density that is often (not always) integrable: a Gaussian or Laplace-like base with
/// a random term of random size, or a random expression alone.
fn log_density(r: &mut Rng, lang: &Language, vars: &[String], params: &[String]) -> String {
    let base: Vec<String> = vars
        .iter()
        .map(|v| match r.below(4) {
            0 => format!("-{v}^2/2"),
            1 => format!("-abs({v})"),
            2 => format!("-({v} - {})^2/(2*{})", constant(r), constant(r)),
            _ => format!("-{v}^4"),
        })
        .collect();
    let base = base.join(" + ");
    match r.below(8) {
        0 => expr(r, lang, vars, params, 4),
        1 => base,
        2 => format!(
            "{base} + {}*{}",
            constant(r),
            expr(r, lang, vars, params, 3)
        ),
        3 | 4 => format!(
            "{base} + {}*tanh({})",
            constant(r),
            expr(r, lang, vars, params, 3)
        ),
        _ => format!("{base} + {}", expr(r, lang, vars, params, 3)),
    }
}

fn field(r: &mut Rng, lang: &Language, vars: &[String], params: &[String]) -> Vec<String> {
    vars.iter()
        .map(|v| match r.below(4) {
            0 => format!("-{v}"),
            1 => format!("-({v} - {})/{}", constant(r), constant(r)),
            _ => expr(r, lang, vars, params, 3),
        })
        .collect()
}

/// One end of a domain as TOML.
fn toml_num(v: f64) -> String {
    if v == f64::INFINITY {
        "inf".into()
    } else if v == f64::NEG_INFINITY {
        "-inf".into()
    } else {
        format!("{v:e}")
    }
}

fn interval(r: &mut Rng) -> String {
    match r.below(16) {
        0..=3 => "[-inf, inf]".into(),
        4 | 5 => "[0, inf]".into(),
        6 => "[-inf, 0]".into(),
        7 => r
            .pick(&["[0, \"pi\"]", "[\"-pi\", \"2*pi\"]", "[0, 1]", "[-1, 1]"])
            .to_string(),
        _ => {
            let a = if r.chance(0.5) {
                (r.below(7) as f64) - 3.0
            } else {
                let m = 10f64.powf(600.0 * r.unit() - 300.0);
                if r.chance(0.5) { -m } else { m }
            };
            let w = if r.chance(0.6) {
                0.5 + 10.0 * r.unit()
            } else {
                10f64.powf(600.0 * r.unit() - 300.0)
            };
            // a + w rounds to a when w is below a's spacing: then a wider interval.
            let b = if a + w > a {
                a + w
            } else {
                a + a.abs().max(1.0)
            };
            if r.chance(0.03) {
                // reversed or empty: bad input, exit 2
                format!("[{}, {}]", toml_num(b), toml_num(a))
            } else {
                format!("[{}, {}]", toml_num(a), toml_num(b.min(f64::MAX)))
            }
        }
    }
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A generated case: the TOML text and the command line (after the binary's name; `CASE`
/// and `OUT` stand for the case file and an output file in the case's folder).
#[derive(Clone, Debug)]
pub struct Generated {
    pub toml: String,
    pub args: Vec<String>,
    pub dim: usize,
}

/// A random case and command. `max_evals` caps every cubature.
pub fn case(r: &mut Rng, lang: &Language, max_evals: u64) -> Generated {
    let d = *r.pick(&[1, 1, 1, 1, 2, 2, 2, 3, 4]);
    let names: &[&str] = if r.chance(0.8) {
        &["x", "y", "z", "w"]
    } else {
        &["u", "v", "theta", "r"]
    };
    let vars: Vec<String> = names[..d].iter().map(|s| s.to_string()).collect();
    let np = r.below(3);
    let params: Vec<String> = ["mu", "s", "k"][..np]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut t = String::new();
    t.push_str("name = \"fuzz\"\n");
    t.push_str(&format!(
        "vars = [{}]\n",
        vars.iter().map(|v| quote(v)).collect::<Vec<_>>().join(", ")
    ));
    let domain: Vec<String> = (0..d).map(|_| interval(r)).collect();
    t.push_str(&format!("domain = [{}]\n", domain.join(", ")));
    if !params.is_empty() {
        let vals: Vec<String> = params
            .iter()
            .map(|p| {
                format!(
                    "{p} = {}",
                    toml_num(if r.chance(0.7) {
                        0.5 + r.unit()
                    } else {
                        let m = 10f64.powf(600.0 * r.unit() - 300.0);
                        if r.chance(0.5) { -m } else { m }
                    })
                )
            })
            .collect();
        t.push_str(&format!("params = {{ {} }}\n", vals.join(", ")));
    }
    let command = *r.pick(&["check", "check", "explain", "score", "plot"]);
    if command != "score" && r.chance(0.15) {
        // A weight that is often >= 0 (the squared distance to the box's ends, say), or any.
        let v = &vars[0];
        let w = match r.below(3) {
            0 => format!("{v}^2*(1 + {v}^2)"),
            1 => format!("exp(-{v}^2) * ({})^2", expr(r, lang, &vars, &params, 2)),
            _ => expr(r, lang, &vars, &params, 2),
        };
        t.push_str(&format!("weight = {}\n", quote(&w)));
    }
    t.push_str("\n[density]\n");
    let ld = log_density(r, lang, &vars, &params);
    if r.chance(0.8) {
        t.push_str(&format!("log = {}\n", quote(&ld)));
    } else {
        t.push_str(&format!("pdf = {}\n", quote(&format!("exp({ld})"))));
    }
    t.push_str("\n[score]\n");
    let want_field = command != "score" || r.chance(0.9);
    let want_model = !want_field || r.chance(if command == "score" { 0.8 } else { 0.3 });
    if want_field {
        let f = field(r, lang, &vars, &params);
        t.push_str(&format!(
            "field = [{}]\n",
            f.iter().map(|e| quote(e)).collect::<Vec<_>>().join(", ")
        ));
    }
    if want_model {
        let m = if r.chance(0.5) {
            ld.clone()
        } else {
            log_density(r, lang, &vars, &params)
        };
        t.push_str(&format!("log_model = {}\n", quote(&m)));
    }
    if command == "score" && r.chance(0.4) {
        t.push_str(&format!(
            "divergence = {}\n",
            quote(&expr(r, lang, &vars, &params, 3))
        ));
    }
    let mut args: Vec<String> = vec![command.into(), "CASE".into()];
    if !params.is_empty() && r.chance(0.2) {
        args.push(format!(
            "--param={}={}",
            params[0],
            constant(r).trim_matches(['(', ')'])
        ));
    }
    match command {
        "score" => {
            args.push(format!("--points={}", r.pick(&[16, 64, 256])));
            if r.chance(0.3) {
                args.push("--json".into());
            }
        }
        _ => {
            // Mostly the given budget, sometimes a tenth or ten times it.
            let budget = match r.below(8) {
                0 => (max_evals / 10).max(1),
                1 => max_evals.saturating_mul(10),
                _ => max_evals,
            };
            args.push(format!("--max-evals={budget}"));
            if r.chance(0.3) {
                args.push(format!(
                    "--tol={}",
                    r.pick(&["1e-3", "1e-6", "1e-12", "1e-300"])
                ));
            }
            match command {
                "plot" => {
                    let ext = if r.chance(0.7) { "svg" } else { "png" };
                    args.push(format!("--out=OUT.{ext}"));
                    args.push(format!(
                        "--kind={}",
                        r.pick(&["identity", "boundary", "convergence"])
                    ));
                    if r.chance(0.1) {
                        args.push(format!("--size={}", r.pick(&["200x150", "640x480"])));
                    }
                }
                "explain" if r.chance(0.3) => args.push("--markdown".into()),
                _ if r.chance(0.3) => args.push("--json".into()),
                _ => {}
            }
        }
    }
    Generated {
        toml: t,
        args,
        dim: d,
    }
}

/// The body of the cargo-fuzz target `check` (`fuzz/fuzz_targets/check.rs`): a case generated
/// from the fuzzer's bytes, compiled and run by `check` in process with a budget of
/// `max_evals` evaluations per cubature, then rendered as text and JSON and explained.
/// Bad input is fine; a panic, abort or hang is what the fuzzer looks for.
pub fn check_from_bytes(lang: &Language, data: &[u8], max_evals: u64) {
    let mut r = Rng::from_bytes(data);
    let g = case(&mut r, lang, max_evals);
    let Ok(spec) = scorecheck::parse_case(&g.toml, "fuzz.toml", "fuzz") else {
        return;
    };
    let Ok(case) = spec.compile(&[], false) else {
        return;
    };
    let opts = scorecheck::CheckOptions {
        tol: None,
        max_evals,
        ..Default::default()
    };
    if let Ok(report) = scorecheck::check_case(&case, &opts) {
        let _ = report.to_text();
        let _ = report.to_json();
        let _ = report.outcome();
        let ex = scorecheck::explain(&report);
        let _ = ex.to_text();
    }
}

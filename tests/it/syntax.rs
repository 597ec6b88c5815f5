//! The language as users write it (Python syntax, numpy prefixes, constants where numbers go)
//! and its friendly refusals, through the library and the real binary.

use crate::common;

use common::{bad_input, exit_code, run_in, stderr, stdout};
use scorecheck::{ExprError, Program};

fn vars() -> Vec<String> {
    vec!["x".to_string(), "y".to_string()]
}

fn f(src: &str, x: f64) -> f64 {
    Program::compile(src, &vars(), &[])
        .unwrap_or_else(|e| panic!("{e}"))
        .eval(&[x, 0.0])
}

fn err(src: &str) -> ExprError {
    Program::compile(src, &vars(), &[]).expect_err(src)
}

#[test]
fn double_star_is_caret() {
    // Same precedence and associativity as ^: right-associative, tighter than unary minus.
    assert_eq!(f("-x**2/2", 3.0), -4.5);
    assert_eq!(f("2**3**2", 0.0), 512.0);
    assert_eq!(f("(2**3)**2", 0.0), 64.0);
    assert_eq!(f("2**-1", 0.0), 0.5);
    assert_eq!(f("x ** 2 * 3", 2.0), 12.0);
    assert_eq!(f("2 * x**3", 2.0), 16.0);
    assert_eq!(f("x**2^1", 3.0), 9.0);
    assert_eq!(f("1e2**0.5", 0.0), 10.0);
    // Exact integer powers as with ^: x**2 at -3 has derivative exactly -6.
    let p = Program::compile("x**2", &vars(), &[]).unwrap();
    let d = p.eval(&[
        num_dual::Dual64::new(-3.0, 1.0),
        num_dual::Dual64::from(0.0),
    ]);
    assert_eq!((d.re, d.eps), (9.0, -6.0));
}

#[test]
fn log_is_ln_and_prefixes_are_ignored() {
    assert_eq!(f("log(x)", 2.0), 2f64.ln());
    assert_eq!(f("np.log(x)", 2.0), 2f64.ln());
    assert_eq!(
        f("numpy.exp(-x) + math.pi", 1.0),
        (-1f64).exp() + std::f64::consts::PI
    );
    assert_eq!(
        f("torch.sigmoid(x) * jnp.e", 0.0),
        0.5 * std::f64::consts::E
    );
    assert_eq!(f("np.pi*x", 2.0), 2.0 * std::f64::consts::PI);
    // A prefix before something that is not a known function or constant is not removed.
    let e = err("np.x + 1");
    assert_eq!(e.span, Some((2, 3)), "{e}");
}

#[test]
fn carets_point_at_the_users_text() {
    // The error is found after `**` becomes `^` and prefixes become spaces; it is shown
    // against the original text.
    let e = err("np.exp(x) ** * 2");
    assert_eq!(e.source, "np.exp(x) ** * 2");
    assert_eq!(
        e.to_string(),
        "missing operand before `*`\n  np.exp(x) ** * 2\n               ^"
    );
    let e = err("x **");
    assert_eq!(e.to_string(), "missing operand after `**`\n  x **\n    ^^");
    let e = err("np.lgamm(x)");
    assert!(
        e.message
            .starts_with("unknown function `lgamm`; did you mean `lgamma`?"),
        "{e}"
    );
    assert_eq!(e.span, Some((3, 8)));
    assert!(e.to_string().ends_with("  np.lgamm(x)\n     ^^^^^"), "{e}");
}

#[test]
fn did_you_mean() {
    for (typo, want) in [
        ("lgama", "lgamma"),
        ("sigmod", "sigmoid"),
        ("logsumexpp", "logsumexp"),
        ("expit", "sigmoid"),
        ("gammaln", "lgamma"),
        ("sqr", "sqrt"),
        ("softpuls", "softplus"),
        ("normcfd", "normcdf"),
        ("Exp", "exp"),
    ] {
        let e = err(&format!("{typo}(x)"));
        assert!(
            e.message.starts_with(&format!(
                "unknown function `{typo}`; did you mean `{want}`?"
            )),
            "{typo}: {e}"
        );
    }
    // Nothing close: no guess.
    let e = err("frobnicate(x)");
    assert!(
        e.message
            .starts_with("unknown function `frobnicate`; supported functions: "),
        "{e}"
    );
}

#[test]
fn variable_named_like_a_constant_is_refused() {
    for name in ["e", "pi"] {
        let e = Program::compile("x", &[name.to_string()], &[]).unwrap_err();
        assert!(
            e.message
                .contains(&format!("would shadow the constant {name}")),
            "{e}"
        );
    }
    let dir = std::env::temp_dir();
    bad_input(
        &dir,
        &[
            "check",
            "--log-density",
            "-e^2",
            "--vars",
            "e",
            "--score",
            "-1",
        ],
        "error: --vars: a variable named `e` would shadow the constant e = 2.71828…; rename the variable",
    );
}

#[test]
fn function_arity_errors() {
    assert_eq!(
        err("pow(x)").message,
        "function `pow` takes 2 arguments, got 1"
    );
    assert_eq!(
        err("logaddexp(x, y, 1)").message,
        "function `logaddexp` takes 2 arguments, got 3"
    );
    assert_eq!(
        err("erf(x, y)").message,
        "function `erf` takes 1 argument, got 2"
    );
    assert_eq!(f("logsumexp(x)", 1.5), 1.5);
}

fn tmp(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("scorecheck-syntax-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn domain_as_constant_expressions_in_files_and_flags() {
    let dir = std::env::temp_dir();
    // von Mises on [-π, π], k = 2: every way of writing the domain gives the same report.
    let mut outputs = vec![];
    for dom in [
        "--domain=-pi:pi",
        "--domain=-np.pi:math.pi",
        "--domain=-2*pi/2:pi",
    ] {
        let o = run_in(
            &dir,
            &[
                "check",
                "--log-density",
                "2*cos(x)",
                "--score",
                "-2*sin(x)",
                dom,
                "--json",
            ],
        );
        outputs.push(stdout(&o));
    }
    let o = run_in(
        &dir,
        &[
            "check",
            "--log-density",
            "2*cos(x)",
            "--score",
            "-2*sin(x)",
            "--domain",
            "-pi:pi",
            "--json",
        ],
    );
    outputs.push(stdout(&o));
    let file = tmp(
        "vm.toml",
        "name = \"command-line\"\ndomain = [[\"-pi\", \"pi\"]]\n[density]\nlog = \"2*cos(x)\"\n[score]\nfield = [\"-2*sin(x)\"]\n",
    );
    let o = run_in(&dir, &["check", file.to_str().unwrap(), "--json"]);
    outputs.push(stdout(&o));
    // A parameter in a domain end, and a parameter given as an expression.
    let file = tmp(
        "vmp.toml",
        "name = \"command-line\"\ndomain = [[\"-L\", \"L\"]]\nparams = { L = \"pi\", k = \"2*1\" }\n[density]\nlog = \"k*cos(x)\"\n[score]\nfield = [\"-k*sin(x)\"]\n",
    );
    let o = run_in(&dir, &["check", file.to_str().unwrap(), "--json"]);
    let with_params = stdout(&o);
    let v: serde_json::Value = serde_json::from_str(&outputs[0]).expect("json");
    let lhs = v["cross"]["lhs"]["value"].as_f64().unwrap();
    // lhs = k I1(k)/I0(k) at k = 2 (mpmath, scripts/e2e_values.py).
    assert!((lhs - 1.395_549_315_928_016).abs() < 1e-10, "{lhs}");
    for o in &outputs[1..] {
        let w: serde_json::Value = serde_json::from_str(o).expect("json");
        assert_eq!(w["cross"], v["cross"]);
    }
    let w: serde_json::Value = serde_json::from_str(&with_params).expect("json");
    assert_eq!(w["cross"], v["cross"]);
    assert_eq!(w["params"]["L"].as_f64(), Some(std::f64::consts::PI));
    // `--param` values may be expressions too.
    let o = run_in(
        &dir,
        &[
            "check",
            "--log-density",
            "k*cos(x)",
            "--score",
            "-k*sin(x)",
            "--domain",
            "-pi:pi",
            "--param",
            "k=sqrt(4)",
            "--json",
        ],
    );
    let w: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    assert_eq!(w["cross"], v["cross"]);
}

#[test]
fn bad_constant_expressions_are_bad_input() {
    let dir = std::env::temp_dir();
    bad_input(
        &dir,
        &[
            "check",
            "--log-density",
            "-x^2",
            "--score",
            "-x",
            "--domain",
            "-pi:foo",
        ],
        "error: --domain -pi:foo (upper end): the upper end must be a constant expression; `foo` is not a parameter (no parameters are defined)",
    );
    let e = bad_input(
        &dir,
        &[
            "check",
            "--log-density",
            "-x^2",
            "--score",
            "-x",
            "--domain=0:2**",
        ],
        "error: --domain 0:2** (upper end): missing operand after `**`",
    );
    assert!(e.contains("  2**\n   ^^"), "{e}");
    let file = tmp(
        "bad.toml",
        "domain = [[\"-x\", 1]]\n[density]\nlog = \"-x^2\"\n[score]\nfield = [\"-x\"]\n",
    );
    let path = file.to_str().unwrap();
    bad_input(
        &dir,
        &["check", path],
        &format!(
            "error: {path}:1 (domain[0]) lower end: the lower end must be a constant expression; `x` in `-x` is not a parameter (no parameters are defined)"
        ),
    );
}

#[test]
fn every_subcommand_takes_the_case_flags() {
    let dir = std::env::temp_dir();
    let case = ["--log-density", "-x**2/2", "--score", "-x"];
    fn with<'a>(cmd: &[&'a str], case: &[&'a str]) -> Vec<&'a str> {
        let mut v: Vec<&str> = cmd.to_vec();
        v.extend(case);
        v
    }
    // score: a hand-written field against a log-model, with a divergence.
    let o = run_in(
        &dir,
        &[
            "score",
            "--log-density",
            "-x**2/2",
            "--score",
            "-x",
            "--log-model",
            "-x**2/2",
            "--divergence",
            "-1",
        ],
    );
    exit_code(&o, 0);
    let o = run_in(&dir, &with(&["explain"], &case));
    exit_code(&o, 0);
    let out = dir.join(format!("scorecheck-syntax-{}.svg", std::process::id()));
    let o = run_in(
        &dir,
        &with(&["plot", "--out", out.to_str().unwrap()], &case),
    );
    exit_code(&o, 0);
    assert!(out.exists());
    let _ = std::fs::remove_file(&out);
    let o = run_in(
        &dir,
        &[
            "sweep",
            "--log-density",
            "-(x-mu)**2/2",
            "--score",
            "-x",
            "--param",
            "mu=-1:1:3",
            "--json",
        ],
    );
    // s = -x is not the score of N(mu, 1) but the identity holds at every mu: exit 0.
    exit_code(&o, 0);
    assert!(stdout(&o).contains("\"mu\""), "{}", stdout(&o));
    let o = run_in(&dir, &with(&["estimate", "--n", "2000"], &case));
    assert!(
        matches!(o.status.code(), Some(0) | Some(3)),
        "{}",
        stderr(&o)
    );
    let o = run_in(&dir, &with(&["dsm", "--n", "500"], &case));
    assert!(
        matches!(o.status.code(), Some(0) | Some(3)),
        "{}",
        stderr(&o)
    );
    // A case file and case flags together are bad input, for every subcommand.
    let file = tmp(
        "g.toml",
        "[density]\nlog = \"-x^2/2\"\n[score]\nfield = [\"-x\"]\n",
    );
    for cmd in ["check", "score", "explain", "estimate", "dsm"] {
        bad_input(
            &dir,
            &[cmd, file.to_str().unwrap(), "--vars", "x"],
            "error: --vars cannot be combined with a case file; edit the file, or drop it and give the case by flags",
        );
    }
}

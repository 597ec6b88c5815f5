//! The bad-input catalogue: every entry runs the real binary and must exit 2, print nothing on
//! standard output, and start its message with exactly the given line.

use crate::common;
use std::path::{Path, PathBuf};

const OK: &str = "[density]\nlog = \"-x^2/2\"\n[score]\nfield = [\"-x\"]\n";

/// A case file written into the test's own folder.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("scorecheck-bad-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }
    fn file(&self, name: &str, bytes: &[u8]) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, bytes).unwrap();
        name.to_string()
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[track_caller]
fn bad(dir: &Path, args: &[&str], first_line: &str) {
    common::bad_input(dir, args, first_line);
}

#[test]
fn case_file_catalogue() {
    let d = Dir::new("files");
    let p = d.path();
    let f = |name: &str, text: &str| d.file(name, text.as_bytes());
    let cases: Vec<(String, &str)> = vec![
        (
            f("syntax.toml", "name = \"t\"\n[density\nlog = \"-x^2\"\n"),
            "error: syntax.toml:2: unclosed table, expected `]`",
        ),
        (
            f("top.toml", &format!("colour = \"red\"\n{OK}")),
            "error: top.toml:1: unknown field `colour`, expected one of `name`, `vars`, `domain`, `params`, `weight`, `breaks`, `density`, `score`",
        ),
        (
            f(
                "dkey.toml",
                "[density]\nlog = \"-x^2/2\"\nlg = \"x\"\n[score]\nfield = [\"-x\"]\n",
            ),
            "error: dkey.toml:3: unknown field `lg`, expected `log` or `pdf`",
        ),
        (
            f(
                "both.toml",
                "[density]\nlog = \"-x^2/2\"\npdf = \"exp(-x^2/2)\"\n[score]\nfield = [\"-x\"]\n",
            ),
            "error: both.toml:1 (density): [density] has both `log` and `pdf`; give exactly one",
        ),
        (
            f("nod.toml", "[score]\nfield = [\"-x\"]\n"),
            "error: nod.toml: missing [density] table: give `log = \"...\"` or `pdf = \"...\"`",
        ),
        (
            f("empty.toml", ""),
            "error: empty.toml: missing [density] table: give `log = \"...\"` or `pdf = \"...\"`",
        ),
        (
            f("nos.toml", "[density]\nlog = \"-x^2/2\"\n"),
            "error: nos.toml: missing [score] table: give `field = [...]` and/or `log_model = \"...\"`",
        ),
        (
            f("emptys.toml", "[density]\nlog = \"-x^2/2\"\n[score]\n"),
            "error: emptys.toml:3 (score): [score] needs `field` or `log_model` (or both)",
        ),
        (
            f("dar.toml", &format!("domain = [[0]]\n{OK}")),
            "error: dar.toml:1 (domain[0]): an interval is [lower, upper], two numbers or constant expressions; got 1 entry",
        ),
        (
            f("dcount.toml", &format!("domain = [[0, inf], [0, 1]]\n{OK}")),
            "error: dcount.toml: the domain has 2 intervals but there is 1 variable (x)",
        ),
        (
            f("dempty.toml", &format!("domain = [[1, 0]]\n{OK}")),
            "error: dempty.toml:1 (domain[0]): the interval [1, 0] is empty: the lower end must be below the upper end",
        ),
        (
            f("dnan.toml", &format!("domain = [[nan, 1]]\n{OK}")),
            "error: dnan.toml:1 (domain[0]): an interval end is NaN",
        ),
        (
            f(
                "fnum.toml",
                "[density]\nlog = \"-x^2/2\"\n[score]\nfield = [1]\n",
            ),
            "error: fnum.toml:4 (score.field[0]): a field component must be an expression string, got integer",
        ),
        (
            f(
                "fmany.toml",
                "vars = [\"x\"]\n[density]\nlog = \"-x^2/2\"\n[score]\nfield = [\"-x\", \"-x\"]\n",
            ),
            "error: fmany.toml:5 (score.field): the field has 2 components but there is 1 variable (x)",
        ),
        (
            f("vname.toml", &format!("vars = [\"1x\"]\n{OK}")),
            "error: vname.toml:1 (vars): `1x` is not a valid variable name",
        ),
        (
            f(
                "vpi.toml",
                "vars = [\"pi\"]\n[density]\nlog = \"-pi^2/2\"\n[score]\nfield = [\"-pi\"]\n",
            ),
            "error: vpi.toml:1 (vars): a variable named `pi` would shadow the constant pi = 3.14159…; rename the variable",
        ),
        (
            f(
                "vdup.toml",
                "vars = [\"x\", \"x\"]\n[density]\nlog = \"-x^2/2\"\n[score]\nfield = [\"-x\", \"-x\"]\n",
            ),
            "error: vdup.toml:1 (vars): variable `x` is listed twice",
        ),
        (
            f(
                "shadow.toml",
                &format!("vars = [\"x\"]\nparams = {{ x = 1 }}\n{OK}"),
            ),
            "error: shadow.toml:2 (params.x): parameter `x` has the same name as a variable; rename one of them",
        ),
        (
            f("pinf.toml", &format!("params = {{ a = inf }}\n{OK}")),
            "error: pinf.toml:1 (params.a): parameter `a` must be a finite number, got inf",
        ),
        (
            f(
                "five.toml",
                "vars = [\"a\",\"b\",\"c\",\"d\",\"f\"]\n[density]\nlog = \"-(a^2+b^2+c^2+d^2+f^2)/2\"\n[score]\nfield = [\"-a\",\"-b\",\"-c\",\"-d\",\"-f\"]\n",
            ),
            "error: five.toml: the case has 5 variables (a, b, c, d, f); checks support 1 to 4",
        ),
        (
            f(
                "negw.toml",
                "domain = [[0, inf]]\nweight = \"x - 1\"\n[density]\nlog = \"-x^2/2\"\n[score]\nfield = [\"-x\"]\n",
            ),
            "error: the weight is negative at x = 0.000000; a weight must be >= 0 on the domain",
        ),
        (
            f(
                "badexpr.toml",
                "[density]\nlog = \"-x^2/2 +* x\"\n[score]\nfield = [\"-x\"]\n",
            ),
            "error: badexpr.toml:2 (density.log): missing operand before `*`",
        ),
        (
            f(
                "long.toml",
                &format!(
                    "[density]\nlog = \"{}\"\n[score]\nfield = [\"-x\"]\n",
                    vec!["x"; 500_000].join("+")
                ),
            ),
            "error: long.toml:2 (density.log): expression is too long: 999999 bytes (limit 100000)",
        ),
        (
            f(
                "deep.toml",
                &format!(
                    "[density]\nlog = \"{}x{}\"\n[score]\nfield = [\"-x\"]\n",
                    "(".repeat(10_000),
                    ")".repeat(10_000)
                ),
            ),
            "error: deep.toml:2 (density.log): expression nests too deeply: 10000 levels of parentheses (limit 200)",
        ),
        (
            d.file(
                "bytes.toml",
                b"[density]\nlog = \"-x^2/2 \xff\xfe\"\n[score]\nfield = [\"-x\"]\n",
            ),
            "error: bytes.toml:2: the case file is not valid UTF-8 (bad byte at offset 24)",
        ),
        (
            "missing.toml".to_string(),
            "error: missing.toml: cannot read the case file: no such file",
        ),
    ];
    std::fs::create_dir_all(p.join("afolder")).unwrap();
    bad(
        p,
        &["check", "afolder"],
        "error: afolder: cannot read the case file: it is a folder, not a file",
    );
    for (file, line) in &cases {
        bad(p, &["check", file], line);
    }
    assert!(cases.len() >= 26);
}

#[test]
fn flag_catalogue() {
    let d = Dir::new("flags");
    let p = d.path();
    d.file("ok.toml", OK.as_bytes());
    let ld = |e: &'static str| vec!["check", "--log-density", e, "--score", "-x"];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (ld(""), "error: --log-density: empty expression"),
        (ld("   "), "error: --log-density: empty expression"),
        (ld("-(x^2"), "error: --log-density: unclosed `(`"),
        (ld("x)"), "error: --log-density: unmatched `)`"),
        (
            ld("foo(x)"),
            "error: --log-density: unknown function `foo`; supported functions: sqrt, exp, ln, log, log1p, expm1, log2, log10, cbrt, pow, hypot, abs, sign, signum, sin, cos, tan, asin, acos, atan, atan2, sinh, cosh, tanh, asinh, acosh, atanh, floor, ceil, round, max, min, erf, erfc, normcdf, lognormcdf, gamma, lgamma, logsumexp, logaddexp, softplus, sigmoid, logsigmoid",
        ),
        (
            vec![
                "check",
                "--vars",
                "x",
                "--log-density",
                "-x^2 - z",
                "--score",
                "-x",
            ],
            "error: --log-density: unknown variable `z`; known variables: x",
        ),
        (
            ld("sin(x, x)"),
            "error: --log-density: function `sin` takes 1 argument, got 2",
        ),
        (
            ld("atan2(x)"),
            "error: --log-density: function `atan2` takes 2 arguments, got 1",
        ),
        (
            ld("x!"),
            "error: --log-density: factorial `!` is not supported",
        ),
        (
            vec!["check", "--pdf", "x", "--score", "-x"],
            "error: the density is negative or undefined (NaN) at x = -0.100000; a density must be defined and >= 0 on the whole domain",
        ),
        (
            vec!["check", "--pdf", "0*x", "--score", "-x"],
            "error: the density is zero or undefined everywhere it was evaluated; check the [density] expression and the domain",
        ),
        (
            ld("0*x"),
            "error: the density is not integrable on the domain (Z = ∫ p = ∞); restrict the domain or fix the density",
        ),
        (
            vec![
                "check",
                "--log-density",
                "-x^2/2",
                "--score",
                "-x",
                "--domain",
                "1:0",
            ],
            "error: --domain 1:0: the interval [1, 0] is empty: the lower end must be below the upper end",
        ),
        (
            vec![
                "check",
                "--log-density",
                "-x^2/2",
                "--score",
                "-x",
                "--domain",
                "nan:1",
            ],
            "error: --domain nan:1: an interval end is NaN",
        ),
        (
            vec![
                "check",
                "--log-density",
                "-x^2/2",
                "--score",
                "-x",
                "--domain",
                "0-1",
            ],
            "error: --domain 0-1: expected LO:HI, for example 0:inf, -1:1 or -pi:pi",
        ),
        (
            vec![
                "check",
                "--vars",
                "x",
                "--log-density",
                "-x^2/2",
                "--score",
                "-x",
                "--score",
                "-x",
            ],
            "error: --score: the field has 2 components but there is 1 variable (x)",
        ),
        (
            vec![
                "check",
                "--vars",
                "x,x",
                "--log-density",
                "-x^2/2",
                "--score",
                "-x",
                "--score",
                "-x",
            ],
            "error: --vars: variable `x` is listed twice",
        ),
        (
            vec!["check", "--log-density", "1", "--score", "1"],
            "error: command line: the case has no variables: the expressions use none (give `vars` or use a variable)",
        ),
        (
            vec!["check", "ok.toml", "--out", "nowhere/r.txt"],
            "error: cannot write nowhere/r.txt: the folder nowhere does not exist",
        ),
        (
            vec!["check", "ok.toml", "--log-density", "x"],
            "error: --log-density cannot be combined with a case file; edit the file, or drop it and give the case by flags",
        ),
        (
            vec!["check", "--pdf", "x", "--log-density", "x", "--score", "x"],
            "error: the argument '--pdf <EXPR>' cannot be used with '--log-density <EXPR>'",
        ),
        (
            vec!["check", "ok.toml", "--param", "a"],
            "error: --param: expected NAME=VALUE, got `a`",
        ),
        (
            vec!["check", "ok.toml", "--param", "a=b"],
            "error: --param a=b: the value of `a` must be a constant expression; `b` is not a parameter (no parameters are defined)",
        ),
        (
            vec!["check", "ok.toml", "--param", "a=1"],
            "error: --param: unknown parameter `a`: the case has no parameters (add `params = { a = ... }` to the file)",
        ),
        (
            vec!["check", "ok.toml", "--tol", "0"],
            "error: --tol must be a positive number, got 0",
        ),
        (
            vec!["check", "ok.toml", "--tol", "nan"],
            "error: --tol must be a positive number, got NaN",
        ),
        (
            vec!["check"],
            "error: give a case file, or the density with --log-density EXPR or --pdf EXPR",
        ),
    ];
    for (args, line) in &cases {
        bad(p, args, line);
    }
    assert!(cases.len() >= 25);
    // Nothing half-written: a failed run leaves no file and no temporary file behind.
    bad(
        p,
        &["check", "missing.toml", "--out", "r.txt"],
        "error: missing.toml: cannot read the case file: no such file",
    );
    let left: Vec<_> = std::fs::read_dir(p)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("ok.toml")], "{left:?}");
}

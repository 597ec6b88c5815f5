//! Library errors: per area, with a Display that names case fields and values (never
//! command-line flags), and their causes kept as sources.

use scorecheck::LocateError;
use scorecheck::{CaseField as Field, parse_case, parse_interval, parse_param};
use std::error::Error;

#[test]
fn case_errors_name_fields_not_flags() {
    let e = parse_param("mu").unwrap_err();
    assert_eq!(e.field, Some(Field::Params));
    assert_eq!(e.to_string(), "params: expected NAME=VALUE, got `mu`");
    // The binary names the field by its flag, from the structure, not by rewriting text.
    assert_eq!(e.origin_named(|f| format!("<{}>", f.key())), "<params>");
    let e = parse_interval("1:0").unwrap_err();
    assert_eq!(e.field, Some(Field::Domain));
    assert_eq!(
        e.to_string(),
        "domain 1:0: the interval [1, 0] is empty: the lower end must be below the upper end"
    );
    // A `VAR=X` parsed as a parameter and used as a breakpoint is about `breaks`.
    let e = parse_param("x").unwrap_err().for_field(Field::Breaks);
    assert_eq!(e.to_string(), "breaks: expected NAME=VALUE, got `x`");
    // An override of an unknown parameter names the field and the value.
    let spec = parse_case(
        "params = { mu = 0 }\n[density]\nlog = \"-(x-mu)^2/2\"\n[score]\nfield = [\"-x\"]\n",
        "c.toml",
        "c",
    )
    .unwrap();
    let e = spec.compile(&[("nu".into(), 1.0)], false).unwrap_err();
    assert_eq!(
        e.to_string(),
        "params: unknown parameter `nu`; the case's parameters: mu"
    );
    for e in [
        parse_param("a").unwrap_err(),
        parse_interval("0-1").unwrap_err(),
        e,
    ] {
        assert!(!e.to_string().contains("--"), "{e}");
    }
}

#[test]
fn a_bad_expression_keeps_its_cause_as_the_source() {
    let e = parse_case(
        "[density]\nlog = \"-(x^2\"\n[score]\nfield = [\"-x\"]\n",
        "c.toml",
        "c",
    )
    .and_then(|s| s.compile(&[], false))
    .unwrap_err();
    let source = e.source().expect("the expression error is the source");
    assert!(e.to_string().contains("unclosed `(`"), "{e}");
    assert!(source.to_string().contains("unclosed `(`"), "{source}");
    // A file-based error is about no field: it points at the file and line.
    assert_eq!(e.field, None);
    assert!(e.origin.starts_with("c.toml:2"), "{}", e.origin);
}

#[test]
fn locate_errors_read_as_sentences() {
    // Users saw "NowhereFinite" (the Debug name) when locate failed.
    let e = LocateError::NowhereFinite.to_string();
    assert!(e.starts_with("the density is zero or undefined"), "{e}");
    assert!(!e.contains("NowhereFinite"));
    let e = LocateError::Undefined(vec![0.5]).to_string();
    assert!(e.contains("at x = 0.500000"), "{e}");
    let e = LocateError::NoDecay.to_string();
    assert!(e.contains("does not decay"), "{e}");
}

#[test]
fn output_errors_say_what_is_wrong_before_any_work() {
    let dir = std::env::temp_dir().join(format!("scorecheck-errors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A folder as the target: refused before any work.
    let e = scorecheck::Pending::create(&dir).unwrap_err();
    assert!(e.to_string().ends_with("it is a folder"), "{e}");
    let e = scorecheck::Pending::create(&dir.join("no").join("f.txt")).unwrap_err();
    assert!(e.to_string().ends_with("does not exist"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}

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

/// The options of the estimators, the sweep and score are told by their field names (the
/// binary shows the same options by their flags: tests/it/dsm.rs, estimators.rs, fisher.rs).
#[test]
fn option_errors_name_fields_not_flags() {
    use scorecheck::Opt;
    let spec = parse_case(
        "params = { m = 0 }\n[density]\nlog = \"-x^2/2\"\n[score]\nfield = [\"-(x-m)\"]\n",
        "c.toml",
        "c",
    )
    .unwrap();
    let dsm = |o: scorecheck::DsmOptions| scorecheck::dsm(&spec, &[], None, &o);
    let e = dsm(scorecheck::DsmOptions {
        sigma: 0.0,
        ..Default::default()
    })
    .unwrap_err();
    assert_eq!(e.to_string(), "`sigma` must be a positive number, got 0");
    let scorecheck::DsmError::Option(o) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(o.options().collect::<Vec<_>>(), [Opt::Sigma]);
    assert_eq!(
        o.render(|o| format!("<{}>", o.key())),
        "<sigma> must be a positive number, got 0"
    );
    let e = scorecheck::parse_noise_sweep("m=1").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("`sweep` m=1: a sweep needs at least two values"),
        "{e}"
    );
    // A sweep over a parameter that is also fixed names both options.
    let sw = scorecheck::parse_noise_sweep("m=0,1").unwrap();
    let e =
        scorecheck::dsm(&spec, &[("m".into(), 0.5)], Some(&sw), &Default::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "`sweep` m: the parameter is also set with `params`"
    );

    let case = spec.compile(&[], false).unwrap();
    let sample = |o: scorecheck::SampleOptions| scorecheck::sample(&case.density, &case.domain, &o);
    let e = sample(scorecheck::SampleOptions {
        n: 0,
        ..Default::default()
    })
    .unwrap_err();
    assert_eq!(e.to_string(), "`n` must be at least 1");
    let e = sample(scorecheck::SampleOptions {
        chains: 1000,
        ..Default::default()
    })
    .unwrap_err();
    assert!(e.to_string().starts_with("`chains` must be at most"), "{e}");
    let e = scorecheck::estimate(
        &case,
        &scorecheck::EstimateOptions {
            probes_per_draw: 0,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "`probes_per_draw` must be at least 1");

    let e = scorecheck::parse_param_arg("m").unwrap_err();
    assert!(
        e.to_string().starts_with("`params`: expected NAME=LO:HI:N"),
        "{e}"
    );
    let e = scorecheck::ScoreOptions {
        points: 0,
        ..Default::default()
    }
    .validate()
    .unwrap_err();
    assert_eq!(e.to_string(), "`points` must be at least 1");

    // A bad expression of fisher names its option and keeps the expression error as source.
    let f = scorecheck::FisherSpec {
        theta: "theta".into(),
        data: "x".into(),
        simulator: "-(x - theta)^2/2 - 0.5*ln(2*pi)".into(),
        proposal: "-theta^2/2".into(),
        field: "(x - theta".into(),
        theta_domain: (f64::NEG_INFINITY, f64::INFINITY),
        data_domain: (f64::NEG_INFINITY, f64::INFINITY),
        params: vec![],
    };
    let e = scorecheck::fisher(&f, &Default::default()).unwrap_err();
    assert!(e.to_string().starts_with("`field`: "), "{e}");
    assert!(e.source().is_some());
    let f = scorecheck::FisherSpec {
        data: "theta".into(),
        ..f
    };
    let e = scorecheck::fisher(&f, &Default::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "`theta` and `data` must differ, both are `theta`"
    );
}

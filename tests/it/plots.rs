//! `scorecheck plot` through the real binary: every kind of figure for 1-D and 2-D cases is
//! written as a valid SVG or PNG of the expected size, with the report's numbers on it; bad
//! input exits 2 and writes nothing. `estimate --plot` draws its series the same way.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common;
use common::{exit_code, root, run, stderr, stdout};

/// A fresh folder for one test's files.
fn scratch(test: &str) -> PathBuf {
    common::fresh("plots", test)
}

/// Width and height from a PNG's signature and IHDR chunk; the whole image is also decoded,
/// and must not be blank.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR", "first chunk is IHDR");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let (w, h) = (be(&bytes[16..20]), be(&bytes[20..24]));
    let dec = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = dec.read_info().expect("a decodable PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("buffer size")];
    let info = reader.next_frame(&mut buf).expect("one frame");
    assert_eq!((info.width, info.height), (w, h));
    let pixels = &buf[..info.buffer_size()];
    let dark = pixels
        .chunks(3)
        .filter(|p| p.iter().all(|&c| c < 80))
        .count();
    // Text and axes are dark: a figure has a good many dark pixels, and is not all dark.
    assert!(dark > 2000, "only {dark} dark pixels: text or axes missing");
    assert!(dark < (w * h / 2) as usize, "mostly dark: not a figure");
    (w, h)
}

/// Check that `text` is a well-formed SVG document (every tag closed in order) and return
/// its width, height and the words of its `<text>` elements, joined by single spaces.
fn svg_parts(text: &str) -> (u32, u32, String) {
    let start = text.find("<svg").expect("an <svg> element");
    let mut stack: Vec<String> = vec![];
    let mut texts = String::new();
    let mut rest = &text[start..];
    let mut size = None;
    while let Some(open) = rest.find('<') {
        let close = rest[open..].find('>').expect("tag closed") + open;
        let tag = &rest[open + 1..close];
        if let Some(name) = tag.strip_prefix('/') {
            let top = stack.pop().expect("closing tag has an opening one");
            assert_eq!(top, name.trim(), "tags nest");
        } else if !tag.ends_with('/') && !tag.starts_with('?') && !tag.starts_with('!') {
            let name = tag.split_whitespace().next().unwrap().to_string();
            if name == "svg" && size.is_none() {
                let attr = |a: &str| -> u32 {
                    let k = tag.find(&format!(" {a}=\"")).expect("size attribute") + a.len() + 3;
                    tag[k..]
                        .split('"')
                        .next()
                        .unwrap()
                        .parse()
                        .expect("a number")
                };
                size = Some((attr("width"), attr("height")));
            }
            if name == "text" {
                let end = rest[close..].find("</text>").expect("text closed") + close;
                texts.push_str(&rest[close + 1..end]);
                texts.push(' ');
            }
            stack.push(name);
        }
        rest = &rest[close + 1..];
    }
    assert!(stack.is_empty(), "unclosed tags: {stack:?}");
    let (w, h) = size.expect("width and height");
    // One line of words: notes wrapped over several <text> lines read as one.
    let words: Vec<&str> = texts.split_whitespace().collect();
    (w, h, words.join(" "))
}

/// Run `plot` with `args` into `dir/name`; it must succeed; returns the file's bytes.
#[track_caller]
fn plot(dir: &Path, name: &str, args: &[&str]) -> Vec<u8> {
    let out = dir.join(name);
    let out_s = out.to_str().unwrap();
    let mut all = vec!["plot"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--out", out_s]);
    let o = run(&all);
    exit_code(&o, 0);
    assert_eq!(stdout(&o), "", "plot prints nothing");
    let bytes = std::fs::read(&out).expect("the figure is written");
    // No temporary file is left beside it.
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
    bytes
}

fn check_json(case: &str) -> serde_json::Value {
    let o = run(&["check", case, "--json"]);
    serde_json::from_slice(&o.stdout).expect("check --json")
}

#[test]
fn identity_1d_svg_and_png() {
    let dir = scratch("identity_1d");
    let svg = plot(&dir, "g.svg", &["examples/cases/gauss.toml"]);
    let (w, h, text) = svg_parts(std::str::from_utf8(&svg).unwrap());
    assert_eq!((w, h), (1200, 900));
    assert!(text.contains("gauss: the cross term"), "{text}");
    assert!(text.contains("density p"), "axis label: {text}");
    assert!(text.contains("end at the same value"), "{text}");
    let png = plot(&dir, "g.png", &["examples/cases/gauss.toml"]);
    assert_eq!(png_size(&png), (1200, 900));
}

#[test]
fn identity_1d_shows_the_boundary_gap() {
    // Half-normal on [0, ∞) with s = −(x − 1): boundary = −p(0)s(0) = −√(2/π) = −0.797885
    // (p(0) = √(2/π) for the normalised half-normal, s(0) = 1), rhs = −E[s′] = 1.
    let dir = scratch("identity_gap");
    let svg = plot(&dir, "h.svg", &["examples/cases/half-normal.toml"]);
    let (_, _, text) = svg_parts(std::str::from_utf8(&svg).unwrap());
    let b = -(2.0 / std::f64::consts::PI).sqrt();
    let shown = format!("lhs − rhs = {:.6} = boundary term", b);
    assert!(text.contains(&shown), "expected `{shown}` in:\n{text}");
    // The end values printed are the report's.
    let rep = check_json("examples/cases/half-normal.toml");
    let rhs = rep["cross"]["rhs"]["value"].as_f64().unwrap();
    assert!((rhs - 1.0).abs() < 1e-10);
    assert!(text.contains("rhs = −∫ p s′ dx = 1 ±"), "{text}");
}

#[test]
fn identity_2d_svg_and_png() {
    let dir = scratch("identity_2d");
    let svg = plot(&dir, "c.svg", &["examples/cases/corr2d.toml"]);
    let (w, h, text) = svg_parts(std::str::from_utf8(&svg).unwrap());
    assert_eq!((w, h), (1500, 700));
    assert!(text.contains("s − ∇log p (arrows)"), "{text}");
    // A domain with finite edges says so in the legend; an unbounded one does not.
    assert!(!text.contains("edges of the domain"), "{text}");
    let svg = plot(&dir, "q.svg", &["examples/cases/quadrant.toml"]);
    let (_, _, text) = svg_parts(std::str::from_utf8(&svg).unwrap());
    assert!(text.contains("edges of the domain"), "{text}");
    let png = plot(
        &dir,
        "c.png",
        &["examples/cases/corr2d.toml", "--size", "900x450"],
    );
    assert_eq!(png_size(&png), (900, 450));
}

#[test]
fn boundary_1d_and_2d() {
    let dir = scratch("boundary");
    let svg = plot(
        &dir,
        "h.svg",
        &["examples/cases/half-normal.toml", "--kind", "boundary"],
    );
    let (w, h, text) = svg_parts(std::str::from_utf8(&svg).unwrap());
    assert_eq!((w, h), (1200, 650));
    assert!(text.contains("|flux| (log scale)"), "{text}");
    // A Gaussian tail underflows at R ≈ 38 (e^(−R²/2) < 1e−308 for R > 37.6): said, not drawn.
    assert!(text.contains("underflows"), "{text}");
    let png = plot(
        &dir,
        "q.png",
        &["examples/cases/quadrant.toml", "--kind", "boundary"],
    );
    assert_eq!(png_size(&png), (1200, 650));
    // The Student t tail falls like R^−3 and never underflows on the drawn range.
    let svg = plot(
        &dir,
        "t.svg",
        &["examples/cases/student3.toml", "--kind", "boundary"],
    );
    let (_, _, text) = svg_parts(std::str::from_utf8(&svg).unwrap());
    assert!(!text.contains("underflows"), "{text}");
}

#[test]
fn convergence_1d_and_2d() {
    let dir = scratch("convergence");
    let png = plot(
        &dir,
        "g.png",
        &["examples/cases/gauss.toml", "--kind", "convergence"],
    );
    assert_eq!(png_size(&png), (1200, 650));
    let svg = plot(
        &dir,
        "c.svg",
        &[
            "examples/cases/corr2d.toml",
            "--kind",
            "convergence",
            "--size",
            "1000x600",
        ],
    );
    let (w, h, text) = svg_parts(std::str::from_utf8(&svg).unwrap());
    assert_eq!((w, h), (1000, 600));
    assert!(text.contains("integrand evaluations"), "{text}");
    assert!(text.contains("final = scorecheck check"), "{text}");
}

/// Bad input: exit 2, the message's first line, nothing on stdout, and no file (nor
/// temporary file) left in the folder.
#[track_caller]
fn refused(test: &str, args: &[&str], out: &str, first: &str) {
    let dir = scratch(test);
    let target = dir.join(out);
    let mut all: Vec<&str> = args.to_vec();
    let t = target.to_str().unwrap().to_string();
    all.extend_from_slice(&["--out", &t]);
    let o = run(&all);
    exit_code(&o, 2);
    assert_eq!(stdout(&o), "");
    let err = stderr(&o);
    let line = err.lines().next().unwrap_or("");
    assert!(line.starts_with("error: "), "{err}");
    assert!(line.contains(first), "expected `{first}` in `{line}`");
    if dir.exists() {
        let n = std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(n, 0, "nothing is written on bad input");
    }
}

#[test]
fn bad_input_writes_nothing() {
    let g = "examples/cases/gauss.toml";
    refused(
        "ext",
        &["plot", g],
        "fig.jpg",
        "the file name must end in .svg or .png",
    );
    refused("noext", &["plot", g], "fig", "must end in .svg or .png");
    refused("folder", &["plot", g], "nope/fig.svg", "does not exist");
    let case3 = scratch("3d-case").join("g3.toml");
    std::fs::write(
        &case3,
        "[density]\nlog = \"-(x^2 + y^2 + z^2)/2\"\n[score]\nfield = [\"-x\", \"-y\", \"-z\"]\n",
    )
    .unwrap();
    let case3 = case3.to_str().unwrap();
    refused(
        "3d",
        &["plot", case3],
        "fig.svg",
        "drawn for 1-D and 2-D cases",
    );
    refused(
        "3d-boundary",
        &["plot", case3, "--kind", "boundary"],
        "fig.svg",
        "drawn for 1-D and 2-D cases",
    );
    refused(
        "bounded",
        &[
            "plot",
            "proofs/cases/uniform-interval.toml",
            "--kind",
            "boundary",
        ],
        "fig.svg",
        "domain is bounded",
    );
    refused(
        "size",
        &["plot", g, "--size", "10x10"],
        "fig.svg",
        "--size 10x10",
    );
    refused(
        "param",
        &["plot", g, "--param", "nope=1"],
        "fig.svg",
        "unknown parameter `nope`",
    );
    refused(
        "case",
        &["plot", "examples/cases/missing.toml"],
        "fig.svg",
        "missing.toml",
    );
}

/// The case files added for the gallery exit as their headers say, and their closed forms
/// hold within the reported errors.
#[test]
fn gallery_cases_are_what_they_say() {
    for (file, code) in [
        ("half-line", 1),
        ("curl2d", 0),
        ("student3", 0),
        ("cauchy-cubic", 1),
    ] {
        let path = format!("examples/cases/{file}.toml");
        let header = std::fs::read_to_string(root().join(&path)).unwrap();
        assert!(header.contains(&format!("-> exit {code}")), "{file} header");
        let o = run(&["check", &path]);
        exit_code(&o, code);
    }
    let near = |q: &serde_json::Value, want: f64| {
        let (v, e) = (q["value"].as_f64().unwrap(), q["error"].as_f64().unwrap());
        assert!((v - want).abs() <= e, "{v} ± {e}, want {want}");
    };
    // Student t, ν = 3: Var = ν/(ν − 2) = 3; s = −x: rhs = −E[s′] = 1, ism = E[x²/2 − 1] = ½.
    let r = check_json("examples/cases/student3.toml");
    near(&r["cross"]["rhs"], 1.0);
    near(&r["objective"]["ism"], 0.5);
    // curl2d: s_y = −y³/3 + c x, ∂_y p = −y p, so lhs_y = E[(y³/3 − c x) y] = E[y⁴]/3 = 1.
    let r = check_json("examples/cases/curl2d.toml");
    near(&r["components"][1]["lhs"], 1.0);
    // half-line at μ = 1: boundary = −p(0)s(0) = −√(2/π); esm = μ²/2 = ½.
    let r = check_json("examples/cases/half-line.toml");
    near(
        &r["cross"]["boundary"],
        -(2.0 / std::f64::consts::PI).sqrt(),
    );
    near(&r["objective"]["esm"], 0.5);
}

/// Run `estimate` with `args` and `--plot dir/name`; returns its output and the figure.
#[track_caller]
fn estimate_plot(dir: &Path, name: &str, args: &[&str]) -> (Output, Vec<u8>) {
    let out = dir.join(name);
    let out_s = out.to_str().unwrap();
    let mut all = vec!["estimate"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--plot", out_s]);
    let o = run(&all);
    let bytes = std::fs::read(&out).expect("the figure is written");
    (o, bytes)
}

#[test]
fn estimate_figure_1d() {
    let dir = scratch("estimate");
    let g = "examples/cases/gauss-mismatch.toml";
    let (o, svg) = estimate_plot(&dir, "e.svg", &[g, "--n", "3000", "--seed", "5"]);
    exit_code(&o, 0);
    // The report on stdout is the one without --plot.
    let plain = run(&["estimate", g, "--n", "3000", "--seed", "5"]);
    assert_eq!(stdout(&o), stdout(&plain));
    let (w, h, text) = svg_parts(std::str::from_utf8(&svg).unwrap());
    assert_eq!((w, h), (1200, 700));
    assert!(
        text.contains("gauss-mismatch: estimates of ism ± 2 se against n (inverse CDF, seed 5)"),
        "{text}"
    );
    assert!(text.contains("draws used, n (log scale)"), "{text}");
    assert!(text.contains("quadrature ism = "), "{text}");
    for label in ["exact trace", "sliced-vr (rademacher)", "sliced (gaussian)"] {
        assert!(text.contains(label), "{label} missing: {text}");
    }
    let (o, png) = estimate_plot(
        &dir,
        "e.png",
        &[
            g, "--n", "1000", "--probes", "gaussian", "--size", "900x500",
        ],
    );
    exit_code(&o, 0);
    assert_eq!(png_size(&png), (900, 500));
}

#[test]
fn estimate_bad_plot_path_exits_2_before_any_work() {
    // The case file does not exist either: the figure's name is refused first.
    for (test, out, first) in [
        ("est-ext", "fig.jpg", "must end in .svg or .png"),
        ("est-folder", "nope/fig.svg", "does not exist"),
    ] {
        let dir = scratch(test);
        let target = dir.join(out);
        let o = run(&[
            "estimate",
            "no-such-case.toml",
            "--plot",
            target.to_str().unwrap(),
        ]);
        exit_code(&o, 2);
        assert_eq!(stdout(&o), "");
        let err = stderr(&o);
        assert!(err.lines().next().unwrap_or("").contains(first), "{err}");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "{test}");
    }
    // A good name with a bad size is refused too, and leaves nothing.
    let dir = scratch("est-size");
    let target = dir.join("fig.svg");
    let o = run(&[
        "estimate",
        "examples/cases/gauss-mismatch.toml",
        "--plot",
        target.to_str().unwrap(),
        "--size",
        "10x10",
    ]);
    exit_code(&o, 2);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
}

/// With a weight, the boundary figure draws the weighted identity's flux h·p·s: for Exp(1) on
/// [0, ∞) with s = −1, the plain flux through the fixed face x = 0 is −[p s](0) = p(0) = 1
/// (p = e^{−x}), while with h = x it is −h(0)·p(0)·s(0) = 0. The moving face at R carries
/// ±e^{−R}(·R) in both, which vanishes as R grows.
#[test]
fn weighted_boundary_figure_draws_h_p_s() {
    use scorecheck::parse_case;
    let flux_at_zero = |weight: &str| {
        let text = format!(
            "domain = [[0, inf]]\n{weight}\n[density]\nlog = \"-x\"\n[score]\nfield = [\"-1\"]\n"
        );
        let case = parse_case(&text, "w.toml", "w")
            .unwrap()
            .compile(&[], false)
            .unwrap();
        let report = scorecheck::check_case(&case, &Default::default()).unwrap();
        let f = scorecheck::plot::boundary_flux(&case, &report.deciding()).unwrap();
        assert_eq!(f.weighted, !weight.is_empty());
        f.fixed[0]
    };
    let plain = flux_at_zero("");
    let weighted = flux_at_zero("weight = \"x\"");
    assert!((plain - 1.0).abs() < 1e-12, "plain flux at 0: {plain}");
    assert!(weighted.abs() < 1e-12, "weighted flux at 0: {weighted}");
}

/// The banana p ∝ exp(−x²/2 − (y − x²)²/(2·0.25)) with its true score
/// ∇log p = (−x + 8x(y − x²), −4(y − x²)) (differentiating (y − x²)²/0.5), compiled.
fn banana() -> scorecheck::Case {
    let text = "[density]\nlog = \"-x^2/2 - (y - x^2)^2/(2*0.25)\"\n[score]\nfield = [\"-x + 8*x*(y - x^2)\", \"-4*(y - x^2)\"]\n";
    scorecheck::parse_case(text, "banana.toml", "banana")
        .unwrap()
        .compile(&[], false)
        .unwrap()
}

/// Issue 15, item 7: the 2-D identity figure of a banana was cropped at y = 2 with its 1%
/// contour open. On the ridge y = x², p/p_max = exp(−x²/2), which is 1% at x² = 2 ln 100, so
/// the 1% contour reaches y ≥ 2 ln 100 ≈ 9.21 (at x = ±3.03); the frame must hold it, and
/// every contour must be closed (no finite edge to end on).
#[test]
fn banana_identity_frame_holds_its_contours() {
    let case = banana();
    let report = scorecheck::check_case(&case, &Default::default()).unwrap();
    let f = scorecheck::plot::field_2d(&case, &report).unwrap();
    let top = 2.0 * 100f64.ln();
    assert!(
        f.y.1 > top,
        "frame y = {:?}, the 1% contour reaches {top}",
        f.y
    );
    assert!(
        f.x.0 < -(top.sqrt()) && f.x.1 > top.sqrt(),
        "frame x = {:?}",
        f.x
    );
    for (level, lines) in &f.contours {
        assert!(!lines.is_empty(), "contour {level} is drawn");
        for l in lines {
            let (a, b) = (l[0], l[l.len() - 1]);
            assert_eq!(a, b, "contour {level} is closed ({} points)", l.len());
        }
    }
}

/// Issue 15, item 7: with the true score, s − ∇log p is 0 at every arrow, and the legend
/// said one grid cell of the right panel is "1.0000e-300". It says that every arrow is 0.
#[test]
fn banana_identity_legend_reports_no_fake_scale() {
    let dir = scratch("banana_legend");
    let case = dir.join("banana.toml");
    std::fs::write(
        &case,
        "[density]\nlog = \"-x^2/2 - (y - x^2)^2/(2*0.25)\"\n[score]\nfield = [\"-x + 8*x*(y - x^2)\", \"-4*(y - x^2)\"]\n",
    )
    .unwrap();
    let svg = plot(
        &dir,
        "b.svg",
        &[case.to_str().unwrap(), "--kind", "identity"],
    );
    let (_, _, text) = svg_parts(std::str::from_utf8(&svg).unwrap());
    assert!(!text.contains("e-300"), "{text}");
    assert!(text.contains("every arrow is 0"), "{text}");
}

/// Issue 15, item 7: the 2-D convergence figure ended in a run with the final run's budget,
/// which is the final run itself, so its |estimate − final| is 0 by construction and the
/// curve dropped to "exact". No drawn run may use as many evaluations as the final one.
#[test]
fn convergence_2d_does_not_draw_the_final_run_against_itself() {
    let case = banana();
    let opts = scorecheck::CheckOptions::default();
    let report = scorecheck::check_case(&case, &opts).unwrap().deciding();
    let c = scorecheck::plot::convergence(&case, &report, &opts).unwrap();
    assert!(c.capped);
    assert!(!c.lhs.is_empty() && !c.rhs.is_empty(), "{c:?}");
    for &(evals, _) in &c.lhs {
        assert!(evals < report.cross.lhs.evals as f64, "lhs run at {evals}");
    }
    for &(evals, _) in &c.rhs {
        assert!(evals < report.cross.rhs.evals as f64, "rhs run at {evals}");
    }
}

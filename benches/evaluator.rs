//! The compiled expression evaluator against the same functions written by hand in Rust,
//! over `f64`, `Dual64` (first derivatives) and `Dual2_64` (second derivatives), and the
//! whole per-point work of a check (`model::eval_point` and, as a check runs it, the batch
//! `model::eval_points`: log p, ∇log p, s and ∂_i s_i).
//!
//! Run: `cargo bench --bench evaluator`. Each benchmark evaluates 256 points; the
//! "overhead" is the ratio of the `expr` time to the `hand` time of the same function.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use num_dual::{Dual2_64, Dual64, DualNum};
use scorecheck::Program;
use scorecheck::{
    Density, DensityKind, ExprDensity, ExprField, ScoreField, eval_point, eval_points,
};
use std::hint::black_box;

const N: usize = 256;

/// Points spread over [−3, 3]^d, deterministic.
fn points(d: usize) -> Vec<Vec<f64>> {
    (0..N)
        .map(|k| {
            (0..d)
                .map(|i| {
                    let t = ((k * (2 * i + 3) + 7 * i) % N) as f64 / N as f64;
                    -3.0 + 6.0 * t
                })
                .collect()
        })
        .collect()
}

type Hand<D> = fn(&[D]) -> D;

/// A function as an expression and as Rust, generic over the number type.
struct Case {
    name: &'static str,
    vars: &'static [&'static str],
    src: &'static str,
    f64_fn: Hand<f64>,
    dual_fn: Hand<Dual64>,
    dual2_fn: Hand<Dual2_64>,
}

fn gauss4<D: DualNum<Primitive = f64> + Copy>(x: &[D]) -> D {
    -(x[0] * x[0] + x[1] * x[1] + x[2] * x[2] + x[3] * x[3]) * 0.5
}
fn mixture<D: DualNum<Primitive = f64> + Copy>(x: &[D]) -> D {
    let a = x[0] - 4.0;
    let b = x[0] + 4.0;
    (-(a * a) * 0.5).exp() + (-(b * b) * 0.5).exp()
}
fn corr2<D: DualNum<Primitive = f64> + Copy>(x: &[D]) -> D {
    let r = 0.6;
    -(x[0] * x[0] - x[0] * x[1] * (2.0 * r) + x[1] * x[1]) / (2.0 * (1.0 - r * r))
}
fn banana<D: DualNum<Primitive = f64> + Copy>(x: &[D]) -> D {
    let t = x[1] - x[0] * x[0] * 0.25;
    -(x[0] * x[0]) * 0.125 - t * t * 0.5
}
fn field3<D: DualNum<Primitive = f64> + Copy>(x: &[D]) -> D {
    -x[2] + x[0] * x[1] + x[1].sin() - x[0] * x[0] * x[0]
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "gauss-4d",
            vars: &["a", "b", "c", "d"],
            src: "-(a^2 + b^2 + c^2 + d^2)/2",
            f64_fn: gauss4::<f64>,
            dual_fn: gauss4::<Dual64>,
            dual2_fn: gauss4::<Dual2_64>,
        },
        Case {
            name: "mixture-1d",
            vars: &["x"],
            src: "exp(-(x-4)^2/2) + exp(-(x+4)^2/2)",
            f64_fn: mixture::<f64>,
            dual_fn: mixture::<Dual64>,
            dual2_fn: mixture::<Dual2_64>,
        },
        Case {
            name: "corr-2d",
            vars: &["x", "y"],
            src: "-(x^2 - 2*r*x*y + y^2)/(2*(1-r^2))",
            f64_fn: corr2::<f64>,
            dual_fn: corr2::<Dual64>,
            dual2_fn: corr2::<Dual2_64>,
        },
        Case {
            name: "banana-2d",
            vars: &["x", "y"],
            src: "-x^2/8 - (y - x^2/4)^2/2",
            f64_fn: banana::<f64>,
            dual_fn: banana::<Dual64>,
            dual2_fn: banana::<Dual2_64>,
        },
        Case {
            name: "field-3d",
            vars: &["x", "y", "z"],
            src: "-z + x*y + sin(y) - x^3",
            f64_fn: field3::<f64>,
            dual_fn: field3::<Dual64>,
            dual2_fn: field3::<Dual2_64>,
        },
    ]
}

fn compile(c: &Case) -> Program {
    let vars: Vec<String> = c.vars.iter().map(|s| s.to_string()).collect();
    Program::compile(c.src, &vars, &[("r".to_string(), 0.6)]).expect("bench expression")
}

fn bench_values(cr: &mut Criterion) {
    for c in cases() {
        let p = compile(&c);
        let pts = points(c.vars.len());
        // The two sides compute the same numbers: a benchmark of different work is no use.
        for x in &pts {
            let (a, b) = (p.eval(x), (c.f64_fn)(x));
            assert!(
                (a - b).abs() <= 1e-12 * a.abs().max(1.0),
                "{}: {a} vs {b}",
                c.name
            );
        }
        let mut g = cr.benchmark_group(format!("eval/{}", c.name));
        g.bench_function(BenchmarkId::new("f64", "expr"), |b| {
            b.iter(|| pts.iter().map(|x| p.eval(black_box(x))).sum::<f64>())
        });
        let soa: Vec<f64> = (0..c.vars.len())
            .flat_map(|v| pts.iter().map(move |x| x[v]))
            .collect();
        let mut out = vec![0.0; N];
        g.bench_function(BenchmarkId::new("f64", "batch"), |b| {
            b.iter(|| {
                p.eval_batch(black_box(&soa), N, &mut out);
                out.iter().sum::<f64>()
            })
        });
        g.bench_function(BenchmarkId::new("f64", "hand"), |b| {
            b.iter(|| pts.iter().map(|x| (c.f64_fn)(black_box(x))).sum::<f64>())
        });
        let duals: Vec<Vec<Dual64>> = pts
            .iter()
            .map(|x| {
                x.iter()
                    .enumerate()
                    .map(|(i, v)| Dual64::new(*v, if i == 0 { 1.0 } else { 0.0 }))
                    .collect()
            })
            .collect();
        g.bench_function(BenchmarkId::new("dual64", "expr"), |b| {
            b.iter(|| duals.iter().map(|x| p.eval(black_box(x)).eps).sum::<f64>())
        });
        let dsoa: Vec<Dual64> = (0..c.vars.len())
            .flat_map(|v| duals.iter().map(move |x| x[v]))
            .collect();
        let mut dout = vec![Dual64::from(0.0); N];
        g.bench_function(BenchmarkId::new("dual64", "batch"), |b| {
            b.iter(|| {
                p.eval_batch(black_box(&dsoa), N, &mut dout);
                dout.iter().map(|v| v.eps).sum::<f64>()
            })
        });
        g.bench_function(BenchmarkId::new("dual64", "hand"), |b| {
            b.iter(|| {
                duals
                    .iter()
                    .map(|x| (c.dual_fn)(black_box(x)).eps)
                    .sum::<f64>()
            })
        });
        let duals2: Vec<Vec<Dual2_64>> = pts
            .iter()
            .map(|x| {
                x.iter()
                    .enumerate()
                    .map(|(i, v)| {
                        if i == 0 {
                            Dual2_64::from(*v).derivative()
                        } else {
                            Dual2_64::from(*v)
                        }
                    })
                    .collect()
            })
            .collect();
        g.bench_function(BenchmarkId::new("dual2", "expr"), |b| {
            b.iter(|| duals2.iter().map(|x| p.eval(black_box(x)).v2).sum::<f64>())
        });
        g.bench_function(BenchmarkId::new("dual2", "hand"), |b| {
            b.iter(|| {
                duals2
                    .iter()
                    .map(|x| (c.dual2_fn)(black_box(x)).v2)
                    .sum::<f64>()
            })
        });
        g.finish();
    }
}

/// The 3-D benchmark case of `benches/cases/3d-nonlinear.toml`, written by hand.
struct HandP3;
impl Density for HandP3 {
    fn dim(&self) -> usize {
        3
    }
    fn log_density<D: DualNum<Primitive = f64> + Copy>(&self, x: &[D]) -> D {
        -(x[0] * x[0] + x[1] * x[1] + x[2] * x[2]) * 0.5
    }
}
struct HandS3;
impl ScoreField for HandS3 {
    fn dim(&self) -> usize {
        3
    }
    fn component<D: DualNum<Primitive = f64> + Copy>(&self, i: usize, x: &[D]) -> D {
        match i {
            0 => -(x[0] * x[0] * x[0]),
            1 => x[1].sin(),
            _ => -x[2] + x[0] * x[1],
        }
    }
}

fn bench_point(cr: &mut Criterion) {
    let vars: Vec<String> = ["x", "y", "z"].iter().map(|s| s.to_string()).collect();
    let p = ExprDensity {
        program: Program::compile("-(x^2 + y^2 + z^2)/2", &vars, &[]).unwrap(),
        kind: DensityKind::Log,
        dim: 3,
    };
    let s = ExprField::Components(
        ["-x^3", "sin(y)", "-z + x*y"]
            .iter()
            .map(|e| Program::compile(e, &vars, &[]).unwrap())
            .collect(),
    );
    let pts = points(3);
    for x in &pts {
        let (a, b) = (eval_point(&p, &s, x), eval_point(&HandP3, &HandS3, x));
        assert!((a.logp - b.logp).abs() < 1e-12 && (a.ds[0] - b.ds[0]).abs() < 1e-12);
    }
    let mut g = cr.benchmark_group("point/3d-nonlinear");
    g.bench_function("expr", |b| {
        b.iter(|| {
            pts.iter()
                .map(|x| eval_point(&p, &s, black_box(x)).ds[2])
                .sum::<f64>()
        })
    });
    g.bench_function("hand", |b| {
        b.iter(|| {
            pts.iter()
                .map(|x| eval_point(&HandP3, &HandS3, black_box(x)).ds[2])
                .sum::<f64>()
        })
    });
    // The batch path a check takes: all points at once, coordinate-major.
    let soa: Vec<f64> = (0..3).flat_map(|v| pts.iter().map(move |x| x[v])).collect();
    let mut out = vec![scorecheck::Point::default(); N];
    g.bench_function("expr-batch", |b| {
        b.iter(|| {
            eval_points(&p, &s, black_box(&soa), N, &mut out);
            out.iter().map(|q| q.ds[2]).sum::<f64>()
        })
    });
    g.bench_function("hand-batch", |b| {
        b.iter(|| {
            eval_points(&HandP3, &HandS3, black_box(&soa), N, &mut out);
            out.iter().map(|q| q.ds[2]).sum::<f64>()
        })
    });
    g.finish();
}

criterion_group!(benches, bench_values, bench_point);
criterion_main!(benches);

//! Every number a check reports is the same whatever the number of threads: the cubature
//! splits a fixed number of regions per round and each point's values do not depend on how
//! points are batched, so one thread and four give the same report, bit for bit.

use scorecheck::CheckOptions;
use scorecheck::parse_case;

fn report_with_threads(toml: &str, threads: usize) -> String {
    let case = parse_case(toml, "t.toml", "t")
        .unwrap()
        .compile(&[], false)
        .unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        scorecheck::check_case(&case, &CheckOptions::default())
            .unwrap()
            .to_json()
    })
}

#[test]
fn reports_do_not_depend_on_the_thread_count() {
    let cases = [
        // 1-D: a mixture (many points, batched on every core).
        "[density]\npdf = \"exp(-(x-4)^2/2) + exp(-(x+4)^2/2)\"\n[score]\nfield = [\"-x/5\"]\n",
        // 2-D on a quadrant, with a boundary term.
        "domain = [[0, inf], [0, inf]]\n[density]\nlog = \"-x - y\"\n[score]\nfield = [\"1 - x\", \"2 - y\"]\n",
        // 3-D with a nonlinear field.
        "vars = [\"x\", \"y\", \"z\"]\n[density]\nlog = \"-(x^2 + y^2 + z^2)/2\"\n[score]\nfield = [\"-x^3\", \"sin(y)\", \"-z + x*y\"]\n",
    ];
    for toml in cases {
        let one = report_with_threads(toml, 1);
        for threads in [2, 4] {
            assert_eq!(
                one,
                report_with_threads(toml, threads),
                "{threads} threads differ from 1 on:\n{toml}"
            );
        }
    }
}

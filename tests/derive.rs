//! Every case of SEED-RESULTS.md: the printed matrix form is the document's
//! result (asserted from the fixture's `# expect` lines), the whole output is
//! snapshotted, and both forms agree with finite differences.

use ricci::derive::{derive, Request};

mod fixture;
use fixture::read;

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path("../snapshots");
    s.set_prepend_module_to_snapshot(false);
    s
}

#[test]
fn seed_results() {
    settings().bind(|| {
        insta::glob!("cases/derive/*.ricci", |path| {
            let f = read(path);
            let program = ricci::load(&f.source, &ricci::Options::default()).unwrap();
            let request = Request {
                wrt: f.wrt(),
                layout: f.layout,
                ..Request::default()
            };
            let d = derive(&program, &request).unwrap();
            let style = ricci::render::Style::default();
            // The document's result, exactly.
            for (r, (wrt, form)) in d.results.iter().zip(&f.expect) {
                let line = ricci::render::text::matrix_line(&d.of, r, style);
                let printed = line.split_once(" = ").map(|(_, m)| m).unwrap_or(&line);
                assert_eq!(printed, form, "{}: --wrt {wrt}", path.display());
            }
            // No seed case may need a limit: every e-graph run saturates.
            for r in &d.results {
                if let Some(e) = &r.egraph {
                    assert!(
                        !e.limited,
                        "{}: --wrt {} stopped at its {}",
                        path.display(),
                        r.wrt,
                        e.stop
                    );
                }
            }
            // Numerically: index form and matrix form against finite differences.
            let lowered = ricci::derive::lower(&program);
            for seed in 1..=3 {
                let mut checker = ricci::check::Checker::new(&program, &lowered, &d.of, seed);
                for rep in checker.check(&d) {
                    assert!(
                        rep.index_error < 1e-6,
                        "{}: {} index form off by {}",
                        path.display(),
                        rep.wrt,
                        rep.index_error
                    );
                    let m = rep.matrix_error.expect("every seed case has a matrix form");
                    assert!(m < 1e-6, "{}: {} matrix form off by {m}", path.display(), rep.wrt);
                }
            }
            // The derivation, in text and LaTeX, as its own snapshot.
            let derivations = ricci::steps::derive_steps(&program, &lowered, &d, &request, style);
            let steps_text = ricci::render::text::render(&d, style, Some(&derivations));
            let steps_latex = ricci::render::latex::render(&d, Some(&derivations));
            insta::assert_snapshot!(
                "steps",
                format!("## --steps\n{steps_text}\n## --format latex --steps\n{steps_latex}")
            );
            let text = ricci::render::text::render(&d, style, None);
            let ascii = ricci::render::text::render(&d, ricci::render::Style::Ascii, None);
            let program_text: String = f
                .source
                .lines()
                .filter(|l| !l.starts_with('#'))
                .map(|l| format!("{l}\n"))
                .collect();
            insta::assert_snapshot!(
                "derive",
                format!("## program\n{program_text}\n## result\n{text}\n## --ascii\n{ascii}")
            );
        });
    });
}

/// The numeric check is not a formality: a transposed or mis-scaled form fails it.
#[test]
fn the_check_rejects_wrong_forms() {
    use ricci::matrix::Mat;
    let program = ricci::load("Y_sn = Σ_m X_sm W_nm + b_n", &ricci::Options::default()).unwrap();
    let request = Request {
        wrt: vec!["W".into()],
        ..Request::default()
    };
    let mut d = derive(&program, &request).unwrap();
    let lowered = ricci::derive::lower(&program);
    let right = d.results[0].gradient_matrix.clone().unwrap();
    // (∂L/∂Y)ᵀ X scaled by 2, and with the factors swapped and transposed: Xᵀ ∂L/∂Y has the wrong shape.
    let twice = Mat::Scale(ricci::term::Term::int(2), Box::new(right.clone()));
    for wrong in [twice, ricci::matrix::transposed(&right)] {
        d.results[0].gradient_matrix = Some(wrong);
        let mut checker = ricci::check::Checker::new(&program, &lowered, "L", 3);
        let report = &checker.check(&d)[0];
        assert!(report.matrix_error.unwrap() > 1e-3, "a wrong form passed: {report:?}");
    }
    // And a wrong index form: drop the sum.
    d.results[0].term = ricci::term::Term::zero();
    let mut checker = ricci::check::Checker::new(&program, &lowered, "L", 3);
    assert!(checker.check(&d)[0].index_error > 1e-3);
}

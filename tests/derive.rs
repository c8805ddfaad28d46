//! Every case of SEED-RESULTS.md: the printed matrix form is the document's
//! result (asserted from the fixture's `# expect` lines), the whole output is
//! snapshotted, and both forms agree with finite differences.

use ricci::{Request, Style};

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
            let request = Request {
                wrt: f.wrt(),
                layout: f.layout,
                ..Request::default()
            };
            let d = ricci::derive(&f.source, &request).unwrap();
            let style = Style::default();
            // The document's result, exactly.
            for (r, (wrt, form)) in d.results.iter().zip(&f.expect) {
                let line = d.matrix_line(r, style);
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
            for seed in 1..=3 {
                for rep in d.check(seed, &[]) {
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
            let steps_text = d.text(style, true);
            let steps_latex = d.latex(false, true);
            insta::assert_snapshot!(
                "steps",
                format!("## --steps\n{steps_text}\n## --format latex --steps\n{steps_latex}")
            );
            let text = d.text(style, false);
            let ascii = d.text(Style::Ascii, false);
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

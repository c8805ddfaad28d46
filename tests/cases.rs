//! Snapshot tests over the fixture programs in `tests/cases/`.
//!
//! `ok/*.ricci` must pass the checker; the snapshot is the canonical form.
//! `err/*.ricci` must fail; the snapshot is the rendered diagnostic.
//! A first line `# args: --einstein` sets options for the case.

use std::path::Path;

fn options_for(source: &str) -> ricci::Options {
    let mut options = ricci::Options::default();
    if let Some(args) = source.lines().next().and_then(|l| l.strip_prefix("# args:")) {
        for arg in args.split_whitespace() {
            match arg {
                "--einstein" => options.check.einstein = true,
                other => panic!("unknown fixture argument {other}"),
            }
        }
    }
    options
}

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path("../snapshots");
    s.set_prepend_module_to_snapshot(false);
    s
}

fn name(path: &Path) -> String {
    format!("cases/{}", path.file_name().unwrap().to_string_lossy())
}

#[test]
fn ok_cases_print_canonically() {
    settings().bind(|| {
        insta::glob!("cases/ok/*.ricci", |path| {
            let source = std::fs::read_to_string(path).unwrap();
            let options = options_for(&source);
            let program =
                ricci::load(&source, &options).unwrap_or_else(|e| panic!("{}", e.render(&name(path), &source)));
            let canonical = program.syntax.to_string();
            // The canonical form is itself a valid program that prints the same.
            let again = ricci::load(&canonical, &options)
                .unwrap_or_else(|e| panic!("canonical form does not parse:\n{}", e.render("canonical", &canonical)));
            assert_eq!(
                again.syntax.to_string(),
                canonical,
                "canonical form is not a fixed point"
            );
            insta::assert_snapshot!("check_ok", canonical);
        });
    });
}

#[test]
fn err_cases_report_position_and_expectation() {
    settings().bind(|| {
        insta::glob!("cases/err/*.ricci", |path| {
            let source = std::fs::read_to_string(path).unwrap();
            let errors = match ricci::load(&source, &options_for(&source)) {
                Ok(_) => panic!("{} should fail", path.display()),
                Err(e) => e,
            };
            let rendered = errors.render(&name(path), &source);
            for d in &errors.0 {
                let (line, col) = ricci::diagnostic::line_col(&source, d.span.start);
                let at = format!("{}:{line}:{col}", name(path));
                assert!(rendered.contains(&at), "no position {at} in\n{rendered}");
            }
            assert!(rendered.contains('^'), "no caret in\n{rendered}");
            insta::assert_snapshot!("check_err", rendered);
        });
    });
}

#[test]
fn there_are_enough_error_fixtures() {
    let n = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/err"))
        .unwrap()
        .count();
    assert!(n >= 30, "only {n} error fixtures");
}

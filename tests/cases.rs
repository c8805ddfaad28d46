//! Snapshot tests over the fixture programs in `tests/cases/`.
//!
//! `ok/*.ricci` must pass the checker; the snapshot is the canonical form.
//! `err/*.ricci` must fail; the snapshot is the rendered diagnostic.
//! A first line `# args: --einstein` sets options for the case.

use std::path::Path;

fn options_for(source: &str) -> ricci::Request {
    let mut options = ricci::Request::default();
    if let Some(args) = source.lines().next().and_then(|l| l.strip_prefix("# args:")) {
        for arg in args.split_whitespace() {
            match arg {
                "--einstein" => options.einstein = true,
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
            let program = ricci::Program::parse(&source, &options)
                .unwrap_or_else(|e| panic!("{}", e.render(&name(path), &source)));
            let canonical = program.to_string();
            // The canonical form is itself a valid program that prints the same.
            let again = ricci::Program::parse(&canonical, &options)
                .unwrap_or_else(|e| panic!("canonical form does not parse:\n{}", e.render("canonical", &canonical)));
            assert_eq!(again.to_string(), canonical, "canonical form is not a fixed point");
            insta::assert_snapshot!("check_ok", canonical);
        });
    });
}

#[test]
fn err_cases_report_position_and_expectation() {
    settings().bind(|| {
        insta::glob!("cases/err/*.ricci", |path| {
            let source = std::fs::read_to_string(path).unwrap();
            let errors = match ricci::Program::parse(&source, &options_for(&source)) {
                Ok(_) => panic!("{} should fail", path.display()),
                Err(e) => e,
            };
            let rendered = errors.render(&name(path), &source);
            for d in errors.diagnostics() {
                let (line, col) = ricci::line_col(&source, d.span.expect("a program's error has a place").start);
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

fn errors_of(source: &str) -> ricci::Diagnostics {
    match ricci::Program::parse(source, &ricci::Request::default()) {
        Ok(_) => panic!("{source:?} should fail"),
        Err(e) => ricci::Diagnostics(e.diagnostics().to_vec()),
    }
}

/// `1e-4` is the exact decimal 1/10000: the gradient of `Σ_m w_m^2 1e-4` is `1/5000 w`,
/// not something in a scalar `e`.
#[test]
fn scientific_notation_differentiates_exactly() {
    use ricci::{Request, Style};
    let program = ricci::Program::parse("L = Σ_m w_m^2 1e-4", &Request::default()).unwrap();
    assert!(!program.tensors().any(|t| t == "e"), "`e` was read as a name");
    let request = Request {
        wrt: vec!["w".into()],
        ..Request::default()
    };
    let d = program.derive(&request).unwrap();
    assert_eq!(d.index_line(&d.results[0], Style::Unicode), "∂L/∂w_j = 1/5000 w_j");
    assert_eq!(d.matrix_line(&d.results[0], Style::Unicode), "∂L/∂w = 1/5000 · w");
}

/// Every spelling of scientific notation is the exact decimal, and `e` without
/// digits after it stays a name.
#[test]
fn scientific_notation_values() {
    use num_rational::BigRational;
    let value = |text: &str| {
        let syntax = ricci::internals::syntax(&format!("L = {text}"), false).unwrap();
        match &syntax.statements[0].kind {
            ricci::internals::ast::StatementKind::Definition { rhs, .. } => match &rhs.kind {
                ricci::internals::ast::ExprKind::Number(n) => n.clone(),
                other => panic!("{text} is not one number: {other:?}"),
            },
            _ => unreachable!(),
        }
    };
    let q = |n: i64, d: i64| BigRational::new(n.into(), d.into());
    assert_eq!(value("1e-4"), q(1, 10_000));
    assert_eq!(value("2.5E3"), q(2500, 1));
    assert_eq!(value("1E+2"), q(100, 1));
    assert_eq!(value("3e0"), q(3, 1));
    assert_eq!(value("1e−3"), q(1, 1000));
    assert_eq!(value("0.25e-1"), q(1, 40));
    assert_eq!(value("0e999999999999999999999"), q(0, 1));
    let program = ricci::Program::parse("L = 2e - 4", &ricci::Request::default()).unwrap();
    assert!(program.tensors().any(|t| t == "e"), "`2e - 4` is 2 e − 4");
}

/// A huge exponent is refused at once, before anything its size is built, and the
/// bound follows --max-number-digits.
#[test]
fn huge_exponents_are_refused_quickly() {
    let start = std::time::Instant::now();
    for text in [
        "1e999999999",
        "1e-999999999",
        "1e99999999999999999999999999999",
        "9.9e100",
    ] {
        let e = errors_of(&format!("L = {text} x"));
        assert_eq!(e.0.len(), 1, "{text}: {e}");
        assert!(e.0[0].message.contains(text), "{}", e.0[0].message);
    }
    assert!(start.elapsed() < std::time::Duration::from_secs(2));
    let mut options = ricci::Request::default();
    options.limits.max_number_digits = 10;
    assert!(ricci::Program::parse("L = 1e9 x", &options).is_ok());
    assert!(ricci::Program::parse("L = 1e10 x", &options).is_err());
    assert!(ricci::Program::parse("L = 1e-10 x", &options).is_ok());
    assert!(ricci::Program::parse("L = 1e-11 x", &options).is_err());
}

/// After a syntax error, the statements that parse are still checked; an error
/// that points at a name defined by the broken statement is not reported (the
/// checker cannot see that name's order), but the same program without the broken
/// line reports it.
#[test]
fn statements_after_a_syntax_error_are_checked() {
    let with_broken = "Z_i = (Y_ij\nM = Σ_ij Z_ij\nK = Σ_i Z_i\nL = x_k\n";
    let e = errors_of(with_broken);
    let messages: Vec<&str> = e.0.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(messages[0].starts_with("unexpected end of line"), "{messages:?}");
    assert!(messages[1].contains("index `k`"), "{messages:?}");
    let without = "M = Σ_ij Z_ij\nK = Σ_i Z_i\nL = x_k\n";
    let e = errors_of(without);
    assert!(
        e.0.iter().any(|d| d
            .message
            .contains("`Z` is used with 1 index but earlier with 2 indices")),
        "{e}"
    );
}

/// A build error (here a transpose mark) in a program that parses also leaves the
/// other statements checked.
#[test]
fn statements_beside_a_refused_one_are_checked() {
    let e = errors_of("Y_ij = Xᵀ_ij\nL = x_k\n");
    assert_eq!(e.0.len(), 2, "{e}");
    assert!(e.0[0].message.contains("transpose"), "{e}");
    assert!(e.0[1].message.contains("index `k`"), "{e}");
}

/// A name that differs from a guessed one is an opaque function, and is listed as one.
#[test]
fn other_unknown_functions_stay_opaque() {
    let program = ricci::Program::parse("L = h(x) + trh(x) + maximum(x) + h'(x)", &ricci::Request::default()).unwrap();
    let opaque: Vec<&str> = program.opaque_functions().collect();
    assert_eq!(opaque, ["h", "maximum", "trh"]);
    // Every name in the table is refused, in any case, with a hint.
    for (name, ..) in ricci::internals::GUESSED_FUNCTIONS {
        for spelled in [name.to_string(), name.to_uppercase()] {
            let e = errors_of(&format!("L = {spelled}(x)"));
            assert!(e.0[0].help.is_some() && e.0[0].message.contains(&spelled), "{e}");
        }
    }
}

/// Counts in messages agree with their nouns.
#[test]
fn messages_use_the_right_plural() {
    let e = errors_of("Y_i = X_i\nZ = X_ij");
    assert!(
        e.0[0].message.contains("used with 2 indices but earlier with 1 index"),
        "{e}"
    );
}

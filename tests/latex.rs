//! Every seed case's standalone LaTeX (with its derivation) compiles with
//! pdflatex without a warning, with the program stated first and one ∴ line
//! per result.
//! Outside CI the test is skipped, with a message, when pdflatex is missing; in
//! CI (CI=true) a missing pdflatex is a failure.

use std::process::Command;

use ricci::Request;

mod fixture;

fn pdflatex_available() -> bool {
    Command::new("pdflatex")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether to compile: pdflatex is there, or (outside CI only) say why not.
fn can_compile() -> bool {
    if !pdflatex_available() {
        assert!(
            std::env::var_os("CI").is_none(),
            "pdflatex is missing in CI: .ci/run must install it"
        );
        eprintln!("skipped: pdflatex is not installed (apt-get install texlive-latex-base texlive-latex-recommended)");
        return false;
    }
    true
}

/// Compiles `doc` as `dir/name.tex`: it compiles, and pdflatex has nothing to
/// warn about, an overfull line (one wider than the page) included.
fn compile(dir: &std::path::Path, name: &str, doc: &str) {
    std::fs::write(dir.join(format!("{name}.tex")), doc).unwrap();
    let out = Command::new("pdflatex")
        .args(["-interaction=nonstopmode", "-halt-on-error", &format!("{name}.tex")])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name}.tex does not compile:\n{}",
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.starts_with('!') || l.starts_with("l."))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let log = std::fs::read_to_string(dir.join(format!("{name}.log"))).unwrap();
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("Warning") || l.starts_with("Overfull"))
        .collect();
    assert!(warnings.is_empty(), "{name}.tex: {warnings:?}");
}

#[test]
fn standalone_latex_of_every_seed_case_compiles() {
    if !can_compile() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("ricci-latex-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/derive");
    let mut compiled = 0;
    for entry in std::fs::read_dir(cases).unwrap() {
        let path = entry.unwrap().path();
        let f = fixture::read(&path);
        let request = Request {
            wrt: f.wrt(),
            layout: f.layout,
            ..Request::default()
        };
        let d = ricci::derive(&f.source, &request).unwrap();
        let doc = d.latex(true, true);
        // the program first ("Given"), then one section per --wrt titled in
        // words, each ending in one ∴ line
        assert!(doc.contains("\\section*{Given}"), "{}", path.display());
        assert_eq!(
            doc.matches("\\section*{Gradient of ").count(),
            d.results.len(),
            "one section per --wrt"
        );
        assert_eq!(
            doc.matches("\\therefore").count(),
            d.results.len(),
            "one ∴ line per --wrt"
        );
        assert!(doc.contains("\\author{}"), "no \"No \\author given\" warning");
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        compile(&dir, &name, &doc);
        compiled += 1;
    }
    assert!(compiled >= 13);
    let _ = std::fs::remove_dir_all(&dir);
}

/// BatchNorm then a linear layer: a result far wider than the page. Its index
/// form and its ∴ line break over lines (inside the long parentheses where
/// there is no top-level sum), and the Given block writes `mean_s` as `1/S Σ_s`.
#[test]
fn a_long_result_breaks_over_lines_and_fits_the_page() {
    if !can_compile() {
        return;
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/numpy/batchnorm_linear.ricci");
    let source = std::fs::read_to_string(path).unwrap();
    let request = Request {
        wrt: vec!["X".into()],
        ..Request::default()
    };
    let doc = ricci::derive(&source, &request).unwrap().latex(true, false);
    assert!(doc.contains("\\mu_{c} &= \\frac{1}{S}"), "{doc}");
    assert!(!doc.contains("\\sum_{s} 1"), "{doc}");
    assert!(doc.contains("\\right. \\nonumber"), "the ∴ line is broken:\n{doc}");
    let dir = std::env::temp_dir().join(format!("ricci-latex-long-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    compile(&dir, "batchnorm_linear", &doc);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The document's title names what it derives.
#[test]
fn the_title_names_the_kind_of_derivative() {
    let title = |source: &str, request: Request| {
        let doc = ricci::derive(source, &request).unwrap().latex(true, false);
        let line = doc.lines().find(|l| l.starts_with("\\title{")).unwrap().to_string();
        line
    };
    let wrt = |w: &str| vec![w.to_string()];
    let source = "index i : N\ny_i = tanh(x_i)\nL = Σ_i y_i^2";
    let gradient = Request {
        wrt: wrt("x"),
        ..Request::default()
    };
    assert_eq!(title(source, gradient), "\\title{Gradients of $L$}");
    let jacobian = Request {
        wrt: wrt("x"),
        of: "y".into(),
        ..Request::default()
    };
    assert_eq!(title(source, jacobian), "\\title{Jacobians of $y$}");
    let hessian = Request {
        wrt: wrt("x"),
        hessian: true,
        ..Request::default()
    };
    assert_eq!(title(source, hessian), "\\title{Hessians of $L$}");
}

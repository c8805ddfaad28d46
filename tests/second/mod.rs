//! A Jacobian or second-derivative fixture (`tests/cases/jacobian/`,
//! `tests/cases/hessian/`): its header lines `# of: Y`, `# hessian`,
//! `# hvp: V`, `# expect W: form` (the matrix form) and `# expect-index W:
//! line` (the whole index line), read into a request; and the checks every
//! case passes. Shared by `tests/jacobian.rs` and `tests/hessian.rs`.

use std::path::Path;

use ricci::{Derivation, Request, Style, Verdict, CHECK_TOLERANCE};

/// A fixture, read.
pub struct Case {
    /// The program (header comments included).
    pub source: String,
    /// The request its headers make.
    pub request: Request,
    /// `(wrt, matrix form)`.
    pub matrix: Vec<(String, String)>,
    /// `(wrt, index line)`.
    pub index: Vec<(String, String)>,
}

/// Reads a fixture's headers.
pub fn read(path: &Path) -> Case {
    let source = std::fs::read_to_string(path).expect("fixture is readable");
    let mut request = Request::default();
    let (mut matrix, mut index) = (Vec::new(), Vec::new());
    for line in source.lines() {
        let pair = |rest: &str| {
            let (w, f) = rest.split_once(": ").expect("`# expect W: form`");
            (w.to_string(), f.to_string())
        };
        if let Some(rest) = line.strip_prefix("# of: ") {
            request.of = rest.to_string();
        } else if line == "# hessian" {
            request.hessian = true;
        } else if let Some(rest) = line.strip_prefix("# hvp: ") {
            request.hvp = Some(rest.to_string());
        } else if let Some(rest) = line.strip_prefix("# expect ") {
            matrix.push(pair(rest));
        } else if let Some(rest) = line.strip_prefix("# expect-index ") {
            index.push(pair(rest));
        }
    }
    for (w, _) in matrix.iter().chain(&index) {
        if !request.wrt.contains(w) {
            request.wrt.push(w.clone());
        }
    }
    Case {
        source,
        request,
        matrix,
        index,
    }
}

/// Derives a case and asserts its printed forms and its checks: the matrix
/// form and the index line as the headers give them, and both forms against
/// finite differences on three random draws.
pub fn derive_and_check(path: &Path, kind: ricci::Kind) -> (Case, Derivation) {
    let case = read(path);
    let d = ricci::derive(&case.source, &case.request).unwrap_or_else(|e| panic!("{}", e.render("case", &case.source)));
    let style = Style::Unicode;
    for r in &d.results {
        assert_eq!(r.kind(), kind, "{}", path.display());
    }
    let result = |w: &str| {
        d.results
            .iter()
            .find(|r| r.wrt == w)
            .unwrap_or_else(|| panic!("{}: no result for {w}", path.display()))
    };
    for (w, form) in &case.matrix {
        let line = d.matrix_line(result(w), style);
        let printed = line.split_once(" = ").map(|(_, m)| m).unwrap_or(&line);
        assert_eq!(printed, form, "{}: {w}", path.display());
    }
    for (w, line) in &case.index {
        assert_eq!(&d.index_line(result(w), style), line, "{}: {w}", path.display());
    }
    for seed in 1..=3 {
        for report in d.check(seed, &[]) {
            let j = report.judge(CHECK_TOLERANCE);
            assert_eq!(
                j.verdict,
                Verdict::Agrees,
                "{}: {} (seed {seed}): {:?}",
                path.display(),
                report.wrt,
                j.reason
            );
        }
    }
    (case, d)
}

/// Everything a case prints: text with steps, ASCII, LaTeX, JSON's kind and
/// shape per result, and the NumPy functions.
pub fn snapshot_text(case: &Case, d: &Derivation) -> String {
    let program: String = case
        .source
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    let json = d.json(Style::Unicode, &[]);
    let shapes: Vec<String> = json["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| format!("{}: kind {}, shape {}", r["wrt"], r["kind"], r["shape"]))
        .collect();
    format!(
        "## program\n{program}\n## result\n{}\n## --steps\n{}\n## --ascii\n{}\n## --format latex\n{}\n## JSON\n{}\n\n## --format numpy\n{}",
        d.text(Style::Unicode, false),
        d.text(Style::Unicode, true),
        d.text(Style::Ascii, false),
        d.latex(false, false),
        shapes.join("\n"),
        d.code(ricci::Backend::Numpy)
    )
}

/// Snapshot settings: `snapshots/`, no module prefix.
pub fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path("../snapshots");
    s.set_prepend_module_to_snapshot(false);
    s
}

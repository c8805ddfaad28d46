//! The matrix functions `inv(A)_ij`, `det(A)`, `logdet(A)` (SPEC §1): every
//! fixture of `tests/cases/inverse/` prints the form of its `# expect` lines
//! and agrees with finite differences on three draws; the whole output (text,
//! ASCII, LaTeX, NumPy, PyTorch) is snapshotted; and the simplifications and
//! refusals that belong to them. `tests/python/test_inverse.py` runs the
//! generated NumPy code against finite differences of forward passes written
//! in NumPy (run here when python3 has numpy).

use ricci::{Backend, Request, Style, Verdict};

mod fixture;
use fixture::read;

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path("../snapshots");
    s.set_prepend_module_to_snapshot(false);
    s
}

fn derive(source: &str, wrt: &[&str]) -> ricci::Derivation {
    let request = Request {
        wrt: wrt.iter().map(|w| w.to_string()).collect(),
        ..Request::default()
    };
    ricci::derive(source, &request).unwrap_or_else(|e| panic!("{}", e.render("test", source)))
}

#[test]
fn matrix_function_fixtures() {
    settings().bind(|| {
        insta::glob!("cases/inverse/*.ricci", |path| {
            let f = read(path);
            let request = Request {
                wrt: f.wrt(),
                layout: f.layout,
                ..Request::default()
            };
            let d = ricci::derive(&f.source, &request).unwrap();
            for (r, (wrt, form)) in d.results.iter().zip(&f.expect) {
                let line = d.matrix_line(r, Style::Unicode);
                let printed = line.split_once(" = ").map(|(_, m)| m).unwrap_or(&line);
                assert_eq!(printed, form, "{}: --wrt {wrt}", path.display());
            }
            for seed in 1..=3 {
                for rep in d.check(seed, &[]) {
                    let j = rep.judge(1e-6);
                    assert_eq!(j.verdict, Verdict::Agrees, "{}: {} {:?}", path.display(), rep.wrt, j.reason);
                    assert!(rep.matrix_error.is_some_and(|e| e < 1e-6), "{}: {}", path.display(), rep.wrt);
                }
            }
            let program: String = f.source.lines().filter(|l| !l.starts_with('#')).map(|l| format!("{l}\n")).collect();
            insta::assert_snapshot!(
                "inverse",
                format!(
                    "## program\n{program}\n## result\n{}\n## --ascii\n{}\n## --format latex\n{}\n## --format numpy\n{}\n## --format torch\n{}",
                    d.text(Style::Unicode, false),
                    d.text(Style::Ascii, false),
                    d.latex(false, false),
                    d.functions(Backend::Numpy).join("\n"),
                    d.functions(Backend::Torch).join("\n"),
                )
            );
        });
    });
}

/// Σ_j A_ij (A⁻¹)_jk = δ_ik: the gradient of tr(A⁻¹ A) = n is exactly 0, and
/// the step that cancels it says so.
#[test]
fn a_matrix_times_its_inverse_cancels() {
    for source in ["L = Σ_ij inv(A)_ij A_ji", "L = Σ_ij A_ij inv(A)_ji"] {
        let d = derive(source, &["A"]);
        assert_eq!(d.index_line(&d.results[0], Style::Unicode), "∂L/∂A_ij = 0", "{source}");
        assert_eq!(d.matrix_line(&d.results[0], Style::Unicode), "∂L/∂A = 0", "{source}");
        assert!(
            d.text(Style::Unicode, true)
                .contains("a matrix times its inverse is the identity"),
            "{source}"
        );
    }
    // through a definition: B = A A⁻¹ is the identity, whatever A is
    let d = derive("B_ik = Σ_j A_ij inv(A)_jk\nL = Σ_ik B_ik x_i y_k", &["A"]);
    assert_eq!(d.matrix_line(&d.results[0], Style::Unicode), "∂L/∂A = 0");
    // A_ji (A⁻¹)_jk is (Aᵀ A⁻¹)_ik: no identity, and the check agrees
    let d = derive("L = Σ_ijk A_ji inv(A)_jk x_i y_k", &["x"]);
    assert!(d.index_line(&d.results[0], Style::Unicode).contains("A⁻¹"));
    for rep in d.check(1, &[]) {
        assert_eq!(rep.verdict(1e-6), Verdict::Agrees, "{rep:?}");
    }
}

/// det(A) and logdet(A) in a result are folded back into the program's names.
#[test]
fn determinants_fold_into_the_programs_names() {
    let d = derive("D = det(A)\nM = logdet(A)\nL = D^2 + M x", &["A", "x"]);
    assert_eq!(d.matrix_line(&d.results[0], Style::Unicode), "∂L/∂A = (x + 2 D^2) A⁻ᵀ");
    assert_eq!(d.matrix_line(&d.results[1], Style::Unicode), "∂L/∂x = M");
    for rep in d.check(2, &[]) {
        assert_eq!(rep.verdict(1e-6), Verdict::Agrees, "{rep:?}");
    }
}

/// `inv(C)` of a defined C: the chain rule runs through C's definition, and
/// the check draws C's inputs so that C is invertible.
#[test]
fn the_chain_rule_runs_through_a_defined_matrix() {
    let d = derive("C_ij = A_ij + A_ji + 2 δ_ij\nL = logdet(C)", &["A"]);
    assert_eq!(d.matrix_line(&d.results[0], Style::Unicode), "∂L/∂A = C⁻¹ + C⁻ᵀ");
    for seed in 1..=3 {
        for rep in d.check(seed, &[]) {
            assert_eq!(rep.verdict(1e-6), Verdict::Agrees, "{rep:?}");
        }
    }
}

/// The program prints back as written, and the printed form reads again.
#[test]
fn canonical_form() {
    let source = "index i, j : N\nL = det(W^(1)) + logdet(S) + Σ_ij x_i inv(S)_ij x_j\n";
    let p = ricci::Program::parse(source, &Request::default()).unwrap();
    assert_eq!(p.to_string(), source);
}

/// Misuse is refused with a position and a help line (SPEC §1 Errors).
#[test]
fn misuse_is_refused_with_a_position_and_help() {
    for (source, message, column) in [
        (
            "L = Σ_i inv(x)_ii + Σ_i x_i",
            "`inv` takes a square matrix, but `x` is a vector (1 index)",
            13,
        ),
        (
            "y_i = Σ_j inv(A_ij) x_j",
            "`inv` takes the name of a matrix, without indices",
            11,
        ),
        (
            "L = det(A + B)",
            "`det` takes the name of a matrix, not an expression",
            5,
        ),
        (
            "L = det(T) + Σ_ijk T_ijk",
            "`det` takes a square matrix, but `T` is a tensor of order 3 (3 indices)",
            9,
        ),
        (
            "index i : N\nindex j : M\nC_ij = A_ij\nL = det(C)",
            "`det` takes a square matrix, but the axes of `C` range over `N` and `M`",
            9,
        ),
        (
            "L = Σ_i inv(A)",
            "`inv(A)` is a matrix: read it at two indices, not 0 indices",
            9,
        ),
        ("L_ij = det(A)_ij", "`det(A)` is a scalar: it takes no indices", 8),
        ("L = Det(A)", "`Det` is not a built-in function: did you mean `det`?", 5),
        ("L = logdet(A, B)", "`logdet` takes one matrix, but 2 were given", 5),
        ("L = det(exp)", "`exp` is a built-in function, not a tensor", 9),
        ("L = det(π)", "`det` takes a square matrix, but π is a number", 9),
    ] {
        let e = match ricci::Program::parse(source, &Request::default()) {
            Ok(_) => panic!("{source:?} should fail"),
            Err(e) => e,
        };
        let d = e
            .diagnostics()
            .iter()
            .find(|d| d.message == message)
            .unwrap_or_else(|| panic!("{source:?}: no {message:?} in\n{}", e.render("t", source)));
        let (_, col) = ricci::line_col(source, d.span.expect("a program's error has a place").start);
        assert_eq!(col, column, "{source:?}");
        assert!(d.help.is_some(), "{source:?}");
    }
}

/// The generated NumPy code against finite differences of independent forward passes.
#[test]
fn generated_numpy_code_agrees_with_finite_differences() {
    let has_numpy = std::process::Command::new("python3")
        .args(["-c", "import numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_numpy {
        eprintln!("skipped: python3 with numpy is not installed");
        return;
    }
    let out = std::process::Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/test_inverse.py"))
        .arg(env!("CARGO_BIN_EXE_ricci"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("inverse: all passed"), "{stdout}");
}

/// A defined matrix the draw leaves singular, or of non-positive determinant
/// under `logdet`, makes the check UNDECIDED with that reason, never ok or FAILED.
#[test]
fn a_singular_draw_is_undecided_and_says_why() {
    for (source, wrt, reason) in [
        ("C_ij = A_ij - B_ij\nL = logdet(C)", "A", "det(C) is not positive"),
        (
            "C_ij = x_i x_j\nL = Σ_ij inv(C)_ij",
            "x",
            "`C` is singular or nearly so",
        ),
    ] {
        let d = derive(source, &[wrt]);
        let rep = &d.check(1, &[])[0];
        let j = rep.judge(1e-6);
        assert_eq!(j.verdict, Verdict::Undecided, "{source}: {j:?}");
        assert!(
            j.reason.as_deref().is_some_and(|r| r.contains(reason)),
            "{source}: {j:?}"
        );
    }
}

/// `log(det(A))` and `logdet(A)` have one gradient, and `det(A)` cancels
/// against its own name when a definition holds it.
#[test]
fn log_of_det_is_logdet() {
    for source in ["L = log(det(A))", "D = det(A)\nL = log(D)", "L = logdet(A)"] {
        let d = derive(source, &["A"]);
        assert_eq!(d.matrix_line(&d.results[0], Style::Unicode), "∂L/∂A = A⁻ᵀ", "{source}");
        assert_eq!(d.check(3, &[])[0].verdict(1e-6), Verdict::Agrees, "{source}");
    }
}

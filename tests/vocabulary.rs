//! The matrix-calculus vocabulary of SPEC §1 (issue #15): `sin cos erf`,
//! `max`/`min` of two terms, and the sugar `mean_k`, `norm_k`, `logsumexp_k`,
//! `softmax_k`. Every fixture in `tests/cases/vocabulary/` prints the matrix
//! form of its `# expect` lines and agrees with finite differences (index and
//! matrix form, on every seed that can decide; none may disagree).

use ricci::{Request, Style, Verdict, CHECK_TOLERANCE};

mod fixture;
use fixture::read;

#[test]
fn every_fixture_prints_its_form_and_checks() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/vocabulary");
    let mut paths: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    paths.sort();
    assert!(paths.len() >= 8, "only {} vocabulary fixtures", paths.len());
    for path in paths {
        let f = read(&path);
        assert!(!f.expect.is_empty(), "{}: no `# expect` line", path.display());
        let request = Request {
            wrt: f.wrt(),
            layout: f.layout,
            ..Request::default()
        };
        let d = ricci::derive(&f.source, &request).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
        for (r, (wrt, form)) in d.results.iter().zip(&f.expect) {
            let line = d.matrix_line(r, Style::default());
            let printed = line.split_once(" = ").map(|(_, m)| m).unwrap_or(&line);
            assert_eq!(printed, form, "{}: --wrt {wrt}", path.display());
        }
        // Each result agrees on some seed, and disagrees on none.
        let mut agreed = vec![false; d.results.len()];
        for seed in 1..=4 {
            for (k, rep) in d.check(seed, &[]).iter().enumerate() {
                let j = rep.judge(CHECK_TOLERANCE);
                assert_ne!(
                    j.verdict,
                    Verdict::Disagrees,
                    "{}: {} {:?}",
                    path.display(),
                    rep.wrt,
                    j.reason
                );
                if j.verdict == Verdict::Agrees {
                    assert!(
                        rep.matrix_error.is_some(),
                        "{}: {} has no matrix form",
                        path.display(),
                        rep.wrt
                    );
                    agreed[k] = true;
                }
            }
        }
        assert!(agreed.iter().all(|a| *a), "{}: undecided on every seed", path.display());
    }
}

fn derive(source: &str, wrt: &[&str]) -> ricci::Derivation {
    let request = Request {
        wrt: wrt.iter().map(|w| w.to_string()).collect(),
        ..Request::default()
    };
    ricci::derive(source, &request).unwrap_or_else(|e| panic!("{source}: {e:?}"))
}

fn errors_of(source: &str) -> ricci::Diagnostics {
    match ricci::Program::parse(source, &Request::default()) {
        Ok(_) => panic!("{source:?} should fail"),
        Err(e) => ricci::Diagnostics(e.diagnostics().to_vec()),
    }
}

/// sin, cos and erf are built in: no opaque-function note, their own spellings
/// in every output.
#[test]
fn sin_cos_erf_are_built_in() {
    let program = ricci::Program::parse("L = Σ_i (sin(x_i) + cos(x_i) + erf(x_i))", &Request::default()).unwrap();
    assert_eq!(program.opaque_functions().count(), 0);
    let d = derive("L = Σ_i (g_i sin(x_i) cos(x_i) + erf(y_i))", &["x", "y"]);
    let x = &d.results[0];
    assert_eq!(
        d.matrix_line(x, Style::Ascii),
        "dL/dx = g .* (cos(x)^∘2 - sin(x)^∘2)".replace("^∘2", "^2")
    );
    let latex = d.latex(false, false);
    assert!(latex.contains("\\cos(") && latex.contains("\\sin("), "{latex}");
    let erf = derive("L = Σ_i x_i erf(x_i)", &["x"]).latex(false, false);
    assert!(erf.contains("\\operatorname{erf}(x_{j})"), "{erf}");
    let numpy = d.code(ricci::Backend::Numpy);
    assert!(numpy.contains("np.cos(x)") && numpy.contains("np.sin(x)"), "{numpy}");
    // NumPy has no erf: the function imports math in its own body, once
    let e = derive("L = Σ_i erf(y_i) erf(2 y_i)", &["y"]);
    let code = e.code(ricci::Backend::Numpy);
    assert_eq!(code.matches("import math").count(), 1, "{code}");
    assert!(code.contains("    import math\n"), "{code}");
    assert_eq!(
        code.matches("np.vectorize(math.erf, otypes=[float])(").count(),
        2,
        "{code}"
    );
    let torch = e.code(ricci::Backend::Torch);
    assert!(
        torch.contains("torch.erf(") && !torch.contains("    import math"),
        "{torch}"
    );
}

/// max and min of two terms: lowered to relu, so `max(0, z)` is `relu(z)` and
/// the derivative by `a` is the step `[a > b]`.
#[test]
fn max_and_min_of_two_terms() {
    let d = derive("L = Σ_i max(0, z_i)", &["z"]);
    assert_eq!(d.matrix_line(&d.results[0], Style::Unicode), "∂L/∂z = relu'(z)");
    let d = derive("L = Σ_i min(a_i, b_i)", &["a", "b"]);
    assert_eq!(
        d.index_line(&d.results[0], Style::Unicode),
        "∂L/∂a_j = relu'(b_j − a_j)"
    );
    assert_eq!(
        d.index_line(&d.results[1], Style::Unicode),
        "∂L/∂b_j = 1 − relu'(b_j − a_j)"
    );
    let d = derive("L = Σ_i max(a_i, b_i)", &["a", "b"]);
    assert_eq!(
        d.index_line(&d.results[0], Style::Unicode),
        "∂L/∂a_j = relu'(a_j − b_j)"
    );
    // a max whose second term binds an index: the copy binds its own
    let d = derive("L = Σ_i g_i max(x_i, Σ_j y_j^2)", &["x", "y"]);
    for seed in 1..=3 {
        for rep in d.check(seed, &[]) {
            assert_ne!(rep.verdict(CHECK_TOLERANCE), Verdict::Disagrees, "{}", rep.wrt);
        }
    }
    // canonical print keeps the call
    let p = ricci::Program::parse("L = max(Σ_i x_i, 1) + min(a, b)", &Request::default()).unwrap();
    assert_eq!(p.to_string(), "L = max(Σ_i x_i, 1) + min(a, b)\n");
}

/// One-argument max, three arguments, another case and a prime are refused
/// with a position and a help line.
#[test]
fn max_min_misuse_is_refused_with_help() {
    for (source, message, help) in [
        (
            "L = max(x_i)",
            "ricci does not guess that it means a maximum over an index",
            "`max(a, b)`",
        ),
        ("L = min(x)", "a minimum over an index", "`min(a, b)`"),
        (
            "L = max(x, y, z)",
            "`max` takes two arguments, but 3 were given",
            "max(a, max(b, c))",
        ),
        ("L = Max(x, y)", "did you mean `max`?", "lower case"),
        ("L = max'(x, y)", "`max'` is not a function", "step"),
    ] {
        let e = errors_of(source);
        let d = &e.0[0];
        assert!(d.message.contains(message), "{source}: {}", d.message);
        assert!(
            d.help.as_deref().is_some_and(|h| h.contains(help)),
            "{source}: {:?}",
            d.help
        );
        assert_eq!(d.span.map(|s| s.start), Some(4), "{source}");
    }
}

/// The sugar prints back in results where a matrix form has it: `‖x‖` for
/// `sqrt(Σ_k x_k^2)`, `softmax(Z)` for a row softmax, in every style.
#[test]
fn norms_and_softmaxes_print_back() {
    let d = derive("L = Σ_i a_i b_i / (norm_k(a_k) norm_k(b_k))", &["a"]);
    let r = &d.results[0];
    assert_eq!(
        d.matrix_line(r, Style::Ascii),
        "dL/da = 1/||a|| (1/||b|| * b - 1/||a|| L * a)"
    );
    let latex = d.latex(false, false);
    assert!(latex.contains("\\frac{1}{\\lVert a \\rVert}"), "{latex}");
    // a row norm (a matrix's rows) has no vector to name: it stays a sum
    let d = derive("L = Σ_s norm_d(X_sd)", &["X"]);
    assert!(!d.index_line(&d.results[0], Style::Unicode).contains('‖'));
    let d = derive("L = Σ_sc G_sc log(softmax_c(Z_sc))", &["Z"]);
    let latex = d.latex(false, false);
    assert!(latex.contains("\\operatorname{softmax}(Z)"), "{latex}");
    let d = derive("L = Σ_s g_s logsumexp_c(Z_sc)", &["Z"]);
    assert_eq!(
        d.matrix_line(&d.results[0], Style::Unicode),
        "∂L/∂Z = diag(g) softmax(Z)"
    );
}

/// Generated code subtracts the row maximum: a softmax and a log-sum-exp of
/// rows do not overflow (SPEC §4).
#[test]
fn generated_softmax_and_logsumexp_are_stable() {
    let d = derive(
        "P_sc = softmax_c(Z_sc)\nl_s = logsumexp_c(Z_sc)\nL = Σ_sc T_sc log(P_sc) + Σ_s l_s^2",
        &["Z"],
    );
    let numpy = d.code(ricci::Backend::Numpy);
    assert!(numpy.contains("np.exp(Z - Z.max(axis=1, keepdims=True))"), "{numpy}");
    assert!(numpy.contains(" = Z.max(axis=1)\n"), "{numpy}");
    assert!(!numpy.contains("np.exp(Z).sum"), "{numpy}");
    let torch = d.code(ricci::Backend::Torch);
    assert!(
        torch.contains("torch.softmax(Z, dim=1)") && torch.contains("torch.logsumexp(Z, dim=1)"),
        "{torch}"
    );
    // and of a vector
    let d = derive(
        "q_c = softmax_c(z_c)\nk = logsumexp_c(z_c)\nL = Σ_c g_c q_c + k^2",
        &["z"],
    );
    let numpy = d.code(ricci::Backend::Numpy);
    assert!(
        numpy.contains("np.exp(z - z.max())") && !numpy.contains("np.exp(z).sum"),
        "{numpy}"
    );
    let torch = d.code(ricci::Backend::Torch);
    assert!(
        torch.contains("torch.softmax(z, dim=0)") && torch.contains("torch.logsumexp(z, dim=0)"),
        "{torch}"
    );
    let d = derive("L = Σ_c g_c softmax_c(z_c)", &["z"]);
    assert_eq!(
        d.matrix_line(&d.results[0], Style::Unicode),
        "∂L/∂z = softmax(z) ⊙ (g − L)"
    );
}

//! Hessians (`--hessian`) and Hessian-vector products (`--hvp V`), SPEC §2:
//! every case of `tests/cases/hessian/` prints the form its `# expect` lines
//! give, agrees with finite differences of the gradient, and is snapshotted
//! whole; the errors of a request that cannot be answered.

use ricci::{Backend, Kind, Request, Style};

mod common;
mod second;

#[test]
fn hessian_cases() {
    second::settings().bind(|| {
        insta::glob!("cases/hessian/*.ricci", |path| {
            let case = second::read(path);
            let kind = if case.request.hvp.is_some() {
                Kind::Hvp
            } else {
                Kind::Hessian
            };
            let (case, d) = second::derive_and_check(path, kind);
            insta::assert_snapshot!("hessian", second::snapshot_text(&case, &d));
        });
    });
}

fn request(wrt: &[&str]) -> Request {
    Request {
        wrt: wrt.iter().map(|w| w.to_string()).collect(),
        ..Request::default()
    }
}

const LOGISTIC: &str = "index n : N\np_n = σ(Σ_d X_nd w_d)\nL = -1/N Σ_n (t_n log(p_n) + (1 - t_n) log(1 - p_n))";

/// The functions are `d2<of>_d<wrt>2` and `hvp_<of>_<wrt>` (with V among the
/// parameters), and the JSON says the kind and the shape (X's twice).
#[test]
fn functions_json_kind_and_shape() {
    let d = ricci::derive(
        LOGISTIC,
        &Request {
            hessian: true,
            ..request(&["w"])
        },
    )
    .unwrap();
    let f = &d.functions(Backend::Numpy)[0];
    assert!(f.starts_with("def d2L_dw2(X, w, N=None):"), "{f}");
    assert!(f.ends_with("return 1 / N * (X.T * (p * (1 - p)) @ X)\n"), "{f}");
    let json = d.json(Style::Unicode, &[]);
    assert_eq!(json["results"][0]["kind"], "hessian");
    assert_eq!(json["results"][0]["shape"], serde_json::json!([null, null]));
    assert_eq!(
        json["results"][0]["index"],
        "∂²L/∂w_i∂w_j = 1/N (Σ_n X_ni p_n (1 − p_n) X_nj)"
    );
    let d = ricci::derive(
        LOGISTIC,
        &Request {
            hvp: Some("v".into()),
            ..request(&["w"])
        },
    )
    .unwrap();
    let f = &d.functions(Backend::Numpy)[0];
    assert!(f.starts_with("def hvp_L_w(X, w, v, N=None):"), "{f}");
    let json = d.json(Style::Unicode, &[]);
    assert_eq!(json["results"][0]["kind"], "hvp");
    assert_eq!(json["results"][0]["matrix"], "1/N Xᵀ ((X v) ⊙ p ⊙ (1 − p))");
    assert_eq!(d.results[0].direction(), Some("v"));
    let shaped = "index n : N; index d : D\nR_nk = Σ_d X_nd W_dk - Y_nk\nL = Σ_nk R_nk^2";
    let d = ricci::derive(
        shaped,
        &Request {
            hessian: true,
            ..request(&["W"])
        },
    )
    .unwrap();
    assert_eq!(
        d.json(Style::Unicode, &[])["results"][0]["shape"],
        serde_json::json!(["D", null, "D", null])
    );
}

/// The steps start from the gradient that is differentiated again.
#[test]
fn steps_start_from_the_gradient() {
    let d = ricci::derive(
        LOGISTIC,
        &Request {
            hessian: true,
            ..request(&["w"])
        },
    )
    .unwrap();
    let steps = d.text(Style::Unicode, true);
    assert!(steps.contains("(1) (∂L/∂w)_j = 1/N (Σ_n (p_n − t_n) X_nj)"), "{steps}");
    assert!(steps.contains("[the gradient ∂L/∂w]"), "{steps}");
    assert!(steps.contains("∂(∂L/∂w)/∂w = 1/N Xᵀ diag(p ⊙ (1 − p)) X"), "{steps}");
}

fn refused(args: &[&str]) -> String {
    let out = common::ricci(args, b"");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

/// `--hvp` with a name the program uses, with several `--wrt`, or with the
/// loss's name; `--hessian` of a tensor or of an undefined loss.
#[test]
fn requests_that_cannot_be_answered() {
    let e = refused(&["derive", "examples/quadratic.ricci", "--hvp", "A", "--wrt", "x"]);
    assert!(
        e.contains("error: --hvp A: the program already uses `A`; the direction must be a new name"),
        "{e}"
    );
    assert!(
        e.contains("--> examples/quadratic.ricci:2:14") && e.contains("^ first used here"),
        "{e}"
    );
    assert!(
        e.contains("help: choose a name the program does not use for the direction, e.g. `--hvp V`"),
        "{e}"
    );
    let e = refused(&[
        "derive",
        "examples/logistic_regression.ricci",
        "--hvp",
        "v",
        "--wrt",
        "w",
        "--wrt",
        "X",
    ]);
    assert!(
        e.contains("--hvp v takes exactly one --wrt (its direction has that tensor's shape), not `w` and `X`"),
        "{e}"
    );
    assert!(
        e.contains("help: ask for one tensor at a time, e.g. `--hvp v --wrt w`"),
        "{e}"
    );
    let e = refused(&["derive", "examples/quadratic.ricci", "--hvp", "L", "--wrt", "x"]);
    assert!(e.contains("`L` is the loss"), "{e}");
    let e = refused(&["derive", "examples/quadratic.ricci", "--hvp", "d/dx", "--wrt", "x"]);
    assert!(e.contains("--hvp `d/dx` is not a name"), "{e}");
    let e = refused(&[
        "derive",
        "examples/mlp.ricci",
        "--of",
        "z^(1)",
        "--wrt",
        "x",
        "--hessian",
    ]);
    assert!(
        e.contains("`z^(1)` has 1 index; second derivatives are of a scalar loss"),
        "{e}"
    );
    assert!(e.contains("--> examples/mlp.ricci:3:1"), "{e}");
    assert!(e.contains("or drop --hessian for the Jacobian"), "{e}");
    let e = refused(&["derive", "examples/linear.ricci", "--hessian", "--wrt", "W"]);
    assert!(
        e.contains("--hessian: the program does not define `L`, so its second derivatives are unknown"),
        "{e}"
    );
    let e = refused(&[
        "derive",
        "examples/quadratic.ricci",
        "--hessian",
        "--hvp",
        "v",
        "--wrt",
        "x",
    ]);
    assert!(e.contains("cannot be used with"), "{e}");
}

/// The library refuses both at once too (the command line never lets them through).
#[test]
fn hessian_and_hvp_together_are_refused() {
    let both = Request {
        hessian: true,
        hvp: Some("v".into()),
        ..request(&["x"])
    };
    let e = ricci::derive("L = Σ_i x_i^2", &both).unwrap_err();
    assert!(e.render("p", "L = Σ_i x_i^2").contains("--hessian and --hvp together"));
}

/// On the command line, `--check` compares the Hessian with finite
/// differences of the gradient and exits 0.
#[test]
fn the_command_line_checks_a_hessian() {
    let out = common::ricci(
        &["derive", "examples/poisson.ricci", "--hessian", "--wrt", "w", "--check"],
        b"",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.ends_with("∂²L/∂w∂w = Xᵀ diag(exp(X w)) X\n"), "{stdout}");
    assert!(stderr.contains("check w: relative error"), "{stderr}");
}

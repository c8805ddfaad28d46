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
    assert_eq!(json["results"][0]["matrix"], "1/N · Xᵀ ((X v) ⊙ p ⊙ (1 − p))");
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
    assert!(steps.contains("∂(∂L/∂w)/∂w = 1/N · Xᵀ diag(p ⊙ (1 − p)) X"), "{steps}");
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

/// The generated NumPy functions of Jacobians, Hessians and HVPs against
/// finite differences of forward passes and gradients written here by hand,
/// independently of ricci; arrays in `jax.jacobian` / `jax.hessian` layout.
/// Skipped (with a message) without python3 and NumPy, except in CI.
#[test]
fn numpy_functions_against_finite_differences() {
    let has_numpy = std::process::Command::new("python3")
        .args(["-c", "import numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_numpy {
        assert!(std::env::var_os("CI").is_none(), "CI needs python3 with numpy");
        eprintln!("skipped: python3 with numpy is not installed");
        return;
    }
    let examples = |f: &str| std::fs::read_to_string(format!("{}/examples/{f}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let mlp_tanh = examples("mlp.ricci").replace("relu", "tanh");
    let derived: Vec<(String, Request)> = vec![
        (
            examples("softmax.ricci"),
            Request {
                of: "y".into(),
                ..request(&["x"])
            },
        ),
        (
            examples("mlp.ricci"),
            Request {
                of: "z^(1)".into(),
                ..request(&["s^(1)"])
            },
        ),
        (
            examples("mlp.ricci"),
            Request {
                of: "ŷ".into(),
                ..request(&["s^(1)"])
            },
        ),
        (
            examples("mlp.ricci"),
            Request {
                of: "s^(1)".into(),
                ..request(&["W^(1)"])
            },
        ),
        (
            LOGISTIC.into(),
            Request {
                hessian: true,
                ..request(&["w"])
            },
        ),
        (
            LOGISTIC.into(),
            Request {
                hvp: Some("v".into()),
                ..request(&["w"])
            },
        ),
        (
            examples("poisson.ricci"),
            Request {
                hessian: true,
                ..request(&["w"])
            },
        ),
        (
            examples("quadratic.ricci"),
            Request {
                hvp: Some("v".into()),
                ..request(&["x"])
            },
        ),
        (
            LEAST_SQUARES.into(),
            Request {
                hessian: true,
                ..request(&["W"])
            },
        ),
        (
            LEAST_SQUARES.into(),
            Request {
                hvp: Some("V".into()),
                ..request(&["W"])
            },
        ),
        (
            mlp_tanh,
            Request {
                hessian: true,
                ..request(&["b^(1)"])
            },
        ),
    ];
    let mut code = String::from("import numpy as np\n\n");
    for (k, (source, r)) in derived.iter().enumerate() {
        let d = ricci::derive(source, r).unwrap();
        for f in d.functions(Backend::Numpy) {
            // each case's functions in a namespace of its own
            code.push_str(&f.replacen("def ", &format!("def c{k}_"), 1));
            code.push('\n');
        }
    }
    code.push_str(HARNESS);
    let out = std::process::Command::new("python3")
        .args(["-c", &code])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}\n{code}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("11 passed"), "{stdout}");
}

const LEAST_SQUARES: &str = "index n : N\nR_nk = Σ_d X_nd W_dk - Y_nk\nL = Σ_nk R_nk^2";

/// Forward passes and gradients by hand, and central finite differences.
const HARNESS: &str = r#"
rng = np.random.default_rng(7)
def r(*shape):
    return rng.uniform(-1, 1, shape)
def fd(f, x, h=1e-6):
    """jax.jacobian's layout: f(x)'s axes, then x's."""
    y0 = np.asarray(f(x))
    out = np.zeros(y0.shape + x.shape)
    for idx in np.ndindex(*x.shape):
        e = np.zeros_like(x); e[idx] = h
        out[(Ellipsis,) + idx] = (np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * h)
    return out
sig = lambda s: 1 / (1 + np.exp(-s))
passed = 0
def same(name, a, b):
    global passed
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape, (name, a.shape, b.shape)
    err = np.abs(a - b).max() / max(1.0, np.abs(b).max())
    assert err < 1e-6, (name, err)
    passed += 1
x = r(4)
same("softmax", c0_dy_dx(x=x), fd(lambda x: np.exp(x) / np.exp(x).sum(), x))
W1, b1, x3, W2, b2 = r(4, 3), r(4), r(3), r(2, 4), r(2)
s1 = W1 @ x3 + b1
same("relu", c1_dz1_ds1(W1=W1, x=x3, b1=b1), fd(lambda s: np.maximum(s, 0), s1))
same("mlp", c2_dyhat_ds1(W1=W1, x=x3, b1=b1, W2=W2), fd(lambda s: W2 @ np.maximum(s, 0) + b2, s1))
same("order 3", c3_ds1_dW1(x=x3, n_i=4), fd(lambda W: W @ x3 + b1, W1))
X, w, t, v = r(5, 3), r(3), rng.uniform(0.1, 0.9, 5), r(3)
g = lambda w: X.T @ (sig(X @ w) - t) / 5
same("logistic", c4_d2L_dw2(X=X, w=w), fd(g, w))
same("logistic hvp", c5_hvp_L_w(X=X, w=w, v=v), fd(g, w) @ v)
y5 = r(5)
same("poisson", c6_d2L_dw2(X=X, w=w), fd(lambda w: X.T @ (np.exp(X @ w) - y5), w))
A, x4, v4 = r(4, 4), r(4), r(4)
same("quadratic hvp", c7_hvp_L_x(A=A, v=v4), fd(lambda x: A @ x + A.T @ x, x4) @ v4)
W, Y, V = r(3, 2), r(5, 2), r(3, 2)
G = lambda W: 2 * X.T @ (X @ W - Y)
same("matrix", c8_d2L_dW2(X=X, n_k=2), fd(G, W))
same("matrix hvp", c9_hvp_L_W(X=X, V=V), np.tensordot(fd(G, W), V, axes=2))
yy = r(2)
def gb(b):
    z = np.tanh(W1 @ x3 + b)
    return (1 - z ** 2) * (W2.T @ (2 * (W2 @ z + b2 - yy)))
same("tanh mlp", c10_d2L_db12(W1=W1, x=x3, b1=b1, W2=W2, b2=b2, y=yy), fd(gb, b1))
print(f"{passed} passed")
"#;

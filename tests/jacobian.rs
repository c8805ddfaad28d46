//! Jacobians (SPEC §2 "Jacobians and second derivatives"): `--of Y` for a
//! defined tensor of order ≥ 1. Every case of `tests/cases/jacobian/` — the
//! Jacobians seed document 003 writes out (SEED-RESULTS), 001's order-4
//! one, softmax and L2 normalisation — prints the form its `# expect` lines
//! give, agrees with finite differences of `Y`, and is snapshotted whole.

use ricci::{Backend, Kind, Request, Style};

mod common;
mod second;

#[test]
fn jacobian_cases() {
    second::settings().bind(|| {
        insta::glob!("cases/jacobian/*.ricci", |path| {
            let (case, d) = second::derive_and_check(path, Kind::Jacobian);
            insta::assert_snapshot!("jacobian", second::snapshot_text(&case, &d));
        });
    });
}

fn jacobian(source: &str, of: &str, wrt: &[&str]) -> ricci::Derivation {
    let request = Request {
        of: of.into(),
        wrt: wrt.iter().map(|w| w.to_string()).collect(),
        ..Request::default()
    };
    ricci::derive(source, &request).unwrap()
}

/// The JSON shape is `Y`'s followed by `X`'s, whatever the layout, and the
/// array the NumPy function returns has it (`jax.jacobian`'s layout).
#[test]
fn shape_is_the_output_s_then_the_input_s() {
    let source = "index i : I; index j : J; index k : K\ny_i = Σ_jk A_ij x_j W_jk c_k";
    let d = jacobian(source, "y", &["x", "W"]);
    let json = d.json(Style::Unicode, &[]);
    assert_eq!(json["results"][0]["kind"], "jacobian");
    assert_eq!(json["results"][0]["shape"], serde_json::json!(["I", "J"]));
    assert_eq!(json["results"][1]["shape"], serde_json::json!(["I", "J", "K"]));
    assert_eq!(json["results"][1]["matrix"], serde_json::Value::Null);
    let mut numerator = Request {
        of: "y".into(),
        wrt: vec!["x".into()],
        layout: ricci::Layout::Numerator,
        ..Request::default()
    };
    let d = ricci::derive(source, &numerator).unwrap();
    // a Jacobian is laid out as it is, rows following `y`, in either layout
    assert_eq!(
        d.json(Style::Unicode, &[])["results"][0]["shape"],
        serde_json::json!(["I", "J"])
    );
    numerator.layout = ricci::Layout::Gradient;
    let g = ricci::derive(source, &numerator).unwrap();
    assert_eq!(
        d.matrix_line(&d.results[0], Style::Unicode),
        g.matrix_line(&g.results[0], Style::Unicode)
    );
}

/// The NumPy function of a Jacobian is `d<of>_d<wrt>` and returns Y's axes, then X's.
#[test]
fn the_function_is_named_after_of_and_wrt() {
    let d = jacobian("y_i = exp(x_i) / Σ_k exp(x_k)", "y", &["x"]);
    let code = d.functions(Backend::Numpy);
    assert_eq!(
        code[0],
        "def dy_dx(x):\n    _t1 = np.exp(x - x.max())\n    y = _t1 / _t1.sum()\n    return np.diag(y) - np.outer(y, y)\n"
    );
    let torch = d.functions(Backend::Torch);
    assert!(torch[0].contains("torch.diag(y) - torch.outer(y, y)"), "{}", torch[0]);
}

/// `--steps` goes through the intermediate Jacobians, as 003 does: ∂ŷ/∂s⁽²⁾,
/// then ∂ŷ/∂z⁽¹⁾ = ∂ŷ/∂s⁽²⁾ W⁽²⁾, then ∂ŷ/∂s⁽¹⁾.
#[test]
fn steps_go_through_the_intermediate_jacobians() {
    let source = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/mlp.ricci")).unwrap();
    let d = jacobian(&source, "ŷ", &["s^(1)"]);
    let text = d.text(Style::Unicode, true);
    for line in [
        "∂ŷ/∂s⁽²⁾ = I",
        "∂ŷ/∂z⁽¹⁾ = ∂ŷ/∂s⁽²⁾ W⁽²⁾",
        "∂z⁽¹⁾_k/∂s⁽¹⁾_j = relu'(s⁽¹⁾_k) δ_kj",
        "∂ŷ/∂s⁽¹⁾ = W⁽²⁾ diag(relu'(s⁽¹⁾))",
    ] {
        assert!(text.contains(line), "no `{line}` in\n{text}");
    }
}

/// On the command line: `--of Y` answers the Jacobian, `--check` compares it
/// with finite differences of Y and exits 0.
#[test]
fn the_command_line_derives_and_checks_a_jacobian() {
    let out = common::ricci(
        &[
            "derive",
            "examples/mlp.ricci",
            "--of",
            "z^(1)",
            "--wrt",
            "s^(1)",
            "--check",
        ],
        b"",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        stdout,
        "∂z⁽¹⁾_i/∂s⁽¹⁾_j = relu'(s⁽¹⁾_i) δ_ij\n∂z⁽¹⁾/∂s⁽¹⁾ = diag(relu'(s⁽¹⁾))\n"
    );
    assert!(
        stderr.contains("check s^(1): relative error") && stderr.contains(": ok"),
        "{stderr}"
    );
}

/// A Jacobian between two different sizes, entry by entry (the check's
/// tests in the library show that a transposed one fails).
#[test]
fn a_rectangular_jacobian_checks() {
    let d = jacobian("index i : I; index j : J\ny_i = Σ_j A_ij x_j^2", "y", &["x"]);
    let reports = d.check(3, &[]);
    assert_eq!(reports[0].judge(ricci::CHECK_TOLERANCE).verdict, ricci::Verdict::Agrees);
    assert_eq!(d.matrix_line(&d.results[0], Style::Unicode), "∂y/∂x = 2 A diag(x)");
}

/// A tensor broadcast from a scalar: its Jacobian by the scalar has the
/// tensor's shape even when the derivative is a sum (`(1 + 2 A) 1`, not
/// `1 + 2 A`; found by the fuzzer, where `--check` failed on the matrix form).
#[test]
fn the_jacobian_of_a_broadcast_scalar_has_the_tensor_s_shape() {
    for (source, form) in [
        ("Y_i = A^2 + A", "∂Y/∂A = (1 + 2 A) 1"),
        ("Y_ij = A^2 + A", "∂Y/∂A = (1 + 2 A) 1 1ᵀ"),
        ("Y_i = sin(A) + cos(A)", "∂Y/∂A = (cos(A) − sin(A)) 1"),
    ] {
        let d = jacobian(source, "Y", &["A"]);
        assert_eq!(d.matrix_line(&d.results[0], Style::Unicode), form, "{source}");
        for report in d.check(3, &[]) {
            let j = report.judge(ricci::CHECK_TOLERANCE);
            assert_eq!(j.verdict, ricci::Verdict::Agrees, "{source}: {:?}", j.reason);
        }
    }
}

//! What `ricci derive` is asked (SPEC §2, §3): every `--wrt` and `--of` the
//! program cannot answer is a clear error (status 2, nothing on stdout), never
//! a result that means nothing.

use std::process::Output;

mod common;
use common::ricci;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `ricci derive -e PROGRAM ARGS…`.
fn derive(program: &str, args: &[&str]) -> Output {
    let mut all = vec!["derive", "-e", program];
    all.extend_from_slice(args);
    ricci(&all, b"")
}

/// Status 2, nothing on stdout, every one of `needles` on stderr, no panic.
fn assert_rejected(out: &Output, needles: &[&str]) -> String {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(out.stdout.is_empty(), "stdout not empty: {}", text(&out.stdout));
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.starts_with("error: "), "{err}");
    for needle in needles {
        assert!(err.contains(needle), "expected {needle:?} in\n{err}");
    }
    err
}

/// Status 0; the standard output.
fn accepted(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    text(&out.stdout)
}

const MEAN_SQUARE: &str = "index i : N\nL = 1/N Σ_i x_i^2";

#[test]
fn a_range_symbol_is_not_a_variable() {
    let out = derive(MEAN_SQUARE, &["--wrt", "N"]);
    let err = assert_rejected(
        &out,
        &[
            "--wrt N: `N` is a range symbol (the size of index `i`), not a variable",
            // where it is declared, with a caret
            "<-e>:1:11",
            "1 | index i : N",
            "^ declared as a range here",
            // what one may differentiate by instead
            "help: the program's input is `x`",
            "`--wrt x`",
        ],
    );
    // a range symbol is no candidate either
    assert!(!err.contains("`N`:") && !err.contains("`N`,"), "{err}");
    // nor a loss
    let out = derive(MEAN_SQUARE, &["--of", "N", "--wrt", "x"]);
    assert_rejected(&out, &["--of N: `N` is a range symbol", "not a loss", "<-e>:1:11"]);
}

#[test]
fn a_scalar_input_is_a_variable() {
    let out = accepted(&derive("L = Σ_i τ x_i^2", &["--wrt", "τ"]));
    assert_eq!(out, "∂L/∂τ = Σ_i x_i^2\n∂L/∂τ = xᵀ x\n");
    let out = accepted(&derive("L = Σ_i x_i^2 + λ Σ_i w_i^2", &["--wrt", "λ", "--ascii"]));
    assert_eq!(out, "dL/dlambda = sum_i w_i^2\ndL/dlambda = w^T w\n");
}

#[test]
fn a_tensor_the_loss_does_not_read_has_the_zero_gradient_of_its_shape() {
    let program = "index k : K\nL = Σ_i x_i^2\nZ_kl = q_kl";
    let out = accepted(&derive(program, &["--wrt", "q"]));
    assert_eq!(out, "∂L/∂q_ij = 0\n∂L/∂q = 0\n");
    let out = accepted(&derive(program, &["--wrt", "q", "--format", "json"]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["results"][0]["shape"], serde_json::json!(["K", null]));
    assert_eq!(v["results"][0]["matrix"], "0");
}

#[test]
fn of_must_be_a_name() {
    let program = "L = Σ_i x_i^2";
    assert_rejected(
        &derive(program, &["--of", "", "--wrt", "x"]),
        &[
            "--of is empty: it takes the name of the loss",
            "help: a name is a letter",
        ],
    );
    assert_rejected(
        &derive(program, &["--of", "dL/dx", "--wrt", "x"]),
        &[
            "--of `dL/dx` is not a name",
            "help: `--of` names the loss and `--wrt` the tensor: for ∂L/∂x write `--of L --wrt x`",
        ],
    );
    assert_rejected(
        &derive(program, &["--of", "∂L/∂x", "--wrt", "x"]),
        &["--of `∂L/∂x` is not a name", "`--of L --wrt x`"],
    );
    assert_rejected(
        &derive(program, &["--of", "L_i", "--wrt", "x"]),
        &["--of `L_i` is not a name"],
    );
    assert_rejected(
        &derive(program, &["--wrt", "dL/dx"]),
        &[
            "--wrt `dL/dx` is not a name: it takes the name of a tensor",
            "`--of L --wrt x`",
        ],
    );
}

#[test]
fn of_a_name_the_program_never_mentions_is_an_error_when_it_has_a_loss() {
    let out = derive("L = Σ_i x_i^2", &["--of", "M", "--wrt", "x"]);
    assert_rejected(
        &out,
        &[
            "--of M: the program never mentions `M`",
            "help: its loss is `L`: e.g. `--of L`",
        ],
    );
    // the default `L` too, when the program's loss has another name
    let out = derive("J = Σ_i x_i^2", &["--wrt", "x"]);
    assert_rejected(&out, &["--of L: the program never mentions `L`", "`--of J`"]);
    // a program that stops before its loss: the loss is an unknown function
    // of its outputs, whatever its name (SPEC §2)
    let out = accepted(&derive("Y_sn = Σ_m X_sm W_nm", &["--of", "E", "--wrt", "W"]));
    assert_eq!(out, "∂E/∂W_ij = Σ_s (∂E/∂Y)_si X_sj\n∂E/∂W = (∂E/∂Y)ᵀ X\n");
}

#[test]
fn of_an_input_is_not_a_loss() {
    let out = derive("L = Σ_i x_i^2", &["--of", "x", "--wrt", "x"]);
    assert_rejected(
        &out,
        &[
            "--of x: `x` is an input (the program never defines it), not a loss",
            "<-e>:1:9",
        ],
    );
}

/// A tensor of order ≥ 1 as `--of` asks for its Jacobian (tests/jacobian.rs).
#[test]
fn of_a_tensor_is_a_jacobian() {
    let out = accepted(&derive("z_i = relu(s_i)", &["--of", "z", "--wrt", "s"]));
    assert_eq!(out, "∂z_i/∂s_j = relu'(s_i) δ_ij\n∂z/∂s = diag(relu'(s))\n");
}

#[test]
fn a_repeated_wrt_gives_its_result_once() {
    let once = accepted(&derive("L = Σ_i x_i^2 + Σ_i y_i", &["--wrt", "x", "--wrt", "y"]));
    let repeated = accepted(&derive(
        "L = Σ_i x_i^2 + Σ_i y_i",
        &["--wrt", "x", "--wrt", "y", "--wrt", "x", "--wrt", "y", "--wrt", "x"],
    ));
    assert_eq!(repeated, once);
    assert_eq!(once.matches("∂L/∂x =").count(), 1, "{once}");
    // first-seen order
    let reversed = accepted(&derive(
        "L = Σ_i x_i^2 + Σ_i y_i",
        &["--wrt", "y", "--wrt", "x", "--wrt", "y"],
    ));
    assert!(
        reversed.find("∂L/∂y").unwrap() < reversed.find("∂L/∂x").unwrap(),
        "{reversed}"
    );
}

#[test]
fn a_superscripted_name_may_be_written_as_ricci_prints_it() {
    let program = "L^(1) = Σ_i (W^(1)_i - y_i)^2";
    let printed = accepted(&derive(program, &["--of", "L^(1)", "--wrt", "W^(1)"]));
    assert_eq!(
        printed,
        "∂L⁽¹⁾/∂W⁽¹⁾_j = 2 (W⁽¹⁾_j − y_j)\n∂L⁽¹⁾/∂W⁽¹⁾ = 2 (W⁽¹⁾ − y)\n"
    );
    for (of, wrt) in [("L⁽¹⁾", "W⁽¹⁾"), ("L^{(1)}", "W^{(1)}"), ("L⁽¹⁾", "W^(1)")] {
        let out = accepted(&derive(program, &["--of", of, "--wrt", wrt]));
        assert_eq!(out, printed, "--of {of} --wrt {wrt}");
    }
    // three spellings of one tensor: one result, named as first written
    let out = accepted(&derive(
        program,
        &[
            "--of",
            "L⁽¹⁾",
            "--wrt",
            "W⁽¹⁾",
            "--wrt",
            "W^(1)",
            "--wrt",
            "W^{(1)}",
            "--format",
            "json",
        ],
    ));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["of"], "L^(1)");
    assert_eq!(v["results"].as_array().unwrap().len(), 1);
    assert_eq!(v["results"][0]["wrt"], "W⁽¹⁾");
    // a superscript is still not a trailing digit
    assert_rejected(
        &derive(program, &["--of", "L⁽¹⁾", "--wrt", "W1"]),
        &["did you mean `W^(1)`?"],
    );
    assert_eq!(ricci::canonical_name("x⁽ᴸ⁾"), "x^(L)");
    assert_eq!(ricci::canonical_name("W^{(12)}"), "W^(12)");
    assert_eq!(ricci::canonical_name("W1"), "W1");
}

#[test]
fn standalone_needs_latex() {
    let out = derive("L = Σ_i x_i^2", &["--wrt", "x", "--standalone"]);
    assert_rejected(
        &out,
        &[
            "error: --standalone needs --format latex",
            "help: ",
            "add `--format latex`",
        ],
    );
    let out = derive("L = Σ_i x_i^2", &["--wrt", "x", "--standalone", "--format", "json"]);
    assert_rejected(&out, &["--standalone needs --format latex"]);
    let out = accepted(&derive(
        "L = Σ_i x_i^2",
        &["--wrt", "x", "--standalone", "--format", "latex"],
    ));
    assert!(out.starts_with("\\documentclass{article}"), "{out}");
}

#[test]
fn no_wrt_lists_what_one_could_differentiate_by() {
    let program = "index i : N\nY_i = Σ_j A_ij x_j + b_i\nL = 1/N Σ_i Y_i^2";
    let err = assert_rejected(
        &derive(program, &[]),
        &[
            "error: no --wrt: name at least one tensor to differentiate by",
            "help: the program's inputs are `A`, `b` and `x`; it defines `Y`: differentiate by one of them, e.g. `--wrt A`",
        ],
    );
    // neither the loss nor the range symbol
    assert!(!err.contains("`L`") && !err.contains("`N`"), "{err}");
    // the program is read first: a bad program is reported as such
    assert_rejected(&derive("Y_i = A_ij", &[]), &["unbound index"]);
}

const LAYER: &str = "index n : N; index k : K; index c : C\nZ_nc = Σ_k H_nk W_kc + b_c\nL = Σ_nc Z_nc^2";

#[test]
fn numerator_layout_transposes_the_shape() {
    // gradient layout: ∂L/∂W has W's shape, K×C
    let out = accepted(&derive(LAYER, &["--wrt", "W", "--steps"]));
    assert!(out.contains("∂L/∂W = Hᵀ ∂L/∂Z ∈ ℝ^(K×C)"), "{out}");
    // numerator layout: its transpose, C×K
    let out = accepted(&derive(LAYER, &["--wrt", "W", "--steps", "--layout", "numerator"]));
    assert!(out.contains("∂L/∂W = (∂L/∂Z)ᵀ H ∈ ℝ^(C×K)"), "{out}");
    assert!(out.contains("∂L/∂Z = 2 Zᵀ ∈ ℝ^(C×N)"), "{out}");
    assert!(!out.contains("K×C") && !out.contains("N×C"), "{out}");
    let out = accepted(&derive(
        LAYER,
        &["--wrt", "W", "--layout", "numerator", "--format", "latex"],
    ));
    assert!(out.contains("\\in \\mathbb{R}^{C \\times K}"), "{out}");
    let json = |layout: &str| -> serde_json::Value {
        let out = accepted(&derive(
            LAYER,
            &["--wrt", "W", "--wrt", "b", "--layout", layout, "--format", "json"],
        ));
        serde_json::from_str(&out).unwrap()
    };
    let v = json("numerator");
    assert_eq!(v["results"][0]["matrix"], "2 Zᵀ H");
    assert_eq!(v["results"][0]["shape"], serde_json::json!(["C", "K"]));
    assert!(v["results"][0]["latex"]
        .as_str()
        .unwrap()
        .ends_with("\\in \\mathbb{R}^{C \\times K}"));
    // a vector stays a vector
    assert_eq!(v["results"][1]["shape"], serde_json::json!(["C"]));
    let v = json("gradient");
    assert_eq!(v["results"][0]["shape"], serde_json::json!(["K", "C"]));
    assert_eq!(v["results"][1]["shape"], serde_json::json!(["C"]));
    // the NumPy function returns W's shape in either layout (SPEC §4)
    assert_eq!(json("numerator")["results"][0]["numpy"], v["results"][0]["numpy"]);
}

const OPAQUE_NOTE: &str = "is not a built-in function: it is treated as an opaque elementwise function";

#[test]
fn an_opaque_function_is_noted_once_on_stderr() {
    let program = "L = Σ_i h(x_i) + Σ_i g(h(x_i)) + Σ_i h(y_i)";
    let out = ricci(&["check", "-e", program], b"");
    let stdout = accepted(&out);
    assert_eq!(stdout, "L = Σ_i h(x_i) + Σ_i g(h(x_i)) + Σ_i h(y_i)\n");
    let err = text(&out.stderr);
    assert_eq!(
        err,
        format!("note: `g` {OPAQUE_NOTE} `g` with derivative `g'`\nnote: `h` {OPAQUE_NOTE} `h` with derivative `h'`\n")
    );
    let out = derive(program, &["--wrt", "x"]);
    let stdout = accepted(&out);
    assert_eq!(
        stdout,
        "∂L/∂x_j = h'(x_j) (1 + g'(h(x_j)))\n∂L/∂x = h'(x) ⊙ (1 + g'(h(x)))\n"
    );
    let err = text(&out.stderr);
    assert_eq!(err.matches(OPAQUE_NOTE).count(), 2, "{err}");
    assert_eq!(err.matches("`h` with derivative `h'`").count(), 1, "{err}");
    // nothing on stdout in JSON either, and no note without an opaque function
    let out = derive(program, &["--wrt", "x", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&accepted(&out)).unwrap();
    assert_eq!(json["of"], "L");
    let out = derive("L = Σ_i exp(x_i)", &["--wrt", "x"]);
    accepted(&out);
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
}

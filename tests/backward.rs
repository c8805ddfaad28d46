//! `--backward` (SPEC §2, §4): the backward pass as a program. Its lines read
//! against seed 003's recurrence, every output format, usage errors, the code's
//! linear growth, and a Python run of every case's `backward_<of>` against
//! finite differences of a forward pass written independently
//! (`tests/cases/backward/check.py`).

mod common;

use common::ricci;
use ricci::{Backend, Request, Style};

const MLP: &str = "tests/cases/backward/mlp.ricci";
const MLP_WRT: [&str; 4] = ["W^(1)", "b^(1)", "W^(2)", "b^(2)"];

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
    ricci::derive(source, &request).unwrap()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// The `# wrt:` line of a case.
fn wrt_of(source: &str) -> Vec<String> {
    source
        .lines()
        .find_map(|l| l.strip_prefix("# wrt: "))
        .unwrap()
        .split_whitespace()
        .map(String::from)
        .collect()
}

fn args<'a>(file: &'a str, wrt: &'a [String], rest: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec!["derive", file];
    for w in wrt {
        a.extend(["--wrt", w.as_str()]);
    }
    a.extend(rest);
    a
}

/// Seed 003: δ⁽²⁾ = 2 (ŷ − y) (∂L/∂s⁽²⁾ is ∂L/∂ŷ, folded), ∂L/∂W⁽²⁾ = δ⁽²⁾ z⁽¹⁾ᵀ,
/// ∂L/∂b⁽²⁾ = δ⁽²⁾, then δ⁽¹⁾ = [W⁽²⁾ ∂z⁽¹⁾/∂s⁽¹⁾]ᵀ δ⁽²⁾ in two lines (through
/// ∂L/∂z⁽¹⁾ = W⁽²⁾ᵀ δ⁽²⁾), ∂L/∂W⁽¹⁾ = δ⁽¹⁾ xᵀ and ∂L/∂b⁽¹⁾ = δ⁽¹⁾.
#[test]
fn the_seed_mlp_reads_as_the_documents_recurrence() {
    let d = derive(&read(MLP), &MLP_WRT);
    // the backward-only derivation (the command line's) gives the same lines
    let request = Request {
        wrt: MLP_WRT.map(String::from).to_vec(),
        ..Request::default()
    };
    let alone = ricci::Program::parse(&read(MLP), &request)
        .unwrap()
        .derive_backward(&request)
        .unwrap();
    assert!(alone.results.is_empty());
    assert_eq!(
        alone.backward_lines(Style::Unicode).unwrap(),
        d.backward_lines(Style::Unicode).unwrap()
    );
    assert_eq!(
        alone.backward_code(Backend::Numpy).unwrap(),
        d.backward_code(Backend::Numpy).unwrap()
    );
    assert_eq!(
        d.backward_lines(Style::Unicode).unwrap(),
        [
            "∂L/∂ŷ = 2 (ŷ − y) ∈ ℝ^(K)",
            "∂L/∂W⁽²⁾ = ∂L/∂ŷ z⁽¹⁾ᵀ ∈ ℝ^(K×H)",
            "∂L/∂b⁽²⁾ = ∂L/∂ŷ ∈ ℝ^(K)",
            "∂L/∂z⁽¹⁾ = W⁽²⁾ᵀ ∂L/∂ŷ ∈ ℝ^(H)",
            "∂L/∂s⁽¹⁾ = ∂L/∂z⁽¹⁾ ⊙ relu'(s⁽¹⁾) ∈ ℝ^(H)",
            "∂L/∂W⁽¹⁾ = ∂L/∂s⁽¹⁾ xᵀ ∈ ℝ^(H×D)",
            "∂L/∂b⁽¹⁾ = ∂L/∂s⁽¹⁾ ∈ ℝ^(H)",
        ]
    );
    assert_eq!(
        d.backward_lines(Style::Ascii).unwrap()[1],
        "dL/dW^(2) = dL/dyhat z^(1)^T in R^(KxH)"
    );
}

#[test]
fn a_requested_intermediate_is_a_line_and_is_not_folded() {
    let d = derive(&read(MLP), &["s^(2)", "W^(1)"]);
    let lines = d.backward_lines(Style::Unicode).unwrap();
    assert_eq!(lines[1], "∂L/∂s⁽²⁾ = ∂L/∂ŷ ∈ ℝ^(K)");
    assert_eq!(lines.last().unwrap(), "∂L/∂W⁽¹⁾ = ∂L/∂s⁽¹⁾ xᵀ ∈ ℝ^(H×D)");
    let code = d.backward_function(Backend::Numpy).unwrap();
    assert!(code.contains("return {\"s2\": dL_ds2, \"W1\": dL_dW1}"), "{code}");
}

#[test]
fn a_tensor_the_loss_does_not_read_gets_a_zero_line() {
    let d = derive("Y_i = 2 w_i\nL = Σ_i x_i^2", &["x", "w"]);
    let lines = d.backward_lines(Style::Unicode).unwrap();
    assert_eq!(lines, ["∂L/∂x = 2 x", "∂L/∂w = 0"]);
    let code = d.backward_function(Backend::Numpy).unwrap();
    assert!(code.contains("dL_dw = np.zeros(n_i)"), "{code}");
}

#[test]
fn a_line_with_no_matrix_form_is_in_index_form_and_coded_with_einsum() {
    let d = derive("C_ij = Σ_k A_ik B_kj\nT_ijk = C_ij x_k\nL = Σ_ijk T_ijk^2", &["A"]);
    let lines = d.backward_lines(Style::Unicode).unwrap();
    assert_eq!(
        lines,
        [
            "∂L/∂T_ijk = 2 T_ijk",
            "∂L/∂C_ij = Σ_k (∂L/∂T)_ijk x_k",
            "∂L/∂A = ∂L/∂C Bᵀ"
        ]
    );
    let code = d.backward_function(Backend::Numpy).unwrap();
    assert!(code.contains("dL_dC = np.einsum('ijk,k->ij', dL_dT, x)"), "{code}");
    // the backward function and the per-result function agree on the same arguments
    assert!(code.starts_with("def backward_L(A, B, x):"), "{code}");
}

#[test]
fn the_softmax_cross_entropy_line_is_the_underflow_free_one() {
    let d = derive(&read("tests/cases/backward/softmax_ce_mlp.ricci"), &["W1", "W2", "b2"]);
    let lines = d.backward_lines(Style::Unicode).unwrap();
    assert_eq!(lines[0], "∂L/∂Z = 1/S (P − T) ∈ ℝ^(S×C)");
    assert!(lines.iter().all(|l| !l.contains('⊘')), "{lines:?}");
    let code = d.backward_function(Backend::Numpy).unwrap();
    assert!(code.contains("dL_dZ = 1 / S * (P - T)"), "{code}");
    assert!(code.contains(".max(axis=1, keepdims=True)"), "{code}");
}

#[test]
fn every_forward_intermediate_and_every_gradient_is_computed_once() {
    let source = read("examples/transformer_block.ricci");
    let wrt = ["Wq", "Wk", "Wv", "Wo", "W1", "b1", "W2", "b2", "X"];
    let d = derive(&source, &wrt);
    let code = d.backward_function(Backend::Numpy).unwrap();
    let assigned: Vec<&str> = code
        .lines()
        .filter_map(|l| l.trim().split_once(" = ").map(|(a, _)| a))
        .collect();
    let mut unique = assigned.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), assigned.len(), "{code}");
    for name in ["P", "S", "H", "dL_dS", "dL_dH", "dL_dA"] {
        assert!(assigned.contains(&name), "{name} in {code}");
    }
    assert!(code.contains(
        "return {\"Wq\": dL_dWq, \"Wk\": dL_dWk, \"Wv\": dL_dWv, \"Wo\": dL_dWo, \"W1\": dL_dW1, \"b1\": dL_db1, \"W2\": dL_dW2, \"b2\": dL_db2, \"X\": dL_dX}"
    ));
    // the softmax's backward appears once, in ∂L/∂S
    assert_eq!(code.matches("(dL_dP * P)").count(), 1, "{code}");
    // a call several lines read is computed once, before the first of them
    for call in [
        "np.tanh(U)",
        "np.sqrt(v1 + epsilon)",
        "np.sqrt(v2 + epsilon)",
        "np.sqrt(E)",
    ] {
        assert_eq!(code.matches(call).count(), 1, "{call} once in {code}");
    }
}

/// An MLP of `layers` sigmoid layers with squared error.
fn deep_mlp(layers: usize) -> (String, Vec<String>) {
    let mut src = String::from("z0_i = x_i\n");
    let mut wrt = Vec::new();
    for l in 1..=layers {
        src.push_str(&format!(
            "s{l}_i = Σ_j W{l}_ij z{}_j + b{l}_i\nz{l}_i = σ(s{l}_i)\n",
            l - 1
        ));
        wrt.extend([format!("W{l}"), format!("b{l}")]);
    }
    src.push_str(&format!("L = Σ_i (z{layers}_i - y_i)^2\n"));
    (src, wrt)
}

#[test]
fn the_backward_code_grows_linearly_with_the_network() {
    let size = |layers| {
        let (src, wrt) = deep_mlp(layers);
        let wrt: Vec<&str> = wrt.iter().map(String::as_str).collect();
        let d = derive(&src, &wrt);
        assert_eq!(d.backward_lines(Style::Unicode).unwrap().len(), 4 * layers);
        d.backward_function(Backend::Numpy).unwrap().len()
    };
    let (two, sixteen) = (size(2), size(16));
    assert!(sixteen <= 10 * two, "2 layers: {two} characters, 16 layers: {sixteen}");
}

#[test]
fn every_function_of_a_program_takes_the_same_parameters() {
    let src = read("tests/cases/backward/attention.ricci");
    let d = derive(&src, &["Wq", "Wv", "X"]);
    let head = |f: &str| f.lines().next().unwrap().split_once('(').unwrap().1.to_string();
    let backward = d.backward_function(Backend::Numpy).unwrap();
    for f in d.functions(Backend::Numpy) {
        assert_eq!(head(&f), head(&backward), "{f}");
    }
    // Without --backward, the per-result functions share one signature too.
    let d = derive("index s : S\nO_sn = Σ_m Q_sm K_nm V_n", &["Q", "V"]);
    let fs = d.functions(Backend::Numpy);
    assert_eq!(head(&fs[0]), "Q, K, V, dL_dO):");
    assert_eq!(head(&fs[0]), head(&fs[1]));
}

#[test]
fn the_command_line_prints_every_format() {
    let wrt: Vec<String> = MLP_WRT.iter().map(|w| w.to_string()).collect();
    let text = ricci(&args(MLP, &wrt, &["--backward"]), b"");
    assert!(text.status.success());
    let text = String::from_utf8(text.stdout).unwrap();
    assert_eq!(text.lines().count(), 7);
    assert!(text.starts_with("∂L/∂ŷ = 2 (ŷ − y) ∈ ℝ^(K)\n"), "{text}");
    let ascii = String::from_utf8(ricci(&args(MLP, &wrt, &["--backward", "--ascii"]), b"").stdout).unwrap();
    assert!(
        ascii.is_ascii() && ascii.contains("dL/ds^(1) = dL/dz^(1) .* relu'(s^(1))"),
        "{ascii}"
    );

    let latex = String::from_utf8(ricci(&args(MLP, &wrt, &["--backward", "--format", "latex"]), b"").stdout).unwrap();
    assert!(latex.starts_with("\\begin{align}\n"), "{latex}");
    assert!(latex.contains("\\frac{\\partial L}{\\partial W^{(1)}} &= "), "{latex}");
    let doc = ricci(
        &args(MLP, &wrt, &["--backward", "--format", "latex", "--standalone"]),
        b"",
    );
    assert!(String::from_utf8(doc.stdout).unwrap().starts_with("\\documentclass"));

    let json = ricci(&args(MLP, &wrt, &["--backward", "--format", "json"]), b"");
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let lines = v["backward"]["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 7);
    assert_eq!(lines[0]["text"], "∂L/∂ŷ = 2 (ŷ − y) ∈ ℝ^(K)");
    assert!(lines[0]["latex"]
        .as_str()
        .unwrap()
        .starts_with("\\frac{\\partial L}{\\partial \\hat{y}} = "));
    let numpy = v["backward"]["numpy"].as_str().unwrap();
    assert!(numpy.starts_with("def backward_L(W1, x, b1, W2, b2, y):\n"), "{numpy}");
    assert_eq!(v["results"].as_array().unwrap().len(), 4);
    assert!(v["results"][0]["numpy"]
        .as_str()
        .unwrap()
        .starts_with("def dL_dW1(W1, x, b1, W2, b2, y):\n"));

    for (format, import) in [
        ("numpy", "import numpy as np\n"),
        ("torch", "import torch"),
        ("jax", "import jax.numpy as jnp\n"),
    ] {
        let out = ricci(&args(MLP, &wrt, &["--backward", "--format", format]), b"");
        let out = String::from_utf8(out.stdout).unwrap();
        assert!(out.contains(import), "{out}");
        assert!(out.contains("\n\n\ndef backward_L(W1, x, b1, W2, b2, y):\n"), "{out}");
        // the backward function replaces the per-result functions
        assert_eq!(out.matches("def ").count(), 1, "{out}");
    }
}

#[test]
fn a_second_derivative_or_a_jacobian_with_backward_is_a_usage_error() {
    for extra in [&["--hessian"][..], &["--hvp", "V"], &["--steps"]] {
        let mut a = vec!["derive", "-e", "L = Σ_i w_i^2", "--wrt", "w", "--backward"];
        a.extend(extra);
        let out = ricci(&a, b"");
        assert_eq!(out.status.code(), Some(2), "{extra:?}");
    }
    let out = ricci(
        &[
            "derive",
            "-e",
            "y_i = Σ_j A_ij x_j",
            "--of",
            "y",
            "--wrt",
            "x",
            "--backward",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("error: --backward is the backward pass of a scalar loss"),
        "{err}"
    );
    assert!(err.contains("help:"), "{err}");
}

#[test]
fn snapshots_of_the_seed_mlp_and_the_transformer_block() {
    let d = derive(&read(MLP), &MLP_WRT);
    let block = derive(
        &read("examples/transformer_block.ricci"),
        &["Wq", "Wk", "Wv", "Wo", "W1", "b1", "W2", "b2", "X"],
    );
    settings().bind(|| {
        insta::assert_snapshot!(
            "backward_mlp",
            format!(
                "{}\n{}",
                d.backward_text(Style::Unicode).unwrap(),
                d.backward_code(Backend::Numpy).unwrap()
            )
        );
        insta::assert_snapshot!(
            "backward_transformer_block",
            format!(
                "{}\n{}",
                block.backward_text(Style::Unicode).unwrap(),
                block.backward_code(Backend::Numpy).unwrap()
            )
        );
    });
}

/// Each case's `backward_<of>` against finite differences, in Python.
#[test]
fn the_numpy_backward_agrees_with_finite_differences() {
    let cases = [
        ("mlp", MLP),
        ("softmax_ce_mlp", "tests/cases/backward/softmax_ce_mlp.ricci"),
        ("attention", "tests/cases/backward/attention.ricci"),
        ("batchnorm_linear", "tests/cases/backward/batchnorm_linear.ricci"),
        ("transformer_block", "examples/transformer_block.ricci"),
    ];
    let dir = std::env::temp_dir().join(format!("ricci-backward-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (case, path) in cases {
        let source = read(path);
        let wrt = match case {
            "transformer_block" => ["Wq", "Wk", "Wv", "Wo", "W1", "b1", "W2", "b2", "X"]
                .map(String::from)
                .to_vec(),
            _ => wrt_of(&source),
        };
        let out = ricci(&args(path, &wrt, &["--backward", "--format", "json"]), b"");
        assert!(out.status.success(), "{case}");
        let json = dir.join(format!("{case}.json"));
        std::fs::write(&json, &out.stdout).unwrap();
        let run = std::process::Command::new("python3")
            .arg("tests/cases/backward/check.py")
            .arg(case)
            .arg(&json)
            .output();
        let run = match run {
            Ok(r) => r,
            Err(e) if std::env::var_os("CI").is_none() => {
                eprintln!("skipping the Python check: no python3 ({e})");
                return;
            }
            Err(e) => panic!("python3 is needed in CI: {e}"),
        };
        let report = format!(
            "{}{}",
            String::from_utf8_lossy(&run.stdout),
            String::from_utf8_lossy(&run.stderr)
        );
        if report.contains("No module named 'numpy'") && std::env::var_os("CI").is_none() {
            eprintln!("skipping the Python check: no numpy");
            return;
        }
        assert!(run.status.success(), "{case}:\n{report}");
        assert_eq!(report.matches(": ok").count(), wrt.len(), "{report}");
    }
}

/// For an undefined loss, `--backward --format torch|jax` also writes the
/// program as an autograd operation whose backward calls `backward_L` (run
/// against autograd in tests/autodiff/); a defined loss has none.
#[test]
fn an_undefined_loss_gets_an_autograd_operation() {
    let d = derive("Y_sn = Σ_m X_sm W_nm + b_n", &["W", "b"]);
    let torch = d.backward_code(Backend::Torch).unwrap();
    assert!(torch.contains("class Program(torch.autograd.Function):"), "{torch}");
    assert!(
        torch.contains("    def forward(_ctx, X, W, b):\n        Y = b + X @ W.T\n"),
        "{torch}"
    );
    assert!(
        torch.contains("        _grads = backward_L(X=X, dL_dY=dL_dY)\n"),
        "{torch}"
    );
    assert!(
        torch.contains("        return _grads.get(\"X\"), _grads.get(\"W\"), _grads.get(\"b\")\n"),
        "{torch}"
    );
    let jax = d.backward_code(Backend::Jax).unwrap();
    assert!(jax.contains("@jax.custom_vjp\ndef program(X, W, b):"), "{jax}");
    assert!(jax.contains("program.defvjp(_program_fwd, _program_bwd)"), "{jax}");
    assert_eq!(d.backward_wrapper(Backend::Numpy).unwrap(), None);
    // a defined loss: the framework's own autograd needs no wrapper
    let mlp = derive(&read(MLP), &MLP_WRT);
    assert_eq!(mlp.backward_wrapper(Backend::Torch).unwrap(), None);
    assert!(!mlp.backward_code(Backend::Jax).unwrap().contains("custom_vjp"));
}

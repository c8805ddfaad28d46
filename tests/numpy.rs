//! The NumPy and PyTorch code for every program of `tests/cases/numpy/`
//! (its `# wrt:` line names the tensors), snapshotted; and the properties
//! SPEC §4 asks of it on any program: distinct names, code that Python's
//! parser takes however long a product chain is, sizes from argument shapes.
//! `tests/python/test_numpy.py` runs the same code against finite differences.

use ricci::{Backend, Request};

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path("../snapshots");
    s.set_prepend_module_to_snapshot(false);
    s
}

fn code(source: &str, wrt: &[&str], backend: Backend) -> Vec<String> {
    let request = Request {
        wrt: wrt.iter().map(|w| w.to_string()).collect(),
        ..Request::default()
    };
    ricci::derive(source, &request).unwrap().functions(backend)
}

/// `(name, parameters)` of a generated function.
fn signature(f: &str) -> (String, Vec<String>) {
    let head = f.lines().next().unwrap().strip_prefix("def ").unwrap();
    let (name, rest) = head.split_once('(').unwrap();
    let params = rest.trim_end_matches("):").split(", ").filter(|p| !p.is_empty());
    (
        name.to_string(),
        params.map(|p| p.split('=').next().unwrap().to_string()).collect(),
    )
}

#[test]
fn numpy_cases() {
    settings().bind(|| {
        insta::glob!("cases/numpy/*.ricci", |path| {
            let source = std::fs::read_to_string(path).unwrap();
            let wrt = wrt_line(&source);
            let numpy = code(&source, &wrt, Backend::Numpy);
            let torch = code(&source, &wrt, Backend::Torch);
            insta::assert_snapshot!(format!("{}\n# torch\n\n{}", numpy.join("\n"), torch.join("\n")));
        });
    });
}

#[test]
fn names_that_share_a_spelling_are_made_distinct() {
    let source = "L = Σ_ij W^(1)_ij x_j + Σ_ij W1_ij x_j W1_ij + λ Σ_j x_j^2 + lambda Σ_j x_j";
    let fs = code(source, &["W^(1)", "W1", "λ", "lambda", "x"], Backend::Numpy);
    let sigs: Vec<(String, Vec<String>)> = fs.iter().map(|f| signature(f)).collect();
    let names: Vec<&str> = sigs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["dL_dW_1", "dL_dW1", "dL_dlambda_2", "dL_dlambda", "dL_dx"]);
    let (_, x_params) = &sigs[4];
    assert_eq!(x_params, &["W_1", "x", "W1", "lambda_2", "lambda_"]);
    for (name, params) in &sigs {
        let mut unique = params.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), params.len(), "{name}: {params:?}");
    }
}

#[test]
fn upstream_gradients_that_share_a_spelling_are_made_distinct() {
    let fs = code("Y^(1)_i = Σ_j A_ij x_j\nY1_i = x_i^2", &["x"], Backend::Numpy);
    assert_eq!(signature(&fs[0]).1, ["A", "x", "dL_dY1", "dL_dY_1"]);
}

#[test]
fn a_long_product_chain_stays_within_pythons_parser_limits() {
    let n = 250;
    let ix: Vec<String> = (0..=n).map(|k| format!("i{k}")).collect();
    let factors: Vec<String> = (0..n)
        .map(|k| format!("A{}_{{{},{}}}", k + 1, ix[k], ix[k + 1]))
        .collect();
    let source = format!("L = Σ_{{{}}} x_{{i0}} {} y_{{i{n}}}", ix.join(","), factors.join(" "));
    for backend in [Backend::Numpy, Backend::Torch] {
        for f in code(&source, &["A125", "x"], backend) {
            let mut depth = 0i32;
            let mut deepest = 0;
            for c in f.chars() {
                match c {
                    '(' | '[' => depth += 1,
                    ')' | ']' => depth -= 1,
                    _ => {}
                }
                deepest = deepest.max(depth);
            }
            assert!(deepest < 40, "nesting {deepest}");
            let longest = f.lines().map(|l| l.matches(" @ ").count()).max().unwrap();
            // at most two chains of 64 on one line: `np.outer(u, v)`
            assert!((10..=128).contains(&longest), "{longest} products on one line");
            assert!(f.contains("_t1 = "), "{}", &f[..200]);
            assert!(!f.contains("einsum"));
        }
    }
}

#[test]
fn sizes_come_from_argument_shapes_else_the_programs_index() {
    let fs = code("L = Σ_i X_ii + Σ_ij X_ij B_ij", &["X"], Backend::Numpy);
    assert_eq!(fs[0], "def dL_dX(B):\n    return B + np.eye(B.shape[0])\n");
    // ∂ tr X/∂X reads no array: the size is named after the program's index `i`
    let fs = code("L = Σ_i X_ii", &["X"], Backend::Numpy);
    assert_eq!(fs[0], "def dL_dX(n_i):\n    return np.eye(n_i)\n");
    let fs = code("index i : N\nL = Σ_i X_ii", &["X"], Backend::Numpy);
    assert_eq!(fs[0], "def dL_dX(N):\n    return np.eye(N)\n");
    // the count Σ_n 1 of the index form
    let fs = code("L = Σ_n (c - T_n)^2", &["c"], Backend::Numpy);
    assert_eq!(fs[0], "def dL_dc(T, c):\n    return 2 * (T.shape[0] * c - T.sum())\n");
}

/// The code of every result of a fixture of `tests/cases/numpy/`.
fn fixture_code(name: &str, backend: Backend) -> String {
    let source = std::fs::read_to_string(format!("tests/cases/numpy/{name}.ricci")).unwrap();
    let wrt = wrt_line(&source);
    code(&source, &wrt, backend).join("\n")
}

/// The tensors of a fixture's `# wrt:` line.
fn wrt_line(source: &str) -> Vec<&str> {
    source
        .lines()
        .find_map(|l| l.strip_prefix("# wrt: "))
        .unwrap()
        .split_whitespace()
        .collect()
}

const BACKENDS: [Backend; 3] = [Backend::Numpy, Backend::Torch, Backend::Jax];

/// SPEC §4, safe code, in all three backends: no division by an underflowing
/// softmax (`T / P`), no outer product with ones (broadcasting), no double
/// negation, no einsum where a matrix form or a sum says it.
#[test]
fn generated_code_is_safe_and_plain() {
    for name in [
        "mlp_softmax_ce",
        "batchnorm_linear",
        "softmax_axes",
        "bce",
        "attention",
        "vocabulary",
    ] {
        for backend in BACKENDS {
            let code = fixture_code(name, backend);
            for bad in [
                "T / P",
                "outer(np.ones",
                "outer(torch.ones",
                "outer(jnp.ones",
                "-(-",
                "einsum(",
            ] {
                assert!(!code.contains(bad), "{name} {backend:?} has {bad}:\n{code}");
            }
        }
    }
}

/// The underflow-free `P − T` survives the substitution of ∂L/∂Z into every
/// layer, in the matrix form and the code.
#[test]
fn every_layer_of_softmax_cross_entropy_reads_p_minus_t() {
    let source = std::fs::read_to_string("tests/cases/numpy/mlp_softmax_ce.ricci").unwrap();
    let request = Request {
        wrt: ["W1", "b1", "W2", "b2", "X"].iter().map(|w| w.to_string()).collect(),
        ..Request::default()
    };
    let d = ricci::derive(&source, &request).unwrap();
    for r in &d.results {
        let m = d.matrix_line(r, ricci::Style::Unicode);
        assert!(m.contains("(P − T)") && !m.contains('⊘'), "{m}");
    }
    for f in d.functions(Backend::Numpy) {
        assert!(f.contains("(P - T)") && !f.contains("/ P"), "{f}");
    }
}

/// Softmax and log-sum-exp subtract the maximum wherever they are written
/// out: along the first axis, of an expression, in a Hessian.
#[test]
fn every_softmax_subtracts_the_maximum() {
    let numpy = fixture_code("softmax_axes", Backend::Numpy);
    assert!(
        numpy.contains("_t1 = Z.max(axis=0)\n") && numpy.contains("np.exp(Z - _t1)"),
        "{numpy}"
    );
    assert!(
        numpy.contains("= W @ x\n") && !numpy.contains("np.exp(W @ x)"),
        "{numpy}"
    );
    let torch = fixture_code("softmax_axes", Backend::Torch);
    assert!(torch.contains("Z.amax(dim=0)"), "{torch}");
    let request = Request {
        wrt: vec!["w".into()],
        hessian: true,
        ..Request::default()
    };
    let d = ricci::derive("L = logsumexp_i(w_i)", &request).unwrap();
    for backend in BACKENDS {
        let f = &d.functions(backend)[0];
        assert!(f.contains(" = w.max()\n") && !f.contains("exp(w)"), "{f}");
    }
}

/// σ without overflow, and the log of a σ as a softplus.
#[test]
fn sigmoid_and_its_log_are_stable() {
    let numpy = fixture_code("bce", Backend::Numpy);
    assert!(numpy.contains("p = np.exp(-np.logaddexp(0, -z))"), "{numpy}");
    assert!(
        numpy.contains("-np.logaddexp(0, z) + np.logaddexp(0, -z)") && !numpy.contains("np.log("),
        "{numpy}"
    );
    let torch = fixture_code("bce", Backend::Torch);
    assert!(
        torch.contains("torch.nn.functional.softplus(-z)") && !torch.contains("torch.log("),
        "{torch}"
    );
    // σ(−z): the negations cancel
    let f = &code("L = Σ_j σ(-z_j) y_j", &["y"], Backend::Numpy)[0];
    assert!(f.contains("np.exp(-np.logaddexp(0, z))"), "{f}");
}

/// A repeated matrix product is computed once; PyTorch takes a function of
/// a size through `math` (`torch.sqrt` of an int raises), and imports math
/// only where a function uses it.
#[test]
fn repeated_products_once_and_sizes_through_math() {
    let numpy = fixture_code("attention", Backend::Numpy);
    assert_eq!(numpy.matches("dL_dO @ V.T").count(), 1, "{numpy}");
    let torch = fixture_code("attention", Backend::Torch);
    assert!(
        torch.contains("math.sqrt(E)") && !torch.contains("torch.sqrt(E)"),
        "{torch}"
    );
    assert!(torch.contains("    import math\n"), "{torch}");
    assert_eq!(Backend::Torch.import(), "import torch");
    let plain = code("L = Σ_i x_i^2", &["x"], Backend::Torch);
    assert!(!plain[0].contains("math"), "{}", plain[0]);
    // a scalar parameter under a function goes through torch.as_tensor
    let f = &code("L = sqrt(ε) Σ_i x_i", &["x"], Backend::Torch)[0];
    assert!(f.contains("torch.sqrt(torch.as_tensor(epsilon"), "{f}");
}

/// BatchNorm then a linear layer: ∂L/∂β reads W (it is `1ᵀ (Y − T) Wᵀ`).
#[test]
fn batchnorm_beta_reads_the_linear_layer() {
    let numpy = fixture_code("batchnorm_linear", Backend::Numpy);
    let beta = numpy.split("\n\n").find(|f| f.starts_with("def dL_dbeta")).unwrap();
    assert!(beta.contains("W @ (Y - T).T"), "{beta}");
    assert!(!numpy.contains("epsilon["), "{numpy}");
}

/// A sum over axes of one array is `.sum(axis=…)`, not `np.einsum`.
#[test]
fn a_reduction_is_a_sum_not_an_einsum() {
    let f = &code("L = Σ_ijk A_ijk x_i", &["x"], Backend::Numpy)[0];
    assert_eq!(f, "def dL_dx(A):\n    return A.sum(axis=(1, 2))\n");
    let f = &code("L = Σ_ijk A_ijk x_j", &["x"], Backend::Torch)[0];
    assert_eq!(f, "def dL_dx(A):\n    return A.sum(dim=(0, 2))\n");
}

/// `1 bᵀ + c 1ᵀ` is `b + c[:, None]`: NumPy broadcasts a row beside a column.
#[test]
fn a_row_and_a_column_broadcast_to_a_matrix() {
    let f = &code("Y_ij = exp(b_j + c_i)", &["b"], Backend::Numpy)[0];
    assert!(f.contains("Y = np.exp(b + c[:, None])"), "{f}");
    let f = &code("Y_ij = X_ij + b_j", &["X"], Backend::Numpy)[0];
    assert!(!f.contains("outer"), "{f}");
}

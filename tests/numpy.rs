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
            let wrt: Vec<&str> = source
                .lines()
                .find_map(|l| l.strip_prefix("# wrt: "))
                .unwrap()
                .split_whitespace()
                .collect();
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

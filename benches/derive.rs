//! `cargo bench`: in-process timings (text → matrix form) of every seed case,
//! of L-layer MLPs (scaling in depth), of a wide 8-index sum, and of a product
//! chain A₁…A_k differentiated by a middle factor, and of `--check` on the
//! trace of a chain of k matrices, and of the Gaussian negative
//! log-likelihood by its covariance (inv and logdet). divan reports medians.

use ricci::{Layout, Request};

/// The allocator the `ricci` binary uses, so that in-process figures match it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    divan::main();
}

/// Parse, check, differentiate, simplify, recognise and saturate: everything
/// but printing.
fn run(source: &str, wrt: &[String], layout: Layout) {
    let request = Request {
        wrt: wrt.to_vec(),
        layout,
        ..Request::default()
    };
    let d = ricci::derive(source, &request).expect("bench derivations succeed");
    divan::black_box(d);
}

#[path = "../tests/fixture/mod.rs"]
mod fixture;

fn seed(name: &str) -> (String, Vec<String>, Layout) {
    let path = format!("{}/tests/cases/derive/{name}.ricci", env!("CARGO_MANIFEST_DIR"));
    let f = fixture::read(std::path::Path::new(&path));
    let wrt = f.wrt();
    (f.source, wrt, f.layout)
}

const SEEDS: &[&str] = &[
    "000_linear",
    "000_activation",
    "001_matmul",
    "001_softmax_ce",
    "001_two_layer",
    "002_softmax",
    "002_softmax_ce",
    "003_mlp",
    "003_mlp_numerator",
    "003_mlp_sigmoid",
    "003_bce",
    "003_bce_sigmoid",
    "004_hw",
];

/// Every SEED-RESULTS case, all of its `--wrt` at once.
#[divan::bench(args = SEEDS)]
fn seed_case(bencher: divan::Bencher, name: &str) {
    let (source, wrt, layout) = seed(name);
    bencher.bench(|| run(&source, &wrt, layout));
}

/// An L-layer MLP with relu and biases and a squared-error loss.
pub fn mlp(layers: usize) -> String {
    let mut lines = vec!["s1_i = Σ_j W1_ij x_j + b1_i".to_string()];
    for l in 1..layers {
        lines.push(format!("z{l}_i = relu(s{l}_i)"));
        lines.push(format!("s{}_i = Σ_j W{}_ij z{l}_j + b{}_i", l + 1, l + 1, l + 1));
    }
    lines.push(format!("L = Σ_i (s{layers}_i - y_i)^2"));
    lines.join("\n")
}

const DEPTHS: &[usize] = &[1, 2, 4, 8, 16, 32, 64, 128];

/// ∂L/∂W1 through L layers: the cost should grow linearly in L.
#[divan::bench(args = DEPTHS, sample_count = 20)]
fn mlp_first_weight(bencher: divan::Bencher, layers: usize) {
    let source = mlp(layers);
    let wrt = vec!["W1".to_string()];
    bencher.bench(|| run(&source, &wrt, Layout::Gradient));
}

/// Every weight of an L-layer MLP at once.
#[divan::bench(args = DEPTHS, sample_count = 10)]
fn mlp_all_weights(bencher: divan::Bencher, layers: usize) {
    let source = mlp(layers);
    let wrt: Vec<String> = (1..=layers).map(|l| format!("W{l}")).collect();
    bencher.bench(|| run(&source, &wrt, Layout::Gradient));
}

/// One definition summing over 8 indices: the trace of a product of 8 matrices.
#[divan::bench]
fn wide_sum(bencher: divan::Bencher) {
    let source = "L = Σ_abcdefgh A_ab B_bc C_cd D_de E_ef F_fg G_gh H_ha";
    let wrt = vec!["D".to_string()];
    bencher.bench(|| run(source, &wrt, Layout::Gradient));
}

/// `z = max(y − n, … max(y − 1, x))`, nested `n` deep: the derivative grows
/// ×4 a level. Derived and printed as text (naming a repeated call once was
/// quadratic in the result's calls: 108 s at depth 8 before it counted them
/// by hash, 5 s after).
#[divan::bench(args = [4, 6], sample_count = 5)]
fn nested_max_printed(bencher: divan::Bencher, depth: usize) {
    let mut e = "x_k".to_string();
    for i in 1..=depth {
        e = format!("max(y_k - {i}, {e})");
    }
    let source = format!("z_k = {e}\nL = Σ_k z_k^2");
    let request = Request {
        wrt: vec!["y".into(), "x".into()],
        ..Request::default()
    };
    bencher.bench(|| {
        let d = ricci::derive(&source, &request).expect("bench derivations succeed");
        divan::black_box(d.text(ricci::Style::Unicode, false));
    });
}

/// Y = A₁ A₂ … A_k, differentiated by the middle factor.
pub fn chain(k: usize) -> String {
    let sums: Vec<String> = (2..=k).map(|n| format!("i{n}")).collect();
    let factors: Vec<String> = (1..=k).map(|n| format!("A{n}_{{i{n},i{}}}", n + 1)).collect();
    format!("Y_{{i1,i{}}} = Σ_{{{}}} {}", k + 1, sums.join(","), factors.join(" "))
}

const CHAIN: &[usize] = &[2, 4, 8, 16, 32];

#[divan::bench(args = CHAIN, sample_count = 10)]
fn product_chain(bencher: divan::Bencher, k: usize) {
    let source = chain(k);
    let wrt = vec![format!("A{}", k.div_ceil(2))];
    bencher.bench(|| run(&source, &wrt, Layout::Gradient));
}

/// `L = Σ_{i1,…,ik} A1_{i1,i2} A2_{i2,i3} … Ak_{ik,i1}`: the trace of a chain
/// of k matrices, one definition summing over k indices.
pub fn trace(k: usize) -> String {
    let sums: Vec<String> = (1..=k).map(|n| format!("i{n}")).collect();
    let factors: Vec<String> = (1..=k).map(|n| format!("A{n}_{{i{n},i{}}}", n % k + 1)).collect();
    format!("L = Σ_{{{}}} {}", sums.join(","), factors.join(" "))
}

const TRACE: &[usize] = &[8, 16, 32, 64];

/// `--check` of ∂L/∂A_{k/2} on the trace of k matrices (the derivation is done
/// once, outside the timing): random inputs, the forward pass, central finite
/// differences (two forward passes per entry of A_{k/2}), and both forms
/// evaluated. Exponential in k before contraction ordering (k = 10 took 32 s).
#[divan::bench(args = TRACE, sample_count = 10)]
fn check_trace(bencher: divan::Bencher, k: usize) {
    let source = trace(k);
    let request = Request {
        wrt: vec![format!("A{}", k / 2)],
        ..Request::default()
    };
    let d = ricci::derive(&source, &request).expect("bench derivations succeed");
    // the program's terms share `Rc`s: not `Sync`, so one thread
    bencher.bench_local(|| {
        let reports = d.check(1, &[]);
        assert_eq!(reports[0].verdict(1e-6), ricci::Verdict::Agrees);
        divan::black_box(reports)
    });
}

/// The Gaussian negative log-likelihood's gradient with respect to the
/// covariance (`tests/cases/inverse/gaussian_nll.ricci`, with `inv` and
/// `logdet`): the target is under 1 ms.
#[divan::bench]
fn gaussian_nll_covariance(bencher: divan::Bencher) {
    let path = format!("{}/tests/cases/inverse/gaussian_nll.ricci", env!("CARGO_MANIFEST_DIR"));
    let f = fixture::read(std::path::Path::new(&path));
    let wrt = vec!["S".to_string()];
    bencher.bench(|| run(&f.source, &wrt, f.layout));
}

/// Derives `request` of `source` (parse to matrix form).
fn run_request(source: &str, request: &Request) {
    let d = ricci::derive(source, request).expect("bench derivations succeed");
    divan::black_box(d);
}

/// A fixture of `tests/cases/jacobian/` or `tests/cases/hessian/` and its request.
fn second_case(dir: &str, name: &str) -> (String, Request) {
    let path = format!("{}/tests/cases/{dir}/{name}.ricci", env!("CARGO_MANIFEST_DIR"));
    let source = std::fs::read_to_string(path).expect("fixture is readable");
    let mut request = Request::default();
    for line in source.lines() {
        if let Some(of) = line.strip_prefix("# of: ") {
            request.of = of.into();
        } else if line == "# hessian" {
            request.hessian = true;
        } else if let Some(v) = line.strip_prefix("# hvp: ") {
            request.hvp = Some(v.into());
        } else if let Some(rest) = line.strip_prefix("# expect ").or(line.strip_prefix("# expect-index ")) {
            let wrt = rest.split_once(": ").expect("`# expect W: form`").0.to_string();
            if !request.wrt.contains(&wrt) {
                request.wrt.push(wrt);
            }
        }
    }
    (source, request)
}

const JACOBIANS_003: &[&str] = &[
    "003_relu_z1_by_s1",
    "003_relu_s2_by_z1",
    "003_relu_yhat_by_s2",
    "003_relu_s1_by_W1",
    "003_sigmoid_z1_by_s1",
    "003_sigmoid_yhat_by_s2",
];

/// Each Jacobian seed document 003 writes out (`--of Y`).
#[divan::bench(args = JACOBIANS_003)]
fn jacobian_003(bencher: divan::Bencher, name: &str) {
    let (source, request) = second_case("jacobian", name);
    bencher.bench(|| run_request(&source, &request));
}

const SECOND: &[&str] = &["logistic_regression", "hvp_logistic_regression", "logsumexp", "poisson"];

/// The Hessian (and HVP) of logistic regression, log-sum-exp and Poisson regression.
#[divan::bench(args = SECOND)]
fn hessian(bencher: divan::Bencher, name: &str) {
    let (source, request) = second_case("hessian", name);
    bencher.bench(|| run_request(&source, &request));
}

/// An L-layer tanh MLP with biases and a squared-error loss.
pub fn tanh_mlp(layers: usize) -> String {
    mlp(layers).replace("relu(", "tanh(")
}

const HESSIAN_DEPTHS: &[usize] = &[1, 2, 4, 8, 16];

/// ∂²L/∂b1∂b1 through L tanh layers: the gradient by b1 is composed through
/// every layer, then differentiated again through every layer.
#[divan::bench(args = HESSIAN_DEPTHS, sample_count = 10)]
fn hessian_tanh_mlp_first_bias(bencher: divan::Bencher, layers: usize) {
    let source = tanh_mlp(layers);
    let request = Request {
        wrt: vec!["b1".into()],
        hessian: true,
        ..Request::default()
    };
    bencher.bench(|| run_request(&source, &request));
}

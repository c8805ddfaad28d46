//! `cargo bench --bench backward`: in-process timings of `--backward` (text →
//! derivation → the backward pass's lines and its NumPy function) for the
//! transformer block of `examples/transformer_block.ricci` (nine `--wrt`) and
//! for L-layer MLPs (every weight and bias). divan reports medians.

use ricci::{Backend, Request, Style};

/// The allocator the `ricci` binary uses, so that in-process figures match it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    divan::main();
}

/// Parse, the reverse pass, then the backward pass's text and NumPy
/// function: everything `ricci derive --backward` does but printing.
fn run(source: &str, wrt: &[String]) {
    let request = Request {
        wrt: wrt.to_vec(),
        ..Request::default()
    };
    let program = ricci::Program::parse(source, &request).expect("bench programs parse");
    let d = program.derive_backward(&request).expect("bench derivations succeed");
    let text = d.backward_text(Style::Unicode).expect("a backward pass");
    let code = d.backward_code(Backend::Numpy).expect("a backward pass");
    divan::black_box((d, text, code));
}

/// The transformer block: LayerNorm, single-head attention, tanh-GELU MLP,
/// two residuals; nine `--wrt`.
#[divan::bench(sample_count = 20)]
fn transformer_block(bencher: divan::Bencher) {
    let path = format!("{}/examples/transformer_block.ricci", env!("CARGO_MANIFEST_DIR"));
    let source = std::fs::read_to_string(path).expect("the example exists");
    let wrt: Vec<String> = ["Wq", "Wk", "Wv", "Wo", "W1", "b1", "W2", "b2", "X"]
        .map(String::from)
        .to_vec();
    bencher.bench(|| run(&source, &wrt));
}

/// An L-layer MLP with relu and biases and a squared-error loss, and every
/// weight and bias as `--wrt`.
fn mlp(layers: usize) -> (String, Vec<String>) {
    let mut lines = vec!["s1_i = Σ_j W1_ij x_j + b1_i".to_string()];
    for l in 1..layers {
        lines.push(format!("z{l}_i = relu(s{l}_i)"));
        lines.push(format!("s{}_i = Σ_j W{}_ij z{l}_j + b{}_i", l + 1, l + 1, l + 1));
    }
    lines.push(format!("L = Σ_i (s{layers}_i - y_i)^2"));
    let wrt = (1..=layers).flat_map(|l| [format!("W{l}"), format!("b{l}")]).collect();
    (lines.join("\n"), wrt)
}

/// The backward pass of an L-layer MLP: its cost should grow linearly in L.
#[divan::bench(args = [2, 16, 128], sample_count = 10)]
fn mlp_backward(bencher: divan::Bencher, layers: usize) {
    let (source, wrt) = mlp(layers);
    bencher.bench(|| run(&source, &wrt));
}

//! The whole pipeline on structure-aware programs: definitions built from
//! arbitrary choices of operators, functions (sin, cos, erf, max, min among
//! them), reductions (mean, norm, logsumexp, softmax), matrix functions (inv,
//! det, logdet), decimal and scientific numbers, indices and tensors, under
//! arbitrary requests: gradients, Jacobians (a tensor `--of`), Hessians, HVPs,
//! either layout, and the backward pass. Never a panic; a refused request must
//! be an `Err`; every result must render in every format (NumPy, PyTorch, JAX),
//! and the numeric check must run on it.
//!
//! Bounds that keep an input fast: an expression is at most 6 deep, a program
//! has at most 4 definitions, and at most 2 `max`/`min` calls in all (so their
//! nesting, through definitions too, is at most 2: deeper nesting is known to
//! be slow, and bounded by the engine's MAX_LOWERED_NODES refusal).
//!
//! Debugging aids (environment variables, read at each input):
//! - `RICCI_FUZZ_PRINT=1` prints the program and the request to stderr
//!   (run the fuzz binary on one input to decode it);
//! - `RICCI_FUZZ_DISAGREE=FILE` appends every program whose numeric check
//!   says FAILED to FILE, with its request (not a crash: kinks of relu, abs,
//!   max and min can make finite differences disagree legitimately).
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Node {
    Tensor(u8, u8),
    Number(u8),
    /// A decimal or a number in scientific notation.
    Decimal(u8, u8, u8),
    Add(Box<Node>, Box<Node>),
    Sub(Box<Node>, Box<Node>),
    Mul(Box<Node>, Box<Node>),
    Div(Box<Node>, Box<Node>),
    Pow(Box<Node>, i8),
    Call(u8, Box<Node>),
    /// `max(a, b)` or `min(a, b)`.
    Call2(bool, Box<Node>, Box<Node>),
    Sum(u8, Box<Node>),
    /// `mean_k T`, `norm_k(T)`, `logsumexp_k(T)`, `softmax_k(T)`.
    Reduce(u8, u8, Box<Node>),
    /// `inv(A)_ij`, `det(A)`, `logdet(A)`.
    Matrix(u8, u8, u8),
    Delta(u8, u8),
}

#[derive(Arbitrary, Debug)]
struct Program {
    // the request first, so that it does not fall back to its defaults when
    // the definitions use up the input
    wrt: (u8, Option<u8>),
    of: u8,
    hessian: bool,
    hvp: Option<u8>,
    layout: bool,
    backward: u8,
    render: u8,
    loss: u8,
    declare: u8,
    definitions: Vec<(u8, u8, Node)>,
}

/// Inputs, and the definitions (referring to one another makes chains,
/// cycles and order clashes).
const NAMES: &[&str] = &["A", "B", "x", "y", "c", "W^(1)", "ŷ", "D0", "D1", "D2"];
const INDICES: &[&str] = &["i", "j", "k"];
const FUNCTIONS: &[&str] = &[
    "exp", "log", "tanh", "σ", "relu", "softplus", "abs", "sqrt", "h", "sin", "cos", "erf", "sigmoid",
];
const REDUCTIONS: &[&str] = &["mean", "norm", "logsumexp", "softmax"];
const MATRIX: &[&str] = &["inv", "det", "logdet"];
const DECLARATIONS: &[&str] = &["", "index i, j : N", "index i, j, k : N", "index i : N; index j, k : M"];
/// `--hvp` directions: new names, and names the program may use (refused).
const DIRECTIONS: &[&str] = &["V", "v", "A", "x", "L"];
/// How many `max`/`min` calls a program may have.
const MAX_MIN_CALLS: u32 = 2;

struct Ctx {
    max_min_left: u32,
}

fn render(n: &Node, depth: u32, cx: &mut Ctx) -> String {
    if depth > 6 {
        return "1".into();
    }
    let ix = |k: u8| INDICES[k as usize % INDICES.len()];
    match n {
        Node::Tensor(t, k) => {
            let name = NAMES[*t as usize % NAMES.len()];
            match k % 3 {
                0 => name.to_string(),
                1 => format!("{name}_{}", ix(*k / 3)),
                _ => format!("{name}_{}{}", ix(*k / 3), ix(*k / 9)),
            }
        }
        Node::Number(v) => format!("{}", v % 7),
        Node::Decimal(m, f, e) => {
            let (m, f) = (m % 10, f % 100);
            let exp = e % 5;
            match e / 5 % 6 {
                0 => format!("{m}.{f}"),
                1 => format!("{m}.{f:02}"),
                2 => format!("{m}e-{exp}"),
                3 => format!("{m}.{f}E{exp}"),
                4 => format!("{m}e+{exp}"),
                _ => format!("{m}.{f}e−{exp}"),
            }
        }
        Node::Add(a, b) => format!("({} + {})", render(a, depth + 1, cx), render(b, depth + 1, cx)),
        Node::Sub(a, b) => format!("({} - {})", render(a, depth + 1, cx), render(b, depth + 1, cx)),
        Node::Mul(a, b) => format!("({}) ({})", render(a, depth + 1, cx), render(b, depth + 1, cx)),
        Node::Div(a, b) => format!("({}) / ({})", render(a, depth + 1, cx), render(b, depth + 1, cx)),
        Node::Pow(a, e) => format!("({})^{}", render(a, depth + 1, cx), e % 4),
        Node::Call(f, a) => format!(
            "{}({})",
            FUNCTIONS[*f as usize % FUNCTIONS.len()],
            render(a, depth + 1, cx)
        ),
        Node::Call2(is_max, a, b) => {
            if cx.max_min_left == 0 {
                // over the budget: the first argument alone
                return format!("({})", render(a, depth + 1, cx));
            }
            cx.max_min_left -= 1;
            let f = if *is_max { "max" } else { "min" };
            format!("{f}({}, {})", render(a, depth + 1, cx), render(b, depth + 1, cx))
        }
        Node::Sum(k, a) => format!("Σ_{} ({})", ix(*k), render(a, depth + 1, cx)),
        Node::Reduce(r, k, a) => {
            let body = render(a, depth + 1, cx);
            match REDUCTIONS[*r as usize % REDUCTIONS.len()] {
                "mean" => format!("(mean_{} ({body}))", ix(*k)),
                f => format!("{f}_{}({body})", ix(*k)),
            }
        }
        Node::Matrix(f, t, k) => {
            let name = NAMES[*t as usize % NAMES.len()];
            match MATRIX[*f as usize % MATRIX.len()] {
                "inv" => format!("inv({name})_{}{}", ix(*k), ix(*k / 3)),
                f => format!("{f}({name})"),
            }
        }
        Node::Delta(a, b) => format!("δ_{}{}", ix(*a), ix(*b)),
    }
}

fn print_enabled() -> bool {
    std::env::var_os("RICCI_FUZZ_PRINT").is_some()
}

fuzz_target!(|p: Program| {
    let mut cx = Ctx { max_min_left: MAX_MIN_CALLS };
    let mut lines = Vec::new();
    let declaration = DECLARATIONS[p.declare as usize % DECLARATIONS.len()];
    if !declaration.is_empty() {
        lines.push(declaration.to_string());
    }
    let mut defined = Vec::new();
    for (n, (order, _, rhs)) in p.definitions.iter().take(4).enumerate() {
        let lhs = match order % 3 {
            0 => format!("D{n}"),
            1 => format!("D{n}_i"),
            _ => format!("D{n}_ij"),
        };
        lines.push(format!("{lhs} = {}", render(rhs, 0, &mut cx)));
        defined.push((format!("D{n}"), order % 3));
    }
    if let Some((last, order)) = defined.last() {
        match (p.loss % 5, order) {
            (0, _) => {}
            (1, _) => lines.push(format!("L = {last}")),
            (2, 0) | (3, 0) | (4, 0) => lines.push(format!("L = ({last})^2")),
            (2, 1) => lines.push(format!("L = Σ_i {last}_i")),
            (2, _) => lines.push(format!("L = Σ_ij {last}_ij")),
            (3, 1) => lines.push(format!("L = logsumexp_i({last}_i)")),
            (3, _) => lines.push(format!("L = Σ_i logsumexp_j({last}_ij)")),
            (_, 1) => lines.push(format!("L = norm_i({last}_i)")),
            (_, _) => lines.push(format!("L = mean_i Σ_j ({last}_ij)^2")),
        }
    }
    let source = lines.join("\n");

    let layout = if p.layout { ricci::Layout::Numerator } else { ricci::Layout::Gradient };
    let parse_request = ricci::Request::default();
    let Ok(program) = ricci::Program::parse(&source, &parse_request) else {
        if print_enabled() {
            eprintln!("--- program (refused)\n{source}");
        }
        return;
    };
    let names: Vec<String> = program.tensors().map(String::from).collect();
    if names.is_empty() {
        return;
    }
    let pick = |w: u8| names[w as usize % names.len()].clone();
    let wrt: Vec<String> = std::iter::once(pick(p.wrt.0)).chain(p.wrt.1.map(pick)).collect();
    // `--of`: the loss, or a defined tensor (a Jacobian when it has indices)
    let of = match p.of % 4 {
        0 | 1 => "L".to_string(),
        _ if defined.is_empty() => "L".to_string(),
        k => defined[(p.of as usize / 4 + k as usize) % defined.len()].0.clone(),
    };
    let hvp = p.hvp.map(|v| DIRECTIONS[v as usize % DIRECTIONS.len()].to_string());
    let request = ricci::Request {
        wrt,
        of,
        layout,
        hessian: p.hessian,
        hvp,
        ..Default::default()
    };
    if print_enabled() {
        eprintln!(
            "--- program\n{source}\n--- request: --of {} --wrt {:?} hessian={} hvp={:?} layout={:?} backward={} render={}",
            request.of,
            request.wrt,
            request.hessian,
            request.hvp,
            request.layout,
            p.backward % 3,
            p.render
        );
    }
    let style = if p.render & 1 == 0 { ricci::Style::Unicode } else { ricci::Style::Ascii };
    let steps = p.render & 2 != 0;
    let standalone = p.render & 4 != 0;
    let backends = [ricci::Backend::Numpy, ricci::Backend::Torch, ricci::Backend::Jax];

    match p.backward % 3 {
        // the backward pass alone (`--backward --format text|latex|numpy|torch|jax`)
        2 => {
            let Ok(d) = program.derive_backward(&request) else { return };
            let _ = d.backward_lines(style);
            let _ = d.backward_text(style);
            let _ = d.backward_equations();
            let _ = d.backward_latex(standalone);
            for backend in backends {
                let _ = d.backward_code(backend);
                let _ = d.backward_function(backend);
                let _ = d.backward_wrapper(backend);
            }
        }
        // every result, every format, the check; the backward pass on top
        // when `backward` is 0 (`--backward --format json`, `--backward --check`)
        b => {
            let Ok(d) = program.derive(&request) else { return };
            let _ = d.text(style, steps);
            let _ = d.latex(standalone, steps);
            for backend in backends {
                let _ = d.code(backend);
            }
            for result in &d.results {
                let _ = d.index_line(result, style);
                let _ = d.matrix_line(result, style);
                let _ = (result.kind(), result.direction(), result.has_matrix_form());
            }
            // the numeric check on small random tensors: it must not panic either
            let checks: Vec<_> = d
                .check(3, &[])
                .into_iter()
                .map(|r| {
                    let j = r.judge(ricci::CHECK_TOLERANCE);
                    (r, j)
                })
                .collect();
            if let Some(path) = std::env::var_os("RICCI_FUZZ_DISAGREE") {
                if checks.iter().any(|(_, j)| j.verdict == ricci::Verdict::Disagrees) {
                    use std::io::Write;
                    if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
                        let _ = writeln!(
                            f,
                            "--- --of {} --wrt {:?} hessian={} hvp={:?} layout={:?}\n{source}",
                            request.of, request.wrt, request.hessian, request.hvp, request.layout
                        );
                    }
                }
            }
            let _ = d.json(style, &checks);
            if b == 0 {
                let _ = d.backward_text(style);
                let _ = d.backward_latex(standalone);
                let _ = d.backward_json(style, &checks);
                for backend in backends {
                    let _ = d.backward_code(backend);
                    let _ = d.backward_wrapper(backend);
                }
            }
        }
    }
});

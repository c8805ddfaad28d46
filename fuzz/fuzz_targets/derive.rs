//! The whole pipeline on structure-aware programs: definitions built from
//! arbitrary choices of operators, functions, indices and tensors. Never a
//! panic; every result must render in every format (NumPy and Torch too), and
//! the numeric check must run on it.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Node {
    Tensor(u8, u8),
    Number(u8),
    Add(Box<Node>, Box<Node>),
    Sub(Box<Node>, Box<Node>),
    Mul(Box<Node>, Box<Node>),
    Div(Box<Node>, Box<Node>),
    Pow(Box<Node>, i8),
    Call(u8, Box<Node>),
    Sum(u8, Box<Node>),
    Delta(u8, u8),
}

#[derive(Arbitrary, Debug)]
struct Program {
    definitions: Vec<(u8, u8, Node)>,
    loss: bool,
    wrt: u8,
}

const NAMES: &[&str] = &["A", "B", "x", "y", "c", "W^(1)", "ŷ"];
const INDICES: &[&str] = &["i", "j", "k"];
const FUNCTIONS: &[&str] = &["exp", "log", "tanh", "σ", "relu", "softplus", "abs", "sqrt", "h"];

fn render(n: &Node, depth: u32) -> String {
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
        Node::Add(a, b) => format!("({} + {})", render(a, depth + 1), render(b, depth + 1)),
        Node::Sub(a, b) => format!("({} - {})", render(a, depth + 1), render(b, depth + 1)),
        Node::Mul(a, b) => format!("({}) ({})", render(a, depth + 1), render(b, depth + 1)),
        Node::Div(a, b) => format!("({}) / ({})", render(a, depth + 1), render(b, depth + 1)),
        Node::Pow(a, e) => format!("({})^{}", render(a, depth + 1), e % 4),
        Node::Call(f, a) => format!("{}({})", FUNCTIONS[*f as usize % FUNCTIONS.len()], render(a, depth + 1)),
        Node::Sum(k, a) => format!("Σ_{} ({})", ix(*k), render(a, depth + 1)),
        Node::Delta(a, b) => format!("δ_{}{}", ix(*a), ix(*b)),
    }
}

fuzz_target!(|p: Program| {
    let mut lines = Vec::new();
    for (n, (order, _, rhs)) in p.definitions.iter().take(4).enumerate() {
        let lhs = match order % 3 {
            0 => format!("D{n}"),
            1 => format!("D{n}_i"),
            _ => format!("D{n}_ij"),
        };
        lines.push(format!("{lhs} = {}", render(rhs, 0)));
    }
    if p.loss && !lines.is_empty() {
        lines.push(format!("L = D{}", lines.len() - 1));
    }
    let source = lines.join("\n");
    let Ok(program) = ricci::Program::parse(&source, &ricci::Request::default()) else { return };
    let names: Vec<String> = program.tensors().map(String::from).collect();
    if names.is_empty() {
        return;
    }
    let wrt = names[p.wrt as usize % names.len()].clone();
    let request = ricci::Request { wrt: vec![wrt], ..Default::default() };
    let Ok(d) = program.derive(&request) else { return };
    let _ = d.text(ricci::Style::Unicode, false);
    let _ = d.latex(false, false);
    for backend in [ricci::Backend::Numpy, ricci::Backend::Torch] {
        let _ = d.code(backend);
    }
    // the numeric check on small random tensors: it must not panic either
    let checks: Vec<_> = d.check(3, &[]).into_iter().map(|r| { let j = r.judge(1e-6); (r, j) }).collect();
    let _ = d.json(ricci::Style::Unicode, &checks);
});

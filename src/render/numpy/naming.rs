//! Python names for one program, distinct and deterministic (SPEC §4).
//!
//! - A program name is spelled in ASCII ([`identifier`]): `W^(1)` → `W1`,
//!   `ŷ` → `yhat`, Greek letters spelled out (`α` → `alpha`), and a name that is
//!   a Python keyword or one of the module names `np`, `torch`, `math` gets a
//!   trailing underscore (`λ` → `lambda_`).
//! - When two program names would share a spelling, a name written in plain
//!   ASCII keeps it, and so does the first (in program order) of the others.
//!   The name that loses it is spelled, if it has a superscript, with the
//!   superscript after an underscore (`W^(1)` → `W_1` when the program also has
//!   `W1`; `ŷ^(2)` → `yhat_2`), else — or if that is taken too — with the first
//!   free suffix `_2`, `_3`, … (`ŷ` → `yhat_2` when the program also has `yhat`).
//!   The naming depends on the whole program, not on what a result reads, so a
//!   name is spelled the same in every function of the program.
//! - Names made from those are distinct from every program name: the upstream
//!   gradient `∂L/∂Y` and the function of `∂L/∂Y` are `dL_dY` (with the
//!   spellings above, less a keyword's underscore: `dL_dW_1`, `dL_dlambda`), an
//!   opaque function `h` is passed as `h` with its derivative `h_prime`; a
//!   clash gets the first free suffix `_2`, `_3`, ….
//! - A size no argument array gives is an `int` parameter named after the
//!   range symbol of its dimension (`N`), or else `n_` and the first index
//!   *of the program* over that dimension, in program order (`n_i`); a clash
//!   takes the dimension's next index name (`n_j`), then a suffix.

use std::collections::{HashMap, HashSet};

use crate::derive::Lowered;
use crate::render::names::ascii_name;
use crate::syntax::ast::{Expr, ExprKind, StatementKind};
use crate::syntax::Program;

const RESERVED: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
    "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
    "not", "or", "pass", "raise", "return", "try", "while", "with", "yield", "np", "torch", "math",
];

/// The ASCII spelling of a program name as a Python identifier, before any
/// clash is resolved: `W^(1)` → `W1`, `ŷ` → `yhat`, `λ` → `lambda_`.
pub fn identifier(name: &str) -> String {
    let mut s = ascii_name(name);
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    if RESERVED.contains(&s.as_str()) {
        s.push('_');
    }
    s
}

/// The Python names of one program's output.
#[derive(Debug, Clone)]
pub(super) struct PyNames {
    /// Program name (tensor, scalar, range symbol, opaque function) → identifier.
    program: HashMap<String, String>,
    /// Program name → its spelling inside made names: the identifier without
    /// the keyword's underscore (`λ` → `lambda`, so `dL_dlambda`).
    bare: HashMap<String, String>,
    /// Made names (`dL_dY`, `h_prime`) → identifier.
    made: HashMap<String, String>,
    /// Dimension class → `int` parameter name.
    sizes: HashMap<u32, String>,
    /// Index name → its classes, for the size symbols `n_i` of the index form.
    index_classes: HashMap<String, Vec<u32>>,
    taken: HashSet<String>,
}

/// Program names (tensors, scalars, range symbols, opaque functions) and index
/// names, each in the order it first appears.
fn names_in_order(program: &Program) -> (Vec<String>, Vec<String>) {
    let mut names: Vec<String> = Vec::new();
    let mut indices: Vec<String> = Vec::new();
    let push = |v: &mut Vec<String>, s: &str| {
        if !v.iter().any(|x| x == s) {
            v.push(s.to_string());
        }
    };
    let walk = |e: &Expr, names: &mut Vec<String>, indices: &mut Vec<String>| {
        e.walk(&mut |x| match &x.kind {
            ExprKind::Tensor(t) => {
                push(names, &t.name.name);
                t.indices.iter().for_each(|i| push(indices, &i.name));
            }
            ExprKind::Delta(ix) | ExprKind::Sum { indices: ix, .. } => {
                ix.iter().for_each(|i| push(indices, &i.name));
            }
            ExprKind::MatrixCall {
                matrix, indices: ix, ..
            } => {
                push(names, &matrix.name);
                ix.iter().for_each(|i| push(indices, &i.name));
            }
            ExprKind::Reduce { index, .. } => push(indices, &index.name),
            ExprKind::Call { function, .. } => {
                let base = function.name.trim_end_matches('\'');
                if program.opaque_functions.contains(base) {
                    push(names, base);
                }
            }
            _ => {}
        });
    };
    for statement in &program.syntax.statements {
        match &statement.kind {
            StatementKind::Index { indices: ix, range } => {
                ix.iter().for_each(|i| push(&mut indices, &i.name));
                push(&mut names, &range.name);
            }
            StatementKind::Definition { lhs, rhs } => {
                push(&mut names, &lhs.name.name);
                lhs.indices.iter().for_each(|i| push(&mut indices, &i.name));
                walk(rhs, &mut names, &mut indices);
            }
            StatementKind::Assume { lhs, rhs } => {
                walk(lhs, &mut names, &mut indices);
                if let Some(rhs) = rhs {
                    walk(rhs, &mut names, &mut indices);
                }
            }
        }
    }
    for n in program.tensors.keys().chain(program.opaque_functions.iter()) {
        push(&mut names, n);
    }
    (names, indices)
}

impl PyNames {
    /// The names of `program`'s functions of the loss `of`.
    pub fn new(program: &Program, lowered: &Lowered, of: &str) -> PyNames {
        let (mut names, indices) = names_in_order(program);
        if !names.iter().any(|n| n == of) {
            names.push(of.to_string());
        }
        let mut out = PyNames {
            program: HashMap::new(),
            bare: HashMap::new(),
            made: HashMap::new(),
            sizes: HashMap::new(),
            index_classes: HashMap::new(),
            taken: HashSet::new(),
        };
        // Names written in plain ASCII first, then the others, each in program order.
        let plain = |n: &String| ascii_name(n) == **n;
        let ordered = names
            .iter()
            .filter(|n| plain(n))
            .chain(names.iter().filter(|n| !plain(n)));
        for name in ordered {
            let spelled = identifier(name);
            let py = if !out.taken.contains(&spelled) {
                out.bare.insert(name.clone(), ascii_name(name));
                spelled
            } else {
                let superscript = name
                    .split_once("^(")
                    .map(|(base, sup)| format!("{}_{}", identifier(base), ascii_name(sup)));
                match superscript {
                    Some(s) if !out.taken.contains(&s) => s,
                    // `lambda_2`, not `lambda__2`
                    _ => out.suffixed(spelled.strip_suffix('_').unwrap_or(&spelled)),
                }
            };
            out.taken.insert(py.clone());
            out.bare.entry(name.clone()).or_insert_with(|| py.clone());
            out.program.insert(name.clone(), py);
        }
        // Made names, in a fixed order.
        out.make(format!("backward_{}", out.bare(of)));
        for name in &names {
            let grad = format!("d{}_d{}", out.bare(of), out.bare(name));
            out.make(grad);
            // a Hessian's and an HVP's functions (SPEC §4)
            out.make(format!("d2{}_d{}2", out.bare(of), out.bare(name)));
            out.make(format!("hvp_{}_{}", out.bare(of), out.bare(name)));
            if program.opaque_functions.contains(name) {
                let mut prime = out.bare(name);
                for _ in 0..3 {
                    prime.push_str("_prime");
                    out.make(prime.clone());
                }
            }
        }
        // Sizes: the range symbol, else the program's first index over the class.
        let dims = &lowered.dims;
        let mut candidates: Vec<(u32, Vec<String>)> = Vec::new();
        for index in &indices {
            let classes = dims.classes_named(index);
            out.index_classes.insert(index.clone(), classes.clone());
            for class in classes {
                match candidates.iter_mut().find(|(c, _)| *c == class) {
                    Some((_, v)) => v.push(index.clone()),
                    None => candidates.push((class, vec![index.clone()])),
                }
            }
        }
        for class in dims.classes() {
            if !candidates.iter().any(|(c, _)| *c == class) {
                candidates.push((class, Vec::new()));
            }
        }
        for (class, names) in candidates {
            let py = match dims.range_of(class) {
                Some(range) => out.name(range),
                None => {
                    let options: Vec<String> = names.iter().map(|i| format!("n_{}", ascii_name(i))).collect();
                    let free = options.iter().find(|o| !out.taken.contains(*o)).cloned();
                    let py = free.unwrap_or_else(|| out.fresh(options.first().map_or("n", |s| s.as_str())));
                    out.taken.insert(py.clone());
                    py
                }
            };
            out.sizes.insert(class, py);
        }
        out
    }

    /// `base`, or `base_2`, `base_3`, … the first that is free.
    fn fresh(&self, base: &str) -> String {
        if !self.taken.contains(base) {
            return base.to_string();
        }
        self.suffixed(base)
    }

    /// `base_2`, `base_3`, … the first that is free.
    fn suffixed(&self, base: &str) -> String {
        (2..)
            .map(|k| format!("{base}_{k}"))
            .find(|c| !self.taken.contains(c))
            .expect("some suffix is free")
    }

    fn make(&mut self, candidate: String) {
        if self.made.contains_key(&candidate) {
            return;
        }
        let py = self.fresh(&candidate);
        self.taken.insert(py.clone());
        self.made.insert(candidate, py);
    }

    /// The identifier of a program name.
    pub fn name(&self, name: &str) -> String {
        self.program.get(name).cloned().unwrap_or_else(|| identifier(name))
    }

    fn bare(&self, name: &str) -> String {
        self.bare.get(name).cloned().unwrap_or_else(|| ascii_name(name))
    }

    /// `dL_dY`: the upstream gradient ∂of/∂wrt, and the function computing it.
    pub fn grad(&self, of: &str, wrt: &str) -> String {
        let candidate = format!("d{}_d{}", self.bare(of), self.bare(wrt));
        self.made.get(&candidate).cloned().unwrap_or(candidate)
    }

    /// The function of a result: `d<of>_d<wrt>` (a gradient, a Jacobian),
    /// `d2<of>_d<wrt>2` (a Hessian), `hvp_<of>_<wrt>` (an HVP).
    pub fn function(&self, of: &str, wrt: &str, kind: crate::Kind) -> String {
        let candidate = match kind {
            crate::Kind::Gradient | crate::Kind::Jacobian => return self.grad(of, wrt),
            crate::Kind::Hessian => format!("d2{}_d{}2", self.bare(of), self.bare(wrt)),
            crate::Kind::Hvp => format!("hvp_{}_{}", self.bare(of), self.bare(wrt)),
        };
        self.made.get(&candidate).cloned().unwrap_or(candidate)
    }

    /// `backward_L`: the backward pass's function.
    pub fn backward(&self, of: &str) -> String {
        let candidate = format!("backward_{}", self.bare(of));
        self.made.get(&candidate).cloned().unwrap_or(candidate)
    }

    /// `h`, `h_prime`, `h_prime_prime`: an opaque function differentiated `primes` times.
    pub fn opaque(&self, name: &str, primes: u8) -> String {
        if primes == 0 {
            return self.name(name);
        }
        let candidate = format!("{}{}", self.bare(name), "_prime".repeat(primes as usize));
        self.made.get(&candidate).cloned().unwrap_or(candidate)
    }

    /// The `int` parameter for the size of a dimension class.
    pub fn size(&self, class: u32) -> String {
        self.sizes.get(&class).cloned().unwrap_or_else(|| format!("n_d{class}"))
    }

    /// The classes of a program index name.
    pub fn classes_of_index(&self, index: &str) -> &[u32] {
        self.index_classes.get(index).map_or(&[], |v| v.as_slice())
    }

    /// Every identifier a program name or a made name has taken.
    #[cfg(test)]
    pub fn taken(&self) -> std::collections::BTreeSet<String> {
        self.taken.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(source: &str) -> PyNames {
        let program = crate::load(source, &crate::Options::default()).unwrap();
        let lowered = crate::derive::lower(&program);
        PyNames::new(&program, &lowered, "L")
    }

    #[test]
    fn ascii_names_keep_their_spelling_and_the_others_give_way() {
        let n = names("L = Σ_i W^(1)_i x_i + Σ_i W1_i x_i + λ lambda + Σ_i ŷ_i yhat_i + Σ_i W^(L)_i x_i");
        assert_eq!(n.name("W1"), "W1");
        assert_eq!(n.name("W^(1)"), "W_1");
        assert_eq!(n.name("W^(L)"), "WL");
        assert_eq!(n.name("lambda"), "lambda_");
        assert_eq!(n.name("λ"), "lambda_2");
        assert_eq!(n.name("yhat"), "yhat");
        assert_eq!(n.name("ŷ"), "yhat_2");
        assert_eq!(n.grad("L", "W^(1)"), "dL_dW_1");
        assert_eq!(n.grad("L", "λ"), "dL_dlambda_2");
        assert_eq!(n.grad("L", "lambda"), "dL_dlambda");
    }

    #[test]
    fn without_a_clash_the_spelling_is_the_ascii_one() {
        let n = names("L = Σ_i W^(1)_i ŷ_i λ");
        assert_eq!(n.name("W^(1)"), "W1");
        assert_eq!(n.name("ŷ"), "yhat");
        assert_eq!(n.name("λ"), "lambda_");
        assert_eq!(n.grad("L", "λ"), "dL_dlambda");
    }

    #[test]
    fn every_name_is_taken_once() {
        let n = names("L = Σ_i W^(1)_i x_i + Σ_i W1_i x_i + h(c) + c");
        let taken = n.taken();
        for name in [
            "W_1", "W1", "x", "c", "h", "L", "dL_dW_1", "dL_dW1", "dL_dx", "h_prime", "n_i",
        ] {
            assert!(taken.contains(name), "{name} in {taken:?}");
        }
        assert_eq!(n.opaque("h", 2), "h_prime_prime");
    }

    #[test]
    fn sizes_are_named_after_the_range_or_the_programs_first_index() {
        let source = "index k : K\nY_ij = A_ij\nL = Σ_ab Y_ab + Σ_k z_k";
        let program = crate::load(source, &crate::Options::default()).unwrap();
        let lowered = crate::derive::lower(&program);
        let n = PyNames::new(&program, &lowered, "L");
        let dims = &lowered.dims;
        assert_eq!(n.size(dims.axis("Y", 0)), "n_i");
        assert_eq!(n.size(dims.axis("Y", 1)), "n_j");
        assert_eq!(n.size(dims.axis("z", 0)), "K");
    }
}

//! `--format numpy` (SPEC §4): one Python function per result, written from the
//! matrix form with NumPy operators. Vectors are 1-D arrays, so the translation
//! tracks whether a vector stands as a row or a column: `1ᵀ G` becomes
//! `G.sum(axis=0)`, `u vᵀ` becomes `np.outer(u, v)`, `diag(v) M` becomes
//! `v[:, None] * M`. A result with no matrix form is written with `np.einsum`.
//! The function first recomputes the intermediate tensors it reads.

use std::collections::{BTreeSet, HashMap};

use num_traits::{One, Signed};

use super::names::ascii_name;
use crate::derive::{GradientResult, Lowered};
use crate::matrix::Mat;
use crate::simplify::split_coefficient;
use crate::syntax::Program;
use crate::term::{Func, Ix, Name, Term};

const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
    "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
    "not", "or", "pass", "raise", "return", "try", "while", "with", "yield", "np", "torch", "math",
];

/// A Python identifier for a program name: `W^(1)` → `W1`, `ŷ` → `yhat`, `λ` → `lambda_`.
pub fn identifier(name: &str) -> String {
    let mut s = ascii_name(name);
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    if KEYWORDS.contains(&s.as_str()) {
        s.push('_');
    }
    s
}

fn var_name(n: &Name) -> String {
    match n {
        Name::Tensor(t) => identifier(t),
        Name::Grad { of, wrt } => format!("d{}_d{}", ascii_name(of), ascii_name(wrt)),
    }
}

/// How a NumPy value stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Scalar,
    Col,
    Row,
    Matrix,
    /// `diag(v)`, kept as the vector `v` until it meets a product.
    Diag,
}

/// Placeholder for the dtype of an array parameter, in PyTorch constants.
const DTYPE: &str = "__DTYPE__";

/// The array library the code is written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// NumPy (`--format numpy`).
    Numpy,
    /// PyTorch (`--format torch`).
    Torch,
}

impl Backend {
    /// The module prefix: `np` or `torch`.
    fn m(self) -> &'static str {
        match self {
            Backend::Numpy => "np",
            Backend::Torch => "torch",
        }
    }

    /// The import line the code assumes.
    pub fn import(self) -> &'static str {
        match self {
            Backend::Numpy => "import numpy as np",
            Backend::Torch => "import math\n\nimport torch",
        }
    }
}

struct Ctx<'a> {
    backend: Backend,
    orders: &'a HashMap<String, usize>,
    /// Dimensions whose sizes the code needs.
    sizes: BTreeSet<u32>,
    /// Range symbols by dimension class.
    ranges: HashMap<u32, String>,
    /// Index names by dimension class, for `n_i` parameters.
    index_names: HashMap<u32, String>,
    /// Opaque functions called (name, primes).
    opaque: BTreeSet<(String, u8)>,
    /// Every name read.
    read: BTreeSet<Name>,
}

impl Ctx<'_> {
    /// `axis=1` or `dim=1`.
    fn axis(&self, k: usize) -> String {
        match self.backend {
            Backend::Numpy => format!("axis={k}"),
            Backend::Torch => format!("dim={k}"),
        }
    }

    /// `np.ones(n)`, or in PyTorch `torch.ones(n, dtype=X.dtype)` with the
    /// dtype of an argument (PyTorch does not mix float32 and float64).
    fn constant(&self, what: &str, n: &str) -> String {
        match self.backend {
            // the dtype's source is filled in once the parameters are known
            Backend::Torch => format!("torch.{what}({n}, dtype={DTYPE})"),
            b => format!("{}.{what}({n})", b.m()),
        }
    }

    /// An expression broadcast to a full shape, as a new array.
    fn broadcast(&self, e: &str, shape: &[String]) -> String {
        match self.backend {
            Backend::Numpy => format!("np.broadcast_to({e}, ({},)).copy()", shape.join(", ")),
            Backend::Torch => format!("torch.broadcast_to({e}, ({},)).clone()", shape.join(", ")),
        }
    }

    /// The size of a dimension, resolved when the parameters are known: from
    /// an argument array's shape, or else an `int` parameter (`N`, `n_i`).
    fn size(&mut self, dim: u32) -> String {
        self.sizes.insert(dim);
        format!("__SIZE{dim}__")
    }

    fn func(&mut self, f: &Func, x: &str) -> String {
        let m = self.backend.m();
        let torch = self.backend == Backend::Torch;
        match f {
            Func::Exp => format!("{m}.exp({x})"),
            Func::Log => format!("{m}.log({x})"),
            Func::Sqrt => format!("{m}.sqrt({x})"),
            Func::Tanh => format!("{m}.tanh({x})"),
            Func::Sigmoid if torch => format!("torch.sigmoid({x})"),
            Func::Sigmoid => format!("1 / (1 + np.exp(-({x})))"),
            Func::Relu if torch => format!("torch.relu({x})"),
            Func::Relu => format!("np.maximum({x}, 0)"),
            Func::Step if torch => format!("({} > 0).to({}.dtype)", paren(x.to_string()), paren(x.to_string())),
            Func::Step => format!("np.heaviside({x}, 0.0)"),
            Func::Softplus if torch => format!("torch.nn.functional.softplus({x})"),
            Func::Softplus => format!("np.logaddexp(0, {x})"),
            Func::Abs => format!("{m}.abs({x})"),
            Func::Sign => format!("{m}.sign({x})"),
            Func::Opaque(name, primes) => {
                self.opaque.insert((name.to_string(), *primes));
                format!("{}({x})", opaque_name(name, *primes))
            }
        }
    }
}

fn opaque_name(name: &str, primes: u8) -> String {
    format!("{}{}", identifier(name), "_prime".repeat(primes as usize))
}

fn atomic(s: &str) -> bool {
    let mut depth = 0i32;
    for c in s.chars() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            ' ' if depth == 0 => return false,
            '-' if depth == 0 => return false,
            _ => {}
        }
    }
    true
}

fn paren(s: String) -> String {
    if atomic(&s) {
        s
    } else {
        format!("({s})")
    }
}

fn number(n: &num_rational::BigRational) -> String {
    if n.is_integer() {
        n.numer().to_string()
    } else {
        format!("({} / {})", n.numer(), n.denom())
    }
}

// ---------------------------------------------------------------------------
// Matrix form → NumPy.

fn is_ones(m: &Mat) -> bool {
    matches!(m, Mat::Ones(_))
}

fn is_row_ones(m: &Mat) -> bool {
    matches!(m, Mat::T(x) if is_ones(x))
}

fn np_mat(m: &Mat, cx: &mut Ctx) -> Option<(String, Kind)> {
    Some(match m {
        Mat::Var(name, dims) => {
            cx.read.insert(name.clone());
            let kind = match dims.len() {
                0 => Kind::Scalar,
                1 => Kind::Col,
                2 => Kind::Matrix,
                _ => return None,
            };
            (var_name(name), kind)
        }
        Mat::Scalar(t) => (np_term(t, &[], cx, &mut Letters::default())?, Kind::Scalar),
        Mat::T(x) => {
            let (e, k) = np_mat(x, cx)?;
            match k {
                Kind::Matrix => (format!("{}.T", paren(e)), Kind::Matrix),
                Kind::Col => (e, Kind::Row),
                Kind::Row => (e, Kind::Col),
                k => (e, k),
            }
        }
        Mat::MatMul(xs) => {
            let mut acc: Option<(String, Kind, &Mat)> = None;
            for x in xs {
                acc = Some(match acc {
                    None => {
                        let (e, k) = np_mat(x, cx)?;
                        (e, k, x)
                    }
                    Some((a, ka, am)) => {
                        let (e, k) = matmul(a, ka, am, x, cx)?;
                        (e, k, x)
                    }
                });
            }
            let (e, k, _) = acc?;
            (e, k)
        }
        Mat::Had(xs) => {
            let mut parts = Vec::new();
            let mut kind = Kind::Scalar;
            for x in xs {
                let (e, k) = np_mat(x, cx)?;
                if k == Kind::Diag {
                    return None;
                }
                if k != Kind::Scalar {
                    if kind != Kind::Scalar && kind != k {
                        return None;
                    }
                    kind = k;
                }
                parts.push(paren(e));
            }
            (parts.join(" * "), kind)
        }
        Mat::HDiv(a, b) => {
            let (ea, ka) = np_mat(a, cx)?;
            let (eb, kb) = np_mat(b, cx)?;
            let kind = if ka == Kind::Scalar { kb } else { ka };
            (format!("{} / {}", paren(ea), paren(eb)), kind)
        }
        Mat::Add(ts) => {
            let mut out = String::new();
            let mut kind = Kind::Scalar;
            for (n, (neg, x)) in ts.iter().enumerate() {
                let (e, k) = np_mat(x, cx)?;
                if k == Kind::Diag {
                    return None;
                }
                if k != Kind::Scalar {
                    kind = k;
                }
                let e = if matches!(x, Mat::Add(_)) { format!("({e})") } else { e };
                match (n, neg) {
                    (0, false) => out.push_str(&e),
                    (0, true) => out.push_str(&format!("-{}", paren(e))),
                    (_, false) => out.push_str(&format!(" + {e}")),
                    (_, true) => out.push_str(&format!(" - {}", paren(e))),
                }
            }
            (out, kind)
        }
        Mat::Scale(s, x) => {
            let (e, k) = np_mat(x, cx)?;
            let c = np_term(s, &[], cx, &mut Letters::default())?;
            if s.is_one() {
                (e, k)
            } else if s == &Term::int(-1) {
                (format!("-{}", paren(e)), k)
            } else {
                (format!("{} * {}", paren(c), paren(e)), k)
            }
        }
        Mat::Ones(d) => {
            let n = cx.size(*d);
            (cx.constant("ones", &n), Kind::Col)
        }
        Mat::Eye(d) => {
            let n = cx.size(*d);
            (cx.constant("eye", &n), Kind::Matrix)
        }
        Mat::Map(f, x) => {
            let (e, k) = np_mat(x, cx)?;
            (cx.func(f, &e), k)
        }
        Mat::Pow(x, e) => {
            let (b, k) = np_mat(x, cx)?;
            (format!("{} ** {}", paren(b), number(e)), k)
        }
        Mat::Diag(v) => {
            let (e, _) = np_mat(v, cx)?;
            (e, Kind::Diag)
        }
    })
}

/// `a @ b` for every pair of kinds that has a NumPy spelling.
fn matmul(a: String, ka: Kind, am: &Mat, bm: &Mat, cx: &mut Ctx) -> Option<(String, Kind)> {
    use Kind::*;
    // Sums with a row or column of ones read as `.sum`.
    if let (Mat::T(inner), true) = (am, is_ones(bm)) {
        if let Some((x, Matrix)) = np_mat(inner, cx) {
            return Some((format!("{}.sum({})", paren(x), cx.axis(0)), Col));
        }
    }
    // diag(1 ⊘ v) M reads as M / v[:, None]
    if let Mat::Diag(v) = am {
        if let Mat::Pow(base, e) = &**v {
            if *e == -num_rational::BigRational::one() {
                let (m, km) = np_mat(bm, cx)?;
                let (d, _) = np_mat(base, cx)?;
                if km == Matrix {
                    return Some((format!("{} / {}[:, None]", paren(m), paren(d)), Matrix));
                }
            }
        }
    }
    if is_ones(bm) && matches!(ka, Matrix | Row) {
        return Some(match ka {
            Matrix => (format!("{}.sum({})", paren(a), cx.axis(1)), Col),
            _ => (format!("{}.sum()", paren(a)), Scalar),
        });
    }
    let (b, kb) = np_mat(bm, cx)?;
    if is_row_ones(am) && matches!(kb, Matrix | Col) {
        return Some(match kb {
            Matrix => (format!("{}.sum({})", paren(b), cx.axis(0)), Row),
            _ => (format!("{}.sum()", paren(b)), Scalar),
        });
    }
    Some(match (ka, kb) {
        (Scalar, k) => (format!("{} * {}", paren(a), paren(b)), k),
        (k, Scalar) => (format!("{} * {}", paren(a), paren(b)), k),
        (Diag, Diag) => (format!("{} * {}", paren(a), paren(b)), Diag),
        (Diag, Matrix) => (format!("{}[:, None] * {}", paren(a), paren(b)), Matrix),
        (Matrix, Diag) => (format!("{} * {}", paren(a), paren(b)), Matrix),
        (Diag, Col) => (format!("{} * {}", paren(a), paren(b)), Col),
        (Row, Diag) => (format!("{} * {}", paren(a), paren(b)), Row),
        (Matrix, Matrix) => (format!("{} @ {}", paren(a), paren(b)), Matrix),
        (Matrix, Col) => (format!("{} @ {}", paren(a), paren(b)), Col),
        (Row, Matrix) => (format!("{} @ {}", paren(a), paren(b)), Row),
        (Row, Col) => (format!("{} @ {}", paren(a), paren(b)), Scalar),
        (Col, Row) => (format!("{}.outer({a}, {b})", cx.backend.m()), Matrix),
        _ => return None,
    })
}

// ---------------------------------------------------------------------------
// Index form → NumPy with einsum (results and definitions with no matrix form).

#[derive(Default)]
struct Letters {
    map: HashMap<Ix, char>,
}

impl Letters {
    fn of(&mut self, i: &Ix) -> char {
        if let Some(c) = self.map.get(i) {
            return *c;
        }
        let used: Vec<char> = self.map.values().copied().collect();
        let own = i
            .name
            .chars()
            .next()
            .filter(|c| c.is_ascii_alphabetic() && i.name.chars().count() == 1);
        let c = own
            .filter(|c| !used.contains(c))
            .or_else(|| ('a'..='z').chain('A'..='Z').find(|c| !used.contains(c)))
            .unwrap_or('z');
        self.map.insert(i.clone(), c);
        c
    }
}

/// An expression whose axes are `axes` (an absent index is a length-1 axis).
fn np_term(t: &Term, axes: &[Ix], cx: &mut Ctx, letters: &mut Letters) -> Option<String> {
    Some(match t {
        Term::Num(n) => number(n),
        Term::Pi => if cx.backend == Backend::Torch {
            "math.pi"
        } else {
            "np.pi"
        }
        .into(),
        Term::Add(ts) => {
            let mut out = String::new();
            for (n, x) in ts.iter().enumerate() {
                let (c, rest) = split_coefficient(x);
                let negative = c.is_negative();
                let positive = if negative {
                    crate::simplify::mul(vec![Term::Num(-c), rest])
                } else {
                    x.clone()
                };
                let e = np_term(&positive, axes, cx, letters)?;
                match (n, negative) {
                    (0, false) => out.push_str(&e),
                    (0, true) => out.push_str(&format!("-{}", paren(e))),
                    (_, false) => out.push_str(&format!(" + {e}")),
                    (_, true) => out.push_str(&format!(" - {}", paren(e))),
                }
            }
            out
        }
        Term::Fn(f, x) => {
            let e = np_term(x, axes, cx, letters)?;
            cx.func(f, &e)
        }
        Term::Pow(b, e) if *e == -num_rational::BigRational::one() => {
            format!("1 / {}", paren(np_term(b, axes, cx, letters)?))
        }
        Term::Pow(b, e) => format!("{} ** {}", paren(np_term(b, axes, cx, letters)?), number(e)),
        _ => return einsum(t, axes, cx, letters),
    })
}

fn einsum(t: &Term, axes: &[Ix], cx: &mut Ctx, letters: &mut Letters) -> Option<String> {
    let mut ks = Vec::new();
    let mut fs = Vec::new();
    fn flatten(t: &Term, ks: &mut Vec<Ix>, fs: &mut Vec<Term>) {
        match t {
            Term::Mul(xs) => xs.iter().for_each(|x| flatten(x, ks, fs)),
            Term::Sum(k, b) => {
                ks.extend(k.iter().cloned());
                flatten(b, ks, fs);
            }
            x => fs.push(x.clone()),
        }
    }
    flatten(t, &mut ks, &mut fs);
    let mut coefficient = num_rational::BigRational::one();
    let mut scalars: Vec<String> = Vec::new();
    let mut operands: Vec<(String, String)> = Vec::new();
    for f in &fs {
        match f {
            Term::Num(n) => coefficient *= n,
            Term::Var(name, ix) => {
                cx.read.insert(name.clone());
                let sub: String = ix.iter().map(|i| letters.of(i)).collect();
                operands.push((var_name(name), sub));
            }
            Term::Delta(a, b) => {
                let n = cx.size(a.dim);
                operands.push((cx.constant("eye", &n), format!("{}{}", letters.of(a), letters.of(b))));
            }
            other => {
                let free: Vec<Ix> = other.free().into_iter().collect();
                let e = np_term(other, &free, cx, letters)?;
                if free.is_empty() {
                    scalars.push(paren(e));
                } else {
                    let sub: String = free.iter().map(|i| letters.of(i)).collect();
                    operands.push((paren(e), sub));
                }
            }
        }
    }
    let present: Vec<&Ix> = axes.iter().filter(|a| t.mentions(a)).collect();
    let out: String = present.iter().map(|i| letters.of(i)).collect();
    let mut expr = if operands.is_empty() {
        String::new()
    } else if operands.len() == 1 && operands[0].1 == out {
        operands[0].0.clone()
    } else {
        let subs: Vec<&str> = operands.iter().map(|(_, s)| s.as_str()).collect();
        let args: Vec<&str> = operands.iter().map(|(e, _)| e.as_str()).collect();
        format!(
            "{}.einsum('{}->{out}', {})",
            cx.backend.m(),
            subs.join(","),
            args.join(", ")
        )
    };
    // Length-1 axes for the result's indices this product does not carry.
    if !expr.is_empty() && present.len() < axes.len() {
        let idx: Vec<&str> = axes.iter().map(|a| if t.mentions(a) { ":" } else { "None" }).collect();
        expr = format!("{}[{}]", paren(expr), idx.join(", "));
    }
    let mut factors: Vec<String> = Vec::new();
    if !coefficient.is_one() || (expr.is_empty() && scalars.is_empty()) {
        factors.push(number(&coefficient));
    }
    factors.extend(scalars);
    if !expr.is_empty() {
        factors.push(expr);
    }
    Some(factors.join(" * "))
}

// ---------------------------------------------------------------------------

/// The Python function for one result.
pub fn function(program: &Program, lowered: &Lowered, of: &str, r: &GradientResult, backend: Backend) -> String {
    let mut dims = lowered.dims.clone();
    // Every tensor's axes, for sizes taken from arrays: inputs first, then the
    // upstream gradients, then the tensors the function recomputes.
    let is_defined = |n: &str| lowered.definitions.iter().any(|(d, _, _)| **d == *n);
    let mut arrays = Vec::new();
    let mut recomputed = Vec::new();
    for (name, info) in &program.tensors {
        if info.order > 0 {
            let axes: Vec<u32> = (0..info.order).map(|k| dims.axis(name, k)).collect();
            if is_defined(name) {
                recomputed.push((identifier(name), axes));
            } else {
                arrays.push((identifier(name), axes));
            }
        }
    }
    if !is_defined(of) {
        for out in program.outputs() {
            let order = lowered.orders.get(out).copied().unwrap_or(0);
            let axes: Vec<u32> = (0..order).map(|k| dims.axis(out, k)).collect();
            arrays.push((format!("d{}_d{}", ascii_name(of), ascii_name(out)), axes));
        }
    }
    let argument_arrays = arrays.clone();
    arrays.extend(recomputed);
    let mut ranges = HashMap::new();
    for class in dims.classes() {
        if let Some(r) = dims.range_of(class) {
            ranges.insert(class, r);
        }
    }
    let index_names = r.indices.iter().map(|i| (i.dim, i.name.to_string())).collect();
    let orders = lowered.orders.clone();
    let mut cx = Ctx {
        backend,
        orders: &orders,
        sizes: BTreeSet::new(),
        ranges,
        index_names,
        opaque: BTreeSet::new(),
        read: BTreeSet::new(),
    };
    let shape: Vec<String> = r.indices.iter().map(|i| cx.size(i.dim)).collect();
    // The result, from the matrix form where there is one.
    let from_matrix = r.gradient_matrix.as_ref().and_then(|m| {
        if matches!(m, Mat::Scalar(t) if t.is_zero()) {
            return None;
        }
        let (e, k) = np_mat(m, &mut cx)?;
        let fits = match r.indices.len() {
            0 => k == Kind::Scalar,
            1 => matches!(k, Kind::Col | Kind::Row),
            _ => k == Kind::Matrix,
        };
        fits.then_some(e)
    });
    let body = match from_matrix {
        Some(e) => e,
        None if r.term.is_zero() => match shape.len() {
            0 => "0.0".into(),
            1 => cx.constant("zeros", &shape[0]),
            _ => cx.constant("zeros", &format!("({})", shape.join(", "))),
        },
        None => {
            let e = np_term(&r.term, &r.indices, &mut cx, &mut Letters::default()).unwrap_or_else(|| "None".into());
            if r.indices.iter().all(|i| r.term.mentions(i)) {
                e
            } else {
                cx.broadcast(&e, &shape)
            }
        }
    };
    // Intermediate tensors the result reads, recomputed from their definitions.
    let mut lines: Vec<String> = Vec::new();
    let mut needed: Vec<usize> = Vec::new();
    let defs = &lowered.definitions;
    let mut frontier: Vec<Name> = cx.read.iter().cloned().collect();
    while let Some(n) = frontier.pop() {
        let Name::Tensor(t) = &n else { continue };
        if let Some(k) = defs.iter().position(|(d, _, _)| d == t) {
            if !needed.contains(&k) {
                needed.push(k);
                let mut inner = Vec::new();
                collect(&defs[k].2, &mut inner);
                frontier.extend(inner);
            }
        }
    }
    needed.sort();
    for k in needed {
        let (name, params, rhs) = &defs[k];
        let rhs_n = crate::simplify::normalize(rhs, &lowered.env);
        let before = cx.read.clone();
        let e = crate::matrix::recognize(&rhs_n, params)
            .filter(|_| params.len() <= 2)
            .and_then(|m| {
                let (e, kind) = np_mat(&m, &mut cx)?;
                let fits = match params.len() {
                    0 => kind == Kind::Scalar,
                    1 => matches!(kind, Kind::Col | Kind::Row),
                    _ => kind == Kind::Matrix,
                };
                fits.then_some(e)
            })
            .or_else(|| {
                cx.read = before.clone();
                let e = np_term(&rhs_n, params, &mut cx, &mut Letters::default())?;
                if params.iter().all(|i| rhs_n.mentions(i)) {
                    Some(e)
                } else {
                    let shape: Vec<String> = params.iter().map(|i| cx.size(i.dim)).collect();
                    Some(cx.broadcast(&e, &shape))
                }
            })
            .unwrap_or_else(|| "None".into());
        lines.push(format!("    {} = {e}", identifier(name)));
    }
    // Parameters: inputs, scalar symbols, upstream gradients, opaque functions, sizes.
    let defined: Vec<&str> = defs.iter().map(|(n, _, _)| &**n).collect();
    let mut inputs: Vec<String> = Vec::new();
    let mut scalars: Vec<String> = Vec::new();
    let mut grads: Vec<String> = Vec::new();
    let range_symbols: Vec<String> = cx.ranges.values().cloned().collect();
    for statement_name in program_order(program) {
        let n = Name::Tensor(statement_name.as_str().into());
        if !cx.read.contains(&n) || defined.contains(&statement_name.as_str()) {
            continue;
        }
        let order = cx.orders.get(&statement_name).copied().unwrap_or(0);
        if order == 0 || range_symbols.contains(&statement_name) {
            scalars.push(identifier(&statement_name));
        } else {
            inputs.push(identifier(&statement_name));
        }
    }
    for n in &cx.read {
        match n {
            Name::Grad { .. } => grads.push(var_name(n)),
            Name::Tensor(t) if !program.tensors.contains_key(&**t) => scalars.push(identifier(t)),
            _ => {}
        }
    }
    let mut params: Vec<String> = inputs;
    params.extend(scalars);
    params.extend(grads);
    for (name, _) in cx.opaque.iter() {
        for p in [identifier(name), format!("{}_prime", identifier(name))] {
            if !params.contains(&p) {
                params.push(p);
            }
        }
    }
    for (name, primes) in cx.opaque.iter() {
        let p = opaque_name(name, *primes);
        if !params.contains(&p) {
            params.push(p);
        }
    }
    // Sizes: from an argument's shape, else an `int` parameter.
    let mut resolved: Vec<(String, String)> = Vec::new();
    for &dim in &cx.sizes {
        let from = argument_arrays.iter().find_map(|(a, axes)| {
            let k = axes.iter().position(|x| *x == dim)?;
            params.contains(a).then(|| format!("{a}.shape[{k}]"))
        });
        let value = from.unwrap_or_else(|| {
            let name = match cx.ranges.get(&dim) {
                Some(r) => identifier(r),
                None => format!(
                    "n_{}",
                    cx.index_names.get(&dim).cloned().unwrap_or_else(|| format!("d{dim}"))
                ),
            };
            if !params.contains(&name) {
                params.push(name.clone());
            }
            name
        });
        resolved.push((format!("__SIZE{dim}__"), value));
    }
    // A range symbol that an argument's shape gives is optional: `K=None`.
    let mut fill = Vec::new();
    let mut optional = Vec::new();
    let names = params.clone();
    params.retain(|p| {
        let dim = cx.ranges.iter().find(|(_, r)| identifier(r) == *p).map(|(d, _)| *d);
        let from = dim.and_then(|d| {
            argument_arrays.iter().find_map(|(a, axes)| {
                let k = axes.iter().position(|x| *x == d)?;
                names.contains(a).then(|| format!("{a}.shape[{k}]"))
            })
        });
        match from {
            Some(e) => {
                fill.push(format!("    if {p} is None:\n        {p} = {e}\n"));
                optional.push(format!("{p}=None"));
                false
            }
            None => true,
        }
    });
    let fname = format!("d{}_d{}", ascii_name(of), ascii_name(&r.name));
    let mut all = params.clone();
    all.extend(optional);
    let mut out = format!("def {fname}({}):\n", all.join(", "));
    for f in fill {
        out.push_str(&f);
    }
    for l in lines {
        out.push_str(&l);
        out.push('\n');
    }
    out.push_str(&format!("    return {body}\n"));
    let source = argument_arrays
        .iter()
        .map(|(a, _)| a)
        .find(|a| params.contains(a))
        .map(|a| format!("{a}.dtype"))
        .unwrap_or_else(|| "torch.float64".into());
    let mut out = out.replace(DTYPE, &source);
    for (placeholder, value) in resolved {
        out = out.replace(&placeholder, &value);
    }
    out
}

fn collect(t: &Term, out: &mut Vec<Name>) {
    match t {
        Term::Var(n, _) => out.push(n.clone()),
        Term::Num(_) | Term::Pi | Term::Delta(..) => {}
        Term::Add(ts) | Term::Mul(ts) => ts.iter().for_each(|x| collect(x, out)),
        Term::Pow(b, _) | Term::Fn(_, b) | Term::Sum(_, b) => collect(b, out),
    }
}

/// Tensor names in the order they first appear in the program.
fn program_order(program: &Program) -> Vec<String> {
    let mut seen: Vec<(crate::syntax::ast::Span, String)> = program
        .tensors
        .iter()
        .map(|(n, info)| (info.first, n.clone()))
        .collect();
    seen.sort();
    seen.into_iter().map(|(_, n)| n).collect()
}

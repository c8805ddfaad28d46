//! `--format numpy` and `--format torch` (SPEC §4): one Python function per
//! result, written from the matrix form with NumPy operators (`numpy/matrix.rs`); a
//! result with no matrix form is written with `np.einsum` (`numpy/einsum.rs`). The
//! function first recomputes the intermediate tensors it reads.
//!
//! Names are distinct and deterministic across one program's functions (the
//! rule is in `numpy/naming.rs`, and in the README). Operators get only the parentheses Python needs, and
//! an expression too deeply nested or too long for Python's parser is cut into
//! temporaries (`_t1 = …`), so a product chain of any length compiles
//! (`numpy/python.rs`).
//!
//! Sizes: a size the code needs (`np.ones(n)`, `np.eye(n)`, a count `n_n` in
//! the index form) is read from the shape of an argument array that has that
//! axis (`X.shape[0]`; the first such argument in parameter order). Only a size
//! no argument gives — the identity in ∂ tr X/∂X, whose only array `X` is not
//! read — is an `int` parameter, named after the range symbol (`N`) or after the
//! program's index over that axis (`n_i`), never after an index that appears
//! only in ricci's printed result. The `--wrt` tensor is not made a parameter
//! for its shape alone: a function's parameters are what its result reads. A
//! range symbol the result reads as a number (`1/K`) is an optional parameter
//! `K=None`, filled from an argument's shape when one has that axis.

mod ctx;
mod einsum;
mod matrix;
mod naming;
mod python;
mod shift;
mod stable;

use std::collections::{BTreeSet, HashMap};

pub use self::ctx::Backend;
use self::ctx::Ctx;
use self::einsum::np_term;
use self::matrix::{np_mat, Kind};
use self::naming::PyNames;
use self::python::{Block, Py};
use crate::derive::{Derivation, GradientResult, Lowered};
use crate::matrix::Mat;
use crate::syntax::Program;
use crate::term::{Ix, Name, Term};

/// The body of a function: its lines (temporaries and recomputed intermediate
/// tensors) and the returned expression, `None` when NumPy has no spelling.
struct Body {
    lines: Vec<String>,
    result: Option<Py>,
}

/// Whether a value of `kind` has the shape of a tensor with `order` axes.
fn fits(kind: Kind, order: usize) -> bool {
    match order {
        0 => kind == Kind::Scalar,
        1 => matches!(kind, Kind::Col | Kind::Row),
        _ => kind == Kind::Matrix,
    }
}

/// A term over the axes `axes`, from its matrix form where it has one, else
/// with `einsum`; broadcast to the full shape where it lacks an axis.
fn translate(m: Option<&Mat>, t: &Term, axes: &[Ix], cx: &mut Ctx) -> Option<Py> {
    // softmax and log-sum-exp written out: the maximum subtracted (`numpy/shift.rs`)
    let shifted = self::shift::stabilize(m, t, axes, cx);
    let (m, t) = shifted.as_ref().map_or((m, t), |(m, t)| (m.as_ref(), t));
    let mark = cx.block.mark();
    let from_matrix = m.and_then(|m| {
        if matches!(m, Mat::Scalar(s) if s.is_zero()) {
            return None;
        }
        let before = (cx.read.clone(), cx.sizes.clone(), cx.opaque.clone());
        let out = np_mat(m, cx)
            .map(|(e, k)| self::matrix::dense(e, k, cx))
            .and_then(|(e, k)| fits(k, axes.len()).then_some(e));
        if out.is_none() {
            // what the attempt read is not read
            (cx.read, cx.sizes, cx.opaque) = before;
            cx.block.truncate(mark);
        }
        out
    });
    if let Some(e) = from_matrix {
        return Some(e);
    }
    let shape: Vec<Py> = axes.iter().map(|i| cx.size(i.dim)).collect();
    if t.is_zero() {
        return Some(match shape.len() {
            0 => Py::name("0.0"),
            1 => cx.constant("zeros", shape.into_iter().next().expect("one axis")),
            _ => {
                let s = cx.block.tuple(shape);
                cx.constant("zeros", s)
            }
        });
    }
    let e = np_term(t, axes, cx)?;
    Some(if axes.iter().all(|i| t.mentions(i)) {
        e
    } else {
        cx.broadcast(e, shape)
    })
}

fn body(lowered: &Lowered, r: &GradientResult, cx: &mut Ctx) -> Body {
    let result = translate(r.gradient_matrix.as_ref(), &r.term, &r.indices, cx);
    let tail = cx.block.take();
    // Intermediate tensors the result reads, recomputed from their definitions.
    let defs = &lowered.definitions;
    let mut needed: Vec<usize> = Vec::new();
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
    let mut lines = Vec::new();
    for k in needed {
        let (name, params, rhs) = &defs[k];
        let rhs = crate::simplify::normalize(rhs, &lowered.env);
        let m = crate::matrix::recognize(&rhs, params).filter(|_| params.len() <= 2);
        let e = translate(m.as_ref(), &rhs, params, cx);
        lines.extend(cx.block.take());
        match e {
            Some(e) => lines.push(format!("{} = {}", cx.names.name(name), e.text)),
            None => {
                lines.push(format!(
                    "raise NotImplementedError(\"ricci: no {} form for {name}\")",
                    cx.backend.m()
                ));
                return Body { lines, result: None };
            }
        }
    }
    lines.extend(tail);
    Body { lines, result }
}

/// Every function of a derivation, named distinctly across the program.
pub fn functions(derivation: &Derivation, backend: Backend) -> Vec<String> {
    let (program, lowered) = (&*derivation.program, &*derivation.lowered);
    let names = PyNames::new(program, lowered, &derivation.of);
    derivation
        .results
        .iter()
        .map(|r| function_named(program, lowered, &names, &derivation.of, r, backend))
        .collect()
}

fn function_named(
    program: &Program,
    lowered: &Lowered,
    names: &PyNames,
    of: &str,
    r: &GradientResult,
    backend: Backend,
) -> String {
    let dims = &lowered.dims;
    let defined: Vec<&str> = lowered.definitions.iter().map(|(n, _, _)| &**n).collect();
    // The axes of every array that can be an argument: inputs and upstream gradients.
    let mut arrays: HashMap<String, Vec<u32>> = HashMap::new();
    for (name, info) in &program.tensors {
        if info.order > 0 && !defined.contains(&name.as_str()) {
            let axes = (0..info.order).map(|k| dims.axis(name, k)).collect();
            arrays.insert(names.name(name), axes);
        }
    }
    if !defined.contains(&of) {
        for out in program.outputs() {
            let order = lowered.orders.get(out).copied().unwrap_or(0);
            let axes = (0..order).map(|k| dims.axis(out, k)).collect();
            arrays.insert(names.grad(of, out), axes);
        }
    }
    let new_ctx = |resolved: HashMap<u32, String>, dtype: String, block: Block| Ctx {
        backend,
        names,
        program,
        result_indices: &r.indices,
        sizes: BTreeSet::new(),
        resolved,
        dtype,
        opaque: BTreeSet::new(),
        read: BTreeSet::new(),
        block,
        definitions: &lowered.definitions,
    };
    // First pass: what the function reads and which sizes it needs.
    let mut cx = new_ctx(HashMap::new(), "torch.float64".into(), Block::counting());
    body(lowered, r, &mut cx);
    // Parameters: inputs, scalar symbols, upstream gradients, opaque functions, sizes.
    let mut inputs: Vec<String> = Vec::new();
    let mut scalars: Vec<String> = Vec::new();
    let mut grads: Vec<String> = Vec::new();
    let range_symbols: BTreeSet<&String> = program.ranges.values().collect();
    for name in program_order(program) {
        if !cx.read.contains(&Name::Tensor(name.as_str().into())) || defined.contains(&name.as_str()) {
            continue;
        }
        let order = lowered.orders.get(&name).copied().unwrap_or(0);
        if order == 0 || range_symbols.contains(&name) {
            scalars.push(names.name(&name));
        } else {
            inputs.push(names.name(&name));
        }
    }
    for n in &cx.read {
        match n {
            Name::Grad { of, wrt } => grads.push(names.grad(of, wrt)),
            Name::Tensor(t) if !program.tensors.contains_key(&**t) => scalars.push(names.name(t)),
            _ => {}
        }
    }
    let mut params: Vec<String> = Vec::new();
    let add = |params: &mut Vec<String>, p: String| {
        if !params.contains(&p) {
            params.push(p);
        }
    };
    for p in inputs.into_iter().chain(scalars).chain(grads) {
        add(&mut params, p);
    }
    for (name, _) in &cx.opaque {
        add(&mut params, names.opaque(name, 0));
        add(&mut params, names.opaque(name, 1));
    }
    for (name, primes) in &cx.opaque {
        add(&mut params, names.opaque(name, *primes));
    }
    // An argument array's axis, in parameter order.
    let from_shape = |params: &[String], dim: u32| {
        params.iter().find_map(|p| {
            let k = arrays.get(p)?.iter().position(|a| *a == dim)?;
            Some(format!("{p}.shape[{k}]"))
        })
    };
    let mut resolved: HashMap<u32, String> = HashMap::new();
    for &dim in &cx.sizes {
        let value = from_shape(&params, dim).unwrap_or_else(|| {
            let name = names.size(dim);
            add(&mut params, name.clone());
            name
        });
        resolved.insert(dim, value);
    }
    // A range symbol read as a number that an argument's shape gives is optional: `K=None`.
    let mut fill = Vec::new();
    let mut optional = Vec::new();
    let arguments = params.clone();
    params.retain(|p| {
        let dim = dims
            .classes()
            .find(|c| dims.range_of(*c).is_some_and(|r| names.name(r) == *p));
        match dim.and_then(|d| from_shape(&arguments, d)) {
            Some(e) if !resolved.values().any(|v| v == p) => {
                fill.push(format!("if {p} is None:\n        {p} = {e}"));
                optional.push(format!("{p}=None"));
                false
            }
            _ => true,
        }
    });
    let dtype = params
        .iter()
        .find(|p| arrays.contains_key(*p))
        .map(|a| format!("{a}.dtype"))
        .unwrap_or_else(|| "torch.float64".into());
    // Second pass, with every size and the dtype known.
    // an expression the first pass built twice is computed once (`numpy/python.rs`)
    let first = std::mem::take(&mut cx.block);
    let mut cx = new_ctx(resolved, dtype, Block::repeating(first));
    let b = body(lowered, r, &mut cx);
    params.extend(optional);
    let mut out = format!("def {}({}):\n", names.function(of, &r.name, r.kind), params.join(", "));
    let mut imported = BTreeSet::new();
    // imports first, then the statements in order
    let (imports, statements): (Vec<&String>, Vec<&String>) = b.lines.iter().partition(|l| l.starts_with("import "));
    for line in imports.into_iter().chain(&fill).chain(statements) {
        if line.starts_with("import ") && !imported.insert(line) {
            continue;
        }
        out.push_str(&format!("    {line}\n"));
    }
    match b.result {
        Some(e) => out.push_str(&format!("    return {}\n", e.text)),
        None if b.lines.last().is_some_and(|l| l.starts_with("raise")) => {}
        None => out.push_str(&format!(
            "    raise NotImplementedError(\"ricci: no {} form for this result\")\n",
            backend.m()
        )),
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

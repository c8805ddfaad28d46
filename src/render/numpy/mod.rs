//! `--format numpy`, `--format torch` and `--format jax` (SPEC §4): one Python
//! function per result, written from the matrix form with NumPy operators
//! (`numpy/matrix.rs`); a result with no matrix form is written with
//! `np.einsum` (`numpy/einsum.rs`). The function first recomputes the
//! intermediate tensors it reads. With `--backward`, one function
//! `backward_<of>` instead (`numpy/backward.rs`).
//!
//! Names are distinct and deterministic across one program's functions (the
//! rule is in `numpy/naming.rs`, and in the README). Operators get only the parentheses Python needs, and
//! an expression too deeply nested or too long for Python's parser is cut into
//! temporaries (`_t1 = …`), so a product chain of any length compiles
//! (`numpy/python.rs`).
//!
//! Parameters: every function printed together (each result's, and
//! `backward_<of>`) takes the same parameters in the same order, so that one
//! call's arguments fit them all: the union of what any of them reads — the
//! inputs in program order, then scalar symbols, given upstream gradients
//! (`dL_dY`), each opaque function `h` with `h_prime` (and higher
//! derivatives), then the `int` sizes, then the optional range symbols
//! (`K=None`). A function may so take an argument it does not read (`dL_db`
//! takes `X` when `dL_dW` reads it).
//!
//! Sizes: a size the code needs (`np.ones(n)`, `np.eye(n)`, a count `n_n` in
//! the index form) is read from the shape of an argument array that has that
//! axis (`X.shape[0]`; the first such argument in parameter order). Only a size
//! no argument gives — the identity in ∂ tr X/∂X, whose only array `X` is not
//! read — is an `int` parameter, named after the range symbol (`N`) or after the
//! program's index over that axis (`n_i`), never after an index that appears
//! only in ricci's printed result. The `--wrt` tensor is not made a parameter
//! for its shape alone: the parameters are what the functions read. A
//! range symbol read as a number (`1/K`) is an optional parameter
//! `K=None`, filled from an argument's shape when one has that axis.

mod backward;
mod ctx;
mod einsum;
mod matrix;
mod naming;
mod python;
mod shift;
mod stable;
mod wrapper;

use std::collections::{BTreeSet, HashMap};

pub use self::ctx::Backend;
use self::ctx::Ctx;
use self::einsum::np_term;
use self::matrix::{np_mat, Kind};
use self::naming::PyNames;
use self::python::{Block, Py};
use crate::derive::{Backward, Derivation, GradientResult, Lowered};
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
        // what the attempt reads is kept apart, and dropped if it fails
        // (not a copy of what was read before: that grows with a backward pass)
        use std::mem::take;
        let before = (take(&mut cx.read), take(&mut cx.sizes), take(&mut cx.opaque));
        let out = np_mat(m, cx)
            .map(|(e, k)| self::matrix::dense(e, k, cx))
            .and_then(|(e, k)| fits(k, axes.len()).then_some(e));
        let attempt = (
            std::mem::replace(&mut cx.read, before.0),
            std::mem::replace(&mut cx.sizes, before.1),
            std::mem::replace(&mut cx.opaque, before.2),
        );
        if out.is_none() {
            cx.block.truncate(mark);
        } else {
            cx.read.extend(attempt.0);
            cx.sizes.extend(attempt.1);
            cx.opaque.extend(attempt.2);
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

fn body(lowered: &Lowered, r: &GradientResult, cx: &mut Ctx, reads: Option<&BTreeSet<Name>>) -> Body {
    in_order(lowered, cx, reads, |cx| {
        let result = translate(r.gradient_matrix.as_ref(), &r.term, &r.indices, cx);
        (cx.block.take(), result)
    })
}

/// A function's lines: the forward intermediates it reads, then those of
/// `tail`, which returns its lines and the returned expression (none: the
/// lines end in `raise`, or the writer adds one). A first pass (`reads`
/// unknown) writes `tail` first to learn what it reads; a second, given what
/// the first read, writes the lines in the order they run, as
/// [`Block::repeating`] needs.
fn in_order<'c>(
    lowered: &Lowered,
    cx: &mut Ctx<'c>,
    reads: Option<&BTreeSet<Name>>,
    tail: impl FnOnce(&mut Ctx<'c>) -> (Vec<String>, Option<Py>),
) -> Body {
    let (lines, result) = match reads {
        None => {
            let (tail, result) = tail(cx);
            match forward(lowered, cx) {
                Ok(mut lines) => {
                    lines.extend(tail);
                    (lines, result)
                }
                Err(lines) => (lines, None),
            }
        }
        Some(reads) => {
            cx.read.extend(reads.iter().cloned());
            match forward(lowered, cx) {
                Ok(mut lines) => {
                    let (tail, result) = tail(cx);
                    debug_assert!(
                        cx.read
                            .iter()
                            .all(|n| reads.contains(n) || !matches!(n, Name::Tensor(_))),
                        "the second pass reads what the first did"
                    );
                    lines.extend(tail);
                    (lines, result)
                }
                Err(lines) => (lines, None),
            }
        }
    };
    Body { lines, result }
}

/// The intermediate tensors the code read so far, recomputed from their
/// definitions in program order (each once); `Err` with a `raise` line when
/// one has no spelling.
fn forward(lowered: &Lowered, cx: &mut Ctx) -> Result<Vec<String>, Vec<String>> {
    let defs = &lowered.definitions;
    let position: HashMap<&str, usize> = defs.iter().enumerate().map(|(k, (d, _, _))| (&**d, k)).collect();
    let mut needed: BTreeSet<usize> = BTreeSet::new();
    let mut frontier: Vec<Name> = cx.read.iter().cloned().collect();
    while let Some(n) = frontier.pop() {
        let Name::Tensor(t) = &n else { continue };
        if let Some(&k) = position.get(&**t) {
            if needed.insert(k) {
                collect(&defs[k].2, &mut frontier);
            }
        }
    }
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
                return Err(lines);
            }
        }
    }
    Ok(lines)
}

/// A function to write: one result's, or the backward pass.
#[derive(Clone, Copy)]
enum Unit<'a> {
    Result(&'a GradientResult),
    Backward(&'a Backward),
}

/// What a function reads: names, sizes, opaque functions (a first pass).
#[derive(Default)]
struct Reads {
    read: BTreeSet<Name>,
    sizes: BTreeSet<u32>,
    opaque: BTreeSet<(String, u8)>,
}

/// The parameters shared by every function of one program, and how each
/// size is read from them.
struct Signature {
    params: Vec<String>,
    resolved: HashMap<u32, String>,
    /// `if K is None: K = X.shape[0]` lines.
    fill: Vec<String>,
    dtype: String,
    /// Each unit's first pass, in order, and what it read: what it builds
    /// more than once is computed once in the second (`numpy/python.rs`).
    firsts: Vec<(Block, BTreeSet<Name>)>,
}

/// Writes one program's functions, all with one [`Signature`].
struct Writer<'a> {
    program: &'a Program,
    lowered: &'a Lowered,
    names: PyNames,
    of: &'a str,
    backend: Backend,
}

impl<'a> Writer<'a> {
    fn ctx<'c>(&'c self, indices: &'c [Ix], resolved: HashMap<u32, String>, dtype: String, block: Block) -> Ctx<'c> {
        Ctx {
            backend: self.backend,
            names: &self.names,
            program: self.program,
            result_indices: indices,
            sizes: BTreeSet::new(),
            resolved,
            dtype,
            opaque: BTreeSet::new(),
            read: BTreeSet::new(),
            block,
            definitions: &self.lowered.definitions,
        }
    }

    /// The body of `unit`, its lines and its returned expression; what it
    /// read, and the block it was written in (a first pass's counts).
    /// `reads`: what a first pass read, for the second.
    fn body(
        &self,
        unit: Unit,
        resolved: HashMap<u32, String>,
        dtype: String,
        block: Block,
        reads: Option<&BTreeSet<Name>>,
    ) -> (Body, Reads, Block) {
        let (b, cx) = match unit {
            Unit::Result(r) => {
                let mut cx = self.ctx(&r.indices, resolved, dtype, block);
                (body(self.lowered, r, &mut cx, reads), cx)
            }
            Unit::Backward(bw) => {
                let mut cx = self.ctx(&[], resolved, dtype, block);
                let b = self::backward::body(self.lowered, self.of, bw, &mut cx, reads);
                (b, cx)
            }
        };
        let reads = Reads {
            read: cx.read,
            sizes: cx.sizes,
            opaque: cx.opaque,
        };
        (b, reads, cx.block)
    }

    /// The one parameter list of every function in `units`: the inputs,
    /// scalar symbols, given upstream gradients and opaque functions any of
    /// them reads, then the sizes no argument array gives.
    /// The axes of every array that can be an argument, by Python name:
    /// inputs and, for an undefined loss, the outputs' upstream gradients.
    fn arrays(&self) -> HashMap<String, Vec<u32>> {
        let (program, lowered, names) = (self.program, self.lowered, &self.names);
        let dims = &lowered.dims;
        let defined: Vec<&str> = lowered.definitions.iter().map(|(n, _, _)| &**n).collect();
        let mut arrays: HashMap<String, Vec<u32>> = HashMap::new();
        for (name, info) in &program.tensors {
            if info.order > 0 && !defined.contains(&name.as_str()) {
                let axes = (0..info.order).map(|k| dims.axis(name, k)).collect();
                arrays.insert(names.name(name), axes);
            }
        }
        if !defined.contains(&self.of) {
            for out in program.outputs() {
                let order = lowered.orders.get(out).copied().unwrap_or(0);
                let axes = (0..order).map(|k| dims.axis(out, k)).collect();
                arrays.insert(names.grad(self.of, out), axes);
            }
        }
        arrays
    }

    fn signature(&self, units: &[Unit]) -> Signature {
        let (program, lowered, names) = (self.program, self.lowered, &self.names);
        let dims = &lowered.dims;
        let defined: Vec<&str> = lowered.definitions.iter().map(|(n, _, _)| &**n).collect();
        let arrays = self.arrays();
        let mut all = Reads::default();
        let mut firsts = Vec::new();
        for unit in units {
            let (_, r, first) = self.body(*unit, HashMap::new(), "torch.float64".into(), Block::counting(), None);
            firsts.push((first, r.read.clone()));
            all.read.extend(r.read);
            all.sizes.extend(r.sizes);
            all.opaque.extend(r.opaque);
        }
        // Inputs, scalar symbols, upstream gradients, opaque functions, sizes.
        let mut inputs: Vec<String> = Vec::new();
        let mut scalars: Vec<String> = Vec::new();
        let mut grads: Vec<String> = Vec::new();
        let range_symbols: BTreeSet<&String> = program.ranges.values().collect();
        for name in program_order(program) {
            if !all.read.contains(&Name::Tensor(name.as_str().into())) || defined.contains(&name.as_str()) {
                continue;
            }
            let order = lowered.orders.get(&name).copied().unwrap_or(0);
            if order == 0 || range_symbols.contains(&name) {
                scalars.push(names.name(&name));
            } else {
                inputs.push(names.name(&name));
            }
        }
        for n in &all.read {
            match n {
                // a given gradient (the backward pass's own are its locals)
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
        for (name, _) in &all.opaque {
            add(&mut params, names.opaque(name, 0));
            add(&mut params, names.opaque(name, 1));
        }
        for (name, primes) in &all.opaque {
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
        for &dim in &all.sizes {
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
        params.extend(optional);
        Signature {
            params,
            resolved,
            fill,
            dtype,
            firsts,
        }
    }

    /// One function, with the program's signature, after its first pass.
    fn function(&self, unit: Unit, sig: &Signature, (first, reads): (Block, BTreeSet<Name>)) -> String {
        let block = Block::repeating(first);
        let (b, _, _) = self.body(unit, sig.resolved.clone(), sig.dtype.clone(), block, Some(&reads));
        let name = match unit {
            Unit::Result(r) => self.names.function(self.of, &r.name, r.kind),
            Unit::Backward(_) => self.names.backward(self.of),
        };
        let mut out = format!("def {name}({}):\n", sig.params.join(", "));
        let mut imported = BTreeSet::new();
        // imports first, then the statements in order
        let (imports, statements): (Vec<&String>, Vec<&String>) =
            b.lines.iter().partition(|l| l.starts_with("import "));
        for line in imports.into_iter().chain(&sig.fill).chain(statements) {
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
                self.backend.m()
            )),
        }
        out
    }
}

/// Every function of a derivation, named distinctly across the program and
/// taking the same parameters in the same order.
pub fn functions(derivation: &Derivation, backend: Backend) -> Vec<String> {
    program_functions(derivation, backend, None, false).0
}

/// The per-result functions and, given the backward pass, `backward_<of>`:
/// one signature for all of them; and for PyTorch and JAX, when the loss is
/// undefined, the program as an autograd operation (`numpy/wrapper.rs`),
/// written only when `wrapper` asks for it.
pub(crate) fn program_functions(
    derivation: &Derivation,
    backend: Backend,
    backward: Option<&Backward>,
    wrapper: bool,
) -> (Vec<String>, Option<String>, Option<String>) {
    let (program, lowered) = (&*derivation.program, &*derivation.lowered);
    let w = Writer {
        program,
        lowered,
        names: PyNames::new(program, lowered, &derivation.of),
        of: &derivation.of,
        backend,
    };
    let mut units: Vec<Unit> = derivation.results.iter().map(Unit::Result).collect();
    if let Some(b) = backward {
        units.push(Unit::Backward(b));
    }
    let mut sig = w.signature(&units);
    let mut firsts = std::mem::take(&mut sig.firsts).into_iter();
    let results = derivation
        .results
        .iter()
        .zip(firsts.by_ref())
        .map(|(r, first)| w.function(Unit::Result(r), &sig, first))
        .collect();
    let backward = backward.map(|b| {
        let first = firsts.next().expect("the backward pass's first pass");
        w.function(Unit::Backward(b), &sig, first)
    });
    let defined = lowered.definitions.iter().any(|(n, _, _)| **n == *derivation.of);
    let wrapper = (wrapper && backward.is_some() && backend != Backend::Numpy && !defined)
        .then(|| self::wrapper::wrapper(&w, &sig));
    (results, backward, wrapper)
}

fn collect(t: &Term, out: &mut Vec<Name>) {
    match t {
        Term::Var(n, _) => out.push(n.clone()),
        t => t.children().iter().for_each(|x| collect(x, out)),
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

//! Numeric verification: a derived gradient must agree with central finite
//! differences of the loss on random tensors.
//!
//! Every dimension class gets its own size (2, 3, 4, …), so a transposition
//! cannot hide. Inputs are drawn in (−1, 1), except those read inside `log` or
//! `sqrt`, which are drawn in (0.1, 0.9) (probabilities for a cross-entropy);
//! an input summed to a constant by an `assume` (one-hot rows) is scaled to
//! satisfy it. An opaque function `h` is evaluated as a fixed smooth function
//! (`a sin x + b x`, with `a`, `b` from its name) and `h'` as its derivative.
//! When the loss is not defined, it is `Σ G ⊙ Y` over the outputs with random
//! upstream gradients `G`.

use std::collections::HashMap;

use ndarray::{Array2, ArrayD, IxDyn};

use crate::derive::{Derivation, Lowered};
use crate::matrix::Mat;
use crate::syntax::Program;
use crate::term::{Func, Ix, Name, Term};

/// How the derived forms compare with finite differences, for one `--wrt`.
#[derive(Clone, Debug)]
pub struct Report {
    /// The tensor.
    pub wrt: String,
    /// Largest relative error of the index form.
    pub index_error: f64,
    /// Largest relative error of the matrix form (gradient layout), if there is one.
    pub matrix_error: Option<f64>,
    /// Entries not compared because they sit at a kink of relu or abs.
    pub skipped: usize,
    /// The loss or a finite difference was not a finite number (f64 overflow).
    pub overflow: bool,
    /// The rounding floor of the finite differences, relative like the errors:
    /// `ε |L| / h` at the largest loss evaluated. An error no larger than a few
    /// times this can be rounding, not a wrong form.
    pub noise: f64,
}

/// What a comparison with finite differences says about a derived form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The form agrees with finite differences within the tolerance.
    Agrees,
    /// The form disagrees by more than the tolerance and more than rounding explains.
    Disagrees,
    /// The finite differences cannot tell: the loss overflows f64, or the
    /// disagreement is within what rounding in the differences explains.
    Undecided,
}

/// How many times the estimated rounding floor a disagreement may be and still
/// be rounding: the floor assumes a loss exact to one unit in the last place,
/// and a loss through `exp` and sums is off by tens.
pub const NOISE_FACTOR: f64 = 100.0;

impl Report {
    /// The verdict on the index form and on the matrix form (if any) at `tolerance`.
    pub fn verdict(&self, tolerance: f64) -> Verdict {
        if self.overflow {
            return Verdict::Undecided;
        }
        let mut verdict = Verdict::Agrees;
        for e in std::iter::once(self.index_error).chain(self.matrix_error) {
            if e.is_nan() || e > tolerance && e > NOISE_FACTOR * self.noise {
                return Verdict::Disagrees;
            }
            if e > tolerance {
                verdict = Verdict::Undecided;
            }
        }
        verdict
    }
}

/// A deterministic generator (xorshift), so that checks are reproducible.
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }
}

/// Values for one evaluation.
#[derive(Clone, Debug, Default)]
pub struct World {
    /// Size of each dimension class.
    pub sizes: HashMap<u32, usize>,
    /// Tensor values by name (scalars have shape []).
    pub tensors: HashMap<String, ArrayD<f64>>,
    /// Given upstream gradients by output name.
    pub grads: HashMap<String, ArrayD<f64>>,
    /// Values of size symbols (`S`, `n_i`).
    pub scalar_sizes: HashMap<String, f64>,
    /// While recording: every argument of a function with a kink (relu, abs,
    /// their derivatives), in evaluation order.
    kinks: std::cell::RefCell<Option<Vec<f64>>>,
    /// Values of Σ nodes by node and by the values of their free indices:
    /// nested sums are evaluated once per assignment, not once per outer
    /// iteration (which is exponential in the nesting). Cleared by `tabulate`.
    sums: std::cell::RefCell<HashMap<(usize, Vec<usize>), f64>>,
    /// The free indices of each Σ node, by node.
    sum_free: std::cell::RefCell<HashMap<usize, Vec<Ix>>>,
}

fn opaque(name: &str, primes: u8, x: f64) -> f64 {
    let h = name
        .bytes()
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
    let a = 0.5 + (h % 7) as f64 / 7.0;
    let b = 0.25 + (h % 5) as f64 / 10.0;
    let s = match primes % 4 {
        0 => x.sin(),
        1 => x.cos(),
        2 => -x.sin(),
        _ => -x.cos(),
    };
    a * s
        + match primes {
            0 => b * x,
            1 => b,
            _ => 0.0,
        }
}

/// An elementwise function's value.
pub fn apply(f: &Func, x: f64) -> f64 {
    match f {
        Func::Exp => x.exp(),
        Func::Log => x.ln(),
        Func::Sqrt => x.sqrt(),
        Func::Tanh => x.tanh(),
        Func::Sigmoid => 1.0 / (1.0 + (-x).exp()),
        Func::Relu => x.max(0.0),
        Func::Step => {
            if x > 0.0 {
                1.0
            } else {
                0.0
            }
        }
        Func::Softplus => x.exp().ln_1p(),
        Func::Abs => x.abs(),
        Func::Sign => x.signum(),
        Func::Opaque(name, primes) => opaque(name, *primes, x),
    }
}

impl World {
    fn size(&self, i: &Ix) -> usize {
        self.sizes.get(&i.dim).copied().unwrap_or(1)
    }

    /// The value of an index term at the given index values.
    pub fn eval(&self, t: &Term, at: &mut HashMap<Ix, usize>) -> f64 {
        match t {
            Term::Num(n) => {
                n.numer().to_string().parse::<f64>().unwrap_or(f64::NAN)
                    / n.denom().to_string().parse::<f64>().unwrap_or(f64::NAN)
            }
            Term::Pi => std::f64::consts::PI,
            Term::Var(name, ix) => {
                let (table, key) = match name {
                    Name::Tensor(n) => (&self.tensors, n.to_string()),
                    Name::Grad { wrt, .. } => (&self.grads, wrt.to_string()),
                };
                let Some(a) = table.get(&key) else {
                    // a size symbol such as `S` or `n_i`
                    return self.size_symbol(&key);
                };
                let pos: Vec<usize> = ix.iter().map(|i| at.get(i).copied().unwrap_or(0)).collect();
                a[IxDyn(&pos)]
            }
            Term::Delta(a, b) => (at.get(a) == at.get(b)) as u8 as f64,
            Term::Add(ts) => ts.iter().map(|x| self.eval(x, at)).sum(),
            Term::Mul(ts) => ts.iter().map(|x| self.eval(x, at)).product(),
            Term::Pow(b, e) => {
                let e = e.numer().to_string().parse::<f64>().unwrap_or(f64::NAN)
                    / e.denom().to_string().parse::<f64>().unwrap_or(f64::NAN);
                self.eval(b, at).powf(e)
            }
            Term::Fn(f, x) => {
                let v = self.eval(x, at);
                if matches!(f, Func::Relu | Func::Step | Func::Abs | Func::Sign) {
                    if let Some(trace) = self.kinks.borrow_mut().as_mut() {
                        trace.push(v);
                    }
                }
                apply(f, v)
            }
            Term::Sum(ks, body) => {
                let node = t as *const Term as usize;
                let free = self
                    .sum_free
                    .borrow_mut()
                    .entry(node)
                    .or_insert_with(|| t.free().into_iter().collect())
                    .clone();
                let key = (
                    node,
                    free.iter().map(|i| at.get(i).copied().unwrap_or(0)).collect::<Vec<_>>(),
                );
                if let Some(v) = self.sums.borrow().get(&key) {
                    return *v;
                }
                let v = self.sum_over(ks, body, at);
                self.sums.borrow_mut().insert(key, v);
                v
            }
        }
    }

    fn sum_over(&self, ks: &[Ix], body: &Term, at: &mut HashMap<Ix, usize>) -> f64 {
        let Some((k, rest)) = ks.split_first() else {
            return self.eval(body, at);
        };
        let mut total = 0.0;
        for v in 0..self.size(k) {
            at.insert(k.clone(), v);
            total += self.sum_over(rest, body, at);
        }
        at.remove(k);
        total
    }

    fn size_symbol(&self, name: &str) -> f64 {
        self.scalar_sizes.get(name).copied().unwrap_or(f64::NAN)
    }
}

/// Builds a random world for a program and fills in its intermediate tensors.
pub struct Checker<'a> {
    program: &'a Program,
    lowered: &'a Lowered,
    world: World,
    of: String,
}

impl World {
    /// Every tensor indexed by `indices`, as a dense array.
    fn tabulate(&self, indices: &[Ix], t: &Term) -> ArrayD<f64> {
        // tensor values may have changed since the last table: forget Σ values
        // (node addresses are only valid while `t` is borrowed, so forget those too)
        self.sums.borrow_mut().clear();
        self.sum_free.borrow_mut().clear();
        let shape: Vec<usize> = indices.iter().map(|i| self.size(i)).collect();
        let mut out = ArrayD::zeros(IxDyn(&shape));
        let mut at = HashMap::new();
        for (pos, v) in out.indexed_iter_mut() {
            for (k, i) in indices.iter().enumerate() {
                at.insert(i.clone(), pos[k]);
            }
            *v = self.eval(t, &mut at);
        }
        out
    }
}

impl<'a> Checker<'a> {
    /// A checker with random inputs (seeded) for `program` and loss `of`.
    pub fn new(program: &'a Program, lowered: &'a Lowered, of: &str, seed: u64) -> Checker<'a> {
        Self::with_sizes(program, lowered, of, seed, &[])
    }

    /// A checker with some sizes fixed: `("s", 3)` sets the range of index `s`
    /// (or of the range symbol `s`) to 3.
    pub fn with_sizes(
        program: &'a Program,
        lowered: &'a Lowered,
        of: &str,
        seed: u64,
        fixed: &[(String, usize)],
    ) -> Checker<'a> {
        let mut rng = Rng::new(seed);
        let mut dims = lowered.dims.clone();
        let mut world = World::default();
        for (n, class) in dims.classes().into_iter().enumerate() {
            world.sizes.insert(class, 2 + n % 5);
        }
        for (name, size) in fixed {
            for class in dims.classes_named(name) {
                world.sizes.insert(class, *size);
            }
        }
        // Size symbols: declared ranges and `n_<index>` for the rest.
        for (sym, size) in size_symbols(&mut dims, &world) {
            world.scalar_sizes.insert(sym, size as f64);
        }
        let defined: Vec<&str> = lowered.definitions.iter().map(|(n, _, _)| &**n).collect();
        let positive = positive_inputs(lowered);
        for (name, info) in &program.tensors {
            if defined.contains(&name.as_str()) || world.scalar_sizes.contains_key(name) {
                continue;
            }
            let shape: Vec<usize> = (0..info.order).map(|k| world.sizes[&dims.axis(name, k)]).collect();
            let (lo, hi) = if positive.contains(name) {
                (0.1, 0.9)
            } else {
                (-1.0, 1.0)
            };
            let a = ArrayD::from_shape_fn(IxDyn(&shape), |_| rng.range(lo, hi));
            world.tensors.insert(name.clone(), a);
        }
        satisfy_assumptions(lowered, &mut world, &mut rng);
        if !defined.contains(&of) {
            for out in program.outputs() {
                let order = lowered.orders.get(out).copied().unwrap_or(0);
                let shape: Vec<usize> = (0..order).map(|k| world.sizes[&dims.axis(out, k)]).collect();
                world.grads.insert(
                    out.to_string(),
                    ArrayD::from_shape_fn(IxDyn(&shape), |_| rng.range(-1.0, 1.0)),
                );
            }
        }
        let mut c = Checker {
            program,
            lowered,
            world,
            of: of.to_string(),
        };
        c.forward(None);
        c
    }

    /// Recomputes every definition, keeping `fixed` as it is (a perturbed intermediate).
    fn forward(&mut self, fixed: Option<&str>) {
        for (name, params, rhs) in &self.lowered.definitions {
            if Some(&**name) == fixed {
                continue;
            }
            let v = self.world.tabulate(params, rhs);
            self.world.tensors.insert(name.to_string(), v);
        }
    }

    /// The loss: the defined scalar, or `Σ G ⊙ Y` over the outputs.
    fn loss(&self) -> f64 {
        if let Some(l) = self
            .world
            .tensors
            .get(&self.of)
            .filter(|_| self.lowered.definitions.iter().any(|(n, _, _)| **n == *self.of))
        {
            return l.iter().sum();
        }
        self.program
            .outputs()
            .iter()
            .map(|o| (&self.world.tensors[*o] * &self.world.grads[*o]).sum())
            .sum()
    }

    /// Central finite differences of the loss with respect to every element of
    /// `name`, which entries sit at a kink (their two evaluations fall on
    /// different sides of a relu or abs, so there is no derivative to compare),
    /// and the rounding floor of each difference, `ε max(|L₊|, |L₋|) / h`.
    pub fn numeric_gradient(&mut self, name: &str) -> (ArrayD<f64>, ArrayD<bool>, ArrayD<f64>) {
        let base = self.world.tensors[name].clone();
        let mut grad = ArrayD::zeros(base.raw_dim());
        let mut kinks = ArrayD::from_elem(base.raw_dim(), false);
        let mut floor = ArrayD::zeros(base.raw_dim());
        for (pos, _) in base.indexed_iter() {
            let x = base[&pos];
            let h = 1e-6 * x.abs().max(1.0);
            let mut f = [0.0; 2];
            let mut traces: Vec<Vec<f64>> = Vec::new();
            for (k, sign) in [1.0, -1.0].into_iter().enumerate() {
                let mut p = base.clone();
                p[&pos] = x + sign * h;
                self.world.tensors.insert(name.to_string(), p);
                *self.world.kinks.borrow_mut() = Some(Vec::new());
                self.forward(Some(name));
                f[k] = self.loss();
                traces.push(self.world.kinks.borrow_mut().take().unwrap_or_default());
            }
            let side = |v: f64| (v > 0.0) as i8 - (v < 0.0) as i8;
            let crosses = traces[0].iter().zip(&traces[1]).any(|(a, b)| side(*a) != side(*b));
            grad[&pos] = (f[0] - f[1]) / (2.0 * h);
            kinks[&pos] = crosses;
            floor[&pos] = f64::EPSILON * f[0].abs().max(f[1].abs()) / h;
        }
        self.world.tensors.insert(name.to_string(), base);
        self.forward(None);
        (grad, kinks, floor)
    }

    /// Evaluates a matrix expression.
    pub fn eval_mat(&self, m: &Mat) -> Option<Array2<f64>> {
        eval_mat(&self.world, m)
    }

    /// Compares every result of a derivation with finite differences.
    pub fn check(&mut self, d: &Derivation) -> Vec<Report> {
        d.results
            .iter()
            .map(|r| {
                let (numeric, kinks, floor) = self.numeric_gradient(&r.name);
                let skipped = kinks.iter().filter(|k| **k).count();
                // entries at a kink are not compared: NaN marks them for relative_error
                let numeric = ndarray::Zip::from(&numeric)
                    .and(&kinks)
                    .map_collect(|&v, &k| if k { f64::NAN } else { v });
                // a non-finite finite difference elsewhere (an overflow) is a failure, not a skip
                let overflow = ndarray::Zip::from(&numeric)
                    .and(&kinks)
                    .fold(false, |acc, &v, &k| acc || (!k && !v.is_finite()));
                // relative like the errors, over the entries compared
                let noise =
                    ndarray::Zip::from(&floor)
                        .and(&numeric)
                        .fold(0.0f64, |m, &f, &v| if v.is_nan() { m } else { m.max(f) })
                        / scale(&numeric);
                let index = self.world.tabulate(&r.indices, &r.term);
                let index_error = relative_error(&index, &numeric);
                let matrix_error = r.gradient_matrix.as_ref().map(|m| match self.eval_mat(m) {
                    // a zero result prints as `0` whatever its shape
                    Some(a) if matches!(m, Mat::Scalar(t) if t.is_zero()) && a.dim() == (1, 1) => {
                        relative_error(&ArrayD::zeros(numeric.raw_dim()), &numeric)
                    }
                    Some(a) => {
                        let a = a.into_dyn();
                        match a.to_shape(numeric.raw_dim()) {
                            Ok(a) => relative_error(&a.to_owned(), &numeric),
                            Err(_) => f64::INFINITY,
                        }
                    }
                    None => f64::INFINITY,
                });
                let (index_error, matrix_error) = if overflow {
                    (f64::INFINITY, matrix_error.map(|_| f64::INFINITY))
                } else {
                    (index_error, matrix_error)
                };
                Report {
                    wrt: r.wrt.clone(),
                    index_error,
                    matrix_error,
                    skipped,
                    overflow,
                    noise,
                }
            })
            .collect()
    }
}

/// Largest elementwise difference, relative to the largest magnitude (or absolute
/// when the gradient is zero).
/// Entries where `b` (the finite differences) is NaN sit at a kink and are not
/// compared; a NaN in `a` (a derived form) is an infinite error.
pub fn relative_error(a: &ArrayD<f64>, b: &ArrayD<f64>) -> f64 {
    if a.shape() != b.shape() {
        return f64::INFINITY;
    }
    let diff = a.iter().zip(b.iter()).fold(0.0f64, |m, (x, y)| {
        if y.is_nan() {
            m
        } else if x.is_nan() {
            f64::INFINITY
        } else {
            m.max((x - y).abs())
        }
    });
    diff / scale(b)
}

/// What errors are relative to: the largest finite difference compared, or 1.
fn scale(b: &ArrayD<f64>) -> f64 {
    b.iter()
        .filter(|x| !x.is_nan())
        .fold(0.0f64, |m, x| m.max(x.abs()))
        .max(1.0)
}

fn size_symbols(dims: &mut crate::derive::Dims, world: &World) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for class in dims.classes() {
        if let Some(r) = dims.range_of(class) {
            out.push((r, world.sizes[&class]));
        }
    }
    out
}

/// Inputs read inside `log` or `sqrt` (not through another definition).
fn positive_inputs(lowered: &Lowered) -> Vec<String> {
    fn go(t: &Term, inside: bool, out: &mut Vec<String>) {
        match t {
            Term::Var(Name::Tensor(n), _) if inside => out.push(n.to_string()),
            Term::Fn(Func::Log | Func::Sqrt, x) => go(x, true, out),
            Term::Fn(_, x) | Term::Pow(x, _) | Term::Sum(_, x) => go(x, inside, out),
            Term::Add(ts) | Term::Mul(ts) => ts.iter().for_each(|x| go(x, inside, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (_, _, rhs) in &lowered.definitions {
        go(rhs, false, &mut out);
    }
    out
}

/// `assume Σ_k T_sk = c`: scales T so that it holds.
fn satisfy_assumptions(lowered: &Lowered, world: &mut World, rng: &mut Rng) {
    for (_, lhs, rhs) in &lowered.env.assumptions {
        let Term::Sum(ks, body) = lhs else { continue };
        let Term::Var(Name::Tensor(name), ix) = &**body else {
            continue;
        };
        let Term::Num(c) = rhs else { continue };
        let c =
            c.numer().to_string().parse::<f64>().unwrap_or(1.0) / c.denom().to_string().parse::<f64>().unwrap_or(1.0);
        let Some(a) = world.tensors.get_mut(&**name) else {
            continue;
        };
        // summed axes and kept axes
        let summed: Vec<usize> = ix
            .iter()
            .enumerate()
            .filter(|(_, i)| ks.contains(i))
            .map(|(k, _)| k)
            .collect();
        a.mapv_inplace(|_| rng.range(0.1, 1.0));
        let kept: Vec<usize> = (0..ix.len()).filter(|k| !summed.contains(k)).collect();
        let mut totals: HashMap<Vec<usize>, f64> = HashMap::new();
        for (pos, v) in a.indexed_iter() {
            let key: Vec<usize> = kept.iter().map(|&k| pos[k]).collect();
            *totals.entry(key).or_default() += *v;
        }
        for (pos, v) in a.indexed_iter_mut() {
            let key: Vec<usize> = kept.iter().map(|&k| pos[k]).collect();
            *v *= c / totals[&key];
        }
    }
}

/// Evaluates a matrix expression: vectors are columns, scalars 1×1.
pub fn eval_mat(w: &World, m: &Mat) -> Option<Array2<f64>> {
    let size = |d: &u32| w.sizes.get(d).copied().unwrap_or(1);
    Some(match m {
        Mat::Var(name, _) => {
            let (table, key) = match name {
                Name::Tensor(n) => (&w.tensors, n.to_string()),
                Name::Grad { wrt, .. } => (&w.grads, wrt.to_string()),
            };
            match table.get(&key) {
                Some(a) => match a.ndim() {
                    0 => Array2::from_elem((1, 1), a[IxDyn(&[])]),
                    1 => Array2::from_shape_vec((a.len(), 1), a.iter().cloned().collect()).ok()?,
                    2 => a.clone().into_dimensionality::<ndarray::Ix2>().ok()?,
                    _ => return None,
                },
                None => Array2::from_elem((1, 1), w.size_symbol(&key)),
            }
        }
        Mat::Scalar(t) => Array2::from_elem((1, 1), w.eval(t, &mut HashMap::new())),
        Mat::T(x) => eval_mat(w, x)?.reversed_axes(),
        Mat::MatMul(xs) => {
            let mut acc = eval_mat(w, &xs[0])?;
            for x in &xs[1..] {
                let b = eval_mat(w, x)?;
                acc = if acc.dim() == (1, 1) && b.dim().0 != 1 {
                    b * acc[(0, 0)]
                } else if b.dim() == (1, 1) && acc.dim().1 != 1 {
                    acc * b[(0, 0)]
                } else if acc.dim().1 == b.dim().0 {
                    acc.dot(&b)
                } else {
                    return None;
                };
            }
            acc
        }
        Mat::Had(xs) => {
            let mut acc = eval_mat(w, &xs[0])?;
            for x in &xs[1..] {
                acc = zip(acc, eval_mat(w, x)?, |a, b| a * b)?;
            }
            acc
        }
        Mat::HDiv(a, b) => zip(eval_mat(w, a)?, eval_mat(w, b)?, |a, b| a / b)?,
        Mat::Add(ts) => {
            let mut acc: Option<Array2<f64>> = None;
            for (neg, x) in ts {
                let v = eval_mat(w, x)?;
                let v = if *neg { -v } else { v };
                acc = Some(match acc {
                    None => v,
                    Some(a) => zip(a, v, |a, b| a + b)?,
                });
            }
            acc?
        }
        Mat::Scale(s, x) => eval_mat(w, x)? * w.eval(s, &mut HashMap::new()),
        Mat::Ones(d) => Array2::ones((size(d), 1)),
        Mat::Eye(d) => Array2::eye(size(d)),
        Mat::Map(f, x) => eval_mat(w, x)?.mapv(|v| apply(f, v)),
        Mat::Pow(x, e) => {
            let e = e.numer().to_string().parse::<f64>().ok()? / e.denom().to_string().parse::<f64>().ok()?;
            eval_mat(w, x)?.mapv(|v| v.powf(e))
        }
        Mat::Diag(v) => {
            let v = eval_mat(w, v)?;
            if v.ncols() != 1 {
                return None;
            }
            Array2::from_diag(&v.column(0))
        }
    })
}

/// Elementwise with 1×1 broadcasting (a scalar in a matrix sum).
fn zip(a: Array2<f64>, b: Array2<f64>, f: impl Fn(f64, f64) -> f64) -> Option<Array2<f64>> {
    if a.dim() == b.dim() {
        Some(ndarray::Zip::from(&a).and(&b).map_collect(|&x, &y| f(x, y)))
    } else if a.dim() == (1, 1) {
        let s = a[(0, 0)];
        Some(b.mapv(|y| f(s, y)))
    } else if b.dim() == (1, 1) {
        let s = b[(0, 0)];
        Some(a.mapv(|x| f(x, s)))
    } else {
        None
    }
}

//! Numeric verification: a derived gradient must agree with central finite
//! differences of the loss on random tensors.
//!
//! Every dimension class gets its own size (2, 3, 4, …), so a transposition
//! cannot hide. Inputs are drawn in (−1, 1), except those read inside `log` or
//! `sqrt`, which are drawn in (0.1, 0.9) (probabilities for a cross-entropy),
//! a matrix under `inv`, `det` or `logdet`, drawn n·I plus that noise
//! (invertible, of positive determinant), and the inputs a defined matrix
//! under one reads, drawn in (0.1, 0.9) (see `linalg::matrix_inputs`);
//! the program's assumptions are imposed where they can be (`assume.rs`). An
//! opaque function `h` is evaluated as a fixed smooth function (`a sin x + b x`,
//! with `a`, `b` from its name) and `h'` as its derivative. When the loss is
//! not defined, it is `Σ G ⊙ Y` over the outputs with random upstream
//! gradients `G`. Terms are evaluated by contraction in a greedy elimination
//! order (`eval.rs`), so the cost is polynomial in the number of summed indices.
//!
//! # What counts as a comparison
//!
//! The check never reports ok for what it did not compare. A result is
//! *undecided* (and `--check` exits 1) when:
//!
//! - the loss is not a finite f64 at the inputs (an overflow);
//! - the loss never varies: it has the same value on two independent draws
//!   and at every perturbation of the tensor (a loss that underflows to 0, or
//!   a constant one). Then every finite difference is 0 whatever the form;
//! - every entry sits at a kink of relu or abs (no entry was compared);
//! - an assumption does not hold at the inputs (the check could not impose
//!   it), or perturbing the tensor breaks one (the finite differences leave
//!   the surface on which the derived form, which may use it, is valid);
//! - the finite differences could not tell the derived form from 0: their
//!   largest entry is within the tolerance. The one exception is a form that
//!   is exactly the number 0 when every finite difference is exactly 0 too: a
//!   gradient by a tensor the loss does not depend on. That is a real
//!   comparison, because the loss varied (above) and yet did not move by one
//!   unit in the last place when this tensor moved. (A gradient below the
//!   rounding floor `ε |L| / h` of every difference would look the same: no
//!   finite difference can see it.) A form that is not symbolically 0 but
//!   whose differences are all exactly 0 (an underflow such as
//!   `exp(−10000 x²)`, a relu dead at every entry) is undecided: a wrong form
//!   that underflows the same way would pass too;
//! - the disagreement is within what rounding and truncation in the
//!   differences explain (`report::NOISE_FACTOR` times the estimated floor: rounding
//!   `ε |L| / h` plus the truncation error, a third of the change of the
//!   central difference from step 2h to h). A loss such as `h(exp(x²))`, whose
//!   difference changes by 1e-3 between the two steps, cannot be compared.

mod assume;
mod eval;
mod linalg;
mod mat;
#[cfg(test)]
mod oracle;
mod report;
#[cfg(test)]
mod tests;

use ndarray::{Array2, ArrayD, IxDyn};

use crate::derive::{Derivation, Lowered};
use crate::matrix::Mat;
use crate::syntax::Program;
use crate::term::{Name, Term};

pub use eval::World;
pub use mat::eval_mat;
use report::scale;
pub use report::{relative_error, Judgement, Report, Verdict};

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

/// Central finite differences of the loss by every entry of one tensor.
pub struct Differences {
    /// The finite differences.
    pub gradient: ArrayD<f64>,
    /// Entries whose two evaluations fall on different sides of a relu or
    /// abs: there is no derivative to compare.
    pub kinks: ArrayD<bool>,
    /// The floor of each difference: its rounding `ε max |L(x ± h), L(x ± 2h)| / h`
    /// plus its truncation error, estimated as a third of the change from the
    /// difference at step 2h to the one at h (Richardson).
    pub floor: ArrayD<f64>,
    /// Whether any perturbation changed the loss at all.
    pub varied: bool,
    /// The first assumption a perturbation breaks, by its text.
    pub leaves: Option<String>,
}

/// Builds a random world for a program and fills in its intermediate tensors.
pub struct Checker<'a> {
    program: &'a Program,
    lowered: &'a Lowered,
    world: World,
    of: String,
    assumptions: Vec<assume::Assumption>,
    /// The loss at the inputs.
    base: f64,
    /// The loss at a second, independent draw.
    probe: f64,
    /// The forward pass at the second draw (each result's output is read from it).
    probe_world: World,
    /// The first assumption that does not hold at the inputs.
    broken: Option<String>,
}

impl<'a> Checker<'a> {
    /// A checker with random inputs (seeded) for the derivation's program and
    /// loss, reading the program as the derivation lowered it, with some sizes
    /// fixed: `("s", 3)` sets the range of index `s` (or of the range symbol
    /// `s`) to 3.
    pub fn with_sizes(d: &'a Derivation, seed: u64, fixed: &[(String, usize)]) -> Checker<'a> {
        Self::from_parts(&d.program, &d.lowered, &d.of, seed, fixed)
    }

    /// A checker for a program and loss without a derivation (the unit tests).
    pub(crate) fn from_parts(
        program: &'a Program,
        lowered: &'a Lowered,
        of: &str,
        seed: u64,
        fixed: &[(String, usize)],
    ) -> Checker<'a> {
        let assumptions = assume::assumptions(program, lowered);
        let mut c = Checker {
            program,
            lowered,
            world: World::default(),
            of: of.to_string(),
            assumptions,
            base: 0.0,
            probe: 0.0,
            probe_world: World::default(),
            broken: None,
        };
        // a second, independent draw: does the loss vary at all?
        c.world = c.draw(seed.wrapping_add(0x5EED), fixed);
        c.forward(None);
        c.probe = c.loss();
        c.probe_world = std::mem::take(&mut c.world);
        c.world = c.draw(seed, fixed);
        c.forward(None);
        c.base = c.loss();
        c.broken = c
            .assumptions
            .iter()
            .find(|a| !a.holds(&c.world))
            .map(|a| a.text.clone());
        c
    }

    /// Random inputs (and upstream gradients) with the assumptions imposed.
    fn draw(&self, seed: u64, fixed: &[(String, usize)]) -> World {
        let (program, lowered) = (self.program, self.lowered);
        let mut rng = Rng::new(seed);
        let dims = &lowered.dims;
        let mut world = World::default();
        for (n, class) in dims.classes().enumerate() {
            world.sizes.insert(class, 2 + n % 5);
        }
        for (name, size) in fixed {
            for class in dims.classes_named(name) {
                world.sizes.insert(class, *size);
            }
        }
        // Size symbols: declared ranges and `n_<index>` for the rest.
        for (sym, size) in size_symbols(dims, &world) {
            world.scalar_sizes.insert(sym, size as f64);
        }
        // `n_i`, the size the simplifier writes for a Σ over an unused `i` of
        // an undeclared range: known when every class of the index name `i`
        // has one size (`L = Σ_ij (A_ij + v_j)^2` gives ∂L/∂v = 2 (n_i v + Aᵀ 1))
        for index in dims.index_names() {
            let sizes: Vec<usize> = dims
                .classes_named(index)
                .iter()
                .map(|c| world.sizes.get(c).copied().unwrap_or(1))
                .collect();
            if let Some(&first) = sizes.first().filter(|_| sizes.iter().all(|s| *s == sizes[0])) {
                let letter = program.size_letter();
                world
                    .scalar_sizes
                    .entry(format!("{letter}_{index}"))
                    .or_insert(first as f64);
            }
        }
        let defined: Vec<&str> = lowered.definitions.iter().map(|(n, _, _)| &**n).collect();
        let mut positive = positive_inputs(lowered);
        let (square, feeding) = linalg::matrix_inputs(&lowered.definitions);
        positive.extend(feeding);
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
            let mut a = ArrayD::from_shape_fn(IxDyn(&shape), |_| rng.range(lo, hi));
            if square.contains(name) && shape.len() == 2 {
                // under inv, det or logdet: n·I plus the noise
                for k in 0..shape[0].min(shape[1]) {
                    a[[k, k]] += shape[0] as f64;
                }
            }
            world.tensors.insert(name.clone(), a);
        }
        for a in &self.assumptions {
            a.impose(&mut world, &mut rng);
        }
        if !defined.contains(&self.of.as_str()) {
            for out in program.outputs() {
                let order = lowered.orders.get(out).copied().unwrap_or(0);
                let shape: Vec<usize> = (0..order).map(|k| world.sizes[&dims.axis(out, k)]).collect();
                world.grads.insert(
                    out.to_string(),
                    ArrayD::from_shape_fn(IxDyn(&shape), |_| rng.range(-1.0, 1.0)),
                );
            }
        }
        world
    }

    /// The values the check evaluates on.
    #[cfg(test)]
    pub fn world(&self) -> &World {
        &self.world
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

    /// The loss: the defined scalar (the sum of the entries of a tensor), or
    /// `Σ G ⊙ Y` over the outputs.
    fn loss(&self) -> f64 {
        self.outputs_in(&self.world).iter().sum()
    }

    /// What is differentiated, entry by entry (row-major) in `world`: the
    /// defined tensor `of` (one entry for a scalar loss; a Jacobian's `Y`, a
    /// Hessian's gradient), or the one entry `Σ G ⊙ Y` over the outputs.
    fn outputs_in(&self, world: &World) -> Vec<f64> {
        if let Some(l) = world
            .tensors
            .get(&self.of)
            .filter(|_| self.lowered.definitions.iter().any(|(n, _, _)| **n == *self.of))
        {
            return l.iter().copied().collect();
        }
        vec![self
            .program
            .outputs()
            .iter()
            .map(|o| (&world.tensors[*o] * &world.grads[*o]).sum())
            .sum()]
    }

    /// The shape of what is differentiated: `of`'s, or `[]` for a scalar.
    fn output_shape(&self) -> Vec<usize> {
        match self.world.tensors.get(&self.of) {
            Some(l) if self.lowered.definitions.iter().any(|(n, _, _)| **n == *self.of) => l.shape().to_vec(),
            _ => Vec::new(),
        }
    }

    /// Central finite differences of the loss with respect to every element
    /// of `name`; for a tensor `of` (a Jacobian's `Y`, a Hessian's gradient),
    /// of each of its entries: the array has `of`'s shape, then `name`'s.
    pub fn numeric_gradient(&mut self, name: &str) -> Differences {
        let base = self.world.tensors[name].clone();
        let out_shape = self.output_shape();
        let base_out = self.outputs_in(&self.world);
        let (no, nx) = (base_out.len(), base.len());
        let mut grad = vec![0.0; no * nx];
        let mut kinks = vec![false; no * nx];
        let mut floor = vec![0.0; no * nx];
        let mut varied = false;
        let mut leaves = None;
        for (q, (pos, _)) in base.indexed_iter().enumerate() {
            let x = base[&pos];
            let h = 1e-6 * x.abs().max(1.0);
            // at ±h (the difference) and ±2h (its truncation estimate)
            let mut f: [Vec<f64>; 4] = Default::default();
            let mut traces: Vec<Vec<f64>> = Vec::new();
            let mut opaque: Vec<Vec<f64>> = Vec::new();
            for (k, step) in [h, -h, 2.0 * h, -2.0 * h].into_iter().enumerate() {
                let mut p = base.clone();
                p[&pos] = x + step;
                self.world.tensors.insert(name.to_string(), p);
                *self.world.kinks.borrow_mut() = Some(Vec::new());
                *self.world.opaque.borrow_mut() = Some(Vec::new());
                self.forward(Some(name));
                f[k] = self.outputs_in(&self.world);
                traces.push(self.world.kinks.borrow_mut().take().unwrap_or_default());
                opaque.push(self.world.opaque.borrow_mut().take().unwrap_or_default());
                if leaves.is_none() && k < 2 {
                    leaves = self
                        .assumptions
                        .iter()
                        .find(|a| !a.holds(&self.world))
                        .map(|a| a.text.clone());
                }
            }
            varied |= f[..2]
                .iter()
                .any(|v| v.iter().zip(&base_out).any(|(a, b)| a.to_bits() != b.to_bits()));
            let side = |v: f64| (v > 0.0) as i8 - (v < 0.0) as i8;
            let apart = |a: &[f64], b: &[f64]| a.iter().zip(b).any(|(a, b)| side(*a) != side(*b));
            let crosses = apart(&traces[0], &traces[1]);
            // An opaque function's stand-in `a sin x + b x` oscillates: where
            // the step moves its argument by a tenth of a radian or more, the
            // differences cannot resolve it (the argument may be 1e19, whose
            // sine f64 does not even know) — no floor makes them comparable.
            let unresolved = opaque[0].iter().zip(&opaque[1]).any(|(a, b)| (a - b).abs() > 0.1);
            let wide_kink = apart(&traces[2], &traces[3]);
            for e in 0..no {
                let at = |k: usize| f[k].get(e).copied().unwrap_or(f64::NAN);
                let difference = (at(0) - at(1)) / (2.0 * h);
                let rounding = f64::EPSILON * (0..4).fold(0.0_f64, |m, k| m.max(at(k).abs())) / h;
                // Richardson: the central difference's truncation error at h is
                // about a third of its change from 2h to h. Where ±2h crosses a
                // kink that ±h does not, the wider difference says nothing.
                let truncation = if wide_kink {
                    0.0
                } else {
                    ((at(2) - at(3)) / (4.0 * h) - difference).abs() / 3.0
                };
                grad[e * nx + q] = difference;
                kinks[e * nx + q] = crosses;
                floor[e * nx + q] = if unresolved {
                    f64::INFINITY
                } else {
                    rounding + truncation
                };
            }
        }
        self.world.tensors.insert(name.to_string(), base.clone());
        self.forward(None);
        let shape: Vec<usize> = out_shape.iter().chain(base.shape()).copied().collect();
        let array = |v| ArrayD::from_shape_vec(IxDyn(&shape), v).expect("one entry per output and input");
        Differences {
            gradient: array(grad),
            kinks: ArrayD::from_shape_vec(IxDyn(&shape), kinks).expect("one entry per output and input"),
            floor: array(floor),
            varied,
            leaves,
        }
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
                // what this result differentiates: the loss, a Jacobian's `Y`,
                // a Hessian's gradient, an HVP's `(∂L/∂X)·V`
                self.of = r.output.clone();
                self.base = self.loss();
                self.probe = self.outputs_in(&self.probe_world).iter().sum();
                let diff = self.numeric_gradient(&r.name);
                let (numeric, kinks, floor) = (diff.gradient, diff.kinks, diff.floor);
                let skipped = kinks.iter().filter(|k| **k).count();
                // entries at a kink are not compared: NaN marks them for relative_error
                let numeric = ndarray::Zip::from(&numeric)
                    .and(&kinks)
                    .map_collect(|&v, &k| if k { f64::NAN } else { v });
                // a non-finite finite difference elsewhere (an overflow) is a failure, not a skip
                let overflow = !self.base.is_finite()
                    || ndarray::Zip::from(&numeric)
                        .and(&kinks)
                        .fold(false, |acc, &v, &k| acc || (!k && !v.is_finite()));
                // relative like the errors, over the entries compared
                let noise =
                    ndarray::Zip::from(&floor)
                        .and(&numeric)
                        .fold(0.0f64, |m, &f, &v| if v.is_nan() { m } else { m.max(f) })
                        / scale(&numeric);
                let largest = numeric
                    .iter()
                    .filter(|v| !v.is_nan())
                    .fold(0.0f64, |m, v| m.max(v.abs()));
                // a matrix under inv, det or logdet that the draw left singular or
                // of non-positive determinant: say so rather than "overflow"
                let trouble = linalg::trouble(&self.world, &self.lowered.definitions);
                // a size `n_i` whose index ranges over dimensions of different
                // sizes has no one value: the form (or the gradient a second
                // derivative differentiates) is ambiguous, not wrong or right
                let mut read = Vec::new();
                unresolved(&r.term, &self.world, &mut read);
                if let Some((_, _, rhs)) = self.lowered.definitions.iter().find(|(n, _, _)| **n == *r.output) {
                    unresolved(rhs, &self.world, &mut read);
                }
                let overflow = overflow && trouble.is_none() && read.is_empty();
                let undecided = if let Some(t) = trouble {
                    Some(t)
                } else if let Some(n) = read.first() {
                    Some(format!(
                        "the form reads the size `{n}`, and its index ranges over dimensions of \
                         different sizes here: the check cannot tell which"
                    ))
                } else if let Some(a) = &self.broken {
                    Some(format!(
                        "`{a}` does not hold at the random inputs, and the check cannot impose it"
                    ))
                } else if !diff.varied && self.probe.to_bits() == self.base.to_bits() {
                    Some(format!(
                        "the loss is {} on two random draws and at every perturbation of {}: \
                         it never varies, so nothing could be compared",
                        self.base, r.wrt
                    ))
                } else if skipped > 0 && skipped == numeric.len() {
                    Some("every entry sits at a kink of relu or abs: nothing could be compared".into())
                } else {
                    diff.leaves.map(|a| {
                        format!(
                            "perturbing {} leaves `{a}`: the finite differences measure a derivative \
                             the assumption does not define",
                            r.wrt
                        )
                    })
                };
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
                    undecided,
                    largest,
                    zero_form: r.term.is_zero(),
                }
            })
            .collect()
    }
}

fn size_symbols(dims: &crate::derive::Dims, world: &World) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for class in dims.classes() {
        if let Some(r) = dims.range_of(class) {
            out.push((r.to_string(), world.sizes[&class]));
        }
    }
    out
}

/// The names `t` reads that the world has no value for: size symbols `n_i`
/// whose index names dimensions of different sizes.
fn unresolved(t: &Term, world: &World, out: &mut Vec<String>) {
    match t {
        Term::Var(Name::Tensor(n), _)
            if !world.tensors.contains_key(&**n)
                && !world.scalar_sizes.contains_key(&**n)
                && !out.iter().any(|o| **o == **n) =>
        {
            out.push(n.to_string());
        }
        _ => t.children().iter().for_each(|x| unresolved(x, world, out)),
    }
}

/// Inputs read inside `log` or `sqrt` (not through another definition).
fn positive_inputs(lowered: &Lowered) -> Vec<String> {
    fn go(t: &Term, inside: bool, out: &mut Vec<String>) {
        match t {
            Term::Var(Name::Tensor(n), _) if inside => out.push(n.to_string()),
            Term::Fn(f, x) if f.builtin().is_some_and(|b| b.positive) => go(x, true, out),
            _ => t.children().iter().for_each(|x| go(x, inside, out)),
        }
    }
    let mut out = Vec::new();
    for (_, _, rhs) in &lowered.definitions {
        go(rhs, false, &mut out);
    }
    out
}

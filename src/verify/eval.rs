//! Evaluating index terms on numbers, in polynomial time.
//!
//! Every term evaluates to a [`Table`]: a dense array over the term's free
//! indices. A node that is not a Σ is tabulated over its own free indices (its
//! result has that size whatever the order of work). A Σ over a product is a
//! contraction: its factors are tabulated one by one and the summed indices are
//! eliminated one at a time, each time multiplying only the factors that hold
//! the index and summing it out, choosing greedily the index whose elimination
//! loops over the fewest entries (variable elimination, as einsum path
//! optimisers do). The trace of a chain of k matrices costs k n³ rather than
//! n^k. A Σ over a sum is distributed over its terms, and nested Σ and
//! products are flattened into one contraction (bound indices are unique, so
//! this never captures; a collision is still detected and left nested).
//!
//! What stays exponential is what must: a function, power or sum that spans
//! many indices (`exp` of a product over k summed indices) is tabulated over
//! all of them, since nothing factors through it.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

use ndarray::{ArrayD, IxDyn};

use crate::term::{Func, Ix, Name, Term};

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
    pub(crate) kinks: RefCell<Option<Vec<f64>>>,
    /// While recording: every argument of an opaque function (`h`), whose
    /// stand-in `a sin x + b x` finite differences resolve only while a step
    /// moves its argument by much less than its period.
    pub(crate) opaque: RefCell<Option<Vec<f64>>>,
}

/// A dense array over named indices: axis `k` of `data` is index `ix[k]`;
/// `data` is in standard (row-major) layout and the indices are distinct.
#[derive(Clone, Debug)]
pub(crate) struct Table {
    /// The indices, one per axis.
    pub(crate) ix: Vec<Ix>,
    /// The values.
    pub(crate) data: ArrayD<f64>,
}

impl Table {
    fn scalar(v: f64) -> Table {
        Table {
            ix: Vec::new(),
            data: ArrayD::from_elem(IxDyn(&[]), v),
        }
    }

    fn map(mut self, f: impl Fn(f64) -> f64) -> Table {
        self.data.mapv_inplace(f);
        self
    }
}

/// An exact number as the nearest f64 (NaN if it does not parse).
pub(crate) fn number(n: &num_rational::BigRational) -> f64 {
    n.numer().to_string().parse::<f64>().unwrap_or(f64::NAN) / n.denom().to_string().parse::<f64>().unwrap_or(f64::NAN)
}

pub(crate) fn opaque(name: &str, primes: u8, x: f64) -> f64 {
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

/// An elementwise function's value: a built-in's from [`crate::term::BUILTINS`].
pub fn apply(f: &Func, x: f64) -> f64 {
    match f {
        Func::Opaque(name, primes) => opaque(name, *primes, x),
        builtin => (builtin
            .builtin()
            .expect("every function but an opaque one is built in")
            .eval)(x),
    }
}

/// How [`World::combine`] joins the factors at one assignment of the indices.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Join {
    Product,
    Sum,
}

impl World {
    pub(crate) fn size(&self, i: &Ix) -> usize {
        self.sizes.get(&i.dim).copied().unwrap_or(1)
    }

    pub(crate) fn size_symbol(&self, name: &str) -> f64 {
        self.scalar_sizes.get(name).copied().unwrap_or(f64::NAN)
    }

    /// The value of a term with no free indices (a term with some is read at
    /// index 0 of each).
    pub(crate) fn scalar(&self, t: &Term) -> f64 {
        let table = self.table(t);
        let at = vec![0; table.ix.len()];
        table.data.get(IxDyn(&at)).copied().unwrap_or(f64::NAN)
    }

    /// The term as a dense array whose axes follow `indices` (an index the term
    /// does not mention is broadcast along; a free index of the term missing
    /// from `indices` is read at 0).
    pub(crate) fn tabulate(&self, indices: &[Ix], t: &Term) -> ArrayD<f64> {
        let table = self.table(t);
        let shape: Vec<usize> = indices.iter().map(|i| self.size(i)).collect();
        let axis: Vec<Option<usize>> = table.ix.iter().map(|i| indices.iter().position(|j| j == i)).collect();
        let mut at = vec![0; table.ix.len()];
        ArrayD::from_shape_fn(IxDyn(&shape), |pos| {
            for (k, a) in axis.iter().enumerate() {
                at[k] = a.map_or(0, |a| pos[a]);
            }
            table.data[IxDyn(&at)]
        })
    }

    /// The term over its free indices.
    pub(crate) fn table(&self, t: &Term) -> Table {
        match t {
            Term::Num(n) => Table::scalar(number(n)),
            Term::Pi => Table::scalar(std::f64::consts::PI),
            Term::Var(name, ix) => self.var(name, ix),
            Term::Delta(a, b) if a == b => Table::scalar(1.0),
            Term::Delta(a, b) => Table {
                ix: vec![a.clone(), b.clone()],
                data: ArrayD::from_shape_fn(IxDyn(&[self.size(a), self.size(b)]), |p| (p[0] == p[1]) as u8 as f64),
            },
            Term::Add(ts) => {
                let tables: Vec<Table> = ts.iter().map(|x| self.table(x)).collect();
                let keep = union(&tables);
                self.combine(&tables.iter().collect::<Vec<_>>(), &keep, &[], Join::Sum)
            }
            Term::Mul(_) => {
                let mut factors = Vec::new();
                let mut summed = Vec::new();
                self.factors(t, &mut factors, &mut summed, &BTreeSet::new());
                self.contract(factors, summed)
            }
            Term::Pow(b, e) => {
                let e = number(e);
                self.table(b).map(|v| v.powf(e))
            }
            Term::Fn(f, x) => {
                let v = self.table(x);
                if f.builtin().is_some_and(|b| b.kinked) {
                    if let Some(trace) = self.kinks.borrow_mut().as_mut() {
                        trace.extend(v.data.iter().copied());
                    }
                }
                if matches!(f, Func::Opaque(..)) {
                    if let Some(trace) = self.opaque.borrow_mut().as_mut() {
                        trace.extend(v.data.iter().copied());
                    }
                }
                v.map(|x| apply(f, x))
            }
            Term::Sum(ks, body) => self.sum(ks, body),
        }
    }

    /// A tensor access, a given gradient, or a size symbol.
    fn var(&self, name: &Name, ix: &[Ix]) -> Table {
        let computed;
        let a = match name {
            // inv(A), det(A), logdet(A) of A's current value
            Name::Matrix(f, m) => match self.tensors.get(&**m) {
                Some(a) => {
                    computed = super::linalg::apply(*f, a);
                    &computed
                }
                None => return Table::scalar(f64::NAN),
            },
            Name::Tensor(key) | Name::Grad { wrt: key, .. } => {
                let table = if matches!(name, Name::Tensor(_)) {
                    &self.tensors
                } else {
                    &self.grads
                };
                match table.get(&**key) {
                    Some(a) => a,
                    // a size symbol such as `S` or `n_i`
                    None => return Table::scalar(self.size_symbol(key)),
                }
            }
        };
        let mut distinct: Vec<Ix> = Vec::new();
        for i in ix {
            if !distinct.contains(i) {
                distinct.push(i.clone());
            }
        }
        if distinct.len() == ix.len() && a.ndim() == ix.len() && a.is_standard_layout() {
            return Table {
                ix: distinct,
                data: a.clone(),
            };
        }
        // a repeated index (`X_ii`): the diagonal
        let shape: Vec<usize> = distinct.iter().map(|i| self.size(i)).collect();
        let axis: Vec<usize> = ix
            .iter()
            .map(|i| distinct.iter().position(|j| j == i).unwrap_or(0))
            .collect();
        let mut at = vec![0; ix.len()];
        let data = ArrayD::from_shape_fn(IxDyn(&shape), |pos| {
            for (k, a) in axis.iter().enumerate() {
                at[k] = pos[*a];
            }
            a.get(IxDyn(&at)).copied().unwrap_or(f64::NAN)
        });
        Table { ix: distinct, data }
    }

    /// `Σ_ks body`.
    fn sum(&self, ks: &[Ix], body: &Term) -> Table {
        match body {
            // Σ_K (a + b) = Σ_K a + Σ_K b, each over the indices it mentions
            // times the sizes of the others
            Term::Add(ts) => {
                let tables: Vec<Table> = ts
                    .iter()
                    .map(|t| {
                        let free = t.free();
                        let (mine, absent): (Vec<Ix>, Vec<Ix>) = ks.iter().cloned().partition(|k| free.contains(k));
                        let count: f64 = absent.iter().map(|k| self.size(k) as f64).product();
                        let v = if mine.is_empty() {
                            self.table(t)
                        } else {
                            self.sum(&mine, t)
                        };
                        if absent.is_empty() {
                            v
                        } else {
                            v.map(|x| x * count)
                        }
                    })
                    .collect();
                let keep = union(&tables);
                self.combine(&tables.iter().collect::<Vec<_>>(), &keep, &[], Join::Sum)
            }
            _ => {
                let mut factors = Vec::new();
                let mut summed: Vec<Ix> = ks.to_vec();
                self.factors(body, &mut factors, &mut summed, &BTreeSet::new());
                self.contract(factors, summed)
            }
        }
    }

    /// The factors of a product, flattening nested products and Σ (whose
    /// indices join `summed`). A Σ whose bound indices occur elsewhere — in a
    /// factor or a Σ already taken, or free in a factor of an enclosing
    /// product (`free`) — is kept as one factor: that never happens while
    /// bound indices are unique, but a hand-built term may break the rule.
    fn factors(&self, t: &Term, factors: &mut Vec<Table>, summed: &mut Vec<Ix>, free: &BTreeSet<Ix>) {
        match t {
            Term::Mul(ts) => {
                let mut free = free.clone();
                for x in ts {
                    free.extend(x.free());
                }
                // Σ factors last, so that the collision test sees the others' indices
                let (sums, rest): (Vec<&Term>, Vec<&Term>) = ts.iter().partition(|x| matches!(x, Term::Sum(..)));
                for x in rest.into_iter().chain(sums) {
                    self.factors(x, factors, summed, &free);
                }
            }
            Term::Sum(ks, body) if !matches!(**body, Term::Add(_)) => {
                let seen = |k: &Ix| free.contains(k) || summed.contains(k) || factors.iter().any(|f| f.ix.contains(k));
                if ks.iter().any(seen) {
                    factors.push(self.sum(ks, body));
                } else {
                    summed.extend(ks.iter().cloned());
                    self.factors(body, factors, summed, free);
                }
            }
            _ => factors.push(self.table(t)),
        }
    }

    /// `Σ_summed Π factors` by greedy variable elimination.
    fn contract(&self, mut factors: Vec<Table>, mut summed: Vec<Ix>) -> Table {
        let mut distinct: Vec<Ix> = Vec::new();
        summed.retain(|k| {
            let new = !distinct.contains(k);
            distinct.push(k.clone());
            new
        });
        // an index no factor holds counts its range
        let mut count = 1.0;
        summed.retain(|k| {
            let held = factors.iter().any(|f| f.ix.contains(k));
            if !held {
                count *= self.size(k) as f64;
            }
            held
        });
        while !summed.is_empty() {
            // the index whose elimination loops over the fewest entries
            let mut best: Option<(usize, usize)> = None;
            for (n, k) in summed.iter().enumerate() {
                let mut seen: Vec<&Ix> = Vec::new();
                for f in factors.iter().filter(|f| f.ix.contains(k)) {
                    for i in &f.ix {
                        if !seen.contains(&i) {
                            seen.push(i);
                        }
                    }
                }
                let cost = seen.iter().fold(1usize, |c, i| c.saturating_mul(self.size(i)));
                if best.is_none_or(|(_, c)| cost < c) {
                    best = Some((n, cost));
                }
            }
            let k = summed[best.map_or(0, |(n, _)| n)].clone();
            let (with, without): (Vec<Table>, Vec<Table>) = factors.into_iter().partition(|f| f.ix.contains(&k));
            // every summed index held only by these factors goes in the same step
            let inside = union(&with);
            let gone: Vec<Ix> = inside
                .iter()
                .filter(|i| summed.contains(i) && !without.iter().any(|f| f.ix.contains(i)))
                .cloned()
                .collect();
            let keep: Vec<Ix> = inside.iter().filter(|i| !gone.contains(i)).cloned().collect();
            let joined = self.combine(&with.iter().collect::<Vec<_>>(), &keep, &gone, Join::Product);
            summed.retain(|i| !gone.contains(i));
            factors = without;
            factors.push(joined);
        }
        let keep = union(&factors);
        let out = self.combine(&factors.iter().collect::<Vec<_>>(), &keep, &[], Join::Product);
        if count == 1.0 {
            out
        } else {
            out.map(|x| x * count)
        }
    }

    /// `out[keep] = Σ_summed join(factors)` over every assignment of `keep`
    /// and `summed` (which together hold every index of every factor): one
    /// strided loop with running offsets.
    fn combine(&self, factors: &[&Table], keep: &[Ix], summed: &[Ix], join: Join) -> Table {
        let axes: Vec<&Ix> = keep.iter().chain(summed).collect();
        let sizes: Vec<usize> = axes.iter().map(|i| self.size(i)).collect();
        let out_len: usize = sizes[..keep.len()].iter().product();
        let inner: usize = sizes[keep.len()..].iter().product();
        let mut out = vec![0.0; out_len];
        // each factor's stride along each axis (0 where it does not hold it)
        let strides: Vec<Vec<usize>> = factors
            .iter()
            .map(|f| {
                let mut own = vec![0; f.ix.len()];
                let mut s = 1;
                for k in (0..f.ix.len()).rev() {
                    own[k] = s;
                    s *= f.data.shape()[k];
                }
                axes.iter()
                    .map(|a| f.ix.iter().position(|i| i == *a).map_or(0, |k| own[k]))
                    .collect()
            })
            .collect();
        let data: Vec<std::borrow::Cow<[f64]>> = factors
            .iter()
            .map(|f| match f.data.as_slice() {
                Some(s) => std::borrow::Cow::Borrowed(s),
                None => std::borrow::Cow::Owned(f.data.iter().copied().collect()),
            })
            .collect();
        let total = out_len * inner;
        if total > 0 {
            let mut pos = vec![0usize; axes.len()];
            let mut offset = vec![0usize; factors.len()];
            for n in 0..total {
                let v = match join {
                    Join::Product => offset.iter().zip(&data).map(|(o, d)| d[*o]).product::<f64>(),
                    Join::Sum => offset.iter().zip(&data).map(|(o, d)| d[*o]).sum::<f64>(),
                };
                out[n / inner.max(1)] += v;
                for a in (0..axes.len()).rev() {
                    pos[a] += 1;
                    for (o, s) in offset.iter_mut().zip(&strides) {
                        *o += s[a];
                    }
                    if pos[a] < sizes[a] {
                        break;
                    }
                    for (o, s) in offset.iter_mut().zip(&strides) {
                        *o -= s[a] * sizes[a];
                    }
                    pos[a] = 0;
                }
            }
        }
        let shape: Vec<usize> = sizes[..keep.len()].to_vec();
        Table {
            ix: keep.to_vec(),
            data: ArrayD::from_shape_vec(IxDyn(&shape), out).expect("the shape holds every entry"),
        }
    }
}

/// Every index of the tables, in first-seen order.
fn union(tables: &[Table]) -> Vec<Ix> {
    let mut out: Vec<Ix> = Vec::new();
    for t in tables {
        for i in &t.ix {
            if !out.contains(i) {
                out.push(i.clone());
            }
        }
    }
    out
}

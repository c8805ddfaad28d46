//! The evaluator `--check` used before contraction ordering: every term at one
//! assignment of its indices, every Σ a loop over all combinations of its
//! bound indices (exponential in their number, with each Σ's values memoised
//! by its free indices). Kept as the oracle the contraction evaluator must
//! agree with on small programs.

use std::collections::HashMap;

use ndarray::{ArrayD, IxDyn};

use super::eval::{apply, number, World};
use crate::term::{Ix, Name, Term};

/// Pointwise evaluation with Σ values memoised per node and free-index values.
pub(crate) struct Oracle<'w> {
    world: &'w World,
    sums: HashMap<(usize, Vec<usize>), f64>,
}

impl<'w> Oracle<'w> {
    pub(crate) fn new(world: &'w World) -> Oracle<'w> {
        Oracle {
            world,
            sums: HashMap::new(),
        }
    }

    /// Every value of `t` over `indices`, as the old `World::tabulate` computed it.
    pub(crate) fn tabulate(&mut self, indices: &[Ix], t: &Term) -> ArrayD<f64> {
        self.sums.clear();
        let shape: Vec<usize> = indices.iter().map(|i| self.world.size(i)).collect();
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

    fn eval(&mut self, t: &Term, at: &mut HashMap<Ix, usize>) -> f64 {
        match t {
            Term::Num(n) => number(n),
            Term::Pi => std::f64::consts::PI,
            Term::Var(Name::Matrix(f, m), ix) => {
                let Some(a) = self.world.tensors.get(&**m) else {
                    return f64::NAN;
                };
                let v = super::linalg::apply(*f, a);
                let pos: Vec<usize> = ix.iter().map(|i| at.get(i).copied().unwrap_or(0)).collect();
                v[IxDyn(&pos)]
            }
            Term::Var(name, ix) => {
                let (table, key) = match name {
                    Name::Matrix(..) => unreachable!("above"),
                    Name::Tensor(n) => (&self.world.tensors, n.to_string()),
                    Name::Grad { wrt, .. } => (&self.world.grads, wrt.to_string()),
                };
                let Some(a) = table.get(&key) else {
                    return self.world.size_symbol(&key);
                };
                let pos: Vec<usize> = ix.iter().map(|i| at.get(i).copied().unwrap_or(0)).collect();
                a[IxDyn(&pos)]
            }
            Term::Delta(a, b) => (at.get(a) == at.get(b)) as u8 as f64,
            Term::Add(ts) => ts.iter().map(|x| self.eval(x, at)).sum(),
            Term::Mul(ts) => ts.iter().map(|x| self.eval(x, at)).product(),
            Term::Pow(b, e) => self.eval(b, at).powf(number(e)),
            Term::Fn(f, x) => apply(f, self.eval(x, at)),
            Term::Sum(ks, body) => {
                let free: Vec<Ix> = t.free().into_iter().collect();
                let key = (
                    t as *const Term as usize,
                    free.iter().map(|i| at.get(i).copied().unwrap_or(0)).collect::<Vec<_>>(),
                );
                if let Some(v) = self.sums.get(&key) {
                    return *v;
                }
                let v = self.sum_over(ks, body, at);
                self.sums.insert(key, v);
                v
            }
        }
    }

    fn sum_over(&mut self, ks: &[Ix], body: &Term, at: &mut HashMap<Ix, usize>) -> f64 {
        let Some((k, rest)) = ks.split_first() else {
            return self.eval(body, at);
        };
        let mut total = 0.0;
        for v in 0..self.world.size(k) {
            at.insert(k.clone(), v);
            total += self.sum_over(rest, body, at);
        }
        at.remove(k);
        total
    }
}

//! The program's assumptions on the random inputs.
//!
//! The simplifier may use an `assume` line, so a derived form can be right
//! only where the assumption holds: the check must draw inputs on which it
//! does. Two shapes are imposed on the inputs after they are drawn:
//!
//! - a scalar input equal to a constant, `assume a = 3`: `a` is set to 3;
//! - a sum of a power of one input along some of its axes equal to a positive
//!   constant, `assume Σ_k T_sk = 1`, `assume Σ_k U_sk^2 = 1`: each slice is
//!   rescaled by `(c / Σ T^p)^(1/p)`. For an odd or fractional power the input
//!   is first redrawn in (0.1, 1), so that the sum is positive (one-hot-like
//!   rows).
//!
//! After the forward pass every assumption is evaluated on both sides; one
//! that does not hold (to 1e-9 relative) makes the check undecided, whether
//! the check could not impose it or it constrains defined tensors that the
//! drawn inputs do not satisfy. Each finite difference re-evaluates them too:
//! perturbing a tensor that an assumption constrains leaves the assumption's
//! surface, where the derived form (which may have used the assumption) and
//! the finite differences measure different things.

use std::collections::HashMap;

use ndarray::{ArrayD, IxDyn};

use super::eval::World;
use super::Rng;
use crate::derive::Lowered;
use crate::syntax::ast::StatementKind;
use crate::syntax::Program;
use crate::term::{Ix, Name, Term};

/// One `assume` line: its text and its terms.
pub(crate) struct Assumption {
    /// The line as the program's canonical form prints it.
    pub text: String,
    params: Vec<Ix>,
    lhs: Term,
    rhs: Term,
}

/// The program's assumptions, with their text.
pub(crate) fn assumptions(program: &Program, lowered: &Lowered) -> Vec<Assumption> {
    let texts = program
        .syntax
        .statements
        .iter()
        .filter(|s| matches!(s.kind, StatementKind::Assume { rhs: Some(_), .. }))
        .map(|s| s.to_string());
    texts
        .zip(&lowered.env.assumptions)
        .map(|(text, (params, lhs, rhs))| Assumption {
            text: text.trim().to_string(),
            params: params.clone(),
            lhs: lhs.clone(),
            rhs: rhs.clone(),
        })
        .collect()
}

/// Whether the term reads none of the drawn inputs (a constant, perhaps with sizes).
fn constant(t: &Term, world: &World) -> bool {
    match t {
        Term::Var(Name::Tensor(n), _) => !world.tensors.contains_key(&**n),
        Term::Var(Name::Grad { .. } | Name::Matrix(..), _) => false,
        _ => t.children().iter().all(|x| constant(x, world)),
    }
}

impl Assumption {
    /// Imposes the assumption on the drawn inputs (before the forward pass,
    /// when `world` holds only inputs) if it has a shape the check can impose.
    pub fn impose(&self, world: &mut World, rng: &mut Rng) {
        for (side, other) in [(&self.lhs, &self.rhs), (&self.rhs, &self.lhs)] {
            if constant(other, world) && !constant(side, world) {
                let c = world.scalar(other);
                if impose(side, c, world, rng) {
                    return;
                }
            }
        }
    }

    /// Whether both sides agree (to 1e-9 relative) at every value of the
    /// assumption's free indices.
    pub fn holds(&self, world: &World) -> bool {
        let l = world.tabulate(&self.params, &self.lhs);
        let r = world.tabulate(&self.params, &self.rhs);
        l.iter()
            .zip(r.iter())
            .all(|(a, b)| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0))
    }
}

/// Makes `side = c` hold by setting or rescaling the one input it reads.
fn impose(side: &Term, c: f64, world: &mut World, rng: &mut Rng) -> bool {
    if !c.is_finite() {
        return false;
    }
    match side {
        // `a = c`
        Term::Var(Name::Tensor(name), ix) if ix.is_empty() => match world.tensors.get_mut(&**name) {
            Some(a) if a.ndim() == 0 => {
                *a = ArrayD::from_elem(IxDyn(&[]), c);
                true
            }
            _ => false,
        },
        // `q Σ … = c`
        Term::Mul(fs) if fs.len() == 2 => match (&fs[0], &fs[1]) {
            (Term::Num(q), rest) | (rest, Term::Num(q)) => {
                let q = super::eval::number(q);
                q != 0.0 && impose(rest, c / q, world, rng)
            }
            _ => false,
        },
        // `Σ_K T^p = c`
        Term::Sum(ks, body) => {
            let (var, p) = match &**body {
                Term::Pow(b, e) => (&**b, super::eval::number(e)),
                other => (other, 1.0),
            };
            let Term::Var(Name::Tensor(name), ix) = var else {
                return false;
            };
            let distinct = ix.iter().enumerate().all(|(k, i)| !ix[..k].contains(i));
            if !(c > 0.0 && p != 0.0 && p.is_finite() && distinct && ks.iter().all(|k| ix.contains(k))) {
                return false;
            }
            let Some(a) = world.tensors.get_mut(&**name) else {
                return false;
            };
            if a.ndim() != ix.len() {
                return false;
            }
            let even = p.fract() == 0.0 && (p as i64) % 2 == 0;
            if !even {
                a.mapv_inplace(|_| rng.range(0.1, 1.0));
            }
            let kept: Vec<usize> = (0..ix.len()).filter(|&k| !ks.contains(&ix[k])).collect();
            let mut totals: HashMap<Vec<usize>, f64> = HashMap::new();
            for (pos, v) in a.indexed_iter() {
                let key: Vec<usize> = kept.iter().map(|&k| pos[k]).collect();
                *totals.entry(key).or_default() += v.powf(p);
            }
            for (pos, v) in a.indexed_iter_mut() {
                let key: Vec<usize> = kept.iter().map(|&k| pos[k]).collect();
                *v *= (c / totals[&key]).powf(1.0 / p);
            }
            true
        }
        _ => false,
    }
}

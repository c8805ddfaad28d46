//! A matrix times its inverse: `Σ_j A_ij (A⁻¹)_jk = δ_ik` and
//! `Σ_j (A⁻¹)_ij A_jk = δ_ik`, so that, for instance, the gradient of
//! `Σ_ij (A⁻¹)_ij A_ji = tr(A⁻¹ A)` cancels to 0. The δ left behind is
//! contracted by the δ pass.

use super::build::normalize;
use super::contract::contract;
use super::env::Env;
use crate::term::{Ix, MatrixFn, Name, Term};

/// The term with every product of a matrix and its inverse over a summed
/// index replaced by a δ (and contracted); `None` when there is none.
pub fn cancel_inverses(t: &Term, env: &Env) -> Option<Term> {
    if !mentions_inverse(t) {
        return None;
    }
    let mut changed = false;
    let out = go(t, &mut changed);
    changed.then(|| contract(&normalize(&out, env), env))
}

fn mentions_inverse(t: &Term) -> bool {
    match t {
        Term::Var(Name::Matrix(MatrixFn::Inv, _), _) => true,
        _ => t.children().iter().any(mentions_inverse),
    }
}

fn go(t: &Term, changed: &mut bool) -> Term {
    match t {
        Term::Sum(ks, body) => {
            let mut ks = ks.clone();
            let mut fs = match go(body, changed) {
                Term::Mul(fs) => fs,
                b => vec![b],
            };
            while let Some((p, q, delta, j)) = find_pair(&fs, &ks) {
                *changed = true;
                fs[p] = delta;
                fs.remove(q);
                ks.retain(|k| *k != j);
            }
            let body = Term::Mul(fs);
            if ks.is_empty() {
                body
            } else {
                Term::Sum(ks, Box::new(body))
            }
        }
        _ => t.map_children(|x| go(x, changed)),
    }
}

/// Two factors `A_xj (A⁻¹)_jy` (or `(A⁻¹)_xj A_jy`) over a summed `j` that no
/// other factor mentions: their positions, the δ_xy that replaces them, and `j`.
fn find_pair(fs: &[Term], ks: &[Ix]) -> Option<(usize, usize, Term, Ix)> {
    for (p, f) in fs.iter().enumerate() {
        for (q, g) in fs.iter().enumerate() {
            if p == q {
                continue;
            }
            let (Term::Var(n, left), Term::Var(m, right)) = (f, g) else {
                continue;
            };
            let inverse_of =
                |inv: &Name, a: &Name| matches!((inv, a), (Name::Matrix(MatrixFn::Inv, x), Name::Tensor(y)) if x == y);
            if !(inverse_of(n, m) || inverse_of(m, n)) {
                continue;
            }
            let ([x, j], [j2, y]) = (left.as_slice(), right.as_slice()) else {
                continue;
            };
            if j != j2 || x == j || y == j || !ks.contains(j) {
                continue;
            }
            let elsewhere = fs.iter().enumerate().any(|(r, h)| r != p && r != q && h.mentions(j));
            if !elsewhere {
                return Some((p, q, Term::Delta(x.clone(), y.clone()), j.clone()));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    #[test]
    fn a_matrix_times_its_inverse_is_the_identity() {
        let a: Rc<str> = "A".into();
        let (i, j, k) = (Ix::fresh("i", 1), Ix::fresh("j", 1), Ix::fresh("k", 1));
        let env = Env::default();
        let var = |ix: Vec<Ix>| Term::Var(Name::Tensor(a.clone()), ix);
        // Σ_j A_ij (A⁻¹)_jk = δ_ik, and Σ_j (A⁻¹)_ij A_jk = δ_ik
        for body in [
            vec![var(vec![i.clone(), j.clone()]), Term::inv(&a, j.clone(), k.clone())],
            vec![Term::inv(&a, i.clone(), j.clone()), var(vec![j.clone(), k.clone()])],
        ] {
            let t = Term::Sum(vec![j.clone()], Box::new(Term::Mul(body)));
            assert_eq!(cancel_inverses(&t, &env), Some(Term::Delta(i.clone(), k.clone())));
        }
        // Σ_j A_ji (A⁻¹)_jk is (Aᵀ A⁻¹)_ik: no identity
        let t = Term::Sum(
            vec![j.clone()],
            Box::new(Term::Mul(vec![
                var(vec![j.clone(), i.clone()]),
                Term::inv(&a, j.clone(), k.clone()),
            ])),
        );
        assert_eq!(cancel_inverses(&t, &env), None);
        // another factor reads j: Σ_j A_ij (A⁻¹)_jk x_j is not δ_ik x_…
        let x = Term::Var(Name::Tensor("x".into()), vec![j.clone()]);
        let t = Term::Sum(
            vec![j.clone()],
            Box::new(Term::Mul(vec![
                var(vec![i.clone(), j.clone()]),
                Term::inv(&a, j.clone(), k.clone()),
                x,
            ])),
        );
        assert_eq!(cancel_inverses(&t, &env), None);
    }
}

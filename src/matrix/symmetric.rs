//! Symmetry the program defines: a tensor `G_ij = Σ_k X_ki X_kj` equals its
//! transpose, so a matrix form may write `G` for `Gᵀ`, and `G + Gᵀ` is `2 G`
//! (`(Gᵀ + G) (2 X)` reads `4 X G`).

use std::rc::Rc;

use super::mat::{cost, tidy, Mat};
use crate::simplify::alpha_key;
use crate::term::{Ix, Name, Term};

/// The names of the order-2 definitions whose body is unchanged when its two
/// indices are swapped (`G_ij = Σ_k X_ki X_kj`, `S_ij = A_ij + A_ji`).
pub fn symmetric_definitions(definitions: &[(Rc<str>, Vec<Ix>, Term)]) -> Vec<Rc<str>> {
    definitions
        .iter()
        .filter(|(_, params, term)| match params.as_slice() {
            [i, j] if i.dim == j.dim => {
                let tmp = Ix::fresh("swap", i.dim);
                let swapped = term.rename(i, &tmp).rename(j, i).rename(&tmp, j);
                alpha_key(&swapped) == alpha_key(term)
            }
            _ => false,
        })
        .map(|(name, _, _)| name.clone())
        .collect()
}

/// `m` with `Gᵀ` written `G` for each symmetric `G` and like terms of a sum
/// collected (`G + G` is `2 G`), when that reads shorter; else `m`.
pub fn use_symmetry(m: Mat, symmetric: &[Rc<str>]) -> Mat {
    if symmetric.is_empty() {
        return m;
    }
    let used = tidy(untransposed(m.clone(), symmetric));
    if cost(&used) < cost(&m) {
        used
    } else {
        m
    }
}

/// `Gᵀ` replaced by `G` for the symmetric `G`, bottom-up, with the terms of
/// each sum that became equal collected.
fn untransposed(m: Mat, symmetric: &[Rc<str>]) -> Mat {
    let m = m.map(|x| untransposed(x, symmetric));
    match m {
        Mat::T(x) => match *x {
            Mat::Var(Name::Tensor(n), dims) if symmetric.contains(&n) => Mat::Var(Name::Tensor(n), dims),
            x => Mat::T(Box::new(x)),
        },
        Mat::Add(ts) => collected(ts),
        m => m,
    }
}

/// Equal terms of a sum with the same sign counted: `G + G` is `2 G`.
fn collected(ts: Vec<(bool, Mat)>) -> Mat {
    let mut out: Vec<(bool, Mat, i64)> = Vec::new();
    for (neg, x) in ts {
        match out.iter_mut().find(|(n, y, _)| *n == neg && *y == x) {
            Some(seen) => seen.2 += 1,
            None => out.push((neg, x, 1)),
        }
    }
    let mut ts: Vec<(bool, Mat)> = out
        .into_iter()
        .map(|(neg, x, k)| match k {
            1 => (neg, x),
            k => (neg, Mat::Scale(Term::int(k), Box::new(x))),
        })
        .collect();
    match ts.len() {
        1 if !ts[0].0 => ts.pop().expect("one").1,
        _ => Mat::Add(ts),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ix(name: &str) -> Ix {
        Ix::fresh(name, 0)
    }

    #[test]
    fn a_gram_matrix_is_symmetric_and_a_product_is_not() {
        let (i, j, k) = (ix("i"), ix("j"), ix("k"));
        let x = |a: &Ix, b: &Ix| Term::Var(Name::Tensor("X".into()), vec![a.clone(), b.clone()]);
        let gram = Term::Sum(vec![k.clone()], Box::new(Term::Mul(vec![x(&k, &i), x(&k, &j)])));
        let product = Term::Sum(vec![k.clone()], Box::new(Term::Mul(vec![x(&i, &k), x(&k, &j)])));
        let defs = vec![
            ("G".into(), vec![i.clone(), j.clone()], gram),
            ("P".into(), vec![i, j], product),
        ];
        assert_eq!(symmetric_definitions(&defs), vec![Rc::<str>::from("G")]);
    }

    #[test]
    fn a_symmetric_transpose_is_dropped_and_like_terms_collected() {
        let g = Mat::Var(Name::Tensor("G".into()), vec![1, 1]);
        let x = Mat::Var(Name::Tensor("X".into()), vec![2, 1]);
        let sum = Mat::Add(vec![(false, g.clone()), (false, Mat::T(Box::new(g.clone())))]);
        let m = Mat::Scale(Term::int(2), Box::new(Mat::MatMul(vec![x.clone(), sum.clone()])));
        let used = use_symmetry(m.clone(), &["G".into()]);
        assert_eq!(used, Mat::Scale(Term::int(4), Box::new(Mat::MatMul(vec![x, g]))));
        // not symmetric: unchanged
        assert_eq!(use_symmetry(m.clone(), &["H".into()]), m);
    }
}

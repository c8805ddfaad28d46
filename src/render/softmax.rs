//! Softmax and log-sum-exp along the rows of a matrix, found in matrix forms
//! so that they print as `softmax(Z)` (SPEC §1: results may print the sugar
//! back) and generate code that subtracts the row maximum before `exp`
//! (SPEC §4). The forms: `diag(1 ⊘ (exp(Z) 1)) exp(Z)` is `softmax(Z)`,
//! `diag(g ⊘ (exp(Z) 1)) exp(Z)` is `diag(g) softmax(Z)`, and `log(exp(Z) 1)`
//! is the column of row-wise log-sum-exps.

use num_rational::BigRational;

use crate::matrix::Mat;
use crate::term::{Func, Name, Term};

/// `Z` and the row weights `g` (none for 1) of a product that is
/// `diag(g ⊘ (exp(Z) 1)) exp(Z)`: `diag(g) softmax(Z)`, softmax along rows.
pub(crate) fn softmax_rows(xs: &[Mat]) -> Option<(&Mat, Option<&Mat>)> {
    let [Mat::Diag(d), Mat::Map(Func::Exp, z)] = xs else {
        return None;
    };
    let (weights, rowsum) = match &**d {
        Mat::Pow(r, e) if *e == -BigRational::from_integer(1.into()) => (None, &**r),
        Mat::HDiv(g, r) => (Some(&**g), &**r),
        _ => return None,
    };
    (row_sums_of_exp(rowsum)? == &**z).then_some((&**z, weights))
}

/// `Z` of `exp(Z) 1`, the row sums of `exp(Z)`.
pub(crate) fn row_sums_of_exp(m: &Mat) -> Option<&Mat> {
    let Mat::MatMul(xs) = m else { return None };
    let [Mat::Map(Func::Exp, z), Mat::Ones(_)] = xs.as_slice() else {
        return None;
    };
    Some(z)
}

/// A scaled vector `s x` that is `c softmax(z) ⊙ rest…`: `s` is
/// `c / Σ_k exp(z_k)` and `x` is `exp(z)`, or a ⊙ product with the factor
/// `exp(z)`, for a vector `z`. Gives `(c, z, rest)`.
pub(crate) fn softmax_vector<'a>(s: &Term, x: &'a Mat) -> Option<(Term, &'a Mat, Vec<&'a Mat>)> {
    let factors: Vec<&Term> = match s {
        Term::Mul(fs) => fs.iter().collect(),
        t => vec![t],
    };
    let k = factors.iter().position(|f| sum_of_exp(f).is_some())?;
    let name = sum_of_exp(factors[k])?;
    let is_exp_z =
        |m: &Mat| matches!(m, Mat::Map(Func::Exp, z) if matches!(&**z, Mat::Var(n, d) if n == name && d.len() == 1));
    let (z, rest): (&Mat, Vec<&Mat>) = match x {
        Mat::Map(Func::Exp, z) if is_exp_z(x) => (z, Vec::new()),
        Mat::Had(xs) => {
            let j = xs.iter().position(is_exp_z)?;
            let Mat::Map(_, z) = &xs[j] else { return None };
            (
                z,
                xs.iter().enumerate().filter(|(i, _)| *i != j).map(|(_, m)| m).collect(),
            )
        }
        _ => return None,
    };
    let c: Vec<Term> = factors
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != k)
        .map(|(_, f)| (*f).clone())
        .collect();
    Some((crate::simplify::mul(c), z, rest))
}

/// The vector `z` of `1 / Σ_k exp(z_k)`.
fn sum_of_exp(t: &Term) -> Option<&Name> {
    let Term::Pow(base, e) = t else { return None };
    if *e != -BigRational::from_integer(1.into()) {
        return None;
    }
    log_sum_exp_body(base)
}

/// The vector `z` of `log Σ_k exp(z_k)`, the log-sum-exp of a vector.
pub(crate) fn logsumexp_vector(t: &Term) -> Option<&Name> {
    let Term::Fn(Func::Log, x) = t else { return None };
    log_sum_exp_body(x)
}

/// The vector `z` of `Σ_k exp(z_k)`.
fn log_sum_exp_body(t: &Term) -> Option<&Name> {
    let Term::Sum(ks, body) = t else { return None };
    let Term::Fn(Func::Exp, x) = &**body else { return None };
    match &**x {
        Term::Var(name, ix) if ks.len() == 1 && *ix == *ks => Some(name),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::term::Name;

    fn var(n: &str, dims: Vec<u32>) -> Mat {
        Mat::Var(Name::Tensor(n.into()), dims)
    }

    #[test]
    fn finds_softmax_along_rows() {
        let z = var("Z", vec![1, 2]);
        let exp = |m: &Mat| Mat::Map(Func::Exp, Box::new(m.clone()));
        let rows = Mat::MatMul(vec![exp(&z), Mat::Ones(2)]);
        let inv = Mat::Pow(Box::new(rows.clone()), -BigRational::from_integer(1.into()));
        let plain = [Mat::Diag(Box::new(inv)), exp(&z)];
        assert_eq!(softmax_rows(&plain), Some((&z, None)));
        let g = var("g", vec![1]);
        let weighted = [
            Mat::Diag(Box::new(Mat::HDiv(Box::new(g.clone()), Box::new(rows.clone())))),
            exp(&z),
        ];
        assert_eq!(softmax_rows(&weighted), Some((&z, Some(&g))));
        // the row sums of another matrix's exp are not a softmax
        let other = [
            Mat::Diag(Box::new(Mat::HDiv(Box::new(g), Box::new(rows.clone())))),
            exp(&var("W", vec![1, 2])),
        ];
        assert_eq!(softmax_rows(&other), None);
        assert_eq!(row_sums_of_exp(&rows), Some(&z));
        assert_eq!(row_sums_of_exp(&exp(&z)), None);
    }
}

//! Softmax and log-sum-exp along the rows of a matrix, found in matrix forms
//! so that they print as `softmax(Z)` (SPEC §1: results may print the sugar
//! back) and generate code that subtracts the row maximum before `exp`
//! (SPEC §4). The forms: `diag(1 ⊘ (exp(Z) 1)) exp(Z)` is `softmax(Z)`,
//! `diag(g ⊘ (exp(Z) 1)) exp(Z)` is `diag(g) softmax(Z)`, and `log(exp(Z) 1)`
//! is the column of row-wise log-sum-exps.

use num_rational::BigRational;

use crate::matrix::Mat;
use crate::term::Func;

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

//! Scalars made of sums spelled as matrix algebra: `Σ_k t_k` is `1ᵀ t`,
//! `Σ_k x_k^2` is `xᵀ x`, `1/Σ_k exp(z_k)` is `(1ᵀ exp(z))⁻¹`, so that no Σ
//! is left inside a matrix form where a matrix spelling exists. Norms
//! (`sqrt(Σ_k x_k^2)`, `(Σ_k x_k^2)^(3/2)`) stay scalar terms: the printer
//! writes them `‖x‖`, `‖x‖^3`.

use num_rational::BigRational;
use num_traits::Signed;

use super::mat::Mat;
use crate::render::softmax::{logsumexp_vector, softmax_vector};
use crate::simplify::{mul, split_coefficient};
use crate::term::{Func, Term};

/// Whether `t` holds a Σ that is not a norm's (`‖x‖` is spelled already).
pub fn has_sum(t: &Term) -> bool {
    if is_norm(t) {
        return false;
    }
    match t {
        Term::Sum(..) => true,
        Term::Add(ts) | Term::Mul(ts) => ts.iter().any(has_sum),
        Term::Pow(b, _) | Term::Fn(_, b) => has_sum(b),
        Term::Var(..) | Term::Delta(..) | Term::Num(_) | Term::Pi => false,
    }
}

/// `Σ_k x_k^2` for a vector `x`.
fn square_sum(t: &Term) -> Option<Mat> {
    let Term::Sum(ks, body) = t else { return None };
    let Term::Pow(base, e) = &**body else { return None };
    match &**base {
        Term::Var(name, ix) if ks.len() == 1 && *ix == *ks && *e == BigRational::from_integer(2.into()) => {
            let x = Mat::Var(name.clone(), vec![ix[0].dim]);
            Some(Mat::MatMul(vec![Mat::T(Box::new(x.clone())), x]))
        }
        _ => None,
    }
}

/// A norm the printer spells `‖x‖^n`: `sqrt(Σ_k x_k^2)` or `(Σ_k x_k^2)^(n/2)`.
fn is_norm(t: &Term) -> bool {
    match t {
        Term::Fn(Func::Sqrt, x) => square_sum(x).is_some(),
        Term::Pow(b, e) => square_sum(b).is_some() && !e.is_integer(),
        _ => false,
    }
}

/// The 1×1 matrix form of an index-free term `t`: its sums spelled as inner
/// products and row sums, everything without a Σ left a scalar term.
pub fn spell(t: &Term) -> Mat {
    if !has_sum(t) || logsumexp_vector(t).is_some() {
        return Mat::Scalar(t.clone());
    }
    match t {
        Term::Sum(..) => square_sum(t)
            .or_else(|| super::recognize::closed(t))
            .unwrap_or_else(|| Mat::Scalar(t.clone())),
        Term::Mul(fs) => {
            let (summed, plain): (Vec<&Term>, Vec<&Term>) = fs.iter().partition(|f| has_sum(f));
            let mut mats: Vec<Mat> = summed.into_iter().map(spell).collect();
            let core = if mats.len() == 1 {
                mats.pop().expect("one")
            } else {
                Mat::MatMul(mats)
            };
            let c = mul(plain.into_iter().cloned().collect());
            if c.is_one() {
                core
            } else {
                Mat::Scale(c, Box::new(core))
            }
        }
        Term::Add(ts) => Mat::Add(
            ts.iter()
                .map(|x| {
                    let (c, rest) = split_coefficient(x);
                    if c.is_negative() {
                        (true, spell(&mul(vec![Term::Num(-c), rest])))
                    } else {
                        (false, spell(x))
                    }
                })
                .collect(),
        ),
        Term::Pow(b, e) => Mat::Pow(Box::new(spell(b)), e.clone()),
        Term::Fn(f, x) => Mat::Map(f.clone(), Box::new(spell(x))),
        _ => Mat::Scalar(t.clone()),
    }
}

/// Every scalar of `m` made of sums spelled by [`spell`]: a coefficient
/// `Scale(c, x)` becomes `c′ s x` with the sums of `c` the 1×1 product `s`
/// (a softmax's `1/Σ_k exp(z_k)` stays, for the printers to name it).
pub fn spell_scalars(m: Mat) -> Mat {
    match m {
        Mat::Scalar(t) if has_sum(&t) => spell(&t),
        Mat::Scale(c, x) if has_sum(&c) && softmax_vector(&c, &x).is_none() => {
            let x = spell_scalars(*x);
            match spell(&c) {
                Mat::Scale(c, s) => Mat::Scale(c, Box::new(Mat::MatMul(vec![*s, x]))),
                s => Mat::MatMul(vec![s, x]),
            }
        }
        m => m.map(spell_scalars),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::recognize;
    use crate::render::matrix::render;
    use crate::render::names::Style;

    /// The matrix form of the gradient of `source` by `wrt`, as text.
    fn form(source: &str, wrt: &str) -> String {
        let program = crate::load(source, &crate::Options::default()).unwrap();
        let lowered = crate::derive::lower(&program);
        let request = crate::derive::Request {
            wrt: vec![wrt.to_string()],
            ..Default::default()
        };
        let g = crate::derive::gradients(&program, &lowered, &request).remove(0);
        render(&recognize(&g.term, &g.indices).unwrap(), Style::Unicode)
    }

    #[test]
    fn sums_in_scalars_are_spelled_as_products() {
        assert_eq!(form("L = Σ_i exp(x_i) Σ_j x_j", "x"), "(1ᵀ x) exp(x) + 1ᵀ exp(x)");
        assert_eq!(form("L = log(Σ_i a_i x_i)", "x"), "(aᵀ x)⁻¹ a");
        assert_eq!(form("L = τ Σ_i x_i^2", "τ"), "xᵀ x");
        assert_eq!(form("L = (Σ_i X_ii)^2", "X"), "2 tr(X) I");
        assert_eq!(form("L = Σ_i X_ii^2", "X"), "2 X ⊙ I");
        // a norm stays a norm
        assert_eq!(form("L = (Σ_i x_i^2)^(3/2)", "x"), "3 ‖x‖ x");
    }

    #[test]
    fn a_sum_free_scalar_is_left_alone() {
        let t = Term::int(3);
        assert!(!has_sum(&t));
        assert_eq!(spell(&t), Mat::Scalar(t));
    }
}

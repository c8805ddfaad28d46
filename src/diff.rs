//! ∂/∂T over index terms: the result carries Kronecker deltas, and sums,
//! products, quotients, powers and elementwise functions follow their rules.

use num_rational::BigRational;
use num_traits::One;

use crate::term::{Func, Ix, Name, Term};

/// The derivative of `t` with respect to the tensor `wrt` at indices `at`:
/// `∂X_ab/∂X_ij = δ_ai δ_bj`; every other name is constant.
pub fn differentiate(t: &Term, wrt: &Name, at: &[Ix]) -> Term {
    match t {
        Term::Num(_) | Term::Pi | Term::Delta(..) => Term::zero(),
        Term::Var(name, ix) if name == wrt => {
            let deltas: Vec<Term> = ix
                .iter()
                .zip(at)
                .map(|(a, b)| Term::Delta(a.clone(), b.clone()))
                .collect();
            match deltas.len() {
                0 => Term::one(),
                1 => deltas.into_iter().next().unwrap(),
                _ => Term::Mul(deltas),
            }
        }
        Term::Var(..) => Term::zero(),
        Term::Add(ts) => Term::Add(ts.iter().map(|x| differentiate(x, wrt, at)).collect()),
        Term::Mul(fs) => {
            let mut terms = Vec::new();
            for k in 0..fs.len() {
                let d = differentiate(&fs[k], wrt, at);
                if d.is_zero() {
                    continue;
                }
                let mut v: Vec<Term> = fs.clone();
                v[k] = d;
                terms.push(Term::Mul(v));
            }
            Term::Add(terms)
        }
        Term::Pow(b, e) => {
            let d = differentiate(b, wrt, at);
            if d.is_zero() {
                return Term::zero();
            }
            Term::Mul(vec![
                Term::Num(e.clone()),
                Term::Pow(b.clone(), e - BigRational::one()),
                d,
            ])
        }
        Term::Fn(f, x) => {
            let d = differentiate(x, wrt, at);
            if d.is_zero() {
                return Term::zero();
            }
            Term::Mul(vec![derivative(f, x), d])
        }
        Term::Sum(ks, body) => Term::Sum(ks.clone(), Box::new(differentiate(body, wrt, at))),
    }
}

/// `f'(x)` for an elementwise function.
pub fn derivative(f: &Func, x: &Term) -> Term {
    let x = x.clone();
    let call = |g: Func| Term::Fn(g, Box::new(x.clone()));
    let half = Term::Num(BigRational::new(1.into(), 2.into()));
    match f {
        Func::Exp => call(Func::Exp),
        Func::Log => Term::pow(x, -1),
        Func::Sqrt => Term::Mul(vec![half, Term::pow(call(Func::Sqrt), -1)]),
        Func::Tanh => Term::Add(vec![Term::one(), Term::neg(Term::pow(call(Func::Tanh), 2))]),
        Func::Sigmoid => Term::Mul(vec![
            call(Func::Sigmoid),
            Term::Add(vec![Term::one(), Term::neg(call(Func::Sigmoid))]),
        ]),
        Func::Relu => call(Func::Step),
        Func::Softplus => call(Func::Sigmoid),
        Func::Abs => call(Func::Sign),
        // The step and the sign are flat wherever they are differentiable.
        Func::Step | Func::Sign => Term::zero(),
        Func::Opaque(name, primes) => call(Func::Opaque(name.clone(), primes + 1)),
    }
}

//! δ contraction: every Kronecker delta whose index is bound by an enclosing
//! Σ is substituted away (`Σ_j δ_ij x_j` → `x_i`), products and sums
//! distributed over the additions that carry a delta first.

use super::build::{add, func, mul, normalize, pow, sum};
use super::env::Env;
use crate::term::{Ix, Term};

/// Contracts every Kronecker delta whose index is bound by an enclosing Σ,
/// distributing products and sums over the additions that carry a delta.
pub fn contract(t: &Term, env: &Env) -> Term {
    match t {
        Term::Add(ts) => add(ts.iter().map(|t| contract(t, env)).collect()),
        Term::Mul(fs) => {
            let fs: Vec<Term> = fs.iter().map(|f| contract(f, env)).collect();
            distribute_deltas(fs, env).unwrap_or_else(mul)
        }
        Term::Sum(ks, body) => {
            let body = contract(body, env);
            match body {
                Term::Add(ts) => add(ts.into_iter().map(|t| contract_sum(ks.clone(), t, env)).collect()),
                b => contract_sum(ks.clone(), b, env),
            }
        }
        Term::Pow(b, e) => pow(contract(b, env), e.clone()),
        Term::Fn(f, x) => func(f.clone(), contract(x, env)),
        Term::Num(_) | Term::Pi | Term::Var(..) | Term::Delta(..) => normalize(t, env),
    }
}

/// If a factor is a sum that carries a delta, multiplies it out: `a (b δ + c)` →
/// `a b δ + a c`. Returns the factors unchanged when there is nothing to do.
fn distribute_deltas(fs: Vec<Term>, env: &Env) -> Result<Term, Vec<Term>> {
    let Some(at) = fs.iter().position(|f| matches!(f, Term::Add(_)) && f.has_delta()) else {
        return Err(fs);
    };
    let mut others = fs;
    let Term::Add(terms) = others.remove(at) else {
        unreachable!()
    };
    Ok(add(terms
        .into_iter()
        .map(|u| {
            let mut v = others.clone();
            v.push(u);
            contract(&Term::Mul(v), env)
        })
        .collect()))
}

/// `Σ_ks body` with `body` contracted: pulls nested sums that carry deltas into
/// the binder list, then substitutes every `δ_kx` with `k` bound.
fn contract_sum(mut ks: Vec<Ix>, body: Term, env: &Env) -> Term {
    let mut factors = match body {
        Term::Mul(fs) => fs,
        b => vec![b],
    };
    // Bring inner Σs that carry deltas to this level; their binders are unique.
    let mut k = 0;
    while k < factors.len() {
        if let Term::Sum(ms, inner) = &factors[k] {
            if inner.has_delta() {
                let ms = ms.clone();
                let inner = (**inner).clone();
                factors.remove(k);
                ks.extend(ms);
                match inner {
                    Term::Mul(fs) => factors.extend(fs),
                    other => factors.push(other),
                }
                continue;
            }
        }
        k += 1;
    }
    // A sum with a delta among the factors: distribute, then contract each part.
    if let Some(at) = factors.iter().position(|f| matches!(f, Term::Add(_)) && f.has_delta()) {
        let Term::Add(terms) = factors.remove(at) else {
            unreachable!()
        };
        return add(terms
            .into_iter()
            .map(|u| {
                let mut v = factors.clone();
                v.push(u);
                contract_sum(ks.clone(), mul(v), env)
            })
            .collect());
    }
    loop {
        let found = factors.iter().enumerate().find_map(|(n, f)| match f {
            Term::Delta(a, b) if ks.contains(a) => Some((n, a.clone(), b.clone())),
            Term::Delta(a, b) if ks.contains(b) => Some((n, b.clone(), a.clone())),
            _ => None,
        });
        let Some((n, bound, other)) = found else { break };
        factors.remove(n);
        ks.retain(|k| *k != bound);
        factors = factors.iter().map(|f| f.rename(&bound, &other)).collect();
    }
    let body = normalize(&Term::Mul(factors), env);
    sum(ks, body, env)
}

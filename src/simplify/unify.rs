//! Matching with index variables, for definitions and assumptions: [`unify`]
//! matches a pattern against a term (products and sums as multisets), and
//! [`rewrite_all`] replaces every occurrence of a pattern, bottom up, including
//! occurrences among some of a product's factors.

use std::collections::HashMap;

use num_rational::BigRational;
use num_traits::{Signed, Zero};

use super::build::{add, base_exp, func, mul, pow, split_coefficient, sum};
use super::env::Env;
use crate::limits::FOLDS_PER_PRODUCT;
use crate::term::{Ix, Term};

/// What a match has bound so far.
#[derive(Clone, Default)]
struct Bindings {
    /// pattern index → target index
    map: HashMap<Ix, Ix>,
    /// target indices bound inside the matched part (a parameter may not reach them)
    inner: Vec<Ix>,
}

/// Binds pattern index `p` to target index `t`, or checks an earlier binding.
fn bind(b: &mut Bindings, p: &Ix, t: &Ix, params: &[Ix]) -> bool {
    match b.map.get(p) {
        Some(x) => x == t,
        None => {
            if params.contains(p) && b.inner.contains(t) {
                return false;
            }
            if p.dim != t.dim {
                return false;
            }
            b.map.insert(p.clone(), t.clone());
            true
        }
    }
}

/// Structural match of pattern `p` against `t`; `params` are the pattern's free
/// index variables. Products and sums match as multisets.
fn unify(p: &Term, t: &Term, params: &[Ix], b: &mut Bindings) -> bool {
    match (p, t) {
        (Term::Num(x), Term::Num(y)) => x == y,
        (Term::Pi, Term::Pi) => true,
        (Term::Var(n, pi), Term::Var(m, ti)) => {
            n == m && pi.len() == ti.len() && pi.iter().zip(ti).all(|(a, c)| bind(b, a, c, params))
        }
        (Term::Delta(a, c), Term::Delta(x, y)) => {
            let mut b1 = b.clone();
            if bind(&mut b1, a, x, params) && bind(&mut b1, c, y, params) {
                *b = b1;
                return true;
            }
            bind(b, a, y, params) && bind(b, c, x, params)
        }
        (Term::Pow(pb, pe), Term::Pow(tb, te)) => pe == te && unify(pb, tb, params, b),
        (Term::Fn(f, px), Term::Fn(g, tx)) => f == g && unify(px, tx, params, b),
        (Term::Sum(pks, pbody), Term::Sum(tks, tbody)) => {
            if pks.len() != tks.len() {
                return false;
            }
            // binders correspond in order (sums built the same way list them alike)
            let mut b1 = b.clone();
            for (pk, tk) in pks.iter().zip(tks) {
                if b1.map.values().any(|v| v == tk) {
                    return false;
                }
                b1.inner.push(tk.clone());
                b1.map.insert(pk.clone(), tk.clone());
            }
            if unify(pbody, tbody, params, &mut b1) {
                *b = b1;
                true
            } else {
                false
            }
        }
        (Term::Add(ps), Term::Add(ts)) | (Term::Mul(ps), Term::Mul(ts)) => {
            ps.len() == ts.len() && unify_multiset(ps, ts, &mut vec![false; ts.len()], params, b)
        }
        _ => false,
    }
}

/// Matches the patterns `ps` against distinct, unused terms of `ts`, in any order.
fn unify_multiset(ps: &[Term], ts: &[Term], used: &mut Vec<bool>, params: &[Ix], b: &mut Bindings) -> bool {
    let Some((p, rest)) = ps.split_first() else { return true };
    for i in 0..ts.len() {
        if used[i] {
            continue;
        }
        let mut b1 = b.clone();
        if unify(p, &ts[i], params, &mut b1) {
            used[i] = true;
            if unify_multiset(rest, ts, used, params, &mut b1) {
                *b = b1;
                return true;
            }
            used[i] = false;
        }
    }
    false
}

/// Finds the pattern's factors among a product's factors (with exponents of the
/// same sign and at least as large); returns the bindings and what is left over.
fn match_in_product(pattern: &Term, target: &[Term], params: &[Ix]) -> Option<(Bindings, BigRational, Vec<Term>)> {
    let (pc, prest) = split_coefficient(pattern);
    let pfs: Vec<(Term, BigRational)> = match prest {
        Term::Mul(fs) => fs.into_iter().map(base_exp).collect(),
        t => vec![base_exp(t)],
    };
    let (tc, trest) = split_coefficient(&Term::Mul(target.to_vec()));
    let tfs: Vec<(Term, BigRational)> = match trest {
        Term::Mul(fs) => fs.into_iter().map(base_exp).collect(),
        t => vec![base_exp(t)],
    };
    fn go(pfs: &[(Term, BigRational)], tfs: &mut Vec<(Term, BigRational)>, params: &[Ix], b: &mut Bindings) -> bool {
        let Some(((pb, pe), rest)) = pfs.split_first() else {
            return true;
        };
        for i in 0..tfs.len() {
            let (tb, te) = tfs[i].clone();
            if te.is_positive() != pe.is_positive() || te.abs() < pe.abs() {
                continue;
            }
            let mut b1 = b.clone();
            if unify(pb, &tb, params, &mut b1) {
                tfs[i].1 = &te - pe;
                if go(rest, tfs, params, &mut b1) {
                    *b = b1;
                    return true;
                }
                tfs[i].1 = te;
            }
        }
        false
    }
    let mut tfs = tfs;
    let mut b = Bindings::default();
    if !go(&pfs, &mut tfs, params, &mut b) {
        return None;
    }
    let left: Vec<Term> = tfs
        .into_iter()
        .filter(|(_, e)| !e.is_zero())
        .map(|(t, e)| pow(t, e))
        .collect();
    Some((b, tc / pc, left))
}

/// Replaces, bottom up, every occurrence of `pattern` (with free index variables
/// `params`) by what `make` builds from the bindings (when it builds anything).
pub(super) fn rewrite_all(
    t: &Term,
    pattern: &Term,
    params: &[Ix],
    make: &dyn Fn(&HashMap<Ix, Ix>) -> Option<Term>,
    env: &Env,
) -> Term {
    let t = match t {
        Term::Add(ts) => add(ts.iter().map(|x| rewrite_all(x, pattern, params, make, env)).collect()),
        Term::Mul(ts) => mul(ts.iter().map(|x| rewrite_all(x, pattern, params, make, env)).collect()),
        Term::Pow(b, e) => pow(rewrite_all(b, pattern, params, make, env), e.clone()),
        Term::Fn(f, x) => func(f.clone(), rewrite_all(x, pattern, params, make, env)),
        Term::Sum(ks, b) => sum(ks.clone(), rewrite_all(b, pattern, params, make, env), env),
        other => other.clone(),
    };
    // The whole node.
    let mut b = Bindings::default();
    if unify(pattern, &t, params, &mut b) {
        if let Some(r) = make(&b.map) {
            return r;
        }
    }
    // Part of a product: fold as often as the pattern occurs.
    if matches!(pattern, Term::Mul(_)) {
        if let Term::Mul(fs) = &t {
            let mut current = fs.clone();
            for _ in 0..FOLDS_PER_PRODUCT {
                let Some((b, c, left)) = match_in_product(pattern, &current, params) else {
                    break;
                };
                let Some(r) = make(&b.map) else { break };
                let mut next = left;
                next.push(Term::Num(c));
                next.push(r);
                match mul(next) {
                    Term::Mul(fs) => current = fs,
                    other => return other,
                }
            }
            return mul(current);
        }
    }
    t
}

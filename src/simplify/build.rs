//! Smart constructors: each takes normalised parts and returns a normalised
//! term. [`add`], [`mul`], [`pow`], [`func`] and [`sum`] keep sums and products
//! flat, coefficients exact, equal factors merged into powers, like terms
//! collected (up to renaming of bound indices) and factors hoisted out of every
//! Σ they do not depend on; [`normalize`] rebuilds a whole term with them, and
//! [`clean`] only tidies a term for display.

use num_rational::BigRational;
use num_traits::{One, Signed, ToPrimitive, Zero};

use super::alpha::{alpha_equal, alpha_hash, key};
use super::env::Env;
use crate::limits::MAX_EXACT_EXPONENT;
use crate::term::{Func, Ix, Term};

/// Splits a normalised term into its coefficient and the rest.
pub fn split_coefficient(t: &Term) -> (BigRational, Term) {
    match t {
        Term::Num(n) => (n.clone(), Term::one()),
        Term::Mul(fs) => match fs.first() {
            Some(Term::Num(n)) => {
                let rest: Vec<Term> = fs[1..].to_vec();
                let rest = if rest.len() == 1 {
                    rest.into_iter().next().unwrap()
                } else {
                    Term::Mul(rest)
                };
                (n.clone(), rest)
            }
            _ => (BigRational::one(), t.clone()),
        },
        _ => (BigRational::one(), t.clone()),
    }
}

/// [`split_coefficient`] of a term that is given away: nothing is cloned.
fn split_owned(t: Term) -> (BigRational, Term) {
    match t {
        Term::Num(n) => (n, Term::one()),
        Term::Mul(mut fs) if matches!(fs.first(), Some(Term::Num(_))) => {
            let Term::Num(n) = fs.remove(0) else {
                unreachable!("checked above")
            };
            let rest = if fs.len() == 1 {
                fs.pop().unwrap()
            } else {
                Term::Mul(fs)
            };
            (n, rest)
        }
        t => (BigRational::one(), t),
    }
}

/// `c · rest` for a normalised, coefficient-free `rest`: no re-normalising.
fn scale(c: BigRational, rest: Term) -> Term {
    if c.is_zero() {
        Term::zero()
    } else if rest.is_one() {
        Term::Num(c)
    } else if c.is_one() {
        rest
    } else {
        match rest {
            Term::Mul(mut fs) => {
                fs.insert(0, Term::Num(c));
                Term::Mul(fs)
            }
            other => Term::Mul(vec![Term::Num(c), other]),
        }
    }
}

/// `a += b`, without a gcd when both are integers (most coefficients and exponents).
fn add_to(a: &mut BigRational, b: BigRational) {
    if a.is_integer() && b.is_integer() {
        *a = BigRational::from_integer(a.numer() + b.numer());
    } else {
        *a += b;
    }
}

/// `a *= b`, without arithmetic when either is one (most coefficients).
fn multiply_by(a: &mut BigRational, b: BigRational) {
    if a.is_one() {
        *a = b;
    } else if !b.is_one() {
        *a *= b;
    }
}

/// A normalised sum.
pub fn add(terms: Vec<Term>) -> Term {
    let mut flat = Vec::new();
    for t in terms {
        match t {
            Term::Add(ts) => flat.extend(ts),
            t if t.is_zero() => {}
            t => flat.push(t),
        }
    }
    // Collect like terms: coefficient × monomial, the monomial compared up to bound names.
    let mut groups: Vec<(u64, Term, BigRational)> = Vec::new(); // (alpha hash, representative, coefficient)
    for t in flat {
        let (c, rest) = split_owned(t);
        let h = alpha_hash(&rest);
        match groups.iter_mut().find(|(k, r, _)| *k == h && alpha_equal(r, &rest)) {
            Some(g) => add_to(&mut g.2, c),
            None => groups.push((h, rest, c)),
        }
    }
    groups.retain(|(_, _, c)| !c.is_zero());
    // The canonical order is that of the alpha keys (built only to sort).
    if groups.len() > 1 {
        groups.sort_by_cached_key(|(_, r, _)| key(r));
    }
    let mut out: Vec<Term> = groups.into_iter().map(|(_, rest, c)| scale(c, rest)).collect();
    match out.len() {
        0 => Term::zero(),
        1 => out.pop().unwrap(),
        _ => Term::Add(out),
    }
}

/// Splits a factor into base and exponent.
pub(super) fn base_exp(t: Term) -> (Term, BigRational) {
    match t {
        Term::Pow(b, e) => (*b, e),
        t => (t, BigRational::one()),
    }
}

/// A normalised product.
pub fn mul(factors: Vec<Term>) -> Term {
    let mut coefficient = BigRational::one();
    let mut bases: Vec<(u64, Term, BigRational)> = Vec::new(); // (alpha hash, base, exponent)
    let mut stack: Vec<Term> = factors;
    stack.reverse();
    while let Some(f) = stack.pop() {
        match f {
            Term::Mul(fs) => stack.extend(fs.into_iter().rev()),
            Term::Num(n) => {
                if n.is_zero() {
                    return Term::zero();
                }
                multiply_by(&mut coefficient, n);
            }
            f => {
                let (b, e) = base_exp(f);
                let h = alpha_hash(&b);
                match bases.iter_mut().find(|(k, x, _)| *k == h && alpha_equal(x, &b)) {
                    Some(g) => add_to(&mut g.2, e),
                    None => bases.push((h, b, e)),
                }
            }
        }
    }
    bases.retain(|(_, _, e)| !e.is_zero());
    // Factors keep the order in which they first appeared (the chain rule's
    // order: upstream gradient first); equality goes through `alpha_key`.
    let mut out = Vec::new();
    if !coefficient.is_one() {
        out.push(Term::Num(coefficient));
    }
    for (_, b, e) in bases {
        // δ is idempotent: δ² = δ.
        let e = if matches!(b, Term::Delta(..)) && e.is_positive() {
            BigRational::one()
        } else {
            e
        };
        out.push(if e.is_one() { b } else { Term::Pow(Box::new(b), e) });
    }
    match out.len() {
        0 => Term::one(),
        1 => out.pop().unwrap(),
        _ => Term::Mul(out),
    }
}

/// A normalised power.
pub fn pow(base: Term, e: BigRational) -> Term {
    if e.is_zero() {
        return Term::one();
    }
    if e.is_one() {
        return base;
    }
    match base {
        Term::Num(n) if e.is_integer() && !(n.is_zero() && e.is_negative()) => match e.to_integer().abs().to_u32() {
            Some(k) if k <= MAX_EXACT_EXPONENT => {
                let p = num_traits::pow(n, k as usize);
                Term::Num(if e.is_negative() { p.recip() } else { p })
            }
            _ => Term::Pow(Box::new(Term::Num(n)), e),
        },
        Term::Pow(b, e2) if e.is_integer() => pow(*b, e2 * e),
        // sqrt(2)^2 is 2 (a number's root only: a tensor's stays foldable)
        Term::Fn(Func::Sqrt, x)
            if matches!(*x, Term::Num(_)) && (&e / BigRational::from_integer(2.into())).is_integer() =>
        {
            pow(*x, e / BigRational::from_integer(2.into()))
        }
        Term::Mul(fs) if e.is_integer() => mul(fs.into_iter().map(|f| pow(f, e.clone())).collect()),
        Term::Delta(a, b) if e.is_positive() => Term::Delta(a, b),
        b => Term::Pow(Box::new(b), e),
    }
}

/// A normalised elementwise function application.
pub(super) fn func(f: Func, x: Term) -> Term {
    match (&f, &x) {
        (Func::Exp, t) if t.is_zero() => Term::one(),
        (Func::Log, t) if t.is_one() => Term::zero(),
        (Func::Log, Term::Fn(Func::Exp, inner)) => (**inner).clone(),
        (Func::Exp, Term::Fn(Func::Log, inner)) => (**inner).clone(),
        _ => Term::Fn(f, Box::new(x)),
    }
}

/// A normalised sum over indices: unused indices become size factors, factors
/// that do not depend on the indices are hoisted out, nested sums merge.
pub(super) fn sum(ks: Vec<Ix>, body: Term, env: &Env) -> Term {
    if body.is_zero() {
        return Term::zero();
    }
    let mut size_factors = Vec::new();
    let mut used = Vec::new();
    for k in ks {
        if body.mentions(&k) {
            used.push(k);
        } else {
            size_factors.push(env.size(&k));
        }
    }
    let inner = if used.is_empty() {
        body
    } else {
        match body {
            Term::Sum(ms, b) => {
                used.extend(ms);
                Term::Sum(used, b)
            }
            Term::Mul(fs) => {
                // Hoist what does not depend on the indices; the Σ stands where its
                // first factor stood, so the chain rule's order survives.
                let mut out = Vec::new();
                let mut inside = Vec::new();
                let mut at = None;
                for f in fs {
                    if used.iter().any(|k| f.mentions(k)) {
                        at.get_or_insert(out.len());
                        inside.push(f);
                    } else {
                        out.push(f);
                    }
                }
                let s = miniscope(used, inside, env);
                if out.is_empty() {
                    s
                } else {
                    out.insert(at.unwrap_or(0), s);
                    mul(out)
                }
            }
            b => Term::Sum(used, Box::new(b)),
        }
    };
    if size_factors.is_empty() {
        inner
    } else {
        size_factors.push(inner);
        mul(size_factors)
    }
}

/// `Σ_{n,c} a_n b_nc` → `Σ_n a_n (Σ_c b_nc)`: each index is summed over the
/// fewest factors that mention it.
fn miniscope(ks: Vec<Ix>, factors: Vec<Term>, env: &Env) -> Term {
    if ks.len() > 1 {
        let best = ks
            .iter()
            .map(|k| (factors.iter().filter(|f| f.mentions(k)).count(), k))
            .filter(|(n, _)| *n < factors.len())
            .min_by_key(|(n, _)| *n)
            .map(|(_, k)| k.clone());
        if let Some(k) = best {
            let rest: Vec<Ix> = ks.into_iter().filter(|x| *x != k).collect();
            let mut out = Vec::new();
            let mut inner = Vec::new();
            let mut at = None;
            for f in factors {
                if f.mentions(&k) {
                    at.get_or_insert(out.len());
                    inner.push(f);
                } else {
                    out.push(f);
                }
            }
            out.insert(at.unwrap_or(0), sum(vec![k], mul(inner), env));
            return sum(rest, mul(out), env);
        }
    }
    Term::Sum(ks, Box::new(mul(factors)))
}

/// Drops zero terms and unit factors and flattens, changing nothing else: the
/// form a derivation step shows, in the order it was derived.
pub fn clean(t: &Term) -> Term {
    match t {
        Term::Add(ts) => {
            let mut out = Vec::new();
            for x in ts.iter().map(clean) {
                match x {
                    Term::Add(inner) => out.extend(inner),
                    x if x.is_zero() => {}
                    x => out.push(x),
                }
            }
            match out.len() {
                0 => Term::zero(),
                1 => out.pop().unwrap(),
                _ => Term::Add(out),
            }
        }
        Term::Mul(fs) => {
            // numbers are multiplied together and stand in front: `−a b`, not `a (−1) b`
            let mut coefficient = BigRational::one();
            let mut out = Vec::new();
            for x in fs.iter().map(clean) {
                match x {
                    Term::Num(n) if n.is_zero() => return Term::zero(),
                    Term::Num(n) => multiply_by(&mut coefficient, n),
                    Term::Mul(inner) => {
                        for y in inner {
                            match y {
                                Term::Num(n) => multiply_by(&mut coefficient, n),
                                y => out.push(y),
                            }
                        }
                    }
                    x => out.push(x),
                }
            }
            if !coefficient.is_one() {
                out.insert(0, Term::Num(coefficient));
            }
            match out.len() {
                0 => Term::one(),
                1 => out.pop().unwrap(),
                _ => Term::Mul(out),
            }
        }
        Term::Sum(ks, b) => match clean(b) {
            b if b.is_zero() => Term::zero(),
            Term::Sum(ms, inner) => Term::Sum(ks.iter().cloned().chain(ms).collect(), inner),
            b => Term::Sum(ks.clone(), Box::new(b)),
        },
        Term::Pow(_, e) if e.is_zero() => Term::one(),
        Term::Pow(b, e) if e.is_one() => clean(b),
        other => other.map_children(clean),
    }
}

/// Rebuilds a term with the smart constructors, bottom up.
pub fn normalize(t: &Term, env: &Env) -> Term {
    match t {
        Term::Num(_) | Term::Pi | Term::Var(..) => t.clone(),
        Term::Delta(a, b) if a == b => Term::one(),
        Term::Delta(..) => t.clone(),
        Term::Add(ts) => add(ts.iter().map(|t| normalize(t, env)).collect()),
        Term::Mul(ts) => mul(ts.iter().map(|t| normalize(t, env)).collect()),
        Term::Pow(b, e) => pow(normalize(b, env), e.clone()),
        Term::Fn(f, x) => func(f.clone(), normalize(x, env)),
        Term::Sum(ks, b) => sum(ks.clone(), normalize(b, env), env),
    }
}

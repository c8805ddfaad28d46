//! Factoring, expansion and common denominators: the passes that produce the
//! candidates the driver chooses among ([`factor`], [`expand`], [`together`]).

use num_integer::Integer;
use num_rational::BigRational;
use num_traits::{One, Signed, ToPrimitive};

use super::alpha::{alpha_equal, alpha_hash, alpha_key};
use super::build::{add, base_exp, func, mul, pow, split_coefficient, sum};
use super::env::Env;
use crate::limits::{EXPAND_MAX_POWER, EXPAND_MAX_TERMS};
use crate::term::Term;

/// A term's coefficient and its factors as `(base, exponent)`.
fn factors_of(t: &Term) -> (BigRational, Vec<(Term, BigRational)>) {
    let (c, rest) = split_coefficient(t);
    let fs = match rest {
        Term::Mul(fs) => fs.into_iter().map(base_exp).collect(),
        r if r.is_one() => vec![],
        r => vec![base_exp(r)],
    };
    (c, fs)
}

/// The largest rational dividing both `a` and `b` a whole number of times.
fn rational_gcd(a: &BigRational, b: &BigRational) -> BigRational {
    BigRational::new(a.numer().gcd(b.numer()), a.denom().lcm(b.denom()))
}

/// Pulls the factors common to every term of each sum in front of it:
/// `2 a b - 2 a c` → `2 a (b - c)`.
pub(super) fn factor(t: &Term, env: &Env) -> Term {
    match t {
        Term::Add(ts) => factor_add(ts.iter().map(|x| factor(x, env)).collect()),
        Term::Mul(ts) => mul(ts.iter().map(|x| factor(x, env)).collect()),
        Term::Pow(b, e) => pow(factor(b, env), e.clone()),
        Term::Fn(f, x) => func(f.clone(), factor(x, env)),
        Term::Sum(ks, b) => sum(ks.clone(), factor(b, env), env),
        other => other.clone(),
    }
}

/// [`factor`] on a sum whose terms are already factored.
fn factor_add(ts: Vec<Term>) -> Term {
    let t = add(ts);
    let Term::Add(ts) = &t else { return t };
    let split: Vec<(BigRational, Vec<(Term, BigRational)>)> = ts.iter().map(factors_of).collect();
    let mut g = split[0].0.abs();
    for (c, _) in &split[1..] {
        g = rational_gcd(&g, &c.abs());
    }
    // A fraction is pulled out only when every coefficient has its size:
    // `1/2 (a − b)`, but not `1/2 (2 a + b)`.
    if !g.is_integer() && !split.iter().all(|(c, _)| c.abs() == g) {
        g = BigRational::one();
    }
    if split.iter().all(|(c, _)| c.is_negative()) {
        g = -g;
    }
    // Bases present in every term with exponents of one sign: the smallest power.
    let mut common: Vec<(Term, BigRational)> = Vec::new();
    let hashes: Vec<Vec<u64>> = split
        .iter()
        .map(|(_, fs)| fs.iter().map(|(b, _)| alpha_hash(b)).collect())
        .collect();
    for ((base, e), &key) in split[0].1.iter().zip(&hashes[0]) {
        let mut least = e.clone();
        let everywhere = split[1..].iter().zip(&hashes[1..]).all(|((_, fs), hs)| {
            fs.iter().zip(hs).any(|((b2, e2), &h2)| {
                let ok = h2 == key && e2.is_positive() == e.is_positive() && alpha_equal(b2, base);
                if ok && e2.abs() < least.abs() {
                    least = e2.clone();
                }
                ok
            })
        });
        if everywhere {
            common.push((base.clone(), least));
        }
    }
    if g.is_one() && common.is_empty() {
        return t;
    }
    let divisor: Vec<Term> = common.iter().map(|(b, e)| pow(b.clone(), -e.clone())).collect();
    let remainders: Vec<Term> = ts
        .iter()
        .map(|x| {
            let mut v = vec![x.clone(), Term::Num(g.recip())];
            v.extend(divisor.iter().cloned());
            mul(v)
        })
        .collect();
    let mut out = vec![Term::Num(g)];
    out.extend(common.into_iter().map(|(b, e)| pow(b, e)));
    out.push(factor_add(remainders));
    mul(out)
}

/// Multiplies out every product of sums (sums raised to a small positive power
/// too) and splits Σ over +. Gives up, returning `None`, past
/// [`EXPAND_MAX_TERMS`] terms.
pub fn expand(t: &Term, env: &Env) -> Option<Term> {
    Some(match t {
        Term::Add(ts) => add(ts.iter().map(|x| expand(x, env)).collect::<Option<Vec<_>>>()?),
        Term::Mul(fs) => {
            let mut products: Vec<Vec<Term>> = vec![vec![]];
            for f in fs {
                let f = expand(f, env)?;
                let parts: Vec<Term> = match f {
                    Term::Add(ts) => ts,
                    other => vec![other],
                };
                let mut next = Vec::new();
                for p in &products {
                    for q in &parts {
                        let mut v = p.clone();
                        v.push(q.refresh_bound());
                        next.push(v);
                    }
                }
                if next.len() > EXPAND_MAX_TERMS {
                    return None;
                }
                products = next;
            }
            add(products.into_iter().map(mul).collect())
        }
        Term::Pow(b, e) if e.is_integer() && e.is_positive() && e.to_integer() <= EXPAND_MAX_POWER.into() => {
            let n = e.to_integer().to_usize().unwrap_or(1);
            let b = (**b).clone();
            expand(&Term::Mul((0..n).map(|_| b.refresh_bound()).collect()), env)?
        }
        Term::Pow(b, e) => pow(expand(b, env)?, e.clone()),
        Term::Sum(ks, b) => match expand(b, env)? {
            Term::Add(ts) => add(ts
                .into_iter()
                .map(|x| sum(ks.clone(), x.refresh_bound(), env))
                .collect()),
            b => sum(ks.clone(), b, env),
        },
        other => other.clone(),
    })
}

/// Brings a sum over a common denominator: `a/b + c/d` → `(a d + c b) / (b d)`,
/// the numerator expanded so that it can cancel.
pub(super) fn together(t: &Term, env: &Env) -> Option<Term> {
    let Term::Add(ts) = t else { return None };
    let mut denominator: Vec<(Term, Term, BigRational)> = Vec::new(); // (key, base, positive exponent)
    for x in ts {
        for (b, e) in factors_of(x).1 {
            if e.is_negative() {
                let key = alpha_key(&b);
                let e = -e;
                match denominator.iter_mut().find(|(k, _, _)| *k == key) {
                    Some(d) if d.2 < e => d.2 = e,
                    Some(_) => {}
                    None => denominator.push((key, b, e)),
                }
            }
        }
    }
    if denominator.is_empty() {
        return None;
    }
    let numerator = add(ts
        .iter()
        .map(|x| {
            let mut v = vec![x.clone()];
            v.extend(denominator.iter().map(|(_, b, e)| pow(b.clone(), e.clone())));
            expand(&mul(v), env)
        })
        .collect::<Option<Vec<_>>>()?);
    let mut out = vec![factor(&numerator, env)];
    out.extend(denominator.into_iter().map(|(_, b, e)| pow(b, -e)));
    Some(mul(out))
}

//! Index-level simplification.
//!
//! Terms are kept in a normal form built by smart constructors ([`add`], [`mul`],
//! [`pow`], [`sum`]): flat sums and products, exact rational coefficients, equal
//! factors merged into powers, like terms collected (up to renaming of bound
//! indices), and factors hoisted out of every Σ they do not depend on.
//!
//! On top of it, passes that each do one thing, each logged by name:
//! δ contraction (`contract`), folding definitions back into their names
//! (`fold`), the program's assumptions (`assume`), and factoring (`factor`).
//! The last step compares a few equivalent candidates (as derived, fully
//! expanded, over a common denominator) and keeps the smallest.

use std::collections::{BTreeSet, HashMap};

use num_integer::Integer;
use num_rational::BigRational;
use num_traits::{One, Signed, ToPrimitive, Zero};

use crate::term::{Func, Ix, Name, Term};

/// What the simplifier knows about the program.
#[derive(Clone, Debug, Default)]
pub struct Env {
    /// Definitions `(name, parameters, right-hand side)`, normalised, to fold back.
    pub definitions: Vec<(Name, Vec<Ix>, Term)>,
    /// Assumptions `(parameters, lhs, rhs)`, normalised.
    pub assumptions: Vec<(Vec<Ix>, Term, Term)>,
    /// The size symbol of each dimension class (`S`, or `n_i` when undeclared).
    pub sizes: HashMap<u32, Term>,
    /// Which definitions mention which names, built once (folding asks on
    /// every call; definitions are only ever appended).
    index: std::cell::RefCell<DefinitionIndex>,
}

/// The names each definition's right-hand side mentions, and the reverse map.
#[derive(Clone, Debug, Default)]
struct DefinitionIndex {
    /// How many names definition `i` mentions.
    counts: Vec<usize>,
    /// The definitions that mention a name.
    by_name: HashMap<Mention, Vec<usize>>,
    /// Definitions that mention no name at all (they can match anywhere).
    anywhere: Vec<usize>,
}

impl Env {
    /// The definitions below `below` whose names all occur in `present`, last first.
    fn foldable(&self, present: &BTreeSet<Mention>, below: usize) -> Vec<usize> {
        let mut index = self.index.borrow_mut();
        while index.counts.len() < self.definitions.len() {
            let i = index.counts.len();
            let mentions = names(&self.definitions[i].2);
            index.counts.push(mentions.len());
            if mentions.is_empty() {
                index.anywhere.push(i);
            }
            for m in mentions {
                index.by_name.entry(m).or_default().push(i);
            }
        }
        let mut hits: HashMap<usize, usize> = HashMap::new();
        for m in present {
            for &i in index.by_name.get(m).into_iter().flatten() {
                *hits.entry(i).or_default() += 1;
            }
        }
        let mut out: Vec<usize> = hits
            .into_iter()
            .filter(|&(i, n)| n == index.counts[i])
            .map(|(i, _)| i)
            .chain(index.anywhere.iter().copied())
            .filter(|&i| i < below)
            .collect();
        out.sort_unstable_by(|a, b| b.cmp(a));
        out
    }

    fn size(&self, k: &Ix) -> Term {
        self.sizes
            .get(&k.dim)
            .cloned()
            .unwrap_or_else(|| Term::Var(Name::Tensor(format!("n_{}", k.name).into()), vec![]))
    }
}

/// A record of the passes that changed a term, for `--steps`.
#[derive(Clone, Debug, Default)]
pub struct Log {
    /// `(rule name, term after the rule)`, in order.
    pub entries: Vec<(&'static str, Term)>,
}

impl Log {
    fn record(&mut self, rule: &'static str, before: &Term, after: &Term) {
        if before != after {
            self.entries.push((rule, after.clone()));
        }
    }
}

/// Exponents up to this size are computed exactly on numbers; larger ones stay symbolic.
const MAX_EXACT_EXPONENT: u32 = 1024;

// ---------------------------------------------------------------------------
// Alpha-equivalence: a key in which bound indices are numbered by position.

/// A key equal for two terms that differ only in the names of bound indices:
/// bound indices become placeholders numbered by depth and position, and the
/// operands of sums and products are sorted. One pass, no renaming.
pub fn alpha_key(t: &Term) -> Term {
    use crate::term::bound_to as ix;
    fn go(t: &Term, depth: u32, bound: &mut Vec<(Ix, Ix)>) -> Term {
        match t {
            Term::Var(n, idx) => Term::Var(n.clone(), idx.iter().map(|i| ix(i, bound)).collect()),
            Term::Delta(a, b) => {
                let (a, b) = (ix(a, bound), ix(b, bound));
                // δ is symmetric
                if b < a {
                    Term::Delta(b, a)
                } else {
                    Term::Delta(a, b)
                }
            }
            Term::Sum(ks, body) => {
                let mark = bound.len();
                let mut placeholders = Vec::new();
                for (n, k) in ks.iter().enumerate() {
                    let p = Ix {
                        name: "".into(),
                        id: u32::MAX - depth * 16 - n as u32,
                        dim: k.dim,
                    };
                    bound.push((k.clone(), p.clone()));
                    placeholders.push(p);
                }
                let body = go(body, depth + 1, bound);
                bound.truncate(mark);
                Term::Sum(placeholders, Box::new(body))
            }
            Term::Add(ts) => {
                let mut v: Vec<Term> = ts.iter().map(|t| go(t, depth, bound)).collect();
                v.sort();
                Term::Add(v)
            }
            Term::Mul(ts) => {
                let mut v: Vec<Term> = ts.iter().map(|t| go(t, depth, bound)).collect();
                v.sort();
                Term::Mul(v)
            }
            Term::Pow(b, e) => Term::Pow(Box::new(go(b, depth, bound)), e.clone()),
            Term::Fn(f, b) => Term::Fn(f.clone(), Box::new(go(b, depth, bound))),
            Term::Num(_) | Term::Pi => t.clone(),
        }
    }
    go(t, 0, &mut Vec::new())
}

// ---------------------------------------------------------------------------
// Smart constructors: each takes normalised parts and returns a normalised term.

/// Whether a term is its own alpha key: no bound indices, no operands to order.
fn plain(t: &Term) -> bool {
    match t {
        Term::Num(_) | Term::Pi | Term::Var(..) => true,
        Term::Fn(_, x) | Term::Pow(x, _) => plain(x),
        Term::Delta(..) | Term::Add(_) | Term::Mul(_) | Term::Sum(..) => false,
    }
}

/// The grouping key of a term: the term itself when it is plain, else its alpha key.
fn key(t: &Term) -> Term {
    if plain(t) {
        t.clone()
    } else {
        alpha_key(t)
    }
}

/// A hash equal for terms with equal alpha keys, computed without building the
/// key: bound indices hash by depth, position and dimension, the operands of
/// sums and products (and the two indices of δ) combine in any order.
fn alpha_hash(t: &Term) -> u64 {
    fn mix(h: u64, x: u64) -> u64 {
        (h.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95)
    }
    fn ix(i: &Ix, bound: &[(u32, u64)]) -> u64 {
        match bound.iter().rev().find(|(id, _)| *id == i.id) {
            Some((_, placeholder)) => *placeholder,
            None => mix(mix(1, u64::from(i.id)), u64::from(i.dim)),
        }
    }
    fn text(s: &str) -> u64 {
        s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        })
    }
    fn name(n: &Name) -> u64 {
        match n {
            Name::Tensor(t) => text(t),
            Name::Grad { of, wrt } => mix(mix(2, text(of)), text(wrt)),
        }
    }
    fn rational(r: &BigRational) -> u64 {
        let small = |b: &num_bigint::BigInt| b.to_i64().map_or(u64::MAX, |v| v as u64);
        mix(small(r.numer()), small(r.denom()))
    }
    fn go(t: &Term, depth: u64, bound: &mut Vec<(u32, u64)>) -> u64 {
        match t {
            Term::Num(n) => mix(3, rational(n)),
            Term::Pi => 4,
            Term::Var(n, idx) => idx.iter().fold(mix(5, name(n)), |h, i| mix(h, ix(i, bound))),
            Term::Delta(a, b) => mix(6, ix(a, bound).wrapping_add(ix(b, bound))),
            Term::Add(ts) => mix(
                7,
                ts.iter().fold(0u64, |h, x| h.wrapping_add(mix(8, go(x, depth, bound)))),
            ),
            Term::Mul(ts) => mix(
                9,
                ts.iter()
                    .fold(0u64, |h, x| h.wrapping_add(mix(10, go(x, depth, bound)))),
            ),
            Term::Pow(b, e) => mix(mix(11, go(b, depth, bound)), rational(e)),
            Term::Fn(f, x) => mix(mix(12, text(&f.name(true))), go(x, depth, bound)),
            Term::Sum(ks, body) => {
                let mark = bound.len();
                for (n, k) in ks.iter().enumerate() {
                    let placeholder = mix(mix(mix(13, depth), n as u64), u64::from(k.dim));
                    bound.push((k.id, placeholder));
                }
                let h = mix(mix(14, ks.len() as u64), go(body, depth + 1, bound));
                bound.truncate(mark);
                h
            }
        }
    }
    go(t, 0, &mut Vec::new())
}

/// Whether two terms with equal alpha hashes are alpha-equivalent.
fn alpha_equal(a: &Term, b: &Term) -> bool {
    a == b || (!plain(a) && !plain(b) && alpha_key(a) == alpha_key(b))
}

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
fn base_exp(t: Term) -> (Term, BigRational) {
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
        Term::Mul(fs) if e.is_integer() => mul(fs.into_iter().map(|f| pow(f, e.clone())).collect()),
        Term::Delta(a, b) if e.is_positive() => Term::Delta(a, b),
        b => Term::Pow(Box::new(b), e),
    }
}

/// A normalised elementwise function application.
pub fn func(f: Func, x: Term) -> Term {
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
pub fn sum(ks: Vec<Ix>, body: Term, env: &Env) -> Term {
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
        Term::Pow(b, e) => Term::Pow(Box::new(clean(b)), e.clone()),
        Term::Fn(f, x) => Term::Fn(f.clone(), Box::new(clean(x))),
        other => other.clone(),
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

// ---------------------------------------------------------------------------
// δ contraction.

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

// ---------------------------------------------------------------------------
// Matching with index variables, for definitions and assumptions.

#[derive(Clone, Default)]
struct Bindings {
    /// pattern index → target index
    map: HashMap<Ix, Ix>,
    /// target indices bound inside the matched part (a parameter may not reach them)
    inner: Vec<Ix>,
}

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
fn rewrite_all(
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
            for _ in 0..64 {
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

/// What a pattern needs to find in a term: the tensors and functions it mentions.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Mention {
    Tensor(Name),
    Function(Func),
}

/// The tensor names and functions a term mentions.
fn names(t: &Term) -> BTreeSet<Mention> {
    fn go(t: &Term, out: &mut BTreeSet<Mention>) {
        match t {
            Term::Var(n, _) => {
                out.insert(Mention::Tensor(n.clone()));
            }
            Term::Fn(f, x) => {
                out.insert(Mention::Function(f.clone()));
                go(x, out);
            }
            Term::Add(ts) | Term::Mul(ts) => ts.iter().for_each(|x| go(x, out)),
            Term::Pow(b, _) | Term::Sum(_, b) => go(b, out),
            Term::Num(_) | Term::Pi | Term::Delta(..) => {}
        }
    }
    let mut out = BTreeSet::new();
    go(t, &mut out);
    out
}

/// Whether a term divides by something: only then can expanding it, or
/// bringing it over a common denominator, cancel anything.
fn has_denominator(t: &Term) -> bool {
    match t {
        Term::Pow(b, e) => e.is_negative() || has_denominator(b),
        Term::Add(ts) | Term::Mul(ts) => ts.iter().any(has_denominator),
        Term::Fn(_, x) | Term::Sum(_, x) => has_denominator(x),
        Term::Num(_) | Term::Pi | Term::Var(..) | Term::Delta(..) => false,
    }
}

/// Pulls every Σ that is a factor of a product out to the front of the product:
/// `a Σ_k b` → `Σ_k a b` (bound indices are unique, so nothing is captured).
/// Folding works on this form so that a pattern split by hoisting is whole again.
fn prenex(t: &Term) -> Term {
    match t {
        Term::Mul(fs) => {
            let mut ks = Vec::new();
            let mut body = Vec::new();
            for f in fs.iter().map(prenex) {
                match f {
                    Term::Sum(k, b) => {
                        ks.extend(k);
                        match *b {
                            Term::Mul(x) => body.extend(x),
                            x => body.push(x),
                        }
                    }
                    f => body.push(f),
                }
            }
            if ks.is_empty() {
                Term::Mul(body)
            } else {
                Term::Sum(ks, Box::new(Term::Mul(body)))
            }
        }
        Term::Sum(ks, b) => match prenex(b) {
            Term::Sum(ms, c) => Term::Sum(ks.iter().cloned().chain(ms).collect(), c),
            c => Term::Sum(ks.clone(), Box::new(c)),
        },
        Term::Add(ts) => Term::Add(ts.iter().map(prenex).collect()),
        Term::Pow(b, e) => Term::Pow(Box::new(prenex(b)), e.clone()),
        Term::Fn(f, x) => Term::Fn(f.clone(), Box::new(prenex(x))),
        other => other.clone(),
    }
}

/// Whether `pattern` can match anywhere in `t` (a normal form), by a necessary
/// condition that costs one pass: some node of `t` of the pattern's kind
/// mentions every tensor of the pattern at least as often as the pattern does.
///
/// A match (a whole node, or some factors of a product) pairs each tensor of
/// the pattern with one of the same name inside the matched node, so that
/// node's counts dominate the pattern's. Rewriting with no match only rebuilds
/// `t`'s nodes with the smart constructors, which move, merge and drop factors
/// within a node (never copy one, never bring in a size symbol: every bound
/// index of a normal form is used), so no node it builds counts more than some
/// node of `t`. Kinds: a sum, a function, a tensor, and — one kind, because the
/// prenex form that folding works on moves factors between them — Σ, product
/// and power. (Such a rebuild can re-scope sums, `Σ_j (Σ_i a b) c` for
/// `Σ_i (Σ_j a c) b`; folding no longer takes that form when nothing folded.
/// Debug builds check that a skipped definition would not have folded.)
fn may_match(pattern: &Term, t: &Term) -> bool {
    const MOST: usize = 8;
    type Counts = [u32; MOST];
    fn tally<'a>(t: &'a Term, names: &mut Vec<&'a Name>, counts: &mut Counts) -> bool {
        match t {
            Term::Var(n, _) => match names.iter().position(|m| *m == n) {
                Some(k) => counts[k] += 1,
                None if names.len() < MOST => {
                    counts[names.len()] = 1;
                    names.push(n);
                }
                None => return false,
            },
            Term::Add(ts) | Term::Mul(ts) => {
                for x in ts {
                    if !tally(x, names, counts) {
                        return false;
                    }
                }
            }
            Term::Pow(b, _) | Term::Fn(_, b) | Term::Sum(_, b) => return tally(b, names, counts),
            Term::Num(_) | Term::Pi | Term::Delta(..) => {}
        }
        true
    }
    fn kind(t: &Term) -> u8 {
        match t {
            Term::Add(_) => 0,
            Term::Fn(..) => 1,
            Term::Var(..) => 2,
            Term::Sum(..) | Term::Mul(_) | Term::Pow(..) => 3,
            Term::Num(_) | Term::Pi | Term::Delta(..) => 4,
        }
    }
    fn found(t: &Term, of: u8, names: &[&Name], need: &Counts, counts: &mut Counts) -> bool {
        match t {
            Term::Var(n, _) => {
                if let Some(k) = names.iter().position(|m| *m == n) {
                    counts[k] += 1;
                }
            }
            Term::Add(ts) | Term::Mul(ts) => {
                for x in ts {
                    let mut inner = [0; MOST];
                    if found(x, of, names, need, &mut inner) {
                        return true;
                    }
                    counts.iter_mut().zip(inner).for_each(|(c, i)| *c += i);
                }
            }
            Term::Pow(b, _) | Term::Fn(_, b) | Term::Sum(_, b) => {
                if found(b, of, names, need, counts) {
                    return true;
                }
            }
            Term::Num(_) | Term::Pi | Term::Delta(..) => {}
        }
        kind(t) == of && counts.iter().zip(need).all(|(c, n)| c >= n)
    }
    let mut names = Vec::new();
    let mut need = [0; MOST];
    if !tally(pattern, &mut names, &mut need) || names.is_empty() {
        // more tensors than are counted, or none: nothing is ruled out
        return true;
    }
    found(t, kind(pattern), &names, &need, &mut [0; MOST])
}

/// How often a tensor occurs in `t`.
fn occurrences(t: &Term, name: &Name) -> usize {
    match t {
        Term::Var(n, _) => usize::from(n == name),
        Term::Add(ts) | Term::Mul(ts) => ts.iter().map(|x| occurrences(x, name)).sum(),
        Term::Pow(b, _) | Term::Fn(_, b) | Term::Sum(_, b) => occurrences(b, name),
        Term::Num(_) | Term::Pi | Term::Delta(..) => 0,
    }
}

/// Folds every definition back into its name: `exp(Z_sk) / Σ_j exp(Z_sj)` → `Y_sk`.
/// Returns the normalised result, or `None` when nothing folded.
pub fn fold(t: &Term, env: &Env) -> Option<Term> {
    let mut t = t.clone();
    let mut present = names(&t);
    let mut changed = false;
    let mut current_key = None;
    // A pattern can only match where all of its names occur; definitions are
    // tried last first, and the candidates change when a fold changes the names.
    let mut candidates = env.foldable(&present, env.definitions.len());
    let mut next_candidate = 0;
    while let Some(&i) = candidates.get(next_candidate) {
        next_candidate += 1;
        let (name, params, rhs) = &env.definitions[i];
        let make = |m: &HashMap<Ix, Ix>| -> Option<Term> {
            let ix: Option<Vec<Ix>> = params.iter().map(|p| m.get(p).cloned()).collect();
            ix.map(|ix| Term::Var(name.clone(), ix))
        };
        if !may_match(rhs, &t) {
            // Debug builds (the tests, the random programs) confirm the filter:
            // rewriting would not have brought in the name.
            debug_assert!(
                occurrences(&rewrite_all(&prenex(&t), rhs, params, &make, env), name) <= occurrences(&t, name),
                "may_match ruled out a fold of {name:?} in {t:?}"
            );
            continue;
        }
        // Rewriting rebuilds with the smart constructors, which hoist again: go
        // back to the prenex form before every pattern.
        let next = rewrite_all(&prenex(&t), rhs, params, &make, env);
        // keep the rewrite only if it changed something (else stay out of prenex form)
        let key = alpha_hash(&next);
        // Most rewrites find nothing and give `t` back: compare with `t` itself
        // first, with its normal form (built once) only when that differs.
        if key == alpha_hash(&t) && alpha_equal(&next, &t) {
            continue;
        }
        let before = current_key.get_or_insert_with(|| {
            let n = normalize(&t, env);
            (alpha_hash(&n), n)
        });
        if key != before.0 || !alpha_equal(&next, &before.1) {
            t = next;
            present = names(&t);
            current_key = Some((key, t.clone()));
            changed = true;
            candidates = env.foldable(&present, i);
            next_candidate = 0;
        }
    }
    changed.then(|| normalize(&t, env))
}

/// Applies the program's assumptions left to right: `Σ_k T_sk` → `1`.
/// Returns the normalised result, or `None` when no assumption applied.
pub fn assume(t: &Term, env: &Env) -> Option<Term> {
    let mut current: Option<Term> = None;
    for (params, lhs, rhs) in &env.assumptions {
        let t = current.as_ref().unwrap_or(t);
        if !names(lhs).is_subset(&names(t)) {
            continue;
        }
        let make = |m: &HashMap<Ix, Ix>| -> Option<Term> {
            let mut r = rhs.refresh_bound();
            for p in params {
                match m.get(p) {
                    Some(to) => r = r.rename(p, to),
                    None if rhs.mentions(p) => return None,
                    None => {}
                }
            }
            Some(normalize(&r, env))
        };
        current = Some(rewrite_all(t, lhs, params, &make, env));
    }
    current.map(|a| normalize(&a, env)).filter(|a| a != t)
}

// ---------------------------------------------------------------------------
// Factoring, expansion, common denominators.

fn factors_of(t: &Term) -> (BigRational, Vec<(Term, BigRational)>) {
    let (c, rest) = split_coefficient(t);
    let fs = match rest {
        Term::Mul(fs) => fs.into_iter().map(base_exp).collect(),
        r if r.is_one() => vec![],
        r => vec![base_exp(r)],
    };
    (c, fs)
}

fn rational_gcd(a: &BigRational, b: &BigRational) -> BigRational {
    BigRational::new(a.numer().gcd(b.numer()), a.denom().lcm(b.denom()))
}

/// Pulls the factors common to every term of each sum in front of it:
/// `2 a b - 2 a c` → `2 a (b - c)`.
pub fn factor(t: &Term, env: &Env) -> Term {
    match t {
        Term::Add(ts) => factor_add(ts.iter().map(|x| factor(x, env)).collect()),
        Term::Mul(ts) => mul(ts.iter().map(|x| factor(x, env)).collect()),
        Term::Pow(b, e) => pow(factor(b, env), e.clone()),
        Term::Fn(f, x) => func(f.clone(), factor(x, env)),
        Term::Sum(ks, b) => sum(ks.clone(), factor(b, env), env),
        other => other.clone(),
    }
}

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
/// too) and splits Σ over +. Gives up, returning `None`, past 256 terms.
pub fn expand(t: &Term, env: &Env) -> Option<Term> {
    const LIMIT: usize = 256;
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
                if next.len() > LIMIT {
                    return None;
                }
                products = next;
            }
            add(products.into_iter().map(mul).collect())
        }
        Term::Pow(b, e) if e.is_integer() && e.is_positive() && e.to_integer() <= 3.into() => {
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
pub fn together(t: &Term, env: &Env) -> Option<Term> {
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

/// How costly a form is to read: nodes, with Σ and δ dearer.
pub fn cost(t: &Term) -> usize {
    match t {
        Term::Num(_) | Term::Pi | Term::Var(..) => 1,
        Term::Delta(..) => 4,
        Term::Add(ts) | Term::Mul(ts) => 1 + ts.iter().map(cost).sum::<usize>(),
        Term::Pow(b, _) | Term::Fn(_, b) => 1 + cost(b),
        Term::Sum(_, b) => 3 + cost(b),
    }
}

/// The whole index-level pipeline; returns the simplest form found and the log.
pub fn simplify(t: &Term, env: &Env) -> (Term, Log) {
    let mut log = Log::default();
    let n = normalize(t, env);
    let c = contract(&n, env);
    log.record("contract-delta", &n, &c);
    let mut current = c;
    for _ in 0..8 {
        let mut changed = false;
        if let Some(f) = fold(&current, env) {
            log.record("fold-definition", &current, &f);
            changed |= f != current;
            current = f;
        }
        if let Some(a) = assume(&current, env) {
            log.record("assume", &current, &a);
            changed = true;
            current = a;
        }
        if !changed {
            break;
        }
    }
    let mut candidates = vec![factor(&current, env)];
    // Expanding pays off where something can cancel (a denominator) and costs
    // little on a small term (`−(T − P)` → `P − T`); a large term without a
    // denominator is left as derived.
    let expanded = if has_denominator(&current) || current.size() <= 40 {
        expand(&current, env)
    } else {
        None
    };
    if let Some(e) = expanded {
        let e = normalize(&e, env);
        let e = fold(&e, env).unwrap_or(e);
        let e = assume(&e, env).unwrap_or(e);
        candidates.push(factor(&e, env));
        if let Some(tg) = together(&e, env) {
            candidates.push(normalize(&tg, env));
        }
    }
    let best = candidates.into_iter().min_by_key(cost).expect("one candidate at least");
    log.record("factor", &current, &best);
    (best, log)
}

//! A factor that a term of a neighbouring sum divides by is multiplied into
//! that sum, so that the division cancels: `P (1 − T/P)` → `P − T`. Written
//! out, the first form divides by `P`, which underflows to 0 where a softmax
//! is confident, and the generated code would compute `T / P` (SPEC §4: no
//! division where an equivalent form has none). The form arises when a
//! simplified gradient (`∂L/∂P = −T ⊘ P`) is substituted into its consumer's
//! (`P ⊙ (∂L/∂P − …)`).

use num_traits::Signed;

use super::alpha::alpha_equal;
use super::build::{add, base_exp, func, mul, pow, split_coefficient, sum};
use super::env::Env;
use crate::term::Term;

/// `t` with every such division cancelled, or `None` when it has none.
pub fn cancel_divisions(t: &Term, env: &Env) -> Option<Term> {
    if !cancellable(t) {
        return None;
    }
    let out = rebuild(t, env);
    (out != *t).then_some(out)
}

/// Whether some product in `t` has a division to cancel (a walk, no rebuilding).
fn cancellable(t: &Term) -> bool {
    match t {
        Term::Mul(fs) => find(fs).is_some() || fs.iter().any(cancellable),
        t => t.children().iter().any(cancellable),
    }
}

fn rebuild(t: &Term, env: &Env) -> Term {
    match t {
        Term::Add(ts) => add(ts.iter().map(|x| rebuild(x, env)).collect()),
        Term::Mul(fs) => distribute(fs.iter().map(|x| rebuild(x, env)).collect()),
        Term::Pow(b, e) => pow(rebuild(b, env), e.clone()),
        Term::Fn(f, x) => func(f.clone(), rebuild(x, env)),
        Term::Sum(ks, b) => sum(ks.clone(), rebuild(b, env), env),
        other => other.clone(),
    }
}

/// The product of `fs`, with each factor that a term of a sum among them
/// divides by multiplied into that sum.
fn distribute(mut fs: Vec<Term>) -> Term {
    // each step removes a factor, so this ends
    while let Some((i, j)) = find(&fs) {
        let factor = fs[j].clone();
        let Term::Add(ts) = &fs[i] else {
            unreachable!("find gives a sum")
        };
        let spread = add(ts.iter().map(|x| mul(vec![x.clone(), factor.clone()])).collect());
        fs[i] = spread;
        fs.remove(j);
    }
    mul(fs)
}

/// `(i, j)`: `fs[i]` is a sum one of whose terms divides by the base of `fs[j]`,
/// a factor with a positive exponent.
fn find(fs: &[Term]) -> Option<(usize, usize)> {
    for (i, f) in fs.iter().enumerate() {
        let Term::Add(ts) = f else { continue };
        for (j, g) in fs.iter().enumerate() {
            if i == j || matches!(g, Term::Num(_) | Term::Add(_)) {
                continue;
            }
            let (base, e) = base_exp(g.clone());
            if e.is_positive() && ts.iter().any(|x| divides_by(x, &base)) {
                return Some((i, j));
            }
        }
    }
    None
}

/// Whether the product `t` has the factor `base` with a negative exponent.
fn divides_by(t: &Term, base: &Term) -> bool {
    let (_, rest) = split_coefficient(t);
    let factors = match rest {
        Term::Mul(fs) => fs,
        r => vec![r],
    };
    factors.into_iter().any(|f| {
        let (b, e) = base_exp(f);
        e.is_negative() && alpha_equal(&b, base)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::term::{Ix, Name};

    fn var(n: &str, ix: &[&Ix]) -> Term {
        Term::Var(Name::Tensor(n.into()), ix.iter().map(|i| (*i).clone()).collect())
    }

    #[test]
    fn a_factor_cancels_the_division_in_its_neighbouring_sum() {
        let env = Env::default();
        let (s, j) = (Ix::fresh("s", 1), Ix::fresh("j", 2));
        let (p, t) = (var("P", &[&s, &j]), var("T", &[&s, &j]));
        // P (1 − T/P) → P − T
        let inv = pow(p.clone(), -num_rational::BigRational::from_integer(1.into()));
        let form = mul(vec![
            p.clone(),
            add(vec![Term::one(), mul(vec![Term::int(-1), t.clone(), inv.clone()])]),
        ]);
        let want = add(vec![p.clone(), mul(vec![Term::int(-1), t.clone()])]);
        assert_eq!(cancel_divisions(&form, &env), Some(want));
        // nothing to cancel: T (1 − T/P) stays
        let other = mul(vec![
            t.clone(),
            add(vec![Term::one(), mul(vec![Term::int(-1), t, inv])]),
        ]);
        assert_eq!(cancel_divisions(&other, &env), None);
    }
}

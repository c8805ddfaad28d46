//! Alpha-equivalence: terms that differ only in the names of their bound
//! indices. [`alpha_key`] builds a key in which bound indices are numbered by
//! position; [`alpha_hash`] hashes the same way without building anything, so
//! that like terms are grouped by hash first and compared by key only on a hit.

use num_rational::BigRational;
use num_traits::ToPrimitive;

use crate::term::{Ix, Name, Term};

/// A key equal for two terms that differ only in the names of bound indices:
/// bound indices become placeholders numbered by depth and position, and the
/// operands of sums and products are sorted. One pass, no renaming.
///
/// A placeholder's id is `u32::MAX − (depth · 2¹⁶ + position)`: distinct for
/// every (depth, position) while a Σ binds fewer than 2¹⁶ indices and Σs nest
/// fewer than 2¹⁵ deep (the index and depth limits keep programs far below
/// both), and ordered as (depth, position) — so a Σ of 17 indices no longer
/// gives its 17th the placeholder of the first index one level deeper.
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
                        id: placeholder(depth, n),
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
            _ => t.map_children(|x| go(x, depth, bound)),
        }
    }
    go(t, 0, &mut Vec::new())
}

/// The id of the placeholder for the `n`-th index bound at `depth` (see [`alpha_key`]).
fn placeholder(depth: u32, n: usize) -> u32 {
    debug_assert!(
        n < 1 << 16 && depth < 1 << 15,
        "alpha key: Σ binding {n} indices at depth {depth}"
    );
    u32::MAX - ((depth << 16) | n as u32)
}

/// Whether a term is its own alpha key: no bound indices, no operands to order.
fn plain(t: &Term) -> bool {
    match t {
        Term::Num(_) | Term::Pi | Term::Var(..) => true,
        Term::Fn(_, x) | Term::Pow(x, _) => plain(x),
        Term::Delta(..) | Term::Add(_) | Term::Mul(_) | Term::Sum(..) => false,
    }
}

/// The grouping key of a term: the term itself when it is plain, else its alpha key.
pub(super) fn key(t: &Term) -> Term {
    if plain(t) {
        t.clone()
    } else {
        alpha_key(t)
    }
}

/// A hash equal for terms with equal alpha keys, computed without building the
/// key: bound indices hash by depth, position and dimension, the operands of
/// sums and products (and the two indices of δ) combine in any order.
pub(super) fn alpha_hash(t: &Term) -> u64 {
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
            Name::Matrix(f, a) => mix(mix(4, *f as u64), text(a)),
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
pub(super) fn alpha_equal(a: &Term, b: &Term) -> bool {
    a == b || (!plain(a) && !plain(b) && alpha_key(a) == alpha_key(b))
}

#[cfg(test)]
mod tests {
    use super::alpha_key;
    use crate::term::{Ix, Name, Term};

    fn var(name: &str, ix: &[&Ix]) -> Term {
        Term::Var(Name::Tensor(name.into()), ix.iter().map(|&i| i.clone()).collect())
    }

    /// `Σ_{k0…k16} Σ_m X_{k16,m} Y_m` and `Σ_{k0…k16} Σ_m X_{m,k16} Y_m` (1ᵀ X y
    /// and yᵀ X 1, times the sizes of the other indices) are different sums:
    /// their keys must differ. With placeholders numbered `depth · 16 + n` the
    /// 17th index of the outer Σ and the first of the inner one shared a
    /// placeholder, and the two keys were equal.
    #[test]
    fn a_sigma_over_seventeen_indices_keeps_its_placeholders_apart() {
        let ks: Vec<Ix> = (0..17).map(|n| Ix::fresh(&format!("k{n}"), 0)).collect();
        let m = Ix::fresh("m", 0);
        let k = &ks[16];
        let outer = |body: Term| Term::Sum(ks.clone(), Box::new(Term::Sum(vec![m.clone()], Box::new(body))));
        let a = outer(Term::Mul(vec![var("X", &[k, &m]), var("Y", &[&m])]));
        let b = outer(Term::Mul(vec![var("X", &[&m, k]), var("Y", &[&m])]));
        assert_ne!(alpha_key(&a), alpha_key(&b));
        // and renaming the bound indices still gives equal keys
        let ks2: Vec<Ix> = (0..17).map(|n| Ix::fresh(&format!("j{n}"), 0)).collect();
        let m2 = Ix::fresh("p", 0);
        let a2 = Term::Sum(
            ks2.clone(),
            Box::new(Term::Sum(
                vec![m2.clone()],
                Box::new(Term::Mul(vec![var("X", &[&ks2[16], &m2]), var("Y", &[&m2])])),
            )),
        );
        assert_eq!(alpha_key(&a), alpha_key(&a2));
    }
}

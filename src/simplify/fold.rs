//! Folding definitions back into their names (`exp(Z_sk) / Σ_j exp(Z_sj)` →
//! `Y_sk`) and applying the program's assumptions (`Σ_k T_sk` → `1`), with the
//! cheap filter ([`may_match`]) that rules out most definitions before trying
//! to match them.

use std::collections::HashMap;

use super::alpha::{alpha_equal, alpha_hash};
use super::build::normalize;
use super::env::{names, Env};
use super::unify::rewrite_all;
use crate::limits::FOLD_FILTER_TENSORS;
use crate::term::{Ix, Name, Term};

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
        other => other.map_children(prenex),
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
    const MOST: usize = FOLD_FILTER_TENSORS;
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
            _ => return t.children().iter().all(|x| tally(x, names, counts)),
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
            _ => {
                for x in t.children() {
                    let mut inner = [0; MOST];
                    if found(x, of, names, need, &mut inner) {
                        return true;
                    }
                    counts.iter_mut().zip(inner).for_each(|(c, i)| *c += i);
                }
            }
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
        _ => t.children().iter().map(|x| occurrences(x, name)).sum(),
    }
}

/// Folds every definition back into its name: `exp(Z_sk) / Σ_j exp(Z_sj)` → `Y_sk`.
/// Returns the normalised result, or `None` when nothing folded.
pub(super) fn fold(t: &Term, env: &Env) -> Option<Term> {
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
pub(super) fn assume(t: &Term, env: &Env) -> Option<Term> {
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

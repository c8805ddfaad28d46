//! Reverse mode over the program's definitions (DESIGN §2).
//!
//! For the loss L, ∂L/∂T is computed for each tensor T in reverse dependency
//! order, each from the finished gradients of the definitions that read T:
//! `∂L/∂T_ij = Σ_C Σ_c (∂L/∂C)_c ∂C_c/∂T_ij`. Each gradient is simplified once,
//! so the work is linear in the number of definitions. Upstream gradients
//! enter by name ([`reverse`]); [`compose`] then inlines the named gradients
//! on the way to each requested tensor and simplifies the result once.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use super::lower::Lowered;
use super::request::{canonical_name, Request};
use crate::diff::differentiate;
use crate::simplify::{self, Log};
use crate::syntax::Program;
use crate::term::{Ix, Name, Term};

/// One finished gradient.
#[derive(Clone, Debug)]
pub(crate) struct Gradient {
    /// The tensor, as named on the command line.
    pub wrt: String,
    /// The gradient's free indices, one per axis of `wrt`.
    pub indices: Vec<Ix>,
    /// The simplified index form.
    pub term: Term,
}

/// Index names for a gradient's free indices, as the documents write them:
/// `∂L/∂b_j`, `∂L/∂W_ij`, `∂L/∂T_ijk`.
pub(crate) fn result_indices(order: usize) -> Vec<&'static str> {
    match order {
        0 => vec![],
        1 => vec!["j"],
        2 => vec!["i", "j"],
        3 => vec!["i", "j", "k"],
        n => ["i", "j", "k", "l", "p", "q", "r", "u", "v", "w"]
            .into_iter()
            .cycle()
            .take(n)
            .collect(),
    }
}

/// One term of the chain rule: `Σ_copy upstream · local`, where `local` is
/// `∂C_copy/∂T` with its Kronecker deltas.
#[derive(Clone, Debug)]
pub(crate) struct Contribution {
    /// The definition `C` that reads `T`.
    pub consumer: Rc<str>,
    /// Fresh copies of `C`'s indices, summed over.
    pub copy: Vec<Ix>,
    /// `(∂L/∂C)_copy`: the finished gradient, or its name.
    pub upstream: Term,
    /// `∂C_copy/∂T_…`, as differentiated.
    pub local: Term,
}

/// What one reverse pass computed.
#[derive(Debug)]
pub(crate) struct Reverse {
    /// Each tensor's simplified gradient and the simplifier's log.
    pub finished: HashMap<String, (Term, Log)>,
    /// Each tensor's chain-rule terms.
    pub contributions: HashMap<String, Vec<Contribution>>,
    /// Each tensor's gradient indices.
    pub params: HashMap<String, Vec<Ix>>,
    /// The free indices of the differentiated tensor (none for a scalar
    /// loss): every named gradient `(∂Y/∂T)` carries them before `T`'s own.
    pub seed: Vec<Ix>,
}

/// Fresh indices for a Jacobian's output `Y` (`order` axes, each of `Y`'s
/// dimension): the first names of [`result_indices`], so that the tensors
/// differentiated by take the following ones (`∂z_i/∂s_j`, `∂s_i/∂W_jk`).
pub(crate) fn seed_indices(lowered: &Lowered, of: &str) -> Vec<Ix> {
    let order = lowered.orders.get(of).copied().unwrap_or(0);
    result_indices(order + 1)
        .into_iter()
        .take(order)
        .enumerate()
        .map(|(k, n)| Ix::fresh(n, lowered.dims.axis(of, k)))
        .collect()
}

/// Reverse mode over the definitions. A consumer's gradient enters the chain
/// rule as its name `∂L/∂C` (each term of constant size; the steps show them,
/// [`compose`] substitutes them); the loss's own gradient, 1, as its value.
///
/// Only the gradients on the way to a tensor in `wanted` (canonical names) are
/// derived: a definition that reads none of them, directly or through other
/// definitions, and an input not asked for, cost nothing.
///
/// With a `seed` (the fresh free indices `a` of a tensor `Y` of order ≥ 1,
/// [`seed_indices`]), the pass computes the Jacobian ∂Y/∂T instead: `Y`'s own
/// upstream gradient is `Π_k δ(a_k, y_k)`, and every named gradient carries
/// `a` before its own indices.
pub(crate) fn reverse(program: &Program, lowered: &Lowered, of: &str, wanted: &[String], seed: &[Ix]) -> Reverse {
    #[cfg(debug_assertions)]
    super::counter::bump(&super::counter::REVERSE);
    let env = &lowered.env;
    let needed = needed(lowered, wanted);
    let of: Rc<str> = of.into();
    let mut params: HashMap<String, Vec<Ix>> = HashMap::new();
    let mut params_of = |name: &str| -> Vec<Ix> {
        params
            .entry(name.to_string())
            .or_insert_with(|| param_indices(lowered, name, seed.len()))
            .clone()
    };
    let grad = |name: &str, ix: Vec<Ix>| {
        Term::Var(
            Name::Grad {
                of: of.clone(),
                wrt: name.into(),
            },
            seed.iter().cloned().chain(ix).collect(),
        )
    };
    let mut pending: HashMap<String, Vec<Term>> = HashMap::new();
    let mut contributions: HashMap<String, Vec<Contribution>> = HashMap::new();
    let loss_defined = lowered.definitions.iter().any(|(n, _, _)| **n == *of);
    if loss_defined && !seed.is_empty() {
        let mine = params_of(&of);
        let deltas = seed.iter().zip(&mine).map(|(a, y)| Term::Delta(a.clone(), y.clone()));
        pending.insert(of.to_string(), vec![Term::Mul(deltas.collect())]);
    } else if loss_defined {
        pending.insert(of.to_string(), vec![Term::one()]);
    } else {
        for out in program.outputs() {
            let p = params_of(out);
            pending.insert(out.to_string(), vec![grad(out, p)]);
        }
    }
    let mut finished: HashMap<String, (Term, Log)> = HashMap::new();
    for (name, lhs, rhs) in lowered.definitions.iter().rev() {
        let Some(parts) = pending.remove(&**name) else { continue };
        if !needed.contains(&**name) {
            continue; // an output the requested tensors do not lead to
        }
        let (g, log) = simplify::simplify(&Term::Add(parts), env);
        let mine = params_of(name);
        if !g.is_zero() {
            // Each tensor this definition reads gets Σ_c (∂L/∂C)_c ∂C_c/∂T.
            let mut read: Vec<Name> = Vec::new();
            collect_names(rhs, &mut read);
            for t in read {
                let Name::Tensor(tname) = &t else { continue };
                if !needed.contains(&**tname) {
                    continue;
                }
                let at = params_of(tname);
                // a fresh copy of the definition and of the upstream gradient
                let copy: Vec<Ix> = lhs.iter().map(|i| Ix::fresh(&i.name, i.dim)).collect();
                let mut rhs_c = rhs.refresh_bound();
                let mut g_c = if **name != *of {
                    grad(name, mine.clone())
                } else {
                    g.refresh_bound()
                };
                for ((old, new), p) in lhs.iter().zip(&copy).zip(&mine) {
                    rhs_c = rhs_c.rename(old, new);
                    g_c = g_c.rename(p, new);
                }
                let d = differentiate(&rhs_c, &t, &at);
                if d.is_zero() {
                    continue;
                }
                let part = Term::Sum(copy.clone(), Box::new(Term::Mul(vec![g_c.clone(), d.clone()])));
                pending.entry(tname.to_string()).or_default().push(part);
                contributions.entry(tname.to_string()).or_default().push(Contribution {
                    consumer: name.clone(),
                    copy,
                    upstream: g_c,
                    local: d,
                });
            }
        }
        finished.insert(name.to_string(), (g, log));
    }
    // What is left are inputs, entered only when needed.
    for (name, parts) in pending {
        finished
            .entry(name)
            .or_insert_with(|| simplify::simplify(&Term::Add(parts), env));
    }
    Reverse {
        finished,
        contributions,
        params,
        seed: seed.to_vec(),
    }
}

/// Fresh gradient indices for tensor `name`, named after the `lead` indices
/// of a Jacobian's output (none for a gradient).
fn param_indices(lowered: &Lowered, name: &str, lead: usize) -> Vec<Ix> {
    let order = lowered.orders.get(name).copied().unwrap_or(0);
    result_indices(lead + order)
        .into_iter()
        .skip(lead)
        .enumerate()
        .map(|(k, n)| Ix::fresh(n, lowered.dims.axis(name, k)))
        .collect()
}

/// The tensors whose gradients lead to one in `wanted`: those, and every
/// defined tensor that reads one of them, directly or through others.
fn needed<'a>(lowered: &'a Lowered, wanted: &'a [String]) -> HashSet<&'a str> {
    let mut needed: HashSet<&str> = wanted.iter().map(String::as_str).collect();
    // Definitions read only tensors defined before them (or inputs), so one
    // pass in order reaches the fixpoint.
    let mut read = Vec::new();
    for (name, _, rhs) in &lowered.definitions {
        read.clear();
        collect_names(rhs, &mut read);
        if read
            .iter()
            .any(|n| matches!(n, Name::Tensor(t) if needed.contains(&**t)))
        {
            needed.insert(name);
        }
    }
    needed
}

/// Differentiates the loss by every requested tensor: every gradient is first
/// derived with its upstream gradients named (each of constant size, so the
/// pass is linear in the number of definitions), then the named gradients on
/// the way to a requested tensor are substituted and the result simplified
/// once (DESIGN §2).
#[cfg(test)]
pub(crate) fn gradients(program: &Program, lowered: &Lowered, request: &Request) -> Vec<Gradient> {
    let wanted: Vec<String> = request.wrt.iter().map(|w| canonical_name(w)).collect();
    let r = reverse(program, lowered, &request.of, &wanted, &[]);
    compose(&r, lowered, request, &request.of)
}

/// Each requested gradient of `of` (the tensor the pass differentiated) from
/// one [`reverse`] pass: the named gradients on its way substituted
/// ([`inline`]) and the result simplified once. A Jacobian's indices are the
/// seed's, then the tensor's.
pub(crate) fn compose(r: &Reverse, lowered: &Lowered, request: &Request, of: &str) -> Vec<Gradient> {
    request
        .wrt
        .iter()
        .map(|w| {
            let name = canonical_name(w);
            let own = r
                .params
                .get(&name)
                .cloned()
                .unwrap_or_else(|| param_indices(lowered, &name, r.seed.len()));
            let indices: Vec<Ix> = r.seed.iter().cloned().chain(own).collect();
            let term = match r.finished.get(&name) {
                None => Term::zero(),
                Some((g, _)) => {
                    let expanded = inline(r, of, &name);
                    if &expanded == g {
                        g.clone()
                    } else if expanded.size() > LARGE {
                        // Composed of simplified named gradients, it is correct as it
                        // stands; what a second simplification could still cancel
                        // across layers is not worth its quadratic cost on a deep chain.
                        // A division that a neighbouring factor cancels is cancelled still:
                        // `P ⊙ (1 − T ⊘ P)` is `P − T` (SPEC §4).
                        let cleaned = simplify::clean(&expanded);
                        simplify::cancel_divisions(&cleaned, &lowered.env).unwrap_or(cleaned)
                    } else {
                        simplify::simplify(&expanded, &lowered.env).0
                    }
                }
            };
            Gradient {
                wrt: w.clone(),
                indices,
                term,
            }
        })
        .collect()
}

/// Above this many nodes an inlined gradient is not simplified again, only
/// cleaned ([`simplify::clean`]): a second simplification of a deep chain's
/// composed gradient costs time quadratic in its size for little gain.
const LARGE: usize = crate::limits::INLINED_SIMPLIFY_NODES;

/// The gradient of `name` with every named upstream gradient replaced by its
/// own (inlined) form; given gradients of outputs stay names.
///
/// One traversal that carries the renaming down (each inlined gradient's
/// parameters to the indices it is used at, its bound indices to fresh ones),
/// so the cost is the size of the result: renaming each inlined body after the
/// fact cost the size of everything below it, at every level of a deep chain.
fn inline(r: &Reverse, of: &str, name: &str) -> Term {
    match r.finished.get(name) {
        Some((g, _)) => substitute(g, r, of, &mut Vec::new(), false),
        None => Term::zero(),
    }
}

/// `t` with the renaming `map` applied (innermost binding wins) and named
/// gradients inlined; `fresh` gives bound indices new names (inside an inlined
/// body, which may stand beside another copy of itself).
fn substitute(t: &Term, r: &Reverse, of: &str, map: &mut Vec<(Ix, Ix)>, fresh: bool) -> Term {
    t.renamed(map, fresh, &mut |n, ix| match n {
        Name::Grad { of: o, wrt } if **o == *of && r.contributions.contains_key(&**wrt) => {
            let Some((g, _)) = r.finished.get(&**wrt) else {
                return Term::zero();
            };
            // A new scope: only the inlined gradient's parameters are renamed.
            // `ix` is the seed's indices, then the parameters'
            let mut inner: Vec<(Ix, Ix)> = match r.params.get(&**wrt) {
                Some(params) => params.iter().cloned().zip(ix.into_iter().skip(r.seed.len())).collect(),
                None => Vec::new(),
            };
            substitute(g, r, of, &mut inner, true)
        }
        _ => Term::Var(n.clone(), ix),
    })
}

/// Every name `t` reads, each once, in order of first appearance.
fn collect_names(t: &Term, out: &mut Vec<Name>) {
    match t {
        Term::Var(n, _) => {
            // inv(A), det(A) and logdet(A) read A
            let n = match n {
                Name::Matrix(_, a) => Name::Tensor(a.clone()),
                n => n.clone(),
            };
            if !out.contains(&n) {
                out.push(n)
            }
        }
        t => t.children().iter().for_each(|x| collect_names(x, out)),
    }
}

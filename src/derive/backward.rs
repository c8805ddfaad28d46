//! The backward pass as a program (SPEC §2, `--backward`): one line per named
//! gradient on the way from the loss to the requested tensors, each reading
//! the lines before it by name, read from the derivation's one reverse pass.
//!
//! - **Which lines.** Every tensor whose gradient the reverse pass derived (the
//!   loss's own, 1, and the given gradients of an undefined loss's outputs are
//!   not lines), and every requested tensor (one the loss does not depend on
//!   gets the line `= 0`). A line that is not requested and whose gradient is 0
//!   is dropped: nothing reads it.
//! - **Order.** Reverse program order: a defined tensor's line at its
//!   definition, counted from the last; an input's line right after the line
//!   of the earliest definition that reads it (the last of its consumers to be
//!   finished), inputs of one consumer in `--wrt` order. So `∂L/∂W⁽²⁾` comes
//!   right after `∂L/∂s⁽²⁾`, as a framework's backward computes it.
//! - **Folding.** A gradient that is just another one (`ŷ = s⁽²⁾` gives
//!   `∂L/∂s⁽²⁾ = ∂L/∂ŷ`, the same indices in the same order) is not a line
//!   unless it was requested: the lines after it read `∂L/∂ŷ` in its place.
//! - **Form.** Each line's matrix form in gradient layout (`∂L/∂W` has `W`'s
//!   shape, whatever `--layout` says, since the lines read each other), or its
//!   index form when it has none.

use std::collections::HashMap;
use std::rc::Rc;

use super::{canonical_name, matrix_forms, Derivation, Kind, Layout, Request};
use crate::diagnostic::Diagnostic;
use crate::matrix::Mat;
use crate::term::{Ix, Name, Term};

/// One line of the backward pass: `∂L/∂T = …`.
#[derive(Clone, Debug)]
pub(crate) struct Line {
    /// The tensor `T` (canonical name).
    pub name: String,
    /// The gradient's free indices, one per axis of `T`.
    pub indices: Vec<Ix>,
    /// The index form, reading the earlier lines as named gradients.
    pub term: Term,
    /// The matrix form to show (gradient layout; a vector as a row where
    /// that reads better), if there is one.
    pub matrix: Option<Mat>,
    /// The matrix form in gradient layout (what the code evaluates).
    pub gradient_matrix: Option<Mat>,
    /// The range symbol of each axis, where declared.
    pub shape: Vec<Option<String>>,
}

/// The backward pass of a derivation, as plain data.
#[derive(Clone, Debug)]
pub(crate) struct Backward {
    /// The lines, in the order they are computed.
    pub lines: Vec<Line>,
    /// Folded gradients: `T` → the tensor whose gradient stands for `T`'s.
    #[allow(dead_code)]
    pub folded: Vec<(String, String)>,
    /// The requested tensors (canonical names), in `--wrt` order.
    pub requested: Vec<String>,
}

/// The backward pass of `d`, from its one reverse pass; an error for a
/// Jacobian, a Hessian or an HVP (a backward pass is that of a scalar loss).
pub(crate) fn backward(d: &Derivation) -> Result<Backward, Diagnostic> {
    if d.kind != Kind::Gradient {
        return Err(not_a_gradient(d.kind, &d.of));
    }
    let r = &*d.reverse;
    let lowered = &*d.lowered;
    let of = d.of.as_str();
    let positions: HashMap<&str, usize> = lowered
        .definitions
        .iter()
        .enumerate()
        .map(|(k, (n, _, _))| (&**n, k))
        .collect();
    let position = |t: &str| positions.get(t).copied();
    // Requested tensors, in --wrt order.
    let requested: Vec<(String, String)> = d.request.wrt.iter().map(|w| (canonical_name(w), w.clone())).collect();
    let wrt_of = |t: &str| requested.iter().find(|(n, _)| n == t).map(|(_, w)| w.clone());
    let rank = |t: &str| requested.iter().position(|(n, _)| n == t).unwrap_or(usize::MAX);
    // Candidate lines: derived gradients and requested tensors.
    let mut names: Vec<String> = r
        .finished
        .keys()
        .filter(|t| r.contributions.contains_key(*t) && *t != of)
        .cloned()
        .collect();
    for (n, _) in &requested {
        if !names.contains(n) {
            names.push(n.clone());
        }
    }
    // A sort key, descending: a definition at p is 2p+1; an input read first
    // by the definition at p is 2p (right after it); an unread input is last.
    let key = |t: &str| -> i64 {
        match position(t) {
            Some(p) => 2 * p as i64 + 1,
            None => r
                .contributions
                .get(t)
                .into_iter()
                .flatten()
                .filter_map(|c| position(&c.consumer))
                .min()
                .map_or(-1, |p| 2 * p as i64),
        }
    };
    names.sort_by_cached_key(|t| (std::cmp::Reverse(key(t)), rank(t), t.clone()));
    let mut folds: HashMap<String, String> = HashMap::new();
    let mut folded = Vec::new();
    let mut lines: Vec<Draft> = Vec::new();
    for name in names {
        let own = r.params.get(&name).cloned().unwrap_or_default();
        let indices: Vec<Ix> = if r.params.contains_key(&name) {
            own
        } else {
            // not read by the loss (gradient 0): fresh indices of its axes
            let order = lowered.orders.get(&name).copied().unwrap_or(0);
            super::reverse::result_indices(order)
                .into_iter()
                .enumerate()
                .map(|(k, n)| Ix::fresh(n, lowered.dims.axis(&name, k)))
                .collect()
        };
        let term = match r.finished.get(&name) {
            Some((g, _)) => rename_grads(g, &folds),
            None => Term::zero(),
        };
        let requested = wrt_of(&name).is_some();
        if !requested {
            if term.is_zero() {
                continue;
            }
            if let Term::Var(Name::Grad { of: o, wrt: other }, ix) = &term {
                if **o == *of && *ix == indices {
                    folds.insert(name.clone(), other.to_string());
                    folded.push((name, other.to_string()));
                    continue;
                }
            }
        }
        lines.push(Draft {
            name,
            indices,
            term,
            requested,
        });
    }
    inline_single_readers(&mut lines, of, lowered);
    let request = Request {
        layout: Layout::Gradient,
        ..d.request.clone()
    };
    let dims = &lowered.dims;
    let lines = lines
        .into_iter()
        .map(|l| {
            let order = lowered.orders.get(&l.name).copied().unwrap_or(l.indices.len());
            let shape = (0..order)
                .map(|k| dims.range_of(dims.axis(&l.name, k)).map(str::to_string))
                .collect();
            let (gradient_matrix, matrix) = if l.term.is_zero() {
                (None, None)
            } else {
                let (g, shown, _) = matrix_forms(&l.term, &l.indices, &request);
                (g, shown)
            };
            Line {
                name: l.name,
                indices: l.indices,
                term: l.term,
                matrix,
                gradient_matrix,
                shape,
            }
        })
        .collect();
    let requested = requested.into_iter().map(|(n, _)| n).collect();
    Ok(Backward {
        lines,
        folded,
        requested,
    })
}

/// Why a Jacobian, a Hessian or an HVP has no backward pass.
pub(crate) fn not_a_gradient(kind: Kind, of: &str) -> Diagnostic {
    let what = match kind {
        Kind::Jacobian => format!("--of {of} is a tensor of order ≥ 1: its derivative is a Jacobian"),
        Kind::Hessian => "--hessian asks for second derivatives".to_string(),
        _ => "--hvp asks for a Hessian-vector product".to_string(),
    };
    Diagnostic::unplaced(format!("--backward is the backward pass of a scalar loss, and {what}"))
        .with_help("drop --backward, or differentiate a scalar loss (`--of L`) without --hessian or --hvp")
}

/// A line before its matrix form is found.
struct Draft {
    name: String,
    indices: Vec<Ix>,
    term: Term,
    requested: bool,
}

/// The names of the named gradients `t` reads, with repeats.
fn grads_read(t: &Term, out: &mut Vec<String>) {
    match t {
        Term::Var(Name::Grad { wrt, .. }, _) => out.push(wrt.to_string()),
        t => t.children().iter().for_each(|x| grads_read(x, out)),
    }
}

/// A line that is the only reader of an earlier, unrequested line reads its
/// form instead of its name where that simplifies to a term no larger: the
/// softmax's `∂L/∂Z = P ⊙ (∂L/∂P − …)` with `∂L/∂P = −1/S T ⊘ P` becomes
/// `1/S (P − T)` (SPEC §4: no division by a tensor that can underflow where
/// an equivalent form has none). A line no other line reads any more, and
/// that was not requested, is then dropped.
fn inline_single_readers(lines: &mut Vec<Draft>, of: &str, lowered: &super::Lowered) {
    let position: HashMap<String, usize> = lines.iter().enumerate().map(|(k, l)| (l.name.clone(), k)).collect();
    let mut readers: HashMap<String, usize> = HashMap::new();
    let count = |t: &Term, readers: &mut HashMap<String, usize>, delta: isize| {
        let mut names = Vec::new();
        grads_read(t, &mut names);
        names.sort();
        names.dedup();
        for n in names {
            let c = readers.entry(n).or_insert(0);
            *c = (*c as isize + delta).max(0) as usize;
        }
    };
    for l in lines.iter() {
        count(&l.term, &mut readers, 1);
    }
    for k in 0..lines.len() {
        let mut names = Vec::new();
        grads_read(&lines[k].term, &mut names);
        names.sort();
        names.dedup();
        for x in names {
            let Some(&at) = position.get(&x) else { continue };
            if at >= k || lines[at].requested || readers.get(&x) != Some(&1) {
                continue;
            }
            let (params, body) = (lines[at].indices.clone(), lines[at].term.clone());
            let expanded = lines[k].term.renamed(&mut Vec::new(), false, &mut |n, ix| match n {
                Name::Grad { of: o, wrt } if **o == *of && **wrt == *x => {
                    let mut map: Vec<(Ix, Ix)> = params.iter().cloned().zip(ix).collect();
                    body.renamed(&mut map, true, &mut |n, ix| Term::Var(n.clone(), ix))
                }
                _ => Term::Var(n.clone(), ix),
            });
            let (simpler, _) = crate::simplify::simplify(&expanded, &lowered.env);
            if simpler.size() <= lines[k].term.size() {
                count(&lines[k].term, &mut readers, -1);
                count(&simpler, &mut readers, 1);
                lines[k].term = simpler;
            }
        }
    }
    // Lines nothing reads any more, last first (dropping one may free another).
    for k in (0..lines.len()).rev() {
        let l = &lines[k];
        if !l.requested && readers.get(&l.name).copied().unwrap_or(0) == 0 {
            let t = l.term.clone();
            count(&t, &mut readers, -1);
            lines[k].term = Term::zero();
            lines[k].requested = false;
            lines[k].name.clear();
        }
    }
    lines.retain(|l| !l.name.is_empty());
}

/// `t` with each folded named gradient replaced by the one it stands for.
fn rename_grads(t: &Term, folds: &HashMap<String, String>) -> Term {
    if folds.is_empty() {
        return t.clone();
    }
    let go = |x: &Term| rename_grads(x, folds);
    match t {
        Term::Var(Name::Grad { of, wrt }, ix) => match folds.get(&**wrt) {
            Some(other) => Term::Var(
                Name::Grad {
                    of: of.clone(),
                    wrt: Rc::from(other.as_str()),
                },
                ix.clone(),
            ),
            None => t.clone(),
        },
        Term::Var(..) | Term::Num(_) | Term::Pi | Term::Delta(..) => t.clone(),
        Term::Add(ts) => Term::Add(ts.iter().map(go).collect()),
        Term::Mul(ts) => Term::Mul(ts.iter().map(go).collect()),
        Term::Pow(b, e) => Term::Pow(Box::new(go(b)), e.clone()),
        Term::Fn(f, b) => Term::Fn(f.clone(), Box::new(go(b))),
        Term::Sum(ix, b) => Term::Sum(ix.clone(), Box::new(go(b))),
    }
}

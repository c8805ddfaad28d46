//! `--steps`: the numbered derivation, as a homework solution writes it.
//!
//! For every named gradient on the way from the loss to the requested tensor —
//! each derived once, in order — the chain rule over the consumers, the
//! derivative of each definition with its Kronecker deltas, the contraction,
//! the simplification (labelled with the passes of the simplifier that fired,
//! read from its log), and the matrix form. Upstream gradients appear by name
//! (`∂L/∂H`), as the documents name δ⁽ᴸ⁾ or ∂L/∂z; the last step substitutes
//! them and gives the result.
//!
//! A [`Step`] is plain data — terms, matrix forms and a [`Justification`] —
//! and renders nothing: `render::text` and `render::latex` print it.

use std::collections::BTreeSet;

use crate::derive::{matrix_forms, Contribution, Derivation, GradientResult, Lowered, Request, Reverse};
use crate::matrix::Mat;
use crate::simplify::{self, Log};
use crate::term::{Ix, Term};

/// One line of a derivation: `lhs = rhs   [why]`. Print it with
/// [`Step::text`] or [`Step::latex`].
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// The left side.
    pub(crate) lhs: Lhs,
    /// The right side.
    pub(crate) rhs: Rhs,
    /// What justifies it.
    pub(crate) why: Justification,
}

/// The left side of a step.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Lhs {
    /// None: a continuation `= …` of the line before.
    Continuation,
    /// `∂L/∂T_ij`, the indices as they were written; a Jacobian's first
    /// `lead` indices are its output's (`∂z_i/∂s_j`).
    Gradient {
        of: String,
        wrt: String,
        at: Vec<Ix>,
        lead: usize,
    },
    /// `∂C_sn/∂T_ij`, one consumer's derivative (`copy` its indices, bound);
    /// the first `lead` of `at` are a Jacobian's output indices, not `T`'s.
    Partial {
        consumer: String,
        copy: Vec<Ix>,
        wrt: String,
        at: Vec<Ix>,
        lead: usize,
    },
    /// `∂L/∂T`, the left side of a matrix form.
    Matrix { of: String, wrt: String },
    /// A tensor with its indices: a Hessian's gradient `(∂L/∂w)_j`, an HVP's
    /// `(∂L/∂w)·v`, the tensors the second pass differentiates.
    Tensor { name: String, at: Vec<Ix> },
}

/// The right side of a step.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Rhs {
    /// The chain rule for `wrt`: `Σ_c (∂L/∂C)_c ∂C_c/∂T_ij + …` (the first
    /// `lead` of `at` are a Jacobian's output indices, not `T`'s).
    Chain {
        wrt: String,
        at: Vec<Ix>,
        lead: usize,
        parts: Vec<Link>,
    },
    /// An index term with the free indices `at` and the bound indices `bound`.
    Term { term: Term, at: Vec<Ix>, bound: Vec<Ix> },
    /// A matrix form, with the declared range of each axis when all are declared.
    Matrix { form: Mat, shape: Option<Vec<String>> },
}

/// One term of the chain rule: the consumer, its indices, its upstream gradient.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Link {
    pub(crate) consumer: String,
    pub(crate) copy: Vec<Ix>,
    pub(crate) upstream: Term,
}

/// Why a step holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Justification {
    /// The chain rule over the consumers of a tensor.
    ChainRule,
    /// The derivative of the definition of the named tensor.
    Definition(String),
    /// Kronecker deltas contracted.
    Contraction,
    /// The simplifier's passes that fired, in the order they first fired.
    Simplification(Vec<Pass>),
    /// The consumers' derivatives substituted into the chain rule.
    Substitution,
    /// The matrix form of a gradient.
    MatrixForm,
    /// The gradient of `of` by `wrt`, which a Hessian or an HVP differentiates again.
    Gradient {
        /// The loss.
        of: String,
        /// The tensor.
        wrt: String,
    },
    /// The named gradients of `of` by these tensors substituted.
    Substituting {
        /// The loss.
        of: String,
        /// The tensors whose gradients were substituted.
        gradients: Vec<String>,
    },
}

/// A pass of the simplifier, as its log names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pass {
    /// Kronecker deltas contracted (`contract-delta`).
    Contraction,
    /// Definitions folded back (`fold-definition`).
    Fold,
    /// An assumption applied (`assume`).
    Assumption,
    /// Factoring (`factor`).
    Factor,
    /// Any other pass, by its log name.
    Other(&'static str),
}

impl Pass {
    fn of_rule(rule: &'static str) -> Pass {
        match rule {
            "contract-delta" => Pass::Contraction,
            "fold-definition" => Pass::Fold,
            "assume" => Pass::Assumption,
            "factor" => Pass::Factor,
            other => Pass::Other(other),
        }
    }
}

/// The passes that fired, each once, in the order they first fired.
fn passes(log: &Log) -> Justification {
    let mut seen: Vec<Pass> = Vec::new();
    for (rule, _) in &log.entries {
        let pass = Pass::of_rule(rule);
        if !seen.contains(&pass) {
            seen.push(pass);
        }
    }
    Justification::Simplification(seen)
}

impl Step {
    /// What justifies the step (print it with [`Justification::text`]).
    pub fn why(&self) -> &Justification {
        &self.why
    }
}

fn step(lhs: Lhs, rhs: Rhs, why: Justification) -> Step {
    Step { lhs, rhs, why }
}

fn term(term: &Term, at: &[Ix], bound: &[Ix]) -> Rhs {
    Rhs::Term {
        term: term.clone(),
        at: at.to_vec(),
        bound: bound.to_vec(),
    }
}

/// The tensors whose named gradients lead from the loss to `wrt`, loss side first.
fn path(lowered: &Lowered, named: &Reverse, wrt: &str, of: &str) -> Vec<String> {
    let mut set: BTreeSet<String> = BTreeSet::new();
    let mut stack = vec![wrt.to_string()];
    while let Some(t) = stack.pop() {
        if !set.insert(t.clone()) {
            continue;
        }
        for c in named.contributions.get(&t).into_iter().flatten() {
            stack.push(c.consumer.to_string());
        }
    }
    set.remove(of);
    // Outputs of an undefined loss have given gradients: nothing to derive.
    set.retain(|t| named.contributions.contains_key(t));
    let position = |t: &String| {
        lowered
            .definitions
            .iter()
            .position(|(n, _, _)| **n == **t)
            .unwrap_or(usize::MAX)
    };
    let mut v: Vec<String> = set.into_iter().collect();
    v.sort_by_key(|t| std::cmp::Reverse(position(t)));
    // `wrt` last even when it is an input (position MAX would put it first)
    if let Some(k) = v.iter().position(|t| t == wrt) {
        let w = v.remove(k);
        v.push(w);
    }
    v
}

/// The derivation of every result, read from the derivation's reverse pass;
/// a named gradient derived for an earlier result is not derived again.
///
/// A Jacobian's, a Hessian's and an HVP's steps are those of the pass that
/// made it: the Jacobian of `Y` (each named gradient `(∂Y/∂T)` carries `Y`'s
/// indices), of the gradient `(∂L/∂w)`, or the gradient of `(∂L/∂w)·v`. They
/// are shown in the layout they are laid out in (rows follow `Y`).
pub fn derive_steps(d: &Derivation) -> Vec<Vec<Step>> {
    let lowered = &*d.lowered;
    let mut done: BTreeSet<(String, String)> = BTreeSet::new();
    d.results
        .iter()
        .map(|r| {
            let named = &*r.pass;
            let request = match r.kind {
                crate::Kind::Jacobian | crate::Kind::Hessian => Request {
                    layout: crate::Layout::Gradient,
                    ..d.request.clone()
                },
                _ => d.request.clone(),
            };
            let mut steps = Vec::new();
            // a second derivative starts from the gradient it differentiates
            if matches!(r.kind, crate::Kind::Hessian | crate::Kind::Hvp) {
                if let Some((name, at, rhs)) = lowered.definitions.iter().find(|(n, _, _)| **n == *r.output) {
                    steps.push(step(
                        Lhs::Tensor {
                            name: name.to_string(),
                            at: at.clone(),
                        },
                        term(rhs, at, &[]),
                        Justification::Gradient {
                            of: d.of.clone(),
                            wrt: r.name.clone(),
                        },
                    ));
                }
            }
            for t in path(lowered, named, &r.name, &r.output) {
                if !done.insert((r.output.clone(), t.clone())) {
                    continue;
                }
                let result = d.results.iter().find(|x| x.name == t && x.output == r.output);
                tensor_steps(&r.output, lowered, named, &t, result, &request, &mut steps);
            }
            final_steps(&r.output, named, r, &mut steps);
            steps
        })
        .collect()
}

/// The steps that derive `t`'s named gradient; `result` is the derivation's
/// result for `t`, if `t` was asked for.
fn tensor_steps(
    of: &str,
    lowered: &Lowered,
    named: &Reverse,
    t: &str,
    result: Option<&GradientResult>,
    request: &Request,
    out: &mut Vec<Step>,
) {
    let env = &lowered.env;
    let Some(parts) = named.contributions.get(t) else {
        return;
    };
    // a Jacobian's named gradients carry its output's indices first
    let at: Vec<Ix> = named
        .seed
        .iter()
        .cloned()
        .chain(named.params.get(t).cloned().unwrap_or_default())
        .collect();
    let head = Lhs::Gradient {
        of: of.to_string(),
        wrt: t.to_string(),
        at: at.clone(),
        lead: named.seed.len(),
    };
    let loss_only = parts.len() == 1 && parts[0].upstream.is_one();
    if !loss_only {
        out.push(step(
            head.clone(),
            chain(t, &at, named.seed.len(), parts),
            Justification::ChainRule,
        ));
    }
    // Each consumer's derivative, with its deltas, then contracted.
    let mut substituted = Vec::new();
    let mut last = Term::zero();
    for p in parts {
        let local = simplify::clean(&p.local);
        let contracted = simplify::normalize(&simplify::contract(&local, env), env);
        let lhs = if loss_only {
            head.clone()
        } else {
            Lhs::Partial {
                consumer: p.consumer.to_string(),
                copy: p.copy.clone(),
                wrt: t.to_string(),
                at: at.clone(),
                lead: named.seed.len(),
            }
        };
        out.push(step(
            lhs,
            term(&local, &at, &p.copy),
            Justification::Definition(p.consumer.to_string()),
        ));
        if alpha(&contracted) != alpha(&simplify::normalize(&local, env))
            || local.has_delta() && !contracted.has_delta()
        {
            out.push(step(
                Lhs::Continuation,
                term(&contracted, &at, &p.copy),
                Justification::Contraction,
            ));
            last = contracted.clone();
        }
        substituted.push(Term::Sum(
            p.copy.clone(),
            Box::new(Term::Mul(vec![p.upstream.clone(), contracted])),
        ));
    }
    let (g, log) = named
        .finished
        .get(t)
        .cloned()
        .unwrap_or_else(|| (Term::zero(), Log::default()));
    if !loss_only {
        let sub = simplify::clean(&Term::Add(substituted));
        out.push(step(head.clone(), term(&sub, &at, &[]), Justification::Substitution));
        if alpha(&sub) != alpha(&g) {
            out.push(step(Lhs::Continuation, term(&g, &at, &[]), passes(&log)));
        }
    } else if alpha(&last) != alpha(&g) {
        out.push(step(Lhs::Continuation, term(&g, &at, &[]), passes(&log)));
    }
    // A result whose named gradient is its final form (nothing was substituted)
    // already has its matrix form: the same term at the same indices (one
    // reverse pass made both). Saturating it again doubled the e-graph work of
    // --steps and JSON.
    let shown = match result {
        Some(r) if r.indices == at && alpha(&r.term) == alpha(&g) => r.matrix.clone(),
        _ => matrix_forms(&g, &at, request).1,
    };
    if let Some(form) = shown {
        let shape = if named.seed.is_empty() {
            shape_of(lowered, t).map(|s| request.layout.shape(s))
        } else {
            None
        };
        out.push(step(
            Lhs::Matrix {
                of: of.to_string(),
                wrt: t.to_string(),
            },
            Rhs::Matrix { form, shape },
            Justification::MatrixForm,
        ));
    }
}

/// The chain rule for `t` over its consumers.
fn chain(t: &str, at: &[Ix], lead: usize, parts: &[Contribution]) -> Rhs {
    Rhs::Chain {
        lead,
        wrt: t.to_string(),
        at: at.to_vec(),
        parts: parts
            .iter()
            .map(|p| Link {
                consumer: p.consumer.to_string(),
                copy: p.copy.clone(),
                upstream: p.upstream.clone(),
            })
            .collect(),
    }
}

/// The declared range of each axis of `t`, when every axis has one.
fn shape_of(lowered: &Lowered, t: &str) -> Option<Vec<String>> {
    let dims = &lowered.dims;
    let order = lowered.orders.get(t).copied().unwrap_or(0);
    (0..order)
        .map(|k| {
            let d = dims.axis(t, k);
            dims.range_of(d).map(str::to_string)
        })
        .collect::<Option<Vec<_>>>()
        .filter(|v| !v.is_empty())
}

fn alpha(t: &Term) -> Term {
    simplify::alpha_key(t)
}

/// The result with the named gradients substituted, when they were used.
fn final_steps(of: &str, named: &Reverse, r: &GradientResult, out: &mut Vec<Step>) {
    let Some((g, _)) = named.finished.get(&r.name) else {
        return;
    };
    let mut used: Vec<String> = Vec::new();
    collect_grads(g, &mut used);
    // an output's gradient is given, not substituted
    used.retain(|u| named.contributions.contains_key(u));
    if used.is_empty() {
        return;
    }
    let why = Justification::Substituting {
        of: of.to_string(),
        gradients: used,
    };
    match &r.matrix {
        Some(m) => out.push(step(
            Lhs::Matrix {
                of: of.to_string(),
                wrt: r.name.clone(),
            },
            Rhs::Matrix {
                form: m.clone(),
                shape: None,
            },
            why,
        )),
        None => out.push(step(
            Lhs::Gradient {
                of: of.to_string(),
                wrt: r.name.clone(),
                at: r.indices.clone(),
                lead: r.lead,
            },
            term(&r.term, &r.indices, &[]),
            why,
        )),
    }
}

/// Names of intermediate gradients a named form reads.
fn collect_grads(t: &Term, out: &mut Vec<String>) {
    match t {
        Term::Var(crate::term::Name::Grad { wrt, .. }, _) if !out.contains(&wrt.to_string()) => {
            out.push(wrt.to_string());
        }
        _ => t.children().iter().for_each(|x| collect_grads(x, out)),
    }
}

#[cfg(test)]
mod tests {
    use super::{Justification as J, Pass};
    use crate::{Request, Style};

    #[test]
    fn steps_are_data_that_the_renderers_print() {
        let source =
            "index s : S; index m : M; index n : N\nY_sn = Σ_m X_sm W_nm + b_n\nH_sn = tanh(Y_sn)\nL = Σ_s Σ_n H_sn^2";
        let request = Request {
            wrt: vec!["W".into()],
            ..Request::default()
        };
        let d = crate::derive(source, &request).unwrap();
        let steps = d.steps();
        let why: Vec<&J> = steps[0].iter().map(|s| s.why()).collect();
        let h = J::Definition("H".into());
        assert_eq!(
            why[3..8],
            [
                &J::ChainRule,
                &h,
                &J::Substitution,
                &J::Simplification(vec![Pass::Contraction, Pass::Fold]),
                &J::MatrixForm
            ]
        );
        assert_eq!(steps[0][1].text(Style::Unicode), "= 2 H_ij");
        assert_eq!(steps[0][2].text(Style::Ascii), "dL/dH = 2 H in R^(SxN)");
        assert_eq!(
            steps[0][1].latex(),
            " &= 2 H_{ij} \\qquad \\text{\\footnotesize $\\delta$ contraction}"
        );
        assert_eq!(
            steps[0].last().unwrap().why().text(Style::Unicode),
            "substituting ∂L/∂Y"
        );
    }
}

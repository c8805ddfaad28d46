//! `--steps`: the numbered derivation, as a homework solution writes it.
//!
//! For every named gradient on the way from the loss to the requested tensor —
//! each derived once, in order — the chain rule over the consumers, the
//! derivative of each definition with its Kronecker deltas, the contraction,
//! the simplification (labelled with the passes of the simplifier that fired,
//! read from its log), and the matrix form. Upstream gradients appear by name
//! (`∂L/∂H`), as the documents name δ⁽ᴸ⁾ or ∂L/∂z; the last step substitutes
//! them and gives the result.

use std::collections::BTreeSet;

use crate::derive::{matrix_forms, Contribution, Derivation, GradientResult, Lowered, Request, Reverse};
use crate::render::index::{gradient_head, Namer, Printer};
use crate::render::names::{self, Style};
use crate::simplify::{self, Log};
use crate::term::{Ix, Term};

/// One line of a derivation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// The left side (`∂L/∂W_ij`), empty for a continuation `= …`.
    pub lhs: String,
    /// The right side.
    pub rhs: String,
    /// The left side in LaTeX.
    pub lhs_latex: String,
    /// The right side in LaTeX.
    pub rhs_latex: String,
    /// What justifies it (`chain rule`, `δ contraction`, `matrix form`).
    pub why: String,
    /// The same in LaTeX text mode (`$\\delta$ contraction`).
    pub why_latex: String,
}

impl Step {
    /// `∂L/∂W_ij = …   [why]` as one text line.
    pub fn text(&self) -> String {
        let lhs = if self.lhs.is_empty() {
            String::new()
        } else {
            format!("{} ", self.lhs)
        };
        format!("{lhs}= {}", self.rhs)
    }

    /// The LaTeX line for an `align` environment.
    pub fn latex(&self) -> String {
        let rhs = crate::render::latex::break_long(&self.rhs_latex);
        format!(
            "{} &= {rhs} \\qquad \\text{{\\footnotesize {}}}",
            self.lhs_latex, self.why_latex
        )
    }
}

/// Names of the simplifier's passes as a reader knows them.
fn pass_names(log: &Log) -> (String, String) {
    let mut seen: Vec<&str> = Vec::new();
    for (rule, _) in &log.entries {
        let name = match *rule {
            "contract-delta" => "δ contraction",
            "fold-definition" => "definitions folded back",
            "assume" => "assumption",
            "factor" => "simplification",
            other => other,
        };
        if !seen.contains(&name) {
            seen.push(name);
        }
    }
    let text = if seen.is_empty() {
        "simplification".to_string()
    } else {
        seen.join(", ")
    };
    let latex = text.replace('δ', "$\\delta$");
    (text, latex)
}

struct Writer<'a> {
    of: &'a str,
    style: Style,
}

/// Names for the indices of one contribution: the result's indices free, the
/// consumer's copy bound (renamed where it would clash).
fn namer_for(at: &[Ix], copy: &[Ix]) -> Namer {
    let mut namer = Namer::new(&at.iter().cloned().collect::<BTreeSet<_>>());
    namer.bind(copy);
    namer
}

impl Writer<'_> {
    fn term(&self, t: &Term, namer: &mut Namer, style: Style) -> String {
        Printer::new(style, namer).term(t)
    }

    fn names(ix: &[Ix]) -> Vec<String> {
        ix.iter().map(|i| i.name.to_string()).collect()
    }

    /// `∂C_sn/∂T_ij` (or `∂L/∂T_ij` when C is the loss).
    fn partial(&self, c: &str, copy: &[Ix], t: &str, at: &[Ix], namer: &Namer, style: Style) -> String {
        let copy: Vec<String> = copy.iter().map(|i| namer.name(i)).collect();
        let at: Vec<String> = at.iter().map(|i| namer.name(i)).collect();
        let top = format!("{}{}", names::tensor(c, style), style.subscript(&copy));
        let bottom = format!("{}{}", names::tensor(t, style), style.subscript(&at));
        match style {
            Style::Latex => format!("\\frac{{\\partial {top}}}{{\\partial {bottom}}}"),
            Style::Ascii => format!("d{top}/d{bottom}"),
            Style::Unicode => format!("∂{top}/∂{bottom}"),
        }
    }

    fn step(&self, lhs: (String, String), rhs: (String, String), why: (String, String)) -> Step {
        Step {
            lhs: lhs.0,
            rhs: rhs.0,
            lhs_latex: lhs.1,
            rhs_latex: rhs.1,
            why: why.0,
            why_latex: why.1,
        }
    }

    fn both(&self, f: impl Fn(Style) -> String) -> (String, String) {
        (f(self.style), f(Style::Latex))
    }

    /// The chain rule for `T`: `Σ_c (∂L/∂C)_c ∂C_c/∂T_ij + …`.
    fn chain(&self, t: &str, at: &[Ix], parts: &[Contribution], style: Style) -> String {
        let mut terms = Vec::new();
        for p in parts {
            let mut namer = namer_for(at, &p.copy);
            let partial = self.partial(&p.consumer, &p.copy, t, at, &namer, style);
            if p.upstream.is_one() {
                terms.push(partial);
                continue;
            }
            let upstream = self.term(&p.upstream, &mut namer, style);
            let sum = if p.copy.is_empty() {
                String::new()
            } else {
                let ix: Vec<String> = p.copy.iter().map(|i| namer.name(i)).collect();
                let sub = if style == Style::Latex {
                    format!("_{{{}}}", ix.join(","))
                } else {
                    style.subscript(&ix)
                };
                format!("{}{sub} ", style.sum())
            };
            terms.push(format!("{sum}{upstream} {partial}"));
        }
        terms.join(" + ")
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
pub fn derive_steps(d: &Derivation, style: Style) -> Vec<Vec<Step>> {
    let (lowered, named, request) = (&*d.lowered, &*d.reverse, &d.request);
    let w = Writer { of: &d.of, style };
    let mut done: BTreeSet<String> = BTreeSet::new();
    d.results
        .iter()
        .map(|r| {
            let mut steps = Vec::new();
            for t in path(lowered, named, &r.name, &d.of) {
                if !done.insert(t.clone()) {
                    continue;
                }
                let result = d.results.iter().find(|r| r.name == t);
                tensor_steps(&w, lowered, named, &t, result, request, &mut steps);
            }
            final_steps(&w, named, r, &mut steps);
            steps
        })
        .collect()
}

/// The steps that derive `t`'s named gradient; `result` is the derivation's
/// result for `t`, if `t` was asked for.
fn tensor_steps(
    w: &Writer,
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
    let at = named.params.get(t).cloned().unwrap_or_default();
    let of = w.of;
    let head = w.both(|s| gradient_head(of, t, &Writer::names(&at), s, false));
    let loss_only = parts.len() == 1 && parts[0].upstream.is_one();
    if !loss_only {
        out.push(w.step(head.clone(), w.both(|s| w.chain(t, &at, parts, s)), plain("chain rule")));
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
            w.both(|s| w.partial(&p.consumer, &p.copy, t, &at, &namer_for(&at, &p.copy), s))
        };
        out.push(w.step(
            lhs,
            w.both(|s| w.term(&local, &mut namer_for(&at, &p.copy), s)),
            (
                format!(
                    "derivative of the definition of {}",
                    names::tensor(&p.consumer, w.style)
                ),
                format!("derivative of the definition of ${}$", names::latex_name(&p.consumer)),
            ),
        ));
        if alpha(&contracted) != alpha(&simplify::normalize(&local, env))
            || local.has_delta() && !contracted.has_delta()
        {
            out.push(w.step(
                (String::new(), String::new()),
                w.both(|s| w.term(&contracted, &mut namer_for(&at, &p.copy), s)),
                contraction(),
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
        out.push(w.step(
            head.clone(),
            w.both(|s| w.term(&sub, &mut namer_for(&at, &[]), s)),
            plain("substitution"),
        ));
        if alpha(&sub) != alpha(&g) {
            out.push(w.step(
                (String::new(), String::new()),
                w.both(|s| w.term(&g, &mut namer_for(&at, &[]), s)),
                pass_names(&log),
            ));
        }
    } else if alpha(&last) != alpha(&g) {
        out.push(w.step(
            (String::new(), String::new()),
            w.both(|s| w.term(&g, &mut namer_for(&at, &[]), s)),
            pass_names(&log),
        ));
    }
    // A result whose named gradient is its final form (nothing was substituted)
    // already has its matrix form: the same term at the same indices (one
    // reverse pass made both). Saturating it again doubled the e-graph work of
    // --steps and JSON.
    let shown = match result {
        Some(r) if r.indices == at && alpha(&r.term) == alpha(&g) => r.matrix.clone(),
        _ => matrix_forms(&g, &at, request).1,
    };
    if let Some(m) = shown {
        let shape = shape_of(lowered, t).map(|s| request.layout.shape(s));
        out.push(w.step(
            w.both(|s| names::gradient(of, t, s)),
            w.both(|s| format!("{}{}", crate::render::matrix::render(&m, s), membership(&shape, s))),
            plain("matrix form"),
        ));
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

/// ` ∈ ℝ^(N×M)`, as the documents state shapes.
fn membership(shape: &Option<Vec<String>>, style: Style) -> String {
    let Some(dims) = shape else { return String::new() };
    match style {
        Style::Latex => format!(
            " \\in \\mathbb{{R}}^{{{}}}",
            dims.iter()
                .map(|d| names::latex_name(d))
                .collect::<Vec<_>>()
                .join(" \\times ")
        ),
        Style::Ascii => format!(" in R^({})", dims.join("x")),
        Style::Unicode => format!(" ∈ ℝ^({})", dims.join("×")),
    }
}

fn plain(s: &str) -> (String, String) {
    (s.to_string(), s.to_string())
}

fn contraction() -> (String, String) {
    ("δ contraction".to_string(), "$\\delta$ contraction".to_string())
}

fn alpha(t: &Term) -> Term {
    simplify::alpha_key(t)
}

/// The result with the named gradients substituted, when they were used.
fn final_steps(w: &Writer, named: &Reverse, r: &GradientResult, out: &mut Vec<Step>) {
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
    let of = w.of;
    let substituting = (
        format!(
            "substituting {}",
            used.iter()
                .map(|u| names::gradient(of, u, w.style))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        format!(
            "substituting {}",
            used.iter()
                .map(|u| format!("${}$", names::gradient(of, u, Style::Latex)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    match &r.matrix {
        Some(m) => out.push(w.step(
            w.both(|s| names::gradient(of, &r.name, s)),
            w.both(|s| crate::render::matrix::render(m, s)),
            substituting.clone(),
        )),
        None => out.push(w.step(
            w.both(|s| gradient_head(of, &r.name, &Writer::names(&r.indices), s, false)),
            w.both(|s| w.term(&r.term, &mut namer_for(&r.indices, &[]), s)),
            substituting.clone(),
        )),
    }
}

/// Names of intermediate gradients a named form reads.
fn collect_grads(t: &Term, out: &mut Vec<String>) {
    match t {
        Term::Var(crate::term::Name::Grad { wrt, .. }, _) if !out.contains(&wrt.to_string()) => {
            out.push(wrt.to_string());
        }
        Term::Add(ts) | Term::Mul(ts) => ts.iter().for_each(|x| collect_grads(x, out)),
        Term::Pow(b, _) | Term::Fn(_, b) | Term::Sum(_, b) => collect_grads(b, out),
        _ => {}
    }
}

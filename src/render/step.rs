//! The sides and justification of a derivation step (`crate::steps`), printed
//! in any style; `text` and `latex` lay the steps out.

use std::collections::BTreeSet;

use super::index::{gradient_head, Namer, Printer};
use super::names::{self, Style};
use crate::steps::{Justification, Lhs, Link, Pass, Rhs};
use crate::term::Ix;

/// Names for the indices of one contribution: the result's indices free, the
/// consumer's copy bound (renamed where it would clash).
fn namer_for(at: &[Ix], copy: &[Ix]) -> Namer {
    let mut namer = Namer::new(&at.iter().cloned().collect::<BTreeSet<_>>());
    namer.bind(copy);
    namer
}

/// The left side: `∂L/∂W_ij`, `∂Y_sn/∂W_ij`, `∂L/∂W`, or nothing for a continuation.
pub fn lhs(l: &Lhs, style: Style) -> String {
    match l {
        Lhs::Continuation => String::new(),
        Lhs::Gradient { of, wrt, at, lead: 0 } => {
            let ix: Vec<String> = at.iter().map(|i| i.name.to_string()).collect();
            gradient_head(of, wrt, &ix, style, false)
        }
        Lhs::Gradient { of, wrt, at, lead } => {
            let (a, b) = at.split_at((*lead).min(at.len()));
            partial(of, a, wrt, b, 0, &Namer::new(&BTreeSet::new()), style)
        }
        Lhs::Partial {
            consumer,
            copy,
            wrt,
            at,
            lead,
        } => partial(consumer, copy, wrt, at, *lead, &namer_for(at, copy), style),
        Lhs::Matrix { of, wrt } => names::gradient(of, wrt, style),
        Lhs::Tensor { name, at } => {
            let ix: Vec<String> = at.iter().map(|i| i.name.to_string()).collect();
            format!("{}{}", names::tensor(name, style), style.subscript(&ix))
        }
    }
}

/// The right side: a chain rule, an index term, or a matrix form with its shape.
pub fn rhs(r: &Rhs, style: Style) -> String {
    match r {
        Rhs::Chain { wrt, at, lead, parts } => chain(wrt, at, *lead, parts, style),
        Rhs::Term { term, at, bound } => Printer::new(style, &mut namer_for(at, bound)).term(term),
        Rhs::Matrix { form, shape } => format!("{}{}", super::matrix::render(form, style), membership(shape, style)),
    }
}

/// `∂C_sn/∂T_ij` (or `∂L/∂T_ij` when C is the loss).
fn partial(c: &str, copy: &[Ix], t: &str, at: &[Ix], lead: usize, namer: &Namer, style: Style) -> String {
    let copy: Vec<String> = copy.iter().map(|i| namer.name(i)).collect();
    let at: Vec<String> = at.iter().skip(lead).map(|i| namer.name(i)).collect();
    let top = format!("{}{}", names::tensor(c, style), style.subscript(&copy));
    let bottom = format!("{}{}", names::tensor(t, style), style.subscript(&at));
    match style {
        Style::Latex => format!("\\frac{{\\partial {top}}}{{\\partial {bottom}}}"),
        Style::Ascii => format!("d{top}/d{bottom}"),
        Style::Unicode => format!("∂{top}/∂{bottom}"),
    }
}

/// The chain rule for `T`: `Σ_c (∂L/∂C)_c ∂C_c/∂T_ij + …`.
fn chain(t: &str, at: &[Ix], lead: usize, parts: &[Link], style: Style) -> String {
    let mut terms = Vec::new();
    for p in parts {
        let mut namer = namer_for(at, &p.copy);
        let partial = partial(&p.consumer, &p.copy, t, at, lead, &namer, style);
        if p.upstream.is_one() {
            terms.push(partial);
            continue;
        }
        let upstream = Printer::new(style, &mut namer).term(&p.upstream);
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

/// A simplifier pass as a reader knows it.
fn pass(p: Pass) -> &'static str {
    match p {
        Pass::Contraction => "δ contraction",
        Pass::Fold => "definitions folded back",
        Pass::Assumption => "assumption",
        Pass::Factor => "simplification",
        Pass::Other("cancel-inverse") => "a matrix times its inverse is the identity",
        Pass::Other("cancel-division") => "a factor cancels a division",
        Pass::Other(name) => name,
    }
}

impl Justification {
    /// In words, as `--steps` prints it between brackets: `chain rule`,
    /// `δ contraction`, `substituting ∂L/∂H`; in LaTeX text mode for
    /// [`Style::Latex`] (`$\delta$ contraction`).
    pub fn text(&self, style: Style) -> String {
        why(self, style)
    }
}

/// What justifies a step, in words: `chain rule`, `δ contraction`,
/// `substituting ∂L/∂H`; in LaTeX text mode for [`Style::Latex`]
/// (`$\delta$ contraction`).
pub fn why(j: &Justification, style: Style) -> String {
    let latex = style == Style::Latex;
    match j {
        Justification::ChainRule => "chain rule".to_string(),
        Justification::Definition(c) if latex => {
            format!("derivative of the definition of ${}$", names::latex_name(c))
        }
        Justification::Definition(c) => format!("derivative of the definition of {}", names::tensor(c, style)),
        Justification::Contraction if latex => "$\\delta$ contraction".to_string(),
        Justification::Contraction if style == Style::Ascii => "delta contraction".to_string(),
        Justification::Contraction => "δ contraction".to_string(),
        Justification::Simplification(passes) => {
            let mut seen: Vec<&str> = Vec::new();
            for &p in passes {
                let name = pass(p);
                if !seen.contains(&name) {
                    seen.push(name);
                }
            }
            let text = if seen.is_empty() {
                "simplification".to_string()
            } else {
                seen.join(", ")
            };
            match style {
                Style::Latex => text.replace('δ', "$\\delta$"),
                Style::Ascii => text.replace('δ', "delta"),
                Style::Unicode => text,
            }
        }
        Justification::Substitution => "substitution".to_string(),
        Justification::Gradient { of, wrt } if latex => {
            format!("the gradient ${}$", names::gradient(of, wrt, Style::Latex))
        }
        Justification::Gradient { of, wrt } => format!("the gradient {}", names::gradient(of, wrt, style)),
        Justification::MatrixForm => "matrix form".to_string(),
        Justification::Substituting { of, gradients } => format!(
            "substituting {}",
            gradients
                .iter()
                .map(|u| if latex {
                    format!("${}$", names::gradient(of, u, Style::Latex))
                } else {
                    names::gradient(of, u, style)
                })
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn justifications_in_words_and_in_latex() {
        let simplified = Justification::Simplification(vec![Pass::Contraction, Pass::Fold, Pass::Factor]);
        assert_eq!(
            simplified.text(Style::Unicode),
            "δ contraction, definitions folded back, simplification"
        );
        assert_eq!(
            simplified.text(Style::Latex),
            "$\\delta$ contraction, definitions folded back, simplification"
        );
        assert_eq!(
            Justification::Simplification(vec![]).text(Style::Ascii),
            "simplification"
        );
        assert_eq!(Justification::Contraction.text(Style::Latex), "$\\delta$ contraction");
        // --ascii spells every label in ASCII
        assert_eq!(Justification::Contraction.text(Style::Ascii), "delta contraction");
        assert_eq!(
            Justification::Simplification(vec![Pass::Contraction, Pass::Factor]).text(Style::Ascii),
            "delta contraction, simplification"
        );
        assert_eq!(Justification::ChainRule.text(Style::Latex), "chain rule");
        let substituting = Justification::Substituting {
            of: "L".into(),
            gradients: vec!["H".into(), "Z".into()],
        };
        assert_eq!(substituting.text(Style::Unicode), "substituting ∂L/∂H, ∂L/∂Z");
        assert_eq!(substituting.text(Style::Ascii), "substituting dL/dH, dL/dZ");
    }
}

//! `--format latex`: an `align` environment, one numbered line per equation;
//! `--standalone` wraps it in a document that `pdflatex` compiles.

use super::index::{gradient_head, Namer, Printer};
use super::names::{self, Style};
use crate::derive::{Derivation, GradientResult};

/// The index form as a LaTeX equation: `\frac{\partial L}{\partial W_{ij}} = …`.
pub fn index_equation(of: &str, r: &GradientResult) -> (String, String) {
    let mut namer = Namer::new(&r.indices.iter().cloned().collect());
    let ix: Vec<String> = r.indices.iter().map(|i| namer.name(i)).collect();
    let body = Printer::new(Style::Latex, &mut namer).term(&r.term);
    (gradient_head(of, &r.name, &ix, Style::Latex, false), body)
}

/// The matrix form as a LaTeX equation, if there is one.
pub fn matrix_equation(of: &str, r: &GradientResult) -> Option<(String, String)> {
    let m = r.matrix.as_ref()?;
    Some((
        names::gradient(of, &r.name, Style::Latex),
        super::matrix::render(m, Style::Latex),
    ))
}

/// `ℝ^{N×M}` where every axis's range is declared.
pub fn shape(r: &GradientResult) -> Option<String> {
    let dims: Option<Vec<String>> = r
        .shape
        .iter()
        .map(|d| d.as_ref().map(|s| names::latex_name(s)))
        .collect();
    match dims {
        Some(d) if !d.is_empty() => Some(format!("\\in \\mathbb{{R}}^{{{}}}", d.join(" \\times "))),
        _ => None,
    }
}

/// The final equation of a result: the matrix form (with its shape), or the index form.
pub fn result_equation(of: &str, r: &GradientResult) -> String {
    match matrix_equation(of, r) {
        Some((lhs, rhs)) => match shape(r) {
            Some(s) => format!("{lhs} = {rhs} {s}"),
            None => format!("{lhs} = {rhs}"),
        },
        None => {
            let (lhs, rhs) = index_equation(of, r);
            format!("{lhs} = {rhs}")
        }
    }
}

/// The `align` environment for every result, with its derivation when given.
pub fn render(d: &Derivation, derivations: Option<&[Vec<crate::steps::Step>]>) -> String {
    let mut lines = Vec::new();
    for (k, r) in d.results.iter().enumerate() {
        let (lhs, rhs) = index_equation(&d.of, r);
        lines.push(format!("{lhs} &= {rhs}"));
        if let Some(steps) = derivations.and_then(|s| s.get(k)) {
            lines.extend(steps.iter().map(|s| s.latex()));
        }
        match matrix_equation(&d.of, r) {
            Some((lhs, rhs)) => {
                let s = shape(r).map(|s| format!(" {s}")).unwrap_or_default();
                lines.push(format!("{lhs} &= {rhs}{s}"));
            }
            None => lines.push("&\\text{(no matrix form: the index form is the result)}".to_string()),
        }
    }
    format!("\\begin{{align}}\n{}\n\\end{{align}}\n", lines.join(" \\\\\n"))
}

/// A complete document around `body`.
pub fn standalone(title: &str, body: &str) -> String {
    format!(
        "\\documentclass{{article}}\n\\usepackage{{amsmath,amssymb}}\n\\allowdisplaybreaks\n\\title{{{title}}}\n\\date{{}}\n\\begin{{document}}\n\\maketitle\n{body}\\end{{document}}\n"
    )
}

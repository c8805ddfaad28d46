//! `--format latex`: an `align` environment, one numbered line per equation;
//! `--standalone` wraps it in a document that `pdflatex` compiles.

use super::index::{result_head, Namer, Printer};
use super::names::{self, Style};
use crate::derive::{Derivation, GradientResult};
use crate::steps::Step;

/// The index form as a LaTeX equation: `\frac{\partial L}{\partial W_{ij}} = …`.
pub fn index_equation(of: &str, r: &GradientResult) -> (String, String) {
    let mut namer = Namer::new(&r.indices.iter().cloned().collect());
    let ix: Vec<String> = r.indices.iter().map(|i| namer.name(i)).collect();
    let body = Printer::new(Style::Latex, &mut namer).term(&r.term);
    (result_head(of, r, &ix, Style::Latex), body)
}

/// The matrix form as a LaTeX equation, if there is one.
pub fn matrix_equation(of: &str, r: &GradientResult) -> Option<(String, String)> {
    let m = r.matrix.as_ref()?;
    Some((
        names::result(of, r, Style::Latex),
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
pub fn render(d: &Derivation, derivations: Option<&[Vec<Step>]>) -> String {
    align(&d.of, &d.results, derivations)
}

/// The `align` environment for `results`, each with its derivation when given.
fn align(of: &str, results: &[GradientResult], derivations: Option<&[Vec<Step>]>) -> String {
    let mut lines = Vec::new();
    for (k, r) in results.iter().enumerate() {
        let (lhs, rhs) = index_equation(of, r);
        lines.push(format!("{lhs} &= {rhs}"));
        let mut repeated = false;
        if let Some(steps) = derivations.and_then(|s| s.get(k)) {
            lines.extend(steps.iter().map(Step::latex));
            // the last step is the result already, unless it lacks the shape
            repeated = match (steps.last(), matrix_equation(of, r)) {
                (Some(last), Some((_, rhs))) => {
                    let last = super::step::rhs(&last.rhs, Style::Latex);
                    last.starts_with(&rhs) && (shape(r).is_none() || last.contains("\\in"))
                }
                _ => false,
            };
        }
        match matrix_equation(of, r) {
            _ if repeated => {}
            Some((lhs, rhs)) => {
                let s = shape(r).map(|s| format!(" {s}")).unwrap_or_default();
                lines.push(format!("{lhs} &= {rhs}{s}"));
            }
            None => lines.push("&\\text{(no matrix form: the index form is the result)}".to_string()),
        }
    }
    format!("\\begin{{align}}\n{}\n\\end{{align}}\n", lines.join(" \\\\\n"))
}

impl Step {
    /// The LaTeX line for an `align` environment:
    /// `lhs &= rhs \qquad \text{\footnotesize why}`, a long right side broken
    /// at its top-level `+` and `-`.
    pub fn latex(&self) -> String {
        let rhs = break_long(&super::step::rhs(&self.rhs, Style::Latex));
        format!(
            "{} &= {rhs} \\qquad \\text{{\\footnotesize {}}}",
            super::step::lhs(&self.lhs, Style::Latex),
            super::step::why(&self.why, Style::Latex)
        )
    }
}

/// A complete document: a title, then one section per result with its
/// derivation (when given) and its matrix form.
pub fn document(d: &Derivation, derivations: Option<&[Vec<Step>]>) -> String {
    let mut body = String::new();
    for (k, r) in d.results.iter().enumerate() {
        let steps = derivations.and_then(|s| s.get(k)).map(|s| vec![s.clone()]);
        body.push_str(&format!(
            "\\section*{{${}$}}\n{}\n",
            names::result(&d.of, r, Style::Latex),
            align(&d.of, std::slice::from_ref(r), steps.as_deref())
        ));
    }
    standalone(&format!("Gradients of ${}$", names::latex_name(&d.of)), &body)
}

/// A complete document around `body`.
pub fn standalone(title: &str, body: &str) -> String {
    format!(
        "\\documentclass{{article}}\n\\usepackage[margin=2cm]{{geometry}}\n\\usepackage{{amsmath,amssymb}}\n\\allowdisplaybreaks\n\\title{{{title}}}\n\\date{{}}\n\\begin{{document}}\n\\maketitle\n{body}\\end{{document}}\n"
    )
}

/// Breaks a long right-hand side at its top-level `+` and `-` into continuation
/// lines of an `align` (`\\\\ &\\quad - …`), so that it fits the page.
pub fn break_long(rhs: &str) -> String {
    const WIDTH: usize = 150;
    if rhs.len() <= WIDTH {
        return rhs.to_string();
    }
    // Split points: ` + ` and ` - ` outside braces and \left … \right.
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    let bytes = rhs.as_bytes();
    let mut k = 0;
    while k < bytes.len() {
        let rest = &rhs[k..];
        if rest.starts_with("\\left") {
            depth += 1;
            k += 5;
            continue;
        }
        if rest.starts_with("\\right") {
            depth -= 1;
            k += 6;
            continue;
        }
        match bytes[k] {
            b'{' => depth += 1,
            b'}' => depth -= 1,
            b' ' if depth == 0 && (rest.starts_with(" + ") || rest.starts_with(" - ")) && k > start => {
                parts.push(&rhs[start..k]);
                start = k + 1;
            }
            _ => {}
        }
        k += 1;
    }
    parts.push(&rhs[start..]);
    let mut lines: Vec<String> = vec![String::new()];
    for p in parts {
        let last = lines.last_mut().expect("one line at least");
        if !last.is_empty() && last.len() + p.len() > WIDTH {
            lines.push(p.to_string());
        } else {
            if !last.is_empty() {
                last.push(' ');
            }
            last.push_str(p);
        }
    }
    lines.join(" \\\\\n &\\quad ")
}

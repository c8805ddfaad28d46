//! `--format text`: for each result, the index form and the matrix form.

use super::index::{result_head, Namer, Printer};
use super::names::{self, Style};
use crate::derive::{Derivation, GradientResult};
use crate::steps::Step;

/// `∂L/∂W_ij = Σ_s (∂L/∂Y)_si X_sj`.
pub fn index_line(of: &str, r: &GradientResult, style: Style) -> String {
    let mut namer = Namer::new(&r.indices.iter().cloned().collect());
    let ix: Vec<String> = r.indices.iter().map(|i| namer.name(i)).collect();
    let body = Printer::new(style, &mut namer).term(&r.term);
    format!("{} = {body}", result_head(of, r, &ix, style))
}

/// `∂L/∂W = (∂L/∂Y)ᵀ X`, or what stands in for it when there is no matrix form.
pub fn matrix_line(of: &str, r: &GradientResult, style: Style) -> String {
    let head = names::result(of, r, style);
    match &r.matrix {
        Some(m) => format!("{head} = {}", super::matrix::render_named(m, style)),
        None if r.indices.len() > 2 => format!(
            "{head}: no matrix form (the result has {} indices); the index form above is the result",
            r.indices.len()
        ),
        None => format!("{head}: no matrix form found; the index form above is the result"),
    }
}

impl Step {
    /// `∂L/∂W_ij = …` (`= …` for a continuation) as one line, without its
    /// justification.
    pub fn text(&self, style: Style) -> String {
        let lhs = super::step::lhs(&self.lhs, style);
        let lhs = if lhs.is_empty() { lhs } else { format!("{lhs} ") };
        format!("{lhs}= {}", super::step::rhs(&self.rhs, style))
    }
}

/// Numbered derivation lines: `(3)  ∂Y_sn/∂W_ij = …   [why]`, continuations
/// aligned under the `=` of the line before.
pub fn steps(lines: &[Step], first: usize, style: Style) -> String {
    let mut rows: Vec<(String, String)> = Vec::new();
    let mut pad = 0;
    for (k, s) in lines.iter().enumerate() {
        let number = format!("({})", first + k);
        let (lhs, rhs) = (super::step::lhs(&s.lhs, style), super::step::rhs(&s.rhs, style));
        let eq = if lhs.is_empty() {
            format!("{}= {rhs}", " ".repeat(pad))
        } else {
            pad = lhs.chars().count() + 1;
            format!("{lhs} = {rhs}")
        };
        rows.push((format!("{number:>5} {eq}"), super::step::why(&s.why, style)));
    }
    let width = rows.iter().map(|(l, _)| l.chars().count()).max().unwrap_or(0).min(78);
    let mut out = String::new();
    for (line, why) in rows {
        let gap = width.saturating_sub(line.chars().count()) + 3;
        out.push_str(&format!("{line}{}[{why}]\n", " ".repeat(gap)));
    }
    out
}

/// The whole text output; with `derivations`, each result's steps between its
/// index form and its matrix form.
pub fn render(d: &Derivation, style: Style, derivations: Option<&[Vec<Step>]>) -> String {
    let mut out = String::new();
    let mut number = 1;
    for (k, r) in d.results.iter().enumerate() {
        if k > 0 {
            out.push('\n');
        }
        out.push_str(&index_line(&d.of, r, style));
        out.push('\n');
        if let Some(lines) = derivations.and_then(|s| s.get(k)) {
            out.push_str(&steps(lines, number, style));
            number += lines.len();
        }
        out.push_str(&matrix_line(&d.of, r, style));
        out.push('\n');
        if let Some(e) = r.egraph.as_ref().filter(|e| e.limited) {
            out.push_str(&format!(
                "note: the search for a simpler matrix form stopped at its {}; the form above is correct but may not be the simplest (raise it with --max-egraph-nodes, --max-egraph-iterations or --max-egraph-ms)\n",
                e.stop
            ));
        }
    }
    out
}

//! `--format text`: for each result, the index form and the matrix form.

use super::index::{gradient_head, Namer, Printer};
use super::names::{self, Style};
use crate::derive::{Derivation, GradientResult};

/// `∂L/∂W_ij = Σ_s (∂L/∂Y)_si X_sj`.
pub fn index_line(of: &str, r: &GradientResult, style: Style) -> String {
    let mut namer = Namer::new(&r.indices.iter().cloned().collect());
    let ix: Vec<String> = r.indices.iter().map(|i| namer.name(i)).collect();
    let body = Printer::new(style, &mut namer).term(&r.term);
    format!("{} = {body}", gradient_head(of, &r.name, &ix, style, false))
}

/// `∂L/∂W = (∂L/∂Y)ᵀ X`, or what stands in for it when there is no matrix form.
pub fn matrix_line(of: &str, r: &GradientResult, style: Style) -> String {
    let head = names::gradient(of, &r.name, style);
    match &r.matrix {
        Some(m) => format!("{head} = {}", super::matrix::render(m, style)),
        None if r.indices.len() > 2 => format!(
            "{head}: no matrix form (the result has {} indices); the index form above is the result",
            r.indices.len()
        ),
        None => format!("{head}: no matrix form found; the index form above is the result"),
    }
}

/// The whole text output.
pub fn render(d: &Derivation, style: Style) -> String {
    let mut out = String::new();
    for (k, r) in d.results.iter().enumerate() {
        if k > 0 {
            out.push('\n');
        }
        out.push_str(&index_line(&d.of, r, style));
        out.push('\n');
        out.push_str(&matrix_line(&d.of, r, style));
        out.push('\n');
        if let Some(e) = r.egraph.as_ref().filter(|e| e.limited) {
            out.push_str(&format!(
                "note: the search for a simpler matrix form stopped at its {}; the form above is correct but may not be the simplest\n",
                e.stop
            ));
        }
    }
    out
}

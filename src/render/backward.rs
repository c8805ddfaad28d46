//! `--backward` as text and LaTeX: one line per named gradient, each in
//! matrix form (`∂L/∂W⁽²⁾ = ∂L/∂s⁽²⁾ z⁽¹⁾ᵀ ∈ ℝ^(K×H)`, its shape where every
//! axis has a declared range, as `--steps` states shapes), or in index form
//! where it has none (`∂L/∂T_ijk = …`).

use super::index::{gradient_head, Namer, Printer};
use super::names::{self, Style};
use crate::derive::{Backward, Line};

/// ` ∈ ℝ^(N×M)` (` in R^(NxM)`, ` \in \mathbb{R}^{N \times M}`) when every
/// axis has a declared range.
fn membership(line: &Line, style: Style) -> String {
    let Some(dims) = line.shape.iter().cloned().collect::<Option<Vec<String>>>() else {
        return String::new();
    };
    if dims.is_empty() {
        return String::new();
    }
    match style {
        Style::Latex => {
            let dims: Vec<String> = dims.iter().map(|d| names::latex_name(d)).collect();
            format!(" \\in \\mathbb{{R}}^{{{}}}", dims.join(" \\times "))
        }
        Style::Ascii => format!(" in R^({})", dims.join("x")),
        Style::Unicode => format!(" ∈ ℝ^({})", dims.join("×")),
    }
}

/// `(left side, right side)` of one line in `style`.
fn sides(of: &str, line: &Line, style: Style) -> (String, String) {
    let shape = membership(line, style);
    match &line.matrix {
        Some(m) => (
            names::gradient(of, &line.name, style),
            format!("{}{shape}", super::matrix::render(m, style)),
        ),
        None if line.term.is_zero() => (names::gradient(of, &line.name, style), format!("0{shape}")),
        None => {
            let mut namer = Namer::new(&line.indices.iter().cloned().collect());
            let ix: Vec<String> = line.indices.iter().map(|i| namer.name(i)).collect();
            let body = Printer::new(style, &mut namer).term(&line.term);
            (gradient_head(of, &line.name, &ix, style, false), body)
        }
    }
}

/// Each line as text: `∂L/∂W = …`.
pub fn lines(of: &str, b: &Backward, style: Style) -> Vec<String> {
    b.lines
        .iter()
        .map(|l| {
            let (lhs, rhs) = sides(of, l, style);
            format!("{lhs} = {rhs}")
        })
        .collect()
}

/// Each line as LaTeX, for an `align` environment: `\frac{…}{…} &= …`.
pub fn latex_lines(of: &str, b: &Backward) -> Vec<String> {
    b.lines
        .iter()
        .map(|l| {
            let (lhs, rhs) = sides(of, l, Style::Latex);
            format!("{lhs} &= {}", super::latex::break_long(&rhs))
        })
        .collect()
}

/// Each line as a LaTeX equation without alignment (JSON's `"latex"`).
pub fn equations(of: &str, b: &Backward) -> Vec<String> {
    b.lines
        .iter()
        .map(|l| {
            let (lhs, rhs) = sides(of, l, Style::Latex);
            format!("{lhs} = {rhs}")
        })
        .collect()
}

/// The text output: the lines, one a line.
pub fn text(of: &str, b: &Backward, style: Style) -> String {
    lines(of, b, style).into_iter().map(|l| l + "\n").collect()
}

/// The `align` environment, or with `standalone` a document that `pdflatex`
/// compiles.
pub fn latex(of: &str, b: &Backward, standalone: bool) -> String {
    let align = format!(
        "\\begin{{align}}\n{}\n\\end{{align}}\n",
        latex_lines(of, b).join(" \\\\\n")
    );
    if standalone {
        let title = format!("The backward pass of ${}$", names::latex_name(of));
        super::latex::standalone(&title, &align)
    } else {
        align
    }
}

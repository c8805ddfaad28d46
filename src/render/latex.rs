//! `--format latex`: an `align` environment, one numbered line per equation;
//! `--standalone` wraps it in a document that `pdflatex` compiles.

use super::index::{result_head, Namer, Printer};
use super::names::{self, Style};
use crate::derive::{Derivation, GradientResult, Kind};
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
        super::matrix::render_named(m, Style::Latex),
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
        lines.push(format!("{lhs} &= {}", break_long(&rhs)));
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
                lines.push(format!("{lhs} &= {}", break_long(&format!("{rhs}{s}"))));
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

/// A complete document as the seed documents write one: a "Given" block with
/// the program (the forward pass) and its shapes, then per result a section
/// titled in words ("Gradient of $W^{(1)}$") with the derivation (chain rule,
/// derivatives with their deltas, contractions) and one closing line
/// `\therefore \frac{\partial L}{\partial W} = … \in \mathbb{R}^{…}`.
pub fn document(d: &Derivation, derivations: Option<&[Vec<Step>]>) -> String {
    let mut body = given(d);
    for (k, r) in d.results.iter().enumerate() {
        body.push_str(&format!("\\section*{{{}}}\n", title(&d.of, r)));
        let mut lines: Vec<String> = Vec::new();
        match derivations.and_then(|s| s.get(k)) {
            Some(steps) if !steps.is_empty() => {
                // the matrix form is the closing line, not a step
                let mut shown = match steps.split_last() {
                    Some((last, rest)) if matches!(last.why, crate::steps::Justification::MatrixForm) => rest,
                    _ => &steps[..],
                };
                // nor is a last step that already reads as the result
                if let (Some((last, rest)), Some((_, rhs))) = (shown.split_last(), matrix_equation(&d.of, r)) {
                    if super::step::rhs(&last.rhs, Style::Latex).starts_with(&rhs) && !rest.is_empty() {
                        shown = rest;
                    }
                }
                lines.extend(shown.iter().map(Step::latex));
            }
            _ => {
                let (lhs, rhs) = index_equation(&d.of, r);
                lines.push(format!("{lhs} &= {}", break_long(&rhs)));
            }
        }
        if !lines.is_empty() {
            body.push_str(&format!(
                "\\begin{{align}}\n{}\n\\end{{align}}\n",
                lines.join(" \\\\\n")
            ));
        }
        body.push_str(&therefore(&d.of, r));
    }
    standalone(&document_title(d), &body)
}

/// The document's title after the kind of its results: "Gradients of $L$",
/// "Jacobians of $z$", "Hessians of $L$", "Hessian-vector products of $L$"
/// ("Derivatives of $L$" for a mix).
fn document_title(d: &Derivation) -> String {
    let mut kinds = d.results.iter().map(|r| r.kind);
    let first = kinds.next().unwrap_or(Kind::Gradient);
    let what = match first {
        _ if kinds.any(|k| k != first) => "Derivatives",
        Kind::Gradient => "Gradients",
        Kind::Jacobian => "Jacobians",
        Kind::Hessian => "Hessians",
        Kind::Hvp => "Hessian-vector products",
    };
    format!("{what} of ${}$", names::latex_name(&d.of))
}

/// A section's title in words: "Gradient of $W^{(1)}$", "Jacobian of $y$
/// with respect to $x$".
fn title(of: &str, r: &GradientResult) -> String {
    let (w, o) = (names::latex_name(&r.name), names::latex_name(of));
    match r.kind {
        Kind::Gradient => format!("Gradient of ${w}$"),
        Kind::Jacobian => format!("Jacobian of ${o}$ with respect to ${w}$"),
        Kind::Hessian => format!("Hessian of ${o}$ with respect to ${w}$"),
        Kind::Hvp => format!("Hessian-vector product of ${o}$ with respect to ${w}$"),
    }
}

/// The one closing line of a section: the matrix form with its shape in the
/// orientation shown (a row is `\mathbb{R}^{1 \times N}`), or the index form
/// when there is no matrix form.
fn therefore(of: &str, r: &GradientResult) -> String {
    let line = match matrix_equation(of, r) {
        Some((lhs, rhs)) => {
            let s = oriented_shape(r).map(|s| format!(" {s}")).unwrap_or_default();
            format!("{lhs} = {rhs}{s}")
        }
        None => {
            let (lhs, rhs) = index_equation(of, r);
            format!("{lhs} = {rhs} \\quad \\text{{(no matrix form: the index form is the result)}}")
        }
    };
    // an align*, so that a long result breaks over lines as a step does
    match line.split_once(" = ") {
        Some((lhs, rhs)) => format!(
            "\\begin{{align*}}\n\\therefore \\quad {lhs} &= {}\n\\end{{align*}}\n",
            break_long(rhs)
        ),
        None => format!("\\[\n\\therefore \\quad {line}\n\\]\n"),
    }
}

/// `\in \mathbb{R}^{…}` in the orientation the matrix form is shown: a
/// vector shown as a row is `1 \times N`, as a column `N`.
fn oriented_shape(r: &GradientResult) -> Option<String> {
    let base = shape(r)?;
    let m = r.matrix.as_ref()?;
    match (r.shape.as_slice(), crate::matrix::shape(m)) {
        ([Some(n)], (None, Some(_))) => Some(format!("\\in \\mathbb{{R}}^{{1 \\times {}}}", names::latex_name(n))),
        _ => Some(base),
    }
}

/// The "Given" block: each definition of the program as an equation, and
/// the shape of each tensor it names where its ranges are declared.
fn given(d: &Derivation) -> String {
    let lowered = &d.lowered;
    let mut lines: Vec<String> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for (name, params, term) in &lowered.definitions {
        if name.starts_with('∂') {
            continue; // a synthetic gradient of a second derivative
        }
        let mut namer = Namer::new(&params.iter().cloned().collect());
        let ix: Vec<String> = params.iter().map(|i| namer.name(i)).collect();
        let rhs = Printer::new(Style::Latex, &mut namer).term(&counted(term, &lowered.env));
        let lhs = format!("{}{}", names::latex_name(name), Style::Latex.subscript(&ix));
        lines.push(format!("{lhs} &= {}", break_long(&rhs)));
        let mut names_in = Vec::new();
        tensors(term, &mut names_in);
        for n in std::iter::once(name.to_string()).chain(names_in) {
            if !seen.contains(&n) {
                seen.push(n);
            }
        }
    }
    if lines.is_empty() {
        return String::new();
    }
    // a range symbol (`S` of `index s : S`) is a size, not a tensor
    let ranges: Vec<&str> = seen
        .iter()
        .flat_map(|n| {
            let order = lowered.orders.get(n).copied().unwrap_or(0);
            (0..order).filter_map(move |k| lowered.dims.range_of(lowered.dims.axis(n, k)))
        })
        .collect();
    let shapes: Vec<String> = seen
        .iter()
        .filter(|n| !ranges.contains(&n.as_str()))
        .filter_map(|n| {
            let order = *lowered.orders.get(n)?;
            let dims: Option<Vec<String>> = (0..order)
                .map(|k| lowered.dims.range_of(lowered.dims.axis(n, k)).map(names::latex_name))
                .collect();
            let dims = dims?;
            let space = if dims.is_empty() {
                "\\mathbb{R}".to_string()
            } else {
                format!("\\mathbb{{R}}^{{{}}}", dims.join(" \\times "))
            };
            Some(format!("{} \\in {space}", names::latex_name(n)))
        })
        .collect();
    let mut out = format!(
        "\\section*{{Given}}\nThe forward pass:\n\\begin{{align*}}\n{}\n\\end{{align*}}\n",
        lines.join(" \\\\\n")
    );
    if !shapes.is_empty() {
        out.push_str(&format!("with ${}$.\n", shapes.join(",\\ ")));
    }
    out
}

/// `term` with each count `Σ_s 1` (how `mean_s` lowers) written as the size
/// it is, `S`, and nested products flattened: `μ_c = 1/S Σ_s X_sc`, as the
/// program means it.
fn counted(term: &crate::term::Term, env: &crate::simplify::Env) -> crate::term::Term {
    use crate::term::Term;
    match term {
        Term::Sum(ks, body) if body.is_one() => crate::simplify::mul(ks.iter().map(|k| env.size(k)).collect()),
        // nested products flattened: `−1/S Σ_sk …`, not `−(1/S (Σ_sk …))`
        Term::Mul(ts) => crate::simplify::mul(ts.iter().map(|c| counted(c, env)).collect()),
        t => t.map_children(|c| counted(c, env)),
    }
}

/// The tensor names a term reads, in order of first use.
fn tensors(t: &crate::term::Term, out: &mut Vec<String>) {
    use crate::term::{Name, Term};
    match t {
        Term::Var(Name::Tensor(n), _) if !out.iter().any(|o| o == &**n) => out.push(n.to_string()),
        Term::Add(ts) | Term::Mul(ts) => ts.iter().for_each(|x| tensors(x, out)),
        Term::Pow(b, _) | Term::Fn(_, b) | Term::Sum(_, b) => tensors(b, out),
        _ => {}
    }
}

/// A complete document around `body`.
pub fn standalone(title: &str, body: &str) -> String {
    format!(
        "\\documentclass{{article}}\n\\usepackage[margin=2cm]{{geometry}}\n\\usepackage{{amsmath,amssymb}}\n\\allowdisplaybreaks\n\\title{{{title}}}\n\\author{{}}\n\\date{{}}\n\\begin{{document}}\n\\maketitle\n{body}\\end{{document}}\n"
    )
}

/// The widest line, in characters of LaTeX source, before it is broken.
const WIDTH: usize = 150;

/// The widest line before it is broken inside its parentheses: fractions and
/// sums take more source than page, and a line broken inside parentheses reads
/// worse than one broken at a top-level sign.
const GROUP_WIDTH: usize = 240;

/// Breaks a long right-hand side at its top-level `+` and `-` into continuation
/// lines of an `align` (`\\ &\quad - …`), so that it fits the page; a line
/// longer than [`GROUP_WIDTH`] that holds a long `\left( … \right)` is broken
/// inside it, at that group's own `+` and `-` (`\left( a \right.` …
/// `\left. - b \right)`).
pub fn break_long(rhs: &str) -> String {
    if rhs.len() <= WIDTH {
        return rhs.to_string();
    }
    let lines: Vec<String> = pack(split_top(rhs))
        .into_iter()
        .flat_map(|l| {
            if l.len() > GROUP_WIDTH {
                break_group(&l).unwrap_or_else(|| vec![l])
            } else {
                vec![l]
            }
        })
        .collect();
    // one equation, one number: every line but the last is unnumbered
    lines.join(" \\nonumber \\\\\n &\\quad ")
}

/// The parts of `rhs` between its ` + ` and ` - ` outside braces,
/// parentheses and `\left … \right`, each sign starting its part.
fn split_top(rhs: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    let bytes = rhs.as_bytes();
    let mut k = 0;
    while k < bytes.len() {
        let rest = &bytes[k..];
        if rest.starts_with(b"\\left") {
            depth += 1;
            k += 5;
            continue;
        }
        if rest.starts_with(b"\\right") {
            depth -= 1;
            k += 6;
            continue;
        }
        match bytes[k] {
            b'{' | b'(' | b'[' => depth += 1,
            b'}' | b')' | b']' => depth -= 1,
            b' ' if depth == 0 && (rest.starts_with(b" + ") || rest.starts_with(b" - ")) && k > start => {
                parts.push(&rhs[start..k]);
                start = k + 1;
            }
            _ => {}
        }
        k += 1;
    }
    parts.push(&rhs[start..]);
    parts
}

/// Parts joined into lines of at most [`WIDTH`] characters where they fit.
fn pack(parts: Vec<&str>) -> Vec<String> {
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
    lines
}

/// A line whose first top-level `\left( … \right)` is long, broken inside
/// that group: `\left(` closes each line with `\right.` and reopens the next
/// with `\left.`. `None` when there is no such group or nothing to break at.
fn break_group(line: &str) -> Option<Vec<String>> {
    // the first `\\left(` outside braces and other `\\left … \\right`
    let bytes = line.as_bytes();
    let (mut braces, mut groups) = (0i32, 0i32);
    let mut open = None;
    for k in 0..bytes.len() {
        let rest = &bytes[k..];
        if rest.starts_with(b"\\left(") && braces == 0 && groups == 0 {
            open = Some(k);
            break;
        }
        if rest.starts_with(b"\\left") {
            groups += 1;
        } else if rest.starts_with(b"\\right") {
            groups -= 1;
        }
        match bytes[k] {
            b'{' => braces += 1,
            b'}' => braces -= 1,
            _ => {}
        }
    }
    let open = open?;
    // the matching \right)
    let mut depth = 0i32;
    let mut close = None;
    let mut k = open;
    while k < line.len() {
        let rest = &line[k..];
        if rest.starts_with("\\left") {
            depth += 1;
            k += 5;
        } else if rest.starts_with("\\right") {
            depth -= 1;
            if depth == 0 {
                close = Some(k);
                break;
            }
            k += 6;
        } else {
            k += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    let close = close?;
    let inner = &line[open + "\\left(".len()..close];
    let pieces = pack(split_top(inner));
    if pieces.len() < 2 {
        return None;
    }
    let (head, tail) = (&line[..open], &line[close + "\\right".len()..]);
    let last = pieces.len() - 1;
    Some(
        pieces
            .into_iter()
            .enumerate()
            .map(|(n, p)| {
                let left = if n == 0 {
                    format!("{head}\\left(")
                } else {
                    "\\left.".to_string()
                };
                let right = if n == last {
                    format!("\\right{tail}")
                } else {
                    "\\right.".to_string()
                };
                format!("{left}{p}{right}")
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_line_is_numbered_once_and_breaks_only_at_the_top_level() {
        let long = format!("a + ({}) - {}", "b + ".repeat(40) + "b", "c ".repeat(60));
        let broken = break_long(&long);
        assert!(broken.contains("\\nonumber \\\\"), "{broken}");
        // the sum inside the parentheses stays on one line
        assert!(
            broken.lines().any(|l| l.contains(&format!("({}b)", "b + ".repeat(40)))),
            "{broken}"
        );
    }

    #[test]
    fn a_long_group_is_broken_inside_with_its_parentheses_matched() {
        let long = format!(
            "\\left({} - c\\right) \\operatorname{{diag}}(v)",
            "a_{i} + ".repeat(40) + "b"
        );
        let broken = break_long(&long);
        let lines: Vec<&str> = broken.split("\\\\").collect();
        assert!(lines.len() >= 2, "{broken}");
        assert!(
            lines[0].contains("\\left(") && lines[0].contains("\\right."),
            "{broken}"
        );
        let last = lines.last().unwrap();
        assert!(
            last.contains("\\left.") && last.ends_with("\\right) \\operatorname{diag}(v)"),
            "{broken}"
        );
        // every line balances its braces and its \left … \right
        for l in &lines {
            assert_eq!(l.matches('{').count(), l.matches('}').count(), "{l}");
            assert_eq!(l.matches("\\left").count(), l.matches("\\right").count(), "{l}");
        }
        // a group inside braces is never broken
        let inside = format!("\\frac{{1}}{{\\left({}\\right)}}", "a + ".repeat(60) + "b");
        assert_eq!(break_long(&inside), inside);
    }

    #[test]
    fn parentheses_stretch_only_around_tall_content() {
        assert_eq!(Style::Latex.paren("s_{i}"), "(s_{i})");
        assert_eq!(Style::Latex.paren("\\frac{1}{2} x"), "\\left(\\frac{1}{2} x\\right)");
    }
}

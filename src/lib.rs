//! ricci derives gradients in index notation and hands them back in matrix form.
//!
//! A program is written the way homework sheets write a forward pass; ricci
//! differentiates the loss, contracts the Kronecker deltas, and recognises the
//! matrix form. One call parses, checks and differentiates; every output is
//! read from the [`Derivation`] it returns:
//!
//! ```
//! use ricci::{Backend, Request, Style, CHECK_TOLERANCE};
//!
//! let request = Request { wrt: vec!["W".into(), "b".into()], ..Request::default() };
//! let derivation = ricci::derive("Y_sn = Σ_m X_sm W_nm + b_n", &request).unwrap();
//!
//! let [w, b] = &derivation.results[..] else { unreachable!() };
//! assert_eq!(derivation.index_line(w, Style::Unicode), "∂L/∂W_ij = Σ_s (∂L/∂Y)_si X_sj");
//! assert_eq!(derivation.matrix_line(w, Style::Unicode), "∂L/∂W = (∂L/∂Y)ᵀ X");
//! assert_eq!(derivation.matrix_line(b, Style::Ascii), "dL/db = 1^T dL/dY");
//!
//! // The same results as text with numbered steps, LaTeX, JSON and Python.
//! assert!(derivation.text(Style::Unicode, true).contains("[chain rule]"));
//! assert!(derivation.latex(true, false).starts_with("\\documentclass"));
//! assert_eq!(derivation.json(Style::Unicode, &[])["of"], "L");
//! assert!(derivation.code(Backend::Numpy).starts_with("import numpy as np"));
//!
//! // Every result can be checked against finite differences on random tensors.
//! for report in derivation.check(7, &[]) {
//!     assert!(report.judge(CHECK_TOLERANCE).verdict == ricci::Verdict::Agrees);
//! }
//!
//! // A program or request the engine refuses is an error that renders itself.
//! let error = ricci::derive("Y_ij = A_ik B_kj", &Request::default()).unwrap_err();
//! assert!(error.render("prog.ricci", "Y_ij = A_ik B_kj").contains("--> prog.ricci:1:"));
//! ```
//!
//! To derive several requests from one program, parse it once with
//! [`Program::parse`] and call [`Program::derive`] for each.
//!
//! Inside, one module a stage: `syntax` (grammar, parse, the semantic check,
//! which builds the dimension classes) → `derive` (lowering to `term`'s
//! `Term`, traversed with `children`/`map_children`; the request; the reverse
//! pass with `diff`'s derivative rules) → `simplify` (index normal form) →
//! `matrix` (recognition, then saturation with `rules/matrix.rules` in egg) →
//! `steps`, `render` (text, LaTeX, JSON, NumPy/PyTorch/JAX code, the backward
//! pass) and `verify` (finite differences). The input's limits and every
//! budget (simplifier, reverse pass, e-graph defaults, generated Python) are
//! named in `limits`; a caller sets the e-graph's with [`EgraphLimits`]. A
//! [`Derivation`] keeps the checked program, its lowered form and the reverse
//! pass with its named gradients, so the steps, the check and every renderer
//! read what was computed once.
//!
//! Two names differ from a `sema`/`ir`/`diff` layout on purpose. The semantic
//! check stays in `syntax` because it reads the syntax tree's spans and its
//! error recovery spans both passes (the statements that did parse are still
//! checked); `derive` keeps lowering, the dimension table, the request and the
//! reverse pass together because all four build the one `Derivation`, and
//! splitting them would only widen `pub(crate)` between modules. The numeric
//! checker is `verify`, so that `check` names only the semantic check.
//!
//! The library never prints and never exits: errors come back as an
//! [`Error`], plain data with spans, for the caller to render. Its
//! dependencies are the engine's own; JSON is one of its outputs, so
//! `serde_json` is one of them. The command line (`clap`, `mimalloc`) is
//! behind the default `cli` feature: `default-features = false` gives the bare
//! library.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod api;
mod derive;
mod diagnostic;
mod diff;
mod limits;
// `Mat::MatMul` is the product's name in rules/matrix.rules (a lint that
// applies now that the type is not exported).
#[allow(clippy::enum_variant_names)]
mod matrix;
mod render;
mod rules;
mod simplify;
mod steps;
mod syntax;
mod term;
mod verify;

pub use api::{derive, Error, Program};
pub use derive::{canonical_name, Derivation, GradientResult, Kind, Layout, Phases, Request};
pub use diagnostic::{line_col, Diagnostic, Diagnostics};
pub use limits::Limits;
pub use matrix::{RunLimits as EgraphLimits, RunStats as EgraphStats};
pub use render::numpy::Backend;
pub use render::Style;
pub use steps::{Justification, Pass, Step};
pub use syntax::ast::Span;
pub use verify::{Judgement, Report, Verdict};

/// Not part of the API (hidden from the docs, may change at any time): the
/// parser's syntax tree and tables that the crate's own parser tests (round
/// trips of the printer, literal values) read.
#[doc(hidden)]
pub mod internals {
    pub use crate::syntax::ast;
    pub use crate::syntax::check::GUESSED_FUNCTIONS;
    pub use crate::syntax::parse::parse;

    /// The checked program's syntax tree, with Einstein sums made explicit.
    pub fn syntax(source: &str, einstein: bool) -> Result<ast::Program, crate::Diagnostics> {
        let mut options = crate::Options::default();
        options.check.einstein = einstein;
        crate::load(source, &options).map(|p| p.syntax)
    }
}

/// Relative error above which a check fails (`--check`).
pub const CHECK_TOLERANCE: f64 = 1e-6;

/// How to read a program.
#[derive(Clone, Debug, Default)]
pub(crate) struct Options {
    /// Semantic options (`--einstein`).
    pub check: syntax::CheckOptions,
    /// Resource limits.
    pub limits: Limits,
}

/// Parses and checks a program: the whole front end.
pub(crate) fn load(source: &str, options: &Options) -> Result<syntax::Program, Diagnostics> {
    match syntax::parse::parse_recovering(source, &options.limits) {
        Ok(syntax) => syntax::check(syntax, options.check),
        // Statements that did parse are still checked: every slip is listed.
        Err(partial) => Err(syntax::check::check_partial(partial, options.check)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts in messages agree with their nouns.
    #[test]
    fn plural_agrees_with_the_count() {
        assert_eq!(diagnostic::plural(1, "index", "indices"), "1 index");
        assert_eq!(diagnostic::plural(0, "index", "indices"), "0 indices");
    }

    /// One request lowers the program once and runs the reverse pass once,
    /// whatever is read from the derivation afterwards (the backward pass too).
    #[cfg(debug_assertions)]
    #[test]
    fn one_lowering_and_one_reverse_pass_per_request() {
        let source = "index s : S; index m : M; index n : N\nY_sn = Σ_m X_sm W_nm + b_n\nL = Σ_s Σ_n Y_sn^2";
        let request = Request {
            wrt: vec!["W".into(), "b".into(), "X".into()],
            ..Request::default()
        };
        let before = derive::counter::counts();
        let d = crate::derive(source, &request).unwrap();
        for style in [Style::Unicode, Style::Ascii] {
            d.text(style, false);
            d.text(style, true);
            d.steps();
        }
        for (standalone, steps) in [(false, false), (false, true), (true, false), (true, true)] {
            d.latex(standalone, steps);
        }
        let checks: Vec<_> = d
            .check(1, &[])
            .into_iter()
            .map(|r| (r.judge(CHECK_TOLERANCE), r))
            .collect();
        assert!(checks.iter().all(|(j, _)| j.verdict == Verdict::Agrees));
        let checks: Vec<_> = checks.into_iter().map(|(j, r)| (r, j)).collect();
        d.json(Style::Unicode, &checks);
        d.code(Backend::Numpy);
        d.code(Backend::Torch);
        d.code(Backend::Jax);
        // the backward pass reads the same reverse pass
        d.backward_text(Style::Unicode).unwrap();
        d.backward_lines(Style::Ascii).unwrap();
        d.backward_latex(true).unwrap();
        d.backward_json(Style::Unicode, &checks).unwrap();
        for backend in [Backend::Numpy, Backend::Torch, Backend::Jax] {
            d.backward_code(backend).unwrap();
        }
        let after = derive::counter::counts();
        assert_eq!((after.0 - before.0, after.1 - before.1), (1, 1));
        // `--backward` alone: one lowering, one reverse pass, nothing composed
        let program = Program::parse(source, &request).unwrap();
        let before = derive::counter::counts();
        let b = program.derive_backward(&request).unwrap();
        assert!(b.results.is_empty());
        b.backward_text(Style::Unicode).unwrap();
        b.backward_latex(false).unwrap();
        b.backward_code(Backend::Numpy).unwrap();
        let after = derive::counter::counts();
        assert_eq!((after.0 - before.0, after.1 - before.1), (1, 1));
    }
}

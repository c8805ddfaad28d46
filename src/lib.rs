//! ricci derives gradients in index notation and hands them back in matrix form.
//!
//! A program is written the way homework sheets write a forward pass; ricci
//! differentiates the loss, contracts the Kronecker deltas, and recognises the
//! matrix form:
//!
//! ```
//! use ricci::derive::{derive, Request};
//! use ricci::render::{text, Style};
//!
//! let program = ricci::load("Y_sn = Σ_m X_sm W_nm + b_n", &ricci::Options::default()).unwrap();
//! let request = Request { wrt: vec!["W".into(), "b".into()], ..Request::default() };
//! let derivation = derive(&program, &request).unwrap();
//!
//! let w = &derivation.results[0];
//! assert_eq!(text::index_line("L", w, Style::Unicode), "∂L/∂W_ij = Σ_s (∂L/∂Y)_si X_sj");
//! assert_eq!(text::matrix_line("L", w, Style::Unicode), "∂L/∂W = (∂L/∂Y)ᵀ X");
//! assert_eq!(text::matrix_line("L", &derivation.results[1], Style::Ascii), "dL/db = 1^T dL/dY");
//!
//! // Every result can be checked against finite differences on random tensors.
//! let lowered = ricci::derive::lower(&program);
//! let mut checker = ricci::check::Checker::new(&program, &lowered, "L", 7);
//! for report in checker.check(&derivation) {
//!     assert!(report.index_error < 1e-6 && report.matrix_error.unwrap() < 1e-6);
//! }
//! ```
//!
//! The pipeline, one module a stage: [`syntax`] (parse, check) → [`derive`](mod@derive)
//! (reverse mode, [`diff`]) → [`simplify`] (index normal form) → [`matrix`]
//! (recognition) → [`egraph`] (saturation with `rules/matrix.rules`) →
//! [`render`] (text, LaTeX, JSON, NumPy) and [`check`] (finite differences).
//! The library never prints and never exits: errors come back as
//! [`Diagnostics`], plain data with spans, for the caller to render.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod check;
pub mod derive;
pub mod diagnostic;
pub mod diff;
pub mod egraph;
pub mod limits;
pub mod matrix;
pub mod render;
pub mod rules;
pub mod simplify;
pub mod steps;
pub mod syntax;
pub mod term;

pub use diagnostic::{Diagnostic, Diagnostics};
pub use limits::Limits;
pub use syntax::{CheckOptions, Program};

/// How to read a program.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Semantic options (`--einstein`).
    pub check: CheckOptions,
    /// Resource limits.
    pub limits: Limits,
}

/// Parses and checks a program: the whole front end.
pub fn load(source: &str, options: &Options) -> Result<Program, Diagnostics> {
    match syntax::parse::parse_recovering(source, &options.limits) {
        Ok(syntax) => syntax::check(syntax, options.check),
        // Statements that did parse are still checked: every slip is listed.
        Err(partial) => Err(syntax::check::check_partial(partial, options.check)),
    }
}
pub mod cli;

//! ricci derives gradients in index notation and hands them back in matrix form.
//!
//! A program is written the way homework sheets write a forward pass:
//!
//! ```
//! let program = ricci::load("Y_sn = Σ_m X_sm W_nm + b_n", &ricci::Options::default()).unwrap();
//! assert_eq!(program.syntax.to_string(), "Y_sn = Σ_m X_sm W_nm + b_n\n");
//! assert_eq!(program.outputs(), vec!["Y"]);
//! ```
//!
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
    let syntax = syntax::parse::parse(source, &options.limits)?;
    syntax::check(syntax, options.check)
}
pub mod cli;

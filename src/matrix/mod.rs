//! Matrix forms: an index term read as matrix algebra, then improved by
//! equality saturation.
//!
//! One concept a file: [`Mat`] with its one shape, reading cost, transpose and
//! flattening (`mat.rs`); recognition of an index term (`recognize.rs`); the
//! e-graph language with its typed leaves and shape analysis (`language.rs`);
//! `rules/matrix.rules` compiled into rewrites (`rules.rs`); scalars made of
//! sums spelled as inner products (`scalars.rs`); the symmetry of tensors the
//! program defines (`symmetric.rs`); and the
//! saturation run that extracts the cheapest equivalent form (`egraph.rs`).
//! The dependencies run one way: `mat` ← `recognize`; `mat` ← `language` ←
//! `rules` ← `egraph`.

mod egraph;
mod language;
mod mat;
mod recognize;
mod rules;
mod scalars;
mod symmetric;

pub use egraph::{optimize, worth_saturating, RunLimits, RunStats};
#[cfg(test)]
pub use language::Leaf;
#[cfg(test)]
pub use mat::Shape;
pub use mat::{cost, diagonal_of, shape, transposed, Mat};
pub use recognize::recognize;
pub use scalars::{has_sum, spell};
pub use symmetric::{symmetric_definitions, use_symmetry};

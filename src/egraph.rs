//! Equality saturation over matrix forms: the path this pass had before it
//! moved into [`matrix`](crate::matrix) (`src/matrix/egraph.rs`, with its
//! language in `language.rs` and its rules in `rules.rs`). Everything here is
//! a re-export.

pub use crate::matrix::{
    optimize, rewrites, worth_saturating, Leaf, Leaves, MatLang, RunLimits, RunStats, Shape, Shapes,
};

//! The pest parser generated from `grammar/ricci.pest`, and its `Rule` enum.

// The derive writes the `Rule` enum; its variants carry the grammar's `///` docs.
#![allow(missing_docs)]

/// The pest parser generated from `grammar/ricci.pest`.
#[derive(pest_derive::Parser)]
#[grammar = "../grammar/ricci.pest"]
pub struct RicciParser;

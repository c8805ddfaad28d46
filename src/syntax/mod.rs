//! The input language: parse text into a syntax tree, check it, print it back.
//!
//! The files in pipeline order, each importing only those before it:
//! `grammar` (the pest parser) → `expected` (what a syntax error says) →
//! `bounds` (limits on the input) → `parse` → `functions` (built-in and refused
//! names) → `program` (a checked program) → `constant`, `sema` (checks that need
//! what a program means) → `check`; `ast` and `print` stand apart.

pub mod ast;
mod bounds;
pub mod check;
mod constant;
mod expected;
mod functions;
mod grammar;
pub mod parse;
pub mod print;
mod program;
mod sema;

pub use check::{check, CheckOptions, Program};

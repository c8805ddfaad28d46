//! The input language: parse text into a syntax tree, check it, print it back.
//!
//! The files in pipeline order, each importing only files before it (and `ast`,
//! `print`, which stand apart):
//!
//! | file         | what it holds |
//! |--------------|---------------|
//! | `grammar`    | the pest parser generated from `grammar/ricci.pest` |
//! | `expected`   | what a syntax error says: every grammar rule in plain English |
//! | `bounds`     | the limits on the input, checked before pest runs; exact numbers |
//! | `functions`  | the built-in function names, and the names refused as functions |
//! | `matrix_functions` | the checks of `inv(A)_ij`, `det(A)`, `logdet(A)` |
//! | `refused`    | the errors for forms the grammar admits and the tree refuses (`W^T`, `softmax_k(z_k)`) |
//! | `parse`      | text → syntax tree, every syntax error |
//! | `einstein`   | `--einstein`: implicit sums made explicit |
//! | `program`    | a checked [`Program`], with its dimension classes |
//! | `constant`   | what exact arithmetic decides about constants |
//! | `sema`       | builds the dimension classes; range conflicts, and the constant checks |
//! | `definitions` | the `Checker`'s checks across statements: matrices of matrix functions, calls against tensors, definition order and cycles |
//! | `check`      | scopes, orders, definitions, calls; runs the rest |

pub mod ast;
mod bounds;
pub mod check;
mod constant;
mod definitions;
mod einstein;
mod expected;
mod functions;
mod grammar;
mod matrix_functions;
pub mod parse;
pub mod print;
mod program;
mod refused;
mod sema;

pub use check::{check, CheckOptions, Program};

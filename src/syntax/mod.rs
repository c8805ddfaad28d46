//! The input language: parse text into a syntax tree, check it, print it back.

pub mod ast;
pub mod check;
mod constant;
mod expected;
pub mod parse;
pub mod print;
mod sema;

pub use check::{check, CheckOptions, Program};

//! Rendering results: index form, matrix form, and their text.

pub mod index;
pub mod names;

pub use names::Style;

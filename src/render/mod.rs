//! Rendering results: index form, matrix form, and their text.

pub mod index;
pub mod matrix;
pub mod names;
pub mod text;

pub use names::Style;

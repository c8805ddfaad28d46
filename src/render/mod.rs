//! Rendering results: index form, matrix form, and their text.

pub mod backward;
pub mod index;
pub mod json;
pub mod latex;
pub mod matrix;
pub mod names;
pub mod numpy;
pub(crate) mod softmax;
mod step;
pub mod text;

pub use names::Style;

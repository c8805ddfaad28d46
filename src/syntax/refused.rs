//! The forms the grammar lets through but the syntax tree refuses, and their
//! errors: a transpose mark after a tensor (`W^T`, `W'`), and a reduction or
//! matrix function written with its index as a subscript (`softmax_k(z_k)`).

use super::ast::*;
use super::functions::{GUESSED_FUNCTIONS, REDUCTIONS};
use crate::diagnostic::Diagnostic;

/// The error for a transpose mark after a tensor, with the index form of what it
/// likely means.
pub(super) fn transpose_error(tensor: &TensorRef, mark: &str, mark_first: bool, at: Span) -> Diagnostic {
    let name = &tensor.name.name;
    let shown = mark.chars().next().map_or(String::new(), String::from);
    let subscript = super::print::Subscript(&tensor.indices);
    let written = if mark_first {
        format!("{name}{shown}{subscript}")
    } else {
        format!("{name}{subscript}{shown}")
    };
    let help = match tensor.indices.len() {
        0 => format!(
            "give `{name}` its indices and transpose by their order: `xᵀ A x` is `Σ_ij x_i A_ij x_j`, `Xᵀ_ij` is `X_ji`"
        ),
        1 => format!(
            "a tensor with one index has no transpose; in a product the indices say what is summed: `xᵀ A x` is `Σ_ij x_i A_ij x_j`; write `{}`",
            tensor_text(tensor, false)
        ),
        2 => format!(
            "index notation transposes by the order of the indices: `{written}` is `{}`",
            tensor_text(tensor, true)
        ),
        _ => "index notation transposes by the order of the indices: write them in the order you mean".to_string(),
    };
    Diagnostic::new(
        at,
        format!("`{shown}` after `{name}` reads as a transpose, which index notation does not write"),
        "transpose mark",
    )
    .with_help(help)
}

/// `softmax_k(z_k)`, `norm_k(x_k)`: a reduction with its index in a subscript, which
/// the grammar reads as a tensor `softmax_k` times a parenthesis. Refused (with the
/// index form) for the names in [`GUESSED_FUNCTIONS`]; a tensor of another name
/// directly before `(` multiplies, as the README says.
pub(super) fn subscripted_call(tensor: &TensorRef, at: Span) -> Option<Diagnostic> {
    let name = &tensor.name.name;
    let lower = name.to_lowercase();
    let written = format!("{name}{}", super::print::Subscript(&tensor.indices));
    if REDUCTIONS.iter().any(|(n, _)| *n == lower) {
        // `Softmax_c(…)`: the reduction is written in lower case
        let meant = format!("{lower}{}", super::print::Subscript(&tensor.indices));
        return Some(
            Diagnostic::new(
                at,
                format!("`{written}(…)` would be read as a tensor `{written}` times a parenthesis"),
                "a tensor, not a function",
            )
            .with_help(if lower == "mean" {
                format!("did you mean `{meant} (…)`? a mean is written in lower case and takes the product after it")
            } else {
                format!("did you mean `{meant}(…)`? reductions are written in lower case")
            }),
        );
    }
    let (_, what, help) = GUESSED_FUNCTIONS.iter().find(|(n, ..)| *n == lower)?;
    Some(
        Diagnostic::new(
            at,
            format!("`{written}(…)` would be read as a tensor `{written}` times a parenthesis, not as {what}"),
            "a tensor, not a function",
        )
        .with_help(format!("ricci has no `{lower}` with an index yet: {help}")),
    )
}

fn tensor_text(tensor: &TensorRef, reversed: bool) -> String {
    let mut indices = tensor.indices.clone();
    if reversed {
        indices.reverse();
    }
    format!("{}{}", tensor.name.name, super::print::Subscript(&indices))
}

pub(super) fn is_mark(c: char) -> bool {
    // Combining marks: the ranges that matter for names such as `x̂` or `ỹ`.
    matches!(c as u32, 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

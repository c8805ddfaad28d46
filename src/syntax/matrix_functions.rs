//! The checks of the matrix functions `inv(A)_ij`, `det(A)` and `logdet(A)`
//! (SPEC §1): each takes the *name* of a square matrix — an input or a
//! defined tensor of order 2 — and `inv` is read at two indices, `det` and
//! `logdet` at none. That the two axes range over one set is the dimension
//! classes' business (`derive::dims` joins them and reports two declared ranges).

use super::ast::{Expr, ExprKind, Ident, Span};
use super::program::TensorInfo;
use crate::diagnostic::{plural, Diagnostic};
use crate::term::MatrixFn;

/// How a matrix function is written, for a help line.
fn example(f: MatrixFn) -> &'static str {
    match f {
        MatrixFn::Inv => "`inv(A)_ij` is the entry (i, j) of A⁻¹",
        MatrixFn::Det => "`det(A)` is the determinant of the square matrix `A`",
        MatrixFn::LogDet => "`logdet(A)` is log det A of the square matrix `A`",
    }
}

/// The error for a matrix function read at the wrong number of indices:
/// `inv(A)` without its entry, `det(A)_ij`.
pub(super) fn index_count(f: MatrixFn, matrix: &Ident, indices: &[Ident], span: Span) -> Option<Diagnostic> {
    if indices.len() == f.order() {
        return None;
    }
    let name = &matrix.name;
    Some(match f {
        MatrixFn::Inv => Diagnostic::new(
            span,
            format!(
                "`inv({name})` is a matrix: read it at two indices, not {}",
                plural(indices.len(), "index", "indices")
            ),
            "an entry of the inverse needs two indices",
        )
        .with_help(format!(
            "write an entry, `inv({name})_ij`, as you would write `{name}_ij`"
        )),
        MatrixFn::Det | MatrixFn::LogDet => Diagnostic::new(
            span,
            format!("`{}({name})` is a scalar: it takes no indices", f.source()),
            "indices after a scalar",
        )
        .with_help(format!("write `{}({name})`", f.source())),
    })
}

/// The error for `inv`, `det` or `logdet` called on anything but a matrix's
/// name (`inv(A_ij)`, `det(A + B)`, `inv(A, B)`), or in another case (`Det(A)`).
pub(super) fn misused_call(function: &Ident, args: &[Expr]) -> Option<Diagnostic> {
    let base = function.name.trim_end_matches('\'');
    let f = MatrixFn::ALL
        .into_iter()
        .find(|f| f.source().eq_ignore_ascii_case(base))?;
    let name = f.source();
    if base != name {
        return Some(
            Diagnostic::new(
                function.span,
                format!("`{base}` is not a built-in function: did you mean `{name}`?"),
                "unknown function",
            )
            .with_help(format!(
                "the matrix functions are written in lower case: {}",
                example(f)
            )),
        );
    }
    let (what, help) = match args {
        [Expr {
            kind: ExprKind::Tensor(t),
            ..
        }] if !t.indices.is_empty() => {
            let a = &t.name.name;
            (
                format!("`{name}` takes the name of a matrix, without indices"),
                match f {
                    MatrixFn::Inv => format!(
                        "write `inv({a})_{}` for an entry of {a}⁻¹ (`1/{a}_ij` would invert each entry)",
                        t.indices.iter().map(|i| i.name.as_str()).collect::<String>()
                    ),
                    _ => format!("write `{name}({a})`; {}", example(f)),
                },
            )
        }
        [_] => (
            format!("`{name}` takes the name of a matrix, not an expression"),
            format!(
                "define the matrix first (`C_ij = …`), then write `{name}(C)`; {}",
                example(f)
            ),
        ),
        _ => (
            format!("`{name}` takes one matrix, but {} were given", args.len()),
            example(f).to_string(),
        ),
    };
    Some(Diagnostic::new(function.span, what, "here").with_help(help))
}

/// The error for a matrix function of a tensor that is not a matrix (order
/// other than 2), once the whole program's orders are known; `None` when it
/// is one.
pub(super) fn not_a_matrix(f: MatrixFn, matrix: &Ident, info: &TensorInfo) -> Option<Diagnostic> {
    if info.order == 2 {
        return None;
    }
    let (name, order) = (&matrix.name, info.order);
    let what = match order {
        0 => "a scalar".to_string(),
        1 => "a vector".to_string(),
        n => format!("a tensor of order {n}"),
    };
    Some(
        Diagnostic::new(
            matrix.span,
            format!(
                "`{}` takes a square matrix, but `{name}` is {what} ({})",
                f.source(),
                plural(order, "index", "indices")
            ),
            "not a matrix",
        )
        .with_note(
            info.first,
            format!("`{name}` has {} here", plural(order, "index", "indices")),
        )
        .with_help(format!(
            "{}: a matrix has two indices whose ranges are one set",
            example(f)
        )),
    )
}

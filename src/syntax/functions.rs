//! The function names the language knows: the built-ins, and the names it
//! refuses to read as opaque functions because a reader would take them for
//! something else.

use super::ast::Ident;
use crate::diagnostic::Diagnostic;

/// The built-in elementwise functions (SPEC §1). `sigmoid` and `σ` are one function.
/// Read from the one table of built-ins, [`crate::term::BUILTINS`].
pub const BUILTINS: &[&str] = crate::term::BUILTIN_NAMES;

/// The built-in elementwise functions of two terms (SPEC §1): `max(a, b)` and
/// `min(a, b)`. Lowered to `relu` (`b + relu(a − b)`, `b − relu(b − a)`), so
/// the derivative by `a` is the step `[a > b]` (`[a < b]` for `min`), and the
/// checker watches the kink where `a = b` as it watches relu's.
pub const BINARY: &[&str] = &["max", "min"];

/// The reductions along an index (SPEC §1): a call without the index
/// (`softmax(z_i)`, `mean(x_i)`) is refused with the form that names it.
/// `mean_k T`, `norm_k(T)`, `logsumexp_k(T)`, `softmax_k(T)` are the grammar's.
pub const REDUCTIONS: &[(&str, &str)] = &[
    (
        "softmax",
        "`softmax` needs the index it normalises along: `P_ic = softmax_c(Z_ic)`",
    ),
    (
        "mean",
        "`mean` needs the index it averages over: `mean_i x_i` is `1/N Σ_i x_i`",
    ),
    (
        "norm",
        "`norm` needs the index it runs along: `norm_i(x_i)` is `sqrt(Σ_i x_i^2)`",
    ),
    (
        "logsumexp",
        "`logsumexp` needs the index it runs along: `logsumexp_i(x_i)` is `log(Σ_i exp(x_i))`",
    ),
];

/// Names that ricci refuses to read as opaque elementwise functions, because a
/// reader would take them for a matrix function or a reduction (SPEC §1): the name,
/// what it would be taken for, and how to write that in index notation. This table
/// is the only list of them. `max` and `min` are refused with one argument only.
pub const GUESSED_FUNCTIONS: &[(&str, &str, &str)] = &[
    ("tr", "a trace", "a trace is a sum over a repeated index: `tr(X)` is `Σ_i X_ii`"),
    ("trace", "a trace", "a trace is a sum over a repeated index: `trace(X)` is `Σ_i X_ii`"),
    ("diag", "a diagonal matrix", "`diag(v)_ij` is `v_i δ_ij`, and the diagonal of a matrix, `diag(X)_i`, is `X_ii`"),
    ("sum", "a sum", "`sum(x_i)` is `Σ_i x_i`: a sum names its indices (`sum_i x_i` also works)"),
    ("max", "a maximum over an index", "`max(a, b)` is the elementwise maximum of two terms; a maximum over an index cannot be written, a smooth one is `logsumexp_i(x_i)`"),
    ("min", "a minimum over an index", "`min(a, b)` is the elementwise minimum of two terms; a minimum over an index cannot be written, a smooth one is `-logsumexp_i(-x_i)`"),
];

/// A function's name without its primes (`relu''` → `relu`).
pub(super) fn base_function_name(name: &str) -> &str {
    name.trim_end_matches('\'')
}

/// The error for a call that ricci would otherwise read as an opaque elementwise
/// function although its name says something else: a built-in written in another
/// case (`Relu`), or a matrix function or reduction (`tr`, `softmax`, …, see
/// [`GUESSED_FUNCTIONS`]).
pub(super) fn guessed_function(function: &Ident, arity: usize) -> Option<Diagnostic> {
    let base = base_function_name(&function.name);
    let primes = &function.name[base.len()..];
    let lower = base.to_lowercase();
    if let Some((name, help)) = REDUCTIONS.iter().find(|(name, _)| *name == lower) {
        return Some(
            Diagnostic::new(
                function.span,
                format!("`{base}` without an index: ricci does not guess which index {name} runs along"),
                "no index",
            )
            .with_help(*help),
        );
    }
    if let Some((name, what, help)) = GUESSED_FUNCTIONS.iter().find(|(name, ..)| *name == lower) {
        if BINARY.contains(name) && arity != 1 {
            // `Max(a, b)`, `max'(a, b)`: not the built-in of two terms
            let (message, help) = if primes.is_empty() {
                (
                    format!("`{base}` is not a built-in function: did you mean `{name}`?"),
                    "built-in functions are written in lower case".to_string(),
                )
            } else {
                (
                    format!("`{}` is not a function", function.name),
                    format!("the derivative of `{name}(a, b)` by `a` is a step; ricci writes it for you"),
                )
            };
            return Some(Diagnostic::new(function.span, message, "unknown function").with_help(help));
        }
        return Some(
            Diagnostic::new(
                function.span,
                format!("unknown function `{base}`: ricci does not guess that it means {what}"),
                "unknown function",
            )
            .with_help(*help),
        );
    }
    let builtin = BUILTINS.iter().find(|b| b.to_lowercase() == lower)?;
    Some(
        Diagnostic::new(
            function.span,
            format!("`{base}` is not a built-in function: did you mean `{builtin}{primes}`?"),
            "unknown function",
        )
        .with_help(format!(
            "built-in functions are written in lower case ({}); any other name would be an opaque function",
            BUILTINS.join(", ")
        )),
    )
}

//! The function names the language knows: the built-ins, and the names it
//! refuses to read as opaque functions because a reader would take them for
//! something else.

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

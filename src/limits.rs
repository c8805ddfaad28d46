//! Bounds on everything that could grow without end, each with the flag that raises it.

/// Resource limits. Every limit that is hit produces an error naming it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted input, in bytes (`--max-input-bytes`).
    pub max_input_bytes: usize,
    /// Deepest nesting of parentheses and Σ (`--max-depth`).
    pub max_depth: usize,
    /// Most statements in one program (`--max-statements`).
    pub max_statements: usize,
    /// Most distinct index names in one program (`--max-indices`).
    pub max_indices: usize,
    /// Longest number literal, in digits (`--max-number-digits`).
    pub max_number_digits: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_input_bytes: 1 << 20,
            max_depth: 64,
            max_statements: 10_000,
            max_indices: 1_000,
            max_number_digits: 100,
        }
    }
}

// Budgets of the index-level simplifier (`src/simplify/`). They are not flags:
// each bounds work that an ordinary program never comes near, and past each
// the simplifier keeps a correct but less simplified form.

/// Most nodes one expression may lower to. `max(a, b)`, `min(a, b)`,
/// `softmax_k(T)` and `mean_k T` write a term twice, so nesting them doubles
/// the size at each level (30 nested `max` would be 10⁹ nodes); past this bound
/// the program is refused with an error that says so. Not a flag: an ordinary
/// program stays far below it.
pub const MAX_LOWERED_NODES: usize = 200_000;

/// Integer exponents of a number up to this size are computed exactly (`2³` →
/// `8`); larger ones stay symbolic (`2^5000`), so no number grows without end.
pub const MAX_EXACT_EXPONENT: u32 = 1024;

/// Most rounds of folding definitions back and applying assumptions: each
/// round can enable the next (a fold makes an assumption match), and the
/// rounds stop early once one changes nothing.
pub const SIMPLIFY_ROUNDS: usize = 8;

/// A term of at most this many nodes is also tried fully expanded even when
/// nothing in it divides (`−(T − P)` → `P − T`); a larger one is expanded only
/// when it has a denominator, where something can cancel.
pub const EXPAND_SMALL_TERM_NODES: usize = 40;

/// Most terms expansion may produce; past it the expansion gives up and the
/// term is kept as derived.
pub const EXPAND_MAX_TERMS: usize = 256;

/// Highest power of a sum that expansion multiplies out (`(a + b)³`); higher
/// powers stay powers.
pub const EXPAND_MAX_POWER: u32 = 3;

/// Most distinct tensors of a definition that the folding filter counts; a
/// definition mentioning more is never ruled out by the filter, only tried.
pub const FOLD_FILTER_TENSORS: usize = 8;

/// Most times one definition is folded within a single product (`a b a b` with
/// `Y = a b` → `Y²`, two folds); the rest of the product is left as it is.
pub const FOLDS_PER_PRODUCT: usize = 64;

// A budget of the reverse pass (`src/derive/reverse.rs`).

/// Above this many nodes an inlined gradient (a named gradient with every
/// upstream gradient replaced by its own form) is not simplified again, only
/// cleaned: simplifying a deep chain's composed gradient a second time costs
/// time quadratic in its size for little gain.
pub const INLINED_SIMPLIFY_NODES: usize = 150;

// Budgets of one equality-saturation run over a matrix form
// (`src/matrix/egraph.rs`). Past each the run stops and extracts the cheapest
// form found so far, which is correct; the text output says which bound ended it.

/// Most e-nodes of one saturation run.
pub const EGRAPH_NODES: usize = 20_000;

/// Most iterations of one saturation run.
pub const EGRAPH_ITERATIONS: usize = 16;

/// Longest saturation run, in milliseconds.
pub const EGRAPH_MILLIS: u64 = 500;

// Bounds of generated Python (`src/render/numpy/python.rs`): CPython's parser
// refuses deeply nested expressions (and is slow on very long operator
// chains), so past each an operand is bound to a temporary (`_t1 = …`).

/// Bracket nesting at which an operand is bound to a temporary.
pub const PY_MAX_DEPTH: u32 = 32;

/// Operands of one flat chain at which the chain so far is bound to a temporary.
pub const PY_MAX_CHAIN: u32 = 64;

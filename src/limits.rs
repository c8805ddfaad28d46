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

//! What a syntax error says: pest's error turned into a sentence (what was
//! found, what could have stood there, a hint for common slips), with every
//! grammar rule named in plain English.
//!
//! The match has no catch-all arm on purpose: a new rule in `grammar/ricci.pest`
//! does not compile until it has a name here.

use super::ast::Span;
use super::grammar::Rule;
use crate::diagnostic::Diagnostic;

/// What a person should read for "expected `rule`".
pub fn describe(rule: Rule) -> &'static str {
    match rule {
        Rule::EOI => "the end of the statement",
        Rule::WHITESPACE => "a space",
        Rule::COMMENT => "a comment",
        Rule::program => "a program",
        Rule::single => "a statement",
        Rule::statement => "a statement (`Y_ij = …`, `index i : N` or `assume … = …`)",
        Rule::separator => "a new line or `;`",
        Rule::index_decl => "an index declaration such as `index s : S`",
        Rule::kw_index => "`index`",
        Rule::index_name => "an index name such as `s`",
        Rule::range_name => "a range symbol such as `S`",
        Rule::assume => "an assumption such as `assume Σ_k T_sk = 1`",
        Rule::kw_assume => "`assume`",
        Rule::definition => "a definition such as `Y_sn = …`",
        Rule::expr => "an expression",
        Rule::add_op => "`+` or `-`",
        Rule::term => "a term",
        Rule::neg => "`-`",
        Rule::product => "a term",
        Rule::mul_op => "`*`, `·` or `/`",
        Rule::sigma => "a sum such as `Σ_m …`",
        Rule::sigma_kw => "`Σ`",
        Rule::binder => "a sum such as `Σ_m …` or a mean such as `mean_k …`",
        Rule::mean => "a mean such as `mean_k …`",
        Rule::mean_kw => "`mean`",
        Rule::reduction => "a reduction such as `softmax_k(…)`",
        Rule::reduction_head => "`norm_k(`, `logsumexp_k(` or `softmax_k(`",
        Rule::reduction_kw => "`norm`, `logsumexp` or `softmax`",
        Rule::factor => "a factor",
        Rule::power => "a power such as `^2`",
        Rule::exponent => "a numeric exponent such as `2`, `-1` or `(1/2)`",
        Rule::atom => "a number, a name, a call or `(`",
        Rule::paren => "a parenthesised expression",
        Rule::number => "a number",
        Rule::pi => "`π`",
        Rule::delta => "a Kronecker delta such as `δ_ij`",
        Rule::delta_kw => "`δ`",
        Rule::call => "a function call such as `exp(x)`",
        Rule::call_head => "a function name followed by `(`",
        Rule::function_name => "a function name",
        Rule::matrix_call => "a matrix function such as `inv(A)_ij` or `det(A)`",
        Rule::matrix_head => "`inv(`, `det(` or `logdet(`",
        Rule::matrix_function => "`inv`, `det` or `logdet`",
        Rule::tensor => "a tensor such as `X_sm` or a scalar name",
        Rule::tensor_name => "a name",
        Rule::superscript => "a superscript such as `^(1)`",
        Rule::superscript_label => "a superscript label such as `1`",
        Rule::subscript => "a subscript such as `_ij` or `_{i1,j}`",
        Rule::bare_indices => "indices such as `ij`",
        Rule::bare_index => "an index letter",
        Rule::brace_indices => "indices such as `{i,j}`",
        Rule::brace_index => "an index name",
        Rule::index_ident => "an index name",
        Rule::name => "a name",
        Rule::name_continue => "a letter or digit",
        Rule::reserved => "a reserved symbol",
        Rule::keyword_subscript => "`sum_`, `delta_` or `mean_`",
        Rule::transpose => "a transpose mark",
        Rule::transpose_letter => "`ᵀ`",
    }
}

/// Turns pest's error into a sentence: what was found, and what could have stood there.
pub(super) fn syntax_error(source: &str, error: pest::error::Error<Rule>) -> Diagnostic {
    use pest::error::{ErrorVariant, InputLocation};
    let location = match error.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    // Closing and separating punctuation that could stand where the parse got
    // furthest; rules already name what may start a term. (`ParsingToken` is not
    // exported; its Display is the literal of an exact token.)
    let (furthest, punctuation) = match error.parse_attempts() {
        Some(attempts) => (
            attempts.max_position,
            attempts
                .expected_tokens()
                .iter()
                .map(|t| t.to_string())
                .filter(|t| matches!(t.as_str(), ")" | "}" | ")}" | "=" | ":" | ","))
                .map(|t| format!("`{t}`"))
                .collect(),
        ),
        None => (location, Vec::new()),
    };
    // pest's location is where its last alternative failed (`index s S` read as a
    // tensor `index` wanting a subscript); the attempts may have got further (to
    // `S`, where `,` or `:` was wanted). Report the furthest.
    let further = furthest > location && !punctuation.is_empty();
    let mut at = if further { furthest } else { location };
    // Point at the next token, not at the space before it.
    at += source[at..].len() - source[at..].trim_start_matches([' ', '\t']).len();
    // Rules that would merely continue the expression before this point; named only
    // when nothing else could stand here.
    const CONTINUATIONS: &[Rule] = &[
        Rule::add_op,
        Rule::mul_op,
        Rule::sigma,
        Rule::sigma_kw,
        Rule::mean,
        Rule::mean_kw,
        Rule::factor,
        Rule::power,
        Rule::bare_index,
        Rule::subscript,
        Rule::superscript,
        Rule::transpose,
    ];
    let mut expected: Vec<String> = Vec::new();
    let mut continues = false;
    let mut push = |s: String| {
        if !expected.contains(&s) {
            expected.push(s);
        }
    };
    if let (false, ErrorVariant::ParsingError { positives, .. }) = (further, &error.variant) {
        for rule in positives {
            if CONTINUATIONS.contains(rule) {
                continues = true;
            } else {
                push(describe(*rule).to_string());
            }
        }
    }
    if furthest >= location {
        punctuation.into_iter().for_each(&mut push);
    }
    let before = source[..at].trim_end_matches([' ', '\t']);
    if ["Σ", "∑", "sum", "δ", "delta"].iter().any(|k| before.ends_with(k)) {
        expected = vec!["a subscript with its indices, such as `_m`".to_string()];
    } else if continues && expected.iter().all(|e| e == describe(Rule::EOI)) {
        expected.splice(0..0, ["an operator".to_string(), "another factor".to_string()]);
    }
    let found = match source[at..].chars().next() {
        None => "end of input".to_string(),
        Some('\n') | Some('\r') => "end of line".to_string(),
        Some(c) => format!("`{c}`"),
    };
    let end = at + source[at..].chars().next().map_or(0, char::len_utf8);
    let message = match &error.variant {
        ErrorVariant::CustomError { message } => message.clone(),
        ErrorVariant::ParsingError { .. } if expected.is_empty() => format!("unexpected {found}"),
        ErrorVariant::ParsingError { .. } => {
            format!("unexpected {found}: expected {}", english_list(&expected))
        }
    };
    let mut d = Diagnostic::new(Span::new(at, end), message, "here");
    if let Some(help) = hint(source, at) {
        d = d.with_help(help);
    }
    d
}

/// A hint for the common slips that the expected-list alone does not explain.
fn hint(source: &str, at: usize) -> Option<String> {
    let rest = &source[at..];
    let before = source[..at].trim_end_matches([' ', '\t']);
    if rest.starts_with('_') && before.ends_with(|c: char| c.is_alphanumeric()) {
        return None;
    }
    if before.ends_with("Σ") || before.ends_with("∑") || before.ends_with("sum") {
        return Some("a sum needs its indices: `Σ_m X_sm`".into());
    }
    if before.ends_with('δ') || before.ends_with("delta") {
        return Some("a Kronecker delta needs two indices: `δ_ij`".into());
    }
    if rest.starts_with('*') && source[..at].ends_with('*') {
        return Some("powers are written `x^2`".into());
    }
    if rest.starts_with('∂') {
        return Some("ricci writes the derivatives itself: define the forward pass and pass `--wrt`".into());
    }
    if rest.starts_with('ᵀ') || (rest.starts_with('\'') && before.ends_with(')')) {
        return Some(
            "index notation has no transpose: write the indices in the order you mean (`(A B)ᵀ_ij` is `Σ_k A_jk B_ki`)"
                .into(),
        );
    }
    if rest.starts_with('[') || rest.starts_with(']') {
        return Some("tensors take subscripts: write `X_ij`, not `X[i,j]`".into());
    }
    None
}

/// "a", "a or b", "a, b or c".
pub(crate) fn english_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {}", init.join(", "), last),
    }
}

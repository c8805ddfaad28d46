//! Every grammar rule named in plain English, for "expected …" messages.
//!
//! The match has no catch-all arm on purpose: a new rule in `grammar/ricci.pest`
//! does not compile until it has a name here.

use super::parse::Rule;

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
        Rule::keyword_subscript => "`sum_` or `delta_`",
        Rule::transpose => "a transpose mark",
        Rule::transpose_letter => "`ᵀ`",
    }
}

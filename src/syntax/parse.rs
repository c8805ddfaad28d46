//! Text → syntax tree, with the input bounded before pest sees it.

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Zero};
use pest::iterators::Pair;
use pest::Parser as _;
use unicode_normalization::UnicodeNormalization;

use super::ast::*;
use super::expected::describe;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::limits::Limits;

mod generated {
    // The derive writes the `Rule` enum; its variants carry the grammar's `///` docs.
    #![allow(missing_docs)]

    /// The pest parser generated from `grammar/ricci.pest`.
    #[derive(pest_derive::Parser)]
    #[grammar = "../grammar/ricci.pest"]
    pub struct RicciParser;
}

pub use generated::{RicciParser, Rule};

/// Parses a program into its syntax tree, or returns every syntax error: after
/// the whole program fails, each statement is parsed on its own, so one slip does
/// not hide the next.
pub fn parse(source: &str, limits: &Limits) -> Result<Program, Diagnostics> {
    check_bounds(source, limits)?;
    // Collecting the expected tokens costs time on every input; do it only to
    // explain a failure, by parsing again. pest keeps that switch in a global, so
    // parses in other threads must not flip it under this one.
    let _guard = PEST_DETAIL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    pest::set_error_detail(false);
    let parsed = RicciParser::parse(Rule::program, source);
    let mut pairs = match parsed {
        Ok(pairs) => pairs,
        Err(_) => return Err(Diagnostics(every_syntax_error(source))),
    };
    let program = pairs.next().expect("the program rule always yields one pair");
    let mut statements = Vec::new();
    let mut errors = Vec::new();
    for pair in program.into_inner() {
        if pair.as_rule() == Rule::EOI {
            break;
        }
        match build_statement(pair) {
            Ok(s) => statements.push(s),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(Diagnostics(errors));
    }
    if statements.len() > limits.max_statements {
        let s = &statements[limits.max_statements];
        return Err(Diagnostic::new(
            s.span,
            format!(
                "the program has {} statements, more than the limit of {}",
                statements.len(),
                limits.max_statements
            ),
            "this statement is over the limit",
        )
        .with_help("raise the limit with --max-statements")
        .into());
    }
    let program = Program { statements };
    check_index_count(&program, limits)?;
    Ok(program)
}

/// Held while parsing: pest's error-detail switch is process-wide.
static PEST_DETAIL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The syntax errors of a program that failed to parse, one per failing statement.
///
/// A newline always ends a statement (the grammar allows none inside one), and so
/// does a `;` outside a comment; each piece is parsed with the `single` rule. If
/// every piece parses (a failure that needs the whole program to show), the whole
/// program's error is reported.
fn every_syntax_error(source: &str) -> Vec<Diagnostic> {
    pest::set_error_detail(true);
    let mut errors = Vec::new();
    for (offset, piece) in statement_pieces(source) {
        if let Err(error) = RicciParser::parse(Rule::single, piece) {
            let mut d = syntax_error(piece, error);
            d.span = Span::new(d.span.start + offset, d.span.end + offset);
            errors.push(d);
        }
    }
    if errors.is_empty() {
        let error = RicciParser::parse(Rule::program, source).expect_err("the same input fails again");
        errors.push(syntax_error(source, error));
    }
    pest::set_error_detail(false);
    errors
}

/// Splits a source into statement pieces with their byte offsets; each piece keeps
/// its separator.
fn statement_pieces(source: &str) -> Vec<(usize, &str)> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut in_comment = false;
    for (at, c) in source.char_indices() {
        let ends = match c {
            '#' => {
                in_comment = true;
                false
            }
            '\n' => {
                in_comment = false;
                true
            }
            ';' => !in_comment,
            _ => false,
        };
        if ends {
            pieces.push((start, &source[start..at + 1]));
            start = at + 1;
        }
    }
    pieces.push((start, &source[start..]));
    pieces
}

/// Rejects a program that names more distinct indices than the limit allows,
/// pointing at the first index over it.
fn check_index_count(program: &Program, limits: &Limits) -> Result<(), Diagnostic> {
    let mut seen = std::collections::HashSet::new();
    let mut over = None;
    let mut note = |id: &Ident| {
        if seen.insert(id.name.clone()) && seen.len() > limits.max_indices && over.is_none() {
            over = Some(id.span);
        }
    };
    for statement in &program.statements {
        match &statement.kind {
            StatementKind::Index { indices, .. } => indices.iter().for_each(&mut note),
            StatementKind::Assume { lhs, rhs } => {
                for e in std::iter::once(lhs).chain(rhs) {
                    e.walk(&mut |e| expr_indices(e).iter().for_each(&mut note));
                }
            }
            StatementKind::Definition { lhs, rhs } => {
                lhs.indices.iter().for_each(&mut note);
                rhs.walk(&mut |e| expr_indices(e).iter().for_each(&mut note));
            }
        }
    }
    match over {
        None => Ok(()),
        Some(span) => Err(Diagnostic::new(
            span,
            format!("the program names more than {} distinct indices", limits.max_indices),
            "this index is over the limit",
        )
        .with_help("raise the limit with --max-indices")),
    }
}

/// The indices written directly on an expression node (not in its children).
fn expr_indices(e: &Expr) -> &[Ident] {
    match &e.kind {
        ExprKind::Tensor(t) => &t.indices,
        ExprKind::Delta(indices) | ExprKind::Sum { indices, .. } => indices,
        _ => &[],
    }
}

/// Rejects input that is too large or nested too deeply before the parser recurses into it.
fn check_bounds(source: &str, limits: &Limits) -> Result<(), Diagnostic> {
    if source.len() > limits.max_input_bytes {
        let at = floor_char_boundary(source, limits.max_input_bytes);
        return Err(Diagnostic::new(
            Span::new(at, at),
            format!("the input is larger than the limit of {} bytes", limits.max_input_bytes),
            "the input goes on past this point",
        )
        .with_help("raise the limit with --max-input-bytes"));
    }
    let mut run_start = None;
    for (at, c) in source.char_indices() {
        if !c.is_ascii_digit() {
            run_start = None;
            continue;
        }
        let start = *run_start.get_or_insert(at);
        if at + 1 - start > limits.max_number_digits {
            return Err(Diagnostic::new(
                Span::new(start, at + 1),
                format!("a number with more than {} digits", limits.max_number_digits),
                "this number is too long",
            )
            .with_help("raise the limit with --max-number-digits"));
        }
    }
    // Nesting depth: open parentheses and braces, plus the Σs that are open in the
    // current term (a Σ's body runs to the end of its product, so a chain of Σs nests).
    let mut levels: Vec<usize> = vec![0]; // Σs open at each parenthesis level
    let mut bytes = source.char_indices().peekable();
    let depth_error = |at: usize| {
        Diagnostic::new(
            Span::new(at, at + 1),
            format!("the expression is nested more than {} levels deep", limits.max_depth),
            "this is too deep",
        )
        .with_help("raise the limit with --max-depth")
    };
    while let Some((at, c)) = bytes.next() {
        match c {
            '(' | '{' => levels.push(0),
            ')' | '}' => {
                if levels.len() > 1 {
                    levels.pop();
                }
            }
            '+' | '-' | '−' | ',' | '=' | ';' | '\n' => *levels.last_mut().unwrap() = 0,
            'Σ' | '∑' => *levels.last_mut().unwrap() += 1,
            's' if source[at..].starts_with("sum_") => *levels.last_mut().unwrap() += 1,
            '#' => while bytes.next_if(|&(_, c)| c != '\n').is_some() {},
            _ => continue,
        }
        let depth = levels.len() - 1 + levels.iter().sum::<usize>();
        if depth > limits.max_depth {
            return Err(depth_error(at));
        }
    }
    Ok(())
}

fn floor_char_boundary(s: &str, mut at: usize) -> usize {
    while at > 0 && !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// Turns pest's error into a sentence: what was found, and what could have stood there.
fn syntax_error(source: &str, error: pest::error::Error<Rule>) -> Diagnostic {
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
        Rule::factor,
        Rule::power,
        Rule::bare_index,
        Rule::subscript,
        Rule::superscript,
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

fn nfc(s: &str) -> String {
    s.nfc().collect()
}

fn ident(pair: &Pair<Rule>) -> Ident {
    Ident {
        name: nfc(pair.as_str()),
        span: pair.as_span().into(),
    }
}

fn build_statement(pair: Pair<Rule>) -> Result<Statement, Diagnostic> {
    let span = pair.as_span().into();
    let kind = match pair.as_rule() {
        Rule::index_decl => {
            let mut indices = Vec::new();
            let mut range = None;
            for p in pair.into_inner() {
                match p.as_rule() {
                    Rule::index_name => indices.push(ident(&p)),
                    Rule::range_name => range = Some(ident(&p)),
                    _ => {}
                }
            }
            StatementKind::Index {
                indices,
                range: range.expect("grammar: index_decl has a range"),
            }
        }
        Rule::assume => {
            let mut exprs = pair.into_inner().filter(|p| p.as_rule() == Rule::expr);
            let lhs = build_expr(exprs.next().expect("grammar: assume has an expression"))?;
            let rhs = exprs.next().map(build_expr).transpose()?;
            StatementKind::Assume { lhs, rhs }
        }
        Rule::definition => {
            let mut inner = pair.into_inner();
            let lhs = build_tensor(inner.next().expect("grammar: definition has a left side"));
            let rhs = build_expr(inner.next().expect("grammar: definition has a right side"))?;
            StatementKind::Definition { lhs, rhs }
        }
        r => unreachable!("grammar: {r:?} is not a statement"),
    };
    Ok(Statement { kind, span })
}

fn build_tensor(pair: Pair<Rule>) -> TensorRef {
    let mut inner = pair.into_inner();
    let mut name = ident(&inner.next().expect("grammar: tensor has a name"));
    // `W^{(1)}` and `W^(1)` are one name.
    name.name = name.name.replace("^{(", "^(").replace(")}", ")");
    let indices = inner.next().map(build_subscript).unwrap_or_default();
    TensorRef { name, indices }
}

/// `_sm` → [s, m]; `_{sm}` → [s, m]; `_{i1,j}` → [i1, j].
fn build_subscript(pair: Pair<Rule>) -> Vec<Ident> {
    let inner = pair.into_inner().next().expect("grammar: subscript has indices");
    match inner.as_rule() {
        Rule::bare_indices => inner.into_inner().map(|p| ident(&p)).collect(),
        Rule::brace_indices => {
            let items: Vec<Pair<Rule>> = inner.into_inner().collect();
            if items.len() == 1 {
                split_letters(&items[0])
            } else {
                items.iter().map(ident).collect()
            }
        }
        r => unreachable!("grammar: {r:?} in a subscript"),
    }
}

/// `{sm}` without commas: every letter (with its marks and digits) is one index.
fn split_letters(pair: &Pair<Rule>) -> Vec<Ident> {
    let text = pair.as_str();
    let base = pair.as_span().start();
    let mut out: Vec<Ident> = Vec::new();
    for (i, c) in text.char_indices() {
        let continues = c.is_ascii_digit() || is_mark(c);
        match out.last_mut() {
            Some(last) if continues => {
                last.name.push(c);
                last.span.end = base + i + c.len_utf8();
            }
            _ => out.push(Ident {
                name: c.to_string(),
                span: Span::new(base + i, base + i + c.len_utf8()),
            }),
        }
    }
    for id in &mut out {
        id.name = nfc(&id.name);
    }
    out
}

fn is_mark(c: char) -> bool {
    // Combining marks: the ranges that matter for names such as `x̂` or `ỹ`.
    matches!(c as u32, 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

fn build_expr(pair: Pair<Rule>) -> Result<Expr, Diagnostic> {
    let span: Span = pair.as_span().into();
    match pair.as_rule() {
        Rule::expr => {
            let mut inner = pair.into_inner();
            let first = build_expr(inner.next().expect("grammar: expr has a term"))?;
            let mut rest = Vec::new();
            while let Some(op) = inner.next() {
                let sign = if op.as_str() == "+" { Sign::Plus } else { Sign::Minus };
                rest.push((sign, build_expr(inner.next().expect("grammar: operator has a term"))?));
            }
            if rest.is_empty() {
                return Ok(first);
            }
            Ok(Expr {
                kind: ExprKind::Add {
                    first: Box::new(first),
                    rest,
                },
                span,
            })
        }
        Rule::term => {
            let mut negs = Vec::new();
            let mut product = None;
            for p in pair.into_inner() {
                match p.as_rule() {
                    Rule::neg => negs.push(p.as_span().start()),
                    _ => product = Some(build_expr(p)?),
                }
            }
            let mut e = product.expect("grammar: term has a product");
            for start in negs.into_iter().rev() {
                let span = Span::new(start, e.span.end);
                e = Expr {
                    kind: ExprKind::Neg(Box::new(e)),
                    span,
                };
            }
            Ok(e)
        }
        Rule::product => {
            let mut inner = pair.into_inner().peekable();
            let first = build_expr(inner.next().expect("grammar: product has a factor"))?;
            let mut rest = Vec::new();
            while let Some(p) = inner.next() {
                let (op, operand) = if p.as_rule() == Rule::mul_op {
                    let op = if p.as_str() == "/" { MulOp::Div } else { MulOp::Mul };
                    (op, inner.next().expect("grammar: operator has a factor"))
                } else {
                    (MulOp::Mul, p)
                };
                rest.push((op, build_expr(operand)?));
            }
            if rest.is_empty() {
                return Ok(first);
            }
            Ok(Expr {
                kind: ExprKind::Product {
                    first: Box::new(first),
                    rest,
                },
                span,
            })
        }
        Rule::sigma => {
            let mut inner = pair.into_inner();
            inner.next(); // the Σ keyword
            let indices = build_subscript(inner.next().expect("grammar: Σ has a subscript"));
            let body = build_expr(inner.next().expect("grammar: Σ has a body"))?;
            Ok(Expr {
                kind: ExprKind::Sum {
                    indices,
                    body: Box::new(body),
                },
                span,
            })
        }
        Rule::factor => {
            let mut inner = pair.into_inner();
            let base = build_expr(inner.next().expect("grammar: factor has an atom"))?;
            match inner.next() {
                None => Ok(base),
                Some(power) => {
                    let exponent = build_exponent(power.into_inner().next().expect("grammar: power has an exponent"))?;
                    Ok(Expr {
                        kind: ExprKind::Pow {
                            base: Box::new(base),
                            exponent,
                        },
                        span,
                    })
                }
            }
        }
        Rule::paren => {
            let inner = pair
                .into_inner()
                .next()
                .expect("grammar: parentheses hold an expression");
            let mut e = build_expr(inner)?;
            e.span = span;
            Ok(e)
        }
        Rule::number => Ok(Expr {
            kind: ExprKind::Number(parse_number(pair.as_str())),
            span,
        }),
        Rule::pi => Ok(Expr {
            kind: ExprKind::Pi,
            span,
        }),
        Rule::delta => {
            let mut inner = pair.into_inner();
            inner.next(); // the δ keyword
            let indices = build_subscript(inner.next().expect("grammar: δ has a subscript"));
            Ok(Expr {
                kind: ExprKind::Delta(indices),
                span,
            })
        }
        Rule::call => {
            let mut inner = pair.into_inner();
            let head = inner.next().expect("grammar: call has a head");
            let function = ident(&head.into_inner().next().expect("grammar: call head has a name"));
            let args = inner.map(build_expr).collect::<Result<Vec<_>, _>>()?;
            Ok(Expr {
                kind: ExprKind::Call { function, args },
                span,
            })
        }
        Rule::tensor => Ok(Expr {
            kind: ExprKind::Tensor(build_tensor(pair)),
            span,
        }),
        r => unreachable!("grammar: {r:?} is not an expression"),
    }
}

/// `2`, `-1`, `(1/2)`, `(-3/4)`, `0.5`.
fn build_exponent(pair: Pair<Rule>) -> Result<BigRational, Diagnostic> {
    let span: Span = pair.as_span().into();
    let mut sign = BigRational::one();
    let mut parts = Vec::new();
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::neg => sign = -sign,
            Rule::number => parts.push(parse_number(p.as_str())),
            r => unreachable!("grammar: {r:?} in an exponent"),
        }
    }
    let value = match parts.as_slice() {
        [n] => n.clone(),
        [n, d] if d.is_zero() => {
            return Err(Diagnostic::new(
                span,
                "division by zero in an exponent",
                "this fraction has a zero denominator",
            ));
        }
        [n, d] => n / d,
        _ => unreachable!("grammar: an exponent has one or two numbers"),
    };
    Ok(sign * value)
}

/// An exact decimal: `0.25` is 1/4.
pub(crate) fn parse_number(text: &str) -> BigRational {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits: BigInt = format!("{int}{frac}").parse().expect("grammar: a number is digits");
    let scale = num_traits::pow(BigInt::from(10), frac.len());
    BigRational::new(digits, scale)
}

//! Text → syntax tree, with the input bounded before pest sees it.

use num_rational::BigRational;
use num_traits::{One, Zero};
use pest::iterators::Pair;
use pest::Parser as _;
use unicode_normalization::UnicodeNormalization;

use super::ast::*;
use super::bounds::{check_bounds, check_expansion, check_index_count, check_statement_count, exact_number};
use super::expected::syntax_error;
use super::refused::{is_mark, subscripted_call, transpose_error};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::limits::Limits;

pub use super::grammar::{RicciParser, Rule};

/// Parses a program into its syntax tree, or returns every syntax error: after
/// the whole program fails, each statement is parsed on its own, so one slip does
/// not hide the next.
pub fn parse(source: &str, limits: &Limits) -> Result<Program, Diagnostics> {
    parse_recovering(source, limits).map_err(|partial| Diagnostics(partial.errors))
}

/// A program that did not parse whole: its errors, and what could still be read.
#[derive(Clone, Debug, PartialEq)]
pub struct Partial {
    /// The syntax errors (and errors found while building the tree), in source order.
    pub errors: Vec<Diagnostic>,
    /// The statements that parsed, with their spans in the whole source; empty when
    /// a bound on the input (size, digits, nesting, statements, indices) was hit.
    pub parsed: Program,
    /// The names that the broken statements define, as far as their left side
    /// could be read (`Y` of `Y_ij = (…`).
    pub broken_names: Vec<Ident>,
}

/// Like [`parse`], but on failure also hands back the statements that did parse,
/// so that the checker can still report their problems.
pub fn parse_recovering(source: &str, limits: &Limits) -> Result<Program, Partial> {
    let failed = |d: Diagnostic| Partial {
        errors: vec![d],
        parsed: Program { statements: Vec::new() },
        broken_names: Vec::new(),
    };
    check_bounds(source, limits).map_err(failed)?;
    // Collecting the expected tokens costs time on every input; do it only to
    // explain a failure, by parsing again. pest keeps that switch in a global, so
    // parses in other threads must not flip it under this one.
    let _guard = PEST_DETAIL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    pest::set_error_detail(false);
    let mut builder = Builder {
        offset: 0,
        limits,
        errors: Vec::new(),
    };
    let mut statements = Vec::new();
    let mut broken_names = Vec::new();
    match RicciParser::parse(Rule::program, source) {
        Ok(mut pairs) => {
            let program = pairs.next().expect("the program rule always yields one pair");
            for pair in program.into_inner() {
                if pair.as_rule() == Rule::EOI {
                    break;
                }
                builder.statement_or_broken(pair, &mut statements, &mut broken_names);
            }
        }
        Err(_) => {
            pest::set_error_detail(true);
            every_statement(source, &mut builder, &mut statements, &mut broken_names);
            pest::set_error_detail(false);
        }
    }
    let bounded = check_statement_count(&statements, limits)
        .and_then(|()| check_index_count(&statements, limits))
        .and_then(|()| check_expansion(&statements));
    let mut errors = builder.errors;
    if errors.is_empty() {
        bounded.map_err(failed)?;
        return Ok(Program { statements });
    }
    if let Err(over) = bounded {
        errors.push(over);
        statements.clear();
    }
    errors.sort_by_key(|d| d.span.map(|s| (s.start, s.end)));
    Err(Partial {
        errors,
        parsed: Program { statements },
        broken_names,
    })
}

/// Held while parsing: pest's error-detail switch is process-wide.
static PEST_DETAIL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Reads a program that failed to parse one statement at a time: the syntax error
/// of every failing statement, and the statements that parse on their own.
///
/// A newline always ends a statement (the grammar allows none inside one), and so
/// does a `;` outside a comment; each piece is parsed with the `single` rule. If
/// every piece parses (a failure that needs the whole program to show), the whole
/// program's error is reported.
fn every_statement(
    source: &str,
    builder: &mut Builder,
    statements: &mut Vec<Statement>,
    broken_names: &mut Vec<Ident>,
) {
    let mut syntax_errors = 0;
    for (offset, piece) in statement_pieces(source) {
        builder.offset = offset;
        match RicciParser::parse(Rule::single, piece) {
            Ok(mut pairs) => {
                let single = pairs.next().expect("the single rule always yields one pair");
                for pair in single.into_inner() {
                    if pair.as_rule() != Rule::EOI {
                        builder.statement_or_broken(pair, statements, broken_names);
                    }
                }
            }
            Err(error) => {
                syntax_errors += 1;
                let mut d = syntax_error(piece, error);
                d.span = d.span.map(|s| Span::new(s.start + offset, s.end + offset));
                builder.errors.push(d);
                broken_names.extend(defined_name(piece, offset));
            }
        }
    }
    builder.offset = 0;
    if syntax_errors == 0 {
        let error = RicciParser::parse(Rule::program, source).expect_err("the same input fails again");
        builder.errors.push(syntax_error(source, error));
    }
}

/// The name a statement that failed to parse defines, if its start reads as
/// `Y_ij =`: later statements that read `Y` must not be judged without it.
fn defined_name(piece: &str, offset: usize) -> Option<Ident> {
    let start = piece.len() - piece.trim_start_matches([' ', '\t']).len();
    let tensor = RicciParser::parse(Rule::tensor, &piece[start..]).ok()?.next()?;
    let rest = piece[start + tensor.as_span().end()..].trim_start_matches([' ', '\t']);
    if !rest.starts_with('=') {
        return None;
    }
    let name = tensor.into_inner().next()?;
    let builder = Builder {
        offset: offset + start,
        limits: &Limits::default(),
        errors: Vec::new(),
    };
    Some(builder.name(&name))
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

fn nfc(s: &str) -> String {
    s.nfc().collect()
}

/// Builds syntax-tree nodes from pest's pairs. `offset` is where the parsed text
/// starts in the whole source (a statement parsed on its own after the program
/// failed); problems that the grammar lets through but the tree refuses (a
/// transpose mark, an exponent with a zero denominator, a number too long to write
/// out) are collected in `errors`, each with a placeholder in the tree.
struct Builder<'a> {
    offset: usize,
    limits: &'a Limits,
    errors: Vec<Diagnostic>,
}

impl Builder<'_> {
    fn span(&self, pair: &Pair<Rule>) -> Span {
        let s = pair.as_span();
        Span::new(s.start() + self.offset, s.end() + self.offset)
    }

    fn ident(&self, pair: &Pair<Rule>) -> Ident {
        Ident {
            name: nfc(pair.as_str()),
            span: self.span(pair),
        }
    }

    /// A tensor's name; `W^{(1)}` and `W^(1)` are one name.
    fn name(&self, pair: &Pair<Rule>) -> Ident {
        let mut name = self.ident(pair);
        name.name = name.name.replace("^{(", "^(").replace(")}", ")");
        name
    }

    /// Builds a statement; one that the tree refuses is left out, and the name it
    /// defines (if a definition) is noted as broken.
    fn statement_or_broken(&mut self, pair: Pair<Rule>, statements: &mut Vec<Statement>, broken: &mut Vec<Ident>) {
        let errors = self.errors.len();
        let defined = (pair.as_rule() == Rule::definition)
            .then(|| pair.clone().into_inner().next())
            .flatten()
            .and_then(|tensor| tensor.into_inner().next())
            .map(|name| self.name(&name));
        let statement = self.statement(pair);
        if self.errors.len() == errors {
            statements.push(statement);
        } else {
            broken.extend(defined);
        }
    }

    fn statement(&mut self, pair: Pair<Rule>) -> Statement {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::index_decl => {
                let mut indices = Vec::new();
                let mut range = None;
                for p in pair.into_inner() {
                    match p.as_rule() {
                        Rule::index_name => indices.push(self.ident(&p)),
                        Rule::range_name => range = Some(self.ident(&p)),
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
                let lhs = self.expr(exprs.next().expect("grammar: assume has an expression"));
                let rhs = exprs.next().map(|p| self.expr(p));
                StatementKind::Assume { lhs, rhs }
            }
            Rule::definition => {
                let mut inner = pair.into_inner();
                let lhs = self.tensor(inner.next().expect("grammar: definition has a left side"));
                let rhs = self.expr(inner.next().expect("grammar: definition has a right side"));
                StatementKind::Definition { lhs, rhs }
            }
            r => unreachable!("grammar: {r:?} is not a statement"),
        };
        Statement { kind, span }
    }

    fn tensor(&mut self, pair: Pair<Rule>) -> TensorRef {
        let called = pair.get_input()[pair.as_span().end()..].starts_with('(');
        let whole = self.span(&pair);
        let mut name = None;
        let mut indices = Vec::new();
        let mut mark = None;
        let mut mark_first = false;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::tensor_name => name = Some(self.name(&p)),
                Rule::subscript => {
                    mark_first = mark.is_some();
                    indices = self.subscript(p);
                }
                Rule::transpose => mark = mark.or(Some(p)),
                r => unreachable!("grammar: {r:?} in a tensor"),
            }
        }
        let tensor = TensorRef {
            name: name.expect("grammar: tensor has a name"),
            indices,
        };
        if let Some(mark) = mark {
            let d = transpose_error(&tensor, mark.as_str(), mark_first, self.span(&mark));
            self.errors.push(d);
        } else if called && !tensor.indices.is_empty() {
            self.errors.extend(subscripted_call(&tensor, whole));
        }
        tensor
    }

    /// The one index of a reduction's subscript (`softmax_c`); a subscript of
    /// several is an error, and the first stands in for them.
    fn one_index(&mut self, kw: &Pair<Rule>, subscript: Pair<Rule>) -> Ident {
        let at = self.span(&subscript);
        let mut indices = self.subscript(subscript);
        if indices.len() != 1 {
            let written: Vec<&str> = indices.iter().map(|i| i.name.as_str()).collect();
            self.errors.push(
                Diagnostic::new(
                    at,
                    format!("`{}` runs along one index, not {}", kw.as_str(), indices.len()),
                    "one index here",
                )
                .with_help(if kw.as_str() == "softmax" {
                    "a softmax normalises along one index: `P_ic = softmax_c(Z_ic)`".to_string()
                } else {
                    format!(
                        "nest it, one index each: `{0}_{1}({0}_{2}(…))`, or write the index form with `Σ_{{{3}}}`",
                        kw.as_str(),
                        written.first().copied().unwrap_or("i"),
                        written.get(1).copied().unwrap_or("j"),
                        written.join(",")
                    )
                }),
            );
        }
        indices.swap_remove(0)
    }

    /// `_sm` → [s, m]; `_{sm}` → [s, m]; `_{i1,j}` → [i1, j].
    fn subscript(&self, pair: Pair<Rule>) -> Vec<Ident> {
        let inner = pair.into_inner().next().expect("grammar: subscript has indices");
        match inner.as_rule() {
            Rule::bare_indices => inner.into_inner().map(|p| self.ident(&p)).collect(),
            Rule::brace_indices => {
                let items: Vec<Pair<Rule>> = inner.into_inner().collect();
                if items.len() == 1 {
                    self.split_letters(&items[0])
                } else {
                    items.iter().map(|p| self.ident(p)).collect()
                }
            }
            r => unreachable!("grammar: {r:?} in a subscript"),
        }
    }

    /// `{sm}` without commas: every letter (with its marks and digits) is one index.
    fn split_letters(&self, pair: &Pair<Rule>) -> Vec<Ident> {
        let text = pair.as_str();
        let base = self.span(pair).start;
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

    fn expr(&mut self, pair: Pair<Rule>) -> Expr {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::expr => {
                let mut inner = pair.into_inner();
                let first = self.expr(inner.next().expect("grammar: expr has a term"));
                let mut rest = Vec::new();
                while let Some(op) = inner.next() {
                    let sign = if op.as_str() == "+" { Sign::Plus } else { Sign::Minus };
                    rest.push((sign, self.expr(inner.next().expect("grammar: operator has a term"))));
                }
                if rest.is_empty() {
                    return first;
                }
                ExprKind::Add {
                    first: Box::new(first),
                    rest,
                }
            }
            Rule::term => {
                let mut negs = Vec::new();
                let mut product = None;
                for p in pair.into_inner() {
                    match p.as_rule() {
                        Rule::neg => negs.push(self.span(&p).start),
                        _ => product = Some(self.expr(p)),
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
                return e;
            }
            Rule::product => {
                let mut inner = pair.into_inner().peekable();
                let first = self.expr(inner.next().expect("grammar: product has a factor"));
                let mut rest = Vec::new();
                while let Some(p) = inner.next() {
                    let (op, operand) = if p.as_rule() == Rule::mul_op {
                        let op = if p.as_str() == "/" { MulOp::Div } else { MulOp::Mul };
                        (op, inner.next().expect("grammar: operator has a factor"))
                    } else {
                        (MulOp::Mul, p)
                    };
                    rest.push((op, self.expr(operand)));
                }
                if rest.is_empty() {
                    return first;
                }
                ExprKind::Product {
                    first: Box::new(first),
                    rest,
                }
            }
            Rule::sigma => {
                let mut inner = pair.into_inner();
                inner.next(); // the Σ keyword
                let indices = self.subscript(inner.next().expect("grammar: Σ has a subscript"));
                let body = self.expr(inner.next().expect("grammar: Σ has a body"));
                ExprKind::Sum {
                    indices,
                    body: Box::new(body),
                }
            }
            Rule::mean => {
                let mut inner = pair.into_inner();
                let kw = inner.next().expect("grammar: mean has its keyword");
                let index = self.one_index(&kw, inner.next().expect("grammar: mean has a subscript"));
                let body = self.expr(inner.next().expect("grammar: mean has a body"));
                ExprKind::Reduce {
                    op: Reduction::Mean,
                    index,
                    body: Box::new(body),
                }
            }
            Rule::reduction => {
                let mut inner = pair.into_inner();
                let mut head = inner.next().expect("grammar: reduction has a head").into_inner();
                let kw = head.next().expect("grammar: reduction has its keyword");
                let op = Reduction::ALL
                    .into_iter()
                    .find(|r| r.keyword() == kw.as_str())
                    .expect("grammar: a reduction keyword");
                let index = self.one_index(&kw, head.next().expect("grammar: reduction has a subscript"));
                let body = self.expr(inner.next().expect("grammar: reduction has an argument"));
                ExprKind::Reduce {
                    op,
                    index,
                    body: Box::new(body),
                }
            }
            Rule::factor => {
                let mut inner = pair.into_inner();
                let base = self.expr(inner.next().expect("grammar: factor has an atom"));
                match inner.next() {
                    None => return base,
                    Some(power) => ExprKind::Pow {
                        base: Box::new(base),
                        exponent: self.exponent(power.into_inner().next().expect("grammar: power has an exponent")),
                    },
                }
            }
            Rule::paren => {
                let inner = pair
                    .into_inner()
                    .next()
                    .expect("grammar: parentheses hold an expression");
                let mut e = self.expr(inner);
                e.span = span;
                return e;
            }
            Rule::number => ExprKind::Number(self.number(&pair)),
            Rule::pi => ExprKind::Pi,
            Rule::delta => {
                let mut inner = pair.into_inner();
                inner.next(); // the δ keyword
                ExprKind::Delta(self.subscript(inner.next().expect("grammar: δ has a subscript")))
            }
            Rule::call => {
                let mut inner = pair.into_inner();
                let head = inner.next().expect("grammar: call has a head");
                let function = self.ident(&head.into_inner().next().expect("grammar: call head has a name"));
                let args = inner.map(|p| self.expr(p)).collect();
                ExprKind::Call { function, args }
            }
            Rule::tensor => ExprKind::Tensor(self.tensor(pair)),
            Rule::matrix_call => {
                let mut function = None;
                let mut matrix = None;
                let mut indices = Vec::new();
                for p in pair.into_inner() {
                    match p.as_rule() {
                        Rule::matrix_head => {
                            function = crate::term::MatrixFn::from_source(p.as_str().trim_end_matches('('))
                        }
                        Rule::tensor_name => matrix = Some(self.name(&p)),
                        Rule::subscript => indices = self.subscript(p),
                        r => unreachable!("grammar: {r:?} in a matrix function"),
                    }
                }
                ExprKind::MatrixCall {
                    function: function.expect("grammar: a matrix function is inv, det or logdet"),
                    matrix: matrix.expect("grammar: a matrix function names a matrix"),
                    indices,
                }
            }
            r => unreachable!("grammar: {r:?} is not an expression"),
        };
        Expr { kind, span }
    }

    /// `2`, `-1`, `(1/2)`, `(-3/4)`, `0.5`, `1e-3`.
    fn exponent(&mut self, pair: Pair<Rule>) -> BigRational {
        let span = self.span(&pair);
        let mut sign = BigRational::one();
        let mut parts = Vec::new();
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::neg => sign = -sign,
                Rule::number => parts.push(self.number(&p)),
                r => unreachable!("grammar: {r:?} in an exponent"),
            }
        }
        let value = match parts.as_slice() {
            [n] => n.clone(),
            [_, d] if d.is_zero() => {
                self.errors.push(Diagnostic::new(
                    span,
                    "division by zero in an exponent",
                    "this fraction has a zero denominator",
                ));
                BigRational::zero()
            }
            [n, d] => n / d,
            _ => unreachable!("grammar: an exponent has one or two numbers"),
        };
        sign * value
    }

    /// A number literal, exact; one too long to write out in full is an error (and 0).
    fn number(&mut self, pair: &Pair<Rule>) -> BigRational {
        match exact_number(pair.as_str(), self.limits.max_number_digits) {
            Ok(n) => n,
            Err(why) => {
                let text = pair.as_str();
                self.errors.push(
                    Diagnostic::new(
                        self.span(pair),
                        format!("the number `{text}` has {why} when written out in full"),
                        "exponent out of range",
                    )
                    .with_help(format!(
                        "a number may have at most {} digits before and after its decimal point, \
                         exponent included (`1e-4` is 0.0001); raise the limit with --max-number-digits",
                        self.limits.max_number_digits
                    )),
                );
                BigRational::zero()
            }
        }
    }
}

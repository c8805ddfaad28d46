//! Bounds on the input, checked before pest (or the tree) gets to build anything
//! large: bytes, digits of a number, nesting depth, statements and distinct
//! indices, each with the option that raises it.

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::Zero;

use super::ast::*;
use crate::diagnostic::Diagnostic;
use crate::limits::Limits;

pub(super) fn check_statement_count(statements: &[Statement], limits: &Limits) -> Result<(), Diagnostic> {
    if statements.len() <= limits.max_statements {
        return Ok(());
    }
    let s = &statements[limits.max_statements];
    Err(Diagnostic::new(
        s.span,
        format!(
            "the program has {} statements, more than the limit of {}",
            statements.len(),
            limits.max_statements
        ),
        "this statement is over the limit",
    )
    .with_help("raise the limit with --max-statements"))
}

/// Rejects a program that names more distinct indices than the limit allows,
/// pointing at the first index over it.
pub(super) fn check_index_count(statements: &[Statement], limits: &Limits) -> Result<(), Diagnostic> {
    let mut seen = std::collections::HashSet::new();
    let mut over = None;
    let mut note = |id: &Ident| {
        if seen.insert(id.name.clone()) && seen.len() > limits.max_indices && over.is_none() {
            over = Some(id.span);
        }
    };
    for statement in statements {
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
        ExprKind::Delta(indices) | ExprKind::Sum { indices, .. } | ExprKind::MatrixCall { indices, .. } => indices,
        ExprKind::Reduce { index, .. } => std::slice::from_ref(index),
        _ => &[],
    }
}

/// Rejects input that is too large or nested too deeply before the parser recurses into it.
pub(super) fn check_bounds(source: &str, limits: &Limits) -> Result<(), Diagnostic> {
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

/// An exact decimal: `0.25` is 1/4, `1e-4` is 1/10000, `2.5E3` is 2500.
///
/// Written out in full (as the canonical print writes it), the number's integer
/// part and its decimal part may each have at most `max_digits` digits; otherwise
/// the error says how many it would have. That bounds the exponent by about
/// `max_digits` (±100 by default), so `1e999999999` is refused before anything
/// the size of 10^999999999 is built, and the canonical print of an accepted number
/// parses again under the same limit.
pub(super) fn exact_number(text: &str, max_digits: usize) -> Result<BigRational, String> {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None => (text, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{int}{frac}");
    let significant = digits.trim_start_matches('0');
    if significant.is_empty() {
        return Ok(BigRational::zero());
    }
    let exponent: i64 = match exponent {
        None => 0,
        Some(e) => {
            let (negative, magnitude) = match e.strip_prefix('-').or_else(|| e.strip_prefix('−')) {
                Some(m) => (true, m),
                None => (false, e.trim_start_matches('+')),
            };
            // Beyond i64 it is far over any digit limit anyway.
            let m: i64 = magnitude.parse().unwrap_or(i64::MAX / 4);
            if negative {
                -m
            } else {
                m
            }
        }
    };
    let trimmed = significant.trim_end_matches('0');
    let trailing = (significant.len() - trimmed.len()) as i64;
    // value = trimmed × 10^shift
    let shift = exponent.saturating_sub(frac.len() as i64).saturating_add(trailing);
    let len = trimmed.len() as i64;
    let int_digits = len.saturating_add(shift).max(1);
    let frac_digits = shift.saturating_neg().max(0);
    let max = max_digits as i64;
    if int_digits > max {
        return Err(format!("more than {max_digits} digits"));
    }
    if frac_digits > max {
        return Err(format!("more than {max_digits} decimal places"));
    }
    let value: BigInt = trimmed.parse().expect("grammar: a number is digits");
    let ten = BigInt::from(10);
    Ok(if shift >= 0 {
        BigRational::from_integer(value * num_traits::pow(ten, shift as usize))
    } else {
        BigRational::new(value, num_traits::pow(ten, (-shift) as usize))
    })
}

/// Rejects an expression whose index term would be too large: `max(a, b)`,
/// `min(a, b)`, `softmax_k(T)` and `mean_k T` write a term twice when they are
/// lowered, so nesting them doubles the size at each level, which the nesting
/// limit alone does not bound. Points at the innermost expression over the
/// bound ([`crate::limits::MAX_LOWERED_NODES`]).
pub(super) fn check_expansion(statements: &[Statement]) -> Result<(), Diagnostic> {
    for statement in statements {
        let exprs: Vec<&Expr> = match &statement.kind {
            StatementKind::Index { .. } => Vec::new(),
            StatementKind::Assume { lhs, rhs } => std::iter::once(lhs).chain(rhs).collect(),
            StatementKind::Definition { rhs, .. } => vec![rhs],
        };
        for e in exprs {
            if let Err(span) = lowered_size(e) {
                return Err(Diagnostic::new(
                    span,
                    format!(
                        "this expression is too large once `max`, `min`, `mean` and `softmax` are written out: \
                         more than {} nodes",
                        crate::limits::MAX_LOWERED_NODES
                    ),
                    "over the limit here",
                )
                .with_help(
                    "each of them writes its argument twice; name the inner one with a definition \
                     (`M_k = max(…)`) so that it is written once",
                ));
            }
        }
    }
    Ok(())
}

/// The number of nodes `e` lowers to, or the span of the innermost expression
/// over the bound.
fn lowered_size(e: &Expr) -> Result<usize, Span> {
    let size = |e: &Expr| lowered_size(e);
    let n = match &e.kind {
        ExprKind::Number(_) | ExprKind::Pi | ExprKind::Tensor(_) | ExprKind::Delta(_) | ExprKind::MatrixCall { .. } => {
            1
        }
        ExprKind::Sum { body, .. } | ExprKind::Neg(body) | ExprKind::Pow { base: body, .. } => 1 + size(body)?,
        ExprKind::Reduce { op, body, .. } => {
            let b = size(body)?;
            match op {
                Reduction::Mean | Reduction::Softmax => 2 * b + 6,
                Reduction::Norm | Reduction::LogSumExp => b + 4,
            }
        }
        ExprKind::Add { first, rest } => {
            let mut n = 1 + size(first)?;
            for (_, x) in rest {
                n += size(x)?;
            }
            n
        }
        ExprKind::Product { first, rest } => {
            let mut n = 1 + size(first)?;
            for (_, x) in rest {
                n += 1 + size(x)?;
            }
            n
        }
        ExprKind::Call { args, .. } => {
            let sizes = args.iter().map(size).collect::<Result<Vec<_>, _>>()?;
            match sizes.as_slice() {
                [a, b] => a + 2 * b + 6,
                _ => 1 + sizes.iter().sum::<usize>(),
            }
        }
    };
    if n > crate::limits::MAX_LOWERED_NODES {
        Err(e.span)
    } else {
        Ok(n)
    }
}

//! The canonical form of a program: Unicode operators (`Σ`, `δ`, `σ`), one
//! statement a line, and parentheses exactly where the grammar needs them.
//! Printing and parsing again gives the same text.

use std::fmt::{self, Display, Formatter, Write as _};

use num_rational::BigRational;
use num_traits::{One, Signed, Zero};

use super::ast::*;

impl Display for Program {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for s in &self.statements {
            writeln!(f, "{s}")?;
        }
        Ok(())
    }
}

impl Display for Statement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.kind {
            StatementKind::Index { indices, range } => {
                let names: Vec<&str> = indices.iter().map(|i| i.name.as_str()).collect();
                write!(f, "index {} : {}", names.join(", "), range.name)
            }
            StatementKind::Assume { lhs, rhs } => {
                write!(f, "assume {lhs}")?;
                if let Some(rhs) = rhs {
                    write!(f, " = {rhs}")?;
                }
                Ok(())
            }
            StatementKind::Definition { lhs, rhs } => write!(f, "{lhs} = {rhs}"),
        }
    }
}

impl Display for TensorRef {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.name.name, Subscript(&self.indices))
    }
}

/// `_sm` when every index is one letter, `_{i1,j}` otherwise, nothing when empty.
pub struct Subscript<'a>(pub &'a [Ident]);

impl Display for Subscript<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return Ok(());
        }
        let simple = self.0.iter().all(|i| {
            let mut cs = i.name.chars();
            cs.next().is_some_and(char::is_alphabetic) && cs.all(|c| !c.is_alphanumeric())
        });
        let names: Vec<&str> = self.0.iter().map(|i| i.name.as_str()).collect();
        if simple {
            write!(f, "_{}", names.concat())
        } else {
            write!(f, "_{{{}}}", names.join(","))
        }
    }
}

/// How tightly an expression binds; a child that binds less tightly than its
/// place requires is parenthesised.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Add,
    Neg,
    Product,
    Pow,
    Atom,
}

fn level(e: &Expr) -> Level {
    match &e.kind {
        ExprKind::Add { .. } => Level::Add,
        ExprKind::Neg(_) => Level::Neg,
        ExprKind::Product { .. }
        | ExprKind::Sum { .. }
        | ExprKind::Reduce {
            op: Reduction::Mean, ..
        } => Level::Product,
        ExprKind::Pow { .. } => Level::Pow,
        _ => Level::Atom,
    }
}

fn paren(f: &mut Formatter<'_>, e: &Expr, wrap: bool) -> fmt::Result {
    if wrap {
        write!(f, "({e})")
    } else {
        write!(f, "{e}")
    }
}

/// Writes a number the way the grammar reads it: an integer, a terminating decimal
/// written out in full (`1e-4` prints as `0.0001`: the parser bounds such a number's
/// digits, so the print parses again), or else a fraction `(1/3)`.
pub fn write_number(f: &mut impl fmt::Write, n: &BigRational) -> fmt::Result {
    if n.is_integer() {
        return write!(f, "{}", n.numer());
    }
    // n = p / (2^a 5^b) is a terminating decimal with max(a, b) places.
    let mut rest = n.denom().clone();
    let mut twos = 0usize;
    let mut fives = 0usize;
    while (&rest % 2u32).is_zero() {
        rest /= 2u32;
        twos += 1;
    }
    while (&rest % 5u32).is_zero() {
        rest /= 5u32;
        fives += 1;
    }
    if !rest.is_one() {
        // Not a terminating decimal (never from the parser): write it as a fraction.
        return write!(f, "({}/{})", n.numer(), n.denom());
    }
    let places = twos.max(fives);
    let scaled = (n.abs() * BigRational::from_integer(num_traits::pow(10.into(), places))).to_integer();
    let digits = format!("{:0>width$}", scaled.to_string(), width = places + 1);
    let (int, frac) = digits.split_at(digits.len() - places);
    let sign = if n.is_negative() { "-" } else { "" };
    write!(f, "{sign}{int}.{frac}")
}

/// An exponent as the grammar reads it: an integer, a terminating decimal
/// (`^0.5`, which keeps the input's digit runs: a fraction's numerator could be
/// longer than the digit limit allows), or else a fraction `^(1/3)`.
fn write_exponent(f: &mut Formatter<'_>, n: &BigRational) -> fmt::Result {
    let mut d = n.denom().clone();
    for p in [2u32, 5] {
        while (&d % p).is_zero() {
            d /= p;
        }
    }
    if n.is_integer() || d.is_one() {
        f.write_char('^')?;
        write_number(f, n)
    } else {
        write!(f, "^({}/{})", n.numer(), n.denom())
    }
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExprKind::Number(n) => write_number(f, n),
            ExprKind::Pi => f.write_char('π'),
            ExprKind::Tensor(t) => write!(f, "{t}"),
            ExprKind::MatrixCall {
                function,
                matrix,
                indices,
            } => write!(f, "{}({}){}", function.source(), matrix.name, Subscript(indices)),
            ExprKind::Delta(indices) => write!(f, "δ{}", Subscript(indices)),
            ExprKind::Sum { indices, body } => {
                write!(f, "Σ{} ", Subscript(indices))?;
                paren(f, body, level(body) < Level::Product)
            }
            ExprKind::Reduce {
                op: Reduction::Mean,
                index,
                body,
            } => {
                write!(f, "mean{} ", Subscript(std::slice::from_ref(index)))?;
                paren(f, body, level(body) < Level::Product)
            }
            ExprKind::Reduce { op, index, body } => {
                write!(f, "{}{}({body})", op.keyword(), Subscript(std::slice::from_ref(index)))
            }
            ExprKind::Add { first, rest } => {
                paren(f, first, level(first) < Level::Neg)?;
                for (sign, term) in rest {
                    f.write_str(if *sign == Sign::Plus { " + " } else { " - " })?;
                    paren(f, term, level(term) < Level::Neg)?;
                }
                Ok(())
            }
            ExprKind::Neg(inner) => {
                f.write_char('-')?;
                paren(f, inner, level(inner) < Level::Neg)
            }
            ExprKind::Product { first, rest } => {
                // A Σ takes the rest of the product, so only the last factor may be one
                // without parentheses; a nested product keeps its grouping.
                let wrap = |e: &Expr, last: bool| match e.kind {
                    ExprKind::Sum { .. }
                    | ExprKind::Reduce {
                        op: Reduction::Mean, ..
                    } => !last,
                    ExprKind::Product { .. } => true,
                    _ => level(e) < Level::Pow,
                };
                paren(f, first, wrap(first, rest.is_empty()))?;
                let mut prev: &Expr = first;
                for (k, (op, factor)) in rest.iter().enumerate() {
                    let tight = is_small(prev) && is_small(factor);
                    f.write_str(match op {
                        MulOp::Mul => " ",
                        MulOp::Div if tight => "/",
                        MulOp::Div => " / ",
                    })?;
                    prev = factor;
                    paren(f, factor, wrap(factor, k + 1 == rest.len()))?;
                }
                Ok(())
            }
            ExprKind::Pow { base, exponent } => {
                paren(f, base, level(base) < Level::Atom)?;
                write_exponent(f, exponent)
            }
            ExprKind::Call { function, args } => {
                // a built-in is printed by its printed name when a program may
                // call it so (`sigmoid` is printed `σ`)
                let base = function.name.trim_end_matches('\'');
                let name = match crate::term::BUILTINS.iter().find(|b| b.names.contains(&base)) {
                    Some(b) if b.names.contains(&b.printed) => format!("{}{}", b.printed, &function.name[base.len()..]),
                    _ => function.name.clone(),
                };
                write!(f, "{name}(")?;
                for (k, a) in args.iter().enumerate() {
                    if k > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{a}")?;
                }
                f.write_char(')')
            }
        }
    }
}

/// A number or a bare scalar name: `1/K` reads better without spaces.
fn is_small(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Number(_) | ExprKind::Pi => true,
        ExprKind::Tensor(t) => t.indices.is_empty(),
        _ => false,
    }
}

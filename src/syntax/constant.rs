//! What exact arithmetic decides about a program's constants: a divisor (or
//! the base of a negative power) that is identically 0, `log` of 0 or of a
//! negative constant, `sqrt` (or a fractional power, `^0.5`) of a negative
//! constant, and an assumption whose sides always differ.
//!
//! Each sub-expression is lowered to a [`Term`] as `derive` lowers it and put
//! in the simplifier's normal form (like terms collected with rational
//! coefficients, then expanded): the simplifier decides what is 0, not a second
//! algebra. A definition whose normal form is a constant (`c = 1 − 1`) stands
//! for its value. The sign of a constant with π in it is decided with rational
//! bounds on π, tightened until they decide it.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::rc::Rc;

use num_bigint::BigInt;
use num_integer::Integer;
use num_rational::BigRational;
use num_traits::{One, Signed, ToPrimitive, Zero};

use super::ast::{Expr, ExprKind, MulOp, Program, Span, StatementKind};
use crate::derive::{lower_expr, Dims};
use crate::diagnostic::Diagnostic;
use crate::simplify::{self, Env};
use crate::term::{Name, Term};

/// Every diagnostic about constants in `syntax`; `order` lists the definitions
/// each after those it reads.
pub(crate) fn check(syntax: &Program, order: &[usize], dims: &Dims) -> Vec<Diagnostic> {
    let mut cx = Constants {
        env: Env::default(),
        values: HashMap::new(),
        defined: HashMap::new(),
        dims,
    };
    for dim in cx.dims.classes() {
        if let Some(r) = cx.dims.range_of(dim) {
            cx.env.sizes.insert(dim, Term::Var(Name::Tensor(r.into()), vec![]));
        }
    }
    // Definitions that are constants stand for their values.
    for &s in order {
        if let StatementKind::Definition { lhs, rhs } = &syntax.statements[s].kind {
            if let Some(t) = cx.value(rhs, s) {
                if t.free().is_empty() && is_closed(&t) {
                    cx.values.insert(lhs.name.name.as_str().into(), t);
                    cx.defined.insert(lhs.name.name.clone(), lhs.name.span);
                }
            }
        }
    }
    let mut out = Vec::new();
    for (s, statement) in syntax.statements.iter().enumerate() {
        match &statement.kind {
            StatementKind::Definition { rhs, .. } => cx.expr(rhs, s, &mut out),
            StatementKind::Assume { lhs, rhs } => {
                cx.expr(lhs, s, &mut out);
                if let Some(rhs) = rhs {
                    cx.expr(rhs, s, &mut out);
                    cx.assumption(lhs, rhs, s, &mut out);
                }
            }
            StatementKind::Index { .. } => {}
        }
    }
    out
}

struct Constants<'a> {
    env: Env,
    /// The value of each defined name whose definition is a constant.
    values: HashMap<Rc<str>, Term>,
    /// Where each of those is defined.
    defined: HashMap<String, Span>,
    dims: &'a Dims,
}

impl Constants<'_> {
    /// The normal form of `e` (of statement `s`), constant definitions replaced
    /// by their values; `None` for an expression the checker rejects anyway
    /// (a δ or a call with the wrong number of operands).
    fn value(&mut self, e: &Expr, s: usize) -> Option<Term> {
        let mut scope = HashMap::new();
        self.lowered(e, s, &mut scope)
    }

    fn lowered(&mut self, e: &Expr, s: usize, scope: &mut HashMap<String, crate::term::Ix>) -> Option<Term> {
        if !lowerable(e) {
            return None;
        }
        let t = lower_expr(e, s, scope, self.dims);
        let t = if self.values.is_empty() {
            t
        } else {
            let values = &self.values;
            t.renamed(&mut Vec::new(), false, &mut |n, ix| match n {
                Name::Tensor(name) if values.contains_key(name) => values[name].clone(),
                _ => Term::Var(n.clone(), ix),
            })
        };
        let n = simplify::normalize(&t, &self.env);
        if is_zero(&n) {
            return Some(Term::zero());
        }
        // Expanded, `(a + 1)^2 − a^2 − 2 a − 1` cancels too.
        match simplify::expand(&n, &self.env) {
            Some(x) => {
                let x = simplify::normalize(&x, &self.env);
                Some(if is_zero(&x) { Term::zero() } else { n })
            }
            None => Some(n),
        }
    }

    /// Checks every divisor, negative or fractional power, `log` and `sqrt` in `e`.
    fn expr(&mut self, e: &Expr, s: usize, out: &mut Vec<Diagnostic>) {
        e.walk(&mut |x| match &x.kind {
            ExprKind::Product { rest, .. } => {
                for (op, factor) in rest {
                    // A literal 0 is reported by the scope checker.
                    if *op == MulOp::Div && !is_literal_zero(factor) && self.is_zero(factor, s) {
                        let d = Diagnostic::new(factor.span, "division by zero", "this divisor is exactly 0").with_help(
                            "exact arithmetic reduces this divisor to 0 for every value of the inputs; divide by something else",
                        );
                        out.push(self.constants_in(factor, d));
                    }
                }
            }
            ExprKind::Pow { base, exponent } => {
                if exponent.is_negative() && !is_literal_zero(base) && self.is_zero(base, s) {
                    let d = Diagnostic::new(base.span, "division by zero: zero to a negative power", "this is exactly 0")
                        .with_help(format!(
                            "`^{exponent}` divides by a power of its base, and exact arithmetic reduces the base to 0"
                        ));
                    out.push(self.constants_in(base, d));
                } else if !exponent.is_integer() {
                    if let Some(t) = self.value(base, s).filter(|t| sign(t) == Some(Ordering::Less)) {
                        let d = Diagnostic::new(
                            base.span,
                            format!("a negative number to the fractional power {}", show(exponent)),
                            negative(&t),
                        )
                        .with_help(
                            "a fractional power is the principal root, not real for a negative number (NumPy gives nan); use an integer exponent",
                        );
                        out.push(self.constants_in(base, d));
                    }
                }
            }
            ExprKind::Call { function, args } if args.len() == 1 => {
                let arg = &args[0];
                let d = match function.name.as_str() {
                    "log" => match self.value(arg, s) {
                        Some(t) if t.is_zero() => Some(
                            Diagnostic::new(arg.span, "logarithm of zero", "this is exactly 0")
                                .with_help("`log` is defined for positive numbers only; log(0) is −∞"),
                        ),
                        Some(t) if sign(&t) == Some(Ordering::Less) => Some(
                            Diagnostic::new(arg.span, "logarithm of a negative number", negative(&t))
                                .with_help("`log` is defined for positive numbers only"),
                        ),
                        _ => None,
                    },
                    "sqrt" => match self.value(arg, s) {
                        Some(t) if sign(&t) == Some(Ordering::Less) => Some(
                            Diagnostic::new(arg.span, "square root of a negative number", negative(&t))
                                .with_help("`sqrt` is real for numbers ≥ 0 only"),
                        ),
                        _ => None,
                    },
                    _ => None,
                };
                if let Some(d) = d {
                    out.push(self.constants_in(arg, d));
                }
            }
            _ => {}
        });
    }

    /// `d` with a note at the definition of every constant that `e` reads.
    fn constants_in(&self, e: &Expr, mut d: Diagnostic) -> Diagnostic {
        let mut seen = Vec::new();
        e.walk(&mut |x| {
            if let ExprKind::Tensor(t) = &x.kind {
                if let Some(&at) = self.defined.get(&t.name.name) {
                    if !seen.contains(&at) {
                        seen.push(at);
                    }
                }
            }
        });
        for at in seen {
            d = d.with_note(at, "defined as a constant here");
        }
        d
    }

    fn is_zero(&mut self, e: &Expr, s: usize) -> bool {
        self.value(e, s).is_some_and(|t| t.is_zero())
    }

    /// `assume lhs = rhs` whose sides differ by a nonzero constant.
    fn assumption(&mut self, lhs: &Expr, rhs: &Expr, s: usize, out: &mut Vec<Diagnostic>) {
        let mut scope = HashMap::new();
        let (Some(l), Some(r)) = (self.lowered(lhs, s, &mut scope), self.lowered(rhs, s, &mut scope)) else {
            return;
        };
        let difference = simplify::add(vec![l, simplify::mul(vec![Term::int(-1), r])]);
        let difference = match simplify::expand(&difference, &self.env) {
            Some(x) => simplify::normalize(&x, &self.env),
            None => difference,
        };
        if matches!(sign(&difference), Some(Ordering::Less | Ordering::Greater)) {
            let label = match &difference {
                Term::Num(n) => format!("the left side minus the right is {}", show(n)),
                _ => "the left side minus the right is a constant other than 0".to_string(),
            };
            out.push(
                Diagnostic::new(lhs.span.to(rhs.span), "this assumption is false: its sides are never equal", label)
                    .with_help(
                        "an `assume` states an identity the simplifier may use, and a false one would let it derive anything: correct it or remove it",
                    ),
            );
        }
    }
}

/// The label under a negative constant: its value when it is a number.
fn negative(t: &Term) -> String {
    match t {
        Term::Num(n) => format!("this is {}", show(n)),
        _ => "this is negative".to_string(),
    }
}

fn show(n: &BigRational) -> String {
    n.to_string().replace('-', "−")
}

fn is_literal_zero(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Number(n) => n.is_zero(),
        ExprKind::Neg(inner) => is_literal_zero(inner),
        _ => false,
    }
}

/// Whether `derive::lower_expr` can lower `e`: every δ has two indices and every
/// call one argument (anything else is an error of its own).
fn lowerable(e: &Expr) -> bool {
    let mut ok = true;
    e.walk(&mut |x| match &x.kind {
        ExprKind::Delta(ix) if ix.len() != 2 => ok = false,
        ExprKind::Call { function, args } if args.len() != 1 => {
            ok &= args.len() == 2 && super::functions::BINARY.contains(&function.name.as_str())
        }
        ExprKind::MatrixCall { function, indices, .. } if indices.len() != function.order() => ok = false,
        _ => {}
    });
    ok
}

/// Whether a normalised term is 0: a zero, a zero to a positive power (left
/// symbolic when the exponent is large), or a product with such a factor.
fn is_zero(t: &Term) -> bool {
    match t {
        Term::Num(n) => n.is_zero(),
        Term::Pow(b, e) => e.is_positive() && is_zero(b),
        Term::Mul(fs) => fs.iter().any(is_zero),
        _ => false,
    }
}

/// Whether a term mentions no tensor, scalar input, range symbol or δ.
fn is_closed(t: &Term) -> bool {
    match t {
        Term::Var(..) | Term::Delta(..) => false,
        _ => t.children().iter().all(is_closed),
    }
}

/// The sign of a term built from numbers and π with `+`, `·` and integer
/// powers, decided exactly; `None` for anything else, or when even tight
/// bounds on π cannot decide it.
///
/// Bounds are kept as integers over `2^bits` (no rational arithmetic, so no
/// gcd on long numbers): each operation rounds its lower bound down and its
/// upper bound up, so the true value always lies within.
pub(crate) fn sign(t: &Term) -> Option<Ordering> {
    if let Term::Num(n) = t {
        return Some(n.cmp(&BigRational::zero()));
    }
    for (k, bits) in PRECISIONS.iter().enumerate() {
        let pi = PI[k].get_or_init(|| pi_bounds(*bits));
        let (lo, hi) = interval(t, pi, *bits)?;
        if lo.is_positive() {
            return Some(Ordering::Greater);
        }
        if hi.is_negative() {
            return Some(Ordering::Less);
        }
    }
    None
}

/// The precisions tried, in bits after the point (about 38, 308 and 2466 digits).
const PRECISIONS: [u64; 3] = [128, 1024, 8192];

/// Bounds on π at each precision, computed once.
static PI: [std::sync::OnceLock<Interval>; 3] = [
    std::sync::OnceLock::new(),
    std::sync::OnceLock::new(),
    std::sync::OnceLock::new(),
];

/// `[lo, hi] / 2^bits`.
type Interval = (BigInt, BigInt);

/// `⌈a / 2^bits⌉`.
fn shift_up(a: BigInt, bits: u64) -> BigInt {
    -((-a) >> bits)
}

/// Bounds on the value of `t` given bounds on π (all over `2^bits`).
fn interval(t: &Term, pi: &Interval, bits: u64) -> Option<Interval> {
    Some(match t {
        Term::Num(n) => {
            let scaled = n.numer() << bits;
            // ⌊scaled / d⌋ and ⌈scaled / d⌉ (the denominator is positive)
            let lo = scaled.div_floor(n.denom());
            let hi = -((-scaled).div_floor(n.denom()));
            (lo, hi)
        }
        Term::Pi => pi.clone(),
        Term::Add(ts) => {
            let mut acc = (BigInt::zero(), BigInt::zero());
            for x in ts {
                let (lo, hi) = interval(x, pi, bits)?;
                acc = (acc.0 + lo, acc.1 + hi);
            }
            acc
        }
        Term::Mul(ts) => {
            let mut acc = (BigInt::one() << bits, BigInt::one() << bits);
            for x in ts {
                acc = times(&acc, &interval(x, pi, bits)?, bits);
            }
            acc
        }
        Term::Pow(b, e) if e.is_integer() => {
            let k = e.to_integer().to_i32().filter(|k| k.abs() <= 1024)?;
            let mut base = interval(b, pi, bits)?;
            if k < 0 {
                base = reciprocal(&base, bits)?;
            }
            // by squaring: a product of enclosures encloses the product
            let mut acc = (BigInt::one() << bits, BigInt::one() << bits);
            let mut k = k.unsigned_abs();
            while k > 0 {
                if k & 1 == 1 {
                    acc = times(&acc, &base, bits);
                }
                base = times(&base, &base, bits);
                k >>= 1;
            }
            acc
        }
        _ => return None,
    })
}

fn times(a: &Interval, b: &Interval, bits: u64) -> Interval {
    let products = [&a.0 * &b.0, &a.0 * &b.1, &a.1 * &b.0, &a.1 * &b.1];
    let lo = products.iter().min().expect("four products").clone();
    let hi = products.iter().max().expect("four products").clone();
    // `>>` on a BigInt rounds towards −∞
    (lo >> bits, shift_up(hi, bits))
}

/// `1 / [lo, hi]`, for an interval that does not contain 0.
fn reciprocal(a: &Interval, bits: u64) -> Option<Interval> {
    let one = BigInt::one() << (2 * bits);
    if a.0.is_positive() {
        Some((one.div_floor(&a.1), -((-&one).div_floor(&a.0))))
    } else if a.1.is_negative() {
        let (lo, hi) = reciprocal(&(-&a.1, -&a.0), bits)?;
        Some((-hi, -lo))
    } else {
        None
    }
}

/// Bounds `lo < π · 2^bits < hi`, from Machin's formula
/// π = 16 arctan(1/5) − 4 arctan(1/239) in integer arithmetic.
fn pi_bounds(bits: u64) -> Interval {
    let scale = BigInt::one() << bits;
    let (a, na) = arctan_inverse(5, &scale);
    let (b, nb) = arctan_inverse(239, &scale);
    let p = a * 16 - b * 4;
    // Each series is off by less than 2 per term summed plus 1 for its tail.
    let error = BigInt::from(16 * (2 * na + 1) + 4 * (2 * nb + 1));
    (&p - &error, p + error)
}

/// `scale · arctan(1/x)`, truncated, and the number of terms summed.
fn arctan_inverse(x: u32, scale: &BigInt) -> (BigInt, u32) {
    let x2 = BigInt::from(x * x);
    let mut power = scale / BigInt::from(x); // ⌊scale / x^(2k+1)⌋
    let mut sum = BigInt::zero();
    let mut k = 0u32;
    loop {
        let term = &power / BigInt::from(2 * k + 1);
        if term.is_zero() {
            break;
        }
        if k % 2 == 0 {
            sum += term;
        } else {
            sum -= term;
        }
        power /= &x2;
        k += 1;
    }
    (sum, k)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(n: i64, d: i64) -> BigRational {
        BigRational::new(n.into(), d.into())
    }

    #[test]
    fn pi_bounds_enclose_pi_tightly() {
        for bits in PRECISIONS {
            let (lo, hi) = pi_bounds(bits);
            let scale = BigInt::one() << bits;
            let (lo, hi) = (BigRational::new(lo, scale.clone()), BigRational::new(hi, scale));
            assert!(lo < hi);
            // 3.14159265358979 < π < 3.14159265358980, and π < 355/113
            assert!(lo > q(314159265358979, 100000000000000));
            assert!(hi < q(314159265358980, 100000000000000));
            assert!(hi < q(355, 113));
            let width = &hi - &lo;
            assert!(width < BigRational::new(BigInt::one() << 20, BigInt::one() << bits));
        }
    }

    #[test]
    fn signs_with_pi_are_decided_exactly() {
        let pi_minus = |n: i64, d: i64| Term::Add(vec![Term::Pi, Term::Num(-q(n, d))]);
        assert_eq!(sign(&pi_minus(3, 1)), Some(Ordering::Greater));
        assert_eq!(sign(&pi_minus(355, 113)), Some(Ordering::Less));
        assert_eq!(sign(&pi_minus(22, 7)), Some(Ordering::Less));
        // π − 3.14159265358979323846264338327950288 (35 digits, below π) needs more than 30
        let close = BigRational::new(
            "314159265358979323846264338327950288".parse().unwrap(),
            BigInt::from(10).pow(35),
        );
        assert_eq!(
            sign(&Term::Add(vec![Term::Pi, Term::Num(-close)])),
            Some(Ordering::Greater)
        );
        // 1/(π − 3)^2 > 0; a tensor is not a constant
        assert_eq!(sign(&Term::pow(pi_minus(3, 1), -2)), Some(Ordering::Greater));
        assert_eq!(sign(&Term::Var(Name::Tensor("a".into()), vec![])), None);
        // negative bases: odd and even powers, reciprocals
        let three_minus_pi = Term::Add(vec![Term::int(3), Term::Mul(vec![Term::int(-1), Term::Pi])]);
        assert_eq!(sign(&Term::pow(three_minus_pi.clone(), -3)), Some(Ordering::Less));
        assert_eq!(sign(&Term::pow(three_minus_pi.clone(), 2)), Some(Ordering::Greater));
        assert_eq!(sign(&Term::pow(three_minus_pi.clone(), 1001)), Some(Ordering::Less));
        // (3 − π)^2 − 1/50: 0.02005… − 0.02
        let square_minus = Term::Add(vec![Term::pow(three_minus_pi, 2), Term::Num(-q(1, 50))]);
        assert_eq!(sign(&square_minus), Some(Ordering::Greater));
        // a function of a constant is not decided
        let log_two = Term::Fn(crate::term::Func::Log, Box::new(Term::int(2)));
        assert_eq!(sign(&log_two), None);
    }
}

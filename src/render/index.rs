//! The index form as text: `∂L/∂W_ij = Σ_s (∂L/∂Y)_si X_sj`.

use std::collections::{BTreeSet, HashMap};

use num_rational::BigRational;
use num_traits::{One, Signed};

use super::names::{self, Style};
use crate::derive::{GradientResult, Kind};
use crate::simplify::split_coefficient;
use crate::term::{Func, Ix, Name, Term};

/// Assigns readable names to indices: free indices keep theirs, a bound index
/// keeps its own unless that would clash with one in scope.
pub struct Namer {
    names: HashMap<Ix, String>,
    taken: Vec<String>,
}

impl Namer {
    /// A namer for a term whose free indices are `free`.
    pub fn new(free: &BTreeSet<Ix>) -> Namer {
        let mut names = HashMap::new();
        let mut taken = Vec::new();
        for i in free {
            names.insert(i.clone(), i.name.to_string());
            taken.push(i.name.to_string());
        }
        Namer { names, taken }
    }

    /// Binds indices for the scope of a Σ; returns how many to release.
    pub fn bind(&mut self, ks: &[Ix]) -> usize {
        for k in ks {
            let mut candidate = k.name.to_string();
            if self.taken.contains(&candidate) {
                const LETTERS: &str = "klmnpqrstuvwabcdefgh";
                candidate = LETTERS
                    .chars()
                    .map(String::from)
                    .find(|c| !self.taken.contains(c))
                    .unwrap_or_else(|| format!("{}{}", k.name, self.taken.len()));
            }
            self.names.insert(k.clone(), candidate.clone());
            self.taken.push(candidate);
        }
        ks.len()
    }

    /// Leaves the scope of the last `n` bound indices.
    pub fn release(&mut self, n: usize) {
        let keep = self.taken.len() - n;
        self.taken.truncate(keep);
    }

    /// The display name of an index.
    pub fn name(&self, i: &Ix) -> String {
        self.names.get(i).cloned().unwrap_or_else(|| i.name.to_string())
    }
}

/// Writes a number: `2`, `1/2`, `-3`, and `0.044715` where the decimal is
/// shorter than the fraction (`8943/200000`).
pub fn number(n: &BigRational, style: Style) -> String {
    let sign = if n.is_negative() { style.minus() } else { "" };
    let a = n.abs();
    if a.is_integer() {
        format!("{sign}{}", a.numer())
    } else if let Some(d) = decimal(&a) {
        format!("{sign}{d}")
    } else {
        format!("{sign}{}", style.frac(&a.numer().to_string(), &a.denom().to_string()))
    }
}

/// A positive non-integer as a terminating decimal (`0.7978845608`) when
/// that is strictly shorter than its fraction `p/q`: a coefficient written as
/// a decimal prints as one, while `1/2`, `1/4` and `1/3` stay fractions.
pub fn decimal(a: &BigRational) -> Option<String> {
    use num_bigint::BigInt;
    use num_traits::Zero;
    if a.is_integer() || a.is_negative() {
        return None;
    }
    // q = 2^x 5^y has a decimal with max(x, y) digits after the point
    let (two, five, ten) = (BigInt::from(2), BigInt::from(5), BigInt::from(10));
    let mut q = a.denom().clone();
    let (mut x, mut y) = (0u32, 0u32);
    while (&q % &two).is_zero() {
        q /= &two;
        x += 1;
    }
    while (&q % &five).is_zero() {
        q /= &five;
        y += 1;
    }
    if !q.is_one() || x.max(y) > 40 {
        return None;
    }
    let places = x.max(y) as usize;
    let scaled = (a * BigRational::from_integer(ten.pow(places as u32))).to_integer();
    let digits = scaled.to_string();
    let digits = format!("{digits:0>width$}", width = places + 1);
    let (int, frac) = digits.split_at(digits.len() - places);
    let d = format!("{int}.{frac}");
    let fraction = a.numer().to_string().len() + 1 + a.denom().to_string().len();
    (d.len() < fraction).then_some(d)
}

/// Printing precedence.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Prec {
    Add,
    Mul,
    Pow,
    Atom,
}

fn prec(t: &Term) -> Prec {
    match t {
        Term::Add(_) => Prec::Add,
        Term::Mul(_) | Term::Sum(..) => Prec::Mul,
        Term::Num(n) if n.is_negative() || !n.is_integer() => Prec::Mul,
        Term::Pow(..) => Prec::Pow,
        _ => Prec::Atom,
    }
}

/// An index term printer.
pub struct Printer<'a> {
    style: Style,
    namer: &'a mut Namer,
}

impl<'a> Printer<'a> {
    /// A printer using `namer` for index names.
    pub fn new(style: Style, namer: &'a mut Namer) -> Self {
        Printer { style, namer }
    }

    /// The term as text.
    pub fn term(&mut self, t: &Term) -> String {
        let minus = self.style.minus();
        match t {
            Term::Num(n) => number(n, self.style),
            Term::Pi => self.style.pi().into(),
            Term::Var(Name::Tensor(n), ix) => {
                let ix: Vec<String> = ix.iter().map(|i| self.namer.name(i)).collect();
                format!("{}{}", names::tensor(n, self.style), self.style.subscript(&ix))
            }
            Term::Var(Name::Matrix(f, a), ix) => {
                let ix: Vec<String> = ix.iter().map(|i| self.namer.name(i)).collect();
                let head = names::matrix_fn(*f, a, false, self.style);
                match (ix.is_empty(), self.style) {
                    (true, _) | (false, Style::Ascii) => format!("{head}{}", self.style.subscript(&ix)),
                    (false, _) => format!("{}{}", self.style.paren(&head), self.style.subscript(&ix)),
                }
            }
            Term::Var(Name::Grad { of, wrt }, ix) => {
                let ix: Vec<String> = ix.iter().map(|i| self.namer.name(i)).collect();
                gradient_head(of, wrt, &ix, self.style, true)
            }
            Term::Delta(a, b) => {
                let ix = [self.namer.name(a), self.namer.name(b)];
                format!("{}{}", self.style.delta(), self.style.subscript(&ix))
            }
            Term::Add(ts) => {
                // Positive terms first: `Y − T`, not `−T + Y`.
                let mut ordered: Vec<&Term> = ts.iter().filter(|t| !is_negative(t)).collect();
                ordered.extend(ts.iter().filter(|t| is_negative(t)));
                let mut out = String::new();
                for (k, t) in ordered.into_iter().enumerate() {
                    if is_negative(t) {
                        let (c, rest) = split_coefficient(t);
                        let positive = crate::simplify::mul(vec![Term::Num(-c), rest]);
                        let s = self.wrap(&positive, Prec::Mul);
                        out.push_str(&if k == 0 {
                            format!("{minus}{s}")
                        } else {
                            format!(" {minus} {s}")
                        });
                    } else {
                        let s = self.wrap(t, Prec::Mul);
                        out.push_str(&if k == 0 { s } else { format!(" + {s}") });
                    }
                }
                out
            }
            Term::Mul(fs) => self.product(fs),
            Term::Pow(b, e) if e.is_negative() => {
                let inv = crate::simplify::pow((**b).clone(), -e.clone());
                let below = if self.style == Style::Latex {
                    self.term(&inv)
                } else {
                    self.wrap(&inv, Prec::Pow)
                };
                self.style.frac("1", &below)
            }
            Term::Pow(b, e) if vector_norm(b).is_some() && !e.is_integer() => {
                // (Σ_k x_k^2)^(3/2) is ‖x‖^3
                let norm = self.term(&Term::Fn(Func::Sqrt, b.clone()));
                let n = e * BigRational::from_integer(2.into());
                if n.is_one() {
                    norm
                } else if self.style == Style::Latex {
                    format!("{norm}^{{{}}}", n.numer())
                } else {
                    format!("{norm}^{}", n.numer())
                }
            }
            Term::Pow(b, e) => {
                let base = self.wrap(b, Prec::Atom);
                // `{z^{(1)}_{j}}^{2}`: no double superscript
                let base = if self.style == Style::Latex && base.contains('^') && !base.ends_with(')') {
                    format!("{{{base}}}")
                } else {
                    base
                };
                match (self.style, e.is_integer()) {
                    (Style::Latex, true) => format!("{base}^{{{}}}", e.numer()),
                    (Style::Latex, false) => format!("{base}^{{{}/{}}}", e.numer(), e.denom()),
                    (_, true) => format!("{base}^{}", e.numer()),
                    (_, false) => format!("{base}^({}/{})", e.numer(), e.denom()),
                }
            }
            Term::Fn(Func::Sqrt, x) if vector_norm(x).is_some() => {
                let name = match vector_norm(x).expect("just matched") {
                    Name::Tensor(n) => names::tensor(n, self.style),
                    Name::Grad { of, wrt } => names::gradient(of, wrt, self.style),
                    Name::Matrix(..) => unreachable!("an entry of a matrix function has two indices"),
                };
                self.style.norm(&name)
            }
            Term::Fn(f, x) => {
                let arg = self.term(x);
                self.style.call(f, &arg)
            }
            Term::Sum(ks, body) => {
                // Σ_l (Σ_k A_ik B_kl) C_lj is written as one Σ_kl A_ik B_kl C_lj
                let n_own = ks.len();
                let (mut ks, body) = hoisted(ks, body);
                if ks.len() > n_own {
                    // in the order the body first writes them: Σ_kl A_ik B_kl C_lj
                    let order = first_written(&body);
                    ks.sort_by_key(|k| order.iter().position(|o| o == k).unwrap_or(usize::MAX));
                }
                let (ks, body) = (&ks, &body);
                let n = self.namer.bind(ks);
                let names: Vec<String> = ks.iter().map(|k| self.namer.name(k)).collect();
                let body = self.wrap(body, Prec::Mul);
                self.namer.release(n);
                let sub = if self.style == Style::Latex {
                    format!("_{{{}}}", names.join(","))
                } else {
                    self.style.subscript(&names)
                };
                format!("{}{sub} {body}", self.style.sum())
            }
        }
    }

    fn wrap(&mut self, t: &Term, at_least: Prec) -> String {
        let s = self.term(t);
        if prec(t) < at_least {
            self.style.paren(&s)
        } else {
            s
        }
    }

    /// The longest LaTeX numerator (in characters of source) written over its
    /// denominator; a longer one follows `\frac{1}{…}`.
    const LONG_NUMERATOR: usize = 120;

    /// `c a b / (d e)`, with scalar denominators in a leading fraction: `1/S x`,
    /// `1/K (ŷ − y) / (ŷ (1 − ŷ))`, and `1 / (2 sqrt(x))` when nothing is above.
    fn product(&mut self, fs: &[Term]) -> String {
        let minus = self.style.minus();
        let mut coefficient = BigRational::one();
        let mut numerator: Vec<&Term> = Vec::new();
        let mut denominator: Vec<Term> = Vec::new();
        for f in fs {
            match f {
                Term::Num(n) => coefficient *= n,
                Term::Pow(b, e) if e.is_negative() => denominator.push(crate::simplify::pow((**b).clone(), -e.clone())),
                f => numerator.push(f),
            }
        }
        let sign = if coefficient.is_negative() { minus } else { "" };
        let c = coefficient.abs();
        // a decimal coefficient (`0.044715 x^3`) stands in the numerator
        let (p, q) = match decimal(&c) {
            Some(d) => (d, "1".to_string()),
            None => (c.numer().to_string(), c.denom().to_string()),
        };
        let (scalars, others): (Vec<Term>, Vec<Term>) = denominator.into_iter().partition(|d| d.free().is_empty());
        let join = |this: &mut Self, ds: &[Term], q: &str| -> String {
            let mut parts: Vec<String> = Vec::new();
            if q != "1" {
                parts.push(q.to_string());
            }
            // a lone denominator of a LaTeX \frac needs no parentheses:
            // `\frac{\exp(Z_{sk})}{\sum_{j} \exp(Z_{sj})}`
            let alone = ds.len() == 1 && q == "1" && this.style == Style::Latex;
            parts.extend(
                ds.iter()
                    .map(|d| if alone { this.term(d) } else { this.wrap(d, Prec::Pow) }),
            );
            match (parts.len(), this.style) {
                (1, _) => parts.pop().unwrap(),
                (_, Style::Latex) => parts.join(" "),
                _ => format!("({})", parts.join(" ")),
            }
        };
        if numerator.is_empty() {
            let below: Vec<Term> = scalars.into_iter().chain(others).collect();
            return if below.is_empty() && q == "1" {
                format!("{sign}{p}")
            } else {
                let den = join(self, &below, &q);
                format!("{sign}{}", self.style.frac(&p, &den))
            };
        }
        let mut parts: Vec<String> = Vec::new();
        if !scalars.is_empty() || q != "1" {
            let den = join(self, &scalars, &q);
            parts.push(self.style.frac(&p, &den));
        } else if p != "1" {
            parts.push(p.clone());
        }
        let last = numerator.len();
        // the one factor over a LaTeX denominator needs no parentheses
        let sole = match numerator.as_slice() {
            [f] if !others.is_empty() && self.style == Style::Latex => Some(self.term(f)),
            _ => None,
        };
        for (k, f) in numerator.into_iter().enumerate() {
            // A Σ takes the rest of the product: only the last factor may be one bare.
            let s = if matches!(f, Term::Sum(..)) && k + 1 < last {
                let inner = self.term(f);
                self.style.paren(&inner)
            } else if matches!(f, Term::Sum(..)) && self.style == Style::Latex {
                // in LaTeX a last Σ stands bare, as the documents write it:
                // `\frac{1}{S} \sum_{s,k} T_{sk} \log(Y_{sk})`
                self.term(f)
            } else {
                self.wrap(f, Prec::Pow)
            };
            parts.push(s);
        }
        if !others.is_empty() && self.style == Style::Latex {
            // `\frac{1}{K} \frac{ŷ − y}{ŷ (1 − ŷ)}`: the lead fraction stays in front.
            let lead = if !scalars.is_empty() || q != "1" || p != "1" {
                format!("{} ", parts.remove(0))
            } else {
                String::new()
            };
            let den = join(self, &others, "1");
            let after = parts.join(" ");
            // a numerator too long for one line stands after `\frac{1}{…}`,
            // where a long line can break
            if after.len() > Self::LONG_NUMERATOR {
                return format!("{sign}{lead}{} {after}", self.style.frac("1", &den));
            }
            let above = sole.unwrap_or(after);
            return format!("{sign}{lead}{}", self.style.frac(&above, &den));
        }
        let mut out = format!("{sign}{}", parts.join(" "));
        if !others.is_empty() {
            out.push_str(&format!(" / {}", join(self, &others, "1")));
        }
        out
    }
}

/// The indices and body of a sum with the sums nested in it taken out, so
/// that nested sums print as one: `Σ_k Σ_l t` and `Σ_l (Σ_k a_k b_kl) c_l`
/// are `Σ_kl …`. A nested sum stays where its index is free in another
/// factor (it cannot be, with fresh bound indices, but the printer does not
/// rely on that).
fn hoisted(ks: &[Ix], body: &Term) -> (Vec<Ix>, Term) {
    let mut ks = ks.to_vec();
    let mut body = body.clone();
    loop {
        match body {
            Term::Sum(inner, b) => {
                ks.extend(inner);
                body = *b;
            }
            Term::Mul(fs) => {
                let at = fs.iter().enumerate().position(|(k, f)| match f {
                    Term::Sum(inner, _) => fs
                        .iter()
                        .enumerate()
                        .all(|(j, g)| j == k || inner.iter().all(|i| !g.free().contains(i))),
                    _ => false,
                });
                let Some(at) = at else {
                    return (ks, Term::Mul(fs));
                };
                let mut fs = fs;
                let Term::Sum(inner, b) = fs.remove(at) else {
                    unreachable!("just found")
                };
                ks.extend(inner);
                let spliced: Vec<Term> = match *b {
                    Term::Mul(gs) => gs,
                    b => vec![b],
                };
                for (n, g) in spliced.into_iter().enumerate() {
                    fs.insert(at + n, g);
                }
                body = Term::Mul(fs);
            }
            b => return (ks, b),
        }
    }
}

/// The indices of `t` in the order they are first written.
fn first_written(t: &Term) -> Vec<Ix> {
    fn go(t: &Term, out: &mut Vec<Ix>) {
        let mut see = |i: &Ix| {
            if !out.contains(i) {
                out.push(i.clone());
            }
        };
        match t {
            Term::Var(_, ix) => ix.iter().for_each(see),
            Term::Delta(a, b) => {
                see(a);
                see(b);
            }
            Term::Add(ts) | Term::Mul(ts) => ts.iter().for_each(|x| go(x, out)),
            Term::Pow(b, _) | Term::Fn(_, b) | Term::Sum(_, b) => go(b, out),
            Term::Num(_) | Term::Pi => {}
        }
    }
    let mut out = Vec::new();
    go(t, &mut out);
    out
}

/// The vector `x` of `Σ_k x_k^2` (what `sqrt` makes the norm `‖x‖`, as
/// `norm_k(x_k)` is written).
fn vector_norm(t: &Term) -> Option<&Name> {
    let Term::Sum(ks, body) = t else { return None };
    let Term::Pow(base, e) = &**body else { return None };
    match &**base {
        Term::Var(name, ix) if ks.len() == 1 && *ix == *ks && *e == BigRational::from_integer(2.into()) => Some(name),
        _ => None,
    }
}

fn is_negative(t: &Term) -> bool {
    split_coefficient(t).0.is_negative()
}

/// `∂L/∂W_ij`: the left side of an index-form result (`in_term`: as a factor
/// inside a term, `(∂L/∂Y)_si`); in LaTeX `\frac{\partial L}{\partial W_{ij}}`.
pub fn gradient_head(of: &str, wrt: &str, indices: &[String], style: Style, in_term: bool) -> String {
    if style == Style::Latex {
        return format!(
            "\\frac{{\\partial {}}}{{\\partial {}{}}}",
            names::latex_name(of),
            names::latex_name(wrt),
            style.subscript(indices)
        );
    }
    let g = names::gradient(of, wrt, style);
    if in_term && !indices.is_empty() {
        format!("({g}){}", style.subscript(indices))
    } else {
        format!("{g}{}", style.subscript(indices))
    }
}

/// The left side of a result's index form, by its kind: `∂L/∂W_ij`, a
/// Jacobian's `∂z_i/∂s_j`, a Hessian's `∂²L/∂w_i∂w_j`, an HVP's `(∂²L/∂w∂w v)_j`.
pub fn result_head(of: &str, r: &GradientResult, ix: &[String], style: Style) -> String {
    let (a, b) = ix.split_at(r.lead.min(ix.len()));
    let tensor = |n: &str, ix: &[String]| format!("{}{}", names::tensor(n, style), style.subscript(ix));
    match r.kind {
        Kind::Gradient => gradient_head(of, &r.name, ix, style, false),
        Kind::Jacobian => match style {
            Style::Latex => format!(
                "\\frac{{\\partial {}}}{{\\partial {}}}",
                tensor(of, a),
                tensor(&r.name, b)
            ),
            Style::Ascii => format!("d{}/d{}", tensor(of, a), tensor(&r.name, b)),
            Style::Unicode => format!("∂{}/∂{}", tensor(of, a), tensor(&r.name, b)),
        },
        Kind::Hessian => match style {
            Style::Latex => format!(
                "\\frac{{\\partial^2 {}}}{{\\partial {} \\partial {}}}",
                names::tensor(of, style),
                tensor(&r.name, a),
                tensor(&r.name, b)
            ),
            Style::Ascii => format!(
                "d2{}/d{} d{}",
                names::tensor(of, style),
                tensor(&r.name, a),
                tensor(&r.name, b)
            ),
            Style::Unicode => format!(
                "∂²{}/∂{}∂{}",
                names::tensor(of, style),
                tensor(&r.name, a),
                tensor(&r.name, b)
            ),
        },
        Kind::Hvp => match style {
            Style::Latex => format!("\\left({}\\right){}", names::result(of, r, style), style.subscript(ix)),
            _ => format!("({}){}", names::result(of, r, style), style.subscript(ix)),
        },
    }
}

#[cfg(test)]
mod decimal_tests {
    use super::*;

    fn q(n: i64, d: i64) -> BigRational {
        BigRational::new(n.into(), d.into())
    }

    #[test]
    fn a_decimal_prints_as_one_when_it_is_shorter() {
        assert_eq!(decimal(&q(997355701, 1250000000)).as_deref(), Some("0.7978845608"));
        assert_eq!(decimal(&q(8943, 200000)).as_deref(), Some("0.044715"));
        assert_eq!(decimal(&q(101, 50)).as_deref(), Some("2.02"));
        // a tie or a longer decimal keeps the fraction; a third has no decimal
        assert_eq!(decimal(&q(1, 2)), None);
        assert_eq!(decimal(&q(1, 8)), None);
        assert_eq!(decimal(&q(1, 3)), None);
        assert_eq!(number(&q(-8943, 200000), Style::Unicode), "−0.044715");
    }
}

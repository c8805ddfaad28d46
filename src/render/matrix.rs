//! The matrix form as text: `(∂L/∂Y)ᵀ X`, `Y ⊙ (∂L/∂Y − (∂L/∂Y ⊙ Y) 1 1ᵀ)`.
//!
//! The matrix product binds tighter than `⊙` and `⊘`; a product inside `⊙`, and
//! anything but a name inside a transpose, is parenthesised so that no reader
//! has to hesitate.

use std::collections::{BTreeSet, HashMap};

use num_traits::{One, Signed};

use super::index::{Namer, Printer};
use super::names::{self, Style};
use super::softmax::{softmax_rows, softmax_vector};
use crate::matrix::{shape, Mat};
use crate::term::{Name, Term};

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Prec {
    Add,
    Scale,
    Had,
    MatMul,
    Atom,
}

fn prec(m: &Mat) -> Prec {
    match m {
        Mat::Add(_) => Prec::Add,
        Mat::Scale(..) => Prec::Scale,
        Mat::Had(_) | Mat::HDiv(..) => Prec::Had,
        Mat::MatMul(xs) if matches!(softmax_rows(xs), Some((_, None))) => Prec::Atom,
        Mat::MatMul(_) => Prec::MatMul,
        Mat::Scalar(t)
            if !matches!(t, Term::Var(..) | Term::Pi)
                && !matches!(t, Term::Num(n) if n.is_integer() && !n.is_negative()) =>
        {
            Prec::Scale
        }
        _ => Prec::Atom,
    }
}

/// Renders a matrix expression.
pub fn render(m: &Mat, style: Style) -> String {
    Render { style }.mat(m)
}

struct Render {
    style: Style,
}

impl Render {
    fn scalar(&self, t: &Term) -> String {
        if crate::matrix::has_sum(t) {
            // a softmax's coefficient `Σ_k t_k` reads `1ᵀ t` like the rest
            let m = crate::matrix::spell(t);
            if !matches!(&m, Mat::Scalar(u) if u == t) {
                return self.mat(&m);
            }
        }
        let mut namer = Namer::new(&BTreeSet::new());
        if let Term::Mul(fs) = t {
            // `−1/a · L`, not `−1/a L` (read as −1/(a L))
            let (lead, rest): (Vec<Term>, Vec<Term>) = fs
                .iter()
                .cloned()
                .partition(|f| matches!(f, Term::Num(_)) || matches!(f, Term::Pow(_, e) if e.is_negative()));
            let lead = crate::simplify::mul(lead);
            if self.style != Style::Latex && is_fraction(&lead) && !rest.is_empty() {
                let mut p = Printer::new(self.style, &mut namer);
                let (c, r) = (p.term(&lead), p.term(&crate::simplify::mul(rest)));
                return format!("{c} {} {r}", self.style.dot());
            }
        }
        Printer::new(self.style, &mut namer).term(t)
    }

    fn wrap(&self, m: &Mat, at_least: Prec) -> String {
        let s = self.mat(m);
        if prec(m) < at_least {
            self.style.paren(&s)
        } else {
            s
        }
    }

    fn mat(&self, m: &Mat) -> String {
        let st = self.style;
        let (minus, t_mark, had, hdiv) = (st.minus(), st.transpose(), st.had(), st.hdiv());
        match m {
            Mat::Var(Name::Tensor(n), _) => names::tensor(n, self.style),
            Mat::Var(Name::Grad { of, wrt }, _) => names::gradient(of, wrt, self.style),
            Mat::Var(Name::Matrix(f, a), _) => names::matrix_fn(*f, a, false, self.style),
            Mat::T(x) if matches!(&**x, Mat::Var(Name::Matrix(crate::term::MatrixFn::Inv, _), _)) => {
                let Mat::Var(Name::Matrix(f, a), _) = &**x else {
                    unreachable!()
                };
                names::matrix_fn(*f, a, true, self.style)
            }
            Mat::Scalar(t) => self.scalar(t),
            Mat::T(x) => {
                let inner = self.mat(x);
                let bare = matches!(**x, Mat::Ones(_))
                    || matches!(&**x, Mat::Var(Name::Tensor(_), _))
                    || matches!(&**x, Mat::MatMul(xs) if crate::matrix::diagonal_of(xs).is_some());
                if bare && st == Style::Latex && inner.contains('^') {
                    format!("{{{inner}}}{t_mark}")
                } else if bare {
                    format!("{inner}{t_mark}")
                } else {
                    format!("{}{t_mark}", st.paren(&inner))
                }
            }
            Mat::MatMul(xs) if softmax_rows(xs).is_some() => {
                // `diag(g ⊘ (exp(Z) 1)) exp(Z)` is `diag(g) softmax(Z)`
                let (z, weights) = softmax_rows(xs).expect("just matched");
                let name = if st == Style::Latex {
                    "\\operatorname{softmax}"
                } else {
                    "softmax"
                };
                let softmax = format!("{name}{}", st.paren(&self.mat(z)));
                match weights {
                    None => softmax,
                    Some(g) => format!("{} {softmax}", self.mat(&Mat::Diag(Box::new(g.clone())))),
                }
            }
            // 1ᵀ (X ⊙ I) 1 is tr(X); (X ⊙ I) 1 is diag(X)
            Mat::MatMul(xs) if trace_of(xs).is_some() || crate::matrix::diagonal_of(xs).is_some() => {
                let (name, inner) = match trace_of(xs) {
                    Some(x) => ("tr", x),
                    None => ("diag", crate::matrix::diagonal_of(xs).expect("just matched")),
                };
                let arg = match inner {
                    [x] => self.mat(x),
                    xs => self.mat(&Mat::Had(xs.to_vec())),
                };
                let name = if st == Style::Latex {
                    format!("\\operatorname{{{name}}}")
                } else {
                    name.to_string()
                };
                format!("{name}{}", st.paren(&arg))
            }
            Mat::MatMul(xs) => {
                // an inner product that only scales what follows is set
                // apart: `(1ᵀ p) q`, not `1ᵀ p q`
                let mut parts: Vec<String> = Vec::new();
                let mut run: Vec<&Mat> = Vec::new();
                for (k, x) in xs.iter().enumerate() {
                    run.push(x);
                    let scalar = run.len() >= 2
                        && shape(&Mat::MatMul(run.iter().map(|m| (*m).clone()).collect())) == (None, None);
                    if run.len() == 1 && k + 1 < xs.len() && shape(x) == (None, None) {
                        parts.push(self.wrap(x, Prec::Atom));
                        run.clear();
                    } else if scalar && k + 1 < xs.len() {
                        let owned: Vec<Mat> = run.iter().map(|m| (*m).clone()).collect();
                        if trace_of(&owned).is_some() {
                            parts.push(self.mat(&Mat::MatMul(owned)));
                        } else {
                            let inner: Vec<String> = run.iter().map(|m| self.wrap(m, Prec::Atom)).collect();
                            parts.push(st.paren(&inner.join(" ")));
                        }
                        run.clear();
                    }
                }
                parts.extend(run.iter().map(|m| self.wrap(m, Prec::Atom)));
                parts.join(" ")
            }
            Mat::Had(xs) => xs
                .iter()
                .map(|x| self.wrap(x, Prec::Atom))
                .collect::<Vec<_>>()
                .join(&format!(" {had} ")),
            Mat::HDiv(a, b) => format!("{} {hdiv} {}", self.wrap(a, Prec::Had), self.wrap(b, Prec::Atom)),
            Mat::Add(ts) => {
                let mut out = String::new();
                for (k, (negative, x)) in ts.iter().enumerate() {
                    let s = self.wrap(x, Prec::Scale);
                    match (k, negative) {
                        (0, false) => out.push_str(&s),
                        (0, true) => out.push_str(&format!("{minus}{s}")),
                        (_, false) => out.push_str(&format!(" + {s}")),
                        (_, true) => out.push_str(&format!(" {minus} {s}")),
                    }
                }
                out
            }
            Mat::Scale(s, x) if softmax_vector(s, x).is_some() => {
                // `c / Σ_k exp(z_k) exp(z) ⊙ r` is `c softmax(z) ⊙ r`
                let (c, z, rest) = softmax_vector(s, x).expect("just matched");
                let name = if st == Style::Latex {
                    "\\operatorname{softmax}"
                } else {
                    "softmax"
                };
                let mut parts = vec![format!("{name}{}", st.paren(&self.mat(z)))];
                parts.extend(rest.into_iter().map(|m| self.wrap(m, Prec::Atom)));
                let body = parts.join(&format!(" {had} "));
                match c {
                    c if c.is_one() => body,
                    c if c == Term::int(-1) => format!("{minus}{body}"),
                    Term::Add(ts) => format!("({}) {body}", self.scalar(&Term::Add(ts))),
                    c => format!("{} {body}", self.scalar(&c)),
                }
            }
            Mat::Scale(s, x) => {
                let body = self.wrap(x, Prec::Had);
                if s.is_one() {
                    body
                } else if *s == Term::int(-1) {
                    format!("{minus}{body}")
                } else {
                    // a coefficient without sums as the index form writes it
                    // (`1/‖a‖ L`), the `·` coming before the matrix
                    let sc = if crate::matrix::has_sum(s) {
                        self.scalar(s)
                    } else {
                        Printer::new(st, &mut Namer::new(&BTreeSet::new())).term(s)
                    };
                    let sc = if matches!(s, Term::Add(_)) {
                        format!("({sc})")
                    } else {
                        sc
                    };
                    match &**x {
                        // `c (1 ⊘ x^∘e)` reads `c x^∘(−e)`
                        Mat::Pow(base, e)
                            if *e == -num_rational::BigRational::one() && matches!(**base, Mat::Pow(..)) =>
                        {
                            let Mat::Pow(b, e) = &**base else { unreachable!() };
                            let inv = Mat::Pow(b.clone(), -e.clone());
                            format!("{sc} {}", self.mat(&inv))
                        }
                        // `c (1 ⊘ x)` reads better as `c ⊘ x`
                        Mat::Pow(base, e) if *e == -num_rational::BigRational::one() => {
                            format!("{sc} {hdiv} {}", self.wrap(base, Prec::Atom))
                        }
                        // a scalar fraction before a matrix that does not
                        // open with a parenthesis: `−2/a · L`, not `−2/a L`
                        // (read as −2/(a L)); `1/S (Y − T)` is unambiguous
                        _ if st != Style::Latex && is_fraction(s) && !body.starts_with('(') => {
                            format!("{sc} {} {body}", st.dot())
                        }
                        _ => format!("{sc} {body}"),
                    }
                }
            }
            Mat::Ones(_) => st.ones().into(),
            Mat::Eye(_) => "I".into(),
            Mat::Map(f, x) => st.call(f, &self.mat(x)),
            Mat::Pow(x, e) if shape(x) == (None, None) => {
                // a scalar's power: `(1ᵀ exp(z))⁻¹`, `(xᵀ x)^2`
                let base = self.wrap(x, Prec::Atom);
                let base = if matches!(**x, Mat::Var(..) | Mat::Scalar(Term::Var(..))) || base.starts_with('(') {
                    base
                } else {
                    st.paren(&base)
                };
                let n = if e.is_integer() && !e.is_negative() {
                    number_plain(e, st)
                } else {
                    format!("({})", number_plain(e, st))
                };
                match (st, e == &-num_rational::BigRational::one()) {
                    (Style::Unicode, true) => format!("{base}⁻¹"),
                    (Style::Latex, _) => format!("{base}^{{{}}}", number_plain(e, Style::Latex)),
                    _ => format!("{base}^{n}"),
                }
            }
            Mat::Pow(x, e) => {
                let base = self.wrap(x, Prec::Atom);
                // `{z^{(1)}}^{\circ 2}`: no double superscript
                let base = if st == Style::Latex && base.contains('^') && !base.ends_with(')') {
                    format!("{{{base}}}")
                } else {
                    base
                };
                if *e == -num_rational::BigRational::one() {
                    return format!("1 {hdiv} {base}");
                }
                let exponent = if e.is_integer() && !e.is_negative() {
                    e.numer().to_string()
                } else {
                    format!("({})", number_plain(e, st))
                };
                match st {
                    Style::Unicode => format!("{base}^∘{exponent}"),
                    Style::Ascii => format!("{base}^{exponent}"),
                    Style::Latex => format!("{base}^{{\\circ {exponent}}}"),
                }
            }
            Mat::Diag(x) => {
                let name = if st == Style::Latex {
                    "\\operatorname{diag}"
                } else {
                    "diag"
                };
                format!("{name}{}", st.paren(&self.mat(x)))
            }
        }
    }
}

/// An exponent as written in a power: `2`, `−4/3`.
fn number_plain(e: &num_rational::BigRational, st: Style) -> String {
    let sign = if e.is_negative() { st.minus() } else { "" };
    let a = e.abs();
    if a.is_integer() {
        format!("{sign}{}", a.numer())
    } else {
        format!("{sign}{}/{}", a.numer(), a.denom())
    }
}

/// Whether a coefficient prints as a fraction `p/q`, `1/a`, `2/(a b)`.
fn is_fraction(t: &Term) -> bool {
    match t {
        Term::Num(n) => !n.is_integer() && super::index::decimal(&n.abs()).is_none(),
        Term::Pow(_, e) => e.is_negative(),
        Term::Mul(fs) => fs.iter().any(is_fraction),
        _ => false,
    }
}

/// A matrix form with a function call it repeats named once: the form with
/// the call replaced by a fresh name, and the name with its definition
/// (`t`, `tanh(…)`). GELU's derivative repeats `tanh(…)` three times; it
/// reads `… (1 − t^∘2) … where t = tanh(…)`. `None` when nothing worth
/// naming (a call whose argument is more than a name) is repeated.
pub fn named_repeat(m: &Mat) -> Option<(Mat, Name, Mat)> {
    // each call, counted by hash (not compared pairwise: a long result has
    // thousands of calls)
    // (count, place of the last occurrence) by call
    fn calls<'a>(m: &'a Mat, out: &mut HashMap<&'a Mat, (usize, usize)>, seen: &mut usize) {
        if let Mat::Map(_, x) = m {
            if crate::matrix::cost(x) >= 3 {
                let e = out.entry(m).or_default();
                *e = (e.0 + 1, *seen);
                *seen += 1;
            }
        }
        m.fold((), |(), x| calls(x, out, seen));
    }
    fn names(m: &Mat, out: &mut BTreeSet<String>) {
        if let Mat::Var(Name::Tensor(n), _) = m {
            out.insert(n.to_string());
        }
        m.fold((), |(), x| names(x, out));
    }
    fn replace(m: Mat, what: &Mat, by: &Mat) -> Mat {
        if &m == what {
            by.clone()
        } else {
            m.map(|x| replace(x, what, by))
        }
    }
    let mut found = HashMap::new();
    calls(m, &mut found, &mut 0);
    // the costliest repeated call; among equal costs the one repeated last
    let repeated: &Mat = found
        .into_iter()
        .filter(|(_, (n, _))| *n >= 2)
        .max_by_key(|(c, (_, last))| (crate::matrix::cost(c), *last))
        .map(|(c, _)| c)?;
    let mut taken = BTreeSet::new();
    names(m, &mut taken);
    let Mat::Map(f, _) = repeated else { return None };
    let first = f.name(true).chars().next().filter(|c| c.is_ascii_alphabetic());
    let name = first
        .map(|c| c.to_string())
        .into_iter()
        .chain(["t", "u", "v", "r", "q"].map(String::from))
        .find(|n| !taken.contains(n))?;
    let dims: Vec<u32> = match shape(repeated) {
        (Some(r), Some(c)) => vec![r, c],
        (Some(r), None) => vec![r],
        (None, Some(c)) => vec![c],
        (None, None) => vec![],
    };
    let name = Name::Tensor(name.as_str().into());
    let short = Mat::Var(name.clone(), dims);
    Some((replace(m.clone(), repeated, &short), name, repeated.clone()))
}

/// The matrix form as text with a repeated call named once: `… where t = tanh(…)`.
pub fn render_named(m: &Mat, style: Style) -> String {
    match named_repeat(m) {
        Some((short, name, def)) => {
            let Name::Tensor(n) = &name else {
                unreachable!("a fresh tensor name")
            };
            let n = names::tensor(n, style);
            let (body, def) = (render(&short, style), render(&def, style));
            match style {
                Style::Latex => format!("{body}, \\quad \\text{{where }} {n} = {def}"),
                _ => format!("{body}  where {n} = {def}"),
            }
        }
        None => render(m, style),
    }
}

/// The matrix `X` of `1ᵀ (X ⊙ I) 1`, the trace of `X`.
fn trace_of(xs: &[Mat]) -> Option<&[Mat]> {
    match xs {
        [Mat::T(o), rest @ ..] if matches!(**o, Mat::Ones(_)) => crate::matrix::diagonal_of(rest),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::term::Func;
    use num_rational::BigRational;

    fn var(name: &str, dims: &[u32]) -> Mat {
        Mat::Var(Name::Tensor(name.into()), dims.to_vec())
    }

    #[test]
    fn a_scalar_fraction_before_a_matrix_takes_a_dot() {
        let a = Term::Var(Name::Tensor("a".into()), vec![]);
        let two_over_a = crate::simplify::mul(vec![Term::int(-2), Term::Pow(Box::new(a), -BigRational::one())]);
        let l = var("L", &[1, 1]);
        let m = Mat::Scale(two_over_a.clone(), Box::new(l.clone()));
        assert_eq!(render(&m, Style::Unicode), "−2/a · L");
        assert_eq!(render(&m, Style::Ascii), "-2/a * L");
        // not before a parenthesised group, nor in LaTeX (a \frac is unambiguous)
        let group = Mat::Scale(
            two_over_a,
            Box::new(Mat::Add(vec![(false, l.clone()), (true, var("T", &[1, 1]))])),
        );
        assert_eq!(render(&group, Style::Unicode), "−2/a (L − T)");
        assert!(!render(&m, Style::Latex).contains("cdot"));
    }

    #[test]
    fn an_inner_product_that_scales_is_set_apart() {
        let (p, q) = (var("p", &[1]), var("q", &[1]));
        let m = Mat::MatMul(vec![Mat::T(Box::new(Mat::Ones(1))), p.clone(), q.clone()]);
        assert_eq!(render(&m, Style::Unicode), "(1ᵀ p) q");
        let inv = Mat::Pow(
            Box::new(Mat::MatMul(vec![Mat::T(Box::new(p.clone())), q.clone()])),
            -BigRational::one(),
        );
        assert_eq!(render(&inv, Style::Unicode), "(pᵀ q)⁻¹");
        assert_eq!(render(&inv, Style::Ascii), "(p^T q)^(-1)");
    }

    #[test]
    fn a_repeated_call_is_named_once() {
        let x = var("x", &[1]);
        let arg = Mat::Scale(
            Term::int(2),
            Box::new(Mat::Pow(Box::new(x.clone()), BigRational::from_integer(3.into()))),
        );
        let t = Mat::Map(Func::Tanh, Box::new(arg));
        let m = Mat::Add(vec![
            (false, t.clone()),
            (
                false,
                Mat::Had(vec![
                    x.clone(),
                    Mat::Pow(Box::new(t), BigRational::from_integer(2.into())),
                ]),
            ),
        ]);
        assert_eq!(render_named(&m, Style::Unicode), "t + x ⊙ t^∘2  where t = tanh(2 x^∘3)");
        // nothing repeated: the form as it is
        assert_eq!(render_named(&x, Style::Unicode), "x");
    }
}

//! The matrix form as text: `(∂L/∂Y)ᵀ X`, `Y ⊙ (∂L/∂Y − (∂L/∂Y ⊙ Y) 1 1ᵀ)`.
//!
//! The matrix product binds tighter than `⊙` and `⊘`; a product inside `⊙`, and
//! anything but a name inside a transpose, is parenthesised so that no reader
//! has to hesitate.

use std::collections::BTreeSet;

use num_traits::{One, Signed};

use super::index::{Namer, Printer};
use super::names::{self, Style};
use super::softmax::{softmax_rows, softmax_vector};
use crate::matrix::Mat;
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
        let mut namer = Namer::new(&BTreeSet::new());
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
                let bare = matches!(**x, Mat::Ones(_)) || matches!(&**x, Mat::Var(Name::Tensor(_), _));
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
            Mat::MatMul(xs) => xs
                .iter()
                .map(|x| self.wrap(x, Prec::Atom))
                .collect::<Vec<_>>()
                .join(" "),
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
                    let sc = self.scalar(s);
                    let sc = if matches!(s, Term::Add(_)) {
                        format!("({sc})")
                    } else {
                        sc
                    };
                    // `c (1 ⊘ x)` reads better as `c ⊘ x`
                    match &**x {
                        Mat::Pow(base, e) if *e == -num_rational::BigRational::one() => {
                            format!("{sc} {hdiv} {}", self.wrap(base, Prec::Atom))
                        }
                        _ => format!("{sc} {body}"),
                    }
                }
            }
            Mat::Ones(_) => st.ones().into(),
            Mat::Eye(_) => "I".into(),
            Mat::Map(f, x) => st.call(f, &self.mat(x)),
            Mat::Pow(x, e) => {
                let base = self.wrap(x, Prec::Atom);
                if *e == -num_rational::BigRational::one() {
                    return format!("1 {hdiv} {base}");
                }
                let exponent = if e.is_integer() {
                    e.numer().to_string()
                } else {
                    format!("({}/{})", e.numer(), e.denom())
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

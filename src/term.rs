//! Index-level terms: what the differentiator produces and the simplifier rewrites.
//!
//! Every bound index is unique in a whole derivation (Barendregt convention):
//! an [`Ix`] is a display name plus a number, so substituting one index for
//! another can never capture a variable. Names are given back when printing.

use std::collections::BTreeSet;
use std::rc::Rc;
use std::sync::atomic::{AtomicU32, Ordering};

use num_rational::BigRational;
use num_traits::{One, Zero};

/// An index: a display name, a unique number and the dimension class it ranges over.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ix {
    /// The name to print (`s`, `i1`).
    pub name: Rc<str>,
    /// Unique among the indices of a derivation.
    pub id: u32,
    /// Which dimension it ranges over (see `derive::Dims`).
    pub dim: u32,
}

static FRESH: AtomicU32 = AtomicU32::new(1);

impl Ix {
    /// A new index, distinct from every other.
    pub fn fresh(name: &str, dim: u32) -> Ix {
        Ix {
            name: name.into(),
            id: FRESH.fetch_add(1, Ordering::Relaxed),
            dim,
        }
    }
}

/// What a [`Term::Var`] refers to.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Name {
    /// A tensor or scalar of the program (or a range symbol such as `S`).
    Tensor(Rc<str>),
    /// A given upstream gradient `∂of/∂wrt`.
    Grad {
        /// The loss.
        of: Rc<str>,
        /// The tensor.
        wrt: Rc<str>,
    },
}

/// Elementwise functions with known derivatives.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Func {
    /// `exp`.
    Exp,
    /// Natural logarithm.
    Log,
    /// Square root.
    Sqrt,
    /// Hyperbolic tangent.
    Tanh,
    /// The logistic sigmoid `σ`.
    Sigmoid,
    /// `relu`.
    Relu,
    /// `relu'`: the step `[x > 0]`.
    Step,
    /// `softplus`.
    Softplus,
    /// `abs`.
    Abs,
    /// `abs'`: the sign.
    Sign,
    /// An opaque function and how often it was differentiated (`h''` is 2).
    Opaque(Rc<str>, u8),
}

impl Func {
    /// The built-in or opaque function that a call names (`sigmoid`, `σ`, `h'`).
    pub fn from_name(name: &str) -> Func {
        let primes = name.len() - name.trim_end_matches('\'').len();
        let base = name.trim_end_matches('\'');
        let f = match base {
            "exp" => Func::Exp,
            "log" => Func::Log,
            "sqrt" => Func::Sqrt,
            "tanh" => Func::Tanh,
            "sigmoid" | "σ" => Func::Sigmoid,
            "relu" => Func::Relu,
            "softplus" => Func::Softplus,
            "abs" => Func::Abs,
            other => return Func::Opaque(other.into(), primes as u8),
        };
        (0..primes).fold(f, |f, _| match f {
            Func::Relu => Func::Step,
            Func::Abs => Func::Sign,
            // a primed built-in other than relu' and abs' is an opaque name
            other => Func::Opaque(format!("{}'", other.name(false)).into(), 0),
        })
    }

    /// The printed name (`σ`, `relu'`, `h''`).
    pub fn name(&self, ascii: bool) -> String {
        match self {
            Func::Exp => "exp".into(),
            Func::Log => "log".into(),
            Func::Sqrt => "sqrt".into(),
            Func::Tanh => "tanh".into(),
            Func::Sigmoid if ascii => "sigmoid".into(),
            Func::Sigmoid => "σ".into(),
            Func::Relu => "relu".into(),
            Func::Step => "relu'".into(),
            Func::Softplus => "softplus".into(),
            Func::Abs => "abs".into(),
            Func::Sign => "sign".into(),
            Func::Opaque(name, primes) => format!("{name}{}", "'".repeat(*primes as usize)),
        }
    }
}

/// What `i` is renamed to by `map`, a stack of `(from, to)` scopes in which the
/// innermost (last) binding wins; `i` itself when it is not bound there.
pub fn bound_to(i: &Ix, map: &[(Ix, Ix)]) -> Ix {
    map.iter()
        .rev()
        .find(|(from, _)| from == i)
        .map_or_else(|| i.clone(), |(_, to)| to.clone())
}

/// An index-level expression.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Term {
    /// An exact number.
    Num(BigRational),
    /// π.
    Pi,
    /// A tensor access `X_ij`, a scalar `S`, or a given gradient `(∂L/∂Y)_ij`.
    Var(Name, Vec<Ix>),
    /// The Kronecker delta.
    Delta(Ix, Ix),
    /// A sum of terms.
    Add(Vec<Term>),
    /// A product of factors.
    Mul(Vec<Term>),
    /// A power with an exact exponent.
    Pow(Box<Term>, BigRational),
    /// An elementwise function.
    Fn(Func, Box<Term>),
    /// `Σ_{indices} body`.
    Sum(Vec<Ix>, Box<Term>),
}

impl Term {
    /// The number `n`.
    pub fn int(n: i64) -> Term {
        Term::Num(BigRational::from_integer(n.into()))
    }

    /// Zero.
    pub fn zero() -> Term {
        Term::int(0)
    }

    /// One.
    pub fn one() -> Term {
        Term::int(1)
    }

    /// Whether this is the number zero.
    pub fn is_zero(&self) -> bool {
        matches!(self, Term::Num(n) if n.is_zero())
    }

    /// Whether this is the number one.
    pub fn is_one(&self) -> bool {
        matches!(self, Term::Num(n) if n.is_one())
    }

    /// `base^e`.
    pub fn pow(base: Term, e: i64) -> Term {
        Term::Pow(Box::new(base), BigRational::from_integer(e.into()))
    }

    /// `-t`.
    pub fn negate(t: Term) -> Term {
        Term::Mul(vec![Term::int(-1), t])
    }

    /// The indices free in this term.
    pub fn free(&self) -> BTreeSet<Ix> {
        let mut out = BTreeSet::new();
        self.collect_free(&mut out);
        out
    }

    fn collect_free(&self, out: &mut BTreeSet<Ix>) {
        match self {
            Term::Num(_) | Term::Pi => {}
            Term::Var(_, ix) => out.extend(ix.iter().cloned()),
            Term::Delta(a, b) => {
                out.insert(a.clone());
                out.insert(b.clone());
            }
            Term::Add(ts) | Term::Mul(ts) => ts.iter().for_each(|t| t.collect_free(out)),
            Term::Pow(b, _) | Term::Fn(_, b) => b.collect_free(out),
            Term::Sum(ks, body) => {
                let mut inner = BTreeSet::new();
                body.collect_free(&mut inner);
                for k in ks {
                    inner.remove(k);
                }
                out.extend(inner);
            }
        }
    }

    /// Whether index `k` occurs free.
    pub fn mentions(&self, k: &Ix) -> bool {
        match self {
            Term::Num(_) | Term::Pi => false,
            Term::Var(_, ix) => ix.contains(k),
            Term::Delta(a, b) => a == k || b == k,
            Term::Add(ts) | Term::Mul(ts) => ts.iter().any(|t| t.mentions(k)),
            Term::Pow(b, _) | Term::Fn(_, b) => b.mentions(k),
            Term::Sum(ks, body) => !ks.contains(k) && body.mentions(k),
        }
    }

    /// Whether a Kronecker delta occurs anywhere.
    pub fn has_delta(&self) -> bool {
        match self {
            Term::Delta(..) => true,
            Term::Num(_) | Term::Pi | Term::Var(..) => false,
            Term::Add(ts) | Term::Mul(ts) => ts.iter().any(Term::has_delta),
            Term::Pow(b, _) | Term::Fn(_, b) | Term::Sum(_, b) => b.has_delta(),
        }
    }

    /// Replaces every free occurrence of index `from` by `to`. Bound indices are
    /// unique, so no capture can happen.
    pub fn rename(&self, from: &Ix, to: &Ix) -> Term {
        let r = |i: &Ix| if i == from { to.clone() } else { i.clone() };
        match self {
            Term::Num(_) | Term::Pi => self.clone(),
            Term::Var(n, ix) => Term::Var(n.clone(), ix.iter().map(r).collect()),
            Term::Delta(a, b) => Term::Delta(r(a), r(b)),
            Term::Add(ts) => Term::Add(ts.iter().map(|t| t.rename(from, to)).collect()),
            Term::Mul(ts) => Term::Mul(ts.iter().map(|t| t.rename(from, to)).collect()),
            Term::Pow(b, e) => Term::Pow(Box::new(b.rename(from, to)), e.clone()),
            Term::Fn(f, b) => Term::Fn(f.clone(), Box::new(b.rename(from, to))),
            Term::Sum(ks, body) if ks.contains(from) => self.clone(),
            Term::Sum(ks, body) => Term::Sum(ks.clone(), Box::new(body.rename(from, to))),
        }
    }

    /// A copy in which every bound index is replaced by a fresh one (so that the
    /// copy can stand beside the original). One pass.
    pub fn refresh_bound(&self) -> Term {
        self.renamed(&mut Vec::new(), true, &mut |n, ix| Term::Var(n.clone(), ix))
    }

    /// One pass that renames indices by `map` (innermost binding wins) and
    /// rebuilds every tensor access with `var` (given the renamed indices). With
    /// `fresh`, every Σ's indices are replaced by fresh ones on the way down;
    /// without, they keep their names.
    pub fn renamed(&self, map: &mut Vec<(Ix, Ix)>, fresh: bool, var: &mut dyn FnMut(&Name, Vec<Ix>) -> Term) -> Term {
        match self {
            Term::Num(_) | Term::Pi => self.clone(),
            Term::Var(n, ix) => var(n, ix.iter().map(|i| bound_to(i, map)).collect()),
            Term::Delta(a, b) => Term::Delta(bound_to(a, map), bound_to(b, map)),
            Term::Add(ts) => Term::Add(ts.iter().map(|x| x.renamed(map, fresh, var)).collect()),
            Term::Mul(ts) => Term::Mul(ts.iter().map(|x| x.renamed(map, fresh, var)).collect()),
            Term::Pow(b, e) => Term::Pow(Box::new(b.renamed(map, fresh, var)), e.clone()),
            Term::Fn(f, b) => Term::Fn(f.clone(), Box::new(b.renamed(map, fresh, var))),
            Term::Sum(ks, body) => {
                let mark = map.len();
                let bound: Vec<Ix> = if fresh {
                    ks.iter().map(|k| Ix::fresh(&k.name, k.dim)).collect()
                } else {
                    ks.clone()
                };
                map.extend(ks.iter().cloned().zip(bound.iter().cloned()));
                let body = body.renamed(map, fresh, var);
                map.truncate(mark);
                Term::Sum(bound, Box::new(body))
            }
        }
    }

    /// Number of nodes, a rough measure of size.
    pub fn size(&self) -> usize {
        match self {
            Term::Num(_) | Term::Pi | Term::Var(..) | Term::Delta(..) => 1,
            Term::Add(ts) | Term::Mul(ts) => 1 + ts.iter().map(Term::size).sum::<usize>(),
            Term::Pow(b, _) | Term::Fn(_, b) | Term::Sum(_, b) => 1 + b.size(),
        }
    }
}

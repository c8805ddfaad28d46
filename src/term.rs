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

mod builtin;

pub use builtin::{Arg, Func, Latex, Spelling, BUILTINS, BUILTIN_NAMES};

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
    /// A matrix function of the square matrix the program names `A`:
    /// `(A⁻¹)_ij` (two indices), `det A` or `log det A` (none).
    Matrix(MatrixFn, Rc<str>),
}

/// A function of a whole square matrix (SPEC §1): it takes the matrix's
/// name, not an entry, so it is a leaf of a term ([`Name::Matrix`]) rather
/// than an elementwise [`Func`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MatrixFn {
    /// `inv(A)_ij`, the entry (i, j) of A⁻¹.
    Inv,
    /// `det(A)`.
    Det,
    /// `logdet(A)`, log det A.
    LogDet,
}

impl MatrixFn {
    /// Every matrix function.
    pub const ALL: [MatrixFn; 3] = [MatrixFn::Inv, MatrixFn::Det, MatrixFn::LogDet];

    /// The name a program calls it by.
    pub fn source(self) -> &'static str {
        match self {
            MatrixFn::Inv => "inv",
            MatrixFn::Det => "det",
            MatrixFn::LogDet => "logdet",
        }
    }

    /// The matrix function a program's name calls, if it is one.
    pub fn from_source(name: &str) -> Option<MatrixFn> {
        MatrixFn::ALL.into_iter().find(|f| f.source() == name)
    }

    /// How many indices its value takes: 2 for the inverse, 0 for a determinant.
    pub fn order(self) -> usize {
        match self {
            MatrixFn::Inv => 2,
            MatrixFn::Det | MatrixFn::LogDet => 0,
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
            Term::Var(_, ix) => out.extend(ix.iter().cloned()),
            Term::Delta(a, b) => {
                out.insert(a.clone());
                out.insert(b.clone());
            }
            Term::Sum(ks, body) => {
                let mut inner = BTreeSet::new();
                body.collect_free(&mut inner);
                for k in ks {
                    inner.remove(k);
                }
                out.extend(inner);
            }
            _ => self.children().iter().for_each(|t| t.collect_free(out)),
        }
    }

    /// Whether index `k` occurs free.
    pub fn mentions(&self, k: &Ix) -> bool {
        match self {
            Term::Var(_, ix) => ix.contains(k),
            Term::Delta(a, b) => a == k || b == k,
            Term::Sum(ks, _) if ks.contains(k) => false,
            _ => self.children().iter().any(|t| t.mentions(k)),
        }
    }

    /// Whether a Kronecker delta occurs anywhere.
    pub fn has_delta(&self) -> bool {
        matches!(self, Term::Delta(..)) || self.children().iter().any(Term::has_delta)
    }

    /// Replaces every free occurrence of index `from` by `to`. Bound indices are
    /// unique, so no capture can happen.
    pub fn rename(&self, from: &Ix, to: &Ix) -> Term {
        let r = |i: &Ix| if i == from { to.clone() } else { i.clone() };
        match self {
            Term::Var(n, ix) => Term::Var(n.clone(), ix.iter().map(r).collect()),
            Term::Delta(a, b) => Term::Delta(r(a), r(b)),
            Term::Sum(ks, _) if ks.contains(from) => self.clone(),
            _ => self.map_children(|t| t.rename(from, to)),
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
            Term::Var(n, ix) => var(n, ix.iter().map(|i| bound_to(i, map)).collect()),
            Term::Delta(a, b) => Term::Delta(bound_to(a, map), bound_to(b, map)),
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
            _ => self.map_children(|x| x.renamed(map, fresh, var)),
        }
    }

    /// `(A⁻¹)_ij` of the matrix the program names `a`.
    pub fn inv(a: &Rc<str>, i: Ix, j: Ix) -> Term {
        Term::Var(Name::Matrix(MatrixFn::Inv, a.clone()), vec![i, j])
    }

    /// Number of nodes, a rough measure of size.
    pub fn size(&self) -> usize {
        1 + self.children().iter().map(Term::size).sum::<usize>()
    }

    /// The direct subterms: the terms of a sum, the factors of a product, the
    /// base of a power, the argument of a function, the body of a Σ; none for
    /// a leaf. With [`Term::map_children`], the one traversal every recursion
    /// over terms is written with (as egg's `Language` has).
    pub fn children(&self) -> &[Term] {
        match self {
            Term::Num(_) | Term::Pi | Term::Var(..) | Term::Delta(..) => &[],
            Term::Add(ts) | Term::Mul(ts) => ts,
            Term::Pow(b, _) | Term::Fn(_, b) | Term::Sum(_, b) => std::slice::from_ref(&**b),
        }
    }

    /// The same node with each direct subterm replaced by `f` of it (exponent,
    /// function and Σ indices kept); a leaf is cloned. The node is rebuilt as
    /// is, not simplified.
    pub fn map_children(&self, mut f: impl FnMut(&Term) -> Term) -> Term {
        match self {
            Term::Num(_) | Term::Pi | Term::Var(..) | Term::Delta(..) => self.clone(),
            Term::Add(ts) => Term::Add(ts.iter().map(f).collect()),
            Term::Mul(ts) => Term::Mul(ts.iter().map(f).collect()),
            Term::Pow(b, e) => Term::Pow(Box::new(f(b)), e.clone()),
            Term::Fn(g, b) => Term::Fn(g.clone(), Box::new(f(b))),
            Term::Sum(ks, b) => Term::Sum(ks.clone(), Box::new(f(b))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(name: &str, ix: &[&Ix]) -> Term {
        Term::Var(Name::Tensor(name.into()), ix.iter().map(|&i| i.clone()).collect())
    }

    #[test]
    fn children_are_the_direct_subterms_and_map_children_rebuilds_the_node() {
        let (i, k) = (Ix::fresh("i", 0), Ix::fresh("k", 0));
        let x = var("X", &[&i, &k]);
        let product = Term::Mul(vec![x.clone(), Term::Delta(i.clone(), k.clone())]);
        let t = Term::Sum(
            vec![k.clone()],
            Box::new(Term::Fn(Func::Exp, Box::new(product.clone()))),
        );
        assert!(x.children().is_empty());
        assert_eq!(t.children(), [Term::Fn(Func::Exp, Box::new(product.clone()))]);
        assert_eq!(product.children(), [x.clone(), Term::Delta(i.clone(), k.clone())]);
        assert_eq!(Term::pow(x.clone(), 2).children(), std::slice::from_ref(&x));
        // the identity map gives the node back; a map reaches only the direct children
        assert_eq!(t.map_children(Term::clone), t);
        assert_eq!(
            product.map_children(|_| Term::one()),
            Term::Mul(vec![Term::one(), Term::one()])
        );
        assert_eq!(
            t.map_children(|_| Term::Pi),
            Term::Sum(vec![k.clone()], Box::new(Term::Pi))
        );
        assert_eq!(
            Term::pow(x.clone(), 3).map_children(|_| Term::Pi),
            Term::pow(Term::Pi, 3)
        );
        assert_eq!(x.map_children(|_| Term::Pi), x);
        // the traversals built on them
        assert_eq!(t.size(), 5);
        assert!(t.has_delta() && !x.has_delta());
        assert_eq!(t.free(), BTreeSet::from([i.clone()]));
        assert!(t.mentions(&i) && !t.mentions(&k));
        let j = Ix::fresh("j", 0);
        assert_eq!(t.rename(&k, &j), t, "a bound index is not renamed");
        assert_eq!(
            product.rename(&k, &j),
            Term::Mul(vec![var("X", &[&i, &j]), Term::Delta(i.clone(), j.clone())])
        );
    }
}

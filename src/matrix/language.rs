//! The e-graph's language: matrix operators over typed leaves, the table the
//! leaves index, the encoding of a [`Mat`] into it and back, and the shape
//! analysis that the rules' side conditions read.

use std::fmt;
use std::str::FromStr;

use egg::{Analysis, DidMerge, EGraph, Id, RecExpr};
use num_rational::BigRational;

use super::mat::{shape, shapes, Mat, Shape};
use crate::term::{Func, Term};

mod lang {
    // define_language! does not take docs on variants; the operators are
    // documented in rules/matrix.rules.
    #![allow(missing_docs)]
    use egg::{define_language, Id};

    use super::Leaf;

    define_language! {
        /// The matrix language of the e-graph; a leaf is a key into [`Leaves`](super::Leaves).
        pub enum MatLang {
            "T" = T(Id),
            "mm" = MatMul([Id; 2]),
            "had" = Had([Id; 2]),
            "hdiv" = HDiv([Id; 2]),
            "add" = Add([Id; 2]),
            "sub" = Sub([Id; 2]),
            "neg" = Neg(Id),
            "scale" = Scale([Id; 2]),
            "diag" = Diag(Id),
            "map" = Map([Id; 2]),
            "pow" = Pow([Id; 2]),
            Leaf(Leaf),
        }
    }
}

pub use lang::MatLang;

/// A leaf of the e-graph: a position in one of the tables of [`Leaves`],
/// typed by the table. Equal values share a position, so equal leaves are one
/// e-class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Leaf {
    /// A tensor, a scalar, a column of ones or an identity: a whole matrix.
    Mat(u32),
    /// The scalar of a `scale`.
    Scalar(u32),
    /// The function of a `map`.
    Func(u32),
    /// The exponent of a `pow`.
    Exponent(u32),
}

/// `L0`, `S0`, `F0`, `E0`: how a leaf shows in egg's dumps of an e-graph.
impl fmt::Display for Leaf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Leaf::Mat(n) => write!(f, "L{n}"),
            Leaf::Scalar(n) => write!(f, "S{n}"),
            Leaf::Func(n) => write!(f, "F{n}"),
            Leaf::Exponent(n) => write!(f, "E{n}"),
        }
    }
}

/// A leaf is never read from text: the rules are written over pattern
/// variables (`?a`), and a leaf only means something with its table. egg's
/// language macro asks for `FromStr`; this one refuses every string, so a rule
/// that names a leaf does not load.
impl FromStr for Leaf {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Err(format!("`{s}`: a rule names no leaf, only operators and ?variables"))
    }
}

/// What the leaves stand for, one table per kind of [`Leaf`].
#[derive(Default, Clone, Debug)]
pub struct Leaves {
    mats: Vec<Mat>,
    scalars: Vec<Term>,
    funcs: Vec<Func>,
    exponents: Vec<BigRational>,
}

/// The position of `x` in `table`, added if new: equal leaves are one e-class.
fn intern<T: PartialEq + Clone>(table: &mut Vec<T>, x: &T) -> u32 {
    let n = match table.iter().position(|y| y == x) {
        Some(n) => n,
        None => {
            table.push(x.clone());
            table.len() - 1
        }
    };
    u32::try_from(n).expect("fewer than 2³² leaves in one matrix form")
}

impl Leaves {
    /// The matrix a [`Leaf::Mat`] stands for (`None` for another kind of leaf).
    pub fn mat(&self, leaf: Leaf) -> Option<&Mat> {
        match leaf {
            Leaf::Mat(n) => self.mats.get(n as usize),
            _ => None,
        }
    }

    /// Encodes `m` into `e`, its leaves into this table; returns the root.
    pub fn encode(&mut self, m: &Mat, e: &mut RecExpr<MatLang>) -> Id {
        let leaf = |e: &mut RecExpr<MatLang>, l: Leaf| e.add(MatLang::Leaf(l));
        match m {
            Mat::Var(..) | Mat::Scalar(_) | Mat::Ones(_) | Mat::Eye(_) => {
                let n = intern(&mut self.mats, m);
                leaf(e, Leaf::Mat(n))
            }
            Mat::T(x) => {
                let a = self.encode(x, e);
                e.add(MatLang::T(a))
            }
            Mat::MatMul(xs) | Mat::Had(xs) => {
                let mut acc = self.encode(&xs[0], e);
                for x in &xs[1..] {
                    let b = self.encode(x, e);
                    acc = e.add(if matches!(m, Mat::MatMul(_)) {
                        MatLang::MatMul([acc, b])
                    } else {
                        MatLang::Had([acc, b])
                    });
                }
                acc
            }
            Mat::HDiv(a, b) => {
                let a = self.encode(a, e);
                let b = self.encode(b, e);
                e.add(MatLang::HDiv([a, b]))
            }
            Mat::Add(ts) => {
                let (neg0, x0) = &ts[0];
                let mut acc = self.encode(x0, e);
                if *neg0 {
                    acc = e.add(MatLang::Neg(acc));
                }
                for (neg, x) in &ts[1..] {
                    let b = self.encode(x, e);
                    acc = e.add(if *neg {
                        MatLang::Sub([acc, b])
                    } else {
                        MatLang::Add([acc, b])
                    });
                }
                acc
            }
            Mat::Scale(s, x) => {
                let n = intern(&mut self.scalars, s);
                let s = leaf(e, Leaf::Scalar(n));
                let x = self.encode(x, e);
                e.add(MatLang::Scale([s, x]))
            }
            Mat::Map(f, x) => {
                let n = intern(&mut self.funcs, f);
                let f = leaf(e, Leaf::Func(n));
                let x = self.encode(x, e);
                e.add(MatLang::Map([f, x]))
            }
            Mat::Pow(x, p) => {
                let n = intern(&mut self.exponents, p);
                let x = self.encode(x, e);
                let p = leaf(e, Leaf::Exponent(n));
                e.add(MatLang::Pow([x, p]))
            }
            Mat::Diag(v) => {
                let v = self.encode(v, e);
                e.add(MatLang::Diag(v))
            }
        }
    }

    /// The matrix that node `id` of `e` stands for, binary products and sums
    /// as they are (the caller flattens them); `None` if a leaf is
    /// of the wrong kind for its place or not in this table.
    pub fn decode(&self, e: &RecExpr<MatLang>, id: Id) -> Option<Mat> {
        let go = |i: &Id| self.decode(e, *i);
        let leaf = |i: &Id| match &e[*i] {
            MatLang::Leaf(l) => Some(*l),
            _ => None,
        };
        Some(match &e[id] {
            MatLang::Leaf(l) => self.mat(*l)?.clone(),
            MatLang::T(a) => Mat::T(Box::new(go(a)?)),
            MatLang::MatMul([a, b]) => Mat::MatMul(vec![go(a)?, go(b)?]),
            MatLang::Had([a, b]) => Mat::Had(vec![go(a)?, go(b)?]),
            MatLang::HDiv([a, b]) => Mat::HDiv(Box::new(go(a)?), Box::new(go(b)?)),
            MatLang::Add([a, b]) => Mat::Add(vec![(false, go(a)?), (false, go(b)?)]),
            MatLang::Sub([a, b]) => Mat::Add(vec![(false, go(a)?), (true, go(b)?)]),
            MatLang::Neg(a) => Mat::Add(vec![(true, go(a)?)]),
            MatLang::Scale([s, a]) => match leaf(s)? {
                Leaf::Scalar(n) => Mat::Scale(self.scalars.get(n as usize)?.clone(), Box::new(go(a)?)),
                _ => return None,
            },
            MatLang::Map([f, a]) => match leaf(f)? {
                Leaf::Func(n) => Mat::Map(self.funcs.get(n as usize)?.clone(), Box::new(go(a)?)),
                _ => return None,
            },
            MatLang::Pow([a, p]) => match leaf(p)? {
                Leaf::Exponent(n) => Mat::Pow(Box::new(go(a)?), self.exponents.get(n as usize)?.clone()),
                _ => return None,
            },
            MatLang::Diag(v) => Mat::Diag(Box::new(go(v)?)),
        })
    }
}

/// The shape analysis; it owns the leaf table so that leaves know their shapes.
#[derive(Default, Clone, Debug)]
pub struct Shapes {
    /// What the leaves stand for.
    pub(crate) leaves: Leaves,
    /// Merges of two classes whose shapes differed (see `merge` below).
    pub(crate) conflicts: usize,
}

impl Shapes {
    /// The analysis over the leaves of `leaves`.
    pub fn new(leaves: Leaves) -> Shapes {
        Shapes { leaves, conflicts: 0 }
    }
}

impl Analysis<MatLang> for Shapes {
    type Data = Shape;

    /// The shape of a node from its operands', by the rules of
    /// [`shape`]; the scalar, function and exponent leaves are 1×1.
    fn make(egraph: &mut EGraph<MatLang, Self>, enode: &MatLang) -> Shape {
        let s = |id: &Id| egraph[*id].data;
        match enode {
            MatLang::Leaf(l) => egraph.analysis.leaves.mat(*l).map(shape).unwrap_or((None, None)),
            MatLang::T(a) => shapes::transpose(s(a)),
            MatLang::MatMul([a, b]) => shapes::product([s(a), s(b)]),
            MatLang::Had([a, b]) | MatLang::HDiv([a, b]) | MatLang::Add([a, b]) | MatLang::Sub([a, b]) => {
                shapes::elementwise([s(a), s(b)])
            }
            MatLang::Neg(a) | MatLang::Pow([a, _]) => s(a),
            MatLang::Scale([_, a]) | MatLang::Map([_, a]) => s(a),
            MatLang::Diag(v) => shapes::diag(s(v)),
        }
    }

    /// Two classes merge when a rule proves their forms equal, and equal
    /// matrices have equal shapes: every rule of `rules/matrix.rules` keeps
    /// the shape of what it rewrites (the conditions `chain` and `same-shape`
    /// are there for the rules that would not otherwise), so `a == b` and
    /// nothing changes. Should an unsound rule ever merge two shapes, the
    /// class keeps the larger — more axes, then the greater dimension
    /// classes, so the merge is the same in either order — the parents of the
    /// side that changed are analysed again, and the conflict is counted; the
    /// test over every fixture requires that count to stay 0.
    fn merge(&mut self, a: &mut Shape, b: Shape) -> DidMerge {
        if *a == b {
            return DidMerge(false, false);
        }
        self.conflicts += 1;
        let larger = |s: &Shape| (shapes::axes(*s), *s);
        if larger(&b) > larger(a) {
            *a = b;
            DidMerge(true, false)
        } else {
            DidMerge(false, true)
        }
    }
}

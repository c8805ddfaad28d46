//! The matrix expression: its shape, its reading cost, its transpose and its
//! flattening — each defined once here, for the recogniser and the e-graph.

use num_rational::BigRational;

use crate::simplify::mul;
use crate::term::{Func, Name, Term};

/// A matrix expression. Vectors are columns; scalars are 1×1.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mat {
    /// A tensor, scalar or given gradient as a whole, with the dimension of each axis.
    Var(Name, Vec<u32>),
    /// A scalar given as an index-free term (`2`, `1/S`).
    Scalar(Term),
    /// Transpose.
    T(Box<Mat>),
    /// Matrix product, left to right.
    MatMul(Vec<Mat>),
    /// Elementwise (Hadamard) product.
    Had(Vec<Mat>),
    /// Elementwise division.
    HDiv(Box<Mat>, Box<Mat>),
    /// Sum; the flag is `true` for a subtracted term.
    Add(Vec<(bool, Mat)>),
    /// A scalar times a matrix.
    Scale(Term, Box<Mat>),
    /// A column of ones over a dimension.
    Ones(u32),
    /// The identity over a dimension.
    Eye(u32),
    /// An elementwise function.
    Map(Func, Box<Mat>),
    /// An elementwise power.
    Pow(Box<Mat>, BigRational),
    /// A diagonal matrix from a vector.
    Diag(Box<Mat>),
}

/// `Aᵀ`, with `(Aᵀ)ᵀ = A`.
pub fn transpose(m: Mat) -> Mat {
    match m {
        Mat::T(inner) => *inner,
        Mat::Scalar(_) | Mat::Eye(_) | Mat::Diag(_) => m,
        m => Mat::T(Box::new(m)),
    }
}

/// Pushes transposes inward where that reads better, and flattens products
/// and ⊙ as `splice` does (sums stay as the recogniser ordered them).
pub fn tidy(m: Mat) -> Mat {
    match m {
        Mat::T(inner) => match tidy(*inner) {
            Mat::T(x) => *x,
            // diag(X)ᵀ stays a transposed diagonal
            Mat::MatMul(xs) if diagonal_of(&xs).is_some() => Mat::T(Box::new(Mat::MatMul(xs))),
            // (A B)ᵀ = Bᵀ Aᵀ, left as the chain rule gives it
            Mat::MatMul(xs) => {
                let xs = xs.into_iter().rev().map(|x| tidy(transpose(x)));
                let xs = xs.filter(|x| !matches!(x, Mat::Scalar(t) if t.is_one()));
                product_tidied(spliced(xs, Assoc::MatMul), false)
            }
            Mat::Scale(s, x) => Mat::Scale(s, Box::new(tidy(transpose(*x)))),
            // Elementwise operations commute with the transpose: move it inside
            // when that is no longer.
            x @ (Mat::Had(_) | Mat::HDiv(..) | Mat::Map(..) | Mat::Pow(..) | Mat::Add(_)) => {
                let inside = match x.clone() {
                    Mat::Add(ts) => tidy(Mat::Add(ts.into_iter().map(|(n, y)| (n, transpose(y))).collect())),
                    Mat::Had(xs) => tidy(Mat::Had(xs.into_iter().map(transpose).collect())),
                    Mat::HDiv(a, b) => tidy(Mat::HDiv(Box::new(transpose(*a)), Box::new(transpose(*b)))),
                    Mat::Map(f, y) => Mat::Map(f, Box::new(tidy(transpose(*y)))),
                    Mat::Pow(y, e) => Mat::Pow(Box::new(tidy(transpose(*y))), e),
                    _ => unreachable!(),
                };
                let outside = Mat::T(Box::new(x));
                if cost(&inside) <= cost(&outside) {
                    inside
                } else {
                    outside
                }
            }
            x @ (Mat::Scalar(_) | Mat::Eye(_) | Mat::Diag(_)) => x,
            x => Mat::T(Box::new(x)),
        },
        Mat::MatMul(xs) => {
            // a factor `1` drops out; nested products are spliced in
            // nested products are spliced before they are tidied, so that
            // only the whole product may collapse into one transpose
            let xs = factors_of(xs)
                .into_iter()
                .map(tidy)
                .filter(|x| !matches!(x, Mat::Scalar(t) if t.is_one()));
            let flat = spliced(xs, Assoc::MatMul);
            product_tidied(flat, true)
        }
        Mat::Had(xs) => Mat::Had(spliced(xs.into_iter().map(tidy), Assoc::Had)),
        Mat::Add(ts) => cancelled(ts.into_iter().map(|(n, x)| (n, tidy(x))).collect()),
        // diag((X ⊙ I) 1) = X ⊙ I: the diagonal of X kept as a matrix
        Mat::Diag(v) => match tidy(*v) {
            Mat::MatMul(mut xs) if diagonal_of(&xs).is_some() => xs.remove(0),
            v => Mat::Diag(Box::new(v)),
        },
        Mat::Pow(x, e) => match tidy(*x) {
            // sqrt(v)^∘2 = v
            Mat::Map(Func::Sqrt, v) if e == BigRational::from_integer(2.into()) => *v,
            x => Mat::Pow(Box::new(x), e),
        },
        Mat::Scale(s, x) => match tidy(*x) {
            Mat::Scale(s2, y) => Mat::Scale(mul(vec![s, s2]), y),
            y => Mat::Scale(s, Box::new(y)),
        },
        m => m.map(tidy),
    }
}

/// The matrix `X` of the product `(X ⊙ I) 1`, the diagonal of `X` as a
/// vector (`diag(X)`).
pub fn diagonal_of(xs: &[Mat]) -> Option<&[Mat]> {
    match xs {
        [Mat::Had(hs), Mat::Ones(_)] if hs.len() >= 2 && matches!(hs.last(), Some(Mat::Eye(_))) => {
            Some(&hs[..hs.len() - 1])
        }
        _ => None,
    }
}

/// The factors of a product with nested products spliced in, at any depth.
fn factors_of(xs: Vec<Mat>) -> Vec<Mat> {
    let mut out = Vec::new();
    for x in xs {
        match x {
            Mat::MatMul(ys) => out.extend(factors_of(ys)),
            x => out.push(x),
        }
    }
    out
}

/// A flattened product made to read like the textbook: scalar coefficients
/// in front (`(Yᵀ − T) (2 1)` is `2 (Yᵀ − T) 1`), `I` dropped beside other
/// factors (`diag(x) I` is `diag(x)`), and a product of transposes written
/// as one transpose when `collapse` (`Xᵀ Xᵀ` is `(X X)ᵀ`).
fn product_tidied(flat: Vec<Mat>, collapse: bool) -> Mat {
    let mut coefficient: Vec<Term> = Vec::new();
    let mut xs: Vec<Mat> = Vec::new();
    for x in flat {
        match x {
            Mat::Scale(c, y) => {
                coefficient.push(c);
                match *y {
                    Mat::MatMul(ys) => xs.extend(ys),
                    y => xs.push(y),
                }
            }
            Mat::Scalar(t) => coefficient.push(t),
            x => xs.push(x),
        }
    }
    // `I` drops out beside a factor it multiplies as a matrix (`diag(x) I`),
    // not beside a scalar (`tr(X) I`)
    let meets = |x: Option<&Mat>, d: u32, cols: bool| {
        x.is_some_and(|x| {
            let (r, c) = shape(x);
            if cols {
                c == Some(d)
            } else {
                r == Some(d)
            }
        })
    };
    let mut k = 0;
    while k < xs.len() {
        match xs[k] {
            Mat::Eye(d)
                if xs.len() > 1
                    && (meets(k.checked_sub(1).map(|j| &xs[j]), d, true) || meets(xs.get(k + 1), d, false)) =>
            {
                xs.remove(k);
            }
            _ => k += 1,
        }
    }
    let all_transposed = collapse
        && xs.len() >= 2
        && xs
            .iter()
            .all(|x| matches!(x, Mat::T(y) if matches!(**y, Mat::Var(Name::Tensor(_) | Name::Grad { .. }, _))))
        && shapes::axes(shape(&Mat::MatMul(xs.clone()))) == 2;
    let core = match xs.len() {
        0 => None,
        1 => xs.pop(),
        _ if all_transposed => Some(Mat::T(Box::new(Mat::MatMul(
            xs.into_iter().rev().map(transpose).collect(),
        )))),
        _ => Some(Mat::MatMul(xs)),
    };
    let c = mul(coefficient);
    match core {
        None => Mat::Scalar(c),
        Some(m) if c.is_one() => m,
        Some(m) => Mat::Scale(c, Box::new(m)),
    }
}

/// A sum with a term and its negation cancelled (`A + N − P − A` is
/// `N − P`); nothing left is `0`.
fn cancelled(mut ts: Vec<(bool, Mat)>) -> Mat {
    let mut k = 0;
    while k < ts.len() {
        let opposite = (k + 1..ts.len()).find(|&j| ts[j].0 != ts[k].0 && ts[j].1 == ts[k].1);
        match opposite {
            Some(j) => {
                ts.remove(j);
                ts.remove(k);
            }
            None => k += 1,
        }
    }
    let mut ts = factored(ts);
    // positive terms first: `Y − T`
    ts.sort_by_key(|(neg, _)| *neg);
    match ts.len() {
        0 => Mat::Scalar(Term::zero()),
        1 if !ts[0].0 => ts.pop().expect("one").1,
        _ => Mat::Add(ts),
    }
}

/// A term `c (a ⊙ f)` split into its scale, the rest and its last ⊙ factor `f`.
fn last_factor(m: &Mat) -> Option<(Option<&Term>, Mat, &Mat)> {
    let (c, body) = match m {
        Mat::Scale(c, x) => (Some(c), &**x),
        x => (None, x),
    };
    let Mat::Had(xs) = body else { return None };
    let (f, rest) = xs.split_last()?;
    let rest = match rest {
        [one] => one.clone(),
        more => Mat::Had(more.to_vec()),
    };
    Some((c, rest, f))
}

/// Terms of a sum that share a large last ⊙ factor, collected into one:
/// `a x ⊙ P + b x^∘3 ⊙ P` is `(a x + b x^∘3) ⊙ P` (GELU's derivative, where
/// `P` is `1 − tanh(…)^∘2`).
fn factored(ts: Vec<(bool, Mat)>) -> Vec<(bool, Mat)> {
    let common = ts.iter().enumerate().find_map(|(k, (_, x))| {
        let (_, _, f) = last_factor(x)?;
        let others: Vec<usize> = ts
            .iter()
            .enumerate()
            .filter(|(j, (_, y))| *j != k && last_factor(y).is_some_and(|(_, _, g)| g == f))
            .map(|(j, _)| j)
            .collect();
        (cost(f) >= 4 && !others.is_empty()).then(|| (f.clone(), k))
    });
    let Some((f, first)) = common else { return ts };
    let mut inner = Vec::new();
    let mut out = Vec::new();
    let mut place = 0;
    for (k, (neg, x)) in ts.into_iter().enumerate() {
        match last_factor(&x) {
            Some((c, rest, g)) if *g == f => {
                let rest = match c {
                    Some(c) => Mat::Scale(c.clone(), Box::new(rest)),
                    None => rest,
                };
                if k == first {
                    place = out.len();
                }
                inner.push((neg, rest));
            }
            _ => out.push((neg, x)),
        }
    }
    inner.sort_by_key(|(neg, _)| *neg);
    out.insert(place, (false, Mat::Had(vec![Mat::Add(inner), f])));
    out
}

/// The transpose of a whole result, for numerator layout and for vectors that
/// read better as rows: `(A B)ᵀ = Bᵀ Aᵀ`, elementwise operations transposed
/// inside when that is shorter, and for a column vector `(a ⊙ r)ᵀ = aᵀ diag(r)`
/// when `r` is a plain elementwise factor.
pub fn transposed(m: &Mat) -> Mat {
    fn go(m: Mat) -> Mat {
        let candidate = match m.clone() {
            Mat::T(x) => return tidy(*x),
            Mat::MatMul(xs) => tidy(Mat::MatMul(xs.into_iter().rev().map(go).collect())),
            Mat::Scale(s, x) => return Mat::Scale(s, Box::new(go(*x))),
            Mat::Had(xs) if xs.len() == 2 && is_column(&m) && is_plain(&xs[1]) && !is_plain(&xs[0]) => {
                let mut xs = xs;
                let r = xs.pop().unwrap();
                let a = xs.pop().unwrap();
                return tidy(Mat::MatMul(vec![go(a), Mat::Diag(Box::new(r))]));
            }
            Mat::Had(xs) => tidy(Mat::Had(xs.into_iter().map(go).collect())),
            Mat::HDiv(a, b) => tidy(Mat::HDiv(Box::new(go(*a)), Box::new(go(*b)))),
            Mat::Map(f, x) => Mat::Map(f, Box::new(go(*x))),
            x @ (Mat::Scalar(_) | Mat::Eye(_) | Mat::Diag(_)) => return x,
            x => return Mat::T(Box::new(x)),
        };
        let plain = Mat::T(Box::new(m));
        if cost(&candidate) <= cost(&plain) {
            candidate
        } else {
            plain
        }
    }
    go(m.clone())
}

/// Rows and columns of a matrix expression, as dimension classes (`None` for 1).
pub fn shape(m: &Mat) -> Shape {
    match m {
        Mat::Var(_, dims) => (dims.first().copied(), dims.get(1).copied()),
        Mat::Scalar(_) => (None, None),
        Mat::Ones(d) => (Some(*d), None),
        Mat::Eye(d) => (Some(*d), Some(*d)),
        Mat::T(x) => shapes::transpose(shape(x)),
        Mat::MatMul(xs) => shapes::product(xs.iter().map(shape)),
        Mat::Had(xs) => shapes::elementwise(xs.iter().map(shape)),
        Mat::HDiv(a, b) => shapes::elementwise([shape(a), shape(b)]),
        Mat::Add(ts) => shapes::elementwise(ts.iter().map(|(_, x)| shape(x))),
        Mat::Scale(_, a) | Mat::Map(_, a) | Mat::Pow(a, _) => shape(a),
        Mat::Diag(v) => shapes::diag(shape(v)),
    }
}

/// Rows and columns as dimension classes (`None` for 1).
pub type Shape = (Option<u32>, Option<u32>);

/// The shape of each operator from the shapes of its operands: [`shape`] and
/// the e-graph's shape analysis both apply these, so the two cannot disagree.
pub(crate) mod shapes {
    use super::Shape;

    /// `Aᵀ`: rows and columns swapped.
    pub(crate) fn transpose((r, c): Shape) -> Shape {
        (c, r)
    }

    /// A matrix product: the rows of its first factor and the columns of its
    /// last; a 1×1 factor only scales, so it does not count.
    pub(crate) fn product(factors: impl IntoIterator<Item = Shape>) -> Shape {
        let mut wide = factors.into_iter().filter(|s| *s != (None, None));
        let first = wide.next();
        let last = wide.last().or(first);
        (first.and_then(|s| s.0), last.and_then(|s| s.1))
    }

    /// ⊙, ⊘ or a sum: a scalar operand broadcasts, so the shape is the first
    /// operand's with the most axes (on a well-formed form all such are equal).
    pub(crate) fn elementwise(operands: impl IntoIterator<Item = Shape>) -> Shape {
        operands
            .into_iter()
            .fold(None, |wide: Option<Shape>, s| match wide {
                Some(w) if axes(s) <= axes(w) => Some(w),
                _ => Some(s),
            })
            .unwrap_or((None, None))
    }

    /// `diag(v)`: square over the vector's rows.
    pub(crate) fn diag((r, _): Shape) -> Shape {
        (r, r)
    }

    /// How many of rows and columns are more than 1.
    pub(crate) fn axes((r, c): Shape) -> u8 {
        r.is_some() as u8 + c.is_some() as u8
    }
}

fn is_column(m: &Mat) -> bool {
    let (r, c) = shape(m);
    r.is_some() && c.is_none()
}

fn is_plain(m: &Mat) -> bool {
    matches!(m, Mat::Var(..) | Mat::Map(..))
}

/// A reading cost: nodes, with a transpose of anything but `1` counted extra.
pub fn cost(m: &Mat) -> usize {
    let node = match m {
        Mat::Var(..) | Mat::Scalar(_) | Mat::Ones(_) | Mat::Eye(_) => Node::Leaf,
        Mat::T(x) if matches!(**x, Mat::Ones(_)) => Node::OnesTransposed,
        Mat::T(_) => Node::Transpose,
        _ => Node::Operator,
    };
    node_cost(node, m.fold(0, |sum, x| sum + cost(x)))
}

/// What one node of a matrix expression is, for its reading cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Node {
    /// A tensor, scalar, `1`, `I` — or in the e-graph also the scalar of a
    /// `scale`, the function of a `map` and the exponent of a `pow`, which
    /// there are operands of their own.
    Leaf,
    /// `1ᵀ`, read as one symbol.
    OnesTransposed,
    /// Any other transpose.
    Transpose,
    /// Every other operator.
    Operator,
}

/// The reading cost of one node over operands that cost `operands` in all:
/// one a leaf or an operator, two more for a transpose (`(…)ᵀ`), except `1ᵀ`,
/// which costs what a leaf does. [`cost`] and the e-graph's extraction both
/// count with it.
pub(crate) fn node_cost(node: Node, operands: usize) -> usize {
    match node {
        Node::Leaf | Node::OnesTransposed => 1,
        Node::Transpose => 2 + operands,
        Node::Operator => 1 + operands,
    }
}

/// One level of flattening: the operands of a product or ⊙ that are products
/// or ⊙ themselves spliced in (`(A B) C = A B C`), and likewise the terms of a
/// sum inside a sum, signs carried, positive terms first (`Y − T`). Anything
/// else is returned as it is.
pub(crate) fn splice(m: Mat) -> Mat {
    match m {
        Mat::MatMul(xs) => Mat::MatMul(spliced(xs, Assoc::MatMul)),
        Mat::Had(xs) => Mat::Had(spliced(xs, Assoc::Had)),
        Mat::Add(ts) => {
            let mut out = Vec::new();
            for (neg, x) in ts {
                match x {
                    Mat::Add(inner) => out.extend(inner.into_iter().map(|(n, y)| (n != neg, y))),
                    y => out.push((neg, y)),
                }
            }
            out.sort_by_key(|(neg, _)| *neg);
            Mat::Add(out)
        }
        m => m,
    }
}

/// The two associative products.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Assoc {
    MatMul,
    Had,
}

/// The operands `xs` of a product `of`, with the operands of each operand
/// that is such a product itself spliced in.
fn spliced(xs: impl IntoIterator<Item = Mat>, of: Assoc) -> Vec<Mat> {
    let mut out = Vec::new();
    for x in xs {
        match x {
            Mat::MatMul(ys) if of == Assoc::MatMul => out.extend(ys),
            Mat::Had(ys) if of == Assoc::Had => out.extend(ys),
            x => out.push(x),
        }
    }
    out
}

/// [`splice`] at every level, bottom up.
pub(crate) fn flatten(m: Mat) -> Mat {
    splice(m.map(flatten))
}

impl Mat {
    /// Folds `f` over the matrix operands (not the scalar of a `Scale`, the
    /// function of a `Map` or the exponent of a `Pow`), left to right.
    pub fn fold<'a, T>(&'a self, init: T, mut f: impl FnMut(T, &'a Mat) -> T) -> T {
        match self {
            Mat::Var(..) | Mat::Scalar(_) | Mat::Ones(_) | Mat::Eye(_) => init,
            Mat::T(x) | Mat::Scale(_, x) | Mat::Map(_, x) | Mat::Pow(x, _) | Mat::Diag(x) => f(init, x),
            Mat::MatMul(xs) | Mat::Had(xs) => xs.iter().fold(init, f),
            Mat::HDiv(a, b) => {
                let acc = f(init, a);
                f(acc, b)
            }
            Mat::Add(ts) => ts.iter().fold(init, |acc, (_, x)| f(acc, x)),
        }
    }

    /// The same node with `f` applied to each matrix operand.
    pub fn map(self, mut f: impl FnMut(Mat) -> Mat) -> Mat {
        match self {
            Mat::T(x) => Mat::T(Box::new(f(*x))),
            Mat::MatMul(xs) => Mat::MatMul(xs.into_iter().map(f).collect()),
            Mat::Had(xs) => Mat::Had(xs.into_iter().map(f).collect()),
            Mat::HDiv(a, b) => {
                let a = f(*a);
                Mat::HDiv(Box::new(a), Box::new(f(*b)))
            }
            Mat::Add(ts) => Mat::Add(ts.into_iter().map(|(n, x)| (n, f(x))).collect()),
            Mat::Scale(s, x) => Mat::Scale(s, Box::new(f(*x))),
            Mat::Map(h, x) => Mat::Map(h, Box::new(f(*x))),
            Mat::Pow(x, e) => Mat::Pow(Box::new(f(*x)), e),
            Mat::Diag(x) => Mat::Diag(Box::new(f(*x))),
            m @ (Mat::Var(..) | Mat::Scalar(_) | Mat::Ones(_) | Mat::Eye(_)) => m,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(name: &str, dims: &[u32]) -> Mat {
        Mat::Var(Name::Tensor(name.into()), dims.to_vec())
    }

    #[test]
    fn a_product_is_tidied_like_the_textbook() {
        let (a, x) = (var("A", &[1, 1]), var("x", &[1]));
        // a scale inside a product moves to the front
        let m = Mat::MatMul(vec![a.clone(), Mat::Scale(Term::int(2), Box::new(x.clone()))]);
        assert_eq!(
            tidy(m),
            Mat::Scale(Term::int(2), Box::new(Mat::MatMul(vec![a.clone(), x.clone()])))
        );
        // I beside a matrix drops out; beside a scalar it stays
        let d = Mat::Diag(Box::new(x.clone()));
        assert_eq!(tidy(Mat::MatMul(vec![d.clone(), Mat::Eye(1)])), d);
        let s = Mat::MatMul(vec![transpose(x.clone()), x.clone()]);
        assert_eq!(
            tidy(Mat::MatMul(vec![s.clone(), Mat::Eye(1)])),
            Mat::MatMul(vec![transpose(x.clone()), x.clone(), Mat::Eye(1)])
        );
        // a product of transposes is one transpose
        let t = tidy(Mat::MatMul(vec![transpose(a.clone()), transpose(a.clone())]));
        assert_eq!(t, Mat::T(Box::new(Mat::MatMul(vec![a.clone(), a.clone()]))));
    }

    #[test]
    fn a_term_and_its_negation_cancel() {
        let (a, n, p) = (var("A", &[1, 1]), var("N", &[1, 1]), var("P", &[1, 1]));
        let m = Mat::Add(vec![
            (false, a.clone()),
            (false, n.clone()),
            (true, p.clone()),
            (true, a),
        ]);
        assert_eq!(tidy(m), Mat::Add(vec![(false, n), (true, p.clone())]));
        let gone = Mat::Add(vec![(false, p.clone()), (true, p)]);
        assert_eq!(tidy(gone), Mat::Scalar(Term::zero()));
    }

    #[test]
    fn terms_with_a_common_last_factor_are_collected() {
        let (x, y) = (var("x", &[1]), var("y", &[1]));
        let p = Mat::Map(
            Func::Tanh,
            Box::new(Mat::Scale(Term::int(3), Box::new(Mat::Had(vec![x.clone(), y.clone()])))),
        );
        let m = Mat::Add(vec![
            (false, y.clone()),
            (
                false,
                Mat::Scale(Term::int(2), Box::new(Mat::Had(vec![x.clone(), p.clone()]))),
            ),
            (true, Mat::Had(vec![y.clone(), p.clone()])),
        ]);
        let inner = Mat::Add(vec![(false, Mat::Scale(Term::int(2), Box::new(x))), (true, y.clone())]);
        assert_eq!(tidy(m), Mat::Add(vec![(false, y), (false, Mat::Had(vec![inner, p]))]));
    }

    #[test]
    fn sqrt_squared_is_its_argument() {
        let v = var("v", &[1]);
        let m = Mat::Pow(
            Box::new(Mat::Map(Func::Sqrt, Box::new(v.clone()))),
            BigRational::from_integer(2.into()),
        );
        assert_eq!(tidy(m), v);
    }
}

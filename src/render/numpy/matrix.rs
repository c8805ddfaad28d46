//! Matrix form → NumPy. Vectors are 1-D arrays, so the translation tracks
//! whether a vector stands as a row or a column: `1ᵀ G` becomes
//! `G.sum(axis=0)`, `u vᵀ` becomes `np.outer(u, v)`, `diag(v) M` becomes
//! `v[:, None] * M`. A product is read left to right into one flat chain
//! `A @ B @ C`, whatever its length.

use num_rational::BigRational;
use num_traits::One;

use super::ctx::Ctx;
use super::einsum::np_term;
use super::python::Py;
use super::stable;
use crate::matrix::Mat;
use crate::render::softmax::{logsumexp_vector, row_sums_of_exp, softmax_rows, softmax_vector};
use crate::term::{Func, MatrixFn, Name, Term};

/// How a NumPy value stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Scalar,
    Col,
    Row,
    Matrix,
    /// `diag(v)`, kept as the vector `v` until it meets a product.
    Diag,
}

/// The NumPy expression of a matrix form and how it stands.
pub(super) fn np_mat(m: &Mat, cx: &mut Ctx) -> Option<(Py, Kind)> {
    Some(match m {
        Mat::Var(name, dims) => {
            let kind = match dims.len() {
                0 => Kind::Scalar,
                1 => Kind::Col,
                2 => Kind::Matrix,
                _ => return None,
            };
            (cx.var(name), kind)
        }
        Mat::Scalar(t) if logsumexp_vector(t).is_some() => {
            stable::logsumexp_vector(logsumexp_vector(t).expect("just matched"), cx)?
        }
        Mat::Scalar(t) => (np_term(t, &[], cx)?, Kind::Scalar),
        Mat::T(x) if pushed(x).is_some() => np_mat(&pushed(x).expect("just matched"), cx)?,
        Mat::T(x) => match &**x {
            Mat::T(y) => np_mat(y, cx)?,
            _ => {
                let (e, k) = np_mat(x, cx)?;
                match k {
                    Kind::Matrix => (cx.block.suffix(e, ".T"), Kind::Matrix),
                    Kind::Col => (e, Kind::Row),
                    Kind::Row => (e, Kind::Col),
                    k => (e, k),
                }
            }
        },
        Mat::MatMul(xs) if softmax_rows(xs).is_some() => {
            let (z, weights) = softmax_rows(xs).expect("just matched");
            stable::softmax(z, weights, cx)?
        }
        // a scalar factor of a product goes in front: `c (A B)`, not `A @ (c * B)`
        Mat::MatMul(xs) if xs.iter().any(|x| matches!(x, Mat::Scale(..))) => {
            let mut c = Vec::new();
            let plain: Vec<Mat> = xs
                .iter()
                .map(|x| match x {
                    Mat::Scale(s, m) => {
                        c.push(s.clone());
                        (**m).clone()
                    }
                    m => m.clone(),
                })
                .collect();
            np_mat(&Mat::Scale(crate::simplify::mul(c), Box::new(Mat::MatMul(plain))), cx)?
        }
        // `Aᵀ 1`, the column sums of `A`
        Mat::MatMul(xs) if matches!(xs.as_slice(), [Mat::T(_), Mat::Ones(_)]) => {
            let Mat::T(a) = &xs[0] else {
                unreachable!("just matched")
            };
            match np_mat(a, cx)? {
                (e, Kind::Matrix) => (cx.sum(e, Some(0)), Kind::Col),
                (e, Kind::Col) => (cx.sum(e, None), Kind::Scalar),
                _ => return None,
            }
        }
        Mat::MatMul(xs) => {
            let mut acc: Option<Val> = None;
            for x in xs {
                let v = factor(x, cx)?;
                acc = Some(match acc {
                    None => v,
                    Some(a) => product(a, v, cx)?,
                });
            }
            materialize(acc?, cx)
        }
        Mat::Had(xs) => {
            let mut out: Option<Py> = None;
            let mut kind = Kind::Scalar;
            for x in xs {
                let (e, k) = np_mat(x, cx)?;
                if k == Kind::Diag {
                    return None;
                }
                if k != Kind::Scalar {
                    if kind != Kind::Scalar && kind != k {
                        return None;
                    }
                    kind = k;
                }
                out = Some(match out {
                    None => e,
                    Some(a) => cx.block.mul(a, "*", e),
                });
            }
            (out?, kind)
        }
        Mat::HDiv(a, b) => {
            let (ea, ka) = np_mat(a, cx)?;
            let (eb, kb) = np_mat(b, cx)?;
            if ka == Kind::Diag || kb == Kind::Diag {
                return None;
            }
            let kind = if ka == Kind::Scalar { kb } else { ka };
            (cx.block.mul(ea, "/", eb), kind)
        }
        Mat::Add(ts) => {
            let mark = cx.block.mark();
            match add_terms(ts, true, cx)? {
                (e, Kind::Matrix) => (e, Kind::Matrix),
                // no full matrix to broadcast against: the outer products written out
                _ => {
                    cx.block.truncate(mark);
                    add_terms(ts, false, cx)?
                }
            }
        }
        Mat::Scale(s, x) if softmax_vector(s, x).is_some() => {
            let (c, z, rest) = softmax_vector(s, x).expect("just matched");
            stable::softmax_vector(&c, z, &rest, cx)?
        }
        Mat::Scale(s, x) => {
            let (e, k) = np_mat(x, cx)?;
            if s.is_one() {
                (e, k)
            } else if s == &Term::int(-1) {
                (cx.block.neg(e), k)
            } else {
                let c = np_term(s, &[], cx)?;
                (cx.block.mul(c, "*", e), k)
            }
        }
        Mat::Ones(d) => {
            let n = cx.size(*d);
            (cx.constant("ones", n), Kind::Col)
        }
        Mat::Eye(d) => {
            let n = cx.size(*d);
            (cx.constant("eye", n), Kind::Matrix)
        }
        Mat::Map(Func::Log, x) if row_sums_of_exp(x).is_some() => {
            stable::logsumexp(row_sums_of_exp(x).expect("just matched"), cx)?
        }
        Mat::Map(Func::Log, x) if log_sigmoid(x, cx).is_some() => {
            let (arg, negated) = log_sigmoid(x, cx).expect("just matched");
            minus_softplus(arg, negated, cx)?
        }
        Mat::Map(f, x) => {
            let (e, k) = np_mat(x, cx)?;
            if k == Kind::Diag {
                return None;
            }
            (cx.func(f, e), k)
        }
        Mat::Pow(x, e) => {
            let (b, k) = np_mat(x, cx)?;
            if k == Kind::Diag {
                return None;
            }
            // x⁻¹ is `1 / x`, as the index forms' reciprocals print
            if *e == -BigRational::one() {
                (cx.block.mul(Py::name("1"), "/", b), k)
            } else {
                (cx.block.pow(b, e), k)
            }
        }
        Mat::Diag(v) => {
            let (e, _) = np_mat(v, cx)?;
            (e, Kind::Diag)
        }
    })
}

/// The terms of a sum; with `spread`, a term `1 vᵀ` or `u 1ᵀ` written as
/// the vector NumPy broadcasts (`v`, `u[:, None]`), not as an outer product.
fn add_terms(ts: &[(bool, Mat)], spread: bool, cx: &mut Ctx) -> Option<(Py, Kind)> {
    let mut out: Option<Py> = None;
    let mut kind = Kind::Scalar;
    // a row broadcast beside a column broadcast is a full matrix: `b + c[:, None]`
    let mut along = (false, false);
    for (neg, x) in ts {
        let (e, k) = match spread.then(|| broadcast(x, cx)).flatten() {
            Some((e, rows)) => {
                if rows {
                    along.0 = true;
                } else {
                    along.1 = true;
                }
                (
                    e,
                    if along == (true, true) {
                        Kind::Matrix
                    } else {
                        Kind::Scalar
                    },
                )
            }
            None => {
                let (e, k) = np_mat(x, cx)?;
                dense(e, k, cx)
            }
        };
        if k != Kind::Scalar {
            kind = k;
        }
        out = Some(match (out, neg) {
            (None, false) => e,
            (None, true) => cx.block.neg(e),
            (Some(a), false) => cx.block.add(a, "+", e),
            (Some(a), true) => cx.block.add(a, "-", e),
        });
    }
    Some((out?, kind))
}

/// A matrix `1 vᵀ` (every row `v`) as `v`, or `u 1ᵀ` (every column `u`) as
/// `u[:, None]`, possibly scaled: what NumPy broadcasts against a matrix.
/// `None` for anything else; `true` for the rows.
fn broadcast(m: &Mat, cx: &mut Ctx) -> Option<(Py, bool)> {
    let pushed_t;
    let m = match m {
        Mat::T(x) => {
            pushed_t = pushed(x)?;
            &pushed_t
        }
        m => m,
    };
    let (c, m) = match m {
        Mat::Scale(c, x) => (Some(c.clone()), &**x),
        m => (None, m),
    };
    let Mat::MatMul(xs) = m else { return None };
    // `(c 1) vᵀ`: the scale in front
    let (c, xs): (Option<Term>, Vec<Mat>) = match xs.as_slice() {
        [Mat::Scale(k, one), tail @ ..] if matches!(**one, Mat::Ones(_)) && c.is_none() => (
            Some(k.clone()),
            std::iter::once((**one).clone()).chain(tail.iter().cloned()).collect(),
        ),
        _ => (c, xs.clone()),
    };
    let rest = |xs: &[Mat]| match xs {
        [one] => one.clone(),
        many => Mat::MatMul(many.to_vec()),
    };
    let e = match xs.as_slice() {
        [Mat::Ones(_), tail @ ..] if !tail.is_empty() => {
            let (e, k) = np_mat(&rest(tail), cx)?;
            ((k == Kind::Row).then_some(e)?, true)
        }
        [head @ .., Mat::T(last)] if !head.is_empty() && matches!(**last, Mat::Ones(_)) => {
            let (e, k) = np_mat(&rest(head), cx)?;
            if k != Kind::Col {
                return None;
            }
            (cx.block.suffix(e, "[:, None]"), false)
        }
        _ => return None,
    };
    Some(match c {
        Some(c) => {
            let c = np_term(&c, &[], cx)?;
            (cx.block.mul(c, "*", e.0), e.1)
        }
        None => e,
    })
}

/// `xᵀ` with the transpose pushed inside where that writes fewer `.T`:
/// through sums and elementwise operations with at most one term that is
/// not, and through a product of transposes and vectors (`(W1ᵀ Xᵀ)ᵀ` is `X W1`).
fn pushed(x: &Mat) -> Option<Mat> {
    let t = |m: &Mat| match m {
        Mat::T(inner) => (**inner).clone(),
        Mat::Scalar(_) | Mat::Eye(_) | Mat::Diag(_) => m.clone(),
        m => Mat::T(Box::new(m.clone())),
    };
    let few = |ms: &mut dyn Iterator<Item = &Mat>| ms.filter(|m| !free(m)).count() <= 1;
    Some(match x {
        Mat::Add(ts) if few(&mut ts.iter().map(|(_, m)| m)) => Mat::Add(ts.iter().map(|(n, m)| (*n, t(m))).collect()),
        Mat::Had(xs) if few(&mut xs.iter()) => Mat::Had(xs.iter().map(t).collect()),
        Mat::HDiv(a, b) if few(&mut [&**a, &**b].into_iter()) => Mat::HDiv(Box::new(t(a)), Box::new(t(b))),
        Mat::Scale(c, m) => Mat::Scale(c.clone(), Box::new(t(m))),
        Mat::Map(f, m) => Mat::Map(f.clone(), Box::new(t(m))),
        Mat::Pow(m, e) => Mat::Pow(Box::new(t(m)), e.clone()),
        // a product only when no factor gains a `.T` (`(Z w)ᵀ` stays: a vector's transpose is free)
        Mat::MatMul(xs) if xs.iter().all(free) => Mat::MatMul(xs.iter().rev().map(t).collect()),
        _ => return None,
    })
}

/// Whether `m` transposed writes no `.T` (pushed inside, as [`pushed`] does).
fn free(m: &Mat) -> bool {
    match m {
        Mat::T(_) | Mat::Ones(_) | Mat::Eye(_) | Mat::Diag(_) | Mat::Scalar(_) => true,
        Mat::Var(_, dims) => dims.len() < 2,
        Mat::MatMul(xs) | Mat::Had(xs) => xs.iter().all(free),
        Mat::Add(ts) => ts.iter().all(|(_, x)| free(x)),
        Mat::HDiv(a, b) => free(a) && free(b),
        Mat::Scale(_, x) | Mat::Map(_, x) | Mat::Pow(x, _) => free(x),
    }
}

/// The argument of σ in `log σ(x)` (`true`: written `−softplus(−x)`) or
/// `log(1 − σ(x))` (`false`: `−softplus(x)`), the σ written or a tensor
/// defined as one (`ŷ = σ(s)`): no overflow, no log of 0.
enum SigmoidArg<'m> {
    /// `σ(m)` written.
    Written(&'m Mat),
    /// A tensor defined as `σ(e)` over its parameters, and its order.
    Defined(Term, Vec<crate::term::Ix>, usize),
}

fn log_sigmoid<'m>(x: &'m Mat, cx: &Ctx) -> Option<(SigmoidArg<'m>, bool)> {
    let (s, negated) = match x {
        Mat::Add(ts) => match ts.as_slice() {
            [(false, Mat::Scalar(one)), (true, s)] if one.is_one() => (s, false),
            _ => return None,
        },
        s => (s, true),
    };
    let arg = match s {
        Mat::Map(Func::Sigmoid, m) => SigmoidArg::Written(m),
        Mat::Var(Name::Tensor(p), dims) if dims.len() <= 2 => {
            let (_, params, rhs) = cx.definitions.iter().find(|(d, _, _)| d == p)?;
            let Term::Fn(Func::Sigmoid, e) = rhs else { return None };
            SigmoidArg::Defined((**e).clone(), params.clone(), dims.len())
        }
        _ => return None,
    };
    Some((arg, negated))
}

/// `−softplus(∓x)`, the translation of what [`log_sigmoid`] found.
fn minus_softplus(arg: SigmoidArg, negated: bool, cx: &mut Ctx) -> Option<(Py, Kind)> {
    let (e, kind) = match arg {
        SigmoidArg::Written(m) => np_mat(m, cx)?,
        SigmoidArg::Defined(e, params, order) => (
            np_term(&e, &params, cx)?,
            [Kind::Scalar, Kind::Col, Kind::Matrix][order],
        ),
    };
    if kind == Kind::Diag {
        return None;
    }
    let e = if negated { cx.block.neg(e) } else { e };
    let softplus = cx.func(&Func::Softplus, e);
    Some((cx.block.neg(softplus), kind))
}

/// A `diag(v)` that stands alone (a term of a sum, a whole result, such as a
/// Jacobian's `diag(y) − y yᵀ`) as the matrix `np.diag(v)`; anything else as it is.
pub(super) fn dense(e: Py, k: Kind, cx: &mut Ctx) -> (Py, Kind) {
    match k {
        Kind::Diag => (
            cx.block.call(&format!("{}.diag", cx.backend.m()), vec![e]),
            Kind::Matrix,
        ),
        k => (e, k),
    }
}

/// A factor of a matrix product, kept symbolic where NumPy has a shorter
/// spelling for its product with a neighbour.
enum Val {
    /// The column of ones over a dimension.
    Ones(u32),
    /// The row of ones `1ᵀ`.
    OnesRow(u32),
    /// `diag(v)`, as `v`.
    Diag(Py),
    /// `diag(1 ⊘ v)`, as `v`.
    DiagInv(Py),
    /// `u vᵀ`, as the column `u` and the row `v`: the factors after it
    /// multiply the row, those before it the column (a vector chain, not a
    /// matrix chain).
    Outer(Py, Py),
    /// `A⁻¹` (`A⁻ᵀ` when transposed), by the matrix's name: a product
    /// with it is `np.linalg.solve`.
    Inv(std::rc::Rc<str>, bool),
    /// Anything else.
    Of(Py, Kind),
}

fn factor(m: &Mat, cx: &mut Ctx) -> Option<Val> {
    let diag = |v: &Mat, cx: &mut Ctx| -> Option<Val> {
        if let Mat::Pow(base, e) = v {
            if *e == -num_rational::BigRational::one() {
                return Some(Val::DiagInv(np_mat(base, cx)?.0));
            }
        }
        Some(Val::Diag(np_mat(v, cx)?.0))
    };
    Some(match m {
        Mat::Ones(d) => Val::Ones(*d),
        Mat::Diag(v) => diag(v, cx)?,
        Mat::Var(Name::Matrix(MatrixFn::Inv, a), _) => Val::Inv(a.clone(), false),
        Mat::T(x) => match &**x {
            Mat::Ones(d) => Val::OnesRow(*d),
            Mat::Diag(v) => diag(v, cx)?,
            Mat::Var(Name::Matrix(MatrixFn::Inv, a), _) => Val::Inv(a.clone(), true),
            _ => of(m, cx)?,
        },
        _ => of(m, cx)?,
    })
}

fn of(m: &Mat, cx: &mut Ctx) -> Option<Val> {
    Some(match np_mat(m, cx)? {
        (e, Kind::Diag) => Val::Diag(e),
        (e, k) => Val::Of(e, k),
    })
}

fn materialize(v: Val, cx: &mut Ctx) -> (Py, Kind) {
    match v {
        Val::Ones(d) => {
            let n = cx.size(d);
            (cx.constant("ones", n), Kind::Col)
        }
        Val::OnesRow(d) => {
            let n = cx.size(d);
            (cx.constant("ones", n), Kind::Row)
        }
        Val::Diag(e) => (e, Kind::Diag),
        Val::DiagInv(e) => (cx.block.mul(Py::name("1"), "/", e), Kind::Diag),
        Val::Outer(u, v) => {
            let outer = format!("{}.outer", cx.backend.m());
            (cx.block.call(&outer, vec![u, v]), Kind::Matrix)
        }
        Val::Inv(a, transposed) => (cx.matrix_fn(MatrixFn::Inv, &a, transposed), Kind::Matrix),
        Val::Of(e, k) => (e, k),
    }
}

/// `a b`, the product of two neighbouring factors.
fn product(a: Val, b: Val, cx: &mut Ctx) -> Option<Val> {
    use Kind::*;
    use Val::{DiagInv, Of, Ones, OnesRow, Outer};
    Some(match (a, b) {
        // A⁻¹ B = solve(A, B); x A⁻¹ = solve(Aᵀ, x) for a row x; B A⁻¹ = solve(Aᵀ, Bᵀ)ᵀ
        (Val::Inv(a, t), Of(b, k @ (Matrix | Col))) => Of(cx.solve(&a, t, b), k),
        (Of(b, Row), Val::Inv(a, t)) => Of(cx.solve(&a, !t, b), Row),
        (Of(b, Matrix), Val::Inv(a, t)) => {
            // `Aᵀ` transposed is `A`, not `A.T.T`
            let bt = match b.text.strip_suffix(".T") {
                Some(plain) if b.text.matches(".T").count() == 1 && is_name(plain) => Py::name(plain),
                _ => cx.block.suffix(b, ".T"),
            };
            let x = cx.solve(&a, !t, bt);
            Of(cx.block.suffix(x, ".T"), Matrix)
        }
        // A⁻¹ B⁻¹: the right one written out, the left one a solve
        (a, b @ Val::Inv(..)) if !matches!(a, Of(_, Scalar) | Outer(..)) => {
            let b = materialize(b, cx);
            return product(a, Of(b.0, b.1), cx);
        }
        (a @ Val::Inv(..), b) if !matches!(b, Of(_, Scalar) | Outer(..)) => {
            let a = materialize(a, cx);
            return product(Of(a.0, a.1), b, cx);
        }
        (Of(s, Scalar), v) | (v, Of(s, Scalar)) => match materialize(v, cx) {
            (e, Diag) => Val::Diag(cx.block.mul(s, "*", e)),
            (e, k) => Of(cx.block.mul(s, "*", e), k),
        },
        (Outer(u, v), b) => match product(Of(v, Row), b, cx)? {
            Of(v, Row) => Outer(u, v),
            Of(s, Scalar) => Of(cx.block.mul(u, "*", s), Col),
            _ => return None,
        },
        (a, Outer(u, v)) => match product(a, Of(u, Col), cx)? {
            Of(u, Col) => Outer(u, v),
            Of(s, Scalar) => Of(cx.block.mul(s, "*", v), Row),
            _ => return None,
        },
        (OnesRow(_), Of(x, Matrix)) => Of(cx.sum(x, Some(0)), Row),
        (OnesRow(_), Of(x, Col)) => Of(cx.sum(x, None), Scalar),
        (OnesRow(_), Val::Diag(v)) => Of(v, Row),
        (OnesRow(_), DiagInv(v)) => Of(cx.block.mul(Py::name("1"), "/", v), Row),
        (OnesRow(d), Ones(_)) => Of(cx.size(d), Scalar),
        (Ones(d), OnesRow(e)) => {
            let (n, k) = (cx.size(d), cx.size(e));
            Outer(cx.constant("ones", n), cx.constant("ones", k))
        }
        (Ones(d), Of(r, Row)) => {
            let n = cx.size(d);
            Outer(cx.constant("ones", n), r)
        }
        (Of(x, Matrix), Ones(_)) => Of(cx.sum(x, Some(1)), Col),
        (Of(x, Row), Ones(_)) => Of(cx.sum(x, None), Scalar),
        (Val::Diag(v), Ones(_)) => Of(v, Col),
        (DiagInv(v), Ones(_)) => Of(cx.block.mul(Py::name("1"), "/", v), Col),
        (Of(c, Col), OnesRow(e)) => {
            let n = cx.size(e);
            Outer(c, cx.constant("ones", n))
        }
        (Val::Diag(a), Val::Diag(b)) => Val::Diag(cx.block.mul(a, "*", b)),
        (DiagInv(a), DiagInv(b)) => DiagInv(cx.block.mul(a, "*", b)),
        (Val::Diag(a), DiagInv(b)) | (DiagInv(b), Val::Diag(a)) => Val::Diag(cx.block.mul(a, "/", b)),
        (Val::Diag(v), Of(x, Matrix)) => {
            let v = cx.block.suffix(v, "[:, None]");
            Of(cx.block.mul(v, "*", x), Matrix)
        }
        (DiagInv(v), Of(x, Matrix)) => {
            let v = cx.block.suffix(v, "[:, None]");
            Of(cx.block.mul(x, "/", v), Matrix)
        }
        (Of(x, Matrix), Val::Diag(v)) => Of(cx.block.mul(x, "*", v), Matrix),
        (Of(x, Matrix), DiagInv(v)) => Of(cx.block.mul(x, "/", v), Matrix),
        (Val::Diag(v), Of(x, Col)) => Of(cx.block.mul(v, "*", x), Col),
        (DiagInv(v), Of(x, Col)) => Of(cx.block.mul(x, "/", v), Col),
        (Of(x, Row), Val::Diag(v)) => Of(cx.block.mul(x, "*", v), Row),
        (Of(x, Row), DiagInv(v)) => Of(cx.block.mul(x, "/", v), Row),
        (Of(a, Matrix), Of(b, Matrix)) => Of(cx.block.mul(a, "@", b), Matrix),
        (Of(a, Matrix), Of(b, Col)) => Of(cx.block.mul(a, "@", b), Col),
        (Of(a, Row), Of(b, Matrix)) => Of(cx.block.mul(a, "@", b), Row),
        (Of(a, Row), Of(b, Col)) => Of(cx.block.mul(a, "@", b), Scalar),
        (Of(a, Col), Of(b, Row)) => Outer(a, b),
        _ => return None,
    })
}

/// Whether `s` is a bare Python name (so `s.T` is a transposed name).
fn is_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_')
}

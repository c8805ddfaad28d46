//! Recognition: an index term read as matrix algebra.
//!
//! A term is read as a sum of products `c Σ_K Π f`. The bound indices are
//! eliminated one at a time, each elimination a matrix product, a
//! matrix–vector product, a row sum (`A 1`) or an inner product (`aᵀ b`),
//! as long as no intermediate needs three indices. What is left is combined by
//! the result's indices: ⊙ within a shape, `diag` scaling, outer products and
//! broadcasts (`v 1ᵀ`). A term that needs an order-3 intermediate, a trace or
//! a diagonal has no matrix form here, and the caller says so.

use std::collections::BTreeSet;

use num_rational::BigRational;
use num_traits::{One, Signed};

use super::mat::{cost, tidy, transpose, Mat};
use crate::simplify::{mul, split_coefficient};
use crate::term::{Ix, Term};

/// One factor during elimination: its free indices (at most two, in the order
/// of the matrix's rows and columns) and the matrix.
#[derive(Clone, Debug)]
struct Fac {
    ix: Vec<Ix>,
    m: Mat,
}

impl Fac {
    /// The matrix oriented with rows `r` and columns `c`.
    fn oriented(self, r: &Ix, c: &Ix) -> Mat {
        if self.ix[0] == *r && self.ix[1] == *c {
            self.m
        } else {
            transpose(self.m)
        }
    }
}

/// The matrix form of `t` with rows indexed by `out[0]` and columns by `out[1]`.
pub fn recognize(t: &Term, out: &[Ix]) -> Option<Mat> {
    if out.len() > 2 {
        return None;
    }
    if t.is_zero() {
        return Some(Mat::Scalar(Term::zero()));
    }
    let m = rec(t, out, false)?;
    Some(tidy(super::scalars::spell_scalars(m)))
}

/// The 1×1 matrix form of a closed sum (`Σ_k t_k` is `1ᵀ t`), or `None`.
pub(super) fn closed(t: &Term) -> Option<Mat> {
    rec(t, &[], false)
}

fn rec(t: &Term, out: &[Ix], in_sum: bool) -> Option<Mat> {
    match t {
        Term::Add(ts) => {
            let mut terms = Vec::new();
            for x in ts {
                let (c, rest) = split_coefficient(x);
                let negative = c.is_negative();
                let positive = if negative {
                    mul(vec![Term::Num(-c), rest])
                } else {
                    x.clone()
                };
                terms.push((negative, rec(&positive, out, true)?));
            }
            // positive terms first: `Y − T`
            terms.sort_by_key(|(neg, _)| *neg);
            Some(Mat::Add(terms))
        }
        _ => product(t, out, in_sum),
    }
}

/// A product `c Σ_K Π f`, flattened; each bound index with its nesting depth.
fn flatten<'t>(t: &'t Term, depth: usize, ks: &mut Vec<(usize, Ix)>, fs: &mut Vec<&'t Term>) {
    match t {
        Term::Mul(xs) => xs.iter().for_each(|x| flatten(x, depth, ks, fs)),
        Term::Sum(k, body) => {
            ks.extend(k.iter().map(|k| (depth, k.clone())));
            flatten(body, depth + 1, ks, fs);
        }
        x => fs.push(x),
    }
}

/// The scalar factors (no free index) and the matrix factors of a product.
fn factors(fs: &[&Term]) -> Option<(Vec<Term>, Vec<Fac>)> {
    let mut scalars: Vec<Term> = Vec::new();
    let mut facs: Vec<Fac> = Vec::new();
    for f in fs {
        let free = free_in_order(f);
        if free.is_empty() {
            scalars.push((*f).clone());
            continue;
        }
        if free.len() > 2 {
            return None;
        }
        let m = atom(f, &free)?;
        facs.push(Fac { ix: free, m });
    }
    Some((scalars, facs))
}

fn product(t: &Term, out: &[Ix], in_sum: bool) -> Option<Mat> {
    let mut nested = Vec::new();
    let mut fs = Vec::new();
    flatten(t, 0, &mut nested, &mut fs);
    // Innermost sums first: the nesting the simplifier chose is the natural order.
    nested.sort_by_key(|(depth, _)| std::cmp::Reverse(*depth));
    let ks: Vec<Ix> = nested.into_iter().map(|(_, k)| k).collect();
    let (scalars, facs) = factors(&fs)?;
    // Eliminate the bound indices: innermost first, or else the order that reads
    // best. (The factors are recognised again for the search rather than cloned
    // beforehand: cloning at every level of a deep chain cost quadratic time.)
    let facs = match ks.iter().try_fold(facs, |f, k| eliminate(f, k, out)) {
        Some(facs) => facs,
        None => best_elimination(factors(&fs)?.1, ks, out)?,
    };
    // Scalars produced by elimination join the coefficient.
    let (scalar_facs, facs): (Vec<Fac>, Vec<Fac>) = facs.into_iter().partition(|f| f.ix.is_empty());
    let scalar_mats: Vec<Mat> = scalar_facs.into_iter().map(|f| f.m).collect();
    let core = combine(facs, out)?;
    let coefficient = mul(scalars);
    // Scalars that elimination produced (`aᵀ b`) multiply the rest; alone, they
    // are broadcast to the result's shape like a coefficient.
    let scalar = (!scalar_mats.is_empty()).then(|| had(scalar_mats));
    let m = match (scalar, core) {
        (Some(s), Some(c)) => Mat::MatMul(vec![s, c]),
        (None, Some(c)) => c,
        (Some(s), None) => broadcast_scalar(s, out, in_sum),
        (None, None) => return Some(broadcast_scalar(Mat::Scalar(coefficient), out, in_sum)),
    };
    Some(if coefficient.is_one() {
        m
    } else {
        Mat::Scale(coefficient, Box::new(m))
    })
}

fn broadcast_scalar(s: Mat, out: &[Ix], in_sum: bool) -> Mat {
    if in_sum {
        return s; // a scalar in a sum broadcasts implicitly: `1 − ŷ`
    }
    match out {
        [] => s,
        [x] => scale_mat(s, Mat::Ones(x.dim)),
        [x, y] => scale_mat(s, Mat::MatMul(vec![Mat::Ones(x.dim), transpose(Mat::Ones(y.dim))])),
        _ => unreachable!("at most two result indices"),
    }
}

fn scale_mat(s: Mat, m: Mat) -> Mat {
    match s {
        Mat::Scalar(t) if t.is_one() => m,
        Mat::Scalar(t) => Mat::Scale(t, Box::new(m)),
        other => Mat::MatMul(vec![other, m]),
    }
}

/// The free indices in the order they are first written (`z_nj` → n, j).
fn free_in_order(t: &Term) -> Vec<Ix> {
    fn go(t: &Term, bound: &mut Vec<Ix>, out: &mut Vec<Ix>) {
        let see = |i: &Ix, out: &mut Vec<Ix>| {
            if !bound.contains(i) && !out.contains(i) {
                out.push(i.clone());
            }
        };
        match t {
            Term::Var(_, ix) => ix.iter().for_each(|i| see(i, out)),
            Term::Delta(a, b) => {
                see(a, out);
                see(b, out);
            }
            Term::Sum(ks, b) => {
                let n = bound.len();
                bound.extend(ks.iter().cloned());
                go(b, bound, out);
                bound.truncate(n);
            }
            _ => t.children().iter().for_each(|x| go(x, bound, out)),
        }
    }
    let mut out = Vec::new();
    go(t, &mut Vec::new(), &mut out);
    out
}

/// A single factor with free indices `ix` as a matrix oriented `ix[0] × ix[1]`.
fn atom(f: &Term, ix: &[Ix]) -> Option<Mat> {
    match f {
        Term::Var(name, idx) => {
            if let ([a, b], [k]) = (idx.as_slice(), ix) {
                if a == b && a == k {
                    // X_kk: the diagonal of X as a vector, (X ⊙ I) 1
                    let x = Mat::Var(name.clone(), vec![a.dim, b.dim]);
                    return Some(Mat::MatMul(vec![Mat::Had(vec![x, Mat::Eye(a.dim)]), Mat::Ones(a.dim)]));
                }
            }
            if idx.len() != ix.len() {
                return None; // another repeated index: no matrix form here
            }
            let v = Mat::Var(name.clone(), idx.iter().map(|i| i.dim).collect());
            if idx == ix {
                Some(v)
            } else {
                Some(transpose(v))
            }
        }
        Term::Delta(a, _) => Some(Mat::Eye(a.dim)),
        Term::Fn(g, x) => Some(Mat::Map(g.clone(), Box::new(elementwise(x, ix)?))),
        Term::Pow(b, e) => Some(Mat::Pow(Box::new(elementwise(b, ix)?), e.clone())),
        Term::Add(_) | Term::Mul(_) | Term::Sum(..) => rec(f, ix, false),
        Term::Num(_) | Term::Pi => None,
    }
}

/// The argument of an elementwise function: the same shape as the result, with
/// scalar parts left to broadcast.
fn elementwise(x: &Term, ix: &[Ix]) -> Option<Mat> {
    let free: BTreeSet<Ix> = x.free();
    if free.len() == ix.len() {
        rec(x, ix, false)
    } else {
        None
    }
}

/// Every order of elimination for a few bound indices (greedy beyond that);
/// keeps the factors whose combination is cheapest.
fn best_elimination(facs: Vec<Fac>, ks: Vec<Ix>, out: &[Ix]) -> Option<Vec<Fac>> {
    if ks.is_empty() {
        return Some(facs);
    }
    let exhaustive = ks.len() <= 4;
    let mut best: Option<(usize, Vec<Fac>)> = None;
    for n in 0..ks.len() {
        let Some(next) = eliminate(facs.clone(), &ks[n], out) else {
            continue;
        };
        let mut rest = ks.clone();
        rest.remove(n);
        let Some(done) = best_elimination(next, rest, out) else {
            continue;
        };
        let c: usize = done.iter().map(|f| cost(&tidy(f.m.clone()))).sum();
        if best.as_ref().is_none_or(|(b, _)| c < *b) {
            best = Some((c, done));
        }
        if !exhaustive {
            break;
        }
    }
    best.map(|(_, f)| f)
}

/// Removes bound index `k` from the factors that carry it, or `None` if that
/// would need more than two indices. The new factor takes the place of the
/// first one it replaces, and is oriented like the result where it can be.
fn eliminate(facs: Vec<Fac>, k: &Ix, out: &[Ix]) -> Option<Vec<Fac>> {
    let at = facs.iter().position(|f| f.ix.contains(k))?;
    let (with, mut rest): (Vec<Fac>, Vec<Fac>) = facs.into_iter().partition(|f| f.ix.contains(k));
    let mut others: Vec<Ix> = Vec::new();
    for f in &with {
        for i in &f.ix {
            if i != k && !others.contains(i) {
                others.push(i.clone());
            }
        }
        if f.ix.len() == 2 && f.ix[0] == f.ix[1] {
            return None;
        }
    }
    if others.len() > 2 {
        return None;
    }
    others.sort_by_key(|i| out.iter().position(|o| o == i).unwrap_or(usize::MAX));
    let (vectors, mut matrices): (Vec<Fac>, Vec<Fac>) = with.into_iter().partition(|f| f.ix.len() == 1);
    let vectors: Vec<Mat> = vectors.into_iter().map(|f| f.m).collect();
    // The matrices that pair `k` with `x`, oriented `x × k`. (Each carries `k`
    // and one other index, so the matrices over `x` and over `y` are disjoint.)
    let mut over = |x: &Ix| -> Vec<Mat> {
        let (mine, others): (Vec<Fac>, Vec<Fac>) = std::mem::take(&mut matrices)
            .into_iter()
            .partition(|f| f.ix.contains(x));
        matrices = others;
        mine.into_iter().map(|f| f.oriented(x, k)).collect()
    };
    let (m, ix) = match others.as_slice() {
        [] => {
            // Σ_k a_k b_k = aᵀ b; Σ_k a_k = 1ᵀ a
            let mut vectors = vectors.into_iter();
            let m = match (vectors.next(), vectors.len()) {
                (None, _) => return None,
                // Σ_k v_k^2 = vᵀ v
                (Some(Mat::Pow(v, e)), 0) if e == BigRational::from_integer(2.into()) => {
                    Mat::MatMul(vec![transpose((*v).clone()), *v])
                }
                (Some(a), 0) => Mat::MatMul(vec![transpose(Mat::Ones(k.dim)), a]),
                (Some(first), _) => Mat::MatMul(vec![transpose(first), had(vectors.collect())]),
            };
            (m, vec![])
        }
        [x] => {
            // Σ_k A_xk w_k = A w; Σ_k A_xk = A 1
            let a = had(over(x));
            let w = if vectors.is_empty() {
                Mat::Ones(k.dim)
            } else {
                had(vectors)
            };
            (Mat::MatMul(vec![a, w]), vec![x.clone()])
        }
        [x, y] => {
            // Σ_k A_xk w_k B_ky = A diag(w) B
            let a = had(over(x));
            let b = transpose(had(over(y)));
            let m = if vectors.is_empty() {
                Mat::MatMul(vec![a, b])
            } else {
                Mat::MatMul(vec![a, Mat::Diag(Box::new(had(vectors))), b])
            };
            (m, vec![x.clone(), y.clone()])
        }
        _ => return None,
    };
    // Every factor before the first one with `k` is without it.
    rest.insert(at, Fac { ix, m });
    Some(rest)
}

/// `⊙` of several (one stays itself); factors raised to −1 become `⊘`.
fn had(ms: Vec<Mat>) -> Mat {
    let mut num = Vec::new();
    let mut den = Vec::new();
    for m in ms {
        match m {
            Mat::Pow(b, e) if e == -BigRational::one() => den.push(*b),
            Mat::Pow(b, e) if e.is_negative() => den.push(Mat::Pow(b, -e)),
            m => num.push(m),
        }
    }
    let join = |mut v: Vec<Mat>| if v.len() == 1 { v.pop().unwrap() } else { Mat::Had(v) };
    match (num.is_empty(), den.is_empty()) {
        (_, true) => join(num),
        (true, false) => Mat::Pow(Box::new(join(den)), -BigRational::one()),
        (false, false) => Mat::HDiv(Box::new(join(num)), Box::new(join(den))),
    }
}

/// Combines the factors left after elimination into the result's shape.
fn combine(facs: Vec<Fac>, out: &[Ix]) -> Option<Option<Mat>> {
    if facs.is_empty() {
        return Some(None);
    }
    match out {
        [] => None,
        [x] if facs.iter().all(|f| f.ix == [x.clone()]) => Some(Some(had(facs.into_iter().map(|f| f.m).collect()))),
        [_] => None,
        [x, y] => {
            let (mut rows, mut cols, mut mats) = (Vec::new(), Vec::new(), Vec::new());
            for f in facs {
                if f.ix == [x.clone()] {
                    rows.push(f.m);
                } else if f.ix == [y.clone()] {
                    cols.push(f.m);
                } else if f.ix.len() == 2 {
                    mats.push(f.oriented(x, y));
                } else {
                    return None;
                }
            }
            // δ_xy beside a diag adds nothing: δ_xy v_x w_y = diag(v ⊙ w)
            // (a Jacobian's `relu'(s_i) δ_ij`)
            if !rows.is_empty() || !cols.is_empty() {
                let identity = |m: &Mat| matches!(m, Mat::Eye(_));
                if !mats.is_empty() && mats.iter().all(identity) {
                    rows.append(&mut cols);
                    return Some(Some(Mat::Diag(Box::new(had(rows)))));
                }
            }
            let m = if !mats.is_empty() {
                let mut chain = Vec::new();
                if !rows.is_empty() {
                    chain.push(Mat::Diag(Box::new(had(rows))));
                }
                chain.push(had(mats));
                if !cols.is_empty() {
                    chain.push(Mat::Diag(Box::new(had(cols))));
                }
                if chain.len() == 1 {
                    chain.pop().unwrap()
                } else {
                    Mat::MatMul(chain)
                }
            } else {
                let left = if rows.is_empty() { Mat::Ones(x.dim) } else { had(rows) };
                let right = if cols.is_empty() { Mat::Ones(y.dim) } else { had(cols) };
                Mat::MatMul(vec![left, transpose(right)])
            };
            Some(Some(m))
        }
        _ => None,
    }
}

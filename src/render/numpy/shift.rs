//! The maximum subtracted before `exp` wherever a softmax or a log-sum-exp
//! is written out (SPEC §4), beyond the forms `stable.rs` knows by their shape:
//! along any axis (`softmax_s(Z_sc)`), of an expression (`softmax_c(Σ_k W_ck x_k)`),
//! in a Hessian (`1/(Σ_k exp(w_k)) exp(w_i) (δ_ij − …)`).
//!
//! The rule, on the index form: the `exp(e)` of one argument `e` (equal up to
//! the names of its free indices) are a *group*. Writing each as
//! `exp(e − m) · e^m`, with `m` the maximum of `e` over the axes that some Σ
//! sums `exp(e)` over, changes nothing where the factors `e^m` cancel: in
//! every product the powers of `exp(e)` add up to zero for each value of the
//! other axes (a softmax: one `exp` over one Σ of `exp`), and the terms of a
//! sum agree. A `log` of such a sum gets `+ m` back (`log Σ_k exp(z_k) =
//! m + log Σ_k exp(z_k − m)`). A group for which the powers do not cancel is
//! left as written.

use std::collections::BTreeMap;
use std::rc::Rc;

use num_traits::ToPrimitive;

use super::ctx::{Backend, Ctx};
use super::einsum::np_term;
use super::matrix::{dense, np_mat};
use super::python::Py;
use crate::matrix::Mat;
use crate::render::softmax::{logsumexp_vector, row_sums_of_exp, softmax_rows, softmax_vector};
use crate::simplify::{add, alpha_key, mul};
use crate::term::{Func, Ix, Name, Term};

/// The form to translate instead of `(m, t)`, with every group of `exp` that
/// a softmax or log-sum-exp reads shifted by its maximum (bound to a temporary
/// here); `None` when `m` already has the stable shapes, or nothing is shifted.
pub(super) fn stabilize(m: Option<&Mat>, t: &Term, axes: &[Ix], cx: &mut Ctx) -> Option<(Option<Mat>, Term)> {
    if m.is_some_and(covered) || !has_exp(t) {
        return None;
    }
    let mut groups: Vec<Group> = Vec::new();
    collect(t, &mut groups);
    groups.retain_mut(|g| g.settle(t));
    if groups.is_empty() {
        return None;
    }
    for g in &mut groups {
        let arg = array(&g.instance, &g.free, cx)?;
        let reduced: Vec<usize> = (0..g.free.len()).filter(|p| g.reduce[*p]).collect();
        let suffix = if reduced.len() == g.free.len() {
            ".max()".to_string()
        } else {
            let list = match reduced.as_slice() {
                [one] => one.to_string(),
                many => format!(
                    "({})",
                    many.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(", ")
                ),
            };
            match cx.backend {
                Backend::Torch => format!(".amax(dim={list})"),
                Backend::Numpy | Backend::Jax => format!(".max(axis={list})"),
            }
        };
        let max = cx.block.suffix(arg, &suffix);
        let max = cx.block.hoist(max);
        g.name = format!("max·{}", max.text).into();
        cx.block.alias(&g.name, &max.text);
    }
    let shifted = rewrite(t, &groups);
    let mat = (axes.len() <= 2)
        .then(|| crate::matrix::recognize(&shifted, axes))
        .flatten();
    Some((mat, shifted))
}

/// One argument of `exp`, its free indices in order, and the positions
/// maximised over.
struct Group {
    key: Term,
    instance: Term,
    free: Vec<Ix>,
    reduce: Vec<bool>,
    name: Rc<str>,
}

/// Why the powers of a group do not cancel as things stand.
enum Uneven {
    /// A Σ sums over the index at this position: maximise over it too.
    Reduce(usize),
    /// They cannot cancel.
    Never,
}

/// The powers of `exp(e)`, by the indices at the kept positions.
type Degree = BTreeMap<Vec<(usize, Ix)>, i64>;

impl Group {
    /// The free indices of `e` when it is an instance of this group.
    fn instance_of(&self, e: &Term) -> Option<Vec<Ix>> {
        let (key, free) = canonical(e);
        (key == self.key).then_some(free)
    }

    fn kept(&self, free: &[Ix]) -> Vec<(usize, Ix)> {
        free.iter()
            .enumerate()
            .filter(|(p, _)| !self.reduce[*p])
            .map(|(p, i)| (p, i.clone()))
            .collect()
    }

    /// Finds the positions to maximise over; whether the powers then cancel
    /// (and something is maximised: an `exp` no Σ sums is left alone).
    fn settle(&mut self, t: &Term) -> bool {
        loop {
            match self.degree(t) {
                Ok(d) => return d.is_empty() && self.reduce.iter().any(|r| *r),
                Err(Uneven::Reduce(p)) if !self.reduce[p] => self.reduce[p] = true,
                Err(_) => return false,
            }
        }
    }

    fn degree(&self, t: &Term) -> Result<Degree, Uneven> {
        Ok(match t {
            Term::Num(_) | Term::Pi | Term::Var(..) | Term::Delta(..) => Degree::new(),
            Term::Fn(Func::Exp, e) if self.instance_of(e).is_some() => {
                let free = self.instance_of(e).expect("just matched");
                Degree::from([(self.kept(&free), 1)])
            }
            // log Σ exp(e) gets the maximum back as a term of its own
            Term::Fn(Func::Log, x) => {
                self.degree(x)?;
                Degree::new()
            }
            Term::Fn(_, x) => {
                if !self.degree(x)?.is_empty() {
                    return Err(Uneven::Never);
                }
                Degree::new()
            }
            Term::Add(ts) => {
                let mut out: Option<Degree> = None;
                for x in ts {
                    let d = self.degree(x)?;
                    match &out {
                        Some(o) if *o != d => return Err(Uneven::Never),
                        _ => out = Some(d),
                    }
                }
                out.unwrap_or_default()
            }
            Term::Mul(fs) => {
                let mut out = Degree::new();
                for f in fs {
                    for (k, c) in self.degree(f)? {
                        *out.entry(k).or_default() += c;
                    }
                }
                out.retain(|_, c| *c != 0);
                out
            }
            Term::Pow(b, e) => {
                let d = self.degree(b)?;
                if d.is_empty() {
                    return Ok(d);
                }
                let n = e
                    .is_integer()
                    .then(|| e.to_integer().to_i64())
                    .flatten()
                    .ok_or(Uneven::Never)?;
                d.into_iter().map(|(k, c)| (k, c * n)).collect()
            }
            Term::Sum(ks, body) => {
                let d = self.degree(body)?;
                for key in d.keys() {
                    if let Some((p, _)) = key.iter().find(|(_, i)| ks.contains(i)) {
                        return Err(Uneven::Reduce(*p));
                    }
                }
                d
            }
        })
    }
}

/// The groups of every `exp` in `t`.
fn collect(t: &Term, groups: &mut Vec<Group>) {
    match t {
        Term::Num(_) | Term::Pi | Term::Var(..) | Term::Delta(..) => {}
        Term::Fn(f, x) => {
            if *f == Func::Exp {
                let (key, free) = canonical(x);
                if !groups.iter().any(|g| g.key == key) {
                    groups.push(Group {
                        key,
                        instance: (**x).clone(),
                        reduce: vec![false; free.len()],
                        free,
                        name: "".into(),
                    });
                }
            }
            collect(x, groups);
        }
        Term::Add(ts) | Term::Mul(ts) => ts.iter().for_each(|x| collect(x, groups)),
        Term::Pow(b, _) | Term::Sum(_, b) => collect(b, groups),
    }
}

/// `e` with its free indices renamed by position, up to the names of its
/// bound ones; and its free indices in order of appearance.
fn canonical(e: &Term) -> (Term, Vec<Ix>) {
    let mut free = Vec::new();
    free_in_order(e, &mut Vec::new(), &mut free);
    let mut out = e.clone();
    for (p, i) in free.iter().enumerate() {
        let placeholder = Ix {
            name: "⋄".into(),
            id: u32::MAX - p as u32,
            dim: i.dim,
        };
        out = out.rename(i, &placeholder);
    }
    (alpha_key(&out), free)
}

fn free_in_order(t: &Term, bound: &mut Vec<Ix>, out: &mut Vec<Ix>) {
    let mut note = |i: &Ix, bound: &Vec<Ix>| {
        if !bound.contains(i) && !out.contains(i) {
            out.push(i.clone());
        }
    };
    match t {
        Term::Num(_) | Term::Pi => {}
        Term::Var(_, ix) => ix.iter().for_each(|i| note(i, bound)),
        Term::Delta(a, b) => {
            note(a, bound);
            note(b, bound);
        }
        Term::Add(ts) | Term::Mul(ts) => ts.iter().for_each(|x| free_in_order(x, bound, out)),
        Term::Pow(b, _) | Term::Fn(_, b) => free_in_order(b, bound, out),
        Term::Sum(ks, b) => {
            let mark = bound.len();
            bound.extend(ks.iter().cloned());
            free_in_order(b, bound, out);
            bound.truncate(mark);
        }
    }
}

/// `t` with each `exp(e)` of a group written `exp(e − m)`, and `m` added back
/// after a `log` of a sum of them.
fn rewrite(t: &Term, groups: &[Group]) -> Term {
    match t {
        Term::Num(_) | Term::Pi | Term::Var(..) | Term::Delta(..) => t.clone(),
        Term::Fn(Func::Exp, e) => {
            for g in groups {
                if let Some(free) = g.instance_of(e) {
                    let max = max_var(g, &g.kept(&free));
                    return Term::Fn(
                        Func::Exp,
                        Box::new(add(vec![(**e).clone(), mul(vec![Term::int(-1), max])])),
                    );
                }
            }
            Term::Fn(Func::Exp, Box::new(rewrite(e, groups)))
        }
        Term::Fn(Func::Log, x) => {
            let mut terms = vec![Term::Fn(Func::Log, Box::new(rewrite(x, groups)))];
            for g in groups {
                if let Ok(d) = g.degree(x) {
                    for (key, c) in d {
                        terms.push(mul(vec![Term::int(c), max_var(g, &key)]));
                    }
                }
            }
            add(terms)
        }
        Term::Fn(f, x) => Term::Fn(f.clone(), Box::new(rewrite(x, groups))),
        Term::Add(ts) => add(ts.iter().map(|x| rewrite(x, groups)).collect()),
        Term::Mul(fs) => mul(fs.iter().map(|x| rewrite(x, groups)).collect()),
        Term::Pow(b, e) => Term::Pow(Box::new(rewrite(b, groups)), e.clone()),
        Term::Sum(ks, b) => Term::Sum(ks.clone(), Box::new(rewrite(b, groups))),
    }
}

/// The maximum of a group at the indices of one `exp`.
fn max_var(g: &Group, key: &[(usize, Ix)]) -> Term {
    Term::Var(
        Name::Tensor(g.name.clone()),
        key.iter().map(|(_, i)| i.clone()).collect(),
    )
}

/// `e` as an array whose axes are `free`, in that order.
fn array(e: &Term, free: &[Ix], cx: &mut Ctx) -> Option<Py> {
    if free.len() <= 2 {
        if let Some(m) = crate::matrix::recognize(e, free) {
            if let Some((py, kind)) = np_mat(&m, cx) {
                return Some(dense(py, kind, cx).0);
            }
        }
    }
    np_term(e, free, cx)
}

/// Whether `t` calls `exp`.
fn has_exp(t: &Term) -> bool {
    match t {
        Term::Fn(Func::Exp, _) => true,
        t => t.children().iter().any(has_exp),
    }
}

/// Whether every `exp` of a matrix form stands in a shape `stable.rs`
/// writes with its maximum subtracted.
fn covered(m: &Mat) -> bool {
    match m {
        Mat::MatMul(xs) if softmax_rows(xs).is_some() => {
            let (z, weights) = softmax_rows(xs).expect("just matched");
            covered(z) && weights.is_none_or(covered)
        }
        Mat::Map(Func::Log, x) if row_sums_of_exp(x).is_some() => covered(row_sums_of_exp(x).expect("just matched")),
        Mat::Scale(s, x) if softmax_vector(s, x).is_some() => {
            let (c, z, rest) = softmax_vector(s, x).expect("just matched");
            !has_exp(&c) && covered(z) && rest.into_iter().all(covered)
        }
        Mat::Scalar(t) => logsumexp_vector(t).is_some() || !has_exp(t),
        Mat::Map(Func::Exp, _) => false,
        Mat::Var(..) | Mat::Ones(_) | Mat::Eye(_) => true,
        Mat::Scale(s, x) => !has_exp(s) && covered(x),
        Mat::T(x) | Mat::Map(_, x) | Mat::Pow(x, _) | Mat::Diag(x) => covered(x),
        Mat::MatMul(xs) | Mat::Had(xs) => xs.iter().all(covered),
        Mat::HDiv(a, b) => covered(a) && covered(b),
        Mat::Add(ts) => ts.iter().all(|(_, x)| covered(x)),
    }
}

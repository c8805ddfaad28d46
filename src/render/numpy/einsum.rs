//! Index form → NumPy, with `np.einsum` for products and sums (a result or a
//! definition that has no matrix form). Each `einsum` call letters its own
//! indices; one that would need more than the 52 letters NumPy accepts is
//! contracted two operands at a time.

use std::collections::HashMap;

use num_traits::{One, Signed};

use super::ctx::{Backend, Ctx};
use super::python::Py;
use crate::simplify::split_coefficient;
use crate::term::{Func, Ix, Term};

/// The letters of one `einsum` call.
#[derive(Default)]
struct Letters {
    map: HashMap<Ix, char>,
}

const LETTERS: usize = 52;

impl Letters {
    fn of(&mut self, i: &Ix) -> char {
        if let Some(c) = self.map.get(i) {
            return *c;
        }
        let used: Vec<char> = self.map.values().copied().collect();
        let own = i
            .name
            .chars()
            .next()
            .filter(|c| c.is_ascii_alphabetic() && i.name.chars().count() == 1);
        let c = own
            .filter(|c| !used.contains(c))
            .or_else(|| ('a'..='z').chain('A'..='Z').find(|c| !used.contains(c)))
            .expect("at most 52 indices per einsum");
        self.map.insert(i.clone(), c);
        c
    }

    fn word(&mut self, ix: &[Ix]) -> String {
        ix.iter().map(|i| self.of(i)).collect()
    }
}

/// An expression whose axes are `axes` (an absent index is a length-1 axis).
pub(super) fn np_term(t: &Term, axes: &[Ix], cx: &mut Ctx) -> Option<Py> {
    Some(match t {
        Term::Num(n) => Py::number(n),
        Term::Pi => Py::name(match cx.backend {
            Backend::Torch => "torch.pi",
            Backend::Numpy => "np.pi",
            Backend::Jax => "jnp.pi",
        }),
        Term::Add(ts) => {
            let mut out: Option<Py> = None;
            for x in ts {
                let (c, rest) = split_coefficient(x);
                let negative = c.is_negative();
                let positive = if negative {
                    crate::simplify::mul(vec![Term::Num(-c), rest])
                } else {
                    x.clone()
                };
                let e = np_term(&positive, axes, cx)?;
                out = Some(match (out, negative) {
                    (None, false) => e,
                    (None, true) => cx.block.neg(e),
                    (Some(a), false) => cx.block.add(a, "+", e),
                    (Some(a), true) => cx.block.add(a, "-", e),
                });
            }
            out.unwrap_or_else(|| Py::name("0"))
        }
        Term::Fn(Func::Log, x) if cx.log_sigmoid(x).is_some() => {
            let (x, negated) = cx.log_sigmoid(x).expect("just matched");
            let e = np_term(&x, axes, cx)?;
            let e = if negated { cx.block.neg(e) } else { e };
            let softplus = cx.func(&Func::Softplus, e);
            cx.block.neg(softplus)
        }
        Term::Fn(f, x) if x.free().is_empty() && !reads_array(x) => {
            let number = reads_numbers_only(x, cx);
            let e = np_term(x, axes, cx)?;
            cx.scalar_func(f, e, number)
        }
        Term::Fn(f, x) => {
            let e = np_term(x, axes, cx)?;
            cx.func(f, e)
        }
        Term::Pow(b, e) if *e == -num_rational::BigRational::one() => {
            let b = np_term(b, axes, cx)?;
            cx.block.mul(Py::name("1"), "/", b)
        }
        Term::Pow(b, e) => {
            let b = np_term(b, axes, cx)?;
            cx.block.pow(b, e)
        }
        _ => return einsum(t, axes, cx),
    })
}

/// Whether `t` reads an indexed tensor (an array, not a scalar).
fn reads_array(t: &Term) -> bool {
    match t {
        Term::Var(_, ix) => !ix.is_empty(),
        Term::Delta(..) => false,
        t => t.children().iter().any(reads_array),
    }
}

/// Whether every name `t` reads is a size (a range symbol `D`, a count
/// `n_j`): the value is a Python number.
fn reads_numbers_only(t: &Term, cx: &Ctx) -> bool {
    match t {
        Term::Var(crate::term::Name::Tensor(n), ix) if ix.is_empty() => {
            cx.program.ranges.values().any(|r| **r == **n) || cx.size_symbol(n).is_some()
        }
        Term::Var(..) | Term::Delta(..) => false,
        t => t.children().iter().all(|x| reads_numbers_only(x, cx)),
    }
}

fn distinct(ix: impl IntoIterator<Item = Ix>) -> Vec<Ix> {
    let mut out: Vec<Ix> = Vec::new();
    for i in ix {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

fn einsum(t: &Term, axes: &[Ix], cx: &mut Ctx) -> Option<Py> {
    if let Some(e) = as_matrix(t, axes, cx) {
        return Some(e);
    }
    contraction(t, axes, cx)
}

/// A contraction (a Σ of a product) over at most two free axes written from
/// its matrix form (`W @ x`, not `np.einsum('ck,k->c', W, x)`), in the order
/// of `axes`; `None` where it has none, or none that reads better.
fn as_matrix(t: &Term, axes: &[Ix], cx: &mut Ctx) -> Option<Py> {
    if !matches!(t, Term::Sum(..)) {
        return None;
    }
    let present: Vec<Ix> = axes.iter().filter(|a| t.mentions(a)).cloned().collect();
    if present.len() > 2 || present.len() != t.free().len() {
        return None;
    }
    let m = crate::matrix::recognize(t, &present)?;
    if matches!(m, crate::matrix::Mat::Scalar(_)) {
        return None;
    }
    let mark = cx.block.mark();
    let before = (cx.read.clone(), cx.sizes.clone(), cx.opaque.clone());
    let e = match super::matrix::np_mat(&m, cx) {
        Some((e, k)) if k != super::matrix::Kind::Diag => e,
        _ => {
            cx.block.truncate(mark);
            (cx.read, cx.sizes, cx.opaque) = before;
            return None;
        }
    };
    Some(if present.len() < axes.len() {
        let idx: Vec<&str> = axes.iter().map(|a| if t.mentions(a) { ":" } else { "None" }).collect();
        cx.block.suffix(e, &format!("[{}]", idx.join(", ")))
    } else {
        e
    })
}

fn contraction(t: &Term, axes: &[Ix], cx: &mut Ctx) -> Option<Py> {
    fn flatten(t: &Term, fs: &mut Vec<Term>) {
        match t {
            Term::Mul(xs) => xs.iter().for_each(|x| flatten(x, fs)),
            Term::Sum(_, b) => flatten(b, fs),
            x => fs.push(x.clone()),
        }
    }
    let mut fs = Vec::new();
    flatten(t, &mut fs);
    let mut coefficient = num_rational::BigRational::one();
    let mut scalars: Vec<Py> = Vec::new();
    let mut operands: Vec<(Py, Vec<Ix>)> = Vec::new();
    for f in &fs {
        match f {
            Term::Num(n) => coefficient *= n,
            Term::Var(name, ix) if ix.is_empty() => scalars.push(cx.var(name)),
            Term::Var(name, ix) => operands.push((cx.var(name), ix.clone())),
            Term::Delta(a, b) => {
                let n = cx.size(a.dim);
                operands.push((cx.constant("eye", n), vec![a.clone(), b.clone()]));
            }
            other => {
                let free: Vec<Ix> = other.free().into_iter().collect();
                let e = np_term(other, &free, cx)?;
                if free.is_empty() {
                    scalars.push(e);
                } else {
                    operands.push((e, free));
                }
            }
        }
    }
    let present: Vec<Ix> = axes.iter().filter(|a| t.mentions(a)).cloned().collect();
    let mut expr = if operands.is_empty() {
        None
    } else {
        Some(contract(operands, &present, cx)?)
    };
    // Length-1 axes for the result's indices this product does not carry.
    if let Some(e) = expr.take() {
        expr = Some(if present.len() < axes.len() {
            let idx: Vec<&str> = axes.iter().map(|a| if t.mentions(a) { ":" } else { "None" }).collect();
            cx.block.suffix(e, &format!("[{}]", idx.join(", ")))
        } else {
            e
        });
    }
    let mut factors: Vec<Py> = Vec::new();
    if !coefficient.is_one() || (expr.is_none() && scalars.is_empty()) {
        factors.push(Py::number(&coefficient));
    }
    factors.extend(scalars);
    factors.extend(expr);
    let mut out: Option<Py> = None;
    for f in factors {
        out = Some(match out {
            None => f,
            Some(a) => cx.block.mul(a, "*", f),
        });
    }
    out
}

/// The contraction of `operands` onto the axes `out`.
fn contract(operands: Vec<(Py, Vec<Ix>)>, out: &[Ix], cx: &mut Ctx) -> Option<Py> {
    if operands.len() == 1 {
        let (e, ix) = &operands[0];
        if ix.as_slice() == out {
            return Some(e.clone());
        }
        if out.is_empty() && distinct(ix.iter().cloned()).len() == ix.len() {
            return Some(cx.sum(e.clone(), None));
        }
        // axes summed away, the others kept in order: `x.sum(axis=1)`, `x.sum(axis=(1, 2))`
        let kept: Vec<Ix> = ix.iter().filter(|i| out.contains(i)).cloned().collect();
        if distinct(ix.iter().cloned()).len() == ix.len() && kept.as_slice() == out {
            let summed: Vec<String> = (0..ix.len())
                .filter(|k| !out.contains(&ix[*k]))
                .map(|k| k.to_string())
                .collect();
            return Some(match summed.as_slice() {
                [one] => cx.sum(e.clone(), Some(one.parse().expect("an axis number"))),
                many => {
                    let axes = format!("({})", many.join(", "));
                    let s = format!(".sum({})", cx.axis_list(&axes));
                    cx.block.suffix(e.clone(), &s)
                }
            });
        }
    }
    let all = distinct(
        operands
            .iter()
            .flat_map(|(_, ix)| ix.iter().cloned())
            .chain(out.iter().cloned()),
    );
    if all.len() <= LETTERS {
        return Some(call(&operands, out, cx));
    }
    // Too many indices for one call: two operands at a time, keeping the
    // indices a later operand or the result still needs.
    let mut rest = operands.into_iter();
    let mut acc = rest.next()?;
    let rest: Vec<(Py, Vec<Ix>)> = rest.collect();
    for k in 0..rest.len() {
        let later: Vec<Ix> = rest[k + 1..].iter().flat_map(|(_, ix)| ix.iter().cloned()).collect();
        let keep: Vec<Ix> = distinct(acc.1.iter().chain(rest[k].1.iter()).cloned())
            .into_iter()
            .filter(|i| out.contains(i) || later.contains(i))
            .collect();
        let pair = vec![acc, rest[k].clone()];
        let used = distinct(pair.iter().flat_map(|(_, ix)| ix.iter().cloned()));
        if used.len() > LETTERS {
            return None;
        }
        let e = call(&pair, &keep, cx);
        acc = (cx.block.hoist(e), keep);
    }
    if acc.1.as_slice() == out {
        Some(acc.0)
    } else {
        Some(call(&[acc], out, cx))
    }
}

fn call(operands: &[(Py, Vec<Ix>)], out: &[Ix], cx: &mut Ctx) -> Py {
    let mut letters = Letters::default();
    let subs: Vec<String> = operands.iter().map(|(_, ix)| letters.word(ix)).collect();
    let spec = format!("'{}->{}'", subs.join(","), letters.word(out));
    let mut args = vec![Py::name(spec)];
    args.extend(operands.iter().map(|(e, _)| e.clone()));
    cx.block.call(&format!("{}.einsum", cx.backend.m()), args)
}

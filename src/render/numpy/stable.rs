//! Softmax and log-sum-exp along rows, written so that `exp` cannot overflow
//! (SPEC §4: generated code subtracts the maximum). NumPy has neither, so the
//! row maximum is subtracted by hand; PyTorch has both (`torch.softmax`,
//! `torch.logsumexp`), which do it themselves.

use super::ctx::{Backend, Ctx};
use super::einsum::np_term;
use super::matrix::{np_mat, Kind};
use super::python::Py;
use crate::matrix::Mat;
use crate::term::{Name, Term};

/// `diag(g) softmax(Z)` along rows (`g` none for 1): in NumPy
/// `_t = np.exp(Z - Z.max(axis=1, keepdims=True))`, then
/// `g[:, None] * (_t / _t.sum(axis=1, keepdims=True))`.
pub(super) fn softmax(z: &Mat, weights: Option<&Mat>, cx: &mut Ctx) -> Option<(Py, Kind)> {
    let (z, kind) = np_mat(z, cx)?;
    if kind != Kind::Matrix {
        return None;
    }
    let s = match cx.backend {
        Backend::Torch => cx.block.call("torch.softmax", vec![z, Py::name("dim=1")]),
        Backend::Numpy | Backend::Jax => {
            let z = named(z, cx);
            let max = cx.block.suffix(Py::name(z.text.clone()), ".max(axis=1, keepdims=True)");
            let shifted = cx.block.add(z, "-", max);
            let e = cx.block.call(&format!("{}.exp", cx.backend.m()), vec![shifted]);
            let e = cx.block.hoist(e);
            let total = cx.block.suffix(Py::name(e.text.clone()), ".sum(axis=1, keepdims=True)");
            cx.block.mul(e, "/", total)
        }
    };
    Some(match weights {
        None => (s, Kind::Matrix),
        Some(g) => {
            let (g, kind) = np_mat(g, cx)?;
            if kind != Kind::Col {
                return None;
            }
            let column = cx.block.suffix(g, "[:, None]");
            (cx.block.mul(column, "*", s), Kind::Matrix)
        }
    })
}

/// `log(exp(Z) 1)`, the log-sum-exp of each row: in NumPy
/// `_t = Z.max(axis=1)`, then `_t + np.log(np.exp(Z - _t[:, None]).sum(axis=1))`.
pub(super) fn logsumexp(z: &Mat, cx: &mut Ctx) -> Option<(Py, Kind)> {
    let (z, kind) = np_mat(z, cx)?;
    if kind != Kind::Matrix {
        return None;
    }
    Some(match cx.backend {
        Backend::Torch => (cx.block.call("torch.logsumexp", vec![z, Py::name("dim=1")]), Kind::Col),
        Backend::Numpy | Backend::Jax => {
            let z = named(z, cx);
            let max = cx.block.suffix(Py::name(z.text.clone()), ".max(axis=1)");
            let max = cx.block.hoist(max);
            let column = cx.block.suffix(Py::name(max.text.clone()), "[:, None]");
            let shifted = cx.block.add(z, "-", column);
            let e = cx.block.call(&format!("{}.exp", cx.backend.m()), vec![shifted]);
            let total = cx.block.suffix(e, ".sum(axis=1)");
            let log = cx.block.call(&format!("{}.log", cx.backend.m()), vec![total]);
            (cx.block.add(max, "+", log), Kind::Col)
        }
    })
}

/// `c softmax(z) ⊙ rest…` of a vector `z`: in NumPy
/// `_t = np.exp(z - z.max())`, then `c * (_t / _t.sum()) * rest…`.
pub(super) fn softmax_vector(c: &Term, z: &Mat, rest: &[&Mat], cx: &mut Ctx) -> Option<(Py, Kind)> {
    let (z, kind) = np_mat(z, cx)?;
    if kind != Kind::Col {
        return None;
    }
    let mut out = match cx.backend {
        Backend::Torch => cx.block.call("torch.softmax", vec![z, Py::name("dim=0")]),
        Backend::Numpy | Backend::Jax => {
            let z = named(z, cx);
            let max = cx.block.suffix(Py::name(z.text.clone()), ".max()");
            let shifted = cx.block.add(z, "-", max);
            let e = cx.block.call(&format!("{}.exp", cx.backend.m()), vec![shifted]);
            let e = cx.block.hoist(e);
            let total = cx.block.suffix(Py::name(e.text.clone()), ".sum()");
            cx.block.mul(e, "/", total)
        }
    };
    for m in rest {
        let (e, k) = np_mat(m, cx)?;
        if !matches!(k, Kind::Col | Kind::Scalar) {
            return None;
        }
        out = cx.block.mul(out, "*", e);
    }
    if !c.is_one() {
        let c = np_term(c, &[], cx)?;
        out = cx.block.mul(c, "*", out);
    }
    Some((out, Kind::Col))
}

/// `log Σ_k exp(z_k)` of a vector `z`: in NumPy `_t = z.max()`, then
/// `_t + np.log(np.exp(z - _t).sum())`.
pub(super) fn logsumexp_vector(z: &Name, cx: &mut Ctx) -> Option<(Py, Kind)> {
    let z = cx.var(z);
    Some(match cx.backend {
        Backend::Torch => (
            cx.block.call("torch.logsumexp", vec![z, Py::name("dim=0")]),
            Kind::Scalar,
        ),
        Backend::Numpy | Backend::Jax => {
            let max = cx.block.suffix(Py::name(z.text.clone()), ".max()");
            let max = cx.block.hoist(max);
            let shifted = cx.block.add(z, "-", Py::name(max.text.clone()));
            let e = cx.block.call(&format!("{}.exp", cx.backend.m()), vec![shifted]);
            let total = cx.block.suffix(e, ".sum()");
            let log = cx.block.call(&format!("{}.log", cx.backend.m()), vec![total]);
            (cx.block.add(max, "+", log), Kind::Scalar)
        }
    })
}

/// `e` itself when it is a name, else a temporary holding it (it is read twice).
fn named(e: Py, cx: &mut Ctx) -> Py {
    if e.text.chars().all(|c| c.is_alphanumeric() || c == '_') {
        e
    } else {
        cx.block.hoist(e)
    }
}

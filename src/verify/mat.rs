//! Evaluating matrix forms: vectors are columns, scalars 1×1.

use ndarray::{Array2, IxDyn};

use super::eval::{apply, number, World};
use crate::matrix::Mat;
use crate::term::Name;

/// Evaluates a matrix expression: vectors are columns, scalars 1×1.
pub fn eval_mat(w: &World, m: &Mat) -> Option<Array2<f64>> {
    let size = |d: &u32| w.sizes.get(d).copied().unwrap_or(1);
    Some(match m {
        Mat::Var(Name::Matrix(f, a), _) => {
            let v = super::linalg::apply(*f, w.tensors.get(&**a)?);
            match v.ndim() {
                0 => Array2::from_elem((1, 1), v[IxDyn(&[])]),
                _ => v.into_dimensionality::<ndarray::Ix2>().ok()?,
            }
        }
        Mat::Var(name, _) => {
            let (table, key) = match name {
                Name::Grad { wrt, .. } => (&w.grads, wrt.to_string()),
                Name::Tensor(n) | Name::Matrix(_, n) => (&w.tensors, n.to_string()),
            };
            match table.get(&key) {
                Some(a) => match a.ndim() {
                    0 => Array2::from_elem((1, 1), a[IxDyn(&[])]),
                    1 => Array2::from_shape_vec((a.len(), 1), a.iter().cloned().collect()).ok()?,
                    2 => a.clone().into_dimensionality::<ndarray::Ix2>().ok()?,
                    _ => return None,
                },
                None => Array2::from_elem((1, 1), w.size_symbol(&key)),
            }
        }
        Mat::Scalar(t) => Array2::from_elem((1, 1), w.scalar(t)),
        Mat::T(x) => eval_mat(w, x)?.reversed_axes(),
        Mat::MatMul(xs) => {
            let mut acc = eval_mat(w, &xs[0])?;
            for x in &xs[1..] {
                let b = eval_mat(w, x)?;
                acc = if acc.dim() == (1, 1) && b.dim().0 != 1 {
                    b * acc[(0, 0)]
                } else if b.dim() == (1, 1) && acc.dim().1 != 1 {
                    acc * b[(0, 0)]
                } else if acc.dim().1 == b.dim().0 {
                    acc.dot(&b)
                } else {
                    return None;
                };
            }
            acc
        }
        Mat::Had(xs) => {
            let mut acc = eval_mat(w, &xs[0])?;
            for x in &xs[1..] {
                acc = zip(acc, eval_mat(w, x)?, |a, b| a * b)?;
            }
            acc
        }
        Mat::HDiv(a, b) => zip(eval_mat(w, a)?, eval_mat(w, b)?, |a, b| a / b)?,
        Mat::Add(ts) => {
            let mut acc: Option<Array2<f64>> = None;
            for (neg, x) in ts {
                let v = eval_mat(w, x)?;
                let v = if *neg { -v } else { v };
                acc = Some(match acc {
                    None => v,
                    Some(a) => zip(a, v, |a, b| a + b)?,
                });
            }
            acc?
        }
        Mat::Scale(s, x) => eval_mat(w, x)? * w.scalar(s),
        Mat::Ones(d) => Array2::ones((size(d), 1)),
        Mat::Eye(d) => Array2::eye(size(d)),
        Mat::Map(f, x) => eval_mat(w, x)?.mapv(|v| apply(f, v)),
        Mat::Pow(x, e) => {
            let e = number(e);
            eval_mat(w, x)?.mapv(|v| v.powf(e))
        }
        Mat::Diag(v) => {
            let v = eval_mat(w, v)?;
            if v.ncols() != 1 {
                return None;
            }
            Array2::from_diag(&v.column(0))
        }
    })
}

/// Elementwise with 1×1 broadcasting (a scalar in a matrix sum).
fn zip(a: Array2<f64>, b: Array2<f64>, f: impl Fn(f64, f64) -> f64) -> Option<Array2<f64>> {
    if a.dim() == b.dim() {
        Some(ndarray::Zip::from(&a).and(&b).map_collect(|&x, &y| f(x, y)))
    } else if a.dim() == (1, 1) {
        let s = a[(0, 0)];
        Some(b.mapv(|y| f(s, y)))
    } else if b.dim() == (1, 1) {
        let s = b[(0, 0)];
        Some(a.mapv(|x| f(x, s)))
    } else {
        None
    }
}

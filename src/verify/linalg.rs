//! The matrix functions' values for the check: `inv`, `det` and `logdet` of
//! a square matrix by LU decomposition with partial pivoting (the matrices
//! the check draws are a few rows, so nothing cleverer is needed).

use ndarray::{Array2, ArrayD, IxDyn};

use crate::term::MatrixFn;

/// `f(a)` for a square matrix `a`: A⁻¹ (a matrix), det A or log det A (scalars).
/// NaN where it is not defined (a singular matrix's inverse, the log of a
/// determinant that is not positive, an array that is not a square matrix).
pub(crate) fn apply(f: MatrixFn, a: &ArrayD<f64>) -> ArrayD<f64> {
    let n = a.shape().first().copied().unwrap_or(0);
    let nan = |shape: &[usize]| ArrayD::from_elem(IxDyn(shape), f64::NAN);
    if a.ndim() != 2 || a.shape()[1] != n {
        return if f == MatrixFn::Inv { nan(&[n, n]) } else { nan(&[]) };
    }
    let m = Array2::from_shape_fn((n, n), |(i, j)| a[[i, j]]);
    let Some((lu, perm, sign)) = decompose(m) else {
        return match f {
            MatrixFn::Inv => nan(&[n, n]),
            MatrixFn::Det => ArrayD::from_elem(IxDyn(&[]), 0.0),
            MatrixFn::LogDet => ArrayD::from_elem(IxDyn(&[]), f64::NEG_INFINITY),
        };
    };
    let det = sign * (0..n).map(|i| lu[(i, i)]).product::<f64>();
    match f {
        MatrixFn::Det => ArrayD::from_elem(IxDyn(&[]), det),
        MatrixFn::LogDet => ArrayD::from_elem(IxDyn(&[]), if det > 0.0 { det.ln() } else { f64::NAN }),
        MatrixFn::Inv => {
            let mut out = ArrayD::zeros(IxDyn(&[n, n]));
            for col in 0..n {
                // solve A x = e_col: L y = P e_col, then U x = y
                let mut x: Vec<f64> = perm.iter().map(|&p| (p == col) as u8 as f64).collect();
                for i in 0..n {
                    for k in 0..i {
                        x[i] -= lu[(i, k)] * x[k];
                    }
                }
                for i in (0..n).rev() {
                    for k in i + 1..n {
                        x[i] -= lu[(i, k)] * x[k];
                    }
                    x[i] /= lu[(i, i)];
                }
                for (i, v) in x.into_iter().enumerate() {
                    out[[i, col]] = v;
                }
            }
            out
        }
    }
}

/// `P A = L U` in place (L unit lower, below the diagonal; U on and above),
/// the row permutation and its sign; `None` for a singular matrix.
fn decompose(mut m: Array2<f64>) -> Option<(Array2<f64>, Vec<usize>, f64)> {
    let n = m.nrows();
    let mut perm: Vec<usize> = (0..n).collect();
    let mut sign = 1.0;
    for c in 0..n {
        let p = (c..n).max_by(|&i, &j| m[(i, c)].abs().total_cmp(&m[(j, c)].abs()))?;
        if m[(p, c)] == 0.0 || !m[(p, c)].is_finite() {
            return None;
        }
        if p != c {
            for k in 0..n {
                m.swap((p, k), (c, k));
            }
            perm.swap(p, c);
            sign = -sign;
        }
        for i in c + 1..n {
            let l = m[(i, c)] / m[(c, c)];
            m[(i, c)] = l;
            for k in c + 1..n {
                m[(i, k)] -= l * m[(c, k)];
            }
        }
    }
    Some((m, perm, sign))
}

/// The inputs the check draws for matrix functions: the matrices named under
/// `inv`, `det` or `logdet` that are inputs (drawn as n·I plus noise in
/// (−1, 1): strictly diagonally dominant with a positive diagonal, so
/// invertible, well conditioned and of positive determinant), and the inputs
/// that a *defined* such matrix reads, directly or through other definitions
/// (drawn in (0.1, 0.9), as under `log`: `XᵀX + λI` is then positive definite).
pub(crate) fn matrix_inputs(
    definitions: &[(std::rc::Rc<str>, Vec<crate::term::Ix>, crate::term::Term)],
) -> (Vec<String>, Vec<String>) {
    use crate::term::{Name, Term};
    fn names(t: &Term, out: &mut Vec<(bool, String)>) {
        match t {
            Term::Var(Name::Matrix(_, a), _) => out.push((true, a.to_string())),
            Term::Var(Name::Tensor(a), _) => out.push((false, a.to_string())),
            _ => t.children().iter().for_each(|x| names(x, out)),
        }
    }
    let defined = |n: &str| definitions.iter().any(|(d, _, _)| &**d == n);
    let mut square: Vec<String> = Vec::new();
    let mut pending: Vec<String> = Vec::new();
    for (_, _, rhs) in definitions {
        let mut read = Vec::new();
        names(rhs, &mut read);
        for (under, a) in read {
            match (under, defined(&a)) {
                (true, false) if !square.contains(&a) => square.push(a),
                (true, true) => pending.push(a),
                _ => {}
            }
        }
    }
    let mut seen: Vec<String> = Vec::new();
    let mut feeding: Vec<String> = Vec::new();
    while let Some(a) = pending.pop() {
        if seen.contains(&a) {
            continue;
        }
        seen.push(a.clone());
        let Some((_, _, rhs)) = definitions.iter().find(|(d, _, _)| **d == *a) else {
            continue;
        };
        let mut read = Vec::new();
        names(rhs, &mut read);
        for (_, b) in read {
            if defined(&b) {
                pending.push(b);
            } else if !feeding.contains(&b) && !square.contains(&b) {
                feeding.push(b);
            }
        }
    }
    (square, feeding)
}

/// Why the check cannot compare on this draw because of a matrix function: a
/// matrix under `logdet` whose determinant is not positive, or one under
/// `inv`, `det` or `logdet` so nearly singular (condition number in the
/// ∞-norm above 10⁸) that finite differences through its inverse mean nothing.
pub(crate) fn trouble(
    world: &super::eval::World,
    definitions: &[(std::rc::Rc<str>, Vec<crate::term::Ix>, crate::term::Term)],
) -> Option<String> {
    use crate::term::{Name, Term};
    fn under(t: &Term, out: &mut Vec<(MatrixFn, String)>) {
        match t {
            Term::Var(Name::Matrix(f, a), _) => out.push((*f, a.to_string())),
            _ => t.children().iter().for_each(|x| under(x, out)),
        }
    }
    let mut uses = Vec::new();
    for (_, _, rhs) in definitions {
        under(rhs, &mut uses);
    }
    let norm = |m: &ArrayD<f64>| {
        (0..m.shape()[0])
            .map(|i| (0..m.shape()[1]).map(|j| m[[i, j]].abs()).sum::<f64>())
            .fold(0.0, f64::max)
    };
    for (f, a) in uses {
        let value = world.tensors.get(&a)?;
        if value.ndim() != 2 {
            continue;
        }
        if f == MatrixFn::LogDet && apply(MatrixFn::Det, value)[IxDyn(&[])] <= 0.0 {
            return Some(format!(
                "det({a}) is not positive at the random inputs, so logdet({a}) is undefined: nothing could be compared"
            ));
        }
        let condition = norm(value) * norm(&apply(MatrixFn::Inv, value));
        if condition.is_nan() || condition >= 1e8 {
            return Some(format!(
                "`{a}` is singular or nearly so at the random inputs (condition number {condition:.1e}), \
                 so finite differences through {} mean nothing",
                f.source()
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(rows: &[&[f64]]) -> ArrayD<f64> {
        let n = rows.len();
        ArrayD::from_shape_fn(IxDyn(&[n, rows[0].len()]), |p| rows[p[0]][p[1]])
    }

    #[test]
    fn inverse_determinant_and_log_determinant() {
        // needs a row swap: the first pivot is 0
        let a = matrix(&[&[0.0, 2.0, 1.0], &[1.0, 1.0, 0.0], &[3.0, 0.0, 1.0]]);
        let det = apply(MatrixFn::Det, &a)[IxDyn(&[])];
        // 0(1) − 2(1 − 0) + 1(0 − 3) = −5
        assert!((det + 5.0).abs() < 1e-12, "{det}");
        assert!(
            apply(MatrixFn::LogDet, &a)[IxDyn(&[])].is_nan(),
            "log of a negative determinant"
        );
        let inv = apply(MatrixFn::Inv, &a);
        for i in 0..3 {
            for j in 0..3 {
                let p: f64 = (0..3).map(|k| a[[i, k]] * inv[[k, j]]).sum();
                assert!((p - (i == j) as u8 as f64).abs() < 1e-12, "A A⁻¹ at {i},{j}: {p}");
            }
        }
        let b = matrix(&[&[2.0, 1.0], &[1.0, 3.0]]);
        assert!((apply(MatrixFn::LogDet, &b)[IxDyn(&[])] - 5f64.ln()).abs() < 1e-12);
    }

    #[test]
    fn singular_and_non_square_matrices() {
        let s = matrix(&[&[1.0, 2.0], &[2.0, 4.0]]);
        assert_eq!(apply(MatrixFn::Det, &s)[IxDyn(&[])], 0.0);
        assert!(apply(MatrixFn::Inv, &s).iter().all(|v| v.is_nan()));
        let r = matrix(&[&[1.0, 2.0, 3.0]]);
        assert!(apply(MatrixFn::Det, &r)[IxDyn(&[])].is_nan());
    }

    #[test]
    fn inputs_under_matrix_functions() {
        let program = crate::load(
            "C_ij = Σ_s X_si X_sj + λ δ_ij\nL = logdet(C) + det(A) + Σ_ij inv(B)_ij + Σ_i y_i",
            &crate::Options::default(),
        )
        .unwrap();
        let lowered = crate::derive::lower(&program);
        let (square, feeding) = matrix_inputs(&lowered.definitions);
        assert_eq!(square, ["A", "B"]);
        assert_eq!(feeding, ["X", "λ"]);
    }
}

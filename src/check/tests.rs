//! The contraction evaluator against the pointwise oracle, and the verdicts.

use super::oracle::Oracle;
use super::*;
use crate::derive::{derive, lower, Request};

fn load(source: &str) -> Program {
    crate::load(source, &crate::Options::default()).unwrap_or_else(|e| panic!("{}", e.render("p", source)))
}

fn close(a: &ArrayD<f64>, b: &ArrayD<f64>) -> bool {
    a.shape() == b.shape()
        && a
            .iter()
            .zip(b.iter())
            .all(|(x, y)| (x - y).abs() <= 1e-12 * x.abs().max(y.abs()).max(1.0) || x.is_nan() && y.is_nan())
}

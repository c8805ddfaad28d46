//! A checked program: the syntax tree with its symbol tables and its
//! dimension classes, what the rest of the pipeline reads.

use std::collections::{BTreeMap, BTreeSet};

use super::ast::*;
use crate::derive::Dims;

/// What a name stands for in a checked program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorInfo {
    /// Number of indices (0 for a scalar).
    pub order: usize,
    /// The statement that defines it, if any.
    pub definition: Option<usize>,
    /// Whether it is read on some right-hand side.
    pub used: bool,
    /// Where it first appears.
    pub first: Span,
}

/// A program that passed every check.
#[derive(Clone, Debug, PartialEq)]
pub struct Program {
    /// The statements, with implicit (Einstein) sums made explicit.
    pub syntax: super::ast::Program,
    /// Every tensor and scalar name (not functions), by name.
    pub tensors: BTreeMap<String, TensorInfo>,
    /// The range symbol of every declared index.
    pub ranges: BTreeMap<String, String>,
    /// The opaque functions called in the program (without primes).
    pub opaque_functions: BTreeSet<String>,
    /// Statement numbers of the definitions, each after every definition it reads.
    pub order: Vec<usize>,
    /// The dimension classes, built by the semantic check.
    pub(crate) dims: Dims,
}

impl Program {
    /// The letter of the size symbols the simplifier writes for a Σ over an
    /// unused index of an undeclared range (`Σ_j 1 = n_j`): `n`, or else the
    /// first of `N`, `m`, `M`, `ν` that names no tensor or range, so that the
    /// symbol never prints like a tensor of the program at that index.
    pub(crate) fn size_letter(&self) -> &'static str {
        let taken = |l: &str| self.tensors.contains_key(l) || self.ranges.values().any(|r| r == l);
        ["n", "N", "m", "M", "ν"].into_iter().find(|l| !taken(l)).unwrap_or("n")
    }

    /// The definitions in dependency order: `(defined tensor, right-hand side)`.
    pub fn definitions(&self) -> impl Iterator<Item = (&TensorRef, &Expr)> {
        self.order.iter().map(|&i| match &self.syntax.statements[i].kind {
            StatementKind::Definition { lhs, rhs } => (lhs, rhs),
            _ => unreachable!("order lists definitions only"),
        })
    }

    /// Defined tensors that no right-hand side reads: the program's outputs.
    pub fn outputs(&self) -> Vec<&str> {
        self.definitions()
            .map(|(lhs, _)| lhs.name.name.as_str())
            .filter(|n| !self.tensors[*n].used)
            .collect()
    }
}

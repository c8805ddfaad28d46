//! `--einstein`: an index repeated twice in a product, and not on the left, is
//! summed. Runs before the other checks, which then see the explicit Σs.

use std::collections::BTreeMap;

use super::ast::*;
use crate::diagnostic::Diagnostic;

/// `--einstein`: makes the implicit sums of a statement explicit.
pub(super) fn resolve(statement: &mut Statement, errors: &mut Vec<Diagnostic>) {
    match &mut statement.kind {
        StatementKind::Index { .. } => {}
        StatementKind::Definition { lhs, rhs } => {
            let protected: Vec<String> = lhs.indices.iter().map(|i| i.name.clone()).collect();
            einstein(rhs, &protected, errors);
        }
        StatementKind::Assume { lhs, rhs } => {
            einstein(lhs, &[], errors);
            if let Some(rhs) = rhs {
                einstein(rhs, &[], errors);
            }
        }
    }
}

/// Returns how often each unsummed index occurs; wraps a product (or a single
/// access) in a Σ over every index that occurs exactly twice and is not protected.
fn einstein(e: &mut Expr, protected: &[String], errors: &mut Vec<Diagnostic>) -> BTreeMap<String, usize> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let wraps = matches!(
        e.kind,
        ExprKind::Product { .. } | ExprKind::Tensor(_) | ExprKind::Delta(_) | ExprKind::MatrixCall { .. }
    );
    match &mut e.kind {
        ExprKind::Number(_) | ExprKind::Pi => {}
        ExprKind::Tensor(TensorRef { indices, .. })
        | ExprKind::Delta(indices)
        | ExprKind::MatrixCall { indices, .. } => {
            for i in indices.iter() {
                *counts.entry(i.name.clone()).or_default() += 1;
            }
        }
        ExprKind::Sum { indices, body } => {
            let mut inner: Vec<String> = protected.to_vec();
            inner.extend(indices.iter().map(|i| i.name.clone()));
            counts = einstein(body, &inner, errors);
            for i in indices.iter() {
                counts.remove(&i.name);
            }
        }
        ExprKind::Reduce { op, index, body } => {
            // the reduction's index is never summed implicitly inside it
            let mut inner: Vec<String> = protected.to_vec();
            inner.push(index.name.clone());
            counts = einstein(body, &inner, errors);
            if op.binds() {
                counts.remove(&index.name);
            } else if let Some(c) = counts.get_mut(&index.name) {
                // softmax keeps its index free: outside, it is one use
                *c = 1;
            }
        }
        ExprKind::Add { first, rest } => {
            counts = einstein(first, protected, errors);
            for (_, term) in rest {
                for (k, v) in einstein(term, protected, errors) {
                    let c = counts.entry(k).or_default();
                    *c = (*c).max(v);
                }
            }
        }
        ExprKind::Product { first, rest } => {
            counts = einstein(first, protected, errors);
            for (_, factor) in rest {
                for (k, v) in einstein(factor, protected, errors) {
                    *counts.entry(k).or_default() += v;
                }
            }
        }
        ExprKind::Neg(inner) | ExprKind::Pow { base: inner, .. } => counts = einstein(inner, protected, errors),
        ExprKind::Call { args, .. } => {
            for arg in args {
                for (k, v) in einstein(arg, protected, errors) {
                    *counts.entry(k).or_default() += v;
                }
            }
        }
    }
    if wraps {
        // An index seen more than twice is reported here and summed anyway, so
        // that the checker does not report it again as unbound.
        let summed: Vec<String> = counts
            .iter()
            .filter(|(k, &v)| v >= 2 && !protected.contains(k))
            .map(|(k, _)| k.clone())
            .collect();
        for (k, &v) in &counts {
            if v > 2 && !protected.contains(k) {
                errors.push(
                    Diagnostic::new(
                        e.span,
                        format!("index `{k}` appears {v} times in this product"),
                        "ambiguous under --einstein",
                    )
                    .with_help("an implicit sum needs the index exactly twice; write the Σ explicitly"),
                );
            }
        }
        if !summed.is_empty() {
            let span = e.span;
            let indices = summed
                .iter()
                .map(|k| Ident {
                    name: k.clone(),
                    span: first_use(e, k).unwrap_or(span),
                })
                .collect();
            let body = std::mem::replace(
                e,
                Expr {
                    kind: ExprKind::Pi,
                    span,
                },
            );
            *e = Expr {
                kind: ExprKind::Sum {
                    indices,
                    body: Box::new(body),
                },
                span,
            };
            for k in &summed {
                counts.remove(k);
            }
        }
    }
    counts
}

/// The span of the first use of index `k` inside `e`.
fn first_use(e: &Expr, k: &str) -> Option<Span> {
    let mut found = None;
    e.walk(&mut |x| {
        if found.is_some() {
            return;
        }
        let indices = match &x.kind {
            ExprKind::Tensor(t) => &t.indices[..],
            ExprKind::Delta(i) | ExprKind::MatrixCall { indices: i, .. } => &i[..],
            _ => return,
        };
        found = indices.iter().find(|i| i.name == k).map(|i| i.span);
    });
    found
}

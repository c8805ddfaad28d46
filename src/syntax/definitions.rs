//! The checks that look at the whole program once every statement is checked:
//! the matrices under `inv`, `det` and `logdet`, calls against tensors of the
//! same name, and the order of the definitions (a cycle is an error).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::ast::*;
use super::check::Checker;
use super::functions::BUILTINS;
use super::program::TensorInfo;
use crate::diagnostic::Diagnostic;

impl Checker {
    /// The name under `inv`, `det` or `logdet` is a matrix: an input seen
    /// nowhere else becomes one (order 2), any other tensor must have order 2.
    pub(super) fn matrices_of_matrix_functions(&mut self) {
        for (f, matrix) in std::mem::take(&mut self.matrix_calls) {
            if matrix.name == "π" {
                self.error(
                    Diagnostic::new(
                        matrix.span,
                        format!("`{}` takes a square matrix, but π is a number", f.source()),
                        "not a matrix",
                    )
                    .with_help("write the name of a matrix: an input or a defined tensor with two indices"),
                );
                continue;
            }
            if BUILTINS.contains(&matrix.name.as_str()) {
                self.use_tensor(&matrix, 2); // refused: a built-in function is not a matrix
                continue;
            }
            match self.tensors.get_mut(&matrix.name) {
                Some(info) => {
                    info.used = true;
                    if let Some(d) = super::matrix_functions::not_a_matrix(f, &matrix, info) {
                        self.error(d);
                    }
                }
                None => {
                    self.tensors.insert(
                        matrix.name.clone(),
                        TensorInfo {
                            order: 2,
                            definition: None,
                            used: true,
                            first: matrix.span,
                        },
                    );
                }
            }
        }
    }

    /// A name is either a function or a tensor, never both.
    pub(super) fn calls_against_tensors(&mut self) {
        let clashes: Vec<(String, Span, Span)> = self
            .calls
            .iter()
            .filter_map(|(name, span)| self.tensors.get(name).map(|t| (name.clone(), *span, t.first)))
            .collect();
        for (name, call, first) in clashes {
            self.error(
                Diagnostic::new(
                    call,
                    format!("`{name}` is a tensor, but it is called as a function"),
                    "called here",
                )
                .with_note(first, "used as a tensor here")
                .with_help("to multiply by a parenthesised expression, put a space or `*` before `(`"),
            );
        }
    }

    /// Orders the definitions so that each comes after those it reads; reports cycles.
    pub(super) fn definition_order(&mut self, syntax: &super::ast::Program) -> Vec<usize> {
        let defined: BTreeMap<&str, usize> = syntax
            .statements
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match &s.kind {
                StatementKind::Definition { lhs, .. } => Some((lhs.name.name.as_str(), i)),
                _ => None,
            })
            .collect();
        // 0 = unvisited, 1 = on the stack, 2 = done
        let mut state: HashMap<usize, u8> = HashMap::new();
        let mut order = Vec::new();
        let mut reported: BTreeSet<Vec<usize>> = BTreeSet::new();
        for &start in defined.values() {
            if state.get(&start).copied().unwrap_or(0) != 0 {
                continue;
            }
            // iterative DFS: (statement, next read to look at)
            let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
            state.insert(start, 1);
            while let Some(&mut (node, ref mut next)) = stack.last_mut() {
                let reads = self.reads.get(&node).map(Vec::as_slice).unwrap_or(&[]);
                if *next < reads.len() {
                    let (name, span) = &reads[*next];
                    *next += 1;
                    let Some(&target) = defined.get(name.as_str()) else {
                        continue;
                    };
                    match state.get(&target).copied().unwrap_or(0) {
                        0 => {
                            state.insert(target, 1);
                            stack.push((target, 0));
                        }
                        1 => {
                            let from = stack.iter().position(|(n, _)| *n == target).expect("on the stack");
                            let mut cycle: Vec<usize> = stack[from..].iter().map(|(n, _)| *n).collect();
                            let key = {
                                let mut k = cycle.clone();
                                k.sort();
                                k
                            };
                            if reported.insert(key) {
                                cycle.push(target);
                                self.report_cycle(syntax, &cycle, *span);
                            }
                        }
                        _ => {}
                    }
                } else {
                    state.insert(node, 2);
                    order.push(node);
                    stack.pop();
                }
            }
        }
        order
    }

    pub(super) fn report_cycle(&mut self, syntax: &super::ast::Program, cycle: &[usize], at: Span) {
        let name = |i: usize| match &syntax.statements[i].kind {
            StatementKind::Definition { lhs, .. } => lhs.name.name.clone(),
            _ => unreachable!("cycles run through definitions"),
        };
        if cycle.len() == 2 {
            let n = name(cycle[0]);
            self.error(
                Diagnostic::new(
                    at,
                    format!("`{n}` is defined in terms of itself"),
                    "used in its own definition",
                )
                .with_help("a definition may only read inputs and earlier results"),
            );
        } else {
            let path: Vec<String> = cycle.iter().map(|&i| format!("`{}`", name(i))).collect();
            self.error(
                Diagnostic::new(
                    at,
                    format!("the definitions form a cycle: {}", path.join(" → ")),
                    "this use closes the cycle",
                )
                .with_help("a definition may only read inputs and results that do not depend on it"),
            );
        }
    }
}

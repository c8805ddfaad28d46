//! The body of `backward_<of>(…)` (SPEC §4): the forward intermediates the
//! lines read, each computed once in program order; then each line of the
//! backward pass once, as a local `dL_dT`, reading the locals before it; then
//! a dict of the requested gradients keyed by the `--wrt` names' Python
//! spellings (`{"W1": dL_dW1, "b1": dL_db1}`). A line with no matrix form is
//! written with `einsum`, like a result's.

use std::collections::BTreeSet;

use super::ctx::Ctx;
use super::python::Py;
use super::{in_order, translate, Body};
use crate::derive::{Backward, Lowered};
use crate::term::Name;

/// The lines of the backward function and its returned dict; `reads` as for
/// a result's body ([`super::in_order`]).
pub(super) fn body<'c>(
    lowered: &Lowered,
    of: &str,
    b: &'c Backward,
    cx: &mut Ctx<'c>,
    reads: Option<&BTreeSet<Name>>,
) -> Body {
    in_order(lowered, cx, reads, |cx| {
        let (tail, result, locals) = lines(of, b, cx);
        // the locals are not read from outside
        for n in &locals {
            cx.read.remove(n);
        }
        (tail, result)
    })
}

/// Each line once, as a local; the dict, or none after a line with no
/// spelling (the lines then end in `raise`); the locals bound.
fn lines<'c>(of: &str, b: &'c Backward, cx: &mut Ctx<'c>) -> (Vec<String>, Option<Py>, Vec<Name>) {
    let mut tail: Vec<String> = Vec::new();
    let mut locals: Vec<Name> = Vec::new();
    for line in &b.lines {
        cx.result_indices = &line.indices;
        let target = cx.names.grad(of, &line.name);
        let e = translate(line.gradient_matrix.as_ref(), &line.term, &line.indices, cx);
        tail.extend(cx.block.take());
        let Some(e) = e else {
            tail.push(format!(
                "raise NotImplementedError(\"ricci: no {} form for the gradient of {}\")",
                cx.backend.m(),
                line.name
            ));
            return (tail, None, locals);
        };
        // a requested output of an undefined loss: its gradient is given
        if e.text != target {
            tail.push(format!("{target} = {}", e.text));
            locals.push(Name::Grad {
                of: of.into(),
                wrt: line.name.as_str().into(),
            });
        }
    }
    let entries: Vec<String> = b
        .requested
        .iter()
        .map(|n| format!("\"{}\": {}", cx.names.name(n), cx.names.grad(of, n)))
        .collect();
    (tail, Some(Py::name(format!("{{{}}}", entries.join(", ")))), locals)
}

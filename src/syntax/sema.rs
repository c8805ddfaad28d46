//! Checks that need what a program means, not only its scopes: declared
//! ranges that meet in one dimension class (here), and facts that exact
//! arithmetic decides about constants ([`super::constant`]). Both run on every
//! program `ricci::load` reads, so `check` and `derive` refuse the same input.

use std::collections::BTreeMap;

use super::ast::{Program, Span};
use crate::derive::{Dims, Meeting, Origin, RangeConflict};
use crate::diagnostic::Diagnostic;

/// Every range conflict and every constant that makes no sense, in no particular order.
///
/// `ranges` is the checker's table of declared indices (index → range, where
/// declared); `order` lists the definitions each after those it reads.
pub(crate) fn check(syntax: &Program, ranges: &BTreeMap<String, (String, Span)>, order: &[usize]) -> Vec<Diagnostic> {
    let ranges: BTreeMap<String, String> = ranges.iter().map(|(k, (r, _))| (k.clone(), r.clone())).collect();
    let (mut dims, conflicts) = Dims::build(syntax, &ranges);
    let mut out: Vec<Diagnostic> = conflicts.into_iter().map(conflict).collect();
    out.extend(super::constant::check(syntax, order, &mut dims));
    out
}

/// The diagnostic for two declared ranges that meet.
fn conflict(c: RangeConflict) -> Diagnostic {
    let (first, first_origin) = c.first;
    let (second, second_origin) = c.second;
    let mut d = match &c.meeting {
        Meeting::Axis { tensor, axis, index } => Diagnostic::new(
            c.at,
            format!(
                "axis {} of `{tensor}` is indexed over two declared ranges, `{first}` and `{second}`",
                axis + 1
            ),
            format!("`{index}` here runs over `{second}`"),
        )
        .with_help(format!(
            "an axis has one length: index `{tensor}` there with indices of one range (declare them together: `index i, j : {first}`)"
        )),
        Meeting::Delta(i, j) => Diagnostic::new(
            c.at,
            format!("a Kronecker δ between indices of different declared ranges: `{i}` runs over `{first}`, `{j}` over `{second}`"),
            "δ of two ranges",
        )
        .with_help(format!(
            "δ_{i}{j} is 1 where {i} = {j}, which needs one range: declare both over one (`index {i}, {j} : {first}`) or remove the δ"
        )),
    };
    // Where each range came in, unless that is the place reported.
    for (range, origin) in [(&first, first_origin), (&second, second_origin)] {
        if let Some(Origin { index, span }) = origin {
            if !(span.start >= c.at.start && span.end <= c.at.end) {
                d = d.with_note(span, format!("`{index}` is declared over `{range}`"));
            }
        }
    }
    d
}

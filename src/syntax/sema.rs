//! Checks that need what a program means, not only its scopes: declared
//! ranges that meet in one dimension class (here), and facts that exact
//! arithmetic decides about constants ([`super::constant`]). Both run on every
//! program `ricci::load` reads, so `check` and `derive` refuse the same input.

use std::collections::BTreeMap;

use super::ast::{Program, Span};
use crate::derive::{Dims, Meeting, Origin, RangeConflict};
use crate::diagnostic::Diagnostic;

/// The program's dimension classes, and every range conflict and every
/// constant that makes no sense, in no particular order.
///
/// `ranges` is the checker's table of declared indices (index → range, where
/// declared); `order` lists the definitions each after those it reads.
pub(crate) fn check(
    syntax: &Program,
    ranges: &BTreeMap<String, (String, Span)>,
    order: &[usize],
) -> (Dims, Vec<Diagnostic>) {
    let ranges: BTreeMap<String, String> = ranges.iter().map(|(k, (r, _))| (k.clone(), r.clone())).collect();
    let (dims, conflicts) = Dims::build(syntax, &ranges);
    let mut out: Vec<Diagnostic> = conflicts.into_iter().map(conflict).collect();
    out.extend(super::constant::check(syntax, order, &dims));
    (dims, out)
}

/// The diagnostic for two declared ranges that meet.
fn conflict(c: RangeConflict) -> Diagnostic {
    let (first, first_origin) = c.first;
    let (second, second_origin) = c.second;
    let name = |o: &Option<Origin>, or: &str| o.as_ref().map_or(or.to_string(), |o| o.index.clone());
    let (d, said): (Diagnostic, Vec<&str>) = match &c.meeting {
        Meeting::Axis { tensor, axis, index } => {
            let other = name(&first_origin, "i");
            let together = if other == *index {
                format!("declare its indices over one range (`index {index} : {first}`)")
            } else {
                format!("declare `{other}` and `{index}` over one range (`index {other}, {index} : {first}`)")
            };
            (
                Diagnostic::new(
                    c.at,
                    format!(
                        "axis {} of `{tensor}` is indexed over two declared ranges, `{first}` and `{second}`",
                        axis + 1
                    ),
                    format!("`{index}` here runs over `{second}`"),
                )
                .with_help(format!("an axis has one length: {together}, or use two tensors")),
                vec![index.as_str()],
            )
        }
        Meeting::Square { function, tensor } => (
            Diagnostic::new(
                c.at,
                format!(
                    "`{function}` takes a square matrix, but the axes of `{tensor}` range over `{first}` and `{second}`"
                ),
                "not square",
            )
            .with_help(format!(
                "`{function}` needs both axes of `{tensor}` over one range: declare its indices over one (`index i, j : {first}`)"
            )),
            Vec::new(),
        ),
        Meeting::Delta(i, j) => (
            Diagnostic::new(
                c.at,
                format!("a Kronecker δ between indices of different declared ranges: `{i}` runs over `{first}`, `{j}` over `{second}`"),
                "δ of two ranges",
            )
            .with_help(format!(
                "δ_{i}{j} is 1 where {i} = {j}, which needs one range: declare both over one (`index {i}, {j} : {first}`) or remove the δ"
            )),
            vec![i.as_str(), j.as_str()],
        ),
    };
    // Where each range came in, unless the message names that index already.
    let mut d = d;
    for (range, origin) in [(&first, first_origin), (&second, second_origin)] {
        if let Some(Origin { index, span }) = origin {
            if !said.contains(&index.as_str()) {
                d = d.with_note(span, format!("`{index}` runs over `{range}`"));
            }
        }
    }
    d
}

#[cfg(test)]
mod tests {
    fn errors(source: &str) -> Vec<String> {
        match crate::load(source, &crate::Options::default()) {
            Ok(_) => Vec::new(),
            Err(e) => e.0.into_iter().map(|d| d.message).collect(),
        }
    }

    #[test]
    fn fine_programs_stay_fine() {
        for source in [
            "y_i = 1 / x_i",
            "z = 1 / (a − b) + (a − b)^-1",
            "y = x / (1 − 1 + a)",
            "y = log(-x) + sqrt(-a) + log(a − a + 1)",
            "y = log(π − 3) + log(355/113 − π) + sqrt(0)",
            // exp(−1) is not a rational or π: its sign is not decided, so it is accepted
            "y = log(exp(-1) + 1)",
            "assume 1 = 1",
            "assume a = 3",
            "assume Σ_k T_sk = 1",
            "c = 1 − 1\ny = x c + log(c + 1)",
            "index i : N\nindex j : N\nL = Σ_ij x_i δ_ij y_j",
            "index i : N\nL = Σ_ik x_i δ_ik y_k",
            "index i, j : N\nY_ij = A_ij + A_ji",
            "index i : N\nindex j : M\nY_ij = Σ_k A_ik B_kj\nL = Σ_ij Y_ij",
        ] {
            assert_eq!(errors(source), Vec::<String>::new(), "{source}");
        }
    }

    #[test]
    fn each_bad_program_is_refused_once() {
        for (source, message) in [
            // bound indices compared up to renaming: Σ_k x_k − Σ_j x_j is 0
            ("L = Σ_i x_i / (Σ_k x_k − Σ_j x_j)", "division by zero"),
            ("y = x / (1 − 1)^3", "division by zero"),
            // 0 to a power too large to compute stays symbolic, and is still 0
            ("y = x / 0^100000", "division by zero"),
            ("c = π − π\nd = 2 c\ny = x / d", "division by zero"),
            (
                "y = x^-2 + (a − a)^(-1/2)",
                "division by zero: zero to a negative power",
            ),
            ("y = log((1 − 2)^3)", "logarithm of a negative number"),
            ("y = log(1/(3 − π))", "logarithm of a negative number"),
            ("y = sqrt(π^2 − 10)", "square root of a negative number"),
            ("y = (π − 4)^(3/4)", "a negative number to the fractional power 3/4"),
            (
                "assume a − a = 1",
                "this assumption is false: its sides are never equal",
            ),
            ("assume π = 22/7", "this assumption is false: its sides are never equal"),
            (
                "index i : N\nindex j : M\nL = Σ_ij x_i δ_ij y_j",
                "a Kronecker δ between indices of different declared ranges: `i` runs over `N`, `j` over `M`",
            ),
            (
                "index i : N\nindex j : M\nY_ij = A_ij + A_ji",
                "axis 1 of `A` is indexed over two declared ranges, `N` and `M`",
            ),
        ] {
            assert_eq!(errors(source), vec![message.to_string()], "{source}");
        }
    }

    #[test]
    fn constants_are_checked_in_a_sum_over_an_unused_index() {
        let mut e = errors("index j : J\ny = Σ_j 2 / (1 − 1)");
        e.sort();
        assert_eq!(e, ["division by zero", "Σ over `j`, which does not occur in its term"]);
    }

    #[test]
    fn dimension_classes_keep_declared_ranges() {
        let program = crate::load(
            "index i : N\nindex j : M\nY_ij = Σ_k A_ik B_kj\nz_k = Σ_j B_kj",
            &crate::Options::default(),
        )
        .unwrap();
        let dims = &program.dims;
        let a0 = dims.axis("A", 0);
        let b1 = dims.axis("B", 1);
        let b0 = dims.axis("B", 0);
        assert_eq!(dims.range_of(a0), Some("N"));
        assert_eq!(dims.range_of(b1), Some("M"));
        assert_eq!(dims.range_of(b0), None);
        assert_eq!(dims.axis("A", 1), dims.axis("z", 0));
    }
}

//! `--format json` (SPEC §4).

use serde_json::{json, Value};

use super::names::Style;
use crate::derive::Derivation;
use crate::verify::{Judgement, Report};

/// The JSON object for a derivation: each result with its NumPy function and
/// its steps, and `checks`, each result's `--check` report and verdict (empty
/// without `--check`).
pub fn render(d: &Derivation, style: Style, checks: &[(Report, Judgement)]) -> Value {
    let numpy = super::numpy::functions(d, super::numpy::Backend::Numpy);
    let steps = crate::steps::derive_steps(d);
    let results: Vec<Value> = d
        .results
        .iter()
        .enumerate()
        .map(|(k, r)| {
            let matrix = r.matrix.as_ref().map(|m| super::matrix::render(m, style));
            let mut result = json!({
                "wrt": r.wrt,
                "kind": r.kind.as_str(),
                "shape": r.shape,
                "index": super::text::index_line(&d.of, r, style),
                "matrix": matrix,
                "latex": super::latex::result_equation(&d.of, r),
                "numpy": numpy.get(k),
                "steps": steps
                    .get(k)
                    .map(|s| s.iter().map(|st| json!({"text": st.text(style), "latex": st.latex()})).collect::<Vec<_>>())
                    .unwrap_or_default(),
            });
            if let Some((report, judgement)) = checks.get(k) {
                result["check"] = check(report, judgement);
            }
            result
        })
        .collect();
    json!({ "of": d.of, "results": results })
}

/// A result's `"check"`: the relative errors (`null` where there is no matrix
/// form, or where an error is not a finite number), the verdict (`ok`,
/// `FAILED`, `UNDECIDED`), the reason when it is not ok, and how many entries
/// sat at a kink and were not compared.
pub fn check(report: &Report, judgement: &Judgement) -> Value {
    let mut v = json!({
        "index_error": report.index_error,
        "matrix_error": report.matrix_error,
        "verdict": judgement.verdict.label(),
        "skipped": report.skipped,
    });
    if let Some(reason) = &judgement.reason {
        v["reason"] = json!(reason);
    }
    v
}

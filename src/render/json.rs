//! `--format json` (SPEC §4).

use serde_json::{json, Value};

use super::names::Style;
use crate::derive::Derivation;

/// The JSON object for a derivation; `numpy` holds each result's function.
pub fn render(d: &Derivation, style: Style, numpy: &[String], steps: &[Vec<crate::steps::Step>]) -> Value {
    let results: Vec<Value> = d
        .results
        .iter()
        .enumerate()
        .map(|(k, r)| {
            let matrix = r.matrix.as_ref().map(|m| super::matrix::render(m, style));
            json!({
                "wrt": r.wrt,
                "shape": r.shape,
                "index": super::text::index_line(&d.of, r, style),
                "matrix": matrix,
                "latex": super::latex::result_equation(&d.of, r),
                "numpy": numpy.get(k),
                "steps": steps
                    .get(k)
                    .map(|s| s.iter().map(|st| json!({"text": st.text(), "latex": st.latex()})).collect::<Vec<_>>())
                    .unwrap_or_default(),
            })
        })
        .collect();
    json!({ "of": d.of, "results": results })
}

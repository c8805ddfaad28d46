//! ricci in the browser: two functions that the page's Web Worker calls, on
//! the library's public API. Each takes the program's source and returns a
//! JSON string (plain data for the page): `{"ok": true, …}` or
//! `{"ok": false, "error": {…}}` with the diagnostic rendered as the command
//! line renders it, and each diagnostic's line and column.
//!
//! The limits are the command line's defaults ([`ricci::Limits`], the
//! e-graph's [`ricci::EgraphLimits`]); the page's worker adds a time limit.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use ricci::{Backend, Derivation, Error, Layout, Program, Request, Style};
use serde_json::{json, Value};
use wasm_bindgen::prelude::wasm_bindgen;

/// The file name in a rendered diagnostic (`--> program:2:5`).
pub const SOURCE_NAME: &str = "program";

/// The tensors the page offers to differentiate by (parsed as the person
/// types): `{"ok": true, "inputs": [...], "defined": [...], "opaque": [...]}`,
/// the names the command line's "no --wrt" help lists for the loss `of`, or
/// the program's error.
#[wasm_bindgen]
pub fn tensors(source: &str, of: &str, einstein: bool) -> String {
    let request = Request {
        of: if of.trim().is_empty() {
            "L".into()
        } else {
            of.trim().to_string()
        },
        einstein,
        ..Request::default()
    };
    let value = match Program::parse(source, &request) {
        Ok(p) => {
            let (inputs, defined) = candidates(&p, &request);
            json!({
                "ok": true,
                "inputs": inputs,
                "defined": defined,
                "opaque": p.opaque_functions().collect::<Vec<_>>(),
            })
        }
        Err(e) => error(&e, source),
    };
    value.to_string()
}

/// The program's inputs and the tensors it defines, other than the loss, as
/// the request without `--wrt` lists them in its help ("the program's inputs
/// are `W`, `X` and `b`; it defines `Y`: …"); every tensor as an input if
/// the help says otherwise (a `--of` the program cannot answer).
fn candidates(program: &Program, request: &Request) -> (Vec<String>, Vec<String>) {
    let request = Request {
        wrt: Vec::new(),
        ..request.clone()
    };
    let help = match program.derive(&request) {
        Err(Error::Request(d)) if d.message.starts_with("no --wrt") => d.help.unwrap_or_default(),
        _ => String::new(),
    };
    let quoted = |part: &str| -> Vec<String> { part.split('`').skip(1).step_by(2).map(str::to_string).collect() };
    let listed = help.split_once(": differentiate").map(|(l, _)| l);
    let Some(listed) = listed.filter(|_| help.starts_with("the program") || help.starts_with("it defines")) else {
        return (program.tensors().map(str::to_string).collect(), Vec::new());
    };
    let (mut inputs, mut defined) = (Vec::new(), Vec::new());
    for part in listed.split("; ") {
        if part.starts_with("it defines") {
            defined = quoted(part);
        } else {
            inputs = quoted(part);
        }
    }
    (inputs, defined)
}

/// Differentiates `source` as `options` (a JSON object) asks:
/// `{"wrt": ["W", "b"], "of": "L", "layout": "gradient" | "numerator",
/// "ascii": false, "steps": false, "hessian": false, "einstein": false}`,
/// every key optional. The answer has the command line's text, the LaTeX,
/// the NumPy module, and each result's forms as text and as LaTeX.
#[wasm_bindgen]
pub fn derive(source: &str, options: &str) -> String {
    let options: Value = match serde_json::from_str(options) {
        Ok(v) => v,
        Err(e) => return json!({"ok": false, "error": plain(&format!("options: {e}"))}).to_string(),
    };
    let flag = |key: &str| options[key].as_bool().unwrap_or(false);
    let request = Request {
        of: options["of"]
            .as_str()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or("L")
            .trim()
            .to_string(),
        wrt: options["wrt"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default(),
        layout: match options["layout"].as_str() {
            Some("numerator") => Layout::Numerator,
            _ => Layout::Gradient,
        },
        einstein: flag("einstein"),
        hessian: flag("hessian"),
        ..Request::default()
    };
    let style = if flag("ascii") { Style::Ascii } else { Style::Unicode };
    let value = match Program::parse(source, &request).and_then(|p| p.derive(&request)) {
        Ok(d) => answer(&d, style, flag("steps")),
        Err(e) => error(&e, source),
    };
    value.to_string()
}

/// A derivation as the page shows it.
fn answer(d: &Derivation, style: Style, steps: bool) -> Value {
    let json = d.json(style, &[]);
    let index_latex = index_equations(d);
    let results: Vec<Value> = d
        .results
        .iter()
        .enumerate()
        .map(|(k, r)| {
            let j = &json["results"][k];
            json!({
                "wrt": r.wrt,
                "kind": j["kind"],
                "index_text": d.index_line(r, style),
                "matrix_text": d.matrix_line(r, style),
                "has_matrix": r.has_matrix_form(),
                "index_latex": index_latex.as_ref().map(|l| &l[k]),
                "matrix_latex": if r.has_matrix_form() { j["latex"].clone() } else { Value::Null },
                "steps": if steps { j["steps"].clone() } else { json!([]) },
            })
        })
        .collect();
    json!({
        "ok": true,
        "of": d.of,
        "text": d.text(style, steps),
        "latex": d.latex(false, steps),
        "numpy": d.code(Backend::Numpy),
        "results": results,
    })
}

/// Each result's index form as one LaTeX equation, read from the `align`
/// environment of [`Derivation::latex`] (without steps: two lines a result,
/// the index form and the matrix form or its note). `None` if the
/// environment is not shaped so.
fn index_equations(d: &Derivation) -> Option<Vec<String>> {
    let align = d.latex(false, false);
    let body = align
        .strip_prefix("\\begin{align}\n")?
        .strip_suffix("\n\\end{align}\n")?;
    let lines: Vec<&str> = body.split(" \\\\\n").collect();
    if lines.len() != 2 * d.results.len() {
        return None;
    }
    Some(lines.iter().step_by(2).map(|l| l.replacen(" &= ", " = ", 1)).collect())
}

/// A refused program or request: the command line's rendering, and each
/// diagnostic with its 1-based line and column (none for a request's problem
/// that has no place in the program).
fn error(e: &Error, source: &str) -> Value {
    let diagnostics: Vec<Value> = e
        .diagnostics()
        .iter()
        .map(|d| {
            let (line, column) = match d.span {
                Some(span) => {
                    let (l, c) = ricci::line_col(source, span.start);
                    (json!(l), json!(c))
                }
                None => (Value::Null, Value::Null),
            };
            json!({
                "message": d.message,
                "label": d.label,
                "help": d.help,
                "line": line,
                "column": column,
            })
        })
        .collect();
    json!({
        "ok": false,
        "error": {"rendered": e.render(SOURCE_NAME, source), "diagnostics": diagnostics},
    })
}

/// An error that is not about the program (bad options from the page).
fn plain(message: &str) -> Value {
    json!({"rendered": format!("error: {message}\n"), "diagnostics": [{"message": message}]})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }

    const LINEAR: &str = "index s : S; index m : M; index n : N\nY_sn = Σ_m X_sm W_nm + b_n\n";

    #[test]
    fn tensors_are_listed_as_the_program_is_typed() {
        let v = parse(&tensors(LINEAR, "L", false));
        assert_eq!(v["ok"], true);
        assert_eq!(v["inputs"], json!(["W", "X", "b"]));
        assert_eq!(v["defined"], json!(["Y"]));
        let v = parse(&tensors("L = h(x)", "", false));
        assert_eq!(
            (&v["inputs"], &v["defined"], &v["opaque"]),
            (&json!(["x"]), &json!([]), &json!(["h"]))
        );
        // Another loss: what it depends on.
        let v = parse(&tensors("M = Σ_i x_i^2\nL = 2 M\n", "M", false));
        assert_eq!((&v["inputs"], &v["defined"]), (&json!(["x"]), &json!(["L"])));
        // A loss the program does not have: every tensor, for the derivation to explain.
        let v = parse(&tensors("L = Σ_i x_i", "Q", false));
        assert_eq!(v["inputs"], json!(["L", "x"]));
        let v = parse(&tensors("L = Σ_i (x_i", "L", false));
        assert_eq!(v["ok"], false);
    }

    #[test]
    fn the_linear_layer_gives_its_forms_as_text_and_latex() {
        let v = parse(&derive(LINEAR, r#"{"wrt": ["W", "b"], "steps": true}"#));
        assert_eq!(v["ok"], true, "{v}");
        let w = &v["results"][0];
        assert_eq!(w["matrix_text"], "∂L/∂W = (∂L/∂Y)ᵀ X");
        assert_eq!(w["index_text"], "∂L/∂W_ij = Σ_s (∂L/∂Y)_si X_sj");
        assert_eq!(
            w["index_latex"],
            "\\frac{\\partial L}{\\partial W_{ij}} = \\sum_{s} \\frac{\\partial L}{\\partial Y_{si}} X_{sj}"
        );
        assert!(w["matrix_latex"].as_str().unwrap().contains("\\top X"));
        assert_eq!(w["steps"].as_array().unwrap().len(), 6);
        // The command line's text, with the numbered steps.
        assert!(v["text"].as_str().unwrap().contains("  (1) ∂L/∂W_ij"));
        assert!(v["numpy"].as_str().unwrap().contains("return dL_dY.T @ X"));
        assert!(v["latex"].as_str().unwrap().starts_with("\\begin{align}"));
    }

    #[test]
    fn options_choose_ascii_and_the_numerator_layout() {
        let v = parse(&derive(
            LINEAR,
            r#"{"wrt": ["W"], "ascii": true, "layout": "numerator"}"#,
        ));
        assert_eq!(v["results"][0]["matrix_text"], "dL/dW = X^T dL/dY");
        assert_eq!(v["results"][0]["steps"], json!([]));
    }

    #[test]
    fn a_bad_program_has_its_line_column_and_caret() {
        let source = "Y_i = x_i\nL = Σ_i (Y_i\n";
        let v = parse(&derive(source, r#"{"wrt": ["x"]}"#));
        assert_eq!(v["ok"], false);
        let d = &v["error"]["diagnostics"][0];
        assert_eq!(d["line"], 2);
        let rendered = v["error"]["rendered"].as_str().unwrap();
        assert!(rendered.contains("--> program:2:"), "{rendered}");
        assert!(rendered.contains('^'), "{rendered}");
    }

    #[test]
    fn a_request_problem_has_no_place() {
        let v = parse(&derive(LINEAR, r#"{"wrt": []}"#));
        assert_eq!(v["ok"], false);
        assert_eq!(v["error"]["diagnostics"][0]["line"], Value::Null);
        assert!(v["error"]["rendered"].as_str().unwrap().contains("no --wrt"));
    }

    #[test]
    fn deep_nesting_stops_at_the_limit() {
        let source = format!("L = {}x{}", "(".repeat(10_000), ")".repeat(10_000));
        let v = parse(&derive(&source, r#"{"wrt": ["x"]}"#));
        let message = v["error"]["diagnostics"][0]["message"].as_str().unwrap();
        assert!(message.contains("nested more than 64 levels"), "{message}");
    }

    #[test]
    fn bad_options_are_an_error_not_a_panic() {
        let v = parse(&derive(LINEAR, "{"));
        assert_eq!(v["ok"], false);
        assert!(v["error"]["rendered"].as_str().unwrap().starts_with("error: options:"));
    }
}

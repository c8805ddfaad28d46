//! `ricci._ricci.Derivation`: one derivation, kept in Rust and read lazily.
//!
//! A `ricci::Derivation` shares its program and reverse pass through `Rc`, so
//! it is not `Send`: the class is `unsendable` (used from another thread, it
//! raises instead of racing). Nothing is rendered until Python asks for it;
//! what several readers share (the JSON object, each backend's functions, the
//! text with steps) is rendered once and kept.

use std::cell::OnceCell;

use pyo3::exceptions::{PyIndexError, PyValueError};
use pyo3::prelude::*;
use ricci::{Backend, Derivation, Style, CHECK_TOLERANCE};

/// One row of `check()`: `(wrt, index_error, matrix_error, verdict, reason,
/// skipped, line)`, `line` as `ricci derive --check` prints it.
type CheckRow = (String, f64, Option<f64>, &'static str, Option<String>, usize, String);

/// A derivation made by `ricci._ricci.derive` (wrapped by `ricci.Derivation`).
#[pyclass(unsendable, module = "ricci._ricci", name = "Derivation")]
pub struct PyDerivation {
    derivation: Derivation,
    notes: Vec<String>,
    json: OnceCell<serde_json::Value>,
    numpy: OnceCell<Vec<String>>,
    torch: OnceCell<Vec<String>>,
    jax: OnceCell<Vec<String>>,
    stepped_text: [OnceCell<String>; 2],
}

impl PyDerivation {
    /// Wraps a derivation and the notes about its program (opaque functions).
    pub fn new(derivation: Derivation, notes: Vec<String>) -> Self {
        PyDerivation {
            derivation,
            notes,
            json: OnceCell::new(),
            numpy: OnceCell::new(),
            torch: OnceCell::new(),
            jax: OnceCell::new(),
            stepped_text: [OnceCell::new(), OnceCell::new()],
        }
    }

    fn result(&self, k: usize) -> PyResult<&ricci::GradientResult> {
        self.derivation
            .results
            .get(k)
            .ok_or_else(|| PyIndexError::new_err(format!("no result {k}")))
    }

    fn json(&self) -> &serde_json::Value {
        self.json.get_or_init(|| self.derivation.json(Style::Unicode, &[]))
    }

    fn json_field(&self, k: usize, field: &str) -> PyResult<String> {
        self.result(k)?;
        self.json()["results"][k][field]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| PyValueError::new_err(format!("result {k} has no {field}")))
    }
}

fn style(ascii: bool) -> Style {
    if ascii {
        Style::Ascii
    } else {
        Style::Unicode
    }
}

#[pymethods]
impl PyDerivation {
    /// The loss, in canonical spelling.
    #[getter]
    fn of(&self) -> &str {
        &self.derivation.of
    }

    /// Each result's tensor, as requested (the `--wrt` spelling).
    #[getter]
    fn wrt(&self) -> Vec<String> {
        self.derivation.results.iter().map(|r| r.wrt.clone()).collect()
    }

    /// Each result's tensor, in canonical spelling (`W^(1)`).
    #[getter]
    fn names(&self) -> Vec<String> {
        self.derivation.results.iter().map(|r| r.name.clone()).collect()
    }

    /// Notes about the program, as the command line prints them (an unknown
    /// function taken as opaque).
    #[getter]
    fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }

    /// Result `k`'s kind: `gradient`, `jacobian`, `hessian` or `hvp`.
    fn kind(&self, k: usize) -> PyResult<&'static str> {
        Ok(self.result(k)?.kind.as_str())
    }

    /// Result `k`'s axes: each one's range symbol where declared, else None.
    fn shape(&self, k: usize) -> PyResult<Vec<Option<String>>> {
        Ok(self.result(k)?.shape.clone())
    }

    /// Result `k`'s index form, a whole line: `∂L/∂W_ij = …`.
    fn index(&self, k: usize, ascii: bool) -> PyResult<String> {
        Ok(self.derivation.index_line(self.result(k)?, style(ascii)))
    }

    /// Result `k`'s matrix form as the command line prints it (`∂L/∂W = …`, or
    /// the note that there is none).
    fn matrix_line(&self, k: usize, ascii: bool) -> PyResult<String> {
        Ok(self.derivation.matrix_line(self.result(k)?, style(ascii)))
    }

    /// Result `k`'s matrix form, the right-hand side only; None when it has none.
    fn matrix(&self, k: usize, ascii: bool) -> PyResult<Option<String>> {
        let r = self.result(k)?;
        if !r.has_matrix_form() {
            return Ok(None);
        }
        let line = self.derivation.matrix_line(r, style(ascii));
        Ok(line.split_once(" = ").map(|(_, rhs)| rhs.to_string()))
    }

    /// Result `k`'s LaTeX equation (the JSON `latex`).
    fn latex_equation(&self, k: usize) -> PyResult<String> {
        self.json_field(k, "latex")
    }

    /// Result `k`'s function for `backend` (`numpy`, `torch` or `jax`), its source.
    fn function(&self, k: usize, backend: &str) -> PyResult<String> {
        self.result(k)?;
        let (cell, backend) = match backend {
            "numpy" => (&self.numpy, Backend::Numpy),
            "torch" => (&self.torch, Backend::Torch),
            "jax" => (&self.jax, Backend::Jax),
            other => return Err(PyValueError::new_err(format!("no backend {other:?}"))),
        };
        let functions = cell.get_or_init(|| self.derivation.functions(backend));
        Ok(functions[k].clone())
    }

    /// The module for `backend` (`numpy`, `torch` or `jax`): its import, then every
    /// function (`ricci derive --format numpy|torch|jax`).
    fn code(&self, backend: &str) -> PyResult<String> {
        match backend {
            "numpy" => Ok(self.derivation.code(Backend::Numpy)),
            "torch" => Ok(self.derivation.code(Backend::Torch)),
            "jax" => Ok(self.derivation.code(Backend::Jax)),
            other => Err(PyValueError::new_err(format!("no backend {other:?}"))),
        }
    }

    /// The backward pass's lines as text (`ricci derive --backward`).
    fn backward_lines(&self, py: Python<'_>, ascii: bool) -> PyResult<Vec<String>> {
        self.derivation
            .backward_lines(style(ascii))
            .map_err(|e| crate::error::from_ricci(py, &e, "<string>", ""))
    }

    /// The backward pass as LaTeX (`--backward --format latex`, `--standalone`).
    fn backward_latex(&self, py: Python<'_>, standalone: bool) -> PyResult<String> {
        self.derivation
            .backward_latex(standalone)
            .map_err(|e| crate::error::from_ricci(py, &e, "<string>", ""))
    }

    /// `backward_<of>` for `backend` (`numpy`, `torch` or `jax`), its source.
    fn backward_function(&self, py: Python<'_>, backend: &str) -> PyResult<String> {
        let backend = match backend {
            "numpy" => Backend::Numpy,
            "torch" => Backend::Torch,
            "jax" => Backend::Jax,
            other => return Err(PyValueError::new_err(format!("no backend {other:?}"))),
        };
        self.derivation
            .backward_function(backend)
            .map_err(|e| crate::error::from_ricci(py, &e, "<string>", ""))
    }

    /// The text output (`ricci derive`, with `--steps`, `--ascii`).
    fn text(&self, ascii: bool, steps: bool) -> String {
        if steps {
            self.stepped_text[usize::from(ascii)]
                .get_or_init(|| self.derivation.text(style(ascii), true))
                .clone()
        } else {
            self.derivation.text(style(ascii), false)
        }
    }

    /// The LaTeX output (`--format latex`, with `--standalone`, `--steps`).
    fn latex(&self, standalone: bool, steps: bool) -> String {
        self.derivation.latex(standalone, steps)
    }

    /// The JSON object (`--format json`), as text.
    fn json_text(&self, ascii: bool) -> String {
        let value = if ascii {
            &self.derivation.json(Style::Ascii, &[])
        } else {
            self.json()
        };
        serde_json::to_string(value).expect("JSON values serialise")
    }

    /// Result `k`'s numbered derivation: the lines `ricci derive --steps`
    /// prints between its index form and its matrix form.
    fn steps(&self, k: usize, ascii: bool) -> PyResult<Vec<String>> {
        let text = self.text(ascii, true);
        let mut lines = text.lines();
        for (j, r) in self.derivation.results.iter().enumerate() {
            let index = self.derivation.index_line(r, style(ascii));
            let matrix = self.derivation.matrix_line(r, style(ascii));
            let mut line = lines.next();
            if j > 0 && line == Some("") {
                line = lines.next();
            }
            if line != Some(index.as_str()) {
                break;
            }
            let mut steps = Vec::new();
            for line in lines.by_ref() {
                if line == matrix {
                    break;
                }
                steps.push(line.to_string());
            }
            if j == k {
                return Ok(steps);
            }
        }
        self.result(k)?;
        Err(PyValueError::new_err(
            "the text output does not list the steps of every result",
        ))
    }

    /// `--check`: each result against central finite differences on random
    /// tensors drawn from `seed`, some sizes fixed (`[("s", 3)]`).
    fn check(&self, seed: u64, sizes: Vec<(String, usize)>) -> Vec<CheckRow> {
        self.derivation
            .check(seed, &sizes)
            .into_iter()
            .map(|r| {
                let judgement = r.judge(CHECK_TOLERANCE);
                let line = check_line(&r, &judgement);
                (
                    r.wrt,
                    r.index_error,
                    r.matrix_error,
                    judgement.verdict.label(),
                    judgement.reason,
                    r.skipped,
                    line,
                )
            })
            .collect()
    }
}

/// The line `ricci derive --check` prints for a report.
fn check_line(r: &ricci::Report, judgement: &ricci::Judgement) -> String {
    let matrix = match r.matrix_error {
        Some(e) => format!("{e:.1e}"),
        None => "no matrix form".into(),
    };
    let note = match (&judgement.reason, judgement.verdict) {
        (Some(reason), ricci::Verdict::Undecided) => format!(" ({reason})"),
        (None, ricci::Verdict::Agrees) if r.skipped > 0 => {
            format!(" ({} entries at a kink of relu or abs not compared)", r.skipped)
        }
        _ => String::new(),
    };
    format!(
        "check {}: relative error {:.1e} (index form), {matrix} (matrix form): {}{note}",
        r.wrt,
        r.index_error,
        judgement.verdict.label()
    )
}

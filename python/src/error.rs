//! `ricci.RicciError`: a refused program or request, as a Python exception
//! whose message is the diagnostic the command line prints.

use pyo3::prelude::*;
use pyo3::types::PyTuple;

pyo3::create_exception!(
    _ricci,
    RicciError,
    pyo3::exceptions::PyValueError,
    "A program or request that ricci refuses.\n\n\
     `str(e)` is the rendered diagnostic, as the command line prints it\n\
     (every error, with line, column, caret, what was expected and a help line).\n\
     `e.line` and `e.column` (1-based, the column in characters) locate the first\n\
     error; both are None when it has no place in the program (an unknown --wrt\n\
     name, say). `e.errors` lists every error as (line, column, message)."
);

/// Where a diagnostic points, or `None` when it has no place in the program.
type Place = Option<(usize, usize)>;

/// The Python exception for `error`, rendered with `name` and `source`.
pub fn from_ricci(py: Python<'_>, error: &ricci::Error, name: &str, source: &str) -> PyErr {
    let errors: Vec<(Place, String)> = error
        .diagnostics()
        .iter()
        .map(|d| (d.span.map(|s| ricci::line_col(source, s.start)), d.message.clone()))
        .collect();
    raise(py, error.render(name, source), &errors)
}

/// A refusal that has no place in the program (a usage error: a bad
/// `layout`, `backward=True`), rendered as the command line renders one.
pub fn usage(py: Python<'_>, message: &str, help: &str) -> PyErr {
    let rendered = if help.is_empty() {
        format!("error: {message}\n")
    } else {
        format!("error: {message}\n  = help: {help}\n")
    };
    raise(py, rendered, &[(None, message.to_string())])
}

/// `RicciError(rendered)` with `line`, `column` of the first error and `errors`.
fn raise(py: Python<'_>, rendered: String, errors: &[(Place, String)]) -> PyErr {
    let err = RicciError::new_err(rendered);
    let value = err.value(py);
    let first = errors.first().and_then(|(p, _)| *p);
    let attrs = || -> PyResult<()> {
        value.setattr("line", first.map(|(l, _)| l))?;
        value.setattr("column", first.map(|(_, c)| c))?;
        let list: Vec<Bound<'_, PyTuple>> = errors
            .iter()
            .map(|(p, m)| {
                PyTuple::new(
                    py,
                    [
                        p.map(|(l, _)| l).into_pyobject(py)?.into_any(),
                        p.map(|(_, c)| c).into_pyobject(py)?.into_any(),
                        m.into_pyobject(py)?.into_any(),
                    ],
                )
            })
            .collect::<PyResult<_>>()?;
        value.setattr("errors", list)
    };
    match attrs() {
        Ok(()) => err,
        Err(e) => e,
    }
}

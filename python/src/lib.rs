//! `ricci._ricci`, the compiled half of the Python module `ricci`: a thin
//! binding of ricci's public API ([`ricci::Program`], [`ricci::Request`],
//! [`ricci::Derivation`], [`ricci::Error`]). The public Python API (`ricci.derive`,
//! `ricci.Derivation`, `ricci.Result`, docstrings, `.function()`, Jupyter
//! display) is the pure-Python package `ricci` around it (`pysrc/ricci/`), in
//! maturin's mixed layout: the extension is private so that its library name,
//! `_ricci`, does not clash with the engine's crate `ricci`.
#![forbid(unsafe_code)]

mod derivation;
mod error;

use pyo3::prelude::*;

use derivation::PyDerivation;

// The engine makes many small, short-lived terms: the command line and the
// benchmarks allocate through mimalloc, and so does the module, so that a
// derivation from Python costs what it costs in Rust.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Parses and checks `program`, then differentiates it as the arguments ask
/// (those of `ricci derive`); errors are `RicciError`, rendered with `filename`.
#[pyfunction]
#[pyo3(signature = (program, wrt, of, layout, hessian, hvp, backward, einstein, filename))]
#[allow(clippy::too_many_arguments)]
fn derive(
    py: Python<'_>,
    program: &str,
    wrt: Vec<String>,
    of: String,
    layout: &str,
    hessian: bool,
    hvp: Option<String>,
    backward: bool,
    einstein: bool,
    filename: &str,
) -> PyResult<PyDerivation> {
    let layout = match layout {
        "gradient" => ricci::Layout::Gradient,
        "numerator" => ricci::Layout::Numerator,
        other => {
            return Err(error::usage(
                py,
                &format!("layout={other:?}: not a layout"),
                "layout is \"gradient\" (∂L/∂W has the shape of W) or \"numerator\" (transposed)",
            ))
        }
    };
    if hessian && hvp.is_some() {
        return Err(error::usage(
            py,
            "hessian=True and hvp: ask for one of them",
            "the Hessian of each wrt, or its product with a vector (one wrt)",
        ));
    }
    let request = ricci::Request {
        of,
        wrt,
        layout,
        einstein,
        hessian,
        hvp,
        ..ricci::Request::default()
    };
    let parsed = ricci::Program::parse(program, &request).and_then(|p| Ok((p.derive(&request)?, p)));
    match parsed {
        Ok((derivation, parsed)) => {
            // backward=True: a Jacobian, a Hessian or an HVP has no backward
            // pass, and says so now rather than when `.backward` is read
            if backward {
                if let Err(e) = derivation.backward_lines(ricci::Style::Unicode) {
                    return Err(error::from_ricci(py, &e, filename, program));
                }
            }
            let notes = parsed
                .opaque_functions()
                .map(|h| {
                    format!(
                        "`{h}` is not a built-in function: it is treated as an opaque elementwise function `{h}` with derivative `{h}'`"
                    )
                })
                .collect();
            Ok(PyDerivation::new(derivation, notes))
        }
        Err(e) => Err(error::from_ricci(py, &e, filename, program)),
    }
}

/// For `python/bench.py`: the seconds one `ricci::derive` of `program` takes
/// in-process in Rust (this build, this allocator), `samples` times, so that
/// the benchmark can alternate it with `ricci.derive` from Python.
#[pyfunction]
fn time_derive(program: &str, wrt: Vec<String>, layout: &str, samples: usize) -> Vec<f64> {
    let request = ricci::Request {
        wrt,
        layout: if layout == "numerator" {
            ricci::Layout::Numerator
        } else {
            ricci::Layout::Gradient
        },
        ..ricci::Request::default()
    };
    (0..samples)
        .map(|_| {
            let started = std::time::Instant::now();
            let d = ricci::derive(program, &request);
            drop(std::hint::black_box(d));
            started.elapsed().as_secs_f64()
        })
        .collect()
}

/// The canonical spelling of a tensor name (`W^{(1)}`, `W⁽¹⁾` → `W^(1)`).
#[pyfunction]
fn canonical_name(name: &str) -> String {
    ricci::canonical_name(name)
}

/// The compiled half of `ricci` (use the package `ricci`, not this module).
#[pymodule]
mod _ricci {
    #[pymodule_export]
    use super::canonical_name;
    #[pymodule_export]
    use super::derive;
    #[pymodule_export]
    use super::error::RicciError;
    #[pymodule_export]
    use super::time_derive;
    #[pymodule_export]
    use super::PyDerivation;
}

//! The front door: [`derive`](crate::derive()) a program's gradients from its
//! source, then read every output from the [`Derivation`].

use std::rc::Rc;

use crate::derive::{canonical_name, Derivation, GradientResult, Request};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::render::numpy::Backend;
use crate::render::Style;
use crate::steps::Step;
use crate::verify::{Checker, Judgement, Report};

/// Why a program or a request was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The program does not parse or does not check: every problem found.
    #[error("{0}")]
    Program(Diagnostics),
    /// The program cannot answer the request (`--of`, `--wrt`). The
    /// diagnostic has a span and a label when the problem has a place in the
    /// program (a range's declaration, a definition), and neither otherwise.
    #[error("{0}")]
    Request(Diagnostic),
}

impl Error {
    /// The error as a compiler shows it, with `name` (the file name) and the
    /// program's `source` for the lines it points at. A request's problem that
    /// has no place in the program (no span) is a plain `error:` line and its help.
    pub fn render(&self, name: &str, source: &str) -> String {
        match self {
            Error::Program(ds) => ds.render(name, source),
            Error::Request(d) => d.render(name, source),
        }
    }

    /// Every diagnostic, in source order.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            Error::Program(ds) => &ds.0,
            Error::Request(d) => std::slice::from_ref(d),
        }
    }
}

/// A program that parsed and passed every check, ready to derive from.
/// Cloning it is cheap (it is shared with the derivations made from it).
#[derive(Clone, Debug)]
pub struct Program(Rc<crate::syntax::Program>);

impl Program {
    /// Parses and checks `source`, reading it as `request` says (`einstein`,
    /// `limits`; the rest of the request is not used here).
    pub fn parse(source: &str, request: &Request) -> Result<Program, Error> {
        let options = crate::Options {
            check: crate::syntax::CheckOptions {
                einstein: request.einstein,
            },
            limits: request.limits.clone(),
        };
        crate::load(source, &options)
            .map(|p| Program(Rc::new(p)))
            .map_err(Error::Program)
    }

    /// Differentiates the program as `request` asks: the program is lowered
    /// once and the reverse pass runs once; everything else reads the result.
    pub fn derive(&self, request: &Request) -> Result<Derivation, Error> {
        let mut request = request.clone();
        request.of = canonical_name(&request.of);
        request.dedup_wrt();
        crate::derive::derive(&self.0, &request).map_err(Error::Request)
    }

    /// Every tensor and scalar name the program reads or defines (not
    /// functions), in order of their names.
    pub fn tensors(&self) -> impl Iterator<Item = &str> {
        self.0.tensors.keys().map(String::as_str)
    }

    /// The unknown one-argument functions the program calls, each taken as an
    /// opaque elementwise function `h` with derivative `h'`.
    pub fn opaque_functions(&self) -> impl Iterator<Item = &str> {
        self.0.opaque_functions.iter().map(String::as_str)
    }
}

/// The program in canonical form (what `ricci check` prints).
impl std::fmt::Display for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.syntax)
    }
}

/// Parses and checks `source`, then differentiates it as `request` asks.
pub fn derive(source: &str, request: &Request) -> Result<Derivation, Error> {
    Program::parse(source, request)?.derive(request)
}

impl Derivation {
    /// The text output: each result's index form and matrix form, and with
    /// `steps` its numbered derivation between them.
    pub fn text(&self, style: Style, steps: bool) -> String {
        let steps = steps.then(|| self.steps());
        crate::render::text::render(self, style, steps.as_deref())
    }

    /// The LaTeX output: an `align` environment, or with `standalone` a
    /// complete document; with `steps` each result's derivation too.
    pub fn latex(&self, standalone: bool, steps: bool) -> String {
        let steps = steps.then(|| self.steps());
        if standalone {
            crate::render::latex::document(self, steps.as_deref())
        } else {
            crate::render::latex::render(self, steps.as_deref())
        }
    }

    /// The JSON object (SPEC §4): every result with its forms, NumPy code and
    /// steps, and its check report where `checks` has one (see [`Derivation::check`]).
    pub fn json(&self, style: Style, checks: &[(Report, Judgement)]) -> serde_json::Value {
        crate::render::json::render(self, style, checks)
    }

    /// The Python module for `backend`: its import, then one function per result.
    pub fn code(&self, backend: Backend) -> String {
        format!("{}\n\n\n{}", backend.import(), self.functions(backend).join("\n\n"))
    }

    /// One Python function per result, named distinctly across the program.
    pub fn functions(&self, backend: Backend) -> Vec<String> {
        crate::render::numpy::functions(self, backend)
    }

    /// Each result's numbered derivation, as plain data.
    pub fn steps(&self) -> Vec<Vec<Step>> {
        crate::steps::derive_steps(self)
    }

    /// Compares every result with central finite differences on random
    /// tensors drawn from `seed`, with some sizes fixed (`("s", 3)` sets the
    /// range of index or range symbol `s` to 3); judge each report with
    /// [`Report::judge`], e.g. at [`CHECK_TOLERANCE`](crate::CHECK_TOLERANCE).
    pub fn check(&self, seed: u64, sizes: &[(String, usize)]) -> Vec<Report> {
        Checker::with_sizes(self, seed, sizes).check(self)
    }

    /// `∂L/∂W_ij = …`: a result's index form.
    pub fn index_line(&self, result: &GradientResult, style: Style) -> String {
        crate::render::text::index_line(&self.of, result, style)
    }

    /// `∂L/∂W = …`: a result's matrix form, or a note that it has none.
    pub fn matrix_line(&self, result: &GradientResult, style: Style) -> String {
        crate::render::text::matrix_line(&self.of, result, style)
    }
}

impl GradientResult {
    /// What the result is: a gradient, a Jacobian, a Hessian or an HVP.
    pub fn kind(&self) -> crate::Kind {
        self.kind
    }

    /// An HVP's direction `V` (`--hvp V`); `None` for any other result.
    pub fn direction(&self) -> Option<&str> {
        (self.kind == crate::Kind::Hvp)
            .then(|| self.output.rsplit_once('·').map(|(_, v)| v))
            .flatten()
    }

    /// Whether a matrix form was found (otherwise the index form is the result).
    pub fn has_matrix_form(&self) -> bool {
        self.matrix.is_some()
    }
}

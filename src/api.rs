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

    /// Differentiates the program for its backward pass only (`--backward`
    /// with `--format text|latex|numpy|torch|jax`): the reverse pass runs
    /// once and the requested gradients are not composed, so the cost grows
    /// linearly with the program. The derivation has no `results`; read it
    /// with the `backward_*` methods ([`Derivation::backward_text`], …). A
    /// Jacobian, a Hessian or an HVP is an error.
    pub fn derive_backward(&self, request: &Request) -> Result<Derivation, Error> {
        let mut request = request.clone();
        request.of = canonical_name(&request.of);
        request.dedup_wrt();
        crate::derive::derive_backward(&self.0, &request).map_err(Error::Request)
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

/// The backward pass (`--backward`, SPEC §2): one line per named gradient on
/// the way from the loss to the requested tensors, in reverse program order,
/// each reading the lines before it by name. It is made once, from the
/// derivation's one reverse pass, when first asked for; a Jacobian, a Hessian
/// or an HVP has none (an [`Error::Request`]).
impl Derivation {
    fn backward(&self) -> Result<std::rc::Rc<crate::derive::Backward>, Error> {
        self.backward_pass().map_err(Error::Request)
    }

    /// Each line as text: `∂L/∂W⁽²⁾ = ∂L/∂s⁽²⁾ z⁽¹⁾ᵀ`, with ` ∈ ℝ^(K×H)` where
    /// every axis has a declared range; the index form for a line with no
    /// matrix form.
    pub fn backward_lines(&self, style: Style) -> Result<Vec<String>, Error> {
        Ok(crate::render::backward::lines(&self.of, &*self.backward()?, style))
    }

    /// The text output of `--backward`: the lines, one a line.
    pub fn backward_text(&self, style: Style) -> Result<String, Error> {
        Ok(crate::render::backward::text(&self.of, &*self.backward()?, style))
    }

    /// Each line as a LaTeX equation (`\frac{\partial L}{\partial W} = …`).
    pub fn backward_equations(&self) -> Result<Vec<String>, Error> {
        Ok(crate::render::backward::equations(&self.of, &*self.backward()?))
    }

    /// The LaTeX output of `--backward`: an `align` environment, or with
    /// `standalone` a document that `pdflatex` compiles.
    pub fn backward_latex(&self, standalone: bool) -> Result<String, Error> {
        Ok(crate::render::backward::latex(&self.of, &*self.backward()?, standalone))
    }

    /// `def backward_<of>(…)`: computes each forward intermediate and each
    /// named gradient once and returns a dict keyed by the `--wrt` names'
    /// Python spellings; its parameters are the per-result functions' (one
    /// signature for the program's functions, [`Derivation::functions`]).
    pub fn backward_function(&self, backend: Backend) -> Result<String, Error> {
        let b = self.backward()?;
        let (_, f, _) = crate::render::numpy::program_functions(self, backend, Some(&b), false);
        Ok(f.expect("the backward function is written when asked for"))
    }

    /// For PyTorch and JAX, when the loss is undefined (its gradients by the
    /// outputs are given): the program as an operation of the framework — a
    /// `torch.autograd.Function` named `Program` (`Program.apply(…)`) or a
    /// `jax.custom_vjp` function `program(…)` — whose forward computes the
    /// outputs and whose backward calls `backward_<of>`; or a comment saying
    /// why there is none. `None` for NumPy or a defined loss.
    pub fn backward_wrapper(&self, backend: Backend) -> Result<Option<String>, Error> {
        let b = self.backward()?;
        Ok(crate::render::numpy::program_functions(self, backend, Some(&b), true).2)
    }

    /// The Python module of `--backward --format numpy|torch|jax`: the
    /// import, then `backward_<of>` (it replaces the per-result functions),
    /// then for PyTorch and JAX with an undefined loss the
    /// [`Derivation::backward_wrapper`].
    pub fn backward_code(&self, backend: Backend) -> Result<String, Error> {
        let b = self.backward()?;
        let (_, f, wrapper) = crate::render::numpy::program_functions(self, backend, Some(&b), true);
        let f = f.expect("the backward function is written when asked for");
        Ok(match wrapper {
            Some(w) => format!("{}\n\n\n{f}\n\n{w}", backend.import()),
            None => format!("{}\n\n\n{f}", backend.import()),
        })
    }

    /// The JSON object of `--backward --format json`: [`Derivation::json`]
    /// with `"backward": {"lines": [{"text", "latex"}, …], "numpy": "def
    /// backward_<of>(…)"}`; the per-result functions share its signature.
    pub fn backward_json(&self, style: Style, checks: &[(Report, Judgement)]) -> Result<serde_json::Value, Error> {
        let b = self.backward()?;
        let (functions, backward, _) = crate::render::numpy::program_functions(self, Backend::Numpy, Some(&b), false);
        let mut v = self.json(style, checks);
        if let Some(results) = v["results"].as_array_mut() {
            for (r, f) in results.iter_mut().zip(functions) {
                r["numpy"] = serde_json::Value::String(f);
            }
        }
        let text = crate::render::backward::lines(&self.of, &b, style);
        let latex = crate::render::backward::equations(&self.of, &b);
        let lines: Vec<serde_json::Value> = text
            .into_iter()
            .zip(latex)
            .map(|(t, l)| serde_json::json!({"text": t, "latex": l}))
            .collect();
        v["backward"] = serde_json::json!({"lines": lines, "numpy": backward});
        Ok(v)
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

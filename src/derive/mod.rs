//! A derivation, the pipeline's result: the request is validated, the program
//! lowered, reverse mode run over its definitions and each gradient composed
//! and simplified, then the matrix forms recognised ([`derive()`]).
//!
//! One concept a file:
//! - `dims`: dimension classes, which axes and indices range over one dimension;
//! - `lower`: the program as index terms ([`Lowered`], [`lower()`]);
//! - `request`: what to differentiate and how to show it ([`Request`],
//!   [`Layout`], [`canonical_name`]) and the errors for one the program cannot answer;
//! - `reverse`: reverse mode with named upstream gradients, and their inlining;
//! - here: the results ([`Derivation`], [`GradientResult`], [`Phases`]) and
//!   the matrix forms.

mod dims;
mod lower;
mod request;
mod reverse;

use std::rc::Rc;
use std::time::Duration;

// `std::time::Instant::now()` panics on wasm32-unknown-unknown; web-time's
// `Instant` is std's on native targets and `performance.now()` in a browser.
use web_time::Instant;

use crate::diagnostic::Diagnostic;
use crate::matrix::Mat;
use crate::syntax::Program;
use crate::term::{Ix, Term};

pub(crate) use dims::{Dims, Meeting, Origin, RangeConflict};
pub(crate) use lower::lower_expr;
pub(crate) use lower::{lower, Lowered};
pub(crate) use request::validate;
pub use request::{canonical_name, Layout, Request};
use reverse::compose;
#[cfg(test)]
pub(crate) use reverse::gradients;
pub(crate) use reverse::{reverse, Contribution, Reverse};

/// What a result is (SPEC §4 `"kind"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// ∂L/∂X of a scalar loss.
    Gradient,
    /// ∂Y/∂X of a tensor `Y` of order ≥ 1.
    Jacobian,
    /// ∂²L/∂X∂X.
    Hessian,
    /// The Hessian applied to a new input of `X`'s shape.
    Hvp,
}

impl Kind {
    /// The JSON spelling: `"gradient"`, `"jacobian"`, `"hessian"`, `"hvp"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Gradient => "gradient",
            Kind::Jacobian => "jacobian",
            Kind::Hessian => "hessian",
            Kind::Hvp => "hvp",
        }
    }
}

/// One result of a derivation, ready to render (through the [`Derivation`]'s
/// methods: its index and matrix forms, code, steps and check).
#[derive(Clone, Debug)]
pub struct GradientResult {
    /// The tensor, as named on the command line.
    pub wrt: String,
    /// The canonical tensor name (`W^(1)`).
    pub name: String,
    /// What the result is: a gradient, a Jacobian, a Hessian or an HVP.
    pub kind: Kind,
    /// The range symbol of each axis of the result as shown, where declared:
    /// the axes of `wrt`, reversed for a matrix form in numerator layout.
    pub shape: Vec<Option<String>>,
    /// The gradient's free indices.
    pub(crate) indices: Vec<Ix>,
    /// The simplified index form.
    pub(crate) term: Term,
    /// The matrix form in the requested layout, if there is one.
    pub(crate) matrix: Option<crate::matrix::Mat>,
    /// The matrix form in gradient layout (what `--check` and NumPy evaluate).
    pub(crate) gradient_matrix: Option<crate::matrix::Mat>,
    /// The e-graph run over the matrix form, if there was one.
    pub egraph: Option<crate::matrix::RunStats>,
}

/// A whole derivation: every requested gradient of one loss, and what the
/// pipeline computed on the way (the checked program, its lowered form, the
/// reverse pass with its named gradients), which the steps, the numeric check
/// and the renderers read rather than compute again.
#[derive(Clone)]
pub struct Derivation {
    /// The loss.
    pub of: String,
    /// One result per `--wrt`, in order.
    pub results: Vec<GradientResult>,
    /// How long each phase took.
    pub phases: Phases,
    /// The checked program.
    pub(crate) program: Rc<Program>,
    /// The program as index terms, lowered once.
    pub(crate) lowered: Rc<Lowered>,
    /// The one reverse pass: named gradients, chain-rule terms, parameters.
    pub(crate) reverse: Rc<Reverse>,
    /// The request, as answered.
    pub(crate) request: Request,
}

impl std::fmt::Debug for Derivation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Derivation")
            .field("of", &self.of)
            .field("results", &self.results)
            .field("phases", &self.phases)
            .finish_non_exhaustive()
    }
}

/// Debug builds count the expensive passes per thread, so that a test can
/// prove each runs once per request ([`counts`]).
#[cfg(debug_assertions)]
pub(crate) mod counter {
    use std::cell::Cell;

    thread_local! {
        pub(crate) static LOWER: Cell<usize> = const { Cell::new(0) };
        pub(crate) static REVERSE: Cell<usize> = const { Cell::new(0) };
    }

    /// `(lower, reverse)` calls on this thread so far.
    #[cfg(test)]
    pub(crate) fn counts() -> (usize, usize) {
        (LOWER.with(Cell::get), REVERSE.with(Cell::get))
    }

    pub(crate) fn bump(c: &'static std::thread::LocalKey<Cell<usize>>) {
        c.with(|c| c.set(c.get() + 1));
    }
}

/// Wall-clock time per phase of a derivation ([`crate::derive()`]; for `--stats`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Phases {
    /// Lowering the program to index terms.
    pub lower: Duration,
    /// The reverse pass with named upstream gradients, each simplified.
    pub reverse: Duration,
    /// Substituting the named gradients on each requested path and simplifying once.
    pub compose: Duration,
    /// Recognising matrix forms (transposes and layouts included).
    pub recognise: Duration,
    /// Equality saturation over the matrix forms.
    pub saturate: Duration,
}

/// The matrix form of a gradient in gradient layout, the form to show (in the
/// requested layout, a vector as a row when that reads better), and the e-graph
/// run that chose it.
pub(crate) fn matrix_forms(
    term: &Term,
    indices: &[Ix],
    request: &Request,
) -> (Option<Mat>, Option<Mat>, Option<crate::matrix::RunStats>) {
    use crate::matrix::{cost, transposed};
    let Some(m) = crate::matrix::recognize(term, indices) else {
        return (None, None, None);
    };
    // Saturation with rules/matrix.rules; its form replaces the recogniser's
    // only when strictly cheaper to read. Transposes and layouts are handled
    // without it; what it adds is factoring across a sum, so it runs only
    // when a sum has two products to factor.
    let cheaper = |a: Mat, b: Mat| if cost(&b) < cost(&a) { b } else { a };
    let (gradient, saturated, stats) = if crate::matrix::worth_saturating(&m) {
        let (plain, flipped, stats) = crate::matrix::optimize(&m, request.egraph);
        (cheaper(m, plain), Some(flipped), Some(stats))
    } else {
        (m, None, None)
    };
    // The transpose is built only where it may be shown.
    let flipped = || {
        let t = transposed(&gradient);
        match saturated {
            Some(f) => cheaper(t, f),
            None => t,
        }
    };
    let shown = match (request.layout, indices.len()) {
        (Layout::Numerator, 1 | 2) => flipped(),
        // A vector may read better as a row: `1ᵀ G` rather than `Gᵀ 1`.
        (Layout::Gradient, 1) => cheaper(gradient.clone(), flipped()),
        _ => gradient.clone(),
    };
    (Some(gradient), Some(shown), stats)
}

/// Differentiates `request.of` by every `request.wrt` and finds the matrix forms.
pub(crate) fn derive(program: &Rc<Program>, request: &Request) -> Result<Derivation, Diagnostic> {
    validate(program, request)?;
    let mut phases = Phases::default();
    let started = Instant::now();
    let lowered = lower(program);
    phases.lower = started.elapsed();
    let started = Instant::now();
    let wanted: Vec<String> = request.wrt.iter().map(|w| canonical_name(w)).collect();
    let r = reverse(program, &lowered, &request.of, &wanted);
    phases.reverse = started.elapsed();
    let started = Instant::now();
    let gradients = compose(&r, &lowered, request);
    phases.compose = started.elapsed();
    let dims = &lowered.dims;
    let results = gradients
        .into_iter()
        .map(|g| {
            let name = canonical_name(&g.wrt);
            let order = lowered.orders.get(&name).copied().unwrap_or(0);
            let shape: Vec<Option<String>> = (0..order)
                .map(|k| {
                    let d = dims.axis(&name, k);
                    dims.range_of(d).map(str::to_string)
                })
                .collect();
            let started = Instant::now();
            let (gradient_matrix, matrix, egraph) = matrix_forms(&g.term, &g.indices, request);
            // an index form (no matrix form) keeps the axes of `wrt`
            let shape = if matrix.is_some() {
                request.layout.shape(shape)
            } else {
                shape
            };
            let total = started.elapsed();
            let saturate = egraph.as_ref().map_or(Duration::ZERO, |e| e.time);
            phases.saturate += saturate;
            phases.recognise += total.saturating_sub(saturate);
            GradientResult {
                wrt: g.wrt,
                name,
                kind: Kind::Gradient,
                shape,
                indices: g.indices,
                term: g.term,
                matrix,
                gradient_matrix,
                egraph,
            }
        })
        .collect();
    Ok(Derivation {
        of: request.of.clone(),
        results,
        phases,
        program: Rc::clone(program),
        lowered: Rc::new(lowered),
        reverse: Rc::new(r),
        request: request.clone(),
    })
}

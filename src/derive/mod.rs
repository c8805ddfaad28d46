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
//! - `backward`: the backward pass as a program ([`Backward`]), read from the
//!   one reverse pass;
//! - here: the results ([`Derivation`], [`GradientResult`], [`Phases`]) and
//!   the matrix forms.

mod backward;
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
pub(crate) use backward::{Backward, Line};

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
    /// How many of `indices` belong to the differentiated side (`Y`'s of
    /// ∂Y_i/∂X_j, the first `X`'s of ∂²L/∂X_i∂X_j); 0 for a gradient or an HVP.
    pub(crate) lead: usize,
    /// The tensor the reverse pass differentiated: `of`, or the synthetic
    /// gradient (Hessian) or `Σ_j (∂L/∂X)_j V_j` (HVP) appended to the program.
    pub(crate) output: String,
    /// The reverse pass that made this result.
    pub(crate) pass: Rc<Reverse>,
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
    /// The first reverse pass: named gradients, chain-rule terms, parameters
    /// (each result keeps its own, [`GradientResult`]'s `pass`).
    pub(crate) reverse: Rc<Reverse>,
    /// The backward pass, made from `reverse` when first asked for.
    pub(crate) backward: std::cell::OnceCell<Result<Rc<Backward>, Diagnostic>>,
    /// The request, as answered.
    pub(crate) request: Request,
    /// What the results are (all of one kind).
    pub(crate) kind: Kind,
}

impl Derivation {
    /// The backward pass (`--backward`), made once from the derivation's
    /// reverse pass; an error for a Jacobian, a Hessian or an HVP.
    pub(crate) fn backward_pass(&self) -> Result<Rc<Backward>, Diagnostic> {
        self.backward
            .get_or_init(|| backward::backward(self).map(Rc::new))
            .clone()
    }
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
    let Some(m) = crate::matrix::recognize(term, indices).and_then(|m| broadcast(m, indices)) else {
        return (None, None, None);
    };
    // Saturation with rules/matrix.rules; its form replaces the recogniser's
    // only when strictly cheaper to read. Transposes and layouts are handled
    // without it; what it adds is factoring across a sum, so it runs only
    // when a sum has two products to factor.
    let cheaper = |a: Mat, b: Mat| {
        if cost(&b) < cost(&a) && well_formed(&b).is_some() {
            b
        } else {
            a
        }
    };
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

/// A well-formed matrix form with the result's shape: one with no axes for
/// a result that has some (`Y_i = A² + A`, whose ∂Y/∂A is `1 + 2 A` at every
/// `i`) is the scalar times `1`, or `1 1ᵀ`, as a product's `4 A 1` already
/// is (0 stays 0); `None` for a form that is not well formed.
fn broadcast(m: Mat, indices: &[Ix]) -> Option<Mat> {
    // 0 stands for a zero of any shape
    let scalar = well_formed(&m)? == (None, None) && !matches!(&m, Mat::Scalar(s) if s.is_zero());
    Some(match indices {
        [i] if scalar => Mat::MatMul(vec![m, Mat::Ones(i.dim)]),
        [i, j] if scalar => Mat::MatMul(vec![m, Mat::Ones(i.dim), Mat::T(Box::new(Mat::Ones(j.dim)))]),
        _ => m,
    })
}

/// One reverse pass of a derivation: the tensor it differentiates (`of`, a
/// Jacobian's `Y`, a Hessian's gradient, an HVP's `Σ_j (∂L/∂X)_j V_j`), the
/// tensors it differentiates by, and the seed of a Jacobian.
struct PassPlan {
    output: String,
    wrt: Vec<String>,
    seed: Vec<Ix>,
    lead: usize,
}

/// The name of the synthetic tensor that holds `∂of/∂wrt` (a Hessian's
/// gradient; not a name a program can write).
fn gradient_name(of: &str, wrt: &str) -> String {
    format!("∂{of}/∂{wrt}")
}

/// Appends the definition `name_ix = term` (a derived form the next pass
/// differentiates) with the axes of `like`; the simplifier does not fold it.
fn append(lowered: &mut Lowered, name: &str, like: &str, params: Vec<Ix>, term: Term) {
    lowered.orders.insert(name.to_string(), params.len());
    lowered.dims.alias(name, like);
    lowered.definitions.push((Rc::from(name), params, term));
}

/// Rows and columns as dimension classes (`None` for 1), as `matrix::shape` gives them.
type Shape = (Option<u32>, Option<u32>);

/// The shape of a matrix form that evaluates as written — vectors are
/// columns, a 1×1 factor of a product only scales, every product's inner
/// dimensions meet and the operands of ⊙, ⊘ and + have one shape or are
/// scalars — and `None` for one that does not. Saturation can move an inner
/// product used as a scalar into a chain where it no longer is one
/// (`D diag(v) 1ᵀ D 1`); such a form is never shown.
pub(crate) fn well_formed(m: &Mat) -> Option<Shape> {
    let scalar = (None, None);
    let same = |shapes: Vec<Shape>| {
        let wide: Vec<_> = shapes.into_iter().filter(|s| *s != scalar).collect();
        match wide.first() {
            None => Some(scalar),
            Some(first) => wide.iter().all(|s| s == first).then_some(*first),
        }
    };
    match m {
        Mat::Var(_, dims) if dims.len() <= 2 => Some((dims.first().copied(), dims.get(1).copied())),
        Mat::Var(..) => None,
        Mat::Scalar(_) => Some(scalar),
        Mat::Ones(d) => Some((Some(*d), None)),
        Mat::Eye(d) => Some((Some(*d), Some(*d))),
        Mat::T(x) => well_formed(x).map(|(r, c)| (c, r)),
        Mat::MatMul(xs) => {
            let mut acc: Option<Shape> = None;
            for x in xs {
                let b = well_formed(x)?;
                acc = Some(match acc {
                    None => b,
                    Some(a) if a == scalar && b.0.is_some() => b,
                    Some(a) if b == scalar && a.1.is_some() => a,
                    Some(a) if a.1 == b.0 => (a.0, b.1),
                    Some(_) => return None,
                });
            }
            acc
        }
        Mat::Had(xs) => same(xs.iter().map(well_formed).collect::<Option<_>>()?),
        Mat::HDiv(a, b) => same(vec![well_formed(a)?, well_formed(b)?]),
        Mat::Add(ts) => same(ts.iter().map(|(_, x)| well_formed(x)).collect::<Option<_>>()?),
        Mat::Scale(_, x) | Mat::Map(_, x) | Mat::Pow(x, _) => well_formed(x),
        Mat::Diag(v) => match well_formed(v)? {
            (r, None) => Some((r, r)),
            _ => None,
        },
    }
}

/// Whether a matrix form has an identity `I` in it.
fn has_identity(m: &Mat) -> bool {
    matches!(m, Mat::Eye(_)) || m.fold(false, |found, x| found || has_identity(x))
}

/// Differentiates `request.of` by every `request.wrt` and finds the matrix forms:
/// a gradient, a Jacobian (an `of` of order ≥ 1: one reverse pass seeded with
/// δ), a Hessian (the Jacobian of the gradient's index form, appended to the
/// program as a definition) or an HVP (the gradient of `Σ_j (∂L/∂X)_j V_j`).
pub(crate) fn derive(program: &Rc<Program>, request: &Request) -> Result<Derivation, Diagnostic> {
    let kind = validate(program, request)?;
    let mut phases = Phases::default();
    let started = Instant::now();
    let mut lowered = lower(program);
    phases.lower = started.elapsed();
    let started = Instant::now();
    let of = request.of.clone();
    let wanted: Vec<String> = request.wrt.iter().map(|w| canonical_name(w)).collect();
    let mut program = Rc::clone(program);
    let order_of = |lowered: &Lowered, n: &str| lowered.orders.get(n).copied().unwrap_or(0);
    let plans: Vec<PassPlan> = match kind {
        Kind::Gradient => vec![PassPlan {
            output: of.clone(),
            wrt: request.wrt.clone(),
            seed: Vec::new(),
            lead: 0,
        }],
        Kind::Jacobian => vec![PassPlan {
            output: of.clone(),
            wrt: request.wrt.clone(),
            seed: reverse::seed_indices(&lowered, &of),
            lead: order_of(&lowered, &of),
        }],
        Kind::Hessian | Kind::Hvp => {
            // The gradient first, by every --wrt in one pass.
            let r = reverse(&program, &lowered, &of, &wanted, &[]);
            let gradients = compose(&r, &lowered, request, &of);
            let mut plans = Vec::new();
            for (g, name) in gradients.into_iter().zip(&wanted) {
                let output = gradient_name(&of, name);
                if let Some(v) = request.hvp.as_deref().filter(|_| kind == Kind::Hvp) {
                    // Σ_k (∂L/∂X)_k V_k, with V a new input of X's shape
                    let v = canonical_name(v);
                    let copy: Vec<Ix> = g.indices.iter().map(|i| Ix::fresh(&i.name, i.dim)).collect();
                    let mut term = g.term.refresh_bound();
                    for (old, new) in g.indices.iter().zip(&copy) {
                        term = term.rename(old, new);
                    }
                    let read = Term::Var(crate::term::Name::Tensor(v.as_str().into()), copy.clone());
                    let dot = Term::Sum(copy, Box::new(Term::Mul(vec![term, read])));
                    let output = format!("{output}·{v}");
                    let p = Rc::make_mut(&mut program);
                    p.dims.alias(&v, name);
                    p.tensors.insert(
                        v.clone(),
                        crate::syntax::check::TensorInfo {
                            order: g.indices.len(),
                            definition: None,
                            used: true,
                            first: crate::syntax::ast::Span::new(usize::MAX, usize::MAX),
                        },
                    );
                    lowered.orders.insert(v.clone(), g.indices.len());
                    lowered.dims.alias(&v, name);
                    append(&mut lowered, &output, "", Vec::new(), dot);
                    plans.push(PassPlan {
                        output,
                        wrt: vec![g.wrt.clone()],
                        seed: Vec::new(),
                        lead: 0,
                    });
                } else {
                    append(&mut lowered, &output, name, g.indices, g.term);
                    let seed = reverse::seed_indices(&lowered, &output);
                    plans.push(PassPlan {
                        lead: seed.len(),
                        seed,
                        output,
                        wrt: vec![g.wrt.clone()],
                    });
                }
            }
            plans
        }
    };
    let mut passes = Vec::new();
    for plan in &plans {
        let wanted: Vec<String> = plan.wrt.iter().map(|w| canonical_name(w)).collect();
        passes.push(Rc::new(reverse(&program, &lowered, &plan.output, &wanted, &plan.seed)));
    }
    phases.reverse = started.elapsed();
    let started = Instant::now();
    let mut composed = Vec::new();
    for (plan, r) in plans.iter().zip(&passes) {
        let sub = Request {
            wrt: plan.wrt.clone(),
            ..request.clone()
        };
        for g in compose(r, &lowered, &sub, &plan.output) {
            composed.push((g, plan, Rc::clone(r)));
        }
    }
    phases.compose = started.elapsed();
    // A Jacobian and a Hessian are shown as they are laid out (rows follow
    // `of`); a gradient and an HVP in the requested layout.
    let shown_as = |kind: Kind| match kind {
        Kind::Jacobian | Kind::Hessian => Request {
            layout: Layout::Gradient,
            ..request.clone()
        },
        Kind::Gradient | Kind::Hvp => request.clone(),
    };
    let shown_request = shown_as(kind);
    let dims = &lowered.dims;
    let axes = |name: &str| -> Vec<Option<String>> {
        (0..order_of(&lowered, name))
            .map(|k| dims.range_of(dims.axis(name, k)).map(str::to_string))
            .collect()
    };
    let results = composed
        .into_iter()
        .map(|(g, plan, pass)| {
            let name = canonical_name(&g.wrt);
            let shape: Vec<Option<String>> = match kind {
                Kind::Jacobian => axes(&of).into_iter().chain(axes(&name)).collect(),
                Kind::Hessian => axes(&name).into_iter().chain(axes(&name)).collect(),
                Kind::Gradient | Kind::Hvp => axes(&name),
            };
            let started = Instant::now();
            let (mut gradient_matrix, mut matrix, mut egraph) = matrix_forms(&g.term, &g.indices, &shown_request);
            // A second derivative's index form is factored (`y_i (δ_ij − y_j)`);
            // its expanded form may read better as matrices (`diag(y) − y yᵀ`);
            // at equal cost, the form without an identity (`(I − p 1ᵀ) diag(p)`
            // is `diag(p) − p pᵀ`), as the documents write it. Only a small
            // form with a δ is tried (where a sum with δ is a factor).
            if matches!(kind, Kind::Jacobian | Kind::Hessian)
                && g.term.has_delta()
                && g.term.size() <= crate::limits::EXPAND_SMALL_TERM_NODES
            {
                if let Some(e) = crate::simplify::expand(&g.term, &lowered.env) {
                    let e = crate::simplify::normalize(&e, &lowered.env);
                    let (gm, m, stats) = matrix_forms(&e, &g.indices, &shown_request);
                    let cost = |m: &Option<Mat>| m.as_ref().map_or(usize::MAX, crate::matrix::cost);
                    let eye = |m: &Option<Mat>| m.as_ref().is_some_and(has_identity);
                    if cost(&m) < cost(&matrix) || cost(&m) == cost(&matrix) && eye(&matrix) && !eye(&m) {
                        (gradient_matrix, matrix, egraph) = (gm, m, stats.or(egraph));
                    }
                }
            }
            // a tensor the program defines symmetric is its own transpose
            let symmetric = crate::matrix::symmetric_definitions(&lowered.definitions);
            let symmetrised = |m: Option<Mat>| m.map(|m| crate::matrix::use_symmetry(m, &symmetric));
            let (gradient_matrix, matrix) = (symmetrised(gradient_matrix), symmetrised(matrix));
            // an index form (no matrix form) keeps the axes of `wrt`
            let shape = if matrix.is_some() {
                shown_request.layout.shape(shape)
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
                kind,
                shape,
                indices: g.indices,
                term: g.term,
                matrix,
                gradient_matrix,
                egraph,
                lead: plan.lead,
                output: plan.output.clone(),
                pass,
            }
        })
        .collect();
    Ok(Derivation {
        of,
        results,
        phases,
        program,
        lowered: Rc::new(lowered),
        reverse: Rc::clone(&passes[0]),
        backward: std::cell::OnceCell::new(),
        request: request.clone(),
        kind,
    })
}

/// A derivation for its backward pass only ([`Backward`]): the request is
/// validated, the program lowered and the one reverse pass run; the
/// requested gradients are not composed (`results` is empty), which is what
/// makes a deep network's backward pass linear in its depth.
pub(crate) fn derive_backward(program: &Rc<Program>, request: &Request) -> Result<Derivation, Diagnostic> {
    let kind = validate(program, request)?;
    if kind != Kind::Gradient {
        return Err(backward::not_a_gradient(kind, &request.of));
    }
    let mut phases = Phases::default();
    let started = Instant::now();
    let lowered = lower(program);
    phases.lower = started.elapsed();
    let started = Instant::now();
    let wanted: Vec<String> = request.wrt.iter().map(|w| canonical_name(w)).collect();
    let pass = reverse(program, &lowered, &request.of, &wanted, &[]);
    phases.reverse = started.elapsed();
    Ok(Derivation {
        of: request.of.clone(),
        results: Vec::new(),
        phases,
        program: Rc::clone(program),
        lowered: Rc::new(lowered),
        reverse: Rc::new(pass),
        backward: std::cell::OnceCell::new(),
        request: request.clone(),
        kind,
    })
}
